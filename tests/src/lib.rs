//! Shared helpers of dman-rs' integration and interop tests (`tests/tests`).
//!
//! - [`refmodel`]: Rust types mirroring every class of
//!   `tests/python/refmodel.py`, with the same type names.
//! - [`mixed`]: heterogeneous model containers (Python's `mlist`, `mdict`,
//!   `mruns` hold inline values and records of any storable side by side).
//! - [`norm`]: the normalized-value notation of `expected.json` and the
//!   comparison rules of `refmodel.compare`.
//! - [`fixture`]: the Python reference trees and their manifest.
//! - [`recorder`]: a backend wrapper that records every operation.
//! - [`python`]: the project's Python with dman 1.0.1, and `check_tree.py`.
//! - [`scenarios`]: every round-trippable scenario, written from Rust.

pub mod fixture;
pub mod mixed;
pub mod norm;
pub mod python;
pub mod recorder;
pub mod refmodel;
pub mod scenarios;
