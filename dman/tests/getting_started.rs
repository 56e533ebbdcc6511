//! The getting-started example, run as a user runs it: its tree has the
//! folders, file names (but for the uuids) and JSON of the tree Python dman
//! 1.0.1 wrote for the same script, it can run twice in a row, and Python
//! dman 1.0.1 loads what it wrote.

use std::collections::BTreeMap;
use std::path::Path;

use dman::blocking;
use dman_test_support::files::{read_tree, run_example_in};
use dman_test_support::fixture::{extract_getting_started, GETTING_STARTED_GENERATOR};
use dman_test_support::{python, seed};

/// Every file below `dir`, relative, with uuids replaced, mapped to its
/// contents (uuids replaced too) or, for `.npy` files, their sizes.
fn normalized_tree(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let uuid = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(|c: char| c.is_ascii_hexdigit()) {
            let candidate = &rest[i..];
            let is_uuid = candidate.len() >= 36
                && candidate.char_indices().take(36).all(|(k, c)| match k {
                    8 | 13 | 18 | 23 => c == '-',
                    _ => c.is_ascii_hexdigit(),
                });
            out.push_str(&rest[..i]);
            if is_uuid {
                out.push_str("{uuid}");
                rest = &candidate[36..];
            } else {
                let ch_len = candidate.chars().next().map_or(1, char::len_utf8);
                out.push_str(&candidate[..ch_len]);
                rest = &candidate[ch_len..];
            }
        }
        out.push_str(rest);
        out
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, bytes) in read_tree(dir) {
        let content = if path.ends_with(".npy") {
            format!("{} bytes", bytes.len())
        } else {
            uuid(&String::from_utf8_lossy(&bytes))
        };
        // Two arrays of a run both normalise to `{uuid}.npy`: keep every
        // content, sorted, so the order the folder lists them in does not matter.
        out.entry(uuid(&path)).or_default().push(content);
    }
    for contents in out.values_mut() {
        contents.sort();
    }
    out
}

fn python_tree() -> BTreeMap<String, Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    normalized_tree(&extract_getting_started(dir.path()))
}

#[test]
fn the_example_writes_the_python_tree_and_python_loads_it() {
    let work = tempfile::tempdir().expect("temp dir");
    // The script's place relative to the folder holding `.dman` names its
    // generator, as in Python; the example runs twice in a row.
    for _ in 0..2 {
        let stdout = run_example_in(work.path());
        assert!(
            stdout.contains("seed 1000: found among the saved runs, skipped"),
            "{stdout}"
        );
        assert!(
            stdout.contains("📂 .dman/cache/examples:patterns:common"),
            "{stdout}"
        );
        assert!(
            stdout.contains("┗━━ 📄 config.json (149 bytes)"),
            "{stdout}"
        );
    }

    let ours = normalized_tree(&work.path().join(".dman"));
    let theirs = python_tree();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "same folders and file names"
    );
    for (path, content) in &theirs {
        assert_eq!(&ours[path], content, "{path} differs from Python's");
    }

    // Python reads the arrays the example made (recomputed from its seeds),
    // and so does Rust.
    let expected = seed::example_expectation();
    let repo = dman::open(&work.path().join(".dman").to_string_lossy())
        .expect("open")
        .with_generator(GETTING_STARTED_GENERATOR);
    blocking::block_on(async {
        let runs: dman::MRuns<seed::Run> = repo.load("experiment").await.expect("load");
        let runs = runs.contents().await.expect("runs");
        assert_eq!(runs.len(), seed::SEEDS.len());
        for (run, seed_value) in runs.iter().zip(seed::SEEDS) {
            let (data, output) = seed::example_arrays(&seed::config(seed_value));
            let read = seed::loaded_arrays(run).await;
            assert_eq!(read, (&data, &output), "seed {seed_value}");
        }
        Ok(())
    })
    .expect("outside a runtime");
    let verdict = python::check_getting_started(work.path(), &expected);
    assert!(verdict.starts_with("ok "), "{verdict}");
}
