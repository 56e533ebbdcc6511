//! The normalized-value notation of `expected.json`
//! (`tests/fixtures/python-reference/README.md`) for Rust values, and the
//! comparison rules of `refmodel.compare`.
//!
//! Normalizing follows every record: a record that was loaded lazily reads
//! its file then (once). A record whose content cannot be read normalizes
//! to `{"$unreadable": "<error>"}` as its content, which [`compare`] reports
//! apart from the differences, so that tests of Python's failure paths can
//! check those errors.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use dman::core::json::{Map, Value};
use dman::core::model::Item;
use dman::core::numeric::{InlineElement, BARRAY};
use dman::core::serial::split_envelope;
use dman::ndarray::{ArrayBase, ArrayViewD, Data, Dimension};
use dman::numeric::num_complex::Complex;
use dman::numeric::{CArray, SArray};
use dman::{MDict, MList, MRuns, Record, SMDict, SMList, SMRuns, Storable};
use indexmap::IndexMap;

use crate::refmodel::{self as rm, any_array, AnyArray};

/// A boxed future of a normalized value.
pub type NormFuture<'a> = Pin<Box<dyn Future<Output = Value> + 'a>>;

/// A value as `refmodel.normalize` describes it.
pub trait Normalize {
    /// The normalized value; records are followed.
    fn normalize(&self) -> NormFuture<'_>;
}

/// The content of a record, normalized (a storable's own form: a `barray`
/// is `_num__barray`, while the same Rust array inline is `_num__ndarray`).
pub trait NormalizeStored {
    /// The normalized content.
    fn normalize_stored(&self) -> NormFuture<'_>;
}

fn ready<'a>(v: Value) -> NormFuture<'a> {
    Box::pin(std::future::ready(v))
}

fn obj<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn tagged(tag: &str, inner: Value) -> Value {
    obj([(tag, inner)])
}

/// A float: `{"$float": "nan" | "inf" | "-inf"}` when not finite.
pub fn float(x: f64) -> Value {
    if x.is_nan() {
        tagged("$float", "nan".into())
    } else if x.is_infinite() {
        tagged("$float", if x > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        Value::Float(x)
    }
}

/// A dict: `{"$dict": {...}}` when a key starts with `$`.
pub fn plain_object(map: Map) -> Value {
    if map.keys().any(|k| k.starts_with('$')) {
        tagged("$dict", Value::Object(map))
    } else {
        Value::Object(map)
    }
}

/// `{"$ser": name, "fields": {...}}`.
pub fn ser(name: &str, fields: Map) -> Value {
    obj([("$ser", name.into()), ("fields", Value::Object(fields))])
}

/// Plain JSON as Python reads it (floats normalized). Envelopes are not
/// interpreted: plain JSON in a typed graph holds none.
pub fn json(value: &Value) -> Value {
    match value {
        Value::Float(x) => float(*x),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::Object(map) => plain_object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        other => other.clone(),
    }
}

// ---- scalars, options, collections ----------------------------------------------------

macro_rules! sync_normalize {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl Normalize for $t {
            fn normalize(&self) -> NormFuture<'_> {
                let $v = self;
                ready($e)
            }
        }
    )*};
}

sync_normalize! {
    bool => |v| Value::Bool(*v),
    i64 => |v| Value::Int(*v),
    i32 => |v| Value::Int(i64::from(*v)),
    u64 => |v| Value::from(*v),
    usize => |v| Value::from(*v),
    f64 => |v| float(*v),
    f32 => |v| float(f64::from(*v)),
    String => |v| Value::String(v.clone()),
    Value => |v| json(v),
}

impl<T: Normalize> Normalize for Option<T> {
    fn normalize(&self) -> NormFuture<'_> {
        match self {
            Some(v) => v.normalize(),
            None => ready(Value::Null),
        }
    }
}

impl<T: Normalize> Normalize for Box<T> {
    fn normalize(&self) -> NormFuture<'_> {
        (**self).normalize()
    }
}

impl<T: Normalize> Normalize for Vec<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(self.len());
            for v in self {
                out.push(v.normalize().await);
            }
            Value::Array(out)
        })
    }
}

