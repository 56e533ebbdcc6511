//! [`ObjectStoreBackend`]: the storage contract on any `object_store` store.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::storage::{ByteStream, Leftover, LeftoverKind, Payload, Upload};
use dman_core::Operation;
use dman_core::{
    ObjectMeta, StorageBackend, StorageError, StoragePath, StorageResult, Version, WriteCondition,
};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use tokio::sync::OnceCell;

use crate::error::{classify, FailureKind, ObjectStoreFailure};
use crate::uploads::Uploads;

/// Writes larger than this many bytes are uploaded in parts (16 MiB).
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;

/// The size of each part of a multipart upload but the last (8 MiB; S3
/// wants at least 5 MiB).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// How many parts of one multipart upload are sent at once.
pub const DEFAULT_PART_CONCURRENCY: usize = 4;

/// A storage backend over any [`ObjectStore`]: Amazon S3 and S3-compatible
/// servers, Google Cloud Storage, Azure Blob Storage, a local folder or
/// memory, whichever `object_store` builds.
///
/// Every file lives at the object key `<prefix>/<path>` (`<path>` when the
/// prefix is empty). How the contract maps onto objects:
///
/// * **Atomic writes.** An object store replaces a whole object at once: a
///   single `PUT` for writes of up to [`multipart threshold`](Self::with_multipart_threshold)
///   bytes, a multipart upload above it, whose object appears only when the
///   upload completes. A write that fails (or a multipart upload that is
///   aborted) leaves the previous version of the object in place.
/// * **Listing** follows the store's pagination (S3 returns at most 1000
///   keys a page) and asks for `<prefix>/<path>/`, so `a/b` never lists
///   `a/bc`. Keys that are not valid storage paths (`a//b`, `a/../b`,
///   written by other tools) are left out, with a warning in the log.
/// * **Folders do not exist**: `exists` is a `HEAD` of the key, a delete
///   has no folder to prune, and the root is never a file.
/// * **`copy`** is the store's server-side copy.
/// * **Versions and conditional writes** use the store's own: a version is
///   the object's ETag, read from the same `GET` as the bytes; *create
///   only* is a `PUT` with `If-None-Match: *`, *replace if unchanged* one
///   with `If-Match: <etag>` (object_store's `PutMode::Create` and
///   `PutMode::Update`; S3 has honoured both since 2024). A conditional
///   write is always one `PUT` (up to 5 GiB), since `object_store` puts no
///   condition on multipart uploads. For a server that ignores the headers,
///   turn them off with [`with_conditional_writes`](Self::with_conditional_writes):
///   what needs them then fails with a clear error instead of racing.
/// * **Concurrency**: the backend never serializes requests; a save issues
///   up to [`Repo::with_concurrency`](dman_core::Repo::with_concurrency)
///   writes at once (16 by default), and a multipart upload sends up to
///   [`part concurrency`](Self::with_part_concurrency) parts at once.
/// * **Retries and timeouts** are those of the store's own configuration
///   (see [`S3Builder`](crate::S3Builder) for the defaults of S3).
/// * **Errors** name the backend's location, the path, and in their
///   source (an [`ObjectStoreFailure`]) the container and full key and what
///   went wrong. A missing object is [`StorageError::NotFound`]; a missing
///   bucket is not: the first time a request finds nothing, the backend
///   lists its prefix once to tell "no such key" from "no such bucket".
///
/// Clones share the store and what the backend learnt about it.
#[derive(Clone)]
pub struct ObjectStoreBackend {
    store: Arc<dyn ObjectStore>,
    prefix: StoragePath,
    location: String,
    container: String,
    multipart_threshold: usize,
    part_size: usize,
    part_concurrency: usize,
    /// Whether conditional writes are offered (see the type's docs).
    conditional_writes: bool,
    /// Set once a listing of the prefix succeeded: the container exists.
    container_checked: Arc<OnceCell<()>>,
    /// What lists incomplete multipart uploads (S3 only).
    uploads: Option<Arc<Uploads>>,
}

/// The largest object one `PUT` may write on S3 (5 GiB).
const MAX_SINGLE_PUT: usize = 5 * 1024 * 1024 * 1024;

