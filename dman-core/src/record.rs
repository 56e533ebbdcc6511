//! `Record<T>`: a storable held in a file of its own, pointed at from JSON.
//!
//! A record is written as `{"target": "<subdir>/<file>", "sto_type": NAME}`
//! (plus `"preload": true` and `"exceptions"` when present), the target
//! relative to the folder of the JSON file that holds the record. Loading
//! the holder reads no content file: the record reads its file on first
//! access, once.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use crate::context::{CopyOp, DecodeContext, EncodeContext, Placement, Released};
use crate::error::{Error, FileRef, Result};
use crate::graph;
use crate::json::{self, Map, Value};
use crate::path::StoragePath;
use crate::serial::{mismatch, Serializable};
use crate::storable::{Decoder, Storable, Stored};
use crate::storage::{same_store, FileReader, Payload, StorageBackend};
use crate::target::{ItemOptions, Target};

pub use crate::serial::RECORD_TYPE;

/// Where a record's content was read from or last written to.
#[derive(Clone)]
enum Origin {
    /// Never stored: the content exists only in memory.
    New,
    /// Stored at `path` in `store`. `committed` is `None` for a file found
    /// on loading; for a file written by a save, it is that save's commit
    /// flag, so the file counts only once the save has committed.
    Stored {
        store: Arc<dyn StorageBackend>,
        path: StoragePath,
        committed: Option<Arc<AtomicBool>>,
    },
    /// The file named a target that cannot be used (it leaves the root).
    Refused(String),
}

impl Origin {
    fn is_current(&self) -> bool {
        match self {
            Origin::Stored { committed, .. } => {
                committed.as_ref().is_none_or(|c| c.load(Ordering::Acquire))
            }
            _ => false,
        }
    }
}

struct Meta {
    /// The requested target; complete once resolved.
    target: Target,
    /// Resolved targets are fixed: the file keeps its name across saves.
    resolved: bool,
    /// The user set target options: field defaults do not apply.
    explicit: bool,
    preload: bool,
    /// Python's `exceptions` entry, kept as written.
    exceptions: Option<Value>,
    origin: Origin,
    /// Where the content was before the save that set `origin`, until that
    /// save commits: a save that fails leaves the record where it was (a
    /// retry then copies from the file that exists, not from one the failed
    /// attempt took back).
    fallback: Option<Origin>,
    /// The file the content was loaded from, while unchanged: saved back to
    /// that place, after a save elsewhere moved `origin`, it is kept, not
    /// copied over itself.
    home: Option<(Arc<dyn StorageBackend>, StoragePath)>,
    /// Files of content replaced with [`Record::set`], deleted after the
    /// next save (auto-clean).
    replaced: Vec<(Arc<dyn StorageBackend>, StoragePath)>,
}

impl Meta {
    /// Settles where the content is once the save that last moved it has
    /// ended: committed, the new file; not (failed), the old one again.
    fn settle(&mut self) {
        if let Origin::Stored {
            committed: Some(flag),
            ..
        } = &self.origin
        {
            if flag.load(Ordering::Acquire) {
                self.fallback = None;
            } else if let Some(old) = self.fallback.take() {
                self.origin = old;
            }
        }
    }

    /// The content was replaced or is being changed: its file (and every
    /// note about it) belongs to the old content, deleted after the next
    /// save.
    fn content_changed(&mut self) {
        if let Origin::Stored { store, path, .. } = std::mem::replace(&mut self.origin, Origin::New)
        {
            self.replaced.push((store, path));
        }
        self.fallback = None;
        self.home = None;
        self.exceptions = None;
    }

    /// Moves the content to `origin`, remembering where it was until the
    /// save commits.
    fn move_to(&mut self, origin: Origin) {
        let old = std::mem::replace(&mut self.origin, origin);
        self.fallback = match old {
            Origin::New => None,
            old => Some(old),
        };
    }
}

/// A storable value kept in a file of its own and loaded lazily.
///
/// ```
/// use dman_core::{Record, Storable};
/// # fn demo<T: Storable>(value: T) {
/// let rec: Record<T> = Record::new(value).stem("john").subdir("people");
/// assert!(rec.is_loaded());
/// # }
/// ```
pub struct Record<T> {
    // Boxed: a record is small enough to sit in a user's enum beside an
    // `i64` without clippy's `large_enum_variant`.
    meta: Mutex<Box<Meta>>,
    // Shared with the plan of a save that writes it straight from memory
    // (`Storable::to_payload`), until the plan has run.
    content: OnceCell<Arc<T>>,
}

