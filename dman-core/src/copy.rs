//! Copying a whole tree of files from one backend to another, as
//! `rclone copy` does ([`copy_tree`], [`copy_tree_with`]), and checking
//! that a copy matches its source ([`verify_tree`]).
//!
//! It copies bytes, file by file, and needs no Rust types: a `.dman` folder
//! becomes a zip archive and back, or moves between a local folder, an
//! object store and memory. Files already identical at the destination are
//! left alone, so a copy that was interrupted resumes when run again.
//!
//! ```
//! use bytes::Bytes;
//! use dman_core::copy::{copy_tree, copy_tree_with, verify_tree, CopyOptions};
//! use dman_core::{StorageBackend, StoragePath};
//! use dman_memory::MemoryBackend;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let from = MemoryBackend::new();
//! let to = MemoryBackend::new();
//! from.write(&StoragePath::parse("cache/run/run.json")?, Bytes::from_static(b"{}")).await?;
//! let copied = copy_tree(
//!     &from,
//!     &StoragePath::parse("cache")?,
//!     &to,
//!     &StoragePath::parse("shared/cache")?,
//!     |progress| println!("{}/{} {}", progress.files_done, progress.files_total, progress.path),
//! )
//! .await?;
//! assert_eq!(copied.files, 1);
//! assert!(to.exists(&StoragePath::parse("shared/cache/run/run.json")?).await?);
//!
//! // Again: the file is there, identical, and is skipped.
//! let root = StoragePath::root();
//! let dest = StoragePath::parse("shared")?;
//! let again = copy_tree_with(&from, &root, &to, &dest, &CopyOptions::new(), |_| {}).await?;
//! assert_eq!((again.files, again.skipped), (0, 1));
//! assert!(verify_tree(&from, &root, &to, &dest, |_| {}).await?.differences.is_empty());
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use crate::{ObjectMeta, StorageBackend, StoragePath, StorageResult};

/// Streams one file from `from` to `to`; gives its size. On an error the
/// upload is aborted, so the destination is left as it was.
async fn copy_file(
    from: &dyn StorageBackend,
    from_path: &StoragePath,
    to: &dyn StorageBackend,
    to_path: &StoragePath,
) -> StorageResult<u64> {
    let mut chunks = from.read_stream(from_path).await?;
    let mut upload = to.write_stream(to_path).await?;
    let mut size = 0u64;
    loop {
        let next = match chunks.try_next().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                upload.put(chunk).await
            }
            Ok(None) => break,
            Err(err) => Err(err),
        };
        if let Err(err) = next {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(path = %to_path, "could not abort a failed copy: {abort}");
            }
            return Err(err);
        }
    }
    upload.finish().await?;
    Ok(size)
}

/// How many files [`copy_tree`] copies (or compares) at once.
pub const COPY_CONCURRENCY: usize = 8;

/// What [`copy_tree_with`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Leave alone a file the destination already holds with the same size
    /// and content (see [`identical`]), instead of copying it again
    /// (default: on). This is what lets an interrupted copy resume.
    pub skip_identical: bool,
    /// Decide and report what would be copied, skipped and deleted, but
    /// write, delete and flush nothing (default: off). The comparisons
    /// still read the files they compare.
    pub dry_run: bool,
    /// After every file is copied, delete the destination's files under its
    /// prefix that the source does not have, making the destination a
    /// mirror of the source (`rclone sync`; default: off). Nothing is
    /// deleted if a copy failed, and a source without files is an error
    /// rather than an order to empty the destination.
    pub delete: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            skip_identical: true,
            dry_run: false,
            delete: false,
        }
    }
}

impl CopyOptions {
    /// The defaults: skip identical files, write, delete nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`skip_identical`](Self::skip_identical).
    pub fn skip_identical(mut self, on: bool) -> Self {
        self.skip_identical = on;
        self
    }

    /// Sets [`dry_run`](Self::dry_run).
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Sets [`delete`](Self::delete).
    pub fn delete(mut self, on: bool) -> Self {
        self.delete = on;
        self
    }
}

