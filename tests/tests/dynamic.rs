//! Every reference tree written by Python dman 1.0.1, and the
//! getting-started fixture, loaded as `dman::Dynamic` (no Rust types) and
//! saved to a fresh backend (memory, local folder, zip archive) gives the
//! same files, byte for byte: the key's JSON and every file its records
//! reach, followed through JSON content files.

use std::collections::BTreeMap;
use std::sync::Arc;

use dman::core::graph::owned_files;
use dman::{Dynamic, FsBackend, Key, MemoryBackend, Repo, StorageBackend, StoragePath, ZipBackend};
use dman_test_support::fixture::{getting_started_zip, GETTING_STARTED_GENERATOR};
use dman_tests::fixture::{manifest, memory_tree, reference_zip, snapshot};

/// The files a key's root file reaches, with their bytes.
async fn reached(store: &Arc<dyn StorageBackend>, root: &StoragePath) -> BTreeMap<String, Vec<u8>> {
    let mut files = vec![root.clone()];
    files.extend(owned_files(store, root).await.expect("walk the graph"));
    let mut out = BTreeMap::new();
    for path in files {
        // A record may point at a file Python never wrote (the `__no_file`
        // scenarios): there is nothing to copy.
        if let Ok(bytes) = store.read(&path).await {
            out.insert(path.as_str().to_string(), bytes.to_vec());
        }
    }
    out
}

/// Fresh backends of each kind, and what keeps them alive.
fn destinations(dir: &std::path::Path, n: usize) -> Vec<(&'static str, Arc<dyn StorageBackend>)> {
    let fs = dir.join(format!("fs-{n}"));
    std::fs::create_dir_all(&fs).expect("mkdir");
    vec![
        ("memory", Arc::new(MemoryBackend::new())),
        ("folder", Arc::new(FsBackend::new(&fs).expect("folder"))),
        (
            "zip",
            Arc::new(ZipBackend::create(dir.join(format!("copy-{n}.zip"))).expect("archive")),
        ),
    ]
}

/// Loads `key` from `src` as `Dynamic`, saves it under the same key to each
/// fresh backend, and compares what the copy's root reaches with the
/// original's, byte for byte. Gives the number of files compared.
async fn copy_and_compare(
    src: &Arc<dyn StorageBackend>,
    generator: &str,
    key: Key,
    root: &StoragePath,
    dir: &std::path::Path,
    n: usize,
) -> usize {
    let expected = reached(src, root).await;
    assert!(
        expected.contains_key(root.as_str()),
        "{root} missing from the fixture"
    );
    for (kind, dst) in destinations(dir, n) {
        let from = Repo::new(src.clone()).with_generator(generator);
        let any: Dynamic = from
            .load(key.clone())
            .await
            .unwrap_or_else(|e| panic!("{root}: load as Dynamic: {e}"));
        let to = Repo::new(dst.clone()).with_generator(generator);
        to.save(key.clone(), &any)
            .await
            .unwrap_or_else(|e| panic!("{root}: save to {kind}: {e}"));
        let copied = reached(&dst, root).await;
        assert_eq!(
            copied.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{root} on {kind}: the same files"
        );
        for (path, bytes) in &expected {
            assert!(
                copied.get(path) == Some(bytes),
                "{path} on {kind} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(copied.get(path).map_or(&[][..], |b| b))
            );
        }
        // Nothing else was written but the generator's `.gitignore`.
        for (path, _) in snapshot(&dst).await {
            assert!(
                expected.contains_key(&path) || path.ends_with(".gitignore"),
                "{root} on {kind}: stray file {path}"
            );
        }
    }
    expected.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reference_tree_copies_byte_for_byte_as_dynamic() {
    let src: Arc<dyn StorageBackend> = memory_tree(&reference_zip()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut keys = 0;
    let mut files = 0;
    for (n, sc) in manifest().scenarios.iter().enumerate() {
        // A `store` key is one content file, not a graph to load.
        if sc.is_store() {
            continue;
        }
        files += copy_and_compare(
            &src,
            &sc.generator,
            sc.key(),
            &sc.root_file(),
            dir.path(),
            n,
        )
        .await;
        keys += 1;
    }
    assert!(keys >= 60, "only {keys} keys compared");
    assert!(files > keys, "records were followed ({files} files)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_getting_started_tree_copies_byte_for_byte_as_dynamic() {
    let src: Arc<dyn StorageBackend> = memory_tree(&getting_started_zip()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let experiment = StoragePath::parse(&format!(
        "{GETTING_STARTED_GENERATOR}/experiment/experiment.json"
    ))
    .expect("path");
    let files = copy_and_compare(
        &src,
        GETTING_STARTED_GENERATOR,
        Key::new("experiment"),
        &experiment,
        dir.path(),
        0,
    )
    .await;
    // The key, both runs' JSON and their four arrays.
    assert_eq!(files, 7);
    let config =
        StoragePath::parse(&format!("{GETTING_STARTED_GENERATOR}/config.json")).expect("path");
    let files = copy_and_compare(
        &src,
        GETTING_STARTED_GENERATOR,
        Key::new("config").cluster(false),
        &config,
        dir.path(),
        1,
    )
    .await;
    assert_eq!(files, 1);
}
