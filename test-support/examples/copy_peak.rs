//! Copies the tree of the zip archive ZIP into the folder DEST with
//! `copy_tree`, then prints how many bytes it copied and the peak resident
//! memory of this process (`VmHWM` of /proc/self/status), for
//! `dman-zip/tests/copy_memory.rs`:
//!
//! ```text
//! copy_peak ZIP DEST
//! copied: <bytes>
//! peak_kib: <KiB>
//! ```

use dman::core::copy::copy_tree;
use dman::{FsBackend, StoragePath, ZipBackend};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(zip), Some(dest)) = (args.next(), args.next()) else {
        return Err("usage: copy_peak ZIP DEST".into());
    };
    let from = ZipBackend::builder(zip).root("").open()?;
    let to = FsBackend::new(dest)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let root = StoragePath::root();
    let copied = runtime.block_on(copy_tree(&from, &root, &to, &root, |_| {}))?;
    println!("copied: {}", copied.bytes);
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kib: u64 = peak.trim().trim_end_matches("kB").trim().parse()?;
    println!("peak_kib: {kib}");
    Ok(())
}
