//! The writer that `dman/tests/crash.rs` kills: appends runs to the
//! `experiment` key of the folder DIR with the blocking API, for ever,
//! printing `saved N` after each completed save (N runs saved).
//!
//! ```text
//! crash_appender DIR [DIE_AT]
//! ```
//!
//! With DIE_AT, the writer kills itself with SIGKILL just before its
//! DIE_AT-th change of the store (write, delete or copy, counted from 1):
//! a kill at a chosen point of a save, between two of its files, which a
//! kill from outside hits only by chance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dman::blocking;
use dman::core::StorageResult;
use dman::StorageBackend;
use dman_test_support::backend::{Hook, Op, Wrapped};
use dman_test_support::crash::{data, experiment, Config, Run};

/// Kills the process before the change numbered `at`.
#[derive(Debug)]
struct DieAt {
    at: usize,
    changes: AtomicUsize,
}

impl Hook for DieAt {
    fn before(&self, op: &Op, _: &dyn StorageBackend) -> StorageResult<()> {
        if matches!(op, Op::Write(_) | Op::Delete(_) | Op::Copy(..)) {
            let number = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
            if number == self.at {
                // SIGKILL, as from outside: no destructor, no flush, no
                // exit handler runs. `kill` returns only if it failed.
                let pid = std::process::id().to_string();
                let status = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
                eprintln!("crash_appender: could not kill itself: {status:?}");
                std::process::abort();
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: crash_appender DIR [DIE_AT]")?;
    let die_at: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    let mut store: Arc<dyn StorageBackend> = dman::open(&dir)?.backend().clone();
    if let Some(at) = die_at {
        store = Wrapped::with_hook(
            store,
            DieAt {
                at,
                changes: AtomicUsize::new(0),
            },
        );
    }
    let repo = blocking::Repo::from(dman::Repo::new(store).with_generator("crash"));
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
