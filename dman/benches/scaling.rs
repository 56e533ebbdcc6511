//! How the cost of a save grows with the number of runs (issue 5).
//!
//! `cargo bench -p dman --bench scaling` saves 200 and 2000 runs of the
//! getting-started `Run` (arrays of 20x1000 and 100x1000 float64) to a
//! local folder in one save, then appends one run to the 2000 saved ones,
//! and prints the times and their ratios. Set `DMAN_BENCH_DIR` to choose the
//! disk (default: the system's temporary folder).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dman::ndarray::Array2;
use dman::{FsBackend, MRuns, Repo};
use dman_test_support::seed::{config, experiment, Run};

fn runs(n: usize, data: &Array2<f64>, output: &Array2<f64>) -> MRuns<Run> {
    let mut runs = experiment();
    for seed in 0..n {
        runs.push(run(seed as u64, data, output));
    }
    runs
}

fn run(seed: u64, data: &Array2<f64>, output: &Array2<f64>) -> Run {
    Run {
        config: config(seed),
        data: Some(data.clone().into()),
        output: Some(output.clone().into()),
    }
}

fn repo(dir: &std::path::Path) -> Repo {
    Repo::new(Arc::new(FsBackend::new(dir).expect("backend"))).with_generator("bench")
}

async fn best_of<F, Fut>(reps: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut best = Duration::MAX;
    for _ in 0..reps {
        best = best.min(f().await);
    }
    best
}

/// The same files written with plain `std::fs` from one thread: the npy
/// bytes prepared beforehand, as a save's encoding prepares them.
fn raw_write(
    dir: &std::path::Path,
    n: usize,
    data: &Array2<f64>,
    output: &Array2<f64>,
) -> Duration {
    let npy = |a: &Array2<f64>| {
        let mut header = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
            a.nrows(),
            a.ncols()
        );
        while (header.len() + 11) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for x in a.iter() {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes
    };
    let (d, o) = (npy(data), npy(output));
    let json = vec![b' '; 603];
    let start = Instant::now();
    for i in 0..n {
        let run = dir.join(format!("experiment/results/experiment-{i}"));
        std::fs::create_dir_all(&run).expect("mkdir");
        std::fs::write(run.join("a.npy"), &d).expect("write");
        std::fs::write(run.join("b.npy"), &o).expect("write");
        std::fs::write(run.join("experiment.json"), &json).expect("write");
    }
    std::fs::write(dir.join("experiment/experiment.json"), vec![b' '; 150 * n]).expect("write");
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let base = std::env::var_os("DMAN_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let data = Array2::from_shape_fn((20, 1000), |(i, j)| (i * 1000 + j) as f64 / 7.0);
    let output = Array2::from_shape_fn((100, 1000), |(i, j)| (i * 1000 + j) as f64 / 3.0);

    let mut times = Vec::new();
    for n in [200usize, 2000] {
        let reps = if n <= 200 { 3 } else { 2 };
        let t = best_of(reps, || async {
            let dir = tempfile::tempdir_in(&base).expect("temp dir");
            let value = runs(n, &data, &output);
            let repo = repo(dir.path());
            let start = Instant::now();
            repo.save("experiment", &value).await.expect("save");
            start.elapsed()
        })
        .await;
        let raw = best_of(reps, || async {
            let dir = tempfile::tempdir_in(&base).expect("temp dir");
            raw_write(dir.path(), n, &data, &output)
        })
        .await;
        println!(
            "save {n:>5} runs: {:>8.3} s  ({:.2} ms per run); raw std::fs writes of the same files: {:.3} s (ratio {:.2})",
            t.as_secs_f64(),
            t.as_secs_f64() * 1e3 / n as f64,
            raw.as_secs_f64(),
            t.as_secs_f64() / raw.as_secs_f64()
        );
        times.push((t, raw));
    }

    for n in [200usize, 2000] {
        let t = best_of(3, || async {
            let value = runs(n, &data, &output);
            let repo = Repo::new(Arc::new(dman::MemoryBackend::new())).with_generator("bench");
            let start = Instant::now();
            repo.save("experiment", &value).await.expect("save");
            start.elapsed()
        })
        .await;
        println!(
            "memory backend: save {n:>5} runs: {:>8.3} s",
            t.as_secs_f64()
        );
    }

    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    let repo = repo(dir.path());
    repo.save("experiment", &runs(2000, &data, &output))
        .await
        .expect("save");
    let append = best_of(3, || async {
        let start = Instant::now();
        repo.track("experiment", MRuns::new, async |r: &mut MRuns<Run>| {
            r.push(run(r.run_count(), &data, &output));
            Ok(())
        })
        .await
        .expect("append");
        start.elapsed()
    })
    .await;
    println!(
        "append 1 run to 2000 (track: load, push, save): {:.3} s",
        append.as_secs_f64()
    );
    println!(
        "ratio save(2000) / save(200) = {:.2} (linear: 10; bound: 11)",
        times[1].0.as_secs_f64() / times[0].0.as_secs_f64()
    );
    println!(
        "ratio raw(2000) / raw(200)   = {:.2} (what the disk itself does)",
        times[1].1.as_secs_f64() / times[0].1.as_secs_f64()
    );
    println!(
        "append / save(2000) = {:.2}% (bound: 5%)",
        100.0 * append.as_secs_f64() / times[1].0.as_secs_f64()
    );
}
