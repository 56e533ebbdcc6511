//! Every named error, triggered from outside through the public API, can be
//! told apart by its variant and says what happened in its message.
//!
//! `Error::NoRoot` has a test binary of its own (`no_root.rs`): it sets an
//! environment variable, which must not race other tests.

use dman::{
    Error, FileRef, Key, MList, MRuns, Modelclass, Operation, StorageBackend, StorageError,
};

#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config", storable)]
struct Config {
    seed: u64,
}

/// A path under `dir` whose parent is a regular file: every operating
/// system refuses to make or read it (`ENOTDIR`), even for root, who
/// ignores permissions (these tests run as root on the build machine, so a
/// `chmod 000` folder would not fail).
fn below_a_file(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("a-file");
    std::fs::write(&file, b"not a folder").expect("write the blocking file");
    file.join("project")
}

#[test]
fn init_below_a_file_is_an_io_error_naming_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = below_a_file(dir.path());
    let err = dman::init(&project).expect_err("a file is in the way");
    let expected = project.join(".dman");
    assert!(
        matches!(&err, Error::Io { path, source }
            if path == &expected && source.kind() == std::io::ErrorKind::NotADirectory),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("I/O error at `{}`: ", expected.display())),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_scheme_is_an_invalid_location() {
    let Err(err) = dman::open("ftp://host/x") else {
        panic!("ftp:// opened");
    };
    assert!(
        matches!(&err, Error::InvalidLocation { location, reason }
            if location == "ftp://host/x" && reason.contains("`ftp` backend")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "cannot open `ftp://host/x`: the `ftp` backend is not part of this build"
    );
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn an_s3_url_without_a_bucket_is_an_invalid_location() {
    let Err(err) = dman::open("s3://") else {
        panic!("s3:// without a bucket opened");
    };
    assert!(
        matches!(&err, Error::InvalidLocation { location, .. } if location == "s3://"),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("cannot open `s3://`: "),
        "{err}"
    );
}

#[tokio::test]
async fn blocking_inside_a_runtime_is_inside_runtime() {
    let err = dman::blocking::open("memory://")
        .expect("open")
        .exists("config")
        .expect_err("refused inside a runtime");
    assert!(matches!(err, Error::InsideRuntime), "{err:?}");
    assert!(
        err.to_string()
            .contains("called from inside an async runtime; use the async API"),
        "{err}"
    );
}

#[test]
fn setting_past_the_end_is_index_out_of_range() {
    let mut list = MList::<Config>::new();
    list.push(Config { seed: 1 });
    let err = list.set(99, Config { seed: 2 }).expect_err("past the end");
    assert!(
        matches!(err, Error::IndexOutOfRange { index: 99, len: 1 }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "index 99 out of range for a list of 1");

    let mut runs = MRuns::<Config>::new();
    let err = runs.set(0, Config { seed: 3 }).expect_err("empty");
    assert!(
        matches!(err, Error::IndexOutOfRange { index: 0, len: 0 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_key_with_a_slash_is_an_invalid_key() {
    let repo = dman::open("memory://").expect("open");
    let err = repo
        .save(Key::new("a/b").cluster(false), &Config { seed: 1 })
        .await
        .expect_err("not a plain file name");
    assert!(
        matches!(&err, Error::InvalidKey { key, .. } if key == "a/b"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "invalid key `a/b`: a key must be a plain file name"
    );
    assert!(repo
        .backend()
        .list(&dman::StoragePath::root())
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test]
async fn a_missing_key_names_its_file_and_backend() {
    let repo = dman::open("memory://").expect("open").with_generator("g");
    let err = repo
        .load::<Config>("absent")
        .await
        .expect_err("never saved");
    let Error::KeyNotFound { file } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(file.path.as_str(), "g/absent/absent.json");
    assert_eq!(file.backend, repo.backend().location());
    assert_eq!(
        err.to_string(),
        format!("could not find tracked file {file}")
    );
    // `Debug` (what `fn main() -> dman::Result<()>` prints) is the sentence
    // too, and the storage error under it is a cause only if not quoted.
    let debug = format!("{err:?}");
    assert!(debug.starts_with(&err.to_string()), "{debug}");
    assert!(!debug.contains("KeyNotFound"), "{debug}");
    assert!(format!("{err:#?}").starts_with("KeyNotFound: could not find"));
    assert_eq!(
        file.to_string(),
        format!("g/absent/absent.json in {}", repo.backend().location())
    );
    assert_eq!(
        *file,
        FileRef::new(
            repo.backend().location(),
            &"g/absent/absent.json".parse().expect("path")
        )
    );
}

#[tokio::test]
async fn a_closure_that_gives_up_is_aborted_and_saves_nothing() {
    let repo = dman::open("memory://").expect("open");
    let err = repo
        .track(
            Key::new("config").cluster(false),
            || Config { seed: 0 },
            async |config: &mut Config| -> dman::Result<()> {
                config.seed = 7;
                Err(Error::aborted("the experiment failed"))
            },
        )
        .await
        .expect_err("the closure gave up");
    assert!(matches!(&err, Error::Aborted(_)), "{err:?}");
    assert_eq!(err.to_string(), "the experiment failed");
    assert!(!repo
        .exists(Key::new("config").cluster(false))
        .await
        .expect("exists"));
}

#[tokio::test]
async fn a_local_write_below_a_file_fails_with_the_write_operation() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("blocker"), b"a file").expect("write the blocker");
    let backend = dman::FsBackend::new(dir.path()).expect("backend");
    let path: dman::StoragePath = "blocker/inside.json".parse().expect("path");
    let err = backend
        .write(&path, "{}".into())
        .await
        .expect_err("a file is in the way");
    assert!(
        matches!(&err, StorageError::Failed { op: Operation::Write, path: failed, .. } if failed == &path),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("cannot write `blocker/inside.json`"),
        "{err}"
    );
}
