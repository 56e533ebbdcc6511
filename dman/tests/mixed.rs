//! Containers that hold what Python's hold: a dict of a storable, an int
//! and a string written by Python dman 1.0.1 loads into `MDict<Entry>`, a
//! mixed enum; Rust writes one back that Python loads; a record of the
//! wrong storable type is an error naming the file, the place and both
//! types.
//!
//! Needs the Python of scripts/setup-python.sh.

use std::path::Path;

use dman::ndarray::{ArrayD, IxDyn};
use dman::numeric::{CArray, SArray};
use dman::{MDict, MList, MRuns, Record, Repo, Serializable};
use dman_test_support::python;
use dman_test_support::storables::{Note, Person};
use indexmap::IndexMap;

#[derive(Serializable, Debug)]
enum Entry {
    Note(Record<Note>), // a record of sto_type "note"
    Int(i64),
    Text(String),
}

/// The Python side: the classes, and `save`/`check` commands.
const PYTHON: &str = r#"
import sys, os, json
import numpy as np
import dman
from dman.numeric import sarray, carray

@dman.storable(name="note")
class Note:
    __ext__ = ".txt"
    def __init__(self, text): self.text = text
    def __write__(self, path):
        with open(path, "w", encoding="utf-8") as f: f.write(self.text)
    @classmethod
    def __read__(cls, path):
        with open(path, encoding="utf-8") as f: return cls(f.read())

@dman.storable(name="person")
class Person:
    __ext__ = ".person"
    def __init__(self, name): self.name = name
    def __write__(self, path):
        with open(path, "w", encoding="utf-8") as f: f.write(self.name)
    @classmethod
    def __read__(cls, path):
        with open(path, encoding="utf-8") as f: return cls(f.read())

def plain(v):
    if isinstance(v, np.ndarray): return {type(v).__name__: v.tolist()}
    if isinstance(v, Note): return {"note": v.text}
    if isinstance(v, Person): return {"person": v.name}
    if isinstance(v, (dman.mdict, dict)): return {k: plain(v[k]) for k in v}
    if isinstance(v, (dman.mlist, dman.mruns, list)): return [plain(x) for x in v]
    return v

os.chdir(sys.argv[2])
if sys.argv[1] == "save":
    d = dman.mdict(store_by_key=True)
    d["alice"] = Note("hi"); d["count"] = 7; d["label"] = "ctl"
    dman.save("lab", d, generator="gen")
    l = dman.mlist([Person("bob"), 1, "two"])
    dman.save("people", l, generator="gen")
    arrays = {
        "s": np.array([1.5, 2.5]).view(sarray),
        "c": np.array([[1.0, 2.0], [3.0, 4.0]]).view(carray),
        "nd": np.array([0.5, -1.0, 2.0]),
        "scalar": 3.5,
    }
    dman.save("arrays", arrays, generator="gen")
else:
    print(json.dumps(plain(dman.load(sys.argv[3], generator="gen")), sort_keys=True))
"#;

