//! Numeric arrays (feature `ndarray`): [`ndarray`]'s arrays as record
//! content and as inline JSON, in the forms Python dman 1.0.1's
//! `dman.numeric` writes.
//!
//! - [`Array<A, D>`] is a [`Storable`] with storage type `_num__barray`: a
//!   `.npy` file (numpy's format, as `numpy.save` writes it), so
//!   `Record<Array2<f64>>` points at a file numpy and Python dman load.
//! - [`Array<A, D>`] is also a [`Serializable`] (`_num__ndarray`, what Python
//!   registers plain `numpy.ndarray` under), and the wrappers [`SArray`]
//!   (`_num__sarray`) and [`CArray`] (`_num__carray`) write the same inline
//!   form under Python's other two names.
//!
//! The inline form is Python's `sarray.__serialize__`: a one-dimensional
//! array is a JSON *string* holding the compact list (`"[0.0, 1.5, NaN]"`),
//! a higher-dimensional one a list of the encodings of its rows, an empty
//! one `{"shape": "[0, 3]"}` and a zero-dimensional one the string of
//! Python's `float` of its value (`"3.5"`; an integer 3 gives `"3.0"`).
//! Reading accepts all of these, numbers and nested lists in place of
//! strings, and checks that the result is rectangular and has the
//! dimension asked for.
//!
//! Element types are those numpy users store: `f64`, `f32`, the signed and
//! unsigned integers of 8 to 64 bits, `bool` and (in `.npy` files only)
//! [`Complex<f64>`](num_complex::Complex) and `Complex<f32>`; see
//! [`Element`] and [`InlineElement`]. The crate re-exports [`ndarray`] and
//! [`num_complex`] so that user code names the same versions.
//!
//! ```
//! use dman_core::numeric::ndarray::{array, Array2};
//! use dman_core::numeric::{decode_npy, encode_npy, decode_inline, encode_inline};
//!
//! let a: Array2<f64> = array![[1.0, 2.5], [3.0, f64::NAN]];
//! let bytes = encode_npy(&a)?;
//! let back: Array2<f64> = decode_npy(&bytes)?;
//! assert_eq!(back.shape(), &[2, 2]);
//!
//! let inline = encode_inline(&a);
//! assert_eq!(inline.to_string(), r#"["[1.0, 2.5]", "[3.0, NaN]"]"#);
//! let back: Array2<f64> = decode_inline(&inline)?;
//! assert_eq!(back[[0, 1]], 2.5);
//! # Ok::<(), dman_core::Error>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bytes::Bytes;
use ndarray::{Array, ArrayBase, ArrayD, ArrayView, Data, Dimension, IxDyn, ShapeBuilder};
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewElement, ViewNpyExt, WritableElement};
use num_complex::Complex;

use crate::context::{DecodeContext, EncodeContext};
use crate::error::{Error, Result};
use crate::json::{self, Map, Value};
use crate::serial::{describe, Serializable};
use crate::storable::{Decoder, Storable, Stored};
use crate::storage::Payload;

pub use ndarray;
pub use num_complex;

/// Storage type of an array in a `.npy` file (Python's `barray`).
pub const BARRAY: &str = "_num__barray";
/// Type name of an inline array written as a plain `numpy.ndarray`.
pub const NDARRAY: &str = "_num__ndarray";
/// Type name of an inline array written as Python's `sarray`.
pub const SARRAY: &str = "_num__sarray";
/// Type name of an inline array written as Python's `carray`.
pub const CARRAY: &str = "_num__carray";

// ---- element types -------------------------------------------------------

mod sealed {
    /// Keeps [`super::Element`] closed: the table of numpy type codes and
    /// the inline conversions are this module's to keep right.
    pub trait Sealed {}
}

/// An element type that `.npy` files hold (numpy's simple dtypes).
///
/// Implemented for `f64`, `f32`, `i64`, `i32`, `i16`, `i8`, `u64`, `u32`,
/// `u16`, `u8`, `bool`, `Complex<f64>` and `Complex<f32>`; sealed.
pub trait Element:
    ReadableElement
    + WritableElement
    + ViewElement
    + Copy
    + Default
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// The Rust name, for error messages (`f64`).
    const RUST_NAME: &'static str;
    /// numpy's kind character (`f`, `i`, `u`, `b`, `c`).
    const KIND: char;
    /// The size of one element in bytes.
    const SIZE: usize;
}

/// An element type that the inline JSON forms hold: every [`Element`] but
/// the complex ones, which Python dman 1.0.1 cannot write inline (it writes
/// the placeholder `"<un-serializable: complex>"` for each element).
pub trait InlineElement: Element {
    /// The element as Python's `ndarray.tolist()` gives it, as JSON (a
    /// `float32` widens to the `float` Python prints, `0.3333333432674408`).
    fn to_json(&self) -> Value;
    /// Python's `float()` of the element: what a zero-dimensional array is
    /// written as.
    fn to_f64(&self) -> f64;
    /// The element from a JSON scalar, or why not.
    fn from_json(value: &Value) -> std::result::Result<Self, String>;
}

macro_rules! float_element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const RUST_NAME: &'static str = stringify!($t);
            const KIND: char = 'f';
            const SIZE: usize = std::mem::size_of::<$t>();
        }
        impl InlineElement for $t {
            fn to_json(&self) -> Value {
                Value::Float(f64::from(*self))
            }
            fn to_f64(&self) -> f64 {
                f64::from(*self)
            }
            fn from_json(value: &Value) -> std::result::Result<Self, String> {
                // `as` rounds to the nearest f32, as numpy's astype does.
                match value {
                    Value::Float(f) => Ok(*f as $t),
                    Value::Int(i) => Ok(*i as $t),
                    Value::UInt(u) => Ok(*u as $t),
                    Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
                    other => Err(format!("expected a number, found {}", describe(other))),
                }
            }
        }
    )*};
}
float_element!(f64, f32);

