//! The `dman` command: look at, check, copy and tidy record graphs on any
//! backend.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use dman::tree::escape_control;
use dman::{StorageBackend, StoragePath};

mod check;
mod color;
mod copy;
mod log;
mod show;

/// Look at, check, copy and tidy dman record graphs.
///
/// A LOCATION is a local folder, a `.zip` file or a URL (`file://`,
/// `s3://bucket/prefix`, `zip://`, `memory://`); without one, the `.dman`
/// folder found from the working directory upward.
#[derive(Parser)]
#[command(name = "dman", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more (`-v` info, `-vv` debug); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Make a `.dman` folder in the working directory (no error if it exists).
    Init,
    /// Show the folders and files with their sizes as a tree.
    Tree {
        /// Where the graph lives.
        location: Option<String>,
        /// Show each JSON or text file's content under it.
        #[arg(long)]
        content: bool,
        /// Show at most this many levels.
        #[arg(long)]
        depth: Option<usize>,
    },
    /// Show one JSON file, pretty.
    Show {
        /// Where the graph lives (omit to use the `.dman` folder above).
        #[arg(num_args = 1..=2, value_names = ["LOCATION", "PATH"], required = true)]
        args: Vec<String>,
        /// Expand the records the file points to.
        #[arg(long)]
        follow: bool,
    },
    /// Check every JSON file and the content files it reaches: bad JSON,
    /// invalid markers, targets leaving the root or their key's folder,
    /// missing targets, truncated `.npy` files, skipped files, orphans and
    /// the files of first saves that never committed. Exit status 0 when
    /// clean, 1 when problems were found, 2 when the check could not run.
    Check {
        /// Where the graph lives.
        location: Option<String>,
        /// Print one JSON object per finding.
        #[arg(long)]
        json: bool,
        /// Read every content file whole (by default only `.npy` headers
        /// are read and compared with the file's size).
        #[arg(long)]
        deep: bool,
    },
    /// Delete the garbage `check` reports (orphans, files of first saves
    /// that never committed) and the backend's own leftovers (temporary
    /// files of interrupted writes, incomplete multipart uploads), but
    /// nothing younger than the grace period and nothing in a key whose JSON
    /// does not parse.
    Gc {
        /// Where the graph lives.
        location: Option<String>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep files younger than this (`90s`, `10m`, `2h`; `0` deletes
        /// regardless of age): a save in progress writes its files before
        /// the key file that points at them, so its files look like garbage
        /// until it commits. Must exceed the longest save.
        #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
        grace: std::time::Duration,
    },
    /// Copy a whole tree from one location to another (a folder into a zip
    /// archive to share it, an archive back to a folder, a folder to S3),
    /// skipping files already identical there: run again, an interrupted
    /// copy copies only the rest.
    Copy(copy::CopyArgs),
    /// Remove a key and every file its graph owns.
    Clean {
        /// The key.
        key: String,
        /// The generator folder (default: `cache/dman`, the label Python would
        /// give a script named `dman`).
        #[arg(long)]
        generator: Option<String>,
        /// A folder between the generator and the key.
        #[arg(long)]
        subdir: Option<String>,
        /// The key has no folder of its own.
        #[arg(long)]
        no_cluster: bool,
        /// Where the graph lives.
        #[arg(long)]
        location: Option<String>,
    },
}

/// A failure to run, as opposed to findings: exit status 2.
pub struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// How many times `gc` looks again for files that its deletions orphaned.
const GC_ROUNDS: usize = 32;

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dman: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("dman: {message}");
            ExitCode::from(2)
        }
    }
}

/// Whether output goes to a person: a terminal, and `NO_COLOR` unset.
pub fn colored() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A location's backend and a label for it.
pub fn open(location: Option<&str>) -> Result<(Arc<dyn StorageBackend>, String), Failure> {
    match location {
        Some(loc) => {
            let is_url = loc.contains("://");
            if !is_url && !loc.ends_with(".zip") && !std::path::Path::new(loc).is_dir() {
                return Err(Failure(format!(
                    "location `{loc}` does not exist or is not a folder"
                )));
            }
            // S3 credentials: the library's chain (environment, AWS_PROFILE
            // and ~/.aws, instance metadata), named at `-v`.
            Ok((
                dman::open(loc)?.backend().clone(),
                loc.trim_end_matches('/').to_string(),
            ))
        }
        None => {
            let cwd = std::env::current_dir()?;
            let root = dman::find_root(&cwd)?;
            let label = root
                .strip_prefix(&cwd)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| root.display().to_string());
            Ok((
                dman::open(&root.to_string_lossy())?.backend().clone(),
                label,
            ))
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Init => {
            let cwd = std::env::current_dir()?;
            let root = dman::init(&cwd)?;
            println!("initialized {}", root.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Tree {
            location,
            content,
            depth,
        } => {
            let (store, label) = open(location.as_deref())?;
            let options = dman::tree::TreeOptions { content, depth };
            let mut text =
                dman::tree::render(&store, &StoragePath::root(), &label, &options).await?;
            if colored() && content {
                text = color::colorize_tree(&text);
            }
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { args, follow } => {
            let (location, path) = match args.as_slice() {
                [path] => (None, path.as_str()),
                [location, path] => (Some(location.as_str()), path.as_str()),
                _ => return Err(Failure("expected [LOCATION] PATH".into())),
            };
            let (store, _) = open(location)?;
            let path = StoragePath::parse(path)?;
            let text = show::show(&store, &path, follow).await?;
            println!(
                "{}",
                if colored() {
                    color::colorize_json(&text)
                } else {
                    text
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            location,
            json,
            deep,
        } => {
            let (store, _) = open(location.as_deref())?;
            let content = if deep {
                check::Content::Deep
            } else {
                check::Content::Headers
            };
            let findings = check::check(&store, content).await?.findings;
            for f in &findings {
                if json {
                    println!("{}", f.to_json());
                } else {
                    println!("{f}");
                }
            }
            if !json {
                match findings.len() {
                    0 => println!("clean"),
                    n => eprintln!("{n} problem{} found", if n == 1 { "" } else { "s" }),
                }
            }
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Gc {
            location,
            dry_run,
            grace,
        } => {
            let (store, _) = open(location.as_deref())?;
            gc(&store, dry_run, grace).await
        }
        Command::Copy(args) => copy::run(args).await,
        Command::Clean {
            key,
            generator,
            subdir,
            no_cluster,
            location,
        } => {
            let (store, _) = open(location.as_deref())?;
            let repo = dman::Repo::new(store)
                .with_generator(generator.unwrap_or_else(|| "cache/dman".into()));
            let mut k = dman::Key::new(key.clone()).cluster(!no_cluster);
            if let Some(s) = subdir {
                k = k.subdir(s);
            }
            let file = repo.locate(&k, ".json", true)?.file;
            let report = repo.clean(k).await?;
            if report.deleted.is_empty() && report.warnings.is_empty() {
                return Err(Failure(format!("no key `{key}` at {file}")));
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
    }
}

/// `dman gc`: deletes the garbage `check` finds that is older than `grace`,
/// again until none is left (deleting an orphan JSON file orphans what it
/// pointed at), then the backend's leftovers older than `grace`.
async fn gc(
    store: &Arc<dyn StorageBackend>,
    dry_run: bool,
    grace: std::time::Duration,
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
    for _round in 0..GC_ROUNDS {
        // Garbage is decided by what reaches a file, not by what it holds:
        // no content reads, round after round.
        let checked = check::check(store, check::Content::Skip).await?;
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
    for leftover in store.leftovers().await? {
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
