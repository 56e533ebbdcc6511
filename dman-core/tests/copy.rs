//! `copy_tree`: every file under a prefix, to another prefix of another
//! backend, with progress, and one flush at the end (none on failure).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dman_core::copy::{
    copy_tree, copy_tree_with, verify_tree, Action, CopyOptions, DifferenceKind, Progress,
};
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
            Op::Delete(path) => format!("delete {path}"),
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

/// The destination of the resume tests: two files of the source identical,
/// one of the same size changed, one the source does not have.
async fn half_copied() -> MemoryBackend {
    let to = MemoryBackend::new();
    to.write(&p("x.json"), Bytes::from(vec![10u8; 10]))
        .await
        .unwrap();
    to.write(&p("z"), Bytes::new()).await.unwrap();
    to.write(&p("deep/er/y.npy"), Bytes::from(vec![7u8; 1000]))
        .await
        .unwrap();
    to.write(&p("extra"), Bytes::from_static(b"mine"))
        .await
        .unwrap();
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_files_are_skipped_and_the_rest_copied() {
    let from = source().await;
    let to = logged(half_copied().await, Log::default());
    let mut actions = Vec::new();
    let summary = copy_tree(
        &from,
        &p("a"),
        to.as_ref(),
        &StoragePath::root(),
        |progress| actions.push((progress.path.to_string(), progress.action)),
    )
    .await
    .unwrap();
    assert_eq!((summary.files, summary.bytes), (1, 1000));
    assert_eq!((summary.skipped, summary.skipped_bytes), (2, 10));
    assert_eq!(summary.deleted, 0);
    actions.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        actions,
        [
            ("deep/er/y.npy".to_string(), Action::Copied),
            ("x.json".to_string(), Action::Skipped),
            ("z".to_string(), Action::Skipped),
        ]
    );
    assert_eq!(to.hook().lines(), ["write deep/er/y.npy", "flush"]);
    assert_eq!(
        to.read(&p("deep/er/y.npy")).await.unwrap(),
        from.read(&p("a/deep/er/y.npy")).await.unwrap()
    );
    assert!(to.exists(&p("extra")).await.unwrap(), "left alone");

    // Without skipping, everything is written again.
    let again = copy_tree_with(
        &from,
        &p("a"),
        to.as_ref(),
        &StoragePath::root(),
        &CopyOptions::new().skip_identical(false),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((again.files, again.skipped), (3, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_delete_mirrors() {
    let from = source().await;
    let to = logged(half_copied().await, Log::default());
    let root = StoragePath::root();
    let plan = copy_tree_with(
        &from,
        &p("a"),
        to.as_ref(),
        &root,
        &CopyOptions::new().dry_run(true).delete(true),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((plan.files, plan.skipped, plan.deleted), (1, 2, 1));
    assert_eq!(plan.deleted_bytes, 4);
    assert!(to.hook().lines().is_empty(), "{:?}", to.hook().lines());

    let done = copy_tree_with(
        &from,
        &p("a"),
        to.as_ref(),
        &root,
        &CopyOptions::new().delete(true),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((done.files, done.skipped, done.deleted), (1, 2, 1));
    // Deleted after the copies, flushed once at the end.
    assert_eq!(
        to.hook().lines(),
        ["write deep/er/y.npy", "delete extra", "flush"]
    );
    let check = verify_tree(&from, &p("a"), to.as_ref(), &root, |_| {})
        .await
        .unwrap();
    assert_eq!((check.checked, check.bytes), (3, 1010));
    assert!(check.differences.is_empty() && check.extra.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_every_difference() {
    let from = source().await;
    let to = half_copied().await;
    to.delete(&p("z")).await.unwrap();
    to.write(&p("x.json"), Bytes::from_static(b"short"))
        .await
        .unwrap();
    let mut seen = 0;
    let check = verify_tree(&from, &p("a"), &to, &StoragePath::root(), |size| {
        seen += size
    })
    .await
    .unwrap();
    assert_eq!(seen, 1010);
    let found: Vec<(String, DifferenceKind)> = check
        .differences
        .into_iter()
        .map(|d| (d.path.to_string(), d.kind))
        .collect();
    assert_eq!(
        found,
        [
            ("deep/er/y.npy".to_string(), DifferenceKind::Content),
            (
                "x.json".to_string(),
                DifferenceKind::Size {
                    source: 10,
                    destination: 5
                }
            ),
            ("z".to_string(), DifferenceKind::Missing),
        ]
    );
    assert_eq!(check.extra, [p("extra")]);
}

#[tokio::test]
async fn delete_refuses_an_empty_source() {
    let from = source().await;
    let to = logged(half_copied().await, Log::default());
    let err = copy_tree_with(
        &from,
        &p("typo"),
        to.as_ref(),
        &StoragePath::root(),
        &CopyOptions::new().delete(true),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("holds no files under `typo`"),
        "{err}"
    );
    assert!(to.hook().lines().is_empty(), "{:?}", to.hook().lines());
    assert!(to.exists(&p("extra")).await.unwrap());
}
