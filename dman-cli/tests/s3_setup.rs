//! Setting the command up for S3 (issue 18, point 4), driving the built
//! `dman`: credentials from a profile of the shared files, `-v` naming
//! where they came from, endpoint errors that say what to set, no panic on
//! any environment value, and S3 errors reduced to their code.
//!
//! Each command runs with every `AWS_*` variable of the test's own
//! environment removed and `HOME` a temporary folder, so that nothing of
//! the machine it runs on takes part.

use std::path::Path;
use std::process::{Command, Output};

use dman_test_support::files::pinned;
use dman_test_support::fixture::getting_started_workspace;
use dman_test_support::s3::{aws_env, MotoServer, ACCESS_KEY, REGION, SECRET_KEY};

mod common;
use common::both;

/// `dman ARGS` in `cwd` with exactly the `AWS_*` variables of `env`.
fn dman(cwd: &Path, home: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dman"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    pinned(&mut command, cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run dman")
}

#[test]
fn profiles_reach_the_server_and_v_names_the_source() {
    let moto = MotoServer::start();
    moto.create_bucket("results");
    let fx = getting_started_workspace();
    let cwd = fx.path();
    let home = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let credentials = files.path().join("credentials");
    std::fs::write(
        &credentials,
        format!("[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .expect("write");
    let config = files.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile team]\nregion = {REGION}\nendpoint_url = {}\n",
            moto.endpoint()
        ),
    )
    .expect("write");
    let profile = [
        ("AWS_PROFILE", "team".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("AWS_CONFIG_FILE", config.display().to_string()),
    ];
    let o = dman(
        cwd,
        home.path(),
        &profile,
        &["-v", "copy", ".", "s3://results/exp"],
    );
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        both(&o).contains(&format!(
            "S3 credentials for bucket `results`: profile `team` of {}",
            credentials.display()
        )),
        "{}",
        both(&o)
    );
    assert!(both(&o).contains("copied 11 files"), "{}", both(&o));
    let o = dman(cwd, home.path(), &profile, &["check", "s3://results/exp"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));

    // The environment's keys: named as such.
    let env = aws_env(moto.endpoint());
    let o = dman(
        cwd,
        home.path(),
        &env,
        &["-v", "copy", ".", "s3://results/exp"],
    );
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        both(&o).contains(
            "S3 credentials for bucket `results`: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        ),
        "{}",
        both(&o)
    );

    // A missing bucket: its code and message, not the server's XML.
    let o = dman(
        cwd,
        home.path(),
        &env,
        &["copy", "s3://no-such-bucket/exp", "out"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        both(&o).contains("bucket `no-such-bucket` does not exist (NoSuchBucket)"),
        "{}",
        both(&o)
    );
    assert!(!both(&o).contains('<'), "{}", both(&o));

    // No credentials anywhere: said, with where they are looked for.
    let o = dman(cwd, home.path(), &[], &["copy", ".", "s3://results/exp"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        both(&o).contains("no S3 credentials for bucket `results`")
            && both(&o).contains("AWS_PROFILE"),
        "{}",
        both(&o)
    );
}

#[test]
fn endpoints_say_what_to_set() {
    let fx = getting_started_workspace();
    let home = tempfile::tempdir().expect("temp dir");
    let keys = |endpoint: &str| {
        vec![
            ("AWS_ACCESS_KEY_ID", "k".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "s".to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ]
    };
    let o = dman(
        fx.path(),
        home.path(),
        &keys("127.0.0.1:5077"),
        &["copy", ".", "s3://b/p"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        both(&o)
            .contains("AWS_ENDPOINT_URL `127.0.0.1:5077` has no scheme; use http://127.0.0.1:5077"),
        "{}",
        both(&o)
    );
    assert!(!both(&o).contains("panicked"), "{}", both(&o));

    let o = dman(
        fx.path(),
        home.path(),
        &keys("http://192.168.1.20:9000"),
        &["copy", ".", "s3://b/p"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        both(&o).contains("plain HTTP to `http://192.168.1.20:9000` (AWS_ENDPOINT_URL) is refused")
            && both(&o).contains("set AWS_ALLOW_HTTP=true"),
        "{}",
        both(&o)
    );
}

/// Whatever the environment holds, the command ends with a message, never
/// a panic. The values that pass the configuration go to moto.
#[test]
fn no_environment_value_makes_it_panic() {
    let moto = MotoServer::start();
    moto.create_bucket("hostile");
    let fx = getting_started_workspace();
    let home = tempfile::tempdir().expect("temp dir");
    let hostile: &[(&str, &str)] = &[
        ("AWS_ENDPOINT_URL", "127.0.0.1:5077"),
        ("AWS_ENDPOINT_URL", ""),
        ("AWS_ENDPOINT_URL", "http://"),
        ("AWS_ENDPOINT_URL", "://"),
        ("AWS_ENDPOINT_URL", "http://[::1"),
        ("AWS_ENDPOINT_URL", "http://a b:1"),
        ("AWS_ENDPOINT_URL", "http://\u{1b}[2J:1"),
        ("AWS_ENDPOINT_URL", "ftp://x"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999"),
        ("AWS_ENDPOINT_URL_S3", "nonsense"),
        ("AWS_REGION", ""),
        ("AWS_REGION", "us east 1"),
        ("AWS_REGION", "\u{1b}[31m"),
        ("AWS_ALLOW_HTTP", "maybe"),
        ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "maybe"),
        ("AWS_SKIP_SIGNATURE", "maybe"),
        ("AWS_CHECKSUM_ALGORITHM", "md6"),
        ("AWS_SERVER_SIDE_ENCRYPTION", "rot13"),
        ("AWS_CONDITIONAL_PUT", "sometimes"),
        ("AWS_COPY_IF_NOT_EXISTS", "header:"),
        ("AWS_SESSION_TOKEN", "a\u{7f}b"),
        ("AWS_PROFILE", "../../etc/passwd"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_METADATA_ENDPOINT", "not a url"),
        ("AWS_DISABLE_BULK_DELETE", "maybe"),
        ("AWS_ACCESS_KEY_ID", "k\u{1}"),
        ("AWS_ACCESS_KEY_ID", "ключ"),
        ("AWS_SECRET_ACCESS_KEY", "\u{7}"),
        ("AWS_SSE_KMS_KEY_ID", "\u{1}"),
        ("AWS_SSE_CUSTOMER_KEY_BASE64", "not base64"),
        ("AWS_REQUEST_PAYER", "maybe"),
        ("AWS_UNSIGNED_PAYLOAD", "maybe"),
        ("AWS_IMDSV1_FALLBACK", "maybe"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/\u{1}"),
    ];
    // Without keys, the sources of credentials the environment can name.
    let keyless: &[(&str, &str)] = &[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent"),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "not a url"),
        ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "\u{1}"),
        ("AWS_SKIP_SIGNATURE", "true"),
    ];
    let cases = hostile
        .iter()
        .map(|case| (case, true))
        .chain(keyless.iter().map(|case| (case, false)));
    for ((key, value), keys) in cases {
        let mut env = aws_env(moto.endpoint()).to_vec();
        env.retain(|(k, _)| {
            k != key && (keys || !["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].contains(k))
        });
        env.push((key, (*value).to_owned()));
        let o = dman(
            fx.path(),
            home.path(),
            &env,
            &["copy", ".", "s3://hostile/p"],
        );
        assert!(
            matches!(o.status.code(), Some(0..=2)),
            "{key}={value:?}: {:?} {}",
            o.status,
            both(&o)
        );
        assert!(
            !both(&o).contains("panicked"),
            "{key}={value:?}: {}",
            both(&o)
        );
        if o.status.code() == Some(2) {
            assert!(
                both(&o).starts_with("dman: "),
                "{key}={value:?}: {}",
                both(&o)
            );
        }
    }
}
