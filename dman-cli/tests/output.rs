//! Issue 18, point 8: one size unit system (IEC), totals, marked cuts,
//! `check` saying what it checked (and `--json` a summary on a clean tree),
//! logs through `-v` and `RUST_LOG`, `.npy` dtype and shape in `tree`,
//! `--help` explaining LOCATION with examples, and shell completion.

use std::process::Command;

use dman_test_support::files::pinned;
use dman_test_support::fixture::getting_started_workspace;

mod common;
use common::{both, dman, stderr, stdout};

#[test]
fn tree_sizes_totals_cuts_and_arrays() {
    let fx = getting_started_workspace();
    let o = dman(fx.path(), &["tree"]);
    assert!(o.status.success(), "{}", both(&o));
    let out = stdout(&o);
    assert!(
        out.contains("KiB, float64 (20, 1000))\n")
            && out.contains("(781.4 KiB, float64 (100, 1000))"),
        "{out}"
    );
    assert!(!out.contains(" kB") && !out.contains(" MB"), "{out}");
    assert!(out.ends_with("\n11 files, 1.8 MiB\n"), "{out}");
    let o = dman(fx.path(), &["tree", "--depth", "2"]);
    assert!(
        stdout(&o).contains("┃       ┗━━ … 9 files in deeper folders not shown\n┗━━ 📂 demo"),
        "{}",
        both(&o)
    );
}

#[test]
fn check_says_what_it_checked() {
    let fx = getting_started_workspace();
    let o = dman(fx.path(), &["check"]);
    assert_eq!(
        stdout(&o),
        "checked 11 files in 3 keys: clean\n",
        "{}",
        both(&o)
    );
    let o = dman(fx.path(), &["check", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let summary: dman::core::json::Value =
        dman::core::json::from_str(stdout(&o).trim()).expect("one JSON object");
    assert_eq!(
        summary.get("kind").and_then(|v| v.as_str()),
        Some("summary")
    );
    assert_eq!(summary.get("files").and_then(|v| v.as_i64()), Some(11));
    assert_eq!(summary.get("keys").and_then(|v| v.as_i64()), Some(3));
    assert_eq!(summary.get("problems").and_then(|v| v.as_i64()), Some(0));
    assert_eq!(summary.get("clean").and_then(|v| v.as_bool()), Some(true));
}

#[test]
fn logs_follow_verbosity_and_rust_log() {
    let fx = getting_started_workspace();
    let run = |args: &[&str], rust_log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dman"));
        pinned(&mut command, fx.path())
            .args(args)
            .env("NO_COLOR", "1");
        match rust_log {
            Some(level) => command.env("RUST_LOG", level),
            None => command.env_remove("RUST_LOG"),
        };
        command.output().expect("run dman")
    };
    let o = run(&["ls"], None);
    assert!(
        !stderr(&o).contains("INFO"),
        "quiet by default: {}",
        both(&o)
    );
    let o = run(&["-v", "ls"], None);
    assert!(
        stderr(&o).contains("INFO") && stderr(&o).contains("opened"),
        "{}",
        both(&o)
    );
    let o = run(&["ls"], Some("info"));
    assert!(
        stderr(&o).contains("INFO") && stderr(&o).contains("opened"),
        "{}",
        both(&o)
    );

    // An empty location warns, unless `-q`.
    let empty = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(empty.path().join(".dman")).expect("mkdir");
    let o = dman(empty.path(), &["tree"]);
    assert!(
        stderr(&o).contains("WARN") && stderr(&o).contains("is empty"),
        "{}",
        both(&o)
    );
    let o = dman(empty.path(), &["-q", "tree"]);
    assert_eq!(stderr(&o), "", "{}", both(&o));
}

#[test]
fn help_explains_location_and_shows_examples() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = dman(dir.path(), &["--help"]);
    let out = stdout(&o);
    for needle in [
        "LOCATION is where",
        "s3://bucket/prefix",
        "zip://",
        "memory://",
        "file://",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    for command in [
        "init",
        "tree",
        "show",
        "cat",
        "ls",
        "du",
        "runs",
        "diff",
        "check",
        "gc",
        "clean",
        "completion",
    ] {
        let o = dman(dir.path(), &[command, "--help"]);
        assert!(o.status.success(), "{command}: {}", both(&o));
        let out = stdout(&o);
        assert!(
            out.contains("Example:") || out.contains("Examples:"),
            "{command}: {out}"
        );
        assert!(out.contains(&format!("dman {command}")), "{command}: {out}");
    }
    let o = dman(dir.path(), &["ls", "--help"]);
    assert!(stdout(&o).contains("s3://bucket/prefix"), "{}", both(&o));
}

#[test]
fn completion_scripts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = dman(dir.path(), &["completion", "bash"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(stdout(&o).contains("complete -F _dman"), "{}", both(&o));
    assert!(stdout(&o).contains("runs"), "every command is completed");
    let o = dman(dir.path(), &["completion", "zsh"]);
    assert!(stdout(&o).starts_with("#compdef dman"), "{}", both(&o));
    let o = dman(dir.path(), &["completion", "fish"]);
    assert!(stdout(&o).contains("complete -c dman"), "{}", both(&o));
    let o = dman(dir.path(), &["completion", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
}

#[test]
fn tree_json_lists_every_file_with_arrays() {
    let fx = getting_started_workspace();
    let o = dman(fx.path(), &["tree", "--json"]);
    assert!(o.status.success(), "{}", both(&o));
    let doc: dman::core::json::Value =
        dman::core::json::from_str(&stdout(&o)).expect("one JSON document");
    let files = doc.get("files").and_then(|f| f.as_array()).expect("files");
    assert_eq!(files.len(), 11);
    let arrays: Vec<_> = files.iter().filter_map(|f| f.get("array")).collect();
    assert_eq!(arrays.len(), 4);
    assert!(arrays
        .iter()
        .all(|a| a.get("dtype").and_then(|d| d.as_str()) == Some("float64")));
    let total = doc.get("total").expect("total");
    assert_eq!(total.get("files").and_then(|v| v.as_i64()), Some(11));
    assert_eq!(
        total.get("bytes").and_then(|v| v.as_i64()),
        Some(648 + 2 * 603 + 2 * 160_128 + 2 * 800_128 + 2 * 149 + 33 + 22)
    );
}

/// A reader that stops early (`dman tree | head -1`) ends the command
/// quietly: no panic about a broken pipe.
#[test]
fn a_closed_pipe_is_no_panic() {
    let fx = getting_started_workspace();
    let mut child = pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), fx.path())
        .args(["tree", "--json"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run dman");
    // The reading end closed before the command writes anything.
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Broken pipe"), "{}", stderr(&o));
}
