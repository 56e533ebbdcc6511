//! The repository scenario suite (feature `testing`): save, load, track,
//! store and clean, with their options, on any backend.
//!
//! Every backend crate runs it with one call, giving a function that makes a
//! fresh, empty backend:
//!
//! ```no_run
//! # async fn demo() {
//! dman_core::scenarios::repository(|| -> std::sync::Arc<dyn dman_core::StorageBackend> {
//!     unimplemented!("a fresh backend")
//! })
//! .await;
//! # }
//! ```
//!
//! A failed scenario panics with a message naming it and the backend.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use crate::json::{Map, Value};
use crate::{
    DecodeContext, EncodeContext, Error, Key, MRuns, ObjectMeta, Record, Repo, RetouchChoice,
    RetouchPolicy, RetouchPolicyKind, Serializable, Storable, StorageBackend, StoragePath,
    StorageResult, Stored,
};

/// Runs every scenario, each on a backend fresh from `make`.
pub async fn repository<F>(mut make: F)
where
    F: FnMut() -> Arc<dyn StorageBackend>,
{
    save_and_load_paths(make()).await;
    missing_keys_and_defaults(make()).await;
    track_closure_and_guard(make()).await;
    store_and_load_stored(make()).await;
    clean_removes_everything(make()).await;
    gitignore_contents(make()).await;
    auto_clean_after_commit(make()).await;
    incremental_save(make()).await;
    retouch_policies(make()).await;
    fresh_values_over_a_key(make()).await;
    commit_order(make()).await;
    kill_points(&mut make).await;
}

// ---- test types --------------------------------------------------------------

/// A storable holding raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob(pub Vec<u8>);

impl Storable for Blob {
    const STO_TYPE: &'static str = "blob";
    const EXTENSION: &'static str = ".blob";
    fn to_stored(&self, _: &mut EncodeContext<'_>) -> crate::Result<Stored> {
        Ok(Stored::Bytes(Bytes::from(self.0.clone())))
    }
    fn from_stored(stored: Stored, _: &DecodeContext) -> crate::Result<Self> {
        Ok(Blob(stored.into_bytes().to_vec()))
    }
}

/// A storable JSON item with a name and a blob record, like the seed's run.
#[derive(Debug)]
pub struct Item {
    /// A plain field.
    pub name: String,
    /// A record of its own.
    pub blob: Record<Blob>,
}

impl Item {
    /// An item whose blob holds `name`'s bytes.
    pub fn new(name: &str) -> Self {
        Item {
            name: name.into(),
            blob: Record::new(Blob(name.as_bytes().to_vec())),
        }
    }
}

impl Serializable for Item {
    const SER_TYPE: Option<&'static str> = Some("item");
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> crate::Result<Value> {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("blob".into(), crate::serial::serialize(&self.blob, ctx)?);
        Ok(Value::Object(m))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> crate::Result<Self> {
        let field = |k: &str| {
            content
                .get(k)
                .ok_or_else(|| Error::decode(format!("missing field `{k}`")))
        };
        Ok(Item {
            name: String::from_content(field("name")?, ctx)?,
            blob: crate::serial::deserialize(field("blob")?, ctx)?,
        })
    }
}
crate::json_storable!(Item, "item");

fn runs() -> MRuns<Item> {
    MRuns::new().stem("run").subdir("results")
}

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).unwrap_or_else(|e| panic!("test path {s}: {e}"))
}

async fn files(store: &Arc<dyn StorageBackend>) -> BTreeSet<String> {
    store
        .list(&StoragePath::root())
        .await
        .unwrap_or_else(|e| panic!("list: {e}"))
        .into_iter()
        .map(|m| m.path.to_string())
        .collect()
}

