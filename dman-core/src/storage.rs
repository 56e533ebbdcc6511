//! The storage contract: one small async trait that every backend implements.
//!
//! A backend stores whole files under validated [`StoragePath`]s. It knows
//! nothing of records or JSON; the record graph is built on top of it.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::path::StoragePath;

/// A file found by [`StorageBackend::list`] or [`StorageBackend::head`]: its
/// path, size in bytes and time of last change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectMeta {
    /// Path of the file, relative to the backend's root.
    pub path: StoragePath,
    /// Size of the file in bytes.
    pub size: u64,
    /// When the file was last written, as the backend knows it: the file's
    /// modification time (local folder), the time of the write (memory),
    /// the object's `Last-Modified` (S3), the entry's modification time
    /// (zip; the archive file's when the entry has none). `None` when the
    /// backend cannot tell. Housekeeping (`gc`'s grace period) relies on it.
    pub last_modified: Option<SystemTime>,
    /// The MD5 of the content (lowercase hex) when the store gives it
    /// without a read: on S3, the `ETag` of an object uploaded in one
    /// request. `None` when the backend cannot tell (the local folder,
    /// memory, zip, a multipart upload). An encrypted S3 object's `ETag`
    /// is not its MD5: comparing by it then finds a difference where there
    /// is none, never the other way round. [`copy`](crate::copy) compares
    /// files by it before reading them.
    pub content_md5: Option<String>,
}

/// The bytes of a file, in chunks, from [`StorageBackend::read_stream`].
/// An error ends the stream: a consumer stops at the first `Err`.
pub type ByteStream = BoxStream<'static, StorageResult<Bytes>>;

/// The chunks of files read in pieces by the backends of this workspace
/// (1 MiB): small enough to bound memory, large enough that the cost per
/// chunk does not show.
pub const STREAM_CHUNK: usize = 1 << 20;

/// A file's bytes in one or more parts, written in order: what a save
/// writes for a content file. An array's file is its `.npy` header and then
/// the array's own memory (a part that shares the array), so that a save
/// never copies the array into a file buffer; a backend that can send the
/// parts as they are ([`StorageBackend::write_payload`]) never joins them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    parts: Vec<Bytes>,
}

impl Payload {
    /// The size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|part| part.len() as u64).sum()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Bytes::is_empty)
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// The parts, in order, for a backend that sends them one by one.
    pub fn into_parts(self) -> Vec<Bytes> {
        self.parts
    }

    /// The whole file in one buffer, as [`into_bytes`](Self::into_bytes)
    /// gives it (a copy when there are several parts).
    pub fn to_bytes(&self) -> Bytes {
        self.clone().into_bytes()
    }

    /// The whole file in one buffer: the part itself when there is one, a
    /// copy of them all otherwise (which no longer shares any value's
    /// memory).
    pub fn into_bytes(mut self) -> Bytes {
        match self.parts.len() {
            0 => Bytes::new(),
            1 => self.parts.remove(0),
            _ => {
                let mut whole = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
                for part in &self.parts {
                    whole.extend_from_slice(part);
                }
                Bytes::from(whole)
            }
        }
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload { parts: vec![bytes] }
    }
}

impl From<Vec<Bytes>> for Payload {
    fn from(parts: Vec<Bytes>) -> Self {
        Payload { parts }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload::from(Bytes::from(bytes))
    }
}

/// A file opened for reading on a blocking thread, from
/// [`StorageBackend::open_read`]: its size when it was opened, and a reader
/// from its start.
pub struct FileReader {
    /// The size of the file, in bytes.
    pub size: u64,
    /// The file's bytes, from the start.
    pub reader: Box<dyn std::io::Read + Send>,
}

impl fmt::Debug for FileReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileReader")
            .field("size", &self.size)
            .finish()
    }
}

/// A file being written in pieces, from [`StorageBackend::write_stream`].
///
/// Nothing is visible at the path until [`finish`](Upload::finish) returns
/// `Ok`, and then the whole file at once (as with
/// [`StorageBackend::write`]). [`abort`](Upload::abort), an error, or
/// dropping the upload without finishing it leaves the path as it was.
#[async_trait]
pub trait Upload: Send {
    /// Appends a chunk. Chunks of any size are accepted, the empty one too.
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()>;

    /// Makes the file visible at the path, atomically.
    async fn finish(self: Box<Self>) -> StorageResult<()>;

    /// Gives up: the path is left as it was, and what was sent is freed
    /// where the backend can (an S3 multipart upload is aborted).
    async fn abort(self: Box<Self>) -> StorageResult<()>;
}

