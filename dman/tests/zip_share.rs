//! Sharing results as one file: the tree the getting-started example writes
//! is copied into a zip archive with `copy_tree`; the archive passes
//! `unzip -t`, loads as a repository through `dman::open`, and once
//! unzipped loads in Python dman 1.0.1. Copied back out, it is the same
//! tree, byte for byte.
//!
//! Needs Info-ZIP `unzip` (scripts/setup-system.sh) and the Python of
//! scripts/setup-python.sh.

use std::sync::Arc;

use dman::core::copy::{copy_tree, Progress};
use dman::{FsBackend, StorageBackend, StoragePath, ZipBackend};
use dman_test_support::files::{read_tree, run, run_example_in, tool};
use dman_test_support::fixture::GETTING_STARTED_GENERATOR;
use dman_test_support::{python, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_tree_shared_as_a_zip_archive() {
    let work = tempfile::tempdir().expect("temp dir");
    run_example_in(work.path());
    let dman_folder = work.path().join(".dman");
    let tree = read_tree(&dman_folder);
    assert_eq!(tree.keys().filter(|path| path.ends_with(".npy")).count(), 4);

    // The folder becomes an archive, with the tree under `.dman/` inside.
    let archive = work.path().join("shared/results.zip");
    let folder = FsBackend::new(&dman_folder).expect("folder");
    let zip = ZipBackend::builder(&archive)
        .root(".dman")
        .create()
        .expect("archive");
    let mut seen: Vec<Progress> = Vec::new();
    let copied = copy_tree(
        &folder,
        &StoragePath::root(),
        &zip,
        &StoragePath::root(),
        |progress| seen.push(progress),
    )
    .await
    .expect("copy into the archive");
    assert_eq!(copied.files, tree.len());
    assert_eq!(
        copied.bytes,
        tree.values().map(|data| data.len() as u64).sum::<u64>()
    );
    let last = seen.last().expect("progress");
    assert_eq!(
        (last.files_done, last.files_total),
        (tree.len(), tree.len())
    );
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(!zip.has_pending_changes(), "copy_tree flushed the archive");

    let tested = run(tool("unzip").arg("-t").arg(&archive));
    assert!(tested.contains("No errors detected"), "{tested}");

    // The archive loads as a repository, from its path or its URL.
    let repo = dman::open(&archive.display().to_string())
        .expect("open the archive")
        .with_generator(GETTING_STARTED_GENERATOR);
    let runs: dman::MRuns<seed::Run> = repo.load("experiment").await.expect("load the archive");
    assert_eq!(runs.len(), seed::SEEDS.len());
    let expected = seed::example_expectation();
    let by_url = dman::open(&format!("zip://{}", archive.display()))
        .expect("open URL")
        .backend()
        .clone();
    assert!(by_url.location().ends_with("results.zip?root=.dman"));
    assert_eq!(
        by_url.list(&StoragePath::root()).await.expect("list").len(),
        tree.len()
    );

    // Unzipped, Python dman 1.0.1 loads it.
    let unzipped = tempfile::tempdir().expect("temp dir");
    run(tool("unzip")
        .arg("-q")
        .arg(&archive)
        .arg("-d")
        .arg(unzipped.path()));
    assert_eq!(read_tree(&unzipped.path().join(".dman")), tree);
    let verdict = python::check_getting_started(unzipped.path(), &expected);
    assert!(verdict.starts_with("ok "), "{verdict}");

    // And back: the archive copied into a folder is the same tree.
    let back = work.path().join("back/.dman");
    let zip: Arc<dyn StorageBackend> = dman::open(&archive.display().to_string())
        .expect("open")
        .backend()
        .clone();
    let folder = FsBackend::new(&back).expect("folder");
    copy_tree(
        zip.as_ref(),
        &StoragePath::root(),
        &folder,
        &StoragePath::root(),
        |_| {},
    )
    .await
    .expect("copy out of the archive");
    assert_eq!(read_tree(&back), tree);
}

#[tokio::test]
async fn locations_that_name_archives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("Results.ZIP");
    for location in [
        format!("zip://{}", archive.display()),
        format!("zip://{}?root=.dman", archive.display()),
        archive.display().to_string(),
        format!("file://{}", archive.display()),
        format!("{}?root=", archive.display()),
    ] {
        let backend = dman::open(&location).expect("open").backend().clone();
        assert!(
            backend.location().starts_with("zip://"),
            "{location}: {}",
            backend.location()
        );
    }
    // A folder whose name ends in `.zip` is a folder.
    let folder = dir.path().join("folder.zip");
    std::fs::create_dir(&folder).expect("mkdir");
    let backend = dman::open(&folder.display().to_string())
        .expect("open")
        .backend()
        .clone();
    assert!(
        backend.location().starts_with("file://"),
        "{}",
        backend.location()
    );
}
