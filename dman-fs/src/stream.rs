//! Files in pieces ([`StorageBackend::read_stream`],
//! [`StorageBackend::write_stream`]), sizes without reads
//! ([`StorageBackend::head`]) and the debris of killed writes
//! ([`StorageBackend::leftovers`]).
//!
//! [`StorageBackend::read_stream`]: dman_core::StorageBackend::read_stream
//! [`StorageBackend::write_stream`]: dman_core::StorageBackend::write_stream
//! [`StorageBackend::head`]: dman_core::StorageBackend::head
//! [`StorageBackend::leftovers`]: dman_core::StorageBackend::leftovers

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Leftover, LeftoverKind, Upload, STREAM_CHUNK};
use dman_core::Operation;
use dman_core::{ObjectMeta, StorageError, StoragePath, StorageResult};

use crate::beneath::{is_absent, Dir, Kind, Refused};
use crate::{sync_written, FsBackend, Prepared, TempGuard, TEMP_PREFIX};

/// Runs blocking work on Tokio's blocking pool, or on this thread outside
/// a Tokio runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work).await.map_err(io::Error::other),
        Err(_) => Ok(work()),
    }
}

/// A file opened for a stream, with its first chunk already read.
pub(crate) struct Opened {
    chunk: Vec<u8>,
    /// `None` once the end of the file was reached.
    file: Option<File>,
}

/// Reads the next chunk of `file`, of at most [`STREAM_CHUNK`] bytes
/// (`expected` sizes the buffer); the file is given back unless its end
/// was reached.
fn read_chunk(mut file: File, expected: u64) -> io::Result<(Vec<u8>, Option<File>)> {
    let limit = STREAM_CHUNK as u64;
    let mut chunk = Vec::with_capacity(expected.min(limit) as usize);
    // `read_to_end` stops at the end of the file only: a short read is
    // not the end.
    let read = (&mut file).take(limit).read_to_end(&mut chunk)?;
    let more = read as u64 == limit;
    Ok((chunk, more.then_some(file)))
}

impl FsBackend {
    pub(crate) fn head_blocking(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        match self.file_stat(path, Operation::Head)? {
            Some(stat) => Ok(ObjectMeta {
                path: path.clone(),
                size: stat.size,
                last_modified: stat.modified,
                content_md5: None,
            }),
            None => Err(self.not_found(path)),
        }
    }

    /// Opens `path` and reads its first chunk, in one trip to the blocking
    /// pool.
    pub(crate) fn open_blocking(&self, path: &StoragePath) -> StorageResult<Opened> {
        let (file, stat) = self.open_file(path, Operation::Read)?;
        let (chunk, file) =
            read_chunk(file, stat.size).map_err(|err| self.failed(path, Operation::Read, err))?;
        Ok(Opened { chunk, file })
    }

    /// The stream of an opened file: its first chunk, then chunks of
    /// [`STREAM_CHUNK`] bytes, each read on the blocking pool.
    pub(crate) fn chunks(&self, path: &StoragePath, opened: Opened) -> ByteStream {
        let this = self.clone();
        let path = path.clone();
        let first = futures::stream::iter(
            (!opened.chunk.is_empty()).then(|| Ok(Bytes::from(opened.chunk))),
        );
        let rest = futures::stream::unfold(opened.file, move |file| {
            let this = this.clone();
            let path = path.clone();
            async move {
                let file = file?;
                let read = blocking(move || read_chunk(file, STREAM_CHUNK as u64))
                    .await
                    .and_then(|result| result);
                match read {
                    Ok((chunk, _)) if chunk.is_empty() => None,
                    Ok((chunk, file)) => Some((Ok(Bytes::from(chunk)), file)),
                    Err(err) => Some((Err(this.failed(&path, Operation::Read, err)), None)),
                }
            }
        });
        Box::pin(futures::StreamExt::chain(first, rest))
    }

    /// Starts a streamed write: checks the path as `write` does and creates
    /// the temporary file beside the target.
    pub(crate) fn start_upload(&self, path: &StoragePath) -> StorageResult<FsUpload> {
        let Prepared {
            dir,
            name,
            created,
            file,
            temp,
        } = self.prepare(path, Operation::Write)?;
        Ok(FsUpload {
            backend: self.clone(),
            path: path.clone(),
            dir,
            name,
            created,
            file: Some(file),
            temp,
        })
    }

