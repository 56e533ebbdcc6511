//! `dman copy` as `rclone copy` (issue 18, point 7): identical files are
//! skipped so that an interrupted copy resumes, `--dry-run`, `--delete`,
//! `--check`, overlapping locations refused, and the `.dman` folder kept
//! at a zip archive's top and restored into `.dman`.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dman::core::json::{self, Value};
use dman_test_support::files::{pinned, read_tree};
use dman_test_support::fixture::{getting_started_workspace, getting_started_zip, zip_files};

mod common;
use common::{dman, dman_s3, stderr, stdout};

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The names of the folder store's temporary files (`dman_fs::TEMP_PREFIX`).
const TEMP_PREFIX: &str = ".dman-tmp-";

/// Every file under `dir` (not the folder store's temporary files of
/// interrupted writes), with its inode: a file rewritten gets a new one.
fn files(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                found.insert(path, meta.ino());
            }
        }
    }
    found
}

/// The `--json` summary, parsed.
fn summary(out: &str) -> json::Map {
    let line = out.lines().last().unwrap_or_default();
    match json::from_str(line) {
        Ok(Value::Object(map)) => map,
        other => panic!("no JSON object in {out:?}: {other:?}"),
    }
}

fn count(map: &json::Map, key: &str) -> u64 {
    match map.get(key) {
        Some(Value::Int(n)) => u64::try_from(*n).expect("a count"),
        other => panic!("`{key}` is not a count: {other:?}"),
    }
}

/// A tree of 2 000 small files (20 keys of 100), each of its own content.
fn two_thousand(root: &Path) {
    for key in 0..20 {
        let folder = root.join(format!("cache/gen/key{key:02}"));
        std::fs::create_dir_all(&folder).expect("mkdir");
        for file in 0..100 {
            std::fs::write(
                folder.join(format!("f{file:03}.json")),
                format!("{{\"key\": {key}, \"file\": {file}}}"),
            )
            .expect("write");
        }
    }
}

