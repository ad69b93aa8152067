#!/usr/bin/env python3
"""Dumps the Python reference's random weights, a fixed input and its output as raw
little-endian float32 files (one per tensor, named after the state_dict key), so the C++
test can load the same weights and compare outputs. Run only by mscred_net_test."""
import argparse
import importlib.util
import os

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--ref", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--kernel", type=int, default=3)
ap.add_argument("--n", type=int, default=30)
args = ap.parse_args()

spec = importlib.util.spec_from_file_location("mscred_ref", args.ref)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

torch.set_num_threads(1)
torch.manual_seed(7)
model = ref.MSCREDRef(k_lstm=args.kernel).eval()
# Larger-than-default biases/weights would saturate; the default init already gives a
# non-trivial output. Perturb the ConvLSTM biases so the forget-gate path is exercised.
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.startswith("lstm.") and name.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))
x = torch.rand(2, 5, 3, args.n, args.n)
with torch.no_grad():
    y = model(x)
os.makedirs(args.out, exist_ok=True)
for name, t in model.state_dict().items():
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(args.out, name + ".f32"))
x.numpy().astype("<f4").tofile(os.path.join(args.out, "input.f32"))
y.numpy().astype("<f4").tofile(os.path.join(args.out, "output.f32"))
