//! `dman diff`: what differs between two locations, or two keys of one:
//! keys added and removed, files added, removed and changed (by size, then
//! by content), and for `mruns`/`mlist` keys the items' fields that
//! changed.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;

use dman::core::copy::identical;
use dman::core::json::{self, Map, Value};
use dman::core::storage::ObjectMeta;
use dman::tree::{escape_control, human_size};
use dman::{StorageBackend, StoragePath};
use futures::StreamExt;

use crate::address::Location;
use crate::keys::{KeyInfo, Scan};
use crate::runs::{self, Row};
use crate::{progress, Failure};

/// The name the key's own file goes by when two keys are compared: their
/// files are named after the keys, which differ.
const KEY_FILE: &str = "(key file)";

/// One side of the comparison.
struct Side {
    label: String,
    store: Arc<dyn StorageBackend>,
    /// Files by the name they are compared under.
    files: BTreeMap<String, ObjectMeta>,
    /// Keys by label, with their file (empty when comparing two keys).
    keys: BTreeMap<String, StoragePath>,
}

impl Side {
    fn whole(loc: Location, scan: &Scan) -> Side {
        Side {
            files: scan
                .files
                .iter()
                .map(|(p, m)| (p.to_string(), m.clone()))
                .collect(),
            keys: scan
                .keys
                .iter()
                .map(|k| (k.label(), k.file.clone()))
                .collect(),
            label: loc.label,
            store: loc.store,
        }
    }

    fn key(loc: &Location, scan: &Scan, key: &KeyInfo) -> Side {
        let base = key.folder().unwrap_or_else(|| key.file.dir());
        let files = scan
            .files_of(key)
            .into_iter()
            .filter_map(|p| {
                let meta = scan.files.get(&p)?.clone();
                let name = if p == key.file {
                    KEY_FILE.to_string()
                } else {
                    p.strip_prefix(&base)
                        .map_or_else(|| p.to_string(), |r| r.to_string())
                };
                Some((name, meta))
            })
            .collect();
        Side {
            label: format!("{}:{}", loc.label, key.label()),
            store: loc.store.clone(),
            files,
            keys: BTreeMap::from([(String::new(), key.file.clone())]),
        }
    }
}

/// A changed file.
struct Changed {
    name: String,
    a: u64,
    b: u64,
}

/// A changed item of a container.
struct RunChange {
    key: String,
    index: usize,
    /// `changed`, `added` or `removed`.
    change: &'static str,
    fields: Vec<(String, Option<Value>, Option<Value>)>,
}

/// `dman diff A B` or `dman diff LOCATION A B`.
pub async fn run(
    args: &[String],
    generator: Option<&str>,
    size_only: bool,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    let (a, b) = match args {
        [location, a, b] => {
            let loc = Location::open(Some(location))?;
            let scan = Scan::read(&loc.store).await?;
            let ka = loc.resolve_key(&scan, a, generator).await?;
            let kb = loc.resolve_key(&scan, b, generator).await?;
            (Side::key(&loc, &scan, &ka), Side::key(&loc, &scan, &kb))
        }
        [a, b] => match two_keys(a, b, generator).await? {
            Some(sides) => sides,
            None => {
                let la = Location::open(Some(a))?;
                let lb = Location::open(Some(b))?;
                let sa = Scan::read(&la.store).await?;
                let sb = Scan::read(&lb.store).await?;
                (Side::whole(la, &sa), Side::whole(lb, &sb))
            }
        },
        _ => return Err(Failure("expected A B, or LOCATION A B".into())),
    };
    compare(&a, &b, size_only, as_json).await
}

/// The two keys of the `.dman` folder above that `a` and `b` name, when
/// there is such a folder and both name keys in it.
async fn two_keys(
    a: &str,
    b: &str,
    generator: Option<&str>,
) -> Result<Option<(Side, Side)>, Failure> {
    let looks_like_location = |arg: &str| {
        arg.contains("://")
            || arg.to_ascii_lowercase().ends_with(".zip")
            || arg.to_ascii_lowercase().contains(".zip?root=")
    };
    if looks_like_location(a) || looks_like_location(b) {
        return Ok(None);
    }
    let Ok(loc) = Location::open(None) else {
        return Ok(None);
    };
    let scan = Scan::read(&loc.store).await?;
    let (Ok(ka), Ok(kb)) = (
        loc.resolve_key(&scan, a, generator).await,
        loc.resolve_key(&scan, b, generator).await,
    ) else {
        return Ok(None);
    };
    Ok(Some((
        Side::key(&loc, &scan, &ka),
        Side::key(&loc, &scan, &kb),
    )))
}

