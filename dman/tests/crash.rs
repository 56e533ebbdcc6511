//! Crash safety: a process killed at random moments of repeated `track`
//! appends never loses an acknowledged save and never leaves an experiment
//! that fails to load. Afterwards the experiment holds the runs of the last
//! announced save or of the one after it (never a root that points at
//! missing files), and every record it lists reads back whole.
//!
//! Half the kills come from inside the writer, just before a random one of
//! its changes to the store (between a save's content files, or between
//! them and the root), half from outside after a random delay from its
//! start. Kills that land inside a save leave leftovers (content files the
//! committed root does not reference, temporary files of the folder
//! backend): the test counts them and requires that some kills did.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dman::blocking::{self, prelude::*};
use dman::{FsBackend, MRuns};
use dman_test_support::backend::Recorder;
use dman_test_support::crash::{data, experiment, Run};
use dman_test_support::files::{example, walk};
use rand::Rng;

/// How many times the writer is killed.
const KILLS: usize = 60;
/// The largest change number an inside kill picks (a save of the appender
/// makes about four: the run's JSON and array, the root, `.gitignore`).
const MAX_DIE_AT: usize = 14;
/// The longest delay before an outside kill, in microseconds: a few saves.
const MAX_DELAY_MICROS: u64 = 40_000;

/// Kills the child when dropped, should the test panic first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every file of the experiment's folder, relative to `dir` (`/`
/// separators).
fn experiment_files(dir: &Path) -> BTreeSet<String> {
    let folder = dir.join("crash/experiment");
    if !folder.exists() {
        return BTreeSet::new();
    }
    walk(&folder)
        .into_iter()
        .map(|path| {
            path.strip_prefix(dir)
                .expect("under the folder")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

#[test]
fn killed_appends_keep_every_acknowledged_save() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The writer: `test-support/examples/crash_appender.rs`.
    let exe = example("crash_appender", "dman-test-support");
    let mut rng = rand::thread_rng();
    let mut acknowledged = 0usize;
    let mut kills_leaving_leftovers = 0;
    let mut temp_files = BTreeSet::new();
    let mut leftovers_before = 0;
    for round in 0..KILLS {
        let inside = round % 2 == 0;
        let mut command = Command::new(&exe);
        command
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if inside {
            command.arg(rng.gen_range(1..=MAX_DIE_AT).to_string());
        }
        let started = Instant::now();
        let mut child = KillOnDrop(command.spawn().expect("spawn child"));
        let stdout = child.0.stdout.take().expect("child stdout");
        if !inside {
            // Not a synchronisation: every check below holds wherever the
            // kill lands; the delay only spreads the kills over the saves.
            let delay = Duration::from_micros(rng.gen_range(0..MAX_DELAY_MICROS));
            while started.elapsed() < delay {
                std::hint::spin_loop();
            }
            child.0.kill().expect("kill");
        }
        let status = child.0.wait().expect("reap");
        assert!(!status.success(), "round {round}: the child was not killed");
        // Every save the child announced, until the kill.
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("child stdout");
            if let Some(n) = line.strip_prefix("saved ") {
                let n: usize = n.trim().parse().expect("count");
                assert!(
                    n > acknowledged,
                    "round {round}: saved counts go up ({n} after {acknowledged})"
                );
                acknowledged = n;
            }
        }

        // Load everything through a recorder: what it reads is what the
        // committed root references.
        let recorder = Recorder::new(Arc::new(FsBackend::new(dir.path()).expect("folder")));
        let repo = blocking::Repo::from(dman::Repo::new(recorder.clone()).with_generator("crash"));
        let runs: MRuns<Run> = repo
            .load_or("experiment", experiment)
            .expect("the experiment always loads");
        let contents = runs.blocking_contents().expect("every run record reads");
        assert!(
            contents.len() == acknowledged || contents.len() == acknowledged + 1,
            "round {round}: {} runs after {acknowledged} acknowledged saves",
            contents.len()
        );
        for (i, run) in contents.iter().enumerate() {
            assert_eq!(
                run.config.seed, i as u64,
                "round {round}: runs in order, none lost"
            );
            let array = run.data.blocking_get().expect("every array reads");
            assert_eq!(
                array,
                &data(i as u64),
                "round {round}: run {i} holds whole data"
            );
        }
        acknowledged = contents.len();

        // Leftovers: files of the experiment that the root does not
        // reference (temporary files among them).
        let referenced: BTreeSet<String> = recorder
            .reads()
            .iter()
            .map(|path| path.as_str().to_owned())
            .collect();
        let leftovers: Vec<String> = experiment_files(dir.path())
            .into_iter()
            .filter(|path| !referenced.contains(path))
            .collect();
        // The folder backend's temporary files (dman_fs::TEMP_PREFIX).
        temp_files.extend(
            leftovers
                .iter()
                .filter(|path| path.contains("/.dman-tmp-"))
                .cloned(),
        );
        if leftovers.len() > leftovers_before {
            kills_leaving_leftovers += 1;
        }
        leftovers_before = leftovers.len();
    }
    eprintln!(
        "{KILLS} kills, {acknowledged} runs saved; {kills_leaving_leftovers} kills landed inside a save \
         and left leftovers ({leftovers_before} files in all, {} of them temporary files)",
        temp_files.len()
    );
    assert!(
        acknowledged > 0,
        "the child saved something in {KILLS} rounds"
    );
    assert!(
        kills_leaving_leftovers > 0,
        "no kill landed between a save's content files and its root"
    );
}