async fn text(store: &Arc<dyn StorageBackend>, path: &str) -> String {
    let bytes = store
        .read(&p(path))
        .await
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

fn repo(store: Arc<dyn StorageBackend>) -> Repo {
    Repo::new(store).with_generator("cache/examples:suite")
}

async fn names(runs: &MRuns<Item>) -> Vec<String> {
    runs.contents()
        .await
        .unwrap_or_else(|e| panic!("contents: {e}"))
        .iter()
        .map(|i| i.name.clone())
        .collect()
}

// ---- scenarios -----------------------------------------------------------------

/// Keys land where Python puts them: clustered or not, with generator and
/// subdir, and load back equal.
pub async fn save_and_load_paths(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let value = vec![1i64, 1, 2, 3, 5, 8];
    repo.save("fib", &value).await.expect("save clustered");
    repo.save(Key::new("fib").cluster(false), &value)
        .await
        .expect("save flat");
    repo.save(Key::new("fib").generator("example"), &value)
        .await
        .expect("save generator");
    repo.save(Key::new("fib").subdir("sub/dir").cluster(false), &value)
        .await
        .expect("save subdir");
    let found = files(&store).await;
    for expected in [
        "cache/examples:suite/fib/fib.json",
        "cache/examples:suite/fib.json",
        "example/fib/fib.json",
        "cache/examples:suite/sub/dir/fib.json",
    ] {
        assert!(
            found.contains(expected),
            "{}: no {expected} in {found:?}",
            store.location()
        );
    }
    assert_eq!(
        text(&store, "cache/examples:suite/fib.json").await,
        "[\n    1,\n    1,\n    2,\n    3,\n    5,\n    8\n]"
    );
    let back: Vec<i64> = repo
        .load(Key::new("fib").generator("example"))
        .await
        .expect("load");
    assert_eq!(back, value);
    assert_eq!(
        repo.directory("fib").expect("dir"),
        p("cache/examples:suite/fib")
    );
    let base = repo.clone().with_base(p("elsewhere"));
    base.save("fib", &value).await.expect("save with base");
    assert!(store
        .exists(&p("elsewhere/cache/examples:suite/fib/fib.json"))
        .await
        .unwrap_or(false));
}

/// A missing key is a clear error naming its file, unless there is a default.
pub async fn missing_keys_and_defaults(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let err = repo
        .load::<Vec<i64>>("nothing")
        .await
        .expect_err("missing key");
    assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("cache/examples:suite/nothing/nothing.json"),
        "{err}"
    );
    let v: Vec<i64> = repo.load_or("nothing", || vec![7]).await.expect("default");
    assert_eq!(v, [7]);
    assert!(!repo.exists("nothing").await.expect("exists"));
    assert!(
        files(&store).await.is_empty(),
        "loading with a default writes nothing"
    );
}

/// `track` saves what the closure changed, and nothing when it fails; the
/// guard saves on commit only.
pub async fn track_closure_and_guard(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    for name in ["a", "b"] {
        repo.track("experiment", runs, async |r: &mut MRuns<Item>| {
            r.push(Item::new(name));
            Ok(())
        })
        .await
        .expect("track");
    }
    let failed = repo
        .track(
            "experiment",
            runs,
            async |r: &mut MRuns<Item>| -> crate::Result<()> {
                r.push(Item::new("never"));
                Err(Error::aborted("the experiment failed"))
            },
        )
        .await;
    assert!(failed.is_err());
    let loaded: MRuns<Item> = repo.load("experiment").await.expect("load");
    assert_eq!(names(&loaded).await, ["a", "b"]);
    assert_eq!(loaded.run_count(), 2);

    // Without `track`: load, change and save, the last writer winning.
    let mut plain = repo.load_or("experiment", runs).await.expect("load");
    plain.push(Item::new("c"));
    repo.save("experiment", &plain).await.expect("save");
    let mut unsaved = repo.load_or("experiment", runs).await.expect("load");
    unsaved.push(Item::new("dropped"));
    drop(unsaved);
    let loaded: MRuns<Item> = repo.load("experiment").await.expect("load");
    assert_eq!(names(&loaded).await, ["a", "b", "c"]);
}

/// `store` writes `<key><ext>` without a JSON file; `load_stored` reads it.
pub async fn store_and_load_stored(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let record = repo
        .store("weights", &Blob(vec![1, 2, 3]))
        .await
        .expect("store");
    // The record that points at the file, as Python's `store` returns it.
    assert_eq!(record.target().as_deref(), Some("weights.blob"));
    assert_eq!(
        record.path().map(|p| p.as_str().to_string()).as_deref(),
        Some("cache/examples:suite/weights.blob")
    );
    assert_eq!(record.get().await.expect("content"), &Blob(vec![1, 2, 3]));
    let found = files(&store).await;
    assert!(
        found.contains("cache/examples:suite/weights.blob"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|f| f.ends_with("weights.json")),
        "{found:?}"
    );
    let back: Blob = repo.load_stored("weights").await.expect("load_stored");
    assert_eq!(back, Blob(vec![1, 2, 3]));
    repo.store(Key::new("weights").cluster(true), &Blob(vec![4]))
        .await
        .expect("store clustered");
    assert!(files(&store)
        .await
        .contains("cache/examples:suite/weights/weights.blob"));
}

