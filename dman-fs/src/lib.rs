//! The fs backend of dman-rs: files in a folder on a local disk.
//!
//! [`FsBackend`] maps a [`StoragePath`] such as `cache/run/run.json` to the
//! file `<root>/cache/run/run.json`. It honours the storage contract of
//! [`dman_core::StorageBackend`]:
//!
//! * **Atomic writes.** A file is written to a temporary file in the same
//!   folder (named [`TEMP_PREFIX`] plus a random suffix) and renamed over
//!   the target, so a reader, or a process that finds the folder after this
//!   one was killed, sees the old content or the new, never a mix. Temporary
//!   files left by a killed process are never listed.
//! * **Durability** against power loss is an option, off by default: see
//!   [`FsBackend::durable`].
//! * **Folders have no existence of their own**, as on object stores: a
//!   write creates the folders it needs, and a delete removes the folders it
//!   leaves empty, up to but excluding the root.
//! * **The root is a boundary.** [`StoragePath`] already refuses `..`,
//!   absolute paths and backslashes; on top of that, a symbolic link inside
//!   the root that leads outside it is never followed: reading, writing,
//!   deleting or listing through one fails with an error that says so.
//!   Links that stay inside the root are followed (a write to a path that
//!   is itself such a link replaces the link with a file); `list` lists
//!   links to files but does not walk links to folders. The components are
//!   checked when an operation starts: this guards against links that are
//!   there, not against another process swapping a folder for a link while
//!   the operation runs.
//! * **Versions and conditional writes**, safe between processes on one
//!   machine: a file's version is its device, inode, size and modification
//!   time in nanoseconds, read from the open file, so a read and its
//!   version always belong together (every atomic write makes a new inode).
//!   *Create only* writes the temporary file and hard-links it to the
//!   target, which the kernel refuses if the target exists; *replace if
//!   unchanged* compares the version and renames under an exclusive `flock`
//!   of the target's folder, which the kernel releases when a process dies,
//!   so a killed writer never blocks the others. On a network file system
//!   these hold only where it gives `link` and `flock` their local meaning
//!   (NFSv4 with locking does; some FUSE file systems do not): use an
//!   object store for writers on several machines. Plain writes take no
//!   lock: only conditional writers are ordered among themselves.
//! * **No blocking of the executor.** File-system work runs on Tokio's
//!   blocking thread pool (when called outside a Tokio runtime, it runs on
//!   the calling thread).
//!
//! ```
//! use bytes::Bytes;
//! use dman_core::{StorageBackend, StoragePath};
//! use dman_fs::FsBackend;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let folder = tempfile::tempdir()?;
//! let backend = FsBackend::new(folder.path().join(".dman"))?;
//! let path = StoragePath::parse("cache/examples:patterns:common/run/run.json")?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! runtime.block_on(async {
//!     backend.write(&path, Bytes::from_static(b"{}")).await?;
//!     assert_eq!(backend.read(&path).await?, Bytes::from_static(b"{}"));
//!     backend.delete(&path).await?;
//!     assert!(backend.list(&StoragePath::root()).await?.is_empty());
//!     Ok::<_, dman_core::StorageError>(())
//! })?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod stream;

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Leftover, Upload};
use dman_core::Operation;
use dman_core::{
    ObjectMeta, StorageBackend, StorageError, StoragePath, StorageResult, Version, WriteCondition,
};

/// The prefix of the temporary files that atomic writes rename into place.
/// [`StorageBackend::list`] skips files whose names start with it, and
/// writing a path whose file name starts with it is refused.
pub const TEMP_PREFIX: &str = ".dman-tmp-";

/// How often a write retries when a concurrent delete removes the folder it
/// is writing into (the delete prunes folders it leaves empty).
const WRITE_ATTEMPTS: usize = 16;

/// A storage backend on a local folder.
///
/// Clones share the root and are cheap. The location, used in errors, is
/// `file://<absolute root>`.
///
/// # Durability
///
/// By default, a write is atomic but not durable: the rename guarantees
/// that a killed process leaves the old content or the new, but after a
/// power loss or an operating-system crash the file system may hold the
/// file empty or not yet renamed. With [`FsBackend::durable`] the
/// temporary file is flushed to the disk (`fsync`) before the rename, and
/// the folder after it (and any folder the write created), so that a write
/// that returned survives a power loss. That costs one or more disk flushes
/// per file, which dominates the time of a save of thousands of small
/// files; hence the default.
#[derive(Clone)]
pub struct FsBackend {
    root: Arc<Path>,
    location: Arc<str>,
    durable: bool,
}

