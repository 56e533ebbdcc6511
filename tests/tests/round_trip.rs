//! Saving what was loaded: a reference tree loaded and saved untouched
//! rewrites only its key file, with the same bytes; a tree written by
//! dman-rs comes back byte for byte; arbitrary nested values and
//! modelclasses survive a save and a load.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use dman::core::json::{self, Map, Value};
use dman::{MList, MemoryBackend, Modelclass, Record, Repo, StorageBackend, StoragePath};
use dman_test_support::backend::Recorder;
use dman_tests::fixture::{self, Scenario};
use dman_tests::norm::{self, Normalize};
use dman_tests::refmodel::Person;
use dman_tests::scenarios::{self, WRITTEN};
use proptest::prelude::*;

/// The scenarios whose typed load fails by design (Python's failure paths
/// in place of values, and a 70-bit integer).
const DO_NOT_LOAD: &[&str] = &[
    "json_bigint",
    "invalid_unserializable",
    "invalid_exc_unserializable",
    "invalid_undeserializable",
    "invalid_exc_undeserializable",
];

/// Loads `sc` and saves it back untouched through a recorder: only the
/// key's own file is written, with the bytes it had, nothing is deleted and
/// no content file is read.
async fn save_back_untouched(store: Arc<dyn StorageBackend>, sc: &Scenario, backend: &str) {
    let root = sc.root_file();
    let before = store.read(&root).await.expect("root file");
    let rec = Recorder::new(store.clone());
    let repo = fixture::repo(rec.clone());
    let loaded = scenarios::load(&repo, sc)
        .await
        .unwrap_or_else(|e| panic!("{} ({backend}): {e}", sc.name));
    rec.clear();
    loaded
        .save_back(&repo, sc)
        .await
        .unwrap_or_else(|e| panic!("{} ({backend}): save: {e}", sc.name));

    assert_eq!(
        rec.writes(),
        vec![root.clone()],
        "{} ({backend}): an untouched save writes only the key file",
        sc.name
    );
    assert!(
        rec.deletes().is_empty(),
        "{} ({backend}): deleted {:?}",
        sc.name,
        rec.deletes()
    );
    let content_reads: Vec<_> = rec
        .reads()
        .into_iter()
        .filter(|p| p.file_name() != Some(".gitignore"))
        .collect();
    assert!(
        content_reads.is_empty(),
        "{} ({backend}): an untouched save read {content_reads:?}",
        sc.name
    );
    let after = store.read(&root).await.expect("root file");
    if sc.file.ends_with(".json") {
        let (a, b) = (
            json::from_slice(&before).expect("JSON"),
            json::from_slice(&after).expect("JSON"),
        );
        // Textual comparison: NaN is not equal to itself as a value.
        assert_eq!(
            json::to_string_compact(&a),
            json::to_string_compact(&b),
            "{} ({backend}): the JSON changed",
            sc.name
        );
    }
    assert!(
        before == after,
        "{} ({backend}): the key file is not byte for byte Python's:\n--- before\n{}\n--- after\n{}",
        sc.name,
        String::from_utf8_lossy(&before),
        String::from_utf8_lossy(&after)
    );
}

#[tokio::test]
async fn reference_trees_save_back_untouched_on_memory_and_local_folder() {
    let manifest = fixture::manifest();
    let zip = fixture::reference_zip();
    let mem = fixture::memory_tree(&zip).await;
    let (_guard, fs) = fixture::fs_tree(&zip);
    let stores: [(&str, Arc<dyn StorageBackend>); 2] = [("memory", mem), ("local folder", fs)];
    let mut count = 0;
    for (backend, store) in stores {
        let before = fixture::snapshot(&store).await;
        for sc in &manifest.scenarios {
            if DO_NOT_LOAD.contains(&sc.name.as_str()) {
                continue;
            }
            save_back_untouched(store.clone(), sc, backend).await;
            count += 1;
        }
        // Nothing else in the tree changed either.
        let after = fixture::snapshot(&store).await;
        assert!(before == after, "{backend}: the tree changed");
    }
    assert_eq!(count, 2 * (67 - DO_NOT_LOAD.len()));
}

