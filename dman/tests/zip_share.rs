//! Sharing results as one file: the tree the getting-started example writes
//! is copied into a zip archive with `copy_tree`; the archive passes
//! `unzip -t`, loads as a repository through `dman::open`, and once
//! unzipped loads in Python dman 1.0.1. Copied back out, it is the same
//! tree, byte for byte.
//!
//! Needs Info-ZIP `unzip` (scripts/setup-system.sh) and the Python of
//! scripts/setup-python.sh.

mod common;

use common::{digest, example_binary, python, repo_root, Run};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use dman::core::copy::{copy_tree, Progress};
use dman::{FsBackend, MRuns, StorageBackend, StoragePath, ZipBackend};

/// Info-ZIP's `unzip`: missing, the test fails and says how to install it.
fn unzip() -> Command {
    let found = Command::new("sh")
        .args(["-c", "command -v unzip"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "`unzip` is missing: run scripts/setup-system.sh (as root), which installs Info-ZIP zip and unzip"
    );
    Command::new("unzip")
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("run command");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every file under `dir`, relative path to content.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut tree = BTreeMap::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("relative");
                tree.insert(
                    relative.to_string_lossy().into_owned(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    tree
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_tree_shared_as_a_zip_archive() {
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(work.path().join("examples/patterns")).expect("mkdir");
    std::fs::write(
        work.path().join("examples/patterns/common.rs"),
        "// placeholder\n",
    )
    .expect("write");
    run(Command::new(example_binary()).current_dir(work.path()));
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

    let tested = run(unzip().arg("-t").arg(&archive));
    assert!(tested.contains("No errors detected"), "{tested}");

    // The archive loads as a repository, from its path or its URL.
    let expected = {
        let repo = dman::open(&archive.display().to_string())
            .expect("open the archive")
            .with_generator("cache/examples:patterns:common");
        let runs: MRuns<Run> = repo.load("experiment").await.expect("load runs");
        let mut expected = Vec::new();
        for run in runs.contents().await.expect("runs") {
            let data = run.data.as_ref().expect("data").get().await.expect("array");
            let output = run
                .output
                .as_ref()
                .expect("output")
                .get()
                .await
                .expect("array");
            expected.push(format!(
                r#"{{"seed": {}, "data": "{}", "output": "{}"}}"#,
                run.config.seed,
                digest(data),
                digest(output)
            ));
        }
        expected
    };
    assert_eq!(expected.len(), 2);
    let by_url = dman::open_backend(&format!("zip://{}", archive.display())).expect("open URL");
    assert!(by_url.location().ends_with("results.zip?root=.dman"));
    assert_eq!(
        by_url.list(&StoragePath::root()).await.expect("list").len(),
        tree.len()
    );

    // Unzipped, Python dman 1.0.1 loads it.
    let unzipped = tempfile::tempdir().expect("temp dir");
    run(unzip()
        .arg("-q")
        .arg(&archive)
        .arg("-d")
        .arg(unzipped.path()));
    assert_eq!(read_tree(&unzipped.path().join(".dman")), tree);
    let expected_path = unzipped.path().join("expected.json");
    std::fs::write(
        &expected_path,
        format!(r#"{{"runs": [{}]}}"#, expected.join(", ")),
    )
    .expect("write expected");
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/check_getting_started.py"))
        .arg(unzipped.path())
        .arg(&expected_path)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "Python dman 1.0.1 disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And back: the archive copied into a folder is the same tree.
    let back = work.path().join("back/.dman");
    let zip: Arc<dyn StorageBackend> =
        dman::open_backend(&archive.display().to_string()).expect("open");
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
        let backend = dman::open_backend(&location).expect("open");
        assert!(
            backend.location().starts_with("zip://"),
            "{location}: {}",
            backend.location()
        );
    }
    // A folder whose name ends in `.zip` is a folder.
    let folder = dir.path().join("folder.zip");
    std::fs::create_dir(&folder).expect("mkdir");
    let backend = dman::open_backend(&folder.display().to_string()).expect("open");
    assert!(
        backend.location().starts_with("file://"),
        "{}",
        backend.location()
    );
}
