//! Heterogeneous model containers, as Python's `mlist`, `mdict` and
//! `mruns` are: inline values and records of any storable side by side
//! (`mlist_mixed` holds ints, strings, a modelclass, an inline array and
//! records of `person` and `_num__barray`).
//!
//! dman-rs' own [`MList`](dman::MList), [`MDict`](dman::MDict) and
//! [`MRuns`](dman::MRuns) hold records of one storable type; the reference
//! scenarios whose containers hold one type use them. These containers
//! write the same JSON (FORMAT.md section 8) for the others, with the same
//! target rules, built on the public [`Record`] API.

use std::sync::Mutex;

use dman::core::context::RemoveOp;
use dman::core::json::{Map, Value};
use dman::core::serial::{self, mismatch, split_envelope};
use dman::core::target::join_rel;
use dman::core::StoragePath;
use dman::ndarray::ArrayD;
use dman::{
    DecodeContext, EncodeContext, Error, ItemOptions, Record, Result, Serializable, Storable,
    Stored,
};
use indexmap::IndexMap;

use crate::refmodel::{AnyArray, Config, Person, Run};

/// An item of a heterogeneous container: an inline value or a record of
/// one of the reference storables.
// Test data: matching on the variants matters more than their size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Item {
    /// Plain JSON without any `_ser__type` envelope inside.
    Json(Value),
    /// A `config` modelclass, inline.
    Config(Config),
    /// A plain `np.ndarray` inline (`_num__ndarray`).
    NdArray(ArrayD<f64>),
    /// A record of a `person`.
    Person(Record<Person>),
    /// A record of a `barray`.
    Array(Record<AnyArray>),
    /// A record of a storable `run`.
    Run(Record<Run>),
    /// A record of an `smlist` (`_sto__mlist`).
    List(Record<SAnyList>),
    /// A record of an `smdict` (`_sto__smdict`).
    Dict(Record<SAnyDict>),
    /// A record of an `smruns` (`_sto__smruns`).
    Runs(Record<SAnyRuns>),
}

/// Where a container puts a record it adopts: the parts it sets.
struct Placement {
    subdir: String,
    stem: Option<String>,
    preload: bool,
}

fn place<T>(rec: Record<T>, p: &Placement, opts: Option<&ItemOptions>) -> Record<T> {
    let mut rec = rec.subdir(p.subdir.clone()).preload(p.preload);
    if let Some(stem) = &p.stem {
        rec = rec.stem(stem.clone());
    }
    if let Some(o) = opts {
        rec = rec.with_options(o);
    }
    rec
}

macro_rules! each_record {
    ($item:expr, $r:ident => $body:expr, $other:pat => $other_body:expr) => {
        match $item {
            Item::Person($r) => $body,
            Item::Array($r) => $body,
            Item::Run($r) => $body,
            Item::List($r) => $body,
            Item::Dict($r) => $body,
            Item::Runs($r) => $body,
            $other => $other_body,
        }
    };
}

impl Item {
    /// A plain JSON value.
    pub fn json(value: impl Into<Value>) -> Self {
        Item::Json(value.into())
    }

    /// A plain JSON value given as JSON text.
    pub fn parse(text: &str) -> Self {
        Item::Json(dman::core::json::from_str(text).expect("valid JSON"))
    }

    /// A new person record.
    pub fn person(name: &str) -> Self {
        Item::Person(Record::new(Person::new(name)))
    }

    /// A new barray record.
    pub fn array(array: AnyArray) -> Self {
        Item::Array(Record::new(array))
    }

    /// A new run record.
    pub fn run(run: Run) -> Self {
        Item::Run(Record::new(run))
    }

    /// A new smlist record.
    pub fn list(list: AnyList) -> Self {
        Item::List(Record::new(SAnyList(list)))
    }

    /// A new smdict record.
    pub fn dict(dict: AnyDict) -> Self {
        Item::Dict(Record::new(SAnyDict(dict)))
    }

    /// A new smruns record.
    pub fn runs(runs: AnyRuns) -> Self {
        Item::Runs(Record::new(SAnyRuns(runs)))
    }

