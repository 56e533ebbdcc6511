//! `dman::Dynamic` on a tree of types dman-rs has no Rust type for
//! (written by tests/python/unknown_types.py with Python dman 1.0.1): a
//! storable of its own format, a serializable dataclass, a modelclass with
//! a record, a storable smdict with a record inside, an integer beyond 64
//! bits. Loaded as `Dynamic` and saved to another folder or into a zip
//! archive, the copy has the same files byte for byte and Python loads
//! every object back with its values. `Dynamic` reads (walk, index,
//! follow a record) and changes (insert, push, remove with auto-clean).
//!
//! Needs the Python of scripts/setup-python.sh.

use std::collections::BTreeMap;
use std::path::Path;

use dman::{Dynamic, MDict, Record, Repo, Serializable, Storable, ZipBackend};
use dman_test_support::fixture::extract_zip;
use dman_test_support::python;

fn unknown_types(command: &str, dir: &Path) -> String {
    let script = python::script("unknown_types.py");
    python::run(&[script.as_os_str(), command.as_ref(), dir.as_os_str()])
}

fn folder_repo(dir: &Path) -> Repo {
    let root = dir.join(".dman");
    std::fs::create_dir_all(&root).expect("mkdir .dman");
    dman::open(&root.display().to_string())
        .expect("open the folder")
        .with_generator("gen")
}

/// Every file under `dir/.dman/gen/unknown`, by name.
fn key_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let key = dir.join(".dman/gen/unknown");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&key).expect("the key's folder") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        out.insert(name, std::fs::read(entry.path()).expect("read"));
    }
    out
}

