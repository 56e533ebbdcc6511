//! How the zip backend stages, commits, keeps and refuses: the behaviour
//! the conformance suite does not pin down.
//!
//! Needs the project's Python (scripts/setup-python.sh, or `DMAN_PYTHON`), and
//! Info-ZIP `zip` and `unzip` (scripts/setup-system.sh).

mod common;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use dman_core::{StorageBackend, StoragePath, StorageResult};
use dman_test_support::backend::{Hook, Op, Wrapped};
use dman_test_support::files::{read_tree, run, tool};
use dman_zip::{ArchiveError, CompressionMethod, ZipBackend};

fn p(path: &str) -> StoragePath {
    StoragePath::parse(path).expect("path")
}

async fn paths(backend: &ZipBackend, prefix: &str) -> Vec<(String, u64)> {
    backend
        .list(&p(prefix))
        .await
        .expect("list")
        .into_iter()
        .map(|meta| (meta.path.to_string(), meta.size))
        .collect()
}

/// The files of the folder, by name, but for those named `keep`.
fn folder_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_changes_are_seen_at_once_and_written_by_flush() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let backend = ZipBackend::open_or_create(&archive).expect("create");
    backend
        .write(&p("a/x.json"), Bytes::from_static(b"x"))
        .await
        .expect("write");
    backend
        .write(&p("a/y.npy"), Bytes::from_static(b"yy"))
        .await
        .expect("write");
    backend
        .write(&p("b.txt"), Bytes::from_static(b"bbb"))
        .await
        .expect("write");
    assert!(backend.has_pending_changes());
    assert!(!archive.exists(), "nothing is written before the flush");
    assert_eq!(
        paths(&backend, "a").await,
        [("a/x.json".into(), 1), ("a/y.npy".into(), 2)]
    );
    backend.delete(&p("a/x.json")).await.expect("delete");
    assert!(!backend.exists(&p("a/x.json")).await.expect("exists"));
    assert_eq!(&backend.read(&p("a/y.npy")).await.expect("read")[..], b"yy");

    backend.flush().await.expect("flush");
    assert!(!backend.has_pending_changes());
    assert_eq!(
        folder_names(dir.path()),
        ["results.zip"],
        "no temporary file is left"
    );
    let reopened = ZipBackend::open(&archive).expect("open");
    assert_eq!(
        paths(&reopened, "").await,
        [("a/y.npy".into(), 2), ("b.txt".into(), 3)]
    );

    // A change staged on top of the archive, then flushed.
    backend
        .write(&p("a/y.npy"), Bytes::from_static(b"new"))
        .await
        .expect("write");
    backend.delete(&p("b.txt")).await.expect("delete");
    assert_eq!(paths(&backend, "").await, [("a/y.npy".into(), 3)]);
    backend.flush().await.expect("flush");
    let reopened = ZipBackend::open(&archive).expect("open");
    assert_eq!(paths(&reopened, "").await, [("a/y.npy".into(), 3)]);
    assert_eq!(
        &reopened.read(&p("a/y.npy")).await.expect("read")[..],
        b"new"
    );
}

