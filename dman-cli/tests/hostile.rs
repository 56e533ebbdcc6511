//! The built `dman` command on hostile and damaged trees: inputs that used
//! to crash it, delete what is not garbage, or print what they liked to the
//! terminal (issue 14). Every command gets its location explicitly, so no
//! test looks for a `.dman` folder above its temporary one.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use dman_test_support::fixture::getting_started_workspace;
use dman_test_support::python;

mod common;
use common::{stderr, stdout};

/// `dman ARGS` in an empty temporary folder.
fn dman(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().expect("temp dir");
    common::dman(cwd.path(), args)
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folders");
    }
    std::fs::write(path, text).expect("write");
}

/// A record as Python dman writes it.
fn record(target: &str, sto_type: &str) -> String {
    format!(
        r#"{{"_ser__type": "_ser__record", "_ser__content": {{"target": "{target}", "sto_type": "{sto_type}"}}}}"#
    )
}

/// Makes `path` look written `age` ago.
fn age(path: &Path, age: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.set_modified(SystemTime::now() - age)
        .expect("set mtime");
}

const HOUR: Duration = Duration::from_secs(3600);

/// `show --follow` on a chain of 1 500 files, each a record of the next,
/// used to overflow the stack (a recursive future per file).
#[test]
fn show_follow_on_a_chain_of_1500_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..1500 {
        write(
            &dir.path().join(format!("f{i}.json")),
            &record(&format!("f{}.json", i + 1), "link"),
        );
    }
    write(&dir.path().join("f1500.json"), "[1]");
    let root = dir.path().to_str().expect("utf-8");
    let o = dman(&["show", root, "f0.json", "--follow"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\"path\": \"f300.json\""), "expanded deep");
    assert!(
        out.contains("\"error\": \"not expanded: more than 512 files deep\""),
        "the cut says so"
    );
}

/// A zip entry 4 000 folders deep used to overflow the stack of `tree`, and
/// a 3.9 GiB entry in a 4 MB archive made `show --follow` read it whole to
/// print its size and `tree --content` allocate 12.6 GB. The archive is
/// written by Python's zipfile.
#[test]
fn deep_and_huge_zip_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("hostile.zip");
    python::run(&[
        "-c",
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    z.writestr("d/" * 4000 + "leaf.txt", "x")
    z.writestr("top.json", '{"_ser__type": "_ser__record", "_ser__content": {"target": "big.txt", "sto_type": "text"}}')
    with z.open("big.txt", "w", force_zip64=True) as f:
        block = b"a" * (64 << 20)
        for _ in range(62):
            f.write(block)
"#,
        archive.to_str().expect("utf-8"),
    ]);
    assert!(std::fs::metadata(&archive).expect("archive").len() < 64 << 20);
    let archive = archive.to_str().expect("utf-8");

    let (o, peak) = measured(&["tree", archive, "--content"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("deeper folders not shown"), "{out}");
    assert!(
        out.contains("(not shown: 3.9 GiB, more than 256.0 KiB)"),
        "{out}"
    );
    assert!(out.len() < 1 << 20, "output stays small: {}", out.len());
    assert!(peak < 256 << 20, "tree --content peaked at {peak} bytes");

    let (o, peak) = measured(&["show", archive, "top.json", "--follow"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"size\": 4160749568"),
        "{}",
        stdout(&o)
    );
    assert!(peak < 256 << 20, "show --follow peaked at {peak} bytes");
}

/// Runs `dman ARGS` and gives its output and peak resident memory in bytes
/// (`wait4`'s rusage of exactly that child).
// `wait4` reaps the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measured(args: &[&str]) -> (Output, u64) {
    use std::io::Read;
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dman"))
        .args(args)
        .current_dir(cwd.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run dman");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        se.read_to_end(&mut err).expect("stderr");
        err
    });
    so.read_to_end(&mut out).expect("stdout");
    err.extend(reader.join().expect("stderr thread"));
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: plain libc call on our own child with valid out-pointers.
    #[allow(unsafe_code)]
    let (reaped, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let reaped = libc::wait4(pid, &mut status, 0, &mut usage);
        (reaped, usage)
    };
    assert_eq!(reaped, pid, "wait4");
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    let peak = u64::try_from(usage.ru_maxrss).expect("rss") * 1024;
    (
        Output {
            status,
            stdout: out,
            stderr: err,
        },
        peak,
    )
}

