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
//!
//! ```
//! use dman_core::json::{self, Value};
//! let doc = json::from_str(r#"{"_ser__type": "config", "_ser__content": {"seed": 1000}}"#).unwrap();
//! let (name, content) = dman_core::serial::split_envelope(&doc).unwrap();
//! assert_eq!(name, "config");
//! assert_eq!(content.get("seed"), Some(&Value::Int(1000)));
//! ```

#![warn(missing_docs)]

// Lets the derives' `::dman_core::...` paths work inside this crate too.
extern crate self as dman_core;

pub mod context;
pub mod copy;
pub mod dynamic;
pub mod error;
pub mod graph;
pub mod json;
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

#[doc(hidden)]
pub mod private;

/// What the exported macros expand to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use bytes::Bytes;
}

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
pub use repo::{Key, Repo, SaveCondition, Tracked, Transaction, Versioned};
pub use serial::{Serde, Serializable};
pub use storable::{Storable, Stored};
pub use storage::{
    ByteStream, DiskFull, Leftover, LeftoverKind, ObjectMeta, Operation, StorageBackend,
    StorageError, StorageResult, Upload, Version, WriteCondition,
};