/// `clean` removes the key's file and every file its graph owns.
pub async fn clean_removes_everything(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let mut r = runs();
    r.push(Item::new("x"));
    r.push(Item::new("y"));
    repo.save("experiment", &r).await.expect("save");
    repo.save(Key::new("config").cluster(false), &vec![1i64])
        .await
        .expect("save config");
    let report = repo.clean("experiment").await.expect("clean");
    let deleted = &report.deleted;
    assert_eq!(deleted.len(), 5, "root, two items, two blobs: {deleted:?}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let left = files(&store).await;
    assert!(!left.iter().any(|f| f.contains("/experiment/")), "{left:?}");
    assert_eq!(
        text(&store, "cache/examples:suite/.gitignore").await,
        ".gitignore\nconfig.json",
        "the cleaned key leaves the .gitignore"
    );
    repo.clean(Key::new("config").cluster(false))
        .await
        .expect("clean flat");
    assert!(
        files(&store).await.is_empty(),
        "nothing left: {:?}",
        files(&store).await
    );
    assert!(repo
        .clean("experiment")
        .await
        .expect("clean again")
        .deleted
        .is_empty());
}

/// `.gitignore` files as Python writes them.
pub async fn gitignore_contents(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let mut r = runs();
    r.push(Item::new("x"));
    repo.save("experiment", &r).await.expect("save");
    assert_eq!(
        text(&store, "cache/examples:suite/.gitignore").await,
        ".gitignore\nexperiment"
    );
    let flat = vec![Record::new(Blob(vec![9])).name("w.blob")];
    repo.save(Key::new("config").cluster(false), &flat)
        .await
        .expect("save flat");
    assert_eq!(
        text(&store, "cache/examples:suite/.gitignore").await,
        ".gitignore\nconfig.json\nexperiment\nw.blob"
    );
    repo.save(Key::new("quiet").cluster(false).gitignore(false), &1i64)
        .await
        .expect("no gitignore");
    assert!(!text(&store, "cache/examples:suite/.gitignore")
        .await
        .contains("quiet"));
}

/// Removed items' files are deleted by the next save, after its commit.
pub async fn auto_clean_after_commit(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    let mut r = runs();
    for n in ["a", "b", "c"] {
        r.push(Item::new(n));
    }
    repo.save("experiment", &r).await.expect("save");
    assert_eq!(files(&store).await.len(), 8);
    let mut loaded: MRuns<Item> = repo.load("experiment").await.expect("load");
    let removed = loaded.remove(0).expect("remove");
    let gone = removed.path().expect("stored item has a path");
    assert!(
        store.exists(&gone).await.unwrap_or(false),
        "nothing is deleted before the save"
    );
    repo.save("experiment", &loaded)
        .await
        .expect("save after remove");
    assert!(
        !store.exists(&gone).await.unwrap_or(true),
        "{gone} deleted after the save"
    );
    assert_eq!(files(&store).await.len(), 6);
    loaded.push(Item::new("d"));
    repo.save("experiment", &loaded)
        .await
        .expect("save after push");
    let again: MRuns<Item> = repo.load("experiment").await.expect("load");
    assert_eq!(names(&again).await, ["b", "c", "d"]);
    assert_eq!(
        again.get(2).and_then(Record::target).as_deref(),
        Some("results/run-3/run.json")
    );
}

/// Appending to a saved list writes the new item and the root only.
pub async fn incremental_save(store: Arc<dyn StorageBackend>) {
    let counting = Arc::new(Counting::new(store.clone()));
    let repo = repo(counting.clone());
    let mut r = runs();
    for i in 0..20 {
        r.push(Item::new(&format!("item{i}")));
    }
    repo.save("experiment", &r).await.expect("save");
    counting.reset();
    repo.track("experiment", runs, async |r: &mut MRuns<Item>| {
        r.push(Item::new("new"));
        Ok(())
    })
    .await
    .expect("track");
    assert_eq!(
        counting.reads(),
        vec![
            p("cache/examples:suite/experiment/experiment.json"),
            p("cache/examples:suite/.gitignore")
        ]
    );
    assert_eq!(
        counting.writes.load(Ordering::SeqCst),
        3,
        "item, its blob and the root"
    );
}

/// Ignore overwrites (last wins), auto renames, quit fails and keeps the
/// previous version, prompt asks.
pub async fn retouch_policies(store: Arc<dyn StorageBackend>) {
    let twins = || {
        vec![
            Record::new(Blob(vec![1])).name("same.blob"),
            Record::new(Blob(vec![2])).name("same.blob"),
        ]
    };
    let base = repo(store.clone());
    base.save("twins", &twins()).await.expect("ignore");
    assert_eq!(
        store
            .read(&p("cache/examples:suite/twins/same.blob"))
            .await
            .map(|b| b.to_vec())
            .ok(),
        Some(vec![2])
    );
    let auto = base.clone().with_retouch(RetouchPolicy::Auto);
    let t = twins();
    auto.save("auto", &t).await.expect("auto");
    assert_eq!(t[1].target().as_deref(), Some("same0.blob"));
    let quit = base.clone().with_retouch(RetouchPolicy::Quit);
    let err = quit.save("twins", &twins()).await.expect_err("quit");
    assert!(
        matches!(
            &err,
            Error::Retouch {
                policy: RetouchPolicyKind::Quit,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("(retouch policy: quit)"), "{err}");
    let still: Vec<Record<Blob>> = base.load("twins").await.expect("previous version loads");
    assert_eq!(still[0].get().await.expect("blob"), &Blob(vec![2]));
    let asked = Arc::new(AtomicUsize::new(0));
    let seen = asked.clone();
    let prompt = base
        .clone()
        .with_retouch(RetouchPolicy::Prompt(Arc::new(move |_, _| {
            seen.fetch_add(1, Ordering::SeqCst);
            RetouchChoice::Rename("other.blob".into())
        })));
    let t = twins();
    prompt.save("prompt", &t).await.expect("prompt");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(t[1].target().as_deref(), Some("other.blob"));
}

/// A backend wrapper that records reads and counts writes.
#[derive(Debug)]
pub struct Counting {
    inner: Arc<dyn StorageBackend>,
    reads: Mutex<Vec<StoragePath>>,
    /// Writes since the last reset.
    pub writes: AtomicUsize,
}

impl Counting {
    /// Wraps a backend.
    pub fn new(inner: Arc<dyn StorageBackend>) -> Self {
        Counting {
            inner,
            reads: Mutex::new(Vec::new()),
            writes: AtomicUsize::new(0),
        }
    }

    /// The paths read since the last reset, in order.
    pub fn reads(&self) -> Vec<StoragePath> {
        self.reads.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Forgets the counts.
    pub fn reset(&self) {
        if let Ok(mut r) = self.reads.lock() {
            r.clear();
        }
        self.writes.store(0, Ordering::SeqCst);
    }
}

#[async_trait]
impl StorageBackend for Counting {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        if let Ok(mut r) = self.reads.lock() {
            r.push(path.clone());
        }
        self.inner.read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write(path, data).await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.inner.delete(path).await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.inner.exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.inner.list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        self.inner.flush().await
    }
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.inner.copy(from, to).await
    }
}

/// A fresh value saved over a saved key, its record at a fixed name: the
/// new content never overwrites the saved version's file before the
/// commit, and the old files go after it, so repeated saves leave exactly
/// one content file, holding the last value.
pub async fn fresh_values_over_a_key(store: Arc<dyn StorageBackend>) {
    let repo = repo(store.clone());
    for round in 0..4u8 {
        let value = Record::new(Blob(vec![round; 8])).stem("data");
        repo.save("fixed", &value)
            .await
            .unwrap_or_else(|e| panic!("fresh_values_over_a_key: save {round}: {e}"));
        let all = files(&store).await;
        let blobs: Vec<&String> = all.iter().filter(|f| f.ends_with(".blob")).collect();
        assert_eq!(
            blobs.len(),
            1,
            "fresh_values_over_a_key on {}: round {round} leaves {all:?}",
            store.location()
        );
        let loaded: Record<Blob> = repo
            .load("fixed")
            .await
            .unwrap_or_else(|e| panic!("fresh_values_over_a_key: load {round}: {e}"));
        let blob = loaded
            .get()
            .await
            .unwrap_or_else(|e| panic!("fresh_values_over_a_key: read {round}: {e}"));
        assert_eq!(blob, &Blob(vec![round; 8]));
    }
}

// ---- commit order ------------------------------------------------------------

/// One change a backend was asked to make, as [`OpLog`] saw it begin and
/// end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Write(StoragePath),
    Delete(StoragePath),
}

/// A backend wrapper that logs when each change (write, conditional write,
/// copy, delete) begins and when it returns, in one sequence: what the
/// commit order is checked against. (test-support's recorder logs only the
/// beginnings and cannot be used from dman-core's own modules.)
#[derive(Debug)]
struct OpLog {
    inner: Arc<dyn StorageBackend>,
    events: Mutex<Vec<(bool, Change)>>,
}

impl OpLog {
    fn new(inner: Arc<dyn StorageBackend>) -> Self {
        OpLog {
            inner,
            events: Mutex::new(Vec::new()),
        }
    }

    fn log(&self, end: bool, change: Change) {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((end, change));
    }

    async fn logged<T>(
        &self,
        change: Change,
        call: impl std::future::Future<Output = StorageResult<T>>,
    ) -> StorageResult<T> {
        self.log(false, change.clone());
        let result = call.await;
        self.log(true, change);
        result
    }

    /// The events so far, each `(returned, change)` (false: it began), and
    /// forgets them.
    fn take(&self) -> Vec<(bool, Change)> {
        std::mem::take(
            &mut *self
                .events
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

#[async_trait]
impl StorageBackend for OpLog {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.inner.read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.logged(Change::Write(path.clone()), self.inner.write(path, data))
            .await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.logged(Change::Delete(path.clone()), self.inner.delete(path))
            .await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.inner.exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.inner.list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        self.inner.flush().await
    }
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.logged(Change::Write(to.clone()), self.inner.copy(from, to))
            .await
    }
    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }
    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, crate::Version)> {
        self.inner.read_versioned(path).await
    }
    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &crate::WriteCondition,
    ) -> StorageResult<crate::Version> {
        self.logged(
            Change::Write(path.clone()),
            self.inner.write_if(path, data, condition),
        )
        .await
    }
}

