//! `dman show`: one JSON file, pretty, optionally with its records expanded.

use std::sync::Arc;

use dman::core::graph::{self, Document};
use dman::core::json::{self, Map, Value};
use dman::{StorageBackend, StoragePath};

use crate::Failure;

/// The file at `path`, pretty; with `follow`, each record is replaced by
/// what it points to (JSON targets inline, other files as type, size and
/// path).
pub async fn show(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    follow: bool,
) -> Result<String, Failure> {
    let doc = Document::open(store.clone(), path.clone()).await?;
    if !follow {
        return Ok(json::to_string_pretty(&doc.value));
    }
    let mut seen = vec![path.clone()];
    let value = expand(store, &doc, doc.value.clone(), &mut seen).await?;
    Ok(json::to_string_pretty(&value))
}

fn expand<'a>(
    store: &'a Arc<dyn StorageBackend>,
    doc: &'a Document,
    value: Value,
    seen: &'a mut Vec<StoragePath>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Failure>> + Send + 'a>> {
    Box::pin(async move {
        let here = graph::records(&value);
        if let [only] = here.as_slice() {
            if only.at.is_empty() {
                return expand_record(store, doc, only, seen).await;
            }
        }
        Ok(match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    let v = expand(store, doc, v, seen).await?;
                    out.insert(k, v);
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    out.push(expand(store, doc, v, seen).await?);
                }
                Value::Array(out)
            }
            other => other,
        })
    })
}

async fn expand_record(
    store: &Arc<dyn StorageBackend>,
    doc: &Document,
    record: &graph::RecordRef,
    seen: &mut Vec<StoragePath>,
) -> Result<Value, Failure> {
    let mut out = Map::new();
    out.insert("record".into(), Value::String(record.target.clone()));
    out.insert("sto_type".into(), Value::String(record.sto_type.clone()));
    let path = match doc.resolve(record) {
        Ok(p) => p,
        Err(e) => {
            out.insert("error".into(), Value::String(e.to_string()));
            return Ok(Value::Object(out));
        }
    };
    out.insert("path".into(), Value::String(path.to_string()));
    if path.suffix() == Some(".json") && !seen.contains(&path) {
        match Document::open(store.clone(), path.clone()).await {
            Ok(inner) => {
                seen.push(path);
                let content = expand(store, &inner, inner.value.clone(), seen).await?;
                out.insert("content".into(), content);
            }
            Err(e) => {
                out.insert("error".into(), Value::String(e.to_string()));
            }
        }
    } else {
        match store.read(&path).await {
            Ok(bytes) => {
                out.insert("size".into(), Value::from(bytes.len() as u64));
            }
            Err(e) => {
                out.insert("error".into(), Value::String(e.to_string()));
            }
        }
    }
    Ok(Value::Object(out))
}
