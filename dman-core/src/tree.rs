//! The tree of a folder with file sizes and, optionally, each JSON or text
//! file's content: what Python dman's `tui.walk_directory` prints.
//!
//! Whatever the tree holds, the output stays bounded: folders are walked
//! with an explicit stack (a zip entry name can nest thousands of folders),
//! levels below [`MAX_LEVELS`] are summarised in one line, sizes come from
//! the listing, and a file's content is shown only up to
//! [`CONTENT_LIMIT`] bytes, [`BOX_LINES`] lines of at most [`BOX_WIDTH`]
//! characters, each cut marked as such.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

#[cfg(feature = "ndarray")]
use futures::StreamExt;

#[cfg(feature = "ndarray")]
use crate::numeric::NpyHeader;
use crate::{json, Result, StorageBackend, StoragePath};

/// How many `.npy` headers are read at once (on S3 each is a request).
#[cfg(feature = "ndarray")]
const HEADER_CONCURRENCY: usize = 16;

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Show each JSON or text file's content in a box under it.
    pub content: bool,
    /// Show at most this many levels below the top (all when `None`, up
    /// to [`MAX_LEVELS`]).
    pub depth: Option<usize>,
    /// Read each `.npy` file's header and show its dtype and shape next to
    /// its size (one small read per array). Needs the `ndarray` feature,
    /// whose parser reads the headers; without it, only sizes are shown.
    pub arrays: bool,
    /// End with a line counting the files and their total size.
    pub totals: bool,
}

/// The deepest level shown when no depth is asked for: deeper folders are
/// summarised, so that a hostile name cannot make the output quadratic in
/// its depth.
pub const MAX_LEVELS: usize = 64;
/// The largest file whose content is shown; larger ones get a note.
pub const CONTENT_LIMIT: u64 = 256 * 1024;
/// The widest line of a content box; longer lines are cut with `…`.
pub const BOX_WIDTH: usize = 120;
/// The most lines of a content box; the rest is counted in a note.
pub const BOX_LINES: usize = 500;

/// A folder of the tree, in an arena: children are indices, so that
/// neither building, walking nor dropping a deep tree recurses.
#[derive(Default)]
struct Folder {
    folders: BTreeMap<String, usize>,
    files: BTreeMap<String, (StoragePath, u64)>,
    /// Files at any depth below.
    total_files: u64,
}

/// A size in IEC binary units, the one unit system of every size the
/// command and the library print: `603 bytes`, `156.4 KiB`, `1.8 MiB`.
pub fn human_size(size: u64) -> String {
    match size {
        1 => "1 byte".into(),
        s if s < 1024 => format!("{s} bytes"),
        s => {
            let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
            let mut unit = 1024f64;
            let mut i = 0;
            // Rounded as printed, so that 1023.96 KiB reads `1.0 MiB`.
            while i + 1 < units.len() && (s as f64 / unit * 10.0).round() / 10.0 >= 1024.0 {
                unit *= 1024.0;
                i += 1;
            }
            format!("{:.1} {}", s as f64 / unit, units[i])
        }
    }
}

/// The most bytes read to find a `.npy` header: numpy's headers are a few
/// hundred bytes; a larger one is an error, not a reason to read further.
#[cfg(feature = "ndarray")]
pub const NPY_HEADER_LIMIT: usize = 1 << 20;

/// The header of the `.npy` file at `path`, reading only as much of the
/// file as the header takes.
#[cfg(feature = "ndarray")]
pub async fn npy_header(store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<NpyHeader> {
    let mut stream = store.read_stream(path).await?;
    let mut head: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = NPY_HEADER_LIMIT - head.len();
        head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        match NpyHeader::parse(&head) {
            Ok(header) => return Ok(header),
            Err(e) if head.len() >= NPY_HEADER_LIMIT => return Err(e),
            Err(_) => {}
        }
    }
    NpyHeader::parse(&head)
}

