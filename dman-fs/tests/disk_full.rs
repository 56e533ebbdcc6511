//! A full disk, for real: the `disk_full_writer` example of the
//! test-support crate writes 4 MiB into a 2 MiB tmpfs, mounted in a user
//! and mount namespace of its own (`unshare -rm`, no root needed). The
//! error says the disk is full and keeps the I/O error.

use std::process::Command;

use dman_test_support::files::example;

#[test]
fn a_full_disk_is_said_in_words_and_keeps_its_kind() {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount -t tmpfs -o size=2m tmpfs "$1" && exec "$2" fs "$1""#,
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
    assert!(stdout.contains("disk_full: true"), "{stdout}{stderr}");
    assert!(stdout.contains("the disk is full"), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert!(stdout.contains("cache/full/data.npy"), "{stdout}");
    // The error names the backend.
    assert!(stdout.starts_with("error: file://"), "{stdout}");
}
