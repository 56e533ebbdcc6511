//! The experiment of the facade's crash test: what the `crash_appender`
//! example appends and what `dman/tests/crash.rs` checks after each kill.

use dman::ndarray::Array2;
use dman::{MRuns, Modelclass, Record};

/// A run's configuration: the seed its array is made from.
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
pub struct Config {
    /// The seed (the run's number).
    pub seed: u64,
}

/// A run: its configuration and an array in a `.npy` file.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
pub struct Run {
    /// The configuration.
    pub config: Config,
    /// The array [`data`] makes from the seed.
    pub data: Record<Array2<f64>>,
}

/// The experiment's container.
pub fn experiment() -> MRuns<Run> {
    MRuns::new().stem("experiment").subdir("results")
}

/// The array of the run with `seed`: every value says where it is.
pub fn data(seed: u64) -> Array2<f64> {
    Array2::from_shape_fn((20, 200), |(i, j)| {
        (seed * 10_000 + i as u64 * 200 + j as u64) as f64
    })
}
