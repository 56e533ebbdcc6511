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
//! All options go in `#[dman(...)]`; an option a derive does not know, or
//! one in the wrong place, is a compile error pointing at it.
//!
//! **Every derive**, on the type:
//!
//! | option | meaning |
//! |---|---|
//! | `crate = "path"` | the path of dman's core crate (default `::dman_core`, or `::dman::core` through the facade) |
//! | `bound = "T: Trait, ..."` | where-predicates that replace the automatic bounds (see *Generics*) |
//!
//! **`#[derive(Modelclass)]`**, on the struct (Python's `@modelclass`
//! arguments):
//!
//! | option | meaning |
//! |---|---|
//! | `name = "..."` | the `_ser__type` (and `sto_type`) name; default: the struct's name |
//! | `storable` | also implement `Storable`: a `.json` file holding the content without envelope |
//! | `compact` | fields written without envelopes (records as bare `{"target", "sto_type"}`) |
//! | `store_by_field` | a record field's file is named after the field (`data.npy`) |
//! | `cluster` | a record field's file goes in a folder named after the field (`<subdir>/data/`) |
//! | `subdir = "..."` | common folder of the record fields' files |
//! | `default` | missing fields take their value from `Self::default()` (Python fields with defaults) |
//!
//! on a field:
//!
//! | option | meaning |
//! |---|---|
//! | `rename = "..."` | the JSON key (the Python field name); also used by `store_by_field` and `cluster` |
//! | `stem = "..."`, `suffix = ".x"`, `name = "file.x"`, `subdir = "..."` | the record's file (Python's `recordfield`); `name` excludes `stem`/`suffix`; an explicit `subdir` replaces the class's `subdir` and `cluster` folder |
//! | `preload` | the record's content is read when the holder is loaded |
//! | `skip` | left out of the files (Python's `__no_serialize__`); `Default::default()` on load, or the `default` function |
//! | `default` / `default = "path::to::fn"` | the value when the key is missing: `Default::default()` or `fn() -> T` |
//! | `serde` | written through the serde bridge (`Serialize + DeserializeOwned`), as bare JSON |
//!
//! Fields are written in declaration order. A field whose value is absent
//! (`Option::None`) is left out, as Python leaves out `None`; a missing or
//! `null` key reads as `None`. In a `compact` modelclass a field typed
//! `Option<T>` (written as such: a type alias is not recognised) is written
//! as the content of its `T`, as Python's `content_only` does.
//!
//! **`#[derive(Serializable)]`**:
//!
//! - On a struct with named fields (Python's `@serializable` dataclass):
//!   `name`, `storable`, `default` on the struct; `rename`, `skip`,
//!   `default`, `serde` on fields. Every field is written with its
//!   envelope and `None` as `null` (Python's `_serialize__dataclass`);
//!   records inside get no options from the enclosing field.
//! - On a newtype `struct Meters(f64)`: written as its inner value
//!   (transparent: same `SER_TYPE`, content and absent value); `storable`
//!   (with `name` for its `sto_type`) is allowed. Other tuple structs are
//!   refused.
//! - On an enum of unit variants (Python's `Enum`): written as the string
//!   `"<Class>.<MEMBER>"` (`str(member)` in Python) and read from the part
//!   after the last dot. On the enum: `name` (the `_ser__type`), `class`
//!   (the `<Class>` part; default: the enum's name), `rename_all =
//!   "UPPERCASE" | "SCREAMING_SNAKE_CASE" | "lowercase" | "snake_case"`,
//!   `storable`. On a variant: `rename = "RED"`. By default the member is
//!   the variant's name as written (`Red`), so Python's `Color.RED` needs
//!   `rename_all = "UPPERCASE"` or `#[dman(rename = "RED")]`.
//! - On an enum of one-field variants (a *mixed item*, what Python's
//!   containers and plain lists and dicts hold side by side): each value is
//!   written as its variant's value is (a `Record<T>` as a record, a
//!   modelclass with its envelope, a number or string bare), so Python reads
//!   it as the object itself. Reading tries the variants **in declaration
//!   order** and takes the first whose type accepts the JSON
//!   (`Serializable::accepts`):
//!
//!   | variant holds | accepts |
//!   |---|---|
//!   | `Record<T>` (or `Box<Record<T>>`) | a record whose `sto_type` is `T::STO_TYPE` |
//!   | a type with a `_ser__type` (modelclass, `SArray`, `MList`, ...) | an envelope of that name |
//!   | `i64`, `u8`, ... | an integer in the type's range |
//!   | `f64`, `f32` | a float, or an integer it holds exactly |
//!   | `String` | a string |
//!   | `bool` | a bool |
//!   | `Option<T>` | `null`, or what `T` accepts |
//!   | `Vec<T>` | a list (or an `mlist` of inline values) |
//!   | `IndexMap`/`BTreeMap`/`HashMap<String, T>` | an object that is no envelope (or an `mdict` of inline values) |
//!   | `Dynamic`, `json::Value`, a `#[dman(serde)]` type | anything: a last, catch-all variant |
//!
//!   So put `Int(i64)` before `Float(f64)` to keep integers apart from
//!   floats, and a catch-all last. `Dynamic` as the catch-all keeps what no
//!   other variant takes exactly as it was written, records of unknown
//!   types and integers beyond 64 bits included. A value no variant
//!   accepts is an error naming the variants, what was found (for a record,
//!   its `sto_type`) and where in the graph, in which file.
//!
//!   Such an enum goes wherever a serializable goes (a field, a `Vec`, a
//!   map value) and is an item of the model containers: `MList<Entry>`,
//!   `MDict<Entry>`, `MRuns<Entry>` hold it as it is, give its records the
//!   file names they give a storable's (`store_by_key`, `run-<n>`, ...)
//!   and delete a removed item's files after the next save.

