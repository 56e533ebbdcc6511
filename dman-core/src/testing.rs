//! The backend conformance suite (feature `testing`).
//!
//! Every backend crate runs it from its own tests, with one call on a fresh,
//! empty backend:
//!
//! ```no_run
//! use std::sync::Arc;
//! use dman_core::StorageBackend;
//!
//! // In `tests/conformance.rs`, under `#[tokio::test(flavor = "multi_thread")]`,
//! // with `backend` a fresh `Arc::new(MyBackend::new())`:
//! async fn conformance(backend: Arc<dyn StorageBackend>) {
//!     dman_core::testing::conformance(backend).await;
//! }
//! ```
//!
//! A failed check panics with a message that names the check, the backend's
//! location and what went wrong. Each check is also a `pub async fn` of its
//! own, so a backend can run a subset (a slow remote store, a second
//! configuration). Each check works under its own top-level folder (named
//! after the check) and deletes what it wrote, so the checks do not
//! interfere when run one after the other on one backend. They spawn Tokio
//! tasks, so they must run inside a Tokio runtime; the multi-threaded one
//! makes the concurrency checks truly parallel.

use std::sync::Arc;

use bytes::Bytes;
use rand::{RngCore, SeedableRng};

use crate::{ObjectMeta, StorageBackend, StorageError, StoragePath};

/// The names of the suite's checks, in the order [`conformance`] runs them.
pub const CHECKS: &[&str] = &[
    "round_trip",
    "root_is_not_a_file",
    "overwrite",
    "empty_file",
    "large_file",
    "deep_nesting",
    "unusual_names",
    "encoded_names",
    "case_and_normalisation",
    "file_and_folder_at_one_path",
    "read_below_a_file",
    "list",
    "delete",
    "exists",
    "missing_read_error",
    "copy",
    "flush",
    "concurrent_writes",
    "concurrent_writes_and_deletes",
    "reader_racing_writer",
    "hostile_paths",
    "conditional_writes",
    "concurrent_conditional_writes",
    "head",
    "last_modified",
    "streams",
    "payloads",
    "read_many",
    "open_read",
    "stream_abort",
    "leftovers_clean",
];

/// Runs every check of the suite, one after the other, on a fresh and
/// empty backend, and checks that the backend is empty again at the end.
///
/// # Panics
///
/// On the first check that fails, with a message naming it.
pub async fn conformance(backend: Arc<dyn StorageBackend>) {
    conformance_except(backend, &[]).await;
}

/// [`conformance`] without the checks named in `skip` (from [`CHECKS`]),
/// for a backend that cannot pass one for a reason outside the contract
/// (a test server's own limits); the caller says why where it calls this.
///
/// # Panics
///
/// On the first check that fails, and on a name that is not a check.
pub async fn conformance_except(backend: Arc<dyn StorageBackend>, skip: &[&str]) {
    let root = Check::new(&backend, "conformance");
    let before = root.list(&StoragePath::root()).await;
    assert!(
        before.is_empty(),
        "{}: the suite needs a fresh, empty backend, but it holds {} files: {:?}",
        root.name(),
        before.len(),
        before
            .iter()
            .map(|meta| meta.path.as_str())
            .collect::<Vec<_>>()
    );

    for name in skip {
        assert!(
            CHECKS.contains(name),
            "{}: no check is called `{name}` (the checks: {CHECKS:?})",
            root.name()
        );
    }
    let run = |name: &str| !skip.contains(&name);
    if run("round_trip") {
        round_trip(backend.clone()).await;
    }
    if run("root_is_not_a_file") {
        root_is_not_a_file(backend.clone()).await;
    }
    if run("overwrite") {
        overwrite(backend.clone()).await;
    }
    if run("empty_file") {
        empty_file(backend.clone()).await;
    }
    if run("large_file") {
        large_file(backend.clone()).await;
    }
    if run("deep_nesting") {
        deep_nesting(backend.clone()).await;
    }
    if run("unusual_names") {
        unusual_names(backend.clone()).await;
    }
    if run("encoded_names") {
        encoded_names(backend.clone()).await;
    }
    if run("case_and_normalisation") {
        case_and_normalisation(backend.clone()).await;
    }
    if run("file_and_folder_at_one_path") {
        file_and_folder_at_one_path(backend.clone()).await;
    }
    if run("read_below_a_file") {
        read_below_a_file(backend.clone()).await;
    }
    if run("list") {
        list(backend.clone()).await;
    }
    if run("delete") {
        delete(backend.clone()).await;
    }
    if run("exists") {
        exists(backend.clone()).await;
    }
    if run("missing_read_error") {
        missing_read_error(backend.clone()).await;
    }
    if run("copy") {
        copy(backend.clone()).await;
    }
    if run("flush") {
        flush(backend.clone()).await;
    }
    if run("concurrent_writes") {
        concurrent_writes(backend.clone()).await;
    }
    if run("concurrent_writes_and_deletes") {
        concurrent_writes_and_deletes(backend.clone()).await;
    }
    if run("reader_racing_writer") {
        reader_racing_writer(backend.clone()).await;
    }
    if run("hostile_paths") {
        hostile_paths(backend.clone()).await;
    }
    if run("conditional_writes") {
        conditional_writes(backend.clone()).await;
    }
    if run("concurrent_conditional_writes") {
        concurrent_conditional_writes(backend.clone()).await;
    }
    if run("head") {
        head(backend.clone()).await;
    }
    if run("last_modified") {
        last_modified(backend.clone()).await;
    }
    if run("streams") {
        streams(backend.clone()).await;
    }
    if run("payloads") {
        payloads(backend.clone()).await;
    }
    if run("read_many") {
        read_many(backend.clone()).await;
    }
    if run("open_read") {
        open_read(backend.clone()).await;
    }
    if run("stream_abort") {
        stream_abort(backend.clone()).await;
    }
    if run("leftovers_clean") {
        leftovers_clean(backend.clone()).await;
    }

    let after = root.list(&StoragePath::root()).await;
    assert!(
        after.is_empty(),
        "{}: every check deletes what it wrote, yet these files remain: {:?}",
        root.name(),
        after
            .iter()
            .map(|meta| meta.path.as_str())
            .collect::<Vec<_>>()
    );
}

/// A file written, read back, equal; and listed with its size.
pub async fn round_trip(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "round_trip");
    let path = check.path("round-trip/data.bin");
    let data = pattern(1, 10_000);
    check.write(&path, data.clone()).await;
    check.assert_content(&path, &data).await;
    check.assert_content(&path, &data).await;
    let listed = check.list(&check.path("round-trip")).await;
    check.assert_listing(&listed, &[(&path, data.len())]);

    let text = check.path("round-trip/key.json");
    let json = Bytes::from_static(b"{\n    \"a\": 1\n}");
    check.write(&text, json.clone()).await;
    check.assert_content(&text, &json).await;

    check.cleanup("round-trip").await;
}

/// The root is a folder, not a file: writing it fails, reading it gives
/// not found, it does not exist as a file, and deleting it deletes nothing.
pub async fn root_is_not_a_file(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "root_is_not_a_file");
    let name = check.name();
    let root = StoragePath::root();
    let keep = check.path("root-is-not-a-file/keep.txt");
    check.write(&keep, Bytes::from_static(b"keep")).await;
    if backend.write(&root, Bytes::from_static(b"x")).await.is_ok() {
        panic!("{name}: writing a file at the root succeeded");
    }
    let err = check.read_err(&root).await;
    assert!(
        err.is_not_found(),
        "{name}: reading the root must give not found: {err}"
    );
    assert!(
        !check.exists(&root).await,
        "{name}: the root counts as a file"
    );
    check.delete(&root).await;
    check.assert_content(&keep, b"keep").await;
    check.cleanup("root-is-not-a-file").await;
}

