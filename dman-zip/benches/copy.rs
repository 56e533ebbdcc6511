//! Copying a 500 MB tree into a zip archive: `copy_tree` from a local
//! folder into a `ZipBackend`, against Info-ZIP's `zip -r -q` of the same
//! folder, with deflate (level 6 both) and with no compression (`-0`).
//!
//! ```text
//! cargo bench -p dman-zip --bench copy
//! DMAN_BENCH_DIR=/dev/shm cargo bench -p dman-zip --bench copy   # on tmpfs
//! DMAN_BENCH_FILES=100 cargo bench -p dman-zip --bench copy      # a smaller tree
//! DMAN_BENCH_THREADS=1 cargo bench -p dman-zip --bench copy      # compress on one thread
//! ```
//!
//! The tree is 500 files of 1 MiB (text of numbers, which deflates to about
//! 45 %) in nested folders, read once before the timings so that both sides
//! find it in the page cache. Each side runs three times, alternating; the
//! best time counts. Our time includes the flush, which syncs the archive
//! to the disk before renaming it into place (`zip` does not sync).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dman_core::copy::copy_tree;
use dman_core::StoragePath;
use dman_fs::FsBackend;
use dman_test_support::files::walk;
use dman_zip::{CompressionMethod, ZipBackend};
use rand::{Rng, SeedableRng};

const MIB: usize = 1 << 20;
const ROUNDS: usize = 3;

fn main() {
    let files: usize = std::env::var("DMAN_BENCH_FILES")
        .ok()
        .and_then(|files| files.parse().ok())
        .unwrap_or(500);
    let base = std::env::var_os("DMAN_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let work = tempfile::tempdir_in(&base).expect("temp dir");
    let tree = work.path().join("tree");
    let total = make_tree(&tree, files);
    let mut warm = 0;
    for file in walk(&tree) {
        warm += std::fs::read(file).expect("read").len();
    }
    assert_eq!(warm, total);
    println!(
        "tree: {files} files, {:.0} MB, in {}",
        total as f64 / 1e6,
        work.path().display()
    );

    // The blocking pool is where entries are compressed: one thread there
    // compares the compressors alone, without the parallelism.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = std::env::var("DMAN_BENCH_THREADS")
        .ok()
        .and_then(|threads| threads.parse().ok())
    {
        builder
            .worker_threads(threads)
            .max_blocking_threads(threads);
        println!("runtime: {threads} worker and {threads} blocking thread(s)");
    }
    let runtime = builder.enable_all().build().expect("runtime");
    for (label, method, flag) in [
        ("deflate", CompressionMethod::Deflated, None),
        ("stored", CompressionMethod::Stored, Some("-0")),
    ] {
        let ours_path = work.path().join(format!("ours-{label}.zip"));
        let theirs_path = work.path().join(format!("zip-{label}.zip"));
        let mut ours = Vec::new();
        let mut flushes = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..ROUNDS {
            let _ = std::fs::remove_file(&ours_path);
            let (time, flush) = runtime.block_on(copy_into_archive(&tree, &ours_path, method));
            ours.push(time);
            flushes.push(flush);

            let _ = std::fs::remove_file(&theirs_path);
            let start = Instant::now();
            let mut zip = Command::new("zip");
            zip.current_dir(&tree).args(["-r", "-q"]);
            if let Some(flag) = flag {
                zip.arg(flag);
            }
            let status = zip.arg(&theirs_path).arg(".").status().expect("run zip");
            assert!(status.success(), "zip -r failed");
            theirs.push(start.elapsed());
        }
        for archive in [&ours_path, &theirs_path] {
            let status = Command::new("unzip")
                .args(["-t", "-qq"])
                .arg(archive)
                .status()
                .expect("run unzip");
            assert!(status.success(), "unzip -t {}", archive.display());
        }
        let best = |times: &[Duration]| times.iter().min().copied().unwrap_or_default();
        let (ours_best, theirs_best) = (best(&ours), best(&theirs));
        let flush = flushes[ours.iter().position(|time| *time == ours_best).unwrap_or(0)];
        let size = |path: &Path| std::fs::metadata(path).expect("archive").len() as f64 / 1e6;
        println!(
            "| {label} | {:.2} s (flush {:.2} s) | {:.2} s | **{:.2}** | {:.0} MB / {:.0} MB |",
            ours_best.as_secs_f64(),
            flush.as_secs_f64(),
            theirs_best.as_secs_f64(),
            ours_best.as_secs_f64() / theirs_best.as_secs_f64(),
            size(&ours_path),
            size(&theirs_path),
        );
        println!("    ours: {ours:?}\n    zip:  {theirs:?}");
    }
}

/// `copy_tree` from the folder into a new archive; gives the whole time and
/// the time after the last file was staged (the flush).
async fn copy_into_archive(
    tree: &Path,
    archive: &Path,
    method: CompressionMethod,
) -> (Duration, Duration) {
    let start = Instant::now();
    let from = FsBackend::new(tree).expect("tree");
    let to = ZipBackend::builder(archive)
        .compression(method)
        .create()
        .expect("archive");
    let mut staged = start;
    let root = StoragePath::root();
    copy_tree(&from, &root, &to, &root, |_| staged = Instant::now())
        .await
        .expect("copy_tree");
    let end = Instant::now();
    (end - start, end - staged)
}

/// Writes `files` files of 1 MiB of text numbers under `dir`, in nested
/// folders; gives the total size.
fn make_tree(dir: &Path, files: usize) -> usize {
    let mut rng = rand::rngs::StdRng::seed_from_u64(500);
    // A pool of text, from which each file takes a different stretch.
    let mut pool = String::with_capacity(8 * MIB);
    while pool.len() < 8 * MIB {
        let x: f64 = rng.gen::<f64>() * 200.0 - 100.0;
        let _ = write!(pool, "{x:.4}");
        pool.push(if rng.gen_ratio(1, 10) { '\n' } else { ',' });
    }
    let pool = pool.into_bytes();
    let mut total = 0;
    for index in 0..files {
        let folder = dir
            .join(format!("run-{:02}", index % 25))
            .join(format!("part-{}", index % 4));
        std::fs::create_dir_all(&folder).expect("mkdir");
        let start = rng.gen_range(0..pool.len() - MIB);
        std::fs::write(
            folder.join(format!("array-{index:03}.csv")),
            &pool[start..start + MIB],
        )
        .expect("write");
        total += MIB;
    }
    total
}