async fn entries<'a, T: Normalize + 'a>(it: impl Iterator<Item = (&'a String, &'a T)>) -> Value {
    let mut map = Map::new();
    for (k, v) in it {
        map.insert(k.clone(), v.normalize().await);
    }
    plain_object(map)
}

impl<T: Normalize> Normalize for BTreeMap<String, T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(entries(self.iter()))
    }
}

impl<T: Normalize> Normalize for IndexMap<String, T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(entries(self.iter()))
    }
}

// ---- records --------------------------------------------------------------------------

/// A record's `exceptions`, as `refmodel.normalize_exception` gives them.
fn exceptions(exc: &Value) -> Value {
    let Some(map) = exc.as_object() else {
        return json(exc);
    };
    let mut out = Map::new();
    for (k, v) in map {
        let norm = match split_envelope(v) {
            Some((name, content)) => {
                let mut m = Map::new();
                m.insert("$invalid".into(), name.into());
                m.insert(
                    "type".into(),
                    content.get("type").cloned().unwrap_or(Value::Null),
                );
                if let Some(info) = content
                    .get("info")
                    .filter(|i| i.as_str().is_some_and(|s| !s.is_empty()))
                {
                    m.insert("info".into(), info.clone());
                }
                Value::Object(m)
            }
            None => json(v),
        };
        out.insert(k.clone(), norm);
    }
    Value::Object(out)
}

/// `{"$record": {...}}`; the content is read if it is not loaded.
pub async fn record<T: Storable + NormalizeStored>(r: &Record<T>) -> Value {
    let mut out = Map::new();
    out.insert("sto_type".into(), T::STO_TYPE.into());
    out.insert("target".into(), r.target().unwrap_or_default().into());
    out.insert("preload".into(), r.is_preload().into());
    if let Some(exc) = r.exceptions() {
        out.insert("exceptions".into(), exceptions(&exc));
    }
    let content = match r.get().await {
        Ok(v) => v.normalize_stored().await,
        Err(e) => tagged("$unreadable", e.to_string().into()),
    };
    out.insert("content".into(), content);
    tagged("$record", Value::Object(out))
}

impl<T: Storable + NormalizeStored> Normalize for Record<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(record(self))
    }
}

// ---- arrays ---------------------------------------------------------------------------

/// An element type of a `.npy` file: its numpy name and its value as
/// `ndarray.tolist()` gives it.
pub trait StoredElem {
    /// numpy's dtype name.
    const DTYPE: &'static str;
    /// The normalized element.
    fn norm(&self) -> Value;
}

macro_rules! stored_inline {
    ($($t:ty => $name:literal),*) => {$(
        impl StoredElem for $t {
            const DTYPE: &'static str = $name;
            fn norm(&self) -> Value {
                json(&InlineElement::to_json(self))
            }
        }
    )*};
}
stored_inline!(f64 => "float64", f32 => "float32", i64 => "int64", i32 => "int32",
    i16 => "int16", i8 => "int8", u64 => "uint64", u32 => "uint32", u16 => "uint16",
    u8 => "uint8", bool => "bool");

impl StoredElem for Complex<f64> {
    const DTYPE: &'static str = "complex128";
    fn norm(&self) -> Value {
        Value::Array(vec![float(self.re), float(self.im)])
    }
}

impl StoredElem for Complex<f32> {
    const DTYPE: &'static str = "complex64";
    fn norm(&self) -> Value {
        Value::Array(vec![float(f64::from(self.re)), float(f64::from(self.im))])
    }
}

/// The numpy dtype name of an array's elements.
pub fn dtype_of<A: StoredElem, S: Data<Elem = A>, D: Dimension>(_: &ArrayBase<S, D>) -> String {
    A::DTYPE.to_string()
}

fn nested<A>(view: ArrayViewD<'_, A>, f: &dyn Fn(&A) -> Value) -> Value {
    if view.ndim() == 0 {
        return view.iter().next().map_or(Value::Null, f);
    }
    Value::Array(view.outer_iter().map(|row| nested(row, f)).collect())
}

