//! `dman cat`, `dman ls` and `dman du`: what a tree holds, key by key.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use dman::core::json::{self, Map, Value};
use dman::core::numeric::NpyHeader;
use dman::tree::{escape_control, human_size};
use dman::{StorageBackend, StoragePath};
use futures::StreamExt;

use crate::keys::{KeyInfo, Scan};
use crate::{progress, Failure};

/// Writes the bytes of `path` to standard output as they arrive: a file of
/// any size costs one piece in memory. A reader that stops early (`| head`)
/// ends the command quietly.
pub async fn cat(store: &Arc<dyn StorageBackend>, path: &StoragePath) -> Result<(), Failure> {
    let mut stream = store.read_stream(path).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match out.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `dman tree --json`: every file, its size and last modification, and
/// for a `.npy` its header; then the totals.
pub async fn files_json(store: &Arc<dyn StorageBackend>, label: &str) -> Result<(), Failure> {
    let listed = store.list(&StoragePath::root()).await?;
    let npys: Vec<StoragePath> = listed
        .iter()
        .filter(|m| m.path.suffix() == Some(".npy"))
        .map(|m| m.path.clone())
        .collect();
    let bar = progress::bar(npys.len() as u64, "array headers read");
    let headers: HashMap<StoragePath, Result<NpyHeader, String>> = futures::stream::iter(npys)
        .map(|path| async move {
            let header = dman::tree::npy_header(store, &path)
                .await
                .map_err(|e| e.to_string());
            (path, header)
        })
        .buffer_unordered(HEADER_CONCURRENCY)
        .inspect(|_| progress::inc(&bar))
        .collect()
        .await;
    progress::finish(bar);
    let files: Vec<Value> = listed
        .iter()
        .map(|meta| {
            let mut m = Map::new();
            m.insert("path".into(), Value::from(meta.path.as_str()));
            m.insert("bytes".into(), Value::from(meta.size));
            m.insert(
                "modified".into(),
                meta.last_modified
                    .map_or(Value::Null, |t| Value::from(time_text(Some(t)))),
            );
            if let Some(header) = headers.get(&meta.path) {
                let mut array = array_json(&meta.path, header);
                array.shift_remove("path");
                m.insert("array".into(), Value::Object(array));
            }
            Value::Object(m)
        })
        .collect();
    let mut total = Map::new();
    total.insert("files".into(), Value::from(listed.len()));
    total.insert(
        "bytes".into(),
        Value::from(listed.iter().map(|m| m.size).sum::<u64>()),
    );
    let mut doc = Map::new();
    doc.insert("location".into(), Value::from(label));
    doc.insert("files".into(), Value::Array(files));
    doc.insert("total".into(), Value::Object(total));
    println!("{}", json::to_string_pretty(&Value::Object(doc)));
    Ok(())
}

/// How many `.npy` headers are read at once (on S3 each is a request).
const HEADER_CONCURRENCY: usize = 16;

/// One key, summed up.
struct KeySummary<'a> {
    key: &'a KeyInfo,
    kind: String,
    files: usize,
    bytes: u64,
    modified: Option<SystemTime>,
    arrays: Vec<(StoragePath, Result<NpyHeader, String>)>,
}

/// The keys of a scan with their files, sizes, types and arrays.
async fn summarize<'a>(
    store: &Arc<dyn StorageBackend>,
    scan: &'a Scan,
) -> Result<Vec<KeySummary<'a>>, Failure> {
    let mut out = Vec::new();
    let mut npys = Vec::new();
    for key in &scan.keys {
        let files = scan.files_of(key);
        let metas: Vec<_> = files.iter().filter_map(|p| scan.files.get(p)).collect();
        let kind = match (scan.docs.get(&key.file), scan.unreadable.get(&key.file)) {
            (Some(doc), _) => match doc.value.get("_ser__type").and_then(Value::as_str) {
                Some(kind) => kind.to_string(),
                None => "(plain JSON)".to_string(),
            },
            (None, Some(_)) => "(bad JSON)".to_string(),
            (None, None) => "(unread)".to_string(),
        };
        npys.extend(
            files
                .iter()
                .filter(|p| p.suffix() == Some(".npy"))
                .map(|p| (out.len(), p.clone())),
        );
        out.push(KeySummary {
            key,
            kind,
            files: metas.len(),
            bytes: metas.iter().map(|m| m.size).sum(),
            modified: metas.iter().filter_map(|m| m.last_modified).max(),
            arrays: Vec::new(),
        });
    }
    let bar = progress::bar(npys.len() as u64, "array headers read");
    let headers: Vec<(usize, StoragePath, Result<NpyHeader, String>)> = futures::stream::iter(npys)
        .map(|(index, path)| async move {
            let header = dman::tree::npy_header(store, &path)
                .await
                .map_err(|e| e.to_string());
            (index, path, header)
        })
        .buffered(HEADER_CONCURRENCY)
        .inspect(|_| progress::inc(&bar))
        .collect()
        .await;
    progress::finish(bar);
    for (index, path, header) in headers {
        out[index].arrays.push((path, header));
    }
    Ok(out)
}