/// A second write replaces the file entirely: shorter content leaves no
/// tail of the longer one.
pub async fn overwrite(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "overwrite");
    let path = check.path("overwrite/file.bin");
    let long = Bytes::from(vec![b'x'; 100_000]);
    let short = Bytes::from(vec![b'y'; 10]);
    check.write(&path, long.clone()).await;
    check.write(&path, short.clone()).await;
    check.assert_content(&path, &short).await;
    check.write(&path, Bytes::new()).await;
    check.assert_content(&path, &Bytes::new()).await;
    check.write(&path, long.clone()).await;
    check.assert_content(&path, &long).await;
    let listed = check.list(&check.path("overwrite")).await;
    check.assert_listing(&listed, &[(&path, long.len())]);
    check.cleanup("overwrite").await;
}

/// An empty file exists, reads back empty and is listed with size 0.
pub async fn empty_file(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "empty_file");
    let path = check.path("empty-file/empty");
    check.write(&path, Bytes::new()).await;
    assert!(
        check.exists(&path).await,
        "{}: an empty file must exist after it is written",
        check.name()
    );
    check.assert_content(&path, &Bytes::new()).await;
    let listed = check.list(&check.path("empty-file")).await;
    check.assert_listing(&listed, &[(&path, 0)]);
    check.cleanup("empty-file").await;
}

/// A 64 MiB file round-trips byte for byte and is listed with its size.
pub async fn large_file(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "large_file");
    let path = check.path("large-file/big.npy");
    let size = 64 * 1024 * 1024;
    let data = pattern(64, size);
    check.write(&path, data.clone()).await;
    check.assert_content(&path, &data).await;
    let listed = check.list(&check.path("large-file")).await;
    check.assert_listing(&listed, &[(&path, size)]);
    check.cleanup("large-file").await;
}

/// Files 24 folders deep are written, listed, read and deleted.
pub async fn deep_nesting(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "deep_nesting");
    let mut folder = check.path("deep-nesting");
    let mut middle = None;
    for level in 0..24 {
        folder = folder.join_path(&check.path(&format!("level-{level:02}")));
        if level == 11 {
            middle = Some(folder.join_path(&check.path("middle.txt")));
        }
    }
    let deep = folder.join_path(&check.path("deep.json"));
    let middle = middle.unwrap_or_else(|| panic!("{}: no middle file", check.name()));
    check.write(&deep, Bytes::from_static(b"deep")).await;
    check.write(&middle, Bytes::from_static(b"middle")).await;
    check.assert_content(&deep, b"deep").await;
    check.assert_content(&middle, b"middle").await;

    let listed = check.list(&check.path("deep-nesting")).await;
    check.assert_listing(&listed, &[(&deep, 4), (&middle, 6)]);
    let listed = check.list(&folder).await;
    check.assert_listing(&listed, &[(&deep, 4)]);

    check.delete(&deep).await;
    check.assert_not_found(&deep).await;
    check.assert_content(&middle, b"middle").await;
    let listed = check.list(&check.path("deep-nesting")).await;
    check.assert_listing(&listed, &[(&middle, 6)]);
    check.cleanup("deep-nesting").await;
}

/// Valid names that are unusual: colons, spaces, non-ASCII, dot files,
/// several dots.
pub async fn unusual_names(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "unusual_names");
    let names = [
        "unusual-names/cache/examples:patterns:common/key/key.json",
        "unusual-names/résultats/ü.npy",
        "unusual-names/with space/a b.txt",
        "unusual-names/.gitignore",
        "unusual-names/a.tar.gz",
        "unusual-names/日本語/データ.json",
    ];
    let mut expected = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let path = check.path(name);
        let data = Bytes::from(format!("file {index}: {name}"));
        check.write(&path, data.clone()).await;
        check.assert_content(&path, &data).await;
        expected.push((path, data.len()));
    }
    let listed = check.list(&check.path("unusual-names")).await;
    let expected: Vec<_> = expected.iter().map(|(path, size)| (path, *size)).collect();
    check.assert_listing(&listed, &expected);
    check.cleanup("unusual-names").await;
}

/// Listing: under a prefix and at the root, with sizes, sorted by path;
/// `a/b` lists `a/b/...` but not `a/bc` nor `a/b.txt`; a missing prefix,
/// or one that is a file, lists nothing.
pub async fn list(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "list");
    let files = [
        ("list/a/bc", 3),
        ("list/a/b/y/z", 2),
        ("list/a.txt", 6),
        ("list/a/b/x", 1),
        ("list/a/b-c/d", 5),
        ("list/a/b.txt", 4),
        ("conformance-list-root-file.bin", 7),
    ];
    for (name, size) in files {
        check
            .write(&check.path(name), Bytes::from(vec![b'l'; size]))
            .await;
    }
    let expect = |names: &[&str]| -> Vec<(StoragePath, usize)> {
        names
            .iter()
            .map(|name| {
                let size = files
                    .iter()
                    .find(|(file, _)| file == name)
                    .map(|(_, size)| *size)
                    .unwrap_or_else(|| panic!("{}: unknown file {name}", check.name()));
                (check.path(name), size)
            })
            .collect()
    };

    // Sorted by the byte order of the path strings: '-' < '.' < '/' < 'c'.
    let all_under_list = expect(&[
        "list/a.txt",
        "list/a/b-c/d",
        "list/a/b.txt",
        "list/a/b/x",
        "list/a/b/y/z",
        "list/a/bc",
    ]);
    let listed = check.list(&check.path("list")).await;
    check.assert_listing_owned(&listed, &all_under_list);

    let listed = check.list(&check.path("list/a/b")).await;
    check.assert_listing_owned(&listed, &expect(&["list/a/b/x", "list/a/b/y/z"]));
    let listed = check.list(&check.path("list/a/b/y")).await;
    check.assert_listing_owned(&listed, &expect(&["list/a/b/y/z"]));

    for nothing in [
        "list/missing",
        "list/a/b/missing/deeper",
        "list/a/bc",
        "list/a/b/x",
    ] {
        let listed = check.list(&check.path(nothing)).await;
        assert!(
            listed.is_empty(),
            "{}: listing `{nothing}` (missing, or a file rather than a folder) must give nothing, got {listed:?}",
            check.name()
        );
    }

    // The root lists everything, this check's files among them, sorted.
    let listed = check.list(&StoragePath::root()).await;
    check.assert_sorted(&listed);
    let mine: Vec<ObjectMeta> = listed
        .into_iter()
        .filter(|meta| {
            meta.path.starts_with(&check.path("list"))
                || meta.path == check.path("conformance-list-root-file.bin")
        })
        .collect();
    let mut at_root = expect(&["conformance-list-root-file.bin"]);
    at_root.extend(all_under_list);
    check.assert_listing_owned(&mine, &at_root);

    check
        .delete(&check.path("conformance-list-root-file.bin"))
        .await;
    check.cleanup("list").await;
}

/// Delete: a deleted file reads as not found, deleting twice succeeds,
/// deleting what never existed succeeds, and siblings are untouched.
pub async fn delete(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "delete");
    let path = check.path("delete/folder/file.bin");
    let sibling = check.path("delete/folder/sibling.bin");
    check.write(&path, Bytes::from_static(b"doomed")).await;
    check.write(&sibling, Bytes::from_static(b"kept")).await;
    check.delete(&path).await;
    check.assert_not_found(&path).await;
    check.delete(&path).await;
    check.delete(&check.path("delete/never/written/file")).await;
    check.delete(&check.path("delete/folder/never.bin")).await;
    check.assert_content(&sibling, b"kept").await;
    let listed = check.list(&check.path("delete")).await;
    check.assert_listing(&listed, &[(&sibling, 4)]);
    // Folders have no existence of their own: deleting one deletes nothing.
    check.delete(&check.path("delete/folder")).await;
    check.assert_content(&sibling, b"kept").await;

    check.delete(&sibling).await;
    check.assert_not_found(&sibling).await;
    let listed = check.list(&check.path("delete")).await;
    check.assert_listing(&listed, &[]);
    // Writing again after the folder emptied works.
    check.write(&path, Bytes::from_static(b"again")).await;
    check.assert_content(&path, b"again").await;
    check.cleanup("delete").await;
}

