//! `tests/python/selftest.sh`, the self-test of the Python side (the
//! committed reference trees load in Python dman 1.0.1 and match their
//! manifest, fresh ones match it too, and `check_tree.py` notices a damaged
//! tree), runs with every `cargo test`: the fixtures' provenance is checked
//! by the test command, not only by hand.

use std::process::Command;

use dman_test_support::{python, repo_root};

#[test]
fn the_python_fixtures_selftest_passes() {
    let script = python::script("selftest.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("DMAN_PYTHON", python::python())
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "== selftest: committed fixtures",
        " scenarios identical",
        "damaged tree reported as expected",
        "== selftest: all good",
    ] {
        assert!(stdout.contains(step), "no `{step}` in:\n{stdout}");
    }
}
