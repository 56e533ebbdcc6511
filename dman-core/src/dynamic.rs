//! [`Dynamic`]: any part of any record graph, without its Rust types.
//!
//! A key loaded as `Dynamic` holds JSON values as they are, serializables
//! of any type name (unknown ones included) with their content, and records
//! of any `sto_type`, whose files are read only when asked for and then kept
//! as bytes, or, for a `.json` file, as a `Dynamic` of its own so that the
//! records inside it are followed too (Python's `smdict`, `smlist`,
//! `smruns` and storable modelclasses). Saving it writes the same JSON and
//! the same content files, under any base or backend.
//!
//! Editing a `Dynamic` edits the graph as it is written: a removed or
//! replaced value's records are deleted after the next save, but a record
//! added with [`DynRecord::new`] is named as it is given (or with a fresh
//! uuid), not by the options of a Python container it is put in. To have a
//! container name it, hold the items in an `MDict<Dynamic>` (or `MList`,
//! `MRuns`), which places them as it places a storable.
//!
//! ```
//! # async fn demo() -> dman_core::Result<()> {
//! use std::sync::Arc;
//! use dman_core::dynamic::Dynamic;
//! # let store: Arc<dyn dman_core::StorageBackend> = unimplemented!();
//! let repo = dman_core::Repo::new(store);
//! let mut lab: Dynamic = repo.load("lab").await?;
//! if let Some(count) = lab.get("count").and_then(Dynamic::as_i64) {
//!     lab.insert("count", count + 1);
//! }
//! lab.remove("old");        // its files are deleted after the next save
//! repo.save("lab", &lab).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use indexmap::IndexMap;

use crate::context::{DecodeContext, EncodeContext, Placement, Released};
use crate::error::{FileRef, Result};
use crate::graph;
use crate::json::{self, Map, Value};
use crate::model::{Item, Unused};
use crate::path::StoragePath;
use crate::record::{Kind, Record, RECORD_TYPE};
use crate::serial::{self, Serializable, SER_CONTENT, SER_TYPE};
use crate::storable::Stored;
use crate::storage::StorageBackend;

/// Any value of a record graph.
///
/// JSON scalars are kept as they were written (an integer stays an
/// integer); lists and dicts keep their order. Every variant saves back to
/// the JSON it was read from.
#[derive(Clone, PartialEq)]
pub enum Dynamic {
    /// `null` (Python's `None`).
    Null,
    /// A bool.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A non-negative integer above `i64::MAX`.
    UInt(u64),
    /// A float, `NaN` and the infinities included.
    Float(f64),
    /// An integer beyond 64 bits, as its digits.
    BigInt(String),
    /// A string.
    String(String),
    /// A JSON list.
    List(List),
    /// A JSON object that is neither an envelope nor a record.
    Dict(Dict),
    /// A serializable of any type: `{"_ser__type": NAME, "_ser__content": ...}`.
    Typed(Typed),
    /// A record of any storable type.
    Record(Box<DynRecord>),
}

/// A list of values. Removing or replacing an item releases its records'
/// files: the next save deletes them after it commits.
#[derive(Default)]
pub struct List {
    items: Vec<Dynamic>,
    unused: Unused,
}

/// An ordered string-keyed map of values. Removing or replacing an entry
/// releases its records' files, as [`List`] does.
#[derive(Default)]
pub struct Dict {
    entries: IndexMap<String, Dynamic>,
    unused: Unused,
}

/// A serializable of any type name, kept with its content.
#[derive(Clone, PartialEq)]
pub struct Typed {
    /// The `_ser__type` name (`_ser__mdict`, `config`, a type Rust does not
    /// know, ...).
    pub name: String,
    /// The content, walked for the records it holds.
    pub content: Box<Dynamic>,
}

/// A record of any `sto_type`: the file is read on first access, and
/// written back unchanged unless its content is replaced.
pub struct DynRecord {
    sto_type: String,
    /// Written inside a `_ser__record` envelope (a compact modelclass writes
    /// the bare `{target, sto_type}`).
    enveloped: bool,
    extension: String,
    record: Record<Content>,
}

