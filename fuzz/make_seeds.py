"""Writes the seed inputs of every fuzz target from the project's own files.

    python fuzz/make_seeds.py OUT [TYPED_SEED]

OUT/<target>/ receives the seeds (the folder is emptied first). Sources:
the getting-started archive (tests/fixtures/getting-started, Python dman's
own tree), the Python reference trees (tests/fixtures/python-reference),
the .npy fixtures of dman-core/tests/npy, arrays numpy writes here (numpy
is needed: the project's .venv has it), and TYPED_SEED, the typed target's
own seed (`cargo run --example typed_seed` in fuzz/). Large arrays are
replaced by small ones of the same dtype, so that seeds stay small.

The committed corpora are these seeds after `cargo fuzz run` and `cargo fuzz
cmin` (see README.md).
"""

import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GETTING_STARTED = ROOT / "tests/fixtures/getting-started/getting-started.zip"
REFERENCE = ROOT / "tests/fixtures/python-reference/trees.zip"
NPY_FIXTURES = ROOT / "dman-core/tests/npy"
SEPARATOR = b"\n%%file "
EXPERIMENT = ".dman/cache/examples:patterns:common/experiment/"


def small_npy(data: bytes) -> bytes:
    """A .npy file of the same dtype and number of axes, each axis at most 3."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:
        return data[:256]
    if array.size <= 12:
        return data
    index = tuple(slice(0, 3) for _ in range(array.ndim))
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array[index]))
    return out.getvalue()


def read_zip(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename: archive.read(info)
            for info in archive.infolist()
            if not info.is_dir()
        }


def shrink(files: dict) -> dict:
    return {
        name: small_npy(data) if name.endswith(".npy") else data
        for name, data in files.items()
    }


def graph_input(root: bytes, others: dict) -> bytes:
    """The graph targets' format: the root file, then each other file."""
    out = bytearray(root)
    for name, data in others.items():
        out += SEPARATOR + name.encode() + b"\n" + data
    return bytes(out)


def key_inputs(files: dict, folder: str):
    """One graph input per key folder under `folder`: its `<key>.json`
    at experiment/experiment.json, the folder's other files under
    experiment/."""
    keys = {}
    for name in files:
        if not name.startswith(folder):
            continue
        rest = name[len(folder):]
        key = rest.split("/", 1)[0]
        keys.setdefault(key, []).append(rest)
    for key, names in sorted(keys.items()):
        root = f"{key}/{key}.json"
        if root not in names:
            continue
        others = {
            "experiment/" + n[len(key) + 1:]: files[folder + n]
            for n in sorted(names)
            if n != root
        }
        yield key, graph_input(files[folder + root], others)


def zip_bytes(files: dict, method=zipfile.ZIP_DEFLATED, **options) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        if options.get("comment"):
            archive.comment = options["comment"]
        for folder in options.get("dirs", []):
            archive.writestr(zipfile.ZipInfo(folder), b"")
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 22, 2, 7, 0))
            info.compress_type = method
            with archive.open(info, "w", force_zip64=options.get("zip64", False)) as entry:
                entry.write(data)
    return out.getvalue()