async fn written_tree_comes_back(store: Arc<dyn StorageBackend>, backend: &str) {
    scenarios::write_all(&fixture::repo(store.clone()))
        .await
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
    let before = fixture::snapshot(&store).await;
    assert!(before.len() > 200, "{backend}: {} files", before.len());
    let manifest = fixture::manifest();
    for name in WRITTEN {
        save_back_untouched(store.clone(), manifest.get(name), backend).await;
    }
    let after = fixture::snapshot(&store).await;
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&before),
        names(&after),
        "{backend}: the file set changed"
    );
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert!(a == b, "{backend}: {name} changed");
    }
}

#[tokio::test]
async fn a_tree_written_by_rust_comes_back_byte_for_byte_in_memory() {
    written_tree_comes_back(Arc::new(MemoryBackend::new()), "memory").await;
}

#[tokio::test]
async fn a_tree_written_by_rust_comes_back_byte_for_byte_on_a_local_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fs = Arc::new(dman::FsBackend::new(dir.path().join(".dman")).expect("fs"));
    written_tree_comes_back(fs, "local folder").await;
}

// ---- property tests ---------------------------------------------------------------------

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn repo() -> (Arc<MemoryBackend>, Repo) {
    let mem = Arc::new(MemoryBackend::new());
    (mem.clone(), Repo::new(mem).with_generator("prop"))
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => prop::sample::select(vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            1e16,
            1e-5,
            5e-324,
            f64::MAX
        ]),
    ]
}

/// Any JSON value Python's `json` module writes: big unsigned integers,
/// non-finite floats, any text.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        float().prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_json_values_round_trip(value in json_value()) {
        block_on(async {
            let (mem, repo) = repo();
            repo.save("value", &value).await.expect("save");
            // The file is exactly what Python's json.dump(indent=4) writes.
            let file = mem.get(&StoragePath::parse("prop/value/value.json").unwrap()).expect("file");
            let text = json::to_string_pretty(&value);
            prop_assert_eq!(&file[..], text.as_bytes());
            let back: Value = repo.load("value").await.expect("load");
            prop_assert_eq!(json::to_string_compact(&back), json::to_string_compact(&value));
            let c = norm::compare(&norm::json(&value), &norm::json(&back));
            prop_assert!(c.is_clean(), "{:?}", c.diffs);
            Ok(())
        })?;
    }

    #[test]
    fn nested_options_maps_and_floats_round_trip(
        value in prop::collection::vec(
            prop::option::of(prop::collection::btree_map("[a-z_$]{0,6}", float(), 0..5)),
            0..6,
        )
    ) {
        block_on(async {
            let (_mem, repo) = repo();
            repo.save("nested", &value).await.expect("save");
            let back: Vec<Option<BTreeMap<String, f64>>> = repo.load("nested").await.expect("load");
            let c = norm::compare(&value.normalize().await, &back.normalize().await);
            prop_assert!(c.is_clean(), "{:?}", c.diffs);
            Ok(())
        })?;
    }
}

/// A storable modelclass held by records.
#[derive(Modelclass, Debug, Clone)]
#[dman(name = "prop_leaf", storable)]
struct Leaf {
    label: String,
    weights: Vec<f64>,
    person: Option<Record<Person>>,
}

/// A modelclass nesting itself, with records and a model container.
#[derive(Modelclass, Debug)]
#[dman(name = "prop_node", subdir = "files")]
struct Node {
    id: i64,
    tags: BTreeMap<String, Vec<Option<i64>>>,
    note: Option<String>,
    leaves: Vec<Record<Leaf>>,
    people: MList<Person>,
    portrait: Option<Record<Person>>,
    child: Option<Box<Node>>,
}

impl Normalize for Leaf {
    fn normalize(&self) -> norm::NormFuture<'_> {
        Box::pin(async move {
            let mut fields = Map::new();
            fields.insert("label".into(), self.label.normalize().await);
            fields.insert("weights".into(), self.weights.normalize().await);
            fields.insert("person".into(), self.person.normalize().await);
            norm::ser("prop_leaf", fields)
        })
    }
}

