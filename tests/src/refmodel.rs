//! Rust mirrors of every class of `tests/python/refmodel.py`, with the same
//! type names (the names are the contract: FORMAT.md section 3).
//!
//! Where Python annotates a field with a concrete type the mirror uses it
//! (`Array2<f64>` for a run's data); where a Python field or container
//! holds whatever it is given, the mirror uses a type that can hold what
//! the reference trees put there: [`AnyArray`] for a `barray` field whose
//! dtype varies between scenarios, [`Any`] for an `object` field or a
//! heterogeneous container item, [`Value`] for plain JSON.
//!
//! Python's plain dicts with a fixed set of keys (the top-level values of
//! several scenarios) are mirrored by `plain_dict!` structs: a bare JSON
//! object whose entries have Rust types.

use std::collections::BTreeMap;

use bytes::Bytes;
use dman::core::json::{Map, Value};
use dman::core::numeric::{decode_npy, encode_npy, NpyHeader, BARRAY};
use dman::core::serial;
use dman::ndarray::{Array0, Array1, Array2, Array3, ArrayD, Ix0, Ix1, Ix2, Ix3};
use dman::numeric::num_complex::Complex;
use dman::numeric::{CArray, SArray};
use dman::{
    DecodeContext, EncodeContext, Error, MDict, MList, MRuns, Modelclass, Record, Result, SMDict,
    SMList, SMRuns, Serializable, Storable, Stored,
};

// ---- mixed items ---------------------------------------------------------------

/// What Python's `mlist`, `mdict` and `mruns` (and an `object` field) hold
/// in the reference trees: a record of a reference storable, an inline
/// value, or plain JSON. The containers are dman-rs' own: `MList<Any>`,
/// `MDict<Any>`, `MRuns<Any>`, and `SMList<Any>`... as storables.
///
/// Reading tries the variants in this order: a record by its `sto_type`,
/// an inline serializable by its `_ser__type`, the rest by JSON shape
/// (integers before floats, so `1` stays an int).
// The large variants are boxed, so that an integer item is not the size of
// an array (clippy's large_enum_variant).
#[derive(Serializable, Debug, Clone)]
pub enum Any {
    /// A record of a `person`.
    Person(Box<Record<Person>>),
    /// A record of a `barray`.
    Array(Box<Record<AnyArray>>),
    /// A record of a storable `run`.
    Run(Box<Record<Run>>),
    /// A record of an `smlist` (`_sto__mlist`).
    List(Box<Record<SMList<Any>>>),
    /// A record of an `smdict` (`_sto__smdict`).
    Dict(Box<Record<SMDict<Any>>>),
    /// A record of an `smruns` (`_sto__smruns`).
    Runs(Box<Record<SMRuns<Any>>>),
    /// A `config` modelclass, inline.
    Config(Box<Config>),
    /// A plain `np.ndarray` inline (`_num__ndarray`).
    NdArray(Box<ArrayD<f64>>),
    /// An integer.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Text(String),
    /// A bool.
    Bool(bool),
    /// Anything else: `null`, lists and dicts of plain JSON.
    Json(PlainJson),
}

impl Any {
    /// Plain JSON, written as it is.
    pub fn json(value: impl Into<Value>) -> Self {
        Any::Json(PlainJson(value.into()))
    }

    /// Plain JSON given as JSON text.
    pub fn parse(text: &str) -> Self {
        Any::json(dman::core::json::from_str(text).expect("valid JSON"))
    }

    /// A new person record.
    pub fn person(name: &str) -> Self {
        Any::Person(Box::new(Record::new(Person::new(name))))
    }

    /// A new barray record.
    pub fn array(array: AnyArray) -> Self {
        Any::Array(Box::new(Record::new(array)))
    }

    /// A new run record.
    pub fn run(run: Run) -> Self {
        Any::Run(Box::new(Record::new(run)))
    }

    /// A new smlist record.
    pub fn list(list: MList<Any>) -> Self {
        Any::List(Box::new(Record::new(SMList(list))))
    }

    /// A new smdict record.
    pub fn dict(dict: MDict<Any>) -> Self {
        Any::Dict(Box::new(Record::new(SMDict(dict))))
    }

    /// A new smruns record.
    pub fn runs(runs: MRuns<Any>) -> Self {
        Any::Runs(Box::new(Record::new(SMRuns(runs))))
    }

