//! Parsing `#[dman(...)]` attributes.
//!
//! Every `#[dman(...)]` attribute of an item is read into a list of entries
//! (`key` or `key = "value"`); each derive then takes the keys it knows and
//! refuses the rest, so that a misplaced option is a compile error pointing
//! at it rather than something silently ignored.

use proc_macro2::Span;
use syn::{Attribute, Error, Ident, LitStr, Result, Token};

/// One `key` or `key = "value"` of a `#[dman(...)]` attribute.
struct Entry {
    key: Ident,
    value: Option<LitStr>,
}

/// The entries of an item's `#[dman(...)]` attributes, consumed key by key.
pub struct Attrs {
    entries: Vec<Entry>,
}

impl Attrs {
    /// Reads every `#[dman(...)]` attribute in `attrs`.
    pub fn parse(attrs: &[Attribute]) -> Result<Attrs> {
        let mut entries = Vec::new();
        for attr in attrs.iter().filter(|a| a.path().is_ident("dman")) {
            attr.parse_nested_meta(|meta| {
                let key = meta.path.get_ident().cloned().ok_or_else(|| {
                    meta.error("expected a single word, as in `#[dman(storable)]`")
                })?;
                let value = if meta.input.peek(Token![=]) {
                    Some(meta.value()?.parse::<LitStr>().map_err(|e| {
                        Error::new(
                            e.span(),
                            format!("the value of `{key}` must be a string literal"),
                        )
                    })?)
                } else {
                    None
                };
                entries.push(Entry { key, value });
                Ok(())
            })?;
        }
        Ok(Attrs { entries })
    }

    /// Removes the entry `key`; a second one is an error.
    fn take(&mut self, key: &str) -> Result<Option<Entry>> {
        let mut found = None;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].key == key {
                let entry = self.entries.remove(i);
                if found.is_some() {
                    return Err(Error::new(
                        entry.key.span(),
                        format!("duplicate attribute `{key}`"),
                    ));
                }
                found = Some(entry);
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    /// A flag such as `storable`: its span when present.
    pub fn flag(&mut self, key: &str) -> Result<Option<Span>> {
        match self.take(key)? {
            None => Ok(None),
            Some(Entry { key, value: None }) => Ok(Some(key.span())),
            Some(Entry {
                key,
                value: Some(v),
            }) => Err(Error::new(
                v.span(),
                format!("`{key}` takes no value: write `#[dman({key})]`"),
            )),
        }
    }

    /// A string option such as `name = "config"`.
    pub fn string(&mut self, key: &str) -> Result<Option<LitStr>> {
        match self.take(key)? {
            None => Ok(None),
            Some(Entry { value: Some(v), .. }) => Ok(Some(v)),
            Some(Entry { key, value: None }) => Err(Error::new(
                key.span(),
                format!("`{key}` needs a value, as in `#[dman({key} = \"...\")]`"),
            )),
        }
    }

    /// An option that is either a flag or has a value (`default` or
    /// `default = "path"`): `Some((span, value))` when present.
    pub fn flag_or_string(&mut self, key: &str) -> Result<Option<(Span, Option<LitStr>)>> {
        Ok(self.take(key)?.map(|e| (e.key.span(), e.value)))
    }

    /// A string option holding a path (`default = "path::to::fn"`).
    pub fn path(&mut self, key: &str) -> Result<Option<syn::Path>> {
        self.string(key)?.map(|lit| parse_lit(&lit)).transpose()
    }

    /// Fails on the first entry left over: a key `what` does not accept.
    pub fn finish(self, what: &str, allowed: &[&str]) -> Result<()> {
        match self.entries.into_iter().next() {
            None => Ok(()),
            Some(entry) => {
                let list = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let hint = if list.is_empty() {
                    format!("{what} takes no `#[dman(...)]` options")
                } else {
                    format!("{what} accepts {list}")
                };
                Err(Error::new(
                    entry.key.span(),
                    format!("unknown or misplaced option `{}`: {hint}", entry.key),
                ))
            }
        }
    }
}

/// Parses the content of a string literal as Rust syntax (a path, a bound).
pub fn parse_lit<T: syn::parse::Parse>(lit: &LitStr) -> Result<T> {
    lit.parse::<T>()
        .map_err(|e| Error::new(lit.span(), format!("cannot parse `{}`: {e}", lit.value())))
}

/// Checks a suffix or extension: empty, or starting with a dot.
pub fn check_suffix(lit: &LitStr) -> Result<String> {
    let s = lit.value();
    if s.is_empty() || (s.starts_with('.') && !s.contains('/')) {
        Ok(s)
    } else {
        Err(Error::new(
            lit.span(),
            format!("a suffix starts with a dot and holds no `/`, as in \".json\"; found \"{s}\""),
        ))
    }
}

/// Checks a file stem or name: non-empty, without `/`.
pub fn check_file_part(lit: &LitStr, what: &str) -> Result<String> {
    let s = lit.value();
    if s.is_empty() || s.contains('/') || s == "." || s == ".." {
        Err(Error::new(
            lit.span(),
            format!("a file {what} is a non-empty single path part without `/`; found \"{s}\""),
        ))
    } else {
        Ok(s)
    }
}

/// Checks a subdirectory: a relative path.
pub fn check_subdir(lit: &LitStr) -> Result<String> {
    let s = lit.value();
    if s.starts_with('/') || s.split('/').any(|part| part == "..") {
        Err(Error::new(
            lit.span(),
            format!("a subdir is a relative path that stays below its holder; found \"{s}\""),
        ))
    } else {
        Ok(s)
    }
}

/// Checks a type or member name used in JSON.
pub fn check_name(lit: &LitStr) -> Result<String> {
    let s = lit.value();
    if s.is_empty() {
        Err(Error::new(lit.span(), "a name cannot be empty"))
    } else {
        Ok(s)
    }
}
