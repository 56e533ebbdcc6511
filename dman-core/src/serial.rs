//! Serializable values: the `_ser__type` envelope and the types that
//! become JSON.
//!
//! A serializable type with a type name is written as
//! `{"_ser__type": NAME, "_ser__content": CONTENT}`; JSON scalars, lists
//! and maps are written bare, as Python dman does.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use crate::context::{DecodeContext, EncodeContext, Placement, Released};
use crate::error::{Error, Result};
use crate::json::{self, Map, Value};

/// Key of the type name in an envelope.
pub const SER_TYPE: &str = "_ser__type";
/// Key of the content in an envelope.
pub const SER_CONTENT: &str = "_ser__content";
/// Type name of a record's envelope.
pub const RECORD_TYPE: &str = "_ser__record";

/// The placeholders Python dman 1.0.1 writes where something failed.
pub const INVALID_MARKERS: &[&str] = &[
    "__unserializable",
    "__exc_unserializable",
    "__undeserializable",
    "__exc_undeserializable",
    "__no_file",
    "__un_writable",
    "__exc_un_writable",
    "__un_readable",
    "__exc_un_readable",
];

/// A value that becomes JSON and back.
///
/// Implement it with `#[derive(Serializable)]` or `#[derive(Modelclass)]`;
/// by hand, give [`Serializable::SER_TYPE`] and the two conversions of the
/// content (the envelope is added and checked by [`serialize`] and
/// [`deserialize`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Serializable`: dman cannot write it as JSON",
    label = "not `Serializable`",
    note = "a struct: `#[derive(Modelclass)]` (Python's `@modelclass`) or `#[derive(Serializable)]` (a dataclass); an enum: `#[derive(Serializable)]`",
    note = "a field of a serde type: `#[dman(serde)]` on the field writes it through serde"
)]
pub trait Serializable: Sized {
    /// The `_ser__type` name, or `None` for values written as bare JSON.
    const SER_TYPE: Option<&'static str> = None;

    /// The content (without envelope). Records met on the way add their
    /// files to the context's save plan.
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value>;

    /// The value from its content (without envelope).
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self>;

    /// Whether a modelclass leaves this field out of its JSON (Python omits
    /// fields whose value is `None`).
    fn is_absent(&self) -> bool {
        false
    }

    /// The value of a field that is absent from the JSON, if the type has one.
    fn absent() -> Option<Self> {
        None
    }

    /// Whether `value` (as written, envelope included) has the shape this
    /// type writes: how a mixed enum (`#[derive(Serializable)]` on one-field
    /// variants) picks the variant to read an item as, trying them in
    /// declaration order.
    ///
    /// By default a type with a [`SER_TYPE`](Serializable::SER_TYPE) accepts
    /// an envelope of that name, and a bare type accepts anything (so it
    /// serves as a last, catch-all variant). The JSON types accept their
    /// shape: integers (`i64`, `u8`, ...) an integer that fits them (one
    /// that does not is left to a later variant); `f64` and `f32` a float
    /// or an integer they hold exactly; `String` a string; `bool` a bool; `Option<T>` `null` or what
    /// `T` accepts; `Vec<T>` a list (or an `mlist` of inline values); maps
    /// an object that is not an envelope (or an `mdict` of inline values);
    /// `Record<T>` a record whose `sto_type` is `T`'s.
    fn accepts(value: &Value) -> bool {
        match Self::SER_TYPE {
            Some(name) => split_envelope(value).is_some_and(|(found, _)| found == name),
            None => true,
        }
    }

