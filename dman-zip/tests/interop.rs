//! Archives made by other tools open as they are, with the graph at the
//! top or under `.dman/`, with or without folder entries; archives this
//! backend writes pass `unzip -t` and open in Python's `zipfile`.
//!
//! Needs the project's Python (scripts/setup-python.sh, or `DMAN_PYTHON`), and
//! Info-ZIP `zip` and `unzip` (scripts/setup-system.sh).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use common::*;
use dman_core::{StorageBackend, StoragePath};
use dman_test_support::files::{read_tree, run, tool};
use dman_zip::{CompressionMethod, ZipBackend};

/// A workspace folder holding `.dman` with the sample tree, and a
/// `README.txt` beside it.
fn workspace(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let tree = sample_tree();
    write_tree(&dir.join(".dman"), &tree);
    std::fs::write(dir.join("README.txt"), b"shared results").expect("write");
    tree
}

/// Checks that `archive` opens with the expected root and shows `tree`.
async fn assert_opens(archive: &Path, root: &str, tree: &BTreeMap<String, Vec<u8>>) {
    let backend = ZipBackend::open(archive).expect("open");
    assert_eq!(backend.root().as_str(), root, "{}", archive.display());
    assert_eq!(
        &backend_tree(&backend, "").await,
        tree,
        "{}",
        archive.display()
    );
    // Every entry of the archive decompresses and checks out.
    let checked = backend.verify().await.expect("verify");
    assert!(checked >= tree.len(), "{checked} entries checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_zipfile_archives_without_folder_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = workspace(dir.path());
    let under_dman = dir.path().join("under-dman.zip");
    let at_top = dir.path().join("at-top.zip");
    // As the fixture was made: `zipfile`, deflate, no folder entries.
    python(
        "import os, sys, zipfile\n\
         ws, under, top = sys.argv[1:4]\n\
         with zipfile.ZipFile(under, 'w', zipfile.ZIP_DEFLATED) as a, zipfile.ZipFile(top, 'w', zipfile.ZIP_DEFLATED) as b:\n\
         \x20   a.write(os.path.join(ws, 'README.txt'), 'README.txt')\n\
         \x20   for folder, _, files in os.walk(os.path.join(ws, '.dman')):\n\
         \x20       for name in files:\n\
         \x20           path = os.path.join(folder, name)\n\
         \x20           a.write(path, os.path.relpath(path, ws))\n\
         \x20           b.write(path, os.path.relpath(path, os.path.join(ws, '.dman')))\n",
        &[dir.path(), &under_dman, &at_top],
    );
    assert_opens(&under_dman, ".dman", &tree).await;
    assert_opens(&at_top, "", &tree).await;

    // The top of the archive as the root shows what is beside `.dman`.
    let top = ZipBackend::builder(&under_dman)
        .root("")
        .open()
        .expect("open");
    let everything = backend_tree(&top, "").await;
    assert_eq!(everything.len(), tree.len() + 1);
    assert_eq!(everything["README.txt"], b"shared results");
    assert_eq!(
        everything[".dman/cache/examples:patterns:common/config.json"],
        tree["cache/examples:patterns:common/config.json"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutil_make_archive_archives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = workspace(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    // `make_archive` writes folder entries, UTF-8 flags, and `./`-free names.
    python(
        "import os, shutil, sys\n\
         ws, out = sys.argv[1:3]\n\
         shutil.make_archive(os.path.join(out, 'workspace'), 'zip', root_dir=ws)\n\
         shutil.make_archive(os.path.join(out, 'inside'), 'zip', root_dir=os.path.join(ws, '.dman'))\n",
        &[dir.path(), &out],
    );
    assert_opens(&out.join("workspace.zip"), ".dman", &tree).await;
    assert_opens(&out.join("inside.zip"), "", &tree).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_zip_archives_with_and_without_folder_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = workspace(dir.path());
    let with_folders = dir.path().join("with-folders.zip");
    let without_folders = dir.path().join("without-folders.zip");
    let inside = dir.path().join("inside.zip");
    run(tool("zip")
        .current_dir(dir.path())
        .args(["-r", "-q"])
        .arg(&with_folders)
        .args([".dman", "README.txt"]));
    run(tool("zip")
        .current_dir(dir.path())
        .args(["-r", "-q", "-D"])
        .arg(&without_folders)
        .arg(".dman"));
    run(tool("zip")
        .current_dir(dir.path().join(".dman"))
        .args(["-r", "-q"])
        .arg(&inside)
        .arg("."));
    let listing = run(tool("unzip").arg("-l").arg(&with_folders));
    assert!(
        listing.contains(".dman/cache/\n") || listing.contains(".dman/cache/"),
        "{listing}"
    );
    // Info-ZIP writes UTF-8 names without the UTF-8 flag: they are read as UTF-8.
    assert_opens(&with_folders, ".dman", &tree).await;
    assert_opens(&without_folders, ".dman", &tree).await;
    assert_opens(&inside, "", &tree).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_we_write_pass_unzip_t_and_open_in_python() {
    for method in [CompressionMethod::Deflated, CompressionMethod::Stored] {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("ours.zip");
        let mut tree = sample_tree();
        let backend = ZipBackend::builder(&archive)
            .root(".dman")
            .compression(method)
            .create()
            .expect("create");
        for (path, data) in &tree {
            backend
                .write(
                    &StoragePath::parse(path).expect("path"),
                    Bytes::from(data.clone()),
                )
                .await
                .expect("write");
        }
        backend.flush().await.expect("flush");
        check_with_tools(&archive, &tree, method);

        // Change it: overwrite one file, delete one, add one; flush again.
        let backend = ZipBackend::builder(&archive)
            .compression(method)
            .open()
            .expect("reopen");
        let config = "cache/examples:patterns:common/config.json";
        tree.insert(config.into(), b"{\n    \"seed\": 1024\n}".to_vec());
        tree.remove("with space/a b.txt");
        tree.insert("cache/new/file.json".into(), b"[]".to_vec());
        for path in [config, "cache/new/file.json"] {
            backend
                .write(
                    &StoragePath::parse(path).expect("path"),
                    Bytes::from(tree[path].clone()),
                )
                .await
                .expect("write");
        }
        backend
            .delete(&StoragePath::parse("with space/a b.txt").expect("path"))
            .await
            .expect("delete");
        backend.flush().await.expect("flush");
        check_with_tools(&archive, &tree, method);
        assert_eq!(backend_tree(&backend, "").await, tree);
    }
}

/// `unzip -t` passes; Python's `zipfile` tests, lists and extracts the
/// archive; the entries that are not empty use `method` (the zip crate
/// stores empty files); `unzip` extracts the same files.
fn check_with_tools(archive: &Path, tree: &BTreeMap<String, Vec<u8>>, method: CompressionMethod) {
    unzip_test(archive);
    let out = tempfile::tempdir().expect("temp dir");
    let mut names = python_extract(archive, out.path());
    names.sort();
    let mut expected: Vec<String> = tree.keys().map(|path| format!(".dman/{path}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(&read_tree(&out.path().join(".dman")), tree);
    let methods = python(
        "import sys, zipfile\nprint(sorted({i.compress_type for i in zipfile.ZipFile(sys.argv[1]).infolist() if i.file_size}))",
        &[archive],
    );
    let code = if method == CompressionMethod::Stored {
        0
    } else {
        8
    };
    assert_eq!(methods.trim(), format!("[{code}]"));

    let unzipped = tempfile::tempdir().expect("temp dir");
    run(tool("unzip")
        .arg("-q")
        .arg(archive)
        .arg("-d")
        .arg(unzipped.path()));
    assert_eq!(&read_tree(&unzipped.path().join(".dman")), tree);
}
