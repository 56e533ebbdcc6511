//! `dman check`: every JSON file of a tree read without Rust types, the
//! content files its records reach checked cheaply (or read whole with
//! `--deep`), and what is wrong with them. `dman gc` deletes what this finds
//! to be garbage, and nothing else.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use dman::core::graph::Document;
use dman::core::json::{self, Map, Value};
use dman::core::numeric::NpyHeader;
use dman::core::storage::ObjectMeta;
use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};
use futures::StreamExt;

use crate::keys::is_key_file;
use crate::{progress, Failure};

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A JSON file that does not parse.
    BadJson,
    /// One of Python dman's invalid markers.
    InvalidMarker,
    /// A record whose target leaves the root.
    Escape,
    /// A record of a key whose target lies outside the key's folder: `clean`
    /// will not delete it.
    OutsideKey,
    /// A record whose target is missing.
    MissingTarget,
    /// A content file that is truncated or does not read back.
    BadContent,
    /// A file the backend does not show (a symbolic link leading out of the
    /// root, a name that is not a valid path): not checked, not copied.
    Skipped,
    /// A file in a clustered key's folder that no record reaches.
    Orphan,
    /// A file of a key whose first save never committed (its folder has no
    /// key file and nothing reaches it).
    Uncommitted,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::BadJson => "bad-json",
            Kind::InvalidMarker => "invalid-marker",
            Kind::Escape => "target-leaves-root",
            Kind::OutsideKey => "target-leaves-key",
            Kind::MissingTarget => "missing-target",
            Kind::BadContent => "bad-content",
            Kind::Skipped => "skipped",
            Kind::Orphan => "orphan",
            Kind::Uncommitted => "uncommitted",
        }
    }

    /// Whether `dman gc` deletes the file of such a finding.
    pub fn is_garbage(self) -> bool {
        matches!(self, Kind::Orphan | Kind::Uncommitted)
    }
}

/// One problem: its kind, the file, where in the file, and a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The kind.
    pub kind: Kind,
    /// The file the problem is in (for an orphan: the orphan).
    pub file: String,
    /// Where inside the file (empty for whole-file problems).
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    fn new(kind: Kind, file: &StoragePath, at: &str, message: impl Into<String>) -> Self {
        Finding {
            kind,
            file: file.to_string(),
            at: at.to_string(),
            message: message.into(),
        }
    }

    /// One JSON object, for `--json` (JSON escapes control characters).
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("kind".into(), Value::from(self.kind.name()));
        m.insert("file".into(), Value::from(self.file.as_str()));
        m.insert("at".into(), Value::from(self.at.as_str()));
        m.insert("message".into(), Value::from(self.message.as_str()));
        json::to_string_compact(&Value::Object(m))
    }
}

/// One line for a terminal: names and messages come from the tree, so
/// control characters are escaped.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), escape_control(&self.file))?;
        if !self.at.is_empty() {
            write!(f, " at `{}`", escape_control(&self.at))?;
        }
        write!(f, ": {}", escape_control(&self.message))
    }
}

/// How thoroughly to check content files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Not at all: only the graph (what `gc` needs, round after round).
    Skip,
    /// `.npy` headers against the files' sizes.
    Headers,
    /// Every content file read whole.
    Deep,
}

/// What a check found, with the listing it was made from.
pub struct Checked {
    /// The problems, sorted.
    pub findings: Vec<Finding>,
    /// Every file listed, by path.
    pub files: HashMap<StoragePath, ObjectMeta>,
    /// How many keys the files hold.
    pub keys: usize,
}

impl Checked {
    /// The line `--json` ends with, clean or not: what was checked and how
    /// many problems were found.
    pub fn summary_json(&self) -> String {
        let mut m = Map::new();
        m.insert("kind".into(), Value::from("summary"));
        m.insert("files".into(), Value::from(self.files.len()));
        m.insert("keys".into(), Value::from(self.keys));
        m.insert("problems".into(), Value::from(self.findings.len()));
        m.insert("clean".into(), Value::from(self.findings.is_empty()));
        json::to_string_compact(&Value::Object(m))
    }
}

/// How many content files are checked at once.
const CONTENT_CONCURRENCY: usize = 16;

/// The most bytes read to find a `.npy` header (numpy's headers are a few
/// hundred bytes; a larger one is reported, not read further).
const HEADER_LIMIT: usize = 1 << 20;

