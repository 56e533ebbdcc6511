"""Checks a getting-started tree written by dman-rs with Python dman 1.0.1.

Usage: check_getting_started.py WORKSPACE EXPECTED_JSON

WORKSPACE holds the `.dman` folder; EXPECTED_JSON lists, per run, the seed
and the sha256 of each array's float64 little-endian bytes, as the Rust side
read them. Prints `ok N checks` and exits 0 when Python finds the same.
"""
import hashlib
import json
import os
import sys

import dman
import numpy as np


# The seed's classes, defined once in getting_started.py beside this script.
from getting_started import Config, Run, barray  # noqa: E402,F401


def digest(array):
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<f8").tobytes()).hexdigest()


def main():
    workspace, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path) as f:
        expected = json.load(f)
    base = os.path.join(workspace, ".dman")
    generator = "cache/examples:patterns:common"
    checks, failures = 0, []

    def check(what, got, want):
        nonlocal checks
        checks += 1
        if got != want:
            failures.append(f"{what}: got {got!r}, expected {want!r}")

    runs = dman.load("experiment", base=base, generator=generator)
    check("type", type(runs).__name__, "mruns")
    check("run_count", runs.run_count, len(expected["runs"]))
    check("len", len(runs), len(expected["runs"]))
    for i, (run, want) in enumerate(zip(runs, expected["runs"])):
        check(f"run {i} config", run.config, Config(seed=want["seed"]))
        check(f"run {i} data shape", tuple(run.data.shape), (20, 1000))
        check(f"run {i} output shape", tuple(run.output.shape), (100, 1000))
        check(f"run {i} data", digest(run.data), want["data"])
        check(f"run {i} output", digest(run.output), want["output"])
    for generator_name in (generator, "demo"):
        cfg = dman.load("config", base=base, generator=generator_name, cluster=False)
        check(f"config in {generator_name}", cfg, Config())
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"ok {checks} checks")


if __name__ == "__main__":
    main()
