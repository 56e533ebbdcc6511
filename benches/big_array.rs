//! Peak memory and time of saving and of loading one large `f64` array
//! (issue 17): dman-rs on a local folder and on S3, against plain `std::fs`
//! of the same `.npy` bytes, in one run. numpy's side is
//! `benches/python/big_array.py`; `scripts/bench.sh` runs both.
//!
//! ```sh
//! cargo bench -p dman-benches --bench big_array            # 2 GiB
//! DMAN_BENCH_BIG_MIB=256 cargo bench -p dman-benches --bench big_array
//! ```
//!
//! Each row is measured in a process of its own (this binary started again
//! with `--row NAME`), so that its peak resident memory (`VmHWM` of
//! `/proc/self/status`) is that row's alone: the array, what the operation
//! holds beside it, and the process's few MiB. The ratio is peak / array
//! size. The S3 rows talk to s3s-fs in this (parent) process, so the
//! server's memory is not counted; they save with a multipart upload (see
//! `run_row`), an array of at most 1 GiB (`S3_MAX_MIB`). Files go to `DMAN_BENCH_DIR` (default
//! the system's temporary folder) and are removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use dman::ndarray::Array1;
use dman::{FsBackend, Record, Repo, StorageBackend};
use dman_test_support::s3::S3sServer;
use ndarray_npy::WriteNpyExt;

/// The rows, in the order they run: each saving row before its loading row
/// (which reads what it wrote).
const ROWS: [&str; 6] = [
    "raw-save", "raw-load", "fs-save", "fs-load", "s3-save", "s3-load",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--row") {
        let row = args.get(at + 1).expect("--row NAME");
        let dir = PathBuf::from(args.get(at + 2).expect("--row NAME DIR"));
        let endpoint = args.get(at + 3).cloned();
        run_row(row, &dir, endpoint.as_deref());
        return;
    }
    let mib = mib();
    let base = std::env::var_os("DMAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base).expect("bench folder");
    let dir = tempfile::tempdir_in(&base).expect("temporary folder");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // s3s-fs keeps a bucket as a folder of its root.
    std::fs::create_dir_all(dir.path().join("s3/bench")).expect("bucket folder");
    let server = runtime.block_on(S3sServer::start_in(dir.path().join("s3")));
    println!("| row | seconds | peak resident MiB | peak / array |");
    println!("|---|---|---|---|");
    let exe = std::env::current_exe().expect("this bench's path");
    for row in ROWS {
        let output = Command::new(&exe)
            .args(["--row", row])
            .arg(dir.path())
            .arg(server.endpoint())
            .env("DMAN_BENCH_BIG_MIB", mib.to_string())
            .output()
            .expect("start a row");
        assert!(
            output.status.success(),
            "row {row} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
    drop(server);
}

/// The size of the array in MiB (`DMAN_BENCH_BIG_MIB`, default 2048).
fn mib() -> usize {
    std::env::var("DMAN_BENCH_BIG_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
}

/// The S3 rows' array is at most 1 GiB: s3s-fs answers a multipart upload
/// of 2 GiB with an internal error past its 230th part (of 8 MiB).
const S3_MAX_MIB: usize = 1024;

/// The array of a row: `mib` MiB of f64, every page touched.
fn array(mib: usize) -> Array1<f64> {
    Array1::from_shape_fn(mib * 1024 * 1024 / 8, |i| i as f64)
}

/// A field of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`).
fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = text
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a size in kB");
    kib * 1024
}

/// Starts the peak over: `VmHWM` becomes the current resident size.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak (Linux clear_refs)");
}

fn report(row: &str, seconds: f64, size: u64) {
    let peak = status("VmHWM:");
    println!(
        "| {row} ({} MiB) | {seconds:.2} | {:.0} | {:.3} |",
        size >> 20,
        peak as f64 / 1048576.0,
        peak as f64 / size as f64
    );
}

fn run_row(row: &str, dir: &Path, endpoint: Option<&str>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let repo = |backend: Arc<dyn StorageBackend>| Repo::new(backend).with_generator("bench");
    let folder = || -> Arc<dyn StorageBackend> {
        Arc::new(FsBackend::new(dir.join("fs")).expect("folder backend"))
    };
    let s3 = || -> Arc<dyn StorageBackend> {
        let endpoint = endpoint.expect("the S3 endpoint");
        // Without conditional writes the array goes up as a multipart
        // upload (8 MiB parts sliced from its memory), as any file past
        // 16 MiB does; a conditional create is one PUT, which s3s-fs
        // refuses at 2 GiB.
        let backend = dman_test_support::s3::builder(endpoint, "bench")
            .conditional_writes(false)
            .build()
            .expect("S3 backend");
        Arc::new(backend)
    };
    let raw = dir.join("raw.npy");
    match row {
        "raw-save" => {
            let array = array(mib());
            let size = (array.len() * 8) as u64;
            reset_peak();
            let start = Instant::now();
            // numpy's bytes with plain calls: ndarray-npy writes the header
            // and then the array's memory, unbuffered.
            let file = std::fs::File::create(&raw).expect("create");
            array.write_npy(file).expect("write");
            report(row, start.elapsed().as_secs_f64(), size);
        }
        "raw-load" => {
            let size = std::fs::metadata(&raw).expect("raw file").len();
            reset_peak();
            let start = Instant::now();
            let bytes = std::fs::read(&raw).expect("read");
            report(row, start.elapsed().as_secs_f64(), size);
            drop(bytes);
        }
        "fs-save" | "s3-save" => {
            let (store, mib) = if row == "fs-save" {
                (folder(), mib())
            } else {
                (s3(), mib().min(S3_MAX_MIB))
            };
            let record = Record::new(array(mib));
            let size = (record.loaded().map_or(0, Array1::len) * 8) as u64;
            reset_peak();
            let start = Instant::now();
            runtime
                .block_on(repo(store).save("big", &record))
                .expect("save");
            report(row, start.elapsed().as_secs_f64(), size);
        }
        "fs-load" | "s3-load" => {
            let store = if row == "fs-load" { folder() } else { s3() };
            let repo = repo(store);
            reset_peak();
            let start = Instant::now();
            let size = runtime.block_on(async {
                let record: Record<Array1<f64>> = repo.load("big").await.expect("load");
                let array = record.get().await.expect("the array");
                (array.len() * 8) as u64
            });
            report(row, start.elapsed().as_secs_f64(), size);
        }
        other => panic!("unknown row {other}"),
    }
}
