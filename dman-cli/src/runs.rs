//! `dman runs`: the items of an `mruns` or `mlist` as a table, each item's
//! configuration flattened into columns (`seed`, or `config.seed` for a
//! field of a nested dataclass). What `dman diff` compares runs by, too.

use std::sync::Arc;

use dman::core::graph::{self, Document};
use dman::core::json::{self, Map, Value};
use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};

use crate::keys::KeyInfo;
use crate::Failure;

/// How `dman runs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for a person.
    Table,
    /// One JSON document.
    Json,
    /// Comma-separated values.
    Csv,
}

/// One item of a container.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its position in the container.
    pub index: usize,
    /// The file it lives in (its own file when recorded, the container's
    /// file when inline).
    pub file: StoragePath,
    /// Its scalar fields, flattened, in the order the file has them.
    pub fields: Map,
}

/// The container types whose items are rows.
const CONTAINERS: [&str; 4] = ["_ser__mruns", "_ser__mlist", "_ser__smruns", "_ser__smlist"];

/// The items of an `mruns` or `mlist`.
pub struct Container {
    /// Its type (`_ser__mruns`, ...; empty for a storable one).
    pub kind: String,
    /// Its items.
    pub rows: Vec<Row>,
}

/// The container in `file`; `Err` with the file's type when it is no
/// `mruns` or `mlist`.
pub async fn rows(
    store: &Arc<dyn StorageBackend>,
    file: &StoragePath,
) -> Result<Result<Container, String>, Failure> {
    let doc = Document::open(store.clone(), file.clone()).await?;
    let kind = doc.value.get("_ser__type").and_then(Value::as_str);
    let items = match kind {
        Some(k) if CONTAINERS.contains(&k) => doc
            .value
            .get("_ser__content")
            .and_then(|c| c.get("store"))
            .and_then(Value::as_array),
        Some(k) => return Ok(Err(k.to_string())),
        // A storable container is written without its envelope.
        None => doc.value.get("store").and_then(Value::as_array),
    };
    let Some(items) = items else {
        return Ok(Err(kind.unwrap_or("plain JSON").to_string()));
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let records = graph::records(item);
        let (file, value) = match records.as_slice() {
            [only] if only.at.is_empty() => {
                let path = doc.resolve(only)?;
                let inner = Document::open(store.clone(), path.clone()).await?;
                (path, inner.value)
            }
            _ => (file.clone(), item.clone()),
        };
        out.push(Row {
            index,
            file,
            fields: flatten(&value),
        });
    }
    Ok(Ok(Container {
        kind: kind.unwrap_or_default().to_string(),
        rows: out,
    }))
}

/// The content of an envelope (`{"_ser__type": …, "_ser__content": …}`),
/// or the value itself.
fn unwrap(value: &Value) -> &Value {
    match (value.get("_ser__type"), value.get("_ser__content")) {
        (Some(_), Some(content)) => content,
        _ => value,
    }
}

/// Whether a value is a record (a file the item points at, not a field).
fn is_record(value: &Value) -> bool {
    value.get("_ser__type").and_then(Value::as_str) == Some("_ser__record")
}

/// A cell: scalars as they are, short lists of scalars as compact JSON.
fn cell(value: &Value) -> Option<Value> {
    match value {
        Value::Object(_) => None,
        Value::Array(items) => {
            let flat = items.len() <= 16
                && items
                    .iter()
                    .all(|v| !matches!(v, Value::Object(_) | Value::Array(_)));
            flat.then(|| Value::from(json::to_string_compact(value)))
        }
        scalar => Some(scalar.clone()),
    }
}

/// An item's scalar fields, and one level of nested objects' as
/// `field.sub`; records are left out (they are files, not settings).
fn flatten(value: &Value) -> Map {
    let mut out = Map::new();
    let value = unwrap(value);
    let Value::Object(fields) = value else {
        if let Some(v) = cell(value) {
            out.insert("value".into(), v);
        }
        return out;
    };
    for (name, field) in fields {
        if is_record(field) {
            continue;
        }
        let inner = unwrap(field);
        match inner {
            Value::Object(subs) => {
                for (sub, v) in subs {
                    if is_record(v) {
                        continue;
                    }
                    if let Some(v) = cell(unwrap(v)) {
                        out.insert(format!("{name}.{sub}"), v);
                    }
                }
            }
            other => {
                if let Some(v) = cell(other) {
                    out.insert(name.clone(), v);
                }
            }
        }
    }
    out
}

/// A cell as text: strings without quotes, the rest as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => json::to_string_compact(other),
    }
}

