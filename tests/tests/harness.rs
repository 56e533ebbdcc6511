//! The test helpers themselves: the comparison finds differences, the file
//! and marker checks find what is missing or extra, the recorder records.
//! (A comparison that always passed would make every interop test pass.)

use std::sync::Arc;

use dman::core::json::{self, Value};
use dman::{MemoryBackend, StorageBackend, StoragePath};
use dman_test_support::backend::{Op, Recorder};
use dman_tests::fixture::{self, at_to_pointer};
use dman_tests::norm::{compare, match_pattern, uuid_pattern};
use dman_tests::refmodel::{f16_bits_to_f64, f64_to_f16_bits, AnyArray};
use dman_tests::scenarios;

fn v(text: &str) -> Value {
    json::from_str(text).expect("JSON")
}

#[test]
fn compare_follows_refmodel_rules() {
    let same = |e: &str, a: &str| compare(&v(e), &v(a)).diffs.is_empty();
    assert!(same("1", "1"));
    assert!(!same("1", "1.0"), "ints and floats are distinct");
    assert!(!same("0.0", "-0.0"), "the sign of zero counts");
    assert!(!same("true", "1"));
    assert!(!same("null", "\"\""));
    assert!(!same("[1, 2]", "[1]"));
    assert!(
        same(r#"{"a": 1, "b": 2}"#, r#"{"b": 2, "a": 1}"#),
        "key order is ignored"
    );
    assert!(!same(r#"{"a": 1}"#, r#"{"a": 1, "b": 2}"#));
    assert!(!same(r#"{"a": 1, "b": 2}"#, r#"{"a": 1}"#));
    let rec = |target: &str, preload: bool, content: &str| {
        format!(
            r#"{{"$record": {{"sto_type": "person", "target": "{target}", "preload": {preload}, "content": {content}}}}}"#
        )
    };
    let p = r#"{"$storable": "person", "value": "Ann"}"#;
    let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
    assert!(same(
        &rec("{uuid}.person", false, p),
        &rec(&format!("{uuid}.person"), false, p)
    ));
    assert!(!same(
        &rec("{uuid}.person", false, p),
        &rec("ann.person", false, p)
    ));
    assert!(!same(&rec("a.person", false, p), &rec("a.person", true, p)));
    assert!(!same(
        &rec("a.person", false, p),
        &rec(
            "a.person",
            false,
            r#"{"$storable": "person", "value": "Bob"}"#
        )
    ));
    let arr = |kind: &str, dtype: &str, shape: &str, data: &str| {
        format!(
            r#"{{"$array": {{"type": "{kind}", "dtype": "{dtype}", "shape": {shape}, "data": {data}}}}}"#
        )
    };
    assert!(!same(
        &arr("_num__barray", "float64", "[2]", "[1.0, 2.0]"),
        &arr("_num__barray", "float32", "[2]", "[1.0, 2.0]")
    ));
    assert!(!same(
        &arr("_num__barray", "float64", "[2]", "[1.0, 2.0]"),
        &arr("_num__barray", "float64", "[1, 2]", "[[1.0, 2.0]]")
    ));
    // The tolerated quirk: an empty sarray read back as a plain ndarray.
    let c = compare(
        &v(&arr("_num__sarray", "float64", "[0, 3]", "[]")),
        &v(&arr("_num__ndarray", "float64", "[0, 3]", "[]")),
    );
    assert!(c.diffs.is_empty() && c.notes.len() == 1, "{c:?}");
    assert!(!same(
        &arr("_num__sarray", "float64", "[2]", "[1.0, 2.0]"),
        &arr("_num__ndarray", "float64", "[2]", "[1.0, 2.0]")
    ));
    // An invalid object expected, an unreadable record found: reported apart.
    let c = compare(
        &v(r#"{"$invalid": "__no_file", "type": "person"}"#),
        &v(r#"{"$unreadable": "no file"}"#),
    );
    assert!(c.diffs.is_empty() && c.unreadable.len() == 1 && !c.is_clean());
}

#[test]
fn patterns_and_pointers() {
    let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
    assert!(match_pattern("a/{uuid}.npy", &format!("a/{uuid}.npy")));
    assert!(!match_pattern("a/{uuid}.npy", "a/0f8fad5b.npy"));
    assert!(!match_pattern(
        "a/{uuid}.npy",
        &format!("a/{}.npy", uuid.to_uppercase())
    ));
    assert!(!match_pattern("a/{uuid}.npy", &format!("a/{uuid}.npy.x")));
    assert!(match_pattern("plain", "plain"));
    assert_eq!(
        uuid_pattern(&format!("x/{uuid}/{uuid}.json")),
        "x/{uuid}/{uuid}.json"
    );
    assert_eq!(uuid_pattern("no uuid é here"), "no uuid é here");
    assert_eq!(at_to_pointer(""), "");
    assert_eq!(at_to_pointer("list[1]"), "/list/1");
    assert_eq!(
        at_to_pointer("_ser__content.store[0]._ser__content.exceptions.read"),
        "/_ser__content/store/0/_ser__content/exceptions/read"
    );
    assert_eq!(at_to_pointer("[0]"), "/0");
}

#[test]
fn float16_bits() {
    for x in [
        0.0,
        0.5,
        -1.25,
        65504.0,
        1.0,
        2f64.powi(-24),
        -2f64.powi(-14),
    ] {
        assert_eq!(f16_bits_to_f64(f64_to_f16_bits(x)), x, "{x}");
    }
    assert_eq!(f64_to_f16_bits(0.5), 0x3800);
    assert_eq!(f64_to_f16_bits(65504.0), 0x7bff);
    assert_eq!(f64_to_f16_bits(1e6), 0x7c00);
    let AnyArray::Raw(bytes) = AnyArray::f16(&[0.5]).unwrap() else {
        panic!("float16 is kept raw")
    };
    let header = dman::core::numeric::NpyHeader::parse(&bytes).unwrap();
    assert_eq!(header.descr, "<f2");
    assert_eq!(header.data_offset % 64, 0);
    assert_eq!(&bytes[header.data_offset..], &[0x00, 0x38]);
}

#[tokio::test]
async fn a_wrong_expected_value_is_caught_on_a_real_scenario() {
    let manifest = fixture::manifest();
    let sc = manifest.get("record_fields");
    let store: Arc<dyn StorageBackend> = fixture::memory_tree(&fixture::reference_zip()).await;
    let repo = fixture::repo(store.clone());
    let actual = scenarios::load(&repo, sc).await.unwrap().normalize().await;
    assert!(compare(&sc.value, &actual).is_clean());
    let text = json::to_string_compact(&sc.value);
    for (from, to) in [
        ("[[6.0]]", "[[6.5]]"),
        ("\"pre.npy\"", "\"pre2.npy\""),
        ("\"Dotty\"", "\"Dot\""),
        ("\"int32\"", "\"int64\""),
        ("\"preload\": true", "\"preload\": false"),
        ("\"empty\": null", "\"empty\": 1"),
    ] {
        assert!(text.contains(from), "{from}");
        let wrong = v(&text.replacen(from, to, 1));
        assert!(
            !compare(&wrong, &actual).diffs.is_empty(),
            "changing {from} to {to} went unnoticed"
        );
    }
}

#[tokio::test]
async fn file_and_marker_checks_find_differences() {
    let manifest = fixture::manifest();
    let mem = fixture::memory_tree(&fixture::reference_zip()).await;
    let store: Arc<dyn StorageBackend> = mem.clone();

    let sc = manifest.get("record_fields");
    let (diffs, files) = fixture::check_files(&store, sc).await;
    assert!(diffs.is_empty(), "{diffs:?}");
    assert_eq!(files.len(), sc.files.len());
    mem.write(
        &StoragePath::parse("ref/record_fields/extra.npy").unwrap(),
        vec![1].into(),
    )
    .await
    .unwrap();
    mem.delete(&StoragePath::parse("ref/record_fields/ann.txt").unwrap())
        .await
        .unwrap();
    let (diffs, _) = fixture::check_files(&store, sc).await;
    assert_eq!(
        diffs,
        vec![
            "files: missing ref/record_fields/ann.txt".to_string(),
            "files: unexpected ref/record_fields/extra.npy".to_string(),
        ]
    );

    let sc = manifest.get("invalid_no_file");
    let (_, files) = fixture::check_files(&store, sc).await;
    assert!(fixture::check_markers(&store, sc, &files).await.is_empty());
    // The same files checked against a scenario without markers.
    let clean = manifest.get("record_fields");
    let mut pretend = clean.clone();
    pretend.markers.clear();
    pretend.files = sc.files.clone();
    let diffs = fixture::check_markers(&store, &pretend, &files).await;
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].contains("unexpected __no_file"), "{diffs:?}");
}

#[tokio::test]
async fn the_recorder_records_every_operation() {
    let mem: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let rec = Recorder::new(mem);
    let a = StoragePath::parse("a/x").unwrap();
    let b = StoragePath::parse("b/y").unwrap();
    rec.write(&a, vec![1, 2].into()).await.unwrap();
    assert_eq!(&rec.read(&a).await.unwrap()[..], &[1, 2]);
    rec.copy(&a, &b).await.unwrap();
    assert!(rec.exists(&b).await.unwrap());
    rec.delete(&a).await.unwrap();
    assert_eq!(rec.list(&StoragePath::root()).await.unwrap().len(), 1);
    assert_eq!(
        rec.ops(),
        vec![
            Op::Write(a.clone()),
            Op::Read(a.clone()),
            Op::Copy(a.clone(), b.clone()),
            Op::Exists(b.clone()),
            Op::Delete(a.clone()),
            Op::List(StoragePath::root()),
        ]
    );
    assert_eq!(rec.writes(), vec![a.clone(), b.clone()]);
    assert_eq!(rec.reads(), vec![a.clone()]);
    assert_eq!(rec.deletes(), vec![a]);
    rec.clear();
    assert!(rec.ops().is_empty());
}