    /// An inline config.
    pub fn config(config: Config) -> Self {
        Any::Config(Box::new(config))
    }

    /// An inline `np.ndarray`.
    pub fn ndarray(array: ArrayD<f64>) -> Self {
        Any::NdArray(Box::new(array))
    }
}

/// JSON with no `_ser__type` envelope inside: the last variant of [`Any`].
/// An envelope no other variant takes (an unknown type name, a record of
/// another storable, Python's invalid markers) is an error naming it and
/// its place, not data passed through as `json::Value` would.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainJson(pub Value);

/// An error at the first `_ser__type` found inside `value`.
fn refuse_envelopes(value: &Value) -> Result<()> {
    if serial::split_envelope(value).is_some() {
        return Err(serial::mismatch("plain JSON", value));
    }
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refuse_envelopes(v).map_err(|e| e.at_index(i))?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                refuse_envelopes(v).map_err(|e| e.at_key(k))?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Serializable for PlainJson {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(self.0.clone())
    }

    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        refuse_envelopes(content)?;
        Ok(PlainJson(content.clone()))
    }

    /// Not an envelope itself: an envelope deeper inside is refused when
    /// read, at its own place.
    fn accepts(value: &Value) -> bool {
        serial::split_envelope(value).is_none()
    }
}

// ---- custom storables --------------------------------------------------------

/// `@dman.storable(name="person")`: the name as UTF-8 text in a `.person` file.
#[derive(Storable, Debug, Clone, PartialEq, Eq)]
#[dman(name = "person", ext = ".person")]
pub struct Person {
    /// The text of the file.
    pub name: String,
}

impl Person {
    /// A person called `name`.
    pub fn new(name: &str) -> Self {
        Person { name: name.into() }
    }

    fn to_bytes(&self) -> std::result::Result<Vec<u8>, std::convert::Infallible> {
        Ok(self.name.as_bytes().to_vec())
    }

    fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, std::str::Utf8Error> {
        Ok(Person {
            name: std::str::from_utf8(bytes)?.to_string(),
        })
    }
}

/// `@dman.storable(name="faulty")`: its `__write__` raises, as in Python.
#[derive(Storable, Debug, Clone, PartialEq, Eq, Default)]
#[dman(name = "faulty", ext = ".faulty")]
pub struct Faulty;

impl Faulty {
    fn to_bytes(&self) -> std::result::Result<Vec<u8>, &'static str> {
        Err("cannot write Faulty")
    }

    fn from_bytes(_: &[u8]) -> std::result::Result<Self, std::convert::Infallible> {
        Ok(Faulty)
    }
}

/// `@dman.storable(name="fragile")`: writes its text, but its `__read__`
/// raises, as in Python.
#[derive(Storable, Debug, Clone, PartialEq, Eq)]
#[dman(name = "fragile", ext = ".fragile")]
pub struct Fragile {
    /// The text of the file.
    pub text: String,
}

impl Fragile {
    fn to_bytes(&self) -> std::result::Result<Vec<u8>, std::convert::Infallible> {
        Ok(self.text.as_bytes().to_vec())
    }

    fn from_bytes(_: &[u8]) -> std::result::Result<Self, &'static str> {
        Err("cannot read Fragile")
    }
}

// ---- serializables -----------------------------------------------------------

/// `@dman.serializable(name="color") class Color(enum.Enum)`: written as
/// `"Color.RED"`.
#[derive(Serializable, Debug, Clone, Copy, PartialEq, Eq)]
#[dman(name = "color", class = "Color", rename_all = "UPPERCASE")]
pub enum Color {
    /// `Color.RED`
    Red,
    /// `Color.GREEN`
    Green,
    /// `Color.BLUE`
    Blue,
}

fn green() -> Color {
    Color::Green
}

/// `@dman.serializable(name="point")` dataclass.
#[derive(Serializable, Debug, Clone, PartialEq)]
#[dman(name = "point")]
pub struct Point {
    /// x
    pub x: f64,
    /// y
    pub y: f64,
    /// label, default `""`
    #[dman(default)]
    pub label: String,
}

/// `@dman.serializable(name="segment")` dataclass.
#[derive(Serializable, Debug, Clone, PartialEq)]
#[dman(name = "segment")]
pub struct Segment {
    /// start
    pub start: Point,
    /// end
    pub end: Point,
    /// color, default `Color.GREEN`
    #[dman(default = "green")]
    pub color: Color,
    /// tags, default `[]`
    #[dman(default)]
    pub tags: Vec<String>,
}