impl<T> Record<T> {
    fn with(meta: Meta, content: OnceCell<Arc<T>>) -> Self {
        Record {
            meta: Mutex::new(Box::new(meta)),
            content,
        }
    }

    fn meta(&self) -> MutexGuard<'_, Box<Meta>> {
        // A poisoned lock only means another thread panicked mid-update of
        // plain bookkeeping fields; the data is still usable.
        let mut meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        meta.settle();
        meta
    }

    fn meta_mut(&mut self) -> &mut Meta {
        let meta = self.meta.get_mut().unwrap_or_else(|p| p.into_inner());
        meta.settle();
        meta
    }

    /// A new record holding `value`, to be written on the next save under a
    /// fresh `<uuid4><ext>` name unless target options say otherwise.
    pub fn new(value: T) -> Self {
        Record::with(
            Meta {
                target: Target::default(),
                resolved: false,
                explicit: false,
                preload: false,
                exceptions: None,
                origin: Origin::New,
                fallback: None,
                home: None,
                replaced: Vec::new(),
            },
            OnceCell::new_with(Some(Arc::new(value))),
        )
    }

    fn option(mut self, f: impl FnOnce(&mut Target)) -> Self {
        let meta = self.meta_mut();
        f(&mut meta.target);
        meta.explicit = true;
        self
    }

    /// Sets the file's stem (name without suffix).
    pub fn stem(self, stem: impl Into<String>) -> Self {
        let stem = stem.into();
        self.option(|t| t.stem = Some(stem))
    }

    /// Sets the file's suffix, with its dot.
    pub fn suffix(self, suffix: impl Into<String>) -> Self {
        let suffix = suffix.into();
        self.option(|t| t.suffix = Some(suffix))
    }

    /// Sets the whole file name (stem and suffix).
    pub fn name(self, name: &str) -> Self {
        self.option(|t| *t = t.clone().with_name(name))
    }

    /// Sets the folder of the file, relative to the holder's folder.
    pub fn subdir(self, subdir: impl Into<String>) -> Self {
        let subdir = subdir.into();
        self.option(|t| t.subdir = Some(subdir))
    }

    /// Reads the content when the holder is loaded rather than on first
    /// access.
    pub fn preload(mut self, preload: bool) -> Self {
        self.meta_mut().preload = preload;
        self
    }

    /// Applies target options given by a container, as Python's
    /// `mlist.record(value, stem=..., subdir=...)` does: the parts set in
    /// `options` replace the record's, and a subdir is appended to the
    /// record's own subdir.
    pub fn with_options(mut self, options: &ItemOptions) -> Self {
        self.apply_options(options);
        self
    }

    fn apply_options(&mut self, options: &ItemOptions) {
        let meta = self.meta_mut();
        let mut over = Target {
            subdir: None,
            stem: options.stem.clone(),
            suffix: options.suffix.clone(),
        };
        if let Some(name) = &options.name {
            over = over.with_name(name);
        }
        if let Some(sub) = &options.subdir {
            let base = meta.target.subdir.clone().unwrap_or_default();
            over.subdir = Some(crate::target::join_rel(&base, sub));
        }
        meta.target = meta.target.merge(&over);
        meta.explicit = true;
        meta.preload |= options.preload;
    }

    /// Takes the place a container gives its new item. A record whose file
    /// name is fixed (it was loaded or saved) keeps it, as a Python record
    /// moved between containers does.
    pub(crate) fn place(&mut self, place: &mut Placement<'_>) {
        let meta = self.meta_mut();
        if meta.resolved {
            return;
        }
        meta.target = (place.next)();
        meta.explicit = true;
        meta.preload |= place.preload;
        if let Some(options) = place.options {
            self.apply_options(options);
        }
    }

    /// Whether the content is in memory.
    pub fn is_loaded(&self) -> bool {
        self.content.initialized()
    }

    /// The content if it is in memory, without loading it.
    pub fn loaded(&self) -> Option<&T> {
        self.content.get().map(|content| &**content)
    }

    /// The target as the record writes it (`subdir/name`), once known.
    pub fn target(&self) -> Option<String> {
        let meta = self.meta();
        if meta.resolved {
            meta.target.to_path()
        } else {
            None
        }
    }

    /// The file the content was loaded from or last saved to, if any.
    pub fn path(&self) -> Option<StoragePath> {
        match &self.meta().origin {
            Origin::Stored { path, .. } => Some(path.clone()),
            _ => None,
        }
    }

    /// Whether the content is read when the holder is loaded.
    pub fn is_preload(&self) -> bool {
        self.meta().preload
    }

    /// Python's `exceptions` entry of the record, as it was read.
    pub fn exceptions(&self) -> Option<Value> {
        self.meta().exceptions.clone()
    }

    /// Replaces the content. The record keeps its file name; whatever the
    /// old content stored beside it is deleted after the next save.
    pub fn set(&mut self, value: T) {
        self.meta_mut().content_changed();
        self.content = OnceCell::new_with(Some(Arc::new(value)));
    }
}