impl FsBackend {
    /// A backend rooted at the folder `root`, which is created (with its
    /// parents) if missing. The root is made absolute and its symbolic
    /// links are resolved once, here.
    ///
    /// This does blocking I/O; call it before, or outside, hot async code.
    ///
    /// # Errors
    ///
    /// [`StorageError::Failed`] (operation `open`) when the folder cannot be
    /// created or resolved, or is not a folder.
    pub fn new(root: impl AsRef<Path>) -> StorageResult<Self> {
        let given = root.as_ref();
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| {
            StorageError::failed(
                format!("file://{}", given.display()),
                &StoragePath::root(),
                Operation::Open,
                source,
            )
        };
        fs::create_dir_all(given).map_err(|err| open_error(err.into()))?;
        let root = fs::canonicalize(given).map_err(|err| open_error(err.into()))?;
        if !root.is_dir() {
            return Err(open_error(
                format!("`{}` is not a folder", root.display()).into(),
            ));
        }
        let location = format!("file://{}", root.display());
        Ok(FsBackend {
            root: root.into(),
            location: location.into(),
            durable: false,
        })
    }

    /// Turns durability against power loss on or off (off by default; see
    /// [the type's documentation](FsBackend#durability) for the trade-off).
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Whether writes are flushed to the disk before they return.
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// The absolute root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `path` lives on the disk: the root joined with its segments.
    /// This is plain path arithmetic: it neither touches the disk nor checks
    /// for symbolic links.
    pub fn local_path(&self, path: &StoragePath) -> PathBuf {
        let mut local = self.root.to_path_buf();
        local.extend(path.segments());
        local
    }

    fn failed(
        &self,
        path: &StoragePath,
        op: Operation,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StorageError {
        // A full disk is said in words, with the I/O error kept as the
        // source (see `StorageError::is_disk_full`).
        let source = match source.into().downcast::<io::Error>() {
            Ok(io) => dman_core::storage::disk_full_or(*io),
            Err(other) => other,
        };
        StorageError::failed(self.location.as_ref(), path, op, source)
    }

    fn not_found(&self, path: &StoragePath) -> StorageError {
        StorageError::not_found(self.location.as_ref(), path)
    }

    /// Runs blocking file-system work on Tokio's blocking pool, or on this
    /// thread outside a Tokio runtime.
    async fn run<T, F>(&self, path: &StoragePath, op: Operation, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(FsBackend) -> StorageResult<T> + Send + 'static,
    {
        let this = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn_blocking(move || work(this)).await {
                Ok(result) => result,
                Err(err) => Err(self.failed(path, op, err)),
            },
            Err(_) => work(this),
        }
    }

    /// Finds `path` on the disk, checking every existing component: a
    /// symbolic link that leads outside the root (or nowhere) is an error.
    fn resolve(&self, path: &StoragePath, op: Operation) -> StorageResult<Resolved> {
        let segments: Vec<&str> = path.segments().collect();
        let mut local = self.root.to_path_buf();
        let mut state = State::Folder;
        for (index, segment) in segments.iter().enumerate() {
            local.push(segment);
            let mut meta = match fs::symlink_metadata(&local) {
                Ok(meta) => meta,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    local.extend(&segments[index + 1..]);
                    return Ok(Resolved {
                        local,
                        state: State::Missing,
                    });
                }
                Err(err) => return Err(self.failed(path, op, err)),
            };
            if meta.file_type().is_symlink() {
                meta = self.follow_link(&local, &segments[..=index], path, op)?;
            }
            let last = index + 1 == segments.len();
            if last {
                state = if meta.is_file() {
                    State::File
                } else if meta.is_dir() {
                    State::Folder
                } else {
                    State::Other
                };
            } else if !meta.is_dir() {
                let blocker = segments[..=index].join("/");
                local.extend(&segments[index + 1..]);
                return Ok(Resolved {
                    local,
                    state: State::BlockedBy(blocker),
                });
            }
        }
        Ok(Resolved { local, state })
    }

