//! Getting started: the example of Python dman's documentation
//! (`gallery/patterns/common.py`) in Rust.
//!
//! Run it from the repository root: `cargo run --example getting_started`.
//! It keeps its files in `.dman/cache/examples:patterns:common`, the folder
//! Python dman gives the script `examples/patterns/common.py`, and in
//! `.dman/demo`. Show what it does with `RUST_LOG=dman=debug`.

use dman::blocking::{self, prelude::*};
use dman::ndarray::Array2;
use dman::tree::TreeOptions;
use dman::{Key, MRuns, Modelclass, Record};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// The configuration of one experiment.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
struct Config {
    seed: u64,
    size: usize,
    nsample: usize,
    nrepeats: usize,
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

/// One run: its configuration and two arrays, each in a `.npy` file.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
struct Run {
    config: Config,
    data: Option<Record<Array2<f64>>>,
    output: Option<Record<Array2<f64>>>,
}

fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

/// Runs the experiment for `cfg` unless a run with that configuration is
/// saved already (found without reading any array).
fn execute(repo: &blocking::Repo, cfg: Config) -> dman::Result<()> {
    repo.track("experiment", experiment, |runs| {
        if runs
            .blocking_contents()?
            .iter()
            .any(|run| run.config == cfg)
        {
            println!("seed {}: found among the saved runs, skipped", cfg.seed);
            return Ok(());
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
        let data = Array2::from_shape_fn((cfg.size, cfg.nsample), |_| rng.gen::<f64>());
        let transform =
            Array2::from_shape_fn((100, cfg.size), |_| rng.sample::<f64, _>(StandardNormal));
        let output = transform.dot(&data);
        println!("seed {}: executed", cfg.seed);
        runs.push(Run {
            // The closure may run again if another process saved the
            // experiment meanwhile, so it keeps its own copy of `cfg`.
            config: cfg.clone(),
            data: Some(data.into()),
            output: Some(output.into()),
        });
        Ok(())
    })
}

fn main() -> dman::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let cwd = std::env::current_dir().map_err(|source| dman::Error::Io {
        path: ".".into(),
        source,
    })?;
    match dman::find_root(&cwd) {
        Ok(_) => {}
        Err(dman::Error::NoRoot { .. }) => {
            let root = dman::init(&cwd)?;
            println!("created {}", root.display());
        }
        Err(other) => return Err(other),
    }
    let repo = blocking::repo!()?;

    // Start from an empty experiment: the files of the old runs are deleted
    // once the cleared list is saved.
    repo.track("experiment", experiment, |runs| {
        runs.clear();
        Ok(())
    })?;
    execute(
        &repo,
        Config {
            seed: 1000,
            ..Config::default()
        },
    )?;
    execute(
        &repo,
        Config {
            seed: 1024,
            ..Config::default()
        },
    )?;
    execute(
        &repo,
        Config {
            seed: 1000,
            ..Config::default()
        },
    )?;

    repo.save(Key::new("config").cluster(false), &Config::default())?;
    repo.save(
        Key::new("config").cluster(false).generator("demo"),
        &Config::default(),
    )?;
    let cfg: Config = repo.load(Key::new("config").cluster(false))?;
    println!("{cfg:?}");

    // The experiment's generator folder with each file's content, then the
    // whole `.dman` folder (Python's two `tui.walk_directory` calls).
    let with_content = TreeOptions {
        content: true,
        ..TreeOptions::default()
    };
    let generator_dir = repo.directory("experiment")?.dir();
    print!("{}", repo.tree_at(&generator_dir, &with_content)?);
    print!("{}", repo.tree_at(repo.base(), &TreeOptions::default())?);
    Ok(())
}
