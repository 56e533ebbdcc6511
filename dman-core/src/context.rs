//! The state threaded through encoding and decoding a record graph.
//!
//! Encoding is synchronous and does no I/O: it turns a value into the JSON of
//! one file and a [`SavePlan`] listing the content files to write, copy, keep
//! and delete. Executing the plan is the only step that touches storage,
//! which is what lets a save write content files concurrently, commit the
//! root file last, and delete only after the commit.
//!
//! Decoding is synchronous too: records come out unloaded and read their
//! file on first access.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;

pub use crate::error::RetouchPolicyKind;
use crate::error::{Error, Result};
use crate::path::StoragePath;
use crate::storage::{same_store, Payload, StorageBackend};
use crate::target::{next_stem, ItemOptions, Target};

/// What to do when two records of one save want the same file (Python's
/// `on_retouch`).
#[derive(Clone, Default)]
pub enum RetouchPolicy {
    /// Overwrite, with a warning (Python's default).
    #[default]
    Ignore,
    /// Add an index to the file name until it is free.
    Auto,
    /// Fail the save.
    Quit,
    /// Ask a callback, which gets the contested path and the suggested free
    /// one and answers with a choice.
    Prompt(RetouchPrompt),
}

/// The callback of [`RetouchPolicy::Prompt`]: given the contested path and a
/// suggested free one, it chooses.
pub type RetouchPrompt = Arc<dyn Fn(&StoragePath, &StoragePath) -> RetouchChoice + Send + Sync>;

impl fmt::Debug for RetouchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl RetouchPolicy {
    /// Which policy this is, without its callback.
    pub fn kind(&self) -> RetouchPolicyKind {
        match self {
            RetouchPolicy::Ignore => RetouchPolicyKind::Ignore,
            RetouchPolicy::Auto => RetouchPolicyKind::Auto,
            RetouchPolicy::Quit => RetouchPolicyKind::Quit,
            RetouchPolicy::Prompt(_) => RetouchPolicyKind::Prompt,
        }
    }

    fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// An answer of the [`RetouchPolicy::Prompt`] callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetouchChoice {
    /// Overwrite the file.
    Ignore,
    /// Take the suggested free name.
    Auto,
    /// Fail the save.
    Quit,
    /// Use this file name instead (in the same folder).
    Rename(String),
}

/// Options of one save that the graph's types consult while encoding.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Delete the files of items removed from model containers (Python's
    /// `auto_clean`). On by default.
    pub auto_clean: bool,
    /// What to do when one save writes a file twice.
    pub retouch: RetouchPolicy,
    /// Paths a content file must not take: files found to exist when an
    /// earlier attempt of the same save tried to create them (left by a
    /// concurrent or a killed writer). A record that wants one takes the
    /// next free name instead.
    pub avoid: Arc<HashSet<StoragePath>>,
    /// The files of the version this save replaces, when the value saved
    /// does not know them (a fresh value saved over a saved key): new
    /// content does not go there before the commit, and those the new
    /// version does not use are deleted after it (with `auto_clean`).
    pub previous: Arc<HashSet<StoragePath>>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            auto_clean: true,
            retouch: RetouchPolicy::Ignore,
            avoid: Arc::default(),
            previous: Arc::default(),
        }
    }
}

/// A content file to copy from where it was loaded to where it now belongs
/// (its holder moved).
#[derive(Debug, Clone)]
pub(crate) struct CopyOp {
    /// The store the file was loaded from.
    pub(crate) from_store: Arc<dyn StorageBackend>,
    /// Its path there.
    pub(crate) from: StoragePath,
    /// Its new path in the plan's store.
    pub(crate) to: StoragePath,
    /// Whether the file is a JSON record graph whose own records must be
    /// copied along (keeping their relative places).
    pub(crate) nested: bool,
    /// Whether a missing source is left out rather than an error: the
    /// record carries Python's note that its file could not be read or
    /// written (`exceptions`), so the copy points nowhere, as the original
    /// does.
    pub(crate) if_present: bool,
}

