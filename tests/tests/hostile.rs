//! Hostile trees give errors, never panics: truncated JSON, wrong types,
//! unknown type names, record targets that leave the root or are absolute
//! (refused before any backend is touched), missing files, nesting 100000
//! deep, invalid UTF-8, and random damage to the reference files.

use std::sync::Arc;

use dman::core::graph::Document;
use dman::core::json::Value;
use dman::ndarray::Array1;
use dman::{
    Error, FsBackend, MList, MRuns, MemoryBackend, Record, Repo, StorageBackend, StoragePath,
};
use dman_test_support::backend::{Op, Recorder};
use dman_tests::fixture;
use dman_tests::norm::Normalize;
use dman_tests::refmodel::{Any, Config, Holder, Person, Run};
use proptest::prelude::*;

const KEY_FILE: &str = "ref/hostile/hostile.json";

fn path(p: &str) -> StoragePath {
    StoragePath::parse(p).expect("valid path")
}

/// A memory backend with `files`, and a repository (generator `ref`) on it
/// through a recorder.
async fn tree(files: &[(&str, &[u8])]) -> (Arc<Recorder>, Repo) {
    let mem = Arc::new(MemoryBackend::new());
    for (name, bytes) in files {
        mem.write(&path(name), bytes.to_vec().into())
            .await
            .expect("write");
    }
    let rec = Recorder::new(mem);
    let repo = fixture::repo(rec.clone());
    (rec, repo)
}

fn assert_contains(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "`{w}` missing from: {text}");
    }
}

/// A decode error naming the key file and the place inside it.
fn assert_decode_at(e: &Error, at: &str, words: &[&str]) {
    match e {
        Error::Decode {
            file: Some(f),
            at: got,
            ..
        } => {
            assert!(f.to_string().contains(KEY_FILE), "{e}");
            assert_eq!(got, at, "{e}");
        }
        other => panic!("expected a decode error at `{at}`, got {other:?}"),
    }
    assert_contains(&e.to_string(), words);
}

fn holder_with(data_target: &str, extra: &str) -> String {
    format!(
        r#"{{"_ser__type": "holder", "_ser__content": {{
            "label": "hostile",
            "data": {{"_ser__type": "_ser__record", "_ser__content": {{"target": {}, "sto_type": "_num__barray"{extra}}}}},
            "person": {{"_ser__type": "_ser__record", "_ser__content": {{"target": "p.person", "sto_type": "person"}}}}
        }}}}"#,
        dman::core::json::to_string_compact(&Value::String(data_target.into()))
    )
}

// ---- broken JSON ------------------------------------------------------------------

#[tokio::test]
async fn truncated_json_is_an_error_naming_the_file_and_position() {
    let full = std::fs::read(fixture::reference_dir().join("expected.json")).unwrap();
    // A real key file of the reference trees, cut at several places.
    let key = fixture::read_zip(&fixture::reference_zip())
        .into_iter()
        .find(|(n, _)| n == "ref/modelclass_basic/modelclass_basic.json")
        .map(|(_, b)| b)
        .unwrap();
    assert!(full.len() > key.len());
    for cut in [1, 2, key.len() / 3, key.len() / 2, key.len() - 1] {
        let (_, repo) = tree(&[(KEY_FILE, &key[..cut])]).await;
        let e = repo
            .load::<Vec<Config>>("hostile")
            .await
            .expect_err("a truncated file loaded");
        assert!(matches!(e, Error::Json { .. }), "cut {cut}: {e:?}");
        assert_contains(&e.to_string(), &[KEY_FILE, "line", "column"]);
        let doc = Document::open(repo.backend().clone(), path(KEY_FILE)).await;
        assert!(doc.is_err(), "cut {cut}: the untyped view parsed it");
    }
}

