//! Behaviour of the fs backend beyond the conformance suite: the root, the
//! layout on disk, pruning of empty folders, temporary files, odd entries.

use std::fs;

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath};
use dman_fs::{FsBackend, TEMP_PREFIX};

fn p(input: &str) -> StoragePath {
    StoragePath::parse(input).unwrap()
}

#[tokio::test]
async fn new_creates_the_root_and_names_it_in_the_location() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("deep/er/.dman");
    assert!(!root.exists());
    let backend = FsBackend::new(&root).unwrap();
    assert!(root.is_dir());
    let canonical = fs::canonicalize(&root).unwrap();
    assert_eq!(backend.root(), canonical);
    assert!(backend.root().is_absolute());
    assert_eq!(
        backend.location(),
        format!("file://{}", canonical.display())
    );
    assert!(backend.location().starts_with("file:///"));
    assert!(!backend.is_durable());
    assert!(backend.clone().durable(true).is_durable());
    assert!(format!("{backend:?}").contains("file://"));
}

#[tokio::test]
async fn new_refuses_a_file_as_root() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("file");
    fs::write(&file, b"x").unwrap();
    let err = FsBackend::new(&file).unwrap_err();
    assert!(!err.is_not_found());
    assert!(err.to_string().contains("open"), "{err}");
}

#[tokio::test]
async fn files_live_at_their_path_under_the_root() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    let path = p("cache/examples:patterns:common/run/run.json");
    backend
        .write(&path, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let local = folder
        .path()
        .join("cache/examples:patterns:common/run/run.json");
    assert_eq!(fs::read(&local).unwrap(), b"{}");
    assert_eq!(backend.local_path(&path), fs::canonicalize(&local).unwrap());
    // Files put there by other programs are seen.
    fs::write(folder.path().join("cache/other.txt"), b"12345").unwrap();
    let listed = backend.list(&p("cache")).await.unwrap();
    let sizes: Vec<_> = listed.iter().map(|m| (m.path.as_str(), m.size)).collect();
    assert_eq!(
        sizes,
        [
            ("cache/examples:patterns:common/run/run.json", 2),
            ("cache/other.txt", 5)
        ]
    );
}

#[tokio::test]
async fn delete_prunes_empty_folders_up_to_the_root() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    backend
        .write(&p("a/b/c/d.bin"), Bytes::from_static(b"d"))
        .await
        .unwrap();
    backend
        .write(&p("a/keep.bin"), Bytes::from_static(b"k"))
        .await
        .unwrap();
    backend.delete(&p("a/b/c/d.bin")).await.unwrap();
    assert!(
        !folder.path().join("a/b").exists(),
        "empty folders were left"
    );
    assert!(folder.path().join("a/keep.bin").is_file());
    backend.delete(&p("a/keep.bin")).await.unwrap();
    assert!(!folder.path().join("a").exists());
    assert!(folder.path().is_dir(), "the root itself must stay");
    assert_eq!(fs::read_dir(folder.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn delete_leaves_folders_that_hold_other_things() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    backend
        .write(&p("a/b/file"), Bytes::from_static(b"x"))
        .await
        .unwrap();
    fs::create_dir_all(folder.path().join("a/empty-sibling")).unwrap();
    backend.delete(&p("a/b/file")).await.unwrap();
    assert!(!folder.path().join("a/b").exists());
    assert!(folder.path().join("a/empty-sibling").is_dir());
}

#[tokio::test]
async fn list_skips_temporary_files_and_writes_refuse_their_names() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    backend
        .write(&p("k/key.json"), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let stray = folder
        .path()
        .join(format!("k/{TEMP_PREFIX}0123456789abcdef"));
    fs::write(&stray, b"half a wri").unwrap();
    let listed = backend.list(&StoragePath::root()).await.unwrap();
    let paths: Vec<_> = listed.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["k/key.json"]);

    let reserved = p(&format!("k/{TEMP_PREFIX}mine"));
    let err = backend.write(&reserved, Bytes::new()).await.unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    assert_eq!(fs::read(&stray).unwrap(), b"half a wri");
}

#[tokio::test]
async fn writes_leave_no_temporary_files() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap().durable(true);
    for round in 0..5 {
        let data = Bytes::from(vec![round as u8; 1000]);
        backend.write(&p("x/y.bin"), data).await.unwrap();
        backend.copy(&p("x/y.bin"), &p("x/z.bin")).await.unwrap();
    }
    let mut names: Vec<_> = fs::read_dir(folder.path().join("x"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["y.bin", "z.bin"]);
    assert_eq!(backend.read(&p("x/z.bin")).await.unwrap(), vec![4u8; 1000]);
}

