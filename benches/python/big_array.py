"""numpy's side of `benches/big_array.rs`: peak resident memory and time of
`numpy.save` and of `numpy.load` of one large float64 array, each in a
process of its own (this script run again with `--row`), printed as rows of
the same Markdown table.

    python big_array.py DIR            # 2048 MiB, or DMAN_BENCH_BIG_MIB

Peak resident memory is `ru_maxrss` of the row's own process; the ratio is
peak / array size, as in the Rust rows. Standard library and numpy only.
"""
import os
import resource
import subprocess
import sys
import time

import numpy as np


def mib():
    return int(os.environ.get("DMAN_BENCH_BIG_MIB", "2048"))


def row(name, path):
    size = mib() * 1024 * 1024
    if name == "numpy-save":
        array = np.arange(size // 8, dtype=np.float64)
        # ru_maxrss cannot be reset: the array is made first, so the peak
        # is what the save adds to it.
        start = time.perf_counter()
        np.save(path, array)
    elif name == "numpy-load":
        start = time.perf_counter()
        array = np.load(path)
        assert array.nbytes == size
    else:
        raise SystemExit(f"unknown row {name}")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"| {name} | {seconds:.2f} | {peak / 1048576:.0f} | {peak / size:.3f} |")


def main():
    if sys.argv[1] == "--row":
        row(sys.argv[2], sys.argv[3])
        return
    path = os.path.join(sys.argv[1], "numpy.npy")
    try:
        for name in ("numpy-save", "numpy-load"):
            out = subprocess.run(
                [sys.executable, __file__, "--row", name, path],
                check=True,
                capture_output=True,
                text=True,
            )
            print(out.stdout, end="")
    finally:
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
