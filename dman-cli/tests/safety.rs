//! Issue 18, points 3 and 6: a mistyped location is an error, not a
//! healthy empty tree; `clean` finds a key under any generator, takes its
//! location like every other command, has a dry run, and neither `clean`
//! nor `gc` deletes without being told to when no terminal can ask.

use dman_test_support::fixture::{getting_started_workspace, getting_started_zip};

mod common;
use common::{both, dman, stderr, stdout};

#[test]
fn missing_locations_are_errors_and_empty_ones_warnings() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    for command in ["tree", "check", "ls", "du", "gc"] {
        let o = dman(ws, &[command, "missing.zip"]);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", both(&o));
        assert!(
            stderr(&o).contains("location `missing.zip`: no archive"),
            "{command}: {}",
            both(&o)
        );
        assert!(!stdout(&o).contains("clean"), "{command}: {}", both(&o));
        assert!(!ws.join("missing.zip").exists(), "nothing made");
    }
    // `copy` opens its source the same way: nothing is copied from a typo.
    let o = dman(ws, &["copy", "missing.zip", "out"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("no archive"), "{}", both(&o));
    assert!(!ws.join("out").exists(), "no destination made");
    let o = dman(ws, &["check", "file:///no/such/folder"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(!std::path::Path::new("/no/such/folder").exists());

    // An archive's `?root=` that names nothing in it.
    let zip = getting_started_zip();
    let typo = format!("{}?root=.dmna", zip.display());
    let o = dman(ws, &["tree", &typo]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("the archive has no entry under `.dmna`"),
        "{}",
        both(&o)
    );
    let o = dman(ws, &["ls", &zip.to_string_lossy()]);
    assert!(o.status.success(), "{}", both(&o));

    // An empty `.dman`: a warning, and the empty tree.
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(dman(empty.path(), &["init"]).status.success());
    let o = dman(empty.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stderr(&o).contains("is empty"), "{}", both(&o));
    assert_eq!(stdout(&o), "checked 0 files in 0 keys: clean\n");
}

#[test]
fn clean_finds_the_key_under_any_generator_and_asks_first() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    let experiment = ws.join(".dman/cache/examples:patterns:common/experiment");

    // Without a terminal, no deletion without --yes.
    let o = dman(ws, &["clean", "experiment"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("add --yes"), "{}", both(&o));
    assert!(
        stderr(&o).contains("cache/examples:patterns:common/experiment` (7 files, 1.8 MiB)"),
        "{}",
        both(&o)
    );
    assert!(experiment.is_dir(), "nothing deleted");

    // The dry run lists what would go.
    let o = dman(ws, &["clean", "experiment", "--dry-run"]);
    assert!(o.status.success(), "{}", both(&o));
    assert_eq!(
        stdout(&o).matches("would delete cache/").count(),
        7,
        "{}",
        both(&o)
    );
    assert!(experiment.is_dir(), "nothing deleted");

    // An ambiguous name lists the candidates; a missing one says where.
    let o = dman(ws, &["clean", "config", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("demo/config") && stderr(&o).contains("names 2 keys"),
        "{}",
        both(&o)
    );
    let o = dman(ws, &["clean", "nothing", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("no key `nothing` in .dman under any generator")
            && stderr(&o).contains("the keys there: cache/examples:patterns:common/config"),
        "{}",
        both(&o)
    );

    // LOCATION is positional, as everywhere; `--yes` deletes.
    let o = dman(ws, &["clean", ".dman", "experiment", "--yes"]);
    assert!(o.status.success(), "{}", both(&o));
    assert_eq!(stdout(&o).lines().count(), 7, "{}", both(&o));
    assert!(!experiment.exists());
    let o = dman(ws, &["clean", "config", "--generator", "demo", "-y"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(!ws.join(".dman/demo").exists());
    assert_eq!(dman(ws, &["check"]).status.code(), Some(0));
}

#[test]
fn gc_asks_before_deleting() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    let stray =
        ws.join(".dman/cache/examples:patterns:common/experiment/results/experiment-0/stray.npy");
    std::fs::write(&stray, b"unreached").expect("write");
    let o = dman(ws, &["gc", "--grace", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("delete 1 file of garbage") && stderr(&o).contains("add --yes"),
        "{}",
        both(&o)
    );
    assert!(stray.exists());
    let o = dman(ws, &["gc", "--grace", "0", "--yes"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(!stray.exists());
    // Nothing to delete: nothing to ask.
    let o = dman(ws, &["gc", "--grace", "0"]);
    assert_eq!(stdout(&o), "no garbage\n", "{}", both(&o));
}
