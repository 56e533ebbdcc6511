//! Model containers: lists, dicts and run lists whose items are storables
//! kept in files of their own (Python's `mlist`, `mdict`, `mruns` and their
//! storable forms `smlist`, `smdict`, `smruns`).
//!
//! Removing or replacing an item remembers its files; the next save deletes
//! them after its commit (auto-clean, see
//! [`EncodeOptions::auto_clean`](crate::EncodeOptions)).

use std::sync::{Arc, Mutex};

use futures::future::try_join_all;
use indexmap::IndexMap;

use crate::context::{DecodeContext, EncodeContext, RemoveOp};
use crate::error::{Error, Result};
use crate::json::{Map, Value};
use crate::path::StoragePath;
use crate::record::{same_store, Record};
use crate::serial::{self, mismatch, Serializable};
use crate::storable::{Storable, Stored};
use crate::storage::StorageBackend;
use crate::target::{join_rel, Target};

/// Per-item record options (Python's `container.record(value, stem=...,
/// suffix=..., name=..., subdir=..., preload=...)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemOptions {
    /// The file's stem.
    pub stem: Option<String>,
    /// The file's suffix, with its dot.
    pub suffix: Option<String>,
    /// The whole file name (instead of stem and suffix).
    pub name: Option<String>,
    /// A folder below the one the container picks.
    pub subdir: Option<String>,
    /// Read the item when the container is loaded.
    pub preload: bool,
}

impl ItemOptions {
    /// Options with only the stem set.
    pub fn stem(stem: impl Into<String>) -> Self {
        ItemOptions {
            stem: Some(stem.into()),
            ..Self::default()
        }
    }

    /// Options with only the file name set.
    pub fn name(name: impl Into<String>) -> Self {
        ItemOptions {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

/// Files of removed items, waiting for the next save.
#[derive(Default)]
struct Unused(Mutex<Vec<(Arc<dyn StorageBackend>, StoragePath)>>);

impl Unused {
    fn add<T>(&self, mut record: Record<T>) {
        let files = record.take_files();
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(files);
    }

    fn schedule(&self, nested: bool, ctx: &mut EncodeContext<'_>) {
        let files = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if !ctx.options().auto_clean {
            return;
        }
        for (store, path) in files {
            if same_store(&store, ctx.plan().store()) {
                ctx.plan().removals.push(RemoveOp { path, nested });
            }
        }
    }
}

impl Clone for Unused {
    fn clone(&self) -> Self {
        // A clone does not own the files of the original's removed items.
        Unused::default()
    }
}

fn encode_items<'r, T: Storable>(
    items: impl Iterator<Item = &'r Record<T>>,
    ctx: &mut EncodeContext<'_>,
) -> Result<Vec<Value>> {
    ctx.without_defaults(|ctx| {
        items
            .enumerate()
            .map(|(i, r)| serial::serialize(r, ctx).map_err(|e| e.at_index(i)))
            .collect()
    })
}

fn decode_items<T: Storable>(content: &Value, ctx: &DecodeContext) -> Result<Vec<Record<T>>> {
    let store = content.get("store").unwrap_or(&Value::Null);
    let items = store
        .as_array()
        .ok_or_else(|| mismatch("a list of records", store).at_key("store"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serial::deserialize::<Record<T>>(v, ctx).map_err(|e| e.at_index(i).at_key("store"))
        })
        .collect()
}

fn opt_str(content: &Value, key: &str) -> Result<String> {
    match content.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(mismatch("str", other).at_key(key)),
    }
}

fn opt_bool(content: &Value, key: &str) -> Result<bool> {
    match content.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(mismatch("bool", other).at_key(key)),
    }
}

async fn load_all<'a, T: Storable>(
    items: impl Iterator<Item = &'a Record<T>>,
) -> Result<Vec<&'a T>> {
    try_join_all(items.map(Record::get)).await
}

// ---- MList -----------------------------------------------------------------

/// A list of storables, each in a file of its own (Python's `mlist`).
pub struct MList<T> {
    subdir: String,
    preload: bool,
    items: Vec<Record<T>>,
    unused: Unused,
}

impl<T> Default for MList<T> {
    fn default() -> Self {
        MList {
            subdir: String::new(),
            preload: false,
            items: Vec::new(),
            unused: Unused::default(),
        }
    }
}

impl<T: Storable> MList<T> {
    /// An empty list storing its items in the holder's folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores items in `subdir`, relative to the holder's folder.
    pub fn subdir(mut self, subdir: impl Into<String>) -> Self {
        self.subdir = subdir.into();
        self
    }

