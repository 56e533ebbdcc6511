//! Saving 200 runs to a local S3 server, writes issued concurrently and one
//! by one (issue 6).
//!
//! `cargo bench -p dman-benches --bench s3_save` starts s3s-fs in-process on
//! 127.0.0.1 (its files in the system's temporary folder: set `TMPDIR` to
//! choose the disk), saves an `MRuns` of 200 getting-started runs (a
//! `Config` and two `.npy` records of 20x1000 and 100x1000 float64, 960 kB
//! per run: 601 objects, 192 MB) with one `save`, through `Repo::with_concurrency(16)`
//! and `Repo::with_concurrency(1)`, each to a fresh key prefix, and prints
//! the best of `DMAN_BENCH_REPS` (default 3) times of each and their ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dman::{MRuns, Repo};
use dman_test_support::s3::S3sServer;
use dman_test_support::seed::{arrays, config, experiment, Config, Run};

fn runs(n: usize) -> MRuns<Run> {
    let (data, output) = arrays(&Config::default());
    let mut runs = experiment();
    for seed in 0..n as u64 {
        runs.push(Run {
            config: config(seed),
            data: Some(data.clone().into()),
            output: Some(output.clone().into()),
        });
    }
    runs
}

async fn save(server: &S3sServer, prefix: &str, concurrency: usize, n: usize) -> Duration {
    let backend = server
        .builder("bench")
        .prefix(prefix)
        .build()
        .unwrap_or_else(|err| panic!("backend: {err}"));
    let repo = Repo::new(Arc::new(backend))
        .with_generator("bench")
        .with_concurrency(concurrency);
    let runs = runs(n);
    let start = Instant::now();
    let report = repo
        .save("experiment", &runs)
        .await
        .unwrap_or_else(|err| panic!("save: {err}"));
    let elapsed = start.elapsed();
    drop(report);
    // Free the disk for the next repetition.
    let _ = std::fs::remove_dir_all(server.root().join("bench").join(prefix));
    elapsed
}

fn main() {
    let reps: usize = std::env::var("DMAN_BENCH_REPS")
        .ok()
        .and_then(|reps| reps.parse().ok())
        .unwrap_or(3)
        .max(1);
    let n = 200;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("runtime: {err}"));
    runtime.block_on(async {
        let server = S3sServer::start().await;
        server.create_bucket("bench");
        // A first save warms the connection pool and the page cache.
        save(&server, "warm-up", 16, 20).await;
        let mut concurrent = Duration::MAX;
        let mut sequential = Duration::MAX;
        for rep in 0..reps {
            let c = save(&server, &format!("concurrent-{rep}"), 16, n).await;
            let s = save(&server, &format!("sequential-{rep}"), 1, n).await;
            println!(
                "rep {rep}: concurrency 16 {:.3} s, concurrency 1 {:.3} s",
                c.as_secs_f64(),
                s.as_secs_f64()
            );
            concurrent = concurrent.min(c);
            sequential = sequential.min(s);
        }
        println!("save of {n} runs (601 objects, 192 MB) to s3s-fs on 127.0.0.1, best of {reps}:");
        println!("  writes 16 at a time:  {:.3} s", concurrent.as_secs_f64());
        println!("  writes one by one:    {:.3} s", sequential.as_secs_f64());
        println!(
            "  ratio one-by-one / concurrent: {:.2}",
            sequential.as_secs_f64() / concurrent.as_secs_f64()
        );
    });
}