/// What a record's file holds, read without its Rust type.
#[derive(Clone, PartialEq)]
pub enum Content {
    /// The file's bytes.
    Bytes(Bytes),
    /// A `.json` file: a record graph of its own.
    Graph(Graph),
}

/// A `.json` content file, with the records it holds followed.
#[derive(Clone)]
pub struct Graph {
    value: Dynamic,
    /// The bytes read and their JSON: written as they were while the graph
    /// writes the same JSON, whatever their formatting.
    read: Option<(Bytes, Value)>,
}

// ---- reading ---------------------------------------------------------------

impl Dynamic {
    /// The value at `key` of a dict, or the item at `key` of a Python
    /// `mdict`/`smdict` (its `store`), or the content entry of another
    /// serializable.
    pub fn get(&self, key: &str) -> Option<&Dynamic> {
        match self {
            Dynamic::Dict(d) => d.get(key),
            Dynamic::Typed(t) => match t.store() {
                Some(Dynamic::Dict(store)) => store.get(key),
                _ => t.content.get(key),
            },
            _ => None,
        }
    }

    /// The value at `key`, for changing it in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Dynamic> {
        match self {
            Dynamic::Dict(d) => d.get_mut(key),
            Dynamic::Typed(t) => {
                if t.is_container() {
                    match t.content.get_mut("store") {
                        Some(Dynamic::Dict(store)) => store.get_mut(key),
                        _ => None,
                    }
                } else {
                    t.content.get_mut(key)
                }
            }
            _ => None,
        }
    }

    /// The item at `index` of a list, or of a Python `mlist`/`mruns` (and
    /// their storable forms).
    pub fn at(&self, index: usize) -> Option<&Dynamic> {
        self.as_list().and_then(|l| l.get(index))
    }

    /// The item at `index`, for changing it in place.
    pub fn at_mut(&mut self, index: usize) -> Option<&mut Dynamic> {
        self.as_list_mut().and_then(|l| l.get_mut(index))
    }

    /// The list this value is, or the `store` of a Python list container.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Dynamic::List(l) => Some(l),
            Dynamic::Typed(t) => match t.store() {
                Some(Dynamic::List(l)) => Some(l),
                _ => None,
            },
            _ => None,
        }
    }

    /// The list, for changing it.
    pub fn as_list_mut(&mut self) -> Option<&mut List> {
        match self {
            Dynamic::List(l) => Some(l),
            Dynamic::Typed(t) if t.is_container() => match t.content.get_mut("store") {
                Some(Dynamic::List(l)) => Some(l),
                _ => None,
            },
            _ => None,
        }
    }

    /// The dict this value is, or the `store` of a Python dict container.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Dynamic::Dict(d) => Some(d),
            Dynamic::Typed(t) => match t.store() {
                Some(Dynamic::Dict(d)) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// The dict, for changing it.
    pub fn as_dict_mut(&mut self) -> Option<&mut Dict> {
        match self {
            Dynamic::Dict(d) => Some(d),
            Dynamic::Typed(t) if t.is_container() => match t.content.get_mut("store") {
                Some(Dynamic::Dict(d)) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// The record this value is.
    pub fn as_record(&self) -> Option<&DynRecord> {
        match self {
            Dynamic::Record(r) => Some(r),
            _ => None,
        }
    }

    /// The integer this value is.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Dynamic::Int(i) => Some(*i),
            Dynamic::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The number this value is, as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Dynamic::Int(i) => Some(*i as f64),
            Dynamic::UInt(u) => Some(*u as f64),
            Dynamic::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The string this value is.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Dynamic::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool this value is.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Dynamic::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Dynamic::Null)
    }

    /// The `_ser__type` name of a serializable, `_ser__record` for a record.
    pub fn type_name(&self) -> Option<&str> {
        match self {
            Dynamic::Typed(t) => Some(&t.name),
            Dynamic::Record(_) => Some(RECORD_TYPE),
            _ => None,
        }
    }

    /// Calls `see` on this value and every value it holds, in document
    /// order, with its place (`store.alice`, `runs[0]`; an envelope's
    /// content is at the envelope's place). Records are not followed into
    /// their files. An explicit stack, not recursion.
    pub fn walk<'a>(&'a self, mut see: impl FnMut(&str, &'a Dynamic)) {
        graph::walk(self, |value: &'a Dynamic, at| {
            see(at, value);
            match value {
                Dynamic::Typed(t) => graph::Visit::Into(&t.content),
                Dynamic::List(_) | Dynamic::Dict(_) => graph::Visit::Into(value),
                _ => graph::Visit::Skip,
            }
        });
    }

    /// Every record this value holds, with its place, in document order
    /// (not followed into their files).
    pub fn records(&self) -> Vec<(String, &DynRecord)> {
        let mut out = Vec::new();
        self.walk(|at, value| {
            if let Dynamic::Record(r) = value {
                out.push((at.to_string(), &**r));
            }
        });
        out
    }
}

