//! `dman copy SRC DST`: a tree from one location to another, as
//! `rclone copy` does. Files already identical at the destination are
//! skipped (so an interrupted copy resumes when run again), `--dry-run`
//! says what would happen, `--delete` mirrors, `--check` verifies, and
//! copies between overlapping locations are refused.
//!
//! Where the files go: a plain folder path holding a `.dman` folder stands
//! for that `.dman` folder (a workspace), on both sides; a new or empty
//! destination folder gets a `.dman` folder, and a new zip archive keeps
//! the graph under `.dman/` at its top, the layout of `zip -r results.zip
//! .dman`, which Python's dman and [`dman::open`] read (its default root
//! inside an archive is `.dman` when present). `file://PATH` names a folder
//! as it is, never its `.dman`.

use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use dman::core::copy::{self, Action, CopyOptions, DifferenceKind};
use dman::core::json::{self, Map, Value};
use dman::tree::{escape_control, human_size};
use dman::{StorageBackend, StoragePath};

use crate::location::{self, is_dman, DMAN};
use crate::{log, Failure};

/// The arguments of `dman copy`.
#[derive(clap::Args)]
#[command(after_help = "\
Locations: a folder (its `.dman` folder when it holds one; a new or empty \
folder gets one), `file://PATH` (that folder itself), a `.zip` file (a new \
archive keeps `.dman/` at its top), `s3://bucket/prefix`, `memory://NAME`.

Examples:
  dman copy . results.zip                 # the workspace's .dman into an archive
  dman copy results.zip restored          # back, into restored/.dman
  dman copy .dman s3://bucket/exp         # again after an interruption: copies the rest
  dman copy .dman s3://bucket/exp --dry-run --delete
  dman copy .dman s3://bucket/exp --check-only")]
pub struct CopyArgs {
    /// Where the tree is.
    src: String,
    /// Where it goes (created if missing).
    dst: String,
    /// List what would be copied and deleted; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Then delete the destination's files that the source does not have
    /// (a mirror, like `rclone sync`); only after every copy succeeded.
    #[arg(long)]
    delete: bool,
    /// Then verify that every source file is at the destination, identical;
    /// exit status 1 listing those that are not.
    #[arg(long)]
    check: bool,
    /// Only verify, as `--check` does, copying nothing.
    #[arg(long, conflicts_with_all = ["dry_run", "delete", "check"])]
    check_only: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Deprecated, does nothing: a destination holding files is resumed
    /// into, identical files being skipped.
    #[arg(long, hide = true)]
    force: bool,
}

/// Where a location's files are, as far as overlap goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// A local folder, absolute, symbolic links resolved where it exists.
    Folder(PathBuf),
    /// A zip archive's file, absolute, resolved likewise.
    Zip(PathBuf),
    /// A bucket and key prefix (on the one endpoint the environment names).
    S3 { bucket: String, prefix: String },
    /// A named memory backend (`memory://` alone is a fresh one).
    Memory(String),
    /// Anything else (an error from `dman::open` later).
    Other,
}

/// A location resolved for a copy: what to open, and what it is.
#[derive(Debug)]
struct Endpoint {
    /// The location given to `dman::open`.
    open: String,
    /// The label in messages.
    label: String,
    place: Place,
    /// A destination folder or archive that does not exist yet.
    missing: bool,
}