/// `exists`: false before a write, true after, false after a delete; a
/// folder is not a file.
pub async fn exists(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "exists");
    let path = check.path("exists/folder/file.txt");
    let name = check.name();
    assert!(
        !check.exists(&path).await,
        "{name}: `{path}` exists before it is written"
    );
    check.write(&path, Bytes::from_static(b"here")).await;
    assert!(
        check.exists(&path).await,
        "{name}: `{path}` does not exist after it is written"
    );
    let folder = check.path("exists/folder");
    assert!(
        !check.exists(&folder).await,
        "{name}: the folder `{folder}` counts as a file; folders have no existence of their own"
    );
    assert!(
        !check
            .exists(&check.path("exists/folder/file.txt/below"))
            .await,
        "{name}: a path below a file exists"
    );
    check.delete(&path).await;
    assert!(
        !check.exists(&path).await,
        "{name}: `{path}` still exists after it was deleted"
    );
    check.cleanup("exists").await;
}

/// A missing file gives [`StorageError::NotFound`], whose message names the
/// path; so does a folder, which is not a file.
pub async fn missing_read_error(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "missing_read_error");
    let name = check.name();
    for missing in [
        "missing-read-error/never-written.json",
        "missing-read-error/no/such/folder/file.npy",
    ] {
        let path = check.path(missing);
        let err = check.read_err(&path).await;
        assert!(
            err.is_not_found(),
            "{name}: reading missing `{path}` gave another error than not found: {err}"
        );
        assert_eq!(
            err.path(),
            &path,
            "{name}: the error of a missing read carries another path"
        );
        let message = err.to_string();
        assert!(
            message.contains(path.as_str()),
            "{name}: the error of a missing read does not name the path `{path}`: {message}"
        );
    }
    let file = check.path("missing-read-error/folder/file");
    check.write(&file, Bytes::from_static(b"x")).await;
    let folder = check.path("missing-read-error/folder");
    let err = check.read_err(&folder).await;
    assert!(
        err.is_not_found(),
        "{name}: reading the folder `{folder}` must give not found: {err}"
    );
    check.cleanup("missing-read-error").await;
}

/// `copy` duplicates a file (into new folders too), leaves the source, can
/// overwrite, and fails with not found for a missing source.
pub async fn copy(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "copy");
    let name = check.name();
    let from = check.path("copy/from.bin");
    let to = check.path("copy/to/new/folder/to.bin");
    let data = pattern(7, 300_000);
    check.write(&from, data.clone()).await;
    backend
        .copy(&from, &to)
        .await
        .unwrap_or_else(|err| panic!("{name}: copy `{from}` to `{to}` failed: {err}"));
    check.assert_content(&to, &data).await;
    check.assert_content(&from, &data).await;

    let other = check.path("copy/other.bin");
    check.write(&other, Bytes::from_static(b"other")).await;
    backend
        .copy(&other, &to)
        .await
        .unwrap_or_else(|err| panic!("{name}: copy `{other}` over `{to}` failed: {err}"));
    check.assert_content(&to, b"other").await;

    let missing = check.path("copy/missing.bin");
    match backend
        .copy(&missing, &check.path("copy/nowhere.bin"))
        .await
    {
        Ok(()) => panic!("{name}: copying missing `{missing}` succeeded"),
        Err(err) => assert!(
            err.is_not_found(),
            "{name}: copying missing `{missing}` must give not found: {err}"
        ),
    }
    assert!(
        !check.exists(&check.path("copy/nowhere.bin")).await,
        "{name}: a failed copy left a file behind"
    );
    check.cleanup("copy").await;
}

/// `flush` succeeds, on its own and after writes, and what was written
/// stays readable.
pub async fn flush(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "flush");
    let name = check.name();
    backend
        .flush()
        .await
        .unwrap_or_else(|err| panic!("{name}: flush failed: {err}"));
    let path = check.path("flush/file.json");
    check.write(&path, Bytes::from_static(b"{}")).await;
    backend
        .flush()
        .await
        .unwrap_or_else(|err| panic!("{name}: flush after a write failed: {err}"));
    check.assert_content(&path, b"{}").await;
    check.cleanup("flush").await;
    backend
        .flush()
        .await
        .unwrap_or_else(|err| panic!("{name}: flush after a delete failed: {err}"));
}

/// 200 concurrent writes to different paths (some sharing new folders) all
/// read back intact.
pub async fn concurrent_writes(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "concurrent_writes");
    let count = 200;
    let path_of = |index: usize| {
        check.path(&format!(
            "concurrent-writes/folder-{}/sub/file-{index:03}.bin",
            index % 7
        ))
    };
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let backend = backend.clone();
            let path = path_of(index);
            let data = pattern(index as u64 + 1000, 1000 + index * 37);
            tokio::spawn(async move { backend.write(&path, data).await.map_err(|err| (path, err)) })
        })
        .collect();
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok(Ok(())) => {}
            Ok(Err((path, err))) => panic!(
                "{}: concurrent write of `{path}` failed: {err}",
                check.name()
            ),
            Err(err) => panic!("{}: a writing task failed: {err}", check.name()),
        }
    }
    let mut expected = Vec::new();
    for index in 0..count {
        let path = path_of(index);
        let data = pattern(index as u64 + 1000, 1000 + index * 37);
        check.assert_content(&path, &data).await;
        expected.push((path, data.len()));
    }
    expected.sort();
    let listed = check.list(&check.path("concurrent-writes")).await;
    check.assert_listing_owned(&listed, &expected);
    check.cleanup("concurrent-writes").await;
}

/// Concurrent writes and deletes in shared folders: a delete that empties a
/// folder does not break a write racing into the same folder.
pub async fn concurrent_writes_and_deletes(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "concurrent_writes_and_deletes");
    let count = 100;
    let path_of = |index: usize| {
        check.path(&format!(
            "concurrent-churn/shared-{}/file-{index:03}",
            index % 3
        ))
    };
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let backend = backend.clone();
            let path = path_of(index);
            tokio::spawn(async move {
                for round in 0..3 {
                    let data = Bytes::from(format!("{path} round {round}"));
                    backend
                        .write(&path, data)
                        .await
                        .map_err(|err| (path.clone(), err))?;
                    if index % 2 == 0 || round < 2 {
                        backend
                            .delete(&path)
                            .await
                            .map_err(|err| (path.clone(), err))?;
                    }
                }
                Ok(())
            })
        })
        .collect();
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok(Ok(())) => {}
            Ok(Err((path, err))) => panic!(
                "{}: write or delete of `{path}` failed: {err}",
                check.name()
            ),
            Err(err) => panic!("{}: a task failed: {err}", check.name()),
        }
    }
    let mut expected = Vec::new();
    for index in 0..count {
        let path = path_of(index);
        if index % 2 == 0 {
            check.assert_not_found(&path).await;
        } else {
            let data = format!("{path} round 2");
            check.assert_content(&path, data.as_bytes()).await;
            expected.push((path, data.len()));
        }
    }
    expected.sort();
    let listed = check.list(&check.path("concurrent-churn")).await;
    check.assert_listing_owned(&listed, &expected);
    check.cleanup("concurrent-churn").await;
}

