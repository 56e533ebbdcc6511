//! Model containers: lists, dicts and run lists (Python's `mlist`, `mdict`,
//! `mruns` and their storable forms `smlist`, `smdict`, `smruns`).
//!
//! A container holds [`Item`]s. A storable item is kept in a file of its
//! own, behind a [`Record`] the container names (`MList<Person>`). A mixed
//! item, an enum derived with `#[derive(Serializable)]` or
//! [`Dynamic`](crate::dynamic::Dynamic), is written as its value says: its
//! records in files named by the container, the rest inline, as Python's
//! containers hold numbers, strings and storables side by side.
//!
//! Removing or replacing an item remembers its files; the next save deletes
//! them after its commit (auto-clean, see
//! [`EncodeOptions::auto_clean`](crate::EncodeOptions)).

use std::sync::Mutex;

use futures::future::try_join_all;
use indexmap::IndexMap;

use crate::context::{DecodeContext, EncodeContext, Placement, Released};
use crate::error::{Error, Result};
use crate::json::{Map, Value};
use crate::record::Record;
use crate::serial::{self, mismatch, Serializable};
use crate::storable::{Storable, Stored};
use crate::target::{join_rel, Target};

pub use crate::target::ItemOptions;

/// What a model container can hold, and how it holds it.
///
/// Every [`Storable`] is an item held in a [`Record`]; so is every enum
/// derived with `#[derive(Serializable)]` from one-field variants (held as
/// it is), and [`Dynamic`](crate::dynamic::Dynamic).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an item of `MList`, `MDict` or `MRuns`",
    label = "not an `Item`",
    note = "a container holds storables: for a modelclass, add `#[dman(storable)]` beside `#[derive(Modelclass)]` (Python's `@modelclass(storable=True)`)",
    note = "mixed items: an enum with one-field variants, `#[derive(Serializable)]`; anything at all: `dman::Dynamic`"
)]
pub trait Item: Sized {
    /// What the container keeps for one item: `Record<T>` for a storable,
    /// the value itself for a mixed item.
    type Slot: Serializable;

    /// The slot for a new item.
    fn into_slot(self) -> Self::Slot;

    /// Puts `value` in an occupied slot. A record keeps its file name and
    /// deletes the old content's files after the next save; a mixed item
    /// releases the old value's files into `released` and takes `place`.
    fn replace(
        slot: &mut Self::Slot,
        value: Self,
        place: &mut Placement<'_>,
        released: &mut Vec<Released>,
    );
}

impl<T: Storable> Item for T {
    type Slot = Record<T>;

    fn into_slot(self) -> Record<T> {
        Record::new(self)
    }

    fn replace(slot: &mut Record<T>, value: T, _: &mut Placement<'_>, _: &mut Vec<Released>) {
        slot.set(value);
    }
}

/// Files of removed items, waiting for the next save.
#[derive(Default)]
pub(crate) struct Unused(Mutex<Vec<Released>>);

impl Unused {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Released>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add<S: Serializable>(&self, mut slot: S) -> S {
        slot.release_files(&mut self.lock());
        slot
    }

    pub(crate) fn schedule(&self, ctx: &mut EncodeContext<'_>) {
        let files = std::mem::take(&mut *self.lock());
        for file in files {
            file.schedule(ctx);
        }
    }
}

impl Clone for Unused {
    fn clone(&self) -> Self {
        // A clone does not own the files of the original's removed items.
        Unused::default()
    }
}

/// A list item's place: the list's folder, a name of its own.
fn in_folder(subdir: &str) -> Target {
    Target {
        subdir: Some(subdir.to_string()),
        ..Target::default()
    }
}

/// A new slot for `value`, placed where the container says.
fn adopt<T: Item>(
    value: T,
    next: &mut dyn FnMut() -> Target,
    preload: bool,
    options: Option<&ItemOptions>,
) -> T::Slot {
    let mut slot = value.into_slot();
    slot.adopt_records(&mut Placement {
        next,
        preload,
        options,
    });
    slot
}