    /// Reads the items when the list is loaded.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    /// The folder of the items' files (set by [`MList::subdir`]).
    pub fn get_subdir(&self) -> &str {
        &self.subdir
    }

    /// Whether the items are read when the list is loaded.
    pub fn is_preload(&self) -> bool {
        self.preload
    }

    fn adopt(&self, value: T) -> Record<T> {
        let mut rec = Record::new(value);
        let target = Target {
            subdir: Some(self.subdir.clone()),
            ..Target::default()
        };
        rec.set_container_target(target, self.preload);
        rec
    }

    /// Appends a value.
    pub fn push(&mut self, value: T) {
        let rec = self.adopt(value);
        self.items.push(rec);
    }

    /// Appends a value with its own record options.
    pub fn record(&mut self, value: T, options: &ItemOptions) {
        let rec = self.adopt(value).with_options(options);
        self.items.push(rec);
    }

    /// Appends a record as it is (its own target options apply).
    pub fn push_record(&mut self, record: Record<T>) {
        self.items.push(record);
    }

    /// Inserts a value at `index` (panics if `index > len`, like `Vec`).
    pub fn insert(&mut self, index: usize, value: T) {
        let rec = self.adopt(value);
        self.items.insert(index, rec);
    }

    /// Replaces the value at `index`, keeping its file name; the old
    /// content's files are deleted after the next save.
    pub fn set(&mut self, index: usize, value: T) -> Result<()> {
        let len = self.items.len();
        let rec = self.items.get_mut(index).ok_or_else(|| {
            Error::Other(format!("index {index} out of range for a list of {len}"))
        })?;
        rec.set(value);
        Ok(())
    }

    /// Removes and returns the record at `index`; its files are deleted
    /// after the next save.
    pub fn remove(&mut self, index: usize) -> Option<Record<T>> {
        (index < self.items.len()).then(|| self.forget(index))
    }

    fn forget(&mut self, index: usize) -> Record<T> {
        let mut rec = self.items.remove(index);
        let files = rec.take_files();
        self.unused
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(files);
        rec
    }

    /// Removes and returns the last record.
    pub fn pop(&mut self) -> Option<Record<T>> {
        let last = self.items.len().checked_sub(1)?;
        Some(self.forget(last))
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        for rec in self.items.drain(..) {
            self.unused.add(rec);
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<&Record<T>> {
        self.items.get(index)
    }

    /// The record at `index`, for changing it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Record<T>> {
        self.items.get_mut(index)
    }

    /// The records, in order; each loads its content on first access.
    pub fn iter(&self) -> std::slice::Iter<'_, Record<T>> {
        self.items.iter()
    }

    /// Every item's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<&T>> {
        load_all(self.items.iter()).await
    }

    fn content_map(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.unused.schedule(T::JSON, ctx);
        let mut out = Map::new();
        out.insert(
            "store".into(),
            Value::Array(encode_items(self.items.iter(), ctx)?),
        );
        if !self.subdir.is_empty() {
            out.insert("subdir".into(), Value::String(self.subdir.clone()));
        }
        if self.preload {
            out.insert("preload".into(), Value::Bool(true));
        }
        Ok(out)
    }

    fn from_map(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        Ok(MList {
            subdir: opt_str(content, "subdir")?,
            preload: opt_bool(content, "preload")?,
            items: decode_items(content, ctx)?,
            unused: Unused::default(),
        })
    }
}

impl<'a, T> IntoIterator for &'a MList<T> {
    type Item = &'a Record<T>;
    type IntoIter = std::slice::Iter<'a, Record<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T: Storable> FromIterator<T> for MList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = MList::new();
        for v in iter {
            list.push(v);
        }
        list
    }
}

// ---- MDict -----------------------------------------------------------------

/// A string-keyed map of storables, each in a file of its own (Python's
/// `mdict`).
pub struct MDict<T> {
    subdir: String,
    preload: bool,
    store_by_key: bool,
    store_subdir: bool,
    items: IndexMap<String, Record<T>>,
    unused: Unused,
}

impl<T> Default for MDict<T> {
    fn default() -> Self {
        MDict {
            subdir: String::new(),
            preload: false,
            store_by_key: false,
            store_subdir: false,
            items: IndexMap::new(),
            unused: Unused::default(),
        }
    }
}

impl<T: Storable> MDict<T> {
    /// An empty dict storing its items in the holder's folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores items in `subdir`, relative to the holder's folder.
    pub fn subdir(mut self, subdir: impl Into<String>) -> Self {
        self.subdir = subdir.into();
        self
    }