/// A reader racing a writer on one path always sees one whole version, and
/// the reads really interleave with the writes: the writer writes four
/// 1 MiB versions in turn, 100 times, while two readers read without pause;
/// before each write the writer waits (yielding, no sleep) until some read
/// has completed since its previous write, so that the reads cannot all
/// fall before or after the writing. Every read is counted by the version
/// it saw, and reads made while the writer was writing must have seen at
/// least two different versions: a backend whose reads return a stale
/// version while writes go on, or block until the writing ends, fails.
pub async fn reader_racing_writer(backend: Arc<dyn StorageBackend>) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const WRITES: usize = 100;
    const READERS: usize = 2;
    let check = Check::new(&backend, "reader_racing_writer");
    let path = check.path("reader-racing-writer/contended.bin");
    let size = 1024 * 1024;
    let versions: Arc<Vec<Bytes>> = Arc::new((0..4).map(|seed| pattern(11 + seed, size)).collect());
    check.write(&path, versions[0].clone()).await;
    // Reads completed; whether the writer is writing (it starts before the
    // readers, so that no read is counted before it began); whether it or
    // a reader has stopped; per version, the reads while writing that saw it.
    let reads = Arc::new(AtomicUsize::new(0));
    let writing = Arc::new(AtomicBool::new(true));
    let failed = Arc::new(AtomicBool::new(false));
    let seen: Arc<Vec<AtomicUsize>> =
        Arc::new((0..versions.len()).map(|_| AtomicUsize::new(0)).collect());

    let writer = {
        let (backend, path, versions) = (backend.clone(), path.clone(), versions.clone());
        let (reads, writing, failed) = (reads.clone(), writing.clone(), failed.clone());
        tokio::spawn(async move {
            let mut done = 0;
            for round in 1..=WRITES {
                let reads_before = reads.load(Ordering::SeqCst);
                let result = backend
                    .write(&path, versions[round % versions.len()].clone())
                    .await;
                if let Err(err) = result {
                    failed.store(true, Ordering::SeqCst);
                    writing.store(false, Ordering::SeqCst);
                    return Err(err);
                }
                done = round;
                while reads.load(Ordering::SeqCst) == reads_before && !failed.load(Ordering::SeqCst)
                {
                    tokio::task::yield_now().await;
                }
            }
            writing.store(false, Ordering::SeqCst);
            Ok::<usize, StorageError>(done)
        })
    };
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (backend, path, versions) = (backend.clone(), path.clone(), versions.clone());
            let (reads, writing, failed, seen) =
                (reads.clone(), writing.clone(), failed.clone(), seen.clone());
            tokio::spawn(async move {
                loop {
                    let last_read = !writing.load(Ordering::SeqCst);
                    let data = match backend.read(&path).await {
                        Ok(data) => data,
                        Err(err) => {
                            failed.store(true, Ordering::SeqCst);
                            return Err(err);
                        }
                    };
                    let Some(index) = versions.iter().position(|version| *version == data) else {
                        failed.store(true, Ordering::SeqCst);
                        return Ok(Err(describe_mismatch(&data, &versions)));
                    };
                    if !last_read && writing.load(Ordering::SeqCst) {
                        seen[index].fetch_add(1, Ordering::SeqCst);
                    }
                    reads.fetch_add(1, Ordering::SeqCst);
                    if last_read {
                        return Ok::<_, StorageError>(Ok(()));
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let name = check.name();
    let done = match writer.await {
        Ok(Ok(done)) => done,
        Ok(Err(err)) => panic!("{name}: a write of `{path}` failed: {err}"),
        Err(err) => panic!("{name}: the writing task failed: {err}"),
    };
    for reader in readers {
        match reader.await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(mismatch))) => panic!(
                "{name}: a read of `{path}` raced with a write and saw no whole version: {mismatch}"
            ),
            Ok(Err(err)) => panic!("{name}: a read of `{path}` racing a write failed: {err}"),
            Err(err) => panic!("{name}: the reading task failed: {err}"),
        }
    }
    let counts: Vec<usize> = seen
        .iter()
        .map(|count| count.load(Ordering::SeqCst))
        .collect();
    let distinct = counts.iter().filter(|count| **count > 0).count();
    let total = reads.load(Ordering::SeqCst);
    assert!(
        distinct >= 2,
        "{name}: reads and writes did not interleave: of {total} reads, those made during the {done} writes saw the four versions this often: {counts:?}"
    );
    check
        .assert_content(&path, &versions[done % versions.len()])
        .await;
    check.cleanup("reader-racing-writer").await;
}

/// Names that an object store or a URL must encode, from `object_store`'s
/// own tests and alike: percent signs that look like an encoding already,
/// emoji, shell and markup characters, quotes, plus and equals signs. Each
/// round-trips under its own name, is listed under that exact name, and
/// `%48%45%4C%4C%4F` is not `HELLO` (a backend that decodes names once too
/// often would merge them).
pub async fn encoded_names(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "encoded_names");
    let names = [
        "encoded-names/%48%45%4C%4C%4F",
        "encoded-names/HELLO",
        "encoded-names/🇦🇺/$shenanigans@@~.txt",
        "encoded-names/I'm a < & weird path",
        "encoded-names/foo%2Fbar",
        "encoded-names/100% done?.json",
        "encoded-names/a+b=c&d;e,f.txt",
        "encoded-names/#hash [brackets] {braces} (parens)!",
        "encoded-names/\"quoted\" `tick` |pipe| ^caret",
        "encoded-names/😀 %20 %2F %25/inner %.bin",
    ];
    let mut expected = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let path = check.path(name);
        let data = Bytes::from(format!("file {index}: {name}"));
        check.write(&path, data.clone()).await;
        expected.push((path, data));
    }
    for (path, data) in &expected {
        check.assert_content(path, data).await;
        assert!(
            check.exists(path).await,
            "{}: `{path}` was written but does not exist",
            check.name()
        );
    }
    let listed = check.list(&check.path("encoded-names")).await;
    let sizes: Vec<_> = expected
        .iter()
        .map(|(path, data)| (path.clone(), data.len()))
        .collect();
    check.assert_listing_owned(&listed, &sizes);
    // A folder whose name needs encoding lists what is under it.
    let folder = check.path("encoded-names/🇦🇺");
    let listed = check.list(&folder).await;
    check.assert_listing_owned(&listed, &sizes[2..3]);
    check.cleanup("encoded-names").await;
}

/// Names that differ only in case (`readme.txt`, `README.txt`; folders
/// `Dir` and `dir`) or only in Unicode normalisation (`café` composed, NFC,
/// and decomposed, NFD). The contract: a path is its bytes, so each name is
/// a file of its own, with its own content, listed under its own bytes, or
/// the backend refuses the second write with an error naming the path and
/// leaves the first file as it was; it never merges the two silently.
///
/// Memory, zip and S3 keep them apart (their names are strings). The folder
/// backend keeps them apart on the case-sensitive, non-normalising file
/// systems it is tested on (ext4, tmpfs); on a case-insensitive or
/// normalising one (macOS, Windows) this check fails, which is what it is
/// for: such a folder cannot hold what other backends hold.
pub async fn case_and_normalisation(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "case_and_normalisation");
    let name = check.name();
    let pairs = [
        ("case-names/readme.txt", "case-names/README.txt"),
        ("case-names/Dir/a.json", "case-names/dir/a.json"),
        ("case-names/caf\u{e9}.npy", "case-names/cafe\u{301}.npy"),
        (
            "case-names/\u{c5}ngstr\u{f6}m/x",
            "case-names/A\u{30a}ngstro\u{308}m/x",
        ),
    ];
    for (first, second) in pairs {
        assert_ne!(
            check.path(first),
            check.path(second),
            "{name}: StoragePath normalised `{first}` and `{second}` into one path"
        );
    }
    for refused in check.write_pairs("case-names", &pairs).await {
        assert!(
            !check.exists(&refused.second).await
                || check.read(&refused.second).await == refused.first_data,
            "{name}: a refused write of `{}` left a file",
            refused.second
        );
    }
    check.cleanup("case-names").await;
}

/// A file and a folder at one path: writing `a/b` when the file `a` exists,
/// and writing `x` when `x/y` exists. The contract: the write either fails
/// with an error naming the path it was asked to write, or succeeds and both
/// are files (object stores and archives hold `a` and `a/b` side by side),
/// each reading back its own content. Either way what was there before
/// still reads back unchanged.
///
/// The folder backend refuses both (`a` is a file, so it cannot hold other
/// files; there is a folder at `x`); memory, zip and S3 hold both side by
/// side (a zip archive holding `x` and `x/y` cannot be extracted onto a
/// disk as it is, which is the extracting tool's concern).
pub async fn file_and_folder_at_one_path(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "file_and_folder_at_one_path");
    let name = check.name();
    let cases = [
        // (written first, written second)
        ("file-and-folder/a", "file-and-folder/a/b"),
        ("file-and-folder/x/y", "file-and-folder/x"),
        (
            "file-and-folder/deep/file",
            "file-and-folder/deep/file/below/more",
        ),
        ("file-and-folder/up/one/two", "file-and-folder/up"),
    ];
    for refused in check.write_pairs("file-and-folder", &cases).await {
        let (first, second, err) = (&refused.first, &refused.second, &refused.error);
        assert!(
            !err.is_not_found(),
            "{name}: writing `{second}` over `{first}` failed with not found, which misleads: {err}"
        );
        check.assert_not_found(second).await;
    }
    check.cleanup("file-and-folder").await;
}