    pub(crate) fn leftovers_blocking(&self) -> StorageResult<Vec<Leftover>> {
        let root = StoragePath::root();
        let failed = |err| self.failed(&root, Operation::ListLeftovers, err);
        let mut found = Vec::new();
        let Ok(Some(top)) = self.beneath.folder(&[]) else {
            return Ok(found);
        };
        // Links are never followed: what they lead to is not ours.
        let mut pending: Vec<(Dir, Option<OsString>, PathBuf)> = vec![(top, None, PathBuf::new())];
        while let Some((parent, name, relative)) = pending.pop() {
            let folder = match name {
                None => parent,
                Some(name) => match parent.child(&name) {
                    Ok(Some(folder)) => folder,
                    Ok(None) => continue,
                    Err(err) => return Err(failed(err)),
                },
            };
            let entries = match folder.entries() {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(failed(err)),
            };
            for (name, stat) in entries {
                let Some(stat) = stat else {
                    // Renamed into place or removed meanwhile.
                    continue;
                };
                let local = relative.join(&name);
                if stat.kind == Kind::Folder {
                    pending.push((folder.clone(), Some(name), local));
                    continue;
                }
                let is_temp = name
                    .to_str()
                    .is_some_and(|name| name.starts_with(TEMP_PREFIX));
                if stat.kind != Kind::File || !is_temp {
                    continue;
                }
                let local = self.root().join(local);
                let Some(name) = relative_name(self.root(), &local) else {
                    continue;
                };
                found.push(Leftover {
                    name,
                    kind: LeftoverKind::TempFile,
                    size: stat.size,
                    last_modified: stat.modified,
                    id: local.to_string_lossy().into_owned(),
                });
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    pub(crate) fn remove_leftover_blocking(&self, leftover: &Leftover) -> StorageResult<()> {
        let root = StoragePath::root();
        let failed = |err| self.failed(&root, Operation::RemoveLeftover, err);
        let refuse = |why: &str| {
            self.failed(
                &root,
                Operation::RemoveLeftover,
                format!(
                    "`{}` is not a leftover of this backend: {why}",
                    leftover.name
                ),
            )
        };
        if leftover.kind != LeftoverKind::TempFile {
            return Err(refuse("not a temporary file"));
        }
        let local = PathBuf::from(&leftover.id);
        let Some(relative) = relative_name(self.root(), &local) else {
            return Err(refuse("not under the root"));
        };
        if relative != leftover.name {
            return Err(refuse("its name and its file disagree"));
        }
        let rel: Vec<&str> = relative.split('/').collect();
        let Some((name, folders)) = rel.split_last() else {
            return Err(refuse("not under the root"));
        };
        if !name.starts_with(TEMP_PREFIX) {
            return Err(refuse(&format!(
                "its name does not start with `{TEMP_PREFIX}`"
            )));
        }
        // Every folder on the way must be a real folder, not a link that
        // could lead out of the root.
        let dir = match self.beneath.real_folder(folders) {
            Ok(Some(dir)) => dir,
            Ok(None) => return Ok(()),
            Err(Refused::Io(err)) => return Err(failed(err)),
            Err(_) => return Err(refuse("a folder on its way is not a folder")),
        };
        match dir.entry(name).map_err(failed)? {
            Some(stat) if stat.kind == Kind::File => {}
            Some(_) => return Err(refuse("not a regular file")),
            None => return Ok(()),
        }
        match dir.remove_file(name) {
            Ok(()) => {}
            Err(err) if is_absent(&err) => return Ok(()),
            Err(err) => return Err(failed(err)),
        }
        self.prune(folders);
        Ok(())
    }
}

/// `local` relative to `root`, with `/` between its parts.
fn relative_name(root: &Path, local: &Path) -> Option<String> {
    let relative = local.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|component| match component {
            std::path::Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    let parts = parts?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A streamed write to the local folder: the chunks go to a temporary file
/// beside the target as they come (memory: one chunk), which `finish`
/// renames over the target, with the durability of
/// [`FsBackend::durable`]. Dropped unfinished, the temporary file is
/// removed; a killed process leaves it, as a [`Leftover`].
pub(crate) struct FsUpload {
    backend: FsBackend,
    path: StoragePath,
    /// The target's folder, and the target's name in it.
    dir: Dir,
    name: String,
    /// The folders in which the write made one (to flush, if durable).
    created: Vec<Dir>,
    /// `None` only while a chunk is being written on the blocking pool.
    file: Option<File>,
    temp: TempGuard,
}

impl FsUpload {
    fn failed(&self, err: io::Error) -> StorageError {
        self.backend.failed(&self.path, Operation::Write, err)
    }

    fn file(&mut self) -> StorageResult<File> {
        self.file.take().ok_or_else(|| {
            self.backend.failed(
                &self.path,
                Operation::Write,
                "an earlier chunk failed half-way; the upload cannot go on",
            )
        })
    }
}

#[async_trait]
impl Upload for FsUpload {
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut file = self.file()?;
        let written = blocking(move || file.write_all(&chunk).map(|()| file))
            .await
            .and_then(|result| result);
        match written {
            Ok(file) => {
                self.file = Some(file);
                Ok(())
            }
            Err(err) => Err(self.failed(err)),
        }
    }

    async fn finish(mut self: Box<Self>) -> StorageResult<()> {
        let file = self.file()?;
        let durable = self.backend.durable;
        let temp = self.temp.name.clone();
        let (dir, name) = (self.dir.clone(), self.name.clone());
        let created = std::mem::take(&mut self.created);
        let done = blocking(move || -> io::Result<()> {
            if durable {
                file.sync_all()?;
            }
            drop(file);
            dir.rename(&temp, &name)?;
            if durable {
                sync_written(&dir, &created)?;
            }
            Ok(())
        })
        .await
        .and_then(|result| result);
        // Renamed or not, the temporary name is gone or to be removed: the
        // guard removes it unless the rename happened.
        if done.is_ok() || !matches!(self.dir.entry(&self.temp.name), Ok(Some(_))) {
            self.temp.armed = false;
        }
        done.map_err(|err| self.failed(err))
    }

    async fn abort(self: Box<Self>) -> StorageResult<()> {
        // The guard removes the temporary file when `self` is dropped.
        Ok(())
    }
}
