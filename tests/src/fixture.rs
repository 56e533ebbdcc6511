//! The Python reference trees (`tests/fixtures/python-reference`) and their
//! manifest (`expected.json`); the trees of a zip archive in a backend. (The
//! getting-started tree is `dman_test_support::fixture`'s.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dman::core::graph::Document;
use dman::core::json::{self, Value};
use dman::{FsBackend, Key, MemoryBackend, Repo, StorageBackend, StoragePath};
pub use dman_test_support::fixture::getting_started_zip;
use dman_test_support::fixture::zip_files;

use crate::norm::{match_pattern, uuid_pattern};

/// `tests/fixtures/python-reference`.
pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/python-reference")
}

/// The reference trees: a zip of a `.dman` folder written by Python dman 1.0.1.
pub fn reference_zip() -> PathBuf {
    reference_dir().join("trees.zip")
}

/// The files of a zip archive under `.dman/`, with that prefix removed, in
/// archive order. Entries that would leave the folder are refused.
pub fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    zip_files(path)
        .into_iter()
        .filter_map(|(name, bytes)| Some((name.strip_prefix(".dman/")?.to_string(), bytes)))
        .collect()
}

/// A memory backend holding the `.dman` folder of a zip archive.
pub async fn memory_tree(zip: &Path) -> Arc<MemoryBackend> {
    let mem = Arc::new(MemoryBackend::new());
    for (name, bytes) in read_zip(zip) {
        let path = StoragePath::parse(&name).expect("valid path");
        mem.write(&path, bytes.into()).await.expect("write");
    }
    mem
}

/// The `.dman` folder of a zip archive extracted into a new temporary
/// folder, and an [`FsBackend`] rooted at it.
pub fn fs_tree(zip: &Path) -> (tempfile::TempDir, Arc<FsBackend>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join(".dman");
    for (name, bytes) in read_zip(zip) {
        let dest = root.join(&name);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(&dest, bytes).expect("write");
    }
    let fs = Arc::new(FsBackend::new(&root).expect("fs backend"));
    (dir, fs)
}

/// Every file of a backend with its bytes, sorted by path.
pub async fn snapshot(store: &Arc<dyn StorageBackend>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for meta in store.list(&StoragePath::root()).await.expect("list") {
        let bytes = store.read(&meta.path).await.expect("read");
        out.push((meta.path.as_str().to_string(), bytes.to_vec()));
    }
    out
}

/// One invalid marker of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The JSON file, relative to `.dman` (`{uuid}` patterns).
    pub file: String,
    /// RFC 6901 pointer into the file.
    pub pointer: String,
    /// The marker's type name.
    pub marker: String,
}

/// A scenario of `expected.json`.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The key.
    pub key: String,
    /// The generator folder.
    pub generator: String,
    /// The subdir between generator and key.
    pub subdir: String,
    /// Whether the key has a folder of its own.
    pub cluster: bool,
    /// `"load"` or `"store"`.
    pub mode: String,
    /// Mode `store`: the storable's type name.
    pub sto_type: Option<String>,
    /// Mode `store`: the stored file's name.
    pub file_name: Option<String>,
    /// `"both"` or `"python-to-rust"`.
    pub direction: String,
    /// The root file, relative to `.dman`.
    pub file: String,
    /// Whether `files` is the whole content of the key folder.
    pub files_exact: bool,
    /// File patterns, relative to `.dman`.
    pub files: Vec<String>,
    /// The invalid markers of the scenario's JSON files.
    pub markers: Vec<Marker>,
    /// The normalized value a reader must find.
    pub value: Value,
}

impl Scenario {
    /// Whether dman-rs writes this scenario too.
    pub fn round_trips(&self) -> bool {
        self.direction == "both"
    }

    /// Whether the key was written with `store`.
    pub fn is_store(&self) -> bool {
        self.mode == "store"
    }

    /// The key with the scenario's location options.
    pub fn key(&self) -> Key {
        Key::new(self.key.clone())
            .generator(self.generator.clone())
            .subdir(self.subdir.clone())
            .cluster(self.cluster)
    }

    /// The root file.
    pub fn root_file(&self) -> StoragePath {
        StoragePath::parse(&self.file).expect("valid root file")
    }

    /// The folder that holds the key's files when clustered
    /// (`refmodel.key_folder`).
    pub fn key_folder(&self) -> String {
        [
            self.generator.as_str(),
            self.subdir.as_str(),
            if self.cluster { self.key.as_str() } else { "" },
        ]
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
    }
}

/// The manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The scenarios, in manifest order.
    pub scenarios: Vec<Scenario>,
}

impl Manifest {
    /// The scenario called `name`.
    pub fn get(&self, name: &str) -> &Scenario {
        self.scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no scenario `{name}` in expected.json"))
    }
}