/// Below a file there is nothing: reading `a/b` where `a` is a file gives
/// [`StorageError::NotFound`] naming `a/b` (not an i/o error of the
/// folder backend's `ENOTDIR`), as does a versioned read, copying from it;
/// it does not exist, lists nothing, and deleting it succeeds and leaves
/// `a` as it was.
pub async fn read_below_a_file(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "read_below_a_file");
    let name = check.name();
    let file = check.path("below-a-file/a");
    check.write(&file, Bytes::from_static(b"a file")).await;
    for below in ["below-a-file/a/b", "below-a-file/a/b/c.json"] {
        let below = check.path(below);
        let err = check.read_err(&below).await;
        assert!(
            err.is_not_found(),
            "{name}: reading `{below}` below the file `{file}` must give not found: {err}"
        );
        assert_eq!(
            err.path(),
            &below,
            "{name}: the not found names another path"
        );
        check.assert_not_found(&below).await;
        if backend.supports_conditional_writes() {
            match backend.read_versioned(&below).await {
                Err(err) if err.is_not_found() => {}
                other => panic!(
                    "{name}: a versioned read of `{below}` below a file must give not found, got {other:?}"
                ),
            }
        }
        match backend.copy(&below, &check.path("below-a-file/copy")).await {
            Err(err) if err.is_not_found() => {}
            other => panic!(
                "{name}: copying from `{below}` below a file must give not found, got {other:?}"
            ),
        }
        let listed = check.list(&below).await;
        assert!(
            listed.is_empty(),
            "{name}: listing `{below}` below a file gave {listed:?}"
        );
        check.delete(&below).await;
        check.assert_content(&file, b"a file").await;
    }
    let listed = check.list(&check.path("below-a-file")).await;
    check.assert_listing(&listed, &[(&file, 6)]);
    check.cleanup("below-a-file").await;
}

/// Hostile path strings are refused by [`StoragePath::parse`],
/// [`StoragePath::join`] and deserialization, before any backend sees them;
/// and nothing was written anywhere (the root lists the same files before
/// and after). Lists the root: do not run it concurrently with other checks
/// on the same backend.
pub async fn hostile_paths(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "hostile_paths");
    let before = check.list(&StoragePath::root()).await;
    let base = check.path("hostile-paths/sub");
    let hostile = [
        "../x",
        "..",
        "a/../../x",
        "./../x",
        "/abs",
        "/",
        "a\\b",
        "..\\x",
        "a\0b",
        "C:",
        "C:/x",
        "c:",
    ];
    let hostile_joins = [
        "../../../x",
        "a/../../../../x",
        "/abs",
        "a\\b",
        "a\0b",
        "../../C:",
    ];

    // Anything accepted by mistake is written, so that the listing below
    // shows what a backend would have done with it.
    let mut accepted = Vec::new();
    for input in hostile {
        if let Ok(path) = StoragePath::parse(input) {
            let _ = backend.write(&path, Bytes::from_static(b"hostile")).await;
            accepted.push(format!("parse({input:?}) = {path:?}"));
        }
        if let Ok(path) = crate::json::from_value::<StoragePath>(&crate::json::Value::from(input)) {
            accepted.push(format!("deserialize({input:?}) = {path:?}"));
        }
    }
    for input in hostile_joins {
        if let Ok(path) = base.join(input) {
            let _ = backend.write(&path, Bytes::from_static(b"hostile")).await;
            accepted.push(format!("{base:?}.join({input:?}) = {path:?}"));
        }
    }
    let after = check.list(&StoragePath::root()).await;
    assert!(
        accepted.is_empty(),
        "{}: hostile paths were accepted: {accepted:?}",
        check.name()
    );
    assert_eq!(
        before,
        after,
        "{}: the backend's files changed although every hostile path was refused",
        check.name()
    );
}

/// Versions and conditional writes, on a backend that claims them: a
/// versioned read gives the bytes and a version that changes with every
/// write; *create only* fails with [`StorageError::Conflict`] on an existing
/// file and changes nothing; *replace if unchanged* succeeds at the current
/// version only. On a backend that does not claim them, both calls answer
/// [`StorageError::Unsupported`] and write nothing.
pub async fn conditional_writes(backend: Arc<dyn StorageBackend>) {
    use crate::storage::WriteCondition;
    let check = Check::new(&backend, "conditional_writes");
    let path = check.path("conditional/key.json");
    if !backend.supports_conditional_writes() {
        match backend
            .write_if(&path, Bytes::from_static(b"x"), &WriteCondition::Create)
            .await
        {
            Err(StorageError::Unsupported { .. }) => {}
            other => panic!(
                "{}: a backend without conditional writes must answer Unsupported, got {other:?}",
                check.name()
            ),
        }
        assert!(
            !check.exists(&path).await,
            "{}: a refused write wrote",
            check.name()
        );
        return;
    }
    let create = |data: &'static [u8]| {
        let backend = backend.clone();
        let path = path.clone();
        async move {
            backend
                .write_if(&path, Bytes::from_static(data), &WriteCondition::Create)
                .await
        }
    };
    let v1 = create(b"one")
        .await
        .unwrap_or_else(|e| panic!("{}: create failed: {e}", check.name()));
    match create(b"two").await {
        Err(e) if e.is_conflict() => {}
        other => panic!("{}: create over an existing file must conflict, got {other:?} (a server that ignores If-None-Match?)", check.name()),
    }
    check.assert_content(&path, b"one").await;
    let (data, read_v1) = backend
        .read_versioned(&path)
        .await
        .unwrap_or_else(|e| panic!("{}: versioned read failed: {e}", check.name()));
    assert_eq!(
        &data[..],
        b"one",
        "{}: versioned read content",
        check.name()
    );
    assert_eq!(
        read_v1,
        v1,
        "{}: the version read is not the version written",
        check.name()
    );

    let v2 = backend
        .write_if(
            &path,
            Bytes::from_static(b"three"),
            &WriteCondition::Match(v1.clone()),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}: replace at the current version failed: {e}",
                check.name()
            )
        });
    assert_ne!(v1, v2, "{}: a replacement kept the version", check.name());
    match backend.write_if(&path, Bytes::from_static(b"four"), &WriteCondition::Match(v1.clone())).await {
        Err(e) if e.is_conflict() => {}
        other => panic!("{}: replace at a stale version must conflict, got {other:?} (a server that ignores If-Match?)", check.name()),
    }
    check.assert_content(&path, b"three").await;
    // A plain write changes the version too.
    check.write(&path, Bytes::from_static(b"five")).await;
    match backend
        .write_if(
            &path,
            Bytes::from_static(b"six"),
            &WriteCondition::Match(v2),
        )
        .await
    {
        Err(e) if e.is_conflict() => {}
        other => panic!(
            "{}: replace after a plain write must conflict, got {other:?}",
            check.name()
        ),
    }
    // Replacing a file that is not there conflicts; so does nothing else.
    let missing = check.path("conditional/missing.json");
    match backend
        .write_if(
            &missing,
            Bytes::from_static(b"x"),
            &WriteCondition::Match(v1),
        )
        .await
    {
        Err(e) if e.is_conflict() => {}
        other => panic!(
            "{}: replace of a missing file must conflict, got {other:?}",
            check.name()
        ),
    }
    assert!(
        !check.exists(&missing).await,
        "{}: a failed replace created the file",
        check.name()
    );
    match backend.read_versioned(&missing).await {
        Err(e) if e.is_not_found() => {}
        other => panic!(
            "{}: versioned read of a missing file must be NotFound, got {other:?}",
            check.name()
        ),
    }
    check.cleanup("conditional").await;
}

