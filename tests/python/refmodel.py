"""Shared model of the dman-rs interoperability tests (Python side).

Imported by ``make_reference_trees.py`` (writes reference trees with Python
dman 1.0.1) and ``check_tree.py`` (loads a tree, e.g. one written by dman-rs,
with Python dman 1.0.1 and compares it with an expected-values manifest).

It holds:

* the Python classes of the reference scenarios (their serializable and
  storable type names are part of the contract: the Rust tests declare types
  with the same names);
* ``normalize``: turns a Python value (as built in memory or as loaded by
  dman) into the plain-JSON "normalized value" notation of ``expected.json``
  (described in ``tests/fixtures/python-reference/README.md``);
* ``compare``: compares a normalized expected value with a normalized actual
  value and lists the differences.

Never add ``from __future__ import annotations`` here: dman 1.0.1 reads field
types from ``dataclasses.fields`` and breaks on string annotations.
"""

import dataclasses
import enum
import json
import math
import os
import re
from dataclasses import field
from typing import List, Optional

import numpy as np

import dman
from dman.core.errors import BaseInvalid
from dman.model.modelclasses import RecordWrap, _blist, _bdict, _bruns
from dman.model.record import Record, Unloaded, Undefined
from dman.numeric import barray, carray, sarray

MANIFEST_FORMAT = 1
UUID_PLACEHOLDER = "{uuid}"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_FIND = re.compile(UUID_RE)

# ---------------------------------------------------------------------------
# Scenario classes.  Type names (``name=...``) are the contract.
# ---------------------------------------------------------------------------


@dman.storable(name="person")
class Person:
    """The seed's custom storable: its name, as UTF-8 text, in a ``.person`` file."""

    __ext__ = ".person"

    def __init__(self, name: str):
        self.name = name

    def __write__(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.name)

    @classmethod
    def __read__(cls, path):
        with open(path, "r", encoding="utf-8") as f:
            return cls(f.read())

    def __eq__(self, other):
        return isinstance(other, Person) and other.name == self.name

    def __repr__(self):
        return f"Person({self.name!r})"


@dman.serializable(name="color")
class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = "blue"


@dman.serializable(name="point")
@dataclasses.dataclass
class Point:
    x: float
    y: float
    label: str = ""


@dman.serializable(name="segment")
@dataclasses.dataclass
class Segment:
    start: Point
    end: Point
    color: Color = Color.GREEN
    tags: list = field(default_factory=list)


@dman.modelclass(name="inner")
class Inner:
    alpha: float = 0.5
    beta: List[int] = field(default_factory=list)


@dman.modelclass(name="config")
class Config:
    seed: int = 1234
    size: int = 20
    lr: float = 0.01
    name: str = "default"
    enabled: bool = True
    inner: Inner = field(default_factory=Inner)
    layers: List[int] = field(default_factory=list)
    inners: List[Inner] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    color: Color = Color.RED
    note: Optional[str] = None


@dman.modelclass(name="compact_inner", compact=True)
class CompactInner:
    k: int = 0
    v: str = ""


@dman.modelclass(name="compact", compact=True)
class Compact:
    count: int
    ratio: float
    label: str
    flag: bool
    inner: CompactInner
    values: list
    mapping: dict
    point: Point = None
    config: Config = None
    note: Optional[str] = None
    data: barray = dman.recordfield(default=None, stem="compact-data")
    person: Person = None


@dman.modelclass(name="compact_holder")
class CompactHolder:
    """A regular modelclass with a compact modelclass field."""

    title: str
    body: Compact = None


@dman.modelclass(name="run", storable=True)
class Run:
    config: Config
    data: barray = None
    output: barray = None


@dman.modelclass(name="level3", storable=True)
class Level3:
    tag: str
    values: barray = None


@dman.modelclass(name="level2", storable=True)
class Level2:
    tag: str
    child: Level3 = dman.recordfield(default=None, subdir="l3", stem="level3")


@dman.modelclass(name="level1", storable=True)
class Level1:
    tag: str
    child: Level2 = dman.recordfield(default=None, subdir="l2")