/// Checks every JSON file under the root of `store`.
pub async fn check(store: &Arc<dyn StorageBackend>, content: Content) -> Result<Checked, Failure> {
    let listed = store.list(&StoragePath::root()).await?;
    let mut findings: Vec<Finding> = crate::log::take_skips()
        .into_iter()
        .map(|skip| Finding {
            kind: Kind::Skipped,
            file: skip.path,
            at: String::new(),
            message: skip.reason,
        })
        .collect();
    let files: HashMap<StoragePath, ObjectMeta> =
        listed.into_iter().map(|m| (m.path.clone(), m)).collect();
    let all: BTreeSet<&StoragePath> = files.keys().collect();

    // Every JSON file, parsed once.
    let mut docs = Vec::new();
    let mut unreadable: Vec<&StoragePath> = Vec::new();
    let jsons: Vec<&StoragePath> = all
        .iter()
        .copied()
        .filter(|p| p.suffix() == Some(".json"))
        .collect();
    let bar = progress::bar(jsons.len() as u64, "JSON files read");
    let opened: Vec<_> = futures::stream::iter(jsons)
        .map(|path| async move { (path, Document::open(store.clone(), path.clone()).await) })
        .buffered(CONTENT_CONCURRENCY)
        .inspect(|_| progress::inc(&bar))
        .collect()
        .await;
    progress::finish(bar);
    for (path, opened) in opened {
        match opened {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                unreadable.push(path);
                findings.push(Finding::new(
                    Kind::BadJson,
                    path,
                    "",
                    format!("{e}; no file of its key is reported as an orphan until it parses"),
                ));
            }
        }
    }

    // Every file some record points at, from any JSON file.
    let mut reached: HashSet<StoragePath> = HashSet::new();
    let mut targets: Vec<(&Document, String, StoragePath)> = Vec::new();
    for doc in &docs {
        for m in doc.invalid_markers() {
            findings.push(Finding::new(
                Kind::InvalidMarker,
                &doc.path,
                &m.at,
                format!("Python dman wrote the invalid marker `{}` here", m.marker),
            ));
        }
        for r in doc.records() {
            match doc.resolve(&r) {
                Err(e) => findings.push(Finding::new(
                    Kind::Escape,
                    &doc.path,
                    &r.at,
                    format!("record target `{}` is refused: {e}", r.target),
                )),
                Ok(target) => {
                    if !files.contains_key(&target) {
                        findings.push(Finding::new(
                            Kind::MissingTarget,
                            &doc.path,
                            &r.at,
                            format!("record target `{}` ({target}) does not exist", r.target),
                        ));
                    }
                    reached.insert(target.clone());
                    targets.push((doc, r.at, target));
                }
            }
        }
    }

    // A clustered key's folder holds only what its graph reaches (and
    // `.gitignore`).
    let keys: Vec<StoragePath> = all
        .iter()
        .filter(|p| is_key_file(p, &reached))
        .filter_map(|p| p.parent())
        .collect();
    let key_count = crate::keys::find_keys(all.clone(), &reached).len();
    let key_of = |path: &StoragePath| -> Option<&StoragePath> {
        // The innermost key folder holding the file.
        keys.iter()
            .filter(|dir| path.starts_with(dir))
            .max_by_key(|dir| dir.as_str().len())
    };

    for (doc, at, target) in &targets {
        if let Some(key) = key_of(&doc.path) {
            if !target.starts_with(key) {
                findings.push(Finding::new(
                    Kind::OutsideKey,
                    &doc.path,
                    at,
                    format!(
                        "record target `{target}` lies outside the key's folder `{key}`: \
                         `clean` and auto-clean leave it alone"
                    ),
                ));
            }
        }
    }

    // Keys with a JSON file that does not parse: what it would reach is
    // unknown, so none of their files is garbage.
    let unsound: HashSet<&StoragePath> = unreadable.iter().filter_map(|p| key_of(p)).collect();
    for path in &all {
        let Some(key) = key_of(path) else { continue };
        let own_file = path.parent().as_ref() == Some(key)
            && path.stem() == key.file_name()
            && path.suffix() == Some(".json");
        if !own_file
            && !unsound.contains(key)
            && !reached.contains(*path)
            && path.file_name() != Some(".gitignore")
        {
            findings.push(Finding::new(
                Kind::Orphan,
                path,
                "",
                "no record of its key reaches this file",
            ));
        }
    }
    findings.extend(uncommitted(&all, &reached, &keys));

    // Content files: cheap checks, or every byte with `deep`; several at
    // once, as a save writes them (on S3 each is a request).
    let contents: Vec<&ObjectMeta> = reached
        .iter()
        .filter(|t| content != Content::Skip && t.suffix() != Some(".json"))
        .filter_map(|t| files.get(t))
        .collect();
    let bar = progress::bar(contents.len() as u64, "content files checked");
    let problems: Vec<(StoragePath, Option<String>)> = futures::stream::iter(contents)
        .map(|meta| async move {
            (
                meta.path.clone(),
                check_content(store, meta, content == Content::Deep).await,
            )
        })
        .buffer_unordered(CONTENT_CONCURRENCY)
        .inspect(|_| progress::inc(&bar))
        .collect()
        .await;
    progress::finish(bar);
    for (path, problem) in problems {
        if let Some(problem) = problem {
            findings.push(Finding::new(Kind::BadContent, &path, "", problem));
        }
    }

    findings.sort();
    Ok(Checked {
        findings,
        files,
        keys: key_count,
    })
}