/// An array's dtype and shape as the tree shows them: `float64 (100,
/// 1000)`, with `, Fortran order` for column-major data.
#[cfg(feature = "ndarray")]
pub fn describe_npy(header: &NpyHeader) -> String {
    let dtype = header.dtype_name().unwrap_or_else(|| header.descr.clone());
    let order = if header.fortran_order {
        ", Fortran order"
    } else {
        ""
    };
    format!("{dtype} {}{order}", header.shape_text())
}

/// `text` with control characters (terminal escape sequences among them)
/// written as Rust escapes (`\u{1b}`), so that names and contents read from
/// a tree cannot drive the terminal that shows them.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Renders the files under `prefix` of `store` as a tree titled `label`.
pub async fn render(
    store: &Arc<dyn StorageBackend>,
    prefix: &StoragePath,
    label: &str,
    options: &TreeOptions,
) -> Result<String> {
    let mut folders = vec![Folder::default()];
    let listed = store.list(prefix).await?;
    let total_bytes: u64 = listed.iter().map(|m| m.size).sum();
    let total_files = listed.len();
    #[cfg(feature = "ndarray")]
    let arrays = if options.arrays {
        array_notes(store, &listed).await
    } else {
        HashMap::new()
    };
    #[cfg(not(feature = "ndarray"))]
    let arrays = HashMap::new();
    for meta in listed {
        let Some(rel) = meta.path.strip_prefix(prefix) else {
            continue;
        };
        let parts: Vec<&str> = rel.segments().collect();
        let Some((name, dirs)) = parts.split_last() else {
            continue;
        };
        let mut node = 0;
        folders[node].total_files += 1;
        for d in dirs {
            node = match folders[node].folders.get(*d) {
                Some(&child) => child,
                None => {
                    let child = folders.len();
                    folders.push(Folder::default());
                    folders[node].folders.insert((*d).to_string(), child);
                    child
                }
            };
            folders[node].total_files += 1;
        }
        folders[node]
            .files
            .insert((*name).to_string(), (meta.path.clone(), meta.size));
    }
    let mut out = format!("📂 {}\n", escape_control(label));
    write_tree(store, &folders, options, &arrays, &mut out).await?;
    if options.totals {
        let _ = writeln!(
            out,
            "{total_files} file{}, {}",
            if total_files == 1 { "" } else { "s" },
            human_size(total_bytes)
        );
    }
    Ok(out)
}

/// What to show beside each `.npy` file: its dtype and shape, or why its
/// header does not read.
#[cfg(feature = "ndarray")]
async fn array_notes(
    store: &Arc<dyn StorageBackend>,
    listed: &[crate::storage::ObjectMeta],
) -> HashMap<StoragePath, String> {
    futures::stream::iter(listed.iter().filter(|m| m.path.suffix() == Some(".npy")))
        .map(|meta| async move {
            let note = match npy_header(store, &meta.path).await {
                Ok(header) => describe_npy(&header),
                Err(_) => "unreadable .npy header".to_string(),
            };
            (meta.path.clone(), note)
        })
        .buffer_unordered(HEADER_CONCURRENCY)
        .collect()
        .await
}

/// One line of a folder's listing, in the order rich's `walk_directory`
/// prints them: folders first, then files, each by lower-cased name.
enum Entry<'a> {
    Folder(&'a str, usize),
    File(&'a str, &'a StoragePath, u64),
}

fn entries(folder: &Folder) -> Vec<Entry<'_>> {
    let mut folders: Vec<_> = folder.folders.iter().collect();
    folders.sort_by_key(|(n, _)| n.to_lowercase());
    let mut files: Vec<_> = folder.files.iter().collect();
    files.sort_by_key(|(n, _)| n.to_lowercase());
    folders
        .into_iter()
        .map(|(n, &i)| Entry::Folder(n, i))
        .chain(files.into_iter().map(|(n, (p, s))| Entry::File(n, p, *s)))
        .collect()
}