    /// Reads the items when the dict is loaded.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    /// Names each file after its key (`<key><ext>`).
    pub fn store_by_key(mut self, store_by_key: bool) -> Self {
        self.store_by_key = store_by_key;
        self
    }

    /// Puts each file in a folder named after its key.
    pub fn store_subdir(mut self, store_subdir: bool) -> Self {
        self.store_subdir = store_subdir;
        self
    }

    /// The `subdir` option (set by [`MDict::subdir`]).
    pub fn get_subdir(&self) -> &str {
        &self.subdir
    }

    /// Whether the items are read when the dict is loaded.
    pub fn is_preload(&self) -> bool {
        self.preload
    }

    /// Whether each file is named after its key.
    pub fn is_store_by_key(&self) -> bool {
        self.store_by_key
    }

    /// Whether each file goes in a folder named after its key.
    pub fn is_store_subdir(&self) -> bool {
        self.store_subdir
    }

    fn adopt(&self, key: &str, value: T) -> Record<T> {
        // Python's mdict merges a key target whose subdir is "" over its own
        // subdir, so `subdir` only counts with `store_subdir` (FORMAT.md §15).
        let mut target = Target {
            subdir: Some(String::new()),
            ..Target::default()
        };
        if self.store_by_key {
            target.stem = Some(key.to_string());
        }
        if self.store_subdir {
            target.subdir = Some(join_rel(&self.subdir, key));
        }
        let mut rec = Record::new(value);
        rec.set_container_target(target, self.preload);
        rec
    }

    /// Sets `key` to `value`. An existing record keeps its file name and the
    /// old content's files are deleted after the next save.
    pub fn insert(&mut self, key: impl Into<String>, value: T) {
        let key = key.into();
        match self.items.get_mut(&key) {
            Some(rec) => rec.set(value),
            None => {
                let rec = self.adopt(&key, value);
                self.items.insert(key, rec);
            }
        }
    }

    /// Sets `key` to `value` with its own record options.
    pub fn record(&mut self, key: impl Into<String>, value: T, options: &ItemOptions) {
        let key = key.into();
        let rec = self.adopt(&key, value).with_options(options);
        if let Some(old) = self.items.insert(key, rec) {
            self.unused.add(old);
        }
    }

    /// Sets `key` to a record as it is.
    pub fn insert_record(&mut self, key: impl Into<String>, record: Record<T>) {
        if let Some(old) = self.items.insert(key.into(), record) {
            self.unused.add(old);
        }
    }

    /// Removes `key`; its files are deleted after the next save.
    pub fn remove(&mut self, key: &str) -> Option<Record<T>> {
        let mut rec = self.items.shift_remove(key)?;
        let files = rec.take_files();
        self.unused
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(files);
        Some(rec)
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        for (_, rec) in self.items.drain(..) {
            self.unused.add(rec);
        }
    }

    /// The record at `key`.
    pub fn get(&self, key: &str) -> Option<&Record<T>> {
        self.items.get(key)
    }

    /// The record at `key`, for changing it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Record<T>> {
        self.items.get_mut(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.items.contains_key(key)
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    /// The entries, in insertion order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, String, Record<T>> {
        self.items.iter()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the dict is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every item's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<(&str, &T)>> {
        let values = load_all(self.items.values()).await?;
        Ok(self.items.keys().map(String::as_str).zip(values).collect())
    }

    fn content_map(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.unused.schedule(T::JSON, ctx);
        let store = ctx.without_defaults(|ctx| {
            let mut store = Map::with_capacity(self.items.len());
            for (k, rec) in &self.items {
                store.insert(
                    k.clone(),
                    serial::serialize(rec, ctx).map_err(|e| e.at_key(k))?,
                );
            }
            Ok::<_, Error>(store)
        })?;
        let mut out = Map::new();
        out.insert("store".into(), Value::Object(store));
        if !self.subdir.is_empty() {
            out.insert("subdir".into(), Value::String(self.subdir.clone()));
        }
        if self.preload {
            out.insert("preload".into(), Value::Bool(true));
        }
        if self.store_by_key {
            out.insert("store_by_key".into(), Value::Bool(true));
        }
        if self.store_subdir {
            out.insert("store_subdir".into(), Value::Bool(true));
        }
        Ok(out)
    }