    /// Gives the records this value holds the places a model container
    /// decides, when the value becomes one of its items. Only records are
    /// placed: a value holding none leaves this as it is (the default).
    /// Implement it, forwarding to the fields, for a type that holds records
    /// and goes in a mixed container by hand.
    fn adopt_records(&mut self, _place: &mut Placement<'_>) {}

    /// Gives up the files of the records this value holds, as it leaves a
    /// model container: they are deleted after the container's next save
    /// (auto-clean). The default holds no records.
    fn release_files(&mut self, _out: &mut Vec<Released>) {}
}

/// Wraps content in the envelope `{"_ser__type": name, "_ser__content": content}`.
pub fn envelope(name: &str, content: Value) -> Value {
    let mut map = Map::with_capacity(2);
    map.insert(SER_TYPE.to_string(), Value::String(name.to_string()));
    map.insert(SER_CONTENT.to_string(), content);
    Value::Object(map)
}

/// The type name and content of an envelope, or `None` for a bare value.
/// A missing content reads as an empty object, as in Python.
pub fn split_envelope(value: &Value) -> Option<(&str, &Value)> {
    static EMPTY: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(|| Value::Object(Map::new()));
    let obj = value.as_object()?;
    let name = json::lookup(obj, SER_TYPE)?.as_str()?;
    Some((name, json::lookup(obj, SER_CONTENT).unwrap_or(&*EMPTY)))
}

/// Serializes a value with its envelope, if its type has a name.
pub fn serialize<T: Serializable>(value: &T, ctx: &mut EncodeContext<'_>) -> Result<Value> {
    let content = value.to_content(ctx)?;
    Ok(match T::SER_TYPE {
        Some(name) => envelope(name, content),
        None => content,
    })
}

/// Deserializes a value written by [`serialize`] (or by Python dman),
/// checking the type name against the expected one.
pub fn deserialize<T: Serializable>(value: &Value, ctx: &DecodeContext) -> Result<T> {
    match T::SER_TYPE {
        None => T::from_content(value, ctx),
        Some(expected) => match split_envelope(value) {
            Some((found, content)) if found == expected => T::from_content(content, ctx),
            _ => Err(mismatch(&format!("`{expected}`"), value)),
        },
    }
}

/// Deserializes content written without envelope (compact modelclasses,
/// storable files).
pub fn deserialize_content<T: Serializable>(value: &Value, ctx: &DecodeContext) -> Result<T> {
    T::from_content(value, ctx)
}

/// A short description of a JSON value for error messages.
pub fn describe(value: &Value) -> String {
    if let Some((name, content)) = split_envelope(value) {
        if INVALID_MARKERS.contains(&name) {
            let info = content
                .get("info")
                .and_then(Value::as_str)
                .map(|i| format!(": {i}"))
                .unwrap_or_default();
            let ty = content
                .get("type")
                .and_then(Value::as_str)
                .map(|t| format!(" for type `{t}`"))
                .unwrap_or_default();
            return format!("Python dman's invalid marker `{name}`{ty}{info}");
        }
        return format!("a value of type `{name}`");
    }
    let text = value.to_string();
    let short: String = text.chars().take(60).collect();
    let ellipsis = if short.len() < text.len() { "..." } else { "" };
    format!("{} {short}{ellipsis}", value.type_name())
}

/// The error for a value of the wrong shape.
pub fn mismatch(expected: &str, found: &Value) -> Error {
    Error::decode(format!("expected {expected}, found {}", describe(found)))
}

/// The invalid marker a value holds, if it is one.
pub fn invalid_marker(value: &Value) -> Option<&str> {
    split_envelope(value)
        .map(|(name, _)| name)
        .filter(|name| INVALID_MARKERS.contains(name))
}

// ---- JSON values and scalars ---------------------------------------------

/// Untyped JSON passes through unchanged, unknown type names included.
impl Serializable for Value {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(self.clone())
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        Ok(content.clone())
    }
}

impl Serializable for bool {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::Bool(*self))
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        content.as_bool().ok_or_else(|| mismatch("bool", content))
    }
    fn accepts(value: &Value) -> bool {
        matches!(value, Value::Bool(_))
    }
}

impl Serializable for String {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::String(self.clone()))
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        content
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| mismatch("str", content))
    }
    fn accepts(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }
}

