//! The record graph against a backend, with hand-written impls (the derive
//! has its own tests): lazy records, incremental saves, auto-clean, moves,
//! retouch and hostile targets.

use std::sync::Arc;

use bytes::Bytes;
use dman_core::graph::{self, DEFAULT_CONCURRENCY};
use dman_core::json::{self, Map, Value};
use dman_core::{
    DecodeContext, EncodeContext, EncodeOptions, Error, MRuns, Record, RetouchPolicy,
    RetouchPolicyKind, Serializable, Storable, StorageBackend, StoragePath, Stored,
};
use dman_memory::MemoryBackend;
use dman_test_support::backend::Recorder;

#[derive(Debug, Clone, PartialEq)]
struct Blob(Vec<u8>);

impl Storable for Blob {
    const STO_TYPE: &'static str = "_num__barray";
    const EXTENSION: &'static str = ".npy";
    fn to_stored(&self, _: &mut EncodeContext<'_>) -> dman_core::Result<Stored> {
        Ok(Stored::Bytes(Bytes::from(self.0.clone())))
    }
    fn from_stored(stored: Stored, _: &DecodeContext) -> dman_core::Result<Self> {
        Ok(Blob(stored.into_bytes().to_vec()))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Config {
    seed: i64,
}

impl Serializable for Config {
    const SER_TYPE: Option<&'static str> = Some("config");
    fn to_content(&self, _: &mut EncodeContext<'_>) -> dman_core::Result<Value> {
        let mut m = Map::new();
        m.insert("seed".into(), Value::Int(self.seed));
        Ok(Value::Object(m))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> dman_core::Result<Self> {
        let seed = content
            .get("seed")
            .ok_or_else(|| Error::decode("missing seed"))?;
        Ok(Config {
            seed: i64::from_content(seed, ctx)?,
        })
    }
}

#[derive(Debug)]
struct Run {
    config: Config,
    data: Record<Blob>,
}

impl Serializable for Run {
    const SER_TYPE: Option<&'static str> = Some("run");
    fn to_content(&self, ctx: &mut EncodeContext<'_>) -> dman_core::Result<Value> {
        let mut m = Map::new();
        m.insert(
            "config".into(),
            dman_core::serial::serialize(&self.config, ctx)?,
        );
        m.insert(
            "data".into(),
            dman_core::serial::serialize(&self.data, ctx)?,
        );
        Ok(Value::Object(m))
    }
    fn from_content(content: &Value, ctx: &DecodeContext) -> dman_core::Result<Self> {
        let get = |k: &str| {
            content
                .get(k)
                .ok_or_else(|| Error::decode(format!("missing {k}")))
        };
        Ok(Run {
            config: dman_core::serial::deserialize(get("config")?, ctx)?,
            data: dman_core::serial::deserialize(get("data")?, ctx)?,
        })
    }
}
dman_core::json_storable!(Run, "run");

fn run(seed: i64) -> Run {
    Run {
        config: Config { seed },
        data: Record::new(Blob(vec![seed as u8; 16])),
    }
}

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).unwrap()
}

async fn save<T: Serializable>(
    store: &Arc<dyn StorageBackend>,
    path: &str,
    value: &T,
) -> graph::SaveReport {
    graph::save(
        value,
        store,
        &p(path),
        EncodeOptions::default(),
        DEFAULT_CONCURRENCY,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn runs_save_in_python_layout_and_load_lazily() {
    let mem = MemoryBackend::new();
    let counting = Recorder::new(Arc::new(mem.clone()));
    let store: Arc<dyn StorageBackend> = counting.clone();

    let mut runs = MRuns::new().stem("experiment").subdir("results");
    runs.push(run(1000));
    runs.push(run(1024));
    save(&store, "experiment/experiment.json", &runs).await;

    let root =
        json::from_slice(&mem.read(&p("experiment/experiment.json")).await.unwrap()).unwrap();
    let content = &root.get("_ser__content").unwrap();
    let keys: Vec<&str> = content
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["stem", "run_count", "store", "subdir"]);
    let first = &content.get("store").unwrap().as_array().unwrap()[0];
    assert_eq!(
        first
            .get("_ser__content")
            .unwrap()
            .get("target")
            .unwrap()
            .as_str(),
        Some("results/experiment-0/experiment.json")
    );
    let run0 = json::from_slice(
        &mem.read(&p("experiment/results/experiment-0/experiment.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let target = run0
        .get("data")
        .unwrap()
        .get("_ser__content")
        .unwrap()
        .get("target")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(
        target.ends_with(".npy") && target.len() == 40,
        "uuid4 name, got {target}"
    );

    counting.clear();
    let loaded: MRuns<Run> = graph::load(&store, &p("experiment/experiment.json"))
        .await
        .unwrap();
    assert_eq!(
        counting.reads_ending_with(".json").len(),
        1,
        "loading the list reads only its own file"
    );
    let seeds: Vec<i64> = loaded
        .contents()
        .await
        .unwrap()
        .iter()
        .map(|r| r.config.seed)
        .collect();
    assert_eq!(seeds, [1000, 1024]);
    assert_eq!(
        counting.reads_ending_with(".npy").len(),
        0,
        "comparing configs reads no array"
    );
    let data = loaded
        .get(1)
        .unwrap()
        .get()
        .await
        .unwrap()
        .data
        .get()
        .await
        .unwrap();
    assert_eq!(data, &Blob(vec![1024u16 as u8; 16]));
    assert_eq!(counting.reads_ending_with(".npy").len(), 1);
}

#[tokio::test]
async fn appending_writes_only_the_new_run() {
    let mem = MemoryBackend::new();
    let counting = Recorder::new(Arc::new(mem.clone()));
    let store: Arc<dyn StorageBackend> = counting.clone();
    let mut runs = MRuns::new().stem("experiment").subdir("results");
    for seed in 0..10 {
        runs.push(run(seed));
    }
    save(&store, "e/e.json", &runs).await;

    counting.clear();
    let mut loaded: MRuns<Run> = graph::load(&store, &p("e/e.json")).await.unwrap();
    loaded.push(run(99));
    let report = save(&store, "e/e.json", &loaded).await;
    assert_eq!(
        report.written.len(),
        3,
        "run json, its array, the root: {:?}",
        report.written
    );
    assert_eq!(report.kept, 10);
    assert_eq!(counting.reads_ending_with(".npy").len(), 0);
    assert_eq!(counting.reads().len(), 1, "only the root was read");

    // Saving the same in-memory value again writes only the root.
    let report = save(&store, "e/e.json", &loaded).await;
    assert_eq!(report.written, [p("e/e.json")]);
}

#[tokio::test]
async fn clearing_and_removing_clean_up_after_the_commit() {
    let mem = MemoryBackend::new();
    let store: Arc<dyn StorageBackend> = Arc::new(mem.clone());
    let mut runs = MRuns::new().stem("experiment").subdir("results");
    runs.push(run(1));
    runs.push(run(2));
    save(&store, "e/e.json", &runs).await;
    let before: Vec<String> = mem.paths().iter().map(|p| p.to_string()).collect();
    assert_eq!(before.len(), 5);

    let mut loaded: MRuns<Run> = graph::load(&store, &p("e/e.json")).await.unwrap();
    loaded.clear();
    loaded.push(run(3));
    let report = save(&store, "e/e.json", &loaded).await;
    // The new run 0 is not written over the old one (the committed version
    // still points at it until the commit): it takes the next free name in
    // its folder, and all four old files go after the commit.
    assert_eq!(report.deleted.len(), 4, "{:?}", report.deleted);
    let after = mem.paths();
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(
        after.contains(&p("e/results/experiment-0/experiment0.json")),
        "{after:?}"
    );
    let again: MRuns<Run> = graph::load(&store, &p("e/e.json")).await.unwrap();
    assert_eq!(again.run_count(), 1);
    let r = again.get(0).unwrap().get().await.unwrap();
    assert_eq!(r.config.seed, 3);
    assert_eq!(r.data.get().await.unwrap(), &Blob(vec![3; 16]));

    // Removing with auto-clean off leaves the files.
    let mut loaded: MRuns<Run> = graph::load(&store, &p("e/e.json")).await.unwrap();
    loaded.remove(0);
    let options = EncodeOptions {
        auto_clean: false,
        ..EncodeOptions::default()
    };
    graph::save(&loaded, &store, &p("e/e.json"), options, 4)
        .await
        .unwrap();
    assert_eq!(mem.paths().len(), 3);
}

#[tokio::test]
async fn a_moved_graph_copies_its_files() {
    let mem = MemoryBackend::new();
    let store: Arc<dyn StorageBackend> = Arc::new(mem.clone());
    let mut runs = MRuns::new().stem("r");
    runs.push(run(7));
    save(&store, "a/a.json", &runs).await;
    let loaded: MRuns<Run> = graph::load(&store, &p("a/a.json")).await.unwrap();
    let report = save(&store, "b/b.json", &loaded).await;
    assert_eq!(
        report.copied.len(),
        2,
        "the run file and its array: {:?}",
        report.copied
    );
    let moved: MRuns<Run> = graph::load(&store, &p("b/b.json")).await.unwrap();
    let r = moved.get(0).unwrap().get().await.unwrap();
    assert_eq!(r.data.get().await.unwrap(), &Blob(vec![7; 16]));
    assert!(r.data.path().unwrap().starts_with(&p("b")));
}

#[tokio::test]
async fn a_missing_content_file_fails_on_access_only() {
    let mem = MemoryBackend::new();
    let store: Arc<dyn StorageBackend> = Arc::new(mem.clone());
    let mut runs = MRuns::new();
    runs.push(run(1));
    runs.push(run(2));
    save(&store, "k/k.json", &runs).await;
    let loaded: MRuns<Run> = graph::load(&store, &p("k/k.json")).await.unwrap();
    let victim = loaded
        .get(0)
        .unwrap()
        .get()
        .await
        .unwrap()
        .data
        .target()
        .unwrap();
    mem.delete(&p(&format!("k/run-0/{victim}"))).await.unwrap();

    let loaded: MRuns<Run> = graph::load(&store, &p("k/k.json")).await.unwrap();
    let first = loaded.get(0).unwrap().get().await.unwrap();
    let err = first.data.get().await.unwrap_err();
    assert!(err.is_not_found());
    assert!(err.to_string().contains(&victim), "{err}");
    let second = loaded.get(1).unwrap().get().await.unwrap();
    assert_eq!(second.data.get().await.unwrap(), &Blob(vec![2; 16]));
}

#[tokio::test]
async fn hostile_targets_are_refused_on_access() {
    let mem = MemoryBackend::new();
    let store: Arc<dyn StorageBackend> = Arc::new(mem.clone());
    for target in ["../../outside.npy", "/etc/passwd.npy", "a\\\\b.npy"] {
        let doc = format!(
            r#"{{"_ser__type": "_ser__record", "_ser__content": {{"target": "{target}", "sto_type": "_num__barray"}}}}"#
        );
        mem.write(&p("x/x.json"), Bytes::from(doc)).await.unwrap();
        let rec: Record<Blob> = graph::load(&store, &p("x/x.json")).await.unwrap();
        let err = rec.get().await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{target}: {err}");
    }
}

#[tokio::test]
async fn typed_loads_report_where_the_document_is_wrong() {
    let mem = MemoryBackend::new();
    let store: Arc<dyn StorageBackend> = Arc::new(mem.clone());
    let cases = [
        (
            r#"{"_ser__type": "config", "_ser__content": {"seed": "x"}}"#,
            "expected int",
        ),
        (
            r#"{"_ser__type": "run", "_ser__content": {}}"#,
            "expected `config`",
        ),
        (
            r#"{"_ser__type": "__unserializable", "_ser__content": {"type": "Foo", "info": "nope"}}"#,
            "invalid marker `__unserializable`",
        ),
        (
            r#"{"_ser__type": "config", "_ser__content": {"seed": 1"#,
            "invalid JSON",
        ),
    ];
    for (doc, expected) in cases {
        mem.write(&p("c/c.json"), Bytes::from(doc)).await.unwrap();
        let err = graph::load::<Config>(&store, &p("c/c.json"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(expected) && msg.contains("c/c.json"),
            "{doc}: {msg}"
        );
    }
}

#[tokio::test]
async fn retouch_policies() {
    let store: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let twins = vec![
        Record::new(Blob(vec![1])).name("same.npy"),
        Record::new(Blob(vec![2])).name("same.npy"),
    ];
    let options = |retouch| EncodeOptions {
        retouch,
        ..EncodeOptions::default()
    };
    let err = graph::save(
        &twins,
        &store,
        &p("t/t.json"),
        options(RetouchPolicy::Quit),
        4,
    )
    .await
    .unwrap_err();
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

    let twins = vec![
        Record::new(Blob(vec![1])).name("same.npy"),
        Record::new(Blob(vec![2])).name("same.npy"),
    ];
    graph::save(
        &twins,
        &store,
        &p("t/t.json"),
        options(RetouchPolicy::Auto),
        4,
    )
    .await
    .unwrap();
    let targets: Vec<_> = twins.iter().map(|r| r.target().unwrap()).collect();
    assert_eq!(targets, ["same.npy", "same0.npy"]);
}

/// The places the untyped walks report stay short on a document of long
/// keys nested deep. Found with the `graph` fuzz target's limits
/// (fuzz/regressions/graph/): each level of the walks kept a string of the
/// whole path above it, so a 1 MB document of 1000 levels of 1000-byte
/// keys cost about a gigabyte and, with ASan, 74 s per walk instead of one.
#[tokio::test]
async fn walks_of_long_keys_nested_deep_report_short_places() {
    let key = "k".repeat(1000);
    let mut text = String::from(
        r#"[{"_ser__type": "_ser__record", "_ser__content": {"target": "a.npy", "sto_type": "_num__barray"}}, {"_ser__type": "__no_file", "_ser__content": {}}]"#,
    );
    for _ in 0..1000 {
        text = format!("{{\"{key}\": {text}}}");
    }
    let store: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    store
        .write(&p("deep.json"), Bytes::from(text))
        .await
        .expect("write");
    let doc = graph::Document::open(store, p("deep.json"))
        .await
        .expect("a document within the nesting limit");
    let records = doc.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].target, "a.npy");
    let markers = doc.invalid_markers();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].marker, "__no_file");
    for (at, end) in [(&records[0].at, "[0]"), (&markers[0].at, "[1]")] {
        assert!(at.len() < 1100, "a place of {} bytes", at.len());
        assert!(
            at.starts_with('…') && at.ends_with(&format!("{key}{end}")),
            "{at:.40}"
        );
    }
    // Places under the bound are whole.
    let shallow = json::from_str(&format!(
        "{{\"{key}\": {{\"b\": [1, {{\"target\": \"x.npy\", \"sto_type\": \"t\"}}]}}}}"
    ))
    .expect("json");
    assert_eq!(graph::records(&shallow)[0].at, format!("{key}.b[1]"));
}
