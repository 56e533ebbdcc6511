//! `copy_tree`: every file under a prefix, to another prefix of another
//! backend, with progress, and one flush at the end (none on failure).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dman_core::copy::{copy_tree, Progress};
use dman_core::{StorageBackend, StorageError, StoragePath, StorageResult};
use dman_memory::MemoryBackend;
use dman_test_support::backend::{Hook, Op, Wrapped};

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).unwrap()
}

/// Logs writes and flushes, and fails to read one path.
#[derive(Debug, Default)]
struct Log {
    log: Mutex<Vec<String>>,
    fail_read: Option<StoragePath>,
}

impl Hook for Log {
    fn before(&self, op: &Op, inner: &dyn StorageBackend) -> StorageResult<()> {
        let line = match op {
            Op::Read(path) if self.fail_read.as_ref() == Some(path) => {
                return Err(StorageError::failed(
                    inner.location(),
                    path,
                    dman_core::Operation::Read,
                    "injected failure",
                ));
            }
            Op::Write(path) => format!("write {path}"),
            Op::Flush => "flush".into(),
            _ => return Ok(()),
        };
        self.log.lock().unwrap().push(line);
        Ok(())
    }
}

/// A memory backend behind a [`Log`] (a clone of `inner` sees its files).
fn logged(inner: MemoryBackend, log: Log) -> Arc<Wrapped<Log>> {
    Wrapped::with_hook(Arc::new(inner), log)
}

impl Log {
    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
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
    let mem = MemoryBackend::new();
    let to = logged(mem.clone(), Log::default());
    let mut seen: Vec<Progress> = Vec::new();
    let summary = copy_tree(&from, &p("a"), to.as_ref(), &p("x/y"), |progress| {
        seen.push(progress)
    })
    .await
    .unwrap();
    assert_eq!((summary.files, summary.bytes), (3, 1010));
    assert_eq!(
        mem.paths(),
        [p("x/y/deep/er/y.npy"), p("x/y/x.json"), p("x/y/z")]
    );
    assert_eq!(
        mem.get(&p("x/y/deep/er/y.npy")).unwrap(),
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
    let log = to.hook().lines();
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
    let to = logged(MemoryBackend::new(), Log::default());
    let summary = copy_tree(
        &from,
        &p("missing"),
        to.as_ref(),
        &StoragePath::root(),
        |_| panic!("no progress without files"),
    )
    .await
    .unwrap();
    assert_eq!(summary.files, 0);
    assert_eq!(to.hook().lines(), ["flush"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_copy_does_not_flush() {
    let from = logged(
        source().await,
        Log {
            fail_read: Some(p("a/x.json")),
            ..Log::default()
        },
    );
    let to = logged(MemoryBackend::new(), Log::default());
    let err = copy_tree(
        from.as_ref(),
        &p("a"),
        to.as_ref(),
        &StoragePath::root(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    let lines = to.hook().lines();
    assert!(!lines.contains(&"flush".to_string()), "{lines:?}");
}
