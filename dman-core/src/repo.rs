//! The repository: where keys live, and the five operations on them
//! (`save`, `load`, `track`, `store`, `clean`), on any backend.
//!
//! A key's JSON file is `<base>/<generator>/<subdir>/<key>/<key>.json` when
//! clustered (the default for save, load and track) and
//! `<base>/<generator>/<subdir>/<key>.json` when not (the default for
//! store), as in Python dman. After each operation the `.gitignore` files
//! are kept as Python keeps them: a clustered key's folder is listed in its
//! parent's `.gitignore`, otherwise the files written are listed beside them.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::context::{EncodeOptions, RetouchPolicy};
use crate::error::{Error, Result};
use crate::graph::{self, SaveReport, DEFAULT_CONCURRENCY};
use crate::json;
use crate::path::StoragePath;
use crate::record::Record;
use crate::serial::Serializable;
use crate::storable::Storable;
use crate::storage::StorageBackend;

/// Where a key lives: its name and Python's location options.
///
/// A plain `&str` converts into a `Key` with every option at its default.
///
/// ```
/// use dman_core::repo::Key;
/// let key = Key::new("config").cluster(false).generator("demo");
/// assert_eq!(key.name(), "config");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    name: String,
    subdir: String,
    cluster: Option<bool>,
    generator: Option<String>,
    base: Option<StoragePath>,
    gitignore: bool,
}

impl Key {
    /// A key with default options.
    pub fn new(name: impl Into<String>) -> Self {
        Key {
            name: name.into(),
            subdir: String::new(),
            cluster: None,
            generator: None,
            base: None,
            gitignore: true,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A folder between the generator's folder and the key.
    pub fn subdir(mut self, subdir: impl Into<String>) -> Self {
        self.subdir = subdir.into();
        self
    }

    /// Whether the key gets a folder of its own (default: on for save, load,
    /// track and clean; off for store).
    pub fn cluster(mut self, cluster: bool) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The generator folder, replacing the repository's (`cache/<label>`).
    pub fn generator(mut self, generator: impl Into<String>) -> Self {
        self.generator = Some(generator.into());
        self
    }

    /// The base folder within the backend, replacing the repository's.
    pub fn base(mut self, base: StoragePath) -> Self {
        self.base = Some(base);
        self
    }

    /// Whether the `.gitignore` files are kept up to date (default: on).
    pub fn gitignore(mut self, gitignore: bool) -> Self {
        self.gitignore = gitignore;
        self
    }
}

impl From<&str> for Key {
    fn from(name: &str) -> Self {
        Key::new(name)
    }
}

impl From<String> for Key {
    fn from(name: String) -> Self {
        Key::new(name)
    }
}

impl From<&Key> for Key {
    fn from(key: &Key) -> Self {
        key.clone()
    }
}

/// A resolved key: its folder and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLocation {
    /// The folder the key's files are relative to (Python's mount point).
    pub dir: StoragePath,
    /// The key's JSON file (or stored file, for `store`).
    pub file: StoragePath,
    /// Whether the key has a folder of its own.
    pub cluster: bool,
}

/// A record graph repository over any backend.
#[derive(Clone)]
pub struct Repo {
    store: Arc<dyn StorageBackend>,
    base: StoragePath,
    generator: String,
    concurrency: usize,
    encode: EncodeOptions,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("store", &self.store.location())
            .field("base", &self.base)
            .field("generator", &self.generator)
            .finish()
    }
}

/// The generator a repository uses when none is given: `cache/<name of
/// the running program>`, Python's fallback for a script outside the
/// folder that holds `.dman`.
pub fn default_generator() -> String {
    let name = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "__interpreter__".to_string());
    format!("cache/{name}")
}

/// Resolves `.` and `..` in a relative source path lexically (cargo gives
/// `dman/../examples/x.rs` for an example kept outside its
/// package).
pub fn normalize_source(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The generator label of a source file, as Python derives it from a
/// script's path relative to the folder holding `.dman`:
/// `examples/patterns/common.rs` gives `cache/examples:patterns:common`.
pub fn generator_for_source(relative_source: &str) -> String {
    let trimmed = normalize_source(relative_source);
    let (dir, file) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("", trimmed.as_str()),
    };
    let stem = crate::target::split_name(file).0;
    if dir.is_empty() {
        // Python formats the parent `.` of a top-level script this way.
        format!("cache/.:{stem}")
    } else {
        format!("cache/{}:{stem}", dir.replace('/', ":"))
    }
}