/// The commit order, checked against a log of the backend's operations: a
/// save that adds a run, replaces one (a fixed-name `run.json` rewritten)
/// and another's blob, and removes a run writes every content file first
/// (each write returned), then the key's JSON, the root of the graph; the
/// deletions of the replaced and removed files begin only after the root
/// write returned. Only `.gitignore`, which says nothing about the graph,
/// may be written after the root.
pub async fn commit_order(store: Arc<dyn StorageBackend>) {
    let log = Arc::new(OpLog::new(store.clone()));
    let repo = repo(log.clone());
    let mut v1 = runs();
    for name in ["a", "b", "c"] {
        v1.push(Item::new(name));
    }
    repo.save("experiment", &v1)
        .await
        .unwrap_or_else(|e| panic!("commit_order: save version 1: {e}"));
    let before = files(&store).await;
    log.take();

    let mut v2: MRuns<Item> = repo
        .load("experiment")
        .await
        .unwrap_or_else(|e| panic!("commit_order: load version 1: {e}"));
    if let Some(run) = v2.get_mut(0) {
        run.get_mut()
            .await
            .unwrap_or_else(|e| panic!("commit_order: run 0: {e}"))
            .name = "a2".into();
    }
    if let Some(run) = v2.get_mut(1) {
        run.get_mut()
            .await
            .unwrap_or_else(|e| panic!("commit_order: run 1: {e}"))
            .blob
            .set(Blob(b"b2".to_vec()));
    }
    v2.remove(2);
    v2.push(Item::new("d"));
    repo.save("experiment", &v2)
        .await
        .unwrap_or_else(|e| panic!("commit_order: save version 2: {e}"));
    let events = log.take();
    let after = files(&store).await;
    let at = store.location();

    let root = p("cache/examples:suite/experiment/experiment.json");
    let is_root = |change: &Change| matches!(change, Change::Write(path) if *path == root);
    let root_begins = events
        .iter()
        .position(|(end, change)| !end && is_root(change))
        .unwrap_or_else(|| panic!("commit_order on {at}: the save never wrote {root}: {events:?}"));
    let root_ends = events
        .iter()
        .position(|(end, change)| *end && is_root(change))
        .unwrap_or_else(|| {
            panic!("commit_order on {at}: the root write never returned: {events:?}")
        });
    let mut content = 0;
    let mut deletes = 0;
    for (index, (end, change)) in events.iter().enumerate() {
        match change {
            Change::Write(path) if is_root(change) => {
                assert!(
                    index == root_begins || index == root_ends,
                    "commit_order on {at}: {path} written twice: {events:?}"
                );
            }
            Change::Write(path) if path.as_str().ends_with(".gitignore") => {}
            Change::Write(path) => {
                if *end {
                    content += 1;
                }
                assert!(
                    index < root_begins,
                    "commit_order on {at}: content file {path} written (or its write returned) at event {index}, after the root write began at {root_begins}: {events:?}"
                );
            }
            Change::Delete(path) => {
                if !end {
                    deletes += 1;
                }
                assert!(
                    index > root_ends,
                    "commit_order on {at}: {path} deleted at event {index}, before the root write returned at {root_ends}: {events:?}"
                );
                assert!(
                    before.contains(path.as_str()) && !after.contains(path.as_str()),
                    "commit_order on {at}: deleted {path}, which version 1 did not hold or version 2 still does"
                );
            }
        }
    }
    // Run 0's and run 1's JSON, run 1's blob, run 3's JSON and blob.
    assert!(
        content >= 5,
        "commit_order on {at}: version 2 wrote only {content} content files: {events:?}"
    );
    // Run 2's JSON and blob, run 1's old blob (and whatever replaced
    // run.json files left under old names).
    assert!(
        deletes >= 3,
        "commit_order on {at}: version 2 deleted only {deletes} files: {events:?}"
    );
    let names = names(
        &repo
            .load("experiment")
            .await
            .unwrap_or_else(|e| panic!("commit_order: load version 2: {e}")),
    )
    .await;
    assert_eq!(names, ["a2", "b", "d"], "commit_order on {at}: version 2");
}