// ---- changing --------------------------------------------------------------

impl Dynamic {
    /// An empty list.
    pub fn list() -> Self {
        Dynamic::List(List::default())
    }

    /// An empty dict.
    pub fn dict() -> Self {
        Dynamic::Dict(Dict::default())
    }

    /// Sets `key` of a dict (or of a Python `mdict`'s store) to `value`,
    /// giving back the old value; its records' files are deleted after the
    /// next save. `None` when this is no dict (nothing changes then).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Dynamic>) -> Option<Dynamic> {
        self.as_dict_mut()?.insert(key, value)
    }

    /// Removes `key` of a dict (or of a Python `mdict`'s store); its
    /// records' files are deleted after the next save.
    pub fn remove(&mut self, key: &str) -> Option<Dynamic> {
        self.as_dict_mut()?.remove(key)
    }

    /// Appends to a list (or to a Python `mlist`'s store). Gives the value
    /// back when this is no list.
    pub fn push(&mut self, value: impl Into<Dynamic>) -> std::result::Result<(), Dynamic> {
        match self.as_list_mut() {
            Some(l) => {
                l.push(value);
                Ok(())
            }
            None => Err(value.into()),
        }
    }

    /// Removes the item at `index` of a list (or of a Python `mlist`'s
    /// store); its records' files are deleted after the next save.
    pub fn remove_at(&mut self, index: usize) -> Option<Dynamic> {
        self.as_list_mut()?.remove(index)
    }

    fn release(&mut self, out: &mut Vec<Released>) {
        let mut pending: Vec<&mut Dynamic> = vec![self];
        while let Some(value) = pending.pop() {
            match value {
                Dynamic::Record(r) => r.record.release(r.json(), out),
                Dynamic::List(l) => {
                    out.append(&mut l.unused.lock());
                    pending.extend(l.items.iter_mut());
                }
                Dynamic::Dict(d) => {
                    out.append(&mut d.unused.lock());
                    pending.extend(d.entries.values_mut());
                }
                Dynamic::Typed(t) => pending.push(&mut t.content),
                _ => {}
            }
        }
    }
}

impl List {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<&Dynamic> {
        self.items.get(index)
    }

    /// The item at `index`, for changing it in place.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Dynamic> {
        self.items.get_mut(index)
    }

    /// The items, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Dynamic> {
        self.items.iter()
    }

    /// Appends a value.
    pub fn push(&mut self, value: impl Into<Dynamic>) {
        self.items.push(value.into());
    }

    /// Inserts a value at `index` (panics if `index > len`, like `Vec`).
    pub fn insert(&mut self, index: usize, value: impl Into<Dynamic>) {
        self.items.insert(index, value.into());
    }

    /// Replaces the item at `index`, giving back the old one, whose records'
    /// files are deleted after the next save.
    pub fn set(&mut self, index: usize, value: impl Into<Dynamic>) -> Option<Dynamic> {
        let slot = self.items.get_mut(index)?;
        let old = std::mem::replace(slot, value.into());
        Some(self.unused.add(old))
    }

    /// Removes the item at `index`; its records' files are deleted after
    /// the next save.
    pub fn remove(&mut self, index: usize) -> Option<Dynamic> {
        (index < self.items.len()).then(|| self.unused.add(self.items.remove(index)))
    }
}

