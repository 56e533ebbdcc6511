//! The untyped walker: records and invalid markers found in any JSON
//! document, the files a graph owns, and the files read ahead for
//! `preload` records, all without the graph's Rust types.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::error::{Error, FileRef, Result};
use crate::json::{self, Value};
use crate::path::StoragePath;
use crate::serial::{self, split_envelope, RECORD_TYPE};
use crate::storage::StorageBackend;

/// How many files a save writes, or a walk reads, at once unless told
/// otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// A record found in a JSON document without knowing its Rust type.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRef {
    /// Where in the document (`store[0]`, `data`).
    pub at: String,
    /// The target as written, relative to the document's folder.
    pub target: String,
    /// The storage-type name.
    pub sto_type: String,
    /// Whether the record asks to be read when its holder is loaded.
    pub preload: bool,
}

/// Whether a JSON object is the content of a record (`target` and
/// `sto_type`, as written inside an envelope or by a compact modelclass).
pub(crate) fn record_content(value: &Value) -> Option<(&str, &str, bool)> {
    let obj = value.as_object()?;
    let target = json::lookup(obj, "target")?.as_str()?;
    let sto_type = json::lookup(obj, "sto_type")?.as_str()?;
    if obj
        .keys()
        .any(|k| !matches!(k.as_str(), "target" | "sto_type" | "preload" | "exceptions"))
    {
        return None;
    }
    let preload = json::lookup(obj, "preload")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some((target, sto_type, preload))
}

/// Every record in a JSON document, in document order.
pub fn records(value: &Value) -> Vec<RecordRef> {
    let mut out = Vec::new();
    visit_records(value, Places::Kept, |at, target, sto_type, preload| {
        out.push(RecordRef {
            at: place(at),
            target: target.into(),
            sto_type: sto_type.into(),
            preload,
        });
    });
    out
}

/// Calls `see(at, target, sto_type, preload)` on every record in a JSON
/// document, in document order, borrowing from the document: a caller that
/// wants a few records (the preloaded ones) allocates nothing for the rest.
/// With [`Places::Skipped`], `at` is always empty.
fn visit_records<'v>(
    value: &'v Value,
    places: Places,
    mut see: impl FnMut(&str, &'v str, &'v str, bool),
) {
    walk_with(value, places, |value, at| {
        let (content, enveloped) = match split_envelope(value) {
            Some((name, content)) => (content, name == RECORD_TYPE),
            None => (value, value.as_object().is_some()),
        };
        if enveloped {
            if let Some((target, sto_type, preload)) = record_content(content) {
                see(at, target, sto_type, preload);
                return Visit::Skip;
            }
        }
        Visit::Into(content)
    });
}

/// The longest place in a document (`RecordRef::at`, `MarkerRef::at`) kept
/// whole; a longer one keeps its end, after `…`. With [`walk`]'s one shared
/// buffer, a hostile document (long keys nested deep, records at the
/// bottom) costs time and memory in proportion to its size.
const MAX_AT: usize = 1024;

/// `at` as a find records it: whole, or about its last [`MAX_AT`] bytes.
fn place(at: &str) -> String {
    if at.len() <= MAX_AT {
        return at.to_owned();
    }
    let mut start = at.len() - MAX_AT;
    while !at.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &at[start..])
}

/// A tree [`walk`] goes through: JSON values, or [`Dynamic`](crate::Dynamic)
/// values; both hold ordered string-keyed maps and lists of themselves.
pub(crate) trait Tree: Sized {
    /// The entries, if this is a map.
    fn entries(&self) -> Option<&indexmap::IndexMap<String, Self>>;
    /// The items, if this is a list.
    fn items(&self) -> Option<&[Self]>;
}

impl Tree for Value {
    fn entries(&self) -> Option<&indexmap::IndexMap<String, Self>> {
        self.as_object()
    }
    fn items(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }
}

/// What a [`walk`] does after seeing a value.
pub(crate) enum Visit<'v, N> {
    /// Go on into this value's items (the value itself, or the content of
    /// its envelope).
    Into(&'v N),
    /// Leave its items alone.
    Skip,
}

