//! The repository scenario suite on the local-folder backend, and what only
//! a folder shows: no empty folders are left behind.

use std::sync::Arc;

use dman_core::StorageBackend;
use dman_fs::FsBackend;

#[tokio::test(flavor = "multi_thread")]
async fn repository_scenarios() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        n += 1;
        Arc::new(FsBackend::new(dir.path().join(format!("case{n}"))).expect("backend"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cleaning_prunes_empty_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn StorageBackend> = Arc::new(FsBackend::new(dir.path()).expect("backend"));
    dman_core::scenarios::clean_removes_everything(store).await;
    let left: Vec<_> = walkdir(dir.path());
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        out.push(entry.path());
        if entry.path().is_dir() {
            out.extend(walkdir(&entry.path()));
        }
    }
    out
}
