"""The Python half of the numeric interop tests (dman-core/tests/numeric.rs).

    python interop.py python-cases DIR   # Python dman writes inline arrays and .npy files
    python interop.py check-rust DIR     # numpy and Python dman read what Rust wrote

`python-cases` writes `DIR/python.json`: for each case its dtype, shape, the
`dman.serialize` output for `sarray`, `carray` and plain `ndarray`, and the
name of a `.npy` file (numpy.save) holding the same array.

`check-rust` reads `DIR/manifest.json`, written by the Rust test: for each
case a `.npy` file and the inline envelopes Rust wrote. It checks that
`numpy.load` and Python dman's `_num__barray` reader give the dtype, shape
and values the manifest names, that `dman.core.serializables.deserialize`
of each inline envelope gives the same values, and that the envelopes are
exactly what Python dman itself writes for that array. Prints one line per
case and exits non-zero on the first mismatch. It also checks that each
`.npy` file is byte for byte what `numpy.save` writes for the array.
"""

import io
import json
import pathlib
import sys

import numpy as np

import dman
from dman.core import serializables, storables
from dman.numeric import carray, sarray

NAN = float("nan")


def python_cases():
    rng = np.random.default_rng(4)
    return {
        "f64_1d": np.array([0.0, 1.5, -2.25, 0.1, 1e-5, 1e16, 123456789.125, NAN, np.inf, -np.inf, -0.0]),
        "f64_2d": rng.standard_normal((3, 4)),
        "f64_3d": rng.standard_normal((2, 3, 2)),
        "f64_0d": np.array(2.5),
        "f64_empty_0x3": np.zeros((0, 3)),
        "f64_empty_1d": np.zeros((0,)),
        "f32_1d": (np.arange(5, dtype=np.float32) / 3).astype(np.float32),
        "f32_2d": rng.standard_normal((2, 3)).astype(np.float32),
        "i64_2d": np.array([[0, -1, 2**62], [-(2**63), 2**63 - 1, 7]], dtype=np.int64),
        "i64_0d": np.array(42, dtype=np.int64),
        "i32_1d": np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
        "u8_2d": np.array([[0, 1, 255], [7, 8, 9]], dtype=np.uint8),
        "bool_1d": np.array([True, False, True]),
        "bool_2d": np.array([[True], [False]]),
        "bool_0d": np.array(True),
    }


def write_python_cases(out):
    cases = []
    for name, array in python_cases().items():
        npy = f"py_{name}.npy"
        np.save(out / npy, array)
        cases.append(
            {
                "name": name,
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "npy": npy,
                "sarray": serializables.serialize(array.view(sarray)),
                "carray": serializables.serialize(array.view(carray)),
                "ndarray": serializables.serialize(array),
            }
        )
    (out / "python.json").write_text(json.dumps(cases, indent=4))
    print(f"wrote {len(cases)} cases")


def same(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def fail(name, message):
    print(f"FAIL {name}: {message}")
    sys.exit(1)


def check_rust(out):
    manifest = json.loads((out / "manifest.json").read_text())
    for case in manifest:
        name = case["name"]
        path = out / case["npy"]
        loaded = np.load(path)
        if str(loaded.dtype) != case["dtype"]:
            fail(name, f"numpy.load dtype {loaded.dtype}, expected {case['dtype']}")
        if list(loaded.shape) != case["shape"]:
            fail(name, f"numpy.load shape {loaded.shape}, expected {case['shape']}")
        values = case["values"]
        if loaded.dtype.kind == "c":
            expected = np.array([complex(re, im) for re, im in values], dtype=loaded.dtype)
        else:
            expected = np.array(values, dtype=loaded.dtype)
        expected = expected.reshape(case["shape"])
        if not same(loaded, expected):
            fail(name, f"numpy.load values {loaded!r}, expected {expected!r}")
        saved = io.BytesIO()
        np.save(saved, loaded)
        if saved.getvalue() != path.read_bytes():
            fail(name, f"numpy.save writes other bytes: {saved.getvalue()[:128]!r} vs {path.read_bytes()[:128]!r}")
        via_dman = np.asarray(storables.read("_num__barray", str(path)))
        if via_dman.dtype != loaded.dtype or not same(via_dman, loaded):
            fail(name, f"dman's _num__barray reader gives {via_dman!r}")
        checked = ["npy (numpy's bytes)"]
        for kind, cls in (("sarray", sarray), ("carray", carray), ("ndarray", None)):
            envelope = case.get(kind)
            if envelope is None:
                continue
            decoded = np.asarray(serializables.deserialize(envelope))
            if decoded.size == 0:
                ok = decoded.shape == loaded.shape
            else:
                ok = same(decoded.astype(loaded.dtype), loaded)
            if not ok:
                fail(name, f"dman deserialize of Rust's {kind} gives {decoded!r}, expected {loaded!r}")
            python_writes = serializables.serialize(loaded if cls is None else loaded.view(cls))
            if json.dumps(python_writes) != json.dumps(envelope):
                fail(name, f"Rust wrote {json.dumps(envelope)}, Python writes {json.dumps(python_writes)}")
            checked.append(kind)
        print(f"ok {name} {case['dtype']} {tuple(case['shape'])}: {', '.join(checked)}")
    print(f"checked {len(manifest)} cases")


def main():
    mode, out = sys.argv[1], pathlib.Path(sys.argv[2])
    if mode == "python-cases":
        write_python_cases(out)
    elif mode == "check-rust":
        check_rust(out)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
