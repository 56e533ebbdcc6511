//! The writer that `dman-fs/tests/leftovers.rs` kills in the middle of a
//! streamed write: starts `write_stream` of `cache/big/data.npy` under
//! ROOT through `FsBackend`, sends one 1 MiB chunk, prints a line, and then
//! waits for its standard input to close (it never finishes the upload
//! unless it does).
//!
//! ```text
//! stream_writer ROOT
//! ```

use std::io::{BufRead, Write};

use bytes::Bytes;
use dman::{FsBackend, StorageBackend, StoragePath};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args_os()
        .nth(1)
        .ok_or("usage: stream_writer ROOT")?;
    let backend = FsBackend::new(root)?;
    let path = StoragePath::parse("cache/big/data.npy")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let mut upload = backend.write_stream(&path).await?;
        upload.put(Bytes::from(vec![7u8; 1 << 20])).await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "dman-stream-child: one chunk sent")?;
        stdout.flush()?;
        // Killed here. Should the parent close stdin instead, finish.
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        upload.finish().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