/// A key whose record points at `../victim/v.txt`, inside the root but in
/// another key's folder: `clean` used to delete the other key's array and
/// `check` said nothing.
#[test]
fn clean_stays_inside_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generator = dir.path().join("cache/g");
    write(
        &generator.join("attacker/attacker.json"),
        &record("../victim/v.txt", "text"),
    );
    write(
        &generator.join("victim/victim.json"),
        &record("v.txt", "text"),
    );
    write(&generator.join("victim/v.txt"), "victim's file");
    let root = dir.path().to_str().expect("utf-8");

    let o = dman(&["check", root]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "target-leaves-key: cache/g/attacker/attacker.json: record target `cache/g/victim/v.txt` lies outside the key's folder `cache/g/attacker`"
        ),
        "{}",
        stdout(&o)
    );

    let o = dman(&[
        "clean",
        "attacker",
        "--generator",
        "cache/g",
        "--location",
        root,
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(1), "a warning: {}", stderr(&o));
    assert!(
        stderr(&o).contains("`cache/g/victim/v.txt` was not deleted: it lies outside the key's folder `cache/g/attacker`"),
        "{}",
        stderr(&o)
    );
    assert!(
        generator.join("victim/v.txt").exists(),
        "the victim's array stays"
    );
    assert!(
        !generator.join("attacker").exists(),
        "the key itself is gone"
    );
    assert_eq!(dman(&["check", root]).status.code(), Some(0));
}

