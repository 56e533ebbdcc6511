"""Prints what numpy reads from the `.npy` files of the getting-started
fixture, as the JSON that `npy_reference.json` beside this script holds.

    .venv/bin/python dman-core/tests/npy/npy_reference.py > dman-core/tests/npy/npy_reference.json

The fixture is `tests/fixtures/getting-started/getting-started.zip`
(made by `tests/python/make_getting_started.py`) (or the path given as the first argument).
For every `.npy` member: shape, dtype, the sum as numpy computes it, the
wrapping 64-bit sum of the elements' bit patterns (an exact check of every
value), and a few elements by index.
"""

import io
import json
import pathlib
import sys
import zipfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[3]
DEFAULT = REPO / "tests" / "fixtures" / "getting-started" / "getting-started.zip"


def describe(array):
    rows, cols = array.shape
    picks = [(0, 0), (0, 1), (1, 0), (rows // 2, cols // 2), (rows - 1, 0), (rows - 1, cols - 1)]
    return {
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "fortran_order": bool(array.flags.f_contiguous and not array.flags.c_contiguous),
        "sum": float(array.sum()),
        "bits_sum": int(array.view(np.uint64).sum(dtype=np.uint64)),
        "elements": [{"index": list(ix), "value": float(array[ix])} for ix in picks],
    }


def main():
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".npy"):
                out[name] = describe(np.load(io.BytesIO(archive.read(name))))
    print(json.dumps(out, indent=4))


if __name__ == "__main__":
    main()
