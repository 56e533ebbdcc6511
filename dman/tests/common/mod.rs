//! What the facade's integration tests share: the seed's types, the
//! example binary, the project's Python, digests of arrays.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

use dman::ndarray::Array2;
use dman::{Modelclass, Record};

/// The seed's configuration.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
pub struct Config {
    pub seed: u64,
    pub size: usize,
    pub nsample: usize,
    pub nrepeats: usize,
}

/// The seed's run.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
pub struct Run {
    pub config: Config,
    pub data: Option<Record<Array2<f64>>>,
    pub output: Option<Record<Array2<f64>>>,
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example binary, built by `cargo test` next to the test binaries.
pub fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let deps = exe.parent().expect("deps folder");
    let path = deps.join("../examples/getting_started");
    assert!(path.is_file(), "example not built at {}", path.display());
    path
}

/// The project's Python with dman 1.0.1, set up from the repository's files.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("DMAN_PYTHON") {
        return PathBuf::from(p);
    }
    let out = Command::new(repo_root().join("scripts/setup-python.sh"))
        .output()
        .expect("run scripts/setup-python.sh");
    assert!(
        out.status.success(),
        "cannot set up Python dman 1.0.1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The sha256 of an array's float64 little-endian bytes, as
/// `tests/python/check_getting_started.py` computes it.
pub fn digest(array: &Array2<f64>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for x in array.iter() {
        hasher.update(x.to_le_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
