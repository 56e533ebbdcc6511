//! `tests/python/check_tree.py`, run with the project's Python
//! (`dman_test_support::python`).

use std::path::Path;

use dman_test_support::python;

/// What `check_tree.py` said.
#[derive(Debug)]
pub struct CheckOutput {
    /// Exit status 0.
    pub success: bool,
    /// Its standard output (`ok <n> checks` or the differences).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl CheckOutput {
    /// `n` of the final `ok <n> checks` line, if that is how it ended.
    pub fn ok_checks(&self) -> Option<u64> {
        let last = self.stdout.lines().last()?.trim();
        last.strip_prefix("ok ")?
            .strip_suffix(" checks")?
            .parse()
            .ok()
    }
}

/// Runs `check_tree.py BASE SCENARIO... EXTRA...` with the project's Python.
pub fn check_tree(base: &Path, scenarios: &[&str], extra: &[&str]) -> CheckOutput {
    let script = python::script("check_tree.py");
    let out = python::command()
        .arg(&script)
        .arg(base)
        .args(scenarios)
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    CheckOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
