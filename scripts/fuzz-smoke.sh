#!/usr/bin/env bash
# A bounded fuzzing run: builds the cargo-fuzz targets of fuzz/ and runs
# each for FUZZ_SECONDS (default 30) over its committed corpus and its
# regression inputs, with the limits of the long runs (fuzz/README.md):
# no input over 1 s, no allocation over 1 GB. Fails when any target finds a
# crash, a timeout or an allocation over the limit; the input is then in
# fuzz/artifacts/<target>/.
#
# cargo fuzz needs a nightly toolchain (it builds the targets with the
# nightly-only -Z sanitizer and coverage flags libFuzzer relies on). Without
# one this prints that fuzzing is skipped, and why, and exits 0: the stable
# replay of the same inputs (tests/tests/fuzz_replay.rs) still runs in
# `cargo test`.
#
# cargo-fuzz itself is installed from crates.io into target/tools when it
# is missing; nothing global is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
CARGO_FUZZ_VERSION=0.13.2
TARGETS=(json npy zip storage_path graph typed)

if ! command -v rustup >/dev/null 2>&1 || ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz-smoke: SKIPPED: no nightly toolchain is installed." >&2
    echo "fuzz-smoke: cargo fuzz needs nightly (it builds the targets with the nightly-only" >&2
    echo "fuzz-smoke: -Z sanitizer and coverage flags libFuzzer relies on)." >&2
    echo "fuzz-smoke: 'rustup toolchain install nightly' enables it; the corpora are still" >&2
    echo "fuzz-smoke: replayed on stable by tests/tests/fuzz_replay.rs." >&2
    exit 0
fi

TOOLS="$PWD/target/tools"
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "fuzz-smoke: installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"

# No sanitizer: the targets are safe Rust but for a few unsafe blocks that
# the long runs check under AddressSanitizer; a smoke run is about finding
# panics, overflows, timeouts and huge allocations, and without ASan the
# build is quicker and the targets run about twice as fast. 16 codegen units
# instead of cargo fuzz's 1: a build minutes quicker for a slightly slower
# run.
# A target folder of its own, so that the smoke build and a developer's
# AddressSanitizer build (fuzz/target) do not rebuild each other.
BUILD=(--sanitizer none --codegen-units 16 --target-dir "${CARGO_TARGET_DIR:-$PWD/target}/fuzz-smoke")
start=$(date +%s)
cargo +nightly fuzz build "${BUILD[@]}"
echo "fuzz-smoke: built the targets in $(($(date +%s) - start)) s" >&2

# New inputs go to a scratch folder (the first one libFuzzer is given), not
# into the committed corpus.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${TARGETS[@]}"; do
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    dirs=("$scratch/$target" "fuzz/corpus/$target")
    if [ -d "fuzz/regressions/$target" ]; then
        dirs+=("fuzz/regressions/$target")
    fi
    echo "fuzz-smoke: $target for $FUZZ_SECONDS s" >&2
    if ! cargo +nightly fuzz run "${BUILD[@]}" "$target" "${dirs[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=1 \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target/" \
        2> "$scratch/$target.log"; then
        failed+=("$target")
        tail -n 60 "$scratch/$target.log" >&2
    fi
    grep -E '^stat::number_of_executed_units|^Done ' "$scratch/$target.log" >&2 || true
done
echo "fuzz-smoke: $((${#TARGETS[@]} - ${#failed[@]})) of ${#TARGETS[@]} targets ran clean in $(($(date +%s) - start)) s" >&2
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