@dman.modelclass(name="level0", storable=True)
class Level0:
    tag: str
    child: Level1 = None


@dman.modelclass(name="record_fields")
class RecordFields:
    plain: barray = None
    by_stem: barray = dman.recordfield(default=None, stem="by-stem")
    by_suffix: Person = dman.recordfield(default=None, suffix=".txt")
    by_stem_suffix: Person = dman.recordfield(default=None, stem="ann", suffix=".txt")
    by_name: barray = dman.recordfield(default=None, name="named.bin")
    by_subdir: Person = dman.recordfield(default=None, subdir="sub/dir", stem="p")
    preloaded: barray = dman.recordfield(default=None, stem="pre", preload=True)
    dotted_stem: Person = dman.recordfield(default=None, stem="john.person")
    empty: barray = None


@dman.modelclass(name="by_field", store_by_field=True)
class ByField:
    a: barray = None
    b: Person = None
    c: barray = dman.recordfield(default=None, stem="explicit")
    n: int = 0


@dman.modelclass(name="clustered", cluster=True)
class Clustered:
    a: barray = None
    b: Person = None
    c: barray = dman.recordfield(default=None, subdir="explicit")


@dman.modelclass(name="in_subdir", subdir="data")
class InSubdir:
    a: barray = None
    b: Person = None


@dman.modelclass(name="all_options", store_by_field=True, cluster=True, subdir="data")
class AllOptions:
    a: barray = None
    b: Person = None


@dman.modelclass(name="no_serialize")
class NoSerialize:
    __no_serialize__ = ["secret", "cache"]
    visible: int = 1
    secret: str = "default-secret"
    cache: list = field(default_factory=list)
    data: barray = None


@dman.modelclass(name="numeric_fields")
class NumericFields:
    b: barray = None
    s: sarray = None
    c: carray = None
    n: np.ndarray = None
    ci: carray[int] = None


@dman.serializable(name="exploding")
class Exploding:
    """A serializable whose ``__serialize__`` raises."""

    def __init__(self, value=None):
        self.value = value

    def __serialize__(self):
        raise RuntimeError("cannot serialize Exploding")

    @classmethod
    def __deserialize__(cls, ser):
        return cls(ser)


@dman.serializable(name="grumpy")
class Grumpy:
    """A serializable whose ``__deserialize__`` raises."""

    def __init__(self, value=None):
        self.value = value

    def __serialize__(self):
        return {"value": self.value}

    @classmethod
    def __deserialize__(cls, ser):
        raise RuntimeError("cannot deserialize Grumpy")


@dataclasses.dataclass
class Ghost:
    """Made serializable (name 'ghost') only while make_reference_trees.py writes
    it, then unregistered: readers find an unknown _ser__type."""

    boo: str = "boo"


@dman.storable(name="faulty")
class Faulty:
    """A storable whose ``__write__`` raises."""

    __ext__ = ".faulty"

    def __write__(self, path):
        raise RuntimeError("cannot write Faulty")

    @classmethod
    def __read__(cls, path):
        with open(path, "r", encoding="utf-8"):
            return cls()


@dman.storable(name="fragile")
class Fragile:
    """A storable that writes fine but whose ``__read__`` raises."""

    __ext__ = ".fragile"

    def __init__(self, text="fragile"):
        self.text = text

    def __write__(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text)

    @classmethod
    def __read__(cls, path):
        raise RuntimeError("cannot read Fragile")


class Unregistered:
    """Neither serializable nor storable."""

    def __init__(self, value=0):
        self.value = value


@dman.modelclass(name="holder")
class Holder:
    """A modelclass with an arbitrary field and a record field."""

    label: str = ""
    thing: object = None
    data: barray = dman.recordfield(default=None, stem="holder-data")
    person: Person = dman.recordfield(default=None, stem="holder-person")
    fragile: Fragile = dman.recordfield(default=None, stem="holder-fragile")
    faulty: Faulty = dman.recordfield(default=None, stem="holder-faulty")


def ell1(x, y):
    return abs(x) + abs(y)