/// A file to delete after the commit, unless the new graph still uses it.
#[derive(Debug, Clone)]
pub(crate) struct RemoveOp {
    /// The file.
    pub(crate) path: StoragePath,
    /// Whether it is a JSON record graph whose records are deleted along.
    pub(crate) nested: bool,
}

/// A stored file that a value gave up when it left its container (Python's
/// `unused` list): deleted after the next save commits, with the records it
/// holds when it is a JSON graph, unless the new graph still uses it.
#[derive(Debug, Clone)]
pub struct Released {
    pub(crate) store: Arc<dyn StorageBackend>,
    pub(crate) op: RemoveOp,
}

impl Released {
    /// A file in `store`; `nested` when it is a JSON record graph.
    pub fn new(store: Arc<dyn StorageBackend>, path: StoragePath, nested: bool) -> Self {
        Released {
            store,
            op: RemoveOp { path, nested },
        }
    }

    /// The file.
    pub fn path(&self) -> &StoragePath {
        &self.op.path
    }

    /// Adds the removal to `ctx`'s plan when auto-clean is on and the file
    /// is in the store being saved to (a file elsewhere is not the save's
    /// to delete).
    pub fn schedule(self, ctx: &mut EncodeContext<'_>) {
        if ctx.options().auto_clean && same_store(&self.store, ctx.plan().store()) {
            ctx.plan().removals.push(self.op);
        }
    }
}

/// Where a container puts the records of an item it adopts.
///
/// `next` gives the target parts the container decides; it is called once
/// per record the item holds (an item without records leaves it uncalled,
/// so a run list numbers only items that are records, as Python's `mruns`
/// does).
pub struct Placement<'a> {
    /// The target parts of the next record.
    pub next: &'a mut dyn FnMut() -> Target,
    /// Read the records when the container is loaded.
    pub preload: bool,
    /// Options given with the item (`container.record(value, options)`).
    pub options: Option<&'a ItemOptions>,
}

/// Everything one save must do in storage, collected while encoding.
#[derive(Debug)]
pub struct SavePlan {
    pub(crate) store: Arc<dyn StorageBackend>,
    /// Content files to write, in encoding order.
    pub(crate) writes: Vec<(StoragePath, Payload)>,
    /// Content files to copy.
    pub(crate) copies: Vec<CopyOp>,
    /// Files the new graph points at and that stay as they are.
    pub(crate) kept: Vec<StoragePath>,
    /// Files of removed or replaced items.
    pub(crate) removals: Vec<RemoveOp>,
    /// Human-readable notes (retouch warnings) that the caller may log.
    pub(crate) warnings: Vec<String>,
    touched: HashSet<StoragePath>,
    options: EncodeOptions,
    pub(crate) committed: Arc<AtomicBool>,
}

