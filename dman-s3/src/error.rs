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
    /// No credentials: none in the environment or the profile, and the
    /// instance metadata service, asked last, did not answer (not an AWS
    /// machine).
    NoCredentials,
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
            FailureKind::NoCredentials => {
                "no credentials: none in the environment (AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY) or in the profile (AWS_PROFILE, ~/.aws/credentials), \
                 and the instance metadata service asked last did not answer (set \
                 AWS_EC2_METADATA_DISABLED=true off AWS to fail at once)"
            }
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
        // An S3 error body (XML) is reduced to its code and message; the
        // whole of it stays in the source, for `{:?}` and logs.
        let source = self.source.as_ref().map(|source| source.to_string());
        let reduced = source.as_deref().and_then(s3_error_code);
        match (self.kind, &reduced) {
            (FailureKind::MissingContainer, Some((code, _))) => {
                write!(f, "{} {} ({code})", self.container, self.kind.describe())?;
                if !self.key.is_empty() {
                    write!(f, ", key `{}`", self.key)?;
                }
                return Ok(());
            }
            (FailureKind::MissingContainer, None) => write!(
                f,
                "{} {} (key `{}`)",
                self.container,
                self.kind.describe(),
                self.key
            )?,
            (kind, _) => write!(
                f,
                "{}, key `{}`: {}",
                self.container,
                self.key,
                kind.describe()
            )?,
        }
        match (reduced, source) {
            (Some((code, Some(message))), _) => write!(f, ": {code}: {message}"),
            (Some((code, None)), _) => write!(f, ": {code}"),
            (None, Some(source)) => write!(f, ": {source}"),
            (None, None) => Ok(()),
        }
    }
}

/// The `<Code>` and `<Message>` of an S3 error body quoted in `text`.
fn s3_error_code(text: &str) -> Option<(String, Option<String>)> {
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        let value = text[start..end].trim();
        (!value.is_empty() && !value.contains('<')).then(|| value.to_owned())
    };
    Some((element("Code")?, element("Message")))
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
    // The instance metadata service, asked last for credentials, did not
    // answer: its address or the path of its token request is in the error.
    if message.contains("169.254.169.254") || message.contains("latest/api/token") {
        return FailureKind::NoCredentials;
    }
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
         a profile with aws_access_key_id and aws_secret_access_key in \
         ~/.aws/credentials (AWS_PROFILE names it, AWS_SHARED_CREDENTIALS_FILE the file), or \
         AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or \
         AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI, \
         or give them with `S3Builder::credentials`. \
         On an AWS machine, turn on the instance metadata service with \
         `S3Builder::instance_metadata(true)` (or leave AWS_EC2_METADATA_DISABLED unset); \
         for a public bucket, set AWS_SKIP_SIGNATURE=true"
    )]
    MissingCredentials {
        /// The bucket being configured.
        bucket: String,
    },
    /// A shared AWS file (`~/.aws/credentials`, `~/.aws/config`) exists but
    /// cannot be read or parsed.
    #[error("cannot read the AWS file {}: {reason}", file.display())]
    SharedFile {
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// The profile named by `AWS_PROFILE` cannot give credentials.
    #[error("AWS profile `{profile}`: {reason}")]
    Profile {
        /// The profile.
        profile: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The endpoint is not an `http://` or `https://` URL with a host.
    #[error("{origin} `{endpoint}` {reason}")]
    InvalidEndpoint {
        /// The endpoint given.
        endpoint: String,
        /// What gave it (`AWS_ENDPOINT_URL`, a profile, the builder).
        origin: String,
        /// What is wrong, and what to write instead.
        reason: String,
    },
    /// A setting that cannot be sent (a control character in the region,
    /// a key id or a token).
    #[error("invalid S3 {setting}: {reason}")]
    InvalidSetting {
        /// Which setting.
        setting: String,
        /// Why.
        reason: String,
    },
    /// A plain-HTTP endpoint off the local machine, without permission.
    #[error(
        "plain HTTP to `{endpoint}` ({origin}) is refused, as it is not on this machine: \
         set AWS_ALLOW_HTTP=true (or `S3Builder::allow_http(true)`) to allow it, or use https://"
    )]
    PlainHttp {
        /// The endpoint.
        endpoint: String,
        /// What gave it.
        origin: String,
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
