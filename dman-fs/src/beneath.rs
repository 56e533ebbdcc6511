//! Paths below the root, opened so that no symbolic link leads out of it.
//!
//! On Linux 5.6 and later, [`Beneath`] holds the root folder open and
//! resolves every path with `openat2(2)` relative to it, with
//! `RESOLVE_BENEATH` and `RESOLVE_NO_MAGICLINKS`: the kernel follows the
//! path and opens what it leads to in one step, and fails the step that
//! would take it above the root, so a folder swapped for a link to
//! elsewhere meanwhile leads nowhere outside. Folders are then worked in
//! through their descriptors ([`Dir`]: `openat`, `mkdirat`, `renameat`,
//! `linkat`, `unlinkat`), one name at a time, so that the last step cannot
//! be redirected either.
//!
//! Elsewhere (other systems, older kernels, a seccomp filter that refuses
//! `openat2`, or [`NO_OPENAT2_VAR`] set), a path is checked with one
//! `lstat` per component ([`Beneath::walk`]) and then used by name: that
//! refuses the links that are there, not one swapped in between the check
//! and the use. Which of the two applies is found out once per process.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use dman_core::Version;

use crate::TEMP_PREFIX;

/// The environment variable that, set to anything but `0` or nothing,
/// turns `openat2` off for the whole process: every path is then checked
/// and opened as on systems without it (to compare, or to get around a
/// kernel that misbehaves).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) const NO_OPENAT2_VAR: &str = "DMAN_FS_NO_OPENAT2";

/// Why a path below the root cannot be used.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A symbolic link on the way leads out of the root, or nowhere; the
    /// message names it.
    Link(String),
    /// The named part of the path (segments joined by `/`) is not a
    /// folder, so nothing lives below it.
    NotAFolder(String),
    /// Something other than a file is where a file is to be written.
    Taken(&'static str),
    Io(io::Error),
}

impl From<io::Error> for Refused {
    fn from(err: io::Error) -> Self {
        Refused::Io(err)
    }
}

/// Whether `err` says that the path leads nowhere: missing, or below
/// something that is not a folder.
pub(crate) fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// What a path leads to, as the check-then-use walk sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum State {
    Missing,
    File,
    Folder,
    /// Neither a regular file nor a folder (a socket, a device, ...).
    Other,
    /// The named ancestor is not a folder, so the path cannot exist.
    BlockedBy(String),
}

pub(crate) struct Resolved {
    pub(crate) local: PathBuf,
    pub(crate) state: State,
}

/// What kind of thing a name is, its links not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Folder,
    Link,
    Other,
}

/// The metadata dman-fs uses: the kind, the size, the modification time
/// and what makes up a [`Version`].
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    pub(crate) modified: Option<SystemTime>,
    /// Device and inode number, where the system has them.
    identity: Option<(u64, u64)>,
    /// Modification time: seconds since the epoch and nanoseconds.
    mtime: (i64, i64),
}

impl Stat {
    /// The version of a file: what changes whenever it is replaced (every
    /// atomic write makes a new inode).
    pub(crate) fn version(&self) -> Version {
        match self.identity {
            Some((dev, ino)) => Version::new(format!(
                "{dev}:{ino}:{}:{}.{:09}",
                self.size, self.mtime.0, self.mtime.1
            )),
            None => {
                let nanos = self
                    .modified
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .unwrap_or_default()
                    .as_nanos();
                Version::new(format!("{}:{nanos}", self.size))
            }
        }
    }
}