/// What a [`Leftover`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// A temporary file of a write that never renamed it into place (local
    /// folder: `.dman-tmp-*`).
    TempFile,
    /// A temporary archive of a zip flush that never finished
    /// (`<archive>.zip.tmp-*`).
    ArchiveTemp,
    /// A multipart upload that was started and never completed nor
    /// aborted (S3): its parts are stored, and billed, but invisible.
    MultipartUpload,
}

impl fmt::Display for LeftoverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeftoverKind::TempFile => "temporary file of an interrupted write",
            LeftoverKind::ArchiveTemp => "temporary archive of an interrupted flush",
            LeftoverKind::MultipartUpload => "incomplete multipart upload",
        })
    }
}

/// Debris of an interrupted operation of the backend itself (never a user
/// file), from [`StorageBackend::leftovers`]; remove it with
/// [`StorageBackend::remove_leftover`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Leftover {
    /// What it is called where it lives: a path relative to the backend's
    /// root (temporary files), a file name beside the archive (zip), the
    /// object key of the upload (S3).
    pub name: String,
    /// What it is.
    pub kind: LeftoverKind,
    /// Its size in bytes, as far as the backend can tell (an S3 upload:
    /// the parts stored so far).
    pub size: u64,
    /// When it was last written (a temporary file's modification time, an
    /// upload's start). `gc` removes only leftovers older than a grace
    /// period, so that it never removes the temporary file of a write that
    /// is still running.
    pub last_modified: Option<SystemTime>,
    /// What the backend needs to remove it (an absolute file path, an
    /// upload id). Opaque to callers.
    pub id: String,
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}` ({} bytes", self.kind, self.name, self.size)?;
        if let Some(age) = self
            .last_modified
            .and_then(|time| SystemTime::now().duration_since(time).ok())
        {
            write!(f, ", last written {} s ago", age.as_secs())?;
        }
        f.write_str(")")
    }
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

/// A storage operation, as errors name it. Its `Display` is a verb phrase
/// that follows "cannot": `read`, `write`, `list leftovers`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening the backend (a folder, an archive).
    Open,
    /// [`StorageBackend::read`] and the streamed and versioned reads' I/O.
    Read,
    /// [`StorageBackend::write`], a streamed write.
    Write,
    /// [`StorageBackend::delete`].
    Delete,
    /// [`StorageBackend::list`].
    List,
    /// [`StorageBackend::copy`].
    Copy,
    /// [`StorageBackend::head`].
    Head,
    /// [`StorageBackend::exists`].
    Exists,
    /// [`StorageBackend::flush`].
    Flush,
    /// Checking every file of an archive (`dman_zip::ZipBackend::verify`).
    Verify,
    /// [`StorageBackend::leftovers`].
    ListLeftovers,
    /// [`StorageBackend::remove_leftover`].
    RemoveLeftover,
    /// [`StorageBackend::read_versioned`].
    ReadVersioned,
    /// [`StorageBackend::write_if`].
    WriteIf,
}

impl Operation {
    /// The words for the operation, as in "cannot read": `read`, `write`,
    /// `delete`, `list`, `copy`, `head`, `check for`, `flush`, `verify`,
    /// `list leftovers`, `remove a leftover`, `read with a version`,
    /// `write conditionally`, `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Open => "open",
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Copy => "copy",
            Operation::Head => "head",
            Operation::Exists => "check for",
            Operation::Flush => "flush",
            Operation::Verify => "verify",
            Operation::ListLeftovers => "list leftovers",
            Operation::RemoveLeftover => "remove a leftover",
            Operation::ReadVersioned => "read with a version",
            Operation::WriteIf => "write conditionally",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of every storage operation.
