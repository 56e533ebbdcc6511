//! The seed's getting-started example as the tests and benches use it: the
//! `config` and `run` modelclasses of `tests/python/getting_started.py`, the
//! experiment container, arrays fixed by the seed, and the example's flow.
//! (`examples/patterns/common.rs` keeps its own copy of the types: it is the
//! example as a user writes it.)

use std::sync::Arc;

use dman::ndarray::Array2;
use dman::{Key, MRuns, Modelclass, Record, Repo, StorageBackend};

pub use crate::fixture::GETTING_STARTED_GENERATOR as GENERATOR;

/// `@dman.modelclass(name="config")`: every field has a default, so a
/// missing one takes it, as in Python.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config", default)]
pub struct Config {
    /// default 1234
    pub seed: u64,
    /// default 20
    pub size: usize,
    /// default 1000
    pub nsample: usize,
    /// default 2
    pub nrepeats: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1234,
            size: 20,
            nsample: 1000,
            nrepeats: 2,
        }
    }
}

/// The default configuration with another seed.
pub fn config(seed: u64) -> Config {
    Config {
        seed,
        ..Config::default()
    }
}

/// `@dman.modelclass(name="run", storable=True)`: a configuration and two
/// arrays, each in a `.npy` file.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
pub struct Run {
    /// Its configuration.
    pub config: Config,
    /// `barrayfield(default=None)`: `size` x `nsample` samples.
    pub data: Option<Record<Array2<f64>>>,
    /// `barrayfield(default=None)`: 100 x `nsample`.
    pub output: Option<Record<Array2<f64>>>,
}

impl Run {
    /// A run of `cfg` with its [`arrays`].
    pub fn of(cfg: Config) -> Run {
        let (data, output) = arrays(&cfg);
        Run {
            config: cfg,
            data: Some(data.into()),
            output: Some(output.into()),
        }
    }
}

/// The example's container: `mruns(stem="experiment", subdir="results")`.
pub fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

/// The arrays of a run of `cfg` (`data`, `output`), fixed by the seed: a
/// linear congruential generator stands in for numpy's.
pub fn arrays(cfg: &Config) -> (Array2<f64>, Array2<f64>) {
    let mut state = cfg
        .seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let data = Array2::from_shape_fn((cfg.size, cfg.nsample), |_| next());
    let transform = Array2::from_shape_fn((100, cfg.size), |_| next() - 0.5);
    let output = transform.dot(&data);
    (data, output)
}

/// The example's `execute`: runs the experiment for `cfg` unless a run with
/// that configuration is saved already (found without reading an array);
/// gives whether it ran.
pub async fn execute(repo: &Repo, cfg: Config) -> dman::Result<bool> {
    repo.track("experiment", experiment, async |runs: &mut MRuns<Run>| {
        if runs.contents().await?.iter().any(|run| run.config == cfg) {
            return Ok(false);
        }
        runs.push(Run::of(cfg.clone()));
        Ok(true)
    })
    .await
}

/// The start of the example: clears the experiment, then runs seeds 1000
/// and 1024 (both new).
pub async fn start_getting_started(repo: &Repo) {
    repo.track("experiment", experiment, async |runs: &mut MRuns<Run>| {
        runs.clear();
        Ok(())
    })
    .await
    .expect("clear the experiment");
    assert!(execute(repo, config(1000)).await.expect("seed 1000"));
    assert!(execute(repo, config(1024)).await.expect("seed 1024"));
}