/// `@dman.serializable(name="exploding")`: Python's `__serialize__` raises,
/// so its files only ever hold the marker; the mirror reads and writes the
/// content as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Exploding(pub Value);

impl Serializable for Exploding {
    const SER_TYPE: Option<&'static str> = Some("exploding");
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(self.0.clone())
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        Ok(Exploding(content.clone()))
    }
}

/// `@dman.serializable(name="grumpy")`: content `{"value": ...}`.
#[derive(Serializable, Debug, Clone, PartialEq)]
#[dman(name = "grumpy")]
pub struct Grumpy {
    /// value
    pub value: i64,
}

/// `Ghost`, registered as `ghost` only while Python wrote it.
#[derive(Serializable, Debug, Clone, PartialEq)]
#[dman(name = "ghost")]
pub struct Ghost {
    /// boo
    pub boo: String,
}

/// A registered instance (`dman.register_instance(ell1, name="ell1")`):
/// `{"_ser__type": "__instance", "_ser__content": "ell1"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance(pub String);

impl Serializable for Instance {
    const SER_TYPE: Option<&'static str> = Some("__instance");
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::String(self.0.clone()))
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        content
            .as_str()
            .map(|s| Instance(s.to_string()))
            .ok_or_else(|| serial::mismatch("an instance name", content))
    }
}

// ---- modelclasses ------------------------------------------------------------

/// `@dman.modelclass(name="inner")`.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "inner", default)]
pub struct Inner {
    /// default 0.5
    pub alpha: f64,
    /// default `[]`
    pub beta: Vec<i64>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            alpha: 0.5,
            beta: Vec::new(),
        }
    }
}

/// `@dman.modelclass(name="config")`.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config", default)]
pub struct Config {
    /// default 1234
    pub seed: i64,
    /// default 20
    pub size: i64,
    /// default 0.01
    pub lr: f64,
    /// default `"default"`
    pub name: String,
    /// default true
    pub enabled: bool,
    /// default `Inner()`
    pub inner: Inner,
    /// default `[]`
    pub layers: Vec<i64>,
    /// default `[]`
    pub inners: Vec<Inner>,
    /// default `{}`
    pub options: Map,
    /// default `Color.RED`
    pub color: Color,
    /// `Optional[str] = None`
    pub note: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1234,
            size: 20,
            lr: 0.01,
            name: "default".into(),
            enabled: true,
            inner: Inner::default(),
            layers: Vec::new(),
            inners: Vec::new(),
            options: Map::new(),
            color: Color::Red,
            note: None,
        }
    }
}

/// `@dman.modelclass(name="compact_inner", compact=True)`.
#[derive(Modelclass, Debug, Clone, PartialEq, Default)]
#[dman(name = "compact_inner", compact, default)]
pub struct CompactInner {
    /// default 0
    pub k: i64,
    /// default `""`
    pub v: String,
}

/// `@dman.modelclass(name="compact", compact=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "compact", compact)]
pub struct Compact {
    /// count
    pub count: i64,
    /// ratio
    pub ratio: f64,
    /// label
    pub label: String,
    /// flag
    pub flag: bool,
    /// a compact modelclass: written without envelope
    pub inner: CompactInner,
    /// `list`
    pub values: Vec<Value>,
    /// `dict`
    pub mapping: Map,
    /// a dataclass: written without envelope
    pub point: Option<Point>,
    /// a regular modelclass: its own envelope dropped, its fields keep theirs
    pub config: Option<Config>,
    /// `Optional[str]`
    pub note: Option<String>,
    /// `recordfield(stem="compact-data")`: a bare `{target, sto_type}`
    #[dman(stem = "compact-data")]
    pub data: Option<Record<AnyArray>>,
    /// a storable: a bare `{target, sto_type}`
    pub person: Option<Record<Person>>,
}

/// `@dman.modelclass(name="compact_holder")`: a compact modelclass field.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "compact_holder")]
pub struct CompactHolder {
    /// title
    pub title: String,
    /// enveloped, compact content
    pub body: Option<Compact>,
}

