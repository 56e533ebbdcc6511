//! Rust values into [`Value`] through serde, and [`Value`] into any serde
//! format.
//!
//! The layout follows serde_json's (`serde_json::to_value`), so types keep
//! the shape they have in any JSON file: structs and maps are objects, unit
//! variants strings, other variants single-key objects. The one difference
//! is on purpose: floats stay floats, `NaN` and the infinities included,
//! where serde_json turns those into `null`.

use serde::ser::{self, Impossible, Serialize};

use super::{write, JsonError, Map, Value};

/// Converts any `Serialize` type into a [`Value`], laid out as
/// `serde_json::to_value` lays it out except that `NaN`, `Infinity` and
/// `-Infinity` are kept as floats (Python writes and reads them; serde_json
/// would write `null`).
///
/// # Errors
///
/// When the type's `Serialize` implementation fails, an integer does not fit
/// in 64 bits (`i128`, `u128`), or a map key is not a string, number, bool
/// or unit variant.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, JsonError> {
    value.serialize(ValueSerializer)
}

impl ser::Error for JsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JsonError::new(msg.to_string())
    }
}

impl Serialize for Value {
    /// Serializes as the value it holds. Note that other formats may not
    /// accept `NaN` or infinite floats (serde_json writes them as `null`).
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::BigInt(digits) => Err(ser::Error::custom(format!(
                "integer {} is too large for serde's integer types",
                super::shorten_digits(digits)
            ))),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => serializer.collect_seq(items),
            Value::Object(map) => serializer.collect_map(map),
        }
    }
}

/// Size hints come from the value being serialized, but cap them anyway so
/// that a wrong hint cannot reserve absurd amounts of memory.
fn capacity(hint: Option<usize>) -> usize {
    hint.unwrap_or(0).min(4096)
}

struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = JsonError;
    type SerializeSeq = SerializeArray;
    type SerializeTuple = SerializeArray;
    type SerializeTupleStruct = SerializeArray;
    type SerializeTupleVariant = SerializeTupleVariant;
    type SerializeMap = SerializeObject;
    type SerializeStruct = SerializeObject;
    type SerializeStructVariant = SerializeStructVariant;

    fn serialize_bool(self, v: bool) -> Result<Value, JsonError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, JsonError> {
        if let Ok(i) = i64::try_from(v) {
            Ok(Value::Int(i))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(Value::UInt(u))
        } else {
            Err(JsonError::new(format!(
                "integer {v} does not fit in 64 bits"
            )))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, JsonError> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::from(u)),
            Err(_) => Err(JsonError::new(format!(
                "integer {v} does not fit in 64 bits"
            ))),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, JsonError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, JsonError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, JsonError> {
        Ok(Value::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, JsonError> {
        Ok(Value::Array(v.iter().map(|&b| Value::from(b)).collect()))
    }
    fn serialize_none(self) -> Result<Value, JsonError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, JsonError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, JsonError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, JsonError> {
        Ok(Value::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, JsonError> {
        let mut map = Map::with_capacity(1);
        map.insert(variant.to_owned(), to_value(value)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SerializeArray, JsonError> {
        Ok(SerializeArray(Vec::with_capacity(capacity(len))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SerializeArray, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SerializeArray, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeTupleVariant, JsonError> {
        Ok(SerializeTupleVariant {
            variant,
            items: Vec::with_capacity(capacity(Some(len))),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<SerializeObject, JsonError> {
        Ok(SerializeObject {
            map: Map::with_capacity(capacity(len)),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SerializeObject, JsonError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeStructVariant, JsonError> {
        Ok(SerializeStructVariant {
            variant,
            map: Map::with_capacity(capacity(Some(len))),
        })
    }
}

struct SerializeArray(Vec<Value>);

impl ser::SerializeSeq for SerializeArray {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, JsonError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SerializeArray {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, JsonError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SerializeArray {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, JsonError> {
        ser::SerializeSeq::end(self)
    }
}

struct SerializeTupleVariant {
    variant: &'static str,
    items: Vec<Value>,
}

impl ser::SerializeTupleVariant for SerializeTupleVariant {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.items.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, JsonError> {
        let mut map = Map::with_capacity(1);
        map.insert(self.variant.to_owned(), Value::Array(self.items));
        Ok(Value::Object(map))
    }
}

struct SerializeObject {
    map: Map,
    key: Option<String>,
}

impl ser::SerializeMap for SerializeObject {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        let Some(key) = self.key.take() else {
            return Err(JsonError::new("a map value was serialized before its key"));
        };
        // A repeated key keeps its first position and takes the last value,
        // as assigning to a Python dict does.
        self.map.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, JsonError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for SerializeObject {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.map.insert(key.to_owned(), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, JsonError> {
        Ok(Value::Object(self.map))
    }
}

struct SerializeStructVariant {
    variant: &'static str,
    map: Map,
}

impl ser::SerializeStructVariant for SerializeStructVariant {
    type Ok = Value;
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.map.insert(key.to_owned(), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, JsonError> {
        let mut outer = Map::with_capacity(1);
        outer.insert(self.variant.to_owned(), Value::Object(self.map));
        Ok(Value::Object(outer))
    }
}

/// Map keys become strings the way Python's `json.dumps` turns `dict` keys
/// into strings: numbers in decimal (floats as `repr` writes them), bools as
/// `true` and `false`.
struct KeySerializer;

fn key_error(kind: &str) -> JsonError {
    JsonError::new(format!(
        "a map key must be a string, number, bool or unit variant, not {kind}"
    ))
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = JsonError;
    type SerializeSeq = Impossible<String, JsonError>;
    type SerializeTuple = Impossible<String, JsonError>;
    type SerializeTupleStruct = Impossible<String, JsonError>;
    type SerializeTupleVariant = Impossible<String, JsonError>;
    type SerializeMap = Impossible<String, JsonError>;
    type SerializeStruct = Impossible<String, JsonError>;
    type SerializeStructVariant = Impossible<String, JsonError>;

    fn serialize_bool(self, v: bool) -> Result<String, JsonError> {
        Ok(if v { "true" } else { "false" }.to_owned())
    }
    fn serialize_i8(self, v: i8) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, JsonError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<String, JsonError> {
        let mut s = String::new();
        write::write_float(&mut s, v);
        Ok(s)
    }
    fn serialize_char(self, v: char) -> Result<String, JsonError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, JsonError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, JsonError> {
        Err(key_error("bytes"))
    }
    fn serialize_none(self) -> Result<String, JsonError> {
        Err(key_error("an Option"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, JsonError> {
        Err(key_error("an Option"))
    }
    fn serialize_unit(self) -> Result<String, JsonError> {
        Err(key_error("()"))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<String, JsonError> {
        Err(key_error(name))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, JsonError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, JsonError> {
        Err(key_error(name))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        Err(key_error("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, JsonError> {
        Err(key_error("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, JsonError> {
        Err(key_error(name))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        Err(key_error(name))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        Err(key_error("a map"))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, JsonError> {
        Err(key_error(name))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        Err(key_error(name))
    }
}
