//! Helpers shared by the zip backend's tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use dman_core::{StorageBackend, StoragePath};

/// Runs a Python script with the project's Python (`python -c SCRIPT
/// ARGS...`); gives its standard output.
pub fn python(script: &str, args: &[&Path]) -> String {
    let mut command = dman_test_support::python::command();
    command.arg("-c").arg(script).args(args);
    dman_test_support::files::run(&mut command)
}

/// A small tree like a dman tree, with unusual names and sizes: relative
/// path to content.
pub fn sample_tree() -> BTreeMap<String, Vec<u8>> {
    let mut tree = BTreeMap::new();
    let generator = "cache/examples:patterns:common";
    tree.insert(
        format!("{generator}/config.json"),
        b"{\n    \"seed\": 1000,\n    \"size\": 20\n}".to_vec(),
    );
    tree.insert(
        format!("{generator}/.gitignore"),
        b".gitignore\nconfig.json\nexperiment".to_vec(),
    );
    let mut array = Vec::new();
    for index in 0u32..5000 {
        array.extend((index.wrapping_mul(2_654_435_761) % 1000).to_le_bytes());
    }
    tree.insert(
        format!("{generator}/experiment/results/experiment-0/data.npy"),
        array,
    );
    tree.insert("résultats/ü.npy".into(), "données".as_bytes().to_vec());
    tree.insert("with space/a b.txt".into(), b"spaces".to_vec());
    tree.insert("empty".into(), Vec::new());
    tree
}

/// Writes `tree` under the folder `dir`.
pub fn write_tree(dir: &Path, tree: &BTreeMap<String, Vec<u8>>) {
    for (path, data) in tree {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, data).expect("write");
    }
}

/// Every file of `backend` under `prefix`, relative to `prefix`, with its
/// content, checking the listed sizes.
pub async fn backend_tree(backend: &dyn StorageBackend, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let prefix = StoragePath::parse(prefix).expect("prefix");
    let mut tree = BTreeMap::new();
    for meta in backend.list(&prefix).await.expect("list") {
        let data = backend.read(&meta.path).await.expect("read");
        assert_eq!(meta.size, data.len() as u64, "listed size of {}", meta.path);
        let relative = meta.path.strip_prefix(&prefix).expect("under prefix");
        tree.insert(relative.to_string(), data.to_vec());
    }
    tree
}

/// Every file and folder under `dir`, relative, folders with a trailing
/// slash: to check that nothing was written where it should not be.
pub fn everything_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            let relative = path
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                found.push(format!("{relative}/"));
                folders.push(path);
            } else {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

/// `unzip -t` of an archive, asserting that it finds no error.
pub fn unzip_test(archive: &Path) {
    let out = dman_test_support::files::run(
        dman_test_support::files::tool("unzip")
            .arg("-t")
            .arg(archive),
    );
    assert!(out.contains("No errors detected"), "unzip -t: {out}");
}

/// Python's `zipfile` opens the archive, `testzip` finds no bad entry, and
/// the entries are extracted to `dir`. Gives the entry names.
pub fn python_extract(archive: &Path, dir: &Path) -> Vec<String> {
    let out = python(
        "import json, sys, zipfile\n\
         z = zipfile.ZipFile(sys.argv[1])\n\
         assert z.testzip() is None, z.testzip()\n\
         z.extractall(sys.argv[2])\n\
         print(json.dumps(z.namelist()))",
        &[archive, dir],
    );
    let names: Vec<String> = serde_json_names(&out);
    names
}

/// Parses the JSON list of strings Python printed.
fn serde_json_names(out: &str) -> Vec<String> {
    let value = dman_core::json::from_str(out.trim()).expect("JSON from Python");
    let dman_core::json::Value::Array(items) = value else {
        panic!("not a list: {out}")
    };
    items
        .into_iter()
        .map(|item| match item {
            dman_core::json::Value::String(name) => name,
            other => panic!("not a name: {other:?}"),
        })
        .collect()
}
