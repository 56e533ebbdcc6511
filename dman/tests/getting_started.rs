//! The getting-started example, run as a user runs it: its tree has the
//! folders, file names (but for the uuids) and JSON of the tree Python dman
//! 1.0.1 wrote for the same script, it can run twice in a row, and Python
//! dman 1.0.1 loads what it wrote.

mod common;

use common::{digest, example_binary, python, repo_root, Run};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use dman::blocking::{self, ContentsExt, RecordExt};
use dman::MRuns;

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
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .expect("relative")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("read");
            let content = if rel.ends_with(".npy") {
                format!("{} bytes", bytes.len())
            } else {
                uuid(&String::from_utf8_lossy(&bytes))
            };
            // Two arrays of a run both normalise to `{uuid}.npy`: keep every
            // content, sorted, so the order the folder lists them in does not matter.
            out.entry(uuid(&rel)).or_default().push(content);
        }
    }
    for contents in out.values_mut() {
        contents.sort();
    }
    out
}

fn python_tree() -> BTreeMap<String, Vec<String>> {
    let fixture = repo_root().join("../shared/fixtures/python-dman-1.0.1/getting-started.zip");
    let file = std::fs::File::open(&fixture).expect("fixture zip");
    let mut archive = zip::ZipArchive::new(file).expect("zip");
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let Some(name) = entry.enclosed_name() else {
            panic!("fixture entry escapes")
        };
        let dest = dir.path().join(name);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read entry");
        std::fs::write(dest, bytes).expect("write");
    }
    normalized_tree(&dir.path().join(".dman"))
}

#[test]
fn the_example_writes_the_python_tree_and_python_loads_it() {
    let work = tempfile::tempdir().expect("temp dir");
    // The script's place relative to the folder holding `.dman` names its
    // generator, as in Python.
    std::fs::create_dir_all(work.path().join("examples/patterns")).expect("mkdir");
    std::fs::write(
        work.path().join("examples/patterns/common.rs"),
        "// placeholder\n",
    )
    .expect("write");

    for run in 0..2 {
        let out = Command::new(example_binary())
            .current_dir(work.path())
            .output()
            .expect("run example");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "run {run}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
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

    // What Rust reads, Python must read too.
    let repo = blocking::Repo::from(
        dman::open(&work.path().join(".dman").to_string_lossy())
            .expect("open")
            .with_generator("cache/examples:patterns:common"),
    );
    let runs: MRuns<Run> = repo.load("experiment").expect("load");
    let mut expected = Vec::new();
    for run in runs.contents_blocking().expect("runs") {
        let data = run
            .data
            .as_ref()
            .expect("data")
            .get_blocking()
            .expect("data array");
        let output = run
            .output
            .as_ref()
            .expect("output")
            .get_blocking()
            .expect("output array");
        expected.push(format!(
            r#"{{"seed": {}, "data": "{}", "output": "{}"}}"#,
            run.config.seed,
            digest(data),
            digest(output)
        ));
    }
    assert_eq!(expected.len(), 2);
    let expected_path = work.path().join("expected.json");
    std::fs::write(
        &expected_path,
        format!(r#"{{"runs": [{}]}}"#, expected.join(", ")),
    )
    .expect("write expected");
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/check_getting_started.py"))
        .arg(work.path())
        .arg(&expected_path)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "Python dman 1.0.1 disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
