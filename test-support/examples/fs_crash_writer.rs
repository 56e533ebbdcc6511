//! The writer that `dman-fs/tests/crash.rs` kills: writes sequence-stamped
//! 8 MiB versions to `cache/crash/key.npy` under ROOT through `FsBackend`,
//! each the one after what the file holds, printing the sequence number of
//! each completed write.
//!
//! ```text
//! fs_crash_writer ROOT
//! ```
//!
//! Version N is the 8-byte little-endian N repeated ([`version`]): a whole
//! version has every word equal, and its number says how new it is.

use std::io::Write;

use bytes::Bytes;
use dman::{FsBackend, StorageBackend, StoragePath};

/// The size of each version.
const SIZE: usize = 8 * 1024 * 1024;
/// It stops by itself after this many writes, should the parent fail to
/// kill it.
const WRITES: u64 = 2_000;

/// Version `sequence`: its 8-byte little-endian number, repeated.
fn version(sequence: u64) -> Bytes {
    Bytes::from(sequence.to_le_bytes().repeat(SIZE / 8))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args_os()
        .nth(1)
        .ok_or("usage: fs_crash_writer ROOT")?;
    let backend = FsBackend::new(root)?;
    let key = StoragePath::parse("cache/crash/key.npy")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let current = runtime.block_on(backend.read(&key))?;
    let word: [u8; 8] = current
        .get(..8)
        .and_then(|word| word.try_into().ok())
        .ok_or("the file holds no version")?;
    let current = u64::from_le_bytes(word);
    let mut stdout = std::io::stdout();
    for sequence in current + 1..=current + WRITES {
        runtime.block_on(backend.write(&key, version(sequence)))?;
        writeln!(stdout, "dman-crash-child: written {sequence}")?;
        stdout.flush()?;
    }
    Ok(())
}
