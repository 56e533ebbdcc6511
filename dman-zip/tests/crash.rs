//! A writer flushing a zip archive, killed at random moments, leaves an
//! archive that opens, passes its checksums and holds the last flushed
//! state it acknowledged or the one after it: never an older one, never a
//! mix of two, never a corrupt archive.
//!
//! The writer is the `zip_crash_writer` example of the test-support crate,
//! a process of its own: each flush adds `log/N.txt`, replaces `big.bin`
//! (2 MiB stamped with N) and `state.txt` (N), then prints `flushed N`. The
//! parent reads a random number of those lines, kills the child with
//! SIGKILL after a random delay and checks the archive through a fresh
//! backend.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath};
use dman_test_support::files::example;
use dman_zip::{ZipBackend, TEMP_INFIX};
use rand::Rng;

/// How many times the writer is killed.
const KILLS: usize = 40;
/// The upper bound of the random delay before the kill, in microseconds
/// (a flush takes some milliseconds).
const JITTER_MICROS: u64 = 20_000;
/// The size of `big.bin`.
const BIG: usize = 2 * 1024 * 1024;

fn p(s: &str) -> StoragePath {
    StoragePath::parse(s).expect("path")
}

/// Kills the child when dropped, should the test panic first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Checks that the archive holds exactly state `n` (see the writer) or
/// panics; gives `n`.
async fn state_of(archive: &Path, kill: usize) -> u64 {
    let zip = ZipBackend::open(archive)
        .unwrap_or_else(|err| panic!("kill {kill}: the archive does not open: {err}"));
    let checked = zip
        .verify()
        .await
        .unwrap_or_else(|err| panic!("kill {kill}: the archive fails its checksums: {err}"));
    let text = zip
        .read(&p("state.txt"))
        .await
        .unwrap_or_else(|err| panic!("kill {kill}: no state: {err}"));
    let n: u64 = std::str::from_utf8(&text)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| panic!("kill {kill}: state.txt holds {text:?}"));
    let big = zip
        .read(&p("big.bin"))
        .await
        .unwrap_or_else(|err| panic!("kill {kill}: no big.bin: {err}"));
    assert!(
        big[..] == n.to_le_bytes().repeat(BIG / 8)[..],
        "kill {kill}: big.bin is not state {n}'s"
    );
    let logs = zip.list(&p("log")).await.expect("list log");
    let names: Vec<&str> = logs.iter().map(|meta| meta.path.as_str()).collect();
    let mut expected: Vec<String> = (0..=n).map(|k| format!("log/{k}.txt")).collect();
    expected.sort();
    assert_eq!(names, expected, "kill {kill}: the log of state {n}");
    for k in 0..=n {
        let entry = zip
            .read(&p(&format!("log/{k}.txt")))
            .await
            .expect("log entry");
        assert_eq!(
            &entry[..],
            format!("entry {k}").as_bytes(),
            "kill {kill}: log {k}"
        );
    }
    assert_eq!(checked, expected.len() + 2, "kill {kill}: stray entries");
    n
}

#[tokio::test]
async fn a_killed_flush_leaves_the_last_flushed_state_or_a_later_one() {
    let folder = tempfile::tempdir().expect("temp dir");
    let archive = folder.path().join("results.zip");
    {
        let zip = ZipBackend::create(&archive).expect("create");
        zip.write(&p("log/0.txt"), Bytes::from_static(b"entry 0"))
            .await
            .expect("write");
        zip.write(
            &p("big.bin"),
            Bytes::from(0u64.to_le_bytes().repeat(BIG / 8)),
        )
        .await
        .expect("write");
        zip.write(&p("state.txt"), Bytes::from_static(b"0"))
            .await
            .expect("write");
        zip.flush().await.expect("flush");
    }
    let mut rng = rand::thread_rng();
    let mut held = 0u64;
    let mut flushes = 0;
    let mut unacknowledged_kept = 0;
    let mut temp_files_left = 0;

    for kill in 0..KILLS {
        let mut child = KillOnDrop(
            Command::new(example("zip_crash_writer", "dman-test-support"))
                .arg(&archive)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the writer"),
        );
        let mut lines = BufReader::new(child.0.stdout.take().expect("stdout"));
        let mut acknowledged = held;
        let mut acknowledge = |line: &str, acknowledged: &mut u64| {
            if let Some(n) = line.trim().strip_prefix("flushed ") {
                let n: u64 = n.parse().expect("a state number");
                assert_eq!(
                    n,
                    *acknowledged + 1,
                    "kill {kill}: flushed {n} after {acknowledged}"
                );
                *acknowledged = n;
                flushes += 1;
            }
        };
        let wanted = rng.gen_range(0..3);
        let mut line = String::new();
        while acknowledged < held + wanted {
            line.clear();
            if lines.read_line(&mut line).expect("read a line") == 0 {
                let mut stderr = String::new();
                let _ = child
                    .0
                    .stderr
                    .take()
                    .expect("stderr")
                    .read_to_string(&mut stderr);
                panic!("kill {kill}: the writer stopped at {acknowledged}:\n{stderr}");
            }
            acknowledge(&line, &mut acknowledged);
        }
        // Not a synchronisation: the checks hold wherever the kill lands;
        // the delay spreads the kills over the flushes.
        let until = Instant::now() + Duration::from_micros(rng.gen_range(0..JITTER_MICROS));
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        child.0.kill().expect("kill");
        let status = child.0.wait().expect("reap");
        assert!(!status.success(), "kill {kill}: the writer was not killed");
        for line in lines.lines() {
            acknowledge(&line.expect("a line"), &mut acknowledged);
        }

        let found = state_of(&archive, kill).await;
        assert!(
            found == acknowledged || found == acknowledged + 1,
            "kill {kill}: the archive holds state {found}, but the writer acknowledged {acknowledged}"
        );
        if found == acknowledged + 1 {
            unacknowledged_kept += 1;
        }
        held = found;

        // A killed flush may leave its temporary file (`results.zip.tmp-*`)
        // beside the archive: count and remove them so the disk does not
        // fill up.
        for entry in std::fs::read_dir(folder.path()).expect("read_dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("results.zip{TEMP_INFIX}")) {
                temp_files_left += 1;
                std::fs::remove_file(entry.path()).expect("remove a temporary file");
            } else {
                assert_eq!(
                    name, "results.zip",
                    "kill {kill}: a stray file beside the archive"
                );
            }
        }
    }
    eprintln!(
        "{KILLS} kills after {flushes} acknowledged flushes (state {held} last); \
         {unacknowledged_kept} kills kept a flush not yet acknowledged; \
         {temp_files_left} killed flushes left a temporary file"
    );
    assert!(flushes > 0, "the writer acknowledged no flush");
}
