"""Write the Python dman 1.0.1 reference trees of the dman-rs interop tests.

Usage (from the repository root, after scripts/setup-python.sh):

    .venv/bin/python tests/python/make_reference_trees.py WORKDIR [--fixtures DIR]

WORKDIR must be empty or absent.  The script writes

* WORKDIR/.dman           the trees, one key per scenario (generator "ref"
                          unless a scenario says otherwise);
* WORKDIR/expected.json   the manifest: for each scenario how to load it,
                          the files it owns and the normalized value a reader
                          must find (see refmodel.py and the README);
* WORKDIR/trees.zip       the .dman folder, zipped with Python's zipfile
                          (entries ".dman/...", no directory entries, fixed
                          timestamps, sorted).

With --fixtures DIR, trees.zip and expected.json are copied into DIR too
(tests/fixtures/python-reference when regenerating the committed fixtures).
dman's own log output (warnings about the deliberately invalid scenarios) is
hidden unless --verbose is given.

Everything is deterministic except the uuid4 file names and the absolute
paths inside exception traces.
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dman  # noqa: E402
from dman.numeric import barray, carray, sarray  # noqa: E402

import refmodel as rm  # noqa: E402
from refmodel import (  # noqa: E402
    AllOptions,
    ByField,
    Clustered,
    Color,
    Compact,
    CompactHolder,
    CompactInner,
    Config,
    Exploding,
    Faulty,
    Fragile,
    Ghost,
    Grumpy,
    Holder,
    Inner,
    InSubdir,
    Level0,
    Level1,
    Level2,
    Level3,
    NoSerialize,
    NumericFields,
    Person,
    Point,
    RecordFields,
    Run,
    Segment,
    Unregistered,
    ell1,
)

GENERATOR = "ref"
SCENARIOS = []


PYTHON_ONLY = "python-to-rust"
BOTH = "both"


def scenario(name, description, expected_from="memory", direction=BOTH, **entry):
    """Register a scenario writer.

    The function receives the Writer and returns the in-memory value whose
    normalization is the expected value (``expected_from="memory"``).  With
    ``expected_from="reload"`` the expected value is what Python dman 1.0.1
    loads back from the written tree (used where the point is what a reader
    finds: invalid markers, overwritten files).

    ``direction``: "both" when dman-rs is expected to write the same scenario
    (check_tree.py then checks its tree), "python-to-rust" when the tree is
    only a fixture for the Rust reader (Python failure paths, values Rust
    cannot represent).
    """

    def wrap(fn):
        entry["direction"] = direction
        SCENARIOS.append((name, description, expected_from, entry, fn))
        return fn

    return wrap


class Writer:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.base = str(workdir / ".dman")

    def save(self, key, obj, **kw):
        kw.setdefault("generator", GENERATOR)
        return dman.save(key, obj, base=self.base, **kw)

    def load(self, key, **kw):
        kw.setdefault("generator", GENERATOR)
        return dman.load(key, base=self.base, **kw)

    def track(self, key, **kw):
        kw.setdefault("generator", GENERATOR)
        return dman.track(key, base=self.base, **kw)

    def store(self, key, obj, **kw):
        kw.setdefault("generator", GENERATOR)
        return dman.store(key, obj, base=self.base, **kw)

    def path(self, *parts):
        return os.path.join(self.base, *parts)


@contextlib.contextmanager
def params(**kw):
    """Temporarily change dman.params.<section>.<option>."""
    old = []
    for dotted, value in kw.items():
        section, option = dotted.split("__")
        cfg = getattr(dman.params, section)
        old.append((cfg, option, getattr(cfg, option)))
        setattr(cfg, option, value)
    try:
        yield
    finally:
        for cfg, option, value in old:
            setattr(cfg, option, value)


def arr(values, dtype=None):
    """A plain ndarray (serializable as _num__ndarray; modelclass fields typed
    barray/sarray/carray convert it through their preset)."""
    return np.array(values, dtype=dtype)


def ba(values, dtype=None):
    """A barray: storable, so containers and dman.record() keep it in a .npy file."""
    return np.asarray(values, dtype=dtype).view(barray)


def run_value(seed):
    rows = np.arange(6, dtype=np.float64).reshape(2, 3)
    return Run(
        Config(seed=seed, size=2, name=f"run-{seed}", layers=[seed, seed + 1]),
        data=rows + seed,
        output=(rows * 0.5 - seed).T.copy(),
    )


# ---------------------------------------------------------------------------
# Plain JSON values
# ---------------------------------------------------------------------------


@scenario("json_scalars", "plain JSON: ints, floats (incl. NaN/inf in a list), strings, bools, None, nesting")
def _json_scalars(w):
    value = {
        "ints": [0, 1, -1, 42, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)],
        "floats": [0.1, 1e-05, 1e16, 1.0, -0.0, -2.5, 1.5e300, 5e-324, 1.7976931348623157e308, 0.30000000000000004, 123456789.125],
        "nonfinite": [float("nan"), float("inf"), -float("inf")],
        "strings": [
            "",
            "plain",
            "h\u00e9llo w\u00f6rld",
            "snow \u2603 and emoji \U0001F600",
            "quote \" backslash \\ slash /",
            "tab\tnewline\ncr\rbell\x07nul\x00",
            "\u65e5\u672c\u8a9e",
        ],
        "bools": [True, False],
        "none": None,
        "nested": {"list": [1, [2, [3, []]], {}], "dict": {"a": {"b": {"c": None}}}, "empty_list": [], "empty_dict": {}},
        "tuple": (1, "two", 3.0),
        "int_key": {1: "one", 2: "two"},
        "mixed": [1, 2.5, "three", None, True, [False], {"k": "v"}],
    }
    w.save("json_scalars", value)
    return value


@scenario("json_bigint", direction=PYTHON_ONLY, description="integers outside i64/u64 (Python ints are unbounded); expected values use {\"$int\": \"...\"}")
def _json_bigint(w):
    value = {"u64_max": 2**64 - 1, "beyond_u64": 2**70, "very_negative": -(2**65) - 1}
    w.save("json_bigint", value)
    return value


@scenario("json_top_list", "a bare top-level list (no envelope)")
def _json_top_list(w):
    value = [1, "two", 3.5, None, [4, 5]]
    w.save("json_top_list", value)
    return value


@scenario("json_top_string", "a bare top-level string")
def _json_top_string(w):
    value = "just a string \u2713"
    w.save("json_top_string", value)
    return value


# ---------------------------------------------------------------------------
# Serializables and modelclasses
# ---------------------------------------------------------------------------


@scenario("serializable_dataclass", "@dman.serializable dataclasses (point, segment) nesting each other and an Enum serializable")
def _serializable_dataclass(w):
    value = Segment(Point(0.0, 1.5, "origin"), Point(-2.0, 3.25), Color.BLUE, ["a", "b"])
    w.save("serializable_dataclass", value)
    return value


@scenario("enum_values", "Enum serializables (written as 'Color.RED') in a list and a dict")
def _enum_values(w):
    value = {"list": [Color.RED, Color.GREEN, Color.BLUE], "one": Color.GREEN}
    w.save("enum_values", value)
    return value


@scenario("modelclass_basic", "modelclasses: basic fields, nested modelclass, list fields, dict, enum; Optional None omitted / set")
def _modelclass_basic(w):
    value = [
        Config(
            seed=7,
            size=3,
            lr=0.125,
            name="first",
            enabled=False,
            inner=Inner(alpha=1.5, beta=[1, 2, 3]),
            layers=[16, 32],
            inners=[Inner(), Inner(alpha=-1.0, beta=[4])],
            options={"opt": "adam", "eps": 1e-08, "nested": {"k": [1, 2]}},
            color=Color.BLUE,
        ),
        Config(note="with a note"),
    ]
    w.save("modelclass_basic", value)
    return value


@scenario("modelclass_compact", "compact=True modelclass: fields without envelopes, nested compact/regular modelclasses, record fields as bare {target, sto_type}")
def _modelclass_compact(w):
    value = Compact(
        count=3,
        ratio=0.75,
        label="compact",
        flag=True,
        inner=CompactInner(k=5, v="five"),
        values=[1, 2.5, "x", [3]],
        mapping={"a": 1, "b": [True, None]},
        point=Point(1.0, 2.0, "p"),
        config=Config(seed=11, inner=Inner(alpha=2.0)),
        data=arr([1.0, 2.0, 3.0]),
        person=Person("Compact Carl"),
    )
    w.save("modelclass_compact", value)
    return value


@scenario("compact_in_modelclass", "a compact modelclass as a field of a regular modelclass and inside a list (envelope outside, compact content inside)")
def _compact_in_modelclass(w):
    value = {
        "holder": CompactHolder(
            "outer",
            Compact(1, 0.5, "inner", False, CompactInner(), [], {}, data=arr([[1, 2], [3, 4]], np.int64)),
        ),
        "list": [CompactInner(1, "a"), CompactInner(2, "b")],
    }
    w.save("compact_in_modelclass", value)
    return value


# ---------------------------------------------------------------------------
# Storable modelclasses in containers, nesting
# ---------------------------------------------------------------------------


@scenario("storable_in_mlist", "storable modelclass 'run' items of an mlist (each in <uuid>.json, its barrays beside it)")
def _storable_in_mlist(w):
    value = dman.mlist([run_value(1), run_value(2)])
    w.save("storable_in_mlist", value)
    return value


@scenario("storable_in_mdict", "storable modelclass 'run' items of an mdict (store_by_key, store_subdir)")
def _storable_in_mdict(w):
    value = dman.mdict(store_by_key=True, store_subdir=True)
    value["alpha"] = run_value(3)
    value["beta"] = run_value(4)
    w.save("storable_in_mdict", value)
    return value


@scenario("storable_in_mruns", "storable modelclass 'run' items of an mruns (run-N/run.json)")
def _storable_in_mruns(w):
    value = dman.mruns()
    value.append(run_value(5))
    value.append(run_value(6))
    w.save("storable_in_mruns", value)
    return value


@scenario("nested_storables", "storable modelclasses nested 4 deep (level0 > level1 file > level2 file > level3 file > barray), relative targets with subdirs")
def _nested_storables(w):
    value = Level0(
        "zero",
        Level1("one", Level2("two", Level3("three", arr([[1.0, 2.0], [3.0, 4.0]])))),
    )
    w.save("nested_storables", value)
    return value


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@scenario("record_options", "dman.record(...) with default target, stem, stem+suffix, name, subdir, preload, name without extension, dotted stem")
def _record_options(w):
    value = {
        "default": dman.record(Person("Default Dan")),
        "stem": dman.record(Person("John Silver"), stem="john"),
        "stem_suffix": dman.record(Person("Jack"), stem="jack", suffix=".txt"),
        "name": dman.record(Person("Jane"), name="jane.person"),
        "subdir": dman.record(Person("Jim"), stem="jim", subdir="people"),
        "dotted_stem": dman.record(Person("Long John"), stem="john.person", subdir="people"),
        "nested_subdir": dman.record(ba([1, 2, 3], np.int64), subdir="a/b/c"),
        "preload": dman.record(ba([0.5]), stem="preloaded", preload=True),
        "name_no_ext": dman.record(Person("Readme"), name="README"),
        "unicode": dman.record(Person("Zo\u00eb \u2603"), stem="zoe"),
    }
    w.save("record_options", value)
    return value


@scenario("record_fields", "modelclass recordfield(...) options: stem, suffix, stem+suffix, name, subdir, preload, dotted stem, None field omitted")
def _record_fields(w):
    value = RecordFields(
        plain=arr([1.0, 2.0]),
        by_stem=arr([3.0]),
        by_suffix=Person("Suffix Sue"),
        by_stem_suffix=Person("Ann"),
        by_name=arr([4, 5], np.int32),
        by_subdir=Person("Sub Sam"),
        preloaded=arr([[6.0]]),
        dotted_stem=Person("Dotty"),
        empty=None,
    )
    w.save("record_fields", value)
    return value


@scenario("top_record", "save() of a bare storable (not serializable): the key file is a _ser__record envelope")
def _top_record(w):
    value = Person("Top Tom")
    w.save("top_record", value)
    # save() wraps it: dman.record(value); what loads back is that record.
    return _reload_only


@scenario("auto_model", "plain list/dict holding raw storables are written as _ser__mlist/_ser__mdict envelopes (Context.serialize_list/dict)")
def _auto_model(w):
    value = {
        "list": [1, Person("Listed Lou"), ba([1.5])],
        "dict": {"x": Person("Dict Dee"), "y": 2},
        "plain": [1, 2],
    }
    w.save("auto_model", value)
    return _reload_only


@scenario("instance", "register_instance: a registered function written as __instance")
def _instance(w):
    value = {"metric": ell1, "metrics": [ell1, ell1]}
    w.save("instance", value)
    return value


# ---------------------------------------------------------------------------
# mlist / smlist
# ---------------------------------------------------------------------------


@scenario("mlist_mixed", "mlist with inline values and records mixed, and mlist.record(...) per-item options")
def _mlist_mixed(w):
    value = dman.mlist([1, "two", ba([1.0, 2.0]), Person("Mixed Max"), {"k": "v"}, Config(seed=3), None, [1, [2]], arr([7.0, 8.0])])
    value.record(ba([3, 4], np.int64), stem="recorded", subdir="recs", preload=True)
    value.record(Person("Inserted Ida"), 1, name="inserted.person")
    value.record(ba([5.0]), suffix=".bin")
    value.record("not storable", stem="ignored")
    w.save("mlist_mixed", value)
    return value


@scenario("mlist_options", "mlist(subdir=..., preload=True): subdir and preload keys, item targets under the subdir")
def _mlist_options(w):
    value = dman.mlist([ba([1.0]), Person("Opt Olga"), 3], subdir="items", preload=True)
    w.save("mlist_options", value)
    return value


@scenario("storable_containers", "smlist, smdict, smruns stored as record files (content without envelope), records inside relative to them")
def _storable_containers(w):
    sml = dman.smlist([ba([1.0, 2.0]), "inline", Person("In List")])
    smd = dman.smdict(store_by_key=True)
    smd["a"] = ba([7], np.int64)
    smd["b"] = "inline"
    smr = dman.smruns(stem="srun")
    smr.append(ba([8.0]))
    smr.append(Person("In Runs"))
    value = dman.mlist()
    value.record(sml, stem="inner-list", subdir="containers")
    value.record(smd, stem="inner-dict", subdir="containers")
    value.record(smr, stem="inner-runs", subdir="containers")
    value.append(dman.smlist([ba([9.0])]))
    w.save("storable_containers", value)
    return value


@scenario("smlist_top", "an smlist saved at the top level: inline _ser__smlist envelope")
def _smlist_top(w):
    value = dman.smlist([1, ba([2.0])])
    w.save("smlist_top", value)
    return value


@scenario("smdict_top", "an smdict saved at the top level: inline _ser__smdict envelope (its subdir 'dd' is not used, quirk)")
def _smdict_top(w):
    value = dman.smdict(store_by_key=True, subdir="dd")
    value["one"] = ba([1.0])
    value["two"] = 2
    w.save("smdict_top", value)
    return value


@scenario("smruns_top", "an smruns saved at the top level: inline _ser__smruns envelope")
def _smruns_top(w):
    value = dman.smruns(stem="s", store_subdir=False)
    value.append(ba([1.0]))
    w.save("smruns_top", value)
    return value


# ---------------------------------------------------------------------------
# mdict
# ---------------------------------------------------------------------------


def _mdict_items(d):
    d["john"] = Person("John Silver")
    d["arr"] = ba([1.0, 2.0])
    d["inline"] = {"n": 1}
    return d


@scenario("mdict_default", "mdict without options: <uuid><ext> targets, inline values")
def _mdict_default(w):
    value = _mdict_items(dman.mdict())
    w.save("mdict_default", value)
    return value


@scenario("mdict_by_key", "mdict(subdir='people', store_by_key=True): <key><ext>; the subdir is written but not used without store_subdir (quirk)")
def _mdict_by_key(w):
    value = _mdict_items(dman.mdict(subdir="people", store_by_key=True))
    w.save("mdict_by_key", value)
    return value


@scenario("mdict_subdir", "mdict(store_subdir=True): <key>/<uuid><ext>")
def _mdict_subdir(w):
    value = _mdict_items(dman.mdict(store_subdir=True))
    w.save("mdict_subdir", value)
    return value


@scenario("mdict_by_key_subdir", "mdict(subdir='people', store_by_key=True, store_subdir=True): people/<key>/<key><ext>")
def _mdict_by_key_subdir(w):
    value = _mdict_items(dman.mdict(subdir="people", store_by_key=True, store_subdir=True))
    w.save("mdict_by_key_subdir", value)
    return value


@scenario("mdict_preload", "mdict(subdir='pre', preload=True): preload on the container and its records; subdir written but not used (quirk)")
def _mdict_preload(w):
    value = _mdict_items(dman.mdict(subdir="pre", preload=True))
    w.save("mdict_preload", value)
    return value


@scenario("mdict_record_options", "mdict.record(key, value, stem/suffix/name/subdir/preload) on a store_by_key mdict")
def _mdict_record_options(w):
    value = dman.mdict(store_by_key=True)
    value.record("s", Person("Stemmy"), stem="custom-stem")
    value.record("x", Person("Suffixy"), suffix=".txt")
    value.record("n", ba([1.0]), name="named.npy")
    value.record("d", ba([2.0]), subdir="extra", preload=True)
    value.record("i", 5, stem="ignored")
    w.save("mdict_record_options", value)
    return value


# ---------------------------------------------------------------------------
# mruns
# ---------------------------------------------------------------------------


@scenario("mruns_default", "mruns() defaults: stem 'run', store_subdir: run-N/run<ext>; an inline item takes no run number")
def _mruns_default(w):
    value = dman.mruns()
    value.append(ba([1.0]))
    value.append({"inline": True})
    value.append(Person("Runner Rae"))
    w.save("mruns_default", value)
    return value


@scenario("mruns_flat", "mruns(stem='exp', subdir='results', store_subdir=False): results/exp-N<ext>")
def _mruns_flat(w):
    value = dman.mruns(stem="exp", subdir="results", store_subdir=False)
    value.append(ba([1.0]))
    value.append(Person("Flat Fay"))
    value.append(run_value(7))
    w.save("mruns_flat", value)
    return value


@scenario("mruns_subdir", "mruns(stem='experiment', subdir='results'): results/experiment-N/experiment<ext> (as in getting-started)")
def _mruns_subdir(w):
    value = dman.mruns(stem="experiment", subdir="results")
    value.append(run_value(8))
    value.append(ba([2.0]))
    w.save("mruns_subdir", value)
    return value


@scenario("mruns_removed", "mruns via track: 3 runs, reload, del runs[0], append 2: run_count 5 != len 4, run-0 files deleted (auto-clean)")
def _mruns_removed(w):
    factory = dman.mruns_factory(stem="trial", subdir="trials")
    with w.track("mruns_removed", default_factory=factory) as runs:
        for seed in (10, 11, 12):
            runs.append(run_value(seed))
    with w.track("mruns_removed", default_factory=factory) as runs:
        del runs[0]
        runs.append(run_value(13))
        runs.append(ba([14.0]))
    return runs


@scenario("mruns_record_options", "mruns.record(...) per-item options (stem, subdir, preload, name, insert at index)")
def _mruns_record_options(w):
    value = dman.mruns(stem="r")
    value.append(ba([0.0]))
    value.record(ba([1.0]), stem="custom", subdir="extra", preload=True)
    value.record(Person("First Fran"), 0, name="first.person")
    value.record(ba([2.0]), suffix=".bin")
    w.save("mruns_record_options", value)
    return value


@scenario("mruns_preload", "mruns(stem='p', subdir='pp', preload=True, store_subdir=False)")
def _mruns_preload(w):
    value = dman.mruns(stem="p", subdir="pp", preload=True, store_subdir=False)
    value.append(ba([1.0]))
    value.append(ba([2.0]))
    w.save("mruns_preload", value)
    return value


# ---------------------------------------------------------------------------
# modelclass options
# ---------------------------------------------------------------------------


@scenario("mc_store_by_field", "modelclass(store_by_field=True): file stem = field name unless the recordfield sets one")
def _mc_store_by_field(w):
    value = ByField(a=arr([1.0]), b=Person("By Field"), c=arr([2.0]), n=3)
    w.save("mc_store_by_field", value)
    return value


@scenario("mc_cluster", "modelclass(cluster=True): subdir = field name unless the recordfield sets one")
def _mc_cluster(w):
    value = Clustered(a=arr([1.0]), b=Person("Clustered Cleo"), c=arr([2.0]))
    w.save("mc_cluster", value)
    return value


@scenario("mc_subdir", "modelclass(subdir='data'): records under data/")
def _mc_subdir(w):
    value = InSubdir(a=arr([1.0]), b=Person("Subdir Syd"))
    w.save("mc_subdir", value)
    return value


@scenario("mc_all_options", "modelclass(store_by_field=True, cluster=True, subdir='data'): data/<field>/<field><ext>")
def _mc_all_options(w):
    value = AllOptions(a=arr([1.0]), b=Person("All Al"))
    w.save("mc_all_options", value)
    return value


@scenario("mc_no_serialize", "__no_serialize__ = ['secret', 'cache']: left out of the file, defaults on load")
def _mc_no_serialize(w):
    value = NoSerialize(visible=5, secret="s3cret", cache=[1, 2, 3], data=arr([1.0]))
    w.save("mc_no_serialize", value)
    # What a reader finds: the defaults of the fields that are not written.
    value.secret = "default-secret"
    value.cache = []
    return value


# ---------------------------------------------------------------------------
# numeric
# ---------------------------------------------------------------------------


@scenario("barrays", "barray (.npy, format 1.0) in an mdict(store_by_key=True): f64/f32/i64/i32/u8/bool/c128, 0-d, empty, 2-d, 3-d, fortran_order, big-endian")
def _barrays(w):
    value = dman.mdict(store_by_key=True)
    value["f64_1d"] = ba([0.1, -2.5, 1e16, float("nan"), float("inf"), -float("inf"), -0.0, 5e-324])
    value["f32_2d"] = ba(np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(4) + np.float32(0.1), np.float32)
    value["i64_1d"] = ba([0, -1, 2**53 + 1, 2**63 - 1, -(2**63)], np.int64)
    value["i32_2d"] = ba((np.arange(6, dtype=np.int32) - 3).reshape(3, 2))
    value["u8_1d"] = ba([0, 1, 255], np.uint8)
    value["bool_1d"] = ba([True, False, True])
    value["c128_1d"] = ba([1 + 2j, -0.5 + 0j, 3 - 4j], np.complex128)
    value["f64_0d"] = ba(3.25)
    value["i64_0d"] = ba(-7, np.int64)
    value["f64_empty"] = ba(np.zeros(0))
    value["i64_empty_2d"] = ba(np.zeros((0, 3), dtype=np.int64))
    value["f64_3d"] = ba(np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5)
    value["f64_fortran"] = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)).view(barray)
    value["i32_big_endian"] = ba([1, -2, 3], ">i4")
    w.save("barrays", value)
    return value


@scenario("barrays_more_dtypes", "barray with less common dtypes: int8, int16, uint16, uint32, uint64, float16, complex64, big-endian f64")
def _barrays_more(w):
    value = dman.mdict(store_by_key=True)
    value["i8"] = ba([-128, 0, 127], np.int8)
    value["i16"] = ba([-32768, 1, 32767], np.int16)
    value["u16"] = ba([0, 65535], np.uint16)
    value["u32"] = ba([0, 4294967295], np.uint32)
    value["u64"] = ba([0, 2**64 - 1], np.uint64)
    value["f16"] = ba([0.5, -1.25, 65504.0], np.float16)
    value["c64"] = ba([1 - 1j, 0.25j], np.complex64)
    value["f64_big_endian"] = ba([1.5, -0.25], ">f8")
    w.save("barrays_more_dtypes", value)
    return value


@scenario("inline_arrays", "sarray, carray and plain np.ndarray (_num__ndarray) inline in the JSON: 0-d, 1-d, 2-d, 3-d, empty, bool, big ints, non-finite, f32")
def _inline_arrays(w):
    value = {
        "sarray_1d_float": arr([0.1, 1e-05, 1e16, -2.5]).view(sarray),
        "sarray_1d_int": arr([1, 2, 3], np.int64).view(sarray),
        "sarray_2d": (np.arange(6, dtype=np.float64).reshape(2, 3) * 1.5).view(sarray),
        "sarray_3d": np.arange(8, dtype=np.int64).reshape(2, 2, 2).view(sarray),
        "sarray_empty": np.zeros((0, 3)).view(sarray),
        "sarray_0d_float": arr(1.5).view(sarray),
        "sarray_0d_int": arr(7, np.int64).view(sarray),
        "carray_1d_nonfinite": arr([1.0, float("nan"), float("inf"), -float("inf")]).view(carray),
        "carray_2d": np.eye(2).view(carray),
        "carray_3d": np.arange(12, dtype=np.int64).reshape(2, 3, 2).view(carray),
        "carray_empty_1d": np.zeros(0).view(carray),
        "carray_empty_2d": np.zeros((2, 0)).view(carray),
        "carray_0d": arr(2.5).view(carray),
        "carray_bool": arr([True, False]).view(carray),
        "carray_i64_big": arr([2**53 + 1, -(2**63), 2**63 - 1], np.int64).view(carray),
        "carray_f32": arr([0.1, 0.5], np.float32).view(carray),
        "carray_i32": arr([-1, 2], np.int32).view(carray),
        "carray_whole_floats": arr([1.0, 2.0]).view(carray),
        "carray_column": np.arange(3, dtype=np.int64).reshape(3, 1).view(carray),
        "carray_row": np.arange(3, dtype=np.int64).reshape(1, 3).view(carray),
        "ndarray_1d": arr([1.5, 2.5]),
        "ndarray_2d": arr([[1, 2], [3, 4]], np.int64),
        "ndarray_empty": np.zeros((0,)),
        "ndarray_0d": arr(4.0),
    }
    w.save("inline_arrays", value)
    return value


@scenario("numeric_fields", "modelclass fields typed barray, sarray, carray, np.ndarray and carray[int] (presets convert plain ndarrays)")
def _numeric_fields(w):
    value = NumericFields(
        b=np.arange(3, dtype=np.float64),
        s=arr([1, 2], np.int64),
        c=np.eye(2),
        n=arr([[1.0, 2.0]]),
        ci=arr([1.5, 2.5]),
    )
    w.save("numeric_fields", value)
    return value


# ---------------------------------------------------------------------------
# store / save options / generators
# ---------------------------------------------------------------------------


@scenario(
    "store_run",
    "dman.store of a storable modelclass (subdir='stored', cluster off): stored/store_run.json holds the content without envelope",
    mode="store", cluster=False, subdir="stored", sto_type="run", file_name="store_run.json",
)
def _store_run(w):
    value = run_value(20)
    w.store("store_run", value, subdir="stored")
    return value


@scenario(
    "store_person", "dman.store of a custom storable: stored/store_person.person",
    mode="store", cluster=False, subdir="stored", sto_type="person", file_name="store_person.person",
)
def _store_person(w):
    value = Person("Stored Stan")
    w.store("store_person", value, subdir="stored")
    return value


@scenario(
    "store_barray", "dman.store of a barray: stored/store_barray.npy",
    mode="store", cluster=False, subdir="stored", sto_type="_num__barray", file_name="store_barray.npy",
)
def _store_barray(w):
    value = arr([[1.0, 2.0], [3.0, 4.0]]).view(barray)
    w.store("store_barray", value, subdir="stored")
    return value


@scenario(
    "store_smdict", "dman.store of an smdict: stored/store_smdict.json (content without envelope) with by-key records beside it",
    mode="store", cluster=False, subdir="stored", sto_type="_sto__smdict", file_name="store_smdict.json",
)
def _store_smdict(w):
    value = dman.smdict(store_by_key=True, subdir="store_smdict-files")
    value["a"] = ba([1.0])
    value["b"] = "inline"
    w.store("store_smdict", value, subdir="stored")
    return value


@scenario(
    "store_cluster", "dman.store(..., cluster=True): store_cluster/store_cluster.json",
    mode="store", cluster=True, sto_type="run", file_name="store_cluster.json",
)
def _store_cluster(w):
    value = run_value(21)
    w.store("store_cluster", value, cluster=True)
    return value


@scenario("save_flat", "save(..., cluster=False): ref/save_flat.json", cluster=False)
def _save_flat(w):
    value = Config(seed=30)
    w.save("save_flat", value, cluster=False)
    return value


@scenario("save_flat_records", "save(..., cluster=False, subdir='flat') with records: files beside the key file", cluster=False, subdir="flat")
def _save_flat_records(w):
    value = dman.mlist([ba([1.0]), Person("Flat Flo")])
    value.record(ba([2.0]), stem="flat-named")
    w.save("save_flat_records", value, cluster=False, subdir="flat")
    return value


@scenario("save_subdir", "save(..., subdir='sub/dir'): ref/sub/dir/save_subdir/save_subdir.json", subdir="sub/dir")
def _save_subdir(w):
    value = dman.mlist([ba([1.0])])
    w.save("save_subdir", value, subdir="sub/dir")
    return value


@scenario("save_generator", "save(..., generator='demo'): demo/save_generator/save_generator.json", generator="demo")
def _save_generator(w):
    value = Config(seed=40)
    w.save("save_generator", value, generator="demo")
    return value


@scenario(
    "label_generator",
    "default generator of a script at <root>/examples/patterns/label.py: cache/examples:patterns:label",
    generator="cache/examples:patterns:label",
)
def _label_generator(w):
    value = {"label": "examples/patterns/label.py"}
    with _argv0(w.workdir / "examples" / "patterns" / "label.py"):
        dman.save("label_generator", value, base=w.base)
    return value


@scenario(
    "label_root",
    "default generator of a script at the root beside .dman (<root>/root_script.py): cache/.:root_script (quirk)",
    generator="cache/.:root_script",
)
def _label_root(w):
    value = {"label": "root_script.py"}
    with _argv0(w.workdir / "root_script.py"):
        dman.save("label_root", value, base=w.base)
    return value


@contextlib.contextmanager
def _argv0(path):
    old = sys.argv[0]
    sys.argv[0] = str(path)
    try:
        yield
    finally:
        sys.argv[0] = old


@scenario("retouch_auto", "on_retouch='auto': a target written twice in one save gets an index (same.npy, same0.npy, same1.npy; run-1, run-2)")
def _retouch_auto(w):
    value = dman.mlist()
    for i in range(3):
        value.record(ba([float(i)]), stem="same")
    value.record(ba([10.0]), stem="run-1")
    value.record(ba([11.0]), stem="run-1")
    with params(store__on_retouch="auto"):
        w.save("retouch_auto", value)
    return value


@scenario("retouch_ignore", "on_retouch='ignore' (default): two records with the same target, the last write wins; both point at one file", expected_from="reload")
def _retouch_ignore(w):
    value = dman.mlist()
    value.record(Person("first"), stem="same")
    value.record(Person("second"), stem="same")
    w.save("retouch_ignore", value)
    return value


# ---------------------------------------------------------------------------
# invalid markers
# ---------------------------------------------------------------------------


@scenario("invalid_unserializable", direction=PYTHON_ONLY, description="objects of an unregistered class are written as __unserializable (list item, dict value, modelclass field)", expected_from="reload")
def _invalid_unserializable(w):
    value = {"list": [1, Unregistered(), "after"], "dict": {"bad": Unregistered()}, "field": Holder("h", thing=Unregistered())}
    w.save("invalid_unserializable", value)
    return value


@scenario("invalid_exc_unserializable", direction=PYTHON_ONLY, description="a serializable whose __serialize__ raises is written as __exc_unserializable with a trace", expected_from="reload")
def _invalid_exc_unserializable(w):
    value = [Exploding(1), "after"]
    w.save("invalid_exc_unserializable", value)
    return value


@scenario("invalid_no_file", direction=PYTHON_ONLY, description="record whose content file was deleted, then loaded, accessed and saved: record 'exceptions': {'read': __no_file}", expected_from="reload")
def _invalid_no_file(w):
    w.save("invalid_no_file", Holder("no-file", data=arr([1.0]), person=Person("Still There")))
    os.remove(w.path(GENERATOR, "invalid_no_file", "holder-data.npy"))
    with w.track("invalid_no_file") as value:
        _ = value.data  # NoFile
    return value


@scenario("invalid_no_file_mlist", direction=PYTHON_ONLY, description="mlist item whose file was deleted, accessed and saved with auto_clean off: kept with exceptions.read __no_file", expected_from="reload")
def _invalid_no_file_mlist(w):
    lst = dman.mlist()
    lst.record(ba([1.0]), stem="gone")
    lst.record(ba([2.0]), stem="kept")
    w.save("invalid_no_file_mlist", lst)
    os.remove(w.path(GENERATOR, "invalid_no_file_mlist", "gone.npy"))
    with params(model__auto_clean=False):
        with w.track("invalid_no_file_mlist") as value:
            _ = list(value)
    return value


@scenario("missing_file_dropped", direction=PYTHON_ONLY, description="same as invalid_no_file_mlist with auto_clean on (default): the accessed record with the missing file is dropped from the list", expected_from="reload")
def _missing_file_dropped(w):
    lst = dman.mlist()
    lst.record(ba([1.0]), stem="gone")
    lst.record(ba([2.0]), stem="kept")
    w.save("missing_file_dropped", lst)
    os.remove(w.path(GENERATOR, "missing_file_dropped", "gone.npy"))
    with w.track("missing_file_dropped") as value:
        _ = list(value)
    return value


@scenario("invalid_exc_unwritable", direction=PYTHON_ONLY, description="a storable whose __write__ raises: record 'exceptions': {'write': __exc_un_writable}, no content file", expected_from="reload")
def _invalid_exc_unwritable(w):
    value = Holder("unwritable", faulty=Faulty())
    w.save("invalid_exc_unwritable", value)
    return value


@scenario("invalid_exc_unreadable", direction=PYTHON_ONLY, description="a storable whose __read__ raises, loaded, accessed and saved: record 'exceptions': {'read': __exc_un_readable}", expected_from="reload")
def _invalid_exc_unreadable(w):
    w.save("invalid_exc_unreadable", Holder("unreadable", fragile=Fragile("brittle")))
    with w.track("invalid_exc_unreadable") as value:
        _ = value.fragile
    return value


@scenario("invalid_undeserializable", direction=PYTHON_ONLY, description="an unknown _ser__type ('ghost', unregistered before reloading) loaded and saved again: __undeserializable", expected_from="reload")
def _invalid_undeserializable(w):
    dman.serializable(name="ghost")(Ghost)
    try:
        w.save("invalid_undeserializable", {"ghost": Ghost("boo!"), "ok": 1})
    finally:
        dman.core.serializables.serializable_types().pop("ghost", None)
    with w.track("invalid_undeserializable") as value:
        pass
    return value


@scenario("invalid_exc_undeserializable", direction=PYTHON_ONLY, description="a serializable whose __deserialize__ raises, loaded and saved again: __exc_undeserializable", expected_from="reload")
def _invalid_exc_undeserializable(w):
    w.save("invalid_exc_undeserializable", {"grumpy": Grumpy(5), "ok": 1})
    with w.track("invalid_exc_undeserializable") as value:
        pass
    return value


def _reload_only(*_):  # marker: expected value comes from reloading
    raise AssertionError


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def list_files(base: str):
    out = set()
    for root, _, files in os.walk(base):
        for f in files:
            out.add(os.path.relpath(os.path.join(root, f), base).replace(os.sep, "/"))
    return out


def zip_tree(workdir: Path, target: Path):
    base = workdir / ".dman"
    names = sorted(list_files(str(base)))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in names:
            info = zipfile.ZipInfo(".dman/" + name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(base / name, "rb") as f:
                z.writestr(info, f.read())


@contextlib.contextmanager
def _quiet(sink):
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--fixtures", type=Path, default=None, help="also copy trees.zip and expected.json here")
    parser.add_argument("--verbose", action="store_true", help="show dman's log output (warnings of the invalid scenarios)")
    args = parser.parse_args(argv)

    workdir = args.workdir.resolve()
    fixtures = args.fixtures.resolve() if args.fixtures else None
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        parser.error(f"{workdir} is not empty")
    os.chdir(workdir)
    os.makedirs(workdir / ".dman")

    w = Writer(workdir)
    manifest = {
        "format": rm.MANIFEST_FORMAT,
        "written_by": {"dman": dman.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
        "defaults": dict(rm.ENTRY_DEFAULTS),
        "scenarios": {},
    }

    sink = io.StringIO()
    for name, description, expected_from, entry, fn in SCENARIOS:
        before = list_files(w.base)
        redirect = contextlib.nullcontext if args.verbose else (lambda: _quiet(sink))
        with redirect():
            result = fn(w)
        after = list_files(w.base)
        record = {"description": description, "key": name}
        record.update({k: v for k, v in entry.items()})
        opts = rm.entry_options(name, record)
        if opts["mode"] == "load":
            parts = [opts["generator"], opts["subdir"], name if opts["cluster"] else "", name + ".json"]
        else:
            parts = [opts["generator"], opts["subdir"], name if opts["cluster"] else "", entry["file_name"]]
        record["file"] = "/".join(p.strip("/") for p in parts if p)
        owned = sorted(f for f in after - before if not f.endswith(".gitignore"))
        # files of this scenario only (keys saved twice keep their earlier files)
        if opts["cluster"]:
            folder = rm.key_folder(name, record) + "/"
            owned = sorted(f for f in after if f.startswith(folder) and not f.endswith(".gitignore"))
            record["files_exact"] = True
        else:
            record["files_exact"] = False
        record["files"] = sorted(rm.uuid_pattern(f) for f in owned)
        record["markers"] = [
            dict(m, file=rm.uuid_pattern(m["file"])) for m in rm.markers_in_files(w.base, owned)
        ]
        if record["file"] not in owned:
            raise AssertionError(f"{name}: {record['file']} not written ({owned})")

        if result is _reload_only or expected_from == "reload":
            expected_from = "reload"
            with redirect():
                loaded = rm.load_entry(w.base, name, record)
                value = rm.normalize(loaded)
        else:
            value = rm.normalize(result)
        record["expected_from"] = expected_from
        record["value"] = rm.as_expected(json.loads(rm.dumps(value)))
        manifest["scenarios"][name] = record
        print(f"wrote {name:32s} {len(owned):3d} files  ({expected_from})")

    expected_path = workdir / "expected.json"
    with open(expected_path, "w", encoding="utf-8") as f:
        f.write(rm.dumps(manifest) + "\n")
    zip_path = workdir / "trees.zip"
    zip_tree(workdir, zip_path)
    print(f"{len(SCENARIOS)} scenarios; {expected_path}; {zip_path} ({zip_path.stat().st_size} bytes)")
    if fixtures:
        fixtures.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(expected_path, fixtures / "expected.json")
        shutil.copyfile(zip_path, fixtures / "trees.zip")
        print(f"copied expected.json and trees.zip to {fixtures}")


if __name__ == "__main__":
    main()
