//! The zip backend of dman-rs: a record graph inside a zip archive, the
//! one file people share an experiment as.
//!
//! [`ZipBackend`] is a full [`StorageBackend`]: a graph loads straight from
//! an archive, lazily, and can be saved into one.
//!
//! * **Random access.** Opening an archive reads its central directory and
//!   nothing else; reading a file decompresses its entry and no other.
//!   Reads run in parallel, on Tokio's blocking pool.
//! * **Staged writes, one atomic commit.** Writes and deletes are staged in
//!   memory and seen at once by reads, `exists` and `list` (the merged
//!   view). [`flush`](StorageBackend::flush), which the repository calls at
//!   the end of each save, writes the whole archive to a temporary file
//!   beside it (`<archive>.tmp-<random>`), syncs it and renames it over the
//!   archive: a reader, or a crash, sees the old archive or the new one.
//!   Entries that did not change are copied as they are, still compressed.
//!   A write is compressed at once, on the blocking pool, so concurrent
//!   writes compress in parallel and the staged copy takes the compressed
//!   size; the flush only copies bytes. Staged files live in memory (no
//!   spill to disk): until a flush, an archive being written costs the
//!   compressed size of what was written since the last flush.
//! * **Compression**: deflate (level 6, as `zip -r`) by default;
//!   [`ZipBuilder::compression`] picks stored (none) or another method the
//!   `zip` crate was built with (features `bzip2`, `zstd`, `xz` of this
//!   crate), and [`ZipBuilder::compression_level`] the level.
//! * **Hostile archives are refused** when they are opened, with an
//!   [`ArchiveError`] naming the entry, before any entry is read: names
//!   with `..` segments, absolute names, Windows drives, backslashes, NUL
//!   bytes; duplicate names; entries that declare more than
//!   [`ZipBuilder::max_entry_size`] (4 GiB by default); entries that
//!   overlap; encrypted entries; a central directory that cannot be read or
//!   contradicts itself. An entry that decompresses to more than it declares
//!   is refused when it is read: the read stops one byte past the declared
//!   size, and nothing is returned.
//!
//! # The root inside the archive
//!
//! The backend's root is a folder inside the archive, chosen when it is
//! opened:
//!
//! * by default, `.dman` when the archive has a `.dman/` folder at its top
//!   (an archive of a workspace, such as `zip -r results.zip .dman`), and
//!   the archive's top otherwise (an archive made from inside `.dman`). A
//!   new archive starts with its top as the root;
//! * [`ZipBuilder::root`] names it: `.root(".dman")`, `.root("results/.dman")`,
//!   or `.root("")` for the top;
//! * as a location, `zip:///data/results.zip` picks the default and
//!   `zip:///data/results.zip?root=.dman` names it (`?root=` for the top);
//!   see [`ZipBackend::open_location`]. The backend's
//!   [`location`](StorageBackend::location) always names the root.
//!
//! Entries outside the root are never listed nor changed, and are kept as
//! they are when the archive is written.
//!
//! ```
//! use bytes::Bytes;
//! use dman_core::{StorageBackend, StoragePath};
//! use dman_zip::ZipBackend;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let folder = tempfile::tempdir()?;
//! let archive = folder.path().join("results.zip");
//! let path = StoragePath::parse("cache/examples:patterns:common/config.json")?;
//! let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
//! runtime.block_on(async {
//!     // Write into a new archive, with the graph under `.dman/` inside it.
//!     let backend = ZipBackend::builder(&archive).root(".dman").create()?;
//!     backend.write(&path, Bytes::from_static(b"{}")).await?;
//!     assert!(backend.exists(&path).await?); // staged, already visible
//!     backend.flush().await?; // the archive is written, atomically
//!
//!     // Open it again: `.dman/` is found, and is the root.
//!     let backend = ZipBackend::open(&archive)?;
//!     assert_eq!(backend.root().as_str(), ".dman");
//!     assert_eq!(backend.read(&path).await?, Bytes::from_static(b"{}"));
//!     Ok::<_, dman_core::StorageError>(())
//! })?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod entry;
mod error;
mod file;
mod index;
mod stream;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Leftover, LeftoverKind, Upload};
use dman_core::Operation;
use dman_core::{ObjectMeta, PathError, StorageBackend, StorageError, StoragePath, StorageResult};
use zip::write::SimpleFileOptions;
use zip::{ZipArchive, ZipWriter};

use crate::entry::{Compression, StagedFile};
use crate::file::SharedFile;
use crate::index::Index;

pub use crate::error::ArchiveError;
/// The compression methods, as the `zip` crate names them.
pub use zip::CompressionMethod;

/// The default largest size of one entry, declared or decompressed:
/// 4 GiB. See [`ZipBuilder::max_entry_size`].
pub const DEFAULT_MAX_ENTRY_SIZE: u64 = 4 << 30;

