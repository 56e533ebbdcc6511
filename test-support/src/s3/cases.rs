//! The checks the S3 tests run on each of their servers (s3s-fs and moto),
//! written once.

use std::sync::Arc;

use bytes::Bytes;
use dman::{MRuns, Repo, StorageBackend, StoragePath};
use dman_s3::{FailureKind, ObjectStoreFailure};
use futures::StreamExt;

use crate::seed;

fn p(path: &str) -> StoragePath {
    StoragePath::parse(path).expect("test path")
}

/// The kind of an error's [`ObjectStoreFailure`], if it has one.
pub fn failure_kind(err: &dman::core::StorageError) -> Option<FailureKind> {
    let source = std::error::Error::source(err)?;
    Some(source.downcast_ref::<ObjectStoreFailure>()?.kind())
}

/// The repository scenario suite on `bucket` (which exists) at `endpoint`,
/// each scenario on a backend of its own (prefix `case-<n>`).
pub async fn repository_scenarios(endpoint: &str, bucket: &str) {
    let mut case = 0;
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        case += 1;
        Arc::new(
            super::builder(endpoint, bucket)
                .prefix(format!("case-{case}"))
                .build()
                .expect("backend"),
        )
    })
    .await;
    // Nine scenarios, and the kill-point one on a backend per kill point.
    assert!(
        case > 10,
        "every scenario ran on a backend of its own ({case})"
    );
}

/// More keys than one page of a listing (S3 returns at most 1000), in 13
/// folders, beside a key that shares the prefix's first letters, on
/// `bucket` (which exists, empty) at `endpoint`: all `count` are listed,
/// sorted, with their sizes.
pub async fn listing_follows_pagination(endpoint: &str, bucket: &str, count: usize) {
    let backend: Arc<dyn StorageBackend> = Arc::new(
        super::builder(endpoint, bucket)
            .prefix("p")
            .build()
            .expect("backend"),
    );
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|index| {
            let backend = backend.clone();
            async move {
                let path = p(&format!("many/{:02}/file-{index:05}.json", index % 13));
                backend
                    .write(&path, Bytes::from(vec![b'x'; index % 7]))
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "a write failed");
    backend
        .write(&p("many-beside.json"), Bytes::from_static(b"{}"))
        .await
        .expect("write");

    let listed = backend.list(&p("many")).await.expect("list");
    assert_eq!(listed.len(), count);
    assert!(
        listed.windows(2).all(|pair| pair[0].path < pair[1].path),
        "sorted"
    );
    for meta in &listed {
        let index: usize = meta.path.as_str()[meta.path.as_str().len() - 10..][..5]
            .parse()
            .expect("index in the name");
        assert_eq!(meta.size, (index % 7) as u64, "{}", meta.path);
    }
    let all = backend.list(&StoragePath::root()).await.expect("list");
    assert_eq!(all.len(), count + 1);
}

/// A missing bucket, `no-such-bucket` under the prefix `pre` at `endpoint`:
/// reading, asking whether a key exists and listing (and, with
/// `writes_refused`, writing and deleting) are errors that name bucket and
/// key and say the bucket is missing (not that a key is); so are loading,
/// tracking (and saving) a key through a repository (not a missing key that
/// would silently start a fresh experiment).
pub async fn missing_bucket_errors(endpoint: &str, writes_refused: bool) {
    let backend: Arc<dyn StorageBackend> = Arc::new(
        super::builder(endpoint, "no-such-bucket")
            .prefix("pre")
            .build()
            .expect("backend"),
    );
    let path = p("cache/key/key.json");
    let missing = |what: &str, err: dman::core::StorageError| {
        assert!(
            !err.is_not_found(),
            "{what}: a missing bucket is not a missing key: {err}"
        );
        assert_eq!(
            failure_kind(&err),
            Some(FailureKind::MissingContainer),
            "{what}: {err}"
        );
        let message = err.to_string();
        for part in ["no-such-bucket", "pre", "does not exist"] {
            assert!(message.contains(part), "{what}: `{part}` not in: {message}");
        }
    };
    let err = backend.read(&path).await.expect_err("read");
    assert!(
        err.to_string().contains("pre/cache/key/key.json"),
        "the key is named: {err}"
    );
    missing("read", err);
    missing("exists", backend.exists(&path).await.expect_err("exists"));
    missing(
        "list",
        backend.list(&StoragePath::root()).await.expect_err("list"),
    );
    if writes_refused {
        let data = Bytes::from_static(b"{}");
        missing(
            "write",
            backend.write(&path, data).await.expect_err("write"),
        );
        missing("delete", backend.delete(&path).await.expect_err("delete"));
    }

    let repo = Repo::new(backend).with_generator("g");
    let err = repo
        .load::<MRuns<seed::Run>>("key")
        .await
        .expect_err("load");
    assert!(!matches!(err, dman::Error::KeyNotFound { .. }), "{err}");
    assert!(err.to_string().contains("no-such-bucket"), "{err}");
    let err = repo
        .track("key", seed::experiment, async |_| Ok(()))
        .await
        .expect_err("track");
    assert!(err.to_string().contains("no-such-bucket"), "{err}");
    if writes_refused {
        let err = repo
            .save("key", &seed::experiment())
            .await
            .expect_err("save");
        assert!(err.to_string().contains("no-such-bucket"), "{err}");
    }
}

/// The getting-started fixture (Python dman 1.0.1's tree), uploaded file by
/// file with boto3 to `bucket` (which exists) under `prefix` at `endpoint`,
/// loads from there with its arrays.
pub async fn uploaded_fixture_loads(endpoint: &str, bucket: &str, prefix: &str) {
    let backend = super::builder(endpoint, bucket)
        .prefix(prefix)
        .build()
        .expect("backend");
    let (endpoint, bucket, prefix) = (endpoint.to_owned(), bucket.to_owned(), prefix.to_owned());
    let uploaded = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("temporary folder");
        let base = crate::fixture::extract_getting_started(dir.path());
        super::upload(&endpoint, &base, &bucket, &prefix)
    })
    .await
    .expect("upload task");
    assert_eq!(uploaded, 11, "the fixture's files");
    seed::check_python_tree(Arc::new(backend)).await;
}

/// The example's flow written to `bucket` (which exists) under `prefix` at
/// `endpoint`, downloaded with boto3, loads in Python dman 1.0.1 with the
/// same arrays.
pub async fn written_tree_loads_in_python(endpoint: &str, bucket: &str, prefix: &str) {
    let backend = super::builder(endpoint, bucket)
        .prefix(prefix)
        .build()
        .expect("backend");
    let expected = seed::write_getting_started(Arc::new(backend)).await;
    let (endpoint, bucket, prefix) = (endpoint.to_owned(), bucket.to_owned(), prefix.to_owned());
    let verdict = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("temporary folder");
        let downloaded = super::download(&endpoint, &bucket, &prefix, &dir.path().join(".dman"));
        assert_eq!(downloaded, 11, "the tree's files");
        crate::python::check_getting_started(dir.path(), &expected)
    })
    .await
    .expect("download and check task");
    assert!(verdict.starts_with("ok "), "{verdict}");
}
