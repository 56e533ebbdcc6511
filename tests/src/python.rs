//! The project's Python with dman 1.0.1 (`scripts/setup-python.sh`, or
//! `DMAN_PYTHON`), and `tests/python/check_tree.py`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fixture::repo_root;

/// The venv's python, set up once per test binary. Panics with the
/// script's output when Python dman 1.0.1 cannot be set up: the interop
/// tests fail rather than skip.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(p) = std::env::var_os("DMAN_PYTHON").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let script = repo_root().join("scripts/setup-python.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cannot set up Python dman 1.0.1 with {} ({}):\n{stdout}\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let path = stdout
            .lines()
            .last()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| panic!("{} printed no python path", script.display()));
        PathBuf::from(path)
    })
}

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
    let script = repo_root().join("tests/python/check_tree.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(base)
        .args(scenarios)
        .args(extra)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} {}: {e}",
                python().display(),
                script.display()
            )
        });
    CheckOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
