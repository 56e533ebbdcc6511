//! A blocking API for plain `fn main()` programs, in the manner of
//! `reqwest::blocking`: the same operations as the async [`Repo`](crate::Repo),
//! run on a runtime of dman's own.
//!
//! Calling it from inside an async runtime is refused with a clear error
//! (blocking there would stall the runtime): use the async API there.
//!
//! The openers are the async ones, blocking: [`repo!`] (the `.dman`
//! folder above the working directory, the generator of the calling source
//! file), [`discover`] (the same folder, generator `cache/<program
//! name>`), [`open`] (a URL) and [`Repo::new`] (a backend of your own).
//!
//! ```no_run
//! use dman::blocking::{self, prelude::*};
//! use dman::{MRuns, Modelclass};
//!
//! #[derive(Modelclass, Debug)]
//! #[dman(name = "run", storable)]
//! struct Run { seed: u64, loss: f64 }
//!
//! fn main() -> dman::Result<()> {
//!     let repo = blocking::repo!()?;
//!     repo.track("experiment", MRuns::<Run>::new, |runs| {
//!         runs.push(Run { seed: 1, loss: 0.5 });
//!         Ok(())
//!     })?;
//!     let runs: MRuns<Run> = repo.load("experiment")?;
//!     println!("{:?}", runs.blocking_contents()?);
//!     Ok(())
//! }
//! ```

use std::future::Future;
use std::sync::{Arc, OnceLock};

use dman_core::graph::SaveReport;
use dman_core::tree::TreeOptions;
use dman_core::{
    Error, Key, MDict, MList, MRuns, Record, Result, RetouchPolicy, SaveCondition, Serializable,
    Storable, StorageBackend, StoragePath, Versioned,
};

fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("dman-blocking")
                .enable_all()
                .build()
        })
        .as_ref()
        // An `io::Error` is not `Clone`: each caller gets one of the same
        // kind and message.
        .map_err(|e| Error::RuntimeStart(std::io::Error::new(e.kind(), e.to_string())))
}

/// Runs one of dman's futures to completion on dman's runtime: its result,
/// or [`Error::InsideRuntime`] when called from inside an async runtime.
pub fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InsideRuntime);
    }
    runtime()?.block_on(future)
}

/// A repository with blocking operations, for plain `fn main()` programs.
/// See [`dman::Repo`](crate::Repo) for what each does.
///
/// In a program, `dman::blocking::repo!()?` opens the `.dman` folder above
/// the working directory; [`open`] takes any location:
///
/// ```
/// use dman::blocking::{self, prelude::*};
/// use dman::{MList, Modelclass};
///
/// #[derive(Modelclass, Debug)]
/// #[dman(name = "note", storable)]
/// struct Note { text: String }
///
/// fn main() -> dman::Result<()> {
///     let repo = blocking::open("memory://blocking-doc")?.with_generator("demo");
///     let mut notes = MList::new();
///     notes.push(Note { text: "a first note".into() });
///     repo.save("notes", &notes)?; // demo/notes/notes.json and one file per note
///
///     let notes: MList<Note> = repo.load("notes")?;
///     assert_eq!(notes.blocking_contents()?[0].text, "a first note");
///     assert!(repo.exists("notes")?);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Repo {
    inner: crate::Repo,
}

impl From<crate::Repo> for Repo {
    fn from(inner: crate::Repo) -> Self {
        Repo { inner }
    }
}

/// The repository of the `.dman` folder above the working directory, with
/// the generator of the calling source file: the blocking
/// [`dman::repo!`](crate::repo). `let repo = dman::blocking::repo!()?;`
#[cfg(feature = "fs")]
#[doc(inline)]
pub use crate::__blocking_repo as repo;

/// What [`repo!`] is, under a name of the crate's root (where
/// `#[macro_export]` puts every macro).
#[cfg(feature = "fs")]
#[doc(hidden)]
#[macro_export]
macro_rules! __blocking_repo {
    () => {
        $crate::__private::discover_for_source(::core::file!()).map($crate::blocking::Repo::from)
    };
}