/// Runs `dman copy`.
pub async fn run(args: CopyArgs) -> Result<ExitCode, Failure> {
    if args.force {
        eprintln!(
            "warning: --force is no longer needed and does nothing: files identical at the \
             destination are skipped, the others copied over"
        );
    }
    let src = source(&args.src)?;
    let dst = destination(&args.dst)?;
    refuse_overlap(&src, &dst)?;
    tracing::info!("copying {} to {}", src.open, dst.open);
    let from = dman::open(&src.open)?.backend().clone();
    let root = StoragePath::root();

    if args.check_only {
        if dst.missing {
            return Err(Failure(format!(
                "destination `{}` does not exist",
                args.dst
            )));
        }
        let to = dman::open(&dst.open)?.backend().clone();
        return verify(&from, &to, &src, &dst, args.json, None).await;
    }

    // A dry run into a folder that does not exist compares with nothing
    // rather than creating the folder (opening a folder makes it).
    let to: Arc<dyn StorageBackend> = if args.dry_run && dst.missing {
        Arc::new(dman::MemoryBackend::new())
    } else {
        dman::open(&dst.open)?.backend().clone()
    };
    if args.delete {
        // A file the source's listing leaves out (a symbolic link out of
        // the root) is absent to the copy, so `--delete` would delete the
        // destination's copy of it: refuse rather than lose it.
        log::take_skips();
        from.list(&root).await?;
        let unreadable = log::take_skips();
        if !unreadable.is_empty() {
            for skip in &unreadable {
                eprintln!(
                    "cannot copy: {}: {}",
                    escape_control(&skip.path),
                    escape_control(&skip.reason)
                );
            }
            return Err(Failure(format!(
                "refusing --delete: {} file{} of the source cannot be copied, and their \
                 namesakes at the destination would be deleted",
                unreadable.len(),
                plural(unreadable.len())
            )));
        }
    }
    let options = CopyOptions::new().dry_run(args.dry_run).delete(args.delete);
    let bar = progress_bar("{bar:40} {msg}");
    let mut planned: Vec<(Action, StoragePath)> = Vec::new();
    let summary = copy::copy_tree_with(from.as_ref(), &root, to.as_ref(), &root, &options, |p| {
        if let Some(bar) = &bar {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            bar.set_message(format!(
                "{} / {}  {}",
                human_size(p.bytes_done),
                human_size(p.bytes_total),
                escape_control(p.path.as_str())
            ));
        }
        match p.action {
            Action::Skipped => tracing::debug!("identical, skipped: {}", p.path),
            Action::Deleted if !args.dry_run => tracing::info!("deleted {}", p.path),
            _ if !args.dry_run => tracing::info!("copied {}", p.path),
            _ => {}
        }
        if args.dry_run && p.action != Action::Skipped {
            planned.push((p.action, p.path));
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    let empty = summary.files + summary.skipped == 0;
    if empty {
        eprintln!("warning: source `{}` holds no files", src.label);
    }
    // A copy that left files out is not a copy: say which, and fail.
    let skipped_by_backend = log::take_skips();
    planned.sort_by(|a, b| a.1.cmp(&b.1));
    if !args.json {
        for (action, path) in &planned {
            let verb = if *action == Action::Deleted {
                "would delete"
            } else {
                "would copy"
            };
            println!("{verb} {}", escape_control(path.as_str()));
        }
        println!("{}", summary_line(&summary, &args, &dst.label));
    }
    for skip in &skipped_by_backend {
        eprintln!(
            "not copied: {}: {}",
            escape_control(&skip.path),
            escape_control(&skip.reason)
        );
    }
    let mut code = ExitCode::SUCCESS;
    if !skipped_by_backend.is_empty() {
        eprintln!(
            "{} file{} not copied",
            skipped_by_backend.len(),
            plural(skipped_by_backend.len())
        );
        code = ExitCode::from(1);
    }
    let mut object = Map::new();
    object.insert("source".into(), Value::from(src.open.as_str()));
    object.insert("destination".into(), Value::from(dst.open.as_str()));
    object.insert("dry_run".into(), Value::from(args.dry_run));
    object.insert("copied".into(), Value::from(summary.files));
    object.insert("copied_bytes".into(), Value::from(summary.bytes));
    object.insert("skipped".into(), Value::from(summary.skipped));
    object.insert("skipped_bytes".into(), Value::from(summary.skipped_bytes));
    object.insert("deleted".into(), Value::from(summary.deleted));
    object.insert("deleted_bytes".into(), Value::from(summary.deleted_bytes));
    object.insert(
        "not_copied".into(),
        Value::from(
            skipped_by_backend
                .iter()
                .map(|s| s.path.as_str())
                .collect::<Vec<_>>(),
        ),
    );
    if args.dry_run {
        let list = |wanted: Action| {
            planned
                .iter()
                .filter(|(action, _)| *action == wanted)
                .map(|(_, path)| path.as_str())
                .collect::<Vec<_>>()
        };
        object.insert("would_copy".into(), Value::from(list(Action::Copied)));
        object.insert("would_delete".into(), Value::from(list(Action::Deleted)));
    }
    if args.check {
        let checked = verify(&from, &to, &src, &dst, args.json, Some(object)).await?;
        return Ok(if code == ExitCode::SUCCESS {
            checked
        } else {
            code
        });
    }
    if args.json {
        println!("{}", json::to_string_compact(&Value::Object(object)));
    }
    Ok(code)
}

/// `copied 9 files (1.8 MB), skipped 2 identical (1.2 kB) to DST`.
fn summary_line(s: &copy::CopySummary, args: &CopyArgs, dst: &str) -> String {
    let (copied, skipped, deleted) = if args.dry_run {
        ("would copy", "skip", "delete")
    } else {
        ("copied", "skipped", "deleted")
    };
    let mut line = format!(
        "{copied} {} file{} ({}), {skipped} {} identical ({})",
        s.files,
        plural(s.files),
        human_size(s.bytes),
        s.skipped,
        human_size(s.skipped_bytes)
    );
    if args.delete {
        line += &format!(
            ", {deleted} {} ({})",
            s.deleted,
            human_size(s.deleted_bytes)
        );
    }
    line += &format!(" to {}", escape_control(dst));
    if args.dry_run {
        line += " (dry run: nothing written)";
    }
    line
}

/// `--check`: every source file at the destination, identical. Exit status
/// 1 when one is not.
async fn verify(
    from: &Arc<dyn StorageBackend>,
    to: &Arc<dyn StorageBackend>,
    src: &Endpoint,
    dst: &Endpoint,
    json_out: bool,
    object: Option<Map>,
) -> Result<ExitCode, Failure> {
    let root = StoragePath::root();
    // The total is not known before the listing: a spinner and the bytes.
    let bar = progress_bar("{spinner} {msg}");
    let report = copy::verify_tree(from.as_ref(), &root, to.as_ref(), &root, |size| {
        if let Some(bar) = &bar {
            bar.inc(size);
            bar.set_message(format!("checked {}", human_size(bar.position())));
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    let describe = |kind: &DifferenceKind| match kind {
        DifferenceKind::Missing => "missing".to_string(),
        DifferenceKind::Size {
            source,
            destination,
        } => format!("size differs ({source} bytes, {destination} at the destination)"),
        _ => "content differs".to_string(),
    };
    if json_out {
        let mut object = object.unwrap_or_else(|| {
            let mut object = Map::new();
            object.insert("source".into(), Value::from(src.open.as_str()));
            object.insert("destination".into(), Value::from(dst.open.as_str()));
            object
        });
        object.insert("checked".into(), Value::from(report.checked));
        object.insert("checked_bytes".into(), Value::from(report.bytes));
        let differences: Vec<Value> = report
            .differences
            .iter()
            .map(|d| {
                let mut m = Map::new();
                m.insert("path".into(), Value::from(d.path.as_str()));
                m.insert("problem".into(), Value::from(describe(&d.kind)));
                Value::Object(m)
            })
            .collect();
        object.insert("differences".into(), Value::from(differences));
        object.insert("extra".into(), Value::from(report.extra.len()));
        println!("{}", json::to_string_compact(&Value::Object(object)));
    } else {
        for d in &report.differences {
            println!(
                "differs: {}: {}",
                escape_control(d.path.as_str()),
                describe(&d.kind)
            );
        }
        let extra = match report.extra.len() {
            0 => String::new(),
            n => format!(
                " ({n} file{} at the destination not in the source)",
                plural(n)
            ),
        };
        match report.differences.len() {
            0 => println!(
                "checked {} file{} ({}): all identical at {}{extra}",
                report.checked,
                plural(report.checked),
                human_size(report.bytes),
                escape_control(&dst.label)
            ),
            n => eprintln!(
                "{n} of {} file{} not identical at {}{extra}",
                report.checked,
                plural(report.checked),
                escape_control(&dst.label)
            ),
        }
    }
    Ok(if report.differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A progress bar on standard error when a person watches it; none when
/// it is piped.
fn progress_bar(template: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar
    })
}

/// The folder name of Python dman's tree.
/// The place of an S3 or memory location, or `None` for the others.
fn remote_place(location: &str) -> Option<Place> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        return Some(Place::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        });
    }
    if let Some(name) = location.strip_prefix("memory://") {
        return Some(Place::Memory(name.to_string()));
    }
    location
        .split_once("://")
        .filter(|(scheme, _)| !["file", "zip"].contains(scheme))
        .map(|_| Place::Other)
}

/// An S3 or memory location, opened as it is given.
fn remote(location: &str) -> Option<Endpoint> {
    remote_place(location).map(|place| Endpoint {
        open: location.to_string(),
        label: location.trim_end_matches('/').to_string(),
        place,
        missing: false,
    })
}

/// Resolves the source: it must exist.
fn source(location: &str) -> Result<Endpoint, Failure> {
    let label = location.trim_end_matches('/').to_string();
    if let Some(remote) = remote(location) {
        return Ok(remote);
    }
    if let Some(archive) = location::archive(location) {
        if !archive.path.is_file() {
            return Err(Failure(format!(
                "source `{location}` does not exist (no archive `{}`)",
                archive.path.display()
            )));
        }
        return Ok(Endpoint {
            open: location.to_string(),
            label,
            place: Place::Zip(absolute(&archive.path)?),
            missing: false,
        });
    }
    let (path, literal) = match location.strip_prefix("file://") {
        Some(path) => (Path::new(path), true),
        None => (Path::new(location), false),
    };
    if !path.is_dir() {
        return Err(Failure(format!(
            "source `{location}` does not exist or is not a folder"
        )));
    }
    let folder = match location::workspace_dman(path).filter(|_| !literal) {
        Some(dman) => dman,
        None => path.to_path_buf(),
    };
    Ok(Endpoint {
        open: folder.to_string_lossy().into_owned(),
        label: folder.display().to_string(),
        place: Place::Folder(absolute(&folder)?),
        missing: false,
    })
}

/// Resolves the destination, which may not exist yet.
fn destination(location: &str) -> Result<Endpoint, Failure> {
    let label = location.trim_end_matches('/').to_string();
    if let Some(remote) = remote(location) {
        return Ok(remote);
    }
    if let Some(archive) = location::archive(location) {
        let path = archive.path.as_path();
        let exists = path.exists();
        // A new archive keeps the graph under `.dman/`, as an archive of a
        // workspace does; an existing one keeps the root `dman::open` finds
        // in it (or the one named).
        let open = if archive.root.is_none() && !exists {
            format!("zip://{}?root={DMAN}", path.display())
        } else {
            location.to_string()
        };
        return Ok(Endpoint {
            open,
            label,
            place: Place::Zip(absolute(path)?),
            missing: !exists,
        });
    }
    let (path, literal) = match location.strip_prefix("file://") {
        Some(path) => (Path::new(path), true),
        None => (Path::new(location), false),
    };
    if path.exists() && !path.is_dir() {
        return Err(Failure(format!(
            "destination `{location}` is a file, not a folder (name a `.zip` archive to write one)"
        )));
    }
    let folder = if literal || is_dman(path) {
        path.to_path_buf()
    } else if path.join(DMAN).is_dir() || is_missing_or_empty(path)? {
        path.join(DMAN)
    } else {
        return Err(Failure(format!(
            "destination `{location}` holds files but no `.dman` folder: copy into `{}` to \
             make one there, or into `file://{}` to use the folder itself",
            path.join(DMAN).display(),
            path.display()
        )));
    };
    Ok(Endpoint {
        open: folder.to_string_lossy().into_owned(),
        label: folder.display().to_string(),
        missing: !folder.exists(),
        place: Place::Folder(absolute(&folder)?),
    })
}

fn is_missing_or_empty(path: &Path) -> Result<bool, Failure> {
    match std::fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Failure(format!("cannot read `{}`: {e}", path.display()))),
    }
}

/// `path` absolute, with symbolic links resolved as far as it exists and
/// `.` and `..` taken away from the part that does not.
fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    let path = std::path::absolute(path)
        .map_err(|e| Failure(format!("cannot resolve `{}`: {e}", path.display())))?;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            // `out` is canonical (or does not exist): its parent is the
            // real one, no symbolic link in between.
            Component::ParentDir => {
                out.pop();
            }
            other => {
                out.push(other);
                if let Ok(real) = out.canonicalize() {
                    out = real;
                }
            }
        }
    }
    Ok(out)
}