def npy_bytes(array, version=None) -> bytes:
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def main():
    out = Path(sys.argv[1])
    typed_seed = Path(sys.argv[2]).read_bytes() if len(sys.argv) > 2 else None
    seeds = {t: {} for t in ["json", "npy", "zip", "storage_path", "graph", "typed"]}

    started = shrink(read_zip(GETTING_STARTED))
    reference = shrink(read_zip(REFERENCE))

    # json: every JSON file of both trees (the large expected.json is not one).
    for name, data in {**started, **reference}.items():
        if name.endswith(".json") and len(data) <= 16384:
            seeds["json"][name.replace("/", "_")] = data
    for i, text in enumerate([
        '{"loss": NaN, "up": Infinity, "down": -Infinity, "steps": [1, 2.5e-05, 1e+16, 100.0]}',
        '[18446744073709551615, -9223372036854775808, 9223372036854775807, 0.1, -0.0, 5e-324]',
        '"\\u00e9\\ud83c\\udde6\\ud83c\\uddfa \\n\\t\\"\\\\\\/"',
        '{"a": {"b": [[[{"c": null}]]]}, "": true, "d": false}',
        "[" * 64 + "]" * 64,
    ]):
        seeds["json"][f"hand-{i}"] = text.encode()

    # npy: the fixtures, the trees' arrays, and every dtype numpy writes.
    for path in sorted(NPY_FIXTURES.glob("*.npy")):
        seeds["npy"][path.name] = path.read_bytes()
    for name, data in {**started, **reference}.items():
        if name.endswith(".npy"):
            seeds["npy"][name.replace("/", "_")] = data
    with zipfile.ZipFile(GETTING_STARTED) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".npy"):
                # The real header of a large array, its data cut short.
                seeds["npy"]["truncated-" + Path(info.filename).name] = archive.read(info)[:200]
                break
    arrays = {
        "f8": np.arange(6, dtype="<f8").reshape(2, 3) / 7,
        "f4": np.array([1.5, -0.0, np.nan, np.inf], dtype="<f4"),
        "i8": np.arange(-3, 3, dtype="<i8"),
        "i4": np.arange(8, dtype="<i4").reshape(2, 2, 2),
        "i2": np.array([-1, 2], dtype="<i2"),
        "i1": np.array([-128, 127], dtype="i1"),
        "u8": np.array([2**64 - 1], dtype="<u8"),
        "u4": np.array([7], dtype="<u4"),
        "u2": np.array([1, 2, 3], dtype="<u2"),
        "u1": np.array([0, 255], dtype="u1"),
        "b1": np.array([True, False]),
        "c16": np.array([1 + 2j], dtype="<c16"),
        "c8": np.array([[1 - 1j]], dtype="<c8"),
        "f8-big": np.arange(4, dtype=">f8"),
        "i4-big": np.arange(3, dtype=">i4"),
        "f8-fortran": np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)),
        "f8-0d": np.array(3.25),
        "f8-empty": np.zeros((0, 3)),
        "str": np.array(["ab", "c"]),
    }
    for name, array in arrays.items():
        seeds["npy"][name] = npy_bytes(array)
    seeds["npy"]["v2"] = npy_bytes(np.arange(3, dtype="<f8"), version=(2, 0))
    seeds["npy"]["v3"] = npy_bytes(np.arange(3, dtype="<i8"), version=(3, 0))

    # zip: the getting-started tree (small arrays) as users make it, and
    # variations of the format.
    seeds["zip"]["getting-started"] = zip_bytes(started)
    seeds["zip"]["stored"] = zip_bytes(started, zipfile.ZIP_STORED)
    top = {n[len(".dman/"):]: d for n, d in started.items()}
    seeds["zip"]["no-dman-folder"] = zip_bytes(top, dirs=["cache/"])
    seeds["zip"]["zip64"] = zip_bytes(dict(list(started.items())[:3]), zip64=True)
    seeds["zip"]["comment"] = zip_bytes(dict(list(started.items())[:2]), comment=b"dman")
    seeds["zip"]["empty"] = zip_bytes({})
    some = {n: d for n, d in reference.items() if "/ref/barrays/" in n or "/ref/mdict_default/" in n}
    seeds["zip"]["reference-part"] = zip_bytes(some)

    # storage_path: a path, a newline, a path relative to it.
    pairs = [
        ("cache/examples:patterns:common/experiment", "results/experiment-0/experiment.json"),
        ("./a//b/", "../c"),
        ("a/b", "../../.."),
        ("a/../b", "./x/./y"),
        ("", "/abs"),
        ("dir", "C:\\windows"),
        ("%48%45%4C%4C%4F", "\U0001F1E6\U0001F1FA/$shenanigans@@~.txt"),
        ("I'm a < & weird path", "a\x00b"),
        ("x.tar.gz", "..."),
        (".dman", "../.dman/ref"),
    ]
    for i, (a, b) in enumerate(pairs):
        seeds["storage_path"][f"hand-{i}"] = f"{a}\n{b}".encode()
    names = sorted(reference)[:40]
    for i, name in enumerate(names):
        folder, _, file = name.rpartition("/")
        seeds["storage_path"][f"tree-{i}"] = f"{folder}\n{file}".encode()

    # graph and typed: the getting-started experiment and every key of the
    # reference trees.
    experiment = {n[len(EXPERIMENT):]: d for n, d in started.items() if n.startswith(EXPERIMENT)}
    gs = graph_input(
        experiment["experiment.json"],
        {"experiment/" + n: d for n, d in experiment.items() if n != "experiment.json"},
    )
    for target in ["graph", "typed"]:
        seeds[target]["getting-started"] = gs
        if typed_seed is not None:
            seeds[target]["typed-seed"] = typed_seed
    for key, data in key_inputs(reference, ".dman/ref/"):
        seeds["graph"][key] = data
        if "mruns" in key or "mdict" in key or "mlist" in key or "record" in key:
            seeds["typed"][key] = data

    for target, files in seeds.items():
        folder = out / target
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds, {sum(map(len, files.values()))} bytes")


if __name__ == "__main__":
    main()