impl ObjectStoreBackend {
    /// A backend at the root of `store`. Its location (in errors) is the
    /// store's description, such as `InMemory` or `AmazonS3(bucket)`; set
    /// a better one with [`with_location`](Self::with_location).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        let location = store.to_string();
        ObjectStoreBackend {
            container: format!("store `{location}`"),
            store,
            prefix: StoragePath::root(),
            location,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            part_concurrency: DEFAULT_PART_CONCURRENCY,
            conditional_writes: true,
            container_checked: Arc::new(OnceCell::new()),
            uploads: None,
        }
    }

    /// Lists and aborts incomplete multipart uploads with `uploads`.
    pub(crate) fn with_uploads(mut self, uploads: Arc<Uploads>) -> Self {
        self.uploads = Some(uploads);
        self
    }

    /// The MD5 an object's `ETag` stands for, in lowercase hex: on S3 only
    /// (the backends made by [`S3Builder`](crate::S3Builder)), and only a
    /// plain one. A multipart upload's `ETag` is the MD5 of its parts'
    /// MD5s with `-<parts>` at the end, and other stores' tags are
    /// versions, not checksums.
    fn content_md5(&self, e_tag: Option<&str>) -> Option<String> {
        self.uploads.as_ref()?;
        let tag = e_tag?;
        let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
        (tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| tag.to_ascii_lowercase())
    }

    /// The start every key of this backend has (`prefix/`, or nothing).
    fn key_start(&self) -> String {
        if self.prefix.is_root() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// Keeps every file under the key prefix `prefix` (a folder of the
    /// store). The location, unless set with
    /// [`with_location`](Self::with_location) afterwards, gets the prefix
    /// appended.
    pub fn with_prefix(mut self, prefix: StoragePath) -> Self {
        if !prefix.is_root() {
            self.location = format!("{}/{}", self.location.trim_end_matches('/'), prefix);
        }
        self.prefix = prefix;
        self
    }

    /// The location reported by [`StorageBackend::location`] and named in
    /// errors, such as `s3://bucket/prefix`.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// How errors name the container, such as ``bucket `results` ``.
    pub fn with_container_name(mut self, container: impl Into<String>) -> Self {
        self.container = container.into();
        self
    }

    /// Writes larger than `bytes` are uploaded in parts (default
    /// [`DEFAULT_MULTIPART_THRESHOLD`], 16 MiB); smaller ones are one `PUT`.
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// The size of each part of a multipart upload but the last (default
    /// [`DEFAULT_PART_SIZE`], 8 MiB). S3 refuses parts below 5 MiB other
    /// than the last; at most 10 000 parts make an object. Zero counts as
    /// one byte.
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// How many parts of one multipart upload are sent at once (default
    /// [`DEFAULT_PART_CONCURRENCY`]). Zero counts as one.
    pub fn with_part_concurrency(mut self, parts: usize) -> Self {
        self.part_concurrency = parts.max(1);
        self
    }

    /// Whether to offer conditional writes (default: on). Turn them off for
    /// a server that ignores `If-None-Match`/`If-Match`; many writers on one
    /// key are then refused with a clear error rather than left to race.
    pub fn with_conditional_writes(mut self, on: bool) -> Self {
        self.conditional_writes = on;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key prefix (the root when there is none).
    pub fn prefix(&self) -> &StoragePath {
        &self.prefix
    }

    /// The multipart threshold in bytes.
    pub fn multipart_threshold(&self) -> usize {
        self.multipart_threshold
    }

    /// The part size in bytes.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// How many parts of one upload are sent at once.
    pub fn part_concurrency(&self) -> usize {
        self.part_concurrency
    }

    /// The object key of `path`: the prefix joined with the path.
    pub fn object_key(&self, path: &StoragePath) -> String {
        self.prefix.join_path(path).into_string()
    }

    /// The `object_store` path of `path`, refused when the key is not one
    /// an object store accepts (a control character).
    fn key(&self, path: &StoragePath, op: Operation) -> StorageResult<Path> {
        let key = self.object_key(path);
        Path::parse(&key).map_err(|err| {
            self.failure(
                path,
                op,
                FailureKind::InvalidKey,
                Some(Box::new(object_store::Error::from(err))),
            )
        })
    }

    /// The prefix as an `object_store` path, `None` at the root of the
    /// store.
    fn prefix_key(&self, prefix: &StoragePath, op: Operation) -> StorageResult<Option<Path>> {
        let full = self.prefix.join_path(prefix);
        if full.is_root() {
            return Ok(None);
        }
        self.key(prefix, op).map(Some)
    }

    fn failure(
        &self,
        path: &StoragePath,
        op: Operation,
        kind: FailureKind,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StorageError {
        StorageError::failed(
            self.location.clone(),
            path,
            op,
            ObjectStoreFailure::new(kind, &self.container, &self.object_key(path), source),
        )
    }

    /// Turns an error of `object_store` that is not "not found" into a
    /// [`StorageError::Failed`].
    fn failed(&self, path: &StoragePath, op: Operation, err: object_store::Error) -> StorageError {
        let kind = classify(&err);
        self.failure(path, op, kind, Some(Box::new(err)))
    }

    /// [`failed`](Self::failed), for the upload of [`crate::stream`].
    pub(crate) fn failed_pub(
        &self,
        path: &StoragePath,
        op: Operation,
        err: object_store::Error,
    ) -> StorageError {
        self.failed(path, op, err)
    }

    /// Handles a "not found" answer: when the container exists, the key
    /// does not, and the error is handed back; otherwise the error says the
    /// container is missing, or why it could not be listed.
    async fn not_found(
        &self,
        path: &StoragePath,
        op: Operation,
        err: object_store::Error,
    ) -> StorageResult<object_store::Error> {
        if classify(&err) == FailureKind::MissingContainer {
            return Err(self.failure(path, op, FailureKind::MissingContainer, Some(Box::new(err))));
        }
        let checked = self
            .container_checked
            .get_or_try_init(|| async {
                let prefix = self.prefix_key(&StoragePath::root(), op)?;
                match self.store.list(prefix.as_ref()).next().await {
                    None | Some(Ok(_)) => Ok(()),
                    Some(Err(list_err)) => {
                        let kind = match classify(&list_err) {
                            FailureKind::Other
                                if matches!(list_err, object_store::Error::NotFound { .. }) =>
                            {
                                FailureKind::MissingContainer
                            }
                            kind => kind,
                        };
                        Err(self.failure(path, op, kind, Some(Box::new(list_err))))
                    }
                }
            })
            .await;
        checked.map(|_| err)
    }

    /// The `GET` of a file: a missing object is [`StorageError::NotFound`]
    /// (a missing bucket is not).
    async fn get(&self, path: &StoragePath) -> StorageResult<object_store::GetResult> {
        if path.is_root() {
            return Err(StorageError::not_found(self.location.clone(), path));
        }
        let key = self.key(path, Operation::Read)?;
        match self.store.get(&key).await {
            Ok(result) => Ok(result),
            Err(err @ object_store::Error::NotFound { .. }) => {
                self.not_found(path, Operation::Read, err).await?;
                Err(StorageError::not_found(self.location.clone(), path))
            }
            Err(err) => Err(self.failed(path, Operation::Read, err)),
        }
    }

    /// Turns the answer of a conditional `PUT` into the contract's terms.
    fn conditional_failure(
        &self,
        path: &StoragePath,
        condition: &WriteCondition,
        err: object_store::Error,
    ) -> StorageError {
        match err {
            object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. } => {
                StorageError::conflict(self.location.clone(), path, condition)
            }
            object_store::Error::NotImplemented { operation, .. } => StorageError::unsupported(
                self.location.clone(),
                Operation::WriteIf,
                format!("the store does not implement {operation}"),
            ),
            err => self.failed(path, Operation::Write, err),
        }
    }

    async fn write_multipart(
        &self,
        path: &StoragePath,
        key: &Path,
        data: Payload,
    ) -> StorageResult<()> {
        let mut upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|err| self.failed(path, Operation::Write, err))?;
        let parts: Vec<_> = upload_parts(data, self.part_size)
            .into_iter()
            .map(|part| upload.put_part(part))
            .collect();
        let sent = futures::stream::iter(parts)
            .buffer_unordered(self.part_concurrency)
            .try_collect::<Vec<()>>()
            .await;
        let completed = match sent {
            Ok(_) => upload.complete().await.map(drop),
            Err(err) => Err(err),
        };
        if let Err(err) = completed {
            // The object is untouched until an upload completes; aborting
            // frees the parts that were sent.
            if let Err(abort) = upload.abort().await {
                tracing::warn!(
                    target: "dman::s3",
                    location = %self.location,
                    key = %key,
                    "could not abort a failed multipart upload: {abort}"
                );
            }
            return Err(self.failed(path, Operation::Write, err));
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreBackend")
            .field("location", &self.location)
            .field("store", &format_args!("{}", self.store))
            .field("prefix", &self.prefix.as_str())
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("part_concurrency", &self.part_concurrency)
            .finish()
    }
}

#[async_trait]
impl StorageBackend for ObjectStoreBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        let result = self.get(path).await?;
        result
            .bytes()
            .await
            .map_err(|err| self.failed(path, Operation::Read, err))
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.write_payload(path, Payload::from(data)).await
    }

    /// The parts go out as they are (object_store's `PutPayload` is a list
    /// of buffers), never joined.
    async fn write_payload(&self, path: &StoragePath, data: Payload) -> StorageResult<()> {
        if path.is_root() {
            return Err(self.failure(path, Operation::Write, FailureKind::NotAFile, None));
        }
        let key = self.key(path, Operation::Write)?;
        if data.len() > self.multipart_threshold as u64 {
            return self.write_multipart(path, &key, data).await;
        }
        match self.store.put(&key, put_payload(data)).await {
            Ok(_) => Ok(()),
            Err(err @ object_store::Error::NotFound { .. }) => {
                // A PUT finds nothing only when the bucket is missing.
                let err = self.not_found(path, Operation::Write, err).await?;
                Err(self.failed(path, Operation::Write, err))
            }
            Err(err) => Err(self.failed(path, Operation::Write, err)),
        }
    }

    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        if path.is_root() {
            return Err(StorageError::not_found(self.location.clone(), path));
        }
        let key = self.key(path, Operation::Head)?;
        match self.store.head(&key).await {
            Ok(meta) => Ok(ObjectMeta {
                path: path.clone(),
                size: meta.size,
                last_modified: Some(meta.last_modified.into()),
                content_md5: self.content_md5(meta.e_tag.as_deref()),
            }),
            Err(err @ object_store::Error::NotFound { .. }) => {
                self.not_found(path, Operation::Head, err).await?;
                Err(StorageError::not_found(self.location.clone(), path))
            }
            Err(err) => Err(self.failed(path, Operation::Head, err)),
        }
    }

    /// The body of one `GET`, chunk by chunk as it arrives.
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        let result = self.get(path).await?;
        let this = self.clone();
        let shown = path.clone();
        Ok(Box::pin(result.into_stream().map(move |chunk| {
            chunk.map_err(|err| this.failed(&shown, Operation::Read, err))
        })))
    }

    /// One `PUT` below the multipart threshold, a multipart upload fed as
    /// chunks come above it; see the type's documentation for the memory
    /// it holds.
    async fn write_stream<'a>(&'a self, path: &StoragePath) -> StorageResult<Box<dyn Upload + 'a>> {
        if path.is_root() {
            return Err(self.failure(path, Operation::Write, FailureKind::NotAFile, None));
        }
        let key = self.key(path, Operation::Write)?;
        Ok(Box::new(crate::stream::StoreUpload {
            backend: self.clone(),
            path: path.clone(),
            key,
            gathered: Vec::new(),
            gathered_len: 0,
            multipart: None,
            broken: false,
        }))
    }

    /// On S3 ([`S3Backend`](crate::S3Backend)): the incomplete multipart
    /// uploads whose keys are under the prefix (S3's
    /// `ListMultipartUploads`), each named by its key and aged by its
    /// start; their size is not asked for (0). On other stores: none.
    async fn leftovers(&self) -> StorageResult<Vec<Leftover>> {
        let Some(uploads) = &self.uploads else {
            return Ok(Vec::new());
        };
        let root = StoragePath::root();
        let start = self.key_start();
        let mut found = match uploads.list(&start).await {
            Ok(found) => found,
            Err(err) if err.is::<crate::uploads::NotImplemented>() => {
                return Err(StorageError::unsupported(
                    self.location.clone(),
                    Operation::ListLeftovers,
                    err.to_string(),
                ))
            }
            Err(err) => {
                return Err(self.failure(
                    &root,
                    Operation::ListLeftovers,
                    FailureKind::Other,
                    Some(err),
                ))
            }
        };
        found.retain(|leftover| leftover.name.starts_with(&start));
        found.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(found)
    }

    /// Aborts the upload (S3's `AbortMultipartUpload`): its parts are
    /// freed.
    async fn remove_leftover(&self, leftover: &Leftover) -> StorageResult<()> {
        let root = StoragePath::root();
        let ours = leftover.kind == LeftoverKind::MultipartUpload
            && leftover.name.starts_with(&self.key_start());
        let Some(uploads) = self.uploads.as_ref().filter(|_| ours) else {
            return Err(StorageError::unsupported(
                self.location.clone(),
                Operation::RemoveLeftover,
                format!(
                    "`{}` is not an upload under this backend's prefix",
                    leftover.name
                ),
            ));
        };
        uploads
            .abort(&leftover.name, &leftover.id)
            .await
            .map_err(|err| self.failed(&root, Operation::RemoveLeftover, err))
    }

    fn supports_conditional_writes(&self) -> bool {
        self.conditional_writes
    }

    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        let result = self.get(path).await?;
        let e_tag = result.meta.e_tag.clone().ok_or_else(|| {
            self.failure(
                path,
                Operation::Read,
                FailureKind::Other,
                Some("the store returned no ETag, so the object has no version".into()),
            )
        })?;
        let bytes = result
            .bytes()
            .await
            .map_err(|err| self.failed(path, Operation::Read, err))?;
        Ok((bytes, Version::new(e_tag)))
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
        if !self.conditional_writes {
            return Err(StorageError::unsupported(
                self.location.clone(),
                Operation::WriteIf,
                "conditional writes are turned off for this store",
            ));
        }
        if path.is_root() {
            return Err(self.failure(path, Operation::Write, FailureKind::NotAFile, None));
        }
        if data.len() > MAX_SINGLE_PUT as u64 {
            return Err(StorageError::unsupported(
                self.location.clone(),
                Operation::WriteIf,
                format!(
                    "{} bytes is more than one PUT can carry (5 GiB)",
                    data.len()
                ),
            ));
        }
        let key = self.key(path, Operation::Write)?;
        let mode = match condition {
            WriteCondition::Create => PutMode::Create,
            WriteCondition::Match(version) => PutMode::Update(UpdateVersion {
                e_tag: Some(version.as_str().to_string()),
                version: None,
            }),
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self.store.put_opts(&key, put_payload(data), options).await {
            Ok(put) => put.e_tag.map(Version::new).ok_or_else(|| {
                self.failure(
                    path,
                    Operation::Write,
                    FailureKind::Other,
                    Some("the store returned no ETag for the new object".into()),
                )
            }),
            Err(err @ object_store::Error::NotFound { .. }) => {
                let err = self.not_found(path, Operation::Write, err).await?;
                Err(self.failed(path, Operation::Write, err))
            }
            Err(err) => Err(self.conditional_failure(path, condition, err)),
        }
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        if path.is_root() {
            return Ok(());
        }
        let key = self.key(path, Operation::Delete)?;
        match self.store.delete(&key).await {
            Ok(()) => Ok(()),
            Err(err @ object_store::Error::NotFound { .. }) => {
                self.not_found(path, Operation::Delete, err).await?;
                Ok(())
            }
            Err(err) => Err(self.failed(path, Operation::Delete, err)),
        }
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        if path.is_root() {
            return Ok(false);
        }
        let key = self.key(path, Operation::Exists)?;
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(err @ object_store::Error::NotFound { .. }) => {
                self.not_found(path, Operation::Exists, err).await?;
                Ok(false)
            }
            Err(err) => Err(self.failed(path, Operation::Exists, err)),
        }
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        let key = self.prefix_key(prefix, Operation::List)?;
        let listed: Vec<object_store::ObjectMeta> =
            match self.store.list(key.as_ref()).try_collect().await {
                Ok(listed) => listed,
                Err(err @ object_store::Error::NotFound { .. }) => {
                    self.not_found(prefix, Operation::List, err).await?;
                    Vec::new()
                }
                Err(err) => return Err(self.failed(prefix, Operation::List, err)),
            };
        let mut files = Vec::with_capacity(listed.len());
        for meta in listed {
            let key = meta.location.as_ref();
            let relative = if self.prefix.is_root() {
                Some(key)
            } else {
                key.strip_prefix(self.prefix.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
            };
            let path = relative.and_then(|relative| {
                StoragePath::parse(relative)
                    .ok()
                    .filter(|path| path.as_str() == relative)
            });
            match path {
                Some(path) if !path.is_root() && path.starts_with(prefix) && path != *prefix => {
                    files.push(ObjectMeta {
                        path,
                        size: meta.size,
                        last_modified: Some(meta.last_modified.into()),
                        content_md5: self.content_md5(meta.e_tag.as_deref()),
                    })
                }
                // `dman check` and `dman copy` report these (`dman::skipped`).
                _ => tracing::warn!(
                    target: "dman::skipped",
                    location = %self.location,
                    path = key,
                    "left out of a listing: the key is not a storage path under the prefix"
                ),
            }
        }
        files.sort();
        files.dedup_by(|a, b| a.path == b.path);
        Ok(files)
    }

    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        if from.is_root() {
            return Err(StorageError::not_found(self.location.clone(), from));
        }
        if to.is_root() {
            return Err(self.failure(to, Operation::Copy, FailureKind::NotAFile, None));
        }
        let from_key = self.key(from, Operation::Copy)?;
        let to_key = self.key(to, Operation::Copy)?;
        match self.store.copy(&from_key, &to_key).await {
            Ok(()) => Ok(()),
            Err(err @ object_store::Error::NotFound { .. }) => {
                self.not_found(from, Operation::Copy, err).await?;
                Err(StorageError::not_found(self.location.clone(), from))
            }
            Err(err) => Err(self.failed(from, Operation::Copy, err)),
        }
    }
}

