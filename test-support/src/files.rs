//! Trees of files, the system tools the tests call, and the example binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under the folder `dir` (at any depth), in no set order.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("read_dir {}: {err}", folder.display()));
        for entry in entries {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Every file under the folder `dir`: its path relative to `dir` (`/`
/// separators) and its bytes.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(dir).expect("under the folder");
            let relative = relative.to_string_lossy().replace('\\', "/");
            let bytes =
                std::fs::read(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
            (relative, bytes)
        })
        .collect()
}

/// A system tool a test needs (Info-ZIP `zip` or `unzip`): when it is
/// missing, the test fails and says how to install it.
pub fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "`{name}` is missing: run scripts/setup-system.sh (as root), which installs Info-ZIP zip and unzip"
    );
    Command::new(name)
}

/// Runs a command, asserting that it succeeds; gives its standard output.
pub fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The getting-started example binary, which `cargo test --workspace` builds
/// into `target/<profile>/examples/` beside the test binaries' `deps/`.
pub fn example_binary() -> PathBuf {
    example("getting_started", "dman")
}

/// The binary of the example `name` of the package `package`, which
/// `cargo test --workspace` builds into `target/<profile>/examples/` beside
/// the test binaries' `deps/`.
pub fn example(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let path = profile.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (or first \
         `cargo build -p {package} --example {name}`)",
        path.display()
    );
    path
}

/// Runs the example binary as a user runs it in the folder `dir` (made if
/// missing): with the example's source at `examples/patterns/common.rs`
/// below `dir` (a placeholder), so that its generator is Python's
/// `cache/examples:patterns:common`. Asserts that it succeeds; gives its
/// standard output.
pub fn run_example_in(dir: &Path) -> String {
    let source = dir.join("examples/patterns/common.rs");
    if !source.exists() {
        std::fs::create_dir_all(source.parent().expect("a folder"))
            .unwrap_or_else(|err| panic!("mkdir for {}: {err}", source.display()));
        std::fs::write(&source, "// placeholder\n")
            .unwrap_or_else(|err| panic!("write {}: {err}", source.display()));
    }
    run(pinned(&mut Command::new(example_binary()), dir))
}

/// Runs `command` in the folder `dir` (a test's temporary folder) with its
/// search for `.dman` pinned to `dir`: `DMAN_CEILING_DIRECTORIES` (see
/// `dman::CEILING_DIRECTORIES`) names `dir`'s parent, so a `.dman` above
/// the temporary folder is never found, used or cleared; without a `.dman`
/// in `dir`, a command that looks for one fails as it would for a user.
/// Every test that runs the example or `dman` without a location goes
/// through it.
pub fn pinned<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    let parent = dir
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent to pin the search below", dir.display()));
    assert!(
        parent.is_absolute(),
        "pin the search in an absolute folder, not {}",
        dir.display()
    );
    command
        .current_dir(dir)
        .env(dman::CEILING_DIRECTORIES, parent)
}

/// What the `disk_full_writer` example printed after running on a full
/// disk, and the folder it wrote to.
pub struct DiskFull {
    /// The 2 MiB tmpfs's mount point (empty again once the writer's mount
    /// namespace is gone).
    pub folder: tempfile::TempDir,
    /// Its standard output: the error and `disk_full: <bool>`.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs the `disk_full_writer` example with `mode` (`fs`: a write; `zip`: a
/// flush) on a 2 MiB tmpfs mounted in a user and mount namespace of its own
/// (`unshare -rm`, no root needed), so that the disk really fills. Asserts
/// that the writer ran.
pub fn on_a_full_disk(mode: &str) -> DiskFull {
    let folder = tempfile::tempdir().expect("temp dir");
    let output = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount -t tmpfs -o size=2m tmpfs "$1" && exec "$2" "$3" "$1""#,
            "sh",
        ])
        .arg(folder.path())
        .arg(example("disk_full_writer", "dman-test-support"))
        .arg(mode)
        .output()
        .expect("run unshare (util-linux) to mount a small tmpfs without root");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the writer in a namespace of its own failed (are unprivileged user \
         namespaces allowed here?): {stdout}{stderr}"
    );
    DiskFull {
        folder,
        stdout,
        stderr,
    }
}