    /// Whether the item is kept in a file of its own.
    pub fn is_record(&self) -> bool {
        each_record!(self, _r => true, _ => false)
    }

    fn place(self, p: &Placement, opts: Option<&ItemOptions>) -> Item {
        match self {
            Item::Person(r) => Item::Person(place(r, p, opts)),
            Item::Array(r) => Item::Array(place(r, p, opts)),
            Item::Run(r) => Item::Run(place(r, p, opts)),
            Item::List(r) => Item::List(place(r, p, opts)),
            Item::Dict(r) => Item::Dict(place(r, p, opts)),
            Item::Runs(r) => Item::Runs(place(r, p, opts)),
            inline => inline,
        }
    }

    /// The file the item's record was loaded from or saved to, and whether
    /// it is a JSON graph of its own.
    fn file(&self) -> Option<(StoragePath, bool)> {
        fn of<T: Storable>(r: &Record<T>) -> Option<(StoragePath, bool)> {
            r.path().map(|p| (p, T::JSON))
        }
        each_record!(self, r => of(r), _ => None)
    }
}

/// An error at the first `_ser__type` found inside plain JSON.
fn refuse_envelopes(value: &Value) -> Result<()> {
    if split_envelope(value).is_some() {
        return Err(mismatch("plain JSON", value));
    }
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refuse_envelopes(v).map_err(|e| e.at_index(i))?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                refuse_envelopes(v).map_err(|e| e.at_key(k))?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Serializable for Item {
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        match self {
            Item::Json(v) => Ok(v.clone()),
            Item::Config(c) => serial::serialize(c, ctx),
            Item::NdArray(a) => serial::serialize(a, ctx),
            Item::Person(r) => serial::serialize(r, ctx),
            Item::Array(r) => serial::serialize(r, ctx),
            Item::Run(r) => serial::serialize(r, ctx),
            Item::List(r) => serial::serialize(r, ctx),
            Item::Dict(r) => serial::serialize(r, ctx),
            Item::Runs(r) => serial::serialize(r, ctx),
        }
    }

    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let Some((name, inner)) = split_envelope(content) else {
            refuse_envelopes(content)?;
            return Ok(Item::Json(content.clone()));
        };
        match name {
            "_ser__record" => {
                let sto_type = inner
                    .get("sto_type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::decode("record has no `sto_type`"))?;
                match sto_type {
                    "person" => serial::deserialize(content, ctx).map(Item::Person),
                    "_num__barray" => serial::deserialize(content, ctx).map(Item::Array),
                    "run" => serial::deserialize(content, ctx).map(Item::Run),
                    "_sto__mlist" => serial::deserialize(content, ctx).map(Item::List),
                    "_sto__smdict" => serial::deserialize(content, ctx).map(Item::Dict),
                    "_sto__smruns" => serial::deserialize(content, ctx).map(Item::Runs),
                    other => Err(Error::decode(format!(
                        "a record of storage type `{other}`, which no reference type has"
                    ))
                    .at_key("sto_type")),
                }
            }
            "config" => serial::deserialize(content, ctx).map(Item::Config),
            "_num__ndarray" => serial::deserialize(content, ctx).map(Item::NdArray),
            _ => Err(mismatch(
                "an inline value or a record of a reference type",
                content,
            )),
        }
    }
}

/// Files of removed items, deleted by the next save after its commit.
#[derive(Debug, Default)]
struct Removed(Mutex<Vec<(StoragePath, bool)>>);

impl Removed {
    fn add(&self, item: &Item) {
        if let Some(file) = item.file() {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(file);
        }
    }

    fn schedule(&self, ctx: &mut EncodeContext<'_>) {
        let files = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if ctx.options().auto_clean {
            for (path, nested) in files {
                ctx.plan().removals.push(RemoveOp { path, nested });
            }
        }
    }
}

impl Clone for Removed {
    fn clone(&self) -> Self {
        // A clone does not own the original's removed files.
        Removed::default()
    }
}

fn opt_str(content: &Value, key: &str) -> Result<String> {
    match content.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(mismatch("str", other).at_key(key)),
    }
}