    fn from_map(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let store = content.get("store").unwrap_or(&Value::Null);
        let entries = store
            .as_object()
            .ok_or_else(|| mismatch("a dict of records", store).at_key("store"))?;
        let mut items = IndexMap::with_capacity(entries.len());
        for (k, v) in entries {
            let rec = serial::deserialize::<Record<T>>(v, ctx)
                .map_err(|e| e.at_key(k).at_key("store"))?;
            items.insert(k.clone(), rec);
        }
        Ok(MDict {
            subdir: opt_str(content, "subdir")?,
            preload: opt_bool(content, "preload")?,
            store_by_key: opt_bool(content, "store_by_key")?,
            store_subdir: opt_bool(content, "store_subdir")?,
            items,
            unused: Unused::default(),
        })
    }
}

// ---- MRuns -----------------------------------------------------------------

/// A list of runs whose files are named by a counter: `<stem>-<n>` (Python's
/// `mruns`). The counter only grows (until [`MRuns::clear`]), so a run keeps
/// its file when earlier runs are removed.
pub struct MRuns<T> {
    stem: Option<String>,
    run_count: u64,
    store_subdir: bool,
    list: MList<T>,
}

impl<T> Default for MRuns<T> {
    fn default() -> Self {
        MRuns {
            stem: Some("run".into()),
            run_count: 0,
            store_subdir: true,
            list: MList::default(),
        }
    }
}

impl<T: Storable> MRuns<T> {
    /// An empty run list with stem `run`, each run in a folder of its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names runs `<stem>-<n>`.
    pub fn stem(mut self, stem: impl Into<String>) -> Self {
        self.stem = Some(stem.into());
        self
    }

    /// Stores runs in `subdir`, relative to the holder's folder.
    pub fn subdir(mut self, subdir: impl Into<String>) -> Self {
        self.list.subdir = subdir.into();
        self
    }

    /// Reads the runs when the list is loaded.
    pub fn preload(mut self, preload: bool) -> Self {
        self.list.preload = preload;
        self
    }

    /// `true` (the default): run `n` is `<subdir>/<stem>-<n>/<stem><ext>`;
    /// `false`: `<subdir>/<stem>-<n><ext>`.
    pub fn store_subdir(mut self, store_subdir: bool) -> Self {
        self.store_subdir = store_subdir;
        self
    }

    /// The counter that numbers the next run.
    pub fn run_count(&self) -> u64 {
        self.run_count
    }

    /// The stem runs are named after (set by [`MRuns::stem`]; `None` when
    /// a file written by Python has `"stem": null`).
    pub fn get_stem(&self) -> Option<&str> {
        self.stem.as_deref()
    }

    /// The folder of the runs' files (set by [`MRuns::subdir`]).
    pub fn get_subdir(&self) -> &str {
        &self.list.subdir
    }

    /// Whether the runs are read when the list is loaded.
    pub fn is_preload(&self) -> bool {
        self.list.preload
    }

    /// Whether each run has a folder of its own.
    pub fn is_store_subdir(&self) -> bool {
        self.store_subdir
    }

    fn adopt(&mut self, value: T) -> Record<T> {
        // Python formats a missing stem as `None`.
        let stem = self.stem.clone().unwrap_or_else(|| "None".into());
        let key = format!("{stem}-{}", self.run_count);
        self.run_count += 1;
        let target = if self.store_subdir {
            Target {
                stem: Some(stem),
                subdir: Some(join_rel(&self.list.subdir, &key)),
                suffix: None,
            }
        } else {
            Target {
                stem: Some(key),
                subdir: Some(self.list.subdir.clone()),
                suffix: None,
            }
        };
        let mut rec = Record::new(value);
        rec.set_container_target(target, self.list.preload);
        rec
    }

    /// Appends a run.
    pub fn push(&mut self, value: T) {
        let rec = self.adopt(value);
        self.list.items.push(rec);
    }

    /// Appends a run with its own record options.
    pub fn record(&mut self, value: T, options: &ItemOptions) {
        let rec = self.adopt(value).with_options(options);
        self.list.items.push(rec);
    }

    /// Inserts a run at `index`; it is numbered by the counter all the same.
    pub fn insert(&mut self, index: usize, value: T) {
        let rec = self.adopt(value);
        self.list.items.insert(index, rec);
    }

    /// Replaces the run at `index`, keeping its file name.
    pub fn set(&mut self, index: usize, value: T) -> Result<()> {
        self.list.set(index, value)
    }

