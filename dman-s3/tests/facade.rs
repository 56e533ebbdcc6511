//! `dman::open("s3://bucket/prefix")`: the facade's S3 location, configured
//! from the `AWS_*` environment variables, used from plain blocking code.
//! (Alone in its test binary: it sets the process's environment.)

use dman::blocking::{self, prelude::*};
use dman::{Key, StorageBackend};
use dman_test_support::s3::{S3sServer, ACCESS_KEY, SECRET_KEY};
use dman_test_support::seed;

#[test]
fn open_builds_an_s3_backend_from_the_environment() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime of the server");
    let server = runtime.block_on(S3sServer::start());
    server.create_bucket("from-env");

    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_REGION", "eu-west-3"),
        ("AWS_ENDPOINT_URL", server.endpoint()),
    ] {
        std::env::set_var(name, value);
    }
    std::env::remove_var("AWS_SESSION_TOKEN");

    let backend = dman::open("s3://from-env/team/results")
        .expect("open")
        .backend()
        .clone();
    assert_eq!(backend.location(), "s3://from-env/team/results");

    let repo = blocking::Repo::from(
        dman::open("s3://from-env/team/results")
            .expect("open")
            .with_generator("cache/facade"),
    );
    repo.track("experiment", seed::experiment, |runs| {
        runs.push(seed::Run::of(seed::Config::default()));
        Ok(())
    })
    .expect("track");
    repo.save(Key::new("config").cluster(false), &seed::Config::default())
        .expect("save");

    let runs: dman::MRuns<seed::Run> = repo.load("experiment").expect("load");
    let runs = runs.blocking_contents().expect("runs");
    assert_eq!(runs.len(), 1);
    let data = runs[0]
        .data
        .as_ref()
        .expect("data")
        .blocking_get()
        .expect("data array");
    assert_eq!(data, &seed::arrays(&seed::Config::default()).0);

    // The files are where the location says, in the bucket the server holds.
    let keys: Vec<String> = runtime
        .block_on(
            S3sServer::builder(&server, "from-env")
                .build()
                .expect("backend")
                .list(&dman::StoragePath::root()),
        )
        .expect("list")
        .into_iter()
        .map(|meta| meta.path.into_string())
        .collect();
    assert!(
        keys.iter()
            .any(|key| key == "team/results/cache/facade/config.json"),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|key| key == "team/results/cache/facade/experiment/experiment.json"),
        "{keys:?}"
    );

    // A location that is not one is refused with a clear error.
    let err = dman::open("s3:///no-bucket").expect_err("no bucket");
    assert!(err.to_string().contains("s3:///no-bucket"), "{err}");
}