macro_rules! int_element {
    ($($t:ty => $kind:expr),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const RUST_NAME: &'static str = stringify!($t);
            const KIND: char = $kind;
            const SIZE: usize = std::mem::size_of::<$t>();
        }
        impl InlineElement for $t {
            fn to_json(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(i) => Value::Int(i),
                    // Only u64 above i64::MAX gets here.
                    Err(_) => Value::UInt(*self as u64),
                }
            }
            fn to_f64(&self) -> f64 {
                *self as f64
            }
            fn from_json(value: &Value) -> std::result::Result<Self, String> {
                let wide: i128 = match value {
                    Value::Int(i) => i128::from(*i),
                    Value::UInt(u) => i128::from(*u),
                    Value::Bool(b) => i128::from(*b),
                    // Python writes a zero-dimensional integer array as its
                    // float (`"3.0"`): integral floats are accepted.
                    Value::Float(f) if f.fract() == 0.0 && f.abs() < 1.8e19 => *f as i128,
                    Value::Float(f) => {
                        return Err(format!("{} is not an integer", json::to_string_compact(&Value::Float(*f))))
                    }
                    other => return Err(format!("expected an integer, found {}", describe(other))),
                };
                <$t>::try_from(wide)
                    .map_err(|_| format!("{wide} does not fit in {}", stringify!($t)))
            }
        }
    )*};
}
int_element!(i64 => 'i', i32 => 'i', i16 => 'i', i8 => 'i', u64 => 'u', u32 => 'u', u16 => 'u', u8 => 'u');

impl sealed::Sealed for bool {}
impl Element for bool {
    const RUST_NAME: &'static str = "bool";
    const KIND: char = 'b';
    const SIZE: usize = 1;
}
impl InlineElement for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
    fn to_f64(&self) -> f64 {
        if *self {
            1.0
        } else {
            0.0
        }
    }
    fn from_json(value: &Value) -> std::result::Result<Self, String> {
        // Numbers count as numpy's astype(bool) counts them; Python writes a
        // zero-dimensional bool array as `"1.0"` or `"0.0"`.
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            Value::UInt(u) => Ok(*u != 0),
            Value::Float(f) => Ok(*f != 0.0),
            other => Err(format!("expected a bool, found {}", describe(other))),
        }
    }
}

impl sealed::Sealed for Complex<f64> {}
impl Element for Complex<f64> {
    const RUST_NAME: &'static str = "Complex<f64>";
    const KIND: char = 'c';
    const SIZE: usize = 16;
}
impl sealed::Sealed for Complex<f32> {}
impl Element for Complex<f32> {
    const RUST_NAME: &'static str = "Complex<f32>";
    const KIND: char = 'c';
    const SIZE: usize = 8;
}

// ---- .npy ------------------------------------------------------------------

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";

/// The header of a `.npy` file, read without reading the data.
///
/// ```
/// use dman_core::numeric::{encode_npy, NpyHeader, ndarray::Array2};
/// let bytes = encode_npy(&Array2::<f32>::zeros((2, 3)))?;
/// let header = NpyHeader::parse(&bytes)?;
/// assert_eq!(header.descr, "<f4");
/// assert_eq!(header.shape, [2, 3]);
/// assert_eq!(header.dtype_name().as_deref(), Some("float32"));
/// # Ok::<(), dman_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The format version (`(1, 0)` as numpy writes it for small headers).
    pub version: (u8, u8),
    /// The dtype descriptor: `<f8` for a simple dtype, or the Python
    /// literal of a structured one (`[('x', '<f8'), ('y', '<i4')]`).
    pub descr: String,
    /// Whether `descr` is a simple dtype (a string in the header).
    pub simple: bool,
    /// Whether the data is in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<usize>,
    /// Where the data starts in the file.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Reads the header at the start of `bytes`.
    ///
    /// # Errors
    ///
    /// A decode error when the bytes are not a `.npy` file, the file ends
    /// inside the header, or the header is not a dictionary with `descr`,
    /// `fortran_order` and `shape`.
    pub fn parse(bytes: &[u8]) -> Result<NpyHeader> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            let what = if MAGIC.starts_with(bytes) {
                format!("a truncated .npy file ({} bytes)", bytes.len())
            } else {
                String::from(
                    "not a .npy file (it does not start with numpy's magic string `\\x93NUMPY`)",
                )
            };
            return Err(Error::decode(what));
        }
        let truncated = |needed: usize| {
            Error::decode(format!(
                "truncated .npy file: {} bytes, but its header needs {needed}",
                bytes.len()
            ))
        };
        let (major, minor) = match bytes.get(6..8) {
            Some(&[major, minor]) => (major, minor),
            _ => return Err(truncated(10)),
        };
        let (header_len, start) = match major {
            1 => match bytes.get(8..10) {
                Some(&[a, b]) => (usize::from(u16::from_le_bytes([a, b])), 10usize),
                _ => return Err(truncated(10)),
            },
            2 | 3 => match bytes.get(8..12) {
                Some(&[a, b, c, d]) => {
                    let len = u32::from_le_bytes([a, b, c, d]);
                    (usize::try_from(len).map_err(|_| truncated(usize::MAX))?, 12)
                }
                _ => return Err(truncated(12)),
            },
            _ => {
                return Err(Error::decode(format!(
                "unsupported .npy format version {major}.{minor} (numpy writes 1.0, 2.0 and 3.0)"
            )))
            }
        };
        let end = header_len.saturating_add(start);
        let raw = bytes.get(start..end).ok_or_else(|| truncated(end))?;
        // Versions 1 and 2 are latin-1, 3 is UTF-8; numpy writes ASCII in
        // practice, and anything else fails in the literal parser below.
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::decode("invalid .npy header: not ASCII text"))?;
        let invalid =
            |why: &str| Error::decode(format!("invalid .npy header {:?}: {why}", text.trim_end()));
        let literal = header_literal(text.trim_end()).map_err(|why| invalid(&why))?;
        let py_literal::Value::Dict(entries) = literal else {
            return Err(invalid("not a dictionary"));
        };
        // numpy refuses other keys too. ndarray-npy parses the header again
        // with py_literal, whose time doubles with every level of nesting:
        // what reaches it must be as flat as numpy's own headers.
        let mut keys = HashSet::new();
        for (key, _) in &entries {
            let known = matches!(key, py_literal::Value::String(s)
                if matches!(s.as_str(), "descr" | "fortran_order" | "shape"));
            if !known || !keys.insert(key.to_string()) {
                return Err(invalid(&format!(
                    "unexpected key {key} (a .npy header has `descr`, `fortran_order` and `shape`, each once)"
                )));
            }
        }
        let get = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| matches!(k, py_literal::Value::String(s) if s == key))
                .map(|(_, v)| v)
                .ok_or_else(|| invalid(&format!("no `{key}`")))
        };
        let (descr, simple) = match get("descr")? {
            py_literal::Value::String(s) => (s.clone(), true),
            other => (other.to_string(), false),
        };
        let fortran_order = match get("fortran_order")? {
            py_literal::Value::Boolean(b) => *b,
            _ => return Err(invalid("`fortran_order` is not a bool")),
        };
        let shape = match get("shape")? {
            py_literal::Value::Tuple(items) | py_literal::Value::List(items) => items
                .iter()
                .map(|item| match item {
                    // Through the decimal text: py_literal's integers are
                    // big integers, and this needs no extra dependency.
                    py_literal::Value::Integer(i) => i.to_string().parse::<usize>().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| invalid("`shape` is not a tuple of non-negative integers"))?,
            _ => return Err(invalid("`shape` is not a tuple")),
        };
        Ok(NpyHeader {
            version: (major, minor),
            descr,
            simple,
            fortran_order,
            shape,
            data_offset: end,
        })
    }

    /// numpy's name of the dtype (`float64`, `int32`, `bool`, `<U5` reads
    /// as `str`), with `big-endian` added for big-endian multi-byte types;
    /// `None` for a structured dtype or a code this does not know.
    pub fn dtype_name(&self) -> Option<String> {
        if !self.simple {
            return None;
        }
        let (order, kind, size) = split_descr(&self.descr)?;
        let bits = size.checked_mul(8);
        let name = match kind {
            'b' if size == 1 => String::from("bool"),
            'i' => format!("int{}", bits?),
            'u' => format!("uint{}", bits?),
            'f' => format!("float{}", bits?),
            'c' => format!("complex{}", bits?),
            'U' => String::from("str"),
            'S' => String::from("bytes"),
            'O' => String::from("object"),
            'M' => String::from("datetime64"),
            'm' => String::from("timedelta64"),
            'V' => String::from("void"),
            _ => return None,
        };
        Some(if order == '>' && size > 1 {
            format!("{name}, big-endian")
        } else {
            name
        })
    }

    /// The number of elements the shape declares, if it fits in `usize`.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// The number of bytes of data the header declares (elements times item
    /// size), for simple dtypes of a fixed size; `None` for object and
    /// structured dtypes, or when the product overflows. A file whose size is
    /// not `data_offset + data_len` is truncated or has trailing bytes.
    pub fn data_len(&self) -> Option<u64> {
        if !self.simple {
            return None;
        }
        let (_, kind, size) = split_descr(&self.descr)?;
        let item = match kind {
            'O' => return None,
            _ if size == 0 => return None,
            // numpy stores `<U5` as five UCS-4 code units.
            'U' => size.checked_mul(4)?,
            _ => size,
        };
        let item = u64::try_from(item).ok()?;
        self.shape
            .iter()
            .try_fold(item, |n, &d| n.checked_mul(u64::try_from(d).ok()?))
    }

    /// Whether the shape declares no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The shape as Python prints it: `(20, 1000)`, `(3,)`, `()`.
    pub fn shape_text(&self) -> String {
        ShapeText(&self.shape).to_string()
    }

    /// The descriptor with numpy's name: `` `<i8` (int64) ``.
    fn describe_dtype(&self) -> String {
        match self.dtype_name() {
            Some(name) => format!("`{}` ({name})", self.descr),
            None if !self.simple => format!("the structured dtype `{}`", self.descr),
            None => format!("`{}`", self.descr),
        }
    }
}

