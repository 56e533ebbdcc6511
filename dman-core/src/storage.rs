//! The storage contract: one small async trait that every backend implements.
//!
//! A backend stores whole files under validated [`StoragePath`]s. It knows
//! nothing of records or JSON; the record graph is built on top of it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::path::StoragePath;

/// A file found by [`StorageBackend::list`]: its path and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectMeta {
    /// Path of the file, relative to the backend's root.
    pub path: StoragePath,
    /// Size of the file in bytes.
    pub size: u64,
}

/// The error type of every storage operation.
///
/// Each variant names the backend (its [`StorageBackend::location`]) and the
/// path involved, so that a message read in a log says where to look.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The file does not exist. Kept apart from other failures because a
    /// missing file is often expected (a key that was never saved).
    #[error("{backend}: no file at `{path}`")]
    NotFound {
        /// The backend's location.
        backend: String,
        /// The path that was asked for.
        path: StoragePath,
    },
    /// The operation failed for another reason (permissions, I/O, network,
    /// a corrupt archive, ...).
    #[error("{backend}: cannot {op} `{path}`: {source}")]
    Failed {
        /// The backend's location.
        backend: String,
        /// The path involved (the root when no single path is).
        path: StoragePath,
        /// The operation: `read`, `write`, `delete`, `list`, `flush`, ...
        op: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StorageError {
    /// Whether this is the "file does not exist" error.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    /// The path the error is about.
    pub fn path(&self) -> &StoragePath {
        match self {
            StorageError::NotFound { path, .. } | StorageError::Failed { path, .. } => path,
        }
    }

    /// Builds a [`StorageError::Failed`] from any error.
    pub fn failed(
        backend: impl Into<String>,
        path: &StoragePath,
        op: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StorageError::Failed {
            backend: backend.into(),
            path: path.clone(),
            op,
            source: source.into(),
        }
    }

    /// Builds a [`StorageError::NotFound`].
    pub fn not_found(backend: impl Into<String>, path: &StoragePath) -> Self {
        StorageError::NotFound {
            backend: backend.into(),
            path: path.clone(),
        }
    }
}

/// Result of a storage operation.
pub type StorageResult<T> = Result<T, StorageError>;

/// A place that holds files: a local folder, an object store, memory, a zip
/// archive.
///
/// The trait is object safe, so code holds backends as
/// `Arc<dyn StorageBackend>`. Paths are validated before they reach a
/// backend, so no implementation ever sees `..`, an absolute path or a
/// backslash.
#[async_trait]
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// A short description of where the files live (`file:///data/.dman`,
    /// `memory://7`, `s3://bucket/prefix`), used in errors. Two handles
    /// with the same location see the same files.
    fn location(&self) -> String;

    /// Reads a whole file. A missing file gives [`StorageError::NotFound`].
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes>;

    /// Writes a whole file atomically: a concurrent or later reader sees the
    /// old content or the new, never a mix. Parent folders are implied.
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()>;

    /// Deletes a file. Deleting a file that does not exist succeeds.
    /// Folders have no existence of their own: on backends that have them,
    /// folders left empty by the delete are removed (up to the root).
    async fn delete(&self, path: &StoragePath) -> StorageResult<()>;

    /// Whether a file exists at `path`.
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool>;

    /// Every file under the folder `prefix` (the root lists everything), with
    /// sizes, sorted by path. `a/b` lists `a/b/c` but not `a/bc`.
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>>;

    /// Commit point for backends that buffer writes (a zip archive). The
    /// default does nothing.
    async fn flush(&self) -> StorageResult<()> {
        Ok(())
    }

    /// Copies a file within the backend. The default reads and writes;
    /// backends with a server-side copy override it.
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        let data = self.read(from).await?;
        self.write(to, data).await
    }
}

#[async_trait]
impl<B: StorageBackend + ?Sized> StorageBackend for Arc<B> {
    fn location(&self) -> String {
        (**self).location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        (**self).read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        (**self).write(path, data).await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        (**self).delete(path).await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        (**self).exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        (**self).list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        (**self).flush().await
    }
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        (**self).copy(from, to).await
    }
}