    /// Removes and returns the run at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Record<T>> {
        self.list.remove(index)
    }

    /// Removes and returns the last run.
    pub fn pop(&mut self) -> Option<Record<T>> {
        self.list.pop()
    }

    /// Removes every run and resets the counter.
    pub fn clear(&mut self) {
        self.list.clear();
        self.run_count = 0;
    }

    /// The number of runs.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no runs.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The record of run `index`.
    pub fn get(&self, index: usize) -> Option<&Record<T>> {
        self.list.get(index)
    }

    /// The record of run `index`, for changing it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Record<T>> {
        self.list.get_mut(index)
    }

    /// The records, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Record<T>> {
        self.list.iter()
    }

    /// Every run's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<&T>> {
        self.list.contents().await
    }

    fn content_map(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        let mut out = Map::new();
        out.insert(
            "stem".into(),
            self.stem.clone().map_or(Value::Null, Value::String),
        );
        out.insert("run_count".into(), Value::from(self.run_count));
        if !self.store_subdir {
            out.insert("store_subdir".into(), Value::Bool(false));
        }
        out.extend(self.list.content_map(ctx)?);
        Ok(out)
    }

    fn from_map(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let stem = match content.get("stem") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(mismatch("str", other).at_key("stem")),
        };
        let run_count = match content.get("run_count") {
            None | Some(Value::Null) => 0,
            Some(v) => u64::from_content(v, ctx).map_err(|e| e.at_key("run_count"))?,
        };
        let store_subdir = match content.get("store_subdir") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(mismatch("bool", other).at_key("store_subdir")),
        };
        Ok(MRuns {
            stem,
            run_count,
            store_subdir,
            list: MList::from_map(content, ctx)?,
        })
    }
}

impl<'a, T> IntoIterator for &'a MRuns<T> {
    type Item = &'a Record<T>;
    type IntoIter = std::slice::Iter<'a, Record<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.items.iter()
    }
}

// ---- serializable and storable forms ---------------------------------------

macro_rules! container {
    ($ty:ident, $ser:literal, $storable:ident, $sser:literal, $sto:literal) => {
        impl<T: Storable> Serializable for $ty<T> {
            const SER_TYPE: Option<&'static str> = Some($ser);
            fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
                self.content_map(ctx).map(Value::Object)
            }
            fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
                if !matches!(content, Value::Object(_)) {
                    return Err(mismatch(concat!("the content of a ", $ser), content));
                }
                Self::from_map(content, ctx)
            }
        }

        #[doc = concat!("The storable form of [`", stringify!($ty), "`] (Python's `", $sser, "`): kept in a JSON file of its own.")]
        pub struct $storable<T>(pub $ty<T>);

        impl<T> Default for $storable<T> {
            fn default() -> Self {
                $storable($ty::default())
            }
        }

        impl<T> std::ops::Deref for $storable<T> {
            type Target = $ty<T>;
            fn deref(&self) -> &$ty<T> {
                &self.0
            }
        }

        impl<T> std::ops::DerefMut for $storable<T> {
            fn deref_mut(&mut self) -> &mut $ty<T> {
                &mut self.0
            }
        }

        impl<T> From<$ty<T>> for $storable<T> {
            fn from(inner: $ty<T>) -> Self {
                $storable(inner)
            }
        }

        impl<T: Storable> Serializable for $storable<T> {
            const SER_TYPE: Option<&'static str> = Some($sser);
            fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
                self.0.to_content(ctx)
            }
            fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
                $ty::from_content(content, ctx).map($storable)
            }
        }

        impl<T: Storable> Storable for $storable<T> {
            const STO_TYPE: &'static str = $sto;
            const EXTENSION: &'static str = ".json";
            const JSON: bool = true;
            fn to_stored(&self, ctx: &mut EncodeContext<'_>) -> Result<Stored> {
                self.0.to_content(ctx).map(Stored::Json)
            }
            fn from_stored(stored: Stored, ctx: &DecodeContext) -> Result<Self> {
                $ty::from_content(&stored.json()?, ctx).map($storable)
            }
        }
    };
}

container!(MList, "_ser__mlist", SMList, "_ser__smlist", "_sto__mlist");
container!(MDict, "_ser__mdict", SMDict, "_ser__smdict", "_sto__smdict");
container!(MRuns, "_ser__mruns", SMRuns, "_ser__smruns", "_sto__smruns");

impl<T: std::fmt::Debug> std::fmt::Debug for MList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for MDict<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.items.iter()).finish()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for MRuns<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MRuns")
            .field("stem", &self.stem)
            .field("run_count", &self.run_count)
            .field("runs", &self.list)
            .finish()
    }
}
