//! What a LOCATION argument names on this machine, decided in one place
//! for every command (and as `dman::open` decides it): a zip archive, a
//! folder named by a `file://` URL, or a workspace folder that stands for
//! its `.dman`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};

use crate::{log, Failure};

/// The folder Python dman and `dman::open` keep a workspace's graph in.
pub const DMAN: &str = ".dman";

/// A zip archive a location names, and the `?root=` it asks for.
pub struct Archive {
    /// The archive's file.
    pub path: PathBuf,
    /// The folder inside it, when named (`?root=`, `/` trimmed).
    pub root: Option<String>,
}

/// The archive a location names, if it names one: `zip://`, or a plain
/// path or `file://` URL ending in `.zip` that is not a folder.
pub fn archive(loc: &str) -> Option<Archive> {
    let rest = if let Some(rest) = loc.strip_prefix("zip://") {
        rest
    } else if loc.contains("://") && !loc.starts_with("file://") {
        return None;
    } else {
        loc.strip_prefix("file://").unwrap_or(loc)
    };
    let (path, root) = match rest.rsplit_once("?root=") {
        Some((path, root)) => (path, Some(root.trim_matches('/').to_string())),
        None => (rest, None),
    };
    let is_zip = loc.starts_with("zip://")
        || (path.to_ascii_lowercase().ends_with(".zip") && !Path::new(path).is_dir());
    is_zip.then(|| Archive {
        path: PathBuf::from(path),
        root,
    })
}

/// The folder a `file://` URL names, exactly as given.
pub fn file_url(loc: &str) -> Option<PathBuf> {
    loc.strip_prefix("file://").map(PathBuf::from)
}

/// Whether a folder is itself a `.dman` folder.
pub fn is_dman(path: &Path) -> bool {
    path.components()
        .next_back()
        .is_some_and(|last| last.as_os_str() == DMAN)
}

/// The `.dman` folder a plain folder path stands for: a workspace (a
/// folder holding `.dman`) means its graph, as `dman copy . backup` writes
/// it into `backup/.dman`; `None` for any other folder.
pub fn workspace_dman(path: &Path) -> Option<PathBuf> {
    let dman = path.join(DMAN);
    (!is_dman(path) && dman.is_dir()).then_some(dman)
}

/// A location's backend and a label for it. A location that does not
/// exist is an error: a missing folder or archive, an S3 prefix with no
/// object, an archive's `?root=` folder with no entry. Nothing reads as an
/// empty tree when the name has a typo. An existing location with no file
/// is a warning on standard error.
pub fn open(location: Option<&str>) -> Result<(Arc<dyn StorageBackend>, String), Failure> {
    match location {
        Some(given) => {
            // A workspace folder stands for its `.dman`, as in `dman copy`.
            let workspace = (!given.contains("://") && archive(given).is_none())
                .then(|| workspace_dman(std::path::Path::new(given)))
                .flatten();
            let loc = match &workspace {
                Some(dman) => dman.to_string_lossy().into_owned(),
                None => given.to_string(),
            };
            let loc = loc.as_str();
            let is_url = loc.contains("://");
            let archive = archive(loc);
            if let Some(archive) = &archive {
                if !archive.path.is_file() {
                    return Err(Failure(format!(
                        "location `{}`: no archive {} (a zip archive is read, not made, here)",
                        escape_control(loc),
                        escape_control(&archive.path.display().to_string())
                    )));
                }
            } else if let Some(folder) = file_url(loc) {
                if !folder.is_dir() {
                    return Err(Failure(format!(
                        "location `{}` does not exist or is not a folder",
                        escape_control(loc)
                    )));
                }
            } else if !is_url && !std::path::Path::new(loc).is_dir() {
                return Err(Failure(format!(
                    "location `{}` does not exist or is not a folder",
                    escape_control(loc)
                )));
            }
            // S3 credentials: the library's chain (environment, AWS_PROFILE
            // and ~/.aws, instance metadata), named at `-v`.
            let store = dman::open(loc)?.backend().clone();
            let label = loc.trim_end_matches('/').to_string();
            tracing::info!(location = %store.location(), "opened");
            let folder = (!is_url || loc.starts_with("file://")) && archive.is_none();
            if folder {
                let path = file_url(loc).unwrap_or_else(|| loc.into());
                warn_if_empty(&path, &label);
            } else {
                let root = archive.and_then(|archive| archive.root);
                require_files(&store, &label, loc.starts_with("s3://"), root.as_deref())?;
            }
            Ok((store, label))
        }
        None => {
            let cwd = std::env::current_dir()?;
            let root = dman::find_root(&cwd)?;
            let label = root
                .strip_prefix(&cwd)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| root.display().to_string());
            let store = dman::open(&root.to_string_lossy())?.backend().clone();
            tracing::info!(location = %store.location(), "opened");
            warn_if_empty(&root, &label);
            Ok((store, label))
        }
    }
}

/// Warns when a local folder holds no file at any depth. Walks only until
/// the first file: no listing of a large tree twice.
fn warn_if_empty(folder: &std::path::Path, label: &str) {
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                // A file, or a link the backend will show or report.
                Ok(_) => return,
                Err(_) => {}
            }
        }
    }
    tracing::warn!("location `{}` is empty", escape_control(label));
}

/// Fails when a location that only exists through its files has none (an
/// S3 prefix, an archive's `?root=` folder); warns when an existing one
/// is empty. One listing (on S3 a request per thousand objects; an
/// archive's is its central directory, in memory).
fn require_files(
    store: &Arc<dyn StorageBackend>,
    label: &str,
    is_s3: bool,
    zip_root: Option<&str>,
) -> Result<(), Failure> {
    // `open` is called from inside the runtime and keeps its synchronous
    // signature: the listing runs on this worker, which tokio lets block.
    let listed = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(store.list(&StoragePath::root()))
    })?;
    // The files this listing skipped are reported by the command's own
    // listing (`check`, `copy`): once, not twice.
    drop(log::take_skips());
    if !listed.is_empty() {
        return Ok(());
    }
    let label = escape_control(label);
    if is_s3 {
        return Err(Failure(format!(
            "location `{label}` does not exist: no object under that bucket and prefix \
             (S3 has no empty folders; check the spelling)"
        )));
    }
    if let Some(root) = zip_root.filter(|r| !r.is_empty()) {
        return Err(Failure(format!(
            "location `{label}` does not exist: the archive has no entry under `{}`",
            escape_control(root)
        )));
    }
    tracing::warn!("location `{label}` is empty");
    Ok(())
}
