//! The repository: where keys live, and the five operations on them
//! (`save`, `load`, `track`, `store`, `clean`), on any backend.
//!
//! A key's JSON file is `<base>/<generator>/<subdir>/<key>/<key>.json` when
//! clustered (the default for save, load and track) and
//! `<base>/<generator>/<subdir>/<key>.json` when not (the default for
//! store), as in Python dman. After each operation the `.gitignore` files
//! are kept as Python keeps them: a clustered key's folder is listed in its
//! parent's `.gitignore`, otherwise the files written are listed beside them.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use tracing::Instrument;

use crate::context::{EncodeOptions, RetouchPolicy};
use crate::error::{Error, FileRef, Result};
use crate::graph::{self, SaveReport, DEFAULT_CONCURRENCY};
use crate::json;
use crate::path::StoragePath;
use crate::record::Record;
use crate::serial::Serializable;
use crate::storable::Storable;
use crate::storage::{StorageBackend, StorageError, Version, WriteCondition};
use crate::tree::TreeOptions;

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

/// A record graph repository over any backend: keys saved, loaded,
/// tracked (load, change, save as one transaction) and cleaned, in Python
/// dman's layout (`<base>/<generator>/<key>/<key>.json`).
///
/// Every operation is an `async fn`; `dman::blocking::Repo` runs the same
/// for plain `fn main()` programs.
///
/// ```
/// use std::sync::Arc;
/// use dman_core::{MRuns, Modelclass, Repo};
///
/// #[derive(Modelclass, Debug, Clone, PartialEq)]
/// #[dman(name = "run", storable)]
/// struct Run { seed: u64, loss: f64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dman_core::Result<()> {
/// let repo = Repo::new(Arc::new(dman_memory::MemoryBackend::new())).with_generator("demo");
///
/// // Add a run unless one with that seed is saved: safe with other writers,
/// // whose runs are loaded before the closure (again) runs.
/// let added = repo
///     .track("experiment", MRuns::<Run>::new, async |runs| {
///         if runs.contents().await?.iter().any(|r| r.seed == 7) {
///             return Ok(false);
///         }
///         runs.push(Run { seed: 7, loss: 0.25 });
///         Ok(true)
///     })
///     .await?;
/// assert!(added);
///
/// let runs: MRuns<Run> = repo.load("experiment").await?;
/// assert_eq!(runs.contents().await?[0].loss, 0.25);
/// assert_eq!(repo.directory("experiment")?.as_str(), "demo/experiment");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Repo {
    store: Arc<dyn StorageBackend>,
    base: StoragePath,
    generator: String,
    concurrency: usize,
    attempts: u32,
    encode: EncodeOptions,
}

/// How many attempts a transaction makes by default.
const DEFAULT_ATTEMPTS: u32 = 32;

/// How many names a plain save tries for a content file whose name turns
/// out to be taken.
const CONTENT_ATTEMPTS: u32 = 16;

/// When [`Repo::save_if`] may commit the key's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveCondition {
    /// Always: the last writer wins (Python's behaviour).
    Always,
    /// Only if the key is not saved yet.
    Absent,
    /// Only if the key's file is still at this version (from
    /// [`Repo::load_versioned`] or a [`SaveReport::version`]).
    Unchanged(Version),
}

impl SaveCondition {
    fn into_write_condition(self) -> Option<WriteCondition> {
        match self {
            SaveCondition::Always => None,
            SaveCondition::Absent => Some(WriteCondition::Create),
            SaveCondition::Unchanged(v) => Some(WriteCondition::Match(v)),
        }
    }
}

/// A loaded value with the version of the key's file it came from.
#[derive(Debug)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The version of the key's file, `None` on a backend without versions.
    pub version: Option<Version>,
}

/// One [`Repo::track`] in progress: [`Transaction::load`] the value,
/// change it, [`Transaction::commit`] it; when the commit says `false`,
/// another writer committed first: load again and redo the change.
#[derive(Debug)]
pub struct Transaction {
    key: Key,
    loc: KeyLocation,
    options: EncodeOptions,
    avoid: HashSet<StoragePath>,
    attempt: u32,
    condition: SaveCondition,
}