fn opt_bool(content: &Value, key: &str, default: bool) -> Result<bool> {
    match content.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(mismatch("bool", other).at_key(key)),
    }
}

// ---- AnyList ----------------------------------------------------------------------

/// Python's `mlist` (`_ser__mlist`) holding anything.
#[derive(Debug, Default, Clone)]
pub struct AnyList {
    /// `subdir`: folder of the items' files.
    pub subdir: String,
    /// `preload`: items are read with the list.
    pub preload: bool,
    /// The items, in order.
    pub items: Vec<Item>,
    removed: Removed,
}

impl AnyList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of `items`, appended in order.
    pub fn of(items: impl IntoIterator<Item = Item>) -> Self {
        let mut list = Self::new();
        for item in items {
            list.push(item);
        }
        list
    }

    /// Sets `subdir`.
    pub fn subdir(mut self, subdir: &str) -> Self {
        self.subdir = subdir.into();
        self
    }

    /// Sets `preload`.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    fn placement(&self) -> Placement {
        Placement {
            subdir: self.subdir.clone(),
            stem: None,
            preload: self.preload,
        }
    }

    /// `append(item)`.
    pub fn push(&mut self, item: Item) {
        let p = self.placement();
        self.items.push(item.place(&p, None));
    }

    /// `record(item, index, stem=..., ...)`: appends (or inserts at
    /// `index`), then applies the options.
    pub fn record(&mut self, item: Item, index: Option<usize>, opts: &ItemOptions) {
        let p = self.placement();
        let item = item.place(&p, Some(opts));
        match index {
            Some(i) => self.items.insert(i, item),
            None => self.items.push(item),
        }
    }

    /// `del list[index]`: its files are deleted by the next save.
    pub fn remove(&mut self, index: usize) -> Item {
        let item = self.items.remove(index);
        self.removed.add(&item);
        item
    }

    fn content(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.removed.schedule(ctx);
        let store = ctx.without_defaults(|ctx| {
            self.items
                .iter()
                .enumerate()
                .map(|(i, item)| serial::serialize(item, ctx).map_err(|e| e.at_index(i)))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out = Map::new();
        out.insert("store".into(), Value::Array(store));
        if !self.subdir.is_empty() {
            out.insert("subdir".into(), Value::String(self.subdir.clone()));
        }
        if self.preload {
            out.insert("preload".into(), Value::Bool(true));
        }
        Ok(out)
    }

    fn from_map(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        if !matches!(content, Value::Object(_)) {
            return Err(mismatch("the content of an mlist", content));
        }
        let store = content.get("store").unwrap_or(&Value::Null);
        let items = store
            .as_array()
            .ok_or_else(|| mismatch("a list", store).at_key("store"))?
            .iter()
            .enumerate()
            .map(|(i, v)| serial::deserialize(v, ctx).map_err(|e| e.at_index(i).at_key("store")))
            .collect::<Result<Vec<Item>>>()?;
        Ok(AnyList {
            subdir: opt_str(content, "subdir")?,
            preload: opt_bool(content, "preload", false)?,
            items,
            removed: Removed::default(),
        })
    }
}

// ---- AnyDict ----------------------------------------------------------------------

/// Python's `mdict` (`_ser__mdict`) holding anything.
#[derive(Debug, Default, Clone)]
pub struct AnyDict {
    /// `subdir` (used only with `store_subdir`, FORMAT.md section 15, quirk 5).
    pub subdir: String,
    /// `preload`.
    pub preload: bool,
    /// `store_by_key`: a file is named after its key.
    pub store_by_key: bool,
    /// `store_subdir`: a file goes in a folder named after its key.
    pub store_subdir: bool,
    /// The entries, in insertion order.
    pub items: IndexMap<String, Item>,
    removed: Removed,
}

impl AnyDict {
    /// An empty dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `subdir`.
    pub fn subdir(mut self, subdir: &str) -> Self {
        self.subdir = subdir.into();
        self
    }

    /// Sets `preload`.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    /// Sets `store_by_key`.
    pub fn store_by_key(mut self, on: bool) -> Self {
        self.store_by_key = on;
        self
    }

    /// Sets `store_subdir`.
    pub fn store_subdir(mut self, on: bool) -> Self {
        self.store_subdir = on;
        self
    }

    fn placement(&self, key: &str) -> Placement {
        // Python merges a per-key target whose subdir is "" over the dict's
        // subdir: the subdir only counts with store_subdir.
        Placement {
            subdir: if self.store_subdir {
                join_rel(&self.subdir, key)
            } else {
                String::new()
            },
            stem: self.store_by_key.then(|| key.to_string()),
            preload: self.preload,
        }
    }

    /// `dict[key] = item`.
    pub fn insert(&mut self, key: &str, item: Item) {
        let p = self.placement(key);
        if let Some(old) = self.items.insert(key.into(), item.place(&p, None)) {
            self.removed.add(&old);
        }
    }

    /// `record(key, item, stem=..., ...)`.
    pub fn record(&mut self, key: &str, item: Item, opts: &ItemOptions) {
        let p = self.placement(key);
        if let Some(old) = self.items.insert(key.into(), item.place(&p, Some(opts))) {
            self.removed.add(&old);
        }
    }

    fn content(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        self.removed.schedule(ctx);
        let store = ctx.without_defaults(|ctx| {
            let mut store = Map::new();
            for (k, item) in &self.items {
                store.insert(
                    k.clone(),
                    serial::serialize(item, ctx).map_err(|e| e.at_key(k))?,
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
        if !matches!(content, Value::Object(_)) {
            return Err(mismatch("the content of an mdict", content));
        }
        let store = content.get("store").unwrap_or(&Value::Null);
        let entries = store
            .as_object()
            .ok_or_else(|| mismatch("a dict", store).at_key("store"))?;
        let mut items = IndexMap::with_capacity(entries.len());
        for (k, v) in entries {
            let item = serial::deserialize(v, ctx).map_err(|e| e.at_key(k).at_key("store"))?;
            items.insert(k.clone(), item);
        }
        Ok(AnyDict {
            subdir: opt_str(content, "subdir")?,
            preload: opt_bool(content, "preload", false)?,
            store_by_key: opt_bool(content, "store_by_key", false)?,
            store_subdir: opt_bool(content, "store_subdir", false)?,
            items,
            removed: Removed::default(),
        })
    }
}

// ---- AnyRuns ----------------------------------------------------------------------

/// Python's `mruns` (`_ser__mruns`) holding anything: each storable item
/// takes the number `run_count`, inline items take none.
#[derive(Debug, Clone)]
pub struct AnyRuns {
    /// `stem` (`None` is written `null`, as `smruns_factory()` does).
    pub stem: Option<String>,
    /// The number of the next run.
    pub run_count: u64,
    /// `store_subdir`: run `n` is `<subdir>/<stem>-<n>/<stem><ext>`.
    pub store_subdir: bool,
    /// The items and the list options (`subdir`, `preload`).
    pub list: AnyList,
}

impl Default for AnyRuns {
    fn default() -> Self {
        AnyRuns {
            stem: Some("run".into()),
            run_count: 0,
            store_subdir: true,
            list: AnyList::new(),
        }
    }
}

impl AnyRuns {
    /// An empty run list, stem `run`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `stem`.
    pub fn stem(mut self, stem: &str) -> Self {
        self.stem = Some(stem.into());
        self
    }

    /// Sets `subdir`.
    pub fn subdir(mut self, subdir: &str) -> Self {
        self.list.subdir = subdir.into();
        self
    }

    /// Sets `preload`.
    pub fn preload(mut self, preload: bool) -> Self {
        self.list.preload = preload;
        self
    }

    /// Sets `store_subdir`.
    pub fn store_subdir(mut self, on: bool) -> Self {
        self.store_subdir = on;
        self
    }

    fn next_placement(&mut self) -> Placement {
        let stem = self.stem.clone().unwrap_or_else(|| "None".into());
        let key = format!("{stem}-{}", self.run_count);
        self.run_count += 1;
        if self.store_subdir {
            Placement {
                subdir: join_rel(&self.list.subdir, &key),
                stem: Some(stem),
                preload: self.list.preload,
            }
        } else {
            Placement {
                subdir: self.list.subdir.clone(),
                stem: Some(key),
                preload: self.list.preload,
            }
        }
    }

    /// `append(item)`.
    pub fn push(&mut self, item: Item) {
        let item = if item.is_record() {
            let p = self.next_placement();
            item.place(&p, None)
        } else {
            item
        };
        self.list.items.push(item);
    }

    /// `record(item, index, stem=..., ...)`.
    pub fn record(&mut self, item: Item, index: Option<usize>, opts: &ItemOptions) {
        let item = if item.is_record() {
            let p = self.next_placement();
            item.place(&p, Some(opts))
        } else {
            item
        };
        match index {
            Some(i) => self.list.items.insert(i, item),
            None => self.list.items.push(item),
        }
    }

    /// `del runs[index]`.
    pub fn remove(&mut self, index: usize) -> Item {
        self.list.remove(index)
    }

    /// The items.
    pub fn items(&self) -> &[Item] {
        &self.list.items
    }

    fn content(&self, ctx: &mut EncodeContext<'_>) -> Result<Map> {
        let mut out = Map::new();
        out.insert(
            "stem".into(),
            self.stem.clone().map_or(Value::Null, Value::String),
        );
        out.insert("run_count".into(), Value::from(self.run_count));
        if !self.store_subdir {
            out.insert("store_subdir".into(), Value::Bool(false));
        }
        out.extend(self.list.content(ctx)?);
        Ok(out)
    }

    fn from_map(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        if !matches!(content, Value::Object(_)) {
            return Err(mismatch("the content of an mruns", content));
        }
        let stem = match content.get("stem") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(mismatch("str", other).at_key("stem")),
        };
        let run_count = match content.get("run_count") {
            None | Some(Value::Null) => 0,
            Some(v) => u64::from_content(v, ctx).map_err(|e| e.at_key("run_count"))?,
        };
        Ok(AnyRuns {
            stem,
            run_count,
            store_subdir: opt_bool(content, "store_subdir", true)?,
            list: AnyList::from_map(content, ctx)?,
        })
    }
}

// ---- serializable and storable forms ---------------------------------------------------

macro_rules! forms {
    ($ty:ident, $ser:literal, $storable:ident, $sser:literal, $sto:literal) => {
        impl Serializable for $ty {
            const SER_TYPE: Option<&'static str> = Some($ser);
            fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
                self.content(ctx).map(Value::Object)
            }
            fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
                Self::from_map(content, ctx)
            }
        }

        #[doc = concat!("The storable form of [`", stringify!($ty), "`] (`", $sser, "`, sto_type `", $sto, "`).")]
        #[derive(Debug, Default, Clone)]
        pub struct $storable(pub $ty);

        impl std::ops::Deref for $storable {
            type Target = $ty;
            fn deref(&self) -> &$ty {
                &self.0
            }
        }

        impl std::ops::DerefMut for $storable {
            fn deref_mut(&mut self) -> &mut $ty {
                &mut self.0
            }
        }

        impl Serializable for $storable {
            const SER_TYPE: Option<&'static str> = Some($sser);
            fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
                self.0.content(ctx).map(Value::Object)
            }
            fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
                $ty::from_map(content, ctx).map($storable)
            }
        }

        impl Storable for $storable {
            const STO_TYPE: &'static str = $sto;
            const EXTENSION: &'static str = ".json";
            const JSON: bool = true;
            fn to_stored(&self, ctx: &mut EncodeContext<'_>) -> Result<Stored> {
                self.0.content(ctx).map(|m| Stored::Json(Value::Object(m)))
            }
            fn from_stored(stored: Stored, ctx: &DecodeContext) -> Result<Self> {
                $ty::from_map(&stored.json()?, ctx).map($storable)
            }
        }
    };
}

forms!(
    AnyList,
    "_ser__mlist",
    SAnyList,
    "_ser__smlist",
    "_sto__mlist"
);
forms!(
    AnyDict,
    "_ser__mdict",
    SAnyDict,
    "_ser__smdict",
    "_sto__smdict"
);
forms!(
    AnyRuns,
    "_ser__mruns",
    SAnyRuns,
    "_ser__smruns",
    "_sto__smruns"
);
