//! Hostile archives are refused, with an error naming the archive and the
//! entry, before anything is read from them or written anywhere.
//!
//! Each archive is made with the zip crate's writer and then patched byte
//! by byte (a name, a declared size, an offset, a count). Each test checks
//! that nothing was written outside the target folder it would extract to.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::everything_under;
use dman_core::copy::copy_tree;
use dman_core::{StorageBackend, StorageError, StoragePath};
use dman_fs::FsBackend;
use dman_zip::{ArchiveError, ZipBackend};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// An archive of `entries` (name, content), deflated.
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer
            .start_file(
                *name,
                SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
            )
            .expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

/// Replaces every occurrence of `from` by `to` (same length); asserts that
/// both the local and the central header were patched.
fn patch(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a patch keeps lengths");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut count = 0;
    let mut at = 0;
    while at + from.len() <= bytes.len() {
        if &bytes[at..at + from.len()] == from {
            bytes[at..at + from.len()].copy_from_slice(to);
            count += 1;
            at += from.len();
        } else {
            at += 1;
        }
    }
    assert!(
        count >= 2,
        "patched {count} occurrences, expected the local and the central header"
    );
}

/// An archive with one entry named `name`, made with a placeholder name of
/// the same length and patched.
fn archive_named(name: &str) -> Vec<u8> {
    let placeholder = "Q".repeat(name.len());
    let mut bytes = archive(&[("fine.txt", b"fine"), (placeholder.as_str(), b"evil")]);
    patch(&mut bytes, &placeholder, name);
    bytes
}

/// Offsets of the headers with signature `signature` whose name is `name`:
/// local headers (name at 30) or central directory headers (name at 46).
fn headers(bytes: &[u8], signature: u32, name: &str) -> Vec<usize> {
    let name_at = if signature == 0x0403_4b50 { 30 } else { 46 };
    let signature = signature.to_le_bytes();
    (0..bytes.len().saturating_sub(name_at + name.len()))
        .filter(|&at| bytes[at..at + 4] == signature)
        .filter(|&at| &bytes[at + name_at..at + name_at + name.len()] == name.as_bytes())
        .collect()
}

fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;

/// Sets the declared (uncompressed) size of entry `name`, in its local and
/// central headers.
fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
    let local = headers(bytes, LOCAL, name);
    let central = headers(bytes, CENTRAL, name);
    assert_eq!((local.len(), central.len()), (1, 1), "{name}");
    set_u32(bytes, local[0] + 22, size);
    set_u32(bytes, central[0] + 24, size);
}

/// A temporary folder holding the archive and the target folder an
/// extraction would write to.
struct Scene {
    dir: tempfile::TempDir,
    archive: PathBuf,
    target: PathBuf,
    /// Where a name that climbs out of the target would land.
    outside: Vec<PathBuf>,
}

impl Scene {
    fn new(bytes: &[u8]) -> Scene {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("hostile.zip");
        std::fs::write(&archive, bytes).expect("write archive");
        let target = dir.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        let outside = vec![
            dir.path().join("evil.txt"),
            dir.path().parent().expect("parent").join("evil.txt"),
        ];
        let scene = Scene {
            dir,
            archive,
            target,
            outside,
        };
        for path in &scene.outside {
            assert!(!path.exists(), "{} exists before the test", path.display());
        }
        scene
    }

    /// Opening fails; gives the error.
    fn refused(&self) -> StorageError {
        match ZipBackend::open(&self.archive) {
            Ok(backend) => panic!("the hostile archive opened: {backend:?}"),
            Err(err) => err,
        }
    }

    /// Copies the archive's tree into the target folder, as an extraction
    /// would.
    async fn extract(&self, backend: &ZipBackend) -> Result<(), StorageError> {
        let target = FsBackend::new(&self.target).expect("target");
        copy_tree(
            backend,
            &StoragePath::root(),
            &target,
            &StoragePath::root(),
            |_| {},
        )
        .await
        .map(|_| ())
    }

    /// Nothing was written beside the archive or above it; `in_target` is
    /// what the target folder holds.
    fn assert_contained(&self, in_target: &[&str]) {
        let mut expected = vec!["hostile.zip".to_owned(), "target/".to_owned()];
        expected.extend(in_target.iter().map(|path| format!("target/{path}")));
        expected.sort();
        assert_eq!(everything_under(self.dir.path()), expected);
        for path in &self.outside {
            assert!(!path.exists(), "{} was written", path.display());
        }
    }
}

fn archive_error(err: &StorageError) -> &ArchiveError {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<ArchiveError>())
        .unwrap_or_else(|| panic!("not an archive error: {err}"))
}

