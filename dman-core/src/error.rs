//! The error type of the record-graph and repository layers.
//!
//! Every error says where it happened: the file, and for decoding the path
//! inside the JSON document (`store[1].config.seed`), so that a message in a
//! log is enough to find the problem.

use std::fmt;
use std::path::PathBuf;

use crate::json::JsonError;
use crate::path::{PathError, StoragePath};
use crate::storage::{StorageBackend, StorageError};

/// A file in a backend, as errors name it: `path in backend`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileRef {
    /// The backend's location ([`StorageBackend::location`]).
    pub backend: String,
    /// The file's path inside the backend.
    pub path: StoragePath,
}

impl FileRef {
    /// The file at `path` of the backend at `backend`.
    pub fn new(backend: impl Into<String>, path: &StoragePath) -> Self {
        FileRef {
            backend: backend.into(),
            path: path.clone(),
        }
    }

    /// The file at `path` of `store`.
    pub fn in_store(store: &dyn StorageBackend, path: &StoragePath) -> Self {
        FileRef::new(store.location(), path)
    }
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.path, self.backend)
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while encoding, decoding, saving or loading
/// a record graph.
///
/// New variants may be added: a `match` needs a `_` arm.
///
/// `Debug` prints the sentence, then the errors that caused it, so that a
/// `fn main() -> dman::Result<()>` that fails tells its user what happened
/// (`Error: no .dman folder found. …`) rather than dumping a struct; `{:#?}`
/// adds the variant's name.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A backend operation failed (including a missing file).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A path was refused before any backend was touched.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A file is not valid JSON.
    #[error("{file}: invalid JSON: {source}")]
    Json {
        /// The file that failed to parse.
        file: FileRef,
        /// The parser's error, with line and column.
        #[source]
        source: JsonError,
    },
    /// A JSON document does not have the shape the requested type expects,
    /// or holds one of Python dman's invalid markers.
    #[error("{}", DecodeDisplay(self))]
    Decode {
        /// The file being decoded, once known.
        file: Option<FileRef>,
        /// Where inside the document (`store[1].config`); empty at the top.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A value could not be turned into JSON or bytes.
    #[error("cannot encode{}: {message}", fmt_at(at))]
    Encode {
        /// Where inside the value.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// Two records of one save asked for the same file and the retouch
    /// policy says to stop.
    #[error("two records of one save write `{path}` (retouch policy: {policy})")]
    Retouch {
        /// The file written twice.
        path: StoragePath,
        /// The policy that refused it.
        policy: RetouchPolicyKind,
    },
    /// A key that was asked for is not saved.
    #[error("could not find tracked file {file}")]
    KeyNotFound {
        /// The key's JSON file, in the backend looked in.
        file: FileRef,
    },
    /// A conditional save found the key changed by another writer, or a
    /// transaction ([`Repo::track`](crate::Repo::track)) kept finding it
    /// changed until its attempts ran out.
    #[error(
        "key `{key}` ({file}) was changed by another writer; gave up after {attempts} attempt(s)"
    )]
    Conflict {
        /// The key's name.
        key: String,
        /// The key's JSON file.
        file: FileRef,
        /// How many times the save was tried.
        attempts: u32,
    },
    /// No `.dman` folder in the folder a search started from nor in any
    /// folder above it (up to the ceiling folders, see
    /// `DMAN_CEILING_DIRECTORIES`).
    #[error("no .dman folder found. Consider running $dman init (searched from {} upward{})", searched_from.display(), fmt_ceilings(ceilings))]
    NoRoot {
        /// The folder the search started from.
        searched_from: PathBuf,
        /// The folders the search did not go above.
        ceilings: Vec<PathBuf>,
    },
    /// A local file or folder outside any backend (the working directory,
    /// `.`, or a `.dman` folder being made) could not be read or made.
    #[error("I/O error at `{}`: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A location (a URL or path given to `dman::open`) names no backend
    /// that can be opened: an unknown scheme, a backend left out of this
    /// build, or a URL its backend refuses.
    #[error("cannot open `{location}`: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why it cannot be opened.
        reason: String,
    },
    /// A record's content was to be changed or taken while a save plan
    /// made by [`graph::encode`](crate::graph::encode) still shares it (an
    /// array is written from its own memory): run or drop the plan first.
    #[error("the record's content is shared with a save plan that has not run; run or drop the plan before changing the content")]
    ContentShared,
    /// dman's blocking API was called from inside an async runtime, where
    /// blocking would stall the runtime.
    #[error("dman's blocking API was called from inside an async runtime; use the async API (dman::Repo) there")]
    InsideRuntime,
    /// The runtime of dman's blocking API could not be started.
    #[error("cannot start dman's runtime: {0}")]
    RuntimeStart(#[source] std::io::Error),
    /// An index past the end of a list.
    #[error("index {index} out of range for a list of {len}")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// A key that cannot name a file.
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key's name.
        key: String,
        /// Why it is refused.
        reason: String,
    },
    /// The caller's own code, run by dman (the closure of
    /// [`Repo::track`](crate::Repo::track)), gave up with this error;
    /// nothing was saved.
    #[error("{0}")]
    Aborted(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.to_string();
        if f.alternate() {
            write!(f, "{}: ", self.variant_name())?;
        }
        f.write_str(&message)?;
        // The causes the sentence does not already quote (most quote their
        // source: `invalid JSON: expected ',' …`).
        let mut source = std::error::Error::source(self);
        let mut first = true;
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                if first {
                    f.write_str("\n\nCaused by:")?;
                    first = false;
                }
                write!(f, "\n    {text}")?;
            }
            source = cause.source();
        }
        Ok(())
    }
}