fn shape(s: &[usize]) -> Value {
    Value::Array(s.iter().map(|&d| Value::from(d)).collect())
}

fn array(kind: &str, dtype: &str, shape_: &[usize], data: Value) -> Value {
    tagged(
        "$array",
        obj([
            ("type", kind.into()),
            ("dtype", dtype.into()),
            ("shape", shape(shape_)),
            ("data", data),
        ]),
    )
}

/// A barray: its dtype and values as stored.
pub fn barray<A: StoredElem, S: Data<Elem = A>, D: Dimension>(a: &ArrayBase<S, D>) -> Value {
    let data = nested(a.view().into_dyn(), &StoredElem::norm);
    array(BARRAY, A::DTYPE, a.shape(), data)
}

/// An inline array as a reader of its JSON finds it (`refmodel.normalize_array`):
/// 0-d arrays are `float(x)`, empty ones float64, otherwise the dtype numpy
/// infers from the items (bool, int64 or float64).
pub fn inline<A: InlineElement, S: Data<Elem = A>, D: Dimension>(
    kind: &str,
    a: &ArrayBase<S, D>,
) -> Value {
    let view = a.view().into_dyn();
    if view.ndim() == 0 {
        let x = view.iter().next().map_or(0.0, InlineElement::to_f64);
        return array(kind, "float64", &[], float(x));
    }
    let (dtype, data) = if view.is_empty() {
        ("float64", nested(view, &|_: &A| Value::Null))
    } else {
        match InlineElement::to_json(&A::default()) {
            Value::Bool(_) => ("bool", nested(view, &|x: &A| json(&x.to_json()))),
            Value::Int(_) | Value::UInt(_) => ("int64", nested(view, &|x: &A| x.to_json())),
            _ => ("float64", nested(view, &|x: &A| float(x.to_f64()))),
        }
    };
    array(kind, dtype, a.shape(), data)
}

impl<A: StoredElem + InlineElement, D: Dimension> Normalize for dman::ndarray::Array<A, D> {
    fn normalize(&self) -> NormFuture<'_> {
        ready(inline("_num__ndarray", self))
    }
}

impl<A: StoredElem, D: Dimension> NormalizeStored for dman::ndarray::Array<A, D> {
    fn normalize_stored(&self) -> NormFuture<'_> {
        ready(barray(self))
    }
}

impl<A: InlineElement, D: Dimension> Normalize for SArray<A, D> {
    fn normalize(&self) -> NormFuture<'_> {
        ready(inline("_num__sarray", &self.0))
    }
}

impl<A: InlineElement, D: Dimension> Normalize for CArray<A, D> {
    fn normalize(&self) -> NormFuture<'_> {
        ready(inline("_num__carray", &self.0))
    }
}

impl NormalizeStored for AnyArray {
    fn normalize_stored(&self) -> NormFuture<'_> {
        ready(any_array!(self, a => barray(a), raw => raw_barray(raw)))
    }
}

/// A `.npy` file the numeric module does not hold: float16 is decoded here.
fn raw_barray(bytes: &[u8]) -> Value {
    let Ok(header) = dman::core::numeric::NpyHeader::parse(bytes) else {
        return tagged("$unreadable", "not a .npy file".into());
    };
    let big = header.descr.starts_with('>');
    if !header.descr.ends_with("f2") {
        return tagged(
            "$unreadable",
            format!("dtype {} is not float16", header.descr).into(),
        );
    }
    let data = &bytes[header.data_offset..];
    let values: Vec<f64> = data
        .chunks_exact(2)
        .map(|c| {
            let bits = if big {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            };
            rm::f16_bits_to_f64(bits)
        })
        .collect();
    use dman::ndarray::ShapeBuilder;
    let Ok(arr) = dman::ndarray::ArrayD::from_shape_vec(
        dman::ndarray::IxDyn(&header.shape).set_f(header.fortran_order),
        values,
    ) else {
        return tagged("$unreadable", "float16 data does not fit its shape".into());
    };
    let data = nested(arr.view(), &|x: &f64| float(*x));
    array(BARRAY, "float16", &header.shape, data)
}

// ---- the reference types -------------------------------------------------------------

