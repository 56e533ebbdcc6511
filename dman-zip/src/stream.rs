//! Entries in pieces: a read decompresses an entry chunk by chunk on a
//! thread of its own, a streamed write compresses chunk by chunk into the
//! staged copy. Neither holds a whole uncompressed file.

use std::io::{Cursor, Read, Seek, Write};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Upload, STREAM_CHUNK};
use dman_core::Operation;
use dman_core::{StorageError, StoragePath, StorageResult};
use zip::write::SimpleFileOptions;
use zip::{ZipArchive, ZipWriter};

use crate::entry::{dos_now, Compression, StagedFile, STAGED_NAME};
use crate::error::ArchiveError;
use crate::ZipBackend;

/// Streamed writes up to this size are kept whole and compressed at once
/// on `finish`, exactly as [`write`](dman_core::StorageBackend::write)
/// does; larger ones are compressed as they come, with ZIP64 fields (their
/// size is not known in advance).
pub(crate) const WHOLE_BELOW: usize = 8 << 20;

/// How many decompressed chunks may wait for the consumer of a stream.
const QUEUED_CHUNKS: usize = 2;

/// Streams entry `index` of `archive`: a thread decompresses it chunk by
/// chunk into a bounded queue (memory: a few chunks), with the checks of
/// [`read_entry`](crate::entry::read_entry) (declared size, limit,
/// checksum). An error ends the stream.
pub(crate) fn entry_stream<R: Read + Seek + Send + 'static>(
    mut archive: ZipArchive<R>,
    index: usize,
    name: Arc<str>,
    declared: u64,
    limit: u64,
    location: String,
    path: StoragePath,
) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<StorageResult<Bytes>>(QUEUED_CHUNKS);
    let work = move || {
        let sent = decompress(&mut archive, index, &name, declared, limit, |chunk| {
            sender.blocking_send(Ok(chunk)).is_ok()
        });
        if let Err(err) = sent {
            let _ = sender.blocking_send(Err(StorageError::failed(
                location,
                &path,
                Operation::Read,
                err,
            )));
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn_blocking(work)),
        Err(_) => drop(std::thread::spawn(work)),
    }
    Box::pin(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ))
}

/// Decompresses entry `index` chunk by chunk into `send`, which says
/// whether to go on (the consumer may have gone).
fn decompress<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    declared: u64,
    limit: u64,
    mut send: impl FnMut(Bytes) -> bool,
) -> Result<(), ArchiveError> {
    let entry_error = |source| ArchiveError::Entry {
        name: name.to_owned(),
        source,
    };
    if declared > limit {
        return Err(ArchiveError::DeclaredTooLarge {
            name: name.to_owned(),
            declared,
            limit,
        });
    }
    let mut entry = archive.by_index(index).map_err(entry_error)?;
    if entry.encrypted() {
        return Err(ArchiveError::Encrypted {
            name: name.to_owned(),
        });
    }
    // One byte past the declared size tells a lying header.
    let mut reader = (&mut entry).take(declared.saturating_add(1));
    let mut total: u64 = 0;
    loop {
        let mut chunk = vec![0; STREAM_CHUNK];
        let mut filled = 0;
        while filled < chunk.len() {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(entry_error(zip::result::ZipError::Io(err))),
            }
        }
        if filled == 0 {
            break;
        }
        total += filled as u64;
        if total > declared {
            return Err(ArchiveError::LargerThanDeclared {
                name: name.to_owned(),
                declared,
            });
        }
        chunk.truncate(filled);
        if !send(Bytes::from(chunk)) {
            return Ok(());
        }
    }
    if total < declared {
        return Err(ArchiveError::SmallerThanDeclared {
            name: name.to_owned(),
            declared,
            actual: total,
        });
    }
    Ok(())
}

/// Reads the one entry of a staged archive in chunks.
pub(crate) fn staged_stream(
    file: &StagedFile,
    name: Arc<str>,
    limit: u64,
    location: String,
    path: StoragePath,
) -> StorageResult<ByteStream> {
    let archive = ZipArchive::new(Cursor::new(file.archive.clone())).map_err(|source| {
        StorageError::failed(
            location.clone(),
            &path,
            Operation::Read,
            ArchiveError::Entry {
                name: name.to_string(),
                source,
            },
        )
    })?;
    Ok(entry_stream(
        archive, 0, name, file.size, limit, location, path,
    ))
}