impl<T: Storable> Record<T> {
    /// The storage-type name of the content.
    pub fn sto_type(&self) -> &'static str {
        T::STO_TYPE
    }

    /// The content, read from its file on first access.
    pub async fn get(&self) -> Result<&T> {
        let content = self
            .content
            .get_or_try_init(|| async { self.load().await.map(Arc::new) })
            .await?;
        Ok(content)
    }

    /// The content for changing it; the record is written on the next save.
    pub async fn get_mut(&mut self) -> Result<&mut T> {
        self.get().await?;
        // The changed content goes under a new name (the committed version
        // still points at this one), and this file is deleted after the
        // save; a JSON storable's own records with it.
        self.meta_mut().content_changed();
        let content = self.content.get_mut().expect(
            "`get` returned Ok, so the cell holds the content, and `&mut self` keeps it there",
        );
        Arc::get_mut(content).ok_or(Error::ContentShared)
    }

    /// The content, consuming the record.
    pub async fn into_inner(self) -> Result<T> {
        self.get().await?;
        let content = self.content.into_inner().expect(
            "`get` returned Ok, so the cell holds the content, and owning `self` keeps it there",
        );
        Arc::try_unwrap(content).map_err(|_| Error::ContentShared)
    }

    async fn load(&self) -> Result<T> {
        let (store, path) = self.source()?;
        tracing::debug!(target: "dman::record", file = %path, sto_type = T::STO_TYPE, "loading content");
        if !T::JSON {
            let ctx = DecodeContext::new(store.clone(), path.dir());
            if let Some(decoder) = T::decoder(&ctx) {
                if let Some(file) = store.open_read(&path).await? {
                    return read_whole(decoder, file, &store, &path).await;
                }
                return read_pieces(decoder, &store, &path).await;
            }
        }
        let bytes = store.read(&path).await?;
        decode_stored::<T>(bytes, store, &path, None).await
    }
}

/// Loads the records of a container that are not loaded yet, reading
/// their files with one [`StorageBackend::read_many`] per backend (a few
/// trips to storage for N items, not N) and decoding them one after the
/// other. A record whose file cannot be read or decoded is left as it was:
/// its own `get` then reads it again and reports what is wrong. Types
/// read in pieces ([`Storable::decoder`], large arrays) are left to `get`.
pub(crate) async fn load_many<T: Storable>(records: &[&Record<T>]) {
    /// The records to read from one backend, with their files.
    type Group<'r, T> = (Arc<dyn StorageBackend>, Vec<(&'r Record<T>, StoragePath)>);
    let mut groups: Vec<Group<'_, T>> = Vec::new();
    for record in records {
        if record.is_loaded() {
            continue;
        }
        let Ok((store, path)) = record.source() else {
            continue;
        };
        if !T::JSON && T::decoder(&DecodeContext::new(store.clone(), path.dir())).is_some() {
            continue;
        }
        match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &store)) {
            Some((_, group)) => group.push((record, path)),
            None => groups.push((store, vec![(record, path)])),
        }
    }
    for (store, group) in groups {
        let paths: Vec<StoragePath> = group.iter().map(|(_, path)| path.clone()).collect();
        let read = store.read_many(&paths).await;
        let files: Vec<ReadFile> = paths
            .into_iter()
            .zip(read)
            .enumerate()
            .filter_map(|(i, (path, bytes))| Some((i, path, bytes.ok()?)))
            .collect();
        for (i, value) in decode_all::<T>(files, &store).await {
            if let Some((record, _)) = group.get(i) {
                // Another task may have loaded it meanwhile: theirs stays.
                let _ = record.content.set(Arc::new(value));
            }
        }
    }
}

