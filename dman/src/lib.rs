//! dman: keep the results of numerical experiments (configurations, runs,
//! large arrays) as a record graph of JSON files and content files, on a
//! local folder, in memory, in a zip archive or on S3, in the very format
//! of Python dman 1.0.1: a tree written by one loads in the other.
//!
//! This is the crate to depend on. It re-exports the core
//! ([`Repo`], [`Record`], the containers and derives), finds the `.dman`
//! folder like Python does ([`discover`], [`repo!`]), opens repositories
//! from URLs ([`open`]), and offers a [`blocking`] API for plain
//! `fn main()` programs.
//!
//! # Getting started
//!
//! A configuration, a run that keeps its array in a `.npy` file of its
//! own, and a list of runs that a program extends without repeating a
//! configuration it has run before:
//!
//! ```
//! use dman::blocking::{self, prelude::*};
//! use dman::ndarray::Array2;
//! use dman::{MRuns, Modelclass, Record};
//!
//! #[derive(Modelclass, Debug, Clone, PartialEq)]
//! #[dman(name = "config")]
//! struct Config { seed: u64, size: usize }
//!
//! #[derive(Modelclass, Debug)]
//! #[dman(name = "run", storable)] // a run is a file of its own
//! struct Run { config: Config, data: Option<Record<Array2<f64>>> }
//!
//! fn experiment() -> MRuns<Run> {
//!     MRuns::new().stem("experiment").subdir("results")
//! }
//!
//! fn execute(repo: &blocking::Repo, cfg: Config) -> dman::Result<()> {
//!     // Load, change, save: one transaction, safe with other writers.
//!     repo.track("experiment", experiment, |runs| {
//!         // Reads the run files, never an array.
//!         if runs.blocking_contents()?.iter().any(|run| run.config == cfg) {
//!             return Ok(());
//!         }
//!         let data = Array2::<f64>::zeros((cfg.size, 3));
//!         runs.push(Run { config: cfg.clone(), data: Some(data.into()) });
//!         Ok(())
//!     })
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let workspace = tempfile::tempdir()?;
//! # let folder = workspace.path().join(".dman");
//! # std::fs::create_dir(&folder)?;
//! # let folder = folder.to_string_lossy();
//! // In a program: `let repo = blocking::repo!()?;` finds `.dman` above the
//! // working directory. Here, a `.dman` folder in a temporary workspace:
//! let repo = blocking::open(&folder)?.with_generator("cache/examples:demo");
//! for seed in [1000, 1024, 1000] {
//!     execute(&repo, Config { seed, size: 2 })?;
//! }
//!
//! let runs: MRuns<Run> = repo.load("experiment")?;
//! assert_eq!(runs.len(), 2); // the second 1000 was found and skipped
//! let data = runs.blocking_contents()?[1].data.as_ref().ok_or("no data")?;
//! assert_eq!(data.blocking_get()?.dim(), (2, 3)); // read from its .npy file
//! # Ok(())
//! # }
//! ```
//!
//! The same with the async [`Repo`] (`dman::repo!()`, `repo.load(..).await`)
//! in an async program.
//!
//! # Where the files go
//!
//! Python dman's layout, so either language reads what the other wrote.
//! For the example above (`dman tree` shows it):
//!
//! ```text
//! .dman/
//! └── cache/examples:demo/            the generator: cache/ + the program's path
//!     └── experiment/                 the key's folder
//!         ├── experiment.json         the key file: the list, pointing at its runs
//!         └── results/                MRuns subdir
//!             ├── experiment-0/       stem + counter: one folder per run
//!             │   ├── experiment.json the run: its config and records
//!             │   └── <uuid>.npy      its array, as numpy.save writes it
//!             └── experiment-1/ ...
//! ```
//!
//! A save writes content files first and the key file last, so a crash
//! leaves the old version or the new one; [`Repo::track`] retries when
//! another process saved the key meanwhile.
//!
//! # Where it lives
//!
//! | location | opens |
//! |---|---|
//! | a folder, `file:///abs/path` | [`FsBackend`] |
//! | `results.zip`, `zip:///abs/results.zip?root=.dman` | [`ZipBackend`] |
//! | `s3://bucket/prefix` (feature `s3`) | [`S3Backend`](https://docs.rs/dman-s3), credentials from the environment and `~/.aws` |
//! | `memory://name` | [`MemoryBackend`] |
//!
//! [`open`] takes any of them; [`Repo::new`] takes a backend of your own
//! (any [`StorageBackend`]).
//!
//! # The `dman` command
//!
//! `cargo install dman-cli` gives `dman`, which works on any location:
//! `dman tree`, `dman show experiment`, `dman ls`, `dman du`,
//! `dman runs experiment`, `dman diff A B`, `dman cat PATH`, `dman check`,
//! `dman copy .dman results.zip`, `dman gc`, `dman clean KEY`;
//! `dman help COMMAND` explains each.
//!
//! # From Python dman
//!
//! | Python dman 1.0.1 | dman-rs |
//! |---|---|
//! | `@dman.modelclass(name="config")` | `#[derive(Modelclass)]` + `#[dman(name = "config")]` |
//! | `@dman.modelclass(storable=True)` | `#[dman(storable)]` |
//! | `dman.recordfield(stem="data")` | a field `Option<Record<T>>` with `#[dman(stem = "data")]` |
//! | `barrayfield` / a numpy array | `Record<Array2<f64>>` (any `ndarray::Array`) |
//! | `dman.mruns_factory(stem=.., subdir=..)` | `MRuns::new().stem(..).subdir(..)` |
//! | `dman.mlist()`, `dman.mdict()` | [`MList`], [`MDict`] |
//! | `with dman.track("key", default_factory=f) as runs:` | `repo.track("key", f, \|runs\| { .. })` |
//! | `dman.save("key", obj)`, `dman.load("key")` | `repo.save("key", &obj)`, `repo.load("key")` |
//! | `dman.tui.walk_directory(...)` | `dman tree`, or [`Repo::tree`] |
//! | `@dman.serializable` on an `Enum` | `#[derive(Serializable)]` on an enum |
//! | `@dman.storable` with `__write__`/`__read__` | `#[derive(Storable)]` with `to_bytes`/`from_bytes` |
//!
//! The derives' options (`name`, `storable`, `stem`, `subdir`, `skip`,
//! `serde`, `default`, ...) are listed on [`Modelclass`],
//! [`Serializable`](derive@Serializable) and [`Storable`](derive@Storable).

