//! The object-store backend of dman-rs: record graphs on Amazon S3 and
//! S3-compatible servers, and on every store of the
//! [`object_store`](https://docs.rs/object_store) crate.
//!
//! Two types, one contract:
//!
//! * [`ObjectStoreBackend`] implements dman's
//!   [`StorageBackend`](dman_core::StorageBackend) over any
//!   `Arc<dyn ObjectStore>` and a key prefix: S3, Google Cloud Storage,
//!   Azure Blob Storage, a local folder, memory. All the mapping of the
//!   storage contract onto objects lives there: whole-object atomic writes,
//!   multipart uploads of large files, paginated listings under a
//!   `/`-terminated prefix, `HEAD` for `exists`, server-side copy, and
//!   errors that name the bucket and key.
//! * [`S3Backend`], configured by [`S3Builder`] (bucket, prefix, region,
//!   endpoint, credentials from the standard chain (environment, profile
//!   of `~/.aws`, instance metadata) or code,
//!   timeouts, retries), is that backend over `object_store`'s S3 client,
//!   at the location `s3://bucket/prefix`.
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use dman_core::{StorageBackend, StoragePath};
//! use dman_s3::ObjectStoreBackend;
//! use object_store::memory::InMemory;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(InMemory::new());
//! let prefix = StoragePath::parse("experiments")?;
//! let backend = ObjectStoreBackend::new(store.clone()).with_prefix(prefix);
//! let path = StoragePath::parse("cache/run/run.json")?;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! runtime.block_on(async {
//!     backend.write(&path, Bytes::from_static(b"{}")).await?;
//!     assert_eq!(backend.read(&path).await?, Bytes::from_static(b"{}"));
//!     let listed = backend.list(&StoragePath::root()).await?;
//!     assert_eq!(listed[0].path, path);
//!     // The object's key in the store carries the prefix.
//!     assert_eq!(backend.object_key(&path), "experiments/cache/run/run.json");
//!     Ok::<_, dman_core::StorageError>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! On S3, with a repository:
//!
//! ```no_run
//! use std::sync::Arc;
//! use dman_core::Repo;
//! use dman_s3::S3Builder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Credentials, region and endpoint from the standard chain: AWS_ACCESS_KEY_ID
//! // and AWS_SECRET_ACCESS_KEY, else the profile AWS_PROFILE of ~/.aws, else
//! // the instance metadata service (see `S3Builder::from_env`).
//! let backend = S3Builder::from_env().url("s3://results/dman")?.build()?;
//! let repo = Repo::new(Arc::new(backend)).with_concurrency(16);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod backend;
mod error;
mod profile;
mod s3;
mod stream;
mod uploads;

pub use backend::{
    ObjectStoreBackend, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_CONCURRENCY, DEFAULT_PART_SIZE,
};
pub use error::{FailureKind, ObjectStoreFailure, S3ConfigError};
pub use s3::{
    default_retry, CredentialSource, S3Backend, S3Builder, DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_TIMEOUT,
};

/// The `object_store` crate this backend is built on, for its store types
/// and configuration (`RetryConfig`, `ClientOptions`, `AmazonS3ConfigKey`).
pub use object_store;