/// The folder that is the root by default when an archive has it at its
/// top.
pub const DMAN_FOLDER: &str = ".dman";

/// What comes between the archive's file name and a random suffix in the
/// name of the temporary file a flush writes (`results.zip.tmp-<random>`).
pub const TEMP_INFIX: &str = ".tmp-";

/// How the root inside the archive is chosen.
#[derive(Debug, Clone)]
enum RootChoice {
    /// `.dman` if the archive has it at its top, else the top.
    Auto,
    /// A folder named by the user (or an invalid name, reported on opening).
    Named(Result<StoragePath, PathError>),
}

/// Whether opening needs the archive to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Create,
    OpenOrCreate,
}

/// Options for opening or creating a [`ZipBackend`], from
/// [`ZipBackend::builder`].
///
/// ```
/// use dman_zip::{CompressionMethod, ZipBackend};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let folder = tempfile::tempdir()?;
/// let backend = ZipBackend::builder(folder.path().join("results.zip"))
///     .root(".dman")
///     .compression(CompressionMethod::Stored)
///     .max_entry_size(16 << 30)
///     .open_or_create()?;
/// assert_eq!(backend.compression(), CompressionMethod::Stored);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ZipBuilder {
    path: PathBuf,
    root: RootChoice,
    compression: Compression,
    max_entry_size: u64,
    read_only: bool,
}

impl ZipBuilder {
    /// The folder inside the archive that is the backend's root: `.dman`,
    /// `results/.dman`, or the empty string for the archive's top. Without
    /// it, the root is `.dman` when the archive has that folder at its top,
    /// and the top otherwise (see the [crate documentation](crate)). An
    /// invalid name is reported when the archive is opened.
    pub fn root(mut self, root: &str) -> Self {
        let root = root.trim_end_matches('/');
        self.root = RootChoice::Named(StoragePath::parse(root));
        self
    }

    /// The compression method of the entries this backend writes: deflate
    /// by default, [`CompressionMethod::Stored`] for none, or another method
    /// the `zip` crate was built with (see the crate's features). Entries
    /// already in the archive keep theirs.
    pub fn compression(mut self, method: CompressionMethod) -> Self {
        self.compression.method = method;
        self
    }

    /// The compression level, in the range of the method (deflate: 0 to 9,
    /// 6 by default; 10 to 264 use Zopfli, far slower). `None` is the
    /// method's default.
    pub fn compression_level(mut self, level: Option<i64>) -> Self {
        self.compression.level = level;
        self
    }

    /// The largest size of one entry, [`DEFAULT_MAX_ENTRY_SIZE`] by
    /// default: an archive with an entry that declares more is refused when
    /// it is opened, a read stops (and fails) one byte past it, and a write
    /// of a larger file fails, so that the backend never writes an archive
    /// it would refuse. It guards against zip bombs; raise it for trusted
    /// archives of larger arrays.
    pub fn max_entry_size(mut self, bytes: u64) -> Self {
        self.max_entry_size = bytes;
        self
    }

    /// Opens the archive read-only: writes and deletes fail, and a flush
    /// never writes.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Opens an existing archive: reads its central directory and checks
    /// every entry (see the [crate documentation](crate)).
    ///
    /// This does blocking I/O; call it before, or outside, hot async code.
    ///
    /// # Errors
    ///
    /// [`StorageError::Failed`] (operation `open`) when the archive cannot
    /// be read, or is refused; the source is then an [`ArchiveError`]
    /// naming the entry.
    pub fn open(self) -> StorageResult<ZipBackend> {
        self.build(Mode::Open)
    }

    /// Starts a new, empty archive. Nothing is written until the first
    /// flush, which writes the archive (and its folder), replacing any file
    /// at that path.
    ///
    /// # Errors
    ///
    /// [`StorageError::Failed`] (operation `open`) when the root is invalid
    /// or the compression method cannot be written by this build.
    pub fn create(self) -> StorageResult<ZipBackend> {
        self.build(Mode::Create)
    }

    /// Opens the archive if it exists (as [`ZipBuilder::open`]), starts a
    /// new one otherwise (as [`ZipBuilder::create`]).
    ///
    /// # Errors
    ///
    /// As [`ZipBuilder::open`].
    pub fn open_or_create(self) -> StorageResult<ZipBackend> {
        self.build(Mode::OpenOrCreate)
    }

