//! What a path argument names. A person types what their shell shows
//! them: a path relative to the working directory (`config.json` inside
//! `.dman/demo`), an absolute path, what tab completion gives from the
//! workspace (`.dman/demo/config.json`), a path below the location's root
//! (`demo/config.json`), or just a key's name (`experiment`). Each is tried
//! in turn; the first that names an existing file or folder wins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};

use crate::keys::{KeyInfo, Scan};
use crate::Failure;

/// An opened location: its backend, a label for messages, and its folder
/// on this machine when it is a local folder (paths relative to the
/// working directory and absolute paths are resolved against it).
pub struct Location {
    /// The backend.
    pub store: Arc<dyn StorageBackend>,
    /// How the location is shown.
    pub label: String,
    /// The root folder, canonical, for a local folder location.
    pub local_root: Option<PathBuf>,
}

/// What an argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file.
    File(StoragePath),
    /// A folder (the root when the argument is the location itself), with
    /// the number of files below it.
    Folder(StoragePath, usize),
}

impl Location {
    /// Opens `location` (see [`crate::location::open`]).
    pub fn open(location: Option<&str>) -> Result<Location, Failure> {
        let (store, label) = crate::location::open(location)?;
        Ok(Location {
            store,
            label,
            local_root: local_root(location),
        })
    }

    /// The file or folder `arg` names, trying in turn: the path below the
    /// root, the path relative to the working directory (first, when the
    /// working directory is inside the root), the path without a leading
    /// `.dman/`, and a key's name (under `generator` if given, first when
    /// it is given).
    pub async fn resolve(&self, arg: &str, generator: Option<&str>) -> Result<Target, Failure> {
        if generator.is_some() {
            if let Some(key) = self.key_if_any(arg, generator).await? {
                return Ok(Target::File(key.file));
            }
        }
        let tried = self.candidates(arg)?;
        for path in &tried {
            if let Some(target) = self.existing(path).await? {
                return Ok(target);
            }
        }
        if let Some(key) = self.key_if_any(arg, generator).await? {
            return Ok(Target::File(key.file));
        }
        let looked: Vec<String> = tried
            .iter()
            .map(|p| format!("`{}`", escape_control(p.as_str())))
            .collect();
        Err(Failure(format!(
            "no file or key `{}` in {}: looked for {}{}and for a key of that name{}",
            escape_control(arg),
            escape_control(&self.label),
            looked.join(", "),
            if looked.is_empty() { "" } else { ", " },
            match generator {
                Some(g) => format!(" under `{}`", escape_control(g)),
                None => " under every generator".into(),
            }
        )))
    }

    /// The file `arg` names; a folder is an error that says what is in it.
    pub async fn resolve_file(
        &self,
        arg: &str,
        generator: Option<&str>,
    ) -> Result<StoragePath, Failure> {
        match self.resolve(arg, generator).await? {
            Target::File(path) => Ok(path),
            Target::Folder(path, files) => {
                // A clustered key's folder means its key file.
                if let Some(name) = path.file_name() {
                    let file = path.join(&format!("{name}.json"))?;
                    if self.store.exists(&file).await? {
                        return Ok(file);
                    }
                }
                let shown = if path.is_root() {
                    escape_control(&self.label).into_owned()
                } else {
                    format!("`{}`", escape_control(path.as_str()))
                };
                Err(Failure(format!(
                    "{shown} is a folder ({files} file{}), not a file: `dman tree` shows it, \
                     `dman ls` lists its keys",
                    if files == 1 { "" } else { "s" }
                )))
            }
        }
    }

    /// The key `arg` names: a key's name (`experiment`), `generator/key`,
    /// or any path that resolves to a key's file.
    pub async fn resolve_key(
        &self,
        scan: &Scan,
        arg: &str,
        generator: Option<&str>,
    ) -> Result<KeyInfo, Failure> {
        if let Some(key) = pick(scan, arg, generator)? {
            return Ok(key);
        }
        let file = self.resolve_file(arg, generator).await?;
        scan.keys
            .iter()
            .find(|k| k.file == file)
            .cloned()
            .ok_or_else(|| {
                Failure(format!(
                    "`{}` is not a key's file (a key is `<generator>/<key>/<key>.json` or \
                     `<generator>/<key>.json` that no record points at)",
                    escape_control(file.as_str())
                ))
            })
    }

    /// The key `arg` names, if it names one; an ambiguous name is an error.
    async fn key_if_any(
        &self,
        arg: &str,
        generator: Option<&str>,
    ) -> Result<Option<KeyInfo>, Failure> {
        if arg.is_empty() || arg.ends_with('/') || Path::new(arg).is_absolute() {
            return Ok(None);
        }
        let scan = Scan::read(&self.store).await?;
        pick(&scan, arg, generator)
    }