impl Repo {
    /// A repository whose base is the backend's root.
    pub fn new(store: Arc<dyn StorageBackend>) -> Self {
        Repo {
            store,
            base: StoragePath::root(),
            generator: default_generator(),
            concurrency: DEFAULT_CONCURRENCY,
            encode: EncodeOptions::default(),
        }
    }

    /// Uses `base` (a folder of the backend) as the base.
    pub fn with_base(mut self, base: StoragePath) -> Self {
        self.base = base;
        self
    }

    /// Uses `generator` as the default generator folder.
    pub fn with_generator(mut self, generator: impl Into<String>) -> Self {
        self.generator = generator.into();
        self
    }

    /// Writes up to `n` content files at once during a save.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// What to do when one save writes a file twice.
    pub fn with_retouch(mut self, retouch: RetouchPolicy) -> Self {
        self.encode.retouch = retouch;
        self
    }

    /// Whether files of removed items are deleted (default: on).
    pub fn with_auto_clean(mut self, auto_clean: bool) -> Self {
        self.encode.auto_clean = auto_clean;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        &self.store
    }

    /// The base folder (Python's `get_root_path`, within the backend).
    pub fn root(&self) -> &StoragePath {
        &self.base
    }

    /// The default generator folder.
    pub fn generator(&self) -> &str {
        &self.generator
    }

    /// Where a key lives; `cluster_default` is the operation's default.
    pub fn locate(&self, key: &Key, ext: &str, cluster_default: bool) -> Result<KeyLocation> {
        let cluster = key.cluster.unwrap_or(cluster_default);
        let base = key.base.as_ref().unwrap_or(&self.base);
        let generator = key.generator.as_deref().unwrap_or(&self.generator);
        let mut dir = base.join(generator)?.join(&key.subdir)?;
        if cluster {
            dir = dir.join(&key.name)?;
        }
        let file = dir.join(&format!("{}{ext}", key.name))?;
        if file.parent().as_ref() != Some(&dir) {
            return Err(Error::Other(format!(
                "key `{}` must be a plain file name",
                key.name
            )));
        }
        Ok(KeyLocation { dir, file, cluster })
    }

    /// The folder of a key's files (Python's `get_directory`), clustered
    /// unless the key says otherwise.
    pub fn directory(&self, key: impl Into<Key>) -> Result<StoragePath> {
        Ok(self.locate(&key.into(), ".json", true)?.dir)
    }

