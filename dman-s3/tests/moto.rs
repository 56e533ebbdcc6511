//! dman-s3 against a second, independent S3 server: moto's
//! (`python -m moto.server`, from the project's Python venv), started on a
//! free port of 127.0.0.1 by each test and killed when the test ends. The
//! whole conformance and repository scenario suites, a missing bucket, the
//! getting-started flow (`.npy` GETs counted by a wrapper and in moto's
//! request log), and trees exchanged with Python dman 1.0.1 through boto3.
//!
//! Needs the Python of `scripts/setup-python.sh` (or `DMAN_PYTHON`): the
//! tests fail, never skip, when it cannot be had.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{CountingStore, MotoServer};
use dman::{Key, MRuns, Repo, StorageBackend, StoragePath};
use dman_s3::{FailureKind, ObjectStoreFailure};

fn p(path: &str) -> StoragePath {
    StoragePath::parse(path).expect("test path")
}

async fn moto() -> MotoServer {
    tokio::task::spawn_blocking(MotoServer::start)
        .await
        .expect("start moto")
}

async fn create_bucket(server: &MotoServer, bucket: &str) {
    let endpoint = server.endpoint().to_owned();
    let bucket = bucket.to_owned();
    tokio::task::spawn_blocking(move || common::s3tool(&endpoint, &["create-bucket", &bucket]))
        .await
        .expect("create bucket");
}

