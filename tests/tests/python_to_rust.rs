//! Python dman 1.0.1 → dman-rs: every tree of the reference fixture
//! (`tests/fixtures/python-reference/trees.zip`) loads with its Rust type
//! and has the values of `expected.json`, on a memory backend and on a
//! local folder; Python's failure paths give clear errors; the
//! getting-started tree of the seed loads lazily.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use dman::core::graph::{self, Document};
use dman::core::json::Value;
use dman::core::numeric::decode_npy;
use dman::ndarray::Ix1;
use dman::{Error, MRuns, Repo, StorageBackend, StoragePath};
use dman_test_support::backend::Recorder;
use dman_tests::fixture::{self, Scenario};
use dman_tests::norm::{self, match_pattern, Comparison};
use dman_tests::refmodel::{self as rm, getting_started as gs};
use dman_tests::scenarios;

/// The reference trees on both backends: a memory backend filled from the
/// zip, and the zip extracted into a temporary folder (kept alive by the
/// returned guard).
async fn backends() -> (
    tempfile::TempDir,
    Vec<(&'static str, Arc<dyn StorageBackend>)>,
) {
    let zip = fixture::reference_zip();
    let mem = fixture::memory_tree(&zip).await;
    let (dir, fs) = fixture::fs_tree(&zip);
    (dir, vec![("memory", mem), ("local folder", fs)])
}

/// The files a load may read: the root file and, through preloaded JSON
/// files, every file of a `preload` record.
async fn readable_at_load(store: &Arc<dyn StorageBackend>, sc: &Scenario) -> HashSet<StoragePath> {
    let root = sc.root_file();
    let mut allowed = HashSet::from([root.clone()]);
    if sc.file.ends_with(".json") {
        let doc = graph::read_json(store, &root).await.expect("root JSON");
        let dir = root.dir();
        allowed.extend(
            graph::prefetch(store, &dir, &doc)
                .await
                .expect("prefetch")
                .into_keys(),
        );
    }
    allowed
}

/// Loads a scenario with its Rust type and compares it with the manifest:
/// values (records followed), files and invalid markers. Checks that the
/// load read only the root file and preloaded records, and that no file is
/// read twice. Returns the comparison for scenarios that expect failures.
async fn check(sc: &Scenario, store: Arc<dyn StorageBackend>, backend: &str) -> Comparison {
    let rec = Recorder::new(store.clone());
    let repo = fixture::repo(rec.clone());
    let loaded = scenarios::load(&repo, sc)
        .await
        .unwrap_or_else(|e| panic!("{} ({backend}): load failed: {e}", sc.name));

    let allowed = readable_at_load(&store, sc).await;
    let at_load: HashSet<StoragePath> = rec.reads().into_iter().collect();
    for path in &at_load {
        assert!(
            allowed.contains(path),
            "{} ({backend}): loading read {path}, which no preload record asks for (lazy records read nothing)",
            sc.name
        );
    }
    // And preloaded records were read with their holder.
    let missed: Vec<_> = allowed.difference(&at_load).collect();
    assert!(
        missed.is_empty(),
        "{} ({backend}): preload records not read at load: {missed:?}",
        sc.name
    );

    let actual = loaded.normalize().await;
    let comparison = norm::compare(&sc.value, &actual);
    assert!(
        comparison.diffs.is_empty(),
        "{} ({backend}): {} differences from expected.json:\n{}\nactual: {}",
        sc.name,
        comparison.diffs.len(),
        comparison.diffs.join("\n"),
        actual
    );

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for path in rec.reads() {
        *counts.entry(path.as_str().to_string()).or_default() += 1;
    }
    // Each record reads its file once; only `retouch_ignore` has two
    // records sharing one file (Python's default retouch policy).
    let sharing = usize::from(sc.name == "retouch_ignore") + 1;
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > sharing).collect();
    assert!(
        twice.is_empty(),
        "{} ({backend}): files read more than once: {twice:?}",
        sc.name
    );

    let (file_diffs, files) = fixture::check_files(&store, sc).await;
    assert!(
        file_diffs.is_empty(),
        "{} ({backend}): {}",
        sc.name,
        file_diffs.join("\n")
    );
    let marker_diffs = fixture::check_markers(&store, sc, &files).await;
    assert!(
        marker_diffs.is_empty(),
        "{} ({backend}): {}",
        sc.name,
        marker_diffs.join("\n")
    );
    comparison
}