///
/// Each variant names the backend (its [`StorageBackend::location`]) and the
/// path involved, so that a message read in a log says where to look.
///
/// New variants may be added: a `match` needs a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    #[error("{backend}: cannot {op} here: {reason}")]
    Unsupported {
        /// The backend's location.
        backend: String,
        /// The operation asked for.
        op: Operation,
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
        /// The operation.
        op: Operation,
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
        op: Operation,
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
        op: Operation,
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

    /// Builds a [`StorageError::Failed`] from an I/O error, keeping what a
    /// full disk means: see [`disk_full_or`].
    pub fn io(
        backend: impl Into<String>,
        path: &StoragePath,
        op: Operation,
        err: std::io::Error,
    ) -> Self {
        StorageError::failed(backend, path, op, disk_full_or(err))
    }

    /// Whether the failure is a full disk (or an exceeded quota): a
    /// [`DiskFull`] or an I/O error of that kind anywhere in the chain of
    /// sources.
    pub fn is_disk_full(&self) -> bool {
        let mut current: Option<&(dyn std::error::Error + 'static)> =
            std::error::Error::source(self);
        while let Some(err) = current {
            if err.is::<DiskFull>() {
                return true;
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if is_disk_full_io(io) {
                    return true;
                }
            }
            current = err.source();
        }
        false
    }
}

/// The source of a [`StorageError`] when a write found the disk (or the
/// quota) full. Its message says so in words; its source is the I/O error,
/// kind and all.
#[derive(Debug, thiserror::Error)]
#[error("the disk is full ({source})")]
pub struct DiskFull {
    /// The I/O error (`ENOSPC`, `EDQUOT`).
    #[source]
    pub source: std::io::Error,
}

/// Whether an I/O error means the disk or the quota is full.
fn is_disk_full_io(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// `err` as the source of a storage error: wrapped in [`DiskFull`] when it
/// means the disk (or quota) is full, so that the message says so; as it is
/// otherwise.
pub fn disk_full_or(err: std::io::Error) -> Box<dyn std::error::Error + Send + Sync> {
    if is_disk_full_io(&err) {
        Box::new(DiskFull { source: err })
    } else {
        Box::new(err)
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
    /// sizes and times, sorted by path. `a/b` lists `a/b/c` but not `a/bc`.
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>>;

    /// The size and time of one file, without reading it. A missing file
    /// (or the root) gives [`StorageError::NotFound`]. The default lists the
    /// file's folder and picks the file; every backend of this workspace
    /// asks for the one file instead.
    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        let parent = path
            .parent()
            .ok_or_else(|| StorageError::not_found(self.location(), path))?;
        self.list(&parent)
            .await?
            .into_iter()
            .find(|meta| &meta.path == path)
            .ok_or_else(|| StorageError::not_found(self.location(), path))
    }

    /// Reads a file in chunks, so that a large file never has to be in
    /// memory at once. A missing file gives [`StorageError::NotFound`]
    /// (from this call, not from the stream). The default reads the whole
    /// file and gives it as one chunk; the backends of this workspace read
    /// chunks of about [`STREAM_CHUNK`] bytes.
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let data = self.read(path).await?;
        Ok(Box::pin(futures::stream::once(async move { Ok(data) })))
    }

    /// Writes a file in chunks: see [`Upload`] for what is visible when.
    /// The default keeps the chunks in memory and calls
    /// [`write`](Self::write) on [`finish`](Upload::finish); the backends
    /// of this workspace hold a bounded amount (see each one's
    /// documentation).
    async fn write_stream<'a>(&'a self, path: &StoragePath) -> StorageResult<Box<dyn Upload + 'a>> {
        Ok(Box::new(BufferedUpload {
            backend: self,
            path: path.clone(),
            chunks: Vec::new(),
        }))
    }

    /// The backend's own debris of interrupted operations: temporary files
    /// of killed writes, incomplete multipart uploads. Never a user's file.
    /// The default: none.
    async fn leftovers(&self) -> StorageResult<Vec<Leftover>> {
        Ok(Vec::new())
    }

    /// Removes one of [`leftovers`](Self::leftovers). Removing one that is
    /// gone already succeeds. The default refuses, as it lists none.
    async fn remove_leftover(&self, leftover: &Leftover) -> StorageResult<()> {
        Err(StorageError::unsupported(
            self.location(),
            Operation::RemoveLeftover,
            format!(
                "this backend has no leftovers, so `{}` is not one of its",
                leftover.name
            ),
        ))
    }

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

    /// A file as a blocking reader and its size, for code that reads it on
    /// a blocking thread straight into a buffer of its own (an array's):
    /// the local folder gives the open file. `None` (the default): the
    /// backend has no such reader; use [`read_stream`](Self::read_stream).
    /// A missing file gives [`StorageError::NotFound`].
    async fn open_read(&self, path: &StoragePath) -> StorageResult<Option<FileReader>> {
        let _ = path;
        Ok(None)
    }

    /// Reads many (small) files at once, each result in the order of
    /// `paths`: what a container does to load its items. The default reads
    /// them 16 at a time; a backend whose every read costs a trip of its
    /// own (a thread hop for a local folder) reads them in a few batches.
    async fn read_many(&self, paths: &[StoragePath]) -> Vec<StorageResult<Bytes>> {
        use futures::StreamExt;
        // The futures are made before any is awaited, which keeps this
        // future `Send` for every lifetime (rust-lang/rust#102211).
        let reads: Vec<_> = paths.iter().map(|path| self.read(path)).collect();
        futures::stream::iter(reads).buffered(16).collect().await
    }

    /// Writes a file given in parts, as [`write`](Self::write) writes it.
    /// The default joins the parts into one buffer; a backend that can send
    /// them as they are (a local folder, S3) does, so that a large file
    /// made of a value's own memory is never copied whole.
    async fn write_payload(&self, path: &StoragePath, data: Payload) -> StorageResult<()> {
        self.write(path, data.into_bytes()).await
    }

    /// Writes a file given in parts, as [`write_if`](Self::write_if)
    /// writes it. The default joins the parts, as
    /// [`write_payload`](Self::write_payload)'s does.
    async fn write_payload_if(
        &self,
        path: &StoragePath,
        data: Payload,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        self.write_if(path, data.into_bytes(), condition).await
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
            Operation::ReadVersioned,
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
            Operation::WriteIf,
            "this backend cannot compare and write atomically",
        ))
    }
}

