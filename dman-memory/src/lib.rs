//! The memory backend of dman-rs: files kept in a map in memory.
//!
//! [`MemoryBackend`] is meant for tests (the users' own and dman-rs's) and
//! for scratch graphs that need not outlive the process. Clones share the
//! same files, so a test can hand one clone to the code under test and
//! inspect the other.
//!
//! ```
//! use bytes::Bytes;
//! use dman_core::{StorageBackend, StoragePath};
//! use dman_memory::MemoryBackend;
//!
//! async fn example() -> Result<(), Box<dyn std::error::Error>> {
//!     let backend = MemoryBackend::new();
//!     let path = StoragePath::parse("cache/run/run.json")?;
//!     backend.write(&path, Bytes::from_static(b"{}")).await?;
//!     assert_eq!(backend.read(&path).await?, Bytes::from_static(b"{}"));
//!     assert_eq!(backend.paths(), [path]);
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, STREAM_CHUNK};
use dman_core::Operation;
use dman_core::{
    ObjectMeta, StorageBackend, StorageError, StoragePath, StorageResult, Version, WriteCondition,
};

/// Source of the ids in the backends' locations.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A storage backend that keeps its files in memory.
///
/// Clones share the files and the location (`memory://<id>`, the id unique
/// within the process). Every operation completes at once: writes are
/// atomic because a file is replaced under a lock, and reads return a cheap
/// reference-counted handle on the bytes.
///
/// Conditional writes are supported: every file carries a version (a
/// counter of the backend, new on each write), compared and replaced under
/// the same lock.
#[derive(Clone)]
pub struct MemoryBackend {
    id: u64,
    files: Arc<RwLock<BTreeMap<StoragePath, Entry>>>,
    versions: Arc<AtomicU64>,
}

/// A file: its content, the version that wrote it and when.
#[derive(Clone)]
struct Entry {
    data: Bytes,
    version: u64,
    written: SystemTime,
}

