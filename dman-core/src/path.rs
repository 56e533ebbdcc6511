//! [`StoragePath`], the one validated path type of dman-rs.
//!
//! Every path that reaches a [`StorageBackend`](crate::StorageBackend) is a
//! `StoragePath`: relative to the backend's root, `/`-separated and
//! normalized. Validation happens when the path is built, so no record,
//! archive entry or key can name a place outside the root it was given:
//!
//! * absolute paths (`/etc/passwd`) are refused;
//! * `..` is resolved, and refused when it would climb above the root
//!   (`a/../b` is `b`, `a/../../b` is an error);
//! * backslashes and NUL bytes are refused (a backslash is a separator on
//!   Windows, a NUL ends a C string);
//! * a first segment that is a Windows drive (`C:`) is refused; other colons
//!   are fine (`cache/examples:patterns:common`);
//! * `.` segments, empty segments (`a//b`) and a trailing slash are dropped;
//! * spaces and non-ASCII characters are valid (`résultats/ü.npy`).
//!
//! The empty string is the root.
//!
//! ```
//! use dman_core::StoragePath;
//!
//! let key = StoragePath::parse("cache/examples:patterns:common//./run/")?;
//! assert_eq!(key.as_str(), "cache/examples:patterns:common/run");
//! let file = key.join("../data/x.npy")?;
//! assert_eq!(file.as_str(), "cache/examples:patterns:common/data/x.npy");
//! assert_eq!(file.suffix(), Some(".npy"));
//! assert!(StoragePath::parse("../outside").is_err());
//! # Ok::<(), dman_core::PathError>(())
//! ```

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid [`StoragePath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// The path starts with `/`.
    Absolute,
    /// A `..` would climb above the root.
    AboveRoot,
    /// The path contains a backslash.
    Backslash,
    /// The path contains a NUL byte.
    Nul,
    /// The first segment is a Windows drive such as `C:`.
    Drive,
}

impl fmt::Display for PathErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathErrorKind::Absolute => {
                "absolute paths are not allowed, a path is relative to the root of its backend"
            }
            PathErrorKind::AboveRoot => "`..` would climb above the root",
            PathErrorKind::Backslash => "backslashes are not allowed, use `/` to separate segments",
            PathErrorKind::Nul => "NUL bytes are not allowed",
            PathErrorKind::Drive => {
                "a Windows drive is not allowed, a path is relative to the root of its backend"
            }
        })
    }
}

/// A string that is not a valid [`StoragePath`]. The message quotes the
/// offending input and says why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid storage path {input:?}{}: {kind}", base_context(.base))]
pub struct PathError {
    input: String,
    base: Option<String>,
    kind: PathErrorKind,
}

fn base_context(base: &Option<String>) -> String {
    match base {
        Some(base) => format!(" (joined to {base:?})"),
        None => String::new(),
    }
}

impl PathError {
    /// The string that was refused.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The path the input was joined to, for errors of
    /// [`StoragePath::join`].
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// Why the input was refused.
    pub fn kind(&self) -> PathErrorKind {
        self.kind
    }
}

/// A validated path inside a storage backend: relative, `/`-separated,
/// normalized (see the [module documentation](self) for the rules). The
/// empty path is the root.
///
/// Paths compare, sort and hash as their strings, so a sorted list of paths
/// is in the byte order of their UTF-8 strings (`a.txt` sorts before `a/b`),
/// the order in which object stores list their keys.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoragePath(String);

/// Whether `segment` is a Windows drive such as `C:`.
fn is_drive(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() == 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Checks the raw input for characters and shapes that are refused wherever
/// they appear.
fn check_raw(input: &str) -> Result<(), PathErrorKind> {
    if input.contains('\0') {
        return Err(PathErrorKind::Nul);
    }
    if input.contains('\\') {
        return Err(PathErrorKind::Backslash);
    }
    if input.starts_with('/') {
        return Err(PathErrorKind::Absolute);
    }
    if input.split('/').next().is_some_and(is_drive) {
        return Err(PathErrorKind::Drive);
    }
    Ok(())
}

/// Pushes the segments of `input` onto `stack`, resolving `.`, `..` and
/// empty segments.
fn push_segments<'a>(stack: &mut Vec<&'a str>, input: &'a str) -> Result<(), PathErrorKind> {
    check_raw(input)?;
    for segment in input.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return Err(PathErrorKind::AboveRoot);
                }
            }
            segment => stack.push(segment),
        }
    }
    if stack.first().is_some_and(|first| is_drive(first)) {
        return Err(PathErrorKind::Drive);
    }
    Ok(())
}

impl StoragePath {
    /// The root of a backend: the empty path.
    pub const fn root() -> Self {
        StoragePath(String::new())
    }

    /// Validates and normalizes `input`. The empty string is the root.
    ///
    /// ```
    /// use dman_core::StoragePath;
    ///
    /// assert_eq!(StoragePath::parse("./a//b/")?.as_str(), "a/b");
    /// assert_eq!(StoragePath::parse("a/../b")?.as_str(), "b");
    /// assert!(StoragePath::parse("a/../../b").is_err());
    /// assert!(StoragePath::parse("/abs").is_err());
    /// # Ok::<(), dman_core::PathError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, PathError> {
        let mut stack = Vec::new();
        push_segments(&mut stack, input).map_err(|kind| PathError {
            input: input.to_owned(),
            base: None,
            kind,
        })?;
        Ok(StoragePath(stack.join("/")))
    }

    /// The path as a string: segments separated by `/`, empty for the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether this is the root (the empty path).
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The segments of the path, from the root down. The root has none.
    ///
    /// ```
    /// use dman_core::StoragePath;
    ///
    /// let path = StoragePath::parse("a/b/c.json")?;
    /// assert_eq!(path.segments().collect::<Vec<_>>(), ["a", "b", "c.json"]);
    /// assert_eq!(StoragePath::root().segments().count(), 0);
    /// # Ok::<(), dman_core::PathError>(())
    /// ```
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('/').filter(|segment| !segment.is_empty())
    }

    /// Joins a relative path to this one. `rel` may hold several segments;
    /// `.` and empty segments are dropped and each `..` removes the last
    /// segment of the combined path. Refused: what [`StoragePath::parse`]
    /// refuses for `rel` (absolute, backslash, NUL, a leading drive), and a
    /// `..` that would climb above the root.
    ///
    /// ```
    /// use dman_core::StoragePath;
    ///
    /// let base = StoragePath::parse("a/b")?;
    /// assert_eq!(base.join("c//./d")?.as_str(), "a/b/c/d");
    /// assert_eq!(base.join("../../c")?.as_str(), "c");
    /// assert!(base.join("../../../c").is_err());
    /// assert!(base.join("/c").is_err());
    /// # Ok::<(), dman_core::PathError>(())
    /// ```
    pub fn join(&self, rel: &str) -> Result<StoragePath, PathError> {
        // Nearly every record target is plain (`<uuid>.npy`,
        // `experiment-0/experiment.json`): nothing to resolve, one
        // allocation. Loading a graph joins once per record.
        if check_raw(rel).is_ok() && rel.split('/').all(|s| !matches!(s, "" | "." | "..")) {
            if self.is_root() {
                return Ok(StoragePath(rel.to_owned()));
            }
            let mut joined = String::with_capacity(self.0.len() + 1 + rel.len());
            joined.push_str(&self.0);
            joined.push('/');
            joined.push_str(rel);
            return Ok(StoragePath(joined));
        }
        let mut stack: Vec<&str> = self.segments().collect();
        push_segments(&mut stack, rel).map_err(|kind| PathError {
            input: rel.to_owned(),
            base: Some(self.0.clone()),
            kind,
        })?;
        Ok(StoragePath(stack.join("/")))
    }

    /// Joins another validated path to this one. This cannot fail: both
    /// paths are already valid.
    pub fn join_path(&self, other: &StoragePath) -> StoragePath {
        match (self.is_root(), other.is_root()) {
            (true, _) => other.clone(),
            (false, true) => self.clone(),
            (false, false) => StoragePath(format!("{}/{}", self.0, other.0)),
        }
    }

    /// The folder that holds this path: `a/b` gives `a`, `a` gives the root,
    /// and the root has none.
    pub fn parent(&self) -> Option<StoragePath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(index) => StoragePath(self.0[..index].to_owned()),
            None => StoragePath::root(),
        })
    }

    /// The folder a file at this path is in, relative paths of its
    /// records resolve against: the parent, or the root for the root (which
    /// holds no file).
    pub fn dir(&self) -> StoragePath {
        self.parent().unwrap_or_else(StoragePath::root)
    }

    /// The last segment, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(index) => &self.0[index + 1..],
            None => &self.0,
        })
    }

    /// Splits the file name as Python's `os.path.splitext` does: at the last
    /// dot, unless every character before it is a dot.
    fn split_ext(&self) -> Option<(&str, Option<&str>)> {
        let name = self.file_name()?;
        match name.rfind('.') {
            Some(dot) if name[..dot].bytes().any(|byte| byte != b'.') => {
                Some((&name[..dot], Some(&name[dot..])))
            }
            _ => Some((name, None)),
        }
    }

    /// The file name without its suffix, as `os.path.splitext` gives it:
    /// `a.tar.gz` has the stem `a.tar`, `.gitignore` the stem `.gitignore`.
    /// `None` for the root.
    pub fn stem(&self) -> Option<&str> {
        self.split_ext().map(|(stem, _)| stem)
    }

    /// The suffix of the file name, dot included, as `os.path.splitext`
    /// gives it: `a.tar.gz` has the suffix `.gz`, `a.` the suffix `.`.
    /// `None` when there is none (`a`, `.gitignore`) and for the root.
    ///
    /// ```
    /// use dman_core::StoragePath;
    ///
    /// let path = StoragePath::parse("data/a.tar.gz")?;
    /// assert_eq!(path.stem(), Some("a.tar"));
    /// assert_eq!(path.suffix(), Some(".gz"));
    /// assert_eq!(path.extension(), Some("gz"));
    /// assert_eq!(StoragePath::parse(".gitignore")?.suffix(), None);
    /// # Ok::<(), dman_core::PathError>(())
    /// ```
    pub fn suffix(&self) -> Option<&str> {
        self.split_ext().and_then(|(_, suffix)| suffix)
    }

    /// The suffix without its dot (`gz` for `a.tar.gz`, the empty string for
    /// `a.`). `None` when there is no suffix.
    pub fn extension(&self) -> Option<&str> {
        self.suffix().map(|suffix| &suffix[1..])
    }

    /// Whether `base` is this path or one of its ancestors, segment-wise:
    /// `a/b` starts with `a`, `ab` does not. Every path starts with the
    /// root.
    pub fn starts_with(&self, base: &StoragePath) -> bool {
        base.is_root()
            || self.0 == base.0
            || (self.0.starts_with(&base.0) && self.0.as_bytes().get(base.0.len()) == Some(&b'/'))
    }

    /// This path relative to `base`, or `None` when it is not under `base`
    /// (see [`StoragePath::starts_with`]). A path stripped of itself gives
    /// the root.
    pub fn strip_prefix(&self, base: &StoragePath) -> Option<StoragePath> {
        if base.is_root() {
            Some(self.clone())
        } else if self.0 == base.0 {
            Some(StoragePath::root())
        } else if self.starts_with(base) {
            Some(StoragePath(self.0[base.0.len() + 1..].to_owned()))
        } else {
            None
        }
    }
}

