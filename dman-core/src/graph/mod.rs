//! Record graphs against a backend: the engine that saves a value to a JSON
//! file plus its content files and loads it back ([`save`], [`load`] and
//! their parts [`encode`], [`execute`], [`decode`]), and the walker that
//! reads any graph without its Rust types ([`records`], [`Document`],
//! [`owned_files`]).
//!
//! [`Repo`](crate::Repo) is the way to save and load keys; this module is
//! the engine under it, for tools that plan or carry out saves themselves.

mod save;
mod walk;

pub(crate) use save::delete_inside;
pub use save::{
    decode, encode, execute, execute_if, execute_without_root, load, save, SaveReport, Warning,
};
pub use walk::{
    owned_files, prefetch, read_json, records, Document, Followed, MarkerRef, RecordRef,
    DEFAULT_CONCURRENCY,
};
pub(crate) use walk::{record_content, walk, Tree, Visit};