impl Transaction {
    /// Starts an attempt: loads the key (or `default()` when it is not
    /// saved) and remembers the version to commit against. Fails with
    /// [`Error::Conflict`] once the repository's attempts are used up.
    pub async fn load<T: Serializable>(
        &mut self,
        repo: &Repo,
        default: impl FnOnce() -> T,
    ) -> Result<T> {
        if self.attempt >= repo.attempts {
            return Err(repo.conflict(&self.key, &self.loc, self.attempt));
        }
        if self.attempt > 0 {
            backoff(self.attempt).await;
        }
        self.attempt += 1;
        if !repo.store.supports_conditional_writes() {
            // No versions to commit against: one attempt, last writer wins.
            self.condition = SaveCondition::Always;
            return repo.load_or(&self.key, default).await;
        }
        match repo.load_versioned(&self.key).await {
            Ok(Versioned { value, version }) => {
                self.condition = version.map_or(SaveCondition::Always, SaveCondition::Unchanged);
                Ok(value)
            }
            Err(Error::KeyNotFound { .. }) => {
                self.condition = SaveCondition::Absent;
                Ok(default())
            }
            Err(e) => Err(e),
        }
    }

    /// Commits the changed value if no other writer committed the key since
    /// [`Transaction::load`]: `Ok(true)`. `Ok(false)`: one did, nothing was
    /// saved (this attempt's files are deleted again); load and redo.
    pub async fn commit<T: Serializable>(&mut self, repo: &Repo, value: &T) -> Result<bool> {
        match repo
            .commit(
                &self.key,
                &self.loc,
                value,
                &self.options,
                self.condition.clone(),
                None,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Storage(StorageError::Conflict { path, .. })) => {
                tracing::debug!(target: "dman::track", key = %self.key.name, file = %path, attempt = self.attempt, "conflict, trying again");
                if is_content_conflict(&path, &self.loc, &repo.store) {
                    // A content file's name is taken: the next attempt
                    // takes another.
                    self.avoid.insert(path);
                    self.options.avoid = Arc::new(self.avoid.clone());
                }
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// How many attempts were started.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// Whether a conflict is about a content file whose name was taken (and
/// another name may do), rather than about the key itself.
fn is_content_conflict(
    path: &StoragePath,
    loc: &KeyLocation,
    store: &Arc<dyn StorageBackend>,
) -> bool {
    store.supports_conditional_writes() && !path.is_root() && path != &loc.file
}

/// Waits before a transaction's next attempt: exponential in the attempt,
/// 5 ms to about 1 s, with full jitter so that the writers that collided
/// spread out. (The randomness comes from a uuid, to need no other crate.)
async fn backoff(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(8);
    let jitter = (uuid::Uuid::new_v4().as_u128() as u64) % ceiling_ms.max(1);
    tokio::time::sleep(std::time::Duration::from_millis(jitter + 1)).await;
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
            attempts: DEFAULT_ATTEMPTS,
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

    /// How many times [`Repo::track`] tries a transaction that meets
    /// conflicting writers before it gives up (default 32, at least 1).
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
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

    /// The base folder keys are under (Python's `get_root_path`, within
    /// the backend; see [`Repo::with_base`]).
    pub fn base(&self) -> &StoragePath {
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
            return Err(Error::InvalidKey {
                key: key.name.clone(),
                reason: "a key must be a plain file name".into(),
            });
        }
        Ok(KeyLocation { dir, file, cluster })
    }

    /// The tree of a key's folder ([`Repo::directory`]), as Python's
    /// `tui.walk_directory(dman.get_directory(key))` prints it: every file
    /// with its size and, with [`TreeOptions::content`], each JSON or text
    /// file's content in a box.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use dman_core::{Repo, tree::TreeOptions};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dman_core::Result<()> {
    /// let repo = Repo::new(Arc::new(dman_memory::MemoryBackend::new())).with_generator("demo");
    /// repo.save("numbers", &vec![1i64, 2, 3]).await?;
    /// let tree = repo.tree("numbers", &TreeOptions::default()).await?;
    /// assert_eq!(tree, "📂 .dman/demo/numbers\n┗━━ 📄 numbers.json (23 bytes)\n");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tree(&self, key: impl Into<Key>, options: &TreeOptions) -> Result<String> {
        let folder = self.directory(key)?;
        self.tree_at(&folder, options).await
    }

    /// The tree of any folder of the backend (its root is
    /// `StoragePath::root()`, the repository's base is [`Repo::base`]),
    /// titled as Python titles it with `normalize=True`: the folder's path
    /// below `.dman`, the backend's root.
    pub async fn tree_at(&self, folder: &StoragePath, options: &TreeOptions) -> Result<String> {
        let title = if folder.is_root() {
            ".dman".to_string()
        } else {
            format!(".dman/{folder}")
        };
        crate::tree::render(&self.store, folder, &title, options).await
    }

    /// The folder of a key's files (Python's `get_directory`), clustered
    /// unless the key says otherwise.
    pub fn directory(&self, key: impl Into<Key>) -> Result<StoragePath> {
        Ok(self.locate(&key.into(), ".json", true)?.dir)
    }

    /// Saves a serializable value under `key` (clustered by default). A
    /// storable is saved by wrapping it: `repo.save(key, &Record::new(value))`.
    ///
    /// The last writer wins, as in Python: a concurrent save of the same
    /// key by another process may replace this one. For a save that fails
    /// instead, see [`Repo::save_if`]; for read-modify-write, [`Repo::track`].
    pub async fn save<T: Serializable>(
        &self,
        key: impl Into<Key>,
        value: &T,
    ) -> Result<SaveReport> {
        self.save_if(key, value, SaveCondition::Always).await
    }

    /// Saves `value` under `key` if `condition` holds when the key's file
    /// is written (the commit point); otherwise nothing is saved and the
    /// error is [`Error::Conflict`]. Of several processes saving one key
    /// with the same condition, exactly one wins.
    ///
    /// Conditions other than [`SaveCondition::Always`] need a backend with
    /// conditional writes (local folder, S3, memory); elsewhere they fail
    /// with [`StorageError::Unsupported`].
    pub async fn save_if<T: Serializable>(
        &self,
        key: impl Into<Key>,
        value: &T,
        condition: SaveCondition,
    ) -> Result<SaveReport> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        let span = tracing::debug_span!("save", key = %key.name, file = %loc.file);
        async {
            let mut options = self.encode.clone();
            let mut previous = None;
            let mut avoid = HashSet::new();
            for attempt in 1..=CONTENT_ATTEMPTS {
                let attempted = self
                    .commit(&key, &loc, value, &options, condition.clone(), Some(&mut previous))
                    .await;
                if let Some(previous) = &previous {
                    options.previous = previous.clone();
                }
                match attempted {
                    Err(Error::Storage(StorageError::Conflict { path, .. }))
                        if is_content_conflict(&path, &loc, &self.store)
                            && attempt < CONTENT_ATTEMPTS =>
                    {
                        // A content file's name is taken (by a concurrent
                        // writer, or left by a killed one): take another.
                        tracing::debug!(target: "dman::save", file = %path, "content name taken, choosing another");
                        avoid.insert(path);
                        options.avoid = Arc::new(avoid.clone());

                    }
                    Err(Error::Storage(StorageError::Conflict { .. })) => {
                        return Err(self.conflict(&key, &loc, attempt))
                    }
                    other => return other,
                }
            }
            Err(self.conflict(&key, &loc, CONTENT_ATTEMPTS))
        }
        .instrument(span)
        .await
    }

