//! Containers that hold what Python's hold, and a key copied without its
//! Rust types.
//!
//! `cargo run --example mixed` writes, in a `lab` folder of the working
//! directory, a dict of a note, a count and a label (Python:
//! `d = dman.mdict(store_by_key=True); d["alice"] = Note("hi"); d["count"] =
//! 7; d["label"] = "ctl"`), reads it back through a mixed enum, then copies
//! it as a `dman::Dynamic` into `lab/shared.zip`, unchanged.

use std::sync::Arc;

use dman::{Dynamic, FsBackend, MDict, Record, Repo, Serializable, Storable, ZipBackend};

/// Python: `@dman.storable(name="note")` with `__ext__ = ".txt"`.
#[derive(Storable, Debug, Clone, PartialEq)]
#[dman(name = "note", ext = ".txt")]
struct Note {
    text: String,
}

impl Note {
    fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.text.as_bytes().to_vec())
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, std::str::Utf8Error> {
        Ok(Note {
            text: std::str::from_utf8(bytes)?.to_string(),
        })
    }
}

/// What the dict holds: variants are tried in order when reading.
#[derive(Serializable, Debug)]
enum Entry {
    Note(Record<Note>), // a record of sto_type "note"
    Int(i64),
    Text(String),
    Other(Dynamic), // anything else, kept as it was written
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::current_dir()?.join("lab");
    std::fs::create_dir_all(&folder)?;
    let repo = Repo::new(Arc::new(FsBackend::new(&folder)?)).with_generator("mixed");

    let mut lab = MDict::new().store_by_key(true);
    lab.insert(
        "alice",
        Entry::Note(Record::new(Note { text: "hi".into() })),
    );
    lab.insert("count", Entry::Int(7));
    lab.insert("label", Entry::Text("ctl".into()));
    repo.save("lab", &lab).await?; // mixed/lab/lab.json and mixed/lab/alice.txt

    let lab: MDict<Entry> = repo.load("lab").await?;
    for (key, entry) in lab.iter() {
        match entry {
            Entry::Note(note) => println!("{key}: a note, {:?}", note.get().await?.text),
            Entry::Int(n) => println!("{key}: {n}"),
            Entry::Text(text) => println!("{key}: {text:?}"),
            Entry::Other(value) => println!("{key}: {value:?}"),
        }
    }

    // No Rust types needed to share it: the same files land in the archive.
    let any: Dynamic = repo.load("lab").await?;
    let archive = ZipBackend::create(folder.join("shared.zip"))?;
    let shared = Repo::new(Arc::new(archive)).with_generator("mixed");
    let report = shared.save("lab", &any).await?;
    println!(
        "copied into lab/shared.zip: {} files",
        report.written.len() + report.copied.len()
    );
    Ok(())
}