#[tokio::test]
async fn a_truncated_record_file_fails_on_access_naming_that_file() {
    let key = br#"{"_ser__type": "_ser__mlist", "_ser__content": {"store": [
        {"_ser__type": "_ser__record", "_ser__content": {"target": "run.json", "sto_type": "run"}},
        {"_ser__type": "_ser__record", "_ser__content": {"target": "ok.json", "sto_type": "run"}}]}}"#;
    let ok = br#"{"config": {"_ser__type": "config", "_ser__content": {"seed": 3}}}"#;
    let npy = dman::core::numeric::encode_npy(&Array1::from(vec![1.0, 2.0])).unwrap();
    let (_, repo) = tree(&[
        (KEY_FILE, key),
        ("ref/hostile/run.json", br#"{"config": {"_ser__type": "con"#),
        ("ref/hostile/ok.json", ok),
        ("ref/hostile/cut.npy", &npy[..npy.len() - 3]),
    ])
    .await;
    let runs: MList<Run> = repo.load("hostile").await.expect("the key file is fine");
    let e = runs.get(0).unwrap().get().await.expect_err("truncated run");
    assert_contains(&e.to_string(), &["ref/hostile/run.json", "line 1"]);
    assert_eq!(runs.get(1).unwrap().get().await.unwrap().config.seed, 3);

    let arrays: Record<Array1<f64>> = dman::core::graph::decode(
        &dman::core::json::from_str(
            r#"{"_ser__type": "_ser__record", "_ser__content": {"target": "cut.npy", "sto_type": "_num__barray"}}"#,
        )
        .unwrap(),
        repo.backend(),
        &path(KEY_FILE),
    )
    .await
    .unwrap();
    let e = arrays.get().await.expect_err("truncated .npy");
    assert_contains(
        &e.to_string(),
        &["ref/hostile/cut.npy", "truncated .npy file"],
    );
}

#[tokio::test]
async fn json_nested_100000_deep_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a": "#.repeat(depth), "}".repeat(depth));
    let open_only = "[".repeat(depth);
    for (what, text) in [
        ("arrays", &arrays),
        ("objects", &objects),
        ("unclosed", &open_only),
    ] {
        let (_, repo) = tree(&[
            (KEY_FILE, text.as_bytes()),
            ("ref/hostile/run.json", text.as_bytes()),
        ])
        .await;
        let e = repo.load::<Value>("hostile").await.expect_err(what);
        assert!(matches!(e, Error::Json { .. }), "{what}: {e:?}");
        assert_contains(&e.to_string(), &[KEY_FILE]);
        assert!(
            Document::open(repo.backend().clone(), path(KEY_FILE))
                .await
                .is_err(),
            "{what}"
        );
        // The same inside a record's file: an error on access.
        let run: Record<Run> = dman::core::graph::decode(
            &dman::core::json::from_str(
                r#"{"_ser__type": "_ser__record", "_ser__content": {"target": "run.json", "sto_type": "run"}}"#,
            )
            .unwrap(),
            repo.backend(),
            &path(KEY_FILE),
        )
        .await
        .unwrap();
        let e = run.get().await.expect_err(what);
        assert_contains(&e.to_string(), &["ref/hostile/run.json"]);
    }
}

#[tokio::test]
async fn nesting_python_can_write_loads_and_saves() {
    // Python's json stops near its recursion limit (~1000): a document
    // 900 deep is legal on both sides.
    let depth = 900;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let (_, repo) = tree(&[(KEY_FILE, text.as_bytes())]).await;
    let value: Value = repo.load("hostile").await.expect("900 deep");
    repo.save("hostile", &value).await.expect("save");
    let back: Value = repo.load("hostile").await.expect("reload");
    assert_eq!(back, value);
}

#[tokio::test]
async fn invalid_utf8_is_an_error_naming_the_file() {
    let key = b"{\"_ser__type\": \"config\", \"_ser__content\": {\"name\": \"bad \xff byte\"}}";
    let (_, repo) = tree(&[(KEY_FILE, key), ("ref/hostile/p.person", b"Zo\xeb")]).await;
    let e = repo
        .load::<Config>("hostile")
        .await
        .expect_err("invalid UTF-8");
    assert!(matches!(e, Error::Json { .. }), "{e:?}");
    assert_contains(&e.to_string(), &[KEY_FILE, "invalid UTF-8", "0xFF"]);
    // In a storable's own bytes: its read function's error, naming the file.
    let rec: Record<Person> = dman::core::graph::decode(
        &dman::core::json::from_str(
            r#"{"_ser__type": "_ser__record", "_ser__content": {"target": "p.person", "sto_type": "person"}}"#,
        )
        .unwrap(),
        repo.backend(),
        &path(KEY_FILE),
    )
    .await
    .unwrap();
    let e = rec.get().await.expect_err("latin-1 person");
    assert_contains(&e.to_string(), &["ref/hostile/p.person", "person", "utf-8"]);
}

// ---- wrong types and names --------------------------------------------------------------