/// Many tasks write one path conditionally at once: of those creating it,
/// exactly one wins; of those replacing the same version, exactly one wins;
/// the file holds the winner's bytes. Skipped by backends that do not claim
/// conditional writes (checked by [`conditional_writes`]).
pub async fn concurrent_conditional_writes(backend: Arc<dyn StorageBackend>) {
    use crate::storage::WriteCondition;
    if !backend.supports_conditional_writes() {
        return;
    }
    let check = Check::new(&backend, "concurrent_conditional_writes");
    let path = check.path("conditional-race/key.json");
    let writers = 16;
    let race = |condition: WriteCondition, round: u64| {
        let tasks: Vec<_> = (0..writers)
            .map(|index| {
                let backend = backend.clone();
                let path = path.clone();
                let condition = condition.clone();
                let data = pattern(round * 100 + index, 64 + index as usize);
                tokio::spawn(
                    async move { (index, backend.write_if(&path, data, &condition).await) },
                )
            })
            .collect();
        futures::future::join_all(tasks)
    };
    let mut last_version = None;
    for (round, condition) in [(1u64, None), (2u64, Some(()))] {
        let condition = match condition {
            None => WriteCondition::Create,
            Some(()) => {
                WriteCondition::Match(last_version.clone().expect("a version from round 1"))
            }
        };
        let mut winners = Vec::new();
        for task in race(condition, round).await {
            match task {
                Ok((index, Ok(version))) => winners.push((index, version)),
                Ok((_, Err(e))) if e.is_conflict() => {}
                Ok((index, Err(e))) => panic!("{}: writer {index} failed: {e}", check.name()),
                Err(e) => panic!("{}: a writing task failed: {e}", check.name()),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "{}: round {round}: {} of {writers} conditional writers won, exactly one must",
            check.name(),
            winners.len()
        );
        let (index, version) = winners.remove(0);
        check
            .assert_content(&path, &pattern(round * 100 + index, 64 + index as usize))
            .await;
        last_version = Some(version);
    }
    check.cleanup("conditional-race").await;
}

/// Helpers shared by the checks: each failure names the check and the
/// backend.
/// `head` gives a file's size without reading it, agrees with the listing,
/// and gives not found for a missing file, a folder and the root.
pub async fn head(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "head");
    let name = check.name().to_owned();
    let path = check.path("head/folder/data.bin");
    let data = pattern(11, 54_321);
    check.write(&path, data.clone()).await;
    let empty = check.path("head/empty");
    check.write(&empty, Bytes::new()).await;
    for (file, size) in [(&path, data.len() as u64), (&empty, 0)] {
        let meta = backend
            .head(file)
            .await
            .unwrap_or_else(|err| panic!("{name}: head of `{file}` failed: {err}"));
        assert_eq!(meta.path, *file, "{name}: head names another path");
        assert_eq!(
            meta.size, size,
            "{name}: head of `{file}` gives the wrong size"
        );
        let listed = check.list(&check.path("head")).await;
        let entry = listed
            .iter()
            .find(|entry| entry.path == *file)
            .unwrap_or_else(|| panic!("{name}: `{file}` is not listed"));
        assert_eq!(
            entry.size, meta.size,
            "{name}: head and list disagree on the size of `{file}`"
        );
        // S3 lists times in milliseconds but gives whole seconds in a
        // HEAD's `Last-Modified`: they agree to the second.
        let apart = match (entry.last_modified, meta.last_modified) {
            (Some(a), Some(b)) => a.duration_since(b).or_else(|_| b.duration_since(a)).ok(),
            (None, None) => Some(std::time::Duration::ZERO),
            _ => None,
        };
        assert!(
            apart.is_some_and(|apart| apart < std::time::Duration::from_secs(1)),
            "{name}: head and list disagree on the time of `{file}`: {:?} and {:?}",
            meta.last_modified,
            entry.last_modified
        );
    }
    for missing in [
        check.path("head/missing.bin"),
        check.path("head/folder"),
        check.path("head/folder/data.bin/below"),
        StoragePath::root(),
    ] {
        match backend.head(&missing).await {
            Err(err) if err.is_not_found() => {}
            Err(err) => panic!("{name}: head of `{missing}` must give not found: {err}"),
            Ok(meta) => panic!("{name}: head of `{missing}` found a file: {meta:?}"),
        }
    }
    check.cleanup("head").await;
}

/// Every listed file has a modification time, close to the time it was
/// written (within a minute: zip keeps two-second steps, a server its own
/// clock), and a rewrite does not make it older.
pub async fn last_modified(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "last_modified");
    let name = check.name().to_owned();
    let slack = std::time::Duration::from_secs(60);
    let before = std::time::SystemTime::now();
    let path = check.path("last-modified/a.json");
    check.write(&path, Bytes::from_static(b"{}")).await;
    let mut upload = backend
        .write_stream(&check.path("last-modified/b.bin"))
        .await
        .unwrap_or_else(|err| panic!("{name}: write_stream failed: {err}"));
    upload
        .put(Bytes::from_static(b"streamed"))
        .await
        .unwrap_or_else(|err| panic!("{name}: put failed: {err}"));
    upload
        .finish()
        .await
        .unwrap_or_else(|err| panic!("{name}: finish failed: {err}"));
    let after = std::time::SystemTime::now();
    let listed = check.list(&check.path("last-modified")).await;
    assert_eq!(listed.len(), 2, "{name}: {listed:?}");
    for meta in &listed {
        let time = meta
            .last_modified
            .unwrap_or_else(|| panic!("{name}: `{}` is listed without a time", meta.path));
        assert!(
            time + slack >= before && time <= after + slack,
            "{name}: `{}` was written between {before:?} and {after:?}, but is listed as \
             modified at {time:?}",
            meta.path
        );
    }
    check.cleanup("last-modified").await;
}

/// Reads and writes in pieces: an empty file, a small one, and a 20 MiB one
/// (above every backend's multipart or gathering threshold) sent in uneven
/// chunks; nothing is visible before `finish`, everything after it; a
/// streamed read of a missing file fails at once with not found.
pub async fn streams(backend: Arc<dyn StorageBackend>) {
    use futures::TryStreamExt;
    let check = Check::new(&backend, "streams");
    let name = check.name().to_owned();
    let big = pattern(20, 20 * 1024 * 1024 + 7);
    let cases: [(&str, Bytes); 3] = [
        ("streams/empty", Bytes::new()),
        (
            "streams/small.json",
            Bytes::from_static(b"{\"small\": true}"),
        ),
        ("streams/deep/big.npy", big),
    ];
    for (input, data) in &cases {
        let path = check.path(input);
        let mut upload = backend
            .write_stream(&path)
            .await
            .unwrap_or_else(|err| panic!("{name}: write_stream of `{path}` failed: {err}"));
        // Uneven chunks, an empty one among them.
        let mut start = 0;
        let mut step = 3 * 1024 * 1024 + 1;
        while start < data.len() {
            let end = (start + step).min(data.len());
            upload
                .put(data.slice(start..end))
                .await
                .unwrap_or_else(|err| panic!("{name}: put into `{path}` failed: {err}"));
            if start == 0 {
                upload
                    .put(Bytes::new())
                    .await
                    .unwrap_or_else(|err| panic!("{name}: an empty put failed: {err}"));
            }
            start = end;
            step = step / 2 + 4096;
        }
        assert!(
            !check.exists(&path).await,
            "{name}: `{path}` is visible before the upload finished"
        );
        check.assert_not_found(&path).await;
        assert!(
            check
                .list(&path.parent().unwrap_or_default())
                .await
                .iter()
                .all(|meta| meta.path != path),
            "{name}: `{path}` is listed before the upload finished"
        );
        upload
            .finish()
            .await
            .unwrap_or_else(|err| panic!("{name}: finishing `{path}` failed: {err}"));
        check.assert_content(&path, data).await;
        let chunks: Vec<Bytes> = backend
            .read_stream(&path)
            .await
            .unwrap_or_else(|err| panic!("{name}: read_stream of `{path}` failed: {err}"))
            .try_collect()
            .await
            .unwrap_or_else(|err| panic!("{name}: reading the stream of `{path}` failed: {err}"));
        let streamed: Vec<u8> = chunks
            .iter()
            .flat_map(|chunk| chunk.iter().copied())
            .collect();
        assert!(
            streamed == data.as_ref(),
            "{name}: the stream of `{path}` differs: {}",
            describe_difference(&streamed, data)
        );
    }
    let listed = check.list(&check.path("streams")).await;
    let expected: Vec<(StoragePath, usize)> = cases
        .iter()
        .map(|(input, data)| (check.path(input), data.len()))
        .collect();
    check.assert_listing_owned(&listed, &expected);
    let missing = check.path("streams/missing");
    match backend.read_stream(&missing).await {
        Err(err) if err.is_not_found() => {}
        Err(err) => panic!("{name}: read_stream of a missing file must give not found: {err}"),
        Ok(_) => panic!("{name}: read_stream of a missing file gave a stream"),
    }
    check.cleanup("streams").await;
}

