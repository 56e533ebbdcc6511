//! A container's items are read together and decoded on every worker of
//! the runtime (`record::load_many`): each item gets its own value, in
//! order, on any runtime, and a file that fails to decode fails only its
//! own item, naming the file.

use std::sync::Arc;

use dman_core::{MRuns, Repo, StorageBackend, StoragePath};
use dman_memory::MemoryBackend;
use dman_test_support::seed::{config, Run};

/// More runs than one task decodes (32), so several tasks share them.
const N: u64 = 300;

async fn check_every_run_in_order() {
    let store = Arc::new(MemoryBackend::new());
    let repo = Repo::new(store.clone()).with_generator("g");
    let mut runs = MRuns::new().stem("run");
    for seed in 0..N {
        runs.push(Run {
            config: config(seed),
            data: None,
            output: None,
        });
    }
    repo.save("exp", &runs).await.expect("save");

    let runs: MRuns<Run> = repo.load("exp").await.expect("load");
    let seeds: Vec<u64> = runs
        .contents()
        .await
        .expect("contents")
        .iter()
        .map(|r| r.config.seed)
        .collect();
    assert_eq!(seeds, (0..N).collect::<Vec<_>>());

    // Break one run's file: its item fails, naming it; the others load.
    let broken = StoragePath::parse("g/exp/run-150/run.json").expect("path");
    assert!(
        store.exists(&broken).await.expect("exists"),
        "layout changed"
    );
    store
        .write(&broken, b"{\"_ser__type\": ".to_vec().into())
        .await
        .expect("write");
    let runs: MRuns<Run> = repo.load("exp").await.expect("load");
    let err = runs.contents().await.expect_err("one run is broken");
    assert!(err.to_string().contains("run-150/run.json"), "{err}");
    let loaded = runs.iter().filter(|slot| slot.is_loaded()).count();
    assert_eq!(loaded as u64, N - 1, "every other run was decoded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_decode_on_every_worker() {
    check_every_run_in_order().await;
}

#[tokio::test(flavor = "current_thread")]
async fn many_runs_decode_on_one_thread() {
    check_every_run_in_order().await;
}
