//! Crash safety: a process killed at random moments of repeated `track`
//! appends never leaves an experiment that fails to load. Afterwards the
//! experiment holds the runs of some complete save (the old runs or the new,
//! never a root that points at missing files), and every record it lists
//! reads back whole.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dman::blocking::{self, ContentsExt, RecordExt};
use dman::MRuns;
use dman_test_support::crash::{data, experiment, Run};
use dman_test_support::files::example;
use rand::Rng;

#[test]
fn killed_appends_leave_a_loadable_experiment() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The writer: `test-support/examples/crash_appender.rs`.
    let exe = example("crash_appender", "dman-test-support");
    let mut rng = rand::thread_rng();
    let mut last_seen = 0usize;
    let kills = 60;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        // Kill after a random number of completed saves (0: while it loads
        // or writes its first run), so the kill lands at a random moment of
        // the next save.
        let wait_for = rng.gen_range(0..3);
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < wait_for {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("saved ") => {
                    let n: usize = line[6..].trim().parse().expect("count");
                    assert!(
                        n > last_seen,
                        "round {round}: saved counts go up ({n} after {last_seen})"
                    );
                    last_seen = n;
                    seen += 1;
                }
                Some(Ok(_)) => {}
                other => panic!("round {round}: child stopped early: {other:?}"),
            }
        }
        child.kill().expect("kill");
        child.wait().expect("reap");
        // Saves the child announced after the lines read above, before the
        // kill landed (a busy machine may run it well ahead of this loop):
        // the pipe holds them until read.
        for line in lines {
            let line = line.expect("child stdout");
            if let Some(n) = line.strip_prefix("saved ") {
                let n: usize = n.trim().parse().expect("count");
                assert!(
                    n > last_seen,
                    "round {round}: saved counts go up ({n} after {last_seen})"
                );
                last_seen = n;
            }
        }

        let repo = blocking::Repo::from(
            dman::open(&dir.path().to_string_lossy())
                .expect("open")
                .with_generator("crash"),
        );
        let runs: MRuns<Run> = repo
            .load_or("experiment", experiment)
            .expect("the experiment always loads");
        let contents = runs.contents_blocking().expect("every run record reads");
        assert!(
            contents.len() >= last_seen && contents.len() <= last_seen + 1,
            "round {round}: {} runs after {last_seen} announced saves",
            contents.len()
        );
        for (i, run) in contents.iter().enumerate() {
            assert_eq!(
                run.config.seed, i as u64,
                "round {round}: runs in order, none lost"
            );
            let array = run.data.get_blocking().expect("every array reads");
            assert_eq!(
                array,
                &data(i as u64),
                "round {round}: run {i} holds whole data"
            );
        }
        last_seen = contents.len();
    }
    assert!(last_seen > 0, "the child saved something in {kills} rounds");
}