/// Splits a simple descriptor (`<f8`, `|b1`, `<M8[ns]`, `O`) into byte
/// order, kind and item size (0 when absent).
fn split_descr(descr: &str) -> Option<(char, char, usize)> {
    let mut chars = descr.chars().peekable();
    let order = match chars.peek() {
        Some(&c @ ('<' | '>' | '|' | '=')) => {
            chars.next();
            c
        }
        _ => '|',
    };
    let kind = chars.next()?;
    let digits: String = chars.take_while(char::is_ascii_digit).collect();
    let size = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((order, kind, size))
}

/// How deeply a `.npy` header may nest tuples, lists and dicts: numpy's
/// own headers nest a few levels (a structured dtype inside the
/// dictionary), far below this.
const MAX_HEADER_DEPTH: usize = 32;

/// Reads the Python literal of a `.npy` header, in time linear in its
/// length. py_literal's grammar backtracks over the last item of every
/// tuple, list and dict, so its time doubles with each level of nesting (a
/// 150-byte header of 40 open brackets would take days); here the
/// containers are read by a recursive descent bounded by
/// [`MAX_HEADER_DEPTH`], and py_literal reads only the leaves (strings,
/// numbers, `True`, `None`), which do not nest.
fn header_literal(text: &str) -> std::result::Result<py_literal::Value, String> {
    let mut reader = LiteralReader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.at < text.len() {
        return Err(format!("unexpected text at byte {}", reader.at));
    }
    Ok(value)
}

struct LiteralReader<'a> {
    text: &'a str,
    at: usize,
}

impl LiteralReader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skips what py_literal takes for white space (not newlines).
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\x0c')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<py_literal::Value, String> {
        self.skip_space();
        let close = match self.peek() {
            Some(b'(') => b')',
            Some(b'[') => b']',
            Some(b'{') => b'}',
            Some(_) => return self.leaf(),
            None => return Err(String::from("unexpected end")),
        };
        if depth >= MAX_HEADER_DEPTH {
            return Err(format!("nested deeper than {MAX_HEADER_DEPTH} levels"));
        }
        self.at += 1;
        let mut items = Vec::new();
        let mut entries = Vec::new();
        let mut commas = 0;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.at += 1;
                break;
            }
            if items.len() + entries.len() > commas {
                return Err(format!("expected `,` at byte {}", self.at));
            }
            let item = self.value(depth + 1)?;
            self.skip_space();
            // A dict's items are `key: value`; a set's, a list's and a
            // tuple's are values. The first item tells dict from set.
            if close == b'}' && self.peek() == Some(b':') && items.is_empty() {
                self.at += 1;
                entries.push((item, self.value(depth + 1)?));
            } else if close == b'}' && !entries.is_empty() {
                return Err(format!("expected `:` at byte {}", self.at));
            } else {
                items.push(item);
            }
            self.skip_space();
            if self.peek() == Some(b',') {
                self.at += 1;
                commas += 1;
            }
        }
        Ok(match close {
            // `(x)` is not a tuple (py_literal refuses it too).
            b')' if items.len() == 1 && commas == 0 => {
                return Err(String::from("a parenthesized value is not a tuple"))
            }
            b')' => py_literal::Value::Tuple(items),
            b']' => py_literal::Value::List(items),
            _ if items.is_empty() => py_literal::Value::Dict(entries),
            _ => py_literal::Value::Set(items),
        })
    }

    /// A string, bytes, number, `True`, `False` or `None`, read by
    /// py_literal.
    fn leaf(&mut self) -> std::result::Result<py_literal::Value, String> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        if matches!(bytes.get(at), Some(b'b' | b'B'))
            && matches!(bytes.get(at + 1), Some(b'\'' | b'"'))
        {
            at += 1;
        }
        match bytes.get(at) {
            Some(&quote @ (b'\'' | b'"')) => {
                let triple = bytes.get(at..at + 3) == Some(&[quote; 3][..]);
                at += if triple { 3 } else { 1 };
                loop {
                    match bytes.get(at) {
                        None => return Err(String::from("unterminated string")),
                        Some(b'\\') => at += 2,
                        Some(&b) if b == quote => {
                            if !triple {
                                at += 1;
                                break;
                            }
                            if bytes.get(at..at + 3) == Some(&[quote; 3][..]) {
                                at += 3;
                                break;
                            }
                            at += 1;
                        }
                        Some(_) => at += 1,
                    }
                }
            }
            _ => {
                while let Some(&b) = bytes.get(at) {
                    if b" \t\x0c,:()[]{}'\"".contains(&b) {
                        break;
                    }
                    at += 1;
                }
            }
        }
        let token = self
            .text
            .get(start..at.min(bytes.len()))
            .ok_or_else(|| String::from("not ASCII text"))?;
        if token.is_empty() {
            let found = self.text.get(start..).and_then(|rest| rest.chars().next());
            return Err(format!("unexpected {found:?} at byte {start}"));
        }
        self.at = at.min(bytes.len());
        token
            .parse()
            .map_err(|e: py_literal::ParseError| e.to_string())
    }
}