dman.register_instance(ell1, name="ell1")


COMPACT_CLASSES = [CompactInner, Compact]


def prime_compact_classes():
    """Work around the compact-modelclass record bug of dman 1.0.1.

    ``_deserialize__modelclass_content_only`` looks up the record fields with
    ``record_fields(cls)``, i.e. on the *class*: on a fresh class that dict is
    empty, so a record field of a compact modelclass is deserialized with
    ``expected=<field type>`` and becomes ``__undeserializable`` ("Could not
    recover __deserialize__ method"). Only once some instance populated the
    class-level dict does it work.  Reading processes (check_tree.py) call this
    before loading; writing processes must not (the class-level dict would be
    shared by all instances and corrupt saving).
    """
    for cls in COMPACT_CLASSES:
        names = {
            f.name: None
            for f in dataclasses.fields(cls)
            if isinstance(cls.__dict__.get(f.name), RecordWrap)
        }
        setattr(cls, "__record__", names)


# ---------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------

INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def uuid_pattern(text: str) -> str:
    """Replace every uuid4 in ``text`` by ``{uuid}``."""
    return _UUID_FIND.sub(UUID_PLACEHOLDER, text)


def pattern_regex(pattern: str):
    parts = pattern.split(UUID_PLACEHOLDER)
    return re.compile("^" + UUID_RE.join(re.escape(p) for p in parts) + "$")


def match_pattern(pattern: str, text: str) -> bool:
    return pattern_regex(pattern).match(text) is not None


def _norm_float(x: float):
    if math.isnan(x):
        return {"$float": "nan"}
    if math.isinf(x):
        return {"$float": "inf" if x > 0 else "-inf"}
    return float(x)


def _norm_int(x: int):
    x = int(x)
    if INT_MIN <= x <= INT_MAX:
        return x
    return {"$int": str(x)}


def _norm_scalar_elem(x):
    """An element of ``ndarray.tolist()``."""
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return _norm_int(x)
    if isinstance(x, float):
        return _norm_float(x)
    if isinstance(x, complex):
        return [_norm_float(x.real), _norm_float(x.imag)]
    raise TypeError(f"unexpected array element {x!r}")


def _map_nested(data, fn):
    if isinstance(data, list):
        return [_map_nested(d, fn) for d in data]
    return fn(data)


def array_type(arr: np.ndarray) -> str:
    if isinstance(arr, barray):
        return "_num__barray"
    if isinstance(arr, carray):
        return "_num__carray"
    if isinstance(arr, sarray):
        return "_num__sarray"
    return "_num__ndarray"


def _inline_dtype(flat: list) -> str:
    """The dtype numpy infers when it parses the JSON text of an inline array."""
    if len(flat) == 0:
        return "float64"
    if all(isinstance(x, bool) for x in flat):
        return "bool"
    if all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
        return "int64"
    return "float64"


def normalize_array(arr: np.ndarray):
    kind = array_type(arr)
    plain = np.asarray(arr).view(np.ndarray)
    shape = list(plain.shape)
    if kind == "_num__barray":
        data = _map_nested(plain.tolist(), _norm_scalar_elem)
        return {"$array": {"type": kind, "dtype": plain.dtype.name, "shape": shape, "data": data}}
    # Inline arrays: what a reader of the JSON gets.  A 0-d array is written
    # as float(x); an empty one only as its shape (float64 zeros on reading).
    if plain.ndim == 0:
        value = float(plain)
        return {"$array": {"type": kind, "dtype": "float64", "shape": [], "data": _norm_float(value)}}
    data = plain.tolist()
    flat = plain.ravel().tolist()
    dtype = _inline_dtype(flat)
    if dtype == "float64":
        data = _map_nested(data, lambda x: _norm_float(float(x)))
    else:
        data = _map_nested(data, _norm_scalar_elem)
    return {"$array": {"type": kind, "dtype": dtype, "shape": shape, "data": data}}