    fn build(self, mode: Mode) -> StorageResult<ZipBackend> {
        let path = absolute(&self.path);
        let bare = format!("zip://{}", path.display());
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| {
            StorageError::failed(bare.clone(), &StoragePath::root(), Operation::Open, source)
        };
        // A method or level this build cannot write is reported now, not at
        // the first write.
        if !self.read_only {
            StagedFile::compress(b"", self.compression).map_err(|err| fail(err.into()))?;
        }
        let base = match mode {
            Mode::Create => None,
            Mode::Open | Mode::OpenOrCreate => match File::open(&path) {
                Ok(file) => Some(Arc::new(
                    Base::open(file, self.max_entry_size).map_err(fail)?,
                )),
                Err(err) if err.kind() == io::ErrorKind::NotFound && mode == Mode::OpenOrCreate => {
                    None
                }
                Err(err) => return Err(fail(err.into())),
            },
        };
        let seen = match &base {
            Some(base) => base.identity.clone(),
            // `create` replaces what is at the path now, but not what
            // another writer puts there later.
            None => fs::metadata(&path).ok().map(|m| identity(&m)),
        };
        let root = match self.root {
            RootChoice::Named(root) => root.map_err(|err| fail(err.into()))?,
            RootChoice::Auto => match &base {
                Some(base) if base.has_dman_folder() => {
                    StoragePath::parse(DMAN_FOLDER).map_err(|err| fail(err.into()))?
                }
                _ => StoragePath::root(),
            },
        };
        let location = format!("{bare}?root={root}");
        Ok(ZipBackend {
            inner: Arc::new(Inner {
                path,
                location,
                root,
                compression: self.compression,
                max_entry_size: self.max_entry_size,
                read_only: self.read_only,
                state: RwLock::new(State {
                    seen,
                    base,
                    staged: BTreeMap::new(),
                    generation: 0,
                }),
                flush_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// The archive path made absolute, its symbolic links resolved when it
/// exists (so that a flush replaces the file a link points to, not the
/// link).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(resolved) = fs::canonicalize(path) {
        return resolved;
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A storage backend inside a zip archive.
///
/// Clones share the archive, the staged changes and the location
/// (`zip://<absolute archive path>?root=<root>`). See the
/// [crate documentation](crate) for how it reads, stages and writes, and
/// how its root is chosen.
#[derive(Clone)]
pub struct ZipBackend {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    location: String,
    root: StoragePath,
    compression: Compression,
    max_entry_size: u64,
    read_only: bool,
    state: RwLock<State>,
    /// One flush at a time.
    flush_lock: tokio::sync::Mutex<()>,
}

/// The archive as last written, and the changes staged since.
struct State {
    /// The archive on disk; `None` until a new archive is first flushed.
    base: Option<Arc<Base>>,
    /// Staged writes and deletes, by full entry name (root included).
    staged: BTreeMap<StoragePath, Staged>,
    /// Numbers the staged changes, so that a flush unstages only what it
    /// wrote and not a change made while it ran.
    generation: u64,
    /// The identity of the file at the archive's path when this backend
    /// last read or wrote it (`None`: there was none); a flush that finds
    /// another one there fails with a conflict.
    seen: Option<String>,
}

#[derive(Debug, Clone)]
enum Staged {
    Write {
        generation: u64,
        file: Arc<StagedFile>,
    },
    Delete {
        generation: u64,
    },
}

impl Staged {
    fn generation(&self) -> u64 {
        match self {
            Staged::Write { generation, .. } | Staged::Delete { generation } => *generation,
        }
    }
}

/// An archive on disk, opened and checked.
struct Base {
    archive: ZipArchive<SharedFile>,
    index: Index,
    /// What identifies this version of the archive on disk (device, inode,
    /// size, modification time): a flush that finds another one at the
    /// path knows that another writer replaced the archive meanwhile.
    identity: Option<String>,
    /// The archive file's modification time: the time of its entries that
    /// carry none.
    modified: Option<std::time::SystemTime>,
}

impl Base {
    /// Reads and checks the central directory of `file`.
    fn open(file: File, limit: u64) -> Result<Base, Box<dyn std::error::Error + Send + Sync>> {
        let meta = file.metadata().ok();
        let identity = meta.as_ref().map(identity);
        let modified = meta.and_then(|meta| meta.modified().ok());
        let file = SharedFile::new(file)?;
        let archive =
            ZipArchive::new(file.clone()).map_err(|err| ArchiveError::CorruptCentralDirectory {
                detail: err.to_string(),
            })?;
        let index = Index::read(&archive, &file, limit)?;
        Ok(Base {
            archive,
            index,
            identity,
            modified,
        })
    }

    fn has_dman_folder(&self) -> bool {
        self.index.order.iter().any(|slot| {
            slot.path.segments().next() == Some(DMAN_FOLDER)
                && (slot.dir || slot.path.as_str() != DMAN_FOLDER)
        })
    }
}

/// What a read found.
enum Source {
    Staged(Arc<StagedFile>),
    Base(Arc<Base>, index::Entry),
}

impl ZipBackend {
    /// Options for opening or creating the archive at `path`.
    pub fn builder(path: impl AsRef<Path>) -> ZipBuilder {
        ZipBuilder {
            path: path.as_ref().to_path_buf(),
            root: RootChoice::Auto,
            compression: Compression {
                method: CompressionMethod::Deflated,
                level: None,
            },
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
            read_only: false,
        }
    }

    /// Opens an existing archive with the default options (see
    /// [`ZipBuilder::open`]).
    ///
    /// # Errors
    ///
    /// As [`ZipBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> StorageResult<Self> {
        Self::builder(path).open()
    }

    /// Starts a new archive with the default options (see
    /// [`ZipBuilder::create`]).
    ///
    /// # Errors
    ///
    /// As [`ZipBuilder::create`].
    pub fn create(path: impl AsRef<Path>) -> StorageResult<Self> {
        Self::builder(path).create()
    }

    /// Opens the archive, or starts a new one, with the default options
    /// (see [`ZipBuilder::open_or_create`]).
    ///
    /// # Errors
    ///
    /// As [`ZipBuilder::open`].
    pub fn open_or_create(path: impl AsRef<Path>) -> StorageResult<Self> {
        Self::builder(path).open_or_create()
    }

    /// Opens (or starts) the archive a location names:
    /// `zip:///data/results.zip` or a plain path, with an optional
    /// `?root=FOLDER` naming the root inside the archive (`?root=` for the
    /// archive's top; without it, `.dman` if the archive has that folder at
    /// its top, else the top). `zip://results.zip` is relative to the
    /// working directory.
    ///
    /// ```
    /// use dman_core::StorageBackend;
    /// use dman_zip::ZipBackend;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let folder = tempfile::tempdir()?;
    /// let archive = folder.path().join("results.zip");
    /// let backend = ZipBackend::open_location(&format!("zip://{}?root=.dman", archive.display()))?;
    /// assert_eq!(backend.root().as_str(), ".dman");
    /// assert!(backend.location().ends_with("results.zip?root=.dman"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ZipBuilder::open`].
    pub fn open_location(location: &str) -> StorageResult<Self> {
        let rest = location.strip_prefix("zip://").unwrap_or(location);
        match rest.rsplit_once("?root=") {
            Some((path, root)) => Self::builder(path).root(root.trim_start_matches('/')),
            None => Self::builder(rest),
        }
        .open_or_create()
    }

    /// The archive's file, absolute.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The folder inside the archive that is the backend's root (the empty
    /// path for the archive's top).
    pub fn root(&self) -> &StoragePath {
        &self.inner.root
    }

    /// The compression method of the entries this backend writes.
    pub fn compression(&self) -> CompressionMethod {
        self.inner.compression.method
    }

    /// Whether writes or deletes are staged and not yet flushed.
    pub fn has_pending_changes(&self) -> bool {
        !self.state_read().staged.is_empty()
    }

    /// Drops every staged write and delete: the backend shows the archive
    /// as last flushed again.
    pub fn discard(&self) {
        self.state_write().staged.clear();
    }

    /// Reads every entry of the archive on disk (all of it, not only under
    /// the root), decompressing it and checking its size and checksum, as
    /// `unzip -t` does. Gives the number of files checked.
    ///
    /// # Errors
    ///
    /// [`StorageError::Failed`] (operation `verify`) naming the first entry
    /// that fails, with an [`ArchiveError`] as the source.
    pub async fn verify(&self) -> StorageResult<usize> {
        let Some(base) = self.state_read().base.clone() else {
            return Ok(0);
        };
        let limit = self.inner.max_entry_size;
        let location = self.inner.location.clone();
        self.run(&StoragePath::root(), Operation::Verify, move || {
            let mut archive = base.archive.clone();
            for (path, entry) in &base.index.files {
                entry::read_entry(&mut archive, entry.index, &entry.name, entry.size, limit)
                    .map_err(|err| {
                        StorageError::failed(location.clone(), path, Operation::Verify, err)
                    })?;
            }
            Ok(base.index.files.len())
        })
        .await
    }

    fn full(&self, path: &StoragePath) -> StoragePath {
        self.inner.root.join_path(path)
    }

    fn location_str(&self) -> &str {
        &self.inner.location
    }

    /// Runs blocking work on Tokio's blocking pool (or on this thread
    /// outside a Tokio runtime); fails only when the work panicked.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<T> {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn_blocking(work).await.map_err(io::Error::other),
            Err(_) => Ok(work()),
        }
    }

    /// Stages a written file at `path` (below the root).
    fn stage(&self, path: &StoragePath, file: StagedFile) {
        let full = self.full(path);
        let mut state = self.state_write();
        state.generation += 1;
        let generation = state.generation;
        state.staged.insert(
            full,
            Staged::Write {
                generation,
                file: Arc::new(file),
            },
        );
    }

    /// The folder of the archive file and the start of the names of its
    /// flushes' temporary files (`results.zip.tmp-`).
    fn temp_names(&self) -> Option<(PathBuf, String)> {
        let folder = match self.inner.path.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self.inner.path.file_name()?.to_str()?;
        Some((folder, format!("{name}{TEMP_INFIX}")))
    }

    fn failed(
        &self,
        path: &StoragePath,
        op: Operation,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StorageError {
        StorageError::failed(self.inner.location.as_str(), path, op, source)
    }

    fn not_found(&self, path: &StoragePath) -> StorageError {
        StorageError::not_found(self.inner.location.as_str(), path)
    }

    // No critical section can panic half-way through a change, so a
    // poisoned lock still guards a consistent state: use it.
    fn state_read(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn state_write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs blocking work on Tokio's blocking pool, or on this thread
    /// outside a Tokio runtime.
    async fn run<T, F>(&self, path: &StoragePath, op: Operation, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> StorageResult<T> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn_blocking(work).await {
                Ok(result) => result,
                Err(err) => Err(self.failed(path, op, err)),
            },
            Err(_) => work(),
        }
    }

    /// Where the content of `path` is, after the staged changes.
    fn find(&self, full: &StoragePath) -> Option<Source> {
        let state = self.state_read();
        match state.staged.get(full) {
            Some(Staged::Write { file, .. }) => Some(Source::Staged(file.clone())),
            Some(Staged::Delete { .. }) => None,
            None => {
                let base = state.base.as_ref()?;
                let entry = base.index.files.get(full)?.clone();
                Some(Source::Base(base.clone(), entry))
            }
        }
    }

    /// The archive path of the file `path` and where its content is; not
    /// found for the root (a folder) and for a file that is not there.
    fn source(&self, path: &StoragePath) -> StorageResult<(StoragePath, Source)> {
        if path.is_root() {
            return Err(self.not_found(path));
        }
        let full = self.full(path);
        match self.find(&full) {
            Some(source) => Ok((full, source)),
            None => Err(self.not_found(path)),
        }
    }

    fn refuse_if_read_only(&self, path: &StoragePath, op: Operation) -> StorageResult<()> {
        if self.inner.read_only {
            return Err(self.failed(path, op, ArchiveError::ReadOnly));
        }
        Ok(())
    }
}

impl std::fmt::Debug for ZipBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state_read();
        f.debug_struct("ZipBackend")
            .field("location", &self.inner.location)
            .field(
                "entries",
                &state.base.as_ref().map_or(0, |base| base.index.order.len()),
            )
            .field("staged", &state.staged.len())
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

/// The files of `map` strictly under the folder `prefix`, in order.
fn under<'a, V>(
    map: &'a BTreeMap<StoragePath, V>,
    prefix: &StoragePath,
) -> Box<dyn Iterator<Item = (&'a StoragePath, &'a V)> + 'a> {
    if prefix.is_root() {
        return Box::new(map.iter());
    }
    let start = format!("{prefix}/");
    Box::new(
        map.range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(move |(path, _)| path.as_str().starts_with(&start)),
    )
}

#[async_trait]
impl StorageBackend for ZipBackend {
    fn location(&self) -> String {
        self.inner.location.clone()
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        let (full, source) = self.source(path)?;
        let limit = self.inner.max_entry_size;
        let location = self.inner.location.clone();
        let shown = path.clone();
        self.run(path, Operation::Read, move || {
            let data = match source {
                Source::Staged(file) => file.read(full.as_str(), limit),
                Source::Base(base, entry) => {
                    let mut archive = base.archive.clone();
                    entry::read_entry(&mut archive, entry.index, &entry.name, entry.size, limit)
                }
            };
            data.map(Bytes::from)
                .map_err(|err| StorageError::failed(location, &shown, Operation::Read, err))
        })
        .await
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        if path.is_root() {
            return Err(self.failed(
                path,
                Operation::Write,
                "the root of the archive is a folder, not a file",
            ));
        }
        self.refuse_if_read_only(path, Operation::Write)?;
        let limit = self.inner.max_entry_size;
        if data.len() as u64 > limit {
            return Err(self.failed(
                path,
                Operation::Write,
                ArchiveError::DeclaredTooLarge {
                    name: path.to_string(),
                    declared: data.len() as u64,
                    limit,
                },
            ));
        }
        let compression = self.inner.compression;
        let location = self.inner.location.clone();
        let shown = path.clone();
        let file = self
            .run(path, Operation::Write, move || {
                StagedFile::compress(&data, compression)
                    .map_err(|err| StorageError::failed(location, &shown, Operation::Write, err))
            })
            .await?;
        self.stage(path, file);
        Ok(())
    }

    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        let (size, last_modified) = match self.source(path)?.1 {
            Source::Staged(file) => (file.size, Some(file.written)),
            Source::Base(base, entry) => (entry.size, entry.modified.or(base.modified)),
        };
        Ok(ObjectMeta {
            path: path.clone(),
            size,
            last_modified,
            content_md5: None,
        })
    }

    /// Decompresses the entry chunk by chunk on a thread of its own (memory:
    /// a few chunks of 1 MiB, whatever the entry's size), with the checks of
    /// [`read`](StorageBackend::read): declared size, limit, checksum.
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let (full, source) = self.source(path)?;
        let limit = self.inner.max_entry_size;
        let location = self.inner.location.clone();
        match source {
            Source::Staged(file) => {
                stream::staged_stream(&file, full.as_str().into(), limit, location, path.clone())
            }
            Source::Base(base, entry) => Ok(stream::entry_stream(
                base.archive.clone(),
                entry.index,
                entry.name.clone(),
                entry.size,
                limit,
                location,
                path.clone(),
            )),
        }
    }

