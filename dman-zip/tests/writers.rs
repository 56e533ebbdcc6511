//! Several writers on one archive: a flush never drops what another writer
//! flushed since this one opened the archive; it fails with a conflict,
//! and a writer that opens the archive again sees both.

use bytes::Bytes;
use dman_core::{Repo, StorageBackend, StorageError, StoragePath};
use dman_zip::ZipBackend;

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).expect("path")
}

#[tokio::test]
async fn a_flush_after_another_writers_flush_is_a_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.zip");
    let first = ZipBackend::create(&path).expect("create");
    first
        .write(&p("base.txt"), Bytes::from_static(b"base"))
        .await
        .expect("write");
    first.flush().await.expect("first flush");

    // Two writers open the same version of the archive.
    let a = ZipBackend::open(&path).expect("open a");
    let b = ZipBackend::open(&path).expect("open b");
    a.write(&p("a.txt"), Bytes::from_static(b"from a"))
        .await
        .expect("a writes");
    b.write(&p("b.txt"), Bytes::from_static(b"from b"))
        .await
        .expect("b writes");
    a.flush().await.expect("a flushes first");
    match b.flush().await {
        Err(err @ StorageError::Conflict { .. }) => {
            let message = err.to_string();
            assert!(message.contains("shared.zip"), "{message}");
        }
        other => panic!("b's flush must be a conflict, got {other:?}"),
    }

    // a's change is there; b's never replaced it.
    let now = ZipBackend::open(&path).expect("reopen");
    assert_eq!(
        now.read(&p("a.txt")).await.expect("a.txt"),
        Bytes::from_static(b"from a")
    );
    assert_eq!(
        now.read(&p("base.txt")).await.expect("base.txt"),
        Bytes::from_static(b"base")
    );
    assert!(!now.exists(&p("b.txt")).await.expect("exists"));

    // b opens the archive again and redoes its change: both are kept.
    now.write(&p("b.txt"), Bytes::from_static(b"from b"))
        .await
        .expect("b again");
    now.flush().await.expect("b's second flush");
    let last = ZipBackend::open(&path).expect("reopen");
    let names: Vec<String> = last
        .list(&StoragePath::root())
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.path.to_string())
        .collect();
    assert_eq!(names, ["a.txt", "b.txt", "base.txt"]);
}

#[tokio::test]
async fn two_saves_through_stale_handles_keep_the_first_and_refuse_the_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("results.zip");
    let a = ZipBackend::create(&path).expect("create a");
    let b = ZipBackend::create(&path).expect("create b");
    let repo_a = Repo::new(std::sync::Arc::new(a)).with_generator("g");
    let repo_b = Repo::new(std::sync::Arc::new(b)).with_generator("g");
    repo_a.save("one", &vec![1i64]).await.expect("a saves");
    let err = repo_b
        .save("two", &vec![2i64])
        .await
        .expect_err("b's save finds the archive made meanwhile");
    assert!(matches!(err, dman_core::Error::Conflict { .. }), "{err:?}");
    let repo =
        Repo::new(std::sync::Arc::new(ZipBackend::open(&path).expect("open"))).with_generator("g");
    let one: Vec<i64> = repo.load("one").await.expect("a's key is kept");
    assert_eq!(one, [1]);
}
