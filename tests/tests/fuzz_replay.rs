//! Replays every committed fuzz input through the fuzz targets' bodies, on
//! stable: the minimised corpora (`fuzz/corpus/<target>/`) and the inputs
//! that once crashed a target (`fuzz/regressions/<target>/`). The bodies
//! are `fuzz/src/lib.rs` itself, included here as a module, so what the
//! fuzzers run and what this test runs cannot drift apart; a target fails
//! by panicking (or by overflowing the stack, which ends this test binary).

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the folder does
/// not exist.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("list a fuzz folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `body` on every corpus and regression input of `target`, naming
/// the input when it panics; gives how many corpus inputs there were.
fn replay(target: &str, body: impl Fn(&[u8])) -> usize {
    let corpus = files("corpus", target);
    for path in corpus.iter().chain(&files("regressions", target)) {
        let data = std::fs::read(path).expect("read a fuzz input");
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&data)));
        if run.is_err() {
            panic!("fuzz target `{target}` panics on {}", path.display());
        }
    }
    corpus.len()
}

/// Every target has a committed corpus, and each of its inputs runs.
fn replay_corpus(target: &str, body: impl Fn(&[u8])) {
    let count = replay(target, body);
    assert!(count > 0, "no corpus for fuzz target `{target}`");
}

#[test]
fn json() {
    replay_corpus("json", targets::json);
}

#[test]
fn npy() {
    replay_corpus("npy", targets::npy);
}

#[test]
fn zip() {
    replay_corpus("zip", |data| {
        targets::zip(data);
    });
}

#[test]
fn storage_path() {
    replay_corpus("storage_path", targets::storage_path);
}

#[test]
fn graph() {
    replay_corpus("graph", |data| {
        targets::graph(data);
    });
}

#[test]
fn typed() {
    replay_corpus("typed", |data| {
        targets::typed(data);
    });
}

/// The typed target reaches every record of a saved `Experiment` (three
/// runs in containers and one in a record, each with two arrays, and the
/// weights: 13), and the graph target follows each of its files: the
/// targets exercise the loaders, not only their first refusal.
#[test]
fn the_targets_reach_every_record_of_a_saved_graph() {
    let seed = targets::typed_seed().expect("save the seed experiment");
    assert_eq!(targets::typed(&seed), 13);
    let files = targets::split_files(&seed).len();
    assert_eq!(targets::graph(&seed), files - 1);
}

/// The zip target opens a real archive and reads each of its entries (the
/// getting-started archive Python dman's tree was zipped into: 11 files).
#[test]
fn the_zip_target_reads_every_entry_of_a_real_archive() {
    let archive =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/getting-started/getting-started.zip");
    let data = std::fs::read(&archive).expect("the getting-started archive");
    assert_eq!(targets::zip(&data), 11);
}
