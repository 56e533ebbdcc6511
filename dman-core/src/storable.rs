//! Storable values: content that lives in a file of its own, pointed at by
//! a record.

use std::sync::Arc;

use bytes::Bytes;

use crate::context::{DecodeContext, EncodeContext};
use crate::error::{Error, Result};
use crate::json::{self, Value};
use crate::storage::Payload;

/// The stored form of a storable: raw bytes, or a JSON document that may
/// hold records of its own (whose targets are relative to the file).
#[derive(Debug, Clone)]
pub enum Stored {
    /// A file in a format of the type's choosing (`.npy`, text, ...).
    Bytes(Bytes),
    /// A JSON file, written indented by four spaces as Python writes it.
    Json(Value),
}

impl Stored {
    /// The bytes of the file: the raw bytes, or the JSON as Python writes
    /// it (indented by four spaces).
    pub fn into_bytes(self) -> Bytes {
        match self {
            Stored::Bytes(b) => b,
            Stored::Json(v) => Bytes::from(json::to_string_pretty(&v).into_bytes()),
        }
    }

    /// The JSON document, parsing the bytes if needed.
    pub fn json(self) -> Result<Value> {
        match self {
            Stored::Json(v) => Ok(v),
            Stored::Bytes(b) => json::from_slice(&b)
                // The file is not known here; the caller names it
                // (`Error::in_file`).
                .map_err(|source| Error::decode(format!("invalid JSON: {source}"))),
        }
    }
}

/// A value stored in a file of its own.
///
/// Implement it with `#[derive(Storable)]` (a type with its own byte
/// format) or `#[derive(Modelclass)]` with `#[dman(storable)]` (a JSON file
/// that may hold records itself).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Storable`: it cannot be kept in a file of its own",
    label = "not `Storable`",
    note = "a modelclass becomes storable with `#[dman(storable)]` beside `#[derive(Modelclass)]` (Python's `@modelclass(storable=True)`)",
    note = "a type with a byte format of its own: `#[derive(Storable)]` with `to_bytes` and `from_bytes`",
    note = "`MList`, `MDict` and `MRuns` hold storables, or an enum of them derived with `#[derive(Serializable)]`"
)]
pub trait Storable: Sized + Send + Sync + 'static {
    /// The storage-type name written in records (`sto_type`).
    const STO_TYPE: &'static str;

    /// The file extension with its dot; Python dman's default is `.sto`,
    /// and `.json` for serializable storables.
    const EXTENSION: &'static str = ".sto";

    /// Whether the file is a JSON record graph: then its records are
    /// followed when the file moves or is deleted, and `preload` records in
    /// it are read ahead.
    const JSON: bool = false;

    /// The stored form. Records inside a JSON form add their files to the
    /// context's plan; the context's folder is the folder of this file.
    fn to_stored(&self, ctx: &mut EncodeContext<'_>) -> Result<Stored>;

    /// The value from its stored form ([`Stored::Json`] when
    /// [`Storable::JSON`] is set, [`Stored::Bytes`] otherwise).
    fn from_stored(stored: Stored, ctx: &DecodeContext) -> Result<Self>;

    /// The file of a value held in an `Arc`, as parts that may share the
    /// value's own memory (they keep the `Arc`): for a type whose files are
    /// large (arrays), so that a save never holds a copy of the value. A
    /// record's content is such an `Arc`. `None` (the default): the bytes
    /// of [`to_stored`](Self::to_stored).
    fn to_payload(value: &Arc<Self>) -> Option<Result<Payload>> {
        let _ = value;
        None
    }

    /// A decoder that builds the value from its file's pieces as they are
    /// read, for a type whose files are large (arrays): a record then
    /// reads the file with [`StorageBackend::read_stream`] and never holds
    /// it whole beside the value. `None` (the default): the file is read
    /// whole and given to [`from_stored`](Self::from_stored). Not used for
    /// [`JSON`](Self::JSON) storables.
    ///
    /// [`StorageBackend::read_stream`]: crate::StorageBackend::read_stream
    fn decoder(ctx: &DecodeContext) -> Option<Box<dyn Decoder<Self>>> {
        let _ = ctx;
        None
    }
}

/// A value built from its file's pieces as they are read (see
/// [`Storable::decoder`]).
pub trait Decoder<T>: Send {
    /// Takes the next piece of the file; pieces come in order, of any size.
    fn push(&mut self, piece: &[u8]) -> Result<()>;

    /// The value, once every piece was pushed.
    fn finish(self: Box<Self>) -> Result<T>;

    /// The value from a whole file of `size` bytes read from `reader` on
    /// a blocking thread (see
    /// [`StorageBackend::open_read`](crate::StorageBackend::open_read)),
    /// straight into the value's own buffer where the type can. The
    /// default pushes pieces of 1 MiB.
    fn read_from(mut self: Box<Self>, reader: &mut dyn std::io::Read, size: u64) -> Result<T> {
        let _ = size;
        let mut piece = vec![0; crate::storage::STREAM_CHUNK];
        loop {
            let n = match reader.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::decode(format!("cannot read the file: {e}"))),
            };
            self.push(&piece[..n])?;
        }
        self.finish()
    }
}

/// Implements [`Storable`] for a [`Serializable`](crate::Serializable) type
/// whose file is its JSON content without envelope (what the derive does
/// for `#[dman(storable)]`).
#[macro_export]
macro_rules! json_storable {
    ($ty:ty, $name:expr) => {
        impl $crate::Storable for $ty {
            const STO_TYPE: &'static str = $name;
            const EXTENSION: &'static str = ".json";
            const JSON: bool = true;
            fn to_stored(
                &self,
                ctx: &mut $crate::EncodeContext<'_>,
            ) -> $crate::Result<$crate::storable::Stored> {
                $crate::Serializable::to_content(self, ctx).map($crate::storable::Stored::Json)
            }
            fn from_stored(
                stored: $crate::storable::Stored,
                ctx: &$crate::DecodeContext,
            ) -> $crate::Result<Self> {
                <Self as $crate::Serializable>::from_content(&stored.json()?, ctx)
            }
        }
    };
}