    /// Staged, as every write, when `finish` returns. A file of up to 8 MiB
    /// is gathered and compressed on `finish`; a larger one is compressed
    /// as its chunks come (with ZIP64 fields, its size being unknown), so
    /// that memory holds its compressed size (what a staged write costs
    /// until the flush anyway) and never the whole uncompressed file.
    async fn write_stream<'a>(&'a self, path: &StoragePath) -> StorageResult<Box<dyn Upload + 'a>> {
        if path.is_root() {
            return Err(self.failed(
                path,
                Operation::Write,
                "the root of the archive is a folder, not a file",
            ));
        }
        self.refuse_if_read_only(path, Operation::Write)?;
        Ok(Box::new(stream::ZipUpload {
            backend: self.clone(),
            path: path.clone(),
            compression: self.inner.compression,
            limit: self.inner.max_entry_size,
            gathered: Vec::new(),
            writer: None,
            compressing: false,
            size: 0,
        }))
    }

    /// The temporary archives of flushes that never finished
    /// (`<archive>.tmp-<random>` beside the archive), including that of a
    /// flush running now in another process (recent: `gc` leaves those).
    async fn leftovers(&self) -> StorageResult<Vec<Leftover>> {
        let Some((folder, start)) = self.temp_names() else {
            return Ok(Vec::new());
        };
        let location = self.inner.location.clone();
        self.run(&StoragePath::root(), Operation::ListLeftovers, move || {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(err) => {
                    return Err(StorageError::io(
                        location,
                        &StoragePath::root(),
                        Operation::ListLeftovers,
                        err,
                    ))
                }
            };
            let mut found = Vec::new();
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !name.starts_with(&start) {
                    continue;
                }
                let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                found.push(Leftover {
                    name: name.to_owned(),
                    kind: LeftoverKind::ArchiveTemp,
                    size: meta.len(),
                    last_modified: meta.modified().ok(),
                    id: entry.path().to_string_lossy().into_owned(),
                });
            }
            found.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(found)
        })
        .await
    }

    async fn remove_leftover(&self, leftover: &Leftover) -> StorageResult<()> {
        let root = StoragePath::root();
        let ours = self.temp_names().is_some_and(|(folder, start)| {
            leftover.kind == LeftoverKind::ArchiveTemp
                && leftover.name.starts_with(&start)
                && !leftover.name.contains('/')
                && Path::new(&leftover.id) == folder.join(&leftover.name)
        });
        if !ours {
            return Err(self.failed(
                &root,
                Operation::RemoveLeftover,
                format!(
                    "`{}` is not a temporary archive of `{}`",
                    leftover.name,
                    self.inner.path.display()
                ),
            ));
        }
        let file = PathBuf::from(&leftover.id);
        let location = self.inner.location.clone();
        self.run(&root, Operation::RemoveLeftover, move || {
            match fs::symlink_metadata(&file) {
                Ok(meta) if meta.is_file() => {}
                Ok(_) => {
                    return Err(StorageError::failed(
                        location,
                        &StoragePath::root(),
                        Operation::RemoveLeftover,
                        format!("`{}` is not a regular file", file.display()),
                    ))
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(err) => {
                    return Err(StorageError::io(
                        location,
                        &StoragePath::root(),
                        Operation::RemoveLeftover,
                        err,
                    ))
                }
            }
            match fs::remove_file(&file) {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(StorageError::io(
                    location,
                    &StoragePath::root(),
                    Operation::RemoveLeftover,
                    err,
                )),
            }
        })
        .await
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        if path.is_root() {
            return Ok(());
        }
        let full = self.full(path);
        let mut state = self.state_write();
        let present = match state.staged.get(&full) {
            Some(Staged::Write { .. }) => true,
            Some(Staged::Delete { .. }) => false,
            None => state
                .base
                .as_ref()
                .is_some_and(|base| base.index.files.contains_key(&full)),
        };
        if present {
            self.refuse_if_read_only(path, Operation::Delete)?;
            // A tombstone even for a file that is only staged: a flush running
            // now may be writing it into the archive.
            state.generation += 1;
            let generation = state.generation;
            state.staged.insert(full, Staged::Delete { generation });
        }
        Ok(())
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        if path.is_root() {
            return Ok(false);
        }
        Ok(self.find(&self.full(path)).is_some())
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let full_prefix = self.full(prefix);
        let root = &self.inner.root;
        let state = self.state_read();
        let mut found: BTreeMap<StoragePath, (u64, Option<SystemTime>)> = BTreeMap::new();
        if let Some(base) = &state.base {
            for (path, entry) in under(&base.index.files, &full_prefix) {
                if !state.staged.contains_key(path) {
                    found.insert(path.clone(), (entry.size, entry.modified.or(base.modified)));
                }
            }
        }
        for (path, staged) in under(&state.staged, &full_prefix) {
            if let Staged::Write { file, .. } = staged {
                found.insert(path.clone(), (file.size, Some(file.written)));
            }
        }
        Ok(found
            .into_iter()
            .filter_map(|(path, (size, last_modified))| {
                Some(ObjectMeta {
                    path: path.strip_prefix(root)?,
                    size,
                    last_modified,
                    content_md5: None,
                })
            })
            .collect())
    }

    async fn flush(&self) -> StorageResult<()> {
        let _one_at_a_time = self.inner.flush_lock.lock().await;
        let root = StoragePath::root();
        let (base, snapshot, seen) = {
            let state = self.state_read();
            (state.base.clone(), state.staged.clone(), state.seen.clone())
        };
        let changes = snapshot.iter().any(|(path, staged)| match staged {
            Staged::Write { .. } => true,
            Staged::Delete { .. } => base
                .as_ref()
                .is_some_and(|base| base.index.files.contains_key(path)),
        });
        if !changes && (base.is_some() || self.inner.read_only) {
            // Only tombstones of files that were never flushed: nothing to write.
            unstage(&mut self.state_write(), &snapshot);
            return Ok(());
        }
        self.refuse_if_read_only(&root, Operation::Flush)?;
        let path = self.inner.path.clone();
        let limit = self.inner.max_entry_size;
        let location = self.inner.location.clone();
        let written = snapshot.clone();
        let path_shown = path.clone();
        let new_base = self
            .run(&root, Operation::Flush, move || {
                write_archive(&path, base.as_deref(), &written, limit, seen.as_deref()).map_err(
                    |err| {
                        if err.is::<ReplacedMeanwhile>() {
                            let condition = match seen {
                                Some(id) => {
                                    dman_core::WriteCondition::Match(dman_core::Version::new(id))
                                }
                                None => dman_core::WriteCondition::Create,
                            };
                            StorageError::conflict(location, &StoragePath::root(), &condition)
                        } else {
                            StorageError::failed(
                                location,
                                &StoragePath::root(),
                                Operation::Flush,
                                write_failure(&path_shown, err),
                            )
                        }
                    },
                )
            })
            .await?;
        let mut state = self.state_write();
        state.seen = new_base.identity.clone();
        state.base = Some(Arc::new(new_base));
        unstage(&mut state, &snapshot);
        Ok(())
    }
}

