"""Writes the getting-started fixture with Python dman 1.0.1.

    .venv/bin/python tests/python/make_getting_started.py [OUT_ZIP]

Runs `getting_started.py` (the seed's example) in a fresh workspace where it
sits at `examples/patterns/common.py`, then packs the `.dman` folder it wrote
into OUT_ZIP (default `tests/fixtures/getting-started/getting-started.zip`)
with `zipfile`, the way many users share such a folder: no directory entries,
names under `.dman/`, sorted. Array values are fixed by their seeds; file
names hold fresh uuids, so each run of this script gives other names.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT = REPO / "tests" / "fixtures" / "getting-started" / "getting-started.zip"


def write_tree(workspace: pathlib.Path):
    script = workspace / "examples" / "patterns" / "common.py"
    script.parent.mkdir(parents=True)
    shutil.copyfile(HERE / "getting_started.py", script)
    (workspace / ".dman").mkdir()
    subprocess.run([sys.executable, str(script)], cwd=workspace, check=True)


def pack(workspace: pathlib.Path, out: pathlib.Path):
    files = sorted(p for p in (workspace / ".dman").rglob("*") if p.is_file())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(workspace).as_posix()
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 22, 2, 7, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    os.replace(tmp, out)
    return [p.relative_to(workspace).as_posix() for p in files]


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory(prefix="dman-getting-started-") as tmp:
        workspace = pathlib.Path(tmp)
        write_tree(workspace)
        names = pack(workspace, out)
    for name in names:
        print(name)
    print(f"wrote {len(names)} files to {out}")


if __name__ == "__main__":
    main()