impl MemoryBackend {
    /// A new, empty backend with a location of its own.
    pub fn new() -> Self {
        MemoryBackend {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            files: Arc::default(),
            versions: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The paths of every file, sorted.
    pub fn paths(&self) -> Vec<StoragePath> {
        self.files_read().keys().cloned().collect()
    }

    /// The content of a file, if it exists (the synchronous twin of
    /// [`StorageBackend::read`], for inspection in tests).
    pub fn get(&self, path: &StoragePath) -> Option<Bytes> {
        self.files_read().get(path).map(|e| e.data.clone())
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files_read().len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files_read().is_empty()
    }

    /// The total size of every file, in bytes.
    pub fn total_size(&self) -> u64 {
        self.files_read()
            .values()
            .map(|e| e.data.len() as u64)
            .sum()
    }

    /// Deletes every file.
    pub fn clear(&self) {
        self.files_write().clear();
    }

    // No critical section can panic half-way through a change, so a
    // poisoned lock still guards a consistent map: use it.
    fn files_read(&self) -> RwLockReadGuard<'_, BTreeMap<StoragePath, Entry>> {
        self.files.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn files_write(&self) -> RwLockWriteGuard<'_, BTreeMap<StoragePath, Entry>> {
        self.files.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn entry(&self, data: Bytes) -> Entry {
        Entry {
            data,
            version: self.versions.fetch_add(1, Ordering::Relaxed),
            written: SystemTime::now(),
        }
    }

    fn refuse_root(&self, path: &StoragePath) -> StorageResult<()> {
        if path.is_root() {
            return Err(StorageError::failed(
                self.location(),
                path,
                Operation::Write,
                "the root is a folder, not a file",
            ));
        }
        Ok(())
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new()
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("location", &self.location())
            .field("files", &self.len())
            .finish()
    }
}

#[async_trait]
impl StorageBackend for MemoryBackend {
    fn location(&self) -> String {
        format!("memory://{}", self.id)
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.get(path)
            .ok_or_else(|| StorageError::not_found(self.location(), path))
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.refuse_root(path)?;
        let entry = self.entry(data);
        self.files_write().insert(path.clone(), entry);
        Ok(())
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.files_write().remove(path);
        Ok(())
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        Ok(self.files_read().contains_key(path))
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let files = self.files_read();
        let meta = |(path, e): (&StoragePath, &Entry)| ObjectMeta {
            path: path.clone(),
            size: e.data.len() as u64,
            last_modified: Some(e.written),
            content_md5: None,
        };
        if prefix.is_root() {
            return Ok(files.iter().map(meta).collect());
        }
        // Paths under `prefix` start with `prefix/`, and such strings are
        // contiguous in the map's order.
        let start = format!("{prefix}/");
        Ok(files
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(|(path, _)| path.as_str().starts_with(&start))
            .map(meta)
            .collect())
    }

    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        let files = self.files_read();
        let e = files
            .get(path)
            .ok_or_else(|| StorageError::not_found(self.location(), path))?;
        Ok(ObjectMeta {
            path: path.clone(),
            size: e.data.len() as u64,
            last_modified: Some(e.written),
            content_md5: None,
        })
    }

    /// The file in slices of [`STREAM_CHUNK`] bytes of the one copy the
    /// backend holds: no byte is copied. (Writes in pieces use the
    /// default, which gathers the chunks and writes them whole: the file
    /// ends up in memory either way.)
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let data = self.read(path).await?;
        let chunks: Vec<StorageResult<Bytes>> = if data.is_empty() {
            Vec::new()
        } else {
            (0..data.len())
                .step_by(STREAM_CHUNK)
                .map(|start| Ok(data.slice(start..(start + STREAM_CHUNK).min(data.len()))))
                .collect()
        };
        Ok(Box::pin(futures::stream::iter(chunks)))
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        let files = self.files_read();
        let e = files
            .get(path)
            .ok_or_else(|| StorageError::not_found(self.location(), path))?;
        Ok((e.data.clone(), Version::new(e.version.to_string())))
    }

    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        self.refuse_root(path)?;
        let entry = self.entry(data);
        let version = Version::new(entry.version.to_string());
        let mut files = self.files_write();
        let holds = match (condition, files.get(path)) {
            (WriteCondition::Create, existing) => existing.is_none(),
            (WriteCondition::Match(want), Some(e)) => want.as_str() == e.version.to_string(),
            (WriteCondition::Match(_), None) => false,
        };
        if !holds {
            return Err(StorageError::conflict(self.location(), path, condition));
        }
        files.insert(path.clone(), entry);
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &str) -> StoragePath {
        StoragePath::parse(input).unwrap()
    }

    #[tokio::test]
    async fn clones_share_files_and_location() {
        let backend = MemoryBackend::new();
        let clone = backend.clone();
        clone
            .write(&p("a/b"), Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!(backend.get(&p("a/b")), Some(Bytes::from_static(b"x")));
        assert_eq!(backend.location(), clone.location());
        assert!(backend.location().starts_with("memory://"));
        assert_ne!(backend.location(), MemoryBackend::new().location());
        assert_ne!(MemoryBackend::default().location(), backend.location());
    }

    #[tokio::test]
    async fn inspection_helpers() {
        let backend = MemoryBackend::new();
        assert!(backend.is_empty());
        backend
            .write(&p("b"), Bytes::from_static(b"12"))
            .await
            .unwrap();
        backend
            .write(&p("a/c"), Bytes::from_static(b"345"))
            .await
            .unwrap();
        assert_eq!(backend.paths(), [p("a/c"), p("b")]);
        assert_eq!(backend.len(), 2);
        assert!(!backend.is_empty());
        assert_eq!(backend.total_size(), 5);
        assert_eq!(backend.get(&p("missing")), None);
        backend.clear();
        assert!(backend.is_empty());
        assert!(format!("{backend:?}").contains("memory://"));
    }

    #[tokio::test]
    async fn writing_the_root_fails() {
        let backend = MemoryBackend::new();
        let err = backend
            .write(&StoragePath::root(), Bytes::new())
            .await
            .unwrap_err();
        assert!(!err.is_not_found());
        assert!(backend.is_empty());
    }
}