#[tokio::test]
async fn paths_blocked_by_files_or_folders_fail_clearly() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    backend
        .write(&p("a/file"), Bytes::from_static(b"x"))
        .await
        .unwrap();

    let err = backend
        .write(&p("a/file/below"), Bytes::new())
        .await
        .unwrap_err();
    assert!(!err.is_not_found());
    assert!(err.to_string().contains("`a/file` is a file"), "{err}");
    let err = backend.write(&p("a"), Bytes::new()).await.unwrap_err();
    assert!(err.to_string().contains("folder"), "{err}");
    let err = backend
        .write(&StoragePath::root(), Bytes::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("root"), "{err}");

    // Below a file nothing exists, and deleting it is a no-op.
    assert!(backend
        .read(&p("a/file/below"))
        .await
        .unwrap_err()
        .is_not_found());
    assert!(!backend.exists(&p("a/file/below")).await.unwrap());
    backend.delete(&p("a/file/below")).await.unwrap();
    assert!(backend.list(&p("a/file")).await.unwrap().is_empty());
    assert_eq!(fs::read(folder.path().join("a/file")).unwrap(), b"x");
}

#[test]
fn works_outside_a_tokio_runtime() {
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    let path = p("plain/file.txt");
    block_on_once(backend.write(&path, Bytes::from_static(b"sync"))).unwrap();
    assert_eq!(
        block_on_once(backend.read(&path)).unwrap(),
        Bytes::from_static(b"sync")
    );
}

/// A minimal executor: the fs backend's futures complete without waking
/// when no Tokio runtime is around, so polling once suffices.
fn block_on_once<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(&waker);
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future did not complete on the calling thread"),
    }
}

/// Streamed reads split files into chunks of at most `STREAM_CHUNK` bytes,
/// none empty, whatever the size's place relative to a chunk boundary; the
/// first chunk is read with the open, which works outside a runtime too.
#[tokio::test]
async fn streams_split_at_chunk_boundaries() {
    use dman_core::storage::STREAM_CHUNK;
    use futures::TryStreamExt;
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    for size in [
        0,
        1,
        STREAM_CHUNK - 1,
        STREAM_CHUNK,
        STREAM_CHUNK + 1,
        2 * STREAM_CHUNK,
    ] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let path = p(&format!("streams/{size}.bin"));
        backend
            .write(&path, Bytes::from(data.clone()))
            .await
            .unwrap();
        let chunks: Vec<Bytes> = backend
            .read_stream(&path)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(chunks.len(), size.div_ceil(STREAM_CHUNK), "size {size}");
        assert!(
            chunks
                .iter()
                .all(|chunk| !chunk.is_empty() && chunk.len() <= STREAM_CHUNK),
            "size {size}: chunks of {:?} bytes",
            chunks.iter().map(Bytes::len).collect::<Vec<_>>()
        );
        assert!(chunks.concat() == data, "size {size}: the content differs");
    }
    let small = p("streams/1.bin");
    let outside_a_runtime = std::thread::spawn(move || {
        let stream = block_on_once(backend.read_stream(&small)).unwrap();
        block_on_once(stream.try_collect::<Vec<Bytes>>()).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(outside_a_runtime, [Bytes::from_static(&[0])]);
}

/// A FIFO (or socket, or device) where a file is expected is not a file:
/// reads find nothing (and do not hang on opening it), writes refuse it,
/// deletes leave it.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_fifo_is_not_a_file() {
    use rustix::fs::{mknodat, FileType, Mode, CWD};
    let folder = tempfile::tempdir().unwrap();
    let backend = FsBackend::new(folder.path()).unwrap();
    fs::create_dir(folder.path().join("odd")).unwrap();
    let fifo = folder.path().join("odd/pipe");
    mknodat(
        CWD,
        &fifo,
        FileType::Fifo,
        Mode::from_bits_truncate(0o600),
        0,
    )
    .unwrap();
    let path = p("odd/pipe");

    assert!(backend.read(&path).await.unwrap_err().is_not_found());
    assert!(backend
        .read_versioned(&path)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(matches!(
        backend.read_stream(&path).await,
        Err(err) if err.is_not_found()
    ));
    assert!(!backend.exists(&path).await.unwrap());
    assert!(backend.head(&path).await.unwrap_err().is_not_found());
    assert!(backend.list(&p("odd")).await.unwrap().is_empty());
    let err = backend.write(&path, Bytes::new()).await.unwrap_err();
    assert!(err.to_string().contains("something other"), "{err}");
    backend.delete(&path).await.unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