/// Files written in parts (`write_payload`, `write_payload_if`) read back
/// as the parts joined, empty parts and a file past 16 MiB (S3's multipart
/// threshold) among them; a conditional write of parts obeys its condition
/// as `write_if` does.
pub async fn payloads(backend: Arc<dyn StorageBackend>) {
    use crate::storage::{Payload, WriteCondition};
    let check = Check::new(&backend, "payloads");
    let name = check.name().to_owned();
    let big = pattern(21, 17 * 1024 * 1024 + 5);
    let cases: [(&str, Vec<Bytes>); 4] = [
        ("payloads/none", Vec::new()),
        ("payloads/empty-parts", vec![Bytes::new(), Bytes::new()]),
        (
            "payloads/small.npy",
            vec![
                Bytes::from_static(b"\x93NUMPY header\n"),
                Bytes::new(),
                Bytes::from_static(b"data"),
            ],
        ),
        (
            "payloads/deep/big.npy",
            vec![
                big.slice(..128),
                big.slice(128..5 * 1024 * 1024 + 3),
                big.slice(5 * 1024 * 1024 + 3..),
            ],
        ),
    ];
    for (input, parts) in &cases {
        let path = check.path(input);
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let payload = Payload::from(parts.clone());
        assert_eq!(
            payload.len(),
            joined.len() as u64,
            "{name}: the payload's length"
        );
        backend
            .write_payload(&path, payload)
            .await
            .unwrap_or_else(|err| panic!("{name}: write_payload of `{path}` failed: {err}"));
        check.assert_content(&path, &joined).await;
    }
    if backend.supports_conditional_writes() {
        let path = check.path("payloads/conditional.npy");
        let first = Payload::from(vec![Bytes::from_static(b"one"), big.slice(..1000)]);
        let version = backend
            .write_payload_if(&path, first, &WriteCondition::Create)
            .await
            .unwrap_or_else(|err| panic!("{name}: a create of parts failed: {err}"));
        let again = Payload::from(vec![Bytes::from_static(b"two")]);
        match backend
            .write_payload_if(&path, again, &WriteCondition::Create)
            .await
        {
            Err(err) if err.is_conflict() => {}
            other => panic!("{name}: a second create of `{path}` must conflict, got {other:?}"),
        }
        let mut expected = b"one".to_vec();
        expected.extend_from_slice(&big[..1000]);
        check.assert_content(&path, &expected).await;
        let update = Payload::from(vec![Bytes::from_static(b"thr"), Bytes::from_static(b"ee")]);
        backend
            .write_payload_if(&path, update, &WriteCondition::Match(version))
            .await
            .unwrap_or_else(|err| panic!("{name}: a replace of parts failed: {err}"));
        check.assert_content(&path, b"three").await;
    }
    check.cleanup("payloads").await;
}

/// `read_many` gives each file's bytes in the order asked (more files than
/// any batch, one asked twice), and not found for a missing one, without
/// failing the others.
pub async fn read_many(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "read_many");
    let name = check.name().to_owned();
    let mut paths = Vec::new();
    for i in 0..40u64 {
        let path = check.path(&format!("read-many/run-{i}/run.json"));
        check.write(&path, pattern(i, 10 + i as usize)).await;
        paths.push(path);
    }
    let missing = check.path("read-many/missing.json");
    let mut asked = paths.clone();
    asked.insert(7, missing.clone());
    asked.push(paths[3].clone());
    let read = backend.read_many(&asked).await;
    assert_eq!(read.len(), asked.len(), "{name}: one result per path");
    for (i, (path, result)) in asked.iter().zip(&read).enumerate() {
        match result {
            Ok(bytes) if *path == missing => {
                panic!(
                    "{name}: `{path}` is missing, yet read_many gave {} bytes",
                    bytes.len()
                )
            }
            Err(err) if *path == missing => assert!(
                err.is_not_found(),
                "{name}: a missing file must be not found: {err}"
            ),
            Ok(bytes) => {
                let n = paths.iter().position(|p| p == path).expect("asked") as u64;
                assert!(
                    bytes[..] == pattern(n, 10 + n as usize)[..],
                    "{name}: result {i} is not the content of `{path}`"
                );
            }
            Err(err) => panic!("{name}: reading `{path}` failed: {err}"),
        }
    }
    assert!(
        backend.read_many(&[]).await.is_empty(),
        "{name}: nothing asked"
    );
    check.cleanup("read-many").await;
}

/// Where a backend gives a blocking reader (`open_read`), it reads the
/// file's bytes from the start and says its size; a missing file is not
/// found.
pub async fn open_read(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "open_read");
    let name = check.name().to_owned();
    let data = pattern(31, 3 * 1024 * 1024 + 11);
    let path = check.path("open-read/deep/array.npy");
    check.write(&path, data.clone()).await;
    match backend.open_read(&path).await {
        Ok(None) => {}
        Ok(Some(file)) => {
            assert_eq!(file.size, data.len() as u64, "{name}: the size of `{path}`");
            let crate::storage::FileReader { mut reader, .. } = file;
            let read = tokio::task::spawn_blocking(move || {
                let mut all = Vec::new();
                std::io::Read::read_to_end(&mut reader, &mut all).map(|_| all)
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: the reading thread failed: {e}"))
            .unwrap_or_else(|e| panic!("{name}: reading `{path}` failed: {e}"));
            assert!(
                read == data[..],
                "{name}: the reader of `{path}` gave other bytes"
            );
        }
        Err(err) => panic!("{name}: open_read of `{path}` failed: {err}"),
    }
    match backend
        .open_read(&check.path("open-read/missing.npy"))
        .await
    {
        Ok(None) => {}
        Err(err) if err.is_not_found() => {}
        Err(err) => panic!("{name}: open_read of a missing file must be not found: {err}"),
        Ok(Some(_)) => panic!("{name}: open_read of a missing file gave a reader"),
    }
    check.cleanup("open-read").await;
}

/// An aborted upload (small, and past every threshold) and a dropped one
/// leave the path as it was: missing, or with its old content.
pub async fn stream_abort(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "stream_abort");
    let name = check.name().to_owned();
    let old = check.path("stream-abort/old.bin");
    check.write(&old, Bytes::from_static(b"old")).await;
    let fresh = check.path("stream-abort/fresh.bin");
    for size in [10, 20 * 1024 * 1024] {
        for path in [&old, &fresh] {
            let mut upload = backend
                .write_stream(path)
                .await
                .unwrap_or_else(|err| panic!("{name}: write_stream failed: {err}"));
            upload
                .put(pattern(3, size))
                .await
                .unwrap_or_else(|err| panic!("{name}: put failed: {err}"));
            upload
                .abort()
                .await
                .unwrap_or_else(|err| panic!("{name}: abort failed: {err}"));
        }
    }
    // Dropped, small (nothing was sent anywhere yet).
    let mut upload = backend
        .write_stream(&fresh)
        .await
        .unwrap_or_else(|err| panic!("{name}: write_stream failed: {err}"));
    upload
        .put(Bytes::from_static(b"dropped"))
        .await
        .unwrap_or_else(|err| panic!("{name}: put failed: {err}"));
    drop(upload);
    check.assert_content(&old, b"old").await;
    check.assert_not_found(&fresh).await;
    let listed = check.list(&check.path("stream-abort")).await;
    check.assert_listing(&listed, &[(&old, 3)]);
    check.cleanup("stream-abort").await;
}

