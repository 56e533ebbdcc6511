//! `dman check`: every JSON file of a tree read without Rust types, and
//! what is wrong with it.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use dman::core::graph::{self, Document};
use dman::core::json::{self, Map, Value};
use dman::{StorageBackend, StoragePath};

use crate::Failure;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A JSON file that does not parse.
    BadJson,
    /// One of Python dman's invalid markers.
    InvalidMarker,
    /// A record whose target leaves the root.
    Escape,
    /// A record whose target is missing.
    MissingTarget,
    /// A file in a clustered key's folder that no record reaches.
    Orphan,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::BadJson => "bad-json",
            Kind::InvalidMarker => "invalid-marker",
            Kind::Escape => "target-leaves-root",
            Kind::MissingTarget => "missing-target",
            Kind::Orphan => "orphan",
        }
    }
}

/// One problem: its kind, the file, where in the file, and a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The kind.
    pub kind: Kind,
    /// The file the problem is in (for an orphan: the orphan).
    pub file: StoragePath,
    /// Where inside the file (empty for whole-file problems).
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    /// One JSON object, for `--json`.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("kind".into(), Value::from(self.kind.name()));
        m.insert("file".into(), Value::from(self.file.as_str()));
        m.insert("at".into(), Value::from(self.at.as_str()));
        m.insert("message".into(), Value::from(self.message.as_str()));
        json::to_string_compact(&Value::Object(m))
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.file)?;
        if !self.at.is_empty() {
            write!(f, " at `{}`", self.at)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Checks every JSON file under the root of `store`.
pub async fn check(store: &Arc<dyn StorageBackend>) -> Result<Vec<Finding>, Failure> {
    let files = store.list(&StoragePath::root()).await?;
    let all: BTreeSet<StoragePath> = files.iter().map(|m| m.path.clone()).collect();
    let mut findings = Vec::new();
    // Every file some record points at, from any JSON file.
    let mut reached: HashSet<StoragePath> = HashSet::new();
    let mut docs = Vec::new();
    for path in all.iter().filter(|p| p.suffix() == Some(".json")) {
        match Document::open(store.clone(), path.clone()).await {
            Ok(doc) => docs.push(doc),
            Err(e) => findings.push(Finding {
                kind: Kind::BadJson,
                file: path.clone(),
                at: String::new(),
                message: e.to_string(),
            }),
        }
    }
    for doc in &docs {
        for m in doc.invalid_markers() {
            findings.push(Finding {
                kind: Kind::InvalidMarker,
                file: doc.path.clone(),
                at: m.at.clone(),
                message: format!("Python dman wrote the invalid marker `{}` here", m.marker),
            });
        }
        for r in doc.records() {
            match doc.resolve(&r) {
                Err(e) => findings.push(Finding {
                    kind: Kind::Escape,
                    file: doc.path.clone(),
                    at: r.at.clone(),
                    message: format!("record target `{}` is refused: {e}", r.target),
                }),
                Ok(target) => {
                    if !all.contains(&target) {
                        findings.push(Finding {
                            kind: Kind::MissingTarget,
                            file: doc.path.clone(),
                            at: r.at.clone(),
                            message: format!(
                                "record target `{}` ({target}) does not exist",
                                r.target
                            ),
                        });
                    }
                    reached.insert(target);
                }
            }
        }
    }
    // A clustered key is `<dir>/<key>/<key>.json`: its folder holds only what
    // its graph reaches (and the .gitignore files dman keeps).
    let mut claimed: Vec<StoragePath> = Vec::new();
    for doc in &docs {
        let Some(dir) = doc.path.parent() else {
            continue;
        };
        if dir.file_name() == doc.path.stem() && !reached.contains(&doc.path) {
            claimed.push(dir);
        }
    }
    for path in &all {
        let in_key = claimed.iter().any(|dir| path.starts_with(dir));
        let own_json = claimed.iter().any(|dir| {
            path.parent().as_ref() == Some(dir)
                && path.stem() == dir.file_name()
                && path.suffix() == Some(".json")
        });
        if in_key && !own_json && !reached.contains(path) && path.file_name() != Some(".gitignore")
        {
            findings.push(Finding {
                kind: Kind::Orphan,
                file: path.clone(),
                at: String::new(),
                message: "no record of its key reaches this file".into(),
            });
        }
    }
    findings.sort();
    let _ = graph::records; // the walker the findings come from
    Ok(findings)
}
