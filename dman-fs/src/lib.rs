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
//!   links to files but does not walk links to folders. See
//!   [below](#the-root-and-symbolic-links) for how, and for what holds
//!   while another process swaps folders for links.
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
//!   the calling thread), one trip per operation: a `read`, a `write`, an
//!   `exists` or a `head` each finds, opens and reads or writes in one
//!   blocking call, and a `read_stream` of a file under one chunk too.
//!
//! # The root and symbolic links
//!
//! On Linux 5.6 and later, the backend holds its root folder open and
//! resolves every path with `openat2(2)` relative to it, with
//! `RESOLVE_BENEATH` (and `RESOLVE_NO_MAGICLINKS`): the kernel follows the
//! path and opens what it leads to in one step, and refuses any step above
//! the root. Writes, deletes and the folders a write makes then work by
//! name inside the folder so opened (`openat`, `mkdirat`, `renameat`,
//! `linkat`, `unlinkat`), one name at a time, and `list` walks folders by
//! name inside their opened parents, never through a link. So no read,
//! write, delete or listing can leave the root, even while another process
//! swaps a folder inside it for a link to elsewhere: the operation then
//! sees the folder or fails.
//!
//! The rule above stays as it was, with these differences:
//!
//! * The kernel refuses absolute links outright, even those that lead back
//!   inside the root. The backend then checks the links on the way and
//!   opens where they lead, again beneath the root, so such links are still
//!   followed (at the cost of a few more system calls).
//! * A read, `exists` or `head` through a relative link that leads nowhere
//!   finds no file (as for any missing file), where the walk below
//!   reports the dangling link as an error. Writes and deletes still
//!   report it.
//! * The root is the folder that was there when the backend was made: if
//!   it is moved meanwhile, the backend follows it; if it is removed,
//!   operations fail instead of making it again.
//!
//! Elsewhere (other systems, older kernels, a seccomp filter that refuses
//! `openat2`), and when the environment variable `DMAN_FS_NO_OPENAT2` is
//! set (to anything but `0`; read once per process), the components of a
//! path are checked one by one with `lstat` when an operation starts, and
//! the path is then used by name: this guards against links that are
//! there, not against another process swapping a folder for a link while
//! the operation runs. Which of the two applies is found out once per
//! process.
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

mod beneath;
mod stream;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, FileReader, Leftover, Payload, Upload};
use dman_core::Operation;
use dman_core::{
    ObjectMeta, StorageBackend, StorageError, StoragePath, StorageResult, Version, WriteCondition,
};

use beneath::{Beneath, Dir, Kind, Refused, Stat};

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
///
/// # Symbolic links
///
/// A link inside the root that leads outside it is never followed; links
/// that stay inside are. On Linux 5.6 and later this holds even while
/// another process swaps a folder for a link during an operation: paths
/// are resolved and opened in one step by `openat2(2)` beneath the root
/// folder, which the backend holds open from [`FsBackend::new`] on. That
/// differs from the check-then-open walk used elsewhere in three small
/// ways (absolute links cost a few more system calls, a read through a
/// relative link that leads nowhere finds no file instead of failing, and
/// the backend keeps to its root folder if that is moved): see
/// [the crate's documentation](crate#the-root-and-symbolic-links).
#[derive(Clone)]
pub struct FsBackend {
    beneath: Arc<Beneath>,
    location: Arc<str>,
    durable: bool,
}

