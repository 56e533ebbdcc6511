//! A save that fails leaves every record pointing at the file it had: a
//! record loaded from one store, saved to a second, then to a third whose
//! commit fails, saves to the third on the next try by copying from the
//! second again, not from the file the failed attempt wrote and took back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dman::{MList, MemoryBackend, Repo, StorageBackend, StorageError, StoragePath};
use dman_test_support::backend::{Hook, Op, Wrapped};
use dman_test_support::storables::Note;

/// Fails the first write of a key's JSON file, as a lost connection would.
#[derive(Debug, Default)]
struct FailFirstCommit(AtomicBool);

impl Hook for FailFirstCommit {
    fn before(&self, op: &Op, inner: &dyn StorageBackend) -> dman::core::StorageResult<()> {
        if let Op::Write(path) = op {
            if path.as_str().ends_with("notes.json") && !self.0.swap(true, Ordering::SeqCst) {
                return Err(StorageError::Failed {
                    backend: inner.location(),
                    path: path.clone(),
                    op: dman::Operation::Write,
                    source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
                });
            }
        }
        Ok(())
    }
}

async fn notes_in(store: &Arc<dyn StorageBackend>) -> Vec<String> {
    let mut names: Vec<String> = store
        .list(&StoragePath::root())
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.path.as_str().to_string())
        .filter(|p| p.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_failed_save_leaves_records_where_they_were() -> dman::Result<()> {
    let first: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let mut notes = MList::new();
    notes.push(Note::new("one"));
    notes.push(Note::new("two"));
    Repo::new(first.clone()).save("notes", &notes).await?;

    // Loaded, nothing read: the records point at the first store's files.
    let notes: MList<Note> = Repo::new(first.clone()).load("notes").await?;
    let second: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    Repo::new(second.clone()).save("notes", &notes).await?;
    // The first store goes away: only the second holds the notes now.
    for name in notes_in(&first).await {
        first.delete(&StoragePath::parse(&name)?).await?;
    }

    let third_inner: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let third = Repo::new(Wrapped::with_hook(
        third_inner.clone(),
        FailFirstCommit::default(),
    ));
    let err = third
        .save("notes", &notes)
        .await
        .expect_err("the commit fails");
    assert!(err.to_string().contains("notes.json"), "{err}");
    assert!(
        notes_in(&third_inner).await.is_empty(),
        "the failed save took its files back"
    );

    // The retry copies from the second store, where the notes are.
    third.save("notes", &notes).await?;
    assert_eq!(notes_in(&third_inner).await.len(), 2);
    let back: MList<Note> = Repo::new(third_inner).load("notes").await?;
    let texts: Vec<&str> = back
        .contents()
        .await?
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    assert_eq!(texts, ["one", "two"]);
    Ok(())
}
