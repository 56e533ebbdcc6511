//! What a LOCATION argument names on this machine, decided in one place
//! for every command (and as `dman::open` decides it): a zip archive, a
//! folder named by a `file://` URL, or a workspace folder that stands for
//! its `.dman`.

use std::path::{Path, PathBuf};

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