// ---- kill points -------------------------------------------------------------

/// A backend that stops changing anything after `budget` changes (writes,
/// conditional writes, deletes, copies, flushes): what a process killed at
/// that point leaves behind. Reads go on, so the failed save runs to its
/// end as a killed one would not, but nothing it does lands.
#[derive(Debug)]
struct StopAfter {
    inner: Arc<dyn StorageBackend>,
    budget: AtomicUsize,
    changes: AtomicUsize,
}

impl StopAfter {
    fn new(inner: Arc<dyn StorageBackend>, budget: usize) -> Self {
        StopAfter {
            inner,
            budget: AtomicUsize::new(budget),
            changes: AtomicUsize::new(0),
        }
    }

    fn change(&self, path: &StoragePath, op: crate::Operation) -> StorageResult<()> {
        let allowed = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_ok();
        if allowed {
            self.changes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        } else {
            Err(crate::StorageError::failed(
                self.inner.location(),
                path,
                op,
                "killed here (test)",
            ))
        }
    }
}

#[async_trait]
impl StorageBackend for StopAfter {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.inner.read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.change(path, crate::Operation::Write)?;
        self.inner.write(path, data).await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.change(path, crate::Operation::Delete)?;
        self.inner.delete(path).await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.inner.exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.inner.list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        self.change(&StoragePath::root(), crate::Operation::Flush)?;
        self.inner.flush().await
    }
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.change(to, crate::Operation::Copy)?;
        self.inner.copy(from, to).await
    }
    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }
    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, crate::Version)> {
        self.inner.read_versioned(path).await
    }
    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &crate::WriteCondition,
    ) -> StorageResult<crate::Version> {
        self.change(path, crate::Operation::Write)?;
        self.inner.write_if(path, data, condition).await
    }
}

