"""Load a dman tree with Python dman 1.0.1 and check it against expected values.

Usage (from the repository root, after scripts/setup-python.sh):

    .venv/bin/python tests/python/check_tree.py BASE [SCENARIO ...] [options]

BASE is a ``.dman`` folder (e.g. one that dman-rs wrote), a folder that
contains ``.dman``, or a ``.zip`` archive whose entries start with ``.dman/``.
SCENARIO names select entries of the manifest (shell-style patterns such as
``mdict_*`` work); without any, every scenario of the manifest is checked.

For each scenario the key is loaded the way the manifest says (``dman.load``
with its generator/subdir/cluster, or, for ``"mode": "store"``, the storable
file read with its sto_type), every record is followed, the result is
normalized (refmodel.normalize) and compared with the manifest's ``value``;
the files the key owns are compared with the manifest's ``files`` patterns.

Exit status: 0 and ``ok <n> checks`` when everything matches; 1 with a list
of differences otherwise; 2 for usage errors.

Options:
  --expected FILE   manifest (default: tests/fixtures/python-reference/expected.json)
  --no-files        do not compare file layouts (markers are still checked)
  --no-prime        do not apply the compact-modelclass workaround (see refmodel)
  --list            list the scenarios of the manifest and exit
  -v, --verbose     show dman's log output and every scenario
"""

import argparse
import contextlib
import fnmatch
import io
import json
import os
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import refmodel as rm  # noqa: E402

MAX_DIFFS = 25
DEFAULT_EXPECTED = HERE.parent / "fixtures" / "python-reference" / "expected.json"


def resolve_base(arg: str, stack: contextlib.ExitStack) -> str:
    path = Path(arg)
    if path.is_file() and zipfile.is_zipfile(path):
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dman-check-"))
        with zipfile.ZipFile(path) as z:
            z.extractall(tmp)
        path = Path(tmp)
    if path.is_dir() and path.name != ".dman" and (path / ".dman").is_dir():
        path = path / ".dman"
    if not path.is_dir():
        raise SystemExit(f"check_tree: {arg}: not a .dman folder, a folder holding one, or a zip archive")
    return str(path.resolve())