/// `@dman.modelclass(name="run", storable=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "run", storable)]
pub struct Run {
    /// config
    pub config: Config,
    /// `barray`
    pub data: Option<Record<Array2<f64>>>,
    /// `barray`
    pub output: Option<Record<Array2<f64>>>,
}

/// `@dman.modelclass(name="level3", storable=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "level3", storable)]
pub struct Level3 {
    /// tag
    pub tag: String,
    /// `barray`
    pub values: Option<Record<Array2<f64>>>,
}

/// `@dman.modelclass(name="level2", storable=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "level2", storable)]
pub struct Level2 {
    /// tag
    pub tag: String,
    /// `recordfield(subdir="l3", stem="level3")`
    #[dman(subdir = "l3", stem = "level3")]
    pub child: Option<Record<Level3>>,
}

/// `@dman.modelclass(name="level1", storable=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "level1", storable)]
pub struct Level1 {
    /// tag
    pub tag: String,
    /// `recordfield(subdir="l2")`
    #[dman(subdir = "l2")]
    pub child: Option<Record<Level2>>,
}

/// `@dman.modelclass(name="level0", storable=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "level0", storable)]
pub struct Level0 {
    /// tag
    pub tag: String,
    /// a storable field: a record
    pub child: Option<Record<Level1>>,
}

/// `@dman.modelclass(name="record_fields")`: every `recordfield` option.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "record_fields")]
pub struct RecordFields {
    /// no options
    pub plain: Option<Record<Array1<f64>>>,
    /// `stem="by-stem"`
    #[dman(stem = "by-stem")]
    pub by_stem: Option<Record<Array1<f64>>>,
    /// `suffix=".txt"`
    #[dman(suffix = ".txt")]
    pub by_suffix: Option<Record<Person>>,
    /// `stem="ann", suffix=".txt"`
    #[dman(stem = "ann", suffix = ".txt")]
    pub by_stem_suffix: Option<Record<Person>>,
    /// `name="named.bin"`
    #[dman(name = "named.bin")]
    pub by_name: Option<Record<Array1<i32>>>,
    /// `subdir="sub/dir", stem="p"`
    #[dman(subdir = "sub/dir", stem = "p")]
    pub by_subdir: Option<Record<Person>>,
    /// `stem="pre", preload=True`
    #[dman(stem = "pre", preload)]
    pub preloaded: Option<Record<Array2<f64>>>,
    /// `stem="john.person"`
    #[dman(stem = "john.person")]
    pub dotted_stem: Option<Record<Person>>,
    /// left `None`
    pub empty: Option<Record<Array1<f64>>>,
}

/// `@dman.modelclass(name="by_field", store_by_field=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "by_field", store_by_field)]
pub struct ByField {
    /// `a.npy`
    pub a: Option<Record<Array1<f64>>>,
    /// `b.person`
    pub b: Option<Record<Person>>,
    /// `recordfield(stem="explicit")`
    #[dman(stem = "explicit")]
    pub c: Option<Record<Array1<f64>>>,
    /// default 0
    #[dman(default)]
    pub n: i64,
}

/// `@dman.modelclass(name="clustered", cluster=True)`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "clustered", cluster)]
pub struct Clustered {
    /// `a/<uuid>.npy`
    pub a: Option<Record<Array1<f64>>>,
    /// `b/<uuid>.person`
    pub b: Option<Record<Person>>,
    /// `recordfield(subdir="explicit")`
    #[dman(subdir = "explicit")]
    pub c: Option<Record<Array1<f64>>>,
}

/// `@dman.modelclass(name="in_subdir", subdir="data")`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "in_subdir", subdir = "data")]
pub struct InSubdir {
    /// `data/<uuid>.npy`
    pub a: Option<Record<Array1<f64>>>,
    /// `data/<uuid>.person`
    pub b: Option<Record<Person>>,
}

/// `@dman.modelclass(name="all_options", store_by_field=True, cluster=True, subdir="data")`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "all_options", store_by_field, cluster, subdir = "data")]
pub struct AllOptions {
    /// `data/a/a.npy`
    pub a: Option<Record<Array1<f64>>>,
    /// `data/b/b.person`
    pub b: Option<Record<Person>>,
}

fn default_secret() -> String {
    "default-secret".into()
}

fn one() -> i64 {
    1
}

