//! The `dman` command: look at, check, copy and tidy record graphs on any
//! backend.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use dman::StoragePath;

mod address;
mod check;
mod color;
mod copy;
mod diff;
mod keys;
mod location;
mod log;
mod progress;
mod prompt;
mod read;
mod runs;
mod show;
mod tidy;

/// What every command's help says about LOCATION.
const LOCATION_HELP: &str = "\
LOCATION is where a tree lives:
  a folder                 .dman, ../other/.dman, /data/results
  a zip archive            results.zip (its `.dman` folder, or its top); results.zip?root=FOLDER
  a URL                    file:///data/results, zip:///data/results.zip,
                           s3://bucket/prefix (credentials: AWS_* variables, AWS_PROFILE, ~/.aws), memory://NAME
Without one: the `.dman` folder in the working directory or the nearest one above it.
A location that does not exist (a missing folder or archive, an S3 prefix with no
object) is an error; an empty one is a warning.

PATH and KEY arguments take a path below the location's root (demo/config.json), a
path relative to the working directory (config.json inside .dman/demo), an absolute
path inside the root, a leading `.dman/`, or a key's name (experiment), found under
any generator (--generator narrows it).";

/// Look at, check, copy and tidy dman record graphs.
#[derive(Parser)]
#[command(
    name = "dman",
    version,
    about,
    after_help = LOCATION_HELP,
    after_long_help = LOCATION_HELP,
)]
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
    #[command(after_help = "Example:\n  dman init")]
    Init,
    /// Show the folders and files with their sizes as a tree.
    ///
    /// Each `.npy` file with its dtype and shape; the totals last.
    #[command(
        after_help = "Examples:\n  dman tree\n  dman tree results.zip --depth 2\n  \
                            dman tree .dman/demo --content\n  dman tree s3://bucket/team/exp --json\n\n\
                            See `dman help` for LOCATION."
    )]
    Tree {
        /// Where the graph lives: a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://` or `memory://` (default: the `.dman` found
        /// upward).
        location: Option<String>,
        /// Show each JSON or text file's content under it.
        #[arg(long)]
        content: bool,
        /// Show at most this many levels (deeper ones are one marked line).
        #[arg(long)]
        depth: Option<usize>,
        /// Print one JSON document: every file with its size, time and,
        /// for a `.npy`, dtype and shape.
        #[arg(long, conflicts_with_all = ["content", "depth"])]
        json: bool,
    },
    /// Show one file: JSON pretty, an array's header, text as it is.
    ///
    /// A `.npy` file is described from its header (shape, dtype, order,
    /// size); its data is not read.
    #[command(
        after_help = "Examples:\n  dman show experiment\n  dman show demo/config.json\n  \
                            dman show config --generator demo\n  dman show experiment --follow\n  \
                            dman show results.zip demo/config.json\n\nSee `dman help` for LOCATION and PATH."
    )]
    Show {
        /// Where the graph lives (a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://`, `memory://`; omit to use the `.dman` found
        /// upward), and the file: a path or a key's name.
        #[arg(num_args = 1..=2, value_names = ["LOCATION", "PATH"], required = true)]
        args: Vec<String>,
        /// Expand the records the file points to.
        #[arg(long)]
        follow: bool,
        /// Look for a key under this generator only.
        #[arg(long)]
        generator: Option<String>,
    },
    /// Write one file's bytes to standard output, from any location.
    #[command(after_help = "Examples:\n  dman cat demo/config.json\n  \
                            dman cat s3://bucket/team/exp demo/config.json > config.json\n\n\
                            See `dman help` for LOCATION and PATH.")]
    Cat {
        /// Where the graph lives (a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://`, `memory://`; omit to use the `.dman` found
        /// upward), and the file: a path or a key's name.
        #[arg(num_args = 1..=2, value_names = ["LOCATION", "PATH"], required = true)]
        args: Vec<String>,
        /// Look for a key under this generator only.
        #[arg(long)]
        generator: Option<String>,
    },
    /// List the keys with their type, files, size, time and arrays.
    ///
    /// One line per key (generator/key, `_ser__type`, number of files,
    /// total size, last modified, `.npy` dtypes and shapes), then the totals.
    #[command(after_help = "Examples:\n  dman ls\n  dman ls results.zip --json\n\n\
                            See `dman help` for LOCATION.")]
    Ls {
        /// Where the graph lives: a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://` or `memory://` (default: the `.dman` found
        /// upward).
        location: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Show sizes per generator and key, largest first, and the total.
    #[command(
        after_help = "Examples:\n  dman du\n  dman du s3://bucket/team/exp --json\n\n\
                            See `dman help` for LOCATION."
    )]
    Du {
        /// Where the graph lives: a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://` or `memory://` (default: the `.dman` found
        /// upward).
        location: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Show the runs of an `mruns` (or items of an `mlist`) as a table.
    ///
    /// One row per item, its scalar fields as columns, and one level of
    /// nested dataclass fields as `config.seed`; records are left out.
    #[command(
        after_help = "Examples:\n  dman runs experiment\n  dman runs experiment --where config.seed=1024\n  \
                            dman runs results.zip experiment --csv > runs.csv\n\n\
                            See `dman help` for LOCATION and KEY."
    )]
    Runs {
        /// Where the graph lives (a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://`, `memory://`; omit to use the `.dman` found
        /// upward), and the key.
        #[arg(num_args = 1..=2, value_names = ["LOCATION", "KEY"], required = true)]
        args: Vec<String>,
        /// Look for the key under this generator only.
        #[arg(long)]
        generator: Option<String>,
        /// Keep the rows whose FIELD is VALUE (repeat: all must hold).
        #[arg(long = "where", value_name = "FIELD=VALUE")]
        filters: Vec<String>,
        /// Print one JSON document.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print comma-separated values.
        #[arg(long)]
        csv: bool,
    },
    /// Show what differs between two locations, or two keys.
    ///
    /// Keys and files added, removed and changed (by size, then content),
    /// and for runs the fields that changed. Exit status 0 when the same,
    /// 1 when they differ, 2 when the comparison could not run.
    #[command(
        after_help = "Examples:\n  dman diff .dman backup.zip\n  dman diff .dman s3://bucket/team/exp\n  \
                            dman diff experiment experiment-v2\n  dman diff results.zip experiment experiment-v2\n\n\
                            With two arguments that both name keys of the `.dman` folder above, the keys are\n\
                            compared; otherwise the two locations. With three, the keys of the first.\n\
                            See `dman help` for LOCATION and KEY."
    )]
    Diff {
        /// Two locations; two keys; or a location and two of its keys.
        #[arg(num_args = 2..=3, value_names = ["A", "B"], required = true)]
        args: Vec<String>,
        /// Look for keys under this generator only.
        #[arg(long)]
        generator: Option<String>,
        /// Compare files by size alone: no file is read (on S3, no
        /// download).
        #[arg(long)]
        size_only: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Check a tree for damage and garbage.
    ///
    /// Every JSON file and the content files it reaches: bad JSON,
    /// invalid markers, targets leaving the root or their key's folder,
    /// missing targets, truncated `.npy` files, skipped files, orphans and
    /// the files of first saves that never committed. Exit status 0 when
    /// clean, 1 when problems were found, 2 when the check could not run.
    #[command(
        after_help = "Examples:\n  dman check\n  dman check results.zip --deep\n  \
                            dman check s3://bucket/team/exp --json\n\nSee `dman help` for LOCATION."
    )]
    Check {
        /// Where the graph lives: a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://` or `memory://` (default: the `.dman` found
        /// upward).
        location: Option<String>,
        /// Print one JSON object per finding, then one of kind `summary`.
        #[arg(long)]
        json: bool,
        /// Read every content file whole (by default only `.npy` headers
        /// are read and compared with the file's size).
        #[arg(long)]
        deep: bool,
    },
    /// Delete the garbage `check` reports, asking first on a terminal.
    ///
    /// Orphans, files of first saves that never committed, and the
    /// backend's own leftovers (temporary files of interrupted writes,
    /// incomplete multipart uploads), but nothing younger than the grace
    /// period and nothing in a key whose JSON does not parse.
    #[command(
        after_help = "Examples:\n  dman gc --dry-run\n  dman gc\n  dman gc results.zip --grace 0 --yes\n\n\
                            See `dman help` for LOCATION."
    )]
    Gc {
        /// Where the graph lives: a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://` or `memory://` (default: the `.dman` found
        /// upward).
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
        /// Delete without asking (required when no terminal can answer).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Copy a whole tree from one location to another (a folder into a zip
    /// archive to share it, an archive back to a folder, a folder to S3),
    /// skipping files already identical there: run again, an interrupted
    /// copy copies only the rest.
    Copy(copy::CopyArgs),
    /// Remove a key and every file its graph owns, asking first on a
    /// terminal.
    #[command(
        after_help = "Examples:\n  dman clean experiment --dry-run\n  dman clean experiment\n  \
                            dman clean config --generator demo --yes\n  dman clean results.zip experiment --yes\n\n\
                            See `dman help` for LOCATION and KEY."
    )]
    Clean {
        /// Where the graph lives (a folder, a `.zip`, `s3://bucket/prefix`,
        /// `file://`, `zip://`, `memory://`; omit to use the `.dman` found
        /// upward), and the key: its name, GENERATOR/KEY, or its file's path.
        #[arg(num_args = 1..=2, value_names = ["LOCATION", "KEY"], required = true)]
        args: Vec<String>,
        /// The generator folder (default: any generator holding the key).
        #[arg(long)]
        generator: Option<String>,
        /// A folder between the generator and the key.
        #[arg(long)]
        subdir: Option<String>,
        /// The key has no folder of its own.
        #[arg(long)]
        no_cluster: bool,
        /// Where the graph lives (the first argument says it too).
        #[arg(long, hide = true)]
        location: Option<String>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking (required when no terminal can answer).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the completion script for a shell.
    #[command(
        after_help = "Examples:\n  dman completion bash > ~/.local/share/bash-completion/completions/dman\n  \
                            dman completion zsh > \"${fpath[1]}/_dman\"\n  \
                            dman completion fish > ~/.config/fish/completions/dman.fish"
    )]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// A failure to run, as opposed to findings: exit status 2.
