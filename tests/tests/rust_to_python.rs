//! dman-rs → Python dman 1.0.1: every round-trippable scenario written from
//! Rust (generator `ref`, key = scenario name, the options Python used in
//! `make_reference_trees.py`) loads in Python dman 1.0.1 with the values of
//! `expected.json` (`tests/python/check_tree.py`), and its files are
//! Python's, byte for byte but for the uuids in file names.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use dman::{FsBackend, StorageBackend};
use dman_tests::fixture::{self, Manifest};
use dman_tests::norm;
use dman_tests::python;
use dman_tests::scenarios::{self, WRITTEN};

/// Writes every scenario into `<dir>/.dman` and returns the backend.
async fn write_tree(dir: &Path) -> Arc<dyn StorageBackend> {
    let store: Arc<dyn StorageBackend> =
        Arc::new(FsBackend::new(dir.join(".dman")).expect("fs backend"));
    scenarios::write_all(&fixture::repo(store.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
}

#[test]
fn every_round_trippable_scenario_is_written() {
    let manifest = fixture::manifest();
    let both: BTreeSet<&str> = manifest
        .scenarios
        .iter()
        .filter(|s| s.round_trips())
        .map(|s| s.name.as_str())
        .collect();
    let written: BTreeSet<&str> = WRITTEN.iter().copied().collect();
    assert_eq!(written.len(), WRITTEN.len(), "a scenario is listed twice");
    assert_eq!(
        written, both,
        "WRITTEN must be exactly the scenarios with \"direction\": \"both\""
    );
}

#[tokio::test]
async fn python_dman_loads_every_tree_rust_wrote() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = write_tree(dir.path()).await;
    let manifest = fixture::manifest();

    // Rust reads back what it wrote, with the checks it applies to Python's
    // trees, so that a difference shows up here in Rust's terms first.
    let repo = fixture::repo(store.clone());
    for name in WRITTEN {
        let sc = manifest.get(name);
        let loaded = scenarios::load(&repo, sc)
            .await
            .unwrap_or_else(|e| panic!("{name}: Rust cannot load its own tree: {e}"));
        let c = norm::compare(&sc.value, &loaded.normalize().await);
        assert!(c.is_clean(), "{name}: {:#?}", c);
        let (diffs, files) = fixture::check_files(&store, sc).await;
        assert!(diffs.is_empty(), "{name}: {diffs:?}");
        let diffs = fixture::check_markers(&store, sc, &files).await;
        assert!(diffs.is_empty(), "{name}: {diffs:?}");
    }

    let base = dir.path().join(".dman");
    let out = python::check_tree(&base, WRITTEN, &[]);
    println!("check_tree.py on the tree dman-rs wrote:\n{}", out.stdout);
    assert!(
        out.success,
        "Python dman 1.0.1 disagrees with the tree dman-rs wrote:\n{}\n{}",
        out.stdout, out.stderr
    );
    let checks = out
        .ok_checks()
        .unwrap_or_else(|| panic!("no `ok <n> checks` line:\n{}", out.stdout));
    println!("ok {checks} checks");

    // As many checks as on Python's own tree for the same scenarios: the
    // same files, values and markers were compared.
    let reference = python::check_tree(&fixture::reference_zip(), WRITTEN, &[]);
    assert!(
        reference.success,
        "{}\n{}",
        reference.stdout, reference.stderr
    );
    assert_eq!(
        Some(checks),
        reference.ok_checks(),
        "check count differs from Python's own tree"
    );
}

/// The files of Python's tree that belong to scenarios dman-rs writes, and
/// the `.gitignore` lines that name them.
fn python_files(manifest: &Manifest) -> Vec<(String, Vec<u8>)> {
    let skipped: Vec<String> = manifest
        .scenarios
        .iter()
        .filter(|s| !s.round_trips())
        .map(|s| s.key_folder())
        .collect();
    let skipped_keys: Vec<&str> = manifest
        .scenarios
        .iter()
        .filter(|s| !s.round_trips())
        .map(|s| s.key.as_str())
        .collect();
    fixture::read_zip(&fixture::reference_zip())
        .into_iter()
        .filter(|(name, _)| !skipped.iter().any(|f| name.starts_with(&format!("{f}/"))))
        .map(|(name, bytes)| {
            if name.ends_with(".gitignore") {
                let text = String::from_utf8(bytes).expect("text");
                let kept: Vec<&str> = text
                    .split('\n')
                    .filter(|l| !skipped_keys.contains(l))
                    .collect();
                (name, kept.join("\n").into_bytes())
            } else {
                (name, bytes)
            }
        })
        .collect()
}

/// `.gitignore` lines, uuids replaced, sorted again (their order follows
/// the uuids).
fn normalize_gitignores(files: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|(name, content)| {
            if name.ends_with(".gitignore") {
                let mut lines: Vec<&str> = content.split('\n').collect();
                lines.sort();
                (name, lines.join("\n"))
            } else {
                (name, content)
            }
        })
        .collect();
    out.sort();
    out
}

