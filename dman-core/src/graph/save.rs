//! The typed engine: a value becomes a save plan (its JSON and the content
//! files its records write, copy or keep), and the plan is carried out in
//! the order of the commit protocol (README, "How a save works";
//! RELIABILITY.md for the tests behind it): content files first
//! (concurrently, up to a bound), the JSON file last (the commit point),
//! deletions of removed items only after it. Loading is the way back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt};

use crate::context::{DecodeContext, EncodeContext, EncodeOptions, SavePlan};
use crate::error::{Error, FileRef, Result};
use crate::json::{self, Value};

use super::walk::{is_json_target, owned_files, prefetch, read_json, DEFAULT_CONCURRENCY};
use crate::path::StoragePath;
use crate::serial::{self, Serializable};
use crate::storage::{Payload, StorageBackend, Version, WriteCondition};

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
/// the root), at most once each, after a commit, up to
/// [`DEFAULT_CONCURRENCY`] at a time (as writes go). Failures and files
/// outside the folder become warnings: the commit has happened, so they
/// must not fail the save (a caller that retried would write twice).
pub(crate) async fn delete_inside(
    store: &Arc<dyn StorageBackend>,
    folder: &StoragePath,
    files: impl IntoIterator<Item = StoragePath>,
    report: &mut SaveReport,
) {
    let mut done = HashSet::new();
    let mut doomed = Vec::new();
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
        doomed.push(file);
    }
    let outcomes: Vec<_> = stream::iter(doomed)
        .map(|file| async move {
            let outcome = store.delete(&file).await;
            (file, outcome)
        })
        .buffered(DEFAULT_CONCURRENCY)
        .collect()
        .await;
    for (file, outcome) in outcomes {
        match outcome {
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
    let dir = path.dir();
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
    data: Payload,
    create_only: bool,
) -> Result<bool> {
    if create_only {
        store
            .write_payload_if(path, data, &WriteCondition::Create)
            .await?;
        Ok(true)
    } else {
        store.write_payload(path, data).await?;
        Ok(false)
    }
}

/// Writes one content file and notes whether it created it.
async fn write_one(
    store: &Arc<dyn StorageBackend>,
    path: StoragePath,
    data: Payload,
    create_only: bool,
    note: &(dyn Fn(&StoragePath, bool) + Sync),
) -> Result<()> {
    let made = write_content(store, &path, data, create_only).await?;
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
        write_content(store, &to, bytes.into(), create_only).await?
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
            let from_dir = op.from.dir();
            let to_dir = op.to.dir();
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
    let writes: Vec<(StoragePath, Payload)> = plan
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
        .map_or_else(StoragePath::root, StoragePath::dir);
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
    let dir = path.dir();
    let ahead = prefetch(store, &dir, doc).await?;
    let ctx = DecodeContext::new(store.clone(), dir).with_prefetched(ahead);
    serial::deserialize(doc, &ctx).map_err(|e| e.in_file(FileRef::in_store(store.as_ref(), path)))
}