/// Puts `value` in `slot`, as [`Item::replace`] does.
fn replace<T: Item>(
    slot: &mut T::Slot,
    value: T,
    next: &mut dyn FnMut() -> Target,
    preload: bool,
    unused: &Unused,
) {
    let mut place = Placement {
        next,
        preload,
        options: None,
    };
    T::replace(slot, value, &mut place, &mut unused.lock());
}

fn encode_items<'r, S: Serializable + 'r>(
    items: impl Iterator<Item = &'r S>,
    ctx: &mut EncodeContext<'_>,
) -> Result<Vec<Value>> {
    ctx.without_defaults(|ctx| {
        items
            .enumerate()
            .map(|(i, r)| serial::serialize(r, ctx).map_err(|e| e.at_index(i)))
            .collect()
    })
}

fn decode_items<S: Serializable>(content: &Value, ctx: &DecodeContext) -> Result<Vec<S>> {
    let store = content.get("store").unwrap_or(&Value::Null);
    let items = store
        .as_array()
        .ok_or_else(|| mismatch("a list of items", store).at_key("store"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| serial::deserialize::<S>(v, ctx).map_err(|e| e.at_index(i).at_key("store")))
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
    let items: Vec<&Record<T>> = items.collect();
    crate::record::load_many(&items).await;
    try_join_all(items.into_iter().map(Record::get)).await
}

// ---- MList -----------------------------------------------------------------

/// A list of items (Python's `mlist`): storables each in a file of its own,
/// or mixed items written as they say.
pub struct MList<T: Item> {
    subdir: String,
    preload: bool,
    items: Vec<T::Slot>,
    unused: Unused,
}

impl<T: Item> Default for MList<T> {
    fn default() -> Self {
        MList {
            subdir: String::new(),
            preload: false,
            items: Vec::new(),
            unused: Unused::default(),
        }
    }
}

impl<T: Item> MList<T> {
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

    fn adopt(&self, value: T, options: Option<&ItemOptions>) -> T::Slot {
        adopt(
            value,
            &mut || in_folder(&self.subdir),
            self.preload,
            options,
        )
    }

    /// Appends a value.
    pub fn push(&mut self, value: T) {
        let slot = self.adopt(value, None);
        self.items.push(slot);
    }

    /// Appends a value with its own record options.
    pub fn record(&mut self, value: T, options: &ItemOptions) {
        let slot = self.adopt(value, Some(options));
        self.items.push(slot);
    }

    /// Inserts a value at `index` with its own record options (panics if
    /// `index > len`, like `Vec`).
    pub fn record_at(&mut self, index: usize, value: T, options: &ItemOptions) {
        let slot = self.adopt(value, Some(options));
        self.items.insert(index, slot);
    }

    /// Inserts a value at `index` (panics if `index > len`, like `Vec`).
    pub fn insert(&mut self, index: usize, value: T) {
        let slot = self.adopt(value, None);
        self.items.insert(index, slot);
    }

    /// Replaces the value at `index` (a record keeps its file name); the old
    /// value's files are deleted after the next save.
    pub fn set(&mut self, index: usize, value: T) -> Result<()> {
        let len = self.items.len();
        let slot = self
            .items
            .get_mut(index)
            .ok_or(Error::IndexOutOfRange { index, len })?;
        let subdir = &self.subdir;
        replace(
            slot,
            value,
            &mut || in_folder(subdir),
            self.preload,
            &self.unused,
        );
        Ok(())
    }

    /// Removes and returns the item at `index`; its files are deleted after
    /// the next save.
    pub fn remove(&mut self, index: usize) -> Option<T::Slot> {
        (index < self.items.len()).then(|| self.unused.add(self.items.remove(index)))
    }

    /// Removes and returns the last item.
    pub fn pop(&mut self) -> Option<T::Slot> {
        let last = self.items.pop()?;
        Some(self.unused.add(last))
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        for slot in self.items.drain(..) {
            self.unused.add(slot);
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

    /// The item at `index` (a storable's record).
    pub fn get(&self, index: usize) -> Option<&T::Slot> {
        self.items.get(index)
    }

    /// The item at `index`, for changing it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T::Slot> {
        self.items.get_mut(index)
    }

    /// The items, in order; a record loads its content on first access.
    pub fn iter(&self) -> std::slice::Iter<'_, T::Slot> {
        self.items.iter()
    }

    fn content_map(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.unused.schedule(ctx);
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

    fn release_all(&mut self, out: &mut Vec<Released>) {
        out.append(&mut self.unused.lock());
        for slot in &mut self.items {
            slot.release_files(out);
        }
    }
}

impl<T: Storable> MList<T> {
    /// Appends a record as it is (its own target options apply).
    pub fn push_record(&mut self, record: Record<T>) {
        self.items.push(record);
    }

    /// Every item's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<&T>> {
        load_all(self.items.iter()).await
    }
}

impl<'a, T: Item> IntoIterator for &'a MList<T> {
    type Item = &'a T::Slot;
    type IntoIter = std::slice::Iter<'a, T::Slot>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T: Item> FromIterator<T> for MList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = MList::new();
        for v in iter {
            list.push(v);
        }
        list
    }
}

