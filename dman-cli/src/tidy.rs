//! The commands that delete: `dman clean` (a key and what its graph owns)
//! and `dman gc` (garbage and the backends' leftovers). Both list what
//! they would delete, ask on a terminal, and refuse without one unless
//! told `--yes`.

use std::process::ExitCode;
use std::sync::Arc;

use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};

use crate::{address, check, keys, prompt, Failure};

/// How many times `gc` looks again for files that its deletions orphaned.
const GC_ROUNDS: usize = 32;

/// What `dman clean` was asked.
pub struct CleanRequest {
    pub key: String,
    pub generator: Option<String>,
    pub subdir: Option<String>,
    pub no_cluster: bool,
    pub dry_run: bool,
    pub yes: bool,
}

/// `dman clean`: finds the key under any generator (or the one given),
/// lists what it owns, asks, and deletes it.
pub async fn clean(location: Option<&str>, request: CleanRequest) -> Result<ExitCode, Failure> {
    let loc = address::Location::open(location)?;
    let scan = keys::Scan::read(&loc.store).await?;
    let mut candidates = address::matching(&scan, &request.key, request.generator.as_deref());
    candidates.retain(|k| !request.no_cluster || !k.cluster);
    if let Some(subdir) = &request.subdir {
        let subdir = subdir.trim_matches('/');
        candidates.retain(|k| {
            k.generator.as_str() == subdir || k.generator.as_str().ends_with(&format!("/{subdir}"))
        });
    }
    let key = match candidates.as_slice() {
        [one] => (*one).clone(),
        [] => match loc
            .resolve_key(&scan, &request.key, request.generator.as_deref())
            .await
        {
            Ok(key) => key,
            Err(Failure(why)) => {
                let mut known: Vec<String> = scan.keys.iter().take(20).map(|k| k.label()).collect();
                if scan.keys.len() > known.len() {
                    known.push(format!(
                        "… ({} in all: `dman ls` lists them)",
                        scan.keys.len()
                    ));
                }
                // The path lookup's own words only when they add something.
                let why = if why.starts_with("no file or key") {
                    String::new()
                } else {
                    format!(": {why}")
                };
                return Err(Failure(format!(
                    "no key `{}` in {}{}{why}; the keys there: {}",
                    escape_control(&request.key),
                    escape_control(&loc.label),
                    match &request.generator {
                        Some(g) => format!(" under `{}`", escape_control(g)),
                        None => " under any generator".into(),
                    },
                    if known.is_empty() {
                        "none".into()
                    } else {
                        escape_control(&known.join(", ")).into_owned()
                    }
                )));
            }
        },
        many => return Err(address::ambiguous(&request.key, many)),
    };
    let owned = scan.files_of(&key);
    let bytes: u64 = owned
        .iter()
        .filter_map(|p| scan.files.get(p))
        .map(|m| m.size)
        .sum();
    let what = format!(
        "key `{}` ({} file{}, {})",
        escape_control(&key.label()),
        owned.len(),
        if owned.len() == 1 { "" } else { "s" },
        dman::tree::human_size(bytes)
    );
    if request.dry_run {
        for path in &owned {
            println!("would delete {}", escape_control(path.as_str()));
        }
        println!("would delete {what}");
        return Ok(ExitCode::SUCCESS);
    }
    if !prompt::confirm(&format!("delete {what}?"), request.yes)? {
        eprintln!("nothing deleted");
        return Ok(ExitCode::from(1));
    }
    let repo = dman::Repo::new(loc.store.clone()).with_generator(key.generator.as_str());
    let report = repo
        .clean(dman::Key::new(key.name.clone()).cluster(key.cluster))
        .await?;
    if report.deleted.is_empty() && report.warnings.is_empty() {
        return Err(Failure(format!("no key `{}` at {}", key.name, key.file)));
    }
    for path in &report.deleted {
        println!("deleted {}", escape_control(path.as_str()));
    }
    for warning in &report.warnings {
        eprintln!("warning: {}", escape_control(&warning.to_string()));
    }
    Ok(if report.warnings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `dman gc`: deletes the garbage `check` finds that is older than `grace`,
/// again until none is left (deleting an orphan JSON file orphans what it
/// pointed at), then the backend's leftovers older than `grace`.
pub async fn gc(
    store: &Arc<dyn StorageBackend>,
    dry_run: bool,
    grace: std::time::Duration,
    yes: bool,
) -> Result<ExitCode, Failure> {
    let now = std::time::SystemTime::now();
    // Unknown times count as young, unless the grace period is zero.
    let old_enough = |modified: Option<std::time::SystemTime>| {
        grace.is_zero()
            || modified
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= grace)
    };
    let mut deleted = 0usize;
    let mut young: std::collections::BTreeSet<String> = Default::default();
    // Garbage is decided by what reaches a file, not by what it holds:
    // no content reads, round after round.
    let mut first = Some(check::check(store, check::Content::Skip).await?);
    let leftovers = store.leftovers().await?;
    if !dry_run {
        let garbage = first.as_ref().map_or(0, |checked| {
            checked
                .findings
                .iter()
                .filter(|f| f.kind.is_garbage())
                .filter(|f| {
                    StoragePath::parse(&f.file)
                        .ok()
                        .and_then(|p| checked.files.get(&p))
                        .is_some_and(|m| old_enough(m.last_modified))
                })
                .count()
        }) + leftovers
            .iter()
            .filter(|l| old_enough(l.last_modified))
            .count();
        let question = format!(
            "delete {garbage} file{} of garbage (and what deleting them leaves unreached)?",
            if garbage == 1 { "" } else { "s" }
        );
        if garbage > 0 && !prompt::confirm(&question, yes)? {
            eprintln!("nothing deleted");
            return Ok(ExitCode::from(1));
        }
    }
    for _round in 0..GC_ROUNDS {
        let checked = match first.take() {
            Some(checked) => checked,
            None => check::check(store, check::Content::Skip).await?,
        };
        let mut this_round = 0;
        for finding in checked.findings.iter().filter(|f| f.kind.is_garbage()) {
            let path = StoragePath::parse(&finding.file)?;
            let modified = checked.files.get(&path).and_then(|m| m.last_modified);
            if !old_enough(modified) {
                young.insert(finding.file.clone());
                continue;
            }
            let shown = escape_control(path.as_str());
            if dry_run {
                println!("would delete {shown}");
            } else {
                store.delete(&path).await?;
                println!("deleted {shown}");
            }
            this_round += 1;
        }
        deleted += this_round;
        if this_round == 0 || dry_run {
            break;
        }
    }
    for leftover in leftovers {
        let shown = escape_control(&leftover.to_string()).into_owned();
        if !old_enough(leftover.last_modified) {
            young.insert(shown);
            continue;
        }
        if dry_run {
            println!("would delete {shown}");
        } else {
            store.remove_leftover(&leftover).await?;
            println!("deleted {shown}");
        }
        deleted += 1;
    }
    store.flush().await?;
    if deleted == 0 {
        println!("no garbage");
    }
    if !young.is_empty() {
        println!(
            "kept {} file{} younger than {} (a save may be in progress; --grace 0 deletes them)",
            young.len(),
            if young.len() == 1 { "" } else { "s" },
            humantime::format_duration(grace)
        );
    }
    Ok(ExitCode::SUCCESS)
}
