//! Symbolic links inside the root that lead outside it are never followed.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use bytes::Bytes;
use dman_core::{StorageBackend, StorageError, StoragePath};
use dman_fs::FsBackend;
use tempfile::TempDir;

fn p(input: &str) -> StoragePath {
    StoragePath::parse(input).unwrap()
}

/// A root and, beside it, an outside folder holding `secret.txt`.
struct Setup {
    _folder: TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
    backend: FsBackend,
}

fn setup() -> Setup {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let outside = folder.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), b"secret").unwrap();
    let backend = FsBackend::new(&root).unwrap();
    Setup {
        _folder: folder,
        root,
        outside,
        backend,
    }
}

fn assert_refused(result: Result<impl std::fmt::Debug, StorageError>, link: &str) {
    let err = result.expect_err("an operation through a link leading outside the root succeeded");
    assert!(!err.is_not_found(), "{err}");
    let message = err.to_string();
    assert!(message.contains("symbolic link"), "{message}");
    assert!(message.contains(&format!("`{link}`")), "{message}");
    assert!(message.contains("outside the root"), "{message}");
}

fn outside_files(outside: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(outside)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let content = fs::read(entry.path()).unwrap_or_default();
            (entry.file_name().into_string().unwrap(), content)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn a_link_to_an_outside_folder_is_not_followed() {
    let s = setup();
    symlink(&s.outside, s.root.join("escape")).unwrap();
    let before = outside_files(&s.outside);

    assert_refused(
        s.backend
            .write(&p("escape/new.txt"), Bytes::from_static(b"x"))
            .await,
        "escape",
    );
    assert_refused(
        s.backend
            .write(&p("escape/secret.txt"), Bytes::from_static(b"x"))
            .await,
        "escape",
    );
    assert_refused(
        s.backend
            .write(&p("escape/deeper/new.txt"), Bytes::new())
            .await,
        "escape",
    );
    assert_refused(s.backend.delete(&p("escape/secret.txt")).await, "escape");
    assert_refused(s.backend.read(&p("escape/secret.txt")).await, "escape");
    assert_refused(s.backend.exists(&p("escape/secret.txt")).await, "escape");
    assert_refused(s.backend.list(&p("escape")).await, "escape");
    assert_refused(
        s.backend
            .copy(&p("escape/secret.txt"), &p("stolen.txt"))
            .await,
        "escape",
    );
    s.backend
        .write(&p("mine.txt"), Bytes::from_static(b"mine"))
        .await
        .unwrap();
    assert_refused(
        s.backend
            .copy(&p("mine.txt"), &p("escape/planted.txt"))
            .await,
        "escape",
    );

    assert_eq!(
        outside_files(&s.outside),
        before,
        "the outside folder changed"
    );
    // Listing the root does not wander outside either.
    let listed = s.backend.list(&StoragePath::root()).await.unwrap();
    let paths: Vec<_> = listed.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["mine.txt"]);
}