    /// One attempt at saving: encode, write, commit under `condition`.
    ///
    /// With `previous`, a save that writes content files first learns the
    /// files the saved version points at (once, kept in `previous`): a
    /// fresh value saved over the key does not know them, and replaces
    /// them, so those it drops are deleted after the commit (Python
    /// overwrites files of the same names in place and leaves the others
    /// behind). A save that writes no content (an untouched value) reads
    /// nothing.
    async fn commit<T: Serializable>(
        &self,
        key: &Key,
        loc: &KeyLocation,
        value: &T,
        options: &EncodeOptions,
        condition: SaveCondition,
        previous: Option<&mut Option<Arc<HashSet<StoragePath>>>>,
    ) -> Result<SaveReport> {
        let (doc, mut plan) = graph::encode(value, &self.store, &loc.file, options.clone())?;
        if let Some(previous) = previous {
            if !plan.writes.is_empty() || !plan.copies.is_empty() {
                let known = match previous {
                    Some(known) => known.clone(),
                    None => previous
                        .insert(Arc::new(self.saved_files(loc).await?))
                        .clone(),
                };
                plan.set_previous(known);
            }
        }
        let root = Bytes::from(json::to_string_pretty(&doc).into_bytes());
        let mut report = match condition.into_write_condition() {
            None => graph::execute(plan, &loc.file, root, self.concurrency).await?,
            Some(c) => graph::execute_if(plan, &loc.file, root, c, self.concurrency).await?,
        };
        if key.gitignore {
            self.update_gitignore(key, loc, &mut report).await;
        }
        Ok(report)
    }

