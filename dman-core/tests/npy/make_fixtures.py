"""Writes the small .npy fixtures of dman-core/tests/numeric.rs.

Run from anywhere with numpy installed (the project's venv):

    .venv/bin/python dman-core/tests/npy/make_fixtures.py

Every file is written by numpy itself (`numpy.save`); the broken ones are
numpy's bytes cut or patched, as a crash or a bad copy would leave them.
"""

import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def save(name, array):
    np.save(HERE / name, array, allow_pickle=True)
    return (HERE / name).read_bytes()


def main():
    # Values that are easy to check from Rust: a[i, j] = 10 * i + j + 0.5.
    f64_3x4 = np.arange(12, dtype=np.float64).reshape(3, 4) + 0.5
    f64_3x4 += 6.0 * np.arange(3).reshape(3, 1)  # 10 * i + j + 0.5

    save("f64_3x4.npy", f64_3x4)
    save("fortran_f64_3x4.npy", np.asfortranarray(f64_3x4))
    save("bigendian_f64_3x4.npy", f64_3x4.astype(">f8"))
    save("i64_2x3.npy", np.arange(6, dtype=np.int64).reshape(2, 3))
    save("f64_2x3x4.npy", np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    save("fortran_i32_2x3x4.npy", np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
    save("object.npy", np.array([1, "a", None], dtype=object))
    save("structured.npy", np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]))
    save("unicode.npy", np.array(["ab", "cde"]))

    full = (HERE / "f64_3x4.npy").read_bytes()
    # Cut inside the header, and inside the data.
    (HERE / "truncated_header.npy").write_bytes(full[:40])
    (HERE / "truncated_data.npy").write_bytes(full[:-20])
    # A header that declares far more data than the file holds: the shape
    # patched in place, the padding shortened so the header keeps its length.
    text = full[10:128].decode("latin1")
    new = text.replace("(3, 4), }", "(300000000000, 4), }").replace(" " * 11 + "\n", "\n")
    assert len(new) == len(text), (len(new), len(text))
    (HERE / "shape_too_big.npy").write_bytes(full[:10] + new.encode("latin1") + full[128:])
    assert np.load(HERE / "f64_3x4.npy").shape == (3, 4)
    try:
        np.load(HERE / "shape_too_big.npy")
    except Exception:
        pass
    else:
        raise AssertionError("numpy read shape_too_big.npy")
    (HERE / "not_npy.npy").write_bytes(b"PK\x03\x04 this is a zip, not a .npy file")


if __name__ == "__main__":
    main()