/// `@dman.modelclass(name="no_serialize")` with
/// `__no_serialize__ = ["secret", "cache"]`.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "no_serialize")]
pub struct NoSerialize {
    /// default 1
    #[dman(default = "one")]
    pub visible: i64,
    /// not written; `"default-secret"` on load
    #[dman(skip, default = "default_secret")]
    pub secret: String,
    /// not written; `[]` on load
    #[dman(skip)]
    pub cache: Vec<i64>,
    /// `barray`
    pub data: Option<Record<Array1<f64>>>,
}

/// `@dman.modelclass(name="numeric_fields")`: `barray`, `sarray`, `carray`,
/// `np.ndarray` and `carray[int]` fields.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "numeric_fields")]
pub struct NumericFields {
    /// `barray`: a record
    pub b: Option<Record<Array1<f64>>>,
    /// `sarray`: inline
    pub s: Option<SArray<i64, Ix1>>,
    /// `carray`: inline
    pub c: Option<CArray<f64, Ix2>>,
    /// `np.ndarray`: inline `_num__ndarray`
    pub n: Option<Array2<f64>>,
    /// `carray[int]`: inline
    pub ci: Option<CArray<i64, Ix1>>,
}

/// `@dman.modelclass(name="holder")`: an arbitrary field and record fields
/// (the failure-path scenarios).
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "holder")]
pub struct Holder {
    /// default `""`
    #[dman(default)]
    pub label: String,
    /// `object`
    pub thing: Option<Any>,
    /// `recordfield(stem="holder-data")`
    #[dman(stem = "holder-data")]
    pub data: Option<Record<Array1<f64>>>,
    /// `recordfield(stem="holder-person")`
    #[dman(stem = "holder-person")]
    pub person: Option<Record<Person>>,
    /// `recordfield(stem="holder-fragile")`
    #[dman(stem = "holder-fragile")]
    pub fragile: Option<Record<Fragile>>,
    /// `recordfield(stem="holder-faulty")`
    #[dman(stem = "holder-faulty")]
    pub faulty: Option<Record<Faulty>>,
}

/// The seed's getting-started types (`tests/python/getting_started.py`):
/// `config` with four integers and the storable `run` with two `barray`
/// records, as every crate's tests share them.
pub mod getting_started {
    pub use dman_test_support::seed::{Config, Run};
}

// ---- a barray of any dtype ------------------------------------------------------

/// A `barray` (`_num__barray`, `.npy`) of whatever dtype its file holds: the
/// Python `barray` fields and containers of the reference trees hold
/// several. Every dtype of dman-rs' numeric module has a variant; others
/// (numpy's `float16`) are kept as their `.npy` bytes.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum AnyArray {
    F64(ArrayD<f64>),
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
    I32(ArrayD<i32>),
    I16(ArrayD<i16>),
    I8(ArrayD<i8>),
    U64(ArrayD<u64>),
    U32(ArrayD<u32>),
    U16(ArrayD<u16>),
    U8(ArrayD<u8>),
    Bool(ArrayD<bool>),
    C128(ArrayD<Complex<f64>>),
    C64(ArrayD<Complex<f32>>),
    /// A `.npy` file of a dtype the numeric module does not hold, as read.
    Raw(Bytes),
}

/// Calls `$body` with `$a` bound to the array of any typed variant.
macro_rules! any_array {
    ($value:expr, $a:ident => $body:expr, $raw:ident => $raw_body:expr) => {
        match $value {
            AnyArray::F64($a) => $body,
            AnyArray::F32($a) => $body,
            AnyArray::I64($a) => $body,
            AnyArray::I32($a) => $body,
            AnyArray::I16($a) => $body,
            AnyArray::I8($a) => $body,
            AnyArray::U64($a) => $body,
            AnyArray::U32($a) => $body,
            AnyArray::U16($a) => $body,
            AnyArray::U8($a) => $body,
            AnyArray::Bool($a) => $body,
            AnyArray::C128($a) => $body,
            AnyArray::C64($a) => $body,
            AnyArray::Raw($raw) => $raw_body,
        }
    };
}
pub(crate) use any_array;

impl AnyArray {
    /// A float64 array of any dimension.
    pub fn f64<D: dman::ndarray::Dimension>(a: dman::ndarray::Array<f64, D>) -> Self {
        AnyArray::F64(a.into_dyn())
    }

    /// An int64 array of any dimension.
    pub fn i64<D: dman::ndarray::Dimension>(a: dman::ndarray::Array<i64, D>) -> Self {
        AnyArray::I64(a.into_dyn())
    }

