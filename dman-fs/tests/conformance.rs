//! The fs backend passes the backend conformance suite.

use std::sync::Arc;

use dman_core::testing;
use dman_fs::FsBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let folder = tempfile::tempdir().unwrap();
    testing::conformance(Arc::new(FsBackend::new(folder.path()).unwrap())).await;
    // Every check deleted what it wrote, and empty folders went with it.
    let left: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert!(left.is_empty(), "left on disk: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_durable_subset() {
    let folder = tempfile::tempdir().unwrap();
    let backend: Arc<dyn dman_core::StorageBackend> =
        Arc::new(FsBackend::new(folder.path()).unwrap().durable(true));
    testing::round_trip(backend.clone()).await;
    testing::overwrite(backend.clone()).await;
    testing::deep_nesting(backend.clone()).await;
    testing::delete(backend.clone()).await;
    testing::copy(backend.clone()).await;
    testing::concurrent_writes_and_deletes(backend.clone()).await;
}