impl norm::NormalizeStored for Leaf {
    fn normalize_stored(&self) -> norm::NormFuture<'_> {
        self.normalize()
    }
}

impl Normalize for Node {
    fn normalize(&self) -> norm::NormFuture<'_> {
        Box::pin(async move {
            let mut fields = Map::new();
            fields.insert("id".into(), self.id.normalize().await);
            fields.insert("tags".into(), self.tags.normalize().await);
            fields.insert("note".into(), self.note.normalize().await);
            fields.insert("leaves".into(), self.leaves.normalize().await);
            fields.insert("people".into(), self.people.normalize().await);
            fields.insert("portrait".into(), self.portrait.normalize().await);
            fields.insert("child".into(), self.child.normalize().await);
            norm::ser("prop_node", fields)
        })
    }
}

/// Plain data to build a [`Node`] from (records are built in the test).
#[derive(Debug, Clone)]
struct NodeSpec {
    id: i64,
    tags: BTreeMap<String, Vec<Option<i64>>>,
    note: Option<String>,
    leaves: Vec<(String, Vec<f64>, Option<String>)>,
    people: Vec<String>,
    portrait: Option<String>,
    child: Option<Box<NodeSpec>>,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    let flat = (
        any::<i64>(),
        prop::collection::btree_map(
            "\\PC{0,8}",
            prop::collection::vec(prop::option::of(any::<i64>()), 0..4),
            0..3,
        ),
        prop::option::of("\\PC{0,12}"),
        prop::collection::vec(
            (
                "\\PC{0,8}",
                prop::collection::vec(float(), 0..4),
                prop::option::of("\\PC{0,8}"),
            ),
            0..3,
        ),
        prop::collection::vec("\\PC{0,8}", 0..3),
        prop::option::of("\\PC{0,8}"),
    )
        .prop_map(|(id, tags, note, leaves, people, portrait)| NodeSpec {
            id,
            tags,
            note,
            leaves,
            people,
            portrait,
            child: None,
        });
    flat.prop_recursive(3, 8, 1, |inner| {
        (inner.clone(), prop::option::of(inner)).prop_map(|(mut node, child)| {
            node.child = child.map(Box::new);
            node
        })
    })
}

fn build(spec: &NodeSpec) -> Node {
    Node {
        id: spec.id,
        tags: spec.tags.clone(),
        note: spec.note.clone(),
        leaves: spec
            .leaves
            .iter()
            .map(|(label, weights, person)| {
                Record::new(Leaf {
                    label: label.clone(),
                    weights: weights.clone(),
                    person: person.as_deref().map(|p| Record::new(Person::new(p))),
                })
            })
            .collect(),
        people: spec.people.iter().map(|p| Person::new(p)).collect(),
        portrait: spec
            .portrait
            .as_deref()
            .map(|p| Record::new(Person::new(p))),
        child: spec.child.as_deref().map(|c| Box::new(build(c))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nested_modelclasses_with_records_round_trip(spec in node_spec()) {
        block_on(async {
            let (mem, repo) = repo();
            let node = build(&spec);
            repo.save("node", &node).await.expect("save");
            // Targets are resolved by the save: normalize after it.
            let expected = node.normalize().await;
            let files = mem.len();
            let back: Node = repo.load("node").await.expect("load");
            prop_assert!(back.leaves.iter().all(|r| !r.is_loaded()), "records load lazily");
            let c = norm::compare(&expected, &back.normalize().await);
            prop_assert!(c.is_clean(), "{:?} {:?}", c.diffs, c.unreadable);
            // Saving the loaded graph again writes the key file only.
            let rec = Recorder::new(mem.clone());
            let again = Repo::new(rec.clone()).with_generator("prop");
            let reloaded: Node = again.load("node").await.expect("load");
            rec.clear();
            again.save("node", &reloaded).await.expect("save again");
            prop_assert_eq!(rec.writes().len(), 1);
            prop_assert_eq!(mem.len(), files);
            Ok(())
        })?;
    }
}
