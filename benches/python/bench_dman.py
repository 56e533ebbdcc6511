"""The Python dman 1.0.1 side of `scripts/bench.sh` (issue 8).

Usage: bench_dman.py --base DIR --n 100,500,2000 --out RESULTS.jsonl
                     [--reps 100:3,500:1,2000:1] [--keep]

Does, with Python dman 1.0.1 on a local folder, what
`benches/compare.rs` does with dman-rs: the getting-started
experiment (`Run` = `Config` + arrays of 20x1000 and 100x1000 float64, in an
`mruns` with stem `experiment`, subdir `results`), and for each N the rows

- save:    one `with dman.track(...)` that appends N runs (prepared
           beforehand, arrays included) and saves once;
- resume:  `dman.load` the experiment and compare every run's config with
           one that is absent (reads every run file, no array);
- load:    `dman.load` the experiment and read both arrays of every run;
- append:  one `with dman.track(...)` that appends one run to the N saved;
- clean:   `dman.clean` the key.

One cycle does the five rows in that order on a fresh folder; a row's time
is the best over the cycles (`--reps`). Before each timed row the page cache
is flushed to the disk (`os.sync`, untimed), so the previous row's write-back
does not slow this one. The cycles' folders are deleted at the end of the run
(`--keep`: not at all; `scripts/bench.sh` removes them), not between cycles:
on ext4 without a journal, files created where many were just deleted are
slow to create (see `benches/compare.rs`). Each result is one JSON line:
`{"impl": "python", "backend": "fs", "mode": "default", "row": ..., "n": ...,
"seconds": ..., "reps": ...}`.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import dman
import numpy as np

# The seed's classes, defined once in tests/python/getting_started.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
from getting_started import Config, Run, barray  # noqa: E402,F401


KEY = "experiment"
GENERATOR = "bench"


def experiment():
    return dman.mruns(stem="experiment", subdir="results")


def arrays():
    # The same values as the Rust side (any values do: the files have the
    # same size whatever they hold).
    data = np.fromfunction(lambda i, j: (i * 1000 + j) / 7.0, (20, 1000))
    output = np.fromfunction(lambda i, j: (i * 1000 + j) / 3.0, (100, 1000))
    return data, output


def make_run(seed, data, output):
    return Run(config=Config(seed=seed), data=data.copy(), output=output.copy())


def timed(f):
    os.sync()
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def cycle(base, n, data, output):
    """One cycle of the five rows on a fresh folder; returns {row: seconds}."""
    kw = dict(base=base, generator=GENERATOR, verbose=0)
    prepared = [make_run(seed, data, output) for seed in range(n)]
    extra = make_run(n, data, output)
    absent = Config(seed=-1)
    times = {}

    def save():
        with dman.track(KEY, default_factory=experiment, **kw) as runs:
            for run in prepared:
                runs.append(run)

    times["save"], _ = timed(save)

    def resume():
        runs = dman.load(KEY, **kw)
        found = any(run.config == absent for run in runs)
        assert not found
        return len(runs)

    times["resume"], count = timed(resume)
    assert count == n, (count, n)

    def load():
        runs = dman.load(KEY, **kw)
        total = 0
        for run in runs:
            total += run.data.size + run.output.size
        return total

    times["load"], total = timed(load)
    assert total == n * (data.size + output.size), total

    def append():
        with dman.track(KEY, default_factory=experiment, **kw) as runs:
            runs.append(extra)

    times["append"], _ = timed(append)

    times["clean"], _ = timed(lambda: dman.clean(KEY, **kw))
    left = [f for _, _, fs in os.walk(base) for f in fs if f != ".gitignore"]
    assert not left, left[:5]
    return times


def parse_reps(spec, ns):
    reps = {}
    for part in filter(None, spec.split(",")):
        n, k = part.split(":")
        reps[int(n)] = int(k)
    return {n: reps.get(n, 1) for n in ns}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=os.environ.get("DMAN_BENCH_DIR") or tempfile.gettempdir())
    parser.add_argument("--n", default="100,500,2000")
    parser.add_argument("--reps", default="100:3,500:1,2000:1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep", action="store_true",
                        help="leave the cycles' folders (the caller removes them)")
    args = parser.parse_args()
    ns = [int(n) for n in args.n.split(",") if n]
    reps = parse_reps(args.reps, ns)
    data, output = arrays()

    folders = []
    try:
        with open(args.out, "a") as out:
            for n in ns:
                best = {}
                for _ in range(reps[n]):
                    folder = tempfile.mkdtemp(prefix="dman-bench-py-", dir=args.base)
                    folders.append(folder)
                    times = cycle(os.path.join(folder, ".dman"), n, data, output)
                    for row, t in times.items():
                        best[row] = min(best.get(row, float("inf")), t)
                for row, t in best.items():
                    line = dict(impl="python", backend="fs", mode="default", row=row, n=n,
                                seconds=t, reps=reps[n])
                    out.write(json.dumps(line) + "\n")
                    out.flush()
                print(f"python fs N={n}: " + ", ".join(f"{r} {t:.3f} s" for r, t in best.items()),
                      file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