def normalize_record(rec: Record):
    out = {
        "sto_type": rec.sto_type,
        "target": str(rec._target).replace("\\", "/"),
        "preload": bool(rec.preload),
    }
    exc = {}
    if rec.exceptions.write is not None:
        exc["write"] = normalize_exception(rec.exceptions.write)
    if rec.exceptions.read is not None:
        exc["read"] = normalize_exception(rec.exceptions.read)
    if exc:
        out["exceptions"] = exc
    content = rec._content
    if isinstance(content, (Unloaded, Undefined)):
        content = rec.load()
    out["content"] = normalize(content)
    return {"$record": out}


def normalize_exception(exc):
    """A record's write/read exception: an invalid object when it was produced
    in this process, the raw ``{"_ser__type", "_ser__content"}`` dict when it
    was loaded (``_RecordExceptions.__deserialize__`` does not deserialize)."""
    if isinstance(exc, dict) and "_ser__type" in exc:
        content = exc.get("_ser__content") or {}
        out = {"$invalid": exc["_ser__type"], "type": content.get("type")}
        if content.get("info"):
            out["info"] = content["info"]
        return out
    return normalize(exc)


def _ser_name(obj):
    return getattr(type(obj), "_ser__type", None)


def normalize_invalid(obj: BaseInvalid):
    out = {"$invalid": _ser_name(obj) or type(obj).__name__, "type": _type_str(obj.type)}
    if obj.info:
        out["info"] = obj.info
    return out


def _type_str(tp):
    if tp is None or isinstance(tp, str):
        return tp
    return getattr(tp, "__name__", str(tp))


def normalize_fields(obj):
    out = {}
    cls = type(obj)
    for f in dataclasses.fields(obj):
        descr = cls.__dict__.get(f.name)
        if isinstance(descr, RecordWrap):
            value = obj.__dict__.get(descr.private_name, None)
        else:
            value = getattr(obj, f.name)
        out[f.name] = normalize(value)
    return out


def normalize(obj):
    """Normalize a Python value into the notation of expected.json."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, (bool, np.bool_)):
        return _norm_int(obj)
    if isinstance(obj, (float, np.floating)):
        return _norm_float(float(obj))
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return normalize_array(obj)
    if isinstance(obj, Record):
        return normalize_record(obj)
    if isinstance(obj, BaseInvalid):
        return normalize_invalid(obj)
    if isinstance(obj, _bruns):
        return {
            "$mruns": {
                "type": _ser_name(obj),
                "stem": obj.stem,
                "run_count": obj.run_count,
                "store_subdir": bool(obj.store_subdir),
                "subdir": obj.subdir,
                "preload": bool(obj.preload),
                "items": [normalize(x) for x in obj.store],
            }
        }
    if isinstance(obj, _blist):
        return {
            "$mlist": {
                "type": _ser_name(obj),
                "subdir": obj.subdir,
                "preload": bool(obj.preload),
                "items": [normalize(x) for x in obj.store],
            }
        }
    if isinstance(obj, _bdict):
        return {
            "$mdict": {
                "type": _ser_name(obj),
                "subdir": obj.subdir,
                "preload": bool(obj.preload),
                "store_by_key": bool(obj._store_by_key),
                "store_subdir": bool(obj._store_subdir),
                "items": {str(k): normalize(v) for k, v in obj.store.items()},
            }
        }
    if isinstance(obj, enum.Enum):
        return {"$enum": _ser_name(obj), "member": obj.name}
    if isinstance(obj, Person):
        return {"$storable": "person", "value": obj.name}
    if isinstance(obj, Fragile):
        return {"$storable": "fragile", "value": obj.text}
    if type(obj).__name__ == "_Instance":
        return {"$instance": obj.name}
    for name, inst in dman.core.serializables._Instance.registered.items():
        if inst is obj:
            return {"$instance": name}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"$ser": _ser_name(obj), "fields": normalize_fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [normalize(x) for x in obj]
    if isinstance(obj, dict):
        items = {str(k): normalize(v) for k, v in obj.items()}
        if any(k.startswith("$") for k in items):
            return {"$dict": items}
        return items
    if isinstance(obj, (Exploding, Grumpy, Faulty, Unregistered)):
        return {"$object": type(obj).__name__}
    raise TypeError(f"cannot normalize {type(obj).__name__}: {obj!r}")


def as_expected(value):
    """Turn a normalized value into an expected value: every record target
    gets its uuid4s replaced by ``{uuid}`` (file names are random)."""
    if isinstance(value, list):
        return [as_expected(v) for v in value]
    if isinstance(value, dict):
        out = {k: as_expected(v) for k, v in value.items()}
        if "$record" in out and isinstance(out["$record"].get("target"), str):
            out["$record"]["target"] = uuid_pattern(out["$record"]["target"])
        return out
    return value


def dumps(value) -> str:
    """Serialize normalized values: strict JSON (no NaN), 2-space indent."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