    /// The files the saved version of a key points at directly (none when
    /// the key is not saved, or its file is not valid JSON); one read of
    /// the key's file. Those the new version drops are followed after the
    /// commit, to delete what they own in turn.
    async fn saved_files(&self, loc: &KeyLocation) -> Result<HashSet<StoragePath>> {
        let doc = match graph::read_json(&self.store, &loc.file).await {
            Ok(doc) => doc,
            Err(Error::Storage(e)) if e.is_not_found() => return Ok(HashSet::new()),
            Err(Error::Json { .. }) => return Ok(HashSet::new()),
            Err(e) => return Err(e),
        };
        let dir = loc.file.dir();
        Ok(graph::records(&doc)
            .into_iter()
            .filter_map(|r| dir.join(&r.target).ok())
            .collect())
    }

    fn conflict(&self, key: &Key, loc: &KeyLocation, attempts: u32) -> Error {
        Error::Conflict {
            key: key.name.clone(),
            file: FileRef::in_store(self.store.as_ref(), &loc.file),
            attempts,
        }
    }

    /// Loads the value saved under `key` with the version of its file, for
    /// a later [`Repo::save_if`] with [`SaveCondition::Unchanged`]. The
    /// version is `None` on a backend without versions.
    pub async fn load_versioned<T: Serializable>(
        &self,
        key: impl Into<Key>,
    ) -> Result<Versioned<T>> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        let read = if self.store.supports_conditional_writes() {
            self.store
                .read_versioned(&loc.file)
                .await
                .map(|(bytes, version)| (bytes, Some(version)))
        } else {
            self.store.read(&loc.file).await.map(|bytes| (bytes, None))
        };
        let (bytes, version) = match read {
            Ok(read) => read,
            Err(e) if e.is_not_found() => {
                return Err(Error::KeyNotFound {
                    file: FileRef::in_store(self.store.as_ref(), &loc.file),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let doc = json::from_slice(&bytes).map_err(|source| Error::Json {
            file: FileRef::in_store(self.store.as_ref(), &loc.file),
            source,
        })?;
        let value = graph::decode(&doc, &self.store, &loc.file).await?;
        Ok(Versioned { value, version })
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
                    file: FileRef::in_store(self.store.as_ref(), &loc.file),
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
            Err(Error::KeyNotFound { file }) => {
                tracing::debug!(target: "dman::load", file = %file.path, "file not available, using default");
                Ok(default())
            }
            other => other,
        }
    }

    /// Loads `key` (or `default()`), lets `f` change it, and saves it, as
    /// one transaction: many processes may track one key at once, and no
    /// change is lost.
    ///
    /// On a backend with conditional writes (local folder, S3, memory) the
    /// key's file is committed only if no other writer committed since it
    /// was loaded (or, for a new key, only if it is still absent). When
    /// another did, the content files of this attempt are deleted, the key
    /// is loaded again and **`f` runs again** on the fresh value, after a
    /// short random pause, up to [`Repo::with_attempts`] times (default
    /// 32); then the error is [`Error::Conflict`], naming the key and the
    /// number of attempts. So `f` should do nothing but change the value
    /// (it may run more than once, each time on the latest saved version).
    /// Where the backend has no conditional writes (a zip archive), one
    /// attempt is made and the last writer wins.
    ///
    /// When `f` returns an error nothing is saved: the stored version stays
    /// as it was, and the error is returned.
    pub async fn track<T, R, F>(
        &self,
        key: impl Into<Key>,
        mut default: impl FnMut() -> T,
        mut f: F,
    ) -> Result<R>
    where
        T: Serializable,
        F: AsyncFnMut(&mut T) -> Result<R>,
    {
        let mut tx = self.transaction(key)?;
        loop {
            let mut value = tx.load(self, &mut default).await?;
            let out = f(&mut value).await?;
            if tx.commit(self, &value).await? {
                return Ok(out);
            }
        }
    }

    /// The steps of [`Repo::track`], for callers that run the change
    /// themselves (the blocking API runs it outside the runtime).
    pub fn transaction(&self, key: impl Into<Key>) -> Result<Transaction> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        Ok(Transaction {
            key,
            loc,
            options: self.encode.clone(),
            avoid: HashSet::new(),
            attempt: 0,
            condition: SaveCondition::Always,
        })
    }

    /// Stores a storable straight to `<key><ext>` (not clustered by
    /// default), without a JSON file of its own. Returns the record that
    /// points at it, as Python's `store` does.
    pub async fn store<T: Storable + Clone>(
        &self,
        key: impl Into<Key>,
        value: &T,
    ) -> Result<Record<T>> {
        let key = key.into();
        let loc = self.locate(&key, T::EXTENSION, false)?;
        let record = Record::new(value.clone()).stem(key.name.clone());
        let (_, plan) = graph::encode(&record, &self.store, &loc.file, self.encode.clone())?;
        let mut report = graph::execute_without_root(plan, self.concurrency).await?;
        if key.gitignore {
            self.update_gitignore(&key, &loc, &mut report).await;
        }
        for warning in &report.warnings {
            tracing::warn!(target: "dman::store", key = %key.name, "{warning}");
        }
        Ok(record)
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

    /// Removes a key's file and every file its graph owns inside the key's
    /// own folder, then tidies the `.gitignore` files (folders left empty
    /// disappear with their last file). A record target that leads outside
    /// the key's folder (`../other/x.npy`) is reported in
    /// [`SaveReport::warnings`], never deleted. A key that is not saved
    /// deletes nothing.
    ///
    /// The files are deleted before the key's own file, so that a clean
    /// that stops half-way leaves a key that `dman check` reports (missing
    /// targets) rather than files nothing points at.
    pub async fn clean(&self, key: impl Into<Key>) -> Result<SaveReport> {
        let key = key.into();
        let loc = self.locate(&key, ".json", true)?;
        let mut report = SaveReport::default();
        if !self.store.exists(&loc.file).await? {
            return Ok(report);
        }
        let files = graph::owned_files(&self.store, &loc.file).await?;
        let folder = loc.file.dir();
        graph::delete_inside(&self.store, &folder, files, &mut report).await;
        graph::delete_inside(&self.store, &folder, [loc.file.clone()], &mut report).await;
        tracing::debug!(target: "dman::clean", key = %key.name, deleted = report.deleted.len(), "cleaned");
        if key.gitignore {
            let (dir, names) = if loc.cluster {
                (loc.dir.parent(), vec![key.name.clone()])
            } else {
                let name = loc.file.file_name().unwrap_or_default().to_string();
                (Some(loc.dir.clone()), vec![name])
            };
            if let Some(dir) = dir {
                if let Err(err) = self.gitignore(&dir, &[], &names).await {
                    report.warnings.push(gitignore_warning(&dir, &err));
                }
            }
        }
        self.store.flush().await?;
        Ok(report)
    }

    /// Updates the `.gitignore` files after a commit; a failure becomes a
    /// warning of the save, which has happened.
    async fn update_gitignore(
        &self,
        key: &Key,
        loc: &crate::repo::KeyLocation,
        report: &mut SaveReport,
    ) {
        let dir = if loc.cluster {
            loc.dir.parent()
        } else {
            Some(loc.dir.clone())
        };
        if let Err(err) = self.gitignore_for(key, loc, report).await {
            let dir = dir.unwrap_or_else(StoragePath::root);
            tracing::info!(target: "dman::save", key = %key.name, "{err}");
            report.warnings.push(gitignore_warning(&dir, &err));
        }
    }

    async fn gitignore_for(
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

/// The warning for a `.gitignore` of `dir` that could not be updated.
fn gitignore_warning(dir: &StoragePath, err: &Error) -> graph::Warning {
    graph::Warning::Gitignore {
        file: dir.join(".gitignore").unwrap_or_else(|_| dir.clone()),
        reason: err.to_string(),
    }
}
