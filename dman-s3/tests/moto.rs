//! dman-s3 against a second, independent S3 server: moto's
//! (`tests/python/moto_server.py`, from the project's Python venv), started on a
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

/// An upload started and left incomplete (a killed save) is a leftover,
/// listed with its key and its start; one under another prefix is not;
/// removing it aborts it, and it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_multipart_uploads_are_leftovers_that_can_be_removed() {
    use dman_core::storage::LeftoverKind;
    use object_store::ObjectStoreExt;

    let server = moto().await;
    create_bucket(&server, "leftovers").await;
    let backend = server
        .builder("leftovers")
        .prefix("team/dman")
        .build()
        .expect("backend");
    assert!(backend.leftovers().await.expect("leftovers").is_empty());

    let before = std::time::SystemTime::now();
    let mut abandoned = Vec::new();
    for key in ["team/dman/cache/run/big.npy", "team/other/big.npy"] {
        let mut upload = backend
            .store()
            .put_multipart(&object_store::path::Path::from(key))
            .await
            .expect("start an upload");
        upload
            .put_part(vec![7u8; 5 << 20].into())
            .await
            .expect("send a part");
        // Neither completed nor aborted: what a killed process leaves.
        abandoned.push(upload);
    }
    drop(abandoned);

    let leftovers = backend.leftovers().await.expect("leftovers");
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let leftover = &leftovers[0];
    assert_eq!(leftover.name, "team/dman/cache/run/big.npy");
    assert_eq!(leftover.kind, LeftoverKind::MultipartUpload);
    // The age is S3's `Initiated`, which moto does not keep: it answers
    // 2010-11-10T20:48:33Z for every upload (moto/s3/responses.py). So
    // what is checked here is that the time is read, and read right.
    let started = leftover.last_modified.expect("the upload's start");
    assert_eq!(
        started,
        std::time::UNIX_EPOCH + Duration::from_secs(1_289_422_113),
        "moto's fixed `Initiated`"
    );
    assert!(started < before);
    assert!(
        leftover.to_string().contains("incomplete multipart upload"),
        "{leftover}"
    );
    assert!(
        !backend
            .exists(&p("cache/run/big.npy"))
            .await
            .expect("exists"),
        "an incomplete upload is not a file"
    );

    backend.remove_leftover(leftover).await.expect("remove");
    assert!(backend.leftovers().await.expect("leftovers").is_empty());
    // Gone from the bucket too, not only from this prefix's view.
    let everything = server
        .builder("leftovers")
        .build()
        .expect("backend at the top");
    let rest = everything.leftovers().await.expect("leftovers");
    assert_eq!(
        rest.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["team/other/big.npy"]
    );
    // Removing it again is fine; another prefix's upload is refused.
    backend
        .remove_leftover(leftover)
        .await
        .expect("remove again");
    assert!(backend.remove_leftover(&rest[0]).await.is_err());
}