# ---------------------------------------------------------------------------
# Invalid markers in files
# ---------------------------------------------------------------------------

# Every serializable type that dman 1.0.1 writes in place of something that
# failed (core/serializables.py and model/record.py).
INVALID_MARKERS = (
    "__unserializable",
    "__exc_unserializable",
    "__undeserializable",
    "__exc_undeserializable",
    "__no_file",
    "__un_writable",
    "__exc_un_writable",
    "__un_readable",
    "__exc_un_readable",
)


def _pointer_escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def find_markers(value, pointer=""):
    """Yield (JSON pointer, marker type) for every invalid marker in a parsed
    JSON document (RFC 6901 pointers, "" being the document itself)."""
    if isinstance(value, dict):
        ser_type = value.get("_ser__type")
        if isinstance(ser_type, str) and ser_type in INVALID_MARKERS:
            yield pointer, ser_type
        for k, v in value.items():
            yield from find_markers(v, f"{pointer}/{_pointer_escape(k)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from find_markers(v, f"{pointer}/{i}")


def load_json_file(path: str):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def markers_in_files(base: str, files):
    """Markers of the JSON files among ``files`` (paths relative to base)."""
    out = []
    for rel in sorted(files):
        if not rel.endswith(".json"):
            continue
        for pointer, marker in find_markers(load_json_file(os.path.join(base, rel))):
            out.append({"file": rel, "pointer": pointer, "marker": marker})
    return out


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def _is_tag(value, tag=None):
    if not isinstance(value, dict) or len(value) == 0:
        return False
    first = next(iter(value))
    if not first.startswith("$"):
        return False
    return tag is None or first == tag


def _short(value, limit=200):
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _same_number(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int) != isinstance(b, int):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def compare(expected, actual, path="$", diffs=None, notes=None):
    """Compare two normalized values; return the list of differences."""
    if diffs is None:
        diffs = []

    def diff(msg):
        diffs.append(f"{path}: {msg}")

    if isinstance(expected, (bool, int, float)) and not isinstance(expected, dict):
        if not isinstance(actual, (bool, int, float)) or not _same_number(expected, actual):
            diff(f"expected {_short(expected)}, got {_short(actual)}")
        return diffs
    if expected is None or isinstance(expected, str):
        if type(actual) is not type(expected) or actual != expected:
            diff(f"expected {_short(expected)}, got {_short(actual)}")
        return diffs
    if isinstance(expected, list):
        if not isinstance(actual, list):
            diff(f"expected a list, got {_short(actual)}")
        elif len(expected) != len(actual):
            diff(f"expected {len(expected)} items, got {len(actual)}: {_short(actual)}")
        else:
            for i, (e, a) in enumerate(zip(expected, actual)):
                compare(e, a, f"{path}[{i}]", diffs, notes)
        return diffs
    if not isinstance(expected, dict):
        diff(f"unsupported expected value {_short(expected)}")
        return diffs
    if not isinstance(actual, dict):
        diff(f"expected {_short(expected)}, got {_short(actual)}")
        return diffs

    if _is_tag(expected, "$record") and _is_tag(actual, "$record"):
        e, a = expected["$record"], actual["$record"]
        for k in ("sto_type", "preload"):
            if k in e:
                compare(e[k], a.get(k), f"{path}.{k}", diffs, notes)
        if "target" in e and not match_pattern(e["target"], a.get("target", "")):
            diffs.append(f"{path}.target: expected {e['target']!r}, got {a.get('target')!r}")
        if "exceptions" in e or "exceptions" in a:
            ee, ae = e.get("exceptions", {}), a.get("exceptions", {})
            if set(ee) != set(ae):
                diffs.append(f"{path}.exceptions: expected {_short(ee)}, got {_short(ae)}")
            else:
                for k in ee:
                    compare(ee[k], ae[k], f"{path}.exceptions.{k}", diffs, notes)
        if "content" in e:
            compare(e["content"], a.get("content"), f"{path}.content", diffs, notes)
        return diffs

    if _is_tag(expected, "$array") and _is_tag(actual, "$array"):
        e, a = expected["$array"], actual["$array"]
        etype, atype = e.get("type"), a.get("type")
        if etype != atype:
            # dman 1.0.1: an empty _num__sarray loads as a plain ndarray.
            if (
                etype == "_num__sarray"
                and atype == "_num__ndarray"
                and 0 in (a.get("shape") or [1])
            ):
                if notes is not None:
                    notes.append(f"{path}: empty _num__sarray loaded as a plain ndarray (dman 1.0.1 quirk)")
            else:
                diffs.append(f"{path}.type: expected {etype!r}, got {atype!r}")
        for k in ("dtype", "shape", "data"):
            if k in e:
                compare(e[k], a.get(k), f"{path}.{k}", diffs, notes)
        return diffs

    if _is_tag(expected, "$invalid") and _is_tag(actual, "$invalid"):
        for k, v in expected.items():
            compare(v, actual.get(k), f"{path}.{k}", diffs, notes)
        return diffs

    if _is_tag(expected) and _is_tag(actual):
        etag, atag = next(iter(expected)), next(iter(actual))
        if etag != atag:
            diff(f"expected {etag} value {_short(expected)}, got {_short(actual)}")
            return diffs

    ekeys, akeys = list(expected), list(actual)
    missing = [k for k in ekeys if k not in actual]
    extra = [k for k in akeys if k not in expected]
    if missing:
        diff(f"missing keys {missing} (got {_short(actual)})")
    if extra:
        diff(f"unexpected keys {extra}")
    for k in ekeys:
        if k in actual:
            compare(expected[k], actual[k], f"{path}.{k}", diffs, notes)
    return diffs


# ---------------------------------------------------------------------------
# Loading a scenario
# ---------------------------------------------------------------------------

ENTRY_DEFAULTS = {"generator": "ref", "subdir": "", "cluster": True, "mode": "load"}


def entry_options(name: str, entry: dict) -> dict:
    opts = dict(ENTRY_DEFAULTS)
    opts.update({k: entry[k] for k in ENTRY_DEFAULTS if k in entry})
    opts["key"] = entry.get("key", name)
    return opts


def load_entry(base: str, name: str, entry: dict):
    """Load one scenario of a manifest with Python dman (lazily: records are
    read when the value is normalized)."""
    opts = entry_options(name, entry)
    if opts["mode"] == "load":
        return dman.load(
            opts["key"],
            generator=opts["generator"],
            subdir=opts["subdir"],
            cluster=opts["cluster"],
            base=base,
        )
    if opts["mode"] == "store":
        # dman has no counterpart of ``store`` for reading: read the storable
        # file ``<key><ext>`` with its storable type, in the same context.
        ctx = dman.Context.mount(
            opts["key"],
            subdir=opts["subdir"],
            cluster=opts["cluster"],
            generator=opts["generator"],
            base=base,
        )
        return ctx.read(entry["file_name"], entry["sto_type"])
    raise ValueError(f"unknown mode {opts['mode']!r} for scenario {name!r}")


def key_folder(entry_name: str, entry: dict) -> str:
    """Folder (relative to base) that holds the key's files when clustered."""
    opts = entry_options(entry_name, entry)
    parts = [opts["generator"], opts["subdir"], opts["key"] if opts["cluster"] else ""]
    return "/".join(p.strip("/") for p in parts if p)
