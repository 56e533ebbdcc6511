//! [`S3Backend`] and its [`S3Builder`]: Amazon S3 and S3-compatible servers.

use std::sync::Arc;
use std::time::Duration;

use dman_core::StoragePath;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use crate::backend::{
    ObjectStoreBackend, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_CONCURRENCY, DEFAULT_PART_SIZE,
};
use crate::error::S3ConfigError;
use crate::profile;
use crate::uploads::Uploads;

/// How many times a failed request is retried by default (5). Connection
/// errors, server errors (5xx) and timeouts of idempotent requests are
/// retried, with exponential backoff from 100 ms up to 5 s.
pub const DEFAULT_MAX_RETRIES: usize = 5;

/// After this long (60 s) from a request's first attempt, it is not retried
/// any more.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(60);

/// The retry policy of [`S3Builder`] unless one is set:
/// [`DEFAULT_MAX_RETRIES`] retries within [`DEFAULT_RETRY_TIMEOUT`],
/// backing off from 100 ms, doubling, up to 5 s. An endpoint that refuses
/// connections is reported after about 3 s; one that does not answer at
/// all, after the retries of the 5 s connect timeout (about half a minute).
pub fn default_retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: DEFAULT_MAX_RETRIES,
        retry_timeout: DEFAULT_RETRY_TIMEOUT,
    }
}

/// Configures an [`S3Backend`]: bucket, key prefix, region, endpoint,
/// credentials, timeouts, retries and uploads.
///
/// [`S3Builder::from_env`] follows the standard credential chain of the
/// AWS tools (the environment, then a profile of `~/.aws/credentials` and
/// `~/.aws/config`, then the instance metadata service) and reads the usual
/// environment variables (`AWS_REGION` or `AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_BUCKET`, and the others
/// `object_store` knows); what is set in code overrides them.
///
/// Defaults:
///
/// * region `us-east-1`, path-style requests (`<endpoint>/<bucket>/<key>`)
///   when an endpoint is given;
/// * plain HTTP is refused, except to an endpoint on the local machine
///   (`http://127.0.0.1:9000`, `http://localhost:9000`, `http://[::1]:9000`),
///   which is what local test servers speak; [`allow_http`](Self::allow_http)
///   decides otherwise;
/// * a 5 s connect timeout and a 30 s timeout per request (object_store's);
/// * the retries of [`default_retry`];
/// * writes above 16 MiB uploaded in parts of 8 MiB, 4 parts at a time (see
///   [`ObjectStoreBackend`]).
///
/// ```
/// use std::time::Duration;
/// use dman_s3::S3Builder;
///
/// # fn main() -> Result<(), dman_s3::S3ConfigError> {
/// let backend = S3Builder::new()
///     .url("s3://results/experiments/2024")?
///     .endpoint("http://127.0.0.1:9000")
///     .credentials("access-key", "secret-key")
///     .connect_timeout(Duration::from_secs(2))
///     .build()?;
/// assert_eq!(backend.bucket(), "results");
/// assert_eq!(backend.prefix().as_str(), "experiments/2024");
/// assert_eq!(dman_core::StorageBackend::location(&backend), "s3://results/experiments/2024");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct S3Builder {
    inner: AmazonS3Builder,
    bucket: Option<String>,
    prefix: String,
    allow_http: Option<bool>,
    retry: RetryConfig,
    multipart_threshold: usize,
    part_size: usize,
    part_concurrency: usize,
    conditional_writes: bool,
    /// Whether missing credentials fall back to the instance metadata
    /// service (`None`: only when `object_store` was configured already,
    /// see [`S3Builder::with_amazon_s3`]).
    instance_metadata: Option<bool>,
    /// Where the credentials come from, as far as the builder knows.
    credential_source: Option<CredentialSource>,
    /// What names the endpoint, for error messages.
    endpoint_origin: String,
    /// An error of the credential chain, reported by `build`.
    chain_error: Option<ChainError>,
}