// ---- MDict -----------------------------------------------------------------

/// A string-keyed map of items (Python's `mdict`): storables each in a
/// file of its own, or mixed items written as they say.
pub struct MDict<T: Item> {
    subdir: String,
    preload: bool,
    store_by_key: bool,
    store_subdir: bool,
    items: IndexMap<String, T::Slot>,
    unused: Unused,
}

impl<T: Item> Default for MDict<T> {
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

impl<T: Item> MDict<T> {
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

    /// The place of the item at `key`.
    fn key_target(&self, key: &str) -> Target {
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
        target
    }

    fn adopt(&self, key: &str, value: T, options: Option<&ItemOptions>) -> T::Slot {
        adopt(value, &mut || self.key_target(key), self.preload, options)
    }

    /// Sets `key` to `value`. An existing record keeps its file name; the old
    /// value's files are deleted after the next save.
    pub fn insert(&mut self, key: impl Into<String>, value: T) {
        let key = key.into();
        let target = self.key_target(&key);
        match self.items.get_mut(&key) {
            Some(slot) => replace(
                slot,
                value,
                &mut || target.clone(),
                self.preload,
                &self.unused,
            ),
            None => {
                let slot = self.adopt(&key, value, None);
                self.items.insert(key, slot);
            }
        }
    }

    /// Sets `key` to `value` with its own record options.
    pub fn record(&mut self, key: impl Into<String>, value: T, options: &ItemOptions) {
        let key = key.into();
        let slot = self.adopt(&key, value, Some(options));
        if let Some(old) = self.items.insert(key, slot) {
            self.unused.add(old);
        }
    }

    /// Removes `key`; its files are deleted after the next save.
    pub fn remove(&mut self, key: &str) -> Option<T::Slot> {
        let slot = self.items.shift_remove(key)?;
        Some(self.unused.add(slot))
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        for (_, slot) in self.items.drain(..) {
            self.unused.add(slot);
        }
    }

    /// The item at `key` (a storable's record).
    pub fn get(&self, key: &str) -> Option<&T::Slot> {
        self.items.get(key)
    }

    /// The item at `key`, for changing it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T::Slot> {
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
    pub fn iter(&self) -> indexmap::map::Iter<'_, String, T::Slot> {
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

