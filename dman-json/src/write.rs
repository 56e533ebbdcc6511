//! The writer: byte for byte what Python's `json.dumps` prints.

use std::fmt::Write as _;

use super::Value;

/// Formats `value` as Python's `json.dumps(value, indent=4)` does, which is
/// how dman writes its files: items separated by `,` and a newline, four
/// spaces per level, `": "` after keys, `[]` and `{}` for empty containers,
/// no trailing newline.
///
/// Strings are escaped as with Python's default `ensure_ascii=True`:
/// everything outside printable ASCII becomes `\uxxxx` (lowercase hex, a
/// surrogate pair above U+FFFF), except `\"`, `\\`, `\n`, `\r`, `\t`, `\b`
/// and `\f`. Floats are written as Python's `repr` writes them (`0.1`,
/// `100.0`, `1e-05`, `1e+16`), and `NaN`, `Infinity`, `-Infinity` as
/// Python's `json` writes them by default.
///
/// Recurses once per level of nesting: values read by [`super::from_str`]
/// are at most [`super::MAX_DEPTH`] deep, which is safe.
pub fn to_string_pretty(value: &Value) -> String {
    let mut out = String::with_capacity(initial_capacity(value));
    write_value::<true>(&mut out, value, 0);
    out
}

/// Formats `value` as Python's `json.dumps(value)` does, on one line with
/// `", "` between items and `": "` after keys (`[1.0, 2.0]`,
/// `{"a": 1}`). Escaping and number formats are those of
/// [`to_string_pretty`].
pub fn to_string_compact(value: &Value) -> String {
    let mut out = String::with_capacity(initial_capacity(value));
    write_value::<false>(&mut out, value, 0);
    out
}

/// [`to_string_pretty`] as bytes, ready to be stored as a file.
pub fn to_vec_pretty(value: &Value) -> Vec<u8> {
    to_string_pretty(value).into_bytes()
}

/// Writes [`to_string_pretty`]'s text to `writer`.
///
/// The text is formatted in memory first and handed over in one
/// `write_all`, so an unbuffered writer costs no more than a buffered one.
///
/// # Errors
///
/// Those of `writer`.
pub fn write_pretty<W: std::io::Write + ?Sized>(
    value: &Value,
    writer: &mut W,
) -> std::io::Result<()> {
    writer.write_all(to_string_pretty(value).as_bytes())
}

/// A guess at the output size so that small documents never reallocate and
/// large ones start at a sensible size; doubling takes care of the rest.
fn initial_capacity(value: &Value) -> usize {
    match value {
        Value::Array(items) => 64 + items.len().min(1 << 16) * 32,
        Value::Object(map) => 64 + map.len().min(1 << 16) * 48,
        Value::String(s) => s.len() + 2,
        _ => 32,
    }
}

const SPACES: &str = "                                                                ";

fn newline_indent(out: &mut String, level: usize) {
    out.push('\n');
    let mut n = level.saturating_mul(4);
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn write_value<const PRETTY: bool>(out: &mut String, value: &Value, level: usize) {
    let separator = if PRETTY { "," } else { ", " };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // `fmt::Write` for `String` cannot fail.
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => write_float(out, *f),
        Value::BigInt(digits) => out.push_str(digits),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                if PRETTY {
                    newline_indent(out, level + 1);
                }
                write_value::<PRETTY>(out, item, level + 1);
            }
            if PRETTY {
                newline_indent(out, level);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                if PRETTY {
                    newline_indent(out, level + 1);
                }
                write_string(out, key);
                out.push_str(": ");
                write_value::<PRETTY>(out, item, level + 1);
            }
            if PRETTY {
                newline_indent(out, level);
            }
            out.push('}');
        }
    }
}

/// Bytes written as they are: printable ASCII except `"` and `\`.
static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x20;
    while b <= 0x7E {
        table[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_u_escape(out: &mut String, code: u32) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((code >> shift) & 0xF) as usize]));
    }
}

/// Python's `ensure_ascii` escaping (`py_encode_basestring_ascii`).
pub(super) fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut plain_start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if PLAIN[usize::from(b)] {
            i += 1;
            continue;
        }
        // `i` is at an ASCII byte or the first byte of a character, so both
        // slices below fall on character boundaries.
        out.push_str(s.get(plain_start..i).unwrap_or_default());
        if b < 0x80 {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0C => out.push_str("\\f"),
                _ => push_u_escape(out, u32::from(b)),
            }
            i += 1;
        } else {
            let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            let code = u32::from(c);
            if code > 0xFFFF {
                let v = code - 0x10000;
                push_u_escape(out, 0xD800 | (v >> 10));
                push_u_escape(out, 0xDC00 | (v & 0x3FF));
            } else {
                push_u_escape(out, code);
            }
            i += c.len_utf8();
        }
        plain_start = i;
    }
    out.push_str(s.get(plain_start..).unwrap_or_default());
    out.push('"');
}

fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

/// Python's `float.__repr__` (CPython's `PyOS_double_to_string` with mode
/// `'r'`), plus the spellings `json` uses for the non-finite values.
///
/// Both Python and `ryu` print the shortest digit string that reads back to
/// the same float (the closest one when several are that short), so only
/// the layout differs: `ryu`'s output is taken apart into digits and
/// decimal exponent and laid out again the way Python does.
pub(super) fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(f);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };

    // The value is 0.DIGITS * 10^point, as in CPython's `decpt`.
    let mut digits = [0u8; 48];
    let mut count = 0;
    let mut integer_digits = None;
    for b in mantissa.bytes() {
        if b == b'.' {
            integer_digits = Some(count);
        } else if count < digits.len() {
            digits[count] = b;
            count += 1;
        }
    }
    let mut point = integer_digits.unwrap_or(count) as i32 + exponent;
    let mut first = 0;
    while first < count && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    let mut last = count;
    while last > first && digits[last - 1] == b'0' {
        last -= 1;
    }
    if negative {
        out.push('-');
    }
    if first == last {
        out.push_str("0.0");
        return;
    }
    let digits = &digits[first..last];
    let n = digits.len() as i32;

    if -4 < point && point <= 16 {
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..-point {
                out.push('0');
            }
            push_ascii(out, digits);
        } else if point < n {
            let (int, frac) = digits.split_at(point as usize);
            push_ascii(out, int);
            out.push('.');
            push_ascii(out, frac);
        } else {
            push_ascii(out, digits);
            for _ in 0..point - n {
                out.push('0');
            }
            out.push_str(".0");
        }
    } else {
        let (lead, rest) = digits.split_at(1);
        push_ascii(out, lead);
        if !rest.is_empty() {
            out.push('.');
            push_ascii(out, rest);
        }
        let e = point - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let magnitude = e.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        let _ = write!(out, "{magnitude}");
    }
}
