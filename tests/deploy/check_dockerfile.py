#!/usr/bin/env python3
"""Static checks of deploy/docker/Dockerfile, standing in for a Docker build we cannot run.

- Every Debian package an `apt-get install` names exists (`apt-cache show`); packages
  that come from an ARG (NVIDIA's repository) are listed as not checkable here.
- Every COPY source without --from exists in the build context (the repo root) and is not
  excluded by the Dockerfile's .dockerignore; every --from names an earlier stage.
- Every stage built from an image uses Debian bookworm; `FROM x-${VAR}` has a stage for
  each documented value of VAR.
- apt hygiene: --no-install-recommends and the lists removed in the same RUN.
- The runtime stages install no -dev packages; the final stage runs as a non-root USER,
  EXPOSEs the ports of docs/interfaces.md and health-checks /healthz on the health port.
- With --binary: every shared library the built binary needs (DT_NEEDED) belongs to a
  package the runtime stages install, or to one every Debian image has.

Usage: check_dockerfile.py DOCKERFILE --context REPO [--interfaces MD] [--binary FILE]...
"""

import argparse
import fnmatch
import os
import re
import shlex
import subprocess
import sys

VARIANTS = {"TORCH_VARIANT": ["cpu", "cuda"]}
# Present in every Debian image (Priority: required), so the runtime need not name them.
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}
RUNTIME_PREFIX = "runtime"


