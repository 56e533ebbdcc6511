//! Finding and opening repositories: the `.dman` folder, and URLs.

use std::sync::Arc;

use dman_core::{Error, Repo, Result, StorageBackend};

/// The folder Python dman keeps its files in.
#[cfg(feature = "fs")]
pub const ROOT_FOLDER: &str = ".dman";

/// The environment variable naming folders that the search for `.dman`
/// does not enter, like git's `GIT_CEILING_DIRECTORIES`: a list of absolute
/// paths (separated by `:`, `;` on Windows). The search starts at the given
/// folder (always searched) and goes up until it reaches one of them, which
/// it searches no more than what is above it. The tests set it to the
/// parent of their temporary folder, so that a `.dman` above that folder
/// is never found, used or cleared.
#[cfg(feature = "fs")]
pub const CEILING_DIRECTORIES: &str = "DMAN_CEILING_DIRECTORIES";

/// The `.dman` folder in `start` or the nearest folder above it (Python's
/// `get_root_path`), not searching a folder named in
/// [`CEILING_DIRECTORIES`] nor any above it.
#[cfg(feature = "fs")]
pub fn find_root(start: &std::path::Path) -> Result<std::path::PathBuf> {
    let ceilings: Vec<std::path::PathBuf> = std::env::var_os(CEILING_DIRECTORIES)
        .map(|list| {
            std::env::split_paths(&list)
                .filter(|path| path.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    for (index, dir) in start.ancestors().enumerate() {
        if index > 0 && ceilings.iter().any(|ceiling| ceiling == dir) {
            break;
        }
        let candidate = dir.join(ROOT_FOLDER);
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    Err(Error::NoRoot {
        searched_from: start.to_path_buf(),
        ceilings,
    })
}

/// Makes a `.dman` folder in `dir` (no error if it exists) and returns it.
#[cfg(feature = "fs")]
pub fn init(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let root = dir.join(ROOT_FOLDER);
    std::fs::create_dir_all(&root).map_err(|source| Error::Io {
        path: root.clone(),
        source,
    })?;
    Ok(root)
}

#[cfg(feature = "fs")]
fn cwd() -> Result<std::path::PathBuf> {
    std::env::current_dir().map_err(|source| Error::Io {
        path: ".".into(),
        source,
    })
}

#[cfg(feature = "fs")]
fn fs_repo(root: &std::path::Path) -> Result<Repo> {
    let backend = dman_fs::FsBackend::new(root)?;
    Ok(Repo::new(Arc::new(backend)))
}

/// The repository of the `.dman` folder above the working directory. Its
/// generator is `cache/<program name>`; [`repo!`](crate::repo) gives the
/// generator of the calling source file instead, as Python does for
/// scripts.
#[cfg(feature = "fs")]
pub fn discover() -> Result<Repo> {
    let root = find_root(&cwd()?)?;
    fs_repo(&root)
}

/// The repository of the `.dman` folder above the working directory, with
/// the generator of `source` (a path relative to the folder holding
/// `.dman`, as `file!()` gives for a program in a workspace whose root holds
/// `.dman`). When `source` is not found there, the generator is
/// `cache/<file stem>`, Python's fallback for scripts elsewhere. What
/// [`repo!`](crate::repo) expands to.
#[cfg(feature = "fs")]
pub fn discover_for_source(source: &str) -> Result<Repo> {
    let root = find_root(&cwd()?)?;
    let holder = root.parent().unwrap_or(&root);
    let source = dman_core::repo::normalize_source(source);
    let generator = if holder.join(&source).is_file() {
        dman_core::repo::generator_for_source(&source)
    } else {
        let stem = std::path::Path::new(&source)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "__interpreter__".into());
        format!("cache/{stem}")
    };
    Ok(fs_repo(&root)?.with_generator(generator))
}

/// Opens a repository from a location: a local folder (`file:///path` or a
/// plain path, the folder being the base, e.g. a `.dman` folder) or
/// `memory://NAME` (a memory backend shared by every `open` of the same
/// name in this process; `memory://` alone is a fresh one).
///
/// A zip archive is `zip:///path/results.zip`, or a plain path (or
/// `file://` URL) ending in `.zip` that is not a folder; it is opened, or
/// started when missing, and a save writes it. The root inside the archive
/// is `.dman` when the archive has that folder at its top, else the top;
/// `?root=FOLDER` names it (`?root=` for the top): see
/// `dman_zip::ZipBackend::open_location`.
///
/// With the feature `s3`, `s3://bucket/prefix` names a bucket and key
/// prefix on Amazon S3 or an S3-compatible server, with credentials found
/// as the AWS tools find them: the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the profile
/// `AWS_PROFILE` of `~/.aws/credentials` and `~/.aws/config` (with its
/// region and endpoint), then the instance metadata; `AWS_REGION` and
/// `AWS_ENDPOINT_URL` override the profile. See
/// `dman_s3::S3Builder::from_env`.
///
/// The backend alone is [`Repo::backend`]: `dman::open(url)?.backend()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dman::Result<()> {
/// let repo = dman::open("memory://results")?;
/// repo.save("answer", &42i64).await?;
/// // Every `open` of `memory://results` in this process sees the same files.
/// let again = dman::open("memory://results")?;
/// assert_eq!(again.load::<i64>("answer").await?, 42);
/// # Ok(())
/// # }
/// ```
pub fn open(location: &str) -> Result<Repo> {
    Ok(Repo::new(backend(location)?))
}

/// The backend a location names (see [`open`]).
fn backend(location: &str) -> Result<Arc<dyn StorageBackend>> {
    if location.starts_with("s3://") {
        return s3(location);
    }
    if let Some(name) = location.strip_prefix("memory://") {
        return memory(name);
    }
    if location.starts_with("zip://") || names_zip_file(location) {
        return zip(location);
    }
    if let Some(scheme) = location
        .split_once("://")
        .map(|(s, _)| s)
        .filter(|s| *s != "file")
    {
        return Err(Error::InvalidLocation {
            location: location.to_string(),
            reason: format!("the `{scheme}` backend is not part of this build"),
        });
    }
    local(location.strip_prefix("file://").unwrap_or(location))
}

/// Whether a plain path or `file://` URL names a zip archive: it ends in
/// `.zip` (before any `?root=`) and is not a folder.
fn names_zip_file(location: &str) -> bool {
    if location.contains("://") && !location.starts_with("file://") {
        return false;
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    let path = path.split_once("?root=").map_or(path, |(path, _)| path);
    path.to_ascii_lowercase().ends_with(".zip") && !std::path::Path::new(path).is_dir()
}

#[cfg(feature = "zip")]
fn zip(location: &str) -> Result<Arc<dyn StorageBackend>> {
    let location = location.strip_prefix("file://").unwrap_or(location);
    Ok(Arc::new(dman_zip::ZipBackend::open_location(location)?))
}

#[cfg(not(feature = "zip"))]
fn zip(location: &str) -> Result<Arc<dyn StorageBackend>> {
    Err(not_built(location, "the zip backend", "zip"))
}

#[cfg(feature = "memory")]
fn memory(name: &str) -> Result<Arc<dyn StorageBackend>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static NAMED: OnceLock<Mutex<HashMap<String, dman_memory::MemoryBackend>>> = OnceLock::new();
    if name.is_empty() {
        return Ok(Arc::new(dman_memory::MemoryBackend::new()));
    }
    let mut named = NAMED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    Ok(Arc::new(named.entry(name.to_string()).or_default().clone()))
}

#[cfg(not(feature = "memory"))]
fn memory(name: &str) -> Result<Arc<dyn StorageBackend>> {
    Err(not_built(
        &format!("memory://{name}"),
        "the memory backend",
        "memory",
    ))
}

#[cfg(feature = "fs")]
fn local(path: &str) -> Result<Arc<dyn StorageBackend>> {
    Ok(Arc::new(dman_fs::FsBackend::new(path)?))
}

#[cfg(not(feature = "fs"))]
fn local(path: &str) -> Result<Arc<dyn StorageBackend>> {
    Err(not_built(path, "the local-folder backend", "fs"))
}

#[cfg(feature = "s3")]
fn s3(location: &str) -> Result<Arc<dyn StorageBackend>> {
    let backend = dman_s3::S3Backend::from_url(location).map_err(|e| Error::InvalidLocation {
        location: location.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(backend))
}

#[cfg(not(feature = "s3"))]
fn s3(location: &str) -> Result<Arc<dyn StorageBackend>> {
    Err(not_built(location, "the S3 backend", "s3"))
}

/// The error for a location whose backend this build left out.
#[cfg(not(all(feature = "zip", feature = "memory", feature = "fs", feature = "s3")))]
fn not_built(location: &str, backend: &str, feature: &str) -> Error {
    Error::InvalidLocation {
        location: location.to_string(),
        reason: format!("{backend} is not part of this build (feature `{feature}`)"),
    }
}