/// Where an [`S3Backend`]'s credentials come from: the step of the
/// credential chain of [`S3Builder::from_env`] that gave them, or code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with
    /// `AWS_SESSION_TOKEN` when set).
    Environment,
    /// Another source named in the environment, which `object_store`
    /// follows: `AWS_WEB_IDENTITY_TOKEN_FILE`, the container credentials
    /// of ECS, or `AWS_SKIP_SIGNATURE` (no credentials, unsigned requests).
    EnvironmentProvider(&'static str),
    /// A profile of the shared files.
    Profile {
        /// The profile's name (`AWS_PROFILE`, or `default`).
        name: String,
        /// The file that holds its keys.
        file: std::path::PathBuf,
    },
    /// The instance metadata service of an AWS machine, which
    /// `object_store` asks when it has no keys.
    InstanceMetadata,
    /// Given in code ([`S3Builder::credentials`]).
    Code,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Environment => {
                f.write_str("the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
            }
            CredentialSource::EnvironmentProvider(name) => write!(f, "the environment ({name})"),
            CredentialSource::Profile { name, file } => {
                write!(f, "profile `{name}` of {}", file.display())
            }
            CredentialSource::InstanceMetadata => f.write_str(
                "the instance metadata service (no keys in the environment or the profile)",
            ),
            CredentialSource::Code => f.write_str("the builder (S3Builder::credentials)"),
        }
    }
}

/// An error of the credential chain, kept until `build` (the builder is
/// `Clone`, `S3ConfigError` is not).
#[derive(Debug, Clone)]
enum ChainError {
    SharedFile {
        file: std::path::PathBuf,
        reason: String,
    },
    Profile {
        profile: String,
        reason: String,
    },
}

impl From<ChainError> for S3ConfigError {
    fn from(err: ChainError) -> Self {
        match err {
            ChainError::SharedFile { file, reason } => S3ConfigError::SharedFile { file, reason },
            ChainError::Profile { profile, reason } => S3ConfigError::Profile { profile, reason },
        }
    }
}

impl Default for S3Builder {
    fn default() -> Self {
        S3Builder::new()
    }
}

impl S3Builder {
    /// A builder that reads nothing from the environment.
    pub fn new() -> Self {
        let mut builder =
            S3Builder::with_amazon_s3(AmazonS3Builder::new().with_disable_bulk_delete(true));
        builder.instance_metadata = Some(false);
        builder
    }

