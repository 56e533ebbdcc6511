#!/usr/bin/env bash
# dman-rs side by side with Python dman 1.0.1 and with the raw I/O limit, in
# one run on this machine (issue 8). Prints one Markdown report: the machine,
# the tables of times and ratios, growth, and the issue's bounds.
#
#   scripts/bench.sh                       # everything (about 15 minutes on 2 cores)
#   DMAN_BENCH_N=100,500 scripts/bench.sh  # a quicker look
#
# Steps: sets up the Python venv (scripts/setup-python.sh: dman 1.0.1, numpy),
# builds and runs benches/compare.rs (package dman-benches; every backend: memory,
# local folder with and without fsync, zip, S3 on an in-process server),
# then benches/python/bench_dman.py (Python dman on a local folder), both
# writing JSON lines to one file, then benches/python/table.py.
#
# Then the single large array (issue 17): benches/big_array.rs (peak memory and
# time of saving and loading one array on a local folder and on S3, against
# plain writes and reads) and benches/python/big_array.py (numpy.save and
# numpy.load of the same array).
#
# Environment:
#   DMAN_BENCH_N         run counts (default 100,500,2000)
#   DMAN_BENCH_BIG_MIB   size of the large array in MiB (default 2048; 0 skips it)
#   DMAN_BENCH_BACKENDS  dman-rs backends (default memory,fs,fs-durable,zip,s3)
#   DMAN_BENCH_REPS      dman-rs cycles per N, best kept (default 100:5,500:3,2000:2;
#                        the compare bench caps fsync, zip and S3 at 1 for 2000)
#   DMAN_BENCH_PY_REPS   Python cycles per N (default 100:3,500:1,2000:1)
#   DMAN_BENCH_PYTHON=0  skip Python
#   DMAN_BENCH_DIR       where the files go (default $TMPDIR or /tmp, + /dman-bench);
#                        every file is removed at the end
#   DMAN_BENCH_OUT       the JSON lines (default target/bench-compare/<date>.jsonl)
#   DMAN_BENCH_WAIT_IDLE seconds to wait at most for an idle machine (1-minute
#                        load average below 0.5, no rustc) before measuring
#                        (default 0: do not wait); the report says whether it was
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NS="${DMAN_BENCH_N:-100,500,2000}"
BACKENDS="${DMAN_BENCH_BACKENDS:-memory,fs,fs-durable,zip,s3}"
REPS="${DMAN_BENCH_REPS:-100:5,500:3,2000:2}"
PY_REPS="${DMAN_BENCH_PY_REPS:-100:3,500:1,2000:1}"
BASE="${DMAN_BENCH_DIR:-${TMPDIR:-/tmp}/dman-bench}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${DMAN_BENCH_OUT:-$ROOT/target/bench-compare/$STAMP.jsonl}"
WAIT_IDLE="${DMAN_BENCH_WAIT_IDLE:-0}"

say() { echo "bench.sh: $*" >&2; }

PY="$("$ROOT/scripts/setup-python.sh")"

say "building the compare bench"
cargo bench -p dman-benches --bench compare --no-run >&2

# The run's folder; marked TOPDIR on ext4 so that the cycles' folders spread
# over fresh block groups (see compare.rs), removed however the script ends.
mkdir -p "$BASE"
chattr +T "$BASE" 2>/dev/null || true
RUN="$(mktemp -d "$BASE/run-XXXXXX")"
chattr +T "$RUN" 2>/dev/null || true
trap 'rm -rf "$RUN"' EXIT
trap 'exit 143' INT TERM
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

load1() { cut -d' ' -f1 /proc/loadavg; }
busy() { awk -v l="$(load1)" 'BEGIN { exit !(l >= 0.5) }' || pgrep -x rustc >/dev/null; }
idle_note="not checked"
if [ "$WAIT_IDLE" -gt 0 ]; then
    waited=0
    while busy && [ "$waited" -lt "$WAIT_IDLE" ]; do
        sleep 10
        waited=$((waited + 10))
    done
    if busy; then
        idle_note="not idle after waiting ${waited} s (load $(load1), $(pgrep -c -x rustc || true) rustc): measured anyway"
    else
        idle_note="idle (waited ${waited} s)"
    fi
    say "machine: $idle_note"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)

say "dman-rs: backends $BACKENDS, N $NS (progress below)"
DMAN_BENCH_DIR="$RUN" cargo bench -q -p dman-benches --bench compare -- \
    --n "$NS" --backends "$BACKENDS" --reps "$REPS" --out "$OUT" --keep >&2

if [ "${DMAN_BENCH_PYTHON:-1}" != 0 ]; then
    say "Python dman 1.0.1: local folder, N $NS"
    "$PY" "$ROOT/benches/python/bench_dman.py" \
        --base "$RUN" --n "$NS" --reps "$PY_REPS" --out "$OUT" --keep
fi
BIG_MIB="${DMAN_BENCH_BIG_MIB:-2048}"
big_table=""
if [ "$BIG_MIB" != 0 ]; then
    say "one array of $BIG_MIB MiB: dman-rs (folder, S3), plain calls, numpy"
    big_table="$(DMAN_BENCH_DIR="$RUN" DMAN_BENCH_BIG_MIB="$BIG_MIB" \
        cargo bench -q -p dman-benches --bench big_array)"
    big_table="$big_table
$(DMAN_BENCH_BIG_MIB="$BIG_MIB" "$PY" "$ROOT/benches/python/big_array.py" "$RUN")"
fi
end=$(date +%s)
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

fs_type="$(df -PT "$RUN" | awk 'NR == 2 { print $2 " on " $1 }')"
journal=""
if [ -r /proc/fs/ext4 ] && dev="$(df -P "$RUN" | awk 'NR == 2 { print $1 }')" \
    && [ -e "/sys/fs/ext4/$(basename "$dev")/journal_task" ]; then
    [ "$(cat "/sys/fs/ext4/$(basename "$dev")/journal_task")" = "<none>" ] && journal=", no journal"
fi
cat <<EOF
## Run of $(date -u '+%Y-%m-%d %H:%M UTC')

- command: \`scripts/bench.sh\` (N $NS; dman-rs cycles $REPS, Python cycles $PY_REPS; best of the cycles)
- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); files in $RUN: ${fs_type}${journal}
- toolchain: $(rustc --version | cut -d' ' -f1-2), $("$PY" -c 'import sys, dman, numpy; print(f"Python {sys.version.split()[0]}, dman {dman.__version__}, numpy {numpy.__version__}")')
- load average (1, 5, 15 min) before: $load_before, after: $load_after; idle check: $idle_note
- wall time: $((end - start)) s; results: $OUT

EOF
"$PY" "$ROOT/benches/python/table.py" "$OUT" --bounds
if [ -n "$big_table" ]; then
    cat <<EOF

**One array of $BIG_MIB MiB** (each row a process of its own; peak resident memory / the array's size; S3 rows without the server's memory)

$big_table
EOF
fi
