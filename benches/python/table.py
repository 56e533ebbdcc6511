"""Prints the Markdown tables of `scripts/bench.sh` from its JSON lines.

Usage: table.py RESULTS.jsonl [--bounds]

RESULTS.jsonl holds the lines of `benches/compare.rs`
(`impl` dman-rs and raw) and of `benches/python/bench_dman.py` (`impl`
python), all from the same run. Printed:

1. per backend and mode, one row per (operation, N): dman-rs time, Python
   time, Python / dman-rs (how many times faster dman-rs is), the raw limit,
   dman-rs / raw, and on the local folder the raw limit with 16 threads
   (`impl` raw16) and dman-rs / raw x16;
2. growth from the smallest to the largest N, per operation: dman-rs,
   Python, raw;
3. with --bounds, the checks of issues 8 and 17.

Standard library only.
"""
import json
import sys
from collections import OrderedDict

ROWS = ["save", "resume", "load", "append", "clean"]
ROW_TEXT = {
    "save": "save N runs (one track)",
    "resume": "resume check (no array)",
    "load": "load every array",
    "append": "append 1 run + save",
    "clean": "clean the key",
}
BACKEND_TEXT = {
    ("memory", "default"): "memory",
    ("fs", "default"): "local folder",
    ("fs", "durable"): "local folder, durable (fsync)",
    ("zip", "default"): "zip archive (deflate)",
    ("s3", "default"): "S3 (s3s-fs, in-process, 127.0.0.1)",
}
ORDER = list(BACKEND_TEXT)


def seconds(t):
    if t is None:
        return ""
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    if t < 1:
        return f"{t * 1000:.0f} ms"
    return f"{t:.2f} s"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return ""
    return f"{a / b:.{digits}f}"


def speedup(python, dman):
    if python is None or dman is None or dman == 0:
        return ""
    r = python / dman
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def load(path):
    data = {}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        key = (r["backend"], r["mode"])
        data.setdefault(key, {})[(r["impl"], r["row"], r["n"])] = r["seconds"]
    return data


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bounds = "--bounds" in sys.argv
    data = load(args[0])
    keys = [k for k in ORDER if k in data] + sorted(k for k in data if k not in ORDER)
    # Python dman has only a folder backend (it never fsyncs): its column is
    # on the local folder's table only.
    python = data.get(("fs", "default"), {})
    out = []
    for key in keys:
        d = data[key]
        ns = sorted({n for (_, _, n) in d})
        out.append(f"**{BACKEND_TEXT.get(key, '/'.join(key))}**\n")
        with_python = key == ("fs", "default")
        with_16 = any(imp == "raw16" for (imp, _, _) in d)
        head = "| operation | N | dman-rs |"
        rule = "|---|--:|--:|"
        if with_python:
            head += " Python dman 1.0.1 | Python / dman-rs |"
            rule += "--:|--:|"
        head += " raw limit | dman-rs / raw |"
        rule += "--:|--:|"
        if with_16:
            head += " raw limit x16 | dman-rs / raw x16 |"
            rule += "--:|--:|"
        out.append(head)
        out.append(rule)
        for row in ROWS:
            for n in ns:
                t = d.get(("dman-rs", row, n))
                if t is None:
                    continue
                p = python.get(("python", row, n)) if with_python else None
                raw = d.get(("raw", row, n))
                python_cells = f" {seconds(p)} | {speedup(p, t)} |" if with_python else ""
                line = (
                    f"| {ROW_TEXT[row]} | {n} | {seconds(t)} |{python_cells} "
                    f"{seconds(raw)} | {ratio(t, raw)} |"
                )
                if with_16:
                    raw16 = d.get(("raw16", row, n))
                    line += f" {seconds(raw16)} | {ratio(t, raw16)} |"
                out.append(line)
        out.append("")
    # Growth.
    out.append("**Growth from the smallest to the largest N** (time at N_max / time at N_min; linear = N_max / N_min)\n")
    out.append("| backend | operation | N | dman-rs | Python | raw limit |")
    out.append("|---|---|---|--:|--:|--:|")
    for key in keys:
        d = data[key]
        ns = sorted({n for (_, _, n) in d})
        if len(ns) < 2:
            continue
        lo, hi = ns[0], ns[-1]
        for row in ROWS:
            g = lambda imp, src: ratio(src.get((imp, row, hi)), src.get((imp, row, lo)), 1)
            pg = g("python", python) if key == ("fs", "default") else ""
            out.append(
                f"| {BACKEND_TEXT.get(key, '/'.join(key))} | {ROW_TEXT[row]} | {lo}→{hi} "
                f"| {g('dman-rs', d)} | {pg} | {g('raw', d)} |"
            )
    out.append("")
    if bounds:
        out.extend(check_bounds(data))
        out.extend(check_bounds_17(data))
    print("\n".join(out))


