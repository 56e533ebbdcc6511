//! A writer killed at random moments leaves the old content or the new:
//! never a mix, an empty file or no file.
//!
//! The writer is the `fs_crash_writer` example of the test-support crate,
//! a process of its own: it writes two uniform 8 MiB versions in turn to
//! one path and prints a line after each completed write; the parent reads
//! a random number of those lines, kills the child with SIGKILL and checks
//! the file through a fresh backend.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath};
use dman_fs::{FsBackend, TEMP_PREFIX};
use dman_test_support::files::example;
use rand::Rng;

/// The size of each version.
const SIZE: usize = 8 * 1024 * 1024;
/// How many times the writer is killed.
const KILLS: usize = 60;
/// The upper bound of the random delay between reading the child's lines
/// and killing it, in microseconds.
const JITTER_MICROS: u64 = 8_000;
/// What the child prints after each completed write.
const WRITTEN: &str = "dman-crash-child: written";

fn key() -> StoragePath {
    StoragePath::parse("cache/crash/key.npy").unwrap()
}

/// Kills the child when dropped, should the parent panic first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_writer_leaves_old_or_new_content() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    {
        let backend = FsBackend::new(&root).unwrap();
        runtime
            .block_on(backend.write(&key(), Bytes::from(vec![b'i'; SIZE])))
            .unwrap();
    }
    let whole: Vec<Vec<u8>> = [b'i', b'a', b'b']
        .iter()
        .map(|&byte| vec![byte; SIZE])
        .collect();
    let mut rng = rand::thread_rng();
    let mut completed_writes = 0;
    let mut temp_files_left = 0;

    for kill in 0..KILLS {
        let before = std::fs::read(root.join("cache/crash/key.npy")).unwrap();
        let mut child = KillOnDrop(
            Command::new(example("fs_crash_writer", "dman-test-support"))
                .arg(&root)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap());
        let wanted = rng.gen_range(0..4);
        let mut seen = 0;
        let mut line = String::new();
        while seen < wanted {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                let _ = child.0.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("kill {kill}: the child stopped after {seen} writes, before being killed:\n{stderr}");
            }
            if line.contains(WRITTEN) {
                seen += 1;
            }
        }
        // Vary the moment of the kill across the next write (one takes a
        // few milliseconds): this jitter is not a synchronisation, the
        // checks hold wherever the kill lands.
        let jitter = Instant::now() + Duration::from_micros(rng.gen_range(0..JITTER_MICROS));
        while Instant::now() < jitter {
            std::hint::spin_loop();
        }
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        assert!(
            !status.success(),
            "kill {kill}: the child finished instead of being killed"
        );
        completed_writes += seen;

        // A fresh backend finds one whole version.
        let backend = FsBackend::new(&root).unwrap();
        let data = runtime
            .block_on(backend.read(&key()))
            .unwrap_or_else(|err| panic!("kill {kill}: the file is gone: {err}"));
        assert_eq!(data.len(), SIZE, "kill {kill}: the file has a wrong size");
        let version = whole.iter().position(|version| data == version[..]);
        let Some(version) = version else {
            let first = data[0];
            let mixed_at = data.iter().position(|&byte| byte != first).unwrap_or(SIZE);
            panic!(
                "kill {kill}: the file mixes versions: {:?} up to byte {mixed_at}, then {:?}",
                first as char, data[mixed_at] as char
            );
        };
        // The child only writes `a` and `b`: the initial `i` stays until the
        // first completed write and never comes back.
        if version == 0 {
            assert_eq!(
                before[0], b'i',
                "kill {kill}: the initial version came back"
            );
            assert_eq!(
                seen, 0,
                "kill {kill}: a write completed, yet the initial version remains"
            );
        }

        // The listing shows the one file, never a temporary one.
        let listed = runtime
            .block_on(backend.list(&StoragePath::root()))
            .unwrap();
        let paths: Vec<_> = listed
            .iter()
            .map(|meta| (meta.path.as_str(), meta.size))
            .collect();
        assert_eq!(paths, [("cache/crash/key.npy", SIZE as u64)], "kill {kill}");

        // Temporary files of interrupted writes may remain on disk; remove
        // them so that the disk does not fill up.
        for entry in std::fs::read_dir(root.join("cache/crash")).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                temp_files_left += 1;
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
    }
    eprintln!(
        "{KILLS} kills after {completed_writes} writes seen complete; \
         {temp_files_left} interrupted writes left a temporary file"
    );
}