/// A streamed write into the archive: staged, like every write, and
/// visible (staged) only when `finish` returns. Files up to
/// [`WHOLE_BELOW`] bytes are gathered and compressed on `finish`; larger
/// ones are compressed chunk by chunk into the staged copy. Memory: the
/// compressed size of the file (which a staged write costs anyway, until
/// the flush) plus at most [`WHOLE_BELOW`] bytes, never the whole
/// uncompressed file.
pub(crate) struct ZipUpload {
    pub(crate) backend: ZipBackend,
    pub(crate) path: StoragePath,
    pub(crate) compression: Compression,
    pub(crate) limit: u64,
    pub(crate) gathered: Vec<u8>,
    /// Once the file outgrew [`WHOLE_BELOW`]; `None` while a chunk is being
    /// compressed on the blocking pool, or after an error.
    pub(crate) writer: Option<ZipWriter<Cursor<Vec<u8>>>>,
    pub(crate) compressing: bool,
    pub(crate) size: u64,
}

impl ZipUpload {
    fn failed(&self, err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StorageError {
        StorageError::failed(
            self.backend.location_str(),
            &self.path,
            Operation::Write,
            err,
        )
    }

    fn compress_error(&self, source: zip::result::ZipError) -> StorageError {
        self.failed(ArchiveError::Compression {
            method: self.compression.method,
            level: self.compression.level,
            source,
        })
    }

    async fn compress(&mut self, data: Vec<u8>) -> StorageResult<()> {
        let writer = match self.writer.take() {
            Some(writer) => writer,
            None if !self.compressing => {
                let options = SimpleFileOptions::default()
                    .compression_method(self.compression.method)
                    .compression_level(self.compression.level)
                    .large_file(true)
                    .last_modified_time(dos_now())
                    .unix_permissions(0o644);
                let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
                writer
                    .start_file(STAGED_NAME, options)
                    .map_err(|err| self.compress_error(err))?;
                self.compressing = true;
                writer
            }
            None => return Err(self.failed("an earlier chunk failed; the upload cannot go on")),
        };
        let written = self
            .backend
            .blocking(move || {
                let mut writer = writer;
                writer.write_all(&data).map(|()| writer)
            })
            .await
            .map_err(|err| self.failed(err))?;
        match written {
            Ok(writer) => {
                self.writer = Some(writer);
                Ok(())
            }
            Err(err) => Err(self.compress_error(zip::result::ZipError::Io(err))),
        }
    }
}

#[async_trait]
impl Upload for ZipUpload {
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(self.failed(ArchiveError::DeclaredTooLarge {
                name: self.path.to_string(),
                declared: self.size,
                limit: self.limit,
            }));
        }
        if !self.compressing && self.gathered.len() + chunk.len() <= WHOLE_BELOW {
            self.gathered.extend_from_slice(&chunk);
            return Ok(());
        }
        let mut data = std::mem::take(&mut self.gathered);
        data.extend_from_slice(&chunk);
        self.compress(data).await
    }

    async fn finish(mut self: Box<Self>) -> StorageResult<()> {
        let file = if self.compressing {
            let writer = self
                .writer
                .take()
                .ok_or_else(|| self.failed("an earlier chunk failed; the upload cannot go on"))?;
            let size = self.size;
            let finished = self
                .backend
                .blocking(move || writer.finish())
                .await
                .map_err(|err| self.failed(err))?;
            let archive = finished.map_err(|err| self.compress_error(err))?;
            StagedFile {
                archive: Bytes::from(archive.into_inner()),
                size,
                written: SystemTime::now(),
            }
        } else {
            let data = std::mem::take(&mut self.gathered);
            let compression = self.compression;
            self.backend
                .blocking(move || StagedFile::compress(&data, compression))
                .await
                .map_err(|err| self.failed(err))?
                .map_err(|err| self.failed(err))?
        };
        self.backend.stage(&self.path, file);
        Ok(())
    }

    async fn abort(self: Box<Self>) -> StorageResult<()> {
        Ok(())
    }
}
