//! The fixtures under `tests/fixtures/`: above all the getting-started tree
//! Python dman 1.0.1 writes for the seed's example
//! (`tests/fixtures/getting-started/getting-started.zip`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::repo_root;

/// The command, run from the repository root, that makes the
/// getting-started fixture.
pub const MAKE_GETTING_STARTED: &str = ".venv/bin/python tests/python/make_getting_started.py";

/// The generator folder of the getting-started tree: Python's name for the
/// script `examples/patterns/common.py`.
pub const GETTING_STARTED_GENERATOR: &str = "cache/examples:patterns:common";

/// The getting-started fixture: a zip of the `.dman` folder Python dman
/// 1.0.1 wrote running the seed's example (`.dman/...` names, no folder
/// entries). Panics, naming the script that makes it, when it is missing.
pub fn getting_started_zip() -> PathBuf {
    let path = repo_root().join("tests/fixtures/getting-started/getting-started.zip");
    assert!(
        path.is_file(),
        "the getting-started fixture {} is missing: make it, from the repository root, with \
         `{MAKE_GETTING_STARTED}` (the Python of scripts/setup-python.sh)",
        path.display()
    );
    path
}

/// Every file entry of a zip archive, in archive order: its name (`/`
/// separators) and bytes. Folder entries are left out; an entry that would
/// leave the folder it is extracted into is a panic.
pub fn zip_files(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(archive)
        .unwrap_or_else(|err| panic!("open {}: {err}", archive.display()));
    let mut zip = zip::ZipArchive::new(file)
        .unwrap_or_else(|err| panic!("{} is no zip archive: {err}", archive.display()));
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).expect("zip entry");
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .enclosed_name()
            .unwrap_or_else(|| panic!("zip entry {} leaves its folder", entry.name()));
        let name = name.to_string_lossy().replace('\\', "/");
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .unwrap_or_else(|err| panic!("read zip entry {name}: {err}"));
        files.push((name, bytes));
    }
    files
}

/// Extracts every file of a zip archive into `dir`.
pub fn extract_zip(archive: &Path, dir: &Path) {
    for (name, bytes) in zip_files(archive) {
        let dest = dir.join(&name);
        std::fs::create_dir_all(dest.parent().expect("an entry has a folder"))
            .unwrap_or_else(|err| panic!("mkdir for {}: {err}", dest.display()));
        std::fs::write(&dest, bytes)
            .unwrap_or_else(|err| panic!("write {}: {err}", dest.display()));
    }
}

/// Extracts the getting-started fixture into `dir`, which then holds
/// `.dman`; gives that `.dman` folder.
pub fn extract_getting_started(dir: &Path) -> PathBuf {
    extract_zip(&getting_started_zip(), dir);
    dir.join(".dman")
}

/// A new temporary workspace holding the getting-started fixture's `.dman`.
pub fn getting_started_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    extract_getting_started(dir.path());
    dir
}

/// The `.npy` files of the getting-started fixture: archive name and bytes.
pub fn getting_started_arrays() -> Vec<(String, Vec<u8>)> {
    zip_files(&getting_started_zip())
        .into_iter()
        .filter(|(name, _)| name.ends_with(".npy"))
        .collect()
}