/// What [`copy_tree_with`] did (or, in a dry run, would do) with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Copied from the source.
    Copied,
    /// Left alone: the destination holds it already, identical.
    Skipped,
    /// Deleted from the destination, which the source does not have
    /// ([`CopyOptions::delete`]).
    Deleted,
}

/// Where a copy stands: given to the progress callback of [`copy_tree`]
/// after each file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The file just copied, skipped or deleted, relative to the source
    /// prefix (and to the destination prefix).
    pub path: StoragePath,
    /// Its size in bytes.
    pub size: u64,
    /// What was done with it.
    pub action: Action,
    /// Source files handled so far (copied or skipped), this one included;
    /// deletions do not count.
    pub files_done: usize,
    /// Files of the source in all.
    pub files_total: usize,
    /// Bytes of the source files handled so far, this file included.
    pub bytes_done: u64,
    /// Bytes of the source in all, as listed before the copy started.
    pub bytes_total: u64,
}

/// What [`copy_tree`] copied, skipped and deleted (in a dry run: would
/// have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CopySummary {
    /// Files copied.
    pub files: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Files skipped, identical at the destination already.
    pub skipped: usize,
    /// Bytes of the files skipped.
    pub skipped_bytes: u64,
    /// Files deleted from the destination ([`CopyOptions::delete`]).
    pub deleted: usize,
    /// Bytes of the files deleted.
    pub deleted_bytes: u64,
}

/// Copies every file under the folder `from_prefix` of `from` to the same
/// place under `to_prefix` of `to`, with the default [`CopyOptions`]:
/// files already identical at the destination are skipped. See
/// [`copy_tree_with`].
///
/// # Errors
///
/// The first error of listing, comparing, reading, writing or flushing.
pub async fn copy_tree(
    from: &dyn StorageBackend,
    from_prefix: &StoragePath,
    to: &dyn StorageBackend,
    to_prefix: &StoragePath,
    progress: impl FnMut(Progress),
) -> StorageResult<CopySummary> {
    copy_tree_with(
        from,
        from_prefix,
        to,
        to_prefix,
        &CopyOptions::default(),
        progress,
    )
    .await
}