/// A file read for [`load_many`]: its record's position, path and bytes.
type ReadFile = (usize, StoragePath, bytes::Bytes);

/// Fewer files than this per task are decoded where they are: a task
/// costs more than a few small decodes.
const DECODES_PER_TASK: usize = 32;

/// Decodes files read together on every worker of the runtime. Decoding
/// a run's JSON costs more than reading it from memory or the page cache,
/// so one task decoding all of them would leave the other cores idle while
/// a container loads. Files that fail are left out (their record's `get`
/// reports why); a panicking task loses only its own files.
async fn decode_all<T: Storable>(
    mut files: Vec<ReadFile>,
    store: &Arc<dyn StorageBackend>,
) -> Vec<(usize, T)> {
    let workers = tokio::runtime::Handle::try_current()
        .map(|handle| handle.metrics().num_workers())
        .unwrap_or(1);
    let per_task = files.len().div_ceil(workers.max(1)).max(DECODES_PER_TASK);
    // The tasks stop with the set if this future is dropped.
    let mut tasks = tokio::task::JoinSet::new();
    while files.len() > per_task {
        let chunk = files.split_off(files.len() - per_task);
        tasks.spawn(decode_each::<T>(chunk, store.clone()));
    }
    let mut decoded = decode_each::<T>(files, store.clone()).await;
    while let Some(done) = tasks.join_next().await {
        if let Ok(more) = done {
            decoded.extend(more);
        }
    }
    decoded
}

/// Decodes files one after the other.
async fn decode_each<T: Storable>(
    files: Vec<ReadFile>,
    store: Arc<dyn StorageBackend>,
) -> Vec<(usize, T)> {
    let mut decoded = Vec::with_capacity(files.len());
    for (i, path, bytes) in files {
        if let Ok(value) = decode_stored::<T>(bytes, store.clone(), &path, None).await {
            decoded.push((i, value));
        }
    }
    decoded
}

/// Reads an opened file into `decoder` on a blocking thread (outside a
/// runtime, on this one), straight into the value's own buffer.
async fn read_whole<T: Send + 'static>(
    decoder: Box<dyn Decoder<T>>,
    file: FileReader,
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<T> {
    let FileReader { size, mut reader } = file;
    let work = move || decoder.read_from(&mut *reader, size);
    let read = match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(work)
            .await
            .map_err(|e| Error::decode(format!("the thread reading the file failed: {e}")))?,
        Err(_) => work(),
    };
    read.map_err(|e| e.in_file(FileRef::in_store(store.as_ref(), path)))
}

