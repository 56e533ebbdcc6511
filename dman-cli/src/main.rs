//! The `dman` command: look at, check, copy and tidy record graphs on any
//! backend.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use dman::{StorageBackend, StoragePath};

mod check;
mod color;
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
    /// Check every JSON file: missing targets, bad JSON, invalid markers,
    /// targets leaving the root, orphans. Exit status 0 when clean, 1 when
    /// problems were found, 2 when the check could not run.
    Check {
        /// Where the graph lives.
        location: Option<String>,
        /// Print one JSON object per finding.
        #[arg(long)]
        json: bool,
    },
    /// Delete the orphans `check` reports and prune empty folders.
    Gc {
        /// Where the graph lives.
        location: Option<String>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy a whole tree from one location to another (a folder into a zip
    /// archive to share it, an archive back to a folder, a folder to S3).
    Copy {
        /// Where the tree is.
        src: String,
        /// Where it goes (created if missing).
        dst: String,
        /// Copy even when the destination is not empty.
        #[arg(long)]
        force: bool,
    },
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
            if loc.starts_with("s3://")
                && (std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
                    || std::env::var_os("AWS_SECRET_ACCESS_KEY").is_none())
            {
                return Err(Failure(format!(
                    "S3 credentials missing for `{loc}`: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                     (and AWS_REGION, and AWS_ENDPOINT_URL for a server other than AWS)"
                )));
            }
            Ok((
                dman::open_backend(loc)?,
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
            Ok((dman::open_backend(&root.to_string_lossy())?, label))
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
        Command::Check { location, json } => {
            let (store, _) = open(location.as_deref())?;
            let findings = check::check(&store).await?;
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
        Command::Gc { location, dry_run } => {
            let (store, _) = open(location.as_deref())?;
            // Deleting an orphan JSON file (a run of a save that never
            // committed) orphans what it pointed at: go on until none is left.
            let mut deleted = 0;
            for _round in 0..GC_ROUNDS {
                let orphans: Vec<StoragePath> = check::check(&store)
                    .await?
                    .into_iter()
                    .filter(|f| f.kind == check::Kind::Orphan)
                    .map(|f| f.file)
                    .collect();
                for path in &orphans {
                    if dry_run {
                        println!("would delete {path}");
                    } else {
                        store.delete(path).await?;
                        println!("deleted {path}");
                    }
                }
                deleted += orphans.len();
                if orphans.is_empty() || dry_run {
                    break;
                }
            }
            store.flush().await?;
            if deleted == 0 {
                println!("no orphans");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy { src, dst, force } => {
            let (from, _) = open(Some(&src))?;
            let to = dman::open_backend(&dst)?;
            let existing = to.list(&StoragePath::root()).await?;
            if !existing.is_empty() && !force {
                return Err(Failure(format!(
                    "destination `{dst}` is not empty ({} files); add --force to copy over it",
                    existing.len()
                )));
            }
            // A progress bar for a person watching; none when piped.
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                {
                    bar.set_style(style);
                }
                bar
            });
            let root = StoragePath::root();
            let summary =
                dman::core::copy::copy_tree(from.as_ref(), &root, to.as_ref(), &root, |p| {
                    if let Some(bar) = &bar {
                        bar.set_length(p.bytes_total);
                        bar.set_position(p.bytes_done);
                        bar.set_message(p.path.to_string());
                    }
                })
                .await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            println!(
                "copied {} files ({}) to {dst}",
                summary.files,
                dman::tree::human_size(summary.bytes)
            );
            Ok(ExitCode::SUCCESS)
        }
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
                println!("deleted {}", dman::tree::escape_control(path.as_str()));
            }
            for warning in &report.warnings {
                eprintln!("warning: {}", dman::tree::escape_control(&warning.to_string()));
            }
            Ok(if report.warnings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