/// A scenario that loads cleanly on both backends.
async fn reference(name: &str) {
    let manifest = fixture::manifest();
    let sc = manifest.get(name);
    let (_guard, stores) = backends().await;
    for (backend, store) in stores {
        let c = check(sc, store, backend).await;
        assert!(
            c.unreadable.is_empty(),
            "{name} ({backend}): unreadable records: {:?}",
            c.unreadable
        );
        for note in c.notes {
            println!("note {name}: {note}");
        }
    }
}

macro_rules! reference_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                reference(stringify!($name)).await;
            }
        )*

        /// Every scenario of the manifest has a test here.
        const COVERED: &[&str] = &[$(stringify!($name)),*];
    };
}

reference_tests!(
    json_scalars,
    json_top_list,
    json_top_string,
    serializable_dataclass,
    enum_values,
    modelclass_basic,
    modelclass_compact,
    compact_in_modelclass,
    storable_in_mlist,
    storable_in_mdict,
    storable_in_mruns,
    nested_storables,
    record_options,
    record_fields,
    top_record,
    auto_model,
    instance,
    mlist_mixed,
    mlist_options,
    storable_containers,
    smlist_top,
    smdict_top,
    smruns_top,
    mdict_default,
    mdict_by_key,
    mdict_subdir,
    mdict_by_key_subdir,
    mdict_preload,
    mdict_record_options,
    mruns_default,
    mruns_flat,
    mruns_subdir,
    mruns_removed,
    mruns_record_options,
    mruns_preload,
    mc_store_by_field,
    mc_cluster,
    mc_subdir,
    mc_all_options,
    mc_no_serialize,
    barrays,
    barrays_more_dtypes,
    inline_arrays,
    numeric_fields,
    store_run,
    store_person,
    store_barray,
    store_smdict,
    store_cluster,
    save_flat,
    save_flat_records,
    save_subdir,
    save_generator,
    label_generator,
    label_root,
    retouch_auto,
    retouch_ignore,
    missing_file_dropped,
);

/// The scenarios with their own tests below (Python's failure paths).
const FAILURE_PATHS: &[&str] = &[
    "json_bigint",
    "invalid_unserializable",
    "invalid_exc_unserializable",
    "invalid_no_file",
    "invalid_no_file_mlist",
    "invalid_exc_unwritable",
    "invalid_exc_unreadable",
    "invalid_undeserializable",
    "invalid_exc_undeserializable",
];

#[test]
fn every_scenario_of_the_manifest_is_tested() {
    let manifest = fixture::manifest();
    let names: Vec<&str> = manifest.scenarios.iter().map(|s| s.name.as_str()).collect();
    for name in &names {
        assert!(
            COVERED.contains(name) || FAILURE_PATHS.contains(name),
            "scenario `{name}` of expected.json has no test"
        );
    }
    assert_eq!(
        COVERED.len() + FAILURE_PATHS.len(),
        names.len(),
        "tests of scenarios that are not in expected.json"
    );
    assert_eq!(names.len(), 67, "the manifest's scenario count changed");
}

// ---- Python's failure paths -------------------------------------------------------------

