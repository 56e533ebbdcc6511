//! The S3 servers of the tests and benches, both on 127.0.0.1 with the
//! credentials below, and what goes with them:
//!
//! - [`MotoServer`] (feature `moto`): moto's server, `tests/python/moto_server.py`,
//!   a child process killed when dropped;
//! - [`S3sServer`] (feature `s3`): s3s-fs in the test's process, its
//!   objects in files of a folder;
//! - [`s3tool`] (feature `moto`): `tests/python/s3tool.py`, a generic S3
//!   tool on boto3, to upload and download trees as a user's tool would;
//! - [`store`] (feature `s3`): `object_store` wrappers that count `GET`s,
//!   fail chosen writes, or watch them;
//! - [`cases`] (feature `s3`): the checks the tests run on both servers.

use std::path::Path;

mod moto;
pub use moto::MotoServer;

#[cfg(feature = "s3")]
mod server;
#[cfg(feature = "s3")]
pub use server::S3sServer;
#[cfg(feature = "s3")]
pub mod cases;
#[cfg(feature = "s3")]
pub mod store;

/// The access key the test servers accept.
pub const ACCESS_KEY: &str = "dman-test-access-key";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "dman-test-secret-key";
/// The region of the tests.
pub const REGION: &str = "us-east-1";

/// The `AWS_*` environment of a program (the `dman` command, boto3) that
/// talks to the test server at `endpoint`.
pub fn aws_env(endpoint: &str) -> [(&'static str, String); 4] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
    ]
}

/// Runs `tests/python/s3tool.py ENDPOINT ARGS...` (boto3) with the tests'
/// credentials; panics with its output when it fails. Gives its stdout
/// (a line per object, then `ok N objects`).
pub fn s3tool(endpoint: &str, args: &[&str]) -> String {
    let mut command = crate::python::command();
    command
        .arg(crate::python::script("s3tool.py"))
        .arg(endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE");
    crate::files::run(&mut command)
}

/// Uploads every file below `dir` to `bucket` under `prefix` with
/// [`s3tool`]; gives how many objects it wrote.
pub fn upload(endpoint: &str, dir: &Path, bucket: &str, prefix: &str) -> usize {
    let out = s3tool(
        endpoint,
        &["upload", &dir.to_string_lossy(), bucket, prefix],
    );
    objects(&out)
}

/// Downloads every object of `bucket` under `prefix` into `dir` with
/// [`s3tool`]; gives how many objects it read.
pub fn download(endpoint: &str, bucket: &str, prefix: &str, dir: &Path) -> usize {
    let out = s3tool(
        endpoint,
        &["download", bucket, prefix, &dir.to_string_lossy()],
    );
    objects(&out)
}

fn objects(out: &str) -> usize {
    out.lines()
        .last()
        .and_then(|line| line.strip_prefix("ok "))
        .and_then(|line| line.strip_suffix(" objects"))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("s3tool.py did not end with `ok N objects`:\n{out}"))
}

/// A builder for `bucket` at `endpoint`, with the tests' credentials.
#[cfg(feature = "s3")]
pub fn builder(endpoint: &str, bucket: &str) -> dman_s3::S3Builder {
    dman_s3::S3Builder::new()
        .endpoint(endpoint)
        .bucket(bucket)
        .region(REGION)
        .credentials(ACCESS_KEY, SECRET_KEY)
}
