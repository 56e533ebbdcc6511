//! The core of dman-rs: the storage contract, the record-graph model of
//! Python dman 1.0.1, and the layer that saves and loads graphs on any
//! backend.
//!
//! - [`StoragePath`] and [`StorageBackend`]: validated paths and the one
//!   small async trait every backend implements.
//! - [`Serializable`] and [`Storable`]: values that become JSON, and values
//!   kept in files of their own; [`Record`] points from the one to the other
//!   and loads lazily.
//! - [`MList`], [`MDict`], [`MRuns`]: model containers of storables or of
//!   mixed items (an enum derived with `#[derive(Serializable)]`).
//! - [`Dynamic`]: any part of any graph without its Rust types, written
//!   back unchanged.
//! - [`graph`]: saving and loading a graph against a backend, and walking
//!   any graph without its Rust types.
//! - [`tree`]: the files of a folder as a tree, as Python's
//!   `tui.walk_directory` prints them ([`Repo::tree`]).
//!
//! ```
//! use std::sync::Arc;
//! use dman_core::{MRuns, Modelclass, Repo};
//! use dman_memory::MemoryBackend;
//!
//! /// Python: `@dman.modelclass(name="run", storable=True)`.
//! #[derive(Modelclass, Debug, Clone, PartialEq)]
//! #[dman(name = "run", storable)]
//! struct Run { seed: u64, loss: f64 }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dman_core::Result<()> {
//! let repo = Repo::new(Arc::new(MemoryBackend::new()));
//! let mut runs = MRuns::new();
//! runs.push(Run { seed: 1, loss: 0.25 });
//! repo.save("experiment", &runs).await?; // experiment.json, run-0/run.json
//!
//! let runs: MRuns<Run> = repo.load("experiment").await?;
//! assert_eq!(runs.contents().await?, [&Run { seed: 1, loss: 0.25 }]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

// Lets the derives' `::dman_core::...` paths work inside this crate too.
extern crate self as dman_core;

pub mod context;
pub mod copy;
pub mod dynamic;
pub mod error;
pub mod graph;
/// The `dman-json` crate, re-exported: its items are
/// `dman_core::json::Value`, `dman_core::json::from_str` and so on, and its
/// `serde_json::Value` conversions come with dman-core's `serde_json`
/// feature.
///
#[doc(inline)]
pub use dman_json as json;
pub mod model;
#[cfg(feature = "ndarray")]
pub mod numeric;
pub mod path;
pub mod record;
pub mod repo;
#[cfg(feature = "testing")]
pub mod scenarios;
pub mod serial;
pub mod storable;
pub mod storage;
pub mod target;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tree;

/// What the derives and exported macros expand to (serde's naming). Not a
/// stable API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use context::{
    DecodeContext, EncodeContext, EncodeOptions, RetouchChoice, RetouchPolicy, RetouchPolicyKind,
    SavePlan,
};
/// The derive macros (feature `derive`): `Modelclass`, `Serializable` and
/// `Storable`; see [`dman_derive`] for their options.
#[cfg(feature = "derive")]
pub use dman_derive::{Modelclass, Serializable, Storable};
pub use dynamic::Dynamic;
pub use error::{Error, FileRef, Result};
pub use model::{ItemOptions, MDict, MList, MRuns, SMDict, SMList, SMRuns};
pub use path::{PathError, StoragePath};
pub use record::Record;
pub use repo::{Key, Repo, SaveCondition, Transaction, Versioned};
pub use serial::{Serde, Serializable};
pub use storable::{Decoder, Storable, Stored};
pub use storage::{
    ByteStream, DiskFull, FileReader, Leftover, LeftoverKind, ObjectMeta, Operation, Payload,
    StorageBackend, StorageError, StorageResult, Upload, Version, WriteCondition,
};