fn python(args: &[&str], dir: &Path) -> String {
    let script = dir.join("mixed.py");
    std::fs::write(&script, PYTHON).expect("write the script");
    let mut all = vec![script.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    python::run(&all)
}

fn repo_in(dir: &Path) -> Repo {
    std::fs::create_dir_all(dir.join(".dman")).expect("mkdir .dman");
    dman::open(&dir.join(".dman").display().to_string())
        .expect("open the folder")
        .with_generator("gen")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_mixed_dict_loads_and_is_written_back() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::create_dir(dir.join(".dman")).expect("mkdir .dman");
    python(&["save", &dir.display().to_string()], dir);
    let repo = repo_in(dir);

    // Python: d = dman.mdict(store_by_key=True); d["alice"] = Note("hi"); d["count"] = 7; d["label"] = "ctl"; dman.save("lab", d)
    let d: MDict<Entry> = repo.load("lab").await?;
    match d.get("alice") {
        Some(Entry::Note(r)) => assert_eq!(r.get().await?.text, "hi"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.get("count"), Some(Entry::Int(7))));
    assert!(matches!(d.get("label"), Some(Entry::Text(t)) if t == "ctl"));

    let mut out = MDict::new().store_by_key(true);
    out.insert(
        "alice",
        Entry::Note(Record::new(Note { text: "hi".into() })),
    );
    out.insert("count", Entry::Int(7));
    repo.save("lab2", &out).await?; // Python loads it: a Note and 7

    // The record is named after its key, as Python names it.
    let lab2 = dir.join(".dman/gen/lab2");
    assert_eq!(
        std::fs::read_to_string(lab2.join("alice.txt")).expect("alice.txt"),
        "hi"
    );
    let loaded = python(&["check", &dir.display().to_string(), "lab2"], dir);
    assert_eq!(loaded.trim(), r#"{"alice": {"note": "hi"}, "count": 7}"#);

    // No Rust types needed: the same files under another base.
    let other_repo = repo_in(&dir.join("other"));
    let any: dman::Dynamic = repo.load("lab").await?; // no Rust types needed
    other_repo.save("lab", &any).await?; // same files, byte for byte
    for name in ["lab.json", "alice.txt"] {
        let original = std::fs::read(dir.join(".dman/gen/lab").join(name)).expect("original");
        let copy = std::fs::read(dir.join("other/.dman/gen/lab").join(name)).expect("copy");
        assert_eq!(copy, original, "{name}");
    }

    // Changing a mixed dict: a replaced record's file goes after the save.
    let mut d: MDict<Entry> = repo.load("lab2").await?;
    d.insert("alice", Entry::Text("gone".into()));
    repo.save("lab2", &d).await?;
    assert!(!lab2.join("alice.txt").exists(), "auto-clean removed it");
    let loaded = python(&["check", &dir.display().to_string(), "lab2"], dir);
    assert_eq!(loaded.trim(), r#"{"alice": "gone", "count": 7}"#);
    Ok(())
}

#[derive(Serializable, Debug)]
enum Member {
    Person(Record<Person>),
    Note(Record<Note>),
    Int(i64),
    Text(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_lists_and_runs_round_trip_through_python() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::create_dir(dir.join(".dman")).expect("mkdir .dman");
    python(&["save", &dir.display().to_string()], dir);
    let repo = repo_in(dir);

    // Python: dman.save("people", dman.mlist([Person("bob"), 1, "two"]))
    let people: MList<Member> = repo.load("people").await?;
    assert_eq!(people.len(), 3);
    match people.get(0) {
        Some(Member::Person(r)) => assert_eq!(r.get().await?.name, "bob"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(people.get(1), Some(Member::Int(1))));
    assert!(matches!(people.get(2), Some(Member::Text(t)) if t == "two"));

    // Only records take a run number, as in Python's mruns.
    let mut runs: MRuns<Member> = MRuns::new();
    runs.push(Member::Int(3));
    runs.push(Member::Note(Record::new(Note { text: "a".into() })));
    runs.push(Member::Text("x".into()));
    runs.push(Member::Person(Record::new(Person { name: "eve".into() })));
    assert_eq!(runs.run_count(), 2);
    repo.save("runs", &runs).await?;
    let key = dir.join(".dman/gen/runs");
    assert!(key.join("run-0/run.txt").is_file());
    assert!(key.join("run-1/run.person").is_file());
    let loaded = python(&["check", &dir.display().to_string(), "runs"], dir);
    assert_eq!(
        loaded.trim(),
        r#"[3, {"note": "a"}, "x", {"person": "eve"}]"#
    );

    // Removing a run that is a record deletes its folder's file after the save.
    let mut runs: MRuns<Member> = repo.load("runs").await?;
    assert!(matches!(runs.remove(1), Some(Member::Note(_))));
    repo.save("runs", &runs).await?;
    assert!(!key.join("run-0/run.txt").exists());
    let loaded = python(&["check", &dir.display().to_string(), "runs"], dir);
    assert_eq!(loaded.trim(), r#"[3, "x", {"person": "eve"}]"#);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_matches_no_variant_names_file_place_and_value() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::create_dir(dir.join(".dman")).expect("mkdir .dman");
    python(&["save", &dir.display().to_string()], dir);
    let repo = repo_in(dir);

    // A person record where only notes, ints and strings may be.
    let err = repo
        .load::<MList<Entry>>("people")
        .await
        .expect_err("a person is no Entry");
    let msg = err.to_string();
    for part in ["people.json", "store[0]", "Entry", "person", "Record<Note>"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }

    // A typed list of notes pointing at a person file: both type names.
    let err = repo
        .load::<MList<Note>>("people")
        .await
        .expect_err("a person is no note");
    let msg = err.to_string();
    for part in ["people.json", "store[0]", "`person`", "`note`"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
}

/// What a plain Python dict of numeric values may hold.
#[derive(Serializable, Debug)]
enum Numeric {
    S(SArray<f64, IxDyn>),
    C(CArray<f64, IxDyn>),
    Nd(ArrayD<f64>),
    Scalar(f64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_dict_of_mixed_arrays_loads_into_an_indexmap() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::create_dir(dir.join(".dman")).expect("mkdir .dman");
    python(&["save", &dir.display().to_string()], dir);
    let repo = repo_in(dir);

    // Python: {"s": sarray, "c": carray, "nd": ndarray, "scalar": 3.5}
    let arrays: IndexMap<String, Numeric> = repo.load("arrays").await?;
    assert_eq!(
        arrays.keys().collect::<Vec<_>>(),
        ["s", "c", "nd", "scalar"]
    );
    assert!(matches!(&arrays["s"], Numeric::S(a) if a.0.as_slice() == Some(&[1.5, 2.5][..])));
    assert!(matches!(&arrays["c"], Numeric::C(a) if a.0.shape() == [2, 2] && a.0[[1, 0]] == 3.0));
    assert!(matches!(&arrays["nd"], Numeric::Nd(a) if a.as_slice() == Some(&[0.5, -1.0, 2.0][..])));
    assert!(matches!(arrays["scalar"], Numeric::Scalar(x) if x == 3.5));

    // Written back by Rust, Python reads the same values and types.
    repo.save("arrays2", &arrays).await?;
    let before = python(&["check", &dir.display().to_string(), "arrays"], dir);
    let after = python(&["check", &dir.display().to_string(), "arrays2"], dir);
    assert_eq!(after, before);
    assert!(after.contains(r#""s": {"sarray": [1.5, 2.5]}"#), "{after}");
    assert!(after.contains(r#""scalar": 3.5"#), "{after}");
    Ok(())
}

/// `examples/mixed.rs`, the README's example, runs as shown.
#[test]
fn the_mixed_example_runs() {
    let work = tempfile::tempdir().expect("temp dir");
    let binary = dman_test_support::files::example("mixed", "dman");
    let out =
        dman_test_support::files::run(std::process::Command::new(binary).current_dir(work.path()));
    assert_eq!(
        out,
        "alice: a note, \"hi\"\ncount: 7\nlabel: \"ctl\"\ncopied into lab/shared.zip: 2 files\n"
    );
    let key = work.path().join("lab/mixed/lab");
    let zipped = dman_test_support::fixture::zip_files(&work.path().join("lab/shared.zip"));
    for (name, bytes) in zipped {
        let file = name
            .strip_prefix("mixed/lab/")
            .expect("in the key's folder");
        assert_eq!(
            std::fs::read(key.join(file)).expect("the folder's copy"),
            bytes,
            "{file}"
        );
    }
}

/// A modelclass item holding a record.
#[derive(dman::Modelclass, Debug)]
#[dman(name = "holder")]
struct Holder {
    label: String,
    note: Record<Note>,
}

#[derive(Serializable, Debug)]
enum Held {
    Holder(Holder),
    Int(i64),
}

/// Removing a modelclass item deletes its records' files after the save,
/// as Python's `remove` of a modelclass does.
#[tokio::test]
async fn a_removed_modelclass_item_takes_its_records_along() -> dman::Result<()> {
    let store: std::sync::Arc<dyn dman::StorageBackend> =
        std::sync::Arc::new(dman::MemoryBackend::new());
    let repo = Repo::new(store.clone());
    let notes = || async {
        let all = store.list(&dman::StoragePath::root()).await.expect("list");
        all.iter()
            .filter(|m| m.path.as_str().ends_with(".txt"))
            .count()
    };
    let mut list = MList::new();
    list.push(Held::Holder(Holder {
        label: "a".into(),
        note: Record::new(Note::new("kept until removed")),
    }));
    list.push(Held::Int(1));
    repo.save("held", &list).await?;
    assert_eq!(notes().await, 1);

    let mut list: MList<Held> = repo.load("held").await?;
    match list.get(0) {
        Some(Held::Holder(h)) => assert_eq!(h.note.get().await?.text, "kept until removed"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(list.remove(0), Some(Held::Holder(_))));
    repo.save("held", &list).await?;
    assert_eq!(notes().await, 0, "the removed holder's note is gone");
    Ok(())
}
