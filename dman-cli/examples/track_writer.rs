//! One writer of the concurrency tests (`tests/concurrent.rs`): appends runs
//! to the `experiment` key of a location, one `track` transaction per run,
//! and prints `saved WRITER APPEND` once each has committed.
//!
//! ```text
//! track_writer LOCATION WRITER FIRST COUNT
//! ```
//!
//! Run `FIRST..FIRST+COUNT` of writer `WRITER` each hold an array whose
//! values [`values`] derives from the two numbers, so a reader can check
//! that every run holds what its writer wrote.

use std::io::Write;

use dman::ndarray::Array1;
use dman::{MRuns, Modelclass, Record};

/// Which writer made a run, and which of its appends it was.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
pub struct Config {
    /// The writer.
    pub writer: u64,
    /// The append, counted per writer.
    pub append: u64,
}

/// A run: its config and an array in a `.npy` file of its own.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
pub struct Run {
    /// Who wrote it.
    pub config: Config,
    /// What it wrote.
    pub data: Option<Record<Array1<f64>>>,
}

/// The values of the run `append` of `writer`.
pub fn values(writer: u64, append: u64) -> Array1<f64> {
    Array1::from_shape_fn(64, |i| (writer * 1000 + append) as f64 + i as f64 / 64.0)
}

/// The key's container.
pub fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

/// The generator folder every writer and reader uses.
pub const GENERATOR: &str = "cache/concurrency";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, location, writer, first, count] = args.as_slice() else {
        return Err("usage: track_writer LOCATION WRITER FIRST COUNT".into());
    };
    let (writer, first, count): (u64, u64, u64) = (writer.parse()?, first.parse()?, count.parse()?);
    let repo = dman::open(location)?
        .with_generator(GENERATOR)
        .with_attempts(200);
    let mut out = std::io::stdout().lock();
    for append in first..first + count {
        repo.track("experiment", experiment, async |runs: &mut MRuns<Run>| {
            runs.push(Run {
                config: Config { writer, append },
                data: Some(values(writer, append).into()),
            });
            Ok(())
        })
        .await?;
        writeln!(out, "saved {writer} {append}")?;
        out.flush()?;
    }
    Ok(())
}