/// Implements [`Normalize`] for a modelclass or dataclass: `$ser` with
/// every declared field in order.
macro_rules! normalize_ser {
    ($($ty:ty = $name:literal { $($field:ident),* $(,)? })*) => {$(
        impl Normalize for $ty {
            fn normalize(&self) -> NormFuture<'_> {
                Box::pin(async move {
                    let mut fields = Map::new();
                    $(fields.insert(stringify!($field).to_string(), self.$field.normalize().await);)*
                    ser($name, fields)
                })
            }
        }
    )*};
}

normalize_ser! {
    rm::Point = "point" { x, y, label }
    rm::Segment = "segment" { start, end, color, tags }
    rm::Inner = "inner" { alpha, beta }
    rm::Config = "config" { seed, size, lr, name, enabled, inner, layers, inners, options, color, note }
    rm::CompactInner = "compact_inner" { k, v }
    rm::Compact = "compact" { count, ratio, label, flag, inner, values, mapping, point, config, note, data, person }
    rm::CompactHolder = "compact_holder" { title, body }
    rm::Run = "run" { config, data, output }
    rm::Level3 = "level3" { tag, values }
    rm::Level2 = "level2" { tag, child }
    rm::Level1 = "level1" { tag, child }
    rm::Level0 = "level0" { tag, child }
    rm::RecordFields = "record_fields" { plain, by_stem, by_suffix, by_stem_suffix, by_name, by_subdir, preloaded, dotted_stem, empty }
    rm::ByField = "by_field" { a, b, c, n }
    rm::Clustered = "clustered" { a, b, c }
    rm::InSubdir = "in_subdir" { a, b }
    rm::AllOptions = "all_options" { a, b }
    rm::NoSerialize = "no_serialize" { visible, secret, cache, data }
    rm::NumericFields = "numeric_fields" { b, s, c, n, ci }
    rm::Holder = "holder" { label, thing, data, person, fragile, faulty }
    rm::Grumpy = "grumpy" { value }
    rm::Ghost = "ghost" { boo }
    rm::getting_started::Config = "config" { seed, size, nsample, nrepeats }
    rm::getting_started::Run = "run" { config, data, output }
}

macro_rules! stored_as_self {
    ($($ty:ty),*) => {$(
        impl NormalizeStored for $ty {
            fn normalize_stored(&self) -> NormFuture<'_> {
                self.normalize()
            }
        }
    )*};
}
stored_as_self!(
    rm::Run,
    rm::Level3,
    rm::Level2,
    rm::Level1,
    rm::Level0,
    rm::getting_started::Run
);

impl Normalize for rm::Color {
    fn normalize(&self) -> NormFuture<'_> {
        let member = match self {
            rm::Color::Red => "RED",
            rm::Color::Green => "GREEN",
            rm::Color::Blue => "BLUE",
        };
        ready(obj([("$enum", "color".into()), ("member", member.into())]))
    }
}

impl Normalize for rm::Instance {
    fn normalize(&self) -> NormFuture<'_> {
        ready(tagged("$instance", self.0.clone().into()))
    }
}

impl Normalize for rm::Exploding {
    fn normalize(&self) -> NormFuture<'_> {
        ready(tagged("$object", "Exploding".into()))
    }
}

impl NormalizeStored for rm::Person {
    fn normalize_stored(&self) -> NormFuture<'_> {
        ready(obj([
            ("$storable", "person".into()),
            ("value", self.name.clone().into()),
        ]))
    }
}

impl NormalizeStored for rm::Fragile {
    fn normalize_stored(&self) -> NormFuture<'_> {
        ready(obj([
            ("$storable", "fragile".into()),
            ("value", self.text.clone().into()),
        ]))
    }
}

impl NormalizeStored for rm::Faulty {
    fn normalize_stored(&self) -> NormFuture<'_> {
        ready(tagged("$object", "Faulty".into()))
    }
}

// ---- containers --------------------------------------------------------------------------

/// The options of a list-like container and its normalized items.
fn mlist(kind: &str, subdir: &str, preload: bool, items: Vec<Value>) -> Value {
    tagged(
        "$mlist",
        obj([
            ("type", kind.into()),
            ("subdir", subdir.into()),
            ("preload", preload.into()),
            ("items", Value::Array(items)),
        ]),
    )
}

