//! Derive macros of dman-rs: the Rust side of Python dman's
//! `@modelclass`, `@serializable` and `@storable` decorators.
//!
//! - [`Modelclass`]: a struct with named fields written as a modelclass
//!   (`{"_ser__type": NAME, "_ser__content": {field: ...}}`), whose record
//!   fields get file names from the field and class options.
//! - [`Serializable`]: a dataclass (every field with its envelope, `None`
//!   written as `null`), an enum of unit variants (`"Color.RED"`), or a
//!   newtype written as its inner value.
//! - [`Storable`]: a type with a byte format of its own, kept in a file of
//!   its own (`Person` → `<uuid>.person`) and pointed at by a
//!   `Record<Person>`.
//!
//! The derives are re-exported by `dman_core` (feature `derive`, on by
//! default) and by the `dman` facade; the generated code calls the helpers
//! in `dman_core::__private` and finds the core crate with
//! `proc-macro-crate` (`dman-core` as a dependency, else `dman::core`);
//! `#[dman(crate = "path")]` names it explicitly.
//!
//! ```
//! use std::sync::Arc;
//! use dman_core::json::{self, Value};
//! use dman_core::{graph, EncodeOptions, Modelclass, Record, Storable, StoragePath, StorageBackend};
//!
//! /// Python: `@dman.modelclass(name="config")` with defaults on every field.
//! #[derive(Modelclass, Debug, PartialEq)]
//! #[dman(name = "config", default)]
//! struct Config {
//!     seed: i64,
//!     size: i64,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Config { seed: 1234, size: 20 }
//!     }
//! }
//!
//! /// Python: a `@dman.storable` class with `__ext__`, `__write__`, `__read__`.
//! #[derive(Storable, Debug, PartialEq)]
//! #[dman(name = "Person", ext = ".person")]
//! struct Person {
//!     name: String,
//! }
//!
//! impl Person {
//!     fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
//!         Ok(self.name.as_bytes().to_vec())
//!     }
//!     fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
//!         Ok(Person { name: String::from_utf8_lossy(bytes).into_owned() })
//!     }
//! }
//!
//! /// Python: `@dman.modelclass(name="run", storable=True, store_by_field=True)`.
//! #[derive(Modelclass)]
//! #[dman(name = "run", storable, store_by_field)]
//! struct Run {
//!     config: Config,
//!     #[dman(subdir = "people")]
//!     person: Option<Record<Person>>,
//! }
//!
//! let store: Arc<dyn StorageBackend> = Arc::new(dman_memory::MemoryBackend::new());
//! let run = Run {
//!     config: Config::default(),
//!     person: Some(Record::new(Person { name: "John Silver".into() })),
//! };
//! let path = StoragePath::parse("run.json")?;
//! let (doc, plan) = graph::encode(&run, &store, &path, EncodeOptions::default())?;
//! let expected = json::from_str(r#"{"_ser__type": "run", "_ser__content": {
//!     "config": {"_ser__type": "config", "_ser__content": {"seed": 1234, "size": 20}},
//!     "person": {"_ser__type": "_ser__record", "_ser__content":
//!         {"target": "people/person.person", "sto_type": "Person"}}}}"#)?;
//! assert_eq!(doc, expected);
//! assert_eq!(plan.writes()[0].0.as_str(), "people/person.person");
//! assert_eq!(&plan.writes()[0].1.to_bytes()[..], b"John Silver");
//! assert_eq!(<Run as Storable>::EXTENSION, ".json");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Attribute reference
//!
#![doc = include_str!("../docs/common.md")]
//!
#![doc = include_str!("../docs/modelclass.md")]
//!
#![doc = include_str!("../docs/serializable.md")]
//!
#![doc = include_str!("../docs/storable.md")]
//!
//! # Generics
//!
#![doc = include_str!("../docs/generics.md")]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod expand;

/// Python's `@dman.modelclass`: implements `Serializable` (and, with
/// `#[dman(storable)]`, `Storable`) for a struct with named fields.
///
///
/// # Options
///
#[doc = include_str!("../docs/modelclass.md")]
///
#[doc = include_str!("../docs/common.md")]
///
/// # Generics
///
#[doc = include_str!("../docs/generics.md")]
#[proc_macro_derive(Modelclass, attributes(dman))]
pub fn derive_modelclass(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::modelclass(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Python's `@dman.serializable` on a dataclass or an `Enum`: implements
/// `Serializable` for a struct with named fields, an enum of unit
/// variants, or a newtype (written as its inner value).
///
///
/// # Options
///
#[doc = include_str!("../docs/serializable.md")]
///
#[doc = include_str!("../docs/common.md")]
///
/// # Generics
///
#[doc = include_str!("../docs/generics.md")]
#[proc_macro_derive(Serializable, attributes(dman))]
pub fn derive_serializable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::serializable(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Python's `@dman.storable` with `__write__` and `__read__`: implements
/// `Storable` with the type's own byte format.
///
///
/// # Options
///
#[doc = include_str!("../docs/storable.md")]
///
#[doc = include_str!("../docs/common.md")]
///
/// # Generics
///
#[doc = include_str!("../docs/generics.md")]
#[proc_macro_derive(Storable, attributes(dman))]
pub fn derive_storable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::storable(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
