//! Issue 18, point 2: every path argument takes what a person types — a
//! path relative to the working directory, an absolute path inside the
//! root, a leading `.dman/`, a key's name — and a folder or an array is
//! answered with what it is, not "no file" or "invalid UTF-8".

use std::path::Path;
use std::process::{Command, Output};

use dman_test_support::files::pinned;
use dman_test_support::fixture::getting_started_workspace;

mod common;
use common::{both, dman, stderr, stdout};

/// `dman ARGS` run in `cwd`, a folder inside `workspace` (the test's
/// temporary folder), its search for `.dman` pinned to `workspace`.
fn dman_inside(workspace: &Path, cwd: &Path, args: &[&str]) -> Output {
    pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), workspace)
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run dman")
}

#[test]
fn show_takes_the_paths_a_shell_gives() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    // What tab completion gives from the workspace.
    let o = dman(ws, &["show", ".dman/demo/config.json"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(stdout(&o).contains("\"seed\": 1234"), "{}", both(&o));

    // Inside `.dman/demo`, the file's own name.
    let demo = ws.join(".dman/demo");
    let o = dman_inside(ws, &demo, &["show", "config.json"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        stdout(&o).contains("\"_ser__type\": \"config\""),
        "{}",
        both(&o)
    );

    // Inside a generator folder, a run file by its relative path.
    let generator = ws.join(".dman/cache/examples:patterns:common");
    let o = dman_inside(
        ws,
        &generator,
        &["show", "experiment/results/experiment-1/experiment.json"],
    );
    assert!(stdout(&o).contains("\"seed\": 1024"), "{}", both(&o));

    // An absolute path inside the root.
    let absolute = ws.join(".dman/demo/config.json");
    let o = dman(ws, &["show", &absolute.to_string_lossy()]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(stdout(&o).contains("\"nrepeats\": 2"), "{}", both(&o));

    // An absolute path outside the root is refused, saying why.
    let outside = ws.join("elsewhere.json");
    std::fs::write(&outside, "{}").expect("write");
    let o = dman(ws, &["show", &outside.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("lies outside the location"),
        "{}",
        both(&o)
    );
}

#[test]
fn keys_are_named_under_any_generator() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    let o = dman(ws, &["show", "experiment"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        stdout(&o).contains("\"_ser__type\": \"_ser__mruns\""),
        "{}",
        both(&o)
    );

    // `config` is a key of two generators: an error naming both.
    let o = dman(ws, &["show", "config"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    let err = stderr(&o);
    assert!(err.contains("names 2 keys"), "{err}");
    assert!(err.contains("demo/config"), "{err}");
    assert!(
        err.contains("cache/examples:patterns:common/config"),
        "{err}"
    );

    // `--generator` (with or without `cache/`) or GENERATOR/KEY picks one.
    for args in [
        &["show", "config", "--generator", "demo"][..],
        &["show", "demo/config"],
    ] {
        let o = dman(ws, args);
        assert!(o.status.success(), "{args:?}: {}", both(&o));
        assert!(stdout(&o).contains("\"seed\": 1234"), "{}", both(&o));
    }
    let o = dman(
        ws,
        &["show", "config", "--generator", "examples:patterns:common"],
    );
    assert!(o.status.success(), "{}", both(&o));

    // A name that is neither a file nor a key says where it looked.
    let o = dman(ws, &["show", "experimnt"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("no file or key `experimnt`")
            && stderr(&o).contains("under every generator"),
        "{}",
        both(&o)
    );
}

#[test]
fn folders_and_arrays_say_what_they_are() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    let o = dman(ws, &["show", "demo"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("`demo` is a folder (2 files), not a file"),
        "{}",
        both(&o)
    );
    assert!(!stderr(&o).contains("no file"), "{}", both(&o));

    // A key's folder is its key: what completion gives for `experiment/`.
    let o = dman(
        ws,
        &["show", ".dman/cache/examples:patterns:common/experiment/"],
    );
    assert!(o.status.success(), "{}", both(&o));
    assert!(stdout(&o).contains("\"run_count\": 2"), "{}", both(&o));

    // A `.npy` file: its header, not "invalid UTF-8".
    let run = ws.join(".dman/cache/examples:patterns:common/experiment/results/experiment-0");
    let npy = std::fs::read_dir(&run)
        .expect("run folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "npy")
                && std::fs::metadata(p).is_ok_and(|m| m.len() == 800_128)
        })
        .expect("the output array");
    let o = dman(ws, &["show", &npy.to_string_lossy()]);
    assert!(o.status.success(), "{}", both(&o));
    let out = stdout(&o);
    assert!(out.contains("shape    (100, 1000)"), "{out}");
    assert!(out.contains("dtype    float64 (`<f8`)"), "{out}");
    assert!(out.contains("order    C (row-major)"), "{out}");
    assert!(out.contains("781.4 KiB (800128 bytes"), "{out}");
    assert!(!both(&o).contains("UTF-8"), "{}", both(&o));

    // `cat` gives the bytes, addressed the same way.
    let o = dman(ws, &["cat", &npy.to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, std::fs::read(&npy).expect("read"));
}

#[test]
fn a_workspace_folder_stands_for_its_dman_in_every_command() {
    let fx = getting_started_workspace();
    let ws = fx.path();
    let backup = tempfile::tempdir().expect("temporary folder");
    let backup_s = backup.path().to_string_lossy().into_owned();
    // `copy` writes a workspace's graph into the destination's `.dman` ...
    let o = dman(ws, &["copy", ".", &backup_s]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(backup.path().join(".dman/demo/config.json").is_file());
    // ... and every other command reads the same folder back through it.
    let o = dman(ws, &["diff", ".", &backup_s]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        stdout(&o).contains("the same (11 files compared)"),
        "{}",
        both(&o)
    );
    let by_workspace = dman(ws, &["tree", &backup_s]);
    let by_dman = dman(ws, &["tree", &format!("{backup_s}/.dman")]);
    assert!(by_workspace.status.success(), "{}", both(&by_workspace));
    let body = |o: &Output| stdout(o).lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&by_workspace), body(&by_dman));
    assert!(
        !stdout(&by_workspace).contains("📂 .dman\n"),
        "{}",
        both(&by_workspace)
    );
    // A `file://` URL names the folder itself.
    let o = dman(ws, &["tree", &format!("file://{backup_s}")]);
    assert!(stdout(&o).contains("📂 .dman"), "{}", both(&o));
}
