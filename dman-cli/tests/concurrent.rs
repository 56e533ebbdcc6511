//! Many writers on one experiment, as real processes: each runs the
//! `track_writer` example, which appends runs to one `MRuns` key with one
//! `track` transaction each. No append that returned is lost, every run
//! holds what its writer wrote, and `dman check` finds the tree clean;
//! with writers killed at random points too.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rand::Rng;

#[path = "../examples/track_writer.rs"]
#[allow(dead_code)]
mod writer;

use writer::{experiment, values, Run, GENERATOR};

/// The example binary, built by `cargo test` next to the test binaries.
fn writer_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target folder")
        .join("examples/track_writer");
    assert!(path.is_file(), "example not built at {}", path.display());
    path
}

/// A writer process, killed if still running when dropped.
struct Writer {
    child: Child,
    id: u64,
}

impl Writer {
    fn spawn(location: &str, id: u64, first: u64, count: u64) -> Self {
        let child = Command::new(writer_binary())
            .args([
                location,
                &id.to_string(),
                &first.to_string(),
                &count.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start track_writer");
        Writer { child, id }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a writer's `saved W A` lines until it exits (or, with `kill_after`,
/// kills it once that many lines came); gives the acknowledged appends and
/// whether it was killed.
fn follow(mut w: Writer, kill_after: Option<usize>) -> (Vec<(u64, u64)>, bool) {
    let stdout = w.child.stdout.take().expect("piped stdout");
    let mut saved = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read writer output");
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "unexpected writer line {line:?}");
        assert_eq!(parts[0], "saved", "unexpected writer line {line:?}");
        let writer: u64 = parts[1].parse().expect("writer id");
        let append: u64 = parts[2].parse().expect("append");
        assert_eq!(writer, w.id);
        saved.push((writer, append));
        if kill_after == Some(saved.len()) {
            w.child.kill().expect("kill writer");
            killed = true;
            break;
        }
    }
    let status = w.child.wait().expect("wait writer");
    if !killed {
        assert!(status.success(), "writer {} failed: {status}", w.id);
    }
    (saved, killed)
}

/// Loads the experiment and checks every run's array against its config;
/// gives the set of (writer, append) found.
fn verify(location: &str) -> BTreeSet<(u64, u64)> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let repo = dman::open(location)
            .expect("open")
            .with_generator(GENERATOR);
        let runs: dman::MRuns<Run> = repo.load("experiment").await.expect("load the experiment");
        let mut found = BTreeSet::new();
        for (i, record) in runs.iter().enumerate() {
            let run = record
                .get()
                .await
                .unwrap_or_else(|e| panic!("run {i}: {e}"));
            let key = (run.config.writer, run.config.append);
            assert!(found.insert(key), "run {key:?} saved twice");
            let data = run.data.as_ref().expect("data record");
            let array = data
                .get()
                .await
                .unwrap_or_else(|e| panic!("run {key:?} data: {e}"));
            assert_eq!(
                array,
                &values(key.0, key.1),
                "run {key:?} holds another writer's array"
            );
        }
        let _ = experiment; // the container the writers use
        found
    })
}

fn dman(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dman"))
        .args(args)
        .output()
        .expect("run dman")
}