/// Drops the staged changes that `snapshot` holds and that were not changed
/// again since.
fn unstage(state: &mut State, snapshot: &BTreeMap<StoragePath, Staged>) {
    state.staged.retain(|path, staged| {
        snapshot
            .get(path)
            .is_none_or(|flushed| flushed.generation() != staged.generation())
    });
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error of a flush that could not write the archive, naming it. The
/// zip crate wraps I/O errors in its own, whose message hides them ("i/o
/// error"): the I/O error is taken out, and a full disk said in words.
fn write_failure(archive: &Path, err: BoxError) -> BoxError {
    if err.is::<ArchiveError>() {
        return err;
    }
    let source = match err.downcast::<zip::result::ZipError>() {
        Ok(zip_error) => match *zip_error {
            zip::result::ZipError::Io(io) => dman_core::storage::disk_full_or(io),
            other => Box::new(other),
        },
        Err(err) => match err.downcast::<io::Error>() {
            Ok(io) => dman_core::storage::disk_full_or(*io),
            Err(other) => other,
        },
    };
    Box::new(ArchiveError::Write {
        archive: archive.to_path_buf(),
        source,
    })
}

/// A writer that passes everything to `inner` until an operation fails,
/// and then pretends to succeed without touching `inner`. The zip crate's
/// `ZipWriter`, dropped after an error, writes its central directory again
/// and prints to stderr when that fails too (a full disk); behind this, it
/// writes into nothing, silently, and the temporary file is removed anyway.
struct StopAtFirstError<W> {
    inner: W,
    failed: bool,
    position: u64,
}

impl<W> StopAtFirstError<W> {
    fn new(inner: W) -> Self {
        StopAtFirstError {
            inner,
            failed: false,
            position: 0,
        }
    }

    fn check<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

impl<W: Write> Write for StopAtFirstError<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            self.position += buf.len() as u64;
            return Ok(buf.len());
        }
        let written = self.inner.write(buf);
        let written = self.check(written)?;
        self.position += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Ok(());
        }
        let flushed = self.inner.flush();
        self.check(flushed)
    }
}

