//! A writer killed at random moments leaves the last acknowledged version
//! or the one after it: never an older one, a mix, an empty file or no
//! file.
//!
//! The writer is the `fs_crash_writer` example of the test-support crate,
//! a process of its own: it writes sequence-stamped 8 MiB versions (N, the
//! 8-byte number repeated) to one path, each one after what the file holds,
//! and prints N after each completed write; the parent reads a random
//! number of those lines, kills the child with SIGKILL after a random
//! delay, reads what else it printed, and checks the file through a fresh
//! backend: it holds the last printed N or N + 1 (written, not yet
//! printed), so a lost acknowledged write is seen.

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

/// Version `sequence`, as the writer makes it.
fn version(sequence: u64) -> Vec<u8> {
    sequence.to_le_bytes().repeat(SIZE / 8)
}

/// The sequence number of a whole version, or where `data` stops being one.
fn sequence_of(data: &[u8]) -> Result<u64, String> {
    if data.len() != SIZE {
        return Err(format!("{} bytes, not {SIZE}", data.len()));
    }
    let first = &data[..8];
    match data.chunks(8).position(|word| word != first) {
        None => Ok(u64::from_le_bytes(first.try_into().expect("8 bytes"))),
        Some(word) => Err(format!(
            "a mix: version {:?} up to byte {}, then {:?}",
            first,
            word * 8,
            &data[word * 8..word * 8 + 8]
        )),
    }
}

#[test]
fn a_killed_writer_keeps_the_last_acknowledged_write() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    {
        let backend = FsBackend::new(&root).unwrap();
        runtime
            .block_on(backend.write(&key(), Bytes::from(version(0))))
            .unwrap();
    }
    let mut rng = rand::thread_rng();
    // The newest version the file held after a kill, and the newest the
    // child acknowledged.
    let mut held = 0u64;
    let mut acknowledged_writes = 0;
    let mut unacknowledged_kept = 0;
    let mut temp_files_left = 0;

    for kill in 0..KILLS {
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
        let mut acknowledged = held;
        let mut acknowledge = |line: &str, acknowledged: &mut u64| {
            if let Some(sequence) = line.trim().strip_prefix(WRITTEN) {
                let sequence: u64 = sequence.trim().parse().expect("a sequence number");
                assert_eq!(
                    sequence,
                    *acknowledged + 1,
                    "kill {kill}: the child acknowledged {sequence} after {acknowledged}"
                );
                *acknowledged = sequence;
                acknowledged_writes += 1;
            }
        };
        let wanted = rng.gen_range(0..4);
        let mut line = String::new();
        while acknowledged < held + wanted {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                let _ = child.0.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("kill {kill}: the child stopped after writing {acknowledged}, before being killed:\n{stderr}");
            }
            acknowledge(&line, &mut acknowledged);
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
        // What the child acknowledged after the lines read above, before
        // the kill landed: the pipe holds it until read.
        for line in lines.lines() {
            acknowledge(&line.unwrap(), &mut acknowledged);
        }

        // A fresh backend finds one whole version: the last acknowledged
        // or the one after it (written, killed before it said so).
        let backend = FsBackend::new(&root).unwrap();
        let data = runtime
            .block_on(backend.read(&key()))
            .unwrap_or_else(|err| panic!("kill {kill}: the file is gone: {err}"));
        let found = sequence_of(&data).unwrap_or_else(|err| panic!("kill {kill}: {err}"));
        assert!(
            found == acknowledged || found == acknowledged + 1,
            "kill {kill}: the file holds version {found}, but the child acknowledged {acknowledged}"
        );
        if found == acknowledged + 1 {
            unacknowledged_kept += 1;
        }
        held = found;

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
        "{KILLS} kills after {acknowledged_writes} acknowledged writes (version {held} last); \
         {unacknowledged_kept} kills kept a write not yet acknowledged; \
         {temp_files_left} interrupted writes left a temporary file"
    );
    assert!(acknowledged_writes > 0, "the child acknowledged no write");
}