/// Copies every file under the folder `from_prefix` of `from` to the same
/// place under `to_prefix` of `to` (the root copies everything), then calls
/// [`flush`](StorageBackend::flush) on `to` once.
///
/// Both sides are listed first. A source file that the destination holds
/// [`identical`] is skipped (unless [`CopyOptions::skip_identical`] is
/// off); the others are copied, [`COPY_CONCURRENCY`] at a time, each
/// streamed from [`read_stream`](StorageBackend::read_stream) to
/// [`write_stream`](StorageBackend::write_stream): memory holds a few
/// chunks per file (about [`STREAM_CHUNK`](crate::storage::STREAM_CHUNK)
/// each, on the backends of this workspace), whatever the files' sizes, and
/// a destination sees whole files only. So a copy killed half-way, run
/// again, copies only what is missing or different. `progress` is called
/// after each file, in the order they finish. With
/// [`CopyOptions::delete`], the destination's other files under `to_prefix`
/// are deleted once every copy succeeded; otherwise they are left alone.
/// With [`CopyOptions::dry_run`] nothing is written, deleted or flushed.
///
/// A buffering destination (a zip archive) is written once, at the end, by
/// the flush: a copy that fails half-way returns the error without flushing,
/// so the archive on disk is left as it was, never half-written. (The files
/// copied before the error stay staged in that backend; drop it, or discard
/// them, rather than flush it.) A destination that writes through (a local
/// folder) keeps the files copied before the error.
///
/// # Errors
///
/// The first error of listing, comparing, reading, writing, deleting or
/// flushing.
pub async fn copy_tree_with(
    from: &dyn StorageBackend,
    from_prefix: &StoragePath,
    to: &dyn StorageBackend,
    to_prefix: &StoragePath,
    options: &CopyOptions,
    mut progress: impl FnMut(Progress),
) -> StorageResult<CopySummary> {
    let files = from.list(from_prefix).await?;
    if options.delete && files.is_empty() {
        // An empty listing is more often a mistyped prefix (or a source
        // that is not there) than a wish to empty the destination.
        return Err(crate::StorageError::unsupported(
            to.location(),
            crate::Operation::Delete,
            format!(
                "the source {} holds no files under `{from_prefix}`: refusing to delete \
                 every file of the destination",
                from.location()
            ),
        ));
    }
    let files_total = files.len();
    let bytes_total = files.iter().map(|meta| meta.size).sum();
    // What the destination holds, by path relative to its prefix: the
    // files to compare with, and (for `delete`) the ones to remove.
    let mut existing: HashMap<StoragePath, ObjectMeta> = if options.skip_identical || options.delete
    {
        to.list(to_prefix)
            .await?
            .into_iter()
            .filter_map(|meta| Some((meta.path.strip_prefix(to_prefix)?, meta)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut summary = CopySummary::default();
    // After an error no new copy starts, but those running finish (or
    // abort) before this returns: a copy dropped half-way would leave its
    // temporary file to a blocking thread that removes it later, after the
    // caller has looked.
    let failed = AtomicBool::new(false);
    let failed = &failed;
    let existing_ref = &existing;
    let mut copies = stream::iter(
        files
            .into_iter()
            .take_while(|_| !failed.load(Ordering::Relaxed))
            .filter_map(|meta| {
                // Every listed path is under the prefix, so this never skips one.
                let relative = meta.path.strip_prefix(from_prefix)?;
                Some(async move {
                    let done = async {
                        let there = existing_ref.get(&relative);
                        if let (true, Some(there)) = (options.skip_identical, there) {
                            if identical(from, &meta, to, there).await? {
                                return Ok((Action::Skipped, meta.size));
                            }
                        }
                        if options.dry_run {
                            return Ok((Action::Copied, meta.size));
                        }
                        let to_path = to_prefix.join_path(&relative);
                        let size = copy_file(from, &meta.path, to, &to_path).await?;
                        Ok::<_, crate::StorageError>((Action::Copied, size))
                    }
                    .await;
                    if done.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    done.map(|(action, size)| (relative, action, size))
                })
            }),
    )
    .buffer_unordered(COPY_CONCURRENCY);
    let mut first_error = None;
    let mut seen = Vec::with_capacity(files_total);
    let mut files_done = 0;
    let mut bytes_done = 0;
    while let Some(handled) = copies.next().await {
        let (path, action, size) = match handled {
            Ok(done) => done,
            Err(err) => {
                first_error.get_or_insert(err);
                continue;
            }
        };
        if first_error.is_some() {
            continue;
        }
        match action {
            Action::Skipped => {
                summary.skipped += 1;
                summary.skipped_bytes += size;
            }
            _ => {
                summary.files += 1;
                summary.bytes += size;
            }
        }
        files_done += 1;
        bytes_done += size;
        seen.push(path.clone());
        progress(Progress {
            path,
            size,
            action,
            files_done,
            files_total,
            bytes_done,
            bytes_total,
        });
    }
    drop(copies);
    if let Some(err) = first_error {
        return Err(err);
    }
    if options.delete {
        for path in &seen {
            existing.remove(path);
        }
        let mut extra: Vec<ObjectMeta> = existing.into_values().collect();
        extra.sort_by(|a, b| a.path.cmp(&b.path));
        for meta in extra {
            if !options.dry_run {
                to.delete(&meta.path).await?;
            }
            summary.deleted += 1;
            summary.deleted_bytes += meta.size;
            progress(Progress {
                path: meta.path.strip_prefix(to_prefix).unwrap_or(meta.path),
                size: meta.size,
                action: Action::Deleted,
                files_done,
                files_total,
                bytes_done,
                bytes_total,
            });
        }
    }
    if !options.dry_run {
        to.flush().await?;
    }
    Ok(summary)
}

/// How a source file differs from the destination's ([`verify_tree`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// The destination has no file there.
    Missing,
    /// The destination's file has another size.
    Size {
        /// The source file's size.
        source: u64,
        /// The destination file's size.
        destination: u64,
    },
    /// Same size, other content.
    Content,
}

/// A source file that the destination does not hold identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The file, relative to the prefixes.
    pub path: StoragePath,
    /// How it differs.
    pub kind: DifferenceKind,
}

/// What [`verify_tree`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Verification {
    /// Source files compared.
    pub checked: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The source files missing or different at the destination, sorted by
    /// path.
    pub differences: Vec<Difference>,
    /// Destination files the source does not have (not an error for a
    /// copy; [`CopyOptions::delete`] removes them), sorted.
    pub extra: Vec<StoragePath>,
}

