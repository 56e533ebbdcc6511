//! The keys of a tree, found from its files alone: every JSON file read,
//! the files its records reach, and the JSON files nothing reaches. Shared
//! by `check` (which keys own which files), the addressing of key names,
//! `clean`, `ls`, `du` and `diff`.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use dman::core::graph::Document;
use dman::core::storage::ObjectMeta;
use dman::{StorageBackend, StoragePath};
use futures::StreamExt;

use crate::{progress, Failure};

/// Whether `path` is a clustered key's own file: `<dir>/<key>/<key>.json`
/// that no record reaches (a run file `results/run-0/run.json` is reached
/// by its `mruns`, so it is not a key).
pub fn is_key_file(path: &StoragePath, reached: &HashSet<StoragePath>) -> bool {
    path.suffix() == Some(".json")
        && path
            .parent()
            .is_some_and(|dir| dir.file_name() == path.stem())
        && !reached.contains(path)
}

/// A key found in a tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyInfo {
    /// The folder above the key (its generator, with any subdir), the
    /// empty path for a key at the root.
    pub generator: StoragePath,
    /// The key's name.
    pub name: String,
    /// The key's file.
    pub file: StoragePath,
    /// Whether the key has a folder of its own (`<key>/<key>.json`).
    pub cluster: bool,
}

impl KeyInfo {
    /// `generator/key`, as the commands print it.
    pub fn label(&self) -> String {
        if self.generator.is_root() {
            self.name.clone()
        } else {
            format!("{}/{}", self.generator, self.name)
        }
    }

    /// The key's own folder, for a clustered key.
    pub fn folder(&self) -> Option<StoragePath> {
        self.cluster.then(|| self.file.dir())
    }
}

/// Every file of a tree, its JSON files parsed, and its keys.
pub struct Scan {
    /// Every file listed, by path.
    pub files: BTreeMap<StoragePath, ObjectMeta>,
    /// The JSON files that parse.
    pub docs: BTreeMap<StoragePath, Document>,
    /// The JSON files that do not, and why.
    pub unreadable: BTreeMap<StoragePath, String>,
    /// The keys, sorted by generator and name.
    pub keys: Vec<KeyInfo>,
}

/// How many JSON files are read at once (on S3 each is a request).
const READ_CONCURRENCY: usize = 16;

impl Scan {
    /// Lists the tree and reads every JSON file in it.
    pub async fn read(store: &Arc<dyn StorageBackend>) -> Result<Scan, Failure> {
        let listed = store.list(&StoragePath::root()).await?;
        let files: BTreeMap<StoragePath, ObjectMeta> =
            listed.into_iter().map(|m| (m.path.clone(), m)).collect();
        let jsons: Vec<StoragePath> = files
            .keys()
            .filter(|p| p.suffix() == Some(".json"))
            .cloned()
            .collect();
        let bar = progress::bar(jsons.len() as u64, "reading JSON files");
        let read: Vec<(StoragePath, Result<Document, String>)> = futures::stream::iter(jsons)
            .map(|path| async move {
                let doc = Document::open(store.clone(), path.clone()).await;
                (path, doc.map_err(|e| e.to_string()))
            })
            .buffered(READ_CONCURRENCY)
            .inspect(|_| progress::inc(&bar))
            .collect()
            .await;
        progress::finish(bar);
        let mut docs = BTreeMap::new();
        let mut unreadable = BTreeMap::new();
        for (path, doc) in read {
            match doc {
                Ok(doc) => {
                    docs.insert(path, doc);
                }
                Err(e) => {
                    unreadable.insert(path, e);
                }
            }
        }
        let reached: HashSet<StoragePath> = docs
            .values()
            .flat_map(|doc| {
                doc.records()
                    .into_iter()
                    .filter_map(|r| doc.resolve(&r).ok())
            })
            .collect();
        let keys = find_keys(files.keys().collect(), &reached);
        Ok(Scan {
            files,
            docs,
            unreadable,
            keys,
        })
    }

    /// The files a key owns: its own file, what its graph reaches (through
    /// JSON targets, to any depth) and, for a clustered key, every file in
    /// its folder. Only files that exist.
    pub fn files_of(&self, key: &KeyInfo) -> BTreeSet<StoragePath> {
        let mut out = BTreeSet::new();
        if let Some(folder) = key.folder() {
            out.extend(
                self.files
                    .keys()
                    .filter(|p| p.starts_with(&folder))
                    .cloned(),
            );
        }
        let mut queue = VecDeque::from([key.file.clone()]);
        let mut seen = HashSet::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) {
                continue;
            }
            if self.files.contains_key(&path) {
                out.insert(path.clone());
            }
            if let Some(doc) = self.docs.get(&path) {
                queue.extend(doc.records().iter().filter_map(|r| doc.resolve(r).ok()));
            }
        }
        out
    }

    /// The keys named `name`, under `generator` when given (a generator
    /// folder, with or without the leading `cache/`).
    pub fn keys_named(&self, name: &str, generator: Option<&str>) -> Vec<&KeyInfo> {
        self.keys
            .iter()
            .filter(|k| k.name == name)
            .filter(|k| generator.is_none_or(|g| generator_matches(&k.generator, g)))
            .collect()
    }
}

/// Whether the folder `actual` is the generator a user named: the same
/// folder, or the same below `cache/` (Python's scripts write to
/// `cache/<label>`, and `--generator examples:patterns:common` is what a
/// person types).
fn generator_matches(actual: &StoragePath, named: &str) -> bool {
    let named = named.trim_matches('/');
    actual.as_str() == named || actual.as_str().strip_prefix("cache/") == Some(named)
}

/// The keys among `all`: clustered keys (see [`is_key_file`]), then the
/// JSON files that no record reaches and that lie in no key's folder
/// (keys without a folder of their own, `<generator>/<key>.json`).
pub fn find_keys(all: BTreeSet<&StoragePath>, reached: &HashSet<StoragePath>) -> Vec<KeyInfo> {
    let mut keys = Vec::new();
    let clustered: Vec<StoragePath> = all
        .iter()
        .filter(|p| is_key_file(p, reached))
        .filter_map(|p| p.parent())
        .collect();
    for path in &all {
        if path.suffix() != Some(".json") || reached.contains(*path) {
            continue;
        }
        let (Some(dir), Some(stem)) = (path.parent(), path.stem()) else {
            continue;
        };
        if is_key_file(path, reached) {
            // A key folder inside another key's folder is part of that key.
            if clustered.iter().any(|k| dir.starts_with(k) && *k != dir) {
                continue;
            }
            keys.push(KeyInfo {
                generator: dir.parent().unwrap_or_else(StoragePath::root),
                name: stem.to_string(),
                file: (*path).clone(),
                cluster: true,
            });
        } else if !clustered.iter().any(|k| path.starts_with(k)) {
            keys.push(KeyInfo {
                generator: dir,
                name: stem.to_string(),
                file: (*path).clone(),
                cluster: false,
            });
        }
    }
    keys.sort();
    keys
}