/// The repository of the `.dman` folder above the working directory, with
/// the generator `cache/<program name>`: the blocking [`crate::discover`].
#[cfg(feature = "fs")]
pub fn discover() -> Result<Repo> {
    crate::discover().map(Repo::from)
}

/// The repository at a location (a folder, `memory://NAME`, a zip archive,
/// `s3://bucket/prefix`): the blocking [`crate::open`].
pub fn open(location: &str) -> Result<Repo> {
    crate::open(location).map(Repo::from)
}

impl Repo {
    /// A repository on a backend of your own, whose base is the backend's
    /// root (see [`dman::Repo::new`](crate::Repo::new)).
    pub fn new(store: Arc<dyn StorageBackend>) -> Self {
        Repo::from(crate::Repo::new(store))
    }

    /// The async repository underneath.
    pub fn inner(&self) -> &crate::Repo {
        &self.inner
    }

    /// Uses `base` (a folder of the backend) as the base (see
    /// [`crate::Repo::with_base`]).
    pub fn with_base(self, base: StoragePath) -> Self {
        Repo::from(self.inner.with_base(base))
    }

    /// Uses `generator` as the default generator folder (see
    /// [`crate::Repo::with_generator`]).
    pub fn with_generator(self, generator: impl Into<String>) -> Self {
        Repo::from(self.inner.with_generator(generator))
    }

    /// How many times [`Repo::track`] tries before it gives up (see
    /// [`crate::Repo::with_attempts`]).
    pub fn with_attempts(self, attempts: u32) -> Self {
        Repo::from(self.inner.with_attempts(attempts))
    }

    /// Writes up to `n` content files at once during a save (see
    /// [`crate::Repo::with_concurrency`]).
    pub fn with_concurrency(self, n: usize) -> Self {
        Repo::from(self.inner.with_concurrency(n))
    }

    /// What to do when one save writes a file twice (see
    /// [`crate::Repo::with_retouch`]).
    pub fn with_retouch(self, retouch: RetouchPolicy) -> Self {
        Repo::from(self.inner.with_retouch(retouch))
    }

    /// Whether files of removed items are deleted (see
    /// [`crate::Repo::with_auto_clean`]).
    pub fn with_auto_clean(self, auto_clean: bool) -> Self {
        Repo::from(self.inner.with_auto_clean(auto_clean))
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        self.inner.backend()
    }

    /// The default generator folder.
    pub fn generator(&self) -> &str {
        self.inner.generator()
    }

    /// The base folder keys are under (see [`crate::Repo::base`]).
    pub fn base(&self) -> &StoragePath {
        self.inner.base()
    }

    /// The folder of a key's files (Python's `get_directory`).
    pub fn directory(&self, key: impl Into<Key>) -> Result<StoragePath> {
        self.inner.directory(key)
    }

    /// Saves a serializable value under `key`.
    pub fn save<T: Serializable>(&self, key: impl Into<Key>, value: &T) -> Result<SaveReport> {
        block_on(self.inner.save(key, value))
    }

    /// Loads the value saved under `key`.
    pub fn load<T: Serializable>(&self, key: impl Into<Key>) -> Result<T> {
        block_on(self.inner.load(key))
    }

    /// Loads the value saved under `key`, or `default()` when there is none.
    pub fn load_or<T: Serializable>(
        &self,
        key: impl Into<Key>,
        default: impl FnOnce() -> T,
    ) -> Result<T> {
        block_on(self.inner.load_or(key, default))
    }

    /// Loads `key` (or `default()`), lets `f` change it, and saves it, as
    /// one transaction (see [`crate::Repo::track`]): when another process
    /// committed the key meanwhile, the key is loaded again and **`f` runs
    /// again**. When `f` fails nothing is saved. `f` runs outside the
    /// runtime, so it may use the blocking record accessors.
    pub fn track<T: Serializable, R>(
        &self,
        key: impl Into<Key>,
        mut default: impl FnMut() -> T,
        mut f: impl FnMut(&mut T) -> Result<R>,
    ) -> Result<R> {
        let mut tx = self.inner.transaction(key)?;
        loop {
            let mut value = block_on(tx.load(&self.inner, &mut default))?;
            let out = f(&mut value)?;
            if block_on(tx.commit(&self.inner, &value))? {
                return Ok(out);
            }
        }
    }