/// What a reader finds: each run's name and its blob's bytes, by content.
async fn snapshot(store: Arc<dyn StorageBackend>) -> Vec<(String, String)> {
    let runs: MRuns<Item> = repo(store)
        .load("experiment")
        .await
        .unwrap_or_else(|e| panic!("load after a kill: {e}"));
    let mut out = Vec::new();
    for (i, record) in runs.iter().enumerate() {
        let item = record
            .get()
            .await
            .unwrap_or_else(|e| panic!("run {i} after a kill: {e}"));
        let blob = item
            .blob
            .get()
            .await
            .unwrap_or_else(|e| panic!("run {i}'s blob after a kill: {e}"));
        out.push((
            item.name.clone(),
            String::from_utf8_lossy(&blob.0).into_owned(),
        ));
    }
    out
}

/// Version 2 of the experiment: run 0 renamed (its fixed-name file
/// `run-0/run.json` changes) and run 1's blob replaced (its file and
/// `run-1/run.json` change); saved through `store`.
async fn save_version_2(store: Arc<dyn StorageBackend>) -> crate::Result<()> {
    let repo = repo(store);
    let mut runs: MRuns<Item> = repo.load("experiment").await?;
    if let Some(r) = runs.get_mut(0) {
        r.get_mut().await?.name = "a2".into();
    }
    if let Some(r) = runs.get_mut(1) {
        r.get_mut().await?.blob.set(Blob(b"b2".to_vec()));
    }
    repo.save("experiment", &runs).await.map(drop)
}

