//! The parser: what Python's `json.loads` accepts with its defaults.
//!
//! Containers are parsed with an explicit stack rather than by recursion, so
//! hostile nesting cannot overflow the thread's stack; the depth limit
//! [`MAX_DEPTH`] exists for the code that walks a [`Value`] afterwards
//! (writing, comparing, dropping), which does recurse.

use super::{JsonError, Map, Value, MAX_DEPTH};

/// Parses one JSON document from UTF-8 bytes, as Python's `json.loads`
/// would read the text of a file.
///
/// Accepts standard JSON plus `NaN`, `Infinity` and `-Infinity`, with
/// whitespace (space, tab, newline, carriage return) around the value.
/// Duplicate keys keep the first key's position and the last value, as a
/// Python `dict` built from the pairs does. Integers that fit in `i64`
/// become [`Value::Int`], larger ones up to `u64::MAX` [`Value::UInt`];
/// numbers with a fraction or exponent become [`Value::Float`].
///
/// # Errors
///
/// Anything Python would refuse, and in addition, because Rust cannot hold
/// or dman-rs does not support them:
/// - a UTF-8 byte order mark at the start (Python's `json.loads` on a `str`
///   refuses it too, and dman opens its files as text);
/// - invalid UTF-8;
/// - a `\uXXXX` escape of a lone surrogate (Python accepts it, a Rust
///   `String` cannot hold it);
/// - an integer outside `i64::MIN..=u64::MAX` (Python's integers are
///   unbounded);
/// - nesting deeper than [`MAX_DEPTH`] arrays and objects (Python itself
///   stops near 1000 at its recursion limit).
///
/// The error carries the line and column (both 1-based, the column counted
/// in characters as Python counts it) where parsing stopped.
pub fn from_slice(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(bom_error());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Parser::new(text).parse_document(),
        Err(e) => {
            let at = e.valid_up_to();
            let message = match bytes.get(at) {
                Some(b) => format!("invalid UTF-8 (byte 0x{b:02X})"),
                None => "invalid UTF-8".to_owned(),
            };
            Err(JsonError::at(message, bytes, at))
        }
    }
}

/// Parses one JSON document from a string; see [`from_slice`] for the
/// accepted syntax and the errors.
pub fn from_str(text: &str) -> Result<Value, JsonError> {
    if text.starts_with('\u{feff}') {
        return Err(bom_error());
    }
    Parser::new(text).parse_document()
}

fn bom_error() -> JsonError {
    JsonError::at(
        "unexpected UTF-8 byte order mark at the start of the document \
         (Python's json refuses it too; remove the first three bytes)",
        b"",
        0,
    )
}

/// The room a new object starts with (see its use).
const OBJECT_CAPACITY: usize = 4;

/// A container whose items are still being read.
enum Frame {
    Array(Vec<Value>),
    /// The object so far and the key whose value is being read.
    Object(Map, String),
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn error_at(&self, message: impl Into<String>, pos: usize) -> JsonError {
        JsonError::at(message, self.bytes, pos)
    }

    fn error(&self, message: impl Into<String>) -> JsonError {
        self.error_at(message, self.pos)
    }

