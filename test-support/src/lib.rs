//! What the tests and benches of dman-rs share, kept in one place (this
//! crate is not published; every crate of the workspace has it as a
//! dev-dependency):
//!
//! - [`repo_root`] and [`fixture`]: the repository's own fixtures, the
//!   getting-started tree of Python dman 1.0.1 above all, read from
//!   `tests/fixtures/` and extracted where a test wants them;
//! - [`seed`]: the seed's getting-started types (`Config`, `Run`), the
//!   experiment container, deterministic arrays and the example's flow;
//! - [`storables`]: the text storables `Note` and `Person` of the
//!   mixed-container tests;
//! - [`python`]: the project's Python with dman 1.0.1 (`scripts/setup-python.sh`,
//!   or `DMAN_PYTHON`), and `check_getting_started.py`;
//! - [`files`]: trees of files, system tools, the example binary;
//! - [`backend`]: one forwarding wrapper of a [`dman::StorageBackend`] that
//!   hooks only what a test changes, and the [`backend::Recorder`] built on it;
//! - `s3` (features `moto` and `s3`): moto's S3 server as a child process,
//!   s3s-fs in process, `s3tool.py` (boto3), store wrappers that count or
//!   fail requests.
//!
//! Everything here fails loudly: a missing fixture, Python or tool is a
//! panic that says how to get it, never a skipped test.
//!
//! ```
//! use std::sync::Arc;
//! use dman_test_support::{backend::Recorder, seed};
//!
//! // The getting-started flow on a memory backend that records every call.
//! let store = Recorder::new(Arc::new(dman::MemoryBackend::new()));
//! let repo = dman::Repo::new(store.clone()).with_generator(seed::GENERATOR);
//! let ran = dman::blocking::block_on(seed::execute(&repo, seed::config(1000)))?;
//! assert!(ran);
//! // The run's two arrays, each in a `.npy` file of its own.
//! let npy = store.writes().into_iter().filter(|p| p.as_str().ends_with(".npy"));
//! assert_eq!(npy.count(), 2);
//! # Ok::<(), dman::Error>(())
//! ```

use std::path::{Path, PathBuf};

pub mod backend;
pub mod crash;
pub mod files;
pub mod fixture;
pub mod python;
#[cfg(feature = "moto")]
pub mod s3;
pub mod seed;
pub mod storables;

/// The repository's root folder (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support is a folder of the repository")
        .to_path_buf()
}