/// The error names the archive and the entry, and says why.
fn assert_names(err: &StorageError, scene: &Scene, entry: &str, why: &str) {
    let message = err.to_string();
    assert!(
        message.contains(&scene.archive.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("{entry:?}")), "{message}");
    assert!(message.contains(why), "{message}");
    assert_eq!(archive_error(err).entry(), Some(entry), "{message}");
}

#[test]
fn names_that_climb_out_are_refused() {
    for name in ["../evil.txt", "a/../../evil.txt", "a/../b.txt", ".."] {
        let scene = Scene::new(&archive_named(name));
        let err = scene.refused();
        assert_names(&err, &scene, name, "climbs out of the archive");
        assert!(matches!(
            archive_error(&err),
            ArchiveError::UnsafeName { .. }
        ));
        scene.assert_contained(&[]);
    }
}

#[test]
fn absolute_names_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let absolute = format!("{}/evil.txt", dir.path().display());
    for name in [absolute.as_str(), "/evil.txt", "//server/share/evil.txt"] {
        let scene = Scene::new(&archive_named(name));
        let err = scene.refused();
        assert_names(&err, &scene, name, "absolute");
        scene.assert_contained(&[]);
        assert!(!Path::new(&absolute).exists());
    }
}

#[test]
fn windows_drives_are_refused() {
    for name in ["C:/evil.txt", "c:evil.txt"] {
        let scene = Scene::new(&archive_named(name));
        let err = scene.refused();
        assert_names(&err, &scene, name, "Windows drive");
        scene.assert_contained(&[]);
    }
}

#[test]
fn backslashes_are_refused() {
    for name in ["..\\evil.txt", "a\\b.txt", "C:\\evil.txt"] {
        let scene = Scene::new(&archive_named(name));
        let err = scene.refused();
        assert_names(&err, &scene, name, "backslash");
        scene.assert_contained(&[]);
    }
}

#[test]
fn nul_bytes_in_names_are_refused() {
    let scene = Scene::new(&archive_named("evil\0.txt"));
    let err = scene.refused();
    assert_names(&err, &scene, "evil\0.txt", "NUL");
    scene.assert_contained(&[]);
}

#[test]
fn duplicate_names_are_refused() {
    let mut bytes = archive(&[("a.txt", b"first"), ("b.txt", b"second")]);
    patch(&mut bytes, "b.txt", "a.txt");
    let scene = Scene::new(&bytes);
    let err = scene.refused();
    assert_names(&err, &scene, "a.txt", "more than once");
    assert!(matches!(
        archive_error(&err),
        ArchiveError::DuplicateName { .. }
    ));
    scene.assert_contained(&[]);
}

