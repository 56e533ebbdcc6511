//! dman-s3 against a second, independent S3 server: moto's
//! (`python -m moto.server`, from the project's Python venv), started on a
//! port of 127.0.0.1 by each test and killed when the test ends. The
//! whole conformance and repository scenario suites, a missing bucket, the
//! getting-started flow (`.npy` GETs counted by a wrapper and in moto's
//! request log), and trees exchanged with Python dman 1.0.1 through boto3.
//!
//! Needs the Python of `scripts/setup-python.sh` (or `DMAN_PYTHON`): the
//! tests fail, never skip, when it cannot be had.

use std::sync::Arc;
use std::time::Duration;

use dman::{MRuns, Repo, StorageBackend, StoragePath};

use dman_test_support::s3::{self, cases, store, MotoServer};
use dman_test_support::seed::{self, GENERATOR};

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
    tokio::task::spawn_blocking(move || s3::s3tool(&endpoint, &["create-bucket", &bucket]))
        .await
        .expect("create bucket");
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
    cases::repository_scenarios(server.endpoint(), "scenarios").await;
}

/// Listing more keys than one page (moto, as S3, returns 1000 at most).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_pagination() {
    let server = moto().await;
    create_bucket(&server, "pages").await;
    cases::listing_follows_pagination(server.endpoint(), "pages", 1500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_an_error_naming_bucket_and_key() {
    // moto, as S3, refuses writes and deletes too.
    let server = moto().await;
    cases::missing_bucket_errors(server.endpoint(), true).await;
}

/// The getting-started sequence on moto: the second seed 1000 is found
/// without a GET of a `.npy` object, by the count of a wrapper around the
/// store and by moto's own request log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getting_started_finds_the_second_seed_1000_without_reading_arrays() {
    let server = moto().await;
    create_bucket(&server, "experiments").await;
    let (backend, counting) = store::counting(server.builder("experiments").prefix("dman"));
    let repo = Repo::new(Arc::new(backend.clone())).with_generator(GENERATOR);
    seed::start_getting_started(&repo).await;

    let before = log_mark(&server, &backend, "mark-before").await;
    store::rerun_finds_seed_1000(&repo, &counting).await;
    let after = log_mark(&server, &backend, "mark-after").await;

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

    let runs: MRuns<seed::Run> = repo.load("experiment").await.expect("load");
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
    cases::uploaded_fixture_loads(server.endpoint(), "uploaded", ".dman").await;
}

/// The getting-started tree written to moto, downloaded by boto3, loads in
/// Python dman 1.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_we_write_loads_in_python_once_downloaded() {
    let server = moto().await;
    create_bucket(&server, "written").await;
    cases::written_tree_loads_in_python(server.endpoint(), "written", "lab/.dman").await;
}
