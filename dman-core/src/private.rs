//! Helpers that the derive macros expand to. Not a stable API.

use crate::context::{DecodeContext, EncodeContext, RecordDefaults};
use crate::error::{Error, Result};
use crate::json::{Map, Value};
use crate::serial::{self, mismatch, Serializable};
use crate::target::{join_rel, split_name, Target};

pub use crate::json;
pub use crate::storable::Stored;
pub use async_trait::async_trait;
pub use bytes::Bytes;

/// Record options of a modelclass field, as the derive knows them.
pub struct FieldSpec {
    /// The field's name in JSON.
    pub name: &'static str,
    /// Explicit `stem`.
    pub stem: Option<&'static str>,
    /// Explicit `suffix`.
    pub suffix: Option<&'static str>,
    /// Explicit file `name` (stem and suffix).
    pub file_name: Option<&'static str>,
    /// Explicit `subdir`.
    pub subdir: Option<&'static str>,
    /// `preload`.
    pub preload: bool,
}

/// Modelclass-wide options.
pub struct ClassSpec {
    /// Write fields without envelopes.
    pub compact: bool,
    /// Name each record field's file after the field.
    pub store_by_field: bool,
    /// Put each record field's file in a folder named after the field.
    pub cluster: bool,
    /// Common folder of the record fields' files.
    pub subdir: &'static str,
}

fn defaults(class: &ClassSpec, field: &FieldSpec) -> RecordDefaults {
    let mut target = Target::default();
    if let Some(name) = field.file_name {
        let (stem, suffix) = split_name(name);
        target.stem = Some(stem.into());
        target.suffix = Some(suffix.into());
    }
    if let Some(stem) = field.stem {
        target.stem = Some(stem.into());
    } else if class.store_by_field && target.stem.is_none() {
        target.stem = Some(field.name.into());
    }
    if let Some(suffix) = field.suffix {
        target.suffix = Some(suffix.into());
    }
    target.subdir = Some(match field.subdir {
        Some(s) => s.into(),
        None if class.cluster => join_rel(class.subdir, field.name),
        None => class.subdir.into(),
    });
    RecordDefaults {
        target,
        preload: field.preload,
    }
}

/// Writes one modelclass field into `map` (absent values are left out, as
/// Python leaves out `None`).
pub fn encode_field<T: Serializable>(
    map: &mut Map,
    value: &T,
    class: &ClassSpec,
    field: &FieldSpec,
    ctx: &mut EncodeContext<'_>,
) -> Result<()> {
    if value.is_absent() {
        return Ok(());
    }
    tracing::trace!(target: "dman::save", field = field.name, "serializing field");
    let v = ctx
        .with_defaults(defaults(class, field), |ctx| {
            if class.compact {
                value.to_content(ctx)
            } else {
                serial::serialize(value, ctx)
            }
        })
        .map_err(|e| e.at_key(field.name))?;
    map.insert(field.name.to_string(), v);
    Ok(())
}

/// Writes a field through the serde bridge (`#[dman(serde)]`).
pub fn encode_serde_field<T: serde::Serialize>(map: &mut Map, value: &T, name: &str) -> Result<()> {
    let v = serial::serde_to_value(value).map_err(|e| e.at_key(name))?;
    map.insert(name.to_string(), v);
    Ok(())
}

/// The object a modelclass or dataclass is decoded from.
pub fn expect_object<'v>(content: &'v Value, type_name: &str) -> Result<&'v Map> {
    content
        .as_object()
        .ok_or_else(|| mismatch(&format!("the fields of `{type_name}`"), content))
}

/// Reads one modelclass field; `default` gives the value of a missing one.
pub fn decode_field<T: Serializable>(
    obj: &Map,
    compact: bool,
    name: &str,
    default: Option<fn() -> T>,
    ctx: &DecodeContext,
) -> Result<T> {
    match crate::json::lookup(obj, name) {
        None | Some(Value::Null) => default
            .map(|f| f())
            .or_else(T::absent)
            .ok_or_else(|| Error::decode(format!("missing field `{name}`"))),
        Some(v) => if compact {
            T::from_content(v, ctx)
        } else {
            serial::deserialize(v, ctx)
        }
        .map_err(|e| e.at_key(name)),
    }
}

/// Reads a field through the serde bridge.
pub fn decode_serde_field<T: serde::de::DeserializeOwned>(
    obj: &Map,
    name: &str,
    default: Option<fn() -> T>,
) -> Result<T> {
    match (crate::json::lookup(obj, name), default) {
        (None, Some(f)) => Ok(f()),
        (None, None) => serial::serde_from_value(&Value::Null)
            .map_err(|_| Error::decode(format!("missing field `{name}`"))),
        (Some(v), _) => serial::serde_from_value(v).map_err(|e| e.at_key(name)),
    }
}

/// The content of a unit enum variant as Python writes an `Enum`:
/// `"<Class>.<MEMBER>"`.
pub fn enum_content(class: &str, member: &str) -> Value {
    Value::String(format!("{class}.{member}"))
}

/// The member name of an enum's content (`"Color.RED"` gives `RED`; Python
/// reads the part after the last dot).
pub fn enum_member(content: &Value) -> Result<&str> {
    let s = content
        .as_str()
        .ok_or_else(|| mismatch("an enum member", content))?;
    Ok(s.rsplit('.').next().unwrap_or(s))
}

/// The error of a mixed enum (`#[derive(Serializable)]` on one-field
/// variants) when no variant's type accepts what was written.
pub fn no_variant(enum_name: &str, variants: &[&str], found: &Value) -> Error {
    let expected = format!(
        "one of {} (the variants of `{enum_name}`)",
        variants.join(", ")
    );
    // A record says what it points at: the type names are what differ.
    let sto_type = crate::serial::split_envelope(found)
        .filter(|(name, _)| *name == crate::record::RECORD_TYPE)
        .and_then(|(_, content)| content.get("sto_type"))
        .and_then(Value::as_str);
    match sto_type {
        Some(sto_type) => Error::decode(format!(
            "expected {expected}, found a record of sto_type `{sto_type}`"
        )),
        None => mismatch(&expected, found),
    }
}

/// The error of a storable's own `write` or `read` function.
pub fn storable_error(type_name: &str, op: &str, e: impl std::fmt::Display) -> Error {
    match op {
        "write" => Error::encode(format!("{type_name}: {op} failed: {e}")),
        _ => Error::decode(format!("{type_name}: {op} failed: {e}")),
    }
}

/// [`Item::replace`](crate::model::Item::replace) of an item held as it is
/// (a mixed enum, `Dynamic`): the old value's records are released, the new
/// one's placed.
pub fn replace_item<S: Serializable>(
    slot: &mut S,
    value: S,
    place: &mut crate::context::Placement<'_>,
    released: &mut Vec<crate::context::Released>,
) {
    slot.release_files(released);
    *slot = value;
    slot.adopt_records(place);
}
