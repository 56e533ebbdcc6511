"""Helper of json_python.rs: Python's own json module as the reference.

Usage: python3 json_python.py SEED COUNT < documents.jsonl

Every input line is a JSON string holding one document written by dman-rs.
For each, prints a line ["echo", PRETTY, COMPACT], where PRETTY is
json.dumps(json.loads(doc), indent=4) and COMPACT is json.dumps(json.loads(doc)).

Then prints COUNT lines ["gen", DOC, TYPED] for random values generated here
with the given seed: DOC is json.dumps(value, indent=4), as Python dman writes
its files, and TYPED describes the value without relying on any JSON number
or float formatting (floats as their 64 bits in hex, integers as decimal
strings), so that the Rust side can check what it parsed from DOC.

Every output line is itself written by json.dumps, hence pure ASCII.
"""

import json
import random
import struct
import sys


def float_from_bits(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def bits_of_float(f):
    return format(struct.unpack("<Q", struct.pack("<d", f))[0], "016x")


def random_float(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return float_from_bits(rng.getrandbits(64))
    if kind == 1:
        return rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"),
                           5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                           1e16, 1e-05, 0.0001, 9999999999999998.0])
    if kind == 2:
        return float(rng.randint(-10**6, 10**6))
    if kind == 3:
        return rng.random() * 10.0 ** rng.randint(-30, 30)
    if kind == 4:
        return round(rng.uniform(-1000, 1000), rng.randint(0, 6))
    if kind == 5:
        return float(10 ** rng.randint(0, 25)) * rng.choice([1, -1])
    if kind == 6:
        return 2.0 ** rng.randint(-1074, 1023)
    return float("%de%d" % (rng.randint(1, 99999), rng.randint(-330, 310)))


def random_int(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randint(-100, 100)
    if kind == 1:
        return rng.randint(-2**63, 2**63 - 1)
    if kind == 2:
        return rng.randint(2**63, 2**64 - 1)
    return rng.choice([0, -1, -2**63, 2**63 - 1, 2**63, 2**64 - 1])


# Code point ranges to draw characters from; surrogates are left out, since
# a Rust string cannot hold them (dman-rs refuses them with an error).
RANGES = [(0x20, 0x7E), (0x00, 0x1F), (0x7F, 0xFF), (0x100, 0xD7FF),
          (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]


def random_str(rng):
    out = []
    for _ in range(rng.randrange(12)):
        lo, hi = RANGES[0] if rng.random() < 0.5 else rng.choice(RANGES)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def random_value(rng, depth):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return random_int(rng)
    if kind in (2, 3):
        return random_float(rng)
    if kind in (4, 5):
        return random_str(rng)
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    return {random_str(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(6))}


def typed(value):
    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", bits_of_float(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, list):
        return ["list", [typed(v) for v in value]]
    return ["dict", [[k, typed(v)] for k, v in value.items()]]


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    out = sys.stdout
    for line in sys.stdin.read().splitlines():
        value = json.loads(json.loads(line))
        out.write(json.dumps(["echo", json.dumps(value, indent=4), json.dumps(value)]))
        out.write("\n")
    rng = random.Random(seed)
    for _ in range(count):
        value = random_value(rng, 0)
        out.write(json.dumps(["gen", json.dumps(value, indent=4), typed(value)]))
        out.write("\n")


if __name__ == "__main__":
    main()