    /// A builder filled from the environment by the standard credential
    /// chain of the AWS tools, each step tried when the one before gave no
    /// keys:
    ///
    /// 1. the environment: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`
    ///    (and `AWS_SESSION_TOKEN`); or a source it names, which
    ///    `object_store` follows (`AWS_WEB_IDENTITY_TOKEN_FILE`, the
    ///    container credentials of ECS, `AWS_SKIP_SIGNATURE`);
    /// 2. the profile `AWS_PROFILE` (default `default`) of the shared files
    ///    `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`) and
    ///    `~/.aws/config` (or `AWS_CONFIG_FILE`): `aws_access_key_id`,
    ///    `aws_secret_access_key`, `aws_session_token`. A profile that gets
    ///    its credentials otherwise (`credential_process`, SSO, `role_arn`)
    ///    is an error at [`build`](Self::build) that says so, as is an
    ///    `AWS_PROFILE` found in neither file;
    /// 3. the instance metadata service of an AWS machine, which
    ///    `object_store`'s S3 client asks itself when it has no keys (unless
    ///    `AWS_EC2_METADATA_DISABLED=true`: then building fails with
    ///    [`S3ConfigError::MissingCredentials`]).
    ///
    /// The profile's `region` and `endpoint_url` are used too, unless
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`) and `AWS_ENDPOINT_URL` (or
    /// `AWS_ENDPOINT_URL_S3`) are set. The other `AWS_*` variables that
    /// `object_store` knows are read as it reads them. The step that gave
    /// the credentials is logged (`tracing`, level info) when the backend
    /// is built, and is [`S3Backend::credential_source`].
    pub fn from_env() -> Self {
        // Variables that are not UTF-8 are left out, as object_store does.
        Self::from_vars(
            std::env::vars_os().filter_map(|(key, value)| {
                Some((key.into_string().ok()?, value.into_string().ok()?))
            }),
        )
    }

    /// As [`from_env`](Self::from_env), with the variables given instead
    /// of read from the process's environment (`HOME` among them, for
    /// `~/.aws`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
        let var = |key: &str| vars.get(key).map(String::as_str).filter(|v| !v.is_empty());
        let mut inner = AmazonS3Builder::new();
        for (key, value) in &vars {
            if key.starts_with("AWS_") {
                if let Ok(config_key) = key.to_ascii_lowercase().parse() {
                    inner = inner.with_config(config_key, value);
                }
            }
        }
        if var("AWS_DISABLE_BULK_DELETE").is_none() {
            inner = inner.with_disable_bulk_delete(true);
        }
        let mut builder = S3Builder::with_amazon_s3(inner);
        // Named as set, empty or not: an empty one is an error to name.
        builder.endpoint_origin = if vars.contains_key("AWS_ENDPOINT_URL_S3") {
            "AWS_ENDPOINT_URL_S3".into()
        } else if vars.contains_key("AWS_ENDPOINT_URL") {
            "AWS_ENDPOINT_URL".into()
        } else {
            "AWS_ENDPOINT".into()
        };

        let home = var("HOME").or_else(|| var("USERPROFILE"));
        let shared = |variable: &str, name: &str| {
            var(variable)
                .map(std::path::PathBuf::from)
                .or_else(|| home.map(|home| std::path::Path::new(home).join(".aws").join(name)))
        };
        let explicit = var("AWS_PROFILE").or_else(|| var("AWS_DEFAULT_PROFILE"));
        let name = explicit.unwrap_or("default");
        let loaded = match (
            shared("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            shared("AWS_CONFIG_FILE", "config"),
        ) {
            (Some(credentials), Some(config)) => {
                profile::load(name, &credentials, &config).map(|p| Some((p, credentials, config)))
            }
            // No home and no files named: no profile.
            _ => Ok(None),
        };
        let env_keys = var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some();
        let provider = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            ),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ),
        ]
        .into_iter()
        .find(|(key, _)| var(key).is_some())
        .map(|(_, name)| name)
        .or_else(|| {
            var("AWS_SKIP_SIGNATURE")
                .filter(|v| v.eq_ignore_ascii_case("true"))
                .map(|_| "AWS_SKIP_SIGNATURE")
        });

        // The profile's region and endpoint, whoever gives the keys.
        if let Ok(Some((profile, _, _))) = &loaded {
            if var("AWS_REGION").is_none() && var("AWS_DEFAULT_REGION").is_none() {
                if let Some(region) = &profile.region {
                    builder.inner = builder.inner.with_region(region);
                }
            }
            if var("AWS_ENDPOINT_URL").is_none()
                && var("AWS_ENDPOINT_URL_S3").is_none()
                && var("AWS_ENDPOINT").is_none()
            {
                if let Some((url, file)) = &profile.endpoint_url {
                    builder.inner = builder.inner.with_endpoint(url);
                    builder.endpoint_origin =
                        format!("endpoint_url of profile `{name}` in {}", file.display());
                }
            }
        }

        if env_keys {
            builder.credential_source = Some(CredentialSource::Environment);
            builder.instance_metadata = Some(false);
            return builder;
        }
        if let Some(provider) = provider {
            builder.credential_source = Some(CredentialSource::EnvironmentProvider(provider));
            builder.instance_metadata = Some(false);
            return builder;
        }
        match loaded {
            Err(S3ConfigError::SharedFile { file, reason }) => {
                builder.chain_error = Some(ChainError::SharedFile { file, reason });
                return builder;
            }
            Err(other) => {
                builder.chain_error = Some(ChainError::Profile {
                    profile: name.to_owned(),
                    reason: other.to_string(),
                });
                return builder;
            }
            Ok(Some((profile, credentials, config))) => {
                if let (Some(key), Some(secret), Some(file)) = (
                    &profile.access_key_id,
                    &profile.secret_access_key,
                    &profile.keys_file,
                ) {
                    builder.inner = builder
                        .inner
                        .with_access_key_id(key)
                        .with_secret_access_key(secret);
                    if let Some(token) = &profile.session_token {
                        builder.inner = builder.inner.with_token(token);
                    }
                    builder.credential_source = Some(CredentialSource::Profile {
                        name: name.to_owned(),
                        file: file.clone(),
                    });
                    builder.instance_metadata = Some(false);
                    return builder;
                }
                if let Some((setting, file)) = &profile.unsupported {
                    builder.chain_error = Some(ChainError::Profile {
                        profile: name.to_owned(),
                        reason: format!(
                            "it gets its credentials by `{setting}` (in {}), which dman does not \
                             follow; export them with `aws configure export-credentials --profile \
                             {name} --format env`, or give the profile aws_access_key_id and \
                             aws_secret_access_key",
                            file.display()
                        ),
                    });
                    return builder;
                }
                if explicit.is_some() && !profile.found {
                    builder.chain_error = Some(ChainError::Profile {
                        profile: name.to_owned(),
                        reason: format!(
                            "AWS_PROFILE names it, but neither {} nor {} has it",
                            credentials.display(),
                            config.display()
                        ),
                    });
                    return builder;
                }
            }
            Ok(None) => {}
        }
        let metadata_disabled =
            var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if metadata_disabled {
            builder.instance_metadata = Some(false);
        } else {
            builder.credential_source = Some(CredentialSource::InstanceMetadata);
            builder.instance_metadata = Some(true);
        }
        builder
    }

    /// A builder around an `object_store` builder configured already (for
    /// options this builder does not name). Unlike [`S3Builder::new`] and
    /// [`S3Builder::from_env`], which delete one object with one `DELETE`
    /// request (every S3-compatible server has it), this keeps
    /// `object_store`'s choice of the bulk `DeleteObjects` request.
    pub fn with_amazon_s3(inner: AmazonS3Builder) -> Self {
        S3Builder {
            inner,
            bucket: None,
            prefix: String::new(),
            allow_http: None,
            retry: default_retry(),
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            part_concurrency: DEFAULT_PART_CONCURRENCY,
            conditional_writes: true,
            // It may carry a credential provider of its own, which the
            // builder cannot see: leave the choice to object_store.
            instance_metadata: None,
            credential_source: None,
            endpoint_origin: "the endpoint".into(),
            chain_error: None,
        }
    }

    /// Whether, without credentials, to ask the instance metadata service
    /// of an AWS machine (EC2, ECS on EC2) for them. Off for
    /// [`S3Builder::new`]: off an AWS machine nothing answers there, and the
    /// request ends in an error on the first request. On for
    /// [`S3Builder::from_env`] when neither the environment nor the profile
    /// has keys, as the last step of the standard chain (unless
    /// `AWS_EC2_METADATA_DISABLED=true`). (Setting AWS_METADATA_ENDPOINT
    /// turns it on too.) Without credentials and without this, building
    /// fails with [`S3ConfigError::MissingCredentials`], which names where
    /// credentials are looked for.
    pub fn instance_metadata(mut self, on: bool) -> Self {
        self.instance_metadata = Some(on);
        self
    }

    /// Takes bucket and key prefix from a location `s3://bucket/prefix`
    /// (the prefix may be empty: `s3://bucket`).
    pub fn url(mut self, location: &str) -> Result<Self, S3ConfigError> {
        let (bucket, prefix) = parse_location(location)?;
        self.bucket = Some(bucket.to_owned());
        self.prefix = prefix.to_owned();
        Ok(self)
    }