/// The test: a copy of 2 000 files killed half-way, then the same
/// command again, copies only the rest, and `--check` passes.
///
/// The copy is held back by its own log: at `-v` it writes a line per
/// file copied to standard error, a pipe shrunk to one page that this test
/// reads a little at a time, so the copy cannot run far ahead of the
/// destination's file count that the test looks at between reads.
#[test]
fn an_interrupted_copy_resumes_with_the_same_command() {
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src/.dman");
    two_thousand(&src);
    let dst = work.path().join("dst");
    let landed = dst.join(".dman");

    let mut child = pinned(&mut Command::new(env!("CARGO_BIN_EXE_dman")), work.path())
        .args(["-v", "copy", s(&src), s(&dst)])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dman copy");
    let mut log = child.stderr.take().expect("stderr");
    // SAFETY: fcntl on a pipe this process owns; a failure leaves the
    // pipe as it was (64 KiB), which the count below still bounds.
    let shrunk = unsafe { libc::fcntl(log.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    assert!(shrunk >= 4096, "F_SETPIPE_SZ failed");
    let mut buffer = [0u8; 256];
    let mut text = Vec::new();
    loop {
        if files(&landed).len() >= 1000 {
            break;
        }
        match log.read(&mut buffer) {
            Ok(0) => panic!(
                "the copy ended before it was killed:\n{}",
                String::from_utf8_lossy(&text)
            ),
            Ok(n) => text.extend_from_slice(&buffer[..n]),
            Err(e) => panic!("reading the copy's log: {e}"),
        }
    }
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "killed, not finished");

    let before = files(&landed);
    let had = before.len();
    assert!((1000..2000).contains(&had), "{had} files after the kill");

    let o = dman(work.path(), &["copy", s(&src), s(&dst), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let done = summary(&stdout(&o));
    let (copied, skipped) = (count(&done, "copied"), count(&done, "skipped"));
    assert_eq!(skipped as usize, had, "{}", stdout(&o));
    assert_eq!(copied + skipped, 2000);
    assert!(copied < 2000);

    // The files there before were not written again (same inodes); the
    // others are new.
    let after = files(&landed);
    assert_eq!(after.len(), 2000);
    let rewritten = before
        .iter()
        .filter(|(path, ino)| after.get(*path) != Some(ino))
        .count();
    assert_eq!(rewritten, 0);
    // Identical, apart from the temporary files of the writes the kill
    // cut short (leftovers that `dman gc` removes).
    let mut copy = read_tree(&landed);
    let temporary = copy.len() - 2000;
    copy.retain(|name, _| {
        !name
            .rsplit('/')
            .next()
            .unwrap_or(name)
            .starts_with(TEMP_PREFIX)
    });
    assert!(copy == read_tree(&src), "not identical");
    assert!(temporary <= 8, "{temporary} temporary files");

    let o = dman(work.path(), &["copy", s(&src), s(&dst), "--check-only"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("checked 2000 files ("),
        "{}",
        stdout(&o)
    );
    let o = dman(work.path(), &["copy", s(&src), s(&dst)]);
    assert!(
        stdout(&o).starts_with(&format!(
            "copied 0 files ({}), skipped 2000 identical (",
            dman::tree::human_size(0)
        )),
        "{}",
        stdout(&o)
    );
}

#[test]
fn dry_run_delete_and_check() {
    let fx = getting_started_workspace();
    let cwd = fx.path();
    let out = cwd.join("out");

    // A dry run lists every file and writes nothing, not even the folder.
    let o = dman(cwd, &["copy", ".", "out", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed: Vec<&str> = stdout(&o).leak().lines().collect();
    assert_eq!(
        listed
            .iter()
            .filter(|l| l.starts_with("would copy ") && !l.ends_with("(dry run: nothing written)"))
            .count(),
        11,
        "{listed:?}"
    );
    assert!(
        listed.contains(&"would copy demo/config.json"),
        "{listed:?}"
    );
    assert!(!out.exists());

    let o = dman(cwd, &["copy", ".", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("copied 11 files ("),
        "{}",
        stdout(&o)
    );
    assert_eq!(read_tree(&cwd.join(".dman")), read_tree(&out.join(".dman")));

    // One file changed in place (same size), one gone, one extra.
    let config = out.join(".dman/demo/config.json");
    let mut bytes = std::fs::read(&config).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&config, &bytes).expect("write");
    let gitignore = out.join(".dman/demo/.gitignore");
    std::fs::remove_file(&gitignore).expect("remove");
    let extra = out.join(".dman/demo/extra.txt");
    std::fs::write(&extra, "not in the source").expect("write");

    let o = dman(cwd, &["copy", ".", "out", "--check-only"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "differs: demo/.gitignore: missing\ndiffers: demo/config.json: content differs\n"
    );
    assert!(
        stderr(&o).contains("2 of 11 files not identical")
            && stderr(&o).contains("(1 file at the destination not in the source)"),
        "{}",
        stderr(&o)
    );

    let o = dman(cwd, &["copy", ".", "out", "--dry-run", "--delete"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(
            "would copy demo/.gitignore\nwould copy demo/config.json\nwould delete demo/extra.txt\n\
             would copy 2 files ("
        ),
        "{}",
        stdout(&o)
    );
    assert!(extra.exists() && !gitignore.exists(), "the dry run wrote");

    let o = dman(cwd, &["copy", ".", "out", "--delete", "--check", "--json"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let done = summary(&stdout(&o));
    assert_eq!(
        (
            count(&done, "copied"),
            count(&done, "skipped"),
            count(&done, "deleted"),
            count(&done, "checked")
        ),
        (2, 9, 1, 11)
    );
    assert_eq!(
        done.get("differences"),
        Some(&Value::from(Vec::<Value>::new()))
    );
    assert!(!extra.exists());
    assert_eq!(read_tree(&cwd.join(".dman")), read_tree(&out.join(".dman")));
}

#[test]
fn overlapping_copies_are_refused() {
    let fx = getting_started_workspace();
    let cwd = fx.path();
    for (src, dst, why) in [
        (".dman", ".dman", "they are the same folder"),
        (".", ".dman", "they are the same folder"),
        (
            ".dman",
            ".dman/cache/inner",
            "the destination is inside the source",
        ),
        (
            ".dman/cache",
            ".dman",
            "the source is inside the destination",
        ),
        (
            ".dman",
            ".dman/shared.zip",
            "the destination archive is inside the source folder",
        ),
        (
            "s3://b/exp",
            "s3://b/exp/v2",
            "one prefix is inside the other",
        ),
        ("s3://b", "s3://b/any", "one prefix is inside the other"),
        ("s3://b/exp/", "s3://b/exp", "the same bucket and prefix"),
        ("memory://m", "memory://m", "the same memory backend"),
    ] {
        let before = read_tree(&cwd.join(".dman"));
        let o = dman(cwd, &["copy", src, dst]);
        assert_eq!(o.status.code(), Some(2), "{src} → {dst}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("refusing to copy") && stderr(&o).contains(why),
            "{src} → {dst}: {}",
            stderr(&o)
        );
        assert_eq!(read_tree(&cwd.join(".dman")), before, "{src} → {dst}");
    }
    assert!(!cwd.join(".dman/shared.zip").exists());
    assert!(!cwd.join(".dman/cache/inner").exists());

    // Neighbours are not nested.
    let o = dman(cwd, &["copy", ".dman", "dman-copy"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn missing_sources_and_ambiguous_destinations_are_errors() {
    let work = tempfile::tempdir().expect("temp dir");
    let cwd = work.path();
    for missing in ["missing.zip", "missing-folder", "zip://missing.zip"] {
        let o = dman(cwd, &["copy", missing, "out"]);
        assert_eq!(o.status.code(), Some(2), "{missing}: {}", stdout(&o));
        assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
        assert!(!stdout(&o).contains("copied"), "{}", stdout(&o));
    }
    assert!(!cwd.join("out").exists());

    // A folder holding other files and no `.dman`: say both ways out.
    std::fs::create_dir_all(cwd.join("src/.dman/k")).expect("mkdir");
    std::fs::write(cwd.join("src/.dman/k/k.json"), "[1]").expect("write");
    std::fs::create_dir_all(cwd.join("project")).expect("mkdir");
    std::fs::write(cwd.join("project/notes.txt"), "mine").expect("write");
    let o = dman(cwd, &["copy", "src", "project"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds files but no `.dman` folder: copy into `project/.dman`")
            && stderr(&o).contains("`file://project`"),
        "{}",
        stderr(&o)
    );
    let o = dman(cwd, &["copy", "src", "file://project"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(cwd.join("project/k/k.json").exists());
    let o = dman(cwd, &["copy", "src", "project/.dman", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force is no longer needed"));
    assert!(cwd.join("project/.dman/k/k.json").exists());

    // An empty source copies nothing, and says so.
    std::fs::create_dir_all(cwd.join("empty")).expect("mkdir");
    let o = dman(cwd, &["copy", "empty", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: source `empty` holds no files"));
    // ... and never mirrors nothing onto a destination.
    let o = dman(cwd, &["copy", "empty", "project/.dman", "--delete"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("refusing to delete every file"),
        "{}",
        stderr(&o)
    );
    assert!(cwd.join("project/.dman/k/k.json").exists());
}

/// A folder's `.dman` goes under `.dman/` at the archive's top (what
/// `zip -r results.zip .dman` gives and Python reads), and an archive,
/// ours or Python's, is restored into a folder's `.dman`.
#[test]
fn folder_and_zip_keep_dman_at_the_top() {
    let fx = getting_started_workspace();
    let cwd = fx.path();
    let o = dman(cwd, &["copy", ".", "shared.zip"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = zip_files(&cwd.join("shared.zip"))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names.len(), 11);
    assert!(names.iter().all(|n| n.starts_with(".dman/")), "{names:?}");

    let o = dman(cwd, &["copy", "shared.zip", "restored"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_tree(&cwd.join(".dman")),
        read_tree(&cwd.join("restored/.dman"))
    );
    // Again into the workspace restored: identical, nothing copied.
    let o = dman(cwd, &["copy", "shared.zip", "restored"]);
    assert!(
        stdout(&o).starts_with(&format!(
            "copied 0 files ({}), skipped 11 identical (",
            dman::tree::human_size(0)
        )),
        "{}",
        stdout(&o)
    );

    // Python's archive (written by Python's zipfile), restored likewise.
    let python_zip = getting_started_zip();
    let o = dman(cwd, &["copy", s(&python_zip), "from-python"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_tree(&cwd.join(".dman")),
        read_tree(&cwd.join("from-python/.dman"))
    );
    let o = dman(cwd, &["copy", s(&python_zip), "shared.zip", "--check-only"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // Into an archive that exists, its files identical: nothing rewritten.
    let o = dman(cwd, &["copy", "from-python", "shared.zip", "--json"]);
    let done = summary(&stdout(&o));
    assert_eq!((count(&done, "copied"), count(&done, "skipped")), (0, 11));
}

/// On S3 (moto): a second copy skips every file, compared by its ETag (the
/// MD5 of an object uploaded whole) with the local file's MD5, or with
/// another object's ETag; a changed file is found and copied again.
#[test]
fn copies_to_and_from_s3_skip_identical_files() {
    use dman_test_support::s3::MotoServer;
    let moto = MotoServer::start();
    moto.create_bucket("results");
    let fx = getting_started_workspace();
    let cwd = fx.path();
    let run = |args: &[&str]| dman_s3(moto.endpoint(), cwd, args);
    let copied_skipped = |o: &std::process::Output| {
        assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
        let done = summary(&stdout(o));
        (count(&done, "copied"), count(&done, "skipped"))
    };

    assert_eq!(
        copied_skipped(&run(&["copy", ".", "s3://results/exp", "--json"])),
        (11, 0)
    );
    assert_eq!(
        copied_skipped(&run(&["copy", ".", "s3://results/exp", "--json"])),
        (0, 11)
    );
    // Bucket to bucket prefix: ETag against ETag.
    assert_eq!(
        copied_skipped(&run(&[
            "copy",
            "s3://results/exp",
            "s3://results/exp2",
            "--json"
        ])),
        (11, 0)
    );
    assert_eq!(
        copied_skipped(&run(&[
            "copy",
            "s3://results/exp",
            "s3://results/exp2",
            "--json"
        ])),
        (0, 11)
    );

    // The same size, another content: found by `--check`, copied again.
    let config = cwd.join(".dman/demo/config.json");
    let mut bytes = std::fs::read(&config).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&config, &bytes).expect("write");
    let o = run(&["copy", ".", "s3://results/exp", "--check-only"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "differs: demo/config.json: content differs\n");
    let o = run(&["copy", ".", "s3://results/exp", "--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("copied 1 file (") && stdout(&o).contains("skipped 10 identical"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("checked 11 files ("), "{}", stdout(&o));

    let o = run(&["copy", "s3://results/exp", "back"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_tree(&cwd.join(".dman")),
        read_tree(&cwd.join("back/.dman"))
    );
}

/// A file the source's listing leaves out (a symbolic link out of the
/// root) would look absent: `--delete` refuses instead of deleting its
/// namesake at the destination.
#[test]
fn delete_refuses_when_source_files_cannot_be_read() {
    let work = tempfile::tempdir().expect("temp dir");
    let cwd = work.path();
    let src = cwd.join("src/.dman");
    std::fs::create_dir_all(src.join("k")).expect("mkdir");
    std::fs::write(src.join("k/k.json"), "[1]").expect("write");
    std::fs::write(cwd.join("outside.txt"), "elsewhere").expect("write");
    std::os::unix::fs::symlink(cwd.join("outside.txt"), src.join("k/link.txt")).expect("symlink");
    let kept = cwd.join("dst/.dman/k/link.txt");
    std::fs::create_dir_all(kept.parent().expect("parent")).expect("mkdir");
    std::fs::write(&kept, "the only copy").expect("write");

    let o = dman(cwd, &["copy", "src", "dst", "--delete"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("cannot copy: k/link.txt")
            && stderr(&o).contains("refusing --delete: 1 file of the source cannot be copied"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&kept).expect("kept"),
        "the only copy"
    );
}
