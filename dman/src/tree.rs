//! The tree of a folder with file sizes and, optionally, each JSON or text
//! file's content: what Python dman's `tui.walk_directory` prints.

use std::collections::BTreeMap;
use std::sync::Arc;

use dman_core::{json, Result, StorageBackend, StoragePath};

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Show each JSON or text file's content in a box under it.
    pub content: bool,
    /// Show at most this many levels below the top (all when `None`).
    pub depth: Option<usize>,
}

#[derive(Default)]
struct Dir {
    dirs: BTreeMap<String, Dir>,
    files: BTreeMap<String, (StoragePath, u64)>,
}

/// A size as Python's `rich.filesize.decimal` writes it (`603 bytes`,
/// `160.1 kB`).
pub fn human_size(size: u64) -> String {
    match size {
        1 => "1 byte".into(),
        s if s < 1000 => format!("{s} bytes"),
        s => {
            let units = ["kB", "MB", "GB", "TB", "PB", "EB"];
            let mut unit = 1000f64;
            let mut i = 0;
            while i + 1 < units.len() && s as f64 >= unit * 1000.0 {
                unit *= 1000.0;
                i += 1;
            }
            format!("{:.1} {}", s as f64 / unit, units[i])
        }
    }
}

/// Renders the files under `prefix` of `store` as a tree titled `label`.
pub async fn render(
    store: &Arc<dyn StorageBackend>,
    prefix: &StoragePath,
    label: &str,
    options: &TreeOptions,
) -> Result<String> {
    let mut top = Dir::default();
    for meta in store.list(prefix).await? {
        let Some(rel) = meta.path.strip_prefix(prefix) else {
            continue;
        };
        let parts: Vec<&str> = rel.segments().collect();
        let Some((name, dirs)) = parts.split_last() else {
            continue;
        };
        let mut node = &mut top;
        for d in dirs {
            node = node.dirs.entry((*d).to_string()).or_default();
        }
        node.files
            .insert((*name).to_string(), (meta.path.clone(), meta.size));
    }
    let mut out = format!("📂 {label}\n");
    write_dir(store, &top, "", 0, options, &mut out).await?;
    Ok(out)
}

fn write_dir<'a>(
    store: &'a Arc<dyn StorageBackend>,
    dir: &'a Dir,
    indent: &'a str,
    level: usize,
    options: &'a TreeOptions,
    out: &'a mut String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        if options.depth.is_some_and(|d| level >= d) {
            return Ok(());
        }
        // Folders first, then files, each by lower-cased name, as rich's
        // walk_directory sorts.
        let mut dirs: Vec<_> = dir.dirs.iter().collect();
        dirs.sort_by_key(|(n, _)| n.to_lowercase());
        let mut files: Vec<_> = dir.files.iter().collect();
        files.sort_by_key(|(n, _)| n.to_lowercase());
        let total = dirs.len() + files.len();
        let mut i = 0;
        for (name, sub) in dirs {
            i += 1;
            let last = i == total;
            out.push_str(&format!(
                "{indent}{}📂 {name}\n",
                if last { "┗━━ " } else { "┣━━ " }
            ));
            let next = format!("{indent}{}", if last { "    " } else { "┃   " });
            write_dir(store, sub, &next, level + 1, options, out).await?;
        }
        for (name, (path, size)) in files {
            i += 1;
            let last = i == total;
            out.push_str(&format!(
                "{indent}{}📄 {name} ({})\n",
                if last { "┗━━ " } else { "┣━━ " },
                human_size(*size)
            ));
            if options.content {
                let pad = format!("{indent}{}", if last { "    " } else { "┃   " });
                if let Some(text) = shown_content(store, path).await? {
                    push_box(&pad, &text, out);
                }
            }
        }
        Ok(())
    })
}

/// The content to show for a file: JSON pretty-printed with two spaces, text
/// as it is, nothing for binary files.
async fn shown_content(
    store: &Arc<dyn StorageBackend>,
    path: &StoragePath,
) -> Result<Option<String>> {
    let is_json = path.suffix() == Some(".json");
    let is_text =
        is_json || path.file_name() == Some(".gitignore") || path.suffix() == Some(".txt");
    if !is_text {
        return Ok(None);
    }
    let bytes = store.read(path).await?;
    if is_json {
        if let Ok(value) = json::from_slice(&bytes) {
            return Ok(Some(json::to_string_pretty(&value).replace("    ", "  ")));
        }
    }
    Ok(String::from_utf8(bytes.to_vec()).ok())
}

fn push_box(pad: &str, text: &str, out: &mut String) {
    let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) + 2;
    out.push_str(&format!("{pad}┌{}┐\n", "─".repeat(width)));
    for line in text.lines() {
        let fill = width - 1 - line.chars().count();
        out.push_str(&format!("{pad}│ {line}{}│\n", " ".repeat(fill)));
    }
    out.push_str(&format!("{pad}└{}┘\n", "─".repeat(width)));
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_as_rich_writes_them() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(603), "603 bytes");
        assert_eq!(human_size(160_128), "160.1 kB");
        assert_eq!(human_size(800_128), "800.1 kB");
        assert_eq!(human_size(1_850_509), "1.9 MB");
    }
}