/// One step of a place in a document: a key or a position.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
    /// An envelope's content, at the envelope's place.
    Same,
}

/// Calls `see` on `value` and, in document order, on every value it holds
/// with its place (`runs[0].config`). An explicit stack, not recursion: a
/// value built in memory may be nested deeper than any parsed one, and no
/// walk over a graph may overflow the stack. One buffer holds the place:
/// each pending value remembers the length of its parent's place, which
/// depth-first order leaves intact until it is taken. The one walker of
/// the crate: JSON documents here, `Dynamic` values in `dynamic`.
pub(crate) fn walk<'v, N: Tree>(value: &'v N, see: impl FnMut(&'v N, &str) -> Visit<'v, N>) {
    walk_with(value, Places::Kept, see);
}

/// Whether a [`walk`] builds the places it passes (`runs[0].config`):
/// a walk that never reads them (reading ahead on every load) skips
/// their formatting.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Places {
    Kept,
    Skipped,
}

/// [`walk`], with its places built or left empty.
fn walk_with<'v, N: Tree>(
    value: &'v N,
    places: Places,
    mut see: impl FnMut(&'v N, &str) -> Visit<'v, N>,
) {
    let mut at = String::new();
    let mut pending: Vec<(&'v N, usize, Step<'v>)> = vec![(value, 0, Step::Same)];
    while let Some((value, parent, step)) = pending.pop() {
        at.truncate(parent);
        match step {
            _ if places == Places::Skipped => {}
            Step::Key(k) => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(k);
            }
            Step::Index(i) => {
                use std::fmt::Write as _;
                let _ = write!(at, "[{i}]");
            }
            Step::Same => {}
        }
        let Visit::Into(inner) = see(value, &at) else {
            continue;
        };
        let here = at.len();
        if !std::ptr::eq(inner, value) {
            pending.push((inner, here, Step::Same));
            continue;
        }
        if let Some(map) = inner.entries() {
            pending.extend(map.iter().rev().map(|(k, v)| (v, here, Step::Key(k))));
        } else if let Some(items) = inner.items() {
            pending.extend(
                items
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, v)| (v, here, Step::Index(i))),
            );
        }
    }
}

/// Whether a target is a JSON record graph of its own, which the untyped
/// walkers follow (Python writes serializable storables as `.json`).
pub(crate) fn is_json_target(path: &StoragePath) -> bool {
    path.suffix() == Some(".json")
}

