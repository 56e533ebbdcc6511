//! JSON exactly as Python's `json` module reads and writes it, byte for
//! byte: the file format of dman (Python dman 1.0.1 and dman-rs).
//!
//! A file written here is what `json.dumps(v, indent=4)` would write:
//! four-space indentation, non-ASCII text escaped (`ensure_ascii`), floats
//! as Python's `repr` writes them (`1e-05`, `1e+16`, `100.0`), and `NaN`,
//! `Infinity` and `-Infinity` written and read as Python does (by
//! default). Integers of any size survive: beyond `i64` and `u64` they are
//! kept as their digits in [`Value::BigInt`] and written back unchanged.
//! Written by hand because no JSON library does both halves; dman-core
//! re-exports this crate as `dman_core::json`.
//!
//! - Reading: [`from_slice`], [`from_str`] (or `str::parse::<Value>()`).
//! - Writing: [`to_string_pretty`] (`json.dumps(v, indent=4)`, the format
//!   of dman's files), [`to_string_compact`] (`json.dumps(v)`),
//!   [`to_vec_pretty`], [`write_pretty`]; [`Value`]'s `Display` is compact.
//! - Rust types: [`to_value`] and [`from_value`] go through serde directly,
//!   so `NaN` and the infinities survive (serde_json would turn them into
//!   `null`); [`Value`] also implements `Serialize` and `Deserialize`.
//! - With the `serde_json` feature, `serde_json::Value` converts both ways
//!   (`From`, `TryFrom`).
//!
//! ```
//! use dman_json::{self as json, Value};
//!
//! // Read: NaN and an integer beyond u64 are kept as they are.
//! let mut v = json::from_str(
//!     r#"{"loss": NaN, "seed": 123456789012345678901234567890, "steps": [1, 2.5e-05]}"#,
//! )?;
//! assert!(v.get("loss").and_then(Value::as_f64).is_some_and(f64::is_nan));
//! assert_eq!(v.get("seed"), Some(&Value::BigInt("123456789012345678901234567890".into())));
//! assert_eq!(v.get("steps").and_then(Value::as_array).map(Vec::len), Some(2));
//!
//! // Change a value and write the document back as Python would.
//! if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
//!     steps.push(Value::from("\u{e9}t\u{e9}"));
//! }
//! assert_eq!(
//!     json::to_string_pretty(&v),
//!     "{\n    \"loss\": NaN,\n    \"seed\": 123456789012345678901234567890,\n    \"steps\": [\n        1,\n        2.5e-05,\n        \"\\u00e9t\\u00e9\"\n    ]\n}"
//! );
//! # Ok::<(), json::JsonError>(())
//! ```

#![warn(missing_docs)]

use std::fmt;

use indexmap::IndexMap;

mod de;
mod read;
mod ser;
#[cfg(test)]
mod tests;
mod write;

pub use de::from_value;
pub use read::{from_slice, from_str};
pub use ser::to_value;
pub use write::{to_string_compact, to_string_pretty, to_vec_pretty, write_pretty};

/// How deeply arrays and objects may nest in a document that is read.
///
/// Python's own `json` stops near 1000 levels (its recursion limit), both
/// reading and writing, so every file Python writes is within this limit;
/// the limit keeps hostile input from building values too deep for the
/// recursive code that processes them (writing, comparing, dropping).
pub const MAX_DEPTH: usize = 1024;

/// A JSON object: keys in insertion order, as Python's `dict` keeps them.
pub type Map = IndexMap<String, Value>;

/// The value under `key` in `map`: what `map.get(key)` gives, faster on
/// the small objects dman's files are made of (envelopes, records,
/// configurations), where comparing a few keys costs less than hashing one.
///
/// ```
/// let v = dman_json::from_str(r#"{"_ser__type": "config", "_ser__content": {}}"#)?;
/// let map = v.as_object().ok_or("an object")?;
/// assert_eq!(dman_json::lookup(map, "_ser__type").and_then(|t| t.as_str()), Some("config"));
/// assert!(dman_json::lookup(map, "seed").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lookup<'m>(map: &'m Map, key: &str) -> Option<&'m Value> {
    /// Up to this many entries a scan beats SipHash of the key (measured
    /// on the resume check of `benches/resume_probe.rs`).
    const SCAN: usize = 8;
    if map.len() <= SCAN {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// A JSON value as Python's `json` module sees it.
///
/// Integers are [`Value::Int`] whenever they fit in `i64`; [`Value::UInt`]
/// is meant only for values above `i64::MAX` (the parser and the `From`
/// conversions keep to this, so that equal numbers compare equal).
/// Comparison is structural: `Float(NaN)` is not equal to itself, and
/// `Int(1)` is not equal to `Float(1.0)` (Python writes them as `1` and
/// `1.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A non-negative integer above `i64::MAX`.
    UInt(u64),
    /// A float, including `NaN` and the infinities.
    Float(f64),
    /// An integer beyond `i64` and `u64` (Python writes integers of any
    /// size), kept as its digits so that it is written back as it was read.
    /// No Rust integer type reads it: a typed field reports it as too large.
    BigInt(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

/// Why a document could not be read, or a value could not be converted.
///
/// Parse errors know where they happened: the line and the column, both
/// 1-based, the column counted in characters as Python counts it. Errors
/// from conversions ([`to_value`], [`from_value`], `serde_json`) have no
/// position.
///
/// Displays as `expected ',' or '}', found '"' at line 3 column 5`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", PositionSuffix(.position))]
pub struct JsonError {
    message: String,
    position: Option<(usize, usize)>,
}

struct PositionSuffix<'a>(&'a Option<(usize, usize)>);

impl fmt::Display for PositionSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((line, column)) => write!(f, " at line {line} column {column}"),
            None => Ok(()),
        }
    }
}