//!   ```
//!   use dman_core::{Record, Serializable, Storable};
//!
//!   #[derive(Storable, Debug)]
//!   #[dman(name = "note", ext = ".txt")]
//!   struct Note { text: String }
//!   impl Note {
//!       fn to_bytes(&self) -> std::io::Result<Vec<u8>> { Ok(self.text.clone().into_bytes()) }
//!       fn from_bytes(b: &[u8]) -> std::io::Result<Self> {
//!           Ok(Note { text: String::from_utf8_lossy(b).into_owned() })
//!       }
//!   }
//!
//!   #[derive(Serializable, Debug)]
//!   enum Entry {
//!       Note(Record<Note>), // a record of sto_type "note"
//!       Int(i64),
//!       Text(String),
//!   }
//!   ```
//!
//! **`#[derive(Storable)]`** (Python's `@storable` with `__ext__`,
//! `__write__`, `__read__`): `name` (the `sto_type`; default: the type's
//! name), `ext = ".person"` (default `.sto`), `write = "path"` and `read =
//! "path"`. By default the type's own functions are called:
//! `Self::to_bytes(&self) -> Result<B, E>` with `B: Into<bytes::Bytes>`
//! (`Vec<u8>`, `Bytes`, ...) and `Self::from_bytes(&[u8]) -> Result<Self,
//! E>`, for any `E: Display`; their errors name the type and the operation.
//!
//! # Generics
//!
//! Generic types are supported: every type parameter gets the bound
//! `Serializable` (plus `Send + Sync + 'static` on a `Storable` impl).
//! When that is wrong (a parameter used only in a `serde` field, or
//! through `PhantomData`), `#[dman(bound = "...")]` gives the predicates
//! instead; they replace the automatic ones on every impl the derive
//! writes.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attr;
mod expand;

/// Python's `@dman.modelclass`: implements `Serializable` (and, with
/// `#[dman(storable)]`, `Storable`) for a struct with named fields.
///
/// See the [crate documentation](crate) for the options.
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
/// See the [crate documentation](crate) for the options.
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
/// See the [crate documentation](crate) for the options.
#[proc_macro_derive(Storable, attributes(dman))]
pub fn derive_storable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::storable(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
