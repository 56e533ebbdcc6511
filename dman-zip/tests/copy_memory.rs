//! Copying streams: a zip archive of a few hundred KiB holding a 384 MiB
//! entry (zeros, written by Python's `zipfile`) is copied into a folder by
//! a child process (the `copy_peak` example of the test-support crate),
//! whose peak resident memory (`VmHWM`) stays far below the entry's size.
//! Before `copy_tree` streamed, it held each entry whole (and 8 at once).

use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

use dman_test_support::files::example;
use dman_test_support::python;

const ENTRY: u64 = 384 << 20;

#[test]
fn copying_a_large_entry_holds_a_few_chunks_not_the_entry() {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("big.zip");
    python::run(&[
        "-c",
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", compression=zipfile.ZIP_DEFLATED) as archive:
    with archive.open("run/data.npy", "w", force_zip64=True) as entry:
        chunk = bytes(1 << 20)
        for _ in range(int(sys.argv[2]) >> 20):
            entry.write(chunk)
    archive.writestr("run/run.json", '{"ok": true}')
"#,
        archive.to_str().unwrap(),
        &ENTRY.to_string(),
    ]);
    let archive_size = std::fs::metadata(&archive).unwrap().len();
    assert!(
        archive_size < 4 << 20,
        "the archive is small: {archive_size}"
    );

    let dest = folder.path().join("copy");
    let output = Command::new(example("copy_peak", "dman-test-support"))
        .arg(&archive)
        .arg(&dest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| -> u64 {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(field("copied:"), ENTRY + 12);
    let peak = field("peak_kib:") << 10;
    assert!(
        peak < ENTRY / 4,
        "the copy's peak resident memory is {} MiB for a {} MiB entry",
        peak >> 20,
        ENTRY >> 20
    );

    let copied = dest.join("run/data.npy");
    let mut file = std::fs::File::open(&copied).unwrap();
    assert_eq!(file.metadata().unwrap().len(), ENTRY);
    let mut tail = [1u8; 4096];
    file.seek(SeekFrom::End(-4096)).unwrap();
    file.read_exact(&mut tail).unwrap();
    assert!(tail.iter().all(|&byte| byte == 0));
    assert_eq!(
        std::fs::read_to_string(dest.join("run/run.json")).unwrap(),
        r#"{"ok": true}"#
    );
    eprintln!(
        "copied {} MiB from a {} KiB archive with a peak of {} MiB",
        ENTRY >> 20,
        archive_size >> 10,
        peak >> 20
    );
}
