//! The writer that `dman-zip/tests/crash.rs` kills: flushes one state after
//! another into the zip archive ARCHIVE (which holds state N, see
//! below), printing `flushed N` after each completed flush.
//!
//! ```text
//! zip_crash_writer ARCHIVE
//! ```
//!
//! State N is: `state.txt` holding N; `log/K.txt` holding `entry K` for
//! every K from 0 to N (one more each flush); `big.bin`, 2 MiB of the
//! 8-byte little-endian N repeated (so that each flush rewrites a few MiB
//! and a kill often lands inside one).

use std::io::Write;

use bytes::Bytes;
use dman::{StorageBackend, StoragePath, ZipBackend};

/// The size of `big.bin`.
const BIG: usize = 2 * 1024 * 1024;
/// It stops by itself after this many flushes, should the parent fail to
/// kill it.
const FLUSHES: u64 = 2_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let archive = std::env::args_os()
        .nth(1)
        .ok_or("usage: zip_crash_writer ARCHIVE")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let zip = ZipBackend::open(archive)?;
    let state = runtime.block_on(zip.read(&StoragePath::parse("state.txt")?))?;
    let state: u64 = std::str::from_utf8(&state)?.trim().parse()?;
    let mut stdout = std::io::stdout();
    for sequence in state + 1..=state + FLUSHES {
        runtime.block_on(async {
            zip.write(
                &StoragePath::parse(&format!("log/{sequence}.txt"))?,
                Bytes::from(format!("entry {sequence}")),
            )
            .await?;
            zip.write(
                &StoragePath::parse("big.bin")?,
                Bytes::from(sequence.to_le_bytes().repeat(BIG / 8)),
            )
            .await?;
            zip.write(
                &StoragePath::parse("state.txt")?,
                Bytes::from(sequence.to_string()),
            )
            .await?;
            zip.flush().await?;
            Ok::<(), Box<dyn std::error::Error>>(())
        })?;
        writeln!(stdout, "flushed {sequence}")?;
        stdout.flush()?;
    }
    Ok(())
}