    fn content_map(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.unused.schedule(ctx);
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
            .ok_or_else(|| mismatch("a dict of items", store).at_key("store"))?;
        let mut items = IndexMap::with_capacity(entries.len());
        for (k, v) in entries {
            let slot =
                serial::deserialize::<T::Slot>(v, ctx).map_err(|e| e.at_key(k).at_key("store"))?;
            items.insert(k.clone(), slot);
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

    fn release_all(&mut self, out: &mut Vec<Released>) {
        out.append(&mut self.unused.lock());
        for slot in self.items.values_mut() {
            slot.release_files(out);
        }
    }
}

impl<T: Storable> MDict<T> {
    /// Sets `key` to a record as it is.
    pub fn insert_record(&mut self, key: impl Into<String>, record: Record<T>) {
        if let Some(old) = self.items.insert(key.into(), record) {
            self.unused.add(old);
        }
    }

    /// Every item's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<(&str, &T)>> {
        let values = load_all(self.items.values()).await?;
        Ok(self.items.keys().map(String::as_str).zip(values).collect())
    }
}

// ---- MRuns -----------------------------------------------------------------

/// A list of runs whose files are named by a counter: `<stem>-<n>` (Python's
/// `mruns`). The counter only grows (until [`MRuns::clear`]), so a run keeps
/// its file when earlier runs are removed. Only items that are records take
/// a number, as in Python.
///
/// ```
/// use std::sync::Arc;
/// use dman_core::{MRuns, Modelclass, Repo};
///
/// #[derive(Modelclass, Debug)]
/// #[dman(name = "run", storable)]
/// struct Run { seed: u64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dman_core::Result<()> {
/// let repo = Repo::new(Arc::new(dman_memory::MemoryBackend::new()));
/// // Python: dman.mruns(stem="experiment", subdir="results")
/// let mut runs = MRuns::new().stem("experiment").subdir("results");
/// runs.push(Run { seed: 1 });
/// runs.push(Run { seed: 2 });
/// runs.remove(0); // the next save deletes run 0's files
/// runs.push(Run { seed: 3 }); // takes number 2: numbers are never reused
/// repo.save("exp", &runs).await?;
///
/// let dir = repo.directory("exp")?;
/// let store = repo.backend();
/// assert!(store.exists(&dir.join("results/experiment-2/experiment.json")?).await?);
/// let runs: MRuns<Run> = repo.load("exp").await?;
/// let seeds: Vec<u64> = runs.contents().await?.iter().map(|r| r.seed).collect();
/// assert_eq!(seeds, [2, 3]);
/// # Ok(())
/// # }
/// ```
pub struct MRuns<T: Item> {
    stem: Option<String>,
    run_count: u64,
    store_subdir: bool,
    list: MList<T>,
}

impl<T: Item> Default for MRuns<T> {
    fn default() -> Self {
        MRuns {
            stem: Some("run".into()),
            run_count: 0,
            store_subdir: true,
            list: MList::default(),
        }
    }
}

impl<T: Item> MRuns<T> {
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

    fn adopt(&mut self, value: T, options: Option<&ItemOptions>) -> T::Slot {
        let (stem, subdir, store_subdir) = (&self.stem, &self.list.subdir, self.store_subdir);
        let count = &mut self.run_count;
        let mut next = || run_target(stem.as_deref(), subdir, store_subdir, count);
        adopt(value, &mut next, self.list.preload, options)
    }

    /// Appends a run.
    pub fn push(&mut self, value: T) {
        let slot = self.adopt(value, None);
        self.list.items.push(slot);
    }

    /// Appends a run with its own record options.
    pub fn record(&mut self, value: T, options: &ItemOptions) {
        let slot = self.adopt(value, Some(options));
        self.list.items.push(slot);
    }

    /// Inserts a run at `index` with its own record options; it is numbered
    /// by the counter all the same.
    pub fn record_at(&mut self, index: usize, value: T, options: &ItemOptions) {
        let slot = self.adopt(value, Some(options));
        self.list.items.insert(index, slot);
    }

    /// Inserts a run at `index`; it is numbered by the counter all the same.
    pub fn insert(&mut self, index: usize, value: T) {
        let slot = self.adopt(value, None);
        self.list.items.insert(index, slot);
    }

