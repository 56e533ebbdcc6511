//! Writes more than fits into DIR, which the test mounted as a small
//! file system, through the backend KIND (`fs`: a folder backend at DIR;
//! `zip`: the archive `DIR/archive.zip`, flushed), and prints what the
//! error says and whether it is a full disk:
//!
//! ```text
//! disk_full_writer fs|zip DIR
//! error: <the error and its sources>
//! disk_full: true
//! ```

use bytes::Bytes;
use dman::{FsBackend, StorageBackend, StoragePath, ZipBackend};
use rand::RngCore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: disk_full_writer fs|zip DIR".into());
    };
    // Random bytes: they do not compress, so the archive is as large.
    let mut data = vec![0u8; 4 << 20];
    rand::thread_rng().fill_bytes(&mut data);
    let path = StoragePath::parse("cache/full/data.npy")?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let result = runtime.block_on(async {
        match kind.as_str() {
            "fs" => {
                let backend = FsBackend::new(&dir)?;
                backend.write(&path, Bytes::from(data)).await
            }
            "zip" => {
                let backend = ZipBackend::create(std::path::Path::new(&dir).join("archive.zip"))?;
                backend.write(&path, Bytes::from(data)).await?;
                backend.flush().await
            }
            other => panic!("unknown backend kind {other}"),
        }
    });
    match result {
        Ok(()) => println!("written"),
        Err(err) => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                text.push_str(" | ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            println!("error: {text}");
            println!("disk_full: {}", err.is_disk_full());
        }
    }
    Ok(())
}