/// The default [`StorageBackend::write_stream`]: chunks kept in memory,
/// written whole on finish.
struct BufferedUpload<'a, B: ?Sized> {
    backend: &'a B,
    path: StoragePath,
    chunks: Vec<Bytes>,
}

#[async_trait]
impl<B: StorageBackend + ?Sized> Upload for BufferedUpload<'_, B> {
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()> {
        self.chunks.push(chunk);
        Ok(())
    }

    async fn finish(self: Box<Self>) -> StorageResult<()> {
        let data = match self.chunks.len() {
            0 => Bytes::new(),
            1 => self.chunks[0].clone(),
            _ => {
                let mut whole =
                    Vec::with_capacity(self.chunks.iter().map(Bytes::len).sum::<usize>());
                for chunk in &self.chunks {
                    whole.extend_from_slice(chunk);
                }
                Bytes::from(whole)
            }
        };
        self.backend.write(&self.path, data).await
    }

    async fn abort(self: Box<Self>) -> StorageResult<()> {
        Ok(())
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
///
/// // A generic wrapper: its parameters in brackets first.
/// #[derive(Debug)]
/// struct Wrap<B>(B);
/// forward_storage_backend!([B: StorageBackend] Wrap<B>, |s| &s.0);
/// ```
#[macro_export]
macro_rules! forward_storage_backend {
    ([$($generics:tt)*] $ty:ty, |$s:ident| $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($generics)*> $crate::StorageBackend for $ty {
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
            async fn head(
                &self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<$crate::ObjectMeta> {
                let $s = self;
                ($inner).head(path).await
            }
            async fn open_read(
                &self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<Option<$crate::storage::FileReader>> {
                let $s = self;
                ($inner).open_read(path).await
            }
            async fn read_many(
                &self,
                paths: &[$crate::StoragePath],
            ) -> Vec<$crate::StorageResult<$crate::__private::Bytes>> {
                let $s = self;
                ($inner).read_many(paths).await
            }
            async fn write_payload(
                &self,
                path: &$crate::StoragePath,
                data: $crate::storage::Payload,
            ) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).write_payload(path, data).await
            }
            async fn write_payload_if(
                &self,
                path: &$crate::StoragePath,
                data: $crate::storage::Payload,
                condition: &$crate::storage::WriteCondition,
            ) -> $crate::StorageResult<$crate::storage::Version> {
                let $s = self;
                ($inner).write_payload_if(path, data, condition).await
            }
            async fn read_stream(
                &self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<$crate::storage::ByteStream> {
                let $s = self;
                ($inner).read_stream(path).await
            }
            async fn write_stream<'a>(
                &'a self,
                path: &$crate::StoragePath,
            ) -> $crate::StorageResult<Box<dyn $crate::storage::Upload + 'a>> {
                let $s = self;
                ($inner).write_stream(path).await
            }
            async fn leftovers(&self) -> $crate::StorageResult<Vec<$crate::storage::Leftover>> {
                let $s = self;
                ($inner).leftovers().await
            }
            async fn remove_leftover(
                &self,
                leftover: &$crate::storage::Leftover,
            ) -> $crate::StorageResult<()> {
                let $s = self;
                ($inner).remove_leftover(leftover).await
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
    ($ty:ty, |$s:ident| $inner:expr) => {
        $crate::forward_storage_backend!([] $ty, |$s| $inner);
    };
}

// Every method, the payload writes among them, reaches the backend inside:
// a hand-written list here once forgot new methods, which then fell back
// to their defaults for every `Arc<dyn StorageBackend>`.
forward_storage_backend!([B: StorageBackend + ?Sized] Arc<B>, |s| &**s);

/// Whether two handles reach the same files.
pub(crate) fn same_store(a: &Arc<dyn StorageBackend>, b: &Arc<dyn StorageBackend>) -> bool {
    Arc::ptr_eq(a, b) || a.location() == b.location()
}
