//! Objects in pieces: a `GET` read as its body arrives, and uploads fed
//! chunk by chunk (one `PUT` below the multipart threshold, a multipart
//! upload above it).

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::Upload;
use dman_core::Operation;
use dman_core::{StorageBackend, StoragePath, StorageResult};
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};

use crate::backend::ObjectStoreBackend;

/// A streamed write to an object store. Chunks are gathered up to the
/// backend's multipart threshold (16 MiB by default) and written with one
/// `PUT` on `finish`; past it, a multipart upload starts and parts of the
/// part size go out as they fill, at most the part concurrency at once
/// (memory: the threshold, or part size times part concurrency, whatever
/// the object's size). The object appears when the upload completes;
/// `abort`, or dropping the upload, aborts it (the drop, in the background,
/// as far as a Tokio runtime is there to run it).
pub(crate) struct StoreUpload {
    pub(crate) backend: ObjectStoreBackend,
    pub(crate) path: StoragePath,
    pub(crate) key: Path,
    pub(crate) gathered: Vec<Bytes>,
    pub(crate) gathered_len: usize,
    pub(crate) multipart: Option<WriteMultipart>,
    /// Set once an error ended the upload.
    pub(crate) broken: bool,
}

impl StoreUpload {
    async fn fail(&mut self, err: object_store::Error) -> dman_core::StorageError {
        self.broken = true;
        if let Some(multipart) = self.multipart.take() {
            if let Err(abort) = multipart.abort().await {
                tracing::warn!(
                    target: "dman::s3",
                    key = %self.key,
                    "could not abort a failed multipart upload: {abort}"
                );
            }
        }
        self.backend.failed_pub(&self.path, Operation::Write, err)
    }

    fn check(&self) -> StorageResult<()> {
        if self.broken {
            return Err(self.backend.failed_pub(
                &self.path,
                Operation::Write,
                object_store::Error::Generic {
                    store: "dman",
                    source: "an earlier chunk failed; the upload cannot go on".into(),
                },
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Upload for StoreUpload {
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()> {
        self.check()?;
        if self.multipart.is_none()
            && self.gathered_len + chunk.len() <= self.backend.multipart_threshold()
        {
            self.gathered_len += chunk.len();
            self.gathered.push(chunk);
            return Ok(());
        }
        if self.multipart.is_none() {
            match self.backend.store().put_multipart(&self.key).await {
                Ok(upload) => {
                    let mut multipart =
                        WriteMultipart::new_with_chunk_size(upload, self.backend.part_size());
                    for gathered in self.gathered.drain(..) {
                        multipart.put(gathered);
                    }
                    self.gathered_len = 0;
                    self.multipart = Some(multipart);
                }
                Err(err) => return Err(self.fail(err).await),
            }
        }
        let concurrency = self.backend.part_concurrency();
        let waited = match self.multipart.as_mut() {
            Some(multipart) => {
                multipart.put(chunk);
                multipart.wait_for_capacity(concurrency).await
            }
            None => Ok(()),
        };
        match waited {
            Ok(()) => Ok(()),
            Err(err) => Err(self.fail(err).await),
        }
    }

    async fn finish(mut self: Box<Self>) -> StorageResult<()> {
        self.check()?;
        if let Some(multipart) = self.multipart.take() {
            // `finish` aborts the upload itself when a part or the
            // completion fails.
            return match multipart.finish().await {
                Ok(_) => Ok(()),
                Err(err) => {
                    self.broken = true;
                    Err(self.backend.failed_pub(&self.path, Operation::Write, err))
                }
            };
        }
        let data = match self.gathered.len() {
            0 => Bytes::new(),
            1 => self.gathered.remove(0),
            _ => {
                let mut whole = Vec::with_capacity(self.gathered_len);
                for chunk in &self.gathered {
                    whole.extend_from_slice(chunk);
                }
                Bytes::from(whole)
            }
        };
        self.backend.write(&self.path, data).await
    }

    async fn abort(mut self: Box<Self>) -> StorageResult<()> {
        match self.multipart.take() {
            Some(multipart) => multipart
                .abort()
                .await
                .map_err(|err| self.backend.failed_pub(&self.path, Operation::Write, err)),
            None => Ok(()),
        }
    }
}

impl Drop for StoreUpload {
    fn drop(&mut self) {
        let Some(multipart) = self.multipart.take() else {
            return;
        };
        // Unfinished: free the parts sent. Without a runtime the upload is
        // left to `leftovers`.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let key = self.key.clone();
            handle.spawn(async move {
                if let Err(abort) = multipart.abort().await {
                    tracing::warn!(
                        target: "dman::s3",
                        %key,
                        "could not abort an abandoned multipart upload: {abort}"
                    );
                }
            });
        }
    }
}