#[tokio::test]
async fn wrong_types_name_the_place_inside_the_file() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            r#"[{"_ser__type": "config", "_ser__content": {"seed": 1}},
                {"_ser__type": "config", "_ser__content": {"seed": "seven"}}]"#,
            "[1].seed",
            &["int", "seven"],
        ),
        (
            r#"[{"_ser__type": "config", "_ser__content": {"inner": {"_ser__type": "inner", "_ser__content": {"beta": [1, 2.5]}}}}]"#,
            "[0].inner.beta[1]",
            &["int", "2.5"],
        ),
        (
            r#"[{"_ser__type": "config", "_ser__content": {"seed": 18446744073709551615}}]"#,
            "[0].seed",
            &["does not fit in i64"],
        ),
        (
            r#"{"_ser__type": "config", "_ser__content": []}"#,
            "",
            &["list"],
        ),
    ];
    for (text, at, words) in cases {
        let (_, repo) = tree(&[(KEY_FILE, text.as_bytes())]).await;
        let e = match repo.load::<Vec<Config>>("hostile").await {
            Ok(_) => panic!("loaded: {text}"),
            Err(e) => e,
        };
        // The last case is not a list at all.
        let at = if text.starts_with('{') { "" } else { at };
        assert_decode_at(&e, at, words);
    }

    let runs_cases: &[(&str, &str, &[&str])] = &[
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": "x", "store": []}}"#,
            "run_count",
            &["int"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": -1, "store": []}}"#,
            "run_count",
            &["-1", "u64"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": 5, "run_count": 1, "store": []}}"#,
            "stem",
            &["str"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": 1, "store": {"a": 1}}}"#,
            "store",
            &["list"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": 1, "store": [
                {"_ser__type": "_ser__record", "_ser__content": {"target": 42, "sto_type": "_num__barray"}}]}}"#,
            "store[0].target",
            &["target"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": 1, "store": [
                {"_ser__type": "_ser__record", "_ser__content": {"sto_type": "_num__barray"}}]}}"#,
            "store[0]",
            &["no `target`"],
        ),
        (
            r#"{"_ser__type": "_ser__mruns", "_ser__content": {"stem": "r", "run_count": 1, "store": [7]}}"#,
            "store[0]",
            &["`_ser__record`", "int 7"],
        ),
    ];
    for (text, at, words) in runs_cases {
        let (_, repo) = tree(&[(KEY_FILE, text.as_bytes())]).await;
        match repo.load::<MRuns<Array1<f64>>>("hostile").await {
            Ok(_) => panic!("loaded: {text}"),
            Err(e) => assert_decode_at(&e, at, words),
        }
    }
}

#[tokio::test]
async fn unknown_type_names_are_refused_by_typed_loads() {
    let (_, repo) = tree(&[(
        KEY_FILE,
        br#"{"_ser__type": "konfig", "_ser__content": {"seed": 1}}"#,
    )])
    .await;
    let e = repo.load::<Config>("hostile").await.expect_err("konfig");
    assert_decode_at(&e, "", &["`config`", "`konfig`"]);
    // Untyped, the unknown name is kept as it is.
    let v: Value = repo.load("hostile").await.expect("untyped");
    assert_eq!(v.get("_ser__type").and_then(Value::as_str), Some("konfig"));

    let (_, repo) = tree(&[(
        KEY_FILE,
        br#"{"_ser__type": "_ser__mlist", "_ser__content": {"store": [1,
            {"_ser__type": "_ser__record", "_ser__content": {"target": "x.sto", "sto_type": "mystery"}},
            {"_ser__type": "ghost", "_ser__content": {}}]}}"#,
    )])
    .await;
    let e = repo
        .load::<MList<Any>>("hostile")
        .await
        .expect_err("mystery");
    // A mixed item names the record's sto_type among the variants it has.
    assert_decode_at(
        &e,
        "store[1]",
        &[
            "sto_type `mystery`",
            "the variants of `Any`",
            "Record<Person>",
        ],
    );
    let e = repo
        .load::<MList<Person>>("hostile")
        .await
        .expect_err("int in a list of records");
    assert_decode_at(&e, "store[0]", &["`_ser__record`"]);

    let (_, repo) = tree(&[(
        KEY_FILE,
        br#"[{"_ser__type": "_ser__record", "_ser__content": {"target": "x.person", "sto_type": "Person"}}]"#,
    )])
    .await;
    let e = repo
        .load::<Vec<Record<Person>>>("hostile")
        .await
        .expect_err("sto_type of another case");
    assert_decode_at(&e, "[0].sto_type", &["`Person`", "`person`"]);
    let e = repo.load::<Vec<Any>>("hostile").await.expect_err("Any");
    assert_decode_at(&e, "[0]", &["sto_type `Person`", "Record<Person>"]);
}