def list_files(folder: str):
    out = []
    for root, _, files in os.walk(folder):
        for f in files:
            if f == ".gitignore":
                continue
            out.append(os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/"))
    return sorted(out)


def check_files(base: str, name: str, entry: dict):
    """Compare the files of a scenario with the manifest's patterns.

    Returns (diffs, checks, files): ``files`` are the scenario's actual files
    (relative to base): the whole key folder when ``files_exact``, else the
    files that matched a pattern."""
    diffs, checks, matched = [], 0, []
    patterns = list(entry.get("files", []))
    if entry.get("files_exact"):
        folder = rm.key_folder(name, entry)
        actual = [f"{folder}/{f}" for f in list_files(os.path.join(base, folder))]
    else:
        folders = {p.rsplit("/", 1)[0] if "/" in p else "" for p in patterns}
        actual = []
        for folder in sorted(folders):
            full = os.path.join(base, folder)
            if os.path.isdir(full):
                actual += [f"{folder}/{f}" if folder else f for f in os.listdir(full) if os.path.isfile(os.path.join(full, f))]
    remaining = sorted(set(actual))
    # exact names first, so that {uuid} patterns do not take them
    for pattern in sorted(patterns, key=lambda p: (rm.UUID_PLACEHOLDER in p, p)):
        checks += 1
        match = next((f for f in remaining if rm.match_pattern(pattern, f)), None)
        if match is None:
            diffs.append(f"files: missing {pattern}")
        else:
            remaining.remove(match)
            matched.append(match)
    if entry.get("files_exact"):
        for f in remaining:
            diffs.append(f"files: unexpected {f}")
        return diffs, checks, sorted(actual)
    return diffs, checks, sorted(matched)


def check_markers(base: str, entry: dict, files):
    """Compare the invalid markers found in the scenario's JSON files with
    the manifest's ``markers``."""
    diffs = []
    expected = [dict(m) for m in entry.get("markers", [])]
    actual = rm.markers_in_files(base, files)
    for m in actual:
        hit = next(
            (
                e
                for e in expected
                if e["marker"] == m["marker"]
                and e["pointer"] == m["pointer"]
                and rm.match_pattern(e["file"], m["file"])
            ),
            None,
        )
        if hit is None:
            diffs.append(f"markers: unexpected {m['marker']} at {m['file']}#{m['pointer']}")
        else:
            expected.remove(hit)
    for e in expected:
        diffs.append(f"markers: missing {e['marker']} at {e['file']}#{e['pointer']}")
    return diffs, len(entry.get("markers", [])) + 1


def count_leaves(value) -> int:
    if isinstance(value, list):
        return sum(count_leaves(v) for v in value) or 1
    if isinstance(value, dict):
        return sum(count_leaves(v) for v in value.values()) or 1
    return 1


def check_scenario(base: str, name: str, entry: dict, *, files: bool, verbose: bool):
    """Return (diffs, notes, checks, log)."""
    diffs, notes = [], []
    log = io.StringIO()
    capture = contextlib.nullcontext() if verbose else _capture(log)
    file_path = os.path.join(base, entry["file"]) if "file" in entry else None
    checks = 0
    if file_path is not None:
        checks += 1
        if not os.path.isfile(file_path):
            return [f"file {entry['file']} not found under {base}"], notes, checks, log.getvalue()
    try:
        with capture:
            loaded = rm.load_entry(base, name, entry)
            actual = json.loads(rm.dumps(rm.normalize(loaded)))
    except Exception:
        return [f"loading raised:\n{traceback.format_exc()}"], notes, checks, log.getvalue()
    rm.compare(entry["value"], actual, "$", diffs, notes)
    checks += count_leaves(entry["value"])
    if "files" in entry:
        fdiffs, fchecks, actual_files = check_files(base, name, entry)
        if files:
            diffs += fdiffs
            checks += fchecks
        if "markers" in entry:
            mdiffs, mchecks = check_markers(base, entry, actual_files)
            diffs += mdiffs
            checks += mchecks
    return diffs, notes, checks, log.getvalue()


@contextlib.contextmanager
def _capture(sink):
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="check_tree.py",
        description="Check a dman tree against expected values with Python dman 1.0.1.",
    )
    parser.add_argument("base", help=".dman folder, folder holding .dman, or .zip archive")
    parser.add_argument("scenarios", nargs="*", help="scenario names or patterns (default: all)")
    parser.add_argument("--expected", default=str(DEFAULT_EXPECTED), help="expected-values manifest")
    parser.add_argument("--no-files", action="store_true", help="do not compare file layouts")
    parser.add_argument("--no-prime", action="store_true", help="no compact-modelclass workaround")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_intermixed_args(argv)

    try:
        with open(args.expected, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        parser.error(f"cannot read manifest {args.expected}: {e}")
    if manifest.get("format") != rm.MANIFEST_FORMAT:
        parser.error(f"{args.expected}: unsupported manifest format {manifest.get('format')!r}")
    scenarios = manifest.get("scenarios", {})

    if args.list:
        for name, entry in scenarios.items():
            print(f"{name:32s} {entry.get('description', '')}")
        return 0

    selected = []
    for pattern in args.scenarios or ["*"]:
        hits = [n for n in scenarios if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            parser.error(f"no scenario matches {pattern!r} in {args.expected}")
        selected += [h for h in hits if h not in selected]

    if not args.no_prime:
        rm.prime_compact_classes()

    total, failed = 0, []
    with contextlib.ExitStack() as stack:
        base = resolve_base(args.base, stack)
        for name in selected:
            entry = scenarios[name]
            diffs, notes, checks, log = check_scenario(
                base, name, entry, files=not args.no_files, verbose=args.verbose
            )
            total += checks
            if diffs:
                failed.append(name)
                print(f"FAIL {name} ({entry.get('file', '?')})")
                for d in diffs[:MAX_DIFFS]:
                    print("    " + d.replace("\n", "\n    "))
                if len(diffs) > MAX_DIFFS:
                    print(f"    ... and {len(diffs) - MAX_DIFFS} more differences")
                if log.strip():
                    print("    dman log:")
                    print("        " + log.strip().replace("\n", "\n        "))
            elif args.verbose:
                print(f"ok   {name} ({checks} checks)")
            for n in notes:
                print(f"note {name}: {n}")

    if failed:
        print(f"FAILED {len(failed)} of {len(selected)} scenarios: {' '.join(failed)}")
        return 1
    print(f"ok {total} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