#[tokio::test]
async fn discard_drops_the_staged_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let backend = ZipBackend::create(&archive).expect("create");
    backend
        .write(&p("kept"), Bytes::from_static(b"kept"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    backend
        .write(&p("dropped"), Bytes::from_static(b"x"))
        .await
        .expect("write");
    backend.delete(&p("kept")).await.expect("delete");
    backend.discard();
    assert!(!backend.has_pending_changes());
    assert_eq!(paths(&backend, "").await, [("kept".into(), 4)]);
    backend.flush().await.expect("flush");
    assert_eq!(
        paths(&ZipBackend::open(&archive).expect("open"), "").await,
        [("kept".into(), 4)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_replaces_the_archive_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let writer = ZipBackend::create(&archive).expect("create");
    writer
        .write(&p("file"), Bytes::from_static(b"old"))
        .await
        .expect("write");
    writer.flush().await.expect("flush");
    let old_reader = ZipBackend::open(&archive).expect("open");
    let inode_before = std::fs::metadata(&archive).expect("metadata");

    writer
        .write(&p("file"), Bytes::from_static(b"new"))
        .await
        .expect("write");
    writer.flush().await.expect("flush");
    // A reader that opened the archive before keeps the whole old version;
    // one that opens it after sees the whole new one.
    assert_eq!(
        &old_reader.read(&p("file")).await.expect("read")[..],
        b"old"
    );
    let new_reader = ZipBackend::open(&archive).expect("open");
    assert_eq!(
        &new_reader.read(&p("file")).await.expect("read")[..],
        b"new"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inode_after = std::fs::metadata(&archive).expect("metadata");
        assert_ne!(
            inode_before.ino(),
            inode_after.ino(),
            "a new file was renamed over the archive"
        );
    }
    #[cfg(not(unix))]
    let _ = inode_before;
    assert_eq!(folder_names(dir.path()), ["results.zip"]);
    // A flush with nothing staged writes nothing.
    let before = std::fs::read(&archive).expect("read");
    writer.flush().await.expect("flush");
    writer.delete(&p("never/written")).await.expect("delete");
    writer.flush().await.expect("flush");
    assert_eq!(std::fs::read(&archive).expect("read"), before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(&archive).expect("metadata").ino();
        writer.flush().await.expect("flush");
        assert_eq!(std::fs::metadata(&archive).expect("metadata").ino(), inode);
    }
}

#[tokio::test]
async fn a_failed_flush_leaves_no_file_and_keeps_the_changes_staged() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The archive's path is a folder that holds a file: the rename fails.
    let archive = dir.path().join("results.zip");
    std::fs::create_dir(&archive).expect("mkdir");
    std::fs::write(archive.join("inside"), b"x").expect("write");
    let backend = ZipBackend::create(&archive).expect("create");
    backend
        .write(&p("file"), Bytes::from_static(b"data"))
        .await
        .expect("write");
    let err = backend.flush().await.expect_err("flush over a folder");
    assert!(err.to_string().contains("cannot flush"), "{err}");
    assert_eq!(
        folder_names(dir.path()),
        ["results.zip"],
        "the temporary file is removed"
    );
    assert!(archive.join("inside").is_file());
    assert!(backend.has_pending_changes());
    assert_eq!(&backend.read(&p("file")).await.expect("read")[..], b"data");

    // The archive's folder cannot be made: nothing is written at all.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"x").expect("write");
    let backend = ZipBackend::create(blocked.join("results.zip")).expect("create");
    backend
        .write(&p("file"), Bytes::from_static(b"data"))
        .await
        .expect("write");
    backend.flush().await.expect_err("flush into a file");
    assert!(backend.has_pending_changes());
    assert_eq!(folder_names(dir.path()), ["a-file", "results.zip"]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_flush_through_a_symbolic_link_replaces_the_archive_it_points_to() {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = dir.path().join("real.zip");
    let link = dir.path().join("link.zip");
    let backend = ZipBackend::create(&real).expect("create");
    backend
        .write(&p("a"), Bytes::from_static(b"a"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let through = ZipBackend::open(&link).expect("open");
    through
        .write(&p("b"), Bytes::from_static(b"b"))
        .await
        .expect("write");
    through.flush().await.expect("flush");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        paths(&ZipBackend::open(&real).expect("open"), "")
            .await
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_entries_are_copied_as_they_are_and_the_rest_of_the_archive_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("shared.zip");
    // Entries this build could neither write nor read (bzip2, lzma) outside
    // the root, a stored and a level-9 entry inside it, and a comment.
    python(
        "import sys, zipfile\n\
         with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
         \x20   z.comment = b'shared by me'\n\
         \x20   z.writestr('notes/bzip2.txt', 'bzip2 ' * 100, compress_type=zipfile.ZIP_BZIP2)\n\
         \x20   z.writestr('notes/lzma.txt', 'lzma ' * 100, compress_type=zipfile.ZIP_LZMA)\n\
         \x20   z.writestr('.dman/stored.bin', b'stored' * 100, compress_type=zipfile.ZIP_STORED)\n\
         \x20   z.writestr('.dman/best.json', '[1, 2, 3] ' * 100, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)\n",
        &[&archive],
    );
    let describe = |archive: &Path| {
        python(
            "import sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             assert z.testzip() is None\n\
             print(z.comment)\n\
             for i in z.infolist():\n\
             \x20   print(i.filename, i.compress_type, i.compress_size, i.CRC, len(z.read(i)))\n",
            &[archive],
        )
    };
    let before = describe(&archive);

    let backend = ZipBackend::open(&archive).expect("open");
    assert_eq!(backend.root().as_str(), ".dman");
    assert_eq!(
        paths(&backend, "").await,
        [("best.json".into(), 1000), ("stored.bin".into(), 600)]
    );
    backend
        .write(&p("new.json"), Bytes::from_static(b"{}"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");

    let after = describe(&archive);
    let expected = format!("{before}.dman/new.json 8 4 {} 2\n", crc32(b"{}"));
    // (`describe` had Python test every entry; Info-ZIP's unzip 6 cannot
    // decompress lzma, so it cannot test this archive.)
    assert_eq!(after, expected, "before:\n{before}");
}

/// The CRC-32 of `data`, as Python prints it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_entries_are_kept_while_they_hold_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tree = sample_tree();
    write_tree(&dir.path().join(".dman"), &tree);
    let archive = dir.path().join("folders.zip");
    run(tool("zip")
        .current_dir(dir.path())
        .args(["-r", "-q"])
        .arg(&archive)
        .arg(".dman"));
    let backend = ZipBackend::open(&archive).expect("open");
    backend
        .delete(&p("with space/a b.txt"))
        .await
        .expect("delete");
    tree.remove("with space/a b.txt");
    backend.flush().await.expect("flush");
    let names = python(
        "import sys, zipfile\nprint('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
        &[&archive],
    );
    let names: Vec<&str> = names.lines().collect();
    assert!(!names.contains(&".dman/with space/"), "{names:?}");
    for folder in [".dman/", ".dman/cache/", ".dman/résultats/"] {
        assert!(names.contains(&folder), "{folder} in {names:?}");
    }
    unzip_test(&archive);
    let out = tempfile::tempdir().expect("temp dir");
    run(tool("unzip")
        .arg("-q")
        .arg(&archive)
        .arg("-d")
        .arg(out.path()));
    assert_eq!(read_tree(&out.path().join(".dman")), tree);
    assert!(!out.path().join(".dman/with space").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_reads_no_entry_and_a_read_decompresses_only_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("damaged.zip");
    let backend = ZipBackend::create(&archive).expect("create");
    let broken = vec![b'z'; 100_000];
    backend
        .write(&p("fine.json"), Bytes::from_static(b"{}"))
        .await
        .expect("write");
    backend
        .write(&p("broken.npy"), Bytes::from(broken))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    // Damage the compressed data of broken.npy: it starts after its local
    // header (30 bytes and the name, no extra field from the zip crate).
    let mut bytes = std::fs::read(&archive).expect("read");
    let at = bytes
        .windows(10)
        .position(|window| window == b"broken.npy")
        .expect("local header");
    for byte in &mut bytes[at + 10..at + 40] {
        *byte ^= 0x55;
    }
    std::fs::write(&archive, &bytes).expect("write");

    let backend = ZipBackend::open(&archive).expect("opening reads only the central directory");
    assert_eq!(
        paths(&backend, "").await,
        [("broken.npy".into(), 100_000), ("fine.json".into(), 2)]
    );
    assert_eq!(
        &backend.read(&p("fine.json")).await.expect("read")[..],
        b"{}"
    );
    let err = backend
        .read(&p("broken.npy"))
        .await
        .expect_err("damaged entry");
    let message = err.to_string();
    assert!(
        message.contains("\"broken.npy\" cannot be read"),
        "{message}"
    );
}

#[tokio::test]
async fn a_read_only_archive_refuses_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let backend = ZipBackend::create(&archive).expect("create");
    backend
        .write(&p("file"), Bytes::from_static(b"data"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    let bytes = std::fs::read(&archive).expect("read");

    let backend = ZipBackend::builder(&archive)
        .read_only(true)
        .open()
        .expect("open");
    assert_eq!(&backend.read(&p("file")).await.expect("read")[..], b"data");
    for err in [
        backend
            .write(&p("other"), Bytes::from_static(b"x"))
            .await
            .expect_err("write"),
        backend.delete(&p("file")).await.expect_err("delete"),
    ] {
        assert!(err.to_string().contains("read-only"), "{err}");
        let source = std::error::Error::source(&err).expect("source");
        assert!(matches!(
            source.downcast_ref::<ArchiveError>(),
            Some(ArchiveError::ReadOnly)
        ));
    }
    backend
        .delete(&p("never/there"))
        .await
        .expect("deleting nothing");
    backend
        .flush()
        .await
        .expect("a flush with nothing to write");
    assert_eq!(std::fs::read(&archive).expect("read"), bytes);
}

#[tokio::test]
async fn opening_creating_and_locations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let err = ZipBackend::open(&archive).expect_err("missing archive");
    assert!(err.to_string().contains("results.zip"), "{err}");

    // `create` replaces whatever is at the path, at the first flush.
    std::fs::write(&archive, b"not an archive").expect("write");
    assert!(ZipBackend::open(&archive).is_err());
    let backend = ZipBackend::builder(&archive)
        .root(".dman")
        .create()
        .expect("create");
    backend
        .write(&p("cache/x.json"), Bytes::from_static(b"[]"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    let location = backend.location();
    assert_eq!(
        location,
        format!(
            "zip://{}?root=.dman",
            archive.canonicalize().expect("path").display()
        )
    );

    // Locations: the default root finds `.dman`; `?root=` names one.
    let url = format!("zip://{}", archive.display());
    let found = ZipBackend::open_location(&url).expect("open");
    assert_eq!(found.root().as_str(), ".dman");
    assert_eq!(found.location(), location);
    let top = ZipBackend::open_location(&format!("{url}?root=")).expect("open");
    assert!(top.root().is_root());
    assert!(top.location().ends_with("results.zip?root="));
    assert_eq!(paths(&top, "").await, [(".dman/cache/x.json".into(), 2)]);
    let plain = ZipBackend::open_location(&archive.display().to_string()).expect("open");
    assert_eq!(paths(&plain, "").await, [("cache/x.json".into(), 2)]);
    let named = ZipBackend::open_location(&format!("{url}?root=.dman/cache")).expect("open");
    assert_eq!(paths(&named, "").await, [("x.json".into(), 2)]);
    // A new archive starts at the top; a missing folder is made at the flush.
    let fresh = dir.path().join("new/folder/fresh.zip");
    let backend = ZipBackend::open_location(&format!("zip://{}", fresh.display())).expect("open");
    assert!(backend.root().is_root());
    backend
        .write(&p("a"), Bytes::from_static(b"a"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    assert!(fresh.is_file());

    let err = ZipBackend::open_location(&format!("{url}?root=../up")).expect_err("bad root");
    assert!(err.to_string().contains("above the root"), "{err}");
}

#[tokio::test]
async fn compression_and_limits_are_checked_up_front() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("results.zip");
    let err = ZipBackend::builder(&archive)
        .compression_level(Some(1000))
        .create()
        .expect_err("level 1000");
    assert!(
        err.to_string().contains("cannot compress with Deflated"),
        "{err}"
    );

    let backend = ZipBackend::builder(&archive)
        .compression(CompressionMethod::Stored)
        .max_entry_size(10)
        .create()
        .expect("create");
    let err = backend
        .write(&p("big"), Bytes::from_static(b"eleven byte"))
        .await
        .expect_err("too large");
    assert!(
        err.to_string().contains("more than the limit of 10 bytes"),
        "{err}"
    );
    backend
        .write(&p("small"), Bytes::from_static(b"ten bytes!"))
        .await
        .expect("write");
    backend.flush().await.expect("flush");
    assert_eq!(
        paths(&ZipBackend::open(&archive).expect("open"), "").await,
        [("small".into(), 10)]
    );
}

/// Flushes the wrapped backend after every write and delete: over the zip
/// backend, the conformance suite then runs against the archive on disk,
/// with flushes racing writes.
#[derive(Debug)]
struct FlushEveryTime;

#[async_trait]
impl Hook for FlushEveryTime {
    async fn after(&self, op: &Op, inner: &dyn StorageBackend) -> StorageResult<()> {
        match op {
            Op::Write(_) | Op::Delete(_) => inner.flush().await,
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_a_flush_after_every_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("flushed.zip");
    let backend = ZipBackend::builder(&archive)
        .root(".dman")
        .create()
        .expect("create");
    dman_core::testing::conformance(Wrapped::with_hook(
        Arc::new(backend.clone()),
        FlushEveryTime,
    ))
    .await;
    assert!(!backend.has_pending_changes());
    assert_eq!(
        ZipBackend::open(&archive)
            .expect("open")
            .verify()
            .await
            .expect("verify"),
        0
    );
    assert_eq!(folder_names(dir.path()), ["flushed.zip"]);
}