/// A store that saw only finished and aborted writes has no leftovers.
pub async fn leftovers_clean(backend: Arc<dyn StorageBackend>) {
    let check = Check::new(&backend, "leftovers_clean");
    let name = check.name().to_owned();
    let path = check.path("leftovers-clean/file.bin");
    check.write(&path, pattern(5, 1000)).await;
    let leftovers = backend
        .leftovers()
        .await
        .unwrap_or_else(|err| panic!("{name}: leftovers failed: {err}"));
    assert!(
        leftovers.is_empty(),
        "{name}: a clean store lists leftovers: {}",
        leftovers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    check.cleanup("leftovers-clean").await;
}

/// A second write of [`Check::write_pairs`] that the backend refused.
struct Refused {
    first: StoragePath,
    second: StoragePath,
    first_data: Bytes,
    error: StorageError,
}

struct Check {
    backend: Arc<dyn StorageBackend>,
    name: String,
}

impl Check {
    fn new(backend: &Arc<dyn StorageBackend>, check: &str) -> Self {
        Check {
            backend: backend.clone(),
            name: format!("conformance check `{check}` on {}", backend.location()),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn path(&self, input: &str) -> StoragePath {
        StoragePath::parse(input)
            .unwrap_or_else(|err| panic!("{}: the suite built a bad path: {err}", self.name))
    }

    async fn write(&self, path: &StoragePath, data: Bytes) {
        let size = data.len();
        if let Err(err) = self.backend.write(path, data).await {
            panic!(
                "{}: writing {size} bytes to `{path}` failed: {err}",
                self.name
            );
        }
    }

    async fn read(&self, path: &StoragePath) -> Bytes {
        self.backend
            .read(path)
            .await
            .unwrap_or_else(|err| panic!("{}: reading `{path}` failed: {err}", self.name))
    }

    async fn read_err(&self, path: &StoragePath) -> StorageError {
        match self.backend.read(path).await {
            Ok(data) => panic!(
                "{}: reading `{path}` gave {} bytes, but there is no file there",
                self.name,
                data.len()
            ),
            Err(err) => err,
        }
    }

    async fn delete(&self, path: &StoragePath) {
        if let Err(err) = self.backend.delete(path).await {
            panic!("{}: deleting `{path}` failed: {err}", self.name);
        }
    }

    async fn exists(&self, path: &StoragePath) -> bool {
        self.backend
            .exists(path)
            .await
            .unwrap_or_else(|err| panic!("{}: exists(`{path}`) failed: {err}", self.name))
    }

    async fn list(&self, prefix: &StoragePath) -> Vec<ObjectMeta> {
        let listed = self
            .backend
            .list(prefix)
            .await
            .unwrap_or_else(|err| panic!("{}: listing `{prefix}` failed: {err}", self.name));
        self.assert_sorted(&listed);
        listed
    }

    async fn assert_content(&self, path: &StoragePath, expected: &[u8]) {
        let data = self.read(path).await;
        if data != expected {
            panic!(
                "{}: `{path}` does not read back as written: {}",
                self.name,
                describe_difference(&data, expected)
            );
        }
    }

    /// Writes each pair's first path, then its second one beside it. The
    /// second write either succeeds, and reads back its own content, or
    /// fails with an error naming its own path; either way the first file
    /// reads back unchanged, and the folder `prefix` lists exactly the files
    /// kept. Gives the refused writes, for the caller's own checks.
    async fn write_pairs(&self, prefix: &str, pairs: &[(&str, &str)]) -> Vec<Refused> {
        let name = self.name();
        let mut expected = Vec::new();
        let mut refusals = Vec::new();
        for (index, (first, second)) in pairs.iter().enumerate() {
            let first = self.path(first);
            let second = self.path(second);
            let first_data = Bytes::from(format!("pair {index}: first"));
            let second_data = Bytes::from(format!("pair {index}: second, longer"));
            self.write(&first, first_data.clone()).await;
            match self.backend.write(&second, second_data.clone()).await {
                Ok(()) => {
                    self.assert_content(&second, &second_data).await;
                    expected.push((second, second_data.len()));
                }
                Err(error) => {
                    assert_eq!(
                        error.path(),
                        &second,
                        "{name}: the refused write of `{second}` beside `{first}` names another path: {error}"
                    );
                    refusals.push(Refused {
                        first: first.clone(),
                        second,
                        first_data: first_data.clone(),
                        error,
                    });
                }
            }
            self.assert_content(&first, &first_data).await;
            expected.push((first, first_data.len()));
        }
        expected.sort();
        let listed = self.list(&self.path(prefix)).await;
        self.assert_listing_owned(&listed, &expected);
        refusals
    }

    async fn assert_not_found(&self, path: &StoragePath) {
        let err = self.read_err(path).await;
        assert!(
            err.is_not_found(),
            "{}: reading deleted or missing `{path}` must give not found, got: {err}",
            self.name
        );
        assert!(
            !self.exists(path).await,
            "{}: `{path}` cannot be read yet exists",
            self.name
        );
    }

    fn assert_sorted(&self, listed: &[ObjectMeta]) {
        if let Some(pair) = listed.windows(2).find(|pair| pair[0].path >= pair[1].path) {
            panic!(
                "{}: a listing is not sorted by path without duplicates: `{}` comes before `{}`",
                self.name, pair[0].path, pair[1].path
            );
        }
    }

    fn assert_listing(&self, listed: &[ObjectMeta], expected: &[(&StoragePath, usize)]) {
        let expected: Vec<(StoragePath, usize)> = expected
            .iter()
            .map(|(path, size)| ((*path).clone(), *size))
            .collect();
        self.assert_listing_owned(listed, &expected);
    }

    fn assert_listing_owned(&self, listed: &[ObjectMeta], expected: &[(StoragePath, usize)]) {
        let mut expected: Vec<(String, u64)> = expected
            .iter()
            .map(|(path, size)| (path.to_string(), *size as u64))
            .collect();
        expected.sort();
        let got: Vec<(String, u64)> = listed
            .iter()
            .map(|meta| (meta.path.to_string(), meta.size))
            .collect();
        assert_eq!(
            got, expected,
            "{}: the listing (path, size) differs from what was written",
            self.name
        );
    }

    /// Deletes every file under `folder` and checks that nothing is left.
    async fn cleanup(&self, folder: &str) {
        let folder = self.path(folder);
        for meta in self.list(&folder).await {
            self.delete(&meta.path).await;
        }
        let left = self.list(&folder).await;
        assert!(
            left.is_empty(),
            "{}: files remain under `{folder}` after deleting them all: {left:?}",
            self.name
        );
    }
}

/// `size` reproducible pseudo-random bytes, different for each `seed`.
fn pattern(seed: u64, size: usize) -> Bytes {
    let mut data = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    Bytes::from(data)
}

/// Where two byte strings first differ, for a failure message.
fn describe_difference(got: &[u8], expected: &[u8]) -> String {
    match got.iter().zip(expected).position(|(a, b)| a != b) {
        Some(offset) => format!(
            "{} bytes read, {} expected, first difference at byte {offset}",
            got.len(),
            expected.len()
        ),
        None => format!("{} bytes read, {} expected", got.len(), expected.len()),
    }
}

/// Why `data` matches none of `versions`, for a failure message.
fn describe_mismatch(data: &[u8], versions: &[Bytes]) -> String {
    versions
        .iter()
        .enumerate()
        .map(|(index, version)| {
            format!(
                "against version {index}: {}",
                describe_difference(data, version)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