    /// Saves `value` under `key` only if `condition` holds (see
    /// [`crate::Repo::save_if`]).
    pub fn save_if<T: Serializable>(
        &self,
        key: impl Into<Key>,
        value: &T,
        condition: SaveCondition,
    ) -> Result<SaveReport> {
        block_on(self.inner.save_if(key, value, condition))
    }

    /// Loads the value saved under `key` with its file's version (see
    /// [`crate::Repo::load_versioned`]).
    pub fn load_versioned<T: Serializable>(&self, key: impl Into<Key>) -> Result<Versioned<T>> {
        block_on(self.inner.load_versioned(key))
    }

    /// Stores a storable straight to `<key><ext>`.
    pub fn store<T: Storable + Clone>(&self, key: impl Into<Key>, value: &T) -> Result<Record<T>> {
        block_on(self.inner.store(key, value))
    }

    /// Reads a storable written by [`Repo::store`].
    pub fn load_stored<T: Storable>(&self, key: impl Into<Key>) -> Result<T> {
        block_on(self.inner.load_stored(key))
    }

    /// Whether `key` is saved.
    pub fn exists(&self, key: impl Into<Key>) -> Result<bool> {
        block_on(self.inner.exists(key))
    }

    /// Removes a key and every file its graph owns inside its folder; see
    /// [`dman_core::Repo::clean`].
    pub fn clean(&self, key: impl Into<Key>) -> Result<SaveReport> {
        block_on(self.inner.clean(key))
    }

    /// The tree of a key's folder (see [`crate::Repo::tree`]).
    pub fn tree(&self, key: impl Into<Key>, options: &TreeOptions) -> Result<String> {
        block_on(self.inner.tree(key, options))
    }

    /// The tree of any folder of the backend (see
    /// [`crate::Repo::tree_at`]).
    pub fn tree_at(&self, folder: &StoragePath, options: &TreeOptions) -> Result<String> {
        block_on(self.inner.tree_at(folder, options))
    }
}

/// The blocking accessors, with tokio's spelling (`blocking_get`):
/// `use dman::blocking::prelude::*;`.
pub mod prelude {
    pub use super::{BlockingContents, BlockingRecord};
}

/// Blocking access to a record's content.
pub trait BlockingRecord<T> {
    /// The content, read from its file on first access.
    fn blocking_get(&self) -> Result<&T>;
    /// The content for changing it.
    fn blocking_get_mut(&mut self) -> Result<&mut T>;
}

impl<T: Storable> BlockingRecord<T> for Record<T> {
    fn blocking_get(&self) -> Result<&T> {
        block_on(self.get())
    }
    fn blocking_get_mut(&mut self) -> Result<&mut T> {
        block_on(self.get_mut())
    }
}

/// Blocking access to the contents of a model container of storables.
pub trait BlockingContents {
    /// What `blocking_contents` gives: the items (`&T`) of a list, the
    /// entries (`(&str, &T)`) of a dict.
    type Content<'a>
    where
        Self: 'a;
    /// Every item's content, loading those not yet loaded concurrently.
    fn blocking_contents(&self) -> Result<Vec<Self::Content<'_>>>;
}

impl<T: Storable> BlockingContents for MList<T> {
    type Content<'a> = &'a T;
    fn blocking_contents(&self) -> Result<Vec<&T>> {
        block_on(self.contents())
    }
}

impl<T: Storable> BlockingContents for MRuns<T> {
    type Content<'a> = &'a T;
    fn blocking_contents(&self) -> Result<Vec<&T>> {
        block_on(self.contents())
    }
}

impl<T: Storable> BlockingContents for MDict<T> {
    type Content<'a> = (&'a str, &'a T);
    fn blocking_contents(&self) -> Result<Vec<(&str, &T)>> {
        block_on(self.contents())
    }
}