def check_bounds(data):
    """The bounds of issue 8 on the local folder."""
    lines = ["**Bounds of issue 8 (local folder)**\n", "| bound | measured | holds |", "|---|---|---|"]

    def add(what, value, ok):
        lines.append(f"| {what} | {value} | {'yes' if ok else '**no**'} |")

    fs = data.get(("fs", "default"), {})
    durable = data.get(("fs", "durable"), {})
    for name, d in (("", fs), (" (durable vs raw with fsync)", durable)):
        for n in sorted({n for (_, _, n) in d}):
            t, raw = d.get(("dman-rs", "save", n)), d.get(("raw", "save", n))
            if t and raw:
                add(f"save within 1.3x of raw, N={n}{name}", f"{t / raw:.2f}x", t / raw <= 1.3)
    for row, n, want in (("save", 500, 8), ("save", 2000, 25), ("resume", 500, 30)):
        t, p = fs.get(("dman-rs", row, n)), fs.get(("python", row, n))
        if t and p:
            add(f"{row} at least {want}x faster than Python, N={n}", f"{p / t:.0f}x", p / t >= want)
    ns = sorted({n for (_, _, n) in fs})
    if len(ns) >= 2:
        lo, hi = ns[0], ns[-1]
        for row in ROWS:
            a, b = fs.get(("dman-rs", row, lo)), fs.get(("dman-rs", row, hi))
            if a and b:
                add(f"growth {lo}→{hi} at most 22x: {row}", f"{b / a:.1f}x", b / a <= 22)
    lines.append("")
    return lines


def check_bounds_17(data):
    """The goals of issue 17: the local folder against the raw limit with
    16 threads, and the memory backend's resume check per run file."""
    lines = ["**Goals of issue 17**\n", "| goal | measured | holds |", "|---|---|---|"]

    def add(what, value, ok):
        lines.append(f"| {what} | {value} | {'yes' if ok else '**no**'} |")

    fs = data.get(("fs", "default"), {})
    for row, n, most in (("resume", 500, 1.5), ("resume", 2000, 1.5), ("load", 500, 1.2), ("load", 2000, 1.2)):
        t, raw16 = fs.get(("dman-rs", row, n)), fs.get(("raw16", row, n))
        if t and raw16:
            add(f"local folder {row} ≤ {most}x of raw x16, N={n}", f"{t / raw16:.2f}x", t / raw16 <= most)
    for n in sorted({n for (_, _, n) in fs}):
        t, raw16 = fs.get(("dman-rs", "clean", n)), fs.get(("raw16", "clean", n))
        if t and raw16:
            add(f"local folder clean ≤ 1.5x of raw removal x16, N={n}", f"{t / raw16:.2f}x", t / raw16 <= 1.5)
    memory = data.get(("memory", "default"), {})
    for n in sorted({n for (_, _, n) in memory}):
        t = memory.get(("dman-rs", "resume", n))
        if t:
            per = t / n * 1e6
            add(f"memory resume ≤ 3 µs per run file, N={n}", f"{per:.1f} µs", per <= 3)
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