impl SavePlan {
    /// An empty plan for a save into `store`.
    pub fn new(store: Arc<dyn StorageBackend>, options: EncodeOptions) -> Self {
        SavePlan {
            store,
            writes: Vec::new(),
            copies: Vec::new(),
            kept: Vec::new(),
            removals: Vec::new(),
            warnings: Vec::new(),
            touched: HashSet::new(),
            options,
            committed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The content files the plan writes, in encoding order, with their
    /// bytes (an array's in two parts: its header and its own memory,
    /// shared with the record until the plan is run or dropped).
    pub fn writes(&self) -> &[(StoragePath, Payload)] {
        &self.writes
    }

    /// Notes for the caller (retouch warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The store the plan writes to.
    pub fn store(&self) -> &Arc<dyn StorageBackend> {
        &self.store
    }

    /// The options of this save.
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// Sets the files of the version this save replaces, once the plan is
    /// made (see [`EncodeOptions::previous`]).
    pub(crate) fn set_previous(&mut self, previous: Arc<HashSet<StoragePath>>) {
        self.options.previous = previous;
    }

    /// The flag that turns true once the root file of this save is written;
    /// records written by the save count as stored only from then on, so a
    /// failed save never leaves them believing their file exists.
    pub(crate) fn commit_flag(&self) -> &Arc<AtomicBool> {
        &self.committed
    }

    /// Every path the new graph points at: written, copied or kept.
    pub(crate) fn live_paths(&self) -> HashSet<StoragePath> {
        let mut live: HashSet<StoragePath> = self.writes.iter().map(|(p, _)| p.clone()).collect();
        live.extend(self.copies.iter().map(|c| c.to.clone()));
        live.extend(self.kept.iter().cloned());
        live
    }

    /// Whether new content must not go to `path`: it holds content that a
    /// committed version points at and that this save replaces (writing
    /// there before the commit would tear that version), or an earlier
    /// attempt found the name taken (see [`SavePlan::alternate`]).
    pub(crate) fn is_occupied(&self, path: &StoragePath) -> bool {
        self.options.avoid.contains(path)
            || self.options.previous.contains(path)
            || self.removals.iter().any(|r| &r.path == path)
    }

    /// A free name in the folder of `path` for content that cannot go to
    /// `path` itself: a fresh uuid for a uuid-named file, else the next
    /// name Python's `retouch='auto'` would give (`data.npy` → `data1.npy`),
    /// skipping names this save uses, replaces or must avoid.
    pub(crate) fn alternate(&mut self, path: &StoragePath) -> Result<StoragePath> {
        let parent = path.dir();
        let t = Target::default().with_name(path.file_name().unwrap_or_default());
        let suffix = t.suffix.unwrap_or_default();
        let mut stem = t.stem.unwrap_or_default();
        let uuid_named = uuid::Uuid::try_parse(&stem).is_ok();
        loop {
            stem = if uuid_named {
                uuid::Uuid::new_v4().to_string()
            } else {
                next_stem(&stem)
            };
            let candidate = parent.join(&format!("{stem}{suffix}"))?;
            if !self.touched.contains(&candidate) && !self.is_occupied(&candidate) {
                self.touched.insert(candidate.clone());
                return Ok(candidate);
            }
        }
    }

    /// Claims `path` for a file of this save, applying the retouch policy
    /// when it was claimed before. Returns the path to use.
    pub(crate) fn claim(&mut self, path: StoragePath) -> Result<StoragePath> {
        if self.touched.insert(path.clone()) {
            return Ok(path);
        }
        let suggestion = self.free_name(&path)?;
        let mut choice = match &self.options.retouch {
            RetouchPolicy::Ignore => RetouchChoice::Ignore,
            RetouchPolicy::Auto => RetouchChoice::Auto,
            RetouchPolicy::Quit => RetouchChoice::Quit,
            RetouchPolicy::Prompt(ask) => ask(&path, &suggestion),
        };
        loop {
            match choice {
                RetouchChoice::Ignore => {
                    let msg = format!("overwrote previously stored object at target `{path}`");
                    tracing::warn!(target: "dman::save", "{msg}");
                    self.warnings.push(msg);
                    return Ok(path);
                }
                RetouchChoice::Auto => {
                    self.touched.insert(suggestion.clone());
                    return Ok(suggestion);
                }
                RetouchChoice::Quit => {
                    return Err(Error::Retouch {
                        path,
                        policy: self.options.retouch.kind(),
                    })
                }
                RetouchChoice::Rename(name) => {
                    let parent = path.dir();
                    let renamed = parent.join(&name)?;
                    if self.touched.insert(renamed.clone()) {
                        return Ok(renamed);
                    }
                    // Python asks again when the new name is taken too.
                    choice = match &self.options.retouch {
                        RetouchPolicy::Prompt(ask) => ask(&renamed, &self.free_name(&renamed)?),
                        _ => RetouchChoice::Quit,
                    };
                }
            }
        }
    }

    fn free_name(&self, path: &StoragePath) -> Result<StoragePath> {
        let parent = path.dir();
        let name = path.file_name().unwrap_or_default();
        let t = Target::default().with_name(name);
        let suffix = t.suffix.unwrap_or_default();
        let mut stem = t.stem.unwrap_or_default();
        loop {
            stem = next_stem(&stem);
            let candidate = parent.join(&format!("{stem}{suffix}"))?;
            if !self.touched.contains(&candidate) {
                return Ok(candidate);
            }
        }
    }
}

/// Options a modelclass field gives the record it holds, used for the parts
/// of the record's target that the record itself leaves open.
#[derive(Debug, Clone, Default)]
pub struct RecordDefaults {
    /// Target parts from the field (`stem`, `subdir`, `store_by_field`, ...).
    pub target: Target,
    /// The field asks for `preload`.
    pub preload: bool,
}

/// The encoding state: the plan being filled, the folder of the JSON file
/// being written, and the field options for the next record.
pub struct EncodeContext<'a> {
    plan: &'a mut SavePlan,
    dir: StoragePath,
    defaults: Option<RecordDefaults>,
}

impl<'a> EncodeContext<'a> {
    /// A context for the JSON file in folder `dir` of the plan's store.
    pub fn new(plan: &'a mut SavePlan, dir: StoragePath) -> Self {
        EncodeContext {
            plan,
            dir,
            defaults: None,
        }
    }

