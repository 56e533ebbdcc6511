//! Steps after a save's commit (deleting what the new version dropped,
//! updating `.gitignore`) that fail are warnings of the save, not errors:
//! the new version is committed, and a caller that retried on an error
//! would write it twice. Here a full disk is simulated at those steps only.

use std::sync::Arc;

use dman::{
    MRuns, MemoryBackend, Modelclass, Operation, Repo, StorageBackend, StorageError, Warning,
};
use dman_test_support::backend::{Hook, Op, Wrapped};

#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "run", storable)]
struct Run {
    step: i64,
}

/// Fails writes of `.gitignore` files and every delete as a full disk would.
#[derive(Debug)]
struct FullDiskAfterCommit;

impl Hook for FullDiskAfterCommit {
    fn before(&self, op: &Op, inner: &dyn StorageBackend) -> dman::core::StorageResult<()> {
        let failing = match op {
            Op::Write(path) => path.file_name() == Some(".gitignore"),
            Op::Delete(_) => true,
            _ => false,
        };
        if failing {
            let (path, name) = match op {
                Op::Write(p) => (p.clone(), Operation::Write),
                Op::Delete(p) => (p.clone(), Operation::Delete),
                _ => unreachable!("only writes and deletes fail"),
            };
            return Err(StorageError::Failed {
                backend: inner.location(),
                path,
                op: name,
                source: Box::new(std::io::Error::from(std::io::ErrorKind::StorageFull)),
            });
        }
        Ok(())
    }
}

#[tokio::test]
async fn failures_after_the_commit_are_warnings() {
    let memory: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let repo = Repo::new(memory.clone()).with_generator("cache/g");
    let mut runs: MRuns<Run> = MRuns::new().stem("run");
    runs.push(Run { step: 0 });
    runs.push(Run { step: 1 });
    repo.save("experiment", &runs).await.expect("first save");

    let failing = Repo::new(Wrapped::with_hook(memory.clone(), FullDiskAfterCommit))
        .with_generator("cache/g");
    runs.clear();
    runs.push(Run { step: 2 });
    let report = failing
        .save("experiment", &runs)
        .await
        .expect("the save committed: Ok despite the failing deletes");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::NotDeleted { .. })),
        "{:?}",
        report.warnings
    );
    assert!(report
        .warnings
        .iter()
        .all(|w| w.to_string().contains("not")));

    // A first save of a key adds it to the generator's `.gitignore`.
    let report = failing
        .save("other", &runs)
        .await
        .expect("committed: Ok despite the failing .gitignore update");
    assert!(
        matches!(report.warnings.as_slice(), [Warning::Gitignore { file, .. }] if file.as_str() == "cache/g/.gitignore"),
        "{:?}",
        report.warnings
    );
    let other: MRuns<Run> = repo.load("other").await.expect("load other");
    assert_eq!(other.len(), 1);

    // The new version is the saved one.
    let loaded: MRuns<Run> = repo.load("experiment").await.expect("load");
    let mut steps = Vec::new();
    for record in loaded.iter() {
        steps.push(record.get().await.expect("run").step);
    }
    assert_eq!(steps, [2]);
}