    /// The metadata of what the link at `local` points to, if it stays
    /// inside the root.
    fn follow_link(
        &self,
        local: &Path,
        link: &[&str],
        path: &StoragePath,
        op: Operation,
    ) -> StorageResult<Metadata> {
        let link = link.join("/");
        match fs::canonicalize(local) {
            Ok(target) if target.starts_with(&self.root) => {
                fs::metadata(&target).map_err(|err| self.failed(path, op, err))
            }
            Ok(target) => Err(self.failed(
                path,
                op,
                format!(
                    "`{link}` is a symbolic link to `{}`, outside the root `{}`; \
                     dman-fs does not follow links out of its root",
                    target.display(),
                    self.root.display()
                ),
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(self.failed(
                path,
                op,
                format!(
                    "`{link}` is a symbolic link to a missing target; \
                     dman-fs does not follow links it cannot check"
                ),
            )),
            Err(err) => Err(self.failed(path, op, err)),
        }
    }

    /// Checks that `path` can be written: not the root, not a reserved name,
    /// not a folder, not below a file. Gives where it lives on the disk.
    fn writable(&self, path: &StoragePath, op: Operation) -> StorageResult<PathBuf> {
        let name = match path.file_name() {
            Some(name) => name,
            None => return Err(self.failed(path, op, "the root is a folder, not a file")),
        };
        if name.starts_with(TEMP_PREFIX) {
            return Err(self.failed(
                path,
                op,
                format!("names starting with `{TEMP_PREFIX}` are reserved for temporary files"),
            ));
        }
        let resolved = self.resolve(path, op)?;
        match resolved.state {
            State::Missing | State::File => Ok(resolved.local),
            State::Folder => Err(self.failed(path, op, "there is a folder at this path")),
            State::Other => Err(self.failed(
                path,
                op,
                "there is something other than a file or folder at this path",
            )),
            State::BlockedBy(blocker) => Err(self.failed(
                path,
                op,
                format!("`{blocker}` is a file, so it cannot hold other files"),
            )),
        }
    }

    /// Writes `target` atomically: `fill` writes a temporary file in the
    /// same folder, which is then renamed over the target.
    fn replace_atomically(
        &self,
        target: &Path,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        let folder = target
            .parent()
            .ok_or_else(|| io::Error::other("the root is a folder, not a file"))?;
        let new_folders = if self.durable {
            self.missing_folders(folder)
        } else {
            Vec::new()
        };
        let (mut file, temp) = create_temp(folder)?;
        let mut temp = TempGuard {
            path: temp,
            armed: true,
        };
        fill(&mut file)?;
        if self.durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&temp.path, target)?;
        temp.armed = false;
        if self.durable {
            sync_folder_if_present(folder)?;
            for created in &new_folders {
                if let Some(parent) = created.parent() {
                    sync_folder_if_present(parent)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes the lowest existing folder above `local` (a delete may have
    /// pruned the ones below it), so that the removals are on the disk.
    fn sync_lowest_folder(&self, local: &Path) -> io::Result<()> {
        let mut current = local.parent();
        while let Some(folder) = current {
            match sync_folder(folder) {
                Err(err) if err.kind() == io::ErrorKind::NotFound && folder != &*self.root => {
                    current = folder.parent();
                }
                result => return result,
            }
        }
        Ok(())
    }

    /// The folders from `folder` up that do not exist yet (below the root).
    fn missing_folders(&self, folder: &Path) -> Vec<PathBuf> {
        let mut missing = Vec::new();
        let mut current = folder;
        while current != &*self.root && fs::symlink_metadata(current).is_err() {
            missing.push(current.to_path_buf());
            match current.parent() {
                Some(parent) => current = parent,
                None => break,
            }
        }
        missing
    }

    /// Removes the folders above `local` that are left empty, up to but
    /// excluding the root. Stops at the first folder that is not empty.
    fn prune(&self, local: &Path) {
        let mut current = local.parent();
        while let Some(folder) = current {
            if folder == &*self.root || !folder.starts_with(&self.root) {
                break;
            }
            match fs::remove_dir(folder) {
                Ok(()) => {}
                // Pruned by a concurrent delete: keep climbing.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                // Not empty (or not ours to remove): the folders above it
                // are not empty either.
                Err(_) => break,
            }
            current = folder.parent();
        }
    }

    fn read_blocking(&self, path: &StoragePath) -> StorageResult<Bytes> {
        let resolved = self.resolve(path, Operation::Read)?;
        if resolved.state != State::File {
            return Err(self.not_found(path));
        }
        match fs::read(&resolved.local) {
            Ok(data) => Ok(Bytes::from(data)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(self.not_found(path)),
            Err(err) => Err(self.failed(path, Operation::Read, err)),
        }
    }

    fn write_blocking(&self, path: &StoragePath, data: &[u8]) -> StorageResult<()> {
        let target = self.writable(path, Operation::Write)?;
        self.replace_atomically(&target, |file| file.write_all(data))
            .map_err(|err| self.failed(path, Operation::Write, err))
    }

    fn delete_blocking(&self, path: &StoragePath) -> StorageResult<()> {
        let resolved = self.resolve(path, Operation::Delete)?;
        if resolved.state != State::File {
            // Nothing to delete: missing, a folder (folders have no
            // existence of their own), or not a regular file.
            return Ok(());
        }
        match fs::remove_file(&resolved.local) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(self.failed(path, Operation::Delete, err)),
        }
        self.prune(&resolved.local);
        if self.durable {
            self.sync_lowest_folder(&resolved.local)
                .map_err(|err| self.failed(path, Operation::Delete, err))?;
        }
        Ok(())
    }

    fn list_blocking(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let resolved = self.resolve(prefix, Operation::List)?;
        if resolved.state != State::Folder {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut pending = vec![(resolved.local, prefix.clone())];
        while let Some((folder, folder_path)) = pending.pop() {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                // Pruned by a concurrent delete.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(self.failed(&folder_path, Operation::List, err)),
            };
            for entry in entries {
                let entry = entry.map_err(|err| self.failed(&folder_path, Operation::List, err))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    // `dman check` and `dman copy` report these.
                    tracing::warn!(
                        target: "dman::skipped",
                        backend = %self.location,
                        path = %format!("{folder_path}/{}", name.to_string_lossy()),
                        "skipping a file whose name is not UTF-8"
                    );
                    continue;
                };
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let path = match folder_path.join(name) {
                    Ok(path) => path,
                    Err(err) => {
                        tracing::warn!(
                            target: "dman::skipped",
                            backend = %self.location,
                            path = %format!("{folder_path}/{name}"),
                            "skipping a file whose name is not a valid storage path: {err}"
                        );
                        continue;
                    }
                };
                let file_type = entry
                    .file_type()
                    .map_err(|err| self.failed(&path, Operation::List, err))?;
                let meta = if file_type.is_symlink() {
                    match fs::canonicalize(entry.path()) {
                        Ok(target) if target.starts_with(&self.root) => {
                            match fs::metadata(&target) {
                                Ok(meta) if meta.is_file() => meta,
                                // Links to folders are not walked: that
                                // would list files twice, or forever.
                                _ => {
                                    tracing::warn!(
                                        target: "dman::skipped",
                                        backend = %self.location,
                                        %path,
                                        "skipping a symbolic link to a folder"
                                    );
                                    continue;
                                }
                            }
                        }
                        _ => {
                            tracing::warn!(
                                target: "dman::skipped",
                                backend = %self.location,
                                %path,
                                "skipping a symbolic link that leads outside the root or nowhere"
                            );
                            continue;
                        }
                    }
                } else if file_type.is_dir() {
                    pending.push((entry.path(), path));
                    continue;
                } else if file_type.is_file() {
                    match entry.metadata() {
                        Ok(meta) => meta,
                        // Deleted while listing.
                        Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                        Err(err) => return Err(self.failed(&path, Operation::List, err)),
                    }
                } else {
                    tracing::warn!(
                        target: "dman::skipped",
                        backend = %self.location,
                        %path,
                        "skipping something that is neither a file nor a folder"
                    );
                    continue;
                };
                found.push(ObjectMeta {
                    path,
                    size: meta.len(),
                    last_modified: meta.modified().ok(),
                });
            }
        }
        found.sort();
        Ok(found)
    }

    fn read_versioned_blocking(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        let resolved = self.resolve(path, Operation::Read)?;
        if resolved.state != State::File {
            return Err(self.not_found(path));
        }
        let mut file = match File::open(&resolved.local) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(self.not_found(path)),
            Err(err) => return Err(self.failed(path, Operation::Read, err)),
        };
        // The version and the bytes come from one open file: a replacement
        // meanwhile is a new inode, which neither sees.
        let meta = file
            .metadata()
            .map_err(|err| self.failed(path, Operation::Read, err))?;
        let mut data = Vec::with_capacity(meta.len() as usize);
        io::Read::read_to_end(&mut file, &mut data)
            .map_err(|err| self.failed(path, Operation::Read, err))?;
        Ok((Bytes::from(data), file_version(&meta)))
    }

    fn write_if_blocking(
        &self,
        path: &StoragePath,
        data: &[u8],
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        let target = self.writable(path, Operation::Write)?;
        let conflict = || StorageError::conflict(self.location.as_ref(), path, condition);
        let failed = |err: io::Error| self.failed(path, Operation::Write, err);
        let folder = target.parent().ok_or_else(|| {
            self.failed(path, Operation::Write, "the root is a folder, not a file")
        })?;
        let (mut file, temp) = create_temp(folder).map_err(failed)?;
        let temp = TempGuard {
            path: temp,
            armed: true,
        };
        file.write_all(data).map_err(failed)?;
        if self.durable {
            file.sync_all().map_err(failed)?;
        }
        drop(file);
        match condition {
            WriteCondition::Create => {
                // link(2) fails if the target exists, atomically: of several
                // creators exactly one succeeds. The temporary name is then
                // dropped by the guard.
                match fs::hard_link(&temp.path, &target) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(conflict())
                    }
                    Err(err) => return Err(failed(err)),
                }
            }
            WriteCondition::Match(expected) => {
                let _lock = FolderLock::exclusive(folder).map_err(failed)?;
                let current = match fs::symlink_metadata(&target) {
                    Ok(meta) if meta.is_file() => file_version(&meta),
                    Ok(_) => return Err(conflict()),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(conflict()),
                    Err(err) => return Err(failed(err)),
                };
                if &current != expected {
                    return Err(conflict());
                }
                fs::rename(&temp.path, &target).map_err(failed)?;
            }
        }
        drop(temp);
        if self.durable {
            sync_folder_if_present(folder).map_err(failed)?;
        }
        let meta = fs::symlink_metadata(&target).map_err(failed)?;
        Ok(file_version(&meta))
    }

    fn copy_blocking(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        let source = self.resolve(from, Operation::Copy)?;
        if source.state != State::File {
            return Err(self.not_found(from));
        }
        let mut source = match File::open(&source.local) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(self.not_found(from)),
            Err(err) => return Err(self.failed(from, Operation::Copy, err)),
        };
        let target = self.writable(to, Operation::Copy)?;
        self.replace_atomically(&target, |file| io::copy(&mut source, file).map(drop))
            .map_err(|err| self.failed(to, Operation::Copy, err))
    }
}

impl std::fmt::Debug for FsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBackend")
            .field("location", &self.location)
            .field("durable", &self.durable)
            .finish()
    }
}