/// Checks that every file under `from_prefix` of `from` is at the same
/// place under `to_prefix` of `to` with the same content ([`identical`]),
/// as `rclone check` does. `progress` is called with each source file's
/// size once it is compared. Reads are made [`COPY_CONCURRENCY`] files at a
/// time.
///
/// # Errors
///
/// The first error of listing or reading.
pub async fn verify_tree(
    from: &dyn StorageBackend,
    from_prefix: &StoragePath,
    to: &dyn StorageBackend,
    to_prefix: &StoragePath,
    mut progress: impl FnMut(u64),
) -> StorageResult<Verification> {
    let files = from.list(from_prefix).await?;
    let mut existing: HashMap<StoragePath, ObjectMeta> = to
        .list(to_prefix)
        .await?
        .into_iter()
        .filter_map(|meta| Some((meta.path.strip_prefix(to_prefix)?, meta)))
        .collect();
    let mut report = Verification::default();
    let existing_ref = &existing;
    let mut compared = stream::iter(files.into_iter().filter_map(|meta| {
        let relative = meta.path.strip_prefix(from_prefix)?;
        Some(async move {
            let kind = match existing_ref.get(&relative) {
                None => Some(DifferenceKind::Missing),
                Some(there) if there.size != meta.size => Some(DifferenceKind::Size {
                    source: meta.size,
                    destination: there.size,
                }),
                Some(there) => {
                    (!identical(from, &meta, to, there).await?).then_some(DifferenceKind::Content)
                }
            };
            Ok::<_, crate::StorageError>((relative, meta.size, kind))
        })
    }))
    .buffer_unordered(COPY_CONCURRENCY);
    let mut seen = Vec::new();
    while let Some(next) = compared.next().await {
        let (path, size, kind) = next?;
        report.checked += 1;
        report.bytes += size;
        progress(size);
        if let Some(kind) = kind {
            report.differences.push(Difference {
                path: path.clone(),
                kind,
            });
        }
        seen.push(path);
    }
    drop(compared);
    for path in &seen {
        existing.remove(path);
    }
    report.extra = existing.into_keys().collect();
    report.extra.sort();
    report.differences.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Whether the file `a` of `from` and the file `b` of `to` hold the same
/// bytes.
///
/// Compared: the sizes, then the MD5 of the contents. A side whose backend
/// gives the MD5 without a read ([`ObjectMeta::content_md5`]: S3) is not
/// read, so S3 to S3 reads nothing and a local file is compared with an S3
/// object by reading the local file only. The other sides are read and
/// hashed, streamed (a folder and memory keep no checksum; a zip entry's
/// CRC-32 is too weak to skip a copy on).
///
/// # Errors
///
/// The first error of reading either file.
pub async fn identical(
    from: &dyn StorageBackend,
    a: &ObjectMeta,
    to: &dyn StorageBackend,
    b: &ObjectMeta,
) -> StorageResult<bool> {
    if a.size != b.size {
        return Ok(false);
    }
    let (md5_a, md5_b) = match (a.content_md5.clone(), b.content_md5.clone()) {
        (Some(x), Some(y)) => (x, y),
        (Some(x), None) => (x, md5_of(to, &b.path).await?),
        (None, Some(y)) => (md5_of(from, &a.path).await?, y),
        (None, None) => {
            futures::future::try_join(md5_of(from, &a.path), md5_of(to, &b.path)).await?
        }
    };
    Ok(md5_a == md5_b)
}

/// The MD5 of a file's content, in lowercase hex, streamed.
async fn md5_of(backend: &dyn StorageBackend, path: &StoragePath) -> StorageResult<String> {
    let mut chunks = backend.read_stream(path).await?;
    let mut hasher = Md5::new();
    while let Some(chunk) = chunks.try_next().await? {
        hasher.update(&chunk);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}