/// A shape as Python prints a tuple.
struct ShapeText<'a>(&'a [usize]);

impl fmt::Display for ShapeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "({one},)"),
            dims => {
                f.write_str("(")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// "a 2-d array" for error messages.
fn ndim_text(ndim: Option<usize>) -> String {
    match ndim {
        Some(n) => format!("a {n}-d array"),
        None => String::from("an array of any dimension"),
    }
}

/// The `.npy` bytes of an array, byte for byte as `numpy.save` writes them:
/// numpy's header text (keys sorted, a trailing `, `, the spare spaces numpy
/// leaves for the first axis to grow), format 1.0 unless the header needs
/// 2.0, padded to a multiple of 64 bytes; native byte order. An array in
/// Fortran layout is written as such (`fortran_order: True`), as numpy
/// writes one; an array in neither layout element by element in logical
/// order.
///
/// # Errors
///
/// An encode error if the array does not fit in memory as bytes.
pub fn encode_npy<A, S, D>(array: &ArrayBase<S, D>) -> Result<Vec<u8>>
where
    A: Element,
    S: Data<Elem = A>,
    D: Dimension,
{
    let standard = array.is_standard_layout();
    let fortran = !standard && array.t().is_standard_layout();
    let descr = match A::type_descriptor() {
        py_literal::Value::String(descr) => descr,
        other => other.to_string(),
    };
    let header = npy_header(&descr, fortran, array.shape())?;
    // Exact room for header and data, so that a 100 MB array is copied once
    // and never reallocated.
    let capacity = array
        .len()
        .checked_mul(A::SIZE)
        .and_then(|n| n.checked_add(header.len()))
        .ok_or_else(|| Error::encode("array too large for memory"))?;
    let mut out = Vec::with_capacity(capacity);
    advise_huge_pages(&mut out);
    out.extend_from_slice(&header);
    let written = match array.as_slice_memory_order() {
        Some(slice) if standard || fortran => A::write_slice(slice, &mut out),
        _ => array.iter().try_for_each(|elem| elem.write(&mut out)),
    };
    written.map_err(|e| Error::encode(format!("cannot write .npy data: {e}")))?;
    Ok(out)
}

/// The header numpy's `_write_array_header` writes (numpy 1.24 and later).
fn npy_header(descr: &str, fortran: bool, shape: &[usize]) -> Result<Vec<u8>> {
    /// numpy's `GROWTH_AXIS_MAX_DIGITS`: room for the growing axis to reach
    /// any length without rewriting the data.
    const GROWTH_AXIS_MAX_DIGITS: usize = 21;
    /// numpy's `ARRAY_ALIGN`.
    const ALIGN: usize = 64;
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {}, }}",
        if fortran { "True" } else { "False" },
        ShapeText(shape)
    );
    let growing = if fortran { shape.last() } else { shape.first() };
    if let Some(axis) = growing {
        let digits = axis.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // With its newline; numpy pads a full 64 bytes when already aligned.
    let text_len = dict.len() + 1;
    for (major, len_bytes) in [(1u8, 2usize), (2, 4)] {
        let prefix = MAGIC.len() + 2 + len_bytes;
        let padding = ALIGN - (prefix + text_len) % ALIGN;
        let header_len = text_len + padding;
        let len_field = if major == 1 {
            match u16::try_from(header_len) {
                Ok(len) => len.to_le_bytes().to_vec(),
                Err(_) => continue,
            }
        } else {
            u32::try_from(header_len)
                .map_err(|_| Error::encode("a .npy header longer than 4 GiB"))?
                .to_le_bytes()
                .to_vec()
        };
        let mut out = Vec::with_capacity(prefix + header_len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[major, 0]);
        out.extend_from_slice(&len_field);
        out.extend_from_slice(dict.as_bytes());
        out.resize(prefix + header_len - 1, b' ');
        out.push(b'\n');
        return Ok(out);
    }
    Err(Error::encode("a .npy header longer than 4 GiB"))
}

/// The bytes of data a header declares, once it is checked to hold `A`s
/// in `D`'s number of axes.
fn declared_data<A: Element, D: Dimension>(header: &NpyHeader) -> Result<usize> {
    let matches = header.simple
        && split_descr(&header.descr)
            .is_some_and(|(_, kind, size)| kind == A::KIND && size == A::SIZE);
    if !matches {
        return Err(Error::decode(format!(
            "the .npy file holds {}, asked for {}",
            header.describe_dtype(),
            A::RUST_NAME
        )));
    }
    if D::NDIM.is_some_and(|n| n != header.shape.len()) {
        return Err(Error::decode(format!(
            "the .npy file holds {} of shape {}, asked for {}",
            ndim_text(Some(header.shape.len())),
            header.shape_text(),
            ndim_text(D::NDIM)
        )));
    }
    // ndarray refuses a shape whose non-zero axis lengths, times the
    // element size, pass `isize::MAX`, even when another axis is empty
    // (`(18446744073709551615, 0)` holds no data), and ndarray-npy's view
    // panics on it: such a header is refused here, before either sees it.
    let addressable = header
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(A::SIZE.max(1), |n, &d| n.checked_mul(d))
        .is_some_and(|n| isize::try_from(n).is_ok());
    header
        .len()
        .and_then(|n| n.checked_mul(A::SIZE))
        .filter(|_| addressable)
        .ok_or_else(|| {
            Error::decode(format!(
                "the .npy header declares shape {}, too large for memory",
                header.shape_text()
            ))
        })
}