impl Dict {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dict is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Dynamic> {
        self.entries.get(key)
    }

    /// The value at `key`, for changing it in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Dynamic> {
        self.entries.get_mut(key)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entries, in order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, String, Dynamic> {
        self.entries.iter()
    }

    /// Sets `key` to `value`, giving back the old value, whose records'
    /// files are deleted after the next save.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Dynamic>) -> Option<Dynamic> {
        let old = self.entries.insert(key.into(), value.into())?;
        Some(self.unused.add(old))
    }

    /// Removes `key`; its records' files are deleted after the next save.
    pub fn remove(&mut self, key: &str) -> Option<Dynamic> {
        let old = self.entries.shift_remove(key)?;
        Some(self.unused.add(old))
    }
}

impl Typed {
    /// Python's model containers keep their items in `store`.
    fn is_container(&self) -> bool {
        matches!(
            self.name.as_str(),
            "_ser__mlist"
                | "_ser__smlist"
                | "_ser__mdict"
                | "_ser__smdict"
                | "_ser__mruns"
                | "_ser__smruns"
        )
    }

    fn store(&self) -> Option<&Dynamic> {
        if self.is_container() {
            self.content.get("store")
        } else {
            None
        }
    }
}

// ---- records ---------------------------------------------------------------

impl DynRecord {
    /// A new record of type `sto_type` holding `content`, written on the
    /// next save under a fresh name with `extension` (with its dot), in the
    /// folder its container gives.
    pub fn new(
        sto_type: impl Into<String>,
        extension: impl Into<String>,
        content: impl Into<Content>,
    ) -> Self {
        DynRecord {
            sto_type: sto_type.into(),
            enveloped: true,
            extension: extension.into(),
            record: Record::new(content.into()),
        }
    }

    /// Sets the file's name (stem and suffix).
    pub fn name(mut self, name: &str) -> Self {
        self.record = self.record.name(name);
        self
    }

    /// The storage-type name.
    pub fn sto_type(&self) -> &str {
        &self.sto_type
    }

    /// The target as the record writes it (`subdir/name`), once known.
    pub fn target(&self) -> Option<String> {
        self.record.target()
    }

    /// The file the content was read from or last saved to, if any.
    pub fn path(&self) -> Option<StoragePath> {
        self.record.path()
    }

    /// Whether the content is in memory.
    pub fn is_loaded(&self) -> bool {
        self.record.is_loaded()
    }

    /// The content, read from its file on first access.
    pub async fn get(&self) -> Result<&Content> {
        let content = self
            .record
            .cell()
            .get_or_try_init(|| async {
                let (store, path) = self.record.source()?;
                let bytes = store.read(&path).await?;
                Content::read(bytes, store, &path, self.json())
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(content)
    }

    /// Replaces the content; the record keeps its file name, and the old
    /// content's files are deleted after the next save.
    pub fn set(&mut self, content: Content) {
        self.record.set(content);
    }

    /// Whether the file is a JSON record graph (the untyped walkers' rule:
    /// Python writes serializable storables as `.json`).
    fn json(&self) -> bool {
        match self.record.target() {
            Some(target) => target.ends_with(".json"),
            None => self.extension == ".json",
        }
    }

    fn encode(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        let kind = Kind {
            sto_type: &self.sto_type,
            extension: &self.extension,
            json: self.json(),
        };
        let content = self.record.encode(ctx, kind, |content, ctx| {
            Ok(Content::write(content, ctx)?.into_bytes().into())
        })?;
        Ok(if self.enveloped {
            serial::envelope(RECORD_TYPE, content)
        } else {
            content
        })
    }

    fn decode(content: &Value, enveloped: bool, ctx: &DecodeContext) -> Result<Self> {
        let (record, sto_type) = Record::<Content>::decode(content, ctx, None)?;
        let record = DynRecord {
            sto_type: sto_type.to_owned(),
            enveloped,
            extension: String::new(),
            record,
        };
        if record.record.is_preload() {
            if let Ok((_, path)) = record.record.source() {
                if let Some(bytes) = ctx.prefetched(&path) {
                    let content = Content::read_prefetched(bytes, &path, record.json(), ctx)?;
                    let _ = record.record.cell().set(Arc::new(content));
                }
            }
        }
        Ok(record)
    }
}

impl Content {
    /// The bytes of a file that is no JSON graph.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Content::Bytes(b) => Some(b),
            Content::Graph(_) => None,
        }
    }