/// An integer as the JSON number Python would write.
fn int_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::Int(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::UInt(v)
    } else {
        Value::Float(i as f64)
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Serializable for $t {
            fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
                Ok(int_value(i128::from(*self)))
            }
            fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
                let wide: Option<i128> = match content {
                    Value::Int(i) => Some(i128::from(*i)),
                    Value::UInt(u) => Some(i128::from(*u)),
                    // Python's int(2.0) == 2: integral floats are accepted.
                    Value::Float(f) if f.fract() == 0.0 && f.abs() < 1.8e19 => Some(*f as i128),
                    Value::BigInt(digits) => {
                        return Err(Error::decode(format!(
                            "integer {} does not fit in {}",
                            crate::json::shorten_digits(digits),
                            stringify!($t)
                        )))
                    }
                    _ => None,
                };
                let wide = wide.ok_or_else(|| mismatch("int", content))?;
                <$t>::try_from(wide).map_err(|_| {
                    Error::decode(format!("integer {wide} does not fit in {}", stringify!($t)))
                })
            }
            /// An integer this type holds: a mixed enum tries its next
            /// variant for one out of range (`Int(i64)` then `Big(u64)`).
            fn accepts(value: &Value) -> bool {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).is_ok(),
                    Value::UInt(u) => <$t>::try_from(*u).is_ok(),
                    _ => false,
                }
            }
        }
    )*};
}
integer!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Serializable for usize {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::from(*self as u64))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let v = u64::from_content(content, ctx)?;
        usize::try_from(v).map_err(|_| Error::decode(format!("integer {v} does not fit in usize")))
    }
    fn accepts(value: &Value) -> bool {
        match value {
            Value::Int(i) => usize::try_from(*i).is_ok(),
            Value::UInt(u) => usize::try_from(*u).is_ok(),
            _ => false,
        }
    }
}

impl Serializable for isize {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::from(*self as i64))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let v = i64::from_content(content, ctx)?;
        isize::try_from(v).map_err(|_| Error::decode(format!("integer {v} does not fit in isize")))
    }
    fn accepts(value: &Value) -> bool {
        match value {
            Value::Int(i) => isize::try_from(*i).is_ok(),
            Value::UInt(u) => isize::try_from(*u).is_ok(),
            _ => false,
        }
    }
}

impl Serializable for f64 {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::Float(*self))
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        match content {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::UInt(u) => Ok(*u as f64),
            // Python's float() of a big int: the nearest float.
            Value::BigInt(digits) => digits
                .parse::<f64>()
                .map_err(|_| mismatch("float", content)),
            _ => Err(mismatch("float", content)),
        }
    }
    /// A float, or an integer it holds exactly: a larger one is left to a
    /// later variant that keeps it (`u64`, `Dynamic`) rather than rounded.
    fn accepts(value: &Value) -> bool {
        match value {
            Value::Float(_) => true,
            Value::Int(i) => *i as f64 as i128 == i128::from(*i),
            Value::UInt(u) => *u as f64 as i128 == i128::from(*u),
            _ => false,
        }
    }
}

impl Serializable for f32 {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(Value::Float(f64::from(*self)))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        Ok(f64::from_content(content, ctx)? as f32)
    }
    /// A float, or an integer it holds exactly.
    fn accepts(value: &Value) -> bool {
        match value {
            Value::Float(_) => true,
            Value::Int(i) => *i as f32 as i128 == i128::from(*i),
            Value::UInt(u) => *u as f32 as i128 == i128::from(*u),
            _ => false,
        }
    }
}

impl<T: Serializable> Serializable for Option<T> {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        match self {
            Some(v) => serialize(v, ctx),
            None => Ok(Value::Null),
        }
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        match content {
            Value::Null => Ok(None),
            v => deserialize(v, ctx).map(Some),
        }
    }
    fn accepts(value: &Value) -> bool {
        matches!(value, Value::Null) || T::accepts(value)
    }
    fn adopt_records(&mut self, place: &mut Placement<'_>) {
        if let Some(v) = self {
            v.adopt_records(place);
        }
    }
    fn release_files(&mut self, out: &mut Vec<Released>) {
        if let Some(v) = self {
            v.release_files(out);
        }
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: Serializable> Serializable for Box<T> {
    const SER_TYPE: Option<&'static str> = T::SER_TYPE;
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        (**self).to_content(ctx)
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        T::from_content(content, ctx).map(Box::new)
    }
    fn accepts(value: &Value) -> bool {
        T::accepts(value)
    }
    fn adopt_records(&mut self, place: &mut Placement<'_>) {
        (**self).adopt_records(place);
    }
    fn release_files(&mut self, out: &mut Vec<Released>) {
        (**self).release_files(out);
    }
    fn is_absent(&self) -> bool {
        (**self).is_absent()
    }
    fn absent() -> Option<Self> {
        T::absent().map(Box::new)
    }
}