    /// A float16 `.npy` file (numpy's `<f2`) holding `values`, rounded to
    /// the nearest half-precision value; built by hand because the numeric
    /// module has no float16.
    pub fn f16(values: &[f64]) -> Result<Self> {
        let bits: Array1<u16> = values.iter().map(|&v| f64_to_f16_bits(v)).collect();
        let mut bytes = encode_npy(&bits)?;
        // `<u2` and `<f2` have the same length: the header keeps its padding.
        let header = NpyHeader::parse(&bytes)?;
        let text = &mut bytes[..header.data_offset];
        let at = text
            .windows(3)
            .position(|w| w == b"<u2")
            .ok_or_else(|| Error::encode("no `<u2` in the header"))?;
        text[at + 1] = b'f';
        Ok(AnyArray::Raw(Bytes::from(bytes)))
    }

    /// numpy's name of the dtype (`float64`), without byte order.
    pub fn dtype(&self) -> String {
        any_array!(self, a => crate::norm::dtype_of(a), raw => {
            NpyHeader::parse(raw)
                .ok()
                .and_then(|h| h.dtype_name())
                .map(|n| n.trim_end_matches(", big-endian").to_string())
                .unwrap_or_else(|| "unknown".into())
        })
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        any_array!(self, a => a.shape().to_vec(), raw => {
            NpyHeader::parse(raw).map(|h| h.shape).unwrap_or_default()
        })
    }
}

impl Storable for AnyArray {
    const STO_TYPE: &'static str = BARRAY;
    const EXTENSION: &'static str = ".npy";

    fn to_stored(&self, _: &mut EncodeContext<'_>) -> Result<Stored> {
        let bytes = any_array!(self, a => Bytes::from(encode_npy(a)?), raw => raw.clone());
        Ok(Stored::Bytes(bytes))
    }

    fn from_stored(stored: Stored, _: &DecodeContext) -> Result<Self> {
        let bytes = stored.into_bytes();
        let header = NpyHeader::parse(&bytes)?;
        let name = header.dtype_name().unwrap_or_default();
        Ok(match name.trim_end_matches(", big-endian") {
            "float64" => AnyArray::F64(decode_npy(&bytes)?),
            "float32" => AnyArray::F32(decode_npy(&bytes)?),
            "int64" => AnyArray::I64(decode_npy(&bytes)?),
            "int32" => AnyArray::I32(decode_npy(&bytes)?),
            "int16" => AnyArray::I16(decode_npy(&bytes)?),
            "int8" => AnyArray::I8(decode_npy(&bytes)?),
            "uint64" => AnyArray::U64(decode_npy(&bytes)?),
            "uint32" => AnyArray::U32(decode_npy(&bytes)?),
            "uint16" => AnyArray::U16(decode_npy(&bytes)?),
            "uint8" => AnyArray::U8(decode_npy(&bytes)?),
            "bool" => AnyArray::Bool(decode_npy(&bytes)?),
            "complex128" => AnyArray::C128(decode_npy(&bytes)?),
            "complex64" => AnyArray::C64(decode_npy(&bytes)?),
            _ => AnyArray::Raw(bytes),
        })
    }
}

/// The nearest IEEE half-precision value of `v` (round to nearest even),
/// as its bits. Enough for the values of the reference trees.
pub fn f64_to_f16_bits(v: f64) -> u16 {
    let sign: u16 = if v.is_sign_negative() { 0x8000 } else { 0 };
    let a = v.abs();
    if a.is_nan() {
        return 0x7e00;
    }
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    if a < 2f64.powi(-24) / 2.0 {
        return sign;
    }
    let exp = a.log2().floor() as i32;
    if exp < -14 {
        // Subnormal: multiples of 2^-24.
        let m = (a / 2f64.powi(-24)).round_ties_even() as u16;
        return sign | m;
    }
    let mant = a / 2f64.powi(exp) - 1.0;
    let mut m = (mant * 1024.0).round_ties_even() as u32;
    let mut e = (exp + 15) as u32;
    if m == 1024 {
        m = 0;
        e += 1;
    }
    sign | ((e as u16) << 10) | m as u16
}