#[allow(clippy::too_many_arguments)]
fn mdict(
    kind: &str,
    subdir: &str,
    preload: bool,
    by_key: bool,
    by_subdir: bool,
    items: Map,
) -> Value {
    tagged(
        "$mdict",
        obj([
            ("type", kind.into()),
            ("subdir", subdir.into()),
            ("preload", preload.into()),
            ("store_by_key", by_key.into()),
            ("store_subdir", by_subdir.into()),
            ("items", Value::Object(items)),
        ]),
    )
}

fn mruns(
    kind: &str,
    stem: Option<&str>,
    run_count: u64,
    store_subdir: bool,
    subdir: &str,
    preload: bool,
    items: Vec<Value>,
) -> Value {
    tagged(
        "$mruns",
        obj([
            ("type", kind.into()),
            ("stem", stem.map_or(Value::Null, Value::from)),
            ("run_count", Value::from(run_count)),
            ("store_subdir", store_subdir.into()),
            ("subdir", subdir.into()),
            ("preload", preload.into()),
            ("items", Value::Array(items)),
        ]),
    )
}

async fn all<'a, T: Normalize + 'a>(it: impl Iterator<Item = &'a T>) -> Vec<Value> {
    let mut out = Vec::new();
    for v in it {
        out.push(v.normalize().await);
    }
    out
}

impl Normalize for rm::Any {
    fn normalize(&self) -> NormFuture<'_> {
        use rm::Any;
        match self {
            Any::Person(r) => r.normalize(),
            Any::Array(r) => r.normalize(),
            Any::Run(r) => r.normalize(),
            Any::List(r) => r.normalize(),
            Any::Dict(r) => r.normalize(),
            Any::Runs(r) => r.normalize(),
            Any::Config(c) => c.normalize(),
            Any::NdArray(a) => a.normalize(),
            Any::Int(i) => ready(Value::from(*i)),
            Any::Float(x) => ready(float(*x)),
            Any::Text(t) => ready(Value::from(t.as_str())),
            Any::Bool(b) => ready(Value::Bool(*b)),
            Any::Json(v) => ready(json(&v.0)),
        }
    }
}

async fn core_list<T: Item<Slot: Normalize>>(kind: &str, l: &MList<T>) -> Value {
    mlist(kind, l.get_subdir(), l.is_preload(), all(l.iter()).await)
}

async fn core_dict<T: Item<Slot: Normalize>>(kind: &str, d: &MDict<T>) -> Value {
    let mut items = Map::new();
    for (k, v) in d.iter() {
        items.insert(k.clone(), v.normalize().await);
    }
    mdict(
        kind,
        d.get_subdir(),
        d.is_preload(),
        d.is_store_by_key(),
        d.is_store_subdir(),
        items,
    )
}

async fn core_runs<T: Item<Slot: Normalize>>(kind: &str, r: &MRuns<T>) -> Value {
    mruns(
        kind,
        r.get_stem(),
        r.run_count(),
        r.is_store_subdir(),
        r.get_subdir(),
        r.is_preload(),
        all(r.iter()).await,
    )
}

impl<T: Item<Slot: Normalize>> Normalize for MList<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_list("_ser__mlist", self))
    }
}
impl<T: Item<Slot: Normalize>> Normalize for SMList<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_list("_ser__smlist", self))
    }
}
impl<T: Item<Slot: Normalize>> NormalizeStored for SMList<T> {
    fn normalize_stored(&self) -> NormFuture<'_> {
        self.normalize()
    }
}
impl<T: Item<Slot: Normalize>> Normalize for MDict<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_dict("_ser__mdict", self))
    }
}
impl<T: Item<Slot: Normalize>> Normalize for SMDict<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_dict("_ser__smdict", self))
    }
}
impl<T: Item<Slot: Normalize>> NormalizeStored for SMDict<T> {
    fn normalize_stored(&self) -> NormFuture<'_> {
        self.normalize()
    }
}
impl<T: Item<Slot: Normalize>> Normalize for MRuns<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_runs("_ser__mruns", self))
    }
}
impl<T: Item<Slot: Normalize>> Normalize for SMRuns<T> {
    fn normalize(&self) -> NormFuture<'_> {
        Box::pin(core_runs("_ser__smruns", self))
    }
}
impl<T: Item<Slot: Normalize>> NormalizeStored for SMRuns<T> {
    fn normalize_stored(&self) -> NormFuture<'_> {
        self.normalize()
    }
}

