//! A full disk, for real: the `disk_full_writer` example of the
//! test-support crate writes 4 MiB into a 2 MiB tmpfs
//! ([`on_a_full_disk`]). The error says the disk is full and keeps the I/O
//! error.

use dman_test_support::files::on_a_full_disk;

#[test]
fn a_full_disk_is_said_in_words_and_keeps_its_kind() {
    let run = on_a_full_disk("fs");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert!(stdout.contains("disk_full: true"), "{stdout}{stderr}");
    assert!(stdout.contains("the disk is full"), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert!(stdout.contains("cache/full/data.npy"), "{stdout}");
    // The error names the backend.
    assert!(stdout.starts_with("error: file://"), "{stdout}");
}