fn assert_clean(location: &str) {
    let out = dman(&["check", location]);
    assert!(
        out.status.success(),
        "dman check {location}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const WRITERS: u64 = 8;
const APPENDS: u64 = 25;

fn concurrent_appends(location: &str) {
    let writers: Vec<Writer> = (0..WRITERS)
        .map(|id| Writer::spawn(location, id, 0, APPENDS))
        .collect();
    let handles: Vec<_> = writers
        .into_iter()
        .map(|w| std::thread::spawn(move || follow(w, None).0))
        .collect();
    let mut acknowledged = BTreeSet::new();
    for h in handles {
        acknowledged.extend(h.join().expect("writer thread"));
    }
    assert_eq!(acknowledged.len() as u64, WRITERS * APPENDS);
    let found = verify(location);
    assert_eq!(found.len() as u64, WRITERS * APPENDS, "runs lost or extra");
    assert_eq!(found, acknowledged);
    assert_clean(location);
}

#[test]
fn eight_writers_on_a_local_folder_lose_no_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    concurrent_appends(dir.path().to_str().expect("utf-8 path"));
}

#[test]
fn killed_writers_lose_no_committed_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = dir.path().to_str().expect("utf-8 path").to_string();
    let mut rng = rand::thread_rng();
    let mut acknowledged = BTreeSet::new();
    let mut kills = 0;
    // Rounds of 8 writers; in each, some are killed after a random number
    // of acknowledged appends (so at a random point of a later one).
    for round in 0..4u64 {
        let plans: Vec<(Writer, Option<usize>)> = (0..WRITERS)
            .map(|id| {
                let kill = (id + round) % 4 != 0;
                let after = kill.then(|| rng.gen_range(1..=4));
                (Writer::spawn(&location, id, round * 100, 6), after)
            })
            .collect();
        let handles: Vec<_> = plans
            .into_iter()
            .map(|(w, after)| std::thread::spawn(move || follow(w, after)))
            .collect();
        for h in handles {
            let (saved, killed) = h.join().expect("writer thread");
            acknowledged.extend(saved);
            kills += usize::from(killed);
        }
        // The tree loads after every round, with every acknowledged run.
        let found = verify(&location);
        let missing: Vec<_> = acknowledged.difference(&found).collect();
        assert!(
            missing.is_empty(),
            "round {round}: committed runs lost: {missing:?}"
        );
    }
    assert!(kills >= 20, "only {kills} kills");
    let out = dman(&["gc", &location]);
    assert!(
        out.status.success(),
        "dman gc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean(&location);
    let found = verify(&location);
    assert!(acknowledged.is_subset(&found));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_on_memory_lose_no_run() {
    let backend = dman::MemoryBackend::new();
    let repo = dman::Repo::new(std::sync::Arc::new(backend.clone()))
        .with_generator(GENERATOR)
        .with_attempts(200);
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let repo = repo.clone();
            tokio::spawn(async move {
                for append in 0..APPENDS {
                    repo.track(
                        "experiment",
                        experiment,
                        async move |runs: &mut dman::MRuns<Run>| {
                            runs.push(Run {
                                config: writer::Config { writer, append },
                                data: Some(values(writer, append).into()),
                            });
                            Ok(())
                        },
                    )
                    .await
                    .expect("track");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let runs: dman::MRuns<Run> = repo.load("experiment").await.expect("load");
    assert_eq!(runs.len() as u64, WRITERS * APPENDS);
    let mut found = BTreeSet::new();
    for record in runs.iter() {
        let run = record.get().await.expect("run");
        found.insert((run.config.writer, run.config.append));
        let array = run.data.as_ref().expect("data").get().await.expect("array");
        assert_eq!(array, &values(run.config.writer, run.config.append));
    }
    assert_eq!(found.len() as u64, WRITERS * APPENDS);
    // Every file in the store is one the experiment points at: the lost
    // attempts left nothing behind.
    let files = backend.paths().len();
    assert_eq!(
        files,
        1 + 2 * (WRITERS * APPENDS) as usize + 1,
        "{:?}",
        backend.paths()
    );
}

/// The example that saves conditionally, built next to the test binaries.
fn saver_binary() -> PathBuf {
    writer_binary().with_file_name("conditional_saver")
}

/// Two processes load the key at one version and save it on a signal, each
/// only if it is still at that version: exactly one wins, the other gets the
/// conflict, and the key holds the winner's value.
#[test]
fn two_conditional_saves_one_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = dir.path().to_str().expect("utf-8 path").to_string();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let repo = dman::open(&location)
        .expect("open")
        .with_generator(GENERATOR);
    runtime
        .block_on(repo.save("config", &"start".to_string()))
        .expect("first save");
    for round in 0..5 {
        let mut children: Vec<(String, Child)> = ["left", "right"]
            .iter()
            .map(|name| {
                let child = Command::new(saver_binary())
                    .args([location.as_str(), name])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("start conditional_saver");
                (name.to_string(), child)
            })
            .collect();
        // Both have loaded the same version before either saves.
        let mut readers = Vec::new();
        for (_, child) in &mut children {
            let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
            let first = lines.next().expect("a line").expect("read");
            assert!(first.starts_with("loaded "), "{first}");
            readers.push(lines);
        }
        for (_, child) in &mut children {
            use std::io::Write;
            writeln!(child.stdin.as_mut().expect("stdin"), "go").expect("signal");
        }
        let mut winners = Vec::new();
        for ((name, mut child), mut lines) in children.into_iter().zip(readers) {
            let verdict = lines.next().expect("a verdict").expect("read");
            assert!(child.wait().expect("wait").success(), "{name} failed");
            match verdict.as_str() {
                "won" => winners.push(name),
                "conflict" => {}
                other => panic!("round {round}: {name} said {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let now: String = runtime.block_on(repo.load("config")).expect("load");
        assert_eq!(now, winners[0], "round {round}");
    }
}