/// The manifest of the reference trees.
pub fn manifest() -> Manifest {
    parse_manifest(&reference_dir().join("expected.json"))
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Reads a manifest in the format of `expected.json`.
pub fn parse_manifest(path: &Path) -> Manifest {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc = json::from_slice(&bytes).expect("expected.json is JSON");
    assert_eq!(
        doc.get("format").and_then(Value::as_i64),
        Some(1),
        "manifest format"
    );
    let defaults = doc.get("defaults").cloned().unwrap_or_default();
    let entries = doc
        .get("scenarios")
        .and_then(Value::as_object)
        .expect("scenarios");
    let scenarios = entries
        .iter()
        .map(|(name, e)| {
            let opt = |k: &str| string(e, k).or_else(|| string(&defaults, k));
            Scenario {
                name: name.clone(),
                description: string(e, "description").unwrap_or_default(),
                key: string(e, "key").unwrap_or_else(|| name.clone()),
                generator: opt("generator").unwrap_or_else(|| "ref".into()),
                subdir: opt("subdir").unwrap_or_default(),
                cluster: e
                    .get("cluster")
                    .or_else(|| defaults.get("cluster"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                mode: opt("mode").unwrap_or_else(|| "load".into()),
                sto_type: string(e, "sto_type"),
                file_name: string(e, "file_name"),
                direction: string(e, "direction").unwrap_or_else(|| "both".into()),
                file: string(e, "file").expect("file"),
                files_exact: e
                    .get("files_exact")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                files: e
                    .get("files")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                markers: e
                    .get("markers")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|m| Marker {
                                file: string(m, "file").expect("marker file"),
                                pointer: string(m, "pointer").expect("marker pointer"),
                                marker: string(m, "marker").expect("marker type"),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                value: e.get("value").cloned().expect("value"),
            }
        })
        .collect();
    Manifest { scenarios }
}

/// A repository over `store` with the reference trees' default generator.
pub fn repo(store: Arc<dyn StorageBackend>) -> Repo {
    Repo::new(store).with_generator("ref")
}

/// The files of a scenario against its manifest patterns
/// (`check_tree.check_files`): the differences, and the actual files of
/// the scenario (relative to `.dman`).
pub async fn check_files(
    store: &Arc<dyn StorageBackend>,
    sc: &Scenario,
) -> (Vec<String>, Vec<String>) {
    let mut diffs = Vec::new();
    let listed = |prefix: String| {
        let store = store.clone();
        async move {
            let path = if prefix.is_empty() {
                StoragePath::root()
            } else {
                StoragePath::parse(&prefix).expect("valid folder")
            };
            store
                .list(&path)
                .await
                .expect("list")
                .into_iter()
                .map(|m| m.path.as_str().to_string())
                .filter(|p| !p.ends_with(".gitignore"))
                .collect::<Vec<_>>()
        }
    };
    let actual: Vec<String> = if sc.files_exact {
        listed(sc.key_folder()).await
    } else {
        let mut folders: Vec<String> = sc
            .files
            .iter()
            .map(|p| p.rsplit_once('/').map_or("", |(d, _)| d).to_string())
            .collect();
        folders.sort();
        folders.dedup();
        let mut out = Vec::new();
        for folder in folders {
            // Only the files directly in the folder, as os.listdir gives them.
            out.extend(
                listed(folder.clone())
                    .await
                    .into_iter()
                    .filter(|p| p.rsplit_once('/').map_or("", |(d, _)| d) == folder),
            );
        }
        out
    };
    let mut remaining = actual.clone();
    remaining.sort();
    let mut patterns = sc.files.clone();
    patterns.sort_by_key(|p| (p.contains("{uuid}"), p.clone()));
    let mut matched = Vec::new();
    for pattern in &patterns {
        match remaining.iter().position(|f| match_pattern(pattern, f)) {
            Some(i) => matched.push(remaining.remove(i)),
            None => diffs.push(format!("files: missing {pattern}")),
        }
    }
    if sc.files_exact {
        diffs.extend(remaining.iter().map(|f| format!("files: unexpected {f}")));
        (diffs, actual)
    } else {
        (diffs, matched)
    }
}

/// A position inside a document as [`Document::invalid_markers`] gives it
/// (`store[0]._ser__content.exceptions`) as an RFC 6901 pointer.
pub fn at_to_pointer(at: &str) -> String {
    let mut out = String::new();
    for part in at.split('.').filter(|p| !p.is_empty()) {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push('/');
            out.push_str(&key.replace('~', "~0").replace('/', "~1"));
        }
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(index);
        }
    }
    out
}

/// The invalid markers of the scenario's JSON files, found by the untyped
/// [`Document`], against the manifest's (`check_tree.check_markers`).
pub async fn check_markers(
    store: &Arc<dyn StorageBackend>,
    sc: &Scenario,
    files: &[String],
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut expected = sc.markers.clone();
    let mut json_files: Vec<&String> = files.iter().filter(|f| f.ends_with(".json")).collect();
    json_files.sort();
    for file in json_files {
        let path = StoragePath::parse(file).expect("valid path");
        let doc = match Document::open(store.clone(), path).await {
            Ok(doc) => doc,
            Err(e) => {
                diffs.push(format!("markers: cannot open {file}: {e}"));
                continue;
            }
        };
        for m in doc.invalid_markers() {
            let pointer = at_to_pointer(&m.at);
            match expected.iter().position(|e| {
                e.marker == m.marker && e.pointer == pointer && match_pattern(&e.file, file)
            }) {
                Some(i) => {
                    expected.remove(i);
                }
                None => diffs.push(format!(
                    "markers: unexpected {} at {file}#{pointer}",
                    m.marker
                )),
            }
        }
    }
    for e in expected {
        diffs.push(format!(
            "markers: missing {} at {}#{}",
            e.marker, e.file, e.pointer
        ));
    }
    diffs
}

/// The files of a tree with uuids replaced by `{uuid}` in names and in
/// text content, grouped for comparison: `(name pattern, content)` pairs,
/// sorted. Content that is not UTF-8 is kept as a byte summary.
pub fn uuid_free(files: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = files
        .iter()
        .map(|(name, bytes)| {
            let content = match std::str::from_utf8(bytes) {
                Ok(text) => uuid_pattern(text),
                Err(_) => format!("{} bytes: {:02x?}", bytes.len(), bytes),
            };
            (uuid_pattern(name), content)
        })
        .collect();
    out.sort();
    out
}