def instructions(path):
    """Yields (line_number, KEYWORD, arguments) with continuations joined, comments dropped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        text = line
        while text.endswith("\\"):
            text = text[:-1]
            while i < len(lines) and lines[i].strip().startswith("#"):
                i += 1  # comment lines inside a continuation are dropped by Docker too
            if i >= len(lines):
                break
            text += " " + lines[i].strip()
            i += 1
        keyword, _, rest = text.partition(" ")
        yield start + 1, keyword.upper(), rest.strip()


def expand(text, args):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)),
                  text)


def apt_packages(run, args):
    """Packages named by each `apt-get install` in a RUN: (checked, from_args)."""
    checked, from_args = [], []
    for command in re.split(r"&&|\|\||;|\|", run):
        words = command.split()
        if len(words) < 2 or words[0] != "apt-get" or "install" not in words:
            continue
        for word in words[words.index("install") + 1:]:
            if word.startswith("-"):
                continue
            if "$" in word:
                from_args += shlex.split(expand(word, args).strip('"'))
            else:
                checked.append(word)
    return checked, from_args


def apt_cache_known(packages):
    """The subset of `packages` apt-cache has a real (non-virtual) entry for; one call,
    since each apt-cache start costs a second or more of cache loading."""
    if not packages:
        return set()
    result = subprocess.run(["apt-cache", "show", "--no-all-versions", *sorted(packages)],
                            capture_output=True, text=True)
    return set(re.findall(r"^Package: (\S+)$", result.stdout, flags=re.M))


def ports_from_interfaces(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    ports = {}
    for name, pattern in {"ingest": r"TCP ingest `[^`:]+:(\d+)`",
                          "metrics": r"metrics `[^`:]+:(\d+)`",
                          "health": r"health `[^`:]+:(\d+)`"}.items():
        match = re.search(pattern, text)
        if not match:
            raise SystemExit(f"{path}: no default {name} port found")
        ports[name] = int(match.group(1))
    return ports


def dockerignore_patterns(dockerfile):
    path = dockerfile + ".dockerignore"
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def ignored(source, patterns):
    source = source.rstrip("/").lstrip("./")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(source, pattern) or source.startswith(pattern + "/"):
            excluded = not negate
    return excluded


def package_of(library_path):
    candidates = {library_path, os.path.realpath(library_path)}
    for p in list(candidates):
        if p.startswith("/lib/"):
            candidates.add("/usr" + p)
        elif p.startswith("/usr/lib/"):
            candidates.add(p[len("/usr"):])
    for p in candidates:
        result = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    return None


def needed_packages(binary):
    """{soname: package} for the binary's DT_NEEDED entries, resolved through ldd."""
    readelf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf.stdout)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, flags=re.M))
    # The dynamic loader is listed by path alone: "/lib64/ld-linux-x86-64.so.2 (0x...)".
    for path in re.findall(r"^\s*(/\S+) \(", ldd, flags=re.M):
        where.setdefault(os.path.basename(path), path)
    return {soname: package_of(where[soname]) if soname in where else None for soname in needed}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dockerfile")
    parser.add_argument("--context", required=True)
    parser.add_argument("--interfaces")
    parser.add_argument("--binary", action="append", default=[])
    opts = parser.parse_args()
    failures = []
    fail = failures.append

    global_args, stage_args = {}, {}
    stages = []  # (name, base, [(line, keyword, rest)])
    for number, keyword, rest in instructions(opts.dockerfile):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            (stage_args if stages else global_args)[name] = default.strip('"')
        elif keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"#{len(stages)}"
            stages.append((name, words[0], []))
            stage_args = dict(global_args)
        elif stages:
            stages[-1][2].append((number, keyword, rest, dict(stage_args)))
        else:
            fail(f"line {number}: {keyword} before the first FROM")

    names = [s[0] for s in stages]
    runtime_packages, checked_packages = set(), {}  # package -> first line
    for index, (name, base, body) in enumerate(stages):
        earlier = names[:index]
        if "${" in base:
            var = re.search(r"\$\{(\w+)\}", base).group(1)
            if var in VARIANTS:
                for value in VARIANTS[var]:
                    target = base.replace("${" + var + "}", value)
                    if target not in earlier:
                        fail(f"stage {name}: FROM {base} with {var}={value} needs stage '{target}'")
                base = None
            else:
                base = expand(base, global_args)
        if base is not None and base not in earlier:
            if not re.match(r"^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$", base):
                fail(f"stage {name}: base image {base} is not Debian bookworm")

        user = None
        for number, keyword, rest, args in body:
            if keyword == "ADD":
                fail(f"line {number}: ADD; use COPY (DL3020)")
            if keyword == "RUN" and "apt-get install" in rest:
                if "--no-install-recommends" not in rest:
                    fail(f"line {number}: apt-get install without --no-install-recommends")
                if "rm -rf /var/lib/apt/lists" not in rest:
                    fail(f"line {number}: apt lists not removed in the same RUN (DL3009)")
                plain, from_args = apt_packages(rest, args)
                for package in plain:
                    checked_packages.setdefault(package, number)
                    if name.startswith(RUNTIME_PREFIX):
                        runtime_packages.add(package)
                        if package.endswith("-dev"):
                            fail(f"line {number}: runtime stage {name} installs {package}")
                if from_args:
                    print(f"note: line {number}: not checkable here (third-party repository "
                          f"given by an ARG): {' '.join(from_args)}")
            if keyword == "COPY":
                words = rest.split()
                flags = [w for w in words if w.startswith("--")]
                paths = [w for w in words if not w.startswith("--")]
                source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")),
                                    None)
                if source_stage is not None:
                    if source_stage not in earlier:
                        fail(f"line {number}: COPY --from={source_stage} names no earlier stage")
                    continue
                patterns = dockerignore_patterns(opts.dockerfile)
                for source in paths[:-1]:
                    full = os.path.join(opts.context, source)
                    if not os.path.exists(full):
                        fail(f"line {number}: COPY source '{source}' does not exist in {opts.context}")
                    elif ignored(source, patterns):
                        fail(f"line {number}: COPY source '{source}' is excluded by .dockerignore")
            if keyword == "USER":
                user = rest.split(":")[0]
        stages[index] = (name, base, body, user)

    known = apt_cache_known(checked_packages)
    for package, number in checked_packages.items():
        if package not in known:
            fail(f"line {number}: Debian package '{package}' not found by apt-cache")

    final = stages[-1]
    final_body, final_user = final[2], final[3]
    if final_user is None or final_user in ("root", "0"):
        fail(f"final stage {final[0]} runs as root (DL3002): add a non-root USER")
    keywords = {k: r for _, k, r, _ in final_body}
    for needed in ("ENTRYPOINT", "HEALTHCHECK", "EXPOSE"):
        if needed not in keywords:
            fail(f"final stage has no {needed}")
    if opts.interfaces:
        ports = ports_from_interfaces(opts.interfaces)
        exposed = {int(p.split("/")[0]) for p in keywords.get("EXPOSE", "").split()}
        for what, port in ports.items():
            if port not in exposed:
                fail(f"EXPOSE lacks the {what} port {port} of docs/interfaces.md")
        health = keywords.get("HEALTHCHECK", "")
        if f":{ports['health']}/healthz" not in health:
            fail(f"HEALTHCHECK does not probe /healthz on port {ports['health']}: {health}")

    for binary in opts.binary:
        if not os.path.exists(binary):
            print(f"note: {binary} not built; its runtime libraries are not cross-checked")
            continue
        for soname, package in needed_packages(binary).items():
            if package is None:
                fail(f"{binary}: cannot find which package provides {soname}")
            elif package not in runtime_packages | BASE_PACKAGES:
                fail(f"{binary}: needs {soname} from '{package}', which no runtime stage installs")
            else:
                print(f"{os.path.basename(binary)}: {soname} <- {package}")

    print(f"checked {len(checked_packages)} Debian packages, {len(stages)} stages")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
