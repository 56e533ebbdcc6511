//! The resume check on the memory backend, alone, for profiling (issue 17):
//! one experiment of N runs with 1x1 arrays is saved, then the resume check
//! of `compare` (load the experiment, read every run file, compare every
//! config with an absent one) runs R times, and the best time per run file
//! is printed.
//!
//! ```text
//! cargo bench -p dman-benches --bench resume_probe -- [N] [R]
//! valgrind --tool=callgrind target/release/deps/resume_probe-* 500 3
//! ```

use std::time::{Duration, Instant};

use dman::ndarray::Array2;
use dman::{MRuns, MemoryBackend, Repo};
use dman_test_support::seed::{config, experiment, Run};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let repo = Repo::new(std::sync::Arc::new(MemoryBackend::new()));
        let mut runs = experiment();
        for seed in 0..n as u64 {
            runs.push(Run {
                config: config(seed),
                data: Some(Array2::<f64>::zeros((1, 1)).into()),
                output: Some(Array2::<f64>::zeros((1, 1)).into()),
            });
        }
        repo.save("experiment", &runs).await.expect("save");
        let absent = config(u64::MAX);
        let mut best = Duration::MAX;
        for _ in 0..reps {
            let start = Instant::now();
            let runs: MRuns<Run> = repo.load("experiment").await.expect("load");
            let found = runs
                .contents()
                .await
                .expect("runs")
                .iter()
                .any(|r| r.config == absent);
            best = best.min(start.elapsed());
            assert!(!found && runs.len() == n);
        }
        println!(
            "resume check, memory, N={n}: best {:.2} ms, {:.2} µs per run file",
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e6 / n as f64
        );
    });
}