    /// The root-relative paths `arg` may mean, most likely first.
    fn candidates(&self, arg: &str) -> Result<Vec<StoragePath>, Failure> {
        let as_path = Path::new(arg);
        let from_cwd = self.below_root_from_cwd(as_path);
        if as_path.is_absolute() {
            return match (from_cwd, &self.local_root) {
                (Some(path), _) => Ok(vec![path]),
                (None, Some(root)) => Err(Failure(format!(
                    "`{}` {} the location {}",
                    escape_control(arg),
                    if as_path.exists() {
                        "lies outside"
                    } else {
                        "does not exist in"
                    },
                    escape_control(&root.display().to_string())
                ))),
                (None, None) => Err(Failure(format!(
                    "`{}` is an absolute path, and {} is not a local folder: give the path \
                     below the location's root",
                    escape_control(arg),
                    escape_control(&self.label)
                ))),
            };
        }
        let mut out = Vec::new();
        let mut push = |p: Option<StoragePath>| {
            if let Some(p) = p {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        };
        let below_root = StoragePath::parse(arg).ok();
        let cwd_inside = self.cwd_inside_root();
        if cwd_inside {
            push(from_cwd.clone());
        }
        push(below_root);
        if !cwd_inside {
            push(from_cwd);
        }
        let trimmed = arg.trim_start_matches("./");
        if trimmed == ".dman" {
            push(Some(StoragePath::root()));
        } else if let Some(rest) = trimmed.strip_prefix(".dman/") {
            push(StoragePath::parse(rest).ok());
        }
        Ok(out)
    }

    /// `path` (absolute, or relative to the working directory) as a path
    /// below the local root, when it exists and lies inside it.
    fn below_root_from_cwd(&self, path: &Path) -> Option<StoragePath> {
        let root = self.local_root.as_ref()?;
        let full = std::fs::canonicalize(path).ok()?;
        let rel = full.strip_prefix(root).ok()?;
        let text = rel.to_str()?;
        StoragePath::parse(&text.replace(std::path::MAIN_SEPARATOR, "/")).ok()
    }

    /// Whether the working directory is the local root or inside it.
    fn cwd_inside_root(&self) -> bool {
        let (Some(root), Ok(cwd)) = (&self.local_root, std::env::current_dir()) else {
            return false;
        };
        std::fs::canonicalize(cwd).is_ok_and(|cwd| cwd.starts_with(root))
    }

    /// The file or folder at `path`, if there is one.
    async fn existing(&self, path: &StoragePath) -> Result<Option<Target>, Failure> {
        if !path.is_root() && self.store.exists(path).await? {
            return Ok(Some(Target::File(path.clone())));
        }
        let inside = self.store.list(path).await?;
        Ok((!inside.is_empty()).then(|| Target::Folder(path.clone(), inside.len())))
    }
}

/// The keys `arg` may name: those whose `generator/key` is `arg` or ends
/// with `/arg`, under `generator` when given.
pub fn matching<'a>(scan: &'a Scan, arg: &str, generator: Option<&str>) -> Vec<&'a KeyInfo> {
    let arg = arg.trim_matches('/');
    let name = arg.rsplit('/').next().unwrap_or(arg);
    scan.keys_named(name, generator)
        .into_iter()
        .filter(|k| {
            let label = k.label();
            label == arg || label.ends_with(&format!("/{arg}"))
        })
        .collect()
}

/// The key `arg` names among the keys of `scan` (see [`matching`]):
/// `None` when none does; several are an error listing them.
pub fn pick(scan: &Scan, arg: &str, generator: Option<&str>) -> Result<Option<KeyInfo>, Failure> {
    match matching(scan, arg, generator).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(ambiguous(arg, many)),
    }
}

/// The error of a name several keys have.
pub fn ambiguous(arg: &str, keys: &[&KeyInfo]) -> Failure {
    Failure(format!(
        "`{}` names {} keys: {}; add --generator GENERATOR or give GENERATOR/KEY",
        escape_control(arg),
        keys.len(),
        keys.iter()
            .map(|k| escape_control(&k.label()).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The folder on this machine a location names, canonical: the `.dman`
/// found upward for none, a folder path or `file://` URL; `None` for
/// archives and remote locations.
fn local_root(location: Option<&str>) -> Option<PathBuf> {
    let folder = match location {
        None => dman::find_root(&std::env::current_dir().ok()?).ok()?,
        Some(loc) => {
            let path = loc.strip_prefix("file://").unwrap_or(loc);
            if path.contains("://") {
                return None;
            }
            PathBuf::from(path)
        }
    };
    if !folder.is_dir() {
        return None;
    }
    std::fs::canonicalize(folder).ok()
}