impl<W: io::Seek> io::Seek for StopAtFirstError<W> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        if self.failed {
            self.position = match to {
                io::SeekFrom::Start(at) => at,
                io::SeekFrom::Current(delta) | io::SeekFrom::End(delta) => {
                    self.position.saturating_add_signed(delta)
                }
            };
            return Ok(self.position);
        }
        let sought = self.inner.seek(to);
        let position = self.check(sought)?;
        self.position = position;
        Ok(position)
    }
}

/// The identity of a version of the archive file (see [`Base::identity`]).
fn identity(meta: &fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{}:{}:{}:{}.{:09}",
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec()
        )
    }
    #[cfg(not(unix))]
    {
        format!("{}:{:?}", meta.len(), meta.modified().ok())
    }
}

/// Another writer replaced the archive after this backend read it: its
/// flush would drop that writer's changes, so it fails instead.
#[derive(Debug, thiserror::Error)]
#[error("the archive was replaced by another writer since it was opened; open it again and redo the changes")]
struct ReplacedMeanwhile;

/// An exclusive `flock` of a folder, released on drop and by the kernel
/// when the process dies: flushes of one archive by several processes take
/// turns, and each sees the archive the one before it wrote.
struct FolderLock(
    // Held, never read: closing it releases the lock.
    #[allow(dead_code)] File,
);