// ---- targets ------------------------------------------------------------------------------

/// A local folder `<tmp>/root/.dman` with a file `<tmp>/root/secret.person`
/// outside it, and the key file `ref/hostile/hostile.json` inside.
fn outside_tree(key: &str) -> (tempfile::TempDir, Arc<FsBackend>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join(".dman/ref/hostile")).unwrap();
    std::fs::create_dir_all(root.join(".dman/ref/other")).unwrap();
    std::fs::write(root.join("secret.person"), "the secret").unwrap();
    std::fs::write(dir.path().join("secret.person"), "the secret").unwrap();
    std::fs::write(root.join(".dman/ref/other/p.person"), "Inside Ivy").unwrap();
    std::fs::write(root.join(".dman").join(KEY_FILE), key).unwrap();
    let fs = Arc::new(FsBackend::new(root.join(".dman")).unwrap());
    (dir, fs)
}

#[tokio::test]
async fn targets_that_leave_the_root_are_refused_on_access_and_nothing_outside_is_read() {
    for target in [
        "../../../secret.person",
        "../../../../secret.person",
        "../../../.dman/../secret.person",
        "/etc/passwd",
        "/tmp/secret.person",
        "..\\..\\..\\secret.person",
        "a/\u{0}/b.person",
        "",
    ] {
        for preload in [false, true] {
            let extra = if preload { r#", "preload": true"# } else { "" };
            let key = format!(
                r#"{{"_ser__type": "_ser__mlist", "_ser__content": {{"store": [
                    {{"_ser__type": "_ser__record", "_ser__content": {{"target": {}, "sto_type": "person"{extra}}}}},
                    {{"_ser__type": "_ser__record", "_ser__content": {{"target": "../other/p.person", "sto_type": "person"}}}}
                ]}}}}"#,
                dman::core::json::to_string_compact(&Value::String(target.into()))
            );
            let (_dir, fs) = outside_tree(&key);
            let rec = Recorder::new(fs);
            let repo = fixture::repo(rec.clone());
            let list: MList<Person> = repo
                .load("hostile")
                .await
                .unwrap_or_else(|e| panic!("{target:?}: the key file is valid JSON: {e}"));
            let e = list
                .get(0)
                .unwrap()
                .get()
                .await
                .expect_err("an escaping target was read");
            let text = e.to_string();
            if target.is_empty() {
                // The empty target is the holder's own folder: not a file.
                assert!(text.contains("`ref/hostile`"), "{text}");
            } else {
                assert!(
                    text.contains("refused") && text.contains(&format!("`{target}`")),
                    "{target:?}: {text}"
                );
            }
            // A `..` that stays inside the root is fine.
            let inside = list.get(1).unwrap().get().await.expect("inside target");
            assert_eq!(inside.name, "Inside Ivy");
            for op in rec.ops() {
                let ok = matches!(&op, Op::Read(p) if p.as_str() == KEY_FILE
                    || p.as_str() == "ref/other/p.person"
                    || (target.is_empty() && p.as_str() == "ref/hostile"));
                assert!(ok, "{target:?}: unexpected {op:?}");
            }
            // The untyped view refuses it too.
            let doc = Document::open(rec.clone(), path(KEY_FILE)).await.unwrap();
            let refs = doc.records();
            assert_eq!(refs.len(), 2);
            assert_eq!(
                doc.resolve(&refs[0]).is_err(),
                !target.is_empty(),
                "{target:?}"
            );
            assert!(doc.follow(&refs[0]).await.is_err(), "{target:?}");
            // Saving it back cannot write outside either: a refused target
            // fails the save before anything is written; the empty one is
            // kept as it was written (only the key file is rewritten).
            rec.clear();
            let save = repo.save("hostile", &list).await;
            assert_eq!(save.is_err(), !target.is_empty(), "{target:?}: {save:?}");
            let allowed: &[&str] = if target.is_empty() {
                &[KEY_FILE, "ref/.gitignore"]
            } else {
                &[]
            };
            for op in rec.ops() {
                if let Op::Write(p) | Op::Delete(p) | Op::Copy(_, p) = &op {
                    assert!(allowed.contains(&p.as_str()), "{target:?}: {op:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_missing_file_fails_on_access_naming_it_and_the_rest_is_usable() {
    let (_, repo) = tree(&[
        (KEY_FILE, holder_with("gone.npy", "").as_bytes()),
        ("ref/hostile/p.person", b"Still Here"),
    ])
    .await;
    let holder: Holder = repo.load("hostile").await.expect("load");
    let e = holder
        .data
        .as_ref()
        .unwrap()
        .get()
        .await
        .expect_err("missing");
    assert!(e.is_not_found(), "{e:?}");
    assert_contains(&e.to_string(), &["ref/hostile/gone.npy"]);
    // Asking again gives the error again (nothing is cached as loaded).
    assert!(holder.data.as_ref().unwrap().get().await.is_err());
    let person = holder.person.as_ref().unwrap().get().await.expect("person");
    assert_eq!(person.name, "Still Here");
    assert_eq!(holder.label, "hostile");
    // Normalizing follows every record and reports the missing one.
    let norm = holder.normalize().await.to_string();
    assert_contains(&norm, &["$unreadable", "gone.npy", "Still Here"]);

    // A preloaded missing file: the load succeeds, the access fails.
    let (_, repo) = tree(&[
        (
            KEY_FILE,
            holder_with("gone.npy", r#", "preload": true"#).as_bytes(),
        ),
        ("ref/hostile/p.person", b"Still Here"),
    ])
    .await;
    let holder: Holder = repo.load("hostile").await.expect("load");
    let e = holder
        .data
        .as_ref()
        .unwrap()
        .get()
        .await
        .expect_err("missing");
    assert_contains(&e.to_string(), &["ref/hostile/gone.npy"]);
}

#[tokio::test]
async fn a_target_naming_a_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(".dman");
    std::fs::create_dir_all(root.join("ref/hostile/sub")).unwrap();
    std::fs::write(root.join("ref/hostile/sub/x.npy"), "x").unwrap();
    std::fs::write(root.join(KEY_FILE), holder_with("sub", "")).unwrap();
    let repo = fixture::repo(Arc::new(FsBackend::new(&root).unwrap()));
    let holder: Holder = repo.load("hostile").await.expect("load");
    let e = holder
        .data
        .as_ref()
        .unwrap()
        .get()
        .await
        .expect_err("a folder");
    assert_contains(&e.to_string(), &["ref/hostile/sub"]);
}

// ---- random damage ---------------------------------------------------------------------------

/// Key files of the reference trees with records, and their scenarios.
const DAMAGED: &[&str] = &[
    "modelclass_basic",
    "modelclass_compact",
    "mlist_mixed",
    "storable_containers",
    "mruns_flat",
    "record_fields",
    "inline_arrays",
    "barrays",
];

fn damage(bytes: &[u8], how: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return out;
    }
    let at = at % out.len();
    match how % 4 {
        0 => out.truncate(at),
        1 => out[at] = byte,
        2 => out.insert(at, byte),
        _ => {
            out.remove(at);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Loading a damaged key file, or following records into damaged
    /// content files, returns errors or values, never panics.
    #[test]
    fn damaged_reference_files_never_panic(
        which in 0..DAMAGED.len(),
        target_file in any::<prop::sample::Index>(),
        how in any::<u8>(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let manifest = fixture::manifest();
            let sc = manifest.get(DAMAGED[which]);
            let mem = fixture::memory_tree(&fixture::reference_zip()).await;
            let files: Vec<StoragePath> = mem
                .paths()
                .into_iter()
                .filter(|p| p.as_str().starts_with(&format!("{}/", sc.key_folder())))
                .collect();
            let victim = &files[target_file.index(files.len())];
            let bytes = mem.get(victim).unwrap();
            mem.write(victim, damage(&bytes, how, at, byte).into()).await.unwrap();
            let store: Arc<dyn StorageBackend> = mem;
            let repo = fixture::repo(store);
            if let Ok(loaded) = dman_tests::scenarios::load(&repo, sc).await {
                // Follows every record; errors become `$unreadable`.
                let _ = loaded.normalize().await;
            }
        });
    }
}
