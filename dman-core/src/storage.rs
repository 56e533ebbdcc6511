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

/// The version of a file: an opaque token that changes whenever the file is
/// replaced (S3: the ETag; local folder: device, inode, size and change
/// times; memory: a counter). Two reads that return equal versions saw the
/// same content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// A version from a backend's own token.
    pub fn new(token: impl Into<String>) -> Self {
        Version(token.into())
    }

    /// The backend's token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The condition of a [`StorageBackend::write_if`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Create the file; fail with [`StorageError::Conflict`] if it exists.
    Create,
    /// Replace the file only if it is still at this version; fail with
    /// [`StorageError::Conflict`] if it changed or no longer exists.
    Match(Version),
}

impl fmt::Display for WriteCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteCondition::Create => f.write_str("create only"),
            WriteCondition::Match(v) => write!(f, "replace if still at version {v}"),
        }
    }
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
    /// A conditional write found its condition false: the file exists (for
    /// [`WriteCondition::Create`]) or is no longer at the expected version
    /// (for [`WriteCondition::Match`]). Another writer got there first.
    #[error("{backend}: conflict writing `{path}` ({condition}): another writer changed it")]
    Conflict {
        /// The backend's location.
        backend: String,
        /// The path written.
        path: StoragePath,
        /// The condition that did not hold.
        condition: WriteCondition,
    },
    /// The backend cannot do this operation (conditional writes on a zip
    /// archive, or on an S3-compatible server that ignores the headers).
    #[error("{backend}: {op} is not supported here: {reason}")]
    Unsupported {
        /// The backend's location.
        backend: String,
        /// The operation asked for.
        op: &'static str,
        /// Why, and what to do instead.
        reason: String,
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

    /// Whether this is a failed write condition ([`StorageError::Conflict`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StorageError::Conflict { .. })
    }

    /// The path the error is about (the root for an unsupported operation).
    pub fn path(&self) -> &StoragePath {
        static ROOT: std::sync::OnceLock<StoragePath> = std::sync::OnceLock::new();
        match self {
            StorageError::NotFound { path, .. }
            | StorageError::Failed { path, .. }
            | StorageError::Conflict { path, .. } => path,
            StorageError::Unsupported { .. } => ROOT.get_or_init(StoragePath::root),
        }
    }

    /// Builds a [`StorageError::Conflict`].
    pub fn conflict(
        backend: impl Into<String>,
        path: &StoragePath,
        condition: &WriteCondition,
    ) -> Self {
        StorageError::Conflict {
            backend: backend.into(),
            path: path.clone(),
            condition: condition.clone(),
        }
    }

    /// Builds a [`StorageError::Unsupported`].
    pub fn unsupported(
        backend: impl Into<String>,
        op: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        StorageError::Unsupported {
            backend: backend.into(),
            op,
            reason: reason.into(),
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

    /// Whether [`read_versioned`](Self::read_versioned) and
    /// [`write_if`](Self::write_if) work here, safely between processes.
    /// Many writers on one key ([`Repo::track`](crate::repo::Repo::track))
    /// need it. The default: no.
    fn supports_conditional_writes(&self) -> bool {
        false
    }

    /// Reads a whole file together with its version, both from the same
    /// state of the file. The default: [`StorageError::Unsupported`].
    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        let _ = path;
        Err(StorageError::unsupported(
            self.location(),
            "a versioned read",
            "this backend has no file versions",
        ))
    }

    /// Writes a whole file atomically if `condition` holds, and gives the
    /// new version; otherwise fails with [`StorageError::Conflict`] and
    /// changes nothing. Of several processes writing one path with the same
    /// condition, at most one succeeds. The default:
    /// [`StorageError::Unsupported`].
    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        let _ = (path, data, condition);
        Err(StorageError::unsupported(
            self.location(),
            "a conditional write",
            "this backend cannot compare and write atomically",
        ))
    }
}

/// Implements [`StorageBackend`] for a wrapper type by forwarding every
/// method to the backend that an expression of `self` gives, except those
/// the wrapper writes itself; the model is object_store's `as_ref_impl!`.
/// (A macro rather than a blanket impl, because wrappers differ in which
/// few methods they change.)
///
/// ```
/// use dman_core::{forward_storage_backend, StorageBackend};
/// # use dman_core::{StoragePath, StorageResult};
/// #[derive(Debug)]
/// struct Quiet(std::sync::Arc<dyn StorageBackend>);
/// forward_storage_backend!(Quiet, |s| &s.0);
/// ```
#[macro_export]
macro_rules! forward_storage_backend {
    ($ty:ty, |$s:ident| $inner:expr) => {
        #[$crate::__private::async_trait]
        impl $crate::StorageBackend for $ty {
            fn location(&self) -> String {
                let $s = self;
                ($inner).location()
            }
            async fn read(
                &self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<$crate::__private::Bytes> {
                let $s = self;
                ($inner).read(path).await
            }
            async fn write(
                &self,
                path: &$crate::StoragePath,
                data: $crate::__private::Bytes,
            ) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).write(path, data).await
            }
            async fn delete(&self, path: &$crate::StoragePath) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).delete(path).await
            }
            async fn exists(&self, path: &$crate::StoragePath) -> $crate::StorageResult<bool> {
                let $s = self;
                ($inner).exists(path).await
            }
            async fn list(
                &self,
                prefix: &$crate::StoragePath,
            ) -> $crate::StorageResult<Vec<$crate::ObjectMeta>> {
                let $s = self;
                ($inner).list(prefix).await
            }
            async fn flush(&self) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).flush().await
            }
            async fn copy(
                &self,
                from: &$crate::StoragePath,
                to: &$crate::StoragePath,
            ) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).copy(from, to).await
            }
            fn supports_conditional_writes(&self) -> bool {
                let $s = self;
                ($inner).supports_conditional_writes()
            }
            async fn read_versioned(
                &self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<($crate::__private::Bytes, $crate::Version)> {
                let $s = self;
                ($inner).read_versioned(path).await
            }
            async fn write_if(
                &self,
                path: &$crate::StoragePath,
                data: $crate::__private::Bytes,
                condition: &$crate::WriteCondition,
            ) -> $crate::StorageResult<$crate::Version> {
                let $s = self;
                ($inner).write_if(path, data, condition).await
            }
        }
    };
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
    fn supports_conditional_writes(&self) -> bool {
        (**self).supports_conditional_writes()
    }
    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        (**self).read_versioned(path).await
    }
    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        (**self).write_if(path, data, condition).await
    }
}