/// Refuses a copy whose source and destination share files: the copy
/// would read what it writes (and `--delete` delete what it reads).
fn refuse_overlap(src: &Endpoint, dst: &Endpoint) -> Result<(), Failure> {
    let why = match (&src.place, &dst.place) {
        (Place::Folder(a), Place::Folder(b)) if a == b => Some("they are the same folder"),
        (Place::Folder(a), Place::Folder(b)) if b.starts_with(a) => {
            Some("the destination is inside the source")
        }
        (Place::Folder(a), Place::Folder(b)) if a.starts_with(b) => {
            Some("the source is inside the destination")
        }
        (Place::Folder(a), Place::Zip(z)) if z.starts_with(a) => {
            Some("the destination archive is inside the source folder")
        }
        (Place::Zip(z), Place::Folder(b)) if z.starts_with(b) => {
            Some("the source archive is inside the destination folder")
        }
        (Place::Zip(a), Place::Zip(b)) if a == b => Some("they are the same archive"),
        (
            Place::S3 {
                bucket: a,
                prefix: p,
            },
            Place::S3 {
                bucket: b,
                prefix: q,
            },
        ) if a == b && (nested(p, q) || nested(q, p)) => Some(if p == q {
            "they are the same bucket and prefix"
        } else {
            "one prefix is inside the other in the same bucket"
        }),
        (Place::Memory(a), Place::Memory(b)) if a == b && !a.is_empty() => {
            Some("they are the same memory backend")
        }
        _ => None,
    };
    match why {
        Some(why) => Err(Failure(format!(
            "refusing to copy `{}` to `{}`: {why}",
            src.label, dst.label
        ))),
        None => Ok(()),
    }
}

/// Whether the key prefix `inner` is `outer` or under it, segment by
/// segment (`a/b` is under `a`, `ab` is not; everything is under ``).
fn nested(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_nest_by_segments() {
        assert!(nested("a/b", "a"));
        assert!(nested("a", "a"));
        assert!(nested("a", ""));
        assert!(!nested("ab", "a"));
        assert!(!nested("a", "a/b"));
    }

    #[test]
    fn absolute_paths_resolve_what_does_not_exist() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            absolute(&dir.path().join("x/../y/./z")).unwrap_or_else(|Failure(m)| panic!("{m}")),
            real.join("y/z")
        );
    }
}