/// The arrays of a key in a few words: `2 × float64 (20, 1000), 2 ×
/// float64 (100, 1000)`.
fn arrays_text(arrays: &[(StoragePath, Result<NpyHeader, String>)]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, header) in arrays {
        let what = match header {
            Ok(h) => dman::tree::describe_npy(h),
            Err(_) => "unreadable header".to_string(),
        };
        *counts.entry(what).or_default() += 1;
    }
    counts
        .iter()
        .map(|(what, n)| format!("{n} × {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn time_text(t: Option<SystemTime>) -> String {
    t.map_or_else(
        || "-".into(),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// Lines of columns, each as wide as its widest cell; the columns in
/// `right` are aligned right (numbers).
pub fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if right.contains(&c) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if c + 1 < row.len() {
                    line.push_str(&pad);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `dman ls`: one line per key, then the totals.
pub async fn ls(
    store: &Arc<dyn StorageBackend>,
    label: &str,
    as_json: bool,
) -> Result<(), Failure> {
    let scan = Scan::read(store).await?;
    let keys = summarize(store, &scan).await?;
    let key_files: usize = keys.iter().map(|k| k.files).sum();
    let key_bytes: u64 = keys.iter().map(|k| k.bytes).sum();
    let all_bytes: u64 = scan.files.values().map(|m| m.size).sum();
    if as_json {
        let list: Vec<Value> = keys
            .iter()
            .map(|k| {
                let mut m = Map::new();
                m.insert("key".into(), Value::from(k.key.label()));
                m.insert("generator".into(), Value::from(k.key.generator.as_str()));
                m.insert("name".into(), Value::from(k.key.name.as_str()));
                m.insert("file".into(), Value::from(k.key.file.as_str()));
                m.insert("cluster".into(), Value::from(k.key.cluster));
                m.insert("type".into(), Value::from(k.kind.as_str()));
                m.insert("files".into(), Value::from(k.files));
                m.insert("bytes".into(), Value::from(k.bytes));
                m.insert(
                    "modified".into(),
                    k.modified
                        .map_or(Value::Null, |t| Value::from(time_text(Some(t)))),
                );
                let arrays: Vec<Value> = k
                    .arrays
                    .iter()
                    .map(|(path, header)| Value::Object(array_json(path, header)))
                    .collect();
                m.insert("arrays".into(), Value::Array(arrays));
                Value::Object(m)
            })
            .collect();
        let mut total = Map::new();
        total.insert("keys".into(), Value::from(keys.len()));
        total.insert("files".into(), Value::from(key_files));
        total.insert("bytes".into(), Value::from(key_bytes));
        total.insert("all_files".into(), Value::from(scan.files.len()));
        total.insert("all_bytes".into(), Value::from(all_bytes));
        let mut doc = Map::new();
        doc.insert("location".into(), Value::from(label));
        doc.insert("keys".into(), Value::Array(list));
        doc.insert("total".into(), Value::Object(total));
        println!("{}", json::to_string_pretty(&Value::Object(doc)));
        return Ok(());
    }
    let mut rows = vec![vec![
        "KEY".to_string(),
        "TYPE".into(),
        "FILES".into(),
        "SIZE".into(),
        "MODIFIED".into(),
        "ARRAYS".into(),
    ]];
    for k in &keys {
        rows.push(vec![
            escape_control(&k.key.label()).into_owned(),
            escape_control(&k.kind).into_owned(),
            k.files.to_string(),
            human_size(k.bytes),
            time_text(k.modified),
            arrays_text(&k.arrays),
        ]);
    }
    print!("{}", table(&rows, &[2, 3]));
    let others = scan.files.len().saturating_sub(key_files);
    println!(
        "{}, {}, {}{}",
        plural(keys.len(), "key"),
        plural(key_files, "file"),
        human_size(key_bytes),
        if others > 0 {
            format!(
                " ({} in all, {})",
                plural(scan.files.len(), "file"),
                human_size(all_bytes)
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

fn array_json(path: &StoragePath, header: &Result<NpyHeader, String>) -> Map {
    let mut m = Map::new();
    m.insert("path".into(), Value::from(path.as_str()));
    match header {
        Ok(h) => {
            m.insert("dtype".into(), Value::from(h.dtype_name()));
            m.insert("descr".into(), Value::from(h.descr.as_str()));
            m.insert(
                "shape".into(),
                Value::Array(h.shape.iter().map(|&d| Value::from(d)).collect()),
            );
            m.insert("fortran_order".into(), Value::from(h.fortran_order));
        }
        Err(e) => {
            m.insert("error".into(), Value::from(e.as_str()));
        }
    }
    m
}

/// Files and bytes.
#[derive(Default, Clone, Copy)]
struct Usage {
    files: usize,
    bytes: u64,
}

impl Usage {
    fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }

    fn json(self) -> Map {
        let mut m = Map::new();
        m.insert("files".into(), Value::from(self.files));
        m.insert("bytes".into(), Value::from(self.bytes));
        m
    }
}

/// A generator folder's usage, and its keys' (by index in the scan).
type GeneratorUsage = (StoragePath, Usage, Vec<(usize, Usage)>);

/// `dman du`: the size of each generator folder and of each key in it,
/// largest first, then files in no key and the total.
pub async fn du(
    store: &Arc<dyn StorageBackend>,
    label: &str,
    as_json: bool,
) -> Result<(), Failure> {
    let scan = Scan::read(store).await?;
    // Each file counts once: for the key owning it, else for the innermost
    // generator folder holding it, else as other.
    let mut owner: HashMap<StoragePath, usize> = HashMap::new();
    for (index, key) in scan.keys.iter().enumerate() {
        for path in scan.files_of(key) {
            owner.entry(path).or_insert(index);
        }
    }
    let mut generators: BTreeMap<StoragePath, (Usage, BTreeMap<usize, Usage>)> = BTreeMap::new();
    for key in &scan.keys {
        generators.entry(key.generator.clone()).or_default();
    }
    let mut other = Usage::default();
    let mut total = Usage::default();
    for (path, meta) in &scan.files {
        total.add(meta.size);
        let generator = match owner.get(path) {
            Some(&index) => Some(scan.keys[index].generator.clone()),
            None => generators
                .keys()
                .filter(|g| path.starts_with(g))
                .max_by_key(|g| g.as_str().len())
                .cloned(),
        };
        match generator {
            Some(g) => {
                let entry = generators.entry(g).or_default();
                entry.0.add(meta.size);
                if let Some(&index) = owner.get(path) {
                    entry.1.entry(index).or_default().add(meta.size);
                }
            }
            None => other.add(meta.size),
        }
    }
    let mut sorted: Vec<GeneratorUsage> = generators
        .into_iter()
        .map(|(g, (usage, keys))| {
            let mut keys: Vec<(usize, Usage)> = keys.into_iter().collect();
            keys.sort_by_key(|(i, u)| (std::cmp::Reverse(u.bytes), *i));
            (g, usage, keys)
        })
        .collect();
    sorted.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
    if as_json {
        let list: Vec<Value> = sorted
            .iter()
            .map(|(g, usage, keys)| {
                let mut m = Map::new();
                m.insert("generator".into(), Value::from(g.as_str()));
                m.extend(usage.json());
                let keys: Vec<Value> = keys
                    .iter()
                    .map(|(i, u)| {
                        let mut k = Map::new();
                        k.insert("key".into(), Value::from(scan.keys[*i].label()));
                        k.insert("name".into(), Value::from(scan.keys[*i].name.as_str()));
                        k.extend(u.json());
                        Value::Object(k)
                    })
                    .collect();
                m.insert("keys".into(), Value::Array(keys));
                Value::Object(m)
            })
            .collect();
        let mut doc = Map::new();
        doc.insert("location".into(), Value::from(label));
        doc.insert("generators".into(), Value::Array(list));
        doc.insert("other".into(), Value::Object(other.json()));
        doc.insert("total".into(), Value::Object(total.json()));
        println!("{}", json::to_string_pretty(&Value::Object(doc)));
        return Ok(());
    }
    let mut rows = vec![vec!["SIZE".to_string(), "FILES".into(), "WHAT".into()]];
    for (g, usage, keys) in &sorted {
        let name = if g.is_root() { "(top)" } else { g.as_str() };
        rows.push(vec![
            human_size(usage.bytes),
            usage.files.to_string(),
            escape_control(name).into_owned(),
        ]);
        for (i, u) in keys {
            rows.push(vec![
                human_size(u.bytes),
                u.files.to_string(),
                format!("  {}", escape_control(&scan.keys[*i].name)),
            ]);
        }
    }
    if other.files > 0 {
        rows.push(vec![
            human_size(other.bytes),
            other.files.to_string(),
            "(in no generator)".into(),
        ]);
    }
    rows.push(vec![
        human_size(total.bytes),
        total.files.to_string(),
        format!(
            "total: {} in {}",
            plural(scan.keys.len(), "key"),
            plural(sorted.len(), "generator")
        ),
    ]);
    print!("{}", table(&rows, &[0, 1]));
    Ok(())
}
