//! A full disk at a flush, for real: the `disk_full_writer` example of the
//! test-support crate flushes a 4 MiB archive into a 2 MiB tmpfs, mounted
//! in a user and mount namespace of its own (`unshare -rm`, no root
//! needed). The error names the archive, says the disk is full and keeps
//! the I/O error; nothing is printed to stderr (the zip crate's writer,
//! dropped after the error, used to print "ZipWriter drop failed").

use std::process::Command;

use dman_test_support::files::example;

#[test]
fn a_full_disk_at_a_flush_names_the_archive_and_prints_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount -t tmpfs -o size=2m tmpfs "$1" && exec "$2" zip "$1""#,
            "sh",
        ])
        .arg(folder.path())
        .arg(example("disk_full_writer", "dman-test-support"))
        .output()
        .expect("run unshare (util-linux) to mount a small tmpfs without root");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the writer in a namespace of its own failed (are unprivileged user \
         namespaces allowed here?): {stdout}{stderr}"
    );
    assert!(stdout.contains("disk_full: true"), "{stdout}");
    let archive = folder.path().join("archive.zip");
    assert!(
        stdout.contains(&format!("cannot write the archive `{}`", archive.display())),
        "{stdout}"
    );
    assert!(stdout.contains("the disk is full"), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert!(!stdout.contains("i/o error"), "{stdout}");
    assert_eq!(stderr, "", "nothing on stderr");
}