// ---- comparison ---------------------------------------------------------------------------

/// The outcome of a comparison: the differences, Python's tolerated quirks
/// (notes), and the records whose content the expected value has as an
/// invalid object and that Rust could not read (`(where, expected, error)`).
#[derive(Debug, Default)]
pub struct Comparison {
    /// Differences, one line each.
    pub diffs: Vec<String>,
    /// Tolerated Python quirks.
    pub notes: Vec<String>,
    /// Expected `$invalid` content met by an `$unreadable` one.
    pub unreadable: Vec<(String, Value, String)>,
}

impl Comparison {
    /// Whether there is no difference and no unreadable record.
    pub fn is_clean(&self) -> bool {
        self.diffs.is_empty() && self.unreadable.is_empty()
    }
}

/// Compares a normalized expected value with a normalized actual one, with
/// the rules of `refmodel.compare`.
pub fn compare(expected: &Value, actual: &Value) -> Comparison {
    let mut c = Comparison::default();
    cmp(expected, actual, "$", &mut c);
    c
}

fn short(v: &Value) -> String {
    let text = dman::core::json::to_string_compact(v);
    if text.chars().count() <= 200 {
        text
    } else {
        format!("{}...", text.chars().take(197).collect::<String>())
    }
}

fn tag(v: &Value) -> Option<&str> {
    v.as_object()?
        .keys()
        .next()
        .filter(|k| k.starts_with('$'))
        .map(String::as_str)
}

fn same_number(e: &Value, a: &Value) -> bool {
    match (e, a) {
        (Value::Float(x), Value::Float(y)) => {
            x == y && x.is_sign_negative() == y.is_sign_negative()
        }
        (Value::Int(_) | Value::UInt(_), Value::Int(_) | Value::UInt(_)) => e == a,
        _ => false,
    }
}