/// Writes the folders below the top, depth first, with an explicit stack.
async fn write_tree(
    store: &Arc<dyn StorageBackend>,
    folders: &[Folder],
    options: &TreeOptions,
    arrays: &HashMap<StoragePath, String>,
    out: &mut String,
) -> Result<()> {
    let limit = options.depth.unwrap_or(MAX_LEVELS);
    // Each frame: a folder's entries, the next one to write, its indent.
    let mut stack = vec![(entries(&folders[0]), 0usize, String::new())];
    if limit == 0 {
        write_cut(&folders[0], "", out);
        return Ok(());
    }
    while let Some((list, next, indent)) = stack.last_mut() {
        let Some(entry) = list.get(*next) else {
            stack.pop();
            continue;
        };
        *next += 1;
        let last = *next == list.len();
        let branch = if last { "┗━━ " } else { "┣━━ " };
        let inner = format!("{indent}{}", if last { "    " } else { "┃   " });
        match *entry {
            Entry::Folder(name, index) => {
                let _ = writeln!(out, "{indent}{branch}📂 {}", escape_control(name));
                let folder = &folders[index];
                if stack.len() >= limit {
                    write_cut(folder, &inner, out);
                } else {
                    stack.push((entries(folder), 0, inner));
                }
            }
            Entry::File(name, path, size) => {
                let note = match arrays.get(path) {
                    Some(note) => format!(", {note}"),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{indent}{branch}📄 {} ({}{note})",
                    escape_control(name),
                    human_size(size)
                );
                if options.content {
                    if let Some(text) = shown_content(store, path, size).await? {
                        push_box(&inner, &text, out);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The mark of a folder whose content is below the depth shown.
fn write_cut(folder: &Folder, indent: &str, out: &mut String) {
    if folder.total_files > 0 {
        let n = folder.total_files;
        let _ = writeln!(
            out,
            "{indent}┗━━ … {n} file{} in deeper folders not shown",
            if n == 1 { "" } else { "s" }
        );
    }
}

/// The content to show for a file: JSON pretty-printed with two spaces, text
/// as it is, a note for a text file too large to show, nothing for binary
/// files. Only files the listing says are small are read.
async fn shown_content(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
    size: u64,
) -> Result<Option<String>> {
    let is_json = path.suffix() == Some(".json");
    let is_text =
        is_json || path.file_name() == Some(".gitignore") || path.suffix() == Some(".txt");
    if !is_text {
        return Ok(None);
    }
    if size > CONTENT_LIMIT {
        return Ok(Some(format!(
            "(not shown: {}, more than {})",
            human_size(size),
            human_size(CONTENT_LIMIT)
        )));
    }
    let bytes = store.read(path).await?;
    if is_json {
        if let Ok(value) = json::from_slice(&bytes) {
            return Ok(Some(json::to_string_pretty(&value).replace("    ", "  ")));
        }
    }
    Ok(String::from_utf8(bytes.to_vec()).ok())
}

/// Draws `text` in a box, at most [`BOX_LINES`] lines of at most
/// [`BOX_WIDTH`] characters, control characters escaped.
fn push_box(pad: &str, text: &str, out: &mut String) {
    let total = text.lines().count();
    let mut lines: Vec<String> = text
        .lines()
        .take(BOX_LINES)
        .map(|line| {
            let line = escape_control(line);
            if line.chars().count() > BOX_WIDTH {
                let mut cut: String = line.chars().take(BOX_WIDTH - 1).collect();
                cut.push('…');
                cut
            } else {
                line.into_owned()
            }
        })
        .collect();
    if total > BOX_LINES {
        lines.push(format!("… {} more lines not shown", total - BOX_LINES));
    }
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 2;
    let _ = writeln!(out, "{pad}┌{}┐", "─".repeat(width));
    for line in &lines {
        let fill = width - 1 - line.chars().count();
        let _ = writeln!(out, "{pad}│ {line}{}│", " ".repeat(fill));
    }
    let _ = writeln!(out, "{pad}└{}┘", "─".repeat(width));
}
