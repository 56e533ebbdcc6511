//! The error type of the record-graph and repository layers.
//!
//! Every error says where it happened: the file, and for decoding the path
//! inside the JSON document (`store[1].config.seed`), so that a message in a
//! log is enough to find the problem.

use std::fmt;

use crate::json::JsonError;
use crate::path::{PathError, StoragePath};
use crate::storage::StorageError;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while encoding, decoding, saving or loading
/// a record graph.
#[derive(Debug, thiserror::Error)]
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
        file: String,
        /// The parser's error, with line and column.
        #[source]
        source: JsonError,
    },
    /// A JSON document does not have the shape the requested type expects,
    /// or holds one of Python dman's invalid markers.
    #[error("{}", DecodeDisplay(self))]
    Decode {
        /// The file being decoded, once known.
        file: Option<String>,
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
        policy: &'static str,
    },
    /// A key that was asked for is not saved.
    #[error("could not find tracked file `{path}` in {backend}")]
    KeyNotFound {
        /// The key's JSON file.
        path: StoragePath,
        /// The backend looked in.
        backend: String,
    },
    /// A conditional save found the key changed by another writer, or a
    /// transaction ([`Repo::track`](crate::Repo::track)) kept finding it
    /// changed until its attempts ran out.
    #[error("key `{key}` ({file} in {backend}) was changed by another writer; gave up after {attempts} attempt(s)")]
    Conflict {
        /// The key's name.
        key: String,
        /// The key's JSON file.
        file: StoragePath,
        /// The backend's location.
        backend: String,
        /// How many times the save was tried.
        attempts: u32,
    },
    /// Anything else, with a message that says what.
    #[error("{0}")]
    Other(String),
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
    pub fn in_file(mut self, name: &dyn fmt::Display) -> Self {
        if let Error::Decode { file, .. } = &mut self {
            if file.is_none() {
                *file = Some(name.to_string());
            }
        }
        self
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
