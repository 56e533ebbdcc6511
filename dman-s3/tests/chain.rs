//! The credential chain of `S3Builder::from_env` (issue 18, point 4),
//! through `S3Builder::from_vars`, which takes the variables instead of
//! the process's environment: the environment's keys, then a profile of
//! the shared files, then the instance metadata service; and the endpoint
//! and HTTP errors that say what to set.

use std::path::Path;

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath};
use dman_s3::{CredentialSource, S3Builder, S3ConfigError};
use dman_test_support::s3::{MotoServer, ACCESS_KEY, REGION, SECRET_KEY};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn build(pairs: &[(&str, &str)]) -> Result<dman_s3::S3Backend, S3ConfigError> {
    S3Builder::from_vars(vars(pairs))
        .url("s3://results/exp")
        .expect("location")
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_of_the_shared_files_reaches_the_server() {
    let moto = MotoServer::start();
    moto.create_bucket("results");
    let home = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let credentials = write(
        files.path(),
        "credentials",
        &format!(
            "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n\
             [team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    );
    let config = write(
        files.path(),
        "config",
        &format!(
            "[profile team]\nregion = {REGION}\nendpoint_url = {}\n",
            moto.endpoint()
        ),
    );
    let home_s = home.path().to_str().expect("utf-8");
    let backend = build(&[
        ("HOME", home_s),
        ("AWS_PROFILE", "team"),
        ("AWS_SHARED_CREDENTIALS_FILE", &credentials),
        ("AWS_CONFIG_FILE", &config),
    ])
    .expect("backend");
    assert_eq!(
        backend.credential_source(),
        Some(&CredentialSource::Profile {
            name: "team".into(),
            file: credentials.clone().into(),
        })
    );
    let path = StoragePath::parse("k/k.json").expect("path");
    backend
        .write(&path, Bytes::from_static(b"[1]"))
        .await
        .expect("write with the profile's keys");
    assert_eq!(
        backend
            .list(&StoragePath::root())
            .await
            .expect("list")
            .len(),
        1
    );

    // The default profile, from ~/.aws under HOME.
    write(
        home.path(),
        ".aws/credentials",
        &format!(
            "[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    );
    write(
        home.path(),
        ".aws/config",
        &format!("[default]\nendpoint_url = {}\n", moto.endpoint()),
    );
    let backend = build(&[("HOME", home_s)]).expect("backend");
    assert!(
        matches!(backend.credential_source(), Some(CredentialSource::Profile { name, .. }) if name == "default")
    );
    assert!(backend.exists(&path).await.expect("exists"));

    // The environment's keys come first; the profile still gives the endpoint.
    let backend = build(&[
        ("HOME", home_s),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    ])
    .expect("backend");
    assert_eq!(
        backend.credential_source(),
        Some(&CredentialSource::Environment)
    );
    assert!(backend.exists(&path).await.expect("exists"));

    // A missing bucket: its code, not the server's XML.
    let missing = S3Builder::from_vars(vars(&[("HOME", home_s)]))
        .url("s3://no-such-bucket")
        .expect("location")
        .build()
        .expect("backend");
    let err = missing
        .list(&StoragePath::root())
        .await
        .expect_err("no bucket");
    let message = err.to_string();
    assert!(
        message.ends_with("bucket `no-such-bucket` does not exist (NoSuchBucket)"),
        "{message}"
    );
    assert!(!message.contains('<'), "{message}");
}

#[test]
fn profiles_that_cannot_give_keys_say_why() {
    let files = tempfile::tempdir().expect("temp dir");
    let credentials = write(files.path(), "credentials", "[default]\nregion = x\n");
    let config = write(
        files.path(),
        "config",
        "[profile sso]\nsso_session = corp\n[profile proc]\ncredential_process = /bin/keys\n",
    );
    let base = [
        ("HOME", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
        ("AWS_CONFIG_FILE", config.as_str()),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        build(&all)
    };

    let err = with(&[("AWS_PROFILE", "nobody")]).expect_err("no such profile");
    let message = err.to_string();
    assert!(
        message.starts_with("AWS profile `nobody`: AWS_PROFILE names it, but neither")
            && message.contains(&credentials),
        "{message}"
    );
    let err = with(&[("AWS_PROFILE", "sso")]).expect_err("sso");
    assert!(err.to_string().contains("`sso_session`"), "{err}");
    let err = with(&[("AWS_PROFILE", "proc")]).expect_err("process");
    assert!(
        err.to_string().contains("`credential_process`")
            && err
                .to_string()
                .contains("aws configure export-credentials --profile proc"),
        "{err}"
    );

    // No keys anywhere: the instance metadata service, last (object_store
    // asks it on the first request), unless turned off.
    let backend = with(&[]).expect("instance metadata");
    assert_eq!(
        backend.credential_source(),
        Some(&CredentialSource::InstanceMetadata)
    );
    let err = with(&[("AWS_EC2_METADATA_DISABLED", "true")]).expect_err("no credentials");
    assert!(
        matches!(err, S3ConfigError::MissingCredentials { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("AWS_PROFILE"), "{err}");

    // An unreadable shared file is named.
    let err = build(&[
        ("HOME", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/"),
    ])
    .expect_err("a folder");
    assert!(
        err.to_string().starts_with("cannot read the AWS file /:"),
        "{err}"
    );
}

#[test]
fn endpoints_say_what_to_set() {
    let keys = [
        ("HOME", "/nonexistent"),
        ("AWS_ACCESS_KEY_ID", "k"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = keys.to_vec();
        all.extend_from_slice(extra);
        build(&all)
    };
    let message = |extra| with(extra).expect_err("refused").to_string();

    assert_eq!(
        message(&[("AWS_ENDPOINT_URL", "127.0.0.1:5077")]),
        "AWS_ENDPOINT_URL `127.0.0.1:5077` has no scheme; use http://127.0.0.1:5077"
    );
    assert_eq!(
        message(&[("AWS_ENDPOINT_URL_S3", "ftp://host")]),
        "AWS_ENDPOINT_URL_S3 `ftp://host` has the scheme `ftp`; use http:// or https://"
    );
    assert_eq!(
        message(&[("AWS_ENDPOINT_URL", "http://")]),
        "AWS_ENDPOINT_URL `http://` has no host"
    );
    assert_eq!(
        message(&[("AWS_ENDPOINT_URL", "")]),
        "AWS_ENDPOINT_URL `` is empty; unset it, or name the server (http://HOST:PORT)"
    );
    let lan = message(&[("AWS_ENDPOINT_URL", "http://10.1.2.3:9000")]);
    assert!(
        lan.starts_with("plain HTTP to `http://10.1.2.3:9000` (AWS_ENDPOINT_URL) is refused")
            && lan.contains("set AWS_ALLOW_HTTP=true"),
        "{lan}"
    );
    with(&[
        ("AWS_ENDPOINT_URL", "http://10.1.2.3:9000"),
        ("AWS_ALLOW_HTTP", "true"),
    ])
    .expect("allowed");
    with(&[("AWS_ENDPOINT_URL", "https://s3.example.com")]).expect("https");

    // The profile's endpoint is named as the profile's.
    let files = tempfile::tempdir().expect("temp dir");
    let config = write(
        files.path(),
        "config",
        "[default]\nendpoint_url = localhost:9000\n",
    );
    let err = build(&[
        ("HOME", "/nonexistent"),
        ("AWS_ACCESS_KEY_ID", "k"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
        ("AWS_CONFIG_FILE", &config),
    ])
    .expect_err("no scheme");
    assert_eq!(
        err.to_string(),
        format!(
            "endpoint_url of profile `default` in {config} `localhost:9000` has no scheme; \
             use http://localhost:9000"
        )
    );
}
