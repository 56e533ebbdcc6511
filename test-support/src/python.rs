//! The project's Python with dman 1.0.1, numpy and moto, and the scripts of
//! `tests/python` that judge what dman-rs wrote.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::repo_root;

/// The Python of the tests: `DMAN_PYTHON` when set (as `scripts/test.sh`
/// sets it), else the venv `scripts/setup-python.sh` sets up, run once per
/// process (tests that ask at the same time wait for that one run). Panics
/// with the script's output when Python dman 1.0.1 cannot be had: the
/// interop tests fail, never skip.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(path) = std::env::var_os("DMAN_PYTHON").filter(|path| !path.is_empty()) {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "DMAN_PYTHON names {}, which does not exist: unset it, or run scripts/setup-python.sh",
                path.display()
            );
            return path;
        }
        let script = repo_root().join("scripts/setup-python.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
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
            .filter(|line| !line.is_empty())
            .unwrap_or_else(|| panic!("{} printed no python path", script.display()));
        PathBuf::from(path)
    })
}

/// A command running the project's Python.
pub fn command() -> Command {
    Command::new(python())
}

/// `tests/python/<name>`.
pub fn script(name: &str) -> PathBuf {
    let path = repo_root().join("tests/python").join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// Runs `python ARGS...`, asserting that it succeeds; gives its stdout.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    crate::files::run(command().args(args))
}

/// Python dman 1.0.1 judges the getting-started tree under
/// `workspace/.dman`: `expected` is what [`crate::seed::expectation`] gives
/// (written to `workspace/expected.json`). Panics with the differences
/// Python found; gives its verdict, `ok N checks`.
pub fn check_getting_started(workspace: &Path, expected: &str) -> String {
    let expected_path = workspace.join("expected.json");
    std::fs::write(&expected_path, expected)
        .unwrap_or_else(|err| panic!("write {}: {err}", expected_path.display()));
    let out = command()
        .arg(script("check_getting_started.py"))
        .arg(workspace)
        .arg(&expected_path)
        .output()
        .unwrap_or_else(|err| panic!("run check_getting_started.py: {err}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "Python dman 1.0.1 disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