/// The typed load of a failure-path scenario: the error, on both backends,
/// after checking that the untyped documents list the manifest's markers.
async fn typed_load_error(name: &str) -> Vec<Error> {
    let manifest = fixture::manifest();
    let sc = manifest.get(name);
    let (_guard, stores) = backends().await;
    let mut errors = Vec::new();
    for (backend, store) in stores {
        let (file_diffs, files) = fixture::check_files(&store, sc).await;
        assert!(file_diffs.is_empty(), "{name} ({backend}): {file_diffs:?}");
        let marker_diffs = fixture::check_markers(&store, sc, &files).await;
        assert!(
            marker_diffs.is_empty(),
            "{name} ({backend}): the untyped documents do not list the markers: {marker_diffs:?}"
        );
        match scenarios::load(&fixture::repo(store.clone()), sc).await {
            Ok(_) => panic!("{name} ({backend}): the typed load succeeded"),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// Asserts a decode error names the file and the place inside it.
fn assert_decode_error(e: &Error, file: &str, at: &str, words: &[&str]) {
    let text = e.to_string();
    match e {
        Error::Decode {
            file: Some(f),
            at: got,
            ..
        } => {
            assert!(
                f.to_string().contains(file),
                "the error names {f}, not {file}: {text}"
            );
            assert_eq!(got, at, "the error is at `{got}`, not `{at}`: {text}");
        }
        other => panic!("expected a decode error naming {file}, got {other:?}"),
    }
    assert!(text.contains(file), "{text}");
    assert!(text.contains(&format!("at `{at}`")), "{text}");
    for w in words {
        assert!(text.contains(w), "`{w}` missing from: {text}");
    }
}

#[tokio::test]
async fn json_bigint_fails_clearly_naming_file_and_place() {
    let manifest = fixture::manifest();
    let sc = manifest.get("json_bigint");
    let (_guard, stores) = backends().await;
    for (backend, store) in stores {
        let err = scenarios::load(&fixture::repo(store.clone()), sc)
            .await
            .err()
            .unwrap_or_else(|| panic!("{backend}: a 70-bit integer loaded"));
        let text = err.to_string();
        assert!(text.contains(&sc.file), "{backend}: {text}");
        assert!(
            text.contains("integer 1180591620717411303424 does not fit in u64"),
            "{backend}: {text}"
        );
        assert!(text.contains("beyond_u64"), "{backend}: {text}");
        // The untyped view keeps it as written: nothing is rounded.
        let doc = Document::open(store.clone(), sc.root_file())
            .await
            .expect("untyped open of a 70-bit integer");
        let text = doc.value.to_string();
        assert!(text.contains("1180591620717411303424"), "{text}");
    }
}

#[tokio::test]
async fn invalid_unserializable_names_the_marker_and_its_place() {
    let sc_file = "ref/invalid_unserializable/invalid_unserializable.json";
    for e in typed_load_error("invalid_unserializable").await {
        assert_decode_error(
            &e,
            sc_file,
            "list[1]",
            &["__unserializable", "Unregistered", "Unserializable type"],
        );
    }
    // Each marker, decoded on its own with its intended type, fails at its place.
    let (_guard, stores) = backends().await;
    let path = StoragePath::parse(sc_file).unwrap();
    for (backend, store) in stores {
        let doc = Document::open(store.clone(), path.clone()).await.unwrap();
        let holder =
            graph::decode::<rm::Holder>(doc.value.get("field").unwrap(), &store, &path).await;
        let e = holder
            .err()
            .unwrap_or_else(|| panic!("{backend}: holder decoded"));
        assert_decode_error(&e, sc_file, "thing", &["__unserializable"]);
        let dict = graph::decode::<indexmap::IndexMap<String, rm::Any>>(
            doc.value.get("dict").unwrap(),
            &store,
            &path,
        )
        .await;
        let e = dict
            .err()
            .unwrap_or_else(|| panic!("{backend}: dict decoded"));
        assert_decode_error(&e, sc_file, "bad", &["__unserializable"]);
    }
}

#[tokio::test]
async fn invalid_exc_unserializable_names_the_marker_and_its_place() {
    for e in typed_load_error("invalid_exc_unserializable").await {
        assert_decode_error(
            &e,
            "ref/invalid_exc_unserializable/invalid_exc_unserializable.json",
            "[0]",
            &["__exc_unserializable", "Exploding"],
        );
    }
}

#[tokio::test]
async fn invalid_undeserializable_names_the_marker_and_its_place() {
    for e in typed_load_error("invalid_undeserializable").await {
        assert_decode_error(
            &e,
            "ref/invalid_undeserializable/invalid_undeserializable.json",
            "ghost",
            &[
                "`ghost`",
                "__undeserializable",
                "Unregistered type stored in serialized",
            ],
        );
    }
}

#[tokio::test]
async fn invalid_exc_undeserializable_names_the_marker_and_its_place() {
    for e in typed_load_error("invalid_exc_undeserializable").await {
        assert_decode_error(
            &e,
            "ref/invalid_exc_undeserializable/invalid_exc_undeserializable.json",
            "grumpy",
            &["`grumpy`", "__exc_undeserializable"],
        );
    }
}

/// A scenario whose records hold Python's read or write failure: the value
/// loads, the failing record's content gives an error naming its file
/// (where Python has an invalid object), and the rest of the graph is
/// compared with the manifest.
async fn failing_records(name: &str, expected: &[(&str, &str, &str)]) {
    let manifest = fixture::manifest();
    let sc = manifest.get(name);
    let (_guard, stores) = backends().await;
    for (backend, store) in stores {
        let c = check(sc, store, backend).await;
        assert_eq!(
            c.unreadable.len(),
            expected.len(),
            "{name} ({backend}): {:?}",
            c.unreadable
        );
        for ((at, invalid, error), (want_at, want_marker, want_words)) in
            c.unreadable.iter().zip(expected)
        {
            assert_eq!(at, want_at, "{name} ({backend})");
            assert_eq!(
                invalid.get("$invalid").and_then(Value::as_str),
                Some(*want_marker),
                "{name} ({backend}): Python's content"
            );
            for w in want_words.split('|') {
                assert!(
                    error.contains(w),
                    "{name} ({backend}): `{w}` missing: {error}"
                );
            }
        }
    }
}

#[tokio::test]
async fn invalid_no_file_record_fails_on_access_naming_the_file() {
    failing_records(
        "invalid_no_file",
        &[(
            "$.fields.data.content",
            "__no_file",
            "ref/invalid_no_file/holder-data.npy|no file",
        )],
    )
    .await;
}

#[tokio::test]
async fn invalid_no_file_mlist_item_fails_on_access_naming_the_file() {
    failing_records(
        "invalid_no_file_mlist",
        &[(
            "$.$mlist.items[0].content",
            "__no_file",
            "ref/invalid_no_file_mlist/gone.npy|no file",
        )],
    )
    .await;
}

#[tokio::test]
async fn invalid_exc_unwritable_record_fails_on_access_naming_the_file() {
    failing_records(
        "invalid_exc_unwritable",
        &[(
            "$.fields.faulty.content",
            "__no_file",
            "ref/invalid_exc_unwritable/holder-faulty.faulty|no file",
        )],
    )
    .await;
}

#[tokio::test]
async fn invalid_exc_unreadable_record_fails_on_access_naming_the_file() {
    failing_records(
        "invalid_exc_unreadable",
        &[(
            "$.fields.fragile.content",
            "__exc_un_readable",
            "ref/invalid_exc_unreadable/holder-fragile.fragile|cannot read Fragile",
        )],
    )
    .await;
}

#[tokio::test]
async fn float16_is_refused_by_the_typed_numeric_module_with_a_clear_error() {
    let (_guard, stores) = backends().await;
    for (backend, store) in stores {
        let path = StoragePath::parse("ref/barrays_more_dtypes/f16.npy").unwrap();
        let bytes = store.read(&path).await.unwrap();
        let e = decode_npy::<f32, Ix1>(&bytes).expect_err("float16 read as f32");
        let text = e.to_string();
        assert!(
            text.contains("<f2") && text.contains("float16") && text.contains("f32"),
            "{backend}: {text}"
        );
    }
}

// ---- the getting-started tree: laziness ---------------------------------------------------

#[tokio::test]
async fn getting_started_runs_compare_configs_without_reading_arrays() {
    let zip = fixture::getting_started_zip();
    assert!(zip.is_file(), "missing fixture {}", zip.display());
    let mem = fixture::memory_tree(&zip).await;
    let (_guard, fs) = fixture::fs_tree(&zip);
    let stores: [(&str, Arc<dyn StorageBackend>); 2] = [("memory", mem), ("local folder", fs)];
    for (backend, store) in stores {
        let rec = Recorder::new(store.clone());
        let repo = Repo::new(rec.clone()).with_generator("cache/examples:patterns:common");
        let runs: MRuns<gs::Run> = repo.load("experiment").await.expect("load experiment");
        assert_eq!(runs.len(), 2, "{backend}");
        assert_eq!(runs.run_count(), 2, "{backend}");
        assert_eq!(runs.get_stem(), Some("experiment"), "{backend}");
        assert_eq!(runs.get_subdir(), "results", "{backend}");

        // What `any(run.config == cfg for run in content)` does: read the
        // runs' JSON, never an array.
        let expected = [
            gs::Config {
                seed: 1000,
                ..gs::Config::default()
            },
            gs::Config {
                seed: 1024,
                ..gs::Config::default()
            },
        ];
        let contents = runs.contents().await.expect("runs");
        for (i, (run, want)) in contents.iter().zip(&expected).enumerate() {
            assert_eq!(&run.config, want, "{backend}: run {i}");
            let want_dir =
                format!("cache/examples:patterns:common/experiment/results/experiment-{i}");
            for (field, shape) in [("data", [20, 1000]), ("output", [100, 1000])] {
                let r = match field {
                    "data" => run.data.as_ref(),
                    _ => run.output.as_ref(),
                }
                .unwrap_or_else(|| panic!("{backend}: run {i} has no {field}"));
                assert_eq!(r.sto_type(), "_num__barray");
                assert!(!r.is_loaded(), "{backend}: run {i} {field} loaded early");
                let target = r.target().expect("a loaded record has a target");
                assert!(match_pattern("{uuid}.npy", &target), "{backend}: {target}");
                let path = r.path().expect("a loaded record has a file");
                assert_eq!(path.as_str(), format!("{want_dir}/{target}"), "{backend}");
                let listed = store.list(&path.parent().unwrap()).await.unwrap();
                let meta = listed
                    .iter()
                    .find(|m| m.path == path)
                    .unwrap_or_else(|| panic!("{backend}: {path} is not in the tree"));
                // numpy format 1.0: 128 bytes of header, then float64 data.
                assert_eq!(
                    meta.size,
                    128 + 8 * (shape[0] * shape[1]) as u64,
                    "{backend}: {path}"
                );
            }
        }
        let npy_reads: Vec<_> = rec
            .reads()
            .into_iter()
            .filter(|p| p.as_str().ends_with(".npy"))
            .collect();
        assert!(
            npy_reads.is_empty(),
            "{backend}: arrays read while comparing configs: {npy_reads:?}"
        );
        let json_reads = rec.reads();
        assert_eq!(
            json_reads.len(),
            3,
            "{backend}: the key file and the two runs' files: {json_reads:?}"
        );

        // Reading one array reads exactly its file, once.
        let first = contents[0].output.as_ref().unwrap();
        let output = first.get().await.expect("output array");
        assert_eq!(output.shape(), &[100, 1000], "{backend}");
        assert!(output.iter().all(|x| x.is_finite()), "{backend}");
        let again = first.get().await.expect("output again");
        assert_eq!(again.shape(), &[100, 1000]);
        let npy_reads: Vec<_> = rec
            .reads()
            .into_iter()
            .filter(|p| p.as_str().ends_with(".npy"))
            .collect();
        assert_eq!(npy_reads, vec![first.path().unwrap()], "{backend}");
        let data = contents[1]
            .data
            .as_ref()
            .unwrap()
            .get()
            .await
            .expect("data");
        assert_eq!(data.shape(), &[20, 1000], "{backend}");
        // rng.random: uniform in [0, 1).
        assert!(data.iter().all(|x| (0.0..1.0).contains(x)), "{backend}");
    }
}

#[tokio::test]
async fn getting_started_flat_configs_load() {
    let zip = fixture::getting_started_zip();
    let mem = fixture::memory_tree(&zip).await;
    let store: Arc<dyn StorageBackend> = mem;
    for generator in ["cache/examples:patterns:common", "demo"] {
        let repo = Repo::new(store.clone()).with_generator(generator);
        let cfg: gs::Config = repo
            .load(dman::Key::new("config").cluster(false))
            .await
            .expect("config");
        assert_eq!(cfg, gs::Config::default(), "{generator}");
    }
}
