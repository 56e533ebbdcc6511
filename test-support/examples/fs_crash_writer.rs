//! The writer that `dman-fs/tests/crash.rs` kills: writes two uniform
//! 8 MiB versions in turn to `cache/crash/key.npy` under ROOT through
//! `FsBackend`, printing a line after each completed write.
//!
//! ```text
//! fs_crash_writer ROOT
//! ```

use std::io::Write;

use bytes::Bytes;
use dman::{FsBackend, StorageBackend, StoragePath};

/// The size of each version.
const SIZE: usize = 8 * 1024 * 1024;
/// It stops by itself after this many writes, should the parent fail to
/// kill it.
const WRITES: usize = 2_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args_os()
        .nth(1)
        .ok_or("usage: fs_crash_writer ROOT")?;
    let backend = FsBackend::new(root)?;
    let key = StoragePath::parse("cache/crash/key.npy")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let versions = [Bytes::from(vec![b'a'; SIZE]), Bytes::from(vec![b'b'; SIZE])];
    // Start with the version that differs from what is there, so that every
    // write changes the file.
    let current = std::fs::read(backend.local_path(&key)).unwrap_or_default();
    let mut next = usize::from(current.first() == Some(&b'a'));
    let mut stdout = std::io::stdout();
    for count in 0..WRITES {
        runtime.block_on(backend.write(&key, versions[next].clone()))?;
        writeln!(
            stdout,
            "dman-crash-child: written {count} {}",
            versions[next][0] as char
        )?;
        stdout.flush()?;
        next = 1 - next;
    }
    Ok(())
}
