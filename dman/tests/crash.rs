//! Crash safety: a process killed at random moments of repeated `track`
//! appends never leaves an experiment that fails to load. Afterwards the
//! experiment holds the runs of some complete save (the old runs or the new,
//! never a root that points at missing files), and every record it lists
//! reads back whole.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dman::blocking::{self, ContentsExt, RecordExt};
use dman::ndarray::Array2;
use dman::{MRuns, Modelclass, Record};
use rand::Rng;

const CHILD_ENV: &str = "DMAN_CRASH_CHILD_DIR";

#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
struct Config {
    seed: u64,
}

#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
struct Run {
    config: Config,
    data: Record<Array2<f64>>,
}

fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

fn data(seed: u64) -> Array2<f64> {
    Array2::from_shape_fn((20, 200), |(i, j)| {
        (seed * 10_000 + i as u64 * 200 + j as u64) as f64
    })
}

/// The child: appends runs forever, announcing each completed save. An
/// ignored test, which the parent starts (with `--ignored`) in a process of
/// its own, as `dman-fs/tests/crash.rs` does.
#[test]
#[ignore = "the child process of `killed_appends_leave_a_loadable_experiment`, which starts it"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        eprintln!(
            "crash_child only runs when started by killed_appends_leave_a_loadable_experiment"
        );
        return;
    };
    let repo = blocking::Repo::from(dman::open(&dir).expect("open").with_generator("crash"));
    loop {
        let n = repo
            .track("experiment", experiment, |runs| {
                let seed = runs.run_count();
                runs.push(Run {
                    config: Config { seed },
                    data: data(seed).into(),
                });
                Ok(runs.len())
            })
            .expect("track");
        println!("saved {n}");
    }
}

#[test]
fn killed_appends_leave_a_loadable_experiment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = rand::thread_rng();
    let mut last_seen = 0usize;
    let kills = 60;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "--ignored",
                "crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
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