    /// The graph of a `.json` file.
    pub fn graph(&self) -> Option<&Dynamic> {
        match self {
            Content::Graph(g) => Some(&g.value),
            Content::Bytes(_) => None,
        }
    }

    /// A graph to write as a `.json` content file.
    pub fn from_graph(value: Dynamic) -> Self {
        Content::Graph(Graph { value, read: None })
    }

    async fn read(
        bytes: Bytes,
        store: Arc<dyn StorageBackend>,
        path: &StoragePath,
        json: bool,
    ) -> Result<Content> {
        let doc = match json.then(|| json::from_slice(&bytes)) {
            Some(Ok(doc)) => doc,
            // A `.json` file that is not JSON is kept as bytes: copied as
            // it is.
            _ => return Ok(Content::Bytes(bytes)),
        };
        let dir = path.dir();
        let ahead = graph::prefetch(&store, &dir, &doc).await?;
        let ctx = DecodeContext::new(store.clone(), dir).with_prefetched(ahead);
        Content::graph_of(bytes, doc, &ctx, path)
    }

    /// The content of a preloaded file, from bytes read ahead with the
    /// holder's (and so with its own preloaded records).
    fn read_prefetched(
        bytes: Bytes,
        path: &StoragePath,
        json: bool,
        parent: &DecodeContext,
    ) -> Result<Content> {
        match json.then(|| json::from_slice(&bytes)) {
            Some(Ok(doc)) => {
                let ctx = parent.child(path.dir());
                Content::graph_of(bytes, doc, &ctx, path)
            }
            _ => Ok(Content::Bytes(bytes)),
        }
    }

    fn graph_of(
        bytes: Bytes,
        doc: Value,
        ctx: &DecodeContext,
        path: &StoragePath,
    ) -> Result<Content> {
        let value = Dynamic::from_content(&doc, ctx)
            .map_err(|e| e.in_file(FileRef::in_store(ctx.store().as_ref(), path)))?;
        Ok(Content::Graph(Graph {
            value,
            read: Some((bytes, doc)),
        }))
    }

    fn write(&self, ctx: &mut EncodeContext<'_>) -> Result<Stored> {
        match self {
            Content::Bytes(b) => Ok(Stored::Bytes(b.clone())),
            Content::Graph(g) => {
                let value = g.value.to_content(ctx)?;
                Ok(match &g.read {
                    Some((bytes, doc)) if *doc == value => Stored::Bytes(bytes.clone()),
                    _ => Stored::Json(value),
                })
            }
        }
    }
}

impl From<Bytes> for Content {
    fn from(bytes: Bytes) -> Self {
        Content::Bytes(bytes)
    }
}

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Self {
        Content::Bytes(bytes.into())
    }
}

impl From<&'static [u8]> for Content {
    fn from(bytes: &'static [u8]) -> Self {
        Content::Bytes(Bytes::from_static(bytes))
    }
}

impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Clone for DynRecord {
    fn clone(&self) -> Self {
        DynRecord {
            sto_type: self.sto_type.clone(),
            enveloped: self.enveloped,
            extension: self.extension.clone(),
            record: self.record.clone(),
        }
    }
}