/// Whether `text` matches `pattern`, where `{uuid}` stands for a lowercase
/// hyphenated uuid4 and the rest matches literally.
pub fn match_pattern(pattern: &str, text: &str) -> bool {
    let mut rest = text;
    for (i, part) in pattern.split("{uuid}").enumerate() {
        if i > 0 {
            if !is_uuid(rest.as_bytes()) {
                return false;
            }
            rest = &rest[36..];
        }
        match rest.strip_prefix(part) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether `bytes` start with a lowercase hyphenated uuid.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() >= 36
        && bytes[..36].iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// `text` with every uuid replaced by `{uuid}`.
pub fn uuid_pattern(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.push_str(&text[start..i]);
            out.push_str("{uuid}");
            i += 36;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[start..]);
    out
}

fn cmp(e: &Value, a: &Value, path: &str, c: &mut Comparison) {
    let diff = |c: &mut Comparison, msg: String| c.diffs.push(format!("{path}: {msg}"));
    match e {
        Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
            let ok = match (e, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Bool(_), _) | (_, Value::Bool(_)) => false,
                _ => same_number(e, a),
            };
            if !ok {
                diff(c, format!("expected {}, got {}", short(e), short(a)));
            }
            return;
        }
        Value::Null | Value::String(_) | Value::BigInt(_) => {
            if e != a {
                diff(c, format!("expected {}, got {}", short(e), short(a)));
            }
            return;
        }
        Value::Array(items) => {
            match a.as_array() {
                None => diff(c, format!("expected a list, got {}", short(a))),
                Some(got) if got.len() != items.len() => diff(
                    c,
                    format!(
                        "expected {} items, got {}: {}",
                        items.len(),
                        got.len(),
                        short(a)
                    ),
                ),
                Some(got) => {
                    for (i, (x, y)) in items.iter().zip(got).enumerate() {
                        cmp(x, y, &format!("{path}[{i}]"), c);
                    }
                }
            }
            return;
        }
        Value::Object(_) => {}
    }
    let (Some(emap), Some(amap)) = (e.as_object(), a.as_object()) else {
        diff(c, format!("expected {}, got {}", short(e), short(a)));
        return;
    };
    match (tag(e), tag(a)) {
        (Some("$record"), Some("$record")) => {
            let (er, ar) = (&emap["$record"], &amap["$record"]);
            for k in ["sto_type", "preload"] {
                if let Some(ev) = er.get(k) {
                    cmp(
                        ev,
                        ar.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                        c,
                    );
                }
            }
            if let Some(et) = er.get("target").and_then(Value::as_str) {
                let at = ar.get("target").and_then(Value::as_str).unwrap_or("");
                if !match_pattern(et, at) {
                    c.diffs
                        .push(format!("{path}.target: expected {et:?}, got {at:?}"));
                }
            }
            let empty = Value::Object(Map::new());
            let (ee, ae) = (
                er.get("exceptions").unwrap_or(&empty),
                ar.get("exceptions").unwrap_or(&empty),
            );
            let keys = |v: &Value| -> Vec<String> {
                let mut k: Vec<String> = v
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                k.sort();
                k
            };
            if keys(ee) != keys(ae) {
                c.diffs.push(format!(
                    "{path}.exceptions: expected {}, got {}",
                    short(ee),
                    short(ae)
                ));
            } else if let (Some(em), Some(am)) = (ee.as_object(), ae.as_object()) {
                for (k, v) in em {
                    cmp(v, &am[k], &format!("{path}.exceptions.{k}"), c);
                }
            }
            if let Some(ec) = er.get("content") {
                let ac = ar.get("content").unwrap_or(&Value::Null);
                cmp(ec, ac, &format!("{path}.content"), c);
            }
        }
        (Some("$array"), Some("$array")) => {
            let (ea, aa) = (&emap["$array"], &amap["$array"]);
            let (et, at) = (ea.get("type"), aa.get("type"));
            if et != at {
                let empty = aa
                    .get("shape")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|d| d.as_u64() == Some(0)));
                if et.and_then(Value::as_str) == Some("_num__sarray")
                    && at.and_then(Value::as_str) == Some("_num__ndarray")
                    && empty
                {
                    c.notes.push(format!(
                        "{path}: empty _num__sarray loaded as a plain ndarray (dman 1.0.1 quirk)"
                    ));
                } else {
                    c.diffs.push(format!(
                        "{path}.type: expected {}, got {}",
                        short(et.unwrap_or(&Value::Null)),
                        short(at.unwrap_or(&Value::Null))
                    ));
                }
            }
            for k in ["dtype", "shape", "data"] {
                if let Some(ev) = ea.get(k) {
                    cmp(
                        ev,
                        aa.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                        c,
                    );
                }
            }
        }
        (Some("$invalid"), Some("$unreadable")) => {
            let msg = amap["$unreadable"].as_str().unwrap_or_default().to_string();
            c.unreadable.push((path.to_string(), e.clone(), msg));
        }
        (Some("$invalid"), Some("$invalid")) => {
            for (k, v) in emap {
                cmp(
                    v,
                    amap.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    c,
                );
            }
        }
        (Some(et), Some(at)) if et != at => {
            diff(
                c,
                format!("expected {et} value {}, got {}", short(e), short(a)),
            );
        }
        _ => {
            let missing: Vec<&String> = emap.keys().filter(|k| !amap.contains_key(*k)).collect();
            let extra: Vec<&String> = amap.keys().filter(|k| !emap.contains_key(*k)).collect();
            if !missing.is_empty() {
                c.diffs.push(format!(
                    "{path}: missing keys {missing:?} (got {})",
                    short(a)
                ));
            }
            if !extra.is_empty() {
                c.diffs.push(format!("{path}: unexpected keys {extra:?}"));
            }
            for (k, v) in emap {
                if let Some(av) = amap.get(k) {
                    cmp(v, av, &format!("{path}.{k}"), c);
                }
            }
        }
    }
}