    /// Saves a serializable value under `key` (clustered by default). A
    /// storable is saved by wrapping it: `repo.save(key, &Record::new(value))`.
    pub async fn save<T: Serializable>(
        &self,
        key: impl Into<Key>,
        value: &T,
    ) -> Result<SaveReport> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        let span = tracing::debug_span!("save", key = %key.name, file = %loc.file);
        let _enter = span.enter();
        let (doc, plan) = graph::encode(value, &self.store, &loc.file, self.encode.clone())?;
        let root = Bytes::from(json::to_string_pretty(&doc).into_bytes());
        let report = graph::execute(plan, &loc.file, root, self.concurrency).await?;
        if key.gitignore {
            self.update_gitignore(&key, &loc, &report).await?;
        }
        Ok(report)
    }

    /// Loads the value saved under `key`; a missing key is
    /// [`Error::KeyNotFound`] naming the file.
    pub async fn load<T: Serializable>(&self, key: impl Into<Key>) -> Result<T> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        tracing::debug!(target: "dman::load", key = %key.name, file = %loc.file, "loading");
        match graph::load(&self.store, &loc.file).await {
            Err(Error::Storage(e)) if e.is_not_found() && e.path() == &loc.file => {
                Err(Error::KeyNotFound {
                    path: loc.file,
                    backend: self.store.location(),
                })
            }
            other => other,
        }
    }

    /// Loads the value saved under `key`, or makes one with `default` when
    /// the key is not saved.
    pub async fn load_or<T: Serializable>(
        &self,
        key: impl Into<Key>,
        default: impl FnOnce() -> T,
    ) -> Result<T> {
        match self.load(key).await {
            Err(Error::KeyNotFound { path, .. }) => {
                tracing::debug!(target: "dman::load", file = %path, "file not available, using default");
                Ok(default())
            }
            other => other,
        }
    }

    /// Loads `key` (or `default()`), lets `f` change it, and saves it.
    ///
    /// When `f` returns an error nothing is saved: the stored version stays
    /// as it was, and the error is returned.
    pub async fn track<T, R, F>(
        &self,
        key: impl Into<Key>,
        default: impl FnOnce() -> T,
        f: F,
    ) -> Result<R>
    where
        T: Serializable,
        F: AsyncFnOnce(&mut T) -> Result<R>,
    {
        let key = key.into();
        let mut value = self.load_or(&key, default).await?;
        let out = f(&mut value).await?;
        self.save(&key, &value).await?;
        Ok(out)
    }

    /// Loads `key` (or `default()`) into a guard; changes are saved by
    /// [`Tracked::commit`]. A guard dropped without a commit saves nothing
    /// and logs a warning.
    pub async fn tracked<T: Serializable>(
        &self,
        key: impl Into<Key>,
        default: impl FnOnce() -> T,
    ) -> Result<Tracked<'_, T>> {
        let key = key.into();
        let value = self.load_or(&key, default).await?;
        Ok(Tracked {
            repo: self,
            key,
            value: Some(value),
        })
    }

    /// Stores a storable straight to `<key><ext>` (not clustered by
    /// default), without a JSON file of its own. Returns the record that
    /// points at it, as Python's `store` does.
    pub async fn store<T: Storable + Clone>(
        &self,
        key: impl Into<Key>,
        value: &T,
    ) -> Result<json::Value> {
        let key = key.into();
        let loc = self.locate(&key, T::EXTENSION, false)?;
        let record = Record::new(value.clone()).stem(key.name.clone());
        let (doc, plan) = graph::encode(&record, &self.store, &loc.file, self.encode.clone())?;
        let report = graph::execute_without_root(plan, self.concurrency).await?;
        if key.gitignore {
            self.update_gitignore(&key, &loc, &report).await?;
        }
        Ok(doc)
    }

    /// Reads a storable written by [`Repo::store`].
    pub async fn load_stored<T: Storable>(&self, key: impl Into<Key>) -> Result<T> {
        let key = key.into();
        let loc = self.locate(&key, T::EXTENSION, false)?;
        let bytes = self.store.read(&loc.file).await?;
        crate::record::decode_stored::<T>(bytes, self.store.clone(), &loc.file, None).await
    }

    /// Whether `key` is saved.
    pub async fn exists(&self, key: impl Into<Key>) -> Result<bool> {
        let loc = self.locate(&key.into(), ".json", true)?;
        Ok(self.store.exists(&loc.file).await?)
    }

    /// Removes a key's file and every file its graph owns, then tidies the
    /// `.gitignore` files (folders left empty disappear with their last
    /// file). Returns the files deleted; a key that is not saved deletes
    /// nothing.
    pub async fn clean(&self, key: impl Into<Key>) -> Result<Vec<StoragePath>> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        if !self.store.exists(&loc.file).await? {
            return Ok(Vec::new());
        }
        let mut files = graph::owned_files(&self.store, &loc.file).await?;
        files.push(loc.file.clone());
        for file in &files {
            self.store.delete(file).await?;
        }
        tracing::debug!(target: "dman::clean", key = %key.name, deleted = files.len(), "cleaned");
        if key.gitignore {
            if loc.cluster {
                if let Some(parent) = loc.dir.parent() {
                    self.gitignore(&parent, &[], std::slice::from_ref(&key.name))
                        .await?;
                }
            } else {
                let name = loc.file.file_name().unwrap_or_default().to_string();
                self.gitignore(&loc.dir, &[], &[name]).await?;
            }
        }
        self.store.flush().await?;
        Ok(files)
    }

    async fn update_gitignore(
        &self,
        key: &Key,
        loc: &crate::repo::KeyLocation,
        report: &SaveReport,
    ) -> Result<()> {
        let removed: Vec<String> = report
            .deleted
            .iter()
            .filter_map(|p| p.strip_prefix(&loc.dir).map(|r| r.to_string()))
            .collect();
        if loc.cluster {
            let Some(parent) = loc.dir.parent() else {
                return Ok(());
            };
            self.gitignore(&parent, std::slice::from_ref(&key.name), &[])
                .await
        } else {
            let touched: Vec<String> = report
                .written
                .iter()
                .chain(&report.copied)
                .filter_map(|p| p.strip_prefix(&loc.dir).map(|r| r.to_string()))
                .collect();
            if touched.is_empty() {
                return Ok(());
            }
            self.gitignore(&loc.dir, &touched, &removed).await
        }
    }

    /// Python's `gitignore(directory, ignored, check=...)`: adds `ignored`
    /// to the folder's `.gitignore`, drops the `check` entries that no
    /// longer exist, always lists `.gitignore` itself, and removes the file
    /// when nothing else is left. Lines are sorted, with no final newline.
    async fn gitignore(
        &self,
        dir: &StoragePath,
        ignored: &[String],
        check: &[String],
    ) -> Result<()> {
        let path = dir.join(".gitignore")?;
        let original = match self.store.read(&path).await {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let mut lines: BTreeSet<String> = BTreeSet::new();
        for line in original.iter().flat_map(|s| s.lines()) {
            if check.iter().any(|c| c == line) && !self.entry_exists(dir, line).await? {
                continue;
            }
            lines.insert(line.to_string());
        }
        lines.extend(ignored.iter().cloned());
        lines.insert(".gitignore".into());
        if lines.len() == 1 {
            if original.is_some() {
                self.store.delete(&path).await?;
            }
            return Ok(());
        }
        // Python sorts by code point, as BTreeSet<String> does.
        let text = lines.into_iter().collect::<Vec<_>>().join("\n");
        if original.as_deref() != Some(text.as_str()) {
            self.store
                .write(&path, Bytes::from(text.into_bytes()))
                .await?;
        }
        Ok(())
    }

    async fn entry_exists(&self, dir: &StoragePath, entry: &str) -> Result<bool> {
        let Ok(path) = dir.join(entry) else {
            return Ok(false);
        };
        if self.store.exists(&path).await? {
            return Ok(true);
        }
        Ok(!self.store.list(&path).await?.is_empty())
    }
}

