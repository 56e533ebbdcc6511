//! Files in pieces ([`StorageBackend::read_stream`],
//! [`StorageBackend::write_stream`]), sizes without reads
//! ([`StorageBackend::head`]) and the debris of killed writes
//! ([`StorageBackend::leftovers`]).
//!
//! [`StorageBackend::read_stream`]: dman_core::StorageBackend::read_stream
//! [`StorageBackend::write_stream`]: dman_core::StorageBackend::write_stream
//! [`StorageBackend::head`]: dman_core::StorageBackend::head
//! [`StorageBackend::leftovers`]: dman_core::StorageBackend::leftovers

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Leftover, LeftoverKind, Upload, STREAM_CHUNK};
use dman_core::Operation;
use dman_core::{ObjectMeta, StorageError, StoragePath, StorageResult};

use crate::{create_temp, sync_folder_if_present, FsBackend, State, TempGuard, TEMP_PREFIX};

/// Runs blocking work on Tokio's blocking pool, or on this thread outside
/// a Tokio runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work).await.map_err(io::Error::other),
        Err(_) => Ok(work()),
    }
}

impl FsBackend {
    pub(crate) fn head_blocking(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        let resolved = self.resolve(path, Operation::Head)?;
        if resolved.state != State::File {
            return Err(self.not_found(path));
        }
        // `resolve` checked every link on the way; `metadata` follows the
        // last one, which it found inside the root.
        match fs::metadata(&resolved.local) {
            Ok(meta) => Ok(ObjectMeta {
                path: path.clone(),
                size: meta.len(),
                last_modified: meta.modified().ok(),
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(self.not_found(path)),
            Err(err) => Err(self.failed(path, Operation::Head, err)),
        }
    }

    pub(crate) fn open_blocking(&self, path: &StoragePath) -> StorageResult<File> {
        let resolved = self.resolve(path, Operation::Read)?;
        if resolved.state != State::File {
            return Err(self.not_found(path));
        }
        match File::open(&resolved.local) {
            Ok(file) => Ok(file),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(self.not_found(path)),
            Err(err) => Err(self.failed(path, Operation::Read, err)),
        }
    }

    /// The stream of an open file: chunks of [`STREAM_CHUNK`] bytes, each
    /// read on the blocking pool.
    pub(crate) fn chunks(&self, path: &StoragePath, file: File) -> ByteStream {
        let this = self.clone();
        let path = path.clone();
        Box::pin(futures::stream::unfold(Some(file), move |file| {
            let this = this.clone();
            let path = path.clone();
            async move {
                let mut file = file?;
                let read = blocking(move || {
                    let mut buffer = vec![0; STREAM_CHUNK];
                    let mut filled = 0;
                    // Fill the chunk: a short read is not the end.
                    while filled < buffer.len() {
                        match file.read(&mut buffer[filled..]) {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                            Err(err) => return Err(err),
                        }
                    }
                    buffer.truncate(filled);
                    Ok((buffer, file))
                })
                .await
                .and_then(|result| result);
                match read {
                    Ok((buffer, _)) if buffer.is_empty() => None,
                    Ok((buffer, file)) => Some((Ok(Bytes::from(buffer)), Some(file))),
                    Err(err) => Some((Err(this.failed(&path, Operation::Read, err)), None)),
                }
            }
        }))
    }

    /// Starts a streamed write: checks the path as `write` does and creates
    /// the temporary file beside the target.
    pub(crate) fn start_upload(&self, path: &StoragePath) -> StorageResult<FsUpload> {
        let target = self.writable(path, Operation::Write)?;
        let folder = target
            .parent()
            .ok_or_else(|| self.failed(path, Operation::Write, "the root is a folder, not a file"))?
            .to_path_buf();
        let new_folders = if self.durable {
            self.missing_folders(&folder)
        } else {
            Vec::new()
        };
        let (file, temp) =
            create_temp(&folder).map_err(|err| self.failed(path, Operation::Write, err))?;
        Ok(FsUpload {
            backend: self.clone(),
            path: path.clone(),
            target,
            folder,
            new_folders,
            file: Some(file),
            temp: TempGuard {
                path: temp,
                armed: true,
            },
        })
    }

    pub(crate) fn leftovers_blocking(&self) -> StorageResult<Vec<Leftover>> {
        let root = StoragePath::root();
        let mut found = Vec::new();
        let mut pending = vec![self.root.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(self.failed(&root, Operation::ListLeftovers, err)),
            };
            for entry in entries {
                let entry =
                    entry.map_err(|err| self.failed(&root, Operation::ListLeftovers, err))?;
                // Links are never followed: what they lead to is not ours.
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                if file_type.is_dir() {
                    pending.push(entry.path());
                    continue;
                }
                let is_temp = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.starts_with(TEMP_PREFIX));
                if !file_type.is_file() || !is_temp {
                    continue;
                }
                let Ok(meta) = entry.metadata() else {
                    // Renamed into place or removed meanwhile.
                    continue;
                };
                let local = entry.path();
                let Some(name) = relative_name(&self.root, &local) else {
                    continue;
                };
                found.push(Leftover {
                    name,
                    kind: LeftoverKind::TempFile,
                    size: meta.len(),
                    last_modified: meta.modified().ok(),
                    id: local.to_string_lossy().into_owned(),
                });
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    pub(crate) fn remove_leftover_blocking(&self, leftover: &Leftover) -> StorageResult<()> {
        let root = StoragePath::root();
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
        let Some(relative) = relative_name(&self.root, &local) else {
            return Err(refuse("not under the root"));
        };
        if relative != leftover.name {
            return Err(refuse("its name and its file disagree"));
        }
        let is_temp = local
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(TEMP_PREFIX));
        if !is_temp {
            return Err(refuse(&format!(
                "its name does not start with `{TEMP_PREFIX}`"
            )));
        }
        // Every folder on the way must be a real folder, not a link that
        // could lead out of the root.
        let mut current = self.root.to_path_buf();
        let folders: Vec<_> = Path::new(&relative).components().collect();
        for component in &folders[..folders.len().saturating_sub(1)] {
            current.push(component);
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(refuse("a folder on its way is not a folder")),
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(err) => return Err(self.failed(&root, Operation::RemoveLeftover, err)),
            }
        }
        match fs::symlink_metadata(&local) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(refuse("not a regular file")),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.failed(&root, Operation::RemoveLeftover, err)),
        }
        match fs::remove_file(&local) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.failed(&root, Operation::RemoveLeftover, err)),
        }
        self.prune(&local);
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
    target: PathBuf,
    folder: PathBuf,
    new_folders: Vec<PathBuf>,
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
        let temp = self.temp.path.clone();
        let target = self.target.clone();
        let folder = self.folder.clone();
        let new_folders = std::mem::take(&mut self.new_folders);
        let done = blocking(move || -> io::Result<()> {
            if durable {
                file.sync_all()?;
            }
            drop(file);
            fs::rename(&temp, &target)?;
            if durable {
                sync_folder_if_present(&folder)?;
                for created in &new_folders {
                    if let Some(parent) = created.parent() {
                        sync_folder_if_present(parent)?;
                    }
                }
            }
            Ok(())
        })
        .await
        .and_then(|result| result);
        // Renamed or not, the temporary name is gone or to be removed: the
        // guard removes it unless the rename happened.
        if done.is_ok() || fs::symlink_metadata(&self.temp.path).is_err() {
            self.temp.armed = false;
        }
        done.map_err(|err| self.failed(err))
    }

    async fn abort(self: Box<Self>) -> StorageResult<()> {
        // The guard removes the temporary file when `self` is dropped.
        Ok(())
    }
}