/// The error for a file that ends before the data its header declares.
fn truncated_data(header: &NpyHeader, declared: usize, held: usize) -> Error {
    Error::decode(format!(
        "truncated .npy file: the header declares shape {} of {}, {declared} bytes of data, but the file holds {held}",
        header.shape_text(),
        header.dtype_name().unwrap_or_else(|| header.descr.clone()),
    ))
}

/// An array from the bytes of a `.npy` file.
///
/// The header is checked before any data is read: the element type must be
/// `A` (little- or big-endian), the number of axes that of `D`, and the file
/// must hold the data the header declares. An array numpy wrote in
/// Fortran order loads with the same values, in column-major memory layout
/// (`as_standard_layout()` gives a row-major one).
///
/// # Errors
///
/// A decode error naming what is wrong: not a `.npy` file, a truncated
/// file or one whose header declares more data than it holds, another
/// element type (``the .npy file holds `<i8` (int64), asked for f64``), or
/// another number of axes. Bytes after the data are ignored, as
/// `numpy.load` ignores them.
pub fn decode_npy<A, D>(bytes: &[u8]) -> Result<Array<A, D>>
where
    A: Element,
    D: Dimension,
{
    let header = NpyHeader::parse(bytes)?;
    let declared = declared_data::<A, D>(&header)?;
    let held = bytes.len().saturating_sub(header.data_offset);
    if held < declared {
        return Err(truncated_data(&header, declared, held));
    }
    if held > declared {
        // numpy.load reads such a file and ignores the rest; so do we.
        tracing::warn!(
            "ignoring {} bytes after the data of a .npy file of shape {}",
            held - declared,
            header.shape_text()
        );
    }
    let bytes = bytes.get(..header.data_offset + declared).unwrap_or(bytes);
    // The usual case, native byte order and aligned data: view the bytes in
    // place and copy them once into a buffer of our own.
    if let Ok(view) = ArrayView::<A, D>::view_npy(bytes) {
        return owned_copy(&view);
    }
    // Otherwise (big-endian data, bytes at an odd address, or something
    // ndarray-npy refuses) read through ndarray-npy's converting reader. The
    // checks above mean it allocates only what the file holds; what it still
    // refuses (a bool byte other than 0 or 1) comes back as its message.
    Array::<A, D>::read_npy(bytes).map_err(|e| {
        Error::decode(format!(
            "invalid .npy file of {}: {e}",
            header.describe_dtype()
        ))
    })
}

/// A `.npy` file decoded from its bytes as they are read: the header
/// first, then the data straight into the array's own buffer, so that a
/// load never holds the file beside the array (at most one piece more).
/// What [`Storable::decoder`] gives for arrays, with the checks and errors
/// of [`decode_npy`].
///
/// ```
/// use dman_core::numeric::{encode_npy, NpyDecoder, ndarray::{array, Array2}};
/// let bytes = encode_npy(&array![[1.0, 2.0], [3.0, 4.0]])?;
/// let mut decoder = NpyDecoder::<f64, ndarray::Ix2>::new();
/// for piece in bytes.chunks(7) {
///     decoder.push(piece)?;
/// }
/// let array: Array2<f64> = decoder.finish()?;
/// assert_eq!(array, array![[1.0, 2.0], [3.0, 4.0]]);
/// # Ok::<(), dman_core::Error>(())
/// ```
pub struct NpyDecoder<A, D> {
    /// The file's first bytes, until the header is whole.
    head: Vec<u8>,
    /// Once the header is read: the array being filled.
    body: Option<NpyBody<A>>,
    dim: std::marker::PhantomData<D>,
}

/// The data part of an [`NpyDecoder`].
struct NpyBody<A> {
    header: NpyHeader,
    /// The header's dtype as ndarray-npy's element readers take it.
    type_desc: py_literal::Value,
    /// The number of elements the header declares.
    len: usize,
    data: Vec<A>,
    /// The first bytes of an element split between two pieces.
    partial: Vec<u8>,
    /// Bytes after the data, ignored as `numpy.load` ignores them.
    extra: u64,
}

impl<A: Element, D: Dimension> Default for NpyDecoder<A, D> {
    fn default() -> Self {
        NpyDecoder {
            head: Vec::new(),
            body: None,
            dim: std::marker::PhantomData,
        }
    }
}

impl<A: Element, D: Dimension> NpyDecoder<A, D> {
    /// A decoder waiting for the file's first bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next piece of the file (pieces of any size, in order).
    ///
    /// # Errors
    ///
    /// As [`decode_npy`], as soon as the bytes show it: not a `.npy` file,
    /// another element type or number of axes, a header that declares more
    /// than memory can hold, invalid elements.
    pub fn push(&mut self, piece: &[u8]) -> Result<()> {
        if let Some(body) = &mut self.body {
            return body.feed(piece);
        }
        self.head.extend_from_slice(piece);
        match header_end(&self.head) {
            Some(end) if end <= self.head.len() => {}
            _ => return Ok(()),
        }
        let header = NpyHeader::parse(&self.head)?;
        let declared = declared_data::<A, D>(&header)?;
        let len = declared / A::SIZE;
        let mut data = Vec::new();
        // Reserved, not touched: a header that lies about its size costs
        // address space only. When even that is refused, the buffer grows
        // with the data instead, so that a file which holds less than its
        // header says is reported as truncated, as `decode_npy` reports it.
        if data.try_reserve_exact(len).is_ok() {
            advise_huge_pages(&mut data);
        }
        let head = std::mem::take(&mut self.head);
        let offset = header.data_offset;
        let body = self.body.insert(NpyBody {
            type_desc: py_literal::Value::String(header.descr.clone()),
            header,
            len,
            data,
            partial: Vec::new(),
            extra: 0,
        });
        body.feed(head.get(offset..).unwrap_or_default())
    }

    /// The array, once every piece was pushed.
    ///
    /// # Errors
    ///
    /// A file that ended inside the header or the data (the message says
    /// how much the header declares and how much was there).
    pub fn finish(self) -> Result<Array<A, D>> {
        let Some(body) = self.body else {
            // The header never became whole: `parse` says what is wrong.
            NpyHeader::parse(&self.head)?;
            return Err(Error::decode("truncated .npy file: it ends in its header"));
        };
        if body.data.len() < body.len {
            let held = body.data.len() * A::SIZE + body.partial.len();
            return Err(truncated_data(&body.header, body.len * A::SIZE, held));
        }
        if body.extra > 0 {
            tracing::warn!(
                "ignoring {} bytes after the data of a .npy file of shape {}",
                body.extra,
                body.header.shape_text()
            );
        }
        let shape = D::from_dimension(&IxDyn(&body.header.shape)).ok_or_else(|| {
            Error::decode(format!(
                "the .npy file holds {}, asked for {}",
                ndim_text(Some(body.header.shape.len())),
                ndim_text(D::NDIM)
            ))
        })?;
        Array::from_shape_vec(shape.set_f(body.header.fortran_order), body.data)
            .map_err(|e| Error::decode(format!("cannot shape the .npy data: {e}")))
    }
}

