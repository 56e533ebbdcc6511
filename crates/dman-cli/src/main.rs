//! The `dman` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Look at and tidy dman record graphs.
#[derive(Parser)]
#[command(name = "dman", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a `.dman` folder in the working directory (no error if it exists).
    Init,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init => init(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dman: {message}");
            ExitCode::from(2)
        }
    }
}

fn init() -> Result<(), String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let root = dman::init(&cwd).map_err(|e| e.to_string())?;
    println!("initialized {}", root.display());
    Ok(())
}
