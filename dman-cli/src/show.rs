//! `dman show`: one JSON file, pretty, optionally with its records expanded.
//!
//! Following records reads the files a graph reaches breadth first (no
//! recursion over files, so a chain of thousands of files cannot overflow
//! the stack), then expands them in place as long as the result stays
//! within the JSON depth limit; a record that would nest deeper says so
//! instead of being expanded. Sizes of content files come from the backend's
//! metadata: a 4 GB entry is not read to print its size.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use dman::core::graph::{self, Document};
use dman::core::json::{self, Map, Value, MAX_DEPTH};
use dman::{StorageBackend, StoragePath};
use futures::StreamExt;

use crate::Failure;

/// The file at `path`, pretty; with `follow`, each record is replaced by
/// what it points to (JSON targets inline, other files as type, size and
/// path).
pub async fn show(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    follow: bool,
) -> Result<String, Failure> {
    if path.suffix() == Some(".npy") {
        return npy(store, path).await;
    }
    if path.suffix() != Some(".json") {
        return other(store, path).await;
    }
    let doc = Document::open(store.clone(), path.clone()).await?;
    if !follow {
        return Ok(json::to_string_pretty(&doc.value));
    }
    let reached = Reached::read(store, &doc).await;
    let mut expander = Expander {
        reached: &reached,
        shown: HashSet::from([path.clone()]),
    };
    let value = expander.expand(&doc, &doc.value, 0);
    Ok(json::to_string_pretty(&value))
}

/// A `.npy` array described from its header alone: the data is not read.
async fn npy(store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<String, Failure> {
    let size = store.head(path).await?.size;
    let header = dman::tree::npy_header(store, path)
        .await
        .map_err(|e| Failure(format!("{path}: {e}")))?;
    let dtype = match header.dtype_name() {
        Some(name) => format!("{name} (`{}`)", header.descr),
        None => format!("`{}`", header.descr),
    };
    let elements = header
        .len()
        .map_or_else(|| "too many to count".into(), |n| n.to_string());
    Ok(format!(
        "{path}: numpy array\n  shape    {}\n  dtype    {dtype}\n  order    {}\n  \
         elements {elements}\n  size     {} ({size} bytes, data from byte {})",
        header.shape_text(),
        if header.fortran_order {
            "Fortran (column-major)"
        } else {
            "C (row-major)"
        },
        dman::tree::human_size(size),
        header.data_offset,
    ))
}

/// Any other file: its text when it is UTF-8 and small, else what it is.
async fn other(store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<String, Failure> {
    let size = store.head(path).await?.size;
    if size <= dman::tree::CONTENT_LIMIT {
        let bytes = store.read(path).await?;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let lines: Vec<_> = text.lines().map(dman::tree::escape_control).collect();
            return Ok(lines.join("\n"));
        }
    }
    Ok(format!(
        "{path}: {} of binary data (not shown; `dman cat` writes it out)",
        dman::tree::human_size(size)
    ))
}

/// How many sizes are asked for at once.
const HEAD_CONCURRENCY: usize = 16;

/// What the records of a graph reach: the JSON documents (or why they could
/// not be read) and the other files' sizes (or why they are unknown).
struct Reached {
    docs: HashMap<StoragePath, Result<Document, String>>,
    sizes: HashMap<StoragePath, Result<u64, String>>,
}

impl Reached {
    /// Reads, breadth first, every file reachable from `top` through at
    /// most `MAX_DEPTH / 2` records (each expanded record nests at least two
    /// levels deeper, so no deeper file could be shown).
    async fn read(store: &Arc<dyn StorageBackend>, top: &Document) -> Reached {
        let mut reached = Reached {
            docs: HashMap::new(),
            sizes: HashMap::new(),
        };
        let mut files: HashSet<StoragePath> = HashSet::new();
        let mut queue: VecDeque<(Document, usize)> = VecDeque::from([(top.clone(), 0)]);
        while let Some((doc, files_deep)) = queue.pop_front() {
            if files_deep >= MAX_DEPTH / 2 {
                continue;
            }
            for record in doc.records() {
                let Ok(path) = doc.resolve(&record) else {
                    continue;
                };
                if reached.docs.contains_key(&path) || files.contains(&path) || path == top.path {
                    continue;
                }
                if path.suffix() == Some(".json") {
                    match Document::open(store.clone(), path.clone()).await {
                        Ok(inner) => {
                            queue.push_back((inner.clone(), files_deep + 1));
                            reached.docs.insert(path, Ok(inner));
                        }
                        Err(e) => {
                            reached.docs.insert(path, Err(e.to_string()));
                        }
                    }
                } else {
                    files.insert(path);
                }
            }
        }
        // Sizes from the backend's metadata, several at once (on S3 each is
        // a request), never by reading the files.
        reached.sizes = futures::stream::iter(files)
            .map(|path| async move {
                let size = store.head(&path).await.map(|meta| meta.size);
                (path, size.map_err(|e| e.to_string()))
            })
            .buffer_unordered(HEAD_CONCURRENCY)
            .collect()
            .await;
        reached
    }
}

/// Expands records in place, each JSON document once (a document reached
/// again, or in a cycle, is shown by its path only).
struct Expander<'a> {
    reached: &'a Reached,
    shown: HashSet<StoragePath>,
}

impl Expander<'_> {
    /// `value`, part of `doc`, at `level` levels of nesting in the output.
    /// Recurses once per level, which the depth check below bounds by
    /// [`MAX_DEPTH`].
    fn expand(&mut self, doc: &Document, value: &Value, level: usize) -> Value {
        let here = graph::records(value);
        if let [only] = here.as_slice() {
            if only.at.is_empty() {
                return self.expand_record(doc, only, level);
            }
        }
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.expand(doc, v, level + 1)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.expand(doc, v, level + 1))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn expand_record(&mut self, doc: &Document, record: &graph::RecordRef, level: usize) -> Value {
        let mut out = Map::new();
        out.insert("record".into(), Value::String(record.target.clone()));
        out.insert("sto_type".into(), Value::String(record.sto_type.clone()));
        let path = match doc.resolve(record) {
            Ok(p) => p,
            Err(e) => {
                out.insert("error".into(), Value::String(e.to_string()));
                return Value::Object(out);
            }
        };
        out.insert("path".into(), Value::String(path.to_string()));
        if let Some(found) = self.reached.docs.get(&path) {
            match found {
                Ok(inner) if !self.shown.contains(&path) => {
                    if level + 2 + depth(&inner.value) > MAX_DEPTH {
                        out.insert(
                            "error".into(),
                            Value::String(format!(
                                "not expanded: records nested deeper than {MAX_DEPTH} levels"
                            )),
                        );
                    } else {
                        self.shown.insert(path);
                        let content = self.expand(inner, &inner.value, level + 1);
                        out.insert("content".into(), content);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    out.insert("error".into(), Value::String(e.clone()));
                }
            }
        } else if let Some(size) = self.reached.sizes.get(&path) {
            match size {
                Ok(size) => {
                    out.insert("size".into(), Value::from(*size));
                }
                Err(e) => {
                    out.insert("error".into(), Value::String(e.clone()));
                }
            }
        } else if path.suffix() == Some(".json") {
            out.insert(
                "error".into(),
                Value::String(format!(
                    "not expanded: more than {} files deep",
                    MAX_DEPTH / 2
                )),
            );
        }
        Value::Object(out)
    }
}

/// The nesting depth of a value (a scalar is 0). Values parsed from files
/// are at most [`MAX_DEPTH`] deep, so the recursion is bounded.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
