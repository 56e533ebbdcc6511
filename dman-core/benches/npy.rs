//! Writing and reading a 100 MB `f64` array as a `.npy` record file
//! (`Storable` for `Array2<f64>` through `dman_fs::FsBackend`) against
//! writing and reading the same bytes with `std::fs`.
//!
//! ```text
//! cargo bench -p dman-core --bench npy
//! ```
//!
//! `NPY_BENCH_DIR` sets the folder (default: a temporary folder under
//! `target/`, on the same disk as the build); `NPY_BENCH_REPS` the number
//! of repetitions (default 9). Prints the median and minimum of each step
//! and the ratio of the medians; results are kept in BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dman_core::numeric::ndarray::Array2;
use dman_core::{
    DecodeContext, EncodeContext, EncodeOptions, SavePlan, Storable, StorageBackend, StoragePath,
    Stored,
};
use dman_fs::FsBackend;

/// 12 500 x 1 000 f64: 100 000 000 bytes of data.
const ROWS: usize = 12_500;
const COLS: usize = 1_000;

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[derive(Default)]
struct Series {
    write: Vec<Duration>,
    read: Vec<Duration>,
    total: Vec<Duration>,
}

impl Series {
    fn push(&mut self, write: Duration, read: Duration) {
        self.write.push(write);
        self.read.push(read);
        self.total.push(write + read);
    }

    fn report(&mut self, name: &str) -> Duration {
        let total = median(&mut self.total);
        println!(
            "{name:<28} write {:>7.1} ms (min {:>6.1})   read {:>7.1} ms (min {:>6.1})   write+read {:>7.1} ms (min {:>6.1})",
            ms(median(&mut self.write)),
            ms(self.write[0]),
            ms(median(&mut self.read)),
            ms(self.read[0]),
            ms(total),
            ms(self.total[0]),
        );
        total
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::var("NPY_BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let parent = std::env::var_os("NPY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::tempdir_in(&parent)?;

    let array = Array2::from_shape_fn((ROWS, COLS), |(i, j)| (i * COLS + j) as f64 * 0.25);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let backend: Arc<dyn StorageBackend> = Arc::new(FsBackend::new(dir.path().join("dman"))?);
    let npy_path = StoragePath::parse("bench/array.npy")?;
    let std_path = dir.path().join("std.npy");
    let mut plan = SavePlan::new(backend.clone(), EncodeOptions::default());
    let decode = DecodeContext::new(backend.clone(), StoragePath::root());

    // The bytes std::fs writes: exactly those of the .npy file.
    let same_bytes = {
        let mut ctx = EncodeContext::new(&mut plan, StoragePath::root());
        array.to_stored(&mut ctx)?.into_bytes().to_vec()
    };
    println!(
        "array {ROWS} x {COLS} f64, file {} bytes, {reps} repetitions, folder {}",
        same_bytes.len(),
        dir.path().display()
    );

    let mut dman = Series::default();
    // The two halves of dman's times: the codec alone (encode; decode) and
    // the backend alone (write; read).
    let mut codec = Series::default();
    let mut storage = Series::default();
    let mut std_fs = Series::default();
    for rep in 0..=reps {
        // dman: encode + FsBackend write; FsBackend read + decode.
        let _ = std::fs::remove_file(backend_path(&dir, &npy_path));
        let start = Instant::now();
        let bytes = {
            let mut ctx = EncodeContext::new(&mut plan, StoragePath::root());
            array.to_stored(&mut ctx)?.into_bytes()
        };
        let encoded = start.elapsed();
        runtime.block_on(backend.write(&npy_path, bytes))?;
        let write = start.elapsed();
        let start = Instant::now();
        let bytes = runtime.block_on(backend.read(&npy_path))?;
        let fetched = start.elapsed();
        let back = Array2::<f64>::from_stored(Stored::Bytes(bytes), &decode)?;
        let read = start.elapsed();
        assert_eq!(back.dim(), (ROWS, COLS));
        assert_eq!(back[[ROWS - 1, COLS - 1]], array[[ROWS - 1, COLS - 1]]);
        drop(back);

        // std::fs on the same bytes.
        let _ = std::fs::remove_file(&std_path);
        let start = Instant::now();
        std::fs::write(&std_path, &same_bytes)?;
        let write_std = start.elapsed();
        let start = Instant::now();
        let read_back = std::fs::read(&std_path)?;
        let read_std = start.elapsed();
        assert_eq!(read_back.len(), same_bytes.len());
        drop(read_back);

        // The first round warms the page cache and the allocator.
        if rep > 0 {
            dman.push(write, read);
            codec.push(encoded, read - fetched);
            storage.push(write - encoded, fetched);
            std_fs.push(write_std, read_std);
        }
    }
    let dman_total = dman.report("dman (FsBackend + .npy)");
    let std_total = std_fs.report("std::fs (same bytes)");
    codec.report("  of dman: .npy codec");
    storage.report("  of dman: FsBackend");
    println!(
        "ratio of medians (write+read): {:.2}x",
        dman_total.as_secs_f64() / std_total.as_secs_f64()
    );
    Ok(())
}

fn backend_path(dir: &tempfile::TempDir, path: &StoragePath) -> PathBuf {
    let mut local = dir.path().join("dman");
    local.extend(path.segments());
    local
}