/// Reads the file at `path` in pieces into `decoder`: the file is never
/// whole in memory beside the value.
async fn read_pieces<T>(
    mut decoder: Box<dyn Decoder<T>>,
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<T> {
    use futures::StreamExt;
    let in_file = |e: Error| e.in_file(FileRef::in_store(store.as_ref(), path));
    let mut pieces = store.read_stream(path).await?;
    while let Some(piece) = pieces.next().await {
        decoder.push(&piece?).map_err(in_file)?;
    }
    decoder.finish().map_err(in_file)
}

/// Decodes the stored bytes of a `T` found at `path`; JSON files have their
/// preloaded records read first. `prefetched` is used when the bytes were
/// read ahead together with others.
pub(crate) async fn decode_stored<T: Storable>(
    bytes: bytes::Bytes,
    store: Arc<dyn StorageBackend>,
    path: &StoragePath,
    prefetched: Option<&DecodeContext>,
) -> Result<T> {
    let dir = path.dir();
    let (stored, ctx) = if T::JSON {
        let value = json::from_slice(&bytes).map_err(|source| Error::Json {
            file: FileRef::in_store(store.as_ref(), path),
            source,
        })?;
        let ctx = match prefetched {
            Some(parent) => parent.child(dir),
            None => {
                let ahead = graph::prefetch(&store, &dir, &value).await?;
                DecodeContext::new(store.clone(), dir).with_prefetched(ahead)
            }
        };
        (Stored::Json(value), ctx)
    } else {
        (Stored::Bytes(bytes), DecodeContext::new(store.clone(), dir))
    };
    T::from_stored(stored, &ctx).map_err(|e| e.in_file(FileRef::in_store(store.as_ref(), path)))
}

impl<T> From<T> for Record<T> {
    fn from(value: T) -> Self {
        Record::new(value)
    }
}

impl<T: Storable> Serializable for Record<T> {
    const SER_TYPE: Option<&'static str> = Some(RECORD_TYPE);

    /// A record whose `sto_type` is `T`'s.
    fn accepts(value: &Value) -> bool {
        crate::serial::split_envelope(value).is_some_and(|(name, content)| {
            name == RECORD_TYPE
                && content.get("sto_type").and_then(Value::as_str) == Some(T::STO_TYPE)
        })
    }

    fn adopt_records(&mut self, place: &mut Placement<'_>) {
        self.place(place);
    }

    fn release_files(&mut self, out: &mut Vec<Released>) {
        self.release(T::JSON, out);
    }

    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> Result<Value> {
        let kind = Kind {
            sto_type: T::STO_TYPE,
            extension: T::EXTENSION,
            json: T::JSON,
        };
        self.encode(ctx, kind, |content, ctx| match T::to_payload(content) {
            Some(payload) => payload,
            None => Ok(content.to_stored(ctx)?.into_bytes().into()),
        })
    }

    fn from_content(content: &Value, ctx: &DecodeContext) -> Result<Self> {
        let (record, _) = Record::decode(content, ctx, Some(T::STO_TYPE))?;
        if record.is_preload() {
            if let Ok((_, path)) = record.source() {
                if let Some(bytes) = ctx.prefetched(&path) {
                    let value = decode_prefetched::<T>(bytes, ctx, &path)?;
                    let _ = record.content.set(Arc::new(value));
                }
            }
        }
        Ok(record)
    }
}

impl<T> Record<T> {
    /// Writes the record's envelope content, planning its file's write,
    /// copy or keep: the engine behind every record kind.
    pub(crate) fn encode(
        &self,
        ctx: &mut EncodeContext<'_>,
        kind: Kind<'_>,
        write: impl FnOnce(&Arc<T>, &mut EncodeContext<'_>) -> Result<Payload>,
    ) -> Result<Value> {
        let defaults = ctx.take_defaults();
        let mut meta = self.meta();
        if !meta.resolved {
            let mut requested = meta.target.clone();
            if let Some(d) = defaults.as_ref().filter(|_| !meta.explicit) {
                requested = d.target.merge(&requested);
                meta.preload |= d.preload;
            }
            meta.target = requested.complete(kind.extension);
            meta.resolved = true;
        }
        let rel = meta
            .target
            .to_path()
            .ok_or_else(|| Error::encode(format!("incomplete record target {}", meta.target)))?;
        let wanted = ctx.dir().join(&rel)?;

        for (store, path) in std::mem::take(&mut meta.replaced) {
            Released::new(store, path, kind.json).schedule(ctx);
        }

        let dest = ctx.plan().claim(wanted.clone())?;
        if dest != wanted {
            // Renamed by the retouch policy: the file keeps its folder.
            if let Some(name) = dest.file_name() {
                meta.target = meta.target.clone().with_name(name);
            }
        }
        let at_home = meta
            .home
            .as_ref()
            .is_some_and(|(store, path)| *path == dest && same_store(store, ctx.plan().store()));
        if at_home && !meta.origin.is_current() {
            meta.origin = Origin::Stored {
                store: ctx.plan().store().clone(),
                path: dest.clone(),
                committed: None,
            };
        }
        let unchanged = at_home
            || meta.origin.is_current()
                && matches!(&meta.origin, Origin::Stored { store, path, .. }
                    if *path == dest && same_store(store, ctx.plan().store()));
        let mut dest = dest;
        if !unchanged && ctx.plan().is_occupied(&dest) {
            // The file holds what the committed version points at: writing
            // the new content there before the commit would tear that
            // version, so it goes under a free name of the same folder.
            dest = ctx.plan().alternate(&dest)?;
            if let Some(name) = dest.file_name() {
                meta.target = meta.target.clone().with_name(name);
            }
        }
        let target = meta
            .target
            .to_path()
            .ok_or_else(|| Error::encode("incomplete record target"))?;
        if unchanged {
            tracing::trace!(target: "dman::save", file = %dest, "record unchanged");
            ctx.plan().kept.push(dest);
        } else {
            let committed = Some(ctx.plan().commit_flag().clone());
            if let Some(content) = self.content.get() {
                tracing::debug!(target: "dman::save", file = %dest, sto_type = kind.sto_type, "writing content");
                let dir = dest.dir();
                let payload = write(content, &mut ctx.child(dir))?;
                ctx.plan().writes.push((dest.clone(), payload));
                // Fresh content: what Python noted about the old file no
                // longer holds. A copy keeps the note with the file.
                meta.exceptions = None;
            } else {
                match &meta.origin {
                    Origin::Stored { store, path, .. } => {
                        tracing::debug!(target: "dman::save", from = %path, to = %dest, "copying moved content");
                        ctx.plan().copies.push(CopyOp {
                            from_store: store.clone(),
                            from: path.clone(),
                            to: dest.clone(),
                            nested: kind.json,
                            if_present: meta.exceptions.is_some(),
                        });
                    }
                    Origin::Refused(msg) => return Err(Error::encode(msg.clone())),
                    Origin::New => {
                        return Err(Error::encode("record has neither content nor file"))
                    }
                }
            }
            meta.move_to(Origin::Stored {
                store: ctx.plan().store().clone(),
                path: dest,
                committed,
            });
        }

        let mut out = Map::with_capacity(2);
        out.insert("target".into(), Value::String(target));
        out.insert("sto_type".into(), Value::String(kind.sto_type.into()));
        if meta.preload {
            out.insert("preload".into(), Value::Bool(true));
        }
        if let Some(exc) = &meta.exceptions {
            out.insert("exceptions".into(), exc.clone());
        }
        Ok(Value::Object(out))
    }

    /// Reads a record's envelope content; `expected` is the `sto_type` a
    /// typed record requires. Gives the record, its content not read, and
    /// the `sto_type` found.
    pub(crate) fn decode<'c>(
        content: &'c Value,
        ctx: &DecodeContext,
        expected: Option<&str>,
    ) -> Result<(Self, &'c str)> {
        let obj = content
            .as_object()
            .ok_or_else(|| mismatch("a record {target, sto_type}", content))?;
        let target = match json::lookup(obj, "target") {
            Some(Value::String(s)) => s.as_str(),
            Some(Value::Array(_)) => {
                return Err(
                    Error::decode("record has an incomplete target (Python wrote a tuple)")
                        .at_key("target"),
                )
            }
            Some(other) => return Err(mismatch("a target path", other).at_key("target")),
            None => return Err(Error::decode("record has no `target`")),
        };
        let sto_type = obj
            .get("sto_type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::decode("record has no `sto_type`"))?;
        if let Some(expected) = expected.filter(|e| *e != sto_type) {
            return Err(
                Error::decode(format!("record holds `{sto_type}`, expected `{expected}`"))
                    .at_key("sto_type"),
            );
        }
        let preload = json::lookup(obj, "preload")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let origin = match ctx.dir().join(target) {
            Ok(path) => Origin::Stored {
                store: ctx.store().clone(),
                path,
                committed: None,
            },
            Err(e) => Origin::Refused(format!("record target `{target}` is refused: {e}")),
        };
        let record = Record::with(
            Meta {
                target: Target::from_path(target),
                resolved: true,
                explicit: true,
                preload,
                exceptions: json::lookup(obj, "exceptions").cloned(),
                home: match &origin {
                    Origin::Stored { store, path, .. } => Some((store.clone(), path.clone())),
                    _ => None,
                },
                origin,
                fallback: None,
                replaced: Vec::new(),
            },
            OnceCell::new(),
        );
        Ok((record, sto_type))
    }

    /// The file to read the content from.
    pub(crate) fn source(&self) -> Result<(Arc<dyn StorageBackend>, StoragePath)> {
        match &self.meta().origin {
            Origin::Stored { store, path, .. } => Ok((store.clone(), path.clone())),
            Origin::Refused(msg) => Err(Error::decode(msg.clone())),
            // Only a record made with content (`Record::new`) or given
            // content (`set`, `get_mut`) has no file, and its content is
            // never unloaded; a decoded record is `Stored` or `Refused`.
            Origin::New => unreachable!("a record without a file always holds its content"),
        }
    }

    /// The content cell, for kinds that read their content their own way.
    pub(crate) fn cell(&self) -> &OnceCell<Arc<T>> {
        &self.content
    }
}

/// What a kind of record writes and how: its `sto_type`, the extension of
/// new files, and whether its file is a JSON graph with records of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind<'a> {
    pub(crate) sto_type: &'a str,
    pub(crate) extension: &'a str,
    pub(crate) json: bool,
}

/// Decodes a preloaded file synchronously from bytes read ahead.
fn decode_prefetched<T: Storable>(
    bytes: bytes::Bytes,
    ctx: &DecodeContext,
    path: &StoragePath,
) -> Result<T> {
    let file = || FileRef::in_store(ctx.store().as_ref(), path);
    let child = ctx.child(path.dir());
    let stored = if T::JSON {
        Stored::Json(json::from_slice(&bytes).map_err(|source| Error::Json {
            file: file(),
            source,
        })?)
    } else {
        Stored::Bytes(bytes)
    };
    T::from_stored(stored, &child).map_err(|e| e.in_file(file()))
}

impl<T: Clone> Clone for Record<T> {
    fn clone(&self) -> Self {
        let meta = self.meta();
        Record::with(
            Meta {
                target: meta.target.clone(),
                resolved: meta.resolved,
                explicit: meta.explicit,
                preload: meta.preload,
                exceptions: meta.exceptions.clone(),
                origin: meta.origin.clone(),
                fallback: meta.fallback.clone(),
                home: meta.home.clone(),
                // The clone does not own the old files: only one of the two
                // may delete them.
                replaced: Vec::new(),
            },
            // A copy of the content, as a clone of a `T` is: the two
            // records change independently.
            OnceCell::new_with(self.content.get().map(|c| Arc::new(T::clone(c)))),
        )
    }
}

/// Two records are equal when their loaded contents are equal, or, when
/// neither is loaded, when they point at the same file.
impl<T: PartialEq> PartialEq for Record<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.content.get(), other.content.get()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => {
                let (a, b) = (self.meta(), other.meta());
                match (&a.origin, &b.origin) {
                    (
                        Origin::Stored {
                            path: p, store: s, ..
                        },
                        Origin::Stored {
                            path: q, store: t, ..
                        },
                    ) => p == q && same_store(s, t),
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

impl<T> fmt::Debug for Record<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = self.meta();
        let state = match (&meta.origin, self.content.initialized()) {
            (_, true) => "loaded",
            (Origin::Stored { .. }, false) => "unloaded",
            (Origin::Refused(_), false) => "refused",
            (Origin::New, false) => "empty",
        };
        f.debug_struct("Record")
            .field("target", &meta.target.to_string())
            .field("state", &state)
            .field("preload", &meta.preload)
            .finish()
    }
}

impl<T> Record<T> {
    /// The files this record is responsible for once it leaves its holder:
    /// its own file (if a committed graph points at it) and those of content
    /// it replaced. `nested` says whether its file is a JSON record graph.
    pub(crate) fn release(&mut self, nested: bool, out: &mut Vec<Released>) {
        let meta = self.meta_mut();
        out.extend(
            std::mem::take(&mut meta.replaced)
                .into_iter()
                .map(|(store, path)| Released::new(store, path, nested)),
        );
        if let Origin::Stored {
            store,
            path,
            committed,
        } = &meta.origin
        {
            if committed.as_ref().is_none_or(|c| c.load(Ordering::Acquire)) {
                out.push(Released::new(store.clone(), path.clone(), nested));
            }
        }
    }
}