/// One stray byte at the end of a run's JSON used to make `gc` delete that
/// run's arrays as orphans, although `check` reported the bad JSON.
#[test]
fn gc_spares_a_key_whose_json_does_not_parse() {
    let fx = getting_started_workspace();
    let root = fx.path().join(".dman");
    let run = root.join("cache/examples:patterns:common/experiment/results/experiment-0");
    let json = run.join("experiment.json");
    let mut text = std::fs::read_to_string(&json).expect("run json");
    text.push('x');
    std::fs::write(&json, text).expect("write");
    let arrays: Vec<_> = std::fs::read_dir(&run)
        .expect("run")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    assert_eq!(arrays.len(), 2);
    let root = root.to_str().expect("utf-8");
    let o = dman(&["check", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("bad-json"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("orphan: "), "{}", stdout(&o));
    let o = dman(&["gc", root, "--grace", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no garbage"), "{}", stdout(&o));
    assert!(arrays.iter().all(|a| a.exists()), "no array deleted");
}

/// `gc` keeps garbage younger than the grace period (a save in progress
/// writes its files before the key file that points at them) and deletes
/// it once old; it also deletes the files of a first save that never
/// committed, and the backend's temporary files, but never a file
/// `Repo::store` wrote, whose name is its key's.
#[test]
fn gc_grace_period_uncommitted_saves_and_leftovers() {
    let fx = getting_started_workspace();
    let dotdman = fx.path().join(".dman");
    let generator = dotdman.join("cache/examples:patterns:common");
    let stray = generator.join("experiment/results/experiment-0/stray.npy");
    write(&stray, "not reached");
    let uuid = "0b9d4c1e-7f3a-4c2b-9e8d-1a2b3c4d5e6f";
    let lost = generator.join(format!("newkey/{uuid}.npy"));
    let lost_run = generator.join("newkey/results/run-0/experiment.json");
    write(&lost, "array of a first save");
    write(&lost_run, &record(&format!("{uuid}.npy"), "_num__numpy"));
    let stored = generator.join("weights/weights.npy");
    write(&stored, "what Repo::store wrote");
    let temp = generator.join(".dman-tmp-1234-killed");
    write(&temp, "half a file");
    let root = dotdman.to_str().expect("utf-8");

    let o = dman(&["check", root]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(
            "orphan: cache/examples:patterns:common/experiment/results/experiment-0/stray.npy"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("uncommitted: cache/examples:patterns:common/newkey/{uuid}.npy: key folder `cache/examples:patterns:common/newkey` has no key file `newkey.json`")),
        "{out}"
    );
    assert!(
        out.contains(
            "uncommitted: cache/examples:patterns:common/newkey/results/run-0/experiment.json"
        ),
        "{out}"
    );
    assert!(
        !out.contains("weights"),
        "a stored file is no garbage: {out}"
    );

    // Young: kept.
    let o = dman(&["gc", root]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("kept 4 files younger than 15m"),
        "{}",
        stdout(&o)
    );
    for file in [&stray, &lost, &lost_run, &temp] {
        assert!(file.exists(), "{} kept", file.display());
    }
    // Old: deleted.
    for file in [&stray, &lost, &lost_run, &temp, &stored] {
        age(file, HOUR);
    }
    let o = dman(&["gc", root, "--dry-run"]);
    assert!(stdout(&o).contains("would delete"), "{}", stdout(&o));
    assert!(stray.exists(), "a dry run deletes nothing");
    let o = dman(&["gc", root, "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [&stray, &lost, &lost_run, &temp] {
        assert!(!file.exists(), "{} deleted", file.display());
    }
    assert!(stored.exists(), "the stored file stays");
    assert!(
        stdout(&o).contains(".dman-tmp-1234-killed"),
        "{}",
        stdout(&o)
    );
    assert_eq!(dman(&["check", root]).status.code(), Some(0));
}

/// Terminal escape sequences in a record's target are printed escaped.
#[test]
fn check_escapes_control_characters() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        &dir.path().join("k/k.json"),
        &record("\\u001b]0;owned\\u0007\\u001b[2J.npy", "_num__numpy"),
    );
    let root = dir.path().to_str().expect("utf-8");
    let o = dman(&["check", root]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2J.npy"), "{out}");
}

/// Symbolic links that `copy` cannot copy and `check` cannot see are
/// reported, and `copy` fails, instead of a silent exit 0.
#[test]
fn symlinks_are_reported_by_copy_and_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    write(&src.join("k/k.json"), "[1]");
    let outside = dir.path().join("outside.txt");
    write(&outside, "secret");
    std::os::unix::fs::symlink(&outside, src.join("k/link.txt")).expect("symlink");
    std::os::unix::fs::symlink(src.join("k"), src.join("folder-link")).expect("symlink");
    let src = src.to_str().expect("utf-8");
    let o = dman(&["check", src]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(
            "skipped: k/link.txt: skipping a symbolic link that leads outside the root or nowhere"
        ),
        "{out}"
    );
    assert!(
        out.contains("skipped: folder-link: skipping a symbolic link to a folder"),
        "{out}"
    );
    assert_eq!(out.matches("skipped: ").count(), 2, "each once: {out}");

    let dst = dir.path().join("dst");
    let o = dman(&["copy", src, dst.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not copied: k/link.txt"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("2 files not copied"), "{}", stderr(&o));
    assert!(dst.join(".dman/k/k.json").exists(), "the rest is copied");
}

/// A `.npy` cut short is found by `check` from its header and size alone;
/// `--deep` reads every byte.
#[test]
fn check_validates_content_files() {
    let fx = getting_started_workspace();
    let dotdman = fx.path().join(".dman");
    let run = dotdman.join("cache/examples:patterns:common/experiment/results/experiment-1");
    let npy = std::fs::read_dir(&run)
        .expect("run")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "npy"))
        .expect("an array");
    let bytes = std::fs::read(&npy).expect("read");
    std::fs::write(&npy, &bytes[..bytes.len() - 8]).expect("truncate");
    let root = dotdman.to_str().expect("utf-8");
    let o = dman(&["check", root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("bad-content"), "{}", stdout(&o));
    assert!(stdout(&o).contains("truncated"), "{}", stdout(&o));
    std::fs::write(&npy, &bytes).expect("restore");
    let o = dman(&["check", root, "--deep"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}