/// Equal when of the same type and their contents are equal (or, unloaded,
/// they point at the same file).
impl PartialEq for DynRecord {
    fn eq(&self, other: &Self) -> bool {
        self.sto_type == other.sto_type && self.record == other.record
    }
}

// ---- JSON ------------------------------------------------------------------

impl Serializable for Dynamic {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        match self {
            // A record where a field's record goes takes the field's options.
            Dynamic::Record(r) => r.encode(ctx),
            _ => ctx.without_defaults(|ctx| fold(self, &mut Writer(ctx))),
        }
    }

    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        fold(content, &mut Reader(ctx))
    }

    fn adopt_records(&mut self, place: &mut Placement<'_>) {
        // Only records placed as a container's item take its place; those
        // nested deeper are placed by what holds them.
        if let Dynamic::Record(r) = self {
            r.record.place(place);
        }
    }

    fn release_files(&mut self, out: &mut Vec<Released>) {
        self.release(out);
    }
}

/// The type name and content of an object written exactly as an envelope
/// is (`_ser__type`, then `_ser__content`): only such an object is written
/// back as one, so any other object is kept as the dict it is.
fn exact_envelope(map: &Map) -> Option<(&str, &Value)> {
    let mut keys = map.iter();
    match (keys.next(), keys.next(), keys.next()) {
        (Some((k1, Value::String(name))), Some((k2, content)), None)
            if k1 == SER_TYPE && k2 == SER_CONTENT =>
        {
            Some((name, content))
        }
        _ => None,
    }
}

// Reading and writing keep their own stack rather than recursing: a
// document as deep as the JSON reader allows must not overflow a worker
// thread's stack. Both are one fold over a tree of lists, dicts and
// envelopes.

/// What [`fold`] finds at a node: a value made at once, or a container
/// whose items are folded in turn.
enum Shape<'a, N, O> {
    Done(O),
    List(std::slice::Iter<'a, N>),
    Dict(indexmap::map::Iter<'a, String, N>),
    /// An envelope's content, with its type name.
    Wrap(&'a str, &'a N),
}

/// How one tree becomes another: [`Dynamic`] from JSON, or JSON from it.
trait Fold<'a, N, O> {
    /// The shape of `node`, scheduling whatever it asks (records' files).
    fn open(&mut self, node: &'a N) -> Result<Shape<'a, N, O>>;
    /// A list of folded items.
    fn list(items: Vec<O>) -> O;
    /// A dict of folded entries.
    fn dict(entries: IndexMap<String, O>) -> O;
    /// An envelope around folded content.
    fn wrap(name: &str, content: O) -> O;
}

/// A container being folded: what is left and what is done.
enum Folding<'a, N, O> {
    List {
        rest: std::slice::Iter<'a, N>,
        done: Vec<O>,
    },
    Dict {
        rest: indexmap::map::Iter<'a, String, N>,
        done: IndexMap<String, O>,
        key: &'a str,
    },
    Wrap {
        name: &'a str,
    },
}