// ---- lists and maps ------------------------------------------------------

/// The items of a list, or of a Python `mlist` holding only inline values.
fn list_items(content: &Value) -> Option<&Vec<Value>> {
    match content {
        Value::Array(items) => Some(items),
        other => match split_envelope(other) {
            Some(("_ser__mlist", inner)) => inner.get("store").and_then(Value::as_array),
            _ => None,
        },
    }
}

/// The entries of an object, or of a Python `mdict` holding only inline values.
fn map_entries(content: &Value) -> Option<&Map> {
    match split_envelope(content) {
        Some(("_ser__mdict", inner)) => inner.get("store").and_then(Value::as_object),
        Some(_) => None,
        None => content.as_object(),
    }
}

impl<T: Serializable> Serializable for Vec<T> {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        ctx.without_defaults(|ctx| {
            self.iter()
                .enumerate()
                .map(|(i, v)| serialize(v, ctx).map_err(|e| e.at_index(i)))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array)
        })
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let items = list_items(content).ok_or_else(|| mismatch("list", content))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| deserialize(v, ctx).map_err(|e| e.at_index(i)))
            .collect()
    }
    fn accepts(value: &Value) -> bool {
        list_items(value).is_some()
    }
}

fn encode_entries<'v, T: Serializable + 'v>(
    entries: impl Iterator<Item = (&'v String, &'v T)>,
    ctx: &mut EncodeContext<'_>,
) -> Result<Value> {
    ctx.without_defaults(|ctx| {
        let mut map = Map::new();
        for (k, v) in entries {
            map.insert(k.clone(), serialize(v, ctx).map_err(|e| e.at_key(k))?);
        }
        Ok(Value::Object(map))
    })
}

fn decode_entries<T: Serializable, C: FromIterator<(String, T)>>(
    content: &Value,
    ctx: &DecodeContext,
) -> Result<C> {
    let map = map_entries(content).ok_or_else(|| mismatch("dict", content))?;
    map.iter()
        .map(|(k, v)| {
            deserialize(v, ctx)
                .map(|t| (k.clone(), t))
                .map_err(|e| e.at_key(k))
        })
        .collect()
}

impl<T: Serializable> Serializable for BTreeMap<String, T> {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        encode_entries(self.iter(), ctx)
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        decode_entries(content, ctx)
    }
    fn accepts(value: &Value) -> bool {
        map_entries(value).is_some()
    }
}

impl<T: Serializable, S: BuildHasher + Default> Serializable for HashMap<String, T, S> {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        // A HashMap has no order; sorting keeps files stable between runs.
        let mut entries: Vec<_> = self.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        encode_entries(entries.into_iter(), ctx)
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        decode_entries(content, ctx)
    }
    fn accepts(value: &Value) -> bool {
        map_entries(value).is_some()
    }
}

impl<T: Serializable, S: BuildHasher + Default> Serializable for indexmap::IndexMap<String, T, S> {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        encode_entries(self.iter(), ctx)
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        decode_entries(content, ctx)
    }
    fn accepts(value: &Value) -> bool {
        map_entries(value).is_some()
    }
}

// ---- the serde bridge ----------------------------------------------------

/// Any serde type as a serializable field, written as bare JSON (as Python
/// writes a plain dict or list).
///
/// ```
/// use dman_core::serial::Serde;
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// enum Solver { Newton { tol: f64 }, Bisection }
/// let field: Serde<Solver> = Serde(Solver::Bisection);
/// assert_eq!(*field, Solver::Bisection);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serde<T>(pub T);

impl<T> std::ops::Deref for Serde<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Serde<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Serde<T> {
    fn from(t: T) -> Self {
        Serde(t)
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Serializable for Serde<T> {
    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        serde_to_value(&self.0)
    }
    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        serde_from_value(content).map(Serde)
    }
}

/// A serde value as JSON content (the bridge behind [`Serde`] and
/// `#[dman(serde)]` fields).
pub fn serde_to_value<T: serde::Serialize>(t: &T) -> Result<Value> {
    crate::json::to_value(t).map_err(|e| Error::encode(e.to_string()))
}

/// A serde value from JSON content.
pub fn serde_from_value<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T> {
    crate::json::from_value(v).map_err(|e| Error::decode(e.to_string()))
}