/// The files of keys whose first save never committed: a folder `…/N/`
/// with no key file `N.json` (a committed save writes it last), not inside
/// a key nor holding one, where no record reaches anything, with no
/// `.gitignore`, and whose own files are all content files named as a save
/// names them (`<uuid4>.<ext>`). The last rule keeps what `Repo::store`
/// writes (`<key>.<ext>`) and any folder a person made out of reach: only
/// folders that can only be a save's are garbage.
fn uncommitted(
    all: &BTreeSet<&StoragePath>,
    reached: &HashSet<StoragePath>,
    keys: &[StoragePath],
) -> Vec<Finding> {
    let mut by_folder: HashMap<StoragePath, Vec<&StoragePath>> = HashMap::new();
    for path in all {
        // Every folder above the file, up to the root.
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d.is_root() {
                break;
            }
            by_folder.entry(d.clone()).or_default().push(path);
            dir = d.parent();
        }
    }
    let mut found = Vec::new();
    let mut taken: Vec<&StoragePath> = Vec::new();
    let mut folders: Vec<_> = by_folder.iter().collect();
    // Innermost first: the key's own folder, not the generator above it.
    folders.sort_by_key(|(dir, _)| std::cmp::Reverse(dir.segments().count()));
    for (dir, inside) in folders {
        let Some(name) = dir.file_name() else {
            continue;
        };
        let own: Vec<&&StoragePath> = inside
            .iter()
            .filter(|p| p.parent().as_ref() == Some(dir))
            .collect();
        let looks_uncommitted = !own.is_empty()
            && own.iter().all(|p| p.stem().is_some_and(is_uuid4))
            && !keys
                .iter()
                .any(|k| k.starts_with(dir) || dir.starts_with(k))
            && !taken
                .iter()
                .any(|t| dir.starts_with(t) || t.starts_with(dir))
            && inside
                .iter()
                .all(|p| !reached.contains(*p) && p.file_name() != Some(".gitignore"));
        if looks_uncommitted {
            taken.push(dir);
            for path in inside {
                found.push(Finding::new(
                    Kind::Uncommitted,
                    path,
                    "",
                    format!(
                        "key folder `{dir}` has no key file `{name}.json`: \
                         the files of a first save that never committed"
                    ),
                ));
            }
        }
    }
    found
}

/// Whether `stem` is a lower-case uuid4 as dman and Python dman name
/// content files (`9c3e…-…`).
fn is_uuid4(stem: &str) -> bool {
    let groups: Vec<&str> = stem.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        && groups[2].starts_with('4')
}

/// What is wrong with a content file, if anything: a `.npy` whose header
/// does not parse or whose size differs from what the header declares; with
/// `deep`, any file that cannot be read whole or reads a size other than its
/// listing's.
async fn check_content(
    store: &Arc<dyn StorageBackend>,
    meta: &ObjectMeta,
    deep: bool,
) -> Option<String> {
    let is_npy = meta.path.suffix() == Some(".npy");
    if !is_npy && !deep {
        return None;
    }
    let mut stream = match store.read_stream(&meta.path).await {
        Ok(stream) => stream,
        Err(e) => return Some(format!("cannot read: {e}")),
    };
    let mut head: Vec<u8> = Vec::new();
    let mut read: u64 = 0;
    let mut header = None;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => return Some(format!("cannot read: {e}")),
        };
        read += chunk.len() as u64;
        if is_npy && header.is_none() {
            head.extend_from_slice(&chunk[..chunk.len().min(HEADER_LIMIT - head.len())]);
            match NpyHeader::parse(&head) {
                Ok(h) => header = Some(h),
                Err(e) if head.len() >= HEADER_LIMIT => return Some(e.to_string()),
                Err(_) => {}
            }
        }
        if !deep && (header.is_some() || !is_npy) {
            break;
        }
    }
    if is_npy {
        let header = match header {
            Some(h) => h,
            None => match NpyHeader::parse(&head) {
                Ok(h) => h,
                Err(e) => return Some(e.to_string()),
            },
        };
        if let Some(data) = header.data_len() {
            let expected = (header.data_offset as u64).saturating_add(data);
            if expected != meta.size {
                return Some(format!(
                    "{} bytes, but its header declares {} of shape {} (`{}`): {}",
                    meta.size,
                    expected,
                    header.shape_text(),
                    header.descr,
                    if meta.size < expected {
                        "truncated"
                    } else {
                        "trailing bytes"
                    }
                ));
            }
        }
    }
    if deep && read != meta.size {
        return Some(format!(
            "read {read} bytes, but the listing says {}",
            meta.size
        ));
    }
    None
}