fn fold<'a, N, O, F: Fold<'a, N, O>>(root: &'a N, f: &mut F) -> Result<O> {
    let mut open: Vec<Folding<'a, N, O>> = Vec::new();
    let mut next = root;
    loop {
        // Down: fold `next`, or open a container at its first item.
        let shape = f.open(next).map_err(|mut err| {
            for container in open.iter().rev() {
                err = match container {
                    Folding::List { done, .. } => err.at_index(done.len()),
                    Folding::Dict { key, .. } => err.at_key(key),
                    Folding::Wrap { .. } => err,
                };
            }
            err
        })?;
        let mut done = match shape {
            Shape::Done(done) => done,
            Shape::List(mut rest) => match rest.next() {
                Some(first) => {
                    let done = Vec::with_capacity(rest.len() + 1);
                    open.push(Folding::List { rest, done });
                    next = first;
                    continue;
                }
                None => F::list(Vec::new()),
            },
            Shape::Dict(mut rest) => match rest.next() {
                Some((key, first)) => {
                    let done = IndexMap::with_capacity(rest.len() + 1);
                    let key = key.as_str();
                    open.push(Folding::Dict { rest, done, key });
                    next = first;
                    continue;
                }
                None => F::dict(IndexMap::new()),
            },
            Shape::Wrap(name, content) => {
                open.push(Folding::Wrap { name });
                next = content;
                continue;
            }
        };
        // Up: hand the value to its container, closing those complete,
        // until one has an item left.
        loop {
            let Some(container) = open.pop() else {
                return Ok(done);
            };
            match container {
                Folding::List {
                    mut rest,
                    done: mut items,
                } => {
                    items.push(done);
                    if let Some(item) = rest.next() {
                        open.push(Folding::List { rest, done: items });
                        next = item;
                        break;
                    }
                    done = F::list(items);
                }
                Folding::Dict {
                    mut rest,
                    done: mut entries,
                    key,
                } => {
                    entries.insert(key.to_string(), done);
                    if let Some((key, item)) = rest.next() {
                        let key = key.as_str();
                        open.push(Folding::Dict {
                            rest,
                            done: entries,
                            key,
                        });
                        next = item;
                        break;
                    }
                    done = F::dict(entries);
                }
                Folding::Wrap { name } => done = F::wrap(name, done),
            }
        }
    }
}

/// Reading: JSON as written becomes [`Dynamic`].
struct Reader<'c>(&'c DecodeContext);

impl<'a> Fold<'a, Value, Dynamic> for Reader<'_> {
    fn open(&mut self, value: &'a Value) -> Result<Shape<'a, Value, Dynamic>> {
        let done = match value {
            Value::Null => Dynamic::Null,
            Value::Bool(b) => Dynamic::Bool(*b),
            Value::Int(i) => Dynamic::Int(*i),
            Value::UInt(u) => Dynamic::UInt(*u),
            Value::Float(f) => Dynamic::Float(*f),
            Value::BigInt(d) => Dynamic::BigInt(d.clone()),
            Value::String(s) => Dynamic::String(s.clone()),
            Value::Array(items) => return Ok(Shape::List(items.iter())),
            Value::Object(map) => match exact_envelope(map) {
                Some((RECORD_TYPE, inner)) if graph::record_content(inner).is_some() => {
                    Dynamic::from(DynRecord::decode(inner, true, self.0)?)
                }
                Some((name, inner)) => return Ok(Shape::Wrap(name, inner)),
                None if graph::record_content(value).is_some() => {
                    Dynamic::from(DynRecord::decode(value, false, self.0)?)
                }
                None => return Ok(Shape::Dict(map.iter())),
            },
        };
        Ok(Shape::Done(done))
    }

    fn list(items: Vec<Dynamic>) -> Dynamic {
        Dynamic::from(items)
    }

    fn dict(entries: IndexMap<String, Dynamic>) -> Dynamic {
        Dynamic::Dict(Dict {
            entries,
            unused: Unused::default(),
        })
    }

    fn wrap(name: &str, content: Dynamic) -> Dynamic {
        Dynamic::Typed(Typed {
            name: name.to_string(),
            content: Box::new(content),
        })
    }
}

/// Writing: [`Dynamic`] becomes JSON, its records' files planned.
struct Writer<'c, 'p>(&'c mut EncodeContext<'p>);

