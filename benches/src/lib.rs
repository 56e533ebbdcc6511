//! The benchmarks of dman-rs that need an S3 server or compare with the raw
//! I/O limit, in a package of their own so that the facade's
//! dev-dependencies stay small (the targets are the benches; this library
//! is empty):
//!
//! - `compare.rs`: dman-rs and the raw limit on every backend (memory,
//!   local folder with and without fsync, zip, S3 on an in-process s3s-fs),
//!   run with Python dman 1.0.1 by `scripts/bench.sh`
//!   (`cargo bench -p dman-benches --bench compare`);
//! - `s3_save.rs`: a save of 200 runs to s3s-fs, writes 16 at a time and one
//!   by one (`cargo bench -p dman-benches --bench s3_save`);
//! - `python/`: Python dman 1.0.1's side of the comparison and the table.
