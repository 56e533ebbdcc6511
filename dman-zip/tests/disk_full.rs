//! A full disk at a flush, for real: the `disk_full_writer` example of the
//! test-support crate flushes a 4 MiB archive into a 2 MiB tmpfs
//! ([`on_a_full_disk`]). The error names the archive, says the disk is full
//! and keeps the I/O error; nothing is printed to stderr (the zip crate's
//! writer, dropped after the error, used to print "ZipWriter drop failed").

use dman_test_support::files::on_a_full_disk;

#[test]
fn a_full_disk_at_a_flush_names_the_archive_and_prints_nothing() {
    let run = on_a_full_disk("zip");
    let stdout = &run.stdout;
    assert!(stdout.contains("disk_full: true"), "{stdout}");
    let archive = run.folder.path().join("archive.zip");
    assert!(
        stdout.contains(&format!("cannot write the archive `{}`", archive.display())),
        "{stdout}"
    );
    assert!(stdout.contains("the disk is full"), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert!(!stdout.contains("i/o error"), "{stdout}");
    assert_eq!(run.stderr, "", "nothing on stderr");
}