/// Files whose bytes differ from Python's on purpose: numpy writes
/// big-endian data as it is in memory; dman-rs writes native (little-endian)
/// data for the same values. Python reads both as the same dtype and values
/// (checked by `python_dman_loads_every_tree_rust_wrote`).
const BYTE_DEVIATIONS: &[&str] = &[
    "ref/barrays/i32_big_endian.npy",
    "ref/barrays_more_dtypes/f64_big_endian.npy",
];

#[tokio::test]
async fn files_are_pythons_byte_for_byte_but_for_uuids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = write_tree(dir.path()).await;
    let manifest = fixture::manifest();

    let ours = fixture::snapshot(&store).await;
    let theirs = python_files(&manifest);
    let keep = |files: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        files
            .into_iter()
            .filter(|(name, _)| !BYTE_DEVIATIONS.contains(&name.as_str()))
            .collect()
    };
    let ours = normalize_gitignores(fixture::uuid_free(&keep(ours)));
    let theirs = normalize_gitignores(fixture::uuid_free(&keep(theirs)));

    let names = |files: &[(String, String)]| -> BTreeSet<String> {
        files.iter().map(|(n, _)| n.clone()).collect()
    };
    let (our_names, their_names) = (names(&ours), names(&theirs));
    let only_ours: Vec<_> = our_names.difference(&their_names).collect();
    let only_theirs: Vec<_> = their_names.difference(&our_names).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "file names differ from Python's:\n  only dman-rs: {only_ours:?}\n  only Python: {only_theirs:?}"
    );
    let mut diffs = Vec::new();
    for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
        if a != b {
            let cut = |s: &str| s.chars().take(400).collect::<String>();
            diffs.push(format!(
                "{name}:\n--- dman-rs\n{}\n--- Python\n{}",
                cut(a),
                cut(b)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} files differ from Python's:\n{}",
        diffs.len(),
        ours.len(),
        diffs.join("\n")
    );
    assert!(ours.len() > 150, "only {} files compared", ours.len());

    // The deviations hold the same values: same header but for the byte
    // order, and the data byte-swapped.
    for name in BYTE_DEVIATIONS {
        let path = dman::StoragePath::parse(name).unwrap();
        let ours = store.read(&path).await.unwrap();
        let theirs = fixture::read_zip(&fixture::reference_zip())
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        let header = dman::core::numeric::NpyHeader::parse(&theirs).unwrap();
        let (oh, th) = (&ours[..header.data_offset], &theirs[..header.data_offset]);
        let swapped: Vec<u8> = th
            .iter()
            .map(|&b| if b == b'>' { b'<' } else { b })
            .collect();
        assert_eq!(
            oh,
            &swapped[..],
            "{name}: headers differ beyond the byte order"
        );
        let size = if name.ends_with("f64_big_endian.npy") {
            8
        } else {
            4
        };
        for (o, t) in ours[header.data_offset..]
            .chunks(size)
            .zip(theirs[header.data_offset..].chunks(size))
        {
            let mut t = t.to_vec();
            t.reverse();
            assert_eq!(o, &t[..], "{name}: data differs");
        }
    }
}
