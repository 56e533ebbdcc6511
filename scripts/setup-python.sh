#!/usr/bin/env bash
# Set up the Python virtual environment of the interop tests (tests/python).
#
#   scripts/setup-python.sh            # creates/updates <repo>/.venv, prints its python
#   PY=$(scripts/setup-python.sh)      # e.g. in tests and CI
#
# Idempotent: creates .venv with `python3 -m venv` when missing, installs
# tests/python/requirements.txt with pip, and skips the install when the
# requirements file is unchanged since the last successful install (a copy is
# kept in .venv/.dman-requirements.txt).  Progress goes to stderr; the only
# line on stdout is the path of the venv's python.
#
# Environment: PYTHON (interpreter that creates the venv, default python3),
# DMAN_VENV (venv folder, default <repo>/.venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DMAN_VENV:-$ROOT/.venv}"
REQ="$ROOT/tests/python/requirements.txt"
STAMP="$VENV/.dman-requirements.txt"
PYTHON="${PYTHON:-python3}"

die() {
    echo "setup-python.sh: error: $*" >&2
    exit 1
}
say() {
    echo "setup-python.sh: $*" >&2
}

[ -f "$REQ" ] || die "missing $REQ"

# One setup at a time: test binaries or scripts that start together wait
# here for the first, then find the venv ready (util-linux flock, on this
# script's own file).
if command -v flock >/dev/null 2>&1; then
    exec 9<"${BASH_SOURCE[0]}"
    flock 9
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    command -v "$PYTHON" >/dev/null 2>&1 \
        || die "'$PYTHON' not found: install Python 3.11 or newer with the venv module (or set PYTHON=...)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || die "'$PYTHON' is $("$PYTHON" -V 2>&1); numpy 2.4 in $REQ needs Python 3.11 or newer (set PYTHON=...)"
    args=()
    # A folder that is there but holds no working venv: rebuild it in place.
    [ -e "$VENV" ] && args+=(--clear)
    say "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "${args[@]}" "$VENV" \
        || die "'$PYTHON -m venv $VENV' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    rm -f "$STAMP"
fi

if [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then
    say "requirements unchanged since the last install: nothing to do"
else
    say "installing $REQ"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" \
        || die "pip install -r $REQ failed (is PyPI reachable?)"
    "$VENV/bin/python" -c 'import dman, numpy' \
        || die "dman/numpy do not import after the install"
    cp "$REQ" "$STAMP"
fi

echo "$VENV/bin/python"