    /// Replaces the run at `index`: a record keeps its file name, a mixed
    /// item that holds a record takes the next number.
    pub fn set(&mut self, index: usize, value: T) -> Result<()> {
        let len = self.list.items.len();
        let (stem, subdir, store_subdir) = (&self.stem, &self.list.subdir, self.store_subdir);
        let count = &mut self.run_count;
        let slot = self
            .list
            .items
            .get_mut(index)
            .ok_or(Error::IndexOutOfRange { index, len })?;
        let mut next = || run_target(stem.as_deref(), subdir, store_subdir, count);
        replace(slot, value, &mut next, self.list.preload, &self.list.unused);
        Ok(())
    }

    /// Removes and returns the run at `index`.
    pub fn remove(&mut self, index: usize) -> Option<T::Slot> {
        self.list.remove(index)
    }

    /// Removes and returns the last run.
    pub fn pop(&mut self) -> Option<T::Slot> {
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

    /// Run `index` (a storable's record).
    pub fn get(&self, index: usize) -> Option<&T::Slot> {
        self.list.get(index)
    }

    /// Run `index`, for changing it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T::Slot> {
        self.list.get_mut(index)
    }

    /// The runs, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T::Slot> {
        self.list.iter()
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

impl<T: Item> MRuns<T> {
    fn release_all(&mut self, out: &mut Vec<Released>) {
        self.list.release_all(out);
    }
}

impl<T: Storable> MRuns<T> {
    /// Every run's content, loading those not yet loaded concurrently.
    pub async fn contents(&self) -> Result<Vec<&T>> {
        self.list.contents().await
    }
}

/// The place of the next run; numbers it.
fn run_target(stem: Option<&str>, subdir: &str, store_subdir: bool, count: &mut u64) -> Target {
    // Python formats a missing stem as `None`.
    let stem = stem.unwrap_or("None");
    let key = format!("{stem}-{count}");
    *count += 1;
    if store_subdir {
        Target {
            stem: Some(stem.to_string()),
            subdir: Some(join_rel(subdir, &key)),
            suffix: None,
        }
    } else {
        Target {
            stem: Some(key),
            subdir: Some(subdir.to_string()),
            suffix: None,
        }
    }
}

impl<'a, T: Item> IntoIterator for &'a MRuns<T> {
    type Item = &'a T::Slot;
    type IntoIter = std::slice::Iter<'a, T::Slot>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.items.iter()
    }
}

// ---- serializable and storable forms ---------------------------------------

macro_rules! container {
    ($ty:ident, $ser:literal, $storable:ident, $sser:literal, $sto:literal) => {
        impl<T: Item> Serializable for $ty<T> {
            const SER_TYPE: Option<&'static str> = Some($ser);
            fn release_files(&mut self, out: &mut Vec<Released>) {
                self.release_all(out);
            }
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
        pub struct $storable<T: Item>(pub $ty<T>);

        impl<T: Item> Default for $storable<T> {
            fn default() -> Self {
                $storable($ty::default())
            }
        }

        impl<T: Item> std::ops::Deref for $storable<T> {
            type Target = $ty<T>;
            fn deref(&self) -> &$ty<T> {
                &self.0
            }
        }

        impl<T: Item> std::ops::DerefMut for $storable<T> {
            fn deref_mut(&mut self) -> &mut $ty<T> {
                &mut self.0
            }
        }

        impl<T: Item> From<$ty<T>> for $storable<T> {
            fn from(inner: $ty<T>) -> Self {
                $storable(inner)
            }
        }

        impl<T: Item> Serializable for $storable<T> {
            const SER_TYPE: Option<&'static str> = Some($sser);
            fn release_files(&mut self, out: &mut Vec<Released>) {
                self.0.release_all(out);
            }
            fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
                self.0.to_content(ctx)
            }
            fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
                $ty::from_content(content, ctx).map($storable)
            }
        }

        impl<T: Item + Send + Sync + 'static> Storable for $storable<T>
        where
            T::Slot: Send + Sync,
        {
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

// Clone by hand: a derive would ask `T: Clone`, while what is cloned is
// `T::Slot` (a `Record<T>` is `Clone` when `T` is). `Repo::store` takes a
// `Storable + Clone`, so an `SMDict` is stored only with these. A clone
// shares no removed items' files with the original (see `Unused`): only
// the original's next save deletes them.
impl<T: Item<Slot: Clone>> Clone for MList<T> {
    fn clone(&self) -> Self {
        MList {
            subdir: self.subdir.clone(),
            preload: self.preload,
            items: self.items.clone(),
            unused: self.unused.clone(),
        }
    }
}

impl<T: Item<Slot: Clone>> Clone for MDict<T> {
    fn clone(&self) -> Self {
        MDict {
            subdir: self.subdir.clone(),
            preload: self.preload,
            store_by_key: self.store_by_key,
            store_subdir: self.store_subdir,
            items: self.items.clone(),
            unused: self.unused.clone(),
        }
    }
}

impl<T: Item<Slot: Clone>> Clone for MRuns<T> {
    fn clone(&self) -> Self {
        MRuns {
            stem: self.stem.clone(),
            run_count: self.run_count,
            store_subdir: self.store_subdir,
            list: self.list.clone(),
        }
    }
}

impl<T: Item<Slot: Clone>> Clone for SMList<T> {
    fn clone(&self) -> Self {
        SMList(self.0.clone())
    }
}

impl<T: Item<Slot: Clone>> Clone for SMDict<T> {
    fn clone(&self) -> Self {
        SMDict(self.0.clone())
    }
}

impl<T: Item<Slot: Clone>> Clone for SMRuns<T> {
    fn clone(&self) -> Self {
        SMRuns(self.0.clone())
    }
}

impl<T: Item<Slot: std::fmt::Debug>> std::fmt::Debug for MList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl<T: Item<Slot: std::fmt::Debug>> std::fmt::Debug for MDict<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.items.iter()).finish()
    }
}

impl<T: Item<Slot: std::fmt::Debug>> std::fmt::Debug for MRuns<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MRuns")
            .field("stem", &self.stem)
            .field("run_count", &self.run_count)
            .field("runs", &self.list)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Note(String);

