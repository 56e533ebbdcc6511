//! Every repository operation's future can be spawned on a multi-threaded
//! runtime (it is `Send` for an owned repository), so that applications can
//! run saves, loads, cleans and transactions as tasks of their own. A
//! stream combinator with a borrowing closure inside an operation breaks
//! this (rust-lang/rust#102211) without breaking any direct call: this
//! test is what notices.

use std::sync::Arc;

use dman_core::{MRuns, Record, Repo};
use dman_memory::MemoryBackend;
use dman_test_support::storables::Note;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_operations_run_as_spawned_tasks() {
    let repo = Repo::new(Arc::new(MemoryBackend::new())).with_generator("spawn");
    let notes = || {
        let mut runs = MRuns::new();
        runs.push(Note { text: "a".into() });
        runs.push(Note { text: "b".into() });
        runs
    };

    let r = repo.clone();
    let saved = tokio::spawn(async move { r.save("notes", &notes()).await });
    saved.await.expect("task").expect("save");

    let r = repo.clone();
    let loaded = tokio::spawn(async move {
        let runs: MRuns<Note> = r.load("notes").await?;
        let texts: Vec<String> = runs
            .contents()
            .await?
            .iter()
            .map(|n| n.text.clone())
            .collect();
        Ok::<_, dman_core::Error>(texts)
    });
    assert_eq!(loaded.await.expect("task").expect("load"), ["a", "b"]);

    let r = repo.clone();
    let tracked = tokio::spawn(async move {
        r.track(
            "notes",
            MRuns::<Note>::new,
            async |runs: &mut MRuns<Note>| {
                runs.push(Note { text: "c".into() });
                Ok(runs.len())
            },
        )
        .await
    });
    assert_eq!(tracked.await.expect("task").expect("track"), 3);

    let r = repo.clone();
    let stored = tokio::spawn(async move {
        let record: Record<Note> = r.store("one", &Note { text: "x".into() }).await?;
        Ok::<_, dman_core::Error>(record.target())
    });
    assert_eq!(
        stored.await.expect("task").expect("store").as_deref(),
        Some("one.txt")
    );

    let r = repo.clone();
    let cleaned = tokio::spawn(async move { r.clean("notes").await });
    let report = cleaned.await.expect("task").expect("clean");
    assert_eq!(
        report.deleted.len(),
        4,
        "three run files and the key's: {report:?}"
    );
    assert!(!repo.exists("notes").await.expect("exists"));
}