/// Python's view of the original, as `show` prints it.
const SHOWN: &str = r#"{"big": {"bigint": "1180591620717411303424"}, "blob": {"blob": "00012072617720fe"}, "gadget": {"gadget": {"name": "g", "size": 3}}, "inner": {"deep": {"blob": "646565702000ff"}, "n": 1}, "items": [1, 2.5, "three", null, true], "rig": {"rig": {"blob": {"blob": "726967206279746573"}, "label": "r"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_survive_a_copy_to_a_folder_and_a_zip() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let original = work.path().join("original");
    folder_repo(&original);
    unknown_types("write", &original);
    assert_eq!(unknown_types("show", &original).trim(), SHOWN);
    let files = key_files(&original);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "blob.blob",
            "deep.blob",
            "inner.json",
            "rig.blob",
            "unknown.json"
        ]
    );

    // Into another folder: no Rust types needed.
    let any: Dynamic = folder_repo(&original).load("unknown").await?;
    let copy = work.path().join("copy");
    folder_repo(&copy).save("unknown", &any).await?;
    assert_eq!(key_files(&copy), files, "the same files, byte for byte");
    assert_eq!(unknown_types("show", &copy).trim(), SHOWN);

    // Into a zip archive, with its content files read first this time (the
    // nested smdict's record is followed through its JSON file).
    let any: Dynamic = folder_repo(&original).load("unknown").await?;
    for (_, record) in any.records() {
        let content = record.get().await?;
        if record.sto_type() == "_sto__smdict" {
            let inner = content.graph().expect("a JSON graph");
            let deep = inner.get("store").and_then(|store| store.get("deep"));
            assert!(deep.and_then(Dynamic::as_record).is_some());
        } else {
            assert!(content.bytes().is_some());
        }
    }
    let archive = work.path().join("shared.zip");
    let zip = ZipBackend::builder(&archive)
        .root(".dman")
        .create()
        .expect("archive");
    Repo::new(std::sync::Arc::new(zip))
        .with_generator("gen")
        .save("unknown", &any)
        .await?;
    let unzipped = work.path().join("unzipped");
    extract_zip(&archive, &unzipped);
    let mut zipped = key_files(&unzipped);
    // A folder repository writes the generator's `.gitignore` the same way.
    zipped.retain(|name, _| name != ".gitignore");
    assert_eq!(zipped, files, "the same files, byte for byte");
    assert_eq!(unknown_types("show", &unzipped).trim(), SHOWN);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_reads_and_changes_what_python_wrote() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let repo = folder_repo(dir);
    unknown_types("write", dir);

    let mut any: Dynamic = repo.load("unknown").await?;
    // Read: index by key (an mdict's items), by position, walk.
    assert_eq!(any.type_name(), Some("_ser__mdict"));
    let gadget = any.get("gadget").expect("gadget");
    assert_eq!(gadget.type_name(), Some("gadget"));
    assert_eq!(gadget.get("size").and_then(Dynamic::as_i64), Some(3));
    let items = any.get("items").expect("items");
    assert_eq!(items.at(1).and_then(Dynamic::as_f64), Some(2.5));
    assert!(items.at(3).is_some_and(Dynamic::is_null));
    assert!(matches!(any.get("big"), Some(Dynamic::BigInt(d)) if d == "1180591620717411303424"));
    let mut places = Vec::new();
    any.walk(|at, value| {
        if value.as_record().is_some() {
            places.push(at.to_string());
        }
    });
    assert_eq!(places, ["store.blob", "store.rig.blob", "store.inner"]);
    // Follow a record.
    let blob = any
        .get("blob")
        .and_then(Dynamic::as_record)
        .expect("record");
    assert_eq!(blob.sto_type(), "blob");
    assert!(!blob.is_loaded(), "read on first access only");
    let bytes = blob.get().await?.bytes().expect("bytes").clone();
    assert_eq!(&bytes[..], b"\x00\x01 raw \xfe");

    // Change: set a value, push an item, remove a record.
    any.insert("count", 7);
    any.get_mut("items")
        .expect("items")
        .push("four")
        .expect("a list");
    let removed = any.remove("blob").expect("removed");
    assert!(removed.as_record().is_some());
    repo.save("unknown", &any).await?;
    let key = dir.join(".dman/gen/unknown");
    assert!(!key.join("blob.blob").exists(), "auto-clean deleted it");
    assert!(key.join("rig.blob").exists() && key.join("deep.blob").exists());
    let shown = unknown_types("show", dir);
    assert!(shown.contains(r#""count": 7"#), "{shown}");
    assert!(
        shown.contains(r#""items": [1, 2.5, "three", null, true, "four"]"#),
        "{shown}"
    );
    assert!(!shown.contains(r#""blob": {"blob": "0001"#), "{shown}");

    // Removing the smdict record takes the records inside its file along.
    let mut any: Dynamic = repo.load("unknown").await?;
    any.remove("inner");
    repo.save("unknown", &any).await?;
    assert!(!key.join("inner.json").exists());
    assert!(!key.join("deep.blob").exists(), "nested record cleaned");
    assert!(key.join("rig.blob").exists());
    Ok(())
}

#[derive(Storable, Debug, Clone, PartialEq)]
#[dman(name = "blob", ext = ".blob")]
struct Blob {
    data: Vec<u8>,
}

impl Blob {
    fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.data.clone())
    }
    fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        Ok(Blob {
            data: bytes.to_vec(),
        })
    }
}

/// Known types first, anything else kept as it is.
#[derive(Serializable, Debug)]
enum Known {
    Blob(Record<Blob>),
    Int(i64),
    Other(Dynamic),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_is_the_catch_all_of_a_mixed_enum() -> dman::Result<()> {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let repo = folder_repo(dir);
    unknown_types("write", dir);
    let before = key_files(dir);

    let mut d: MDict<Known> = repo.load("unknown").await?;
    match d.get("blob") {
        Some(Known::Blob(r)) => assert_eq!(r.get().await?.data, b"\x00\x01 raw \xfe"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.get("gadget"), Some(Known::Other(g)) if g.type_name() == Some("gadget")));
    assert!(matches!(
        d.get("big"),
        Some(Known::Other(Dynamic::BigInt(_)))
    ));
    assert!(matches!(
        d.get("inner"),
        Some(Known::Other(Dynamic::Record(_)))
    ));

    // Saved unchanged elsewhere: the same files.
    let copy = work.path().join("copy");
    folder_repo(&copy).save("unknown", &d).await?;
    assert_eq!(key_files(&copy), before);

    // A new record of a type Rust does not know, next to a known one.
    let record = dman::DynRecord::new("blob", ".blob", &b"new blob"[..]);
    d.insert("fresh", Known::Other(record.into()));
    d.insert(
        "typed",
        Known::Blob(Record::new(Blob {
            data: b"typed".to_vec(),
        })),
    );
    repo.save("unknown", &d).await?;
    let after = key_files(dir);
    assert_eq!(
        after.get("fresh.blob").map(Vec::as_slice),
        Some(&b"new blob"[..])
    );
    assert_eq!(
        after.get("typed.blob").map(Vec::as_slice),
        Some(&b"typed"[..])
    );
    let shown = unknown_types("show", dir);
    assert!(
        shown.contains(r#""fresh": {"blob": "6e657720626c6f62"}"#),
        "{shown}"
    );
    assert!(
        shown.contains(r#""typed": {"blob": "7479706564"}"#),
        "{shown}"
    );
    Ok(())
}