    impl Storable for Note {
        const STO_TYPE: &'static str = "note";
        fn to_stored(&self, _: &mut EncodeContext<'_>) -> Result<Stored> {
            Ok(Stored::Bytes(self.0.clone().into_bytes().into()))
        }
        fn from_stored(stored: Stored, _: &DecodeContext) -> Result<Self> {
            let bytes = stored.into_bytes();
            Ok(Note(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }

    /// What `Repo::store` asks of the value it stores.
    fn storable_and_clone<S: Storable + Clone>(value: &S) -> S {
        value.clone()
    }

    #[test]
    fn storable_forms_clone_with_their_options_and_items() {
        let mut d = MDict::new()
            .subdir("s")
            .store_by_key(true)
            .store_subdir(true)
            .preload(true);
        d.insert("a", Note("x".into()));
        let c = storable_and_clone(&SMDict(d));
        assert_eq!(c.keys().collect::<Vec<_>>(), ["a"]);
        assert!(c.is_store_by_key() && c.is_store_subdir() && c.is_preload());
        assert_eq!(c.get_subdir(), "s");
        assert_eq!(c.get("a").and_then(Record::loaded), Some(&Note("x".into())));
        // The clone's record keeps what its container gave it.
        assert!(c.get("a").is_some_and(Record::is_preload));

        let mut runs = MRuns::new().stem("r").store_subdir(false);
        runs.push(Note("y".into()));
        let c = storable_and_clone(&SMRuns(runs));
        assert_eq!((c.run_count(), c.get_stem()), (1, Some("r")));
        assert_eq!(c.get(0).and_then(Record::loaded), Some(&Note("y".into())));

        let list: MList<Note> = [Note("z".into())].into_iter().collect();
        let c = storable_and_clone(&SMList(list.subdir("l")));
        assert_eq!(c.get_subdir(), "l");
        assert_eq!(c.get(0).and_then(Record::loaded), Some(&Note("z".into())));
    }
}