impl FolderLock {
    fn exclusive(folder: &Path) -> std::io::Result<Self> {
        let file = File::open(folder)?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            loop {
                // SAFETY: flock on a descriptor this value owns; closing it
                // on drop releases the lock.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
        Ok(FolderLock(file))
    }
}

/// Writes the archive `base` with the `staged` changes to a temporary file
/// beside `path`, syncs it, renames it over `path`, and opens the result.
fn write_archive(
    path: &Path,
    base: Option<&Base>,
    staged: &BTreeMap<StoragePath, Staged>,
    limit: u64,
    seen: Option<&str>,
) -> Result<Base, BoxError> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("`{}` names no file", path.display()))?;
    fs::create_dir_all(&folder)?;
    let _turn = FolderLock::exclusive(&folder)?;
    let now = match fs::metadata(path) {
        Ok(meta) => Some(identity(&meta)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err.into()),
    };
    if now.as_deref() != seen {
        return Err(Box::new(ReplacedMeanwhile));
    }
    let mut temp_name = name.to_os_string();
    temp_name.push(format!("{TEMP_INFIX}{}", uuid::Uuid::new_v4().simple()));
    let temp = folder.join(temp_name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&temp)?;
    let written = write_entries(&file, base, staged)
        .and_then(|()| Ok(file.sync_all()?))
        .and_then(|()| Ok(fs::rename(&temp, path)?));
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    // The rename is durable once the folder is synced (not possible on
    // every platform: best effort).
    if let Ok(folder) = File::open(&folder) {
        let _ = folder.sync_all();
    }
    Base::open(file, limit)
}

