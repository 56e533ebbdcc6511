#!/usr/bin/env bash
# Runs every test of the workspace. (The Python interop checks join later,
# with the virtual environment they need.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