    fn eof(&self) -> JsonError {
        self.error_at("unexpected end of input", self.bytes.len())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The character at the current position, for error messages.
    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) if c.is_ascii_graphic() || c == ' ' => format!("'{c}'"),
            Some(c) => format!("U+{:04X}", u32::from(c)),
            None => "end of input".to_owned(),
        }
    }

    fn parse_document(mut self) -> Result<Value, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_whitespace();
            let mut value = match self.peek() {
                None => return Err(self.eof()),
                Some(b'[') => {
                    self.check_depth(stack.len())?;
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue 'value;
                    }
                }
                Some(b'{') => {
                    self.check_depth(stack.len())?;
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        Value::Object(Map::new())
                    } else {
                        let key = self.parse_key()?;
                        // Room for the four keys of most objects in dman's
                        // files (configurations, records), so that they
                        // are not moved and rehashed as they fill.
                        let map = Map::with_capacity(OBJECT_CAPACITY);
                        stack.push(Frame::Object(map, key));
                        continue 'value;
                    }
                }
                Some(b) => self.parse_scalar(b)?,
            };
            // Hand the finished value to its container; a closing bracket
            // finishes that container in turn, so keep going up.
            while let Some(frame) = stack.last_mut() {
                self.skip_whitespace();
                match frame {
                    Frame::Array(items) => {
                        items.push(value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                value = Value::Array(std::mem::take(items));
                                stack.pop();
                            }
                            None => return Err(self.eof()),
                            Some(_) => {
                                return Err(self
                                    .error(format!("expected ',' or ']', found {}", self.found())))
                            }
                        }
                    }
                    Frame::Object(map, key) => {
                        // An existing key keeps its position and takes the
                        // new value, as in a Python dict.
                        map.insert(std::mem::take(key), value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                *key = self.parse_key()?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                value = Value::Object(std::mem::take(map));
                                stack.pop();
                            }
                            None => return Err(self.eof()),
                            Some(_) => {
                                return Err(self.error(format!(
                                    "expected ',' or '}}', found {}",
                                    self.found()
                                )))
                            }
                        }
                    }
                }
            }
            self.skip_whitespace();
            if self.pos < self.bytes.len() {
                return Err(self.error(format!("unexpected {} after the JSON value", self.found())));
            }
            return Ok(value);
        }
    }

    fn check_depth(&self, open: usize) -> Result<(), JsonError> {
        if open >= MAX_DEPTH {
            Err(self.error(format!(
                "arrays and objects nested deeper than {MAX_DEPTH} levels"
            )))
        } else {
            Ok(())
        }
    }

    /// Reads `"key"` and the `:` after it.
    fn parse_key(&mut self) -> Result<String, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'"') => {}
            None => return Err(self.eof()),
            Some(_) => {
                return Err(self.error(format!(
                    "expected a key in double quotes, found {}",
                    self.found()
                )))
            }
        }
        let key = self.parse_string()?;
        self.skip_whitespace();
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(key)
            }
            None => Err(self.eof()),
            Some(_) => Err(self.error(format!("expected ':', found {}", self.found()))),
        }
    }

    fn parse_scalar(&mut self, first: u8) -> Result<Value, JsonError> {
        match first {
            b'"' => self.parse_string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'N' => self.literal(b"NaN", Value::Float(f64::NAN)),
            b'I' => self.literal(b"Infinity", Value::Float(f64::INFINITY)),
            b'-' | b'0'..=b'9' => self.parse_number(),
            _ => Err(self.error(format!("expected a value, found {}", self.found()))),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, JsonError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        if rest.starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else if word.starts_with(rest) {
            Err(self.eof())
        } else {
            Err(self.error(format!("expected a value, found {}", self.found())))
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    /// Python's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`,
    /// plus `-Infinity`.
    fn parse_number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
            if self.peek() == Some(b'I') {
                return self.literal(b"Infinity", Value::Float(f64::NEG_INFINITY));
            }
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            None => return Err(self.eof()),
            Some(_) => {
                return Err(
                    self.error_at(format!("expected a value, found {}", self.found()), start)
                )
            }
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.expect_digit("after the decimal point")?;
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.expect_digit("in the exponent")?;
            is_float = true;
        }
        let Some(text) = self.text.get(start..self.pos) else {
            return Err(self.error_at("invalid number", start));
        };
        if is_float {
            // Rust's parser rounds correctly, as Python's `float()` does;
            // too large a magnitude gives an infinity in both.
            return text
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| self.error_at("invalid number", start));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        if !negative {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::UInt(u));
            }
        }
        Ok(Value::BigInt(text.to_owned()))
    }

    fn expect_digit(&mut self, context: &str) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            None => Err(self.eof()),
            Some(_) => Err(self.error(format!(
                "expected a digit {context}, found {}",
                self.found()
            ))),
        }
    }

    /// Reads a string; the current byte is the opening quote.
    fn parse_string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut segment_start = self.pos;
        // Allocated only once an escape shows up: most strings have none
        // and are copied from the input in one piece.
        let mut owned: Option<String> = None;
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let Some(offset) = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                return Err(self.eof());
            };
            self.pos += offset;
            // The stop bytes are ASCII, so these slice bounds fall on
            // character boundaries; `get` keeps that from ever panicking.
            let segment = self.text.get(segment_start..self.pos).unwrap_or_default();
            match self.bytes.get(self.pos).copied() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match owned {
                        Some(mut s) => {
                            s.push_str(segment);
                            s
                        }
                        None => segment.to_owned(),
                    });
                }
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(|| String::with_capacity(segment.len() + 16));
                    s.push_str(segment);
                    let c = self.parse_escape()?;
                    s.push(c);
                    segment_start = self.pos;
                }
                Some(b) => {
                    return Err(self.error(format!(
                        "control character U+{b:04X} in a string must be escaped"
                    )))
                }
                None => return Err(self.eof()),
            }
        }
    }

    /// Reads an escape sequence; the current byte is the backslash.
    fn parse_escape(&mut self) -> Result<char, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            None => return Err(self.eof()),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.parse_unicode_escape(start);
            }
            Some(_) => {
                return Err(self.error_at(
                    format!("invalid escape: backslash followed by {}", self.found()),
                    start,
                ))
            }
        };
        self.pos += 1;
        Ok(c)
    }

    /// Reads the four hex digits of a `\u` escape, and the low half of a
    /// surrogate pair when the first is a high half.
    fn parse_unicode_escape(&mut self, start: usize) -> Result<char, JsonError> {
        let first = self.hex4(start)?;
        let code = match first {
            0xD800..=0xDBFF => {
                let rest = self.bytes.get(self.pos..).unwrap_or_default();
                if rest.is_empty() {
                    return Err(self.eof());
                }
                if !rest.starts_with(b"\\u") {
                    return Err(lone_surrogate(self, first, start));
                }
                let second_start = self.pos;
                self.pos += 2;
                let second = self.hex4(second_start)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(lone_surrogate(self, first, start));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(lone_surrogate(self, first, start)),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| lone_surrogate(self, code, start))
    }

    fn hex4(&mut self, escape_start: usize) -> Result<u32, JsonError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let mut code = 0u32;
        for i in 0..4 {
            let digit = match rest.get(i) {
                None => return Err(self.eof()),
                Some(&b) => match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    _ => {
                        return Err(self.error_at(
                            "invalid \\u escape: expected four hex digits",
                            escape_start,
                        ))
                    }
                },
            };
            code = code * 16 + u32::from(digit);
        }
        self.pos += 4;
        Ok(code)
    }
}

fn lone_surrogate(parser: &Parser<'_>, code: u32, at: usize) -> JsonError {
    parser.error_at(
        format!(
            "lone surrogate \\u{code:04x} in a string: Python accepts it, but a \
             Rust string cannot hold it"
        ),
        at,
    )
}
