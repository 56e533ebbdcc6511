//! Record graphs against a backend: saving a value to a JSON file plus its
//! content files, loading it back, and walking any graph without its Rust
//! types.
//!
//! Saving follows the commit protocol of DESIGN.md: content files first
//! (concurrently, up to a bound), the JSON file last (the commit point),
//! deletions of removed items only after it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::context::{DecodeContext, EncodeContext, EncodeOptions, SavePlan};
use crate::error::{Error, FileRef, Result};
use crate::json::{self, Value};
use crate::path::StoragePath;
use crate::serial::{self, split_envelope, Serializable};
use crate::storage::{StorageBackend, Version, WriteCondition};

/// How many content files a save writes at once unless told otherwise.
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
    let target = obj.get("target")?.as_str()?;
    let sto_type = obj.get("sto_type")?.as_str()?;
    if obj
        .keys()
        .any(|k| !matches!(k.as_str(), "target" | "sto_type" | "preload" | "exceptions"))
    {
        return None;
    }
    let preload = obj.get("preload").and_then(Value::as_bool).unwrap_or(false);
    Some((target, sto_type, preload))
}

/// Every record in a JSON document, in document order.
pub fn records(value: &Value) -> Vec<RecordRef> {
    let mut out = Vec::new();
    walk(value, |value, at| {
        let (content, enveloped) = match split_envelope(value) {
            Some((name, content)) => (content, name == crate::record::RECORD_TYPE),
            None => (value, value.as_object().is_some()),
        };
        if enveloped {
            if let Some((target, sto_type, preload)) = record_content(content) {
                out.push(RecordRef {
                    at: place(at),
                    target: target.into(),
                    sto_type: sto_type.into(),
                    preload,
                });
                return Visit::Skip;
            }
        }
        Visit::Into(content)
    });
    out
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

/// What a [`walk`] does after seeing a value.
enum Visit<'v> {
    /// Go on into this value's items (the value itself, or the content of
    /// its envelope).
    Into(&'v Value),
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
/// depth-first order leaves intact until it is taken.
fn walk<'v>(value: &'v Value, mut see: impl FnMut(&'v Value, &str) -> Visit<'v>) {
    let mut at = String::new();
    let mut pending: Vec<(&'v Value, usize, Step<'v>)> = vec![(value, 0, Step::Same)];
    while let Some((value, parent, step)) = pending.pop() {
        at.truncate(parent);
        match step {
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
        match inner {
            Value::Object(map) => {
                pending.extend(map.iter().rev().map(|(k, v)| (v, here, Step::Key(k))));
            }
            Value::Array(items) => {
                pending.extend(
                    items
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(i, v)| (v, here, Step::Index(i))),
                );
            }
            _ => {}
        }
    }
}

/// Whether a target is a JSON record graph of its own, which the untyped
/// walkers follow (Python writes serializable storables as `.json`).
fn is_json_target(path: &StoragePath) -> bool {
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
                let sub = path.parent().unwrap_or_else(StoragePath::root);
                pending.extend(preload_paths(&sub, &doc));
            }
            found.insert(path, bytes);
        }
    }
    Ok(found)
}