/// How many files are hashed at once.
const HASH_CONCURRENCY: usize = 8;

async fn compare(a: &Side, b: &Side, size_only: bool, as_json: bool) -> Result<ExitCode, Failure> {
    let added_keys: Vec<&String> = b.keys.keys().filter(|k| !a.keys.contains_key(*k)).collect();
    let removed_keys: Vec<&String> = a.keys.keys().filter(|k| !b.keys.contains_key(*k)).collect();
    let added: Vec<(&String, u64)> = b
        .files
        .iter()
        .filter(|(n, _)| !a.files.contains_key(*n))
        .map(|(n, m)| (n, m.size))
        .collect();
    let removed: Vec<(&String, u64)> = a
        .files
        .iter()
        .filter(|(n, _)| !b.files.contains_key(*n))
        .map(|(n, m)| (n, m.size))
        .collect();
    let mut changed = Vec::new();
    let mut same_size = Vec::new();
    for (name, ma) in &a.files {
        if let Some(mb) = b.files.get(name) {
            if ma.size != mb.size {
                changed.push(Changed {
                    name: name.clone(),
                    a: ma.size,
                    b: mb.size,
                });
            } else if !size_only {
                same_size.push((name, ma, mb));
            }
        }
    }
    let compared = same_size.len() + changed.len();
    let bar = progress::bar(same_size.len() as u64, "files compared");
    // `copy`'s comparison: an S3 side's MD5 comes with its listing.
    let hashed: Vec<Result<Option<Changed>, Failure>> = futures::stream::iter(same_size)
        .map(|(name, ma, mb)| async move {
            let same = identical(a.store.as_ref(), ma, b.store.as_ref(), mb).await?;
            Ok((!same).then(|| Changed {
                name: name.clone(),
                a: ma.size,
                b: mb.size,
            }))
        })
        .buffered(HASH_CONCURRENCY)
        .inspect(|_| progress::inc(&bar))
        .collect()
        .await;
    progress::finish(bar);
    for h in hashed {
        changed.extend(h?);
    }
    changed.sort_by(|x, y| x.name.cmp(&y.name));

    // Items of containers present on both sides.
    let mut run_changes = Vec::new();
    for (label, fa) in &a.keys {
        let Some(fb) = b.keys.get(label) else {
            continue;
        };
        // Identical files hold identical items.
        if changed.is_empty() && added.is_empty() && removed.is_empty() {
            break;
        }
        let (Ok(Ok(ra)), Ok(Ok(rb))) = (
            runs::rows(&a.store, fa).await,
            runs::rows(&b.store, fb).await,
        ) else {
            continue;
        };
        let key = if label.is_empty() {
            format!("{} → {}", a.label, b.label)
        } else {
            label.clone()
        };
        run_changes.extend(compare_rows(&key, &ra.rows, &rb.rows));
    }

    let same = added_keys.is_empty()
        && removed_keys.is_empty()
        && added.is_empty()
        && removed.is_empty()
        && changed.is_empty()
        && run_changes.is_empty();
    if as_json {
        let names =
            |list: &[&String]| Value::Array(list.iter().map(|k| Value::from(k.as_str())).collect());
        let sized = |list: &[(&String, u64)]| {
            Value::Array(
                list.iter()
                    .map(|(n, s)| {
                        let mut m = Map::new();
                        m.insert("path".into(), Value::from(n.as_str()));
                        m.insert("bytes".into(), Value::from(*s));
                        Value::Object(m)
                    })
                    .collect(),
            )
        };
        let mut keys = Map::new();
        keys.insert("added".into(), names(&added_keys));
        keys.insert("removed".into(), names(&removed_keys));
        let mut files = Map::new();
        files.insert("added".into(), sized(&added));
        files.insert("removed".into(), sized(&removed));
        files.insert(
            "changed".into(),
            Value::Array(
                changed
                    .iter()
                    .map(|c| {
                        let mut m = Map::new();
                        m.insert("path".into(), Value::from(c.name.as_str()));
                        m.insert("a_bytes".into(), Value::from(c.a));
                        m.insert("b_bytes".into(), Value::from(c.b));
                        m.insert(
                            "by".into(),
                            Value::from(if c.a == c.b { "content" } else { "size" }),
                        );
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
        let runs: Vec<Value> = run_changes
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("key".into(), Value::from(r.key.as_str()));
                m.insert("index".into(), Value::from(r.index));
                m.insert("change".into(), Value::from(r.change));
                let fields: Vec<Value> = r
                    .fields
                    .iter()
                    .map(|(f, va, vb)| {
                        let mut fm = Map::new();
                        fm.insert("field".into(), Value::from(f.as_str()));
                        fm.insert("a".into(), va.clone().unwrap_or(Value::Null));
                        fm.insert("b".into(), vb.clone().unwrap_or(Value::Null));
                        Value::Object(fm)
                    })
                    .collect();
                m.insert("fields".into(), Value::Array(fields));
                Value::Object(m)
            })
            .collect();
        let mut doc = Map::new();
        doc.insert("a".into(), Value::from(a.label.as_str()));
        doc.insert("b".into(), Value::from(b.label.as_str()));
        doc.insert("same".into(), Value::from(same));
        doc.insert("compared".into(), Value::from(compared));
        doc.insert("keys".into(), Value::Object(keys));
        doc.insert("files".into(), Value::Object(files));
        doc.insert("runs".into(), Value::Array(runs));
        println!("{}", json::to_string_pretty(&Value::Object(doc)));
    } else {
        let e = |s: &str| escape_control(s).into_owned();
        for k in &removed_keys {
            println!("- key {}", e(k));
        }
        for k in &added_keys {
            println!("+ key {}", e(k));
        }
        for (n, s) in &removed {
            println!("- file {} ({})", e(n), human_size(*s));
        }
        for (n, s) in &added {
            println!("+ file {} ({})", e(n), human_size(*s));
        }
        for c in &changed {
            if c.a == c.b {
                println!(
                    "~ file {} (same size, {}, other content)",
                    e(&c.name),
                    human_size(c.a)
                );
            } else {
                println!(
                    "~ file {} ({} → {})",
                    e(&c.name),
                    human_size(c.a),
                    human_size(c.b)
                );
            }
        }
        for r in &run_changes {
            let what = r
                .fields
                .iter()
                .map(|(f, va, vb)| {
                    let show = |v: &Option<Value>| v.as_ref().map_or("-".into(), runs::text);
                    format!("{} {} → {}", e(f), e(&show(va)), e(&show(vb)))
                })
                .collect::<Vec<_>>()
                .join(", ");
            println!("~ item {} of {} {}: {what}", r.index, e(&r.key), r.change);
        }
        if same {
            println!(
                "{} and {}: the same ({} file{} compared)",
                e(&a.label),
                e(&b.label),
                compared,
                if compared == 1 { "" } else { "s" }
            );
        } else {
            println!(
                "{} and {} differ: {} key{} added, {} removed; {} file{} added, {} removed, {} changed; {} item{} changed",
                e(&a.label),
                e(&b.label),
                added_keys.len(),
                if added_keys.len() == 1 { "" } else { "s" },
                removed_keys.len(),
                added.len(),
                if added.len() == 1 { "" } else { "s" },
                removed.len(),
                changed.len(),
                run_changes.len(),
                if run_changes.len() == 1 { "" } else { "s" },
            );
        }
    }
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Item by item (by position), the fields that differ, and the items one
/// side has and the other not.
fn compare_rows(key: &str, a: &[Row], b: &[Row]) -> Vec<RunChange> {
    let mut out = Vec::new();
    for index in 0..a.len().max(b.len()) {
        match (a.get(index), b.get(index)) {
            (Some(ra), Some(rb)) => {
                let names: BTreeSet<&String> = ra.fields.keys().chain(rb.fields.keys()).collect();
                let mut fields: Vec<(String, Option<Value>, Option<Value>)> = names
                    .into_iter()
                    .filter(|n| ra.fields.get(*n) != rb.fields.get(*n))
                    .map(|n| {
                        (
                            n.clone(),
                            ra.fields.get(n).cloned(),
                            rb.fields.get(n).cloned(),
                        )
                    })
                    .collect();
                // In the order the item has its fields.
                fields.sort_by_key(|(n, _, _)| ra.fields.get_index_of(n).unwrap_or(usize::MAX));
                if !fields.is_empty() {
                    out.push(RunChange {
                        key: key.to_string(),
                        index,
                        change: "changed",
                        fields,
                    });
                }
            }
            (Some(ra), None) => out.push(RunChange {
                key: key.to_string(),
                index,
                change: "removed",
                fields: ra
                    .fields
                    .iter()
                    .map(|(n, v)| (n.clone(), Some(v.clone()), None))
                    .collect(),
            }),
            (None, Some(rb)) => out.push(RunChange {
                key: key.to_string(),
                index,
                change: "added",
                fields: rb
                    .fields
                    .iter()
                    .map(|(n, v)| (n.clone(), None, Some(v.clone())))
                    .collect(),
            }),
            (None, None) => {}
        }
    }
    out
}
