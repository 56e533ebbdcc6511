#!/usr/bin/env bash
# Self-test of the Python side of the interop tests (Python -> Python).
#
#   tests/python/selftest.sh
#
# 1. the committed reference trees (tests/fixtures/python-reference/trees.zip)
#    load in Python dman 1.0.1 and match the committed expected.json;
# 2. trees written now by make_reference_trees.py match their own manifest
#    and the committed one, and the manifests agree (the writer is
#    deterministic except for uuids);
# 3. check_tree.py notices a damaged tree (it is not vacuous).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/python"
FIX="$ROOT/tests/fixtures/python-reference"
# The Python of the tests (DMAN_PYTHON, as scripts/test.sh and the Rust
# test that runs this script set it), else the one setup-python.sh makes.
PY="${DMAN_PYTHON:-$("$ROOT/scripts/setup-python.sh")}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/dman-selftest.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

step() { echo "== selftest: $*"; }
fail() { echo "selftest: FAILED: $*" >&2; exit 1; }

step "committed fixtures: trees.zip against expected.json"
"$PY" "$HERE/check_tree.py" "$FIX/trees.zip" --expected "$FIX/expected.json" \
    || fail "committed trees do not match the committed expected.json"

step "fresh trees: write"
"$PY" "$HERE/make_reference_trees.py" "$TMP/fresh" >"$TMP/write.log" \
    || { cat "$TMP/write.log"; fail "make_reference_trees.py failed"; }
tail -n 1 "$TMP/write.log"

step "fresh trees against their own manifest"
"$PY" "$HERE/check_tree.py" "$TMP/fresh/.dman" --expected "$TMP/fresh/expected.json" \
    || fail "fresh trees do not match their own manifest"

step "fresh trees against the committed manifest"
"$PY" "$HERE/check_tree.py" "$TMP/fresh/.dman" --expected "$FIX/expected.json" \
    || fail "fresh trees do not match the committed manifest (regenerate the fixtures?)"

step "fresh manifest equals the committed one"
"$PY" - "$TMP/fresh/expected.json" "$FIX/expected.json" <<'PYEOF' || fail "manifests differ: regenerate the fixtures (see tests/fixtures/python-reference/README.md)"
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
for m in (a, b):
    m.pop("written_by", None)
if a != b:
    for name in sorted(set(a["scenarios"]) | set(b["scenarios"])):
        if a["scenarios"].get(name) != b["scenarios"].get(name):
            print(f"  differs: {name}")
    sys.exit(1)
print(f"  {len(a['scenarios'])} scenarios identical")
PYEOF

step "a damaged tree is reported"
cp -r "$TMP/fresh/.dman" "$TMP/broken"
sed -i 's/"seed": 7,/"seed": 8,/' "$TMP/broken/ref/modelclass_basic/modelclass_basic.json"
rm "$TMP/broken/ref/mruns_removed/trials/trial-4/trial.npy"
touch "$TMP/broken/ref/mc_cluster/stray.txt"
set +e
"$PY" "$HERE/check_tree.py" "$TMP/broken" --expected "$FIX/expected.json" \
    modelclass_basic mruns_removed mc_cluster json_scalars >"$TMP/broken.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$TMP/broken.log"; fail "check_tree.py exited $rc on a damaged tree (expected 1)"; }
for needle in \
    'FAIL modelclass_basic' 'seed: expected 7, got 8' \
    'FAIL mruns_removed' 'files: missing ref/mruns_removed/trials/trial-4/trial.npy' \
    'FAIL mc_cluster' 'files: unexpected ref/mc_cluster/stray.txt' \
    'FAILED 3 of 4 scenarios'; do
    grep -qF "$needle" "$TMP/broken.log" || { cat "$TMP/broken.log"; fail "missing '$needle' in the report"; }
done
echo "  damaged tree reported as expected"

step "all good"