impl<A: Element> NpyBody<A> {
    /// Appends the elements of `bytes`, keeping a split element's start
    /// for the next piece.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        let size = A::SIZE;
        if !self.partial.is_empty() {
            let take = (size - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() < size {
                return Ok(());
            }
            let whole = std::mem::take(&mut self.partial);
            self.extend(&whole, 1)?;
        }
        let count = (bytes.len() / size).min(self.len - self.data.len());
        let (elements, rest) = bytes.split_at(count * size);
        self.extend(elements, count)?;
        if self.data.len() < self.len {
            self.partial.extend_from_slice(rest);
        } else {
            self.extra += rest.len() as u64;
        }
        Ok(())
    }

    /// Appends `count` elements from exactly their bytes: viewed in place
    /// when they are native and aligned (one copy, into the array), else
    /// through ndarray-npy's converting reader (byte order, alignment, and
    /// the check that a bool is 0 or 1).
    fn extend(&mut self, bytes: &[u8], count: usize) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        // A no-op when the whole array was reserved up front.
        self.data.try_reserve(count).map_err(|_| {
            Error::decode(format!(
                "the .npy header declares shape {}, too large for memory",
                self.header.shape_text()
            ))
        })?;
        match A::bytes_as_slice(bytes, &self.type_desc, count) {
            Ok(elements) => self.data.extend_from_slice(elements),
            Err(_) => {
                let elements =
                    A::read_to_end_exact_vec(bytes, &self.type_desc, count).map_err(|e| {
                        Error::decode(format!(
                            "invalid .npy file of {}: {e}",
                            self.header.describe_dtype()
                        ))
                    })?;
                self.data.extend(elements);
            }
        }
        Ok(())
    }
}

impl<A: Element, D: Dimension> NpyDecoder<A, D> {
    /// The array from a whole file of `size` bytes: the header pushed as
    /// it comes, then the data read straight into the array's buffer (by
    /// ndarray-npy's element reader, which converts byte order and checks
    /// bools), the declared size checked against `size` first so that a
    /// lying header allocates nothing.
    fn read_whole(mut self, reader: &mut dyn std::io::Read, size: u64) -> Result<Array<A, D>> {
        while self.body.is_none() {
            let known = self.head.len();
            let want = match header_end(&self.head) {
                Some(end) if end > known => end - known,
                _ => 12usize.saturating_sub(known).max(1),
            };
            let mut piece = vec![0; want.min(STREAM_PIECE)];
            let n = read_some(reader, &mut piece)?;
            if n == 0 {
                return self.finish();
            }
            self.push(&piece[..n])?;
        }
        let body = self
            .body
            .as_mut()
            .expect("the loop above ends once the header is read");
        let held = size.saturating_sub(body.header.data_offset as u64);
        let declared = (body.len * A::SIZE) as u64;
        if held < declared {
            return Err(truncated_data(
                &body.header,
                body.len * A::SIZE,
                usize::try_from(held).unwrap_or(usize::MAX),
            ));
        }
        if body.data.is_empty() && body.partial.is_empty() {
            body.data = A::read_to_end_exact_vec(
                std::io::Read::take(&mut *reader, declared),
                &body.type_desc,
                body.len,
            )
            .map_err(|e| {
                Error::decode(format!(
                    "invalid .npy file of {}: {e}",
                    body.header.describe_dtype()
                ))
            })?;
            body.extra = held - declared;
            return self.finish();
        }
        // The header's piece held data too (a header shorter than numpy
        // writes): the rest in pieces.
        let mut piece = vec![0; STREAM_PIECE];
        loop {
            let n = read_some(reader, &mut piece)?;
            if n == 0 {
                break;
            }
            self.push(&piece[..n])?;
        }
        self.finish()
    }
}

/// The size of the pieces [`NpyDecoder::read_whole`] reads where it
/// cannot read into the array (1 MiB).
const STREAM_PIECE: usize = 1 << 20;

/// Reads what `reader` has, up to `buf`'s length (0 at the end).
fn read_some(reader: &mut dyn std::io::Read, buf: &mut [u8]) -> Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            read => {
                return read.map_err(|e| Error::decode(format!("cannot read the .npy file: {e}")))
            }
        }
    }
}

impl<A: Element, D: Dimension + 'static> Decoder<Array<A, D>> for NpyDecoder<A, D> {
    fn push(&mut self, piece: &[u8]) -> Result<()> {
        NpyDecoder::push(self, piece)
    }

    fn finish(self: Box<Self>) -> Result<Array<A, D>> {
        NpyDecoder::finish(*self)
    }

    fn read_from(
        self: Box<Self>,
        reader: &mut dyn std::io::Read,
        size: u64,
    ) -> Result<Array<A, D>> {
        self.read_whole(reader, size)
    }
}

/// Where the header of a `.npy` file ends, once its first bytes tell; at
/// once (0) for bytes that are not a `.npy` start, so that
/// [`NpyHeader::parse`] says what is wrong without waiting for more.
fn header_end(bytes: &[u8]) -> Option<usize> {
    if !bytes.starts_with(MAGIC) && !MAGIC.starts_with(bytes) {
        return Some(0);
    }
    match bytes.get(6) {
        Some(1) => bytes
            .get(8..10)
            .map(|len| 10 + usize::from(u16::from_le_bytes([len[0], len[1]]))),
        Some(2 | 3) => bytes.get(8..12).map(|len| {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            usize::try_from(len).map_or(usize::MAX, |len| len.saturating_add(12))
        }),
        Some(_) => Some(0),
        None => None,
    }
}

/// An owned copy of a contiguous view (standard or Fortran layout, as
/// `view_npy` gives), in one pass into a buffer advised for huge pages.
fn owned_copy<A: Element, D: Dimension>(view: &ArrayView<'_, A, D>) -> Result<Array<A, D>> {
    let mut data: Vec<A> = Vec::with_capacity(view.len());
    advise_huge_pages(&mut data);
    let standard = view.is_standard_layout();
    let fortran = !standard && view.t().is_standard_layout();
    // Contiguous data is copied in memory order, which keeps the layout;
    // anything else (not made by view_npy) goes in logical order.
    let slice = if standard || fortran {
        view.as_slice_memory_order()
    } else {
        None
    };
    match slice {
        Some(slice) => data.extend_from_slice(slice),
        None => data.extend(view.iter().copied()),
    }
    Array::from_shape_vec(view.raw_dim().set_f(fortran && slice.is_some()), data)
        .map_err(|e| Error::decode(format!("cannot copy the .npy data: {e}")))
}