impl FsBackend {
    /// A backend rooted at the folder `root`, which is created (with its
    /// parents) if missing. The root is made absolute and its symbolic
    /// links are resolved once, here; where `openat2` is usable (see
    /// [the crate's documentation](crate)), the folder is also opened here,
    /// and the backend keeps working in that folder even if it is moved.
    ///
    /// This does blocking I/O; call it before, or outside, hot async code.
    ///
    /// # Errors
    ///
    /// [`StorageError::Failed`] (operation `open`) when the folder cannot be
    /// created, resolved or opened, or is not a folder.
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
        let beneath = Beneath::new(root).map_err(|err| open_error(err.into()))?;
        Ok(FsBackend {
            beneath: Arc::new(beneath),
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
        self.beneath.root()
    }

    /// Where `path` lives on the disk: the root joined with its segments.
    /// This is plain path arithmetic: it neither touches the disk nor checks
    /// for symbolic links.
    pub fn local_path(&self, path: &StoragePath) -> PathBuf {
        let mut local = self.root().to_path_buf();
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

    /// The error for a path that cannot be used below the root.
    fn refused(&self, path: &StoragePath, op: Operation, refused: Refused) -> StorageError {
        match refused {
            Refused::Link(message) => self.failed(path, op, message),
            Refused::NotAFolder(blocker) => self.failed(
                path,
                op,
                format!("`{blocker}` is a file, so it cannot hold other files"),
            ),
            Refused::Taken(what) => self.failed(path, op, what),
            Refused::Io(err) => self.failed(path, op, err),
        }
    }

    /// Runs blocking file-system work on Tokio's blocking pool, or on this
    /// thread outside a Tokio runtime: one hop per call, so each operation
    /// does all its file-system work in one `work`.
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

    /// The regular file at `path`, open for reading, with its metadata.
    fn open_file(&self, path: &StoragePath, op: Operation) -> StorageResult<(File, Stat)> {
        let rel: Vec<&str> = path.segments().collect();
        match self.beneath.open_file(&rel) {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(self.not_found(path)),
            Err(refused) => Err(self.refused(path, op, refused)),
        }
    }

    /// The regular file at `path`, if there is one.
    pub(crate) fn file_stat(
        &self,
        path: &StoragePath,
        op: Operation,
    ) -> StorageResult<Option<Stat>> {
        let rel: Vec<&str> = path.segments().collect();
        match self.beneath.stat(&rel) {
            Ok(stat) => Ok(stat.filter(|stat| stat.kind == Kind::File)),
            Err(refused) => Err(self.refused(path, op, refused)),
        }
    }

    /// Checks that `path` can be written (not the root, not a reserved
    /// name, not a folder, not below a file), makes its folder, and creates
    /// the temporary file that will replace it.
    fn prepare(&self, path: &StoragePath, op: Operation) -> StorageResult<Prepared> {
        let rel: Vec<&str> = path.segments().collect();
        let Some((name, folder)) = rel.split_last() else {
            return Err(self.failed(path, op, "the root is a folder, not a file"));
        };
        if name.starts_with(TEMP_PREFIX) {
            return Err(self.failed(
                path,
                op,
                format!("names starting with `{TEMP_PREFIX}` are reserved for temporary files"),
            ));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_prepare(&rel, folder, name) {
                Ok(prepared) => return Ok(prepared),
                // A concurrent delete pruned the folder in between.
                Err(Refused::Io(err))
                    if err.kind() == io::ErrorKind::NotFound && attempt < WRITE_ATTEMPTS => {}
                Err(refused) => return Err(self.refused(path, op, refused)),
            }
        }
    }

    /// One attempt of [`prepare`](Self::prepare).
    fn try_prepare(&self, rel: &[&str], folder: &[&str], name: &str) -> Result<Prepared, Refused> {
        let (dir, created) = self.beneath.create_folder(folder)?;
        let kind = match dir.entry(name)? {
            None => None,
            // Checked, not followed: the rename replaces the link itself,
            // wherever it points by then.
            Some(stat) if stat.kind == Kind::Link => Some(self.beneath.link_target(rel)?.kind),
            Some(stat) => Some(stat.kind),
        };
        match kind {
            None | Some(Kind::File) => {}
            Some(Kind::Folder) => return Err(Refused::Taken("there is a folder at this path")),
            Some(Kind::Other | Kind::Link) => {
                return Err(Refused::Taken(
                    "there is something other than a file or folder at this path",
                ))
            }
        }
        let (file, temp) = dir.create_temp()?;
        Ok(Prepared {
            temp: TempGuard {
                dir: dir.clone(),
                name: temp,
                armed: true,
            },
            dir,
            name: name.to_string(),
            created,
            file,
        })
    }

    /// Writes `path` atomically: `fill` writes a temporary file in the
    /// same folder, which is then renamed over the target.
    fn replace_atomically(
        &self,
        path: &StoragePath,
        op: Operation,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> StorageResult<()> {
        let Prepared {
            dir,
            name,
            created,
            mut file,
            mut temp,
        } = self.prepare(path, op)?;
        let failed = |err: io::Error| self.failed(path, op, err);
        fill(&mut file).map_err(failed)?;
        if self.durable {
            file.sync_all().map_err(failed)?;
        }
        drop(file);
        dir.rename(&temp.name, &name).map_err(failed)?;
        temp.armed = false;
        if self.durable {
            sync_written(&dir, &created).map_err(failed)?;
        }
        Ok(())
    }

    /// Removes `folder` and the folders above it that are left empty, up
    /// to but excluding the root, each by name in its parent opened below
    /// the root. Stops at the first folder that is not empty.
    fn prune(&self, folder: &[&str]) {
        for end in (1..=folder.len()).rev() {
            let Ok(Some(parent)) = self.beneath.folder(&folder[..end - 1]) else {
                break;
            };
            match parent.remove_folder(folder[end - 1]) {
                Ok(()) => {}
                // Pruned by a concurrent delete: keep climbing.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                // Not empty (or not ours to remove): the folders above it
                // are not empty either.
                Err(_) => break,
            }
        }
    }

    /// Flushes the lowest existing folder of `folder` and its parents (a
    /// delete may have pruned the ones below it), so that the removals are
    /// on the disk.
    fn sync_lowest_folder(&self, folder: &[&str]) -> io::Result<()> {
        for end in (0..=folder.len()).rev() {
            if let Ok(Some(dir)) = self.beneath.folder(&folder[..end]) {
                match dir.reopen().and_then(|open| open.sync_all()) {
                    Err(err) if err.kind() == io::ErrorKind::NotFound && end > 0 => {}
                    result => return result,
                }
            }
        }
        Ok(())
    }

    fn read_blocking(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.read_versioned_blocking(path).map(|(data, _)| data)
    }

    /// Writes the parts of a file one after the other, straight from their
    /// memory: a file made of an array's own memory is never copied whole.
    fn write_blocking(&self, path: &StoragePath, parts: &[Bytes]) -> StorageResult<()> {
        self.replace_atomically(path, Operation::Write, |file| {
            parts.iter().try_for_each(|part| file.write_all(part))
        })
    }

    fn delete_blocking(&self, path: &StoragePath) -> StorageResult<()> {
        let rel: Vec<&str> = path.segments().collect();
        let refused = |refused| self.refused(path, Operation::Delete, refused);
        let failed = |err| self.failed(path, Operation::Delete, err);
        // The root is a folder: nothing to delete.
        let Some((name, folder)) = rel.split_last() else {
            return Ok(());
        };
        let Some(dir) = self.beneath.folder(folder).map_err(refused)? else {
            return Ok(());
        };
        let is_file = match dir.entry(name).map_err(failed)? {
            // The link itself is removed, if it leads to a file inside the
            // root.
            Some(stat) if stat.kind == Kind::Link => {
                self.beneath.link_target(&rel).map_err(refused)?.kind == Kind::File
            }
            Some(stat) => stat.kind == Kind::File,
            None => false,
        };
        if !is_file {
            // Nothing to delete: missing, a folder (folders have no
            // existence of their own), or not a regular file.
            return Ok(());
        }
        match dir.remove_file(name) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(failed(err)),
        }
        self.prune(folder);
        if self.durable {
            self.sync_lowest_folder(folder).map_err(failed)?;
        }
        Ok(())
    }

    fn list_blocking(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let rel: Vec<&str> = prefix.segments().collect();
        let Some(start) = self
            .beneath
            .folder(&rel)
            .map_err(|refused| self.refused(prefix, Operation::List, refused))?
        else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        // Subfolders are opened when their turn comes, by name in their
        // parent, never through a link: an open descriptor per level, not
        // per folder found.
        let mut pending: Vec<(Dir, Option<std::ffi::OsString>, StoragePath)> =
            vec![(start, None, prefix.clone())];
        while let Some((parent, name, folder_path)) = pending.pop() {
            let folder = match name {
                None => parent,
                Some(name) => match parent.child(&name) {
                    Ok(Some(folder)) => folder,
                    // Pruned by a concurrent delete, or swapped for a link
                    // or a file since it was seen: not walked.
                    Ok(None) => continue,
                    Err(err) => return Err(self.failed(&folder_path, Operation::List, err)),
                },
            };
            let entries = match folder.entries() {
                Ok(entries) => entries,
                // Pruned by a concurrent delete.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(self.failed(&folder_path, Operation::List, err)),
            };
            for (name, stat) in entries {
                let Some(utf8) = name.to_str() else {
                    // `dman check` and `dman copy` report these.
                    tracing::warn!(
                        target: "dman::skipped",
                        backend = %self.location,
                        path = %format!("{folder_path}/{}", name.to_string_lossy()),
                        "skipping a file whose name is not UTF-8"
                    );
                    continue;
                };
                if utf8.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let path = match folder_path.join(utf8) {
                    Ok(path) => path,
                    Err(err) => {
                        tracing::warn!(
                            target: "dman::skipped",
                            backend = %self.location,
                            path = %format!("{folder_path}/{utf8}"),
                            "skipping a file whose name is not a valid storage path: {err}"
                        );
                        continue;
                    }
                };
                // Deleted while listing.
                let Some(stat) = stat else {
                    continue;
                };
                let stat = match stat.kind {
                    Kind::Folder => {
                        pending.push((folder.clone(), Some(name), path));
                        continue;
                    }
                    Kind::File => stat,
                    Kind::Link => {
                        let rel: Vec<&str> = path.segments().collect();
                        match self.beneath.stat(&rel) {
                            Ok(Some(target)) if target.kind == Kind::File => target,
                            // Links to folders are not walked: that would
                            // list files twice, or forever.
                            Ok(Some(_)) => {
                                tracing::warn!(
                                    target: "dman::skipped",
                                    backend = %self.location,
                                    %path,
                                    "skipping a symbolic link to a folder"
                                );
                                continue;
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
                    }
                    Kind::Other => {
                        tracing::warn!(
                            target: "dman::skipped",
                            backend = %self.location,
                            %path,
                            "skipping something that is neither a file nor a folder"
                        );
                        continue;
                    }
                };
                found.push(ObjectMeta {
                    path,
                    size: stat.size,
                    last_modified: stat.modified,
                    content_md5: None,
                });
            }
        }
        found.sort();
        Ok(found)
    }

    fn read_versioned_blocking(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        // The version and the bytes come from one open file: a replacement
        // meanwhile is a new inode, which neither sees.
        let (file, stat) = self.open_file(path, Operation::Read)?;
        let mut data = Vec::with_capacity(stat.size as usize);
        // Through `Take`, which reads to the end like `File::read_to_end`
        // without asking the file its size and position again (two system
        // calls per read; the size is known).
        io::Read::read_to_end(&mut io::Read::take(file, u64::MAX), &mut data)
            .map_err(|err| self.failed(path, Operation::Read, err))?;
        Ok((Bytes::from(data), stat.version()))
    }

    fn write_if_blocking(
        &self,
        path: &StoragePath,
        parts: &[Bytes],
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        let conflict = || StorageError::conflict(self.location.as_ref(), path, condition);
        let failed = |err: io::Error| self.failed(path, Operation::Write, err);
        let Prepared {
            dir,
            name,
            created,
            mut file,
            temp,
        } = self.prepare(path, Operation::Write)?;
        for part in parts {
            file.write_all(part).map_err(failed)?;
        }
        if self.durable {
            file.sync_all().map_err(failed)?;
        }
        drop(file);
        match condition {
            WriteCondition::Create => {
                // link(2) fails if the target exists, atomically: of several
                // creators exactly one succeeds. The temporary name is then
                // dropped by the guard.
                match dir.hard_link(&temp.name, &name) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(conflict())
                    }
                    Err(err) => return Err(failed(err)),
                }
            }
            WriteCondition::Match(expected) => {
                let _lock = dir
                    .reopen()
                    .and_then(FolderLock::exclusive)
                    .map_err(failed)?;
                let current = match dir.entry(&name).map_err(failed)? {
                    Some(stat) if stat.kind == Kind::File => stat.version(),
                    _ => return Err(conflict()),
                };
                if &current != expected {
                    return Err(conflict());
                }
                dir.rename(&temp.name, &name).map_err(failed)?;
            }
        }
        drop(temp);
        if self.durable {
            sync_written(&dir, &created).map_err(failed)?;
        }
        match dir.entry(&name).map_err(failed)? {
            Some(stat) => Ok(stat.version()),
            None => Err(failed(io::Error::new(
                io::ErrorKind::NotFound,
                "the file was removed right after it was written",
            ))),
        }
    }

    fn copy_blocking(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        let (mut source, _) = self.open_file(from, Operation::Copy)?;
        self.replace_atomically(to, Operation::Copy, |file| {
            io::copy(&mut source, file).map(drop)
        })
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

/// A write under way: its folder, the name it replaces, the folders it
/// made, and the temporary file.
struct Prepared {
    dir: Dir,
    name: String,
    created: Vec<Dir>,
    file: File,
    temp: TempGuard,
}

/// Flushes the folder of a write, and the folders in which it made one.
fn sync_written(dir: &Dir, created: &[Dir]) -> io::Result<()> {
    dir.sync_if_present()?;
    for parent in created {
        parent.sync_if_present()?;
    }
    Ok(())
}

/// An exclusive `flock` of a folder, released on drop (and by the kernel
/// when the process dies, so a killed writer leaves no lock behind).
struct FolderLock {
    #[cfg_attr(not(unix), allow(dead_code))]
    folder: File,
}

impl FolderLock {
    fn exclusive(folder: File) -> io::Result<Self> {
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
    dir: Dir,
    name: String,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.dir.remove_file(&self.name);
        }
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

    /// The open file (one trip to the blocking pool): a large array is
    /// then read from it straight into its own buffer.
    async fn open_read(&self, path: &StoragePath) -> StorageResult<Option<FileReader>> {
        let owned = path.clone();
        let (file, stat) = self
            .run(path, Operation::Read, move |this| {
                this.open_file(&owned, Operation::Read)
            })
            .await?;
        Ok(Some(FileReader {
            size: stat.size,
            reader: Box::new(file),
        }))
    }

    /// Up to 16 batches, each read on the blocking pool in one trip, side
    /// by side: a container of N small files costs 16 thread hops, not N.
    async fn read_many(&self, paths: &[StoragePath]) -> Vec<StorageResult<Bytes>> {
        const BATCHES: usize = 16;
        let size = paths.len().div_ceil(BATCHES).max(1);
        let batches = paths.chunks(size).map(|batch| {
            let owned = batch.to_vec();
            self.run(&batch[0], Operation::Read, move |this| {
                Ok(owned
                    .iter()
                    .map(|path| this.read_blocking(path))
                    .collect::<Vec<_>>())
            })
        });
        let mut out = Vec::with_capacity(paths.len());
        for (batch, read) in paths
            .chunks(size)
            .zip(futures::future::join_all(batches).await)
        {
            match read {
                Ok(results) => out.extend(results),
                // The trip itself failed (the pool is gone): every file
                // of the batch says so.
                Err(err) => out.extend(
                    batch
                        .iter()
                        .map(|path| Err(self.failed(path, Operation::Read, err.to_string()))),
                ),
            }
        }
        out
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.write_payload(path, Payload::from(data)).await
    }

    /// The parts are written one after the other from their own memory,
    /// never joined (an array's file is its header and the array).
    async fn write_payload(&self, path: &StoragePath, data: Payload) -> StorageResult<()> {
        let owned = path.clone();
        self.run(path, Operation::Write, move |this| {
            this.write_blocking(&owned, data.parts())
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
            Ok(this.file_stat(&owned, Operation::Exists)?.is_some())
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
    /// runs is not seen (the stream reads the inode it opened). The first
    /// chunk is read with the open, so a file of less than a chunk costs
    /// one trip to the blocking pool.
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let owned = path.clone();
        let opened = self
            .run(path, Operation::Read, move |this| {
                this.open_blocking(&owned)
            })
            .await?;
        Ok(self.chunks(path, opened))
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
        self.write_payload_if(path, Payload::from(data), condition)
            .await
    }

    async fn write_payload_if(
        &self,
        path: &StoragePath,
        data: Payload,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        let (owned, condition) = (path.clone(), condition.clone());
        self.run(path, Operation::Write, move |this| {
            this.write_if_blocking(&owned, data.parts(), &condition)
        })
        .await
    }
}