fn preload_paths(dir: &StoragePath, value: &Value) -> Vec<StoragePath> {
    records(value)
        .into_iter()
        .filter(|r| r.preload)
        .filter_map(|r| dir.join(&r.target).ok())
        .collect()
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
    let mut pending = vec![path.clone()];
    while let Some(file) = pending.pop() {
        let doc = match store.read(&file).await {
            Ok(bytes) => match json::from_slice(&bytes) {
                Ok(doc) => doc,
                Err(_) => continue,
            },
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        let dir = file.parent().unwrap_or_else(StoragePath::root);
        for r in records(&doc) {
            let Ok(p) = dir.join(&r.target) else { continue };
            if seen.insert(p.clone()) {
                if is_json_target(&p) {
                    pending.push(p.clone());
                }
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// What a save did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SaveReport {
    /// The version of the key's file that the save wrote, when the backend
    /// has versions and the save was conditional.
    pub version: Option<Version>,
    /// Files written, the root file last.
    pub written: Vec<StoragePath>,
    /// Files copied to a new place.
    pub copied: Vec<StoragePath>,
    /// Files left as they were.
    pub kept: usize,
    /// Files deleted after the commit.
    pub deleted: Vec<StoragePath>,
    /// Steps after the commit that did not happen. The new version is
    /// saved all the same: a caller must not save again because of them.
    pub warnings: Vec<Warning>,
}

/// A step after a commit that did not happen (the new version is saved), or
/// a file that housekeeping left alone on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A file the new version no longer needs could not be deleted; it is an
    /// orphan that `dman gc` removes later.
    NotDeleted {
        /// The file.
        file: StoragePath,
        /// Why.
        reason: String,
    },
    /// A file the graph dropped lies outside the key's own folder, so it
    /// was not deleted: a target such as `../other/x.npy` must never let
    /// one key's housekeeping delete another key's files.
    OutsideKey {
        /// The file.
        file: StoragePath,
        /// The key's folder.
        folder: StoragePath,
    },
    /// A `.gitignore` file could not be updated.
    Gitignore {
        /// The `.gitignore` file.
        file: StoragePath,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::NotDeleted { file, reason } => {
                write!(
                    f,
                    "`{file}` is no longer needed but was not deleted: {reason}"
                )
            }
            Warning::OutsideKey { file, folder } => write!(
                f,
                "`{file}` was not deleted: it lies outside the key's folder `{folder}`"
            ),
            Warning::Gitignore { file, reason } => {
                write!(f, "`{file}` was not updated: {reason}")
            }
        }
    }
}

/// Deletes `files` that lie inside `folder` (all of them when `folder` is
/// the root), at most once each, after a commit. Failures and files outside
/// the folder become warnings: the commit has happened, so they must not
/// fail the save (a caller that retried would write twice).
pub(crate) async fn delete_inside(
    store: &Arc<dyn StorageBackend>,
    folder: &StoragePath,
    files: impl IntoIterator<Item = StoragePath>,
    report: &mut SaveReport,
) {
    let mut done = HashSet::new();
    for file in files {
        if !done.insert(file.clone()) {
            continue;
        }
        if !file.starts_with(folder) {
            // Reported in the save's warnings; a log line at most.
            tracing::info!(target: "dman::clean", %file, %folder, "not deleted: outside the key's folder");
            report.warnings.push(Warning::OutsideKey {
                file,
                folder: folder.clone(),
            });
            continue;
        }
        match store.delete(&file).await {
            Ok(()) => report.deleted.push(file),
            Err(err) => {
                tracing::info!(target: "dman::clean", %file, "cannot delete: {err}");
                report.warnings.push(Warning::NotDeleted {
                    file,
                    reason: err.to_string(),
                });
            }
        }
    }
}

/// Encodes `value` as the JSON file `path` of `store`: the document (with
/// envelope) and the plan of content files it needs.
pub fn encode<T: Serializable>(
    value: &T,
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    options: EncodeOptions,
) -> Result<(Value, SavePlan)> {
    let mut plan = SavePlan::new(store.clone(), options);
    let dir = path.parent().unwrap_or_else(StoragePath::root);
    plan.claim(path.clone())?;
    let doc = serial::serialize(value, &mut EncodeContext::new(&mut plan, dir))?;
    Ok((doc, plan))
}

/// Saves `value` as the JSON file `path`, following the commit protocol.
pub async fn save<T: Serializable>(
    value: &T,
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    options: EncodeOptions,
    concurrency: usize,
) -> Result<SaveReport> {
    let mut options = options;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (doc, plan) = encode(value, store, path, options.clone())?;
        let root = Bytes::from(json::to_string_pretty(&doc).into_bytes());
        match execute(plan, path, root, concurrency).await {
            // A content file's name is taken (a file no version points at,
            // or a concurrent writer's): take the next free one.
            Err(Error::Storage(crate::StorageError::Conflict { path: taken, .. }))
                if &taken != path && !taken.is_root() && attempt < NAME_ATTEMPTS =>
            {
                let mut avoid = (*options.avoid).clone();
                avoid.insert(taken);
                options.avoid = Arc::new(avoid);
            }
            other => return other,
        }
    }
}

/// How many names [`save`] tries for content files whose names turn out
/// to be taken.
const NAME_ATTEMPTS: u32 = 16;

/// Carries out a plan: content files, then the root file, then deletions.
pub async fn execute(
    plan: SavePlan,
    root: &StoragePath,
    root_bytes: Bytes,
    concurrency: usize,
) -> Result<SaveReport> {
    run_plan(plan, Some((root, root_bytes, None)), concurrency).await
}

/// Carries out a plan whose root file is written only if `condition`
/// holds; otherwise the save fails with [`StorageError::Conflict`]
/// (inside [`Error::Storage`]) and the content files it wrote are deleted.
///
/// [`StorageError::Conflict`]: crate::StorageError::Conflict
pub async fn execute_if(
    plan: SavePlan,
    root: &StoragePath,
    root_bytes: Bytes,
    condition: WriteCondition,
    concurrency: usize,
) -> Result<SaveReport> {
    run_plan(plan, Some((root, root_bytes, Some(condition))), concurrency).await
}

/// Carries out a plan that has no root file of its own (Python's `store`).
pub async fn execute_without_root(plan: SavePlan, concurrency: usize) -> Result<SaveReport> {
    run_plan(plan, None, concurrency).await
}

/// Writes one content file of a save. With `create_only` (where the backend
/// can promise it), the write is *create only*: a content file never replaces a file, so it can never
/// change what a committed version of any key points at, nor what a
/// concurrent writer wrote (its write fails with a conflict instead).
/// Returns whether this call created the file (and so may delete it again).
async fn write_content(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    bytes: Bytes,
    create_only: bool,
) -> Result<bool> {
    if create_only {
        store.write_if(path, bytes, &WriteCondition::Create).await?;
        Ok(true)
    } else {
        store.write(path, bytes).await?;
        Ok(false)
    }
}

/// Writes one content file and notes whether it created it.
async fn write_one(
    store: &Arc<dyn StorageBackend>,
    path: StoragePath,
    bytes: Bytes,
    create_only: bool,
    note: &(dyn Fn(&StoragePath, bool) + Sync),
) -> Result<()> {
    let made = write_content(store, &path, bytes, create_only).await?;
    note(&path, made);
    Ok(())
}

/// Copies one content file to its new place and notes whether it created
/// it. Within one store without conditional writes, the store's own copy.
async fn copy_one(
    store: &Arc<dyn StorageBackend>,
    copy: Copy,
    create_only: bool,
    note: &(dyn Fn(&StoragePath, bool) + Sync),
) -> Result<()> {
    let Copy {
        from_store,
        from,
        to,
        if_present,
    } = copy;
    let made = if crate::storage::same_store(&from_store, store) && !create_only {
        match store.copy(&from, &to).await {
            Err(e) if if_present && e.is_not_found() => return Ok(()),
            done => done?,
        }
        false
    } else {
        let bytes = match from_store.read(&from).await {
            Err(e) if if_present && e.is_not_found() => return Ok(()),
            read => read?,
        };
        write_content(store, &to, bytes, create_only).await?
    };
    note(&to, made);
    Ok(())
}

/// One content file a save copies.
struct Copy {
    from_store: Arc<dyn StorageBackend>,
    from: StoragePath,
    to: StoragePath,
    /// A missing source is left out (see [`CopyOp::if_present`]).
    if_present: bool,
}

/// Deletes the content files a failed save created itself, so that a lost
/// writer leaves nothing behind. Failures are logged: what stays is an
/// orphan that `dman gc` removes, never a file a committed version needs.
async fn undo(store: &Arc<dyn StorageBackend>, created: &[StoragePath]) {
    for path in created {
        if let Err(err) = store.delete(path).await {
            tracing::warn!(target: "dman::save", file = %path, "cannot delete a file of a failed save: {err}");
        }
    }
}

async fn run_plan(
    plan: SavePlan,
    root: Option<(&StoragePath, Bytes, Option<WriteCondition>)>,
    concurrency: usize,
) -> Result<SaveReport> {
    let store = plan.store().clone();
    let concurrency = concurrency.max(1);
    let root_path = root.as_ref().map(|(path, _, _)| (*path).clone());
    let mut live = plan.live_paths();
    if let Some((root, _, _)) = &root {
        live.insert((*root).clone());
    }

    // What removed items own is read now, before new files overwrite any
    // of them (a cleared run list writes its new runs where the old were).
    let mut doomed: Vec<StoragePath> = Vec::new();
    if plan.options().auto_clean {
        // The replaced version's files that the new one drops, with what
        // they own: read only for what is dropped.
        for path in plan.options().previous.iter() {
            if !live.contains(path) {
                doomed.push(path.clone());
                if is_json_target(path) {
                    doomed.extend(owned_files(&store, path).await?);
                }
            }
        }
    }
    for op in &plan.removals {
        doomed.push(op.path.clone());
        if op.nested {
            doomed.extend(owned_files(&store, &op.path).await?);
        }
    }

    // Moved records carry the files they own to the same relative places.
    let mut copies: Vec<Copy> = Vec::new();
    for op in &plan.copies {
        copies.push(Copy {
            from_store: op.from_store.clone(),
            from: op.from.clone(),
            to: op.to.clone(),
            if_present: op.if_present,
        });
        if op.nested {
            let from_dir = op.from.parent().unwrap_or_else(StoragePath::root);
            let to_dir = op.to.parent().unwrap_or_else(StoragePath::root);
            for owned in owned_files(&op.from_store, &op.from).await? {
                if let Some(rel) = owned.strip_prefix(&from_dir) {
                    let dest = to_dir.join_path(&rel);
                    live.insert(dest.clone());
                    copies.push(Copy {
                        from_store: op.from_store.clone(),
                        from: owned,
                        to: dest,
                        if_present: false,
                    });
                }
            }
        }
    }

    let mut report = SaveReport {
        kept: plan.kept.len(),
        ..SaveReport::default()
    };
    // A file claimed twice under the `ignore` retouch policy is written
    // once, with the last content, as Python's sequential writes leave it.
    let mut last: HashMap<StoragePath, usize> = HashMap::new();
    for (i, (path, _)) in plan.writes.iter().enumerate() {
        last.insert(path.clone(), i);
    }
    let writes: Vec<(StoragePath, Bytes)> = plan
        .writes
        .into_iter()
        .enumerate()
        .filter(|(i, (path, _))| last.get(path) == Some(i))
        .map(|(_, w)| w)
        .collect();
    // The same goes for copies: two records of a Python tree may point at
    // one file (`retouch='ignore'`), and a faithful copy copies it once.
    let mut last_copy: HashMap<StoragePath, usize> = HashMap::new();
    for (i, copy) in copies.iter().enumerate() {
        last_copy.insert(copy.to.clone(), i);
    }
    let copies: Vec<_> = copies
        .into_iter()
        .enumerate()
        .filter(|(i, copy)| last_copy.get(&copy.to) == Some(i))
        .map(|(_, c)| c)
        .collect();
    report.written = writes.iter().map(|(p, _)| p.clone()).collect();
    report.copied = copies.iter().map(|c| c.to.clone()).collect();
    // Content files are created, never replaced, where the backend can
    // promise it; without a key file (Python's `store`) the stored file is
    // its own commit point and replaces what was there.
    let create_only = root.is_some() && store.supports_conditional_writes();
    // Every file this save creates, so that a failure can take them back.
    let created = std::sync::Mutex::new(Vec::new());
    let note = |path: &StoragePath, made: bool| {
        if made {
            created
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(path.clone());
        }
    };
    // The futures are made before any is awaited (not in a stream
    // combinator's closure), which keeps the save's future `Send` for every
    // lifetime, so that it can be spawned (rust-lang/rust#102211).
    let content = async {
        let writing: Vec<_> = writes
            .into_iter()
            .map(|(path, bytes)| write_one(&store, path, bytes, create_only, &note))
            .collect();
        // Every write runs to its end even when one fails: a write dropped
        // half-way may still create its file (on a blocking thread), which
        // the undo below would then miss.
        let written: Vec<Result<()>> = stream::iter(writing)
            .buffer_unordered(concurrency)
            .collect()
            .await;
        written.into_iter().collect::<Result<Vec<()>>>()?;
        let copying: Vec<_> = copies
            .into_iter()
            .map(|copy| copy_one(&store, copy, create_only, &note))
            .collect();
        let copied: Vec<Result<()>> = stream::iter(copying)
            .buffer_unordered(concurrency)
            .collect()
            .await;
        copied.into_iter().collect::<Result<Vec<()>>>()?;
        Ok::<_, Error>(())
    };
    let created_list = |created: &std::sync::Mutex<Vec<StoragePath>>| {
        std::mem::take(
            &mut *created
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    };
    if let Err(err) = content.await {
        undo(&store, &created_list(&created)).await;
        return Err(err);
    }

    if let Some((root, root_bytes, condition)) = root {
        let committed = match &condition {
            None => store.write(root, root_bytes).await.map(|()| None),
            Some(condition) => store.write_if(root, root_bytes, condition).await.map(Some),
        };
        match committed {
            Ok(version) => report.version = version,
            Err(err) => {
                undo(&store, &created_list(&created)).await;
                return Err(err.into());
            }
        }
        report.written.push(root.clone());
        tracing::debug!(target: "dman::save", file = %root, written = report.written.len(), kept = report.kept, "committed");
    }
    plan.committed.store(true, Ordering::Release);

    // Only the folder of the key's file is the key's own.
    let folder = root_path
        .as_ref()
        .and_then(StoragePath::parent)
        .unwrap_or_else(StoragePath::root);
    let doomed = doomed.into_iter().filter(|p| !live.contains(p));
    delete_inside(&store, &folder, doomed, &mut report).await;
    store.flush().await?;
    Ok(report)
}

/// Loads the JSON file `path` as a `T`. Records stay unloaded but for
/// `preload` ones.
pub async fn load<T: Serializable>(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<T> {
    let doc = read_json(store, path).await?;
    decode(&doc, store, path).await
}

/// Decodes a document read from `path` as a `T`.
pub async fn decode<T: Serializable>(
    doc: &Value,
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<T> {
    let dir = path.parent().unwrap_or_else(StoragePath::root);
    let ahead = prefetch(store, &dir, doc).await?;
    let ctx = DecodeContext::new(store.clone(), dir).with_prefetched(ahead);
    serial::deserialize(doc, &ctx).map_err(|e| e.in_file(FileRef::in_store(store.as_ref(), path)))
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
        self.path.parent().unwrap_or_else(StoragePath::root)
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