impl<'a> Fold<'a, Dynamic, Value> for Writer<'_, '_> {
    fn open(&mut self, value: &'a Dynamic) -> Result<Shape<'a, Dynamic, Value>> {
        let done = match value {
            Dynamic::Null => Value::Null,
            Dynamic::Bool(b) => Value::Bool(*b),
            Dynamic::Int(i) => Value::Int(*i),
            Dynamic::UInt(u) => Value::UInt(*u),
            Dynamic::Float(f) => Value::Float(*f),
            Dynamic::BigInt(d) => Value::BigInt(d.clone()),
            Dynamic::String(s) => Value::String(s.clone()),
            Dynamic::List(l) => {
                l.unused.schedule(self.0);
                return Ok(Shape::List(l.items.iter()));
            }
            Dynamic::Dict(d) => {
                d.unused.schedule(self.0);
                return Ok(Shape::Dict(d.entries.iter()));
            }
            Dynamic::Typed(t) => return Ok(Shape::Wrap(&t.name, &t.content)),
            Dynamic::Record(r) => r.encode(self.0)?,
        };
        Ok(Shape::Done(done))
    }

    fn list(items: Vec<Value>) -> Value {
        Value::Array(items)
    }

    fn dict(entries: IndexMap<String, Value>) -> Value {
        Value::Object(entries)
    }

    fn wrap(name: &str, content: Value) -> Value {
        serial::envelope(name, content)
    }
}

impl graph::Tree for Dynamic {
    fn entries(&self) -> Option<&IndexMap<String, Self>> {
        match self {
            Dynamic::Dict(d) => Some(&d.entries),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Self]> {
        match self {
            Dynamic::List(l) => Some(&l.items),
            _ => None,
        }
    }
}

impl Item for Dynamic {
    type Slot = Dynamic;

    fn into_slot(self) -> Dynamic {
        self
    }

    fn replace(
        slot: &mut Dynamic,
        value: Dynamic,
        place: &mut Placement<'_>,
        released: &mut Vec<Released>,
    ) {
        crate::__private::replace_item(slot, value, place, released);
    }
}

// ---- conversions and formatting --------------------------------------------

macro_rules! from_scalar {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Dynamic {
            fn from(value: $t) -> Self {
                Dynamic::$variant(value.into())
            }
        }
    )*};
}
from_scalar!(
    bool => Bool,
    i64 => Int,
    i32 => Int,
    u32 => Int,
    f64 => Float,
    String => String,
    &str => String,
);

impl From<DynRecord> for Dynamic {
    fn from(record: DynRecord) -> Self {
        Dynamic::Record(Box::new(record))
    }
}

impl From<Vec<Dynamic>> for Dynamic {
    fn from(items: Vec<Dynamic>) -> Self {
        Dynamic::List(List {
            items,
            unused: Unused::default(),
        })
    }
}

impl FromIterator<(String, Dynamic)> for Dynamic {
    fn from_iter<I: IntoIterator<Item = (String, Dynamic)>>(iter: I) -> Self {
        Dynamic::Dict(Dict {
            entries: iter.into_iter().collect(),
            unused: Unused::default(),
        })
    }
}

impl Clone for List {
    fn clone(&self) -> Self {
        // A clone does not own the files of the original's removed items.
        List {
            items: self.items.clone(),
            unused: Unused::default(),
        }
    }
}

impl Clone for Dict {
    fn clone(&self) -> Self {
        Dict {
            entries: self.entries.clone(),
            unused: Unused::default(),
        }
    }
}

impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl PartialEq for Dict {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl fmt::Debug for Dynamic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dynamic::Null => f.write_str("null"),
            Dynamic::Bool(b) => write!(f, "{b}"),
            Dynamic::Int(i) => write!(f, "{i}"),
            Dynamic::UInt(u) => write!(f, "{u}"),
            Dynamic::Float(x) => write!(f, "{x:?}"),
            Dynamic::BigInt(d) => f.write_str(d),
            Dynamic::String(s) => write!(f, "{s:?}"),
            Dynamic::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Dynamic::Dict(d) => f.debug_map().entries(d.entries.iter()).finish(),
            Dynamic::Typed(t) => f.debug_tuple(&t.name).field(&t.content).finish(),
            Dynamic::Record(r) => fmt::Debug::fmt(r, f),
        }
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl fmt::Debug for Dict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

impl fmt::Debug for Typed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(&self.name).field(&self.content).finish()
    }
}

impl fmt::Debug for DynRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynRecord")
            .field("sto_type", &self.sto_type)
            .field("record", &self.record)
            .finish()
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Graph(g) => f.debug_tuple("Graph").field(&g.value).finish(),
        }
    }
}