#![warn(missing_docs)]

pub mod blocking;
mod locate;
pub use dman_core::tree;

pub use dman_core as core;
pub use dman_core::dynamic::{Content, DynRecord, Dynamic};
pub use dman_core::graph::{SaveReport, Warning};
pub use dman_core::model::Item;
pub use dman_core::repo::{generator_for_source, KeyLocation};
pub use dman_core::{
    DecodeContext, Decoder, EncodeContext, EncodeOptions, Error, FileRef, ItemOptions, Key, MDict,
    MList, MRuns, Modelclass, Operation, Record, Repo, Result, RetouchChoice, RetouchPolicy,
    RetouchPolicyKind, SMDict, SMList, SMRuns, SaveCondition, Serde, Serializable, Storable,
    StorageBackend, StorageError, StoragePath, Stored, Transaction, Version, Versioned,
    WriteCondition,
};

#[cfg(feature = "ndarray")]
pub use dman_core::numeric;
#[cfg(feature = "ndarray")]
pub use ndarray;

#[cfg(feature = "s3")]
pub use dman_s3::{ObjectStoreBackend, S3Backend, S3Builder};

#[cfg(feature = "fs")]
pub use dman_fs::FsBackend;
#[cfg(feature = "memory")]
pub use dman_memory::MemoryBackend;
#[cfg(feature = "zip")]
pub use dman_zip::ZipBackend;

pub use locate::open;
#[cfg(feature = "fs")]
pub use locate::{discover, find_root, init, CEILING_DIRECTORIES, ROOT_FOLDER};

/// What the exported macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "fs")]
    pub use crate::locate::discover_for_source;
}

/// The repository of the `.dman` folder above the working directory, with
/// the generator Python would give the calling source file
/// (`cache/examples:patterns:common` for `examples/patterns/common.rs`):
/// `let repo = dman::repo!()?;`. [`blocking::repo!`] gives the blocking
/// repository the same way.
///
/// [`discover`] finds the same folder and uses `cache/<program name>`.
///
/// ```no_run
/// // src/bin/train.rs, run from inside a project with a `.dman` folder
/// // (`dman init` makes one):
/// #[tokio::main]
/// async fn main() -> dman::Result<()> {
///     let repo = dman::repo!()?; // generator `cache/src:bin:train`
///     repo.save("answer", &42i64).await?; // .dman/cache/src:bin:train/answer/answer.json
///     Ok(())
/// }
/// ```
///
/// Without a `.dman` folder above, it fails with [`Error::NoRoot`], whose
/// message names the folder the search started from.
#[cfg(feature = "fs")]
#[macro_export]
macro_rules! repo {
    () => {
        $crate::__private::discover_for_source(::core::file!())
    };
}