/// Whether a cell holds what `--where` asked for: the same text, or the
/// same number (`1e3` is `1000`).
fn matches(value: &Value, wanted: &str) -> bool {
    let shown = text(value);
    shown == wanted
        || matches!((shown.parse::<f64>(), wanted.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// `dman runs`: the rows of `key` that pass every filter, printed.
pub async fn print(
    store: &Arc<dyn StorageBackend>,
    key: &KeyInfo,
    filters: &[String],
    format: Format,
) -> Result<(), Failure> {
    let container = match rows(store, &key.file).await? {
        Ok(container) => container,
        Err(kind) => {
            return Err(Failure(format!(
                "key `{}` is a `{}`, not an mruns or mlist: `dman show {}` shows it",
                escape_control(&key.label()),
                escape_control(&kind),
                escape_control(&key.label())
            )))
        }
    };
    let all = &container.rows;
    let mut columns: Vec<String> = Vec::new();
    for row in all {
        for name in row.fields.keys() {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
    }
    let mut wanted = Vec::new();
    for filter in filters {
        let Some((field, value)) = filter.split_once('=') else {
            return Err(Failure(format!(
                "--where `{}`: expected FIELD=VALUE",
                escape_control(filter)
            )));
        };
        if !columns.iter().any(|c| c == field) {
            return Err(Failure(format!(
                "--where `{}`: no field `{}`; the fields are {}",
                escape_control(filter),
                escape_control(field),
                escape_control(&columns.join(", "))
            )));
        }
        wanted.push((field, value));
    }
    let shown: Vec<&Row> = all
        .iter()
        .filter(|row| {
            wanted.iter().all(|(field, value)| {
                row.fields
                    .get(*field)
                    .is_some_and(|cell| matches(cell, value))
            })
        })
        .collect();
    match format {
        Format::Json => {
            let list: Vec<Value> = shown
                .iter()
                .map(|row| {
                    let mut m = Map::new();
                    m.insert("index".into(), Value::from(row.index));
                    m.insert("file".into(), Value::from(row.file.as_str()));
                    m.insert("fields".into(), Value::Object(row.fields.clone()));
                    Value::Object(m)
                })
                .collect();
            let mut doc = Map::new();
            doc.insert("key".into(), Value::from(key.label()));
            doc.insert(
                "columns".into(),
                Value::Array(columns.iter().map(|c| Value::from(c.as_str())).collect()),
            );
            doc.insert("total".into(), Value::from(all.len()));
            doc.insert("rows".into(), Value::Array(list));
            println!("{}", json::to_string_pretty(&Value::Object(doc)));
        }
        Format::Csv => {
            let header: Vec<String> = std::iter::once("index".to_string())
                .chain(columns.iter().cloned())
                .map(|c| csv_field(&c))
                .collect();
            println!("{}", header.join(","));
            for row in &shown {
                let mut line = vec![row.index.to_string()];
                line.extend(
                    columns
                        .iter()
                        .map(|c| csv_field(&row.fields.get(c).map(text).unwrap_or_default())),
                );
                println!("{}", line.join(","));
            }
        }
        Format::Table => {
            let mut table = vec![std::iter::once("#".to_string())
                .chain(columns.iter().cloned())
                .collect::<Vec<_>>()];
            for row in &shown {
                let mut line = vec![row.index.to_string()];
                line.extend(columns.iter().map(|c| {
                    row.fields
                        .get(c)
                        .map(|v| escape_control(&text(v)).into_owned())
                        .unwrap_or_else(|| "-".into())
                }));
                table.push(line);
            }
            let numeric: Vec<usize> = (0..=columns.len())
                .filter(|&c| {
                    c == 0
                        || shown.iter().all(|row| {
                            row.fields
                                .get(&columns[c - 1])
                                .is_none_or(|v| v.as_f64().is_some())
                        })
                })
                .collect();
            print!("{}", crate::read::table(&table, &numeric));
            let what = if container.kind.contains("mruns") {
                "run"
            } else {
                "item"
            };
            if shown.len() == all.len() {
                println!(
                    "{} {what}{}",
                    all.len(),
                    if all.len() == 1 { "" } else { "s" }
                );
            } else {
                println!(
                    "{} of {} {what}{}",
                    shown.len(),
                    all.len(),
                    if all.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> String {
        let value = json::from_str(text).expect("JSON");
        json::to_string_compact(&Value::Object(flatten(&value)))
    }

    #[test]
    fn items_flatten_to_their_settings() {
        // A run file: a nested dataclass, and records left out.
        assert_eq!(
            flat(
                r#"{"config": {"_ser__type": "config", "_ser__content": {"seed": 1, "name": "a"}},
                    "lr": 0.5,
                    "data": {"_ser__type": "_ser__record", "_ser__content": {"target": "x.npy", "sto_type": "_num__barray"}}}"#
            ),
            r#"{"config.seed": 1, "config.name": "a", "lr": 0.5}"#
        );
        // An inline item of an mlist: an enveloped dataclass, or a scalar.
        assert_eq!(
            flat(r#"{"_ser__type": "point", "_ser__content": {"x": 1, "y": [1, 2]}}"#),
            r#"{"x": 1, "y": "[1, 2]"}"#
        );
        assert_eq!(flat("3"), r#"{"value": 3}"#);
        // Deeper levels than one are not columns.
        assert_eq!(flat(r#"{"a": {"b": {"c": 1}}}"#), "{}");
    }

    #[test]
    fn filters_compare_text_or_number() {
        assert!(matches(&Value::from(1000i64), "1000"));
        assert!(matches(&Value::from(1000i64), "1e3"));
        assert!(matches(&Value::from("adam"), "adam"));
        assert!(!matches(&Value::from("adam"), "\"adam\""));
        assert!(!matches(&Value::from(1i64), "2"));
    }
}
