//! The debris of a killed streamed write: a real child process (the
//! `stream_writer` example of the test-support crate) is killed in the
//! middle of `write_stream`; its temporary file is not a file of the
//! backend, but a leftover that `leftovers` lists and `remove_leftover`
//! removes.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use dman_core::storage::{Leftover, LeftoverKind};
use dman_core::{StorageBackend, StoragePath};
use dman_fs::{FsBackend, TEMP_PREFIX};
use dman_test_support::files::example;

/// Kills the child when dropped, should the test panic first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_writer_killed_mid_stream_leaves_a_leftover_that_can_be_removed() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let before = SystemTime::now();
    let mut child = KillOnDrop(
        Command::new(example("stream_writer", "dman-test-support"))
            .arg(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.contains("one chunk sent") {
        let mut stderr = String::new();
        let _ = child.0.stderr.take().unwrap().read_to_string(&mut stderr);
        panic!("the writer stopped before its first chunk: {line:?} {stderr}");
    }
    // Killed between a chunk and `finish`, with its stdin still open.
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let backend = FsBackend::new(&root).unwrap();
    runtime.block_on(async {
        assert!(
            backend.list(&StoragePath::root()).await.unwrap().is_empty(),
            "a temporary file is never a file of the backend"
        );
        let leftovers = backend.leftovers().await.unwrap();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        let leftover = &leftovers[0];
        assert!(
            leftover
                .name
                .starts_with(&format!("cache/big/{TEMP_PREFIX}")),
            "{leftover}"
        );
        assert_eq!(leftover.kind, LeftoverKind::TempFile);
        assert_eq!(leftover.size, 1 << 20, "the chunk sent before the kill");
        let modified = leftover.last_modified.expect("a modification time");
        assert!(
            modified + Duration::from_secs(60) >= before && modified <= SystemTime::now(),
            "{modified:?}"
        );
        assert!(
            leftover
                .to_string()
                .contains("temporary file of an interrupted write"),
            "{leftover}"
        );
        let temp = root.join(&leftover.name);
        assert!(temp.is_file());

        // Only what `leftovers` names is removed: a forged one pointing
        // elsewhere is refused.
        let outside = folder.path().join(format!("{TEMP_PREFIX}outside"));
        std::fs::write(&outside, b"not ours").unwrap();
        let forged = Leftover {
            id: outside.to_string_lossy().into_owned(),
            ..leftover.clone()
        };
        assert!(backend.remove_leftover(&forged).await.is_err());
        assert!(outside.is_file());

        backend.remove_leftover(leftover).await.unwrap();
        assert!(!temp.exists());
        assert!(backend.leftovers().await.unwrap().is_empty());
        // The folders the killed write created went with it.
        assert!(!root.join("cache").exists());
        // Removing it again is fine.
        backend.remove_leftover(leftover).await.unwrap();
    });
}

/// A writer that finishes leaves nothing behind, and its file is whole.
#[test]
fn a_finished_streamed_write_leaves_no_leftover() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let mut child = KillOnDrop(
        Command::new(example("stream_writer", "dman-test-support"))
            .arg(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("one chunk sent"), "{line:?}");
    // Closing stdin lets it finish.
    drop(child.0.stdin.take());
    let status = child.0.wait().unwrap();
    assert!(status.success());
    let backend = FsBackend::new(&root).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(backend.leftovers().await.unwrap().is_empty());
        let meta = backend
            .head(&StoragePath::parse("cache/big/data.npy").unwrap())
            .await
            .unwrap();
        assert_eq!(meta.size, 1 << 20);
    });
}