impl JsonError {
    /// An error without a position, for failed conversions.
    pub fn new(message: impl Into<String>) -> Self {
        JsonError {
            message: message.into(),
            position: None,
        }
    }

    /// An error at byte offset `at` of `text`. The line and column are
    /// worked out only here, when something went wrong, so that parsing
    /// need not track them.
    fn at(message: impl Into<String>, text: &[u8], at: usize) -> Self {
        let before = text.get(..at).unwrap_or(text);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes: skip UTF-8 continuation bytes.
        let column = 1 + before[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        JsonError {
            message: message.into(),
            position: Some((line, column)),
        }
    }

    /// What went wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based line where parsing stopped, if this is a parse error.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|(line, _)| line)
    }

    /// The 1-based column (in characters) where parsing stopped, if this
    /// is a parse error.
    pub fn column(&self) -> Option<usize> {
        self.position.map(|(_, column)| column)
    }
}

impl Default for Value {
    /// `null`, as Python's `None`.
    fn default() -> Self {
        Value::Null
    }
}

impl Value {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits in `i64`. Floats are
    /// not converted, even integral ones: Python keeps `1` and `1.0` apart.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative integer. Floats are not
    /// converted.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The number as a float, if this is a number of any kind: a float, or
    /// an integer converted to the nearest float (exact up to 2^53), as
    /// Python's `float(x)` would.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The items, mutably, if this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The map, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The map, mutably, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The value under `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|map| lookup(map, key))
    }

    /// The value under `key`, mutably, if this is an object that has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_object_mut().and_then(|map| map.get_mut(key))
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The name of this value's type as Python would call the type it
    /// reads it as, for error messages: `"null"`, `"bool"`, `"int"`,
    /// `"float"`, `"str"`, `"list"` or `"dict"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        }
    }

    /// Takes the value out, leaving `null` in its place.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }
}

impl fmt::Display for Value {
    /// Compact JSON as `json.dumps(v)` writes it; with `{:#}`, the indented
    /// form of [`to_string_pretty`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(&to_string_pretty(self))
        } else {
            f.write_str(&to_string_compact(self))
        }
    }
}

impl std::str::FromStr for Value {
    type Err = JsonError;

    /// Same as [`from_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        from_str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(i: $t) -> Self {
                Value::Int(i64::from(i))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    /// [`Value::Int`] when the number fits in `i64`, else [`Value::UInt`].
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        }
    }
}

impl From<usize> for Value {
    /// As for `u64`.
    fn from(u: usize) -> Self {
        // `usize` is at most 64 bits on every platform Rust supports.
        Value::from(u as u64)
    }
}

impl From<isize> for Value {
    fn from(i: isize) -> Self {
        Value::Int(i as i64)
    }
}

impl From<f32> for Value {
    /// The exact value of the `f32` as an `f64`: `0.1f32` becomes
    /// `0.10000000149011612`, which is what Python would write for it.
    fn from(f: f32) -> Self {
        Value::Float(f64::from(f))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    /// An array; works for `Vec<Value>` as for `Vec<f64>` and the like.
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Object(map)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `null`, as in Python.
    fn from(option: Option<T>) -> Self {
        option.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    /// An array of the items.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Value::Array(iter.into_iter().map(Into::into).collect())
    }
}

#[cfg(feature = "serde_json")]
impl From<serde_json::Value> for Value {
    /// Lossless: serde_json's integers and floats map to the variants of
    /// the same range.
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    // Only serde_json's `arbitrary_precision` feature can
                    // leave a number unrepresentable; NaN marks it then.
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

#[cfg(feature = "serde_json")]
impl TryFrom<Value> for serde_json::Value {
    type Error = JsonError;

    /// Fails on `NaN` and the infinities, which `serde_json::Value` cannot
    /// hold.
    fn try_from(value: Value) -> Result<Self, JsonError> {
        Ok(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Int(i) => serde_json::Value::from(i),
            Value::UInt(u) => serde_json::Value::from(u),
            Value::Float(f) => match serde_json::Number::from_f64(f) {
                Some(n) => serde_json::Value::Number(n),
                None => {
                    let mut shown = String::new();
                    write::write_float(&mut shown, f);
                    return Err(JsonError::new(format!(
                        "cannot convert float {shown} to serde_json::Value, \
                         which has no NaN or infinity"
                    )));
                }
            },
            Value::BigInt(digits) => {
                return Err(JsonError::new(format!(
                    "cannot convert integer {} to serde_json::Value, which holds 64 bits",
                    shorten_digits(&digits)
                )))
            }
            Value::String(s) => serde_json::Value::String(s),
            Value::Array(items) => serde_json::Value::Array(
                items
                    .into_iter()
                    .map(serde_json::Value::try_from)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(k, v)| Ok((k, serde_json::Value::try_from(v)?)))
                    .collect::<Result<_, JsonError>>()?,
            ),
        })
    }
}

/// The digits of an integer for a message: whole, or their start and count
/// when long.
pub fn shorten_digits(digits: &str) -> String {
    if digits.len() > 40 {
        let count = digits.trim_start_matches('-').len();
        format!("{}... ({count} digits)", &digits[..30])
    } else {
        digits.to_owned()
    }
}