/// What a path leads to on the disk.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Missing,
    File,
    Folder,
    /// Neither a regular file nor a folder (a socket, a device, ...).
    Other,
    /// The named ancestor is not a folder, so the path cannot exist.
    BlockedBy(String),
}

struct Resolved {
    local: PathBuf,
    state: State,
}

/// The version of a file: what changes whenever it is replaced.
fn file_version(meta: &Metadata) -> Version {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Version::new(format!(
            "{}:{}:{}:{}.{:09}",
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec()
        ))
    }
    #[cfg(not(unix))]
    {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        Version::new(format!("{}:{}", meta.len(), modified.as_nanos()))
    }
}

/// An exclusive `flock` of a folder, released on drop (and by the kernel
/// when the process dies, so a killed writer leaves no lock behind).
struct FolderLock {
    #[cfg_attr(not(unix), allow(dead_code))]
    folder: File,
}

impl FolderLock {
    fn exclusive(folder: &Path) -> io::Result<Self> {
        let folder = File::open(folder)?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            loop {
                // SAFETY: flock on a descriptor this value owns.
                let rc = unsafe { libc::flock(folder.as_raw_fd(), libc::LOCK_EX) };
                if rc == 0 {
                    break;
                }
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
        Ok(FolderLock { folder })
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: as above; closing the descriptor would release it too.
            unsafe { libc::flock(self.folder.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

/// Removes a temporary file unless it was renamed into place (disarmed).
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates a fresh temporary file in `folder`, creating the folder first.
/// Retries when a concurrent delete prunes the folder in between.
fn create_temp(folder: &Path) -> io::Result<(File, PathBuf)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = fs::create_dir_all(folder).and_then(|()| {
            let temp = folder.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map(|file| (file, temp))
        });
        match result {
            Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < WRITE_ATTEMPTS => {}
            result => return result,
        }
    }
}

/// Flushes a folder's entries to the disk, unless a concurrent delete
/// removed the folder meanwhile (then there is nothing left to flush).
fn sync_folder_if_present(folder: &Path) -> io::Result<()> {
    match sync_folder(folder) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        result => result,
    }
}

/// Flushes a folder's entries to the disk.
fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Folders cannot be opened as files here; renames are durable once
        // the file is.
        let _ = folder;
        Ok(())
    }
}