/// The value of half-precision bits.
pub fn f16_bits_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((bits >> 10) & 0x1f);
    let m = f64::from(bits & 0x3ff);
    match e {
        0 => sign * m * 2f64.powi(-24),
        31 if m == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

// ---- plain dicts -----------------------------------------------------------------

/// A struct written as a bare JSON object (a Python `dict` with a fixed set
/// of string keys), every entry with its envelope and `None` as `null`,
/// keys in declaration order; reading requires every key.
#[macro_export]
macro_rules! plain_dict {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        // The fields are the dict's keys, named as in refmodel.py.
        #[allow(missing_docs)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::refmodel::__dman::Serializable for $name {
            fn to_content(
                &self,
                ctx: &mut $crate::refmodel::__dman::EncodeContext<'_>,
            ) -> $crate::refmodel::__dman::Result<$crate::refmodel::__dman::core::json::Value> {
                ctx.without_defaults(|ctx| {
                    let mut map = $crate::refmodel::__dman::core::json::Map::new();
                    $(
                        map.insert(
                            stringify!($field).to_string(),
                            $crate::refmodel::__dman::core::serial::serialize(&self.$field, ctx)
                                .map_err(|e| e.at_key(stringify!($field)))?,
                        );
                    )*
                    Ok($crate::refmodel::__dman::core::json::Value::Object(map))
                })
            }

            fn from_content(
                content: &$crate::refmodel::__dman::core::json::Value,
                ctx: &$crate::refmodel::__dman::DecodeContext,
            ) -> $crate::refmodel::__dman::Result<Self> {
                let obj = content.as_object().ok_or_else(|| {
                    $crate::refmodel::__dman::core::serial::mismatch("a dict", content)
                })?;
                Ok($name {
                    $(
                        $field: {
                            let v = obj.get(stringify!($field)).ok_or_else(|| {
                                $crate::refmodel::__dman::Error::decode(format!(
                                    "missing key `{}`",
                                    stringify!($field)
                                ))
                            })?;
                            $crate::refmodel::__dman::core::serial::deserialize(v, ctx)
                                .map_err(|e| e.at_key(stringify!($field)))?
                        },
                    )*
                })
            }
        }

        impl $crate::norm::Normalize for $name {
            fn normalize(&self) -> $crate::norm::NormFuture<'_> {
                Box::pin(async move {
                    let mut map = $crate::refmodel::__dman::core::json::Map::new();
                    $(
                        map.insert(
                            stringify!($field).to_string(),
                            $crate::norm::Normalize::normalize(&self.$field).await,
                        );
                    )*
                    $crate::norm::plain_object(map)
                })
            }
        }
    };
}

#[doc(hidden)]
pub use dman as __dman;

plain_dict! {
    /// `json_scalars`: plain JSON values.
    #[derive(Debug, Clone)]
    pub struct JsonScalars {
        pub ints: Vec<i64>,
        pub floats: Vec<f64>,
        pub nonfinite: Vec<f64>,
        pub strings: Vec<String>,
        pub bools: Vec<bool>,
        pub none: Option<String>,
        pub nested: Value,
        pub tuple: Vec<Value>,
        pub int_key: BTreeMap<String, String>,
        pub mixed: Vec<Value>,
    }
}

plain_dict! {
    /// `json_bigint`: what the file would be if Rust held its integers.
    #[derive(Debug, Clone)]
    pub struct JsonBigint {
        pub u64_max: u64,
        pub beyond_u64: u64,
        pub very_negative: i64,
    }
}

plain_dict! {
    /// `enum_values`.
    #[derive(Debug, Clone)]
    pub struct EnumValues {
        pub list: Vec<Color>,
        pub one: Color,
    }
}

plain_dict! {
    /// `compact_in_modelclass`.
    #[derive(Debug, Clone)]
    pub struct CompactInModelclass {
        pub holder: CompactHolder,
        pub list: Vec<CompactInner>,
    }
}

plain_dict! {
    /// `record_options`: `dman.record(...)` with every target option.
    #[derive(Debug, Clone)]
    pub struct RecordOptions {
        pub default: Record<Person>,
        pub stem: Record<Person>,
        pub stem_suffix: Record<Person>,
        pub name: Record<Person>,
        pub subdir: Record<Person>,
        pub dotted_stem: Record<Person>,
        pub nested_subdir: Record<Array1<i64>>,
        pub preload: Record<Array1<f64>>,
        pub name_no_ext: Record<Person>,
        pub unicode: Record<Person>,
    }
}

