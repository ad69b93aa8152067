#!/usr/bin/env python3
"""Writes tiny checkpoint containers (model/include/mscred/model/checkpoint.h layout) as
seeds for checkpoint_fuzzer. Written independently of the C++ writer, from the layout in
the header, so the seeds also check that the documented layout is the real one.

Each seed starts with the harness's mode byte: 0x00 = bytes as they are (CRC included),
0x01 = bytes without their CRC (the harness appends the right one).

usage: make_checkpoint_seed.py OUT_DIR
"""
import json
import os
import struct
import sys
import zlib


def container(version, metadata, tensors):
    out = b"MSCREDCK" + struct.pack("<I", version)
    meta = json.dumps(metadata, sort_keys=True).encode()
    out += struct.pack("<Q", len(meta)) + meta
    out += struct.pack("<I", len(tensors))
    for name, shape, values in tensors:
        out += struct.pack("<I", len(name)) + name.encode()
        out += struct.pack("<I", len(shape)) + b"".join(struct.pack("<q", d) for d in shape)
        out += b"".join(struct.pack("<f", v) for v in values)
    return out + struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    meta = {
        "model_id": "seed", "sensors": ["a", "b", "c"], "scales": [10, 30, 60],
        "step": 10, "history": 5, "normaliser": {"kind": "minmax", "min": [0, 0, 0],
                                                  "max": [1, 1, 1]},
        "thresholds": [0.1, 0.2, 0.3],
    }
    tensors = [("enc1.weight", [2, 3, 1, 1], [0.5 * i for i in range(6)]),
               ("enc1.bias", [2], [0.0, -1.0]),
               ("empty", [0, 4], [])]
    good = container(1, meta, tensors)
    seeds = {
        "good_with_crc": b"\x00" + good,
        "good_fix_crc": b"\x01" + good[:-4],
        "no_tensors_fix_crc": b"\x01" + container(1, {"sensors": ["x"]}, [])[:-4],
        "version2": b"\x00" + container(2, meta, tensors),
        "truncated": b"\x00" + good[: len(good) // 2],
    }
    for name, data in seeds.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