#[test]
fn names_equal_once_normalized_are_duplicates() {
    for (first, second) in [
        ("d/a.txt", "./d/a.txt"),
        ("d/a.txt", "d//a.txt"),
        ("folder", "folder/"),
    ] {
        let bytes = archive(&[(first, b"first"), (second, b"second")]);
        let scene = Scene::new(&bytes);
        let err = scene.refused();
        assert_names(&err, &scene, second, "more than once");
        scene.assert_contained(&[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_larger_than_it_declares_is_refused_when_read() {
    // 4 MB of zeros that say they are 1000 bytes: a zip bomb in miniature.
    let bomb = vec![0u8; 4 << 20];
    let mut bytes = archive(&[("fine.txt", b"fine"), ("bomb.npy", &bomb)]);
    declare_size(&mut bytes, "bomb.npy", 1000);
    let scene = Scene::new(&bytes);
    // Opening reads only the central directory: the lie is not seen yet.
    let backend = ZipBackend::open(&scene.archive).expect("open");
    let listed = backend.list(&StoragePath::root()).await.expect("list");
    assert_eq!(listed[0].size, 1000);
    let path = StoragePath::parse("bomb.npy").expect("path");
    let err = backend.read(&path).await.expect_err("the bomb is read");
    assert_names(
        &err,
        &scene,
        "bomb.npy",
        "more data than the 1000 bytes its header declares",
    );
    assert!(matches!(
        archive_error(&err),
        ArchiveError::LargerThanDeclared { declared: 1000, .. }
    ));
    let err = backend.verify().await.expect_err("verify");
    assert_names(&err, &scene, "bomb.npy", "more data than");
    // The other entry reads fine.
    let fine = backend
        .read(&StoragePath::parse("fine.txt").expect("path"))
        .await
        .expect("fine");
    assert_eq!(&fine[..], b"fine");
    // An extraction stops at the bomb: nothing of it is written.
    let err = scene.extract(&backend).await.expect_err("extraction");
    assert_names(&err, &scene, "bomb.npy", "more data than");
    let left = everything_under(&scene.target);
    assert!(left.is_empty() || left == ["fine.txt"], "{left:?}");
    let in_target: Vec<&str> = left.iter().map(String::as_str).collect();
    scene.assert_contained(&in_target);
}

#[test]
fn an_entry_above_the_size_limit_is_refused() {
    // 64 MB of zeros, 64 kB compressed, opened with a 1 MB limit.
    let bomb = vec![0u8; 64 << 20];
    let bytes = archive(&[("fine.txt", b"fine"), ("bomb.npy", &bomb)]);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let scene = Scene::new(&bytes);
    let err = ZipBackend::builder(&scene.archive)
        .max_entry_size(1 << 20)
        .open()
        .expect_err("the bomb opened");
    assert_names(
        &err,
        &scene,
        "bomb.npy",
        "declares 67108864 bytes, more than the limit of 1048576 bytes",
    );
    scene.assert_contained(&[]);
    // Within the default limit the same archive is fine.
    assert!(ZipBackend::open(&scene.archive).is_ok());
}

#[test]
fn overlapping_entries_are_refused() {
    let mut bytes = archive(&[("a.txt", &[b'a'; 1000]), ("b.txt", &[b'b'; 1000])]);
    // The central record of b.txt points at the local header of a.txt, so
    // that both names share one copy of the data.
    let central = headers(&bytes, CENTRAL, "b.txt");
    set_u32(&mut bytes, central[0] + 42, 0);
    let scene = Scene::new(&bytes);
    let err = scene.refused();
    let message = err.to_string();
    assert!(message.contains("overlaps"), "{message}");
    assert!(
        message.contains("\"a.txt\"") && message.contains("\"b.txt\""),
        "{message}"
    );
    assert!(matches!(
        archive_error(&err),
        ArchiveError::Overlapping { .. }
    ));
    scene.assert_contained(&[]);
}

#[test]
fn encrypted_entries_are_refused() {
    let mut bytes = archive(&[("secret.txt", b"secret")]);
    let central = headers(&bytes, CENTRAL, "secret.txt");
    let flags = u16::from_le_bytes([bytes[central[0] + 8], bytes[central[0] + 9]]);
    set_u16(&mut bytes, central[0] + 8, flags | 1);
    let scene = Scene::new(&bytes);
    let err = scene.refused();
    assert_names(&err, &scene, "secret.txt", "encrypted");
    scene.assert_contained(&[]);
}

#[test]
fn a_corrupt_central_directory_is_refused() {
    let good = archive(&[("a.txt", b"first"), ("b.txt", b"second")]);
    let end = good.len() - 22;
    assert_eq!(
        good[end..end + 4],
        0x0605_4b50u32.to_le_bytes(),
        "end record"
    );
    let central = headers(&good, CENTRAL, "a.txt")[0];

    let mut damaged_record = good.clone();
    damaged_record[central + 1] = b'X';
    let mut more_records = good.clone();
    set_u16(&mut more_records, end + 8, 3);
    set_u16(&mut more_records, end + 10, 3);
    let mut fewer_records = good.clone();
    set_u16(&mut fewer_records, end + 8, 1);
    set_u16(&mut fewer_records, end + 10, 1);
    let mut long_name = good.clone();
    set_u16(
        &mut long_name,
        headers(&good, CENTRAL, "b.txt")[0] + 28,
        60_000,
    );
    let truncated = good[..good.len() - 10].to_vec();
    let mut offset_past_end = good.clone();
    set_u32(&mut offset_past_end, end + 16, 1 << 30);
    let garbage = b"this is not a zip archive".repeat(10);

    for (what, bytes) in [
        ("a damaged record", damaged_record),
        ("an end record counting more records", more_records),
        ("an end record counting fewer records", fewer_records),
        ("a name running past the end", long_name),
        ("a cut end record", truncated),
        ("a directory offset past the end", offset_past_end),
        ("no archive at all", garbage),
    ] {
        let scene = Scene::new(&bytes);
        let err = scene.refused();
        let message = err.to_string();
        assert!(
            message.contains("corrupt central directory"),
            "{what}: {message}"
        );
        assert!(
            message.contains(&scene.archive.display().to_string()),
            "{what}: {message}"
        );
        assert!(
            matches!(
                archive_error(&err),
                ArchiveError::CorruptCentralDirectory { .. }
            ),
            "{what}"
        );
        scene.assert_contained(&[]);
    }
}
