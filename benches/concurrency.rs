//! Many writers appending to one experiment (issue 13): appends per second
//! with 1, 2, 4 and 8 concurrent writers on a local folder and on S3
//! (moto), with how often a transaction had to try again; and the cost of
//! one writer's append as a transaction against the protocol before
//! transactions (plain load and save, no versions), in the same run.
//!
//! ```text
//! cargo bench -p dman-benches --bench concurrency
//! ```
//!
//! Each writer is a task with a repository and a backend of its own (its
//! own S3 client), appending a run with a 64-value array per `track`.
//! Environment: `CONCURRENCY_TOTAL` (appends per row on the folder, default
//! 160; S3 rows do half), `CONCURRENCY_REPS` (repetitions of the
//! single-writer comparison, default 5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use dman::core::{ObjectMeta, StorageResult};
use dman::ndarray::Array1;
use dman::{MRuns, Modelclass, Record, Repo, StorageBackend, StoragePath};
use dman_test_support::s3::{MotoServer, ACCESS_KEY, REGION, SECRET_KEY};

#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
struct Config {
    writer: u64,
    append: u64,
}

#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
struct Run {
    config: Config,
    data: Option<Record<Array1<f64>>>,
}

fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

fn run(writer: u64, append: u64) -> Run {
    Run {
        config: Config { writer, append },
        data: Some(Array1::from_elem(64, (writer * 1000 + append) as f64).into()),
    }
}

/// A backend as it was before transactions: the same files, no versions,
/// no conditional writes; `track` is then one plain load and save.
#[derive(Debug)]
struct Plain(Arc<dyn StorageBackend>);

#[async_trait]
impl StorageBackend for Plain {
    fn location(&self) -> String {
        self.0.location()
    }
    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.0.read(path).await
    }
    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.0.write(path, data).await
    }
    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.0.delete(path).await
    }
    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.0.exists(path).await
    }
    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.0.list(prefix).await
    }
    async fn flush(&self) -> StorageResult<()> {
        self.0.flush().await
    }
    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.0.copy(from, to).await
    }
}

/// Makes one writer's backend (each writer gets its own handle).
type Make<'a> = &'a (dyn Fn() -> Arc<dyn StorageBackend> + Sync);

/// `writers` tasks appending `per_writer` runs each; gives the wall time
/// and the attempts made beyond the first of each append.
async fn append_concurrently(make: Make<'_>, writers: u64, per_writer: u64) -> (Duration, u64) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let repo = Repo::new(make())
                .with_generator("cache/bench")
                .with_attempts(1000);
            tokio::spawn(async move {
                let mut retries = 0;
                for append in 0..per_writer {
                    let mut tx = repo.transaction("experiment").expect("transaction");
                    loop {
                        let mut runs = tx.load(&repo, experiment).await.expect("load");
                        runs.push(run(writer, append));
                        if tx.commit(&repo, &runs).await.expect("commit") {
                            break;
                        }
                    }
                    retries += u64::from(tx.attempts() - 1);
                }
                retries
            })
        })
        .collect();
    let mut retries = 0;
    for t in tasks {
        retries += t.await.expect("writer task");
    }
    (start.elapsed(), retries)
}

/// One writer's `count` appends through `repo`; gives the time per append.
async fn single_writer(repo: &Repo, count: u64) -> Duration {
    let start = Instant::now();
    for append in 0..count {
        repo.track("experiment", experiment, async |runs: &mut MRuns<Run>| {
            runs.push(run(0, append));
            Ok(())
        })
        .await
        .expect("append");
    }
    start.elapsed() / count as u32
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let total = env("CONCURRENCY_TOTAL", 160);
    let reps = env("CONCURRENCY_REPS", 5) as usize;

    println!(
        "| backend | writers | appends | seconds | appends/s | retries | retries per append |"
    );
    println!("|---|---|---|---|---|---|---|");
    let moto = MotoServer::start();
    let mut bucket = 0;
    for (name, total) in [("local folder", total), ("S3 (moto)", total / 2)] {
        for writers in [1u64, 2, 4, 8] {
            let per_writer = total / writers;
            let dir = tempfile::tempdir().expect("tempdir");
            bucket += 1;
            let bucket_name = format!("bench-{bucket}");
            let make: Box<dyn Fn() -> Arc<dyn StorageBackend> + Sync> = if name == "local folder" {
                let root = dir.path().to_path_buf();
                Box::new(move || Arc::new(dman::FsBackend::new(&root).expect("folder")))
            } else {
                moto.create_bucket(&bucket_name);
                let endpoint = moto.endpoint().to_string();
                Box::new(move || {
                    Arc::new(
                        dman::S3Builder::new()
                            .bucket(&bucket_name)
                            .endpoint(&endpoint)
                            .region(REGION)
                            .credentials(ACCESS_KEY, SECRET_KEY)
                            .build()
                            .expect("S3 backend"),
                    )
                })
            };
            let (elapsed, retries) = append_concurrently(make.as_ref(), writers, per_writer).await;
            let appends = writers * per_writer;
            println!(
                "| {name} | {writers} | {appends} | {:.2} | {:.1} | {retries} | {:.2} |",
                elapsed.as_secs_f64(),
                appends as f64 / elapsed.as_secs_f64(),
                retries as f64 / appends as f64
            );
        }
    }

    // One writer, as a transaction and as before transactions, alternated.
    let count = 100;
    let (mut tx_times, mut plain_times) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs: Arc<dyn StorageBackend> =
            Arc::new(dman::FsBackend::new(dir.path()).expect("folder"));
        let repo = Repo::new(fs).with_generator("cache/tx");
        tx_times.push(single_writer(&repo, count).await);
        let dir = tempfile::tempdir().expect("tempdir");
        let fs: Arc<dyn StorageBackend> =
            Arc::new(dman::FsBackend::new(dir.path()).expect("folder"));
        let repo = Repo::new(Arc::new(Plain(fs))).with_generator("cache/plain");
        plain_times.push(single_writer(&repo, count).await);
    }
    let (tx, plain) = (median(tx_times), median(plain_times));
    println!();
    println!(
        "| one writer, {count} appends, local folder, median of {reps} | per append | ratio |"
    );
    println!("|---|---|---|");
    println!(
        "| before transactions (plain load and save) | {:.3} ms | 1.00 |",
        plain.as_secs_f64() * 1e3
    );
    println!(
        "| `track` as a transaction | {:.3} ms | {:.2} |",
        tx.as_secs_f64() * 1e3,
        tx.as_secs_f64() / plain.as_secs_f64()
    );
}
