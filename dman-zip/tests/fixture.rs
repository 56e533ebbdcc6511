//! The getting-started fixture, the `.dman` folder Python dman 1.0.1 wrote
//! and Python's `zipfile` archived, loads straight from the archive as a
//! repository; finding the seed-1000 configuration among the runs reads no
//! `.npy` entry.

use std::sync::Arc;

use dman_core::scenarios::Counting;
use dman_core::{Key, MRuns, Repo, StorageBackend, StoragePath};
use dman_test_support::fixture::{getting_started_zip, GETTING_STARTED_GENERATOR};
use dman_test_support::seed::{config, Config, Run};
use dman_zip::ZipBackend;

fn npy_reads(counting: &Counting) -> Vec<StoragePath> {
    counting
        .reads()
        .into_iter()
        .filter(|path| path.suffix() == Some(".npy"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_fixture_loads_from_its_archive_without_reading_arrays() {
    let backend = ZipBackend::open(getting_started_zip()).expect("open the fixture");
    assert_eq!(backend.root().as_str(), ".dman", "the archive holds .dman/");
    let counting = Arc::new(Counting::new(Arc::new(backend)));
    let repo = Repo::new(counting.clone()).with_generator(GETTING_STARTED_GENERATOR);

    let runs: MRuns<Run> = repo.load("experiment").await.expect("load experiment");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs.run_count(), 2);
    // The example's second seed-1000 run is skipped because this finds it.
    let contents = runs.contents().await.expect("run JSONs");
    let found = contents.iter().position(|run| run.config == config(1000));
    assert_eq!(found, Some(0));
    assert_eq!(contents[1].config, config(1024));
    assert_eq!(
        npy_reads(&counting),
        Vec::<StoragePath>::new(),
        "no array was read"
    );
    let reads: Vec<String> = counting.reads().iter().map(ToString::to_string).collect();
    assert_eq!(
        reads,
        [
            "cache/examples:patterns:common/experiment/experiment.json",
            "cache/examples:patterns:common/experiment/results/experiment-0/experiment.json",
            "cache/examples:patterns:common/experiment/results/experiment-1/experiment.json",
        ]
    );

    // An array is read when asked for: that entry, and only it.
    let data = contents[0]
        .data
        .as_ref()
        .expect("data record")
        .get()
        .await
        .expect("data array");
    assert_eq!(data.dim(), (20, 1000));
    assert!(
        data.iter().all(|x| (0.0..1.0).contains(x)),
        "uniform samples"
    );
    let npy = npy_reads(&counting);
    assert_eq!(npy.len(), 1, "{npy:?}");
    assert!(npy[0]
        .as_str()
        .starts_with("cache/examples:patterns:common/experiment/results/experiment-0/"));
    let output = contents[1]
        .output
        .as_ref()
        .expect("output record")
        .get()
        .await
        .expect("output array");
    assert_eq!(output.dim(), (100, 1000));

    // The configurations saved beside the runs.
    let saved: Config = repo
        .load(Key::new("config").cluster(false))
        .await
        .expect("config");
    assert_eq!(saved, config(1234));
    let demo: Config = repo
        .load(Key::new("config").cluster(false).generator("demo"))
        .await
        .expect("demo config");
    assert_eq!(demo, config(1234));
    assert!(counting.writes.load(std::sync::atomic::Ordering::SeqCst) == 0);
    // The archive's listing is the fixture's eleven files.
    let listed = counting.list(&StoragePath::root()).await.expect("list");
    assert_eq!(listed.len(), 11);
}
