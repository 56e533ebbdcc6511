//! The built `dman` binary on the getting-started fixture (written by Python
//! dman 1.0.1) and on damaged copies of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use dman_test_support::files::{example_binary, pinned, read_tree, run_example_in, tool};
use dman_test_support::fixture::{getting_started_arrays, getting_started_workspace};
use dman_test_support::python;

mod common;
use common::{dman, stderr, stdout};

/// The fixture unzipped: a workspace folder holding `.dman`.
fn fixture() -> tempfile::TempDir {
    getting_started_workspace()
}

fn experiment_dir(root: &Path) -> PathBuf {
    root.join(".dman/cache/examples:patterns:common/experiment")
}

fn one_npy(root: &Path) -> PathBuf {
    let run = experiment_dir(root).join("results/experiment-0");
    std::fs::read_dir(&run)
        .expect("run dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "npy"))
        .expect("an npy file")
}

#[test]
fn init_makes_dman_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    for _ in 0..2 {
        let o = dman(dir.path(), &["init"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains(".dman"));
    }
    assert!(dir.path().join(".dman").is_dir());
}

#[test]
fn tree_shows_sizes_and_content() {
    let fx = fixture();
    let o = dman(fx.path(), &["tree"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("📂 .dman\n"), "{out}");
    assert!(
        out.contains("┃       ┃   ┃   ┃   ┗━━ 📄 experiment.json (603 bytes)"),
        "{out}"
    );
    // An output array (100 x 1000 float64), under its uuid name.
    let (output, _) = getting_started_arrays()
        .into_iter()
        .find(|(_, bytes)| bytes.len() == 800_128)
        .expect("an output array in the fixture");
    let name = output.rsplit('/').next().expect("a file name");
    assert!(
        out.contains(&format!("📄 {name} (781.4 KiB, float64 (100, 1000))")),
        "{out}"
    );
    assert!(out.ends_with("\n11 files, 1.8 MiB\n"), "totals last: {out}");
    assert!(!out.contains('\u{1b}'), "no colour when piped");

    let o = dman(fx.path(), &["tree", ".dman/demo", "--content"]);
    let out = stdout(&o);
    assert!(out.contains("│   \"_ser__type\": \"config\","), "{out}");
    assert!(out.contains("│ .gitignore  │"), "{out}");

    let o = dman(fx.path(), &["tree", "--depth", "1"]);
    assert_eq!(
        stdout(&o),
        "📂 .dman\n┣━━ 📂 cache\n┃   ┗━━ … 9 files in deeper folders not shown\n\
         ┗━━ 📂 demo\n    ┗━━ … 2 files in deeper folders not shown\n\
         11 files, 1.8 MiB\n"
    );
}

#[test]
fn show_pretty_and_follow() {
    let fx = fixture();
    let o = dman(
        fx.path(),
        &[
            "show",
            "cache/examples:patterns:common/experiment/experiment.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"_ser__type\": \"_ser__mruns\""));
    let o = dman(
        fx.path(),
        &[
            "show",
            ".dman",
            "cache/examples:patterns:common/experiment/experiment.json",
            "--follow",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("\"seed\": 1024"), "run files inline: {out}");
    assert!(out.contains("\"size\": 800128"), "arrays as size: {out}");
    assert!(out.contains("\"sto_type\": \"_num__barray\""), "{out}");
}

#[test]
fn check_reports_a_clean_tree_as_clean() {
    let fx = fixture();
    let o = dman(fx.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "checked 11 files in 3 keys: clean\n");
}

#[test]
fn check_finds_a_deleted_npy() {
    let fx = fixture();
    let npy = one_npy(fx.path());
    std::fs::remove_file(&npy).expect("delete");
    let o = dman(fx.path(), &["check", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let name = npy
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        out.contains("\"kind\": \"missing-target\"") && out.contains(&name),
        "{out}"
    );
    assert_eq!(
        out.lines().count(),
        2,
        "one finding per line, then the summary: {out}"
    );
    assert!(
        out.lines().last().is_some_and(
            |l| l.starts_with("{\"kind\": \"summary\"") && l.contains("\"problems\": 1")
        ),
        "{out}"
    );
}

#[test]
fn check_finds_truncated_json() {
    let fx = fixture();
    let file = experiment_dir(fx.path()).join("results/experiment-1/experiment.json");
    let text = std::fs::read(&file).expect("read");
    std::fs::write(&file, &text[..text.len() / 2]).expect("truncate");
    let o = dman(fx.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("bad-json: cache/examples:patterns:common/experiment/results/experiment-1/experiment.json"), "{out}");
    // What it pointed at is unknown while it does not parse: nothing of
    // its key is called an orphan (so `gc` deletes none of it).
    assert!(!out.contains("orphan: "), "{out}");
}

#[test]
fn check_finds_a_target_leaving_the_root() {
    let fx = fixture();
    let file = experiment_dir(fx.path()).join("experiment.json");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        text.replace(
            "results/experiment-0/experiment.json",
            "../../../../../etc/passwd.json",
        ),
    )
    .expect("edit");
    let o = dman(fx.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("target-leaves-root: cache/examples:patterns:common/experiment/experiment.json at `store[0]`"),
        "{out}"
    );
}

#[test]
fn check_and_gc_handle_an_extra_file() {
    let fx = fixture();
    let extra = experiment_dir(fx.path()).join("results/experiment-0/stray.npy");
    std::fs::write(&extra, b"not reached").expect("write");
    let o = dman(fx.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains(
        "orphan: cache/examples:patterns:common/experiment/results/experiment-0/stray.npy"
    ));

    let o = dman(fx.path(), &["gc", "--dry-run", "--grace", "0"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains(
        "would delete cache/examples:patterns:common/experiment/results/experiment-0/stray.npy"
    ));
    assert!(extra.exists(), "dry run deletes nothing");
    // Young garbage may be a save in progress: kept, then deleted once old.
    let o = dman(fx.path(), &["gc"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("kept 1 file younger than 15m"),
        "{}",
        stdout(&o)
    );
    assert!(extra.exists());
    let o = dman(fx.path(), &["gc", "--grace", "0", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!extra.exists());
    assert_eq!(dman(fx.path(), &["check"]).status.code(), Some(0));
}

#[test]
fn clean_removes_a_key() {
    let fx = fixture();
    let o = dman(
        fx.path(),
        &[
            "clean",
            "experiment",
            "--generator",
            "cache/examples:patterns:common",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().count(),
        7,
        "root, two runs, four arrays: {}",
        stdout(&o)
    );
    assert!(!experiment_dir(fx.path()).exists());
    let gitignore = std::fs::read_to_string(
        fx.path()
            .join(".dman/cache/examples:patterns:common/.gitignore"),
    )
    .expect("gitignore");
    assert_eq!(gitignore, ".gitignore\nconfig.json");
    let o = dman(
        fx.path(),
        &[
            "clean",
            "config",
            "--generator",
            "demo",
            "--no-cluster",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !fx.path().join(".dman/demo").exists(),
        "empty folder pruned with its .gitignore"
    );
    let o = dman(
        fx.path(),
        &["clean", "nothing", "--generator", "demo", "--yes"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no key `nothing`"), "{}", stderr(&o));
}

#[test]
fn user_mistakes_are_plain_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = dman(dir.path(), &["tree"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no .dman folder found. Consider running $dman init"),
        "{}",
        stderr(&o)
    );
    let o = dman(dir.path(), &["tree", "missing-folder"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn copy_into_a_non_empty_destination_skips_identical_files() {
    let fx = fixture();
    let dst = tempfile::tempdir().expect("temp dir");
    let target = dst.path().join("copy");
    let target_s = target.to_string_lossy().into_owned();
    let o = dman(fx.path(), &["copy", ".dman", &target_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let size = dman::tree::human_size(1922719);
    assert_eq!(
        stdout(&o),
        format!(
            "copied 11 files ({size}), skipped 0 identical ({}) to {target_s}/.dman\n",
            dman::tree::human_size(0)
        )
    );
    let o = dman(fx.path(), &["copy", ".dman", &target_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "copied 0 files ({}), skipped 11 identical ({size}) to {target_s}/.dman\n",
            dman::tree::human_size(0)
        )
    );
    let o = dman(fx.path(), &["copy", ".dman", &target_s, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn copy_to_a_zip_and_back_is_identical_and_python_loads_it() {
    let fx = fixture();
    let work = tempfile::tempdir().expect("temp dir");
    let archive = work.path().join("shared.zip");
    let archive_s = archive.to_string_lossy().into_owned();
    let o = dman(fx.path(), &["copy", ".dman", &archive_s]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The archive is a location like any other.
    let o = dman(fx.path(), &["check", &archive_s]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = dman(fx.path(), &["tree", &archive_s, "--depth", "1"]);
    assert!(stdout(&o).contains("┣━━ 📂 cache"), "{}", stdout(&o));
    let o = tool("unzip")
        .args(["-t", "-q"])
        .arg(&archive)
        .output()
        .expect("unzip");
    assert!(o.status.success(), "unzip -t: {}", stdout(&o));

    let back = work.path().join("back/.dman");
    let o = dman(fx.path(), &["copy", &archive_s, &back.to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_tree(&fx.path().join(".dman")),
        read_tree(&back),
        "file by file identical"
    );

    // The seed's classes, as check_getting_started.py defines them.
    let script = "import sys; sys.path.insert(0, sys.argv[2])\n\
                  import dman, check_getting_started\n\
                  runs = dman.load('experiment', base=sys.argv[1], generator='cache/examples:patterns:common')\n\
                  print([r.config.seed for r in runs], [r.output.shape for r in runs])\n";
    let scripts = dman_test_support::repo_root().join("tests/python");
    let o = python::command()
        .args(["-c", script])
        .arg(&back)
        .arg(&scripts)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "[1000, 1024] [(100, 1000), (100, 1000)]");
}

#[test]
fn a_zip_that_is_not_a_zip_is_a_plain_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("fake.zip"), b"this is not an archive").expect("write");
    let o = dman(dir.path(), &["tree", "fake.zip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(stderr(&o).contains("fake.zip"), "{}", stderr(&o));
}

#[test]
fn the_commands_on_a_tree_the_example_writes() {
    let work = tempfile::tempdir().expect("temp dir");
    let o = pinned(&mut Command::new(example_binary()), work.path())
        .output()
        .expect("run example");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = dman(work.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = dman(work.path(), &["tree", "--content"]);
    let out = stdout(&o);
    assert!(out.contains("📄 experiment.json (648 bytes)"), "{out}");
    assert!(
        out.contains("│   \"_ser__type\": \"_ser__mruns\","),
        "{out}"
    );
    let o = dman(work.path(), &["gc", "--dry-run"]);
    assert_eq!(stdout(&o), "no garbage\n");
    let o = dman(
        work.path(),
        &[
            "clean",
            "experiment",
            "--generator",
            "cache/common",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).lines().count() == 7, "{}", stdout(&o));
}

/// A `.dman` above a test's temporary folder is neither found nor touched:
/// with `outer/.dman` holding an experiment of its own, the example run in
/// `outer/work` and `dman gc`, `clean` and `check` run in `outer/empty`
/// (no `.dman`) through the tests' own helpers leave it byte for byte as
/// it was; the commands in `outer/empty` fail, finding no `.dman`. Without
/// the pin, the same search finds `outer/.dman` (shown with a read-only
/// `dman tree`): the pin is what protects it.
#[test]
fn a_dman_above_the_temporary_folder_is_not_touched() {
    let outer = fixture();
    let outer_dman = outer.path().join(".dman");
    let before = read_tree(&outer_dman);
    assert!(before.len() > 5, "the outer tree: {:?}", before.keys());

    let work = outer.path().join("work");
    std::fs::create_dir(&work).expect("mkdir work");
    run_example_in(&work);
    assert!(
        work.join(".dman/cache/examples:patterns:common/experiment/experiment.json")
            .is_file(),
        "the example wrote its own .dman in its folder"
    );

    let empty = outer.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir empty");
    for args in [
        &["gc"][..],
        &[
            "clean",
            "experiment",
            "--generator",
            "cache/examples:patterns:common",
        ],
        &["check"],
        &["tree"],
    ] {
        let o = dman(&empty, args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "dman {args:?} in a folder without .dman: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("no .dman folder found"),
            "dman {args:?}: {}",
            stderr(&o)
        );
    }
    assert_eq!(
        read_tree(&outer_dman),
        before,
        "the .dman above the tests' folders changed"
    );

    let unpinned = Command::new(env!("CARGO_BIN_EXE_dman"))
        .arg("tree")
        .current_dir(&empty)
        .env_remove(dman::CEILING_DIRECTORIES)
        .env("NO_COLOR", "1")
        .output()
        .expect("run dman");
    assert!(
        unpinned.status.success() && stdout(&unpinned).contains("experiment.json"),
        "unpinned, the search finds the outer .dman: {}{}",
        stdout(&unpinned),
        stderr(&unpinned)
    );
}