fn fmt_ceilings(ceilings: &[PathBuf]) -> String {
    if ceilings.is_empty() {
        String::new()
    } else {
        format!(
            ", stopping below {}",
            std::env::join_paths(ceilings)
                .map(|list| list.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    }
}

fn fmt_at(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" `{at}`")
    }
}

struct DecodeDisplay<'a>(&'a Error);

impl fmt::Display for DecodeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Error::Decode { file, at, message } = self.0 {
            if let Some(file) = file {
                write!(f, "{file}: ")?;
            }
            if !at.is_empty() {
                write!(f, "at `{at}`: ")?;
            }
            f.write_str(message)?;
        }
        Ok(())
    }
}

impl Error {
    /// The variant's name, for `{:#?}`.
    fn variant_name(&self) -> &'static str {
        match self {
            Error::Storage(_) => "Storage",
            Error::Path(_) => "Path",
            Error::Json { .. } => "Json",
            Error::Decode { .. } => "Decode",
            Error::Encode { .. } => "Encode",
            Error::Retouch { .. } => "Retouch",
            Error::KeyNotFound { .. } => "KeyNotFound",
            Error::Conflict { .. } => "Conflict",
            Error::NoRoot { .. } => "NoRoot",
            Error::Io { .. } => "Io",
            Error::InvalidLocation { .. } => "InvalidLocation",
            Error::ContentShared => "ContentShared",
            Error::InsideRuntime => "InsideRuntime",
            Error::RuntimeStart(_) => "RuntimeStart",
            Error::IndexOutOfRange { .. } => "IndexOutOfRange",
            Error::InvalidKey { .. } => "InvalidKey",
            Error::Aborted(_) => "Aborted",
        }
    }

    /// A decoding error at the current position; callers up the tree add
    /// their segment with [`Error::at_key`] and [`Error::at_index`].
    pub fn decode(message: impl Into<String>) -> Self {
        Error::Decode {
            file: None,
            at: String::new(),
            message: message.into(),
        }
    }

    /// An encoding error.
    pub fn encode(message: impl Into<String>) -> Self {
        Error::Encode {
            at: String::new(),
            message: message.into(),
        }
    }

    /// Prefixes the location of a decode or encode error with an object key.
    pub fn at_key(self, key: &str) -> Self {
        self.prefix(|at| {
            if at.is_empty() || at.starts_with('[') {
                format!("{key}{at}")
            } else {
                format!("{key}.{at}")
            }
        })
    }

    /// Prefixes the location of a decode or encode error with a list index.
    pub fn at_index(self, index: usize) -> Self {
        self.prefix(|at| {
            if at.is_empty() || at.starts_with('[') {
                format!("[{index}]{at}")
            } else {
                format!("[{index}].{at}")
            }
        })
    }

    fn prefix(mut self, f: impl FnOnce(&str) -> String) -> Self {
        match &mut self {
            Error::Decode { at, .. } | Error::Encode { at, .. } => *at = f(at),
            _ => {}
        }
        self
    }

    /// Names the file a decode error happened in, unless one is named already
    /// (the innermost file is the one to look at).
    pub fn in_file(mut self, name: FileRef) -> Self {
        if let Error::Decode { file, .. } = &mut self {
            if file.is_none() {
                *file = Some(name);
            }
        }
        self
    }

    /// The error of a closure given to dman (e.g. of
    /// [`Repo::track`](crate::Repo::track)) that gives up: its own error,
    /// or a message.
    pub fn aborted(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Aborted(source.into())
    }

    /// Whether the error means "no such file" (a missing key or record).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Storage(e) => e.is_not_found(),
            Error::KeyNotFound { .. } => true,
            _ => false,
        }
    }
}

/// A [`RetouchPolicy`](crate::context::RetouchPolicy) without its
/// callback: what an error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetouchPolicyKind {
    /// [`RetouchPolicy::Ignore`](crate::context::RetouchPolicy::Ignore).
    Ignore,
    /// [`RetouchPolicy::Auto`](crate::context::RetouchPolicy::Auto).
    Auto,
    /// [`RetouchPolicy::Quit`](crate::context::RetouchPolicy::Quit).
    Quit,
    /// [`RetouchPolicy::Prompt`](crate::context::RetouchPolicy::Prompt).
    Prompt,
}

impl RetouchPolicyKind {
    /// Python's name of the policy: `ignore`, `auto`, `quit`, `prompt`.
    pub fn name(self) -> &'static str {
        match self {
            RetouchPolicyKind::Ignore => "ignore",
            RetouchPolicyKind::Auto => "auto",
            RetouchPolicyKind::Quit => "quit",
            RetouchPolicyKind::Prompt => "prompt",
        }
    }
}

impl fmt::Display for RetouchPolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
