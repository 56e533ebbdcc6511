//! The errors of the object-store backend.

use std::fmt;

/// What went wrong with an object-store request, in the few classes a
/// program (or a person reading a log) can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The bucket (or container) does not exist.
    MissingContainer,
    /// The server refused the credentials, or they do not grant the
    /// operation.
    AccessDenied,
    /// No connection to the endpoint could be made (refused, unresolvable,
    /// or the connect timeout expired), after the configured retries.
    Unreachable,
    /// A request timed out, after the configured retries.
    TimedOut,
    /// The key is not a valid object key (for instance it holds a control
    /// character).
    InvalidKey,
    /// The operation makes no sense for the path: writing the root, which
    /// is a folder.
    NotAFile,
    /// Anything else (a server error after the retries, a response that
    /// could not be read, ...).
    Other,
}

impl FailureKind {
    fn describe(self) -> &'static str {
        match self {
            FailureKind::MissingContainer => "does not exist",
            FailureKind::AccessDenied => {
                "access denied (check the credentials and their permissions)"
            }
            FailureKind::Unreachable => "cannot connect to the endpoint",
            FailureKind::TimedOut => "the request timed out",
            FailureKind::InvalidKey => "not a valid object key",
            FailureKind::NotAFile => "the root of the backend is a folder, not a file",
            FailureKind::Other => "the request failed",
        }
    }
}

/// The source of a [`StorageError::Failed`](dman_core::StorageError::Failed)
/// raised by [`ObjectStoreBackend`](crate::ObjectStoreBackend): the
/// container (`bucket `name``), the full object key (the backend's key
/// prefix included), what went wrong and the error of `object_store` that
/// says so.
///
/// Reach it with `std::error::Error::source` and `downcast_ref`:
///
/// ```
/// use dman_s3::{FailureKind, ObjectStoreFailure};
///
/// fn kind(err: &dman_core::StorageError) -> Option<FailureKind> {
///     let source = std::error::Error::source(err)?;
///     Some(source.downcast_ref::<ObjectStoreFailure>()?.kind())
/// }
/// ```
#[derive(Debug)]
pub struct ObjectStoreFailure {
    kind: FailureKind,
    container: String,
    key: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ObjectStoreFailure {
    pub(crate) fn new(
        kind: FailureKind,
        container: &str,
        key: &str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ObjectStoreFailure {
            kind,
            container: container.to_owned(),
            key: key.to_owned(),
            source,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The container, as the backend names it in messages: `bucket `name``
    /// for S3.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The full object key of the request, key prefix included (empty for
    /// the root of a bucket).
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ObjectStoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FailureKind::MissingContainer => write!(
                f,
                "{} {} (key `{}`)",
                self.container,
                self.kind.describe(),
                self.key
            )?,
            kind => write!(
                f,
                "{}, key `{}`: {}",
                self.container,
                self.key,
                kind.describe()
            )?,
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ObjectStoreFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Classifies an error of `object_store`.
pub(crate) fn classify(err: &object_store::Error) -> FailureKind {
    use object_store::Error;
    match err {
        Error::PermissionDenied { .. } | Error::Unauthenticated { .. } => {
            return FailureKind::AccessDenied
        }
        Error::InvalidPath { .. } => return FailureKind::InvalidKey,
        _ => {}
    }
    // The transport error, when there is one, says whether the endpoint
    // could be reached at all.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(http) = current.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind;
            match http.kind() {
                HttpErrorKind::Connect => return FailureKind::Unreachable,
                HttpErrorKind::Timeout => return FailureKind::TimedOut,
                _ => {}
            }
        }
        source = current.source();
    }
    // S3's error codes, found in the response body that object_store
    // quotes.
    let message = err.to_string();
    if message.contains("NoSuchBucket") {
        FailureKind::MissingContainer
    } else if [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "NotSignedUp",
        "403 Forbidden",
        "401 Unauthorized",
    ]
    .iter()
    .any(|code| message.contains(code))
    {
        FailureKind::AccessDenied
    } else {
        FailureKind::Other
    }
}

/// An error while configuring an [`S3Backend`](crate::S3Backend).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3ConfigError {
    /// The location is not of the form `s3://bucket/prefix`.
    #[error("invalid S3 location `{location}`: {reason}")]
    InvalidLocation {
        /// The location that was given.
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// No bucket was given (in code, in the location, or in `AWS_BUCKET`).
    #[error("no bucket given: set one with `S3Builder::bucket` or open `s3://bucket/prefix`")]
    MissingBucket,
    /// The key prefix is not a valid storage path.
    #[error("invalid key prefix: {0}")]
    InvalidPrefix(#[from] dman_core::PathError),
    /// No credentials were found, and asking the instance metadata service
    /// (which only answers on an AWS machine) was not asked for.
    #[error(
        "no S3 credentials for bucket `{bucket}`: set AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or \
         AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or \
         AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI, \
         or give them with `S3Builder::credentials`; profiles in ~/.aws are not read. \
         On an AWS machine, turn on the instance metadata service with \
         `S3Builder::instance_metadata(true)` or by setting AWS_METADATA_ENDPOINT; \
         for a public bucket, set AWS_SKIP_SIGNATURE=true"
    )]
    MissingCredentials {
        /// The bucket being configured.
        bucket: String,
    },
    /// `object_store` refused the configuration.
    #[error("invalid S3 configuration for bucket `{bucket}`: {source}")]
    Store {
        /// The bucket being configured.
        bucket: String,
        /// What `object_store` said.
        #[source]
        source: object_store::Error,
    },
}