/// Parses the JSON file at `path`, naming it in errors.
pub async fn read_json(store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<Value> {
    let bytes = store.read(path).await?;
    parse_json(&bytes, store, path)
}

fn parse_json(bytes: &[u8], store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<Value> {
    json::from_slice(bytes).map_err(|source| Error::Json {
        file: FileRef::in_store(store.as_ref(), path),
        source,
    })
}

/// Reads ahead the files of every `preload` record reachable from `value`
/// through preloaded JSON files. Missing files are left out: the record then
/// fails on access, naming the file.
pub async fn prefetch(
    store: &Arc<dyn StorageBackend>,
    dir: &StoragePath,
    value: &Value,
) -> Result<HashMap<StoragePath, Bytes>> {
    let mut found = HashMap::new();
    let mut pending: Vec<StoragePath> = preload_paths(dir, value);
    while !pending.is_empty() {
        let batch: Vec<_> = std::mem::take(&mut pending)
            .into_iter()
            .filter(|p| !found.contains_key(p))
            .collect();
        let read: Vec<(StoragePath, Option<Bytes>)> = stream::iter(batch)
            .map(|p| async move {
                match store.read(&p).await {
                    Ok(b) => Ok((p, Some(b))),
                    Err(e) if e.is_not_found() => Ok((p, None)),
                    Err(e) => Err(Error::from(e)),
                }
            })
            .buffer_unordered(DEFAULT_CONCURRENCY)
            .try_collect()
            .await?;
        for (path, bytes) in read {
            let Some(bytes) = bytes else { continue };
            if is_json_target(&path) {
                let doc = parse_json(&bytes, store, &path)?;
                let sub = path.dir();
                pending.extend(preload_paths(&sub, &doc));
            }
            found.insert(path, bytes);
        }
    }
    Ok(found)
}

fn preload_paths(dir: &StoragePath, value: &Value) -> Vec<StoragePath> {
    let mut paths = Vec::new();
    visit_records(value, Places::Skipped, |_, target, _, preload| {
        if let Some(path) = preload.then(|| dir.join(target).ok()).flatten() {
            paths.push(path);
        }
    });
    paths
}

/// Every file a JSON record graph at `path` owns: the records it holds,
/// followed through JSON targets, to any depth. Missing files and refused
/// targets are skipped; the file itself is not included.
pub async fn owned_files(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<Vec<StoragePath>> {
    let mut seen: HashSet<StoragePath> = HashSet::new();
    let mut out = Vec::new();
    // Level by level, the JSON files of one level read concurrently (the
    // run files of an `mruns`, say), in order so that the result is the
    // same whatever finishes first.
    let mut level = vec![path.clone()];
    while !level.is_empty() {
        let docs: Vec<_> = stream::iter(std::mem::take(&mut level))
            .map(|file| async move {
                let read = store.read(&file).await;
                (file, read)
            })
            .buffered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        for (file, read) in docs {
            let doc = match read {
                Ok(bytes) => match json::from_slice(&bytes) {
                    Ok(doc) => doc,
                    Err(_) => continue,
                },
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            let dir = file.dir();
            for r in records(&doc) {
                let Ok(p) = dir.join(&r.target) else { continue };
                if seen.insert(p.clone()) {
                    if is_json_target(&p) {
                        level.push(p.clone());
                    }
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}

/// A JSON file of a record graph, loaded without its Rust types.
///
/// Unknown type names are kept as they are: saving [`Document::value`] back
/// writes the same JSON.
#[derive(Debug, Clone)]
pub struct Document {
    store: Arc<dyn StorageBackend>,
    /// The file.
    pub path: StoragePath,
    /// Its content.
    pub value: Value,
}

/// What a record points at, read without knowing its Rust type.
#[derive(Debug, Clone)]
pub enum Followed {
    /// A JSON file: a record graph of its own.
    Document(Document),
    /// Any other file, as bytes.
    Bytes(Bytes),
}

/// An invalid marker found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerRef {
    /// Where in the document.
    pub at: String,
    /// The marker's type name (`__no_file`, ...).
    pub marker: String,
}

impl Document {
    /// Reads and parses the JSON file `path`.
    pub async fn open(store: Arc<dyn StorageBackend>, path: StoragePath) -> Result<Self> {
        let value = read_json(&store, &path).await?;
        Ok(Document { store, path, value })
    }

    /// The folder record targets are relative to.
    pub fn dir(&self) -> StoragePath {
        self.path.dir()
    }

    /// Every record in the document.
    pub fn records(&self) -> Vec<RecordRef> {
        records(&self.value)
    }

    /// The file a record points at; refused when the target leaves the root.
    pub fn resolve(&self, record: &RecordRef) -> Result<StoragePath> {
        Ok(self.dir().join(&record.target)?)
    }

    /// Reads what a record points at: a JSON target as a [`Document`],
    /// anything else as bytes.
    pub async fn follow(&self, record: &RecordRef) -> Result<Followed> {
        let path = self.resolve(record)?;
        if is_json_target(&path) {
            Ok(Followed::Document(
                Document::open(self.store.clone(), path).await?,
            ))
        } else {
            Ok(Followed::Bytes(self.store.read(&path).await?))
        }
    }

    /// Every invalid marker Python dman left in the document.
    pub fn invalid_markers(&self) -> Vec<MarkerRef> {
        let mut out = Vec::new();
        walk(&self.value, |value, at| {
            match serial::invalid_marker(value) {
                Some(marker) => {
                    out.push(MarkerRef {
                        at: place(at),
                        marker: marker.to_string(),
                    });
                    Visit::Skip
                }
                None => Visit::Into(value),
            }
        });
        out
    }
}
