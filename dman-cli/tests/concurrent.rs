//! Many writers on one experiment, as real processes: each runs the
//! `track_writer` example, which appends runs to one `MRuns` key with one
//! `track` transaction each, on a local folder and on S3 (moto). No append
//! that returned is lost, every run holds what its writer wrote, and
//! `dman check` finds the tree clean; with writers killed at random points
//! too. Then tasks on memory, and conditional saves racing.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use dman_test_support::files::example;
use dman_test_support::s3::{aws_env, MotoServer, ACCESS_KEY, REGION, SECRET_KEY};
use rand::Rng;

#[path = "../examples/track_writer.rs"]
#[allow(dead_code)]
mod writer;

use writer::{experiment, values, Run, GENERATOR};

const WRITERS: u64 = 8;
const APPENDS: u64 = 25;

/// Where the writers write: the location they open, the environment it
/// needs (S3 credentials and endpoint), and the repository the test reads
/// it through.
struct Place {
    location: String,
    envs: Vec<(&'static str, String)>,
    repo: dman::Repo,
}

impl Place {
    fn folder(dir: &Path) -> Self {
        let location = dir.to_str().expect("utf-8 path").to_string();
        let repo = dman::open(&location)
            .expect("open")
            .with_generator(GENERATOR);
        Place {
            location,
            envs: Vec::new(),
            repo,
        }
    }