impl fmt::Display for StoragePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StoragePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoragePath({:?})", self.0)
    }
}

impl FromStr for StoragePath {
    type Err = PathError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        StoragePath::parse(input)
    }
}

impl TryFrom<&str> for StoragePath {
    type Error = PathError;

    fn try_from(input: &str) -> Result<Self, Self::Error> {
        StoragePath::parse(input)
    }
}

impl TryFrom<String> for StoragePath {
    type Error = PathError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        let path = StoragePath::parse(&input)?;
        // Keep the caller's allocation when it was already normalized.
        Ok(if path.0 == input {
            StoragePath(input)
        } else {
            path
        })
    }
}

impl From<StoragePath> for String {
    fn from(path: StoragePath) -> Self {
        path.0
    }
}

impl AsRef<str> for StoragePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Paths compare, order and hash as their strings, so maps keyed by
/// `StoragePath` can be searched with a `&str`.
impl Borrow<str> for StoragePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for StoragePath {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StoragePath {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for StoragePath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for StoragePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = StoragePath;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a relative storage path")
            }

            fn visit_str<E: serde::de::Error>(self, input: &str) -> Result<StoragePath, E> {
                StoragePath::parse(input).map_err(E::custom)
            }

            fn visit_string<E: serde::de::Error>(self, input: String) -> Result<StoragePath, E> {
                StoragePath::try_from(input).map_err(E::custom)
            }
        }

        deserializer.deserialize_string(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &str) -> StoragePath {
        StoragePath::parse(input).unwrap()
    }

    fn refused(input: &str) -> PathErrorKind {
        match StoragePath::parse(input) {
            Ok(path) => panic!("{input:?} should be refused, parsed as {path:?}"),
            Err(err) => err.kind(),
        }
    }

    #[test]
    fn empty_input_is_the_root() {
        let root = p("");
        assert!(root.is_root());
        assert_eq!(root, StoragePath::root());
        assert_eq!(root.as_str(), "");
        assert_eq!(StoragePath::default(), StoragePath::root());
        assert_eq!(p("."), StoragePath::root());
        assert_eq!(p("./"), StoragePath::root());
        assert_eq!(p("a/.."), StoragePath::root());
    }

    #[test]
    fn plain_paths_are_kept() {
        assert_eq!(p("a").as_str(), "a");
        assert_eq!(p("a/b/c.json").as_str(), "a/b/c.json");
        assert!(!p("a").is_root());
    }

    #[test]
    fn empty_and_dot_segments_and_trailing_slashes_are_dropped() {
        assert_eq!(p("a//b").as_str(), "a/b");
        assert_eq!(p("a///b//").as_str(), "a/b");
        assert_eq!(p("./a/./b").as_str(), "a/b");
        assert_eq!(p("a/b/").as_str(), "a/b");
        assert_eq!(p("a/b/.").as_str(), "a/b");
    }

    #[test]
    fn dot_dot_inside_the_root_is_resolved() {
        assert_eq!(p("a/../b").as_str(), "b");
        assert_eq!(p("a/b/../../c/d/..").as_str(), "c");
        assert_eq!(p("a/./../b").as_str(), "b");
    }

    #[test]
    fn dot_dot_above_the_root_is_refused() {
        assert_eq!(refused(".."), PathErrorKind::AboveRoot);
        assert_eq!(refused("../x"), PathErrorKind::AboveRoot);
        assert_eq!(refused("a/../../x"), PathErrorKind::AboveRoot);
        assert_eq!(refused("./.."), PathErrorKind::AboveRoot);
        // Climbing out and back in is still climbing out.
        assert_eq!(refused("a/../../a/b"), PathErrorKind::AboveRoot);
    }

    #[test]
    fn absolute_paths_are_refused() {
        assert_eq!(refused("/abs"), PathErrorKind::Absolute);
        assert_eq!(refused("/"), PathErrorKind::Absolute);
        assert_eq!(refused("//a"), PathErrorKind::Absolute);
    }

    #[test]
    fn backslashes_are_refused() {
        assert_eq!(refused("a\\b"), PathErrorKind::Backslash);
        assert_eq!(refused("..\\x"), PathErrorKind::Backslash);
        assert_eq!(refused("\\\\server\\share"), PathErrorKind::Backslash);
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert_eq!(refused("a\0b"), PathErrorKind::Nul);
        assert_eq!(refused("\0"), PathErrorKind::Nul);
    }

    #[test]
    fn drives_are_refused_but_colons_are_valid() {
        assert_eq!(refused("C:"), PathErrorKind::Drive);
        assert_eq!(refused("c:/x"), PathErrorKind::Drive);
        assert_eq!(refused("./C:/x"), PathErrorKind::Drive);
        assert_eq!(refused("a/../z:"), PathErrorKind::Drive);
        assert_eq!(
            p("cache/examples:patterns:common").as_str(),
            "cache/examples:patterns:common"
        );
        assert_eq!(p("a/C:").as_str(), "a/C:");
        assert_eq!(p("C:x").as_str(), "C:x");
        assert_eq!(p("CD:").as_str(), "CD:");
        assert_eq!(p("1:").as_str(), "1:");
    }

    #[test]
    fn spaces_and_non_ascii_are_valid() {
        assert_eq!(p("résultats/ü.npy").as_str(), "résultats/ü.npy");
        assert_eq!(p("with space/a b.txt").as_str(), "with space/a b.txt");
        assert_eq!(p("日本/データ").segments().count(), 2);
        assert_eq!(p("...").as_str(), "...");
    }

    #[test]
    fn errors_quote_the_input_and_say_why() {
        let err = StoragePath::parse("a/../../x").unwrap_err();
        assert_eq!(err.input(), "a/../../x");
        assert_eq!(err.base(), None);
        let message = err.to_string();
        assert!(message.contains("\"a/../../x\""), "{message}");
        assert!(message.contains("above the root"), "{message}");

        let message = StoragePath::parse("a\0b").unwrap_err().to_string();
        assert!(message.contains("\"a\\0b\""), "{message}");
        assert!(message.contains("NUL"), "{message}");

        let message = StoragePath::parse("a\\b").unwrap_err().to_string();
        assert!(message.contains("backslash"), "{message}");

        let message = StoragePath::parse("/abs").unwrap_err().to_string();
        assert!(
            message.contains("\"/abs\"") && message.contains("absolute"),
            "{message}"
        );

        let message = StoragePath::parse("C:").unwrap_err().to_string();
        assert!(
            message.contains("\"C:\"") && message.contains("drive"),
            "{message}"
        );
    }

    #[test]
    fn segments_iterate_from_the_root_down() {
        assert_eq!(p("a/b/c").segments().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(
            p("a/b/c").segments().rev().collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        assert_eq!(StoragePath::root().segments().count(), 0);
    }

    #[test]
    fn join_normalizes_and_resolves_dot_dot() {
        let base = p("a/b");
        assert_eq!(base.join("c").unwrap().as_str(), "a/b/c");
        assert_eq!(base.join("c/d/e.json").unwrap().as_str(), "a/b/c/d/e.json");
        assert_eq!(base.join("./c//d/").unwrap().as_str(), "a/b/c/d");
        assert_eq!(base.join("").unwrap(), base);
        assert_eq!(base.join("..").unwrap().as_str(), "a");
        assert_eq!(base.join("../c").unwrap().as_str(), "a/c");
        assert_eq!(base.join("../../c").unwrap().as_str(), "c");
        assert_eq!(base.join("../..").unwrap(), StoragePath::root());
        assert_eq!(base.join("c/../../d").unwrap().as_str(), "a/d");
        assert_eq!(StoragePath::root().join("x/y").unwrap().as_str(), "x/y");
        // Plain targets take a shortcut; it must agree with resolving.
        for rel in ["x", "x/y.npy", "x/D:", "a b/ü.json", "...", ".x/..y"] {
            for base in [p("a/b"), StoragePath::root()] {
                let resolved =
                    StoragePath::parse(format!("{}/{rel}", base.as_str()).trim_start_matches('/'));
                assert_eq!(base.join(rel).ok(), resolved.ok(), "{base:?} + {rel}");
            }
        }
    }

    #[test]
    fn join_refuses_what_parse_refuses() {
        let base = p("a/b");
        let kind = |rel: &str| base.join(rel).unwrap_err().kind();
        assert_eq!(kind("../../../c"), PathErrorKind::AboveRoot);
        assert_eq!(kind("c/../../../.."), PathErrorKind::AboveRoot);
        assert_eq!(kind("/c"), PathErrorKind::Absolute);
        assert_eq!(kind("c\\d"), PathErrorKind::Backslash);
        assert_eq!(kind("c\0"), PathErrorKind::Nul);
        assert_eq!(kind("C:/x"), PathErrorKind::Drive);
        assert_eq!(
            StoragePath::root().join("..").unwrap_err().kind(),
            PathErrorKind::AboveRoot
        );
        // A drive reached by popping every segment of the base.
        assert_eq!(
            base.join("../../D:").unwrap_err().kind(),
            PathErrorKind::Drive
        );

        let err = base.join("../../../c").unwrap_err();
        assert_eq!(err.input(), "../../../c");
        assert_eq!(err.base(), Some("a/b"));
        let message = err.to_string();
        assert!(
            message.contains("\"../../../c\"") && message.contains("\"a/b\""),
            "{message}"
        );
    }

    #[test]
    fn join_path_concatenates() {
        assert_eq!(p("a/b").join_path(&p("c/d")).as_str(), "a/b/c/d");
        assert_eq!(StoragePath::root().join_path(&p("c")).as_str(), "c");
        assert_eq!(p("a").join_path(&StoragePath::root()).as_str(), "a");
        assert!(StoragePath::root()
            .join_path(&StoragePath::root())
            .is_root());
    }

    #[test]
    fn parent_climbs_one_segment() {
        assert_eq!(p("a/b/c").parent(), Some(p("a/b")));
        assert_eq!(p("a").parent(), Some(StoragePath::root()));
        assert_eq!(StoragePath::root().parent(), None);
    }

    #[test]
    fn file_name_is_the_last_segment() {
        assert_eq!(p("a/b/c.json").file_name(), Some("c.json"));
        assert_eq!(p("c").file_name(), Some("c"));
        assert_eq!(StoragePath::root().file_name(), None);
    }

    #[test]
    fn stem_and_suffix_follow_python_splitext() {
        let split = |input: &str| {
            let path = p(input);
            (
                path.stem().unwrap().to_owned(),
                path.suffix().map(str::to_owned),
            )
        };
        let some = |stem: &str, suffix: &str| (stem.to_owned(), Some(suffix.to_owned()));
        let none = |stem: &str| (stem.to_owned(), None);
        assert_eq!(split("d/a.json"), some("a", ".json"));
        assert_eq!(split("a.tar.gz"), some("a.tar", ".gz"));
        assert_eq!(split(".gitignore"), none(".gitignore"));
        assert_eq!(split("..a"), none("..a"));
        assert_eq!(split("..."), none("..."));
        assert_eq!(split("a"), none("a"));
        assert_eq!(split("a."), some("a", "."));
        assert_eq!(split("a..b"), some("a.", ".b"));
        assert_eq!(split(".a.b"), some(".a", ".b"));
        assert_eq!(split("x.d/file"), none("file"));
        assert_eq!(StoragePath::root().stem(), None);
        assert_eq!(StoragePath::root().suffix(), None);
    }

    #[test]
    fn extension_is_the_suffix_without_its_dot() {
        assert_eq!(p("a.tar.gz").extension(), Some("gz"));
        assert_eq!(p("a.npy").extension(), Some("npy"));
        assert_eq!(p("a.").extension(), Some(""));
        assert_eq!(p(".gitignore").extension(), None);
        assert_eq!(p("a").extension(), None);
    }

    #[test]
    fn starts_with_is_segment_wise() {
        assert!(p("a/b").starts_with(&p("a")));
        assert!(p("a/b").starts_with(&p("a/b")));
        assert!(p("a/b/c").starts_with(&p("a/b")));
        assert!(!p("ab").starts_with(&p("a")));
        assert!(!p("a/bc").starts_with(&p("a/b")));
        assert!(!p("a").starts_with(&p("a/b")));
        assert!(p("a").starts_with(&StoragePath::root()));
        assert!(StoragePath::root().starts_with(&StoragePath::root()));
        assert!(!StoragePath::root().starts_with(&p("a")));
    }

    #[test]
    fn strip_prefix_is_segment_wise() {
        assert_eq!(p("a/b/c").strip_prefix(&p("a")), Some(p("b/c")));
        assert_eq!(p("a/b").strip_prefix(&p("a/b")), Some(StoragePath::root()));
        assert_eq!(p("a/b").strip_prefix(&StoragePath::root()), Some(p("a/b")));
        assert_eq!(p("ab/c").strip_prefix(&p("a")), None);
        assert_eq!(p("a").strip_prefix(&p("a/b")), None);
    }

    #[test]
    fn conversions() {
        assert_eq!("a//b".parse::<StoragePath>().unwrap().as_str(), "a/b");
        assert_eq!(StoragePath::try_from("a/./b").unwrap().as_str(), "a/b");
        assert_eq!(
            StoragePath::try_from(String::from("a/b")).unwrap().as_str(),
            "a/b"
        );
        assert_eq!(
            StoragePath::try_from(String::from("a/b/"))
                .unwrap()
                .as_str(),
            "a/b"
        );
        assert!("../x".parse::<StoragePath>().is_err());
        assert!(StoragePath::try_from("/x").is_err());
        assert!(StoragePath::try_from(String::from("a\\b")).is_err());
        assert_eq!(String::from(p("a/b")), "a/b");
        assert_eq!(p("a/b").into_string(), "a/b");
        let path = p("a/b");
        let as_ref: &str = path.as_ref();
        assert_eq!(as_ref, "a/b");
        assert_eq!(p("a/b"), "a/b");
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(p("a/b").to_string(), "a/b");
        assert_eq!(format!("{:?}", p("a/b")), "StoragePath(\"a/b\")");
        assert_eq!(StoragePath::root().to_string(), "");
    }

    #[test]
    fn order_and_hash_follow_the_string() {
        let mut paths = vec![p("a/bc"), p("a/b/x"), p("a.txt"), p("a/b.txt"), p("a")];
        paths.sort();
        assert_eq!(
            paths,
            [p("a"), p("a.txt"), p("a/b.txt"), p("a/b/x"), p("a/bc")]
        );

        let mut set = std::collections::HashSet::new();
        set.insert(p("a//b"));
        assert!(set.contains("a/b"));
        let mut map = std::collections::BTreeMap::new();
        map.insert(p("x/y"), 1);
        assert_eq!(map.get("x/y"), Some(&1));
    }

    #[test]
    fn serde_is_a_validated_string() {
        let json = serde_json::to_string(&p("a/b c/ü.npy")).unwrap();
        assert_eq!(json, "\"a/b c/ü.npy\"");
        let back: StoragePath = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p("a/b c/ü.npy"));
        let normalized: StoragePath = serde_json::from_str("\"./a//b/\"").unwrap();
        assert_eq!(normalized.as_str(), "a/b");
        for hostile in [
            "\"../x\"",
            "\"/abs\"",
            "\"a\\\\b\"",
            "\"a\\u0000b\"",
            "\"C:\"",
        ] {
            let err = serde_json::from_str::<StoragePath>(hostile).unwrap_err();
            assert!(
                err.to_string().contains("invalid storage path"),
                "{hostile}: {err}"
            );
        }
        assert!(serde_json::from_str::<StoragePath>("3").is_err());
    }
}
