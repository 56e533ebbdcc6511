//! The zip backend passes the backend conformance suite and the repository
//! scenario suite, each check on a fresh archive in a temporary folder; and
//! what the suites leave behind is a valid archive.

use std::sync::Arc;

use dman_core::StorageBackend;
use dman_zip::{CompressionMethod, ZipBackend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_a_new_archive() {
    let folder = tempfile::tempdir().expect("temp dir");
    let archive = folder.path().join("conformance.zip");
    let backend = ZipBackend::create(&archive).expect("create");
    dman_core::testing::conformance(Arc::new(backend.clone())).await;
    backend.flush().await.expect("flush");
    // Everything was deleted again: the archive on disk is empty, and valid.
    let reopened = ZipBackend::open(&archive).expect("reopen");
    assert_eq!(reopened.verify().await.expect("verify"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_under_a_root_with_stored_entries_and_flushes() {
    let folder = tempfile::tempdir().expect("temp dir");
    let archive = folder.path().join("stored.zip");
    let backend = ZipBackend::builder(&archive)
        .root(".dman")
        .compression(CompressionMethod::Stored)
        .create()
        .expect("create");
    dman_core::testing::conformance(Arc::new(backend)).await;
}

#[tokio::test]
async fn conformance_on_a_current_thread_runtime() {
    let folder = tempfile::tempdir().expect("temp dir");
    let backend = ZipBackend::create(folder.path().join("current.zip")).expect("create");
    dman_core::testing::conformance(Arc::new(backend)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_scenarios() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut count = 0;
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        count += 1;
        let archive = folder.path().join(format!("scenario-{count}.zip"));
        Arc::new(ZipBackend::create(archive).expect("create"))
    })
    .await;
    // Each save flushed: every scenario left a valid archive on disk.
    for index in 1..=count {
        let archive = folder.path().join(format!("scenario-{index}.zip"));
        if archive.exists() {
            let backend = ZipBackend::open(&archive).expect("reopen");
            backend.verify().await.expect("verify");
        }
    }
    assert!(count >= 9, "one archive per scenario, {count} made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_scenarios_under_a_dman_root() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut count = 0;
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        count += 1;
        let archive = folder.path().join(format!("scenario-{count}.zip"));
        Arc::new(
            ZipBackend::builder(archive)
                .root(".dman")
                .create()
                .expect("create"),
        )
    })
    .await;
}