impl From<&fs::Metadata> for Stat {
    fn from(meta: &fs::Metadata) -> Self {
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            Kind::Link
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_dir() {
            Kind::Folder
        } else {
            Kind::Other
        };
        #[cfg(unix)]
        let (identity, mtime) = {
            use std::os::unix::fs::MetadataExt;
            (
                Some((meta.dev(), meta.ino())),
                (meta.mtime(), meta.mtime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (identity, mtime) = (None, (0, 0));
        Stat {
            kind,
            size: meta.len(),
            modified: meta.modified().ok(),
            identity,
            mtime,
        }
    }
}

/// The metadata of an open file.
pub(crate) fn stat_file(file: &File) -> io::Result<Stat> {
    #[cfg(target_os = "linux")]
    {
        // Through rustix like every other stat on Linux, so that versions
        // made from an open file and from a name always agree.
        Ok(Stat::from(&rustix::fs::fstat(file)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(Stat::from(&file.metadata()?))
    }
}

/// The metadata of what `path` names, following a final link or not.
fn stat_path(path: &Path, follow: bool) -> io::Result<Stat> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::AtFlags;
        let flags = if follow {
            AtFlags::empty()
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        Ok(Stat::from(&rustix::fs::statat(
            rustix::fs::CWD,
            path,
            flags,
        )?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let meta = if follow {
            fs::metadata(path)?
        } else {
            fs::symlink_metadata(path)?
        };
        Ok(Stat::from(&meta))
    }
}

/// The root of a backend, and the way to paths below it.
pub(crate) struct Beneath {
    root: Arc<Path>,
    /// The root folder, open, when `openat2` is usable.
    #[cfg(target_os = "linux")]
    fd: Option<Arc<std::os::fd::OwnedFd>>,
}

impl Beneath {
    /// The way below `root`, an absolute folder without symbolic links.
    pub(crate) fn new(root: PathBuf) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            let fd = linux::open_root(&root)?;
            Ok(Beneath {
                root: root.into(),
                fd: fd.map(Arc::new),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(Beneath { root: root.into() })
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The root folder as a [`Dir`].
    fn root_dir(&self) -> Dir {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            return Dir::Fd(fd.clone());
        }
        Dir::Path(self.root.to_path_buf())
    }

    /// The regular file at `rel` (links followed inside the root), open
    /// for reading, with its metadata; `None` when there is none.
    pub(crate) fn open_file(&self, rel: &[&str]) -> Result<Option<(File, Stat)>, Refused> {
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.fd {
            // Non-blocking so that a FIFO swapped in does not hang the
            // open (it is refused below); for regular files the flag has
            // no effect.
            let flags = linux::READ_FLAGS;
            let file = match self.open_beneath(root, rel, flags) {
                Ok(fd) => File::from(fd),
                Err(Refused::Io(err)) if is_absent(&err) => return Ok(None),
                Err(refused) => return Err(refused),
            };
            let stat = stat_file(&file)?;
            return Ok((stat.kind == Kind::File).then_some((file, stat)));
        }
        let resolved = self.walk(rel)?;
        if resolved.state != State::File {
            return Ok(None);
        }
        match File::open(&resolved.local) {
            Ok(file) => {
                let stat = stat_file(&file)?;
                Ok((stat.kind == Kind::File).then_some((file, stat)))
            }
            Err(err) if is_absent(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The metadata of what `rel` leads to (links followed inside the
    /// root); `None` when it leads nowhere.
    pub(crate) fn stat(&self, rel: &[&str]) -> Result<Option<Stat>, Refused> {
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.fd {
            let fd = match self.open_beneath(root, rel, linux::PATH_FLAGS) {
                Ok(fd) => fd,
                Err(Refused::Io(err)) if is_absent(&err) => return Ok(None),
                Err(refused) => return Err(refused),
            };
            return Ok(Some(Stat::from(
                &rustix::fs::fstat(&fd).map_err(io::Error::from)?,
            )));
        }
        let resolved = self.walk(rel)?;
        if matches!(resolved.state, State::Missing | State::BlockedBy(_)) {
            return Ok(None);
        }
        // The walk checked every link on the way, the last one included.
        match stat_path(&resolved.local, true) {
            Ok(stat) => Ok(Some(stat)),
            Err(err) if is_absent(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// What the symbolic link at `rel` leads to; a link that leads nowhere
    /// is refused too.
    pub(crate) fn link_target(&self, rel: &[&str]) -> Result<Stat, Refused> {
        match self.stat(rel)? {
            Some(stat) => Ok(stat),
            None => Err(self.walk(rel).err().unwrap_or_else(|| {
                Refused::Link(format!(
                    "`{}` is a symbolic link that leads nowhere",
                    rel.join("/")
                ))
            })),
        }
    }

    /// The folder `rel` (links followed inside the root); `None` when it
    /// is missing or not a folder.
    pub(crate) fn folder(&self, rel: &[&str]) -> Result<Option<Dir>, Refused> {
        if rel.is_empty() {
            return Ok(Some(self.root_dir()));
        }
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.fd {
            return match self.open_beneath(root, rel, linux::FOLDER_FLAGS) {
                Ok(fd) => Ok(Some(Dir::Fd(Arc::new(fd)))),
                Err(Refused::Io(err)) if is_absent(&err) => Ok(None),
                Err(refused) => Err(refused),
            };
        }
        let resolved = self.walk(rel)?;
        Ok((resolved.state == State::Folder).then_some(Dir::Path(resolved.local)))
    }

    /// The folder `rel`, made with its missing parents; also the folders
    /// in which a folder was made (to flush, for durability).
    ///
    /// A folder pruned by a concurrent delete meanwhile gives a
    /// [`io::ErrorKind::NotFound`] error: try again.
    pub(crate) fn create_folder(&self, rel: &[&str]) -> Result<(Dir, Vec<Dir>), Refused> {
        if let Some(dir) = self.folder(rel)? {
            return Ok((dir, Vec::new()));
        }
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.fd {
            return self.create_folder_beneath(root, rel);
        }
        let resolved = self.walk(rel)?;
        match resolved.state {
            State::Folder => Ok((Dir::Path(resolved.local), Vec::new())),
            State::Missing => {
                let created = self.missing_folders(&resolved.local);
                fs::create_dir_all(&resolved.local)?;
                Ok((Dir::Path(resolved.local), created))
            }
            State::File | State::Other => Err(Refused::NotAFolder(rel.join("/"))),
            State::BlockedBy(blocker) => Err(Refused::NotAFolder(blocker)),
        }
    }

    /// Makes the missing folders of `rel` one at a time, each in its
    /// parent opened beneath the root, so that a link swapped in for a
    /// parent cannot take the new folder outside.
    #[cfg(target_os = "linux")]
    fn create_folder_beneath(
        &self,
        root: &Arc<std::os::fd::OwnedFd>,
        rel: &[&str],
    ) -> Result<(Dir, Vec<Dir>), Refused> {
        let mut parent = Dir::Fd(root.clone());
        let mut created = Vec::new();
        for end in 1..=rel.len() {
            let here = &rel[..end];
            // Below a folder just made, nothing is there yet.
            let opened = if created.is_empty() {
                self.open_beneath(root, here, linux::FOLDER_FLAGS)
            } else {
                Err(Refused::Io(io::ErrorKind::NotFound.into()))
            };
            let fd = match opened {
                Ok(fd) => fd,
                Err(Refused::Io(err)) if err.kind() == io::ErrorKind::NotFound => {
                    match parent.make_folder(rel[end - 1]) {
                        Ok(()) => created.push(parent.clone()),
                        // Made by a concurrent writer, or a link that
                        // leads nowhere: the open tells.
                        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(err) => return Err(err.into()),
                    }
                    match self.open_beneath(root, here, linux::FOLDER_FLAGS) {
                        Ok(fd) => fd,
                        Err(Refused::Io(err)) if err.kind() == io::ErrorKind::NotFound => {
                            // A link that leads nowhere, or a concurrent
                            // delete pruned the folder just made.
                            self.walk(here)?;
                            return Err(err.into());
                        }
                        Err(Refused::Io(err)) if err.kind() == io::ErrorKind::NotADirectory => {
                            return Err(Refused::NotAFolder(here.join("/")))
                        }
                        Err(refused) => return Err(refused),
                    }
                }
                Err(Refused::Io(err)) if err.kind() == io::ErrorKind::NotADirectory => {
                    return Err(Refused::NotAFolder(here.join("/")))
                }
                Err(refused) => return Err(refused),
            };
            parent = Dir::Fd(Arc::new(fd));
        }
        Ok((parent, created))
    }

    /// The folder `rel` if it is there and no part of it is a symbolic
    /// link; [`Refused::NotAFolder`] if a part is a link or not a folder.
    pub(crate) fn real_folder(&self, rel: &[&str]) -> Result<Option<Dir>, Refused> {
        if rel.is_empty() {
            return Ok(Some(self.root_dir()));
        }
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.fd {
            use rustix::fs::ResolveFlags;
            let path: PathBuf = rel.iter().collect();
            return match linux::openat2(root, &path, linux::FOLDER_FLAGS, ResolveFlags::NO_SYMLINKS)
            {
                Ok(fd) => Ok(Some(Dir::Fd(Arc::new(fd)))),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err)
                    if err.kind() == io::ErrorKind::NotADirectory
                        || err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
                        || err.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) =>
                {
                    Err(Refused::NotAFolder(rel.join("/")))
                }
                Err(err) => Err(err.into()),
            };
        }
        let mut local = self.root.to_path_buf();
        for (index, segment) in rel.iter().enumerate() {
            local.push(segment);
            match fs::symlink_metadata(&local) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(Refused::NotAFolder(rel[..=index].join("/"))),
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Some(Dir::Path(local)))
    }

    /// Why the kernel would not resolve `rel` beneath the root, in words:
    /// the link the walk finds leading out or nowhere, or, if it finds
    /// none (a link that changed meanwhile), a message that says so.
    #[cfg(target_os = "linux")]
    fn explain(&self, rel: &[&str]) -> Refused {
        match self.walk(rel) {
            Err(refused) => refused,
            Ok(_) => Refused::Link(format!(
                "a symbolic link on the way to `{}` leads outside the root `{}` (or did while \
                 it was resolved); dman-fs does not follow links out of its root",
                rel.join("/"),
                self.root.display()
            )),
        }
    }

    /// Opens `rel` with `openat2` beneath the root.
    ///
    /// The kernel refuses absolute links (`EXDEV`) even when they lead back
    /// inside the root, which the rule of dman-fs follows: for those, the
    /// walk checks the links, and the path they lead to is opened, again
    /// beneath the root, so that a change meanwhile cannot lead out either.
    #[cfg(target_os = "linux")]
    fn open_beneath(
        &self,
        root: &std::os::fd::OwnedFd,
        rel: &[&str],
        flags: rustix::fs::OFlags,
    ) -> Result<std::os::fd::OwnedFd, Refused> {
        use rustix::fs::ResolveFlags;
        let path: PathBuf = if rel.is_empty() {
            PathBuf::from(".")
        } else {
            rel.iter().collect()
        };
        match linux::openat2(root, &path, flags, ResolveFlags::empty()) {
            Err(err) if linux::is_escape(&err) => {}
            result => return result.map_err(Refused::Io),
        }
        self.walk(rel)?;
        let Some(inside) = self.inside(rel) else {
            return Err(self.explain(rel));
        };
        match linux::openat2(root, &inside, flags, ResolveFlags::empty()) {
            Err(err) if linux::is_escape(&err) => Err(self.explain(rel)),
            result => result.map_err(Refused::Io),
        }
    }

    /// Where `rel` leads, relative to the root, with the links in its
    /// longest existing part resolved; `None` if that is not inside.
    #[cfg(target_os = "linux")]
    fn inside(&self, rel: &[&str]) -> Option<PathBuf> {
        for keep in (0..=rel.len()).rev() {
            let mut local = self.root.to_path_buf();
            local.extend(&rel[..keep]);
            match fs::canonicalize(&local) {
                Ok(real) => {
                    let mut inside = PathBuf::from(".");
                    inside.push(real.strip_prefix(&self.root).ok()?);
                    inside.extend(&rel[keep..]);
                    return Some(inside);
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// The check-then-use walk: finds `rel` below the root with one
    /// `lstat` per component; a symbolic link that leads outside the root
    /// (or nowhere) is refused. Nothing stops a component from being
    /// swapped for such a link after it was checked: this is the whole
    /// protection only where `openat2` is not usable, and elsewhere words
    /// the refusals of the kernel.
    pub(crate) fn walk(&self, rel: &[&str]) -> Result<Resolved, Refused> {
        let mut local = self.root.to_path_buf();
        let mut state = State::Folder;
        for (index, segment) in rel.iter().enumerate() {
            local.push(segment);
            let mut meta = match fs::symlink_metadata(&local) {
                Ok(meta) => meta,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    local.extend(&rel[index + 1..]);
                    return Ok(Resolved {
                        local,
                        state: State::Missing,
                    });
                }
                Err(err) => return Err(err.into()),
            };
            if meta.file_type().is_symlink() {
                meta = self.follow_link(&local, &rel[..=index])?;
            }
            let last = index + 1 == rel.len();
            if last {
                state = if meta.is_file() {
                    State::File
                } else if meta.is_dir() {
                    State::Folder
                } else {
                    State::Other
                };
            } else if !meta.is_dir() {
                let blocker = rel[..=index].join("/");
                local.extend(&rel[index + 1..]);
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
    fn follow_link(&self, local: &Path, link: &[&str]) -> Result<fs::Metadata, Refused> {
        let link = link.join("/");
        match fs::canonicalize(local) {
            Ok(target) if target.starts_with(&self.root) => Ok(fs::metadata(&target)?),
            Ok(target) => Err(Refused::Link(format!(
                "`{link}` is a symbolic link to `{}`, outside the root `{}`; \
                 dman-fs does not follow links out of its root",
                target.display(),
                self.root.display()
            ))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(Refused::Link(format!(
                "`{link}` is a symbolic link to a missing target; \
                 dman-fs does not follow links it cannot check"
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// The parents of the folders from `folder` up that do not exist yet
    /// (below the root).
    fn missing_folders(&self, folder: &Path) -> Vec<Dir> {
        let mut parents = Vec::new();
        let mut current = folder;
        while current != &*self.root && fs::symlink_metadata(current).is_err() {
            match current.parent() {
                Some(parent) => {
                    parents.push(Dir::Path(parent.to_path_buf()));
                    current = parent;
                }
                None => break,
            }
        }
        parents
    }
}

/// A folder below the root: open (where `openat2` is usable), so that the
/// names used in it cannot be redirected by a link swapped in above it, or
/// its path (elsewhere).
#[derive(Debug, Clone)]
pub(crate) enum Dir {
    /// Opened beneath the root (`O_PATH`); names are used with the `*at`
    /// calls relative to it.
    #[cfg(target_os = "linux")]
    Fd(Arc<std::os::fd::OwnedFd>),
    /// Checked by the walk; names are joined to it.
    Path(PathBuf),
}

impl Dir {
    /// Creates a fresh temporary file ([`TEMP_PREFIX`] and a random
    /// suffix); gives it open for writing, and its name.
    pub(crate) fn create_temp(&self) -> io::Result<(File, String)> {
        let name = format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let file = match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => {
                use rustix::fs::{Mode, OFlags};
                // O_EXCL: a link planted under the name is not followed.
                File::from(rustix::fs::openat(
                    fd,
                    &name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::from_bits_truncate(0o666),
                )?)
            }
            Dir::Path(path) => OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path.join(&name))?,
        };
        Ok((file, name))
    }

    /// Makes the folder `name`.
    #[cfg(target_os = "linux")]
    fn make_folder(&self, name: &str) -> io::Result<()> {
        match self {
            Dir::Fd(fd) => Ok(rustix::fs::mkdirat(
                fd,
                name,
                rustix::fs::Mode::from_bits_truncate(0o777),
            )?),
            Dir::Path(path) => fs::create_dir(path.join(name)),
        }
    }

    /// The metadata of the entry `name`, a link not followed; `None` if
    /// there is none.
    pub(crate) fn entry(&self, name: &str) -> io::Result<Option<Stat>> {
        let stat = match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => rustix::fs::statat(fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                .map(|stat| Stat::from(&stat))
                .map_err(io::Error::from),
            Dir::Path(path) => stat_path(&path.join(name), false),
        };
        match stat {
            Ok(stat) => Ok(Some(stat)),
            Err(err) if is_absent(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Renames `from` to `to`, replacing what `to` names (a link itself,
    /// not what it points to).
    pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => Ok(rustix::fs::renameat(fd, from, fd, to)?),
            Dir::Path(path) => fs::rename(path.join(from), path.join(to)),
        }
    }

    /// Links `to` to the file `from`; fails if `to` exists.
    pub(crate) fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => Ok(rustix::fs::linkat(
                fd,
                from,
                fd,
                to,
                rustix::fs::AtFlags::empty(),
            )?),
            Dir::Path(path) => fs::hard_link(path.join(from), path.join(to)),
        }
    }

    /// Removes the file (or link) `name`.
    pub(crate) fn remove_file(&self, name: &str) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => Ok(rustix::fs::unlinkat(
                fd,
                name,
                rustix::fs::AtFlags::empty(),
            )?),
            Dir::Path(path) => fs::remove_file(path.join(name)),
        }
    }

    /// Removes the empty folder `name`.
    pub(crate) fn remove_folder(&self, name: &str) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => Ok(rustix::fs::unlinkat(
                fd,
                name,
                rustix::fs::AtFlags::REMOVEDIR,
            )?),
            Dir::Path(path) => fs::remove_dir(path.join(name)),
        }
    }

    /// The subfolder `name`; `None` if it is gone, or is now a link (not
    /// followed) or something other than a folder.
    pub(crate) fn child(&self, name: &std::ffi::OsStr) -> io::Result<Option<Dir>> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => {
                use rustix::fs::{Mode, OFlags};
                match rustix::fs::openat(
                    fd,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(child) => Ok(Some(Dir::Fd(Arc::new(child)))),
                    // ELOOP: a link, which O_NOFOLLOW refuses.
                    Err(
                        rustix::io::Errno::NOENT
                        | rustix::io::Errno::NOTDIR
                        | rustix::io::Errno::LOOP,
                    ) => Ok(None),
                    Err(err) => Err(err.into()),
                }
            }
            Dir::Path(path) => Ok(Some(Dir::Path(path.join(name)))),
        }
    }

    /// The entries of the folder with their metadata, links not followed
    /// (`None`: removed while listing).
    pub(crate) fn entries(&self) -> io::Result<Vec<(OsString, Option<Stat>)>> {
        let mut found = Vec::new();
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => {
                use std::os::unix::ffi::OsStrExt;
                let listing = rustix::fs::Dir::new(self.reopen()?)?;
                for entry in listing {
                    let entry = entry?;
                    let name = entry.file_name().to_bytes();
                    if name == b"." || name == b".." {
                        continue;
                    }
                    let name = std::ffi::OsStr::from_bytes(name).to_os_string();
                    let stat = match rustix::fs::statat(
                        fd,
                        name.as_os_str(),
                        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                    ) {
                        Ok(stat) => Some(Stat::from(&stat)),
                        Err(rustix::io::Errno::NOENT) => None,
                        Err(err) => return Err(err.into()),
                    };
                    found.push((name, stat));
                }
            }
            Dir::Path(path) => {
                for entry in fs::read_dir(path)? {
                    let entry = entry?;
                    let stat = match stat_path(&entry.path(), false) {
                        Ok(stat) => Some(stat),
                        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
                        Err(err) => return Err(err),
                    };
                    found.push((entry.file_name(), stat));
                }
            }
        }
        Ok(found)
    }

    /// The folder opened for reading (to list, lock or flush it).
    pub(crate) fn reopen(&self) -> io::Result<File> {
        match self {
            #[cfg(target_os = "linux")]
            Dir::Fd(fd) => {
                use rustix::fs::{Mode, OFlags};
                Ok(File::from(rustix::fs::openat(
                    fd,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?))
            }
            Dir::Path(path) => File::open(path),
        }
    }

    /// Flushes the folder's entries to the disk, unless a concurrent
    /// delete removed the folder meanwhile (then there is nothing left to
    /// flush).
    pub(crate) fn sync_if_present(&self) -> io::Result<()> {
        #[cfg(unix)]
        {
            match self.reopen().and_then(|folder| folder.sync_all()) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                result => result,
            }
        }
        #[cfg(not(unix))]
        {
            // Folders cannot be opened as files here; renames are durable
            // once the file is.
            Ok(())
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::sync::OnceLock;
    use std::time::{Duration, SystemTime};

    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    use super::{Kind, Stat, NO_OPENAT2_VAR};

    /// To read a file; non-blocking so that opening a FIFO returns (it is
    /// then refused as not a regular file).
    pub(super) const READ_FLAGS: OFlags =
        OFlags::RDONLY.union(OFlags::NOCTTY).union(OFlags::NONBLOCK);
    /// To look at something without opening it for reading.
    pub(super) const PATH_FLAGS: OFlags = OFlags::PATH;
    /// A folder to work in by name.
    pub(super) const FOLDER_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);

    /// How many times an `openat2` is tried again when the kernel could
    /// not rule out an escape through `..` during a concurrent rename
    /// (`EAGAIN`).
    const RETRIES: usize = 16;

    /// Opens `path` beneath `root`, with no magic links; `extra` adds
    /// resolve flags.
    pub(super) fn openat2(
        root: &OwnedFd,
        path: &Path,
        flags: OFlags,
        extra: ResolveFlags,
    ) -> io::Result<OwnedFd> {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | extra;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match rustix::fs::openat2(root, path, flags | OFlags::CLOEXEC, Mode::empty(), resolve) {
                Err(Errno::AGAIN | Errno::INTR) if attempt < RETRIES => {}
                result => return result.map_err(io::Error::from),
            }
        }
    }

    /// Whether `openat2` refused a link on the way: one leaving the root
    /// (or absolute), or a magic one, or too many.
    pub(super) fn is_escape(err: &io::Error) -> bool {
        err.raw_os_error() == Some(Errno::XDEV.raw_os_error())
            || err.raw_os_error() == Some(Errno::LOOP.raw_os_error())
    }

    /// Opens the root folder if `openat2` is usable here (found out once
    /// per process); `None` if not.
    pub(super) fn open_root(root: &Path) -> io::Result<Option<OwnedFd>> {
        static USABLE: OnceLock<bool> = OnceLock::new();
        if USABLE.get() == Some(&false) {
            return Ok(None);
        }
        let fd = rustix::fs::open(root, FOLDER_FLAGS | OFlags::CLOEXEC, Mode::empty())?;
        if let Some(&usable) = USABLE.get() {
            return Ok(usable.then_some(fd));
        }
        let usable = if std::env::var_os(NO_OPENAT2_VAR).is_some_and(|v| !v.is_empty() && v != "0")
        {
            tracing::info!(
                target: "dman::fs",
                "{NO_OPENAT2_VAR} is set: paths are checked, then opened by name"
            );
            false
        } else {
            match openat2(&fd, Path::new("."), FOLDER_FLAGS, ResolveFlags::empty()) {
                Ok(_) => true,
                // No openat2 in this kernel (before 5.6), a seccomp filter
                // that refuses it, or an emulation (a sandbox) that does not
                // know its flags.
                Err(err)
                    if [Errno::NOSYS, Errno::PERM, Errno::INVAL, Errno::OPNOTSUPP]
                        .iter()
                        .any(|errno| err.raw_os_error() == Some(errno.raw_os_error())) =>
                {
                    tracing::warn!(
                        target: "dman::fs",
                        "openat2 is not usable ({err}): paths are checked, then opened by \
                         name, which a symbolic link swapped in meanwhile can redirect"
                    );
                    false
                }
                Err(err) => return Err(err),
            }
        };
        let usable = *USABLE.get_or_init(|| usable);
        Ok(usable.then_some(fd))
    }

    /// `n` as another integer type of the same value (the types of the
    /// fields of `stat` differ between architectures).
    fn int<T: TryFrom<F> + Default, F>(n: F) -> T {
        T::try_from(n).unwrap_or_default()
    }

    impl From<&rustix::fs::Stat> for Stat {
        fn from(stat: &rustix::fs::Stat) -> Self {
            use rustix::fs::FileType;
            let kind = match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Folder,
                FileType::Symlink => Kind::Link,
                _ => Kind::Other,
            };
            let (secs, nanos): (i64, i64) = (int(stat.st_mtime), int(stat.st_mtime_nsec));
            // Seconds may be negative (before 1970); nanoseconds never are.
            let whole = Duration::from_secs(secs.unsigned_abs());
            let modified = if secs >= 0 {
                SystemTime::UNIX_EPOCH.checked_add(whole)
            } else {
                SystemTime::UNIX_EPOCH.checked_sub(whole)
            }
            .and_then(|time| time.checked_add(Duration::from_nanos(int(nanos))));
            Stat {
                kind,
                size: int(stat.st_size),
                modified,
                identity: Some((int(stat.st_dev), int(stat.st_ino))),
                mtime: (secs, nanos),
            }
        }
    }
}
