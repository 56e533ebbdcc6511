//! Copying a whole tree of files from one backend to another:
//! [`copy_tree`].
//!
//! It copies bytes, file by file, and needs no Rust types: a `.dman` folder
//! becomes a zip archive and back, or moves between a local folder, an
//! object store and memory.
//!
//! ```
//! use bytes::Bytes;
//! use dman_core::copy::copy_tree;
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
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
//! ```

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::{StorageBackend, StoragePath, StorageResult};

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

/// How many files [`copy_tree`] copies at once.
pub const COPY_CONCURRENCY: usize = 8;

/// Where a copy stands: given to the progress callback of [`copy_tree`]
/// after each file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The file just copied, relative to the source prefix (and to the
    /// destination prefix).
    pub path: StoragePath,
    /// Its size in bytes.
    pub size: u64,
    /// Files copied so far, this one included.
    pub files_done: usize,
    /// Files to copy in all.
    pub files_total: usize,
    /// Bytes copied so far, this file included.
    pub bytes_done: u64,
    /// Bytes to copy in all, as listed before the copy started.
    pub bytes_total: u64,
}

/// What [`copy_tree`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CopySummary {
    /// Files copied.
    pub files: usize,
    /// Bytes copied.
    pub bytes: u64,
}

/// Copies every file under the folder `from_prefix` of `from` to the same
/// place under `to_prefix` of `to` (the root copies everything), then calls
/// [`flush`](StorageBackend::flush) on `to` once.
///
/// The source is listed first, then its files are copied,
/// [`COPY_CONCURRENCY`] at a time, each streamed from
/// [`read_stream`](StorageBackend::read_stream) to
/// [`write_stream`](StorageBackend::write_stream): memory holds a few
/// chunks per file (about [`STREAM_CHUNK`](crate::storage::STREAM_CHUNK)
/// each, on the backends of this workspace), whatever the files' sizes, and
/// a destination sees whole files only. `progress` is called after each,
/// in the order they finish. Files already at the destination are
/// overwritten; other files there are left alone.
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
/// The first error of listing, reading, writing or flushing.
pub async fn copy_tree(
    from: &dyn StorageBackend,
    from_prefix: &StoragePath,
    to: &dyn StorageBackend,
    to_prefix: &StoragePath,
    mut progress: impl FnMut(Progress),
) -> StorageResult<CopySummary> {
    let files = from.list(from_prefix).await?;
    let files_total = files.len();
    let bytes_total = files.iter().map(|meta| meta.size).sum();
    let mut summary = CopySummary::default();
    // After an error no new copy starts, but those running finish (or
    // abort) before this returns: a copy dropped half-way would leave its
    // temporary file to a blocking thread that removes it later, after the
    // caller has looked.
    let failed = std::sync::atomic::AtomicBool::new(false);
    let failed = &failed;
    let mut copies = stream::iter(
        files
            .into_iter()
            .take_while(|_| !failed.load(std::sync::atomic::Ordering::Relaxed))
            .filter_map(|meta| {
                // Every listed path is under the prefix, so this never skips one.
                let relative = meta.path.strip_prefix(from_prefix)?;
                Some(async move {
                    let size =
                        copy_file(from, &meta.path, to, &to_prefix.join_path(&relative)).await;
                    if size.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok::<_, crate::StorageError>((relative, size?))
                })
            }),
    )
    .buffer_unordered(COPY_CONCURRENCY);
    let mut first_error = None;
    while let Some(copied) = copies.next().await {
        let (path, size) = match copied {
            Ok(done) => done,
            Err(err) => {
                first_error.get_or_insert(err);
                continue;
            }
        };
        if first_error.is_some() {
            continue;
        }
        summary.files += 1;
        summary.bytes += size;
        progress(Progress {
            path,
            size,
            files_done: summary.files,
            files_total,
            bytes_done: summary.bytes,
            bytes_total,
        });
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    to.flush().await?;
    Ok(summary)
}