    /// The bucket.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// The key prefix: every file lives under `<prefix>/`. Validated as a
    /// [`StoragePath`] when the backend is built.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The region (default `us-east-1`, or `AWS_REGION`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.inner = self.inner.with_region(region);
        self
    }

    /// The endpoint of an S3-compatible server, such as
    /// `http://127.0.0.1:9000` (default: Amazon's, or `AWS_ENDPOINT_URL`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.inner = self.inner.with_endpoint(endpoint);
        self.endpoint_origin = "the endpoint".into();
        self
    }

    /// Whether plain HTTP is allowed (default: only to the local machine).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = Some(allow);
        self
    }

    /// The access key id and secret access key.
    pub fn credentials(
        self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.access_key_id(access_key_id)
            .secret_access_key(secret_access_key)
    }

    /// The access key id.
    pub fn access_key_id(mut self, access_key_id: impl Into<String>) -> Self {
        self.inner = self.inner.with_access_key_id(access_key_id);
        self.credential_source = Some(CredentialSource::Code);
        self.chain_error = None;
        self
    }

    /// The secret access key.
    pub fn secret_access_key(mut self, secret_access_key: impl Into<String>) -> Self {
        self.inner = self.inner.with_secret_access_key(secret_access_key);
        self
    }

    /// The session token of temporary credentials.
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.inner = self.inner.with_token(token);
        self
    }

    /// The timeout of a whole request, body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            millis(timeout),
        );
        self
    }

    /// The timeout of establishing a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            millis(timeout),
        );
        self
    }

    /// The retry policy (default [`default_retry`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// How many times a failed request is retried (0: never).
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// After how long from its first attempt a request is not retried.
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry.retry_timeout = timeout;
        self
    }

    /// Writes larger than `bytes` are uploaded in parts (default 16 MiB).
    pub fn multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// The size of each part of a multipart upload but the last (default
    /// 8 MiB; S3 wants at least 5 MiB).
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }

    /// How many parts of one upload are sent at once (default 4).
    pub fn part_concurrency(mut self, parts: usize) -> Self {
        self.part_concurrency = parts;
        self
    }

    /// Whether to send `If-None-Match`/`If-Match` for conditional writes
    /// (default: on; S3 has honoured them since 2024). Turn off for a
    /// server that ignores them: see
    /// [`ObjectStoreBackend::with_conditional_writes`].
    pub fn conditional_writes(mut self, on: bool) -> Self {
        self.conditional_writes = on;
        self
    }

    /// Sets any option of `object_store`'s S3 client by its key.
    pub fn config(mut self, key: AmazonS3ConfigKey, value: impl Into<String>) -> Self {
        self.inner = self.inner.with_config(key, value);
        self
    }

    /// Builds the backend.
    pub fn build(self) -> Result<S3Backend, S3ConfigError> {
        self.build_wrapped(|store| store)
    }

    /// Builds the backend over `wrap(store)`, `store` being the S3 client:
    /// to put one of `object_store`'s wrappers (`LimitStore`,
    /// `ThrottledStore`) or one's own (to count or log requests) between the
    /// backend and the network.
    pub fn build_wrapped(
        self,
        wrap: impl FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>,
    ) -> Result<S3Backend, S3ConfigError> {
        if let Some(err) = self.chain_error {
            return Err(err.into());
        }
        let bucket = match self.bucket {
            Some(bucket) => bucket,
            None => self
                .inner
                .get_config_value(&AmazonS3ConfigKey::Bucket)
                .ok_or(S3ConfigError::MissingBucket)?,
        };
        if bucket.is_empty() {
            return Err(S3ConfigError::MissingBucket);
        }
        let prefix = StoragePath::parse(&self.prefix)?;
        let given_endpoint = self
            .inner
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| self.inner.get_config_value(&AmazonS3ConfigKey::Endpoint));
        if let Some(endpoint) = &given_endpoint {
            check_endpoint(endpoint, &self.endpoint_origin)?;
        }
        check_header_values(&self.inner)?;
        // The URLs of the other credential sources, which object_store
        // requests with `expect` as well.
        for (key, origin) in [
            (
                AmazonS3ConfigKey::ContainerCredentialsFullUri,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ),
            (AmazonS3ConfigKey::MetadataEndpoint, "AWS_METADATA_ENDPOINT"),
        ] {
            if let Some(url) = self.inner.get_config_value(&key).filter(|v| !v.is_empty()) {
                check_endpoint(&url, origin)?;
            }
        }
        if let Some(relative) = self
            .inner
            .get_config_value(&AmazonS3ConfigKey::ContainerCredentialsRelativeUri)
            .filter(|v| !v.is_empty())
        {
            check_endpoint(
                &format!("http://169.254.170.2{relative}"),
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (after http://169.254.170.2)",
            )?;
        }
        let allow_http = match self.allow_http {
            Some(allow) => Some(allow),
            None => given_endpoint
                .as_deref()
                .filter(|endpoint| is_local_http(endpoint))
                .map(|_| true),
        };
        let http_allowed = match allow_http {
            Some(allow) => allow,
            // object_store's reading of AWS_ALLOW_HTTP; a value it cannot
            // read is its error, at its build below.
            None => self
                .inner
                .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
                .is_some_and(|v| {
                    ["1", "true", "on", "yes", "y"].contains(&v.to_ascii_lowercase().as_str())
                }),
        };
        if let Some(endpoint) = &given_endpoint {
            if has_scheme(endpoint, "http") && !http_allowed {
                return Err(S3ConfigError::PlainHttp {
                    endpoint: endpoint.clone(),
                    origin: self.endpoint_origin.clone(),
                });
            }
        }
        if self.instance_metadata == Some(false) && !has_credentials(&self.inner) {
            return Err(S3ConfigError::MissingCredentials { bucket });
        }
        let config = |key: AmazonS3ConfigKey| self.inner.get_config_value(&key);
        let endpoint =
            config(AmazonS3ConfigKey::S3Endpoint).or_else(|| config(AmazonS3ConfigKey::Endpoint));
        let region = config(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".to_owned());
        let virtual_hosted =
            config(AmazonS3ConfigKey::VirtualHostedStyleRequest).is_some_and(|v| v == "true");
        let uploads_http = allow_http.unwrap_or_else(|| {
            config(AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
                .is_some_and(|v| v == "true")
        });
        let mut inner = self.inner.with_bucket_name(&bucket).with_retry(self.retry);
        if let Some(allow) = allow_http {
            inner = inner.with_allow_http(allow);
        }
        let store = Arc::new(inner.build().map_err(|source| S3ConfigError::Store {
            bucket: bucket.clone(),
            source,
        })?);
        let uploads = Uploads::new(
            store.clone(),
            &bucket,
            endpoint.as_deref(),
            &region,
            virtual_hosted,
            uploads_http,
        )
        .map_err(|source| S3ConfigError::Store {
            bucket: bucket.clone(),
            source,
        })?;
        let location = if prefix.is_root() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let backend = ObjectStoreBackend::new(wrap(store))
            .with_uploads(Arc::new(uploads))
            .with_prefix(prefix)
            .with_location(location)
            .with_container_name(format!("bucket `{bucket}`"))
            .with_multipart_threshold(self.multipart_threshold)
            .with_part_size(self.part_size)
            .with_part_concurrency(self.part_concurrency)
            .with_conditional_writes(self.conditional_writes);
        let credential_source = self.credential_source.or(match self.instance_metadata {
            Some(true) => Some(CredentialSource::InstanceMetadata),
            _ => None,
        });
        match &credential_source {
            Some(source) => tracing::info!("S3 credentials for bucket `{bucket}`: {source}"),
            None => tracing::info!("S3 credentials for bucket `{bucket}`: object_store's own"),
        }
        Ok(S3Backend {
            inner: backend,
            bucket,
            credential_source,
        })
    }
}

/// Refuses settings that go into request headers (or the signature's scope)
/// with characters a header cannot carry: object_store builds those headers
/// with `unwrap` and would panic on the first request.
fn check_header_values(inner: &AmazonS3Builder) -> Result<(), S3ConfigError> {
    let sendable = |value: &str| value.bytes().all(|b| (0x20..0x7f).contains(&b));
    // object_store does not export the type of the encryption keys: named.
    let kms = "aws_sse_kms_key_id".parse::<AmazonS3ConfigKey>().ok();
    for (key, what, shown) in [
        (Some(AmazonS3ConfigKey::Region), "region (AWS_REGION)", true),
        (Some(AmazonS3ConfigKey::AccessKeyId), "access key id", false),
        (Some(AmazonS3ConfigKey::Token), "session token", false),
        (kms, "KMS key id (AWS_SSE_KMS_KEY_ID)", true),
    ] {
        if let Some(value) = key.and_then(|key| inner.get_config_value(&key)) {
            if !sendable(&value) {
                // A secret is not repeated in a message that may be logged.
                let value = if shown {
                    format!(" {value:?}")
                } else {
                    String::new()
                };
                return Err(S3ConfigError::InvalidSetting {
                    setting: what.to_owned(),
                    reason: format!(
                        "the value{value} holds characters a request header cannot carry \
                         (control characters or non-ASCII)"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Whether `url` starts with `scheme://`, in any case.
fn has_scheme(url: &str, scheme: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(given, _)| given.eq_ignore_ascii_case(scheme))
}

/// Refuses an endpoint that `object_store` would choke on (some of which
/// make it panic), saying what to write instead.
fn check_endpoint(endpoint: &str, origin: &str) -> Result<(), S3ConfigError> {
    let invalid = |reason: String| S3ConfigError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        origin: origin.to_owned(),
        reason,
    };
    if endpoint.is_empty() {
        return Err(invalid(
            "is empty; unset it, or name the server (http://HOST:PORT)".into(),
        ));
    }
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err(invalid(format!("has no scheme; use http://{endpoint}")));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid(format!(
            "has the scheme `{scheme}`; use http:// or https://"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(invalid("has no host".into()));
    }
    // A URL is visible ASCII; and it must pass both parsers object_store
    // builds requests with, which unwrap their results: what passes here
    // cannot make it panic there.
    if let Some(c) = endpoint.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(invalid(format!(
            "holds {c:?}, which a URL cannot (percent-encode it)"
        )));
    }
    if let Err(e) = endpoint.parse::<http::Uri>() {
        return Err(invalid(format!("is not a valid URL ({e})")));
    }
    match url::Url::parse(endpoint) {
        Ok(url) if url.host_str().is_some_and(|host| !host.is_empty()) => Ok(()),
        Ok(_) => Err(invalid("has no host".into())),
        Err(e) => Err(invalid(format!("is not a valid URL ({e})"))),
    }
}

/// Whether the builder has credentials, or a source of them other than the
/// instance metadata service (or may sign nothing).
fn has_credentials(inner: &AmazonS3Builder) -> bool {
    let set = |key: AmazonS3ConfigKey| inner.get_config_value(&key).is_some_and(|v| !v.is_empty());
    (set(AmazonS3ConfigKey::AccessKeyId) && set(AmazonS3ConfigKey::SecretAccessKey))
        || set(AmazonS3ConfigKey::WebIdentityTokenFile)
        || set(AmazonS3ConfigKey::ContainerCredentialsRelativeUri)
        || set(AmazonS3ConfigKey::ContainerCredentialsFullUri)
        || set(AmazonS3ConfigKey::MetadataEndpoint)
        || inner
            .get_config_value(&AmazonS3ConfigKey::SkipSignature)
            .is_some_and(|v| v == "true")
}

/// `timeout` in the form `object_store` parses.
fn millis(timeout: Duration) -> String {
    format!("{}ms", timeout.as_millis())
}

/// Whether `endpoint` is a plain-HTTP URL of the local machine.
fn is_local_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
fn parse_location(location: &str) -> Result<(&str, &str), S3ConfigError> {
    let invalid = |reason: &str| S3ConfigError::InvalidLocation {
        location: location.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = location
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("it must start with `s3://`"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid("the bucket is missing (`s3://bucket/prefix`)"));
    }
    if prefix.contains(['?', '#']) {
        return Err(invalid("a query or fragment is not part of an S3 location"));
    }
    Ok((bucket, prefix))
}

/// A storage backend on Amazon S3 or an S3-compatible server (MinIO,
/// Ceph, Garage, moto, ...): an [`ObjectStoreBackend`] over `object_store`'s
/// S3 client, located at `s3://bucket/prefix`.
///
/// Make one with [`S3Builder`], or from a location and the environment
/// with [`S3Backend::from_url`] (what `dman::open("s3://...")` does).
#[derive(Debug, Clone)]
pub struct S3Backend {
    inner: ObjectStoreBackend,
    bucket: String,
    credential_source: Option<CredentialSource>,
}

impl S3Backend {
    /// A builder that reads nothing from the environment.
    pub fn builder() -> S3Builder {
        S3Builder::new()
    }

    /// The backend of `s3://bucket/prefix`, configured from the
    /// environment by the standard credential chain (see
    /// [`S3Builder::from_env`]).
    pub fn from_url(location: &str) -> Result<Self, S3ConfigError> {
        S3Builder::from_env().url(location)?.build()
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Where the credentials come from, when the builder knows (not for a
    /// builder of `object_store`'s configured by the caller).
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.credential_source.as_ref()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &StoragePath {
        self.inner.prefix()
    }

    /// The general backend underneath.
    pub fn object_store_backend(&self) -> &ObjectStoreBackend {
        &self.inner
    }

    /// The object store underneath (the S3 client, or what
    /// [`S3Builder::build_wrapped`] made of it).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.inner.store()
    }
}

impl From<S3Backend> for ObjectStoreBackend {
    fn from(backend: S3Backend) -> Self {
        backend.inner
    }
}

dman_core::forward_storage_backend!(S3Backend, |s| s.inner);

#[cfg(test)]
mod tests {
    use super::*;
    use dman_core::StorageBackend;

    #[test]
    fn locations_split_into_bucket_and_prefix() {
        assert_eq!(parse_location("s3://b/p/q").unwrap(), ("b", "p/q"));
        assert_eq!(parse_location("s3://b").unwrap(), ("b", ""));
        assert_eq!(parse_location("s3://b/").unwrap(), ("b", ""));
        for bad in ["s3://", "s3:///p", "gs://b/p", "b/p", "s3://b/p?x=1"] {
            let err = parse_location(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn only_local_endpoints_get_plain_http() {
        for local in [
            "http://127.0.0.1:9000",
            "http://localhost:9000/",
            "http://LOCALHOST",
            "http://[::1]:9000",
            "http://127.1.2.3",
            "http://user@127.0.0.1:1",
        ] {
            assert!(is_local_http(local), "{local}");
        }
        for remote in [
            "https://127.0.0.1:9000",
            "http://example.com",
            "http://127.0.0.1.example.com",
            "http://10.0.0.1:9000",
            "s3.amazonaws.com",
        ] {
            assert!(!is_local_http(remote), "{remote}");
        }
    }

    #[test]
    fn the_builder_makes_the_location_and_checks_its_input() {
        let backend = S3Builder::new()
            .bucket("b")
            .prefix("./a//b/")
            .endpoint("http://127.0.0.1:1")
            .credentials("k", "s")
            .build()
            .unwrap();
        assert_eq!(backend.location(), "s3://b/a/b");
        assert_eq!(backend.prefix().as_str(), "a/b");
        assert_eq!(backend.bucket(), "b");

        let root = S3Builder::new()
            .url("s3://b")
            .unwrap()
            .credentials("k", "s")
            .build()
            .unwrap();
        assert_eq!(root.location(), "s3://b");

        assert!(matches!(
            S3Builder::new().credentials("k", "s").build(),
            Err(S3ConfigError::MissingBucket)
        ));
        assert!(matches!(
            S3Builder::new().bucket("b").prefix("../up").build(),
            Err(S3ConfigError::InvalidPrefix(_))
        ));
    }

    #[test]
    fn missing_credentials_are_named_not_looked_up_on_the_network() {
        let err = S3Builder::new()
            .bucket("b")
            .endpoint("http://127.0.0.1:1")
            .build()
            .unwrap_err();
        assert!(
            matches!(err, S3ConfigError::MissingCredentials { .. }),
            "{err}"
        );
        let message = err.to_string();
        for named in [
            "no S3 credentials for bucket `b`",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "instance_metadata",
        ] {
            assert!(message.contains(named), "{named} in: {message}");
        }
        // A key without its secret is no credential either.
        assert!(matches!(
            S3Builder::new().bucket("b").access_key_id("k").build(),
            Err(S3ConfigError::MissingCredentials { .. })
        ));
        // Asked for, the instance metadata service is used as before.
        S3Builder::new()
            .bucket("b")
            .instance_metadata(true)
            .build()
            .unwrap();
        // So is a builder of object_store's configured by the caller, who
        // may have given it a credential provider of their own.
        S3Builder::with_amazon_s3(AmazonS3Builder::new())
            .bucket("b")
            .build()
            .unwrap();
    }

    #[test]
    fn uploads_and_retries_are_configurable() {
        let backend = S3Builder::new()
            .bucket("b")
            .credentials("k", "s")
            .multipart_threshold(1)
            .part_size(6 << 20)
            .part_concurrency(0)
            .max_retries(0)
            .retry_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let inner = backend.object_store_backend();
        assert_eq!(inner.multipart_threshold(), 1);
        assert_eq!(inner.part_size(), 6 << 20);
        assert_eq!(inner.part_concurrency(), 1);
    }
}
