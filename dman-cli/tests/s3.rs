//! The built `dman` binary on an S3 location: a moto server (from the
//! project's Python venv) on 127.0.0.1, started and stopped by the test.

use std::path::Path;
use std::process::{Command, Output};

use dman_test_support::files::pinned;
use dman_test_support::fixture::getting_started_workspace;
use dman_test_support::s3::{MotoServer, REGION};

mod common;
use common::{both, dman_s3};

/// The `dman` binary in `cwd`, with the environment of the S3 server.
fn dman(moto: &MotoServer, cwd: &Path, args: &[&str]) -> Output {
    dman_s3(moto.endpoint(), cwd, args)
}

#[test]
fn every_command_works_on_an_s3_location() {
    let moto = MotoServer::start();
    moto.create_bucket("results");
    let fx = getting_started_workspace();
    let cwd = fx.path();

    let o = dman(&moto, cwd, &["copy", ".dman", "s3://results/team/exp"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(both(&o).contains("copied 11 files"), "{}", both(&o));

    let o = dman(
        &moto,
        cwd,
        &["tree", "s3://results/team/exp", "--depth", "2"],
    );
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        both(&o).contains("┃   ┗━━ 📂 examples:patterns:common"),
        "{}",
        both(&o)
    );

    let o = dman(
        &moto,
        cwd,
        &["show", "s3://results/team/exp", "demo/config.json"],
    );
    assert!(both(&o).contains("\"seed\": 1234"), "{}", both(&o));

    let o = dman(&moto, cwd, &["check", "s3://results/team/exp"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));

    let o = dman(&moto, cwd, &["gc", "s3://results/team/exp", "--dry-run"]);
    assert!(both(&o).contains("no garbage"), "{}", both(&o));

    let back = cwd.join("back");
    let o = dman(
        &moto,
        cwd,
        &["copy", "s3://results/team/exp", &back.to_string_lossy()],
    );
    assert!(o.status.success(), "{}", both(&o));
    let o = Command::new("diff")
        .arg("-r")
        .arg(cwd.join(".dman"))
        .arg(back.join(".dman"))
        .output()
        .expect("diff");
    assert!(o.status.success(), "copied back identical: {}", both(&o));

    let o = dman(
        &moto,
        cwd,
        &[
            "clean",
            "config",
            "--generator",
            "demo",
            "--no-cluster",
            "--location",
            "s3://results/team/exp",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", both(&o));
    let o = dman(
        &moto,
        cwd,
        &["show", "s3://results/team/exp", "demo/config.json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
}

#[test]
fn missing_credentials_are_a_plain_error() {
    let moto = MotoServer::start();
    let fx = getting_started_workspace();
    let o = pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), fx.path())
        .args(["tree", "s3://nobucket/x"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run dman");
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(!both(&o).contains("panicked"), "{}", both(&o));
    assert!(
        both(&o).starts_with("dman: ")
            && both(&o).contains("no S3 credentials for bucket `nobucket`"),
        "{}",
        both(&o)
    );
}
