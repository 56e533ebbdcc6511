//! Where a record's content goes, relative to the folder of the JSON file
//! that holds the record: `<subdir>/<stem><suffix>`.
//!
//! Each part may be left open; open parts are filled in, in Python dman's
//! order, from the options of the field or container that holds the record,
//! then the content type's extension, then a fresh uuid4 as the stem.

use std::fmt;

/// A possibly incomplete `<subdir>/<stem><suffix>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Target {
    /// Folder below the holder's folder; `Some("")` is the holder's folder.
    pub subdir: Option<String>,
    /// File name without its suffix.
    pub stem: Option<String>,
    /// Suffix with its dot (`.npy`), or empty.
    pub suffix: Option<String>,
}

/// Splits a file name as Python's `os.path.splitext` does: `a.tar.gz` gives
/// (`a.tar`, `.gz`), `.gitignore` gives (`.gitignore`, ``).
pub fn split_name(name: &str) -> (&str, &str) {
    let leading_dots = name.len() - name.trim_start_matches('.').len();
    match name[leading_dots..].rfind('.') {
        Some(i) => name.split_at(leading_dots + i),
        None => (name, ""),
    }
}

impl Target {
    /// A target with every part open.
    pub fn open() -> Self {
        Target::default()
    }

    /// The target of a relative path as stored in a record (`sub/dir/x.npy`).
    pub fn from_path(path: &str) -> Self {
        let (subdir, name) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        let (stem, suffix) = split_name(name);
        Target {
            subdir: Some(subdir.to_string()),
            stem: Some(stem.to_string()),
            suffix: Some(suffix.to_string()),
        }
    }

    /// Sets the file name (stem and suffix at once).
    pub fn with_name(mut self, name: &str) -> Self {
        let (stem, suffix) = split_name(name);
        self.stem = Some(stem.to_string());
        self.suffix = Some(suffix.to_string());
        self
    }

    /// Whether every part is set.
    pub fn is_complete(&self) -> bool {
        self.subdir.is_some() && self.stem.is_some() && self.suffix.is_some()
    }

    /// Python's `Target.merge`: the parts set in `over` replace ours.
    pub fn merge(&self, over: &Target) -> Target {
        Target {
            subdir: over.subdir.clone().or_else(|| self.subdir.clone()),
            stem: over.stem.clone().or_else(|| self.stem.clone()),
            suffix: over.suffix.clone().or_else(|| self.suffix.clone()),
        }
    }

    /// Fills the open parts: subdir `""`, suffix `default_suffix`, stem a
    /// fresh uuid4 (Python's default file name `<uuid4><ext>`).
    pub fn complete(&self, default_suffix: &str) -> Target {
        Target {
            subdir: Some(self.subdir.clone().unwrap_or_default()),
            stem: Some(
                self.stem
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            ),
            suffix: Some(
                self.suffix
                    .clone()
                    .unwrap_or_else(|| default_suffix.to_string()),
            ),
        }
    }

    /// The file name, when stem and suffix are set.
    pub fn name(&self) -> Option<String> {
        Some(format!(
            "{}{}",
            self.stem.as_deref()?,
            self.suffix.as_deref()?
        ))
    }

    /// The relative path `subdir/name` as a record stores it, when complete.
    pub fn to_path(&self) -> Option<String> {
        let name = self.name()?;
        let subdir = self.subdir.as_deref()?;
        Some(join_rel(subdir, &name))
    }
}

/// Joins two relative path strings the way Python's `os.path.join` does
/// for relative parts: an empty side disappears.
pub(crate) fn join_rel(a: &str, b: &str) -> String {
    let a = a.trim_end_matches('/');
    if a.is_empty() {
        b.to_string()
    } else if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}/{b}")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_path() {
            Some(p) => f.write_str(&p),
            None => write!(
                f,
                "target({}, {}, {})",
                self.subdir.as_deref().unwrap_or("AUTO"),
                self.stem.as_deref().unwrap_or("AUTO"),
                self.suffix.as_deref().unwrap_or("AUTO")
            ),
        }
    }
}

/// Python dman's retouch rule for the next free name: the trailing number
/// of the stem goes up by one (`run` → `run0`, `run0` → `run1`).
pub fn next_stem(stem: &str) -> String {
    // Python: re.sub(r"[0-9]+\b", "", stem), numbered from the first match.
    let bytes = stem.as_bytes();
    let mut out = String::with_capacity(stem.len() + 1);
    let mut first: Option<u128> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            // `\b` after the digits: end of text or a non-word character.
            let boundary =
                i == bytes.len() || !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_');
            // A digit run preceded by a word character only matches from
            // its start when the regex could begin there; Python's scan
            // takes the leftmost match, which starts at `start`.
            if boundary {
                if first.is_none() {
                    first = stem[start..i].parse().ok();
                }
            } else {
                out.push_str(&stem[start..i]);
            }
        } else {
            let ch_len = stem[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&stem[i..i + ch_len]);
            i += ch_len;
        }
    }
    match first {
        None => format!("{stem}0"),
        Some(n) => format!("{out}{}", n + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_python() {
        assert_eq!(split_name("a.tar.gz"), ("a.tar", ".gz"));
        assert_eq!(split_name(".gitignore"), (".gitignore", ""));
        assert_eq!(split_name("x"), ("x", ""));
        assert_eq!(split_name("..a.b"), ("..a", ".b"));
    }

    #[test]
    fn from_path_and_back() {
        let t = Target::from_path("results/experiment-0/experiment.json");
        assert_eq!(t.subdir.as_deref(), Some("results/experiment-0"));
        assert_eq!(t.stem.as_deref(), Some("experiment"));
        assert_eq!(
            t.to_path().as_deref(),
            Some("results/experiment-0/experiment.json")
        );
        assert_eq!(
            Target::from_path("x.npy").to_path().as_deref(),
            Some("x.npy")
        );
    }

    #[test]
    fn merge_and_complete() {
        let field = Target {
            subdir: Some("sub".into()),
            ..Target::default()
        };
        let own = Target::default().with_name("john.person");
        let t = field.merge(&own).complete(".sto");
        assert_eq!(t.to_path().as_deref(), Some("sub/john.person"));
        let t = Target::default().complete(".npy");
        assert!(t
            .to_path()
            .is_some_and(|p| p.ends_with(".npy") && p.len() == 40));
    }

    #[test]
    fn retouch_names() {
        assert_eq!(next_stem("test"), "test0");
        assert_eq!(next_stem("test0"), "test1");
        assert_eq!(next_stem("run-9"), "run-10");
        assert_eq!(next_stem("a1b"), "a1b0");
    }
}

/// Per-item record options (Python's `container.record(value, stem=...,
/// suffix=..., name=..., subdir=..., preload=...)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemOptions {
    /// The file's stem.
    pub stem: Option<String>,
    /// The file's suffix, with its dot.
    pub suffix: Option<String>,
    /// The whole file name (instead of stem and suffix).
    pub name: Option<String>,
    /// A folder below the one the container picks.
    pub subdir: Option<String>,
    /// Read the item when the container is loaded.
    pub preload: bool,
}

impl ItemOptions {
    /// Options with only the stem set.
    pub fn stem(stem: impl Into<String>) -> Self {
        ItemOptions {
            stem: Some(stem.into()),
            ..Self::default()
        }
    }

    /// Options with only the file name set.
    pub fn name(name: impl Into<String>) -> Self {
        ItemOptions {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}
