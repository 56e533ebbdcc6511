//! The writer that `dman/tests/crash.rs` kills: appends runs to the
//! `experiment` key of the folder DIR with the blocking API, for ever,
//! printing `saved N` after each completed save.
//!
//! ```text
//! crash_appender DIR
//! ```

use dman::blocking;
use dman_test_support::crash::{data, experiment, Config, Run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: crash_appender DIR")?;
    let repo = blocking::Repo::from(dman::open(&dir)?.with_generator("crash"));
    loop {
        let n = repo.track("experiment", experiment, |runs| {
            let seed = runs.run_count();
            runs.push(Run {
                config: Config { seed },
                data: data(seed).into(),
            });
            Ok(runs.len())
        })?;
        println!("saved {n}");
    }
}