/// The sha256 of an array's float64 little-endian bytes, as
/// `tests/python/check_getting_started.py` computes it.
pub fn digest(array: &Array2<f64>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for x in array {
        hasher.update(x.to_le_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The two arrays of a run (`data`, `output`), loaded.
pub async fn loaded_arrays(run: &Run) -> (&Array2<f64>, &Array2<f64>) {
    async fn get<'a>(field: &str, record: &'a Option<Record<Array2<f64>>>) -> &'a Array2<f64> {
        record
            .as_ref()
            .unwrap_or_else(|| panic!("no {field} record"))
            .get()
            .await
            .unwrap_or_else(|err| panic!("load {field}: {err}"))
    }
    (
        get("data", &run.data).await,
        get("output", &run.output).await,
    )
}

/// What `check_getting_started.py` expects of a getting-started tree: per
/// run, in order, its seed and the digests of its `data` and `output`
/// arrays as they were made, before any of them was written (so a writer
/// that stored another array fails Python's check).
pub fn expectation_of(runs: &[(u64, Array2<f64>, Array2<f64>)]) -> String {
    let runs: Vec<String> = runs
        .iter()
        .map(|(seed, data, output)| {
            format!(
                r#"{{"seed": {seed}, "data": "{}", "output": "{}"}}"#,
                digest(data),
                digest(output)
            )
        })
        .collect();
    format!(r#"{{"runs": [{}]}}"#, runs.join(", "))
}

/// The seeds of the two runs the example's flow leaves, in order.
pub const SEEDS: [u64; 2] = [1000, 1024];

/// The [`expectation_of`] the tree [`write_getting_started`] writes: the
/// digests of [`arrays`] for [`SEEDS`].
pub fn expectation() -> String {
    let runs: Vec<_> = SEEDS
        .iter()
        .map(|seed| {
            let (data, output) = arrays(&config(*seed));
            (*seed, data, output)
        })
        .collect();
    expectation_of(&runs)
}

/// The arrays the getting-started example binary (`examples/patterns/
/// common.rs`) makes for a run of `cfg`, computed here the way it computes
/// them (numbers from `StdRng` seeded with the seed, a standard normal
/// transform): when the example changes how it makes them, the tests that
/// check its tree against these fail.
pub fn example_arrays(cfg: &Config) -> (Array2<f64>, Array2<f64>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let data = Array2::from_shape_fn((cfg.size, cfg.nsample), |_| rng.gen::<f64>());
    let transform = Array2::from_shape_fn((100, cfg.size), |_| {
        rng.sample::<f64, _>(rand_distr::StandardNormal)
    });
    let output = transform.dot(&data);
    (data, output)
}

/// The [`expectation_of`] the tree the example binary writes: the digests
/// of [`example_arrays`] for [`SEEDS`].
pub fn example_expectation() -> String {
    let runs: Vec<_> = SEEDS
        .iter()
        .map(|seed| {
            let (data, output) = example_arrays(&config(*seed));
            (*seed, data, output)
        })
        .collect();
    expectation_of(&runs)
}

/// The example's flow on `backend` (its root as the `.dman` folder): seeds
/// 1000, 1024 and 1000 again, then `config` saved flat in the example's
/// generator and in `demo`. Gives the [`expectation`] of the tree, from
/// the arrays as made, not as read back.
pub async fn write_getting_started(backend: Arc<dyn StorageBackend>) -> String {
    let repo = Repo::new(backend).with_generator(GENERATOR);
    for seed in [1000, 1024, 1000] {
        execute(&repo, config(seed)).await.expect("execute");
    }
    repo.save(Key::new("config").cluster(false), &Config::default())
        .await
        .expect("save config");
    repo.save(
        Key::new("config").cluster(false).generator("demo"),
        &Config::default(),
    )
    .await
    .expect("save the demo config");
    let runs: MRuns<Run> = repo.load("experiment").await.expect("load the experiment");
    let seeds: Vec<u64> = runs
        .contents()
        .await
        .expect("the runs")
        .iter()
        .map(|run| run.config.seed)
        .collect();
    assert_eq!(seeds, SEEDS, "the example's flow leaves these runs");
    expectation()
}

/// The getting-started tree Python dman 1.0.1 wrote (the fixture), read
/// through `backend`: two runs of seeds 1000 and 1024 with their arrays,
/// and the default `config` in both generators.
pub async fn check_python_tree(backend: Arc<dyn StorageBackend>) {
    let repo = Repo::new(backend).with_generator(GENERATOR);
    let runs: MRuns<Run> = repo.load("experiment").await.expect("load the fixture");
    assert_eq!(runs.run_count(), 2);
    let runs = runs.contents().await.expect("runs");
    let seeds: Vec<u64> = runs.iter().map(|run| run.config.seed).collect();
    assert_eq!(seeds, [1000, 1024]);
    for run in runs {
        let (data, output) = loaded_arrays(run).await;
        assert_eq!((data.dim(), output.dim()), ((20, 1000), (100, 1000)));
    }
    for generator in [GENERATOR, "demo"] {
        let cfg: Config = repo
            .load(Key::new("config").cluster(false).generator(generator))
            .await
            .expect("config");
        assert_eq!(cfg, Config::default(), "{generator}");
    }
}