/// A payload as object_store sends it: the same buffers, not joined.
fn put_payload(data: Payload) -> PutPayload {
    data.into_parts().into_iter().collect()
}

/// A payload cut into the parts of a multipart upload, `size` bytes each
/// (the last one shorter), by slicing its buffers: nothing is copied.
fn upload_parts(data: Payload, size: usize) -> Vec<PutPayload> {
    let mut parts = Vec::new();
    let mut current: Vec<Bytes> = Vec::new();
    let mut filled = 0;
    for mut buffer in data.into_parts() {
        while !buffer.is_empty() {
            let take = (size - filled).min(buffer.len());
            current.push(buffer.split_to(take));
            filled += take;
            if filled == size {
                parts.push(current.drain(..).collect());
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        parts.push(current.into_iter().collect());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts of `size` bytes, whatever the buffers' boundaries, the same
    /// bytes in the same order.
    #[test]
    fn upload_parts_slice_buffers_into_equal_parts() {
        let buffers: Vec<Bytes> = [3usize, 10, 1, 0, 7]
            .iter()
            .scan(0u8, |next, &len| {
                let buffer: Vec<u8> = (0..len)
                    .map(|_| {
                        *next = next.wrapping_add(1);
                        *next
                    })
                    .collect();
                Some(Bytes::from(buffer))
            })
            .collect();
        let whole: Vec<u8> = buffers.iter().flat_map(|b| b.to_vec()).collect();
        for size in [1, 4, 5, 21, 100] {
            let parts = upload_parts(Payload::from(buffers.clone()), size);
            let sizes: Vec<usize> = parts.iter().map(PutPayload::content_length).collect();
            assert!(
                sizes.iter().rev().skip(1).all(|&s| s == size),
                "size {size}: {sizes:?}"
            );
            assert_eq!(sizes.iter().sum::<usize>(), whole.len());
            let joined: Vec<u8> = parts
                .iter()
                .flat_map(|p| p.iter().flat_map(|b| b.to_vec()))
                .collect();
            assert_eq!(joined, whole, "size {size}");
        }
    }
}