#[tokio::test]
async fn a_link_to_an_outside_file_is_not_followed() {
    let s = setup();
    fs::create_dir_all(s.root.join("data")).unwrap();
    symlink(s.outside.join("secret.txt"), s.root.join("data/link.txt")).unwrap();
    let before = outside_files(&s.outside);

    assert_refused(
        s.backend
            .write(&p("data/link.txt"), Bytes::from_static(b"x"))
            .await,
        "data/link.txt",
    );
    assert_refused(s.backend.delete(&p("data/link.txt")).await, "data/link.txt");
    assert_refused(s.backend.read(&p("data/link.txt")).await, "data/link.txt");
    assert_refused(s.backend.exists(&p("data/link.txt")).await, "data/link.txt");

    assert_eq!(outside_files(&s.outside), before);
    assert!(fs::symlink_metadata(s.root.join("data/link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(s.backend.list(&p("data")).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_link_deep_in_the_tree_is_caught() {
    let s = setup();
    fs::create_dir_all(s.root.join("a/b")).unwrap();
    symlink(&s.outside, s.root.join("a/b/escape")).unwrap();
    assert_refused(
        s.backend
            .write(&p("a/b/escape/c/d.txt"), Bytes::from_static(b"x"))
            .await,
        "a/b/escape",
    );
    assert_eq!(outside_files(&s.outside).len(), 1);
    assert!(!s.outside.join("c").exists());
}

#[tokio::test]
async fn a_chain_of_links_that_ends_outside_is_caught() {
    let s = setup();
    symlink(&s.outside, s.root.join("second")).unwrap();
    symlink(s.root.join("second"), s.root.join("first")).unwrap();
    assert_refused(
        s.backend.write(&p("first/x.txt"), Bytes::new()).await,
        "first",
    );
    assert_refused(s.backend.read(&p("first/secret.txt")).await, "first");
    assert!(!s.outside.join("x.txt").exists());
}

#[tokio::test]
async fn a_relative_link_climbing_out_is_caught() {
    let s = setup();
    symlink("../outside", s.root.join("up")).unwrap();
    assert_refused(s.backend.delete(&p("up/secret.txt")).await, "up");
    assert!(s.outside.join("secret.txt").exists());
}

#[tokio::test]
async fn a_dangling_link_is_not_followed() {
    let s = setup();
    symlink(s.outside.join("missing-folder"), s.root.join("dangling")).unwrap();
    let err = s
        .backend
        .write(&p("dangling/x.txt"), Bytes::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing target"), "{err}");
    assert!(!s.outside.join("missing-folder").exists());
}

#[tokio::test]
async fn links_that_stay_inside_the_root_are_followed() {
    let s = setup();
    s.backend
        .write(&p("real/data.txt"), Bytes::from_static(b"data"))
        .await
        .unwrap();
    symlink(s.root.join("real"), s.root.join("alias")).unwrap();
    symlink("data.txt", s.root.join("real/alias.txt")).unwrap();

    assert_eq!(
        s.backend.read(&p("alias/data.txt")).await.unwrap(),
        Bytes::from_static(b"data")
    );
    assert_eq!(
        s.backend.read(&p("real/alias.txt")).await.unwrap(),
        Bytes::from_static(b"data")
    );
    assert!(s.backend.exists(&p("alias/data.txt")).await.unwrap());
    s.backend
        .write(&p("alias/new.txt"), Bytes::from_static(b"new"))
        .await
        .unwrap();
    assert_eq!(fs::read(s.root.join("real/new.txt")).unwrap(), b"new");

    // Links to files are listed; links to folders are not walked twice.
    let listed = s.backend.list(&StoragePath::root()).await.unwrap();
    let paths: Vec<_> = listed.iter().map(|m| (m.path.as_str(), m.size)).collect();
    assert_eq!(
        paths,
        [
            ("real/alias.txt", 4),
            ("real/data.txt", 4),
            ("real/new.txt", 3)
        ]
    );
}

/// Folders a write makes below an absolute link that stays inside the root
/// land where the link leads (the kernel's `RESOLVE_BENEATH` refuses
/// absolute links; the backend checks them and follows them itself), and
/// a delete prunes them there, leaving the link.
#[tokio::test]
async fn folders_made_below_an_absolute_link_inside_land_inside() {
    let s = setup();
    s.backend
        .write(&p("real/data.txt"), Bytes::from_static(b"data"))
        .await
        .unwrap();
    symlink(s.root.join("real"), s.root.join("alias")).unwrap();
    let deep = p("alias/new/deeper/file.txt");
    s.backend
        .write(&deep, Bytes::from_static(b"deep"))
        .await
        .unwrap();
    assert_eq!(
        fs::read(s.root.join("real/new/deeper/file.txt")).unwrap(),
        b"deep"
    );
    assert_eq!(
        s.backend.read(&deep).await.unwrap(),
        Bytes::from_static(b"deep")
    );
    s.backend.delete(&deep).await.unwrap();
    assert!(!s.root.join("real/new").exists());
    assert!(s.root.join("real/data.txt").is_file());
    assert!(fs::symlink_metadata(s.root.join("alias"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(outside_files(&s.outside).len(), 1);
}

/// `remove_leftover` goes through real folders only: a temporary file
/// named through a link (even one that stays inside) is not removed.
#[tokio::test]
async fn a_leftover_named_through_a_link_is_not_removed() {
    use dman_core::storage::{Leftover, LeftoverKind};
    let s = setup();
    fs::create_dir(s.root.join("real")).unwrap();
    let temp = s.root.join("real/.dman-tmp-0123");
    fs::write(&temp, b"half").unwrap();
    symlink("real", s.root.join("alias")).unwrap();
    let listed = s.backend.leftovers().await.unwrap();
    let names: Vec<_> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["real/.dman-tmp-0123"], "links are not walked");

    let forged = Leftover {
        name: "alias/.dman-tmp-0123".to_owned(),
        id: s
            .root
            .join("alias/.dman-tmp-0123")
            .to_string_lossy()
            .into_owned(),
        ..listed[0].clone()
    };
    assert_eq!(forged.kind, LeftoverKind::TempFile);
    let err = s.backend.remove_leftover(&forged).await.unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
    assert!(temp.is_file());
    s.backend.remove_leftover(&listed[0]).await.unwrap();
    assert!(!temp.exists());
    // The folder it leaves empty goes, as after a delete.
    assert!(!s.root.join("real").exists());
}