plain_dict! {
    /// `auto_model`: plain list and dict holding storables (written as
    /// mlist/mdict envelopes) and a plain list.
    #[derive(Debug, Clone)]
    pub struct AutoModel {
        pub list: MList<Any>,
        pub dict: MDict<Any>,
        pub plain: Vec<i64>,
    }
}

plain_dict! {
    /// `instance`: registered instances.
    #[derive(Debug, Clone)]
    pub struct Instances {
        pub metric: Instance,
        pub metrics: Vec<Instance>,
    }
}

plain_dict! {
    /// `label_generator`, `label_root`.
    #[derive(Debug, Clone)]
    pub struct Label {
        pub label: String,
    }
}

plain_dict! {
    /// `inline_arrays`: `sarray`, `carray` and plain `np.ndarray` inline.
    #[derive(Debug, Clone)]
    pub struct InlineArrays {
        pub sarray_1d_float: SArray<f64, Ix1>,
        pub sarray_1d_int: SArray<i64, Ix1>,
        pub sarray_2d: SArray<f64, Ix2>,
        pub sarray_3d: SArray<i64, Ix3>,
        pub sarray_empty: SArray<f64, Ix2>,
        pub sarray_0d_float: SArray<f64, Ix0>,
        pub sarray_0d_int: SArray<i64, Ix0>,
        pub carray_1d_nonfinite: CArray<f64, Ix1>,
        pub carray_2d: CArray<f64, Ix2>,
        pub carray_3d: CArray<i64, Ix3>,
        pub carray_empty_1d: CArray<f64, Ix1>,
        pub carray_empty_2d: CArray<f64, Ix2>,
        pub carray_0d: CArray<f64, Ix0>,
        pub carray_bool: CArray<bool, Ix1>,
        pub carray_i64_big: CArray<i64, Ix1>,
        pub carray_f32: CArray<f32, Ix1>,
        pub carray_i32: CArray<i32, Ix1>,
        pub carray_whole_floats: CArray<f64, Ix1>,
        pub carray_column: CArray<i64, Ix2>,
        pub carray_row: CArray<i64, Ix2>,
        pub ndarray_1d: Array1<f64>,
        pub ndarray_2d: Array2<i64>,
        pub ndarray_empty: Array1<f64>,
        pub ndarray_0d: Array0<f64>,
    }
}

plain_dict! {
    /// `invalid_unserializable` as it was meant: Python wrote markers where
    /// the unregistered objects were.
    #[derive(Debug, Clone)]
    pub struct InvalidUnserializable {
        pub list: Vec<Any>,
        pub dict: indexmap::IndexMap<String, Any>,
        pub field: Holder,
    }
}

plain_dict! {
    /// `invalid_undeserializable` as it was meant.
    #[derive(Debug, Clone)]
    pub struct InvalidUndeserializable {
        pub ghost: Ghost,
        pub ok: i64,
    }
}

plain_dict! {
    /// `invalid_exc_undeserializable` as it was meant.
    #[derive(Debug, Clone)]
    pub struct InvalidExcUndeserializable {
        pub grumpy: Grumpy,
        pub ok: i64,
    }
}

// ---- values of the scenarios -------------------------------------------------------

/// `run_value(seed)` of `make_reference_trees.py`.
pub fn run_value(seed: i64) -> Run {
    let rows = Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64);
    let data = &rows + seed as f64;
    // `.T.copy()`: numpy copies in C order.
    let output = (&rows * 0.5 - seed as f64)
        .t()
        .as_standard_layout()
        .into_owned();
    Run {
        config: Config {
            seed,
            size: 2,
            name: format!("run-{seed}"),
            layers: vec![seed, seed + 1],
            ..Config::default()
        },
        data: Some(Record::new(data)),
        output: Some(Record::new(output)),
    }
}

/// A one-dimensional float64 array.
pub fn arr1(values: &[f64]) -> Array1<f64> {
    Array1::from(values.to_vec())
}

/// `ba([...])`: a one-dimensional float64 barray.
pub fn ba(values: &[f64]) -> AnyArray {
    AnyArray::f64(arr1(values))
}

/// A three-dimensional array from a flat `Vec` in C order.
pub fn arr3<A>(shape: (usize, usize, usize), data: Vec<A>) -> Array3<A> {
    Array3::from_shape_vec(shape, data).expect("shape matches data")
}