fn cfg(seed: u64) -> common::Config {
    common::Config {
        seed,
        ..common::Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let server = moto().await;
    create_bucket(&server, "conformance").await;
    let backend = server
        .builder("conformance")
        .prefix("team/dman")
        .build()
        .expect("backend");
    dman_core::testing::conformance(Arc::new(backend)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_scenarios() {
    let server = moto().await;
    create_bucket(&server, "scenarios").await;
    let mut case = 0;
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        case += 1;
        Arc::new(
            server
                .builder("scenarios")
                .prefix(format!("case-{case}"))
                .build()
                .expect("backend"),
        )
    })
    .await;
    // Nine scenarios, and the kill-point one on a backend per kill point.
    assert!(
        case > 10,
        "every scenario ran on a backend of its own ({case})"
    );
}

/// Listing more keys than one page (moto, as S3, returns 1000 at most).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_pagination() {
    use futures::StreamExt;
    let server = moto().await;
    create_bucket(&server, "pages").await;
    let backend = Arc::new(server.builder("pages").build().expect("backend"));
    let count = 1500;
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|index| {
            let backend = backend.clone();
            async move {
                let path = p(&format!("many/file-{index:05}"));
                backend
                    .write(&path, Bytes::from(vec![b'x'; index % 5]))
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "a write failed");
    let listed = backend.list(&p("many")).await.expect("list");
    assert_eq!(listed.len(), count);
    for (index, meta) in listed.iter().enumerate() {
        assert_eq!(meta.path, p(&format!("many/file-{index:05}")));
        assert_eq!(meta.size, (index % 5) as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_an_error_naming_bucket_and_key() {
    let server = moto().await;
    let backend = server
        .builder("no-such-bucket")
        .prefix("pre")
        .build()
        .expect("backend");
    let path = p("cache/key/key.json");
    let kind = |err: &dman::core::StorageError| {
        std::error::Error::source(err)
            .and_then(|source| source.downcast_ref::<ObjectStoreFailure>())
            .map(ObjectStoreFailure::kind)
    };

    let err = backend
        .write(&path, Bytes::from_static(b"{}"))
        .await
        .expect_err("write");
    assert_eq!(kind(&err), Some(FailureKind::MissingContainer), "{err}");
    let message = err.to_string();
    for part in ["no-such-bucket", "pre/cache/key/key.json", "does not exist"] {
        assert!(message.contains(part), "`{part}` not in: {message}");
    }
    let err = backend.read(&path).await.expect_err("read");
    assert!(
        !err.is_not_found(),
        "a missing bucket is not a missing key: {err}"
    );
    assert_eq!(kind(&err), Some(FailureKind::MissingContainer), "{err}");
    let err = backend.exists(&path).await.expect_err("exists");
    assert_eq!(kind(&err), Some(FailureKind::MissingContainer), "{err}");
    let err = backend.list(&StoragePath::root()).await.expect_err("list");
    assert_eq!(kind(&err), Some(FailureKind::MissingContainer), "{err}");
    let err = backend.delete(&path).await.expect_err("delete");
    assert_eq!(kind(&err), Some(FailureKind::MissingContainer), "{err}");

    let repo = Repo::new(Arc::new(backend)).with_generator("g");
    let err = repo
        .save("key", &common::experiment())
        .await
        .expect_err("save to a missing bucket");
    assert!(err.to_string().contains("no-such-bucket"), "{err}");
}

/// The getting-started sequence on moto: the second seed 1000 is found
/// without a GET of a `.npy` object, by the count of a wrapper around the
/// store and by moto's own request log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getting_started_finds_the_second_seed_1000_without_reading_arrays() {
    let server = moto().await;
    create_bucket(&server, "experiments").await;
    let counting = Arc::new(std::sync::OnceLock::<Arc<CountingStore>>::new());
    let backend = {
        let counting = counting.clone();
        server
            .builder("experiments")
            .prefix("dman")
            .build_wrapped(move |store| {
                let wrapper = Arc::new(CountingStore::new(store));
                let _ = counting.set(wrapper.clone());
                wrapper
            })
            .expect("backend")
    };
    let counting = counting.get().expect("the wrapper was built").clone();
    let repo =
        Repo::new(Arc::new(backend.clone())).with_generator("cache/examples:patterns:common");

    repo.track(
        "experiment",
        common::experiment,
        async |runs: &mut MRuns<common::Run>| {
            runs.clear();
            Ok(())
        },
    )
    .await
    .expect("clear");
    assert!(common::execute(&repo, cfg(1000)).await.expect("seed 1000"));
    assert!(common::execute(&repo, cfg(1024)).await.expect("seed 1024"));

    let before = log_mark(&server, &backend, "mark-before").await;
    counting.reset();
    let ran = common::execute(&repo, cfg(1000))
        .await
        .expect("seed 1000 again");
    assert!(!ran, "seed 1000 was not found among the saved runs");
    let wrapper_gets = counting.gets();
    let after = log_mark(&server, &backend, "mark-after").await;

    assert!(
        wrapper_gets
            .iter()
            .any(|key| key.ends_with("experiment/experiment.json")),
        "{wrapper_gets:?}"
    );
    assert_eq!(counting.gets_ending_with(".npy"), Vec::<String>::new());

    let requests = server.requests();
    let third: Vec<&String> = requests[before + 1..after].iter().collect();
    assert!(
        third.iter().any(|line| line.contains(
            "\"GET /experiments/dman/cache/examples%3Apatterns%3Acommon/experiment/experiment.json"
        ) || line.contains(
            "\"GET /experiments/dman/cache/examples:patterns:common/experiment/experiment.json"
        )),
        "moto logged no read of the experiment: {third:#?}"
    );
    let npy: Vec<_> = third
        .iter()
        .filter(|line| line.contains("\"GET ") && line.contains(".npy"))
        .collect();
    assert!(npy.is_empty(), "moto served .npy objects: {npy:#?}");

    let runs: MRuns<common::Run> = repo.load("experiment").await.expect("load");
    assert_eq!(runs.contents().await.expect("runs").len(), 2);
}

/// Makes a request for a marker key (a `HEAD`) and waits until moto has
/// logged it; returns the index of its line among the logged requests.
async fn log_mark(server: &MotoServer, backend: &dman_s3::S3Backend, marker: &str) -> usize {
    let exists = backend.exists(&p(marker)).await.expect("marker request");
    assert!(!exists);
    for _ in 0..200 {
        if let Some(index) = server
            .requests()
            .iter()
            .position(|line| line.contains("\"HEAD ") && line.contains(marker))
        {
            return index;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "moto did not log the request for {marker}:\n{}",
        server.logs()
    );
}

/// Python dman 1.0.1's fixture tree, uploaded by boto3, loads from moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_uploaded_by_a_generic_tool_loads() {
    let server = moto().await;
    create_bucket(&server, "uploaded").await;
    let endpoint = server.endpoint().to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::extract_fixture(dir.path());
    let out = tokio::task::spawn_blocking(move || {
        common::s3tool(
            &endpoint,
            &["upload", &base.to_string_lossy(), "uploaded", ".dman"],
        )
    })
    .await
    .expect("upload task");
    assert!(out.contains("ok 11 objects"), "{out}");

    let backend = server
        .builder("uploaded")
        .prefix(".dman")
        .build()
        .expect("backend");
    let repo = Repo::new(Arc::new(backend)).with_generator("cache/examples:patterns:common");
    let runs: MRuns<common::Run> = repo.load("experiment").await.expect("load the fixture");
    let runs = runs.contents().await.expect("runs");
    let seeds: Vec<u64> = runs.iter().map(|run| run.config.seed).collect();
    assert_eq!(seeds, [1000, 1024]);
    for run in runs {
        let output = run
            .output
            .as_ref()
            .expect("output")
            .get()
            .await
            .expect("output array");
        assert_eq!(output.dim(), (100, 1000));
    }
    let demo: common::Config = repo
        .load(Key::new("config").cluster(false).generator("demo"))
        .await
        .expect("demo config");
    assert_eq!(demo, common::Config::default());
}

/// The getting-started tree written to moto, downloaded by boto3, loads in
/// Python dman 1.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_we_write_loads_in_python_once_downloaded() {
    let server = moto().await;
    create_bucket(&server, "written").await;
    let backend = server
        .builder("written")
        .prefix("lab/.dman")
        .build()
        .expect("backend");
    let repo = Repo::new(Arc::new(backend)).with_generator("cache/examples:patterns:common");
    for seed in [1000, 1024, 1000] {
        common::execute(&repo, cfg(seed)).await.expect("execute");
    }
    repo.save(
        Key::new("config").cluster(false),
        &common::Config::default(),
    )
    .await
    .expect("config");
    repo.save(
        Key::new("config").cluster(false).generator("demo"),
        &common::Config::default(),
    )
    .await
    .expect("demo config");
    let runs: MRuns<common::Run> = repo.load("experiment").await.expect("load");
    let mut expected = Vec::new();
    for run in runs.contents().await.expect("runs") {
        let data = run.data.as_ref().expect("data").get().await.expect("data");
        let output = run
            .output
            .as_ref()
            .expect("output")
            .get()
            .await
            .expect("output");
        expected.push(format!(
            r#"{{"seed": {}, "data": "{}", "output": "{}"}}"#,
            run.config.seed,
            common::digest(data),
            common::digest(output)
        ));
    }
    let expected = format!(r#"{{"runs": [{}]}}"#, expected.join(", "));

    let endpoint = server.endpoint().to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = dir.path().to_owned();
    let verdict = tokio::task::spawn_blocking(move || {
        let out = common::s3tool(
            &endpoint,
            &[
                "download",
                "written",
                "lab/.dman",
                &workspace.join(".dman").to_string_lossy(),
            ],
        );
        assert!(out.contains("ok 11 objects"), "{out}");
        let expected_path = workspace.join("expected.json");
        std::fs::write(&expected_path, expected).expect("write expected");
        common::python_check_getting_started(&workspace, &expected_path)
    })
    .await
    .expect("download and check");
    assert!(verdict.starts_with("ok "), "{verdict}");
}
