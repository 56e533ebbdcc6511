//! dman: keep the results of numerical experiments (configurations, runs,
//! large arrays) as a record graph of JSON files and content files, on a
//! local folder, in memory or on other backends, in the very format of
//! Python dman 1.0.1.
//!
//! This is the crate to depend on. It re-exports the core
//! ([`Repo`], [`Record`], the containers and derives), finds the `.dman`
//! folder like Python does ([`discover`], [`repo!`]), opens repositories
//! from URLs ([`open`]), and offers a [`blocking`] API for plain
//! `fn main()` programs.
//!
//! ```
//! use dman::{MRuns, MemoryBackend, Modelclass, Repo};
//! use std::sync::Arc;
//!
//! #[derive(Modelclass, Debug, Clone, PartialEq)]
//! #[dman(name = "config")]
//! struct Config { seed: i64, size: i64 }
//!
//! #[derive(Modelclass, Debug, Clone, PartialEq)]
//! #[dman(name = "run", storable)]
//! struct Run { config: Config, loss: f64 }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dman::Result<()> {
//! // `dman::discover()` opens the `.dman` folder above the working
//! // directory; any backend will do.
//! let repo = Repo::new(Arc::new(MemoryBackend::new()));
//! let mut runs = MRuns::new();
//! runs.push(Run { config: Config { seed: 1234, size: 20 }, loss: 0.5 });
//! repo.save("experiment", &runs).await?;
//!
//! let runs: MRuns<Run> = repo.load("experiment").await?;
//! assert_eq!(runs.contents().await?[0].config.seed, 1234);
//! # Ok(())
//! # }
//! ```
//!
//! The same with [`blocking::Repo`], for a plain `fn main()`:
//! `repo.save("experiment", &runs)?`.

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
#[cfg(feature = "fs")]
#[macro_export]
macro_rules! repo {
    () => {
        $crate::__private::discover_for_source(::core::file!())
    };
}