/// A value loaded by [`Repo::tracked`], saved by [`Tracked::commit`].
pub struct Tracked<'r, T: Serializable> {
    repo: &'r Repo,
    key: Key,
    value: Option<T>,
}

impl<T: Serializable> Tracked<'_, T> {
    /// Saves the value and ends the guard.
    pub async fn commit(mut self) -> Result<SaveReport> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error::Other("tracked value already committed".into()))?;
        self.repo.save(&self.key, &value).await
    }

    /// Saves the value and keeps tracking it.
    pub async fn save(&self) -> Result<SaveReport> {
        match &self.value {
            Some(v) => self.repo.save(&self.key, v).await,
            None => Err(Error::Other("tracked value already committed".into())),
        }
    }

    /// Ends the guard without saving.
    pub fn discard(mut self) -> Option<T> {
        self.value.take()
    }
}

impl<T: Serializable> std::ops::Deref for Tracked<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `value` is only taken by `commit` and `discard`, which consume the guard.
        self.value
            .as_ref()
            .unwrap_or_else(|| unreachable!("tracked value taken"))
    }
}

impl<T: Serializable> std::ops::DerefMut for Tracked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_mut()
            .unwrap_or_else(|| unreachable!("tracked value taken"))
    }
}

impl<T: Serializable> Drop for Tracked<'_, T> {
    fn drop(&mut self) {
        if self.value.is_some() {
            tracing::warn!(target: "dman::track", key = %self.key.name, "tracked value dropped without commit: changes not saved");
        }
    }
}