/// Asks Linux to back a large, still untouched buffer with transparent huge
/// pages, as numpy does for arrays of 4 MiB and more. Filling fresh memory
/// costs one page fault per 4 KiB page otherwise, which for a 100 MB array
/// takes several times as long as the copy itself. Only advice: errors
/// (another page size, huge pages disabled) are ignored.
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    const THRESHOLD: usize = 4 << 20;
    let bytes = buf.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes < THRESHOLD {
        return;
    }
    // SAFETY: sysconf has no preconditions.
    let page = match usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) {
        Ok(page) if page.is_power_of_two() => page,
        _ => return,
    };
    let start = buf.as_mut_ptr() as usize;
    let first = start.saturating_add(page - 1) & !(page - 1);
    let end = start.saturating_add(bytes) & !(page - 1);
    if end > first {
        // SAFETY: the range lies within the buffer's allocation, which we
        // own; MADV_HUGEPAGE changes only how the kernel backs those pages,
        // never their contents or whether they may be accessed.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &mut Vec<T>) {}

impl<A: Element, D: Dimension + 'static> Storable for Array<A, D> {
    const STO_TYPE: &'static str = BARRAY;
    const EXTENSION: &'static str = ".npy";

    fn to_stored(&self, _: &mut EncodeContext<'_>) -> Result<Stored> {
        encode_npy(self).map(|bytes| Stored::Bytes(Bytes::from(bytes)))
    }

    fn from_stored(stored: Stored, _: &DecodeContext) -> Result<Self> {
        let bytes = stored.into_bytes();
        let array = decode_npy(&bytes);
        release(bytes);
        array
    }

    fn decoder(_: &DecodeContext) -> Option<Box<dyn Decoder<Self>>> {
        Some(Box::new(NpyDecoder::<A, D>::new()))
    }

    /// numpy's header, then the array's own memory (no copy) when it is
    /// contiguous; `to_stored`'s bytes for an array in neither layout.
    fn to_payload(value: &Arc<Self>) -> Option<Result<Payload>> {
        let standard = value.is_standard_layout();
        let fortran = !standard && value.t().is_standard_layout();
        if !(standard || fortran) {
            return None;
        }
        let descr = match A::type_descriptor() {
            py_literal::Value::String(descr) => descr,
            other => other.to_string(),
        };
        let header = match npy_header(&descr, fortran, value.shape()) {
            Ok(header) => Bytes::from(header),
            Err(e) => return Some(Err(e)),
        };
        if value.is_empty() {
            return Some(Ok(Payload::from(header)));
        }
        let data = Bytes::from_owner(ArrayMemory(value.clone()));
        Some(Ok(Payload::from(vec![header, data])))
    }
}

/// The memory of a contiguous array as the bytes of its `.npy` data, for
/// a part of a [`Payload`] that shares the array instead of copying it.
struct ArrayMemory<A, D>(Arc<Array<A, D>>);

impl<A: Element, D: Dimension> AsRef<[u8]> for ArrayMemory<A, D> {
    fn as_ref(&self) -> &[u8] {
        let elements = self.0.as_slice_memory_order().unwrap_or_default();
        // SAFETY: the elements are those of `Element`, a sealed set of
        // plain numbers (`f64` .. `u8`, `bool`, `Complex` of two floats,
        // `repr(C)`): no padding, every byte initialised, so their memory
        // reads as bytes. The bytes are the elements' native byte order,
        // which is the `descr` of the header (`A::type_descriptor()`), and
        // in memory order, which is the header's `fortran_order`: exactly
        // what `WritableElement::write_slice` writes (`to_payload` is
        // checked against `encode_npy` for every element type). The array
        // cannot change while the slice lives: it is shared through the
        // `Arc`, which gives out no `&mut`.
        unsafe {
            std::slice::from_raw_parts(
                elements.as_ptr().cast::<u8>(),
                std::mem::size_of_val(elements),
            )
        }
    }
}

/// Drops the bytes of a file that was copied into an array. Freeing a large
/// buffer (unmapping tens of thousands of pages) takes a good part of the
/// time of the copy itself; for files of 32 MiB and more it is done on a
/// short-lived thread of its own so that the caller has its array sooner.
fn release(bytes: Bytes) {
    const THRESHOLD: usize = 32 << 20;
    if bytes.len() >= THRESHOLD && bytes.is_unique() {
        // If the thread cannot be spawned, the closure and the bytes in it
        // are dropped right here, as they would have been anyway.
        let _ = std::thread::Builder::new()
            .name(String::from("dman-release"))
            .spawn(move || drop(bytes));
    }
}

// ---- inline JSON -----------------------------------------------------------

/// The inline JSON form of an array, as Python's `sarray.__serialize__`
/// writes it (without the `_ser__type` envelope).
///
/// ```
/// use dman_core::numeric::{encode_inline, ndarray::{arr0, array, Array2}};
/// assert_eq!(encode_inline(&array![1.0, 0.1, 1e-5]).to_string(), r#""[1.0, 0.1, 1e-05]""#);
/// assert_eq!(encode_inline(&Array2::<i32>::zeros((0, 3))).to_string(), r#"{"shape": "[0, 3]"}"#);
/// assert_eq!(encode_inline(&arr0(3i64)).to_string(), r#""3.0""#);
/// ```
pub fn encode_inline<A, S, D>(array: &ArrayBase<S, D>) -> Value
where
    A: InlineElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let view = array.view().into_dyn();
    encode_dyn(&view)
}

fn encode_dyn<A: InlineElement>(view: &ndarray::ArrayViewD<'_, A>) -> Value {
    if view.ndim() == 0 {
        // Python: sjson.dumps(float(self)), a string holding the float.
        let x = view.iter().next().map_or(0.0, InlineElement::to_f64);
        return Value::String(json::to_string_compact(&Value::Float(x)));
    }
    if view.is_empty() {
        let shape = view
            .shape()
            .iter()
            .map(|&d| Value::from(d as u64))
            .collect();
        let mut map = Map::with_capacity(1);
        map.insert(
            String::from("shape"),
            Value::String(json::to_string_compact(&Value::Array(shape))),
        );
        return Value::Object(map);
    }
    if view.ndim() == 1 {
        let items = view.iter().map(InlineElement::to_json).collect();
        return Value::String(json::to_string_compact(&Value::Array(items)));
    }
    Value::Array(view.outer_iter().map(|row| encode_dyn(&row)).collect())
}