    /// The folder of the JSON file being written; record targets are
    /// relative to it.
    pub fn dir(&self) -> &StoragePath {
        &self.dir
    }

    /// The plan being filled.
    pub fn plan(&mut self) -> &mut SavePlan {
        self.plan
    }

    /// The options of this save.
    pub fn options(&self) -> &EncodeOptions {
        &self.plan.options
    }

    /// A context for a JSON file in another folder of the same save (the
    /// file of a storable that holds records of its own).
    pub fn child(&mut self, dir: StoragePath) -> EncodeContext<'_> {
        EncodeContext {
            plan: self.plan,
            dir,
            defaults: None,
        }
    }

    /// Runs `f` with `defaults` offered to the next record encoded (a
    /// modelclass field's record options).
    pub fn with_defaults<R>(
        &mut self,
        defaults: RecordDefaults,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let saved = self.defaults.replace(defaults);
        let r = f(self);
        self.defaults = saved;
        r
    }

    /// Runs `f` with no field defaults (items of containers get their
    /// targets from the container, never from the enclosing field).
    pub fn without_defaults<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = self.defaults.take();
        let r = f(self);
        self.defaults = saved;
        r
    }

    /// Takes the field defaults for the record being encoded.
    pub fn take_defaults(&mut self) -> Option<RecordDefaults> {
        self.defaults.take()
    }
}

/// The decoding state: where the JSON file being decoded lives, so that
/// records can find their files later.
#[derive(Clone)]
pub struct DecodeContext {
    store: Arc<dyn StorageBackend>,
    dir: StoragePath,
    prefetched: Arc<HashMap<StoragePath, Bytes>>,
}

impl fmt::Debug for DecodeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeContext")
            .field("store", &self.store.location())
            .field("dir", &self.dir)
            .finish()
    }
}

impl DecodeContext {
    /// A context for a JSON file in folder `dir` of `store`.
    pub fn new(store: Arc<dyn StorageBackend>, dir: StoragePath) -> Self {
        DecodeContext {
            store,
            dir,
            prefetched: Arc::new(HashMap::new()),
        }
    }

    /// The same, with the files of `preload` records already read.
    pub fn with_prefetched(mut self, prefetched: HashMap<StoragePath, Bytes>) -> Self {
        self.prefetched = Arc::new(prefetched);
        self
    }

    /// The store records load from.
    pub fn store(&self) -> &Arc<dyn StorageBackend> {
        &self.store
    }

    /// The folder of the JSON file; record targets are relative to it.
    pub fn dir(&self) -> &StoragePath {
        &self.dir
    }

    /// The bytes of a preloaded file, if they were read ahead.
    pub fn prefetched(&self, path: &StoragePath) -> Option<Bytes> {
        self.prefetched.get(path).cloned()
    }

    /// A context for a JSON file in another folder, sharing what was
    /// prefetched.
    pub fn child(&self, dir: StoragePath) -> DecodeContext {
        DecodeContext {
            store: self.store.clone(),
            dir,
            prefetched: self.prefetched.clone(),
        }
    }
}
