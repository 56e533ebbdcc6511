#!/usr/bin/env bash
# Sets up what the tests need, from the project's own files, and runs every
# test of the workspace:
#   - Python dman 1.0.1 and numpy in .venv (scripts/setup-python.sh), for the
#     interop tests, which read its path from DMAN_PYTHON;
#   - system tools the tests call (scripts/setup-system.sh, when present).
set -euo pipefail
cd "$(dirname "$0")/.."

DMAN_PYTHON="$(./scripts/setup-python.sh)"
export DMAN_PYTHON
if [ -x scripts/setup-system.sh ]; then
    ./scripts/setup-system.sh
fi

cargo test --workspace

# A bounded fuzzing run (about 30 s per target; FUZZ_SECONDS changes it)
# when a nightly toolchain is installed; otherwise it says it is skipped.
./scripts/fuzz-smoke.sh