/// An array from its inline JSON form (without envelope): what
/// [`encode_inline`] or Python dman writes, and also plain numbers and
/// nested JSON lists.
///
/// # Errors
///
/// A decode error when the value is not an array of `A`, is ragged, or has
/// another number of axes than `D`.
pub fn decode_inline<A, D>(content: &Value) -> Result<Array<A, D>>
where
    A: InlineElement,
    D: Dimension,
{
    let mut data = Vec::new();
    let shape = collect(content, false, &mut data)?;
    let array = ArrayD::from_shape_vec(IxDyn(&shape), data)
        .map_err(|e| Error::decode(format!("inline array of shape {}: {e}", ShapeText(&shape))))?;
    array.into_dimensionality::<D>().map_err(|_| {
        Error::decode(format!(
            "the inline array is {} of shape {}, asked for {}",
            ndim_text(Some(shape.len())),
            ShapeText(&shape),
            ndim_text(D::NDIM)
        ))
    })
}

/// Appends the elements of `value` to `data` in row-major order and returns
/// its shape. `in_string` is set below a string that was parsed as JSON, in
/// which another string is not an array (Python would make a string array).
fn collect<A: InlineElement>(
    value: &Value,
    in_string: bool,
    data: &mut Vec<A>,
) -> Result<Vec<usize>> {
    match value {
        Value::String(text) if !in_string => {
            let parsed = json::from_str(text)
                .map_err(|e| Error::decode(format!("the inline array string is not JSON: {e}")))?;
            collect(&parsed, true, data)
        }
        Value::Array(items) => {
            let mut inner: Option<Vec<usize>> = None;
            for (i, item) in items.iter().enumerate() {
                let shape = collect(item, in_string, data).map_err(|e| e.at_index(i))?;
                match &inner {
                    None => inner = Some(shape),
                    Some(first) if *first == shape => {}
                    Some(first) => {
                        return Err(Error::decode(format!(
                            "ragged array: item {i} has shape {}, item 0 has {}",
                            ShapeText(&shape),
                            ShapeText(first)
                        )))
                    }
                }
            }
            let mut shape = vec![items.len()];
            shape.extend(inner.unwrap_or_default());
            Ok(shape)
        }
        Value::Object(map) if map.contains_key("shape") => {
            // Python: np.zeros(sjson.loads(obj["shape"])).
            let shape = inline_shape(map.get("shape").unwrap_or(&Value::Null))?;
            let len = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .filter(|n| {
                    n.checked_mul(A::SIZE)
                        .is_some_and(|b| b <= isize::MAX as usize)
                })
                .ok_or_else(|| {
                    Error::decode(format!(
                        "inline array shape {} is too large",
                        ShapeText(&shape)
                    ))
                })?;
            data.try_reserve_exact(len).map_err(|_| {
                Error::decode(format!(
                    "inline array shape {} is too large for memory",
                    ShapeText(&shape)
                ))
            })?;
            data.resize(data.len() + len, A::default());
            Ok(shape)
        }
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_) => {
            data.push(
                A::from_json(value)
                    .map_err(|why| Error::decode(format!("{why} (asked for {})", A::RUST_NAME)))?,
            );
            Ok(Vec::new())
        }
        other => Err(Error::decode(format!(
            "expected an inline array of {}, found {}",
            A::RUST_NAME,
            describe(other)
        ))),
    }
}

/// The shape of `{"shape": "[0, 3]"}` (also accepted as a JSON list).
fn inline_shape(value: &Value) -> Result<Vec<usize>> {
    let parsed;
    let value = match value {
        Value::String(text) => {
            parsed = json::from_str(text)
                .map_err(|e| Error::decode(format!("invalid inline array shape: {e}")))?;
            &parsed
        }
        other => other,
    };
    let dims = match value {
        Value::Array(items) => items,
        // np.zeros(5) is a 1-d array of 5 zeros.
        Value::Int(_) | Value::UInt(_) => std::slice::from_ref(value),
        other => {
            return Err(Error::decode(format!(
                "invalid inline array shape: {}",
                describe(other)
            )))
        }
    };
    dims.iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| {
                    Error::decode(format!("invalid inline array shape: axis {}", describe(d)))
                })
        })
        .collect()
}

/// A plain array inline is `_num__ndarray`, as Python registers
/// `numpy.ndarray`.
impl<A: InlineElement, D: Dimension> Serializable for Array<A, D> {
    const SER_TYPE: Option<&'static str> = Some(NDARRAY);

    fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
        Ok(encode_inline(self))
    }

    fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
        decode_inline(content)
    }
}

macro_rules! inline_wrapper {
    ($(#[$doc:meta])* $name:ident, $ser_type:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name<A, D: Dimension>(pub Array<A, D>);

        impl<A, D: Dimension> $name<A, D> {
            /// The array.
            pub fn into_inner(self) -> Array<A, D> {
                self.0
            }
        }

        impl<A, D: Dimension> Deref for $name<A, D> {
            type Target = Array<A, D>;
            fn deref(&self) -> &Array<A, D> {
                &self.0
            }
        }

        impl<A, D: Dimension> DerefMut for $name<A, D> {
            fn deref_mut(&mut self) -> &mut Array<A, D> {
                &mut self.0
            }
        }

        impl<A, D: Dimension> From<Array<A, D>> for $name<A, D> {
            fn from(array: Array<A, D>) -> Self {
                $name(array)
            }
        }

        impl<A, D: Dimension> From<$name<A, D>> for Array<A, D> {
            fn from(wrapper: $name<A, D>) -> Self {
                wrapper.0
            }
        }

        impl<A: InlineElement, D: Dimension> Serializable for $name<A, D> {
            const SER_TYPE: Option<&'static str> = Some($ser_type);

            fn to_content(&self, _: &mut EncodeContext<'_>) -> Result<Value> {
                Ok(encode_inline(&self.0))
            }

            fn from_content(content: &Value, _: &DecodeContext) -> Result<Self> {
                decode_inline(content).map($name)
            }
        }
    };
}

inline_wrapper!(
    /// An array written inline as Python's `sarray` (`_num__sarray`).
    ///
    /// ```
    /// use dman_core::numeric::{SArray, ndarray::array};
    /// let a = SArray::from(array![[1, 2], [3, 4]]);
    /// assert_eq!(a.sum(), 10);
    /// ```
    SArray,
    SARRAY
);

inline_wrapper!(
    /// An array written inline as Python's `carray` (`_num__carray`); the
    /// same form as [`SArray`] under another name.
    CArray,
    CARRAY
);
