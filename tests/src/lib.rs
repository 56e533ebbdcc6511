//! Shared helpers of dman-rs' integration and interop tests (`tests/tests`).
//!
//! - [`refmodel`]: Rust types mirroring every class of
//!   `tests/python/refmodel.py`, with the same type names, and
//!   [`refmodel::Any`], the mixed item the reference trees' heterogeneous
//!   containers hold (dman-rs' own `MList<Any>`, `MDict<Any>`, `MRuns<Any>`:
//!   Python's `mlist`, `mdict`, `mruns` hold inline values and records of
//!   any storable side by side).
//! - [`norm`]: the normalized-value notation of `expected.json` and the
//!   comparison rules of `refmodel.compare`.
//! - [`fixture`]: the Python reference trees and their manifest.
//! - [`python`]: `check_tree.py`, run with the project's Python.
//! - [`scenarios`]: every round-trippable scenario, written from Rust.
//!
//! What the other crates' tests need too (the getting-started fixture and
//! types, the project's Python, the recording backend wrapper) is in
//! `dman-test-support`.
//!
//! ```
//! use dman_tests::{fixture, norm};
//!
//! // The trees Python dman 1.0.1 wrote, and what each one holds.
//! let manifest = fixture::manifest();
//! let scenario = &manifest.scenarios[0];
//! assert!(!scenario.key.is_empty());
//!
//! // Values compare with the rules of `refmodel.compare`: a float and the
//! // same float are equal, a float and another are a difference.
//! assert!(norm::compare(&norm::float(0.5), &norm::float(0.5)).is_clean());
//! assert!(!norm::compare(&norm::float(0.5), &norm::float(0.25)).is_clean());
//! ```

pub mod fixture;
pub mod norm;
pub mod python;
pub mod refmodel;
pub mod scenarios;

/// The README's Rust blocks, compiled (and, unless marked `no_run`, run)
/// as doc tests of this crate, which has every backend of the facade: a
/// README example that stops compiling fails the tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
