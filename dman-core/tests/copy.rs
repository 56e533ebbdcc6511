//! `copy_tree`: every file under a prefix, to another prefix of another
//! backend, with progress, and one flush at the end (none on failure).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use dman_core::copy::{copy_tree, Progress};
use dman_core::{ObjectMeta, StorageBackend, StorageError, StoragePath, StorageResult};
use dman_memory::MemoryBackend;

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).unwrap()
}

/// A memory backend that logs writes and flushes, and fails to read one
/// path.
#[derive(Debug, Default)]
struct Logged {
    inner: MemoryBackend,
    log: Mutex<Vec<String>>,
    fail_read: Option<StoragePath>,
}

impl Logged {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[async_trait]
impl StorageBackend for Logged {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        if self.fail_read.as_ref() == Some(path) {
            return Err(StorageError::failed(
                self.location(),
                path,
                "read",
                "injected failure",
            ));
        }
        self.inner.read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.log.lock().unwrap().push(format!("write {path}"));
        self.inner.write(path, data).await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.inner.delete(path).await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.inner.exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.inner.list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        self.log.lock().unwrap().push("flush".into());
        Ok(())
    }
}

async fn source() -> MemoryBackend {
    let from = MemoryBackend::new();
    for (path, size) in [
        ("a/x.json", 10),
        ("a/deep/er/y.npy", 1000),
        ("a/z", 0),
        ("ab/not-under-a", 5),
        ("b/c.json", 7),
    ] {
        from.write(&p(path), Bytes::from(vec![size as u8; size]))
            .await
            .unwrap();
    }
    from
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_every_file_under_the_prefix_with_progress() {
    let from = source().await;
    let to = Logged::default();
    let mut seen: Vec<Progress> = Vec::new();
    let summary = copy_tree(&from, &p("a"), &to, &p("x/y"), |progress| {
        seen.push(progress)
    })
    .await
    .unwrap();
    assert_eq!((summary.files, summary.bytes), (3, 1010));
    assert_eq!(
        to.inner.paths(),
        [p("x/y/deep/er/y.npy"), p("x/y/x.json"), p("x/y/z")]
    );
    assert_eq!(
        to.inner.get(&p("x/y/deep/er/y.npy")).unwrap(),
        from.get(&p("a/deep/er/y.npy")).unwrap()
    );
    assert_eq!(seen.len(), 3);
    for (index, progress) in seen.iter().enumerate() {
        assert_eq!(progress.files_done, index + 1);
        assert_eq!(progress.files_total, 3);
        assert_eq!(progress.bytes_total, 1010);
    }
    assert_eq!(seen[2].bytes_done, 1010);
    let mut paths: Vec<_> = seen
        .iter()
        .map(|progress| progress.path.to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["deep/er/y.npy", "x.json", "z"]);
    // One flush, after every write.
    let log = to.log();
    assert_eq!(log.iter().filter(|entry| *entry == "flush").count(), 1);
    assert_eq!(log.last().map(String::as_str), Some("flush"));
}

#[tokio::test]
async fn the_root_copies_everything() {
    let from = source().await;
    let to = MemoryBackend::new();
    let summary = copy_tree(
        &from,
        &StoragePath::root(),
        &to,
        &StoragePath::root(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(summary.files, 5);
    assert_eq!(to.paths(), from.paths());
    for path in from.paths() {
        assert_eq!(to.get(&path), from.get(&path));
    }
}

#[tokio::test]
async fn an_empty_or_missing_prefix_copies_nothing_but_still_flushes() {
    let from = source().await;
    let to = Logged::default();
    let summary = copy_tree(&from, &p("missing"), &to, &StoragePath::root(), |_| {
        panic!("no progress without files")
    })
    .await
    .unwrap();
    assert_eq!(summary.files, 0);
    assert_eq!(to.log(), ["flush"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_copy_does_not_flush() {
    let inner = source().await;
    let from = Logged {
        inner,
        fail_read: Some(p("a/x.json")),
        ..Logged::default()
    };
    let to = Arc::new(Logged::default());
    let err = copy_tree(&from, &p("a"), to.as_ref(), &StoragePath::root(), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(!to.log().contains(&"flush".to_string()), "{:?}", to.log());
}
