"""A tree of types dman-rs has no Rust type for, written and read by Python
dman 1.0.1 (used by dman/tests/dynamic.rs).

    unknown_types.py write DIR    writes key "unknown" (generator "gen")
                                  under DIR/.dman
    unknown_types.py show DIR     loads it and prints its values as JSON

The key is an mdict holding a storable of its own format (``blob``), a
serializable dataclass (``gadget``), a modelclass with a record field
(``rig``), a storable smdict with a record inside (a JSON content file with
records of its own), an integer beyond 64 bits and plain values. (A compact
modelclass with a record field is left out: Python dman 1.0.1 cannot read
its own; the reference scenario ``modelclass_compact`` covers the bare
record it writes.)
"""

import json
import os
import sys
from dataclasses import dataclass

import dman
from dman import recordfield


@dman.storable(name="blob")
class Blob:
    __ext__ = ".blob"

    def __init__(self, data: bytes):
        self.data = data

    def __write__(self, path):
        with open(path, "wb") as f:
            f.write(self.data)

    @classmethod
    def __read__(cls, path):
        with open(path, "rb") as f:
            return cls(f.read())


@dman.serializable(name="gadget")
@dataclass
class Gadget:
    name: str
    size: int


@dman.modelclass(name="rig")
class Rig:
    label: str
    blob: Blob = recordfield(name="rig.blob")


def plain(v):
    """The values of a loaded object as JSON, type names included."""
    if isinstance(v, Blob):
        return {"blob": v.data.hex()}
    if isinstance(v, Gadget):
        return {"gadget": {"name": v.name, "size": v.size}}
    if isinstance(v, Rig):
        return {"rig": {"label": v.label, "blob": plain(v.blob)}}
    if isinstance(v, (dman.mdict, dman.smdict, dict)):
        return {k: plain(v[k]) for k in v}
    if isinstance(v, (dman.mlist, dman.smlist, list)):
        return [plain(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**63:
        return {"bigint": str(v)}
    return v


def write():
    inner = dman.smdict(store_by_key=True)
    inner["deep"] = Blob(b"deep \x00\xff")
    inner["n"] = 1
    d = dman.mdict(store_by_key=True)
    d["blob"] = Blob(b"\x00\x01 raw \xfe")
    d["gadget"] = Gadget("g", 3)
    d["rig"] = Rig("r", Blob(b"rig bytes"))
    d["inner"] = inner
    d["big"] = 2**70
    d["items"] = [1, 2.5, "three", None, True]
    dman.save("unknown", d, generator="gen")


def show():
    print(json.dumps(plain(dman.load("unknown", generator="gen")), sort_keys=True))


if __name__ == "__main__":
    command, folder = sys.argv[1], sys.argv[2]
    os.chdir(folder)
    {"write": write, "show": show}[command]()