/// Writes the entries: those of `base` that stay, copied without
/// recompressing them, in their order; then the staged files, by path. A
/// folder entry of `base` is kept while a file remains under it.
fn write_entries(
    file: &File,
    base: Option<&Base>,
    staged: &BTreeMap<StoragePath, Staged>,
) -> Result<(), BoxError> {
    let mut writer = ZipWriter::new(StopAtFirstError::new(BufWriter::with_capacity(
        1 << 20,
        file,
    )));
    if let Some(base) = base {
        let mut remaining: BTreeSet<&str> = base
            .index
            .files
            .keys()
            .filter(|path| !staged.contains_key(*path))
            .map(StoragePath::as_str)
            .collect();
        remaining.extend(staged.iter().filter_map(|(path, staged)| match staged {
            Staged::Write { .. } => Some(path.as_str()),
            Staged::Delete { .. } => None,
        }));
        let mut archive = base.archive.clone();
        let folder_options = SimpleFileOptions::default()
            .last_modified_time(entry::dos_now())
            .unix_permissions(0o755);
        for slot in &base.index.order {
            if slot.dir {
                let start = format!("{}/", slot.path);
                let occupied = remaining
                    .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
                    .next()
                    .is_some_and(|path| path.starts_with(&start));
                if occupied {
                    writer.add_directory(start, folder_options)?;
                }
            } else if !staged.contains_key(&slot.path) {
                let entry = archive.by_index_raw(slot.index)?;
                writer.raw_copy_file_rename(entry, slot.path.as_str())?;
            }
        }
        writer.set_raw_comment(base.archive.comment().into());
    }
    for (path, staged) in staged {
        if let Staged::Write { file, .. } = staged {
            let mut archive = file.open()?;
            let entry = archive.by_index_raw(0)?;
            writer.raw_copy_file_rename(entry, path.as_str())?;
        }
    }
    let mut buffered = writer.finish()?;
    buffered.flush()?;
    Ok(())
}