    fn s3(moto: &MotoServer, bucket: &str, prefix: &str) -> Self {
        moto.create_bucket(bucket);
        let location = format!("s3://{bucket}/{prefix}");
        let backend = dman::S3Builder::new()
            .url(&location)
            .expect("S3 location")
            .endpoint(moto.endpoint())
            .region(REGION)
            .credentials(ACCESS_KEY, SECRET_KEY)
            .build()
            .expect("S3 backend");
        Place {
            location,
            envs: aws_env(moto.endpoint()).to_vec(),
            repo: dman::Repo::new(Arc::new(backend)).with_generator(GENERATOR),
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.envs(self.envs.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }

    /// Runs `dman COMMAND LOCATION`.
    fn dman(&self, command: &str) -> std::process::Output {
        self.dman_with(command, &[])
    }

    /// Runs `dman COMMAND LOCATION ARGS`.
    fn dman_with(&self, command: &str, args: &[&str]) -> std::process::Output {
        self.command(env!("CARGO_BIN_EXE_dman"))
            .args([command, self.location.as_str()])
            .args(args)
            .output()
            .expect("run dman")
    }

    fn assert_clean(&self) {
        let out = self.dman("check");
        assert!(
            out.status.success(),
            "dman check {}: {}{}",
            self.location,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Loads the experiment and checks every run's array against its
    /// config; gives the set of (writer, append) found.
    fn verify(&self) -> BTreeSet<(u64, u64)> {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let runs: dman::MRuns<Run> = self
                .repo
                .load("experiment")
                .await
                .expect("load the experiment");
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
            found
        })
    }
}

/// A writer process, killed if still running when dropped.
struct Writer {
    child: Child,
    id: u64,
}

impl Writer {
    fn spawn(place: &Place, id: u64, first: u64, count: u64) -> Self {
        let child = place
            .command(example("track_writer", "dman-cli"))
            .args([
                place.location.clone(),
                id.to_string(),
                first.to_string(),
                count.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start track_writer");
        Writer { child, id }
    }

    /// Reads the `saved W A` lines until the writer exits (or, with
    /// `kill_after`, kills it once that many came); gives the acknowledged
    /// appends and whether it was killed.
    fn follow(mut self, kill_after: Option<usize>) -> (Vec<(u64, u64)>, bool) {
        let stdout = self.child.stdout.take().expect("piped stdout");
        let mut saved = Vec::new();
        let mut killed = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read writer output");
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert!(
                parts.len() == 3 && parts[0] == "saved",
                "unexpected writer line {line:?}"
            );
            let writer: u64 = parts[1].parse().expect("writer id");
            let append: u64 = parts[2].parse().expect("append");
            assert_eq!(writer, self.id);
            saved.push((writer, append));
            if kill_after == Some(saved.len()) {
                self.child.kill().expect("kill writer");
                killed = true;
                break;
            }
        }
        let status = self.child.wait().expect("wait writer");
        if !killed {
            assert!(status.success(), "writer {} failed: {status}", self.id);
        }
        (saved, killed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows writers on threads of their own; gives what they acknowledged
/// and how many were killed.
fn follow_all(writers: Vec<(Writer, Option<usize>)>) -> (BTreeSet<(u64, u64)>, usize) {
    let handles: Vec<_> = writers
        .into_iter()
        .map(|(w, after)| std::thread::spawn(move || w.follow(after)))
        .collect();
    let mut acknowledged = BTreeSet::new();
    let mut kills = 0;
    for h in handles {
        let (saved, killed) = h.join().expect("writer thread");
        acknowledged.extend(saved);
        kills += usize::from(killed);
    }
    (acknowledged, kills)
}

fn concurrent_appends(place: &Place) {
    let writers = (0..WRITERS)
        .map(|id| (Writer::spawn(place, id, 0, APPENDS), None))
        .collect();
    let (acknowledged, _) = follow_all(writers);
    assert_eq!(acknowledged.len() as u64, WRITERS * APPENDS);
    let found = place.verify();
    assert_eq!(found.len() as u64, WRITERS * APPENDS, "runs lost or extra");
    assert_eq!(found, acknowledged);
    place.assert_clean();
}

/// Rounds of 8 writers, most of them killed after a random number of
/// acknowledged appends (so at a random point of the next one). After each
/// round the tree loads with every acknowledged run; at the end `dman gc`
/// leaves it clean.
fn killed_writers(place: &Place) {
    let mut rng = rand::thread_rng();
    let mut acknowledged = BTreeSet::new();
    let mut kills = 0;
    for round in 0..4u64 {
        let writers = (0..WRITERS)
            .map(|id| {
                let after = ((id + round) % 4 != 0).then(|| rng.gen_range(1..=4));
                (Writer::spawn(place, id, round * 100, 6), after)
            })
            .collect();
        let (saved, killed) = follow_all(writers);
        acknowledged.extend(saved);
        kills += killed;
        let found = place.verify();
        let missing: Vec<_> = acknowledged.difference(&found).collect();
        assert!(
            missing.is_empty(),
            "round {round}: committed runs lost: {missing:?}"
        );
    }
    assert!(kills >= 20, "only {kills} kills");
    // No writer runs any more: what the killed ones left may go now.
    let out = place.dman_with("gc", &["--grace", "0", "--yes"]);
    assert!(
        out.status.success(),
        "dman gc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    place.assert_clean();
    assert!(acknowledged.is_subset(&place.verify()));
}

/// `dman gc` running again and again, two at a time, while writers append:
/// with its grace period it never deletes the files of a save in progress
/// (without one, it lost 2 of 30 acknowledged runs; with `--grace 0` this
/// test fails nearly every time).
fn gc_during_appends(place: &Place, gc_args: &[&str]) {
    let writers: Vec<_> = (0..4)
        .map(|id| (Writer::spawn(place, id, 0, 20), None))
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let following = {
        let done = done.clone();
        std::thread::spawn(move || {
            // Set even when a writer fails and this thread panics, so that
            // the gc loops below end.
            struct Done(Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let _done = Done(done);
            follow_all(writers)
        })
    };
    let runs = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let out = place.dman_with("gc", &[gc_args, &["--yes"]].concat());
                    assert!(
                        out.status.success(),
                        "dman gc: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    let (acknowledged, _) = following.join().expect("writers");
    assert_eq!(acknowledged.len(), 80);
    let runs = runs.into_inner();
    assert!(runs > 0, "gc never ran while the writers did");
    let found = place.verify();
    let missing: Vec<_> = acknowledged.difference(&found).collect();
    assert!(missing.is_empty(), "gc ({runs} runs) lost {missing:?}");
    place.assert_clean();
}

#[test]
fn gc_during_appends_on_a_local_folder_loses_no_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    gc_during_appends(&Place::folder(dir.path()), &[]);
}

#[test]
fn eight_writers_on_a_local_folder_lose_no_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    concurrent_appends(&Place::folder(dir.path()));
}

#[test]
fn eight_writers_on_s3_lose_no_run() {
    let moto = MotoServer::start();
    concurrent_appends(&Place::s3(&moto, "fleet", "lab/exp"));
}

#[test]
fn killed_writers_lose_no_committed_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    killed_writers(&Place::folder(dir.path()));
}

#[test]
fn killed_writers_on_s3_lose_no_committed_run() {
    let moto = MotoServer::start();
    killed_writers(&Place::s3(&moto, "fleet", "killed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_on_memory_lose_no_run() {
    let backend = dman::MemoryBackend::new();
    let repo = dman::Repo::new(Arc::new(backend.clone()))
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
    // Every file in the store is one the experiment points at (a run's file
    // and its array), the key's file or its `.gitignore`: the lost attempts
    // left nothing behind.
    let files = backend.paths().len();
    assert_eq!(
        files,
        2 * (WRITERS * APPENDS) as usize + 2,
        "{:?}",
        backend.paths()
    );
}

/// Two processes load the key at one version and save it on a signal, each
/// only if it is still at that version: exactly one wins, the other gets the
/// conflict, and the key holds the winner's value.
#[test]
fn two_conditional_saves_one_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let place = Place::folder(dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(place.repo.save("config", &"start".to_string()))
        .expect("first save");
    for round in 0..5 {
        let mut children: Vec<(&str, Child)> = ["left", "right"]
            .into_iter()
            .map(|name| {
                let child = place
                    .command(example("conditional_saver", "dman-cli"))
                    .args([place.location.as_str(), name])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("start conditional_saver");
                (name, child)
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
        let now: String = runtime.block_on(place.repo.load("config")).expect("load");
        assert_eq!(now, winners[0], "round {round}");
    }
}

/// A save that replaces fixed-name files, killed after each of its changes
/// on a local folder (the repository scenario `kill_points`): besides the
/// key loading as the old or the new version, `dman check` reports nothing
/// but orphans (files of the killed save that no version points at), and
/// `dman gc` leaves the folder clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_points_leave_only_orphans_that_gc_removes() {
    let mut dirs = Vec::new();
    let mut make = || -> Arc<dyn dman::StorageBackend> {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = dman::FsBackend::new(dir.path()).expect("folder");
        dirs.push(dir);
        Arc::new(backend)
    };
    let mut inspected = 0;
    dman::core::scenarios::kill_points_inspected(&mut make, |store, budget| {
        let location = store.location();
        let check = Command::new(env!("CARGO_BIN_EXE_dman"))
            .args(["check", &location])
            .output()
            .expect("dman check");
        let report = String::from_utf8_lossy(&check.stdout).into_owned();
        // Findings, not the closing `checked N files in K keys: …` line.
        for line in report
            .lines()
            .filter(|l| l.contains(": ") && !l.starts_with("checked "))
        {
            assert!(
                line.starts_with("orphan: "),
                "killed after {budget} changes, check reports more than orphans: {report}"
            );
        }
        let gc = Command::new(env!("CARGO_BIN_EXE_dman"))
            // The killed save is over: its files may go at once.
            .args(["gc", &location, "--grace", "0", "--yes"])
            .output()
            .expect("dman gc");
        assert!(
            gc.status.success(),
            "{}",
            String::from_utf8_lossy(&gc.stderr)
        );
        let again = Command::new(env!("CARGO_BIN_EXE_dman"))
            .args(["check", &location])
            .output()
            .expect("dman check");
        assert!(
            again.status.success(),
            "killed after {budget} changes, not clean after gc: {}",
            String::from_utf8_lossy(&again.stdout)
        );
        inspected += 1;
    })
    .await;
    assert!(inspected >= 5, "only {inspected} kill points");
}