#[async_trait]
impl StorageBackend for FsBackend {
    fn location(&self) -> String {
        self.location.to_string()
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        let owned = path.clone();
        self.run(path, Operation::Read, move |this| {
            this.read_blocking(&owned)
        })
        .await
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        let owned = path.clone();
        self.run(path, Operation::Write, move |this| {
            this.write_blocking(&owned, &data)
        })
        .await
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        let owned = path.clone();
        self.run(path, Operation::Delete, move |this| {
            this.delete_blocking(&owned)
        })
        .await
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        let owned = path.clone();
        self.run(path, Operation::Exists, move |this| {
            Ok(this.resolve(&owned, Operation::Exists)?.state == State::File)
        })
        .await
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let owned = prefix.clone();
        self.run(prefix, Operation::List, move |this| {
            this.list_blocking(&owned)
        })
        .await
    }

    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        let owned = path.clone();
        self.run(path, Operation::Head, move |this| {
            this.head_blocking(&owned)
        })
        .await
    }

    /// Chunks of 1 MiB ([`STREAM_CHUNK`](dman_core::storage::STREAM_CHUNK)),
    /// read from one open file: a replacement of the file while the stream
    /// runs is not seen (the stream reads the inode it opened).
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let owned = path.clone();
        let file = self
            .run(path, Operation::Read, move |this| {
                this.open_blocking(&owned)
            })
            .await?;
        Ok(self.chunks(path, file))
    }

    /// Chunks go to a temporary file beside the target as they come
    /// (memory: one chunk), renamed over the target by `finish`, with the
    /// same symlink rules and durability as [`write`](StorageBackend::write).
    async fn write_stream<'a>(&'a self, path: &StoragePath) -> StorageResult<Box<dyn Upload + 'a>> {
        let owned = path.clone();
        let upload = self
            .run(path, Operation::Write, move |this| {
                this.start_upload(&owned)
            })
            .await?;
        Ok(Box::new(upload))
    }

    /// The temporary files ([`TEMP_PREFIX`]) anywhere under the root: those
    /// of killed writes, and those of writes running now (their
    /// modification time is recent; `gc` leaves those alone).
    async fn leftovers(&self) -> StorageResult<Vec<Leftover>> {
        self.run(&StoragePath::root(), Operation::ListLeftovers, |this| {
            this.leftovers_blocking()
        })
        .await
    }

    async fn remove_leftover(&self, leftover: &Leftover) -> StorageResult<()> {
        let owned = leftover.clone();
        self.run(
            &StoragePath::root(),
            Operation::RemoveLeftover,
            move |this| this.remove_leftover_blocking(&owned),
        )
        .await
    }

    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        let (from_owned, to_owned) = (from.clone(), to.clone());
        self.run(to, Operation::Copy, move |this| {
            this.copy_blocking(&from_owned, &to_owned)
        })
        .await
    }

    fn supports_conditional_writes(&self) -> bool {
        true
    }

    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        let owned = path.clone();
        self.run(path, Operation::Read, move |this| {
            this.read_versioned_blocking(&owned)
        })
        .await
    }

    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        let (owned, condition) = (path.clone(), condition.clone());
        self.run(path, Operation::Write, move |this| {
            this.write_if_blocking(&owned, &data, &condition)
        })
        .await
    }
}