pub struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, which turns every `println!` after the reader
    // of a pipe has gone (`dman ls | head`) into a panic. A command-line
    // tool ends quietly there instead, as `ls | head` does.
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any thread exists, with a
    // valid signal number and the default disposition; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    log::init(cli.verbose, cli.quiet);
    progress::set_quiet(cli.quiet);
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
            json,
        } => {
            let (store, label) = location::open(location.as_deref())?;
            if json {
                read::files_json(&store, &label).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let options = dman::tree::TreeOptions {
                content,
                depth,
                arrays: true,
                totals: true,
            };
            let spinner = progress::spinner("reading the tree");
            let rendered = dman::tree::render(&store, &StoragePath::root(), &label, &options).await;
            progress::finish(spinner);
            let mut text = rendered?;
            if colored() && content {
                text = color::colorize_tree(&text);
            }
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            args,
            follow,
            generator,
        } => {
            let (location, path) = split_location(&args)?;
            let loc = address::Location::open(location)?;
            let path = loc.resolve_file(path, generator.as_deref()).await?;
            let text = show::show(&loc.store, &path, follow).await?;
            let json = path.suffix() == Some(".json");
            println!(
                "{}",
                if colored() && json {
                    color::colorize_json(&text)
                } else {
                    text
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Cat { args, generator } => {
            let (location, path) = split_location(&args)?;
            let loc = address::Location::open(location)?;
            let path = loc.resolve_file(path, generator.as_deref()).await?;
            read::cat(&loc.store, &path).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls { location, json } => {
            let (store, label) = location::open(location.as_deref())?;
            read::ls(&store, &label, json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Du { location, json } => {
            let (store, label) = location::open(location.as_deref())?;
            read::du(&store, &label, json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Runs {
            args,
            generator,
            filters,
            json,
            csv,
        } => {
            let (location, key) = split_location(&args)?;
            let loc = address::Location::open(location)?;
            let scan = keys::Scan::read(&loc.store).await?;
            let key = loc.resolve_key(&scan, key, generator.as_deref()).await?;
            let format = if json {
                runs::Format::Json
            } else if csv {
                runs::Format::Csv
            } else {
                runs::Format::Table
            };
            runs::print(&loc.store, &key, &filters, format).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            args,
            generator,
            size_only,
            json,
        } => diff::run(&args, generator.as_deref(), size_only, json).await,
        Command::Check {
            location,
            json,
            deep,
        } => {
            let (store, _) = location::open(location.as_deref())?;
            let content = if deep {
                check::Content::Deep
            } else {
                check::Content::Headers
            };
            let checked = check::check(&store, content).await?;
            let findings = &checked.findings;
            for f in findings {
                if json {
                    println!("{}", f.to_json());
                } else {
                    println!("{f}");
                }
            }
            let what = format!(
                "checked {} file{} in {} key{}",
                checked.files.len(),
                if checked.files.len() == 1 { "" } else { "s" },
                checked.keys,
                if checked.keys == 1 { "" } else { "s" },
            );
            if json {
                println!("{}", checked.summary_json());
            } else {
                match findings.len() {
                    0 => println!("{what}: clean"),
                    n => eprintln!("{what}: {n} problem{} found", if n == 1 { "" } else { "s" }),
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
            yes,
        } => {
            let (store, _) = location::open(location.as_deref())?;
            tidy::gc(&store, dry_run, grace, yes).await
        }
        Command::Copy(args) => copy::run(args).await,
        Command::Clean {
            args,
            generator,
            subdir,
            no_cluster,
            location,
            dry_run,
            yes,
        } => {
            let (location, key) = match (args.as_slice(), location) {
                ([key], location) => (location, key.clone()),
                ([location, key], None) => (Some(location.clone()), key.clone()),
                (_, Some(_)) => {
                    return Err(Failure(
                        "the location is given twice (as an argument and as --location)".into(),
                    ))
                }
                _ => return Err(Failure("expected [LOCATION] KEY".into())),
            };
            let request = tidy::CleanRequest {
                key,
                generator,
                subdir,
                no_cluster,
                dry_run,
                yes,
            };
            tidy::clean(location.as_deref(), request).await
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "dman", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `[LOCATION] PATH`: the optional location and the path.
fn split_location(args: &[String]) -> Result<(Option<&str>, &str), Failure> {
    match args {
        [path] => Ok((None, path.as_str())),
        [location, path] => Ok((Some(location.as_str()), path.as_str())),
        _ => Err(Failure("expected [LOCATION] PATH".into())),
    }
}
