//! What the command's test files share: running the built `dman` and
//! reading its output.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use dman_test_support::files::pinned;

/// `dman ARGS` in `cwd`, a test's temporary folder, its search for `.dman`
/// pinned there, without colour.
pub fn dman(cwd: &Path, args: &[&str]) -> Output {
    pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run dman")
}

/// Its standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Its standard output and standard error, as one text for messages.
pub fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// `dman ARGS` in `cwd` (its search for `.dman` pinned there) with the
/// credentials and endpoint of the test S3 server at `endpoint`.
pub fn dman_s3(endpoint: &str, cwd: &Path, args: &[&str]) -> Output {
    pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .envs(dman_test_support::s3::aws_env(endpoint))
        .output()
        .expect("run dman")
}