/// A save that replaces files with fixed names (`run-N/run.json`), killed
/// after each of its changes in turn, from the first to the commit and the
/// deletions after it: every time, the key loads as entirely the old
/// version or entirely the new one, checked by content.
pub async fn kill_points<F>(make: &mut F)
where
    F: FnMut() -> Arc<dyn StorageBackend>,
{
    kill_points_inspected(make, |_, _| {}).await;
}

/// [`kill_points`], calling `inspect` with the store and the number of
/// changes made before the kill, after each killed save has been checked:
/// for checks of the leftovers (the `dman check` of a local folder).
pub async fn kill_points_inspected<F, I>(make: &mut F, mut inspect: I)
where
    F: FnMut() -> Arc<dyn StorageBackend>,
    I: FnMut(&Arc<dyn StorageBackend>, usize),
{
    let old = vec![("a".to_string(), "a".to_string()), ("b".into(), "b".into())];
    let new = vec![
        ("a2".to_string(), "a".to_string()),
        ("b".into(), "b2".into()),
    ];
    let fresh = |store: Arc<dyn StorageBackend>| async move {
        let mut v1 = runs();
        v1.push(Item::new("a"));
        v1.push(Item::new("b"));
        repo(store.clone())
            .save("experiment", &v1)
            .await
            .unwrap_or_else(|e| panic!("kill_points: save version 1: {e}"));
        store
    };

    // How many changes a whole save of version 2 makes.
    let store = fresh(make()).await;
    let counter = Arc::new(StopAfter::new(store.clone(), usize::MAX));
    save_version_2(counter.clone())
        .await
        .unwrap_or_else(|e| panic!("kill_points: save version 2: {e}"));
    assert_eq!(
        snapshot(store.clone()).await,
        new,
        "kill_points: version 2 itself"
    );
    let total = counter.changes.load(Ordering::SeqCst);
    assert!(
        total >= 4,
        "kill_points: a save of version 2 made only {total} changes"
    );

    for budget in 0..=total {
        let store = fresh(make()).await;
        let killed: Arc<dyn StorageBackend> = Arc::new(StopAfter::new(store.clone(), budget));
        let result = save_version_2(killed).await;
        let found = snapshot(store.clone()).await;
        assert!(
            found == old || found == new,
            "kill_points on {}: killed after {budget} of {total} changes, the key loads as {found:?}, neither {old:?} nor {new:?}",
            store.location()
        );
        if budget == total {
            assert!(
                result.is_ok(),
                "kill_points: the whole budget failed: {result:?}"
            );
            assert_eq!(found, new);
        }
        inspect(&store, budget);
    }
}
