//! dman-rs side by side with Python dman 1.0.1 and with the raw I/O limit
//! (issue 8). `scripts/bench.sh` runs this together with
//! `benches/python/bench_dman.py` and prints one table; run alone:
//!
//! ```text
//! cargo bench -p dman-benches --bench compare -- [--n 100,500,2000]
//!     [--backends memory,fs,fs-durable,zip,s3] [--reps 100:5,500:3,2000:2]
//!     [--out results.jsonl] [--keep] [--only save,raw-save,...]
//! ```
//!
//! (or the environment variables `DMAN_BENCH_N`, `DMAN_BENCH_BACKENDS`,
//! `DMAN_BENCH_REPS`, `DMAN_BENCH_OUT`, `DMAN_BENCH_KEEP=1`,
//! `DMAN_BENCH_ONLY`). `DMAN_BENCH_DIR` is the folder every file of the run
//! goes to (local folders, archives, the S3 server's objects), default
//! `<system temporary folder>/dman-bench`.
//!
//! The workload is the getting-started experiment: `Run` = `Config` + arrays
//! of 20x1000 and 100x1000 float64, in an `MRuns` with stem `experiment`,
//! subdir `results`, under the key `experiment`. One cycle, on a fresh
//! backend, times these rows in order:
//!
//! - `save`: one load of the (absent) key, N pushes of runs prepared
//!   beforehand, one save (`Repo::load_or` + `Repo::save`, the steps of
//!   `track` without its closure, so that the N runs are dropped after the
//!   clock stops, as Python keeps its runs alive);
//! - `resume`: load the experiment and compare every run's config with one
//!   that is absent (reads every run file, no array);
//! - `load`: load the experiment and every array of every run (concurrently,
//!   `Record::get` joined), keeping them until the clock stops;
//! - `append`: `track` the key, push one run, save;
//! - `clean`: `clean` the key.
//!
//! The raw limit of the save, resume and load rows: the very files the save
//! wrote written to a fresh place (each read back from the save just before
//! it is written, untimed), then the saved files read (every run file for `resume`; every file for `load`),
//! with plain calls from one thread, each buffer kept until the clock
//! stops:
//!
//! - `fs`: `std::fs::create_dir_all` + `std::fs::write` and `std::fs::read`;
//!   `fs-durable` (compared with `FsBackend::durable(true)`): each file
//!   written with `File::sync_all`, then every folder written into (and the
//!   parent of every folder created) fsynced once;
//! - `memory`: copies into a `HashMap` and out of it;
//! - `zip`: the `zip` crate's `ZipWriter` with the backend's compression
//!   (deflate, level 6) to a temporary file, `sync_all`, rename (as the
//!   backend's commit does), and `ZipArchive::by_name` reads;
//! - `s3`: one `put` (or `get`) after the other with the same
//!   `object_store` client, against the same in-process S3 server (s3s-fs,
//!   objects in files under `DMAN_BENCH_DIR`).
//!
//! On the local folder (`fs`, `fs-durable`) the same rows also run with
//! the concurrency dman uses (`raw16` in the output, "raw x16" in the
//! table; issue 17): 16 threads of plain calls, each taking every 16th
//! file (a write of all files read beforehand, untimed). A limit that dman
//! beats with its 16 concurrent writes is no limit. The `clean` row's raw
//! limit removes the files the raw saves wrote (`std::fs::remove_file`),
//! from one thread and from 16.
//!
//! Before each timed step the page cache is written back (`sync`,
//! untimed), so one step's write-back does not land in the next one's time;
//! nothing is dropped from the cache, so reads come from memory for dman-rs
//! and raw alike.
//!
//! The disk of this project's machine is ext4 without a journal: creating a
//! file skips, one by one, every inode of its block group freed in the last
//! minute, so a file created where thousands were just deleted costs up to
//! ten times more. Hence the folders of the cycles are not deleted until
//! the end of the run (`--keep`: not at all, `scripts/bench.sh` removes
//! them after Python's run too), and `DMAN_BENCH_DIR` is marked
//! `chattr +T` (when the file system allows it), which spreads the cycles'
//! folders over fresh block groups.
//!
//! A row's time is the best over the cycles. Each result is one JSON line:
//! `{"impl": "dman-rs"|"raw", "backend": ..., "mode": ..., "row": ...,
//! "n": ..., "seconds": ..., "reps": ...}`.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dman::ndarray::Array2;
use dman::{FsBackend, MRuns, MemoryBackend, Repo, StorageBackend, StoragePath, ZipBackend};
use dman_s3::object_store::{self, ObjectStore, ObjectStoreExt};
use dman_test_support::s3::S3sServer;
use dman_test_support::seed::{config, experiment, Run};
use futures::future::try_join_all;
use tempfile::TempDir;

const KEY: &str = "experiment";
const ROWS: [&str; 5] = ["save", "resume", "load", "append", "clean"];
const DEFAULT_BACKENDS: &str = "memory,fs,fs-durable,zip,s3";

fn run(seed: u64, data: &Array2<f64>, output: &Array2<f64>) -> Run {
    Run {
        config: config(seed),
        data: Some(data.clone().into()),
        output: Some(output.clone().into()),
    }
}

// ---- options ------------------------------------------------------------

struct Options {
    ns: Vec<usize>,
    backends: Vec<String>,
    reps: HashMap<usize, usize>,
    out: Option<PathBuf>,
    dir: PathBuf,
    keep: bool,
    /// Only these steps (`save` is always done; `raw-save`, `resume`,
    /// `raw-resume`, `load`, `raw-load`, `append`, `clean`): for profiling.
    only: Option<Vec<String>>,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Options {
    fn parse() -> Options {
        let mut values: HashMap<&str, String> = HashMap::new();
        for (name, var) in [
            ("n", "DMAN_BENCH_N"),
            ("backends", "DMAN_BENCH_BACKENDS"),
            ("reps", "DMAN_BENCH_REPS"),
            ("out", "DMAN_BENCH_OUT"),
            ("only", "DMAN_BENCH_ONLY"),
            ("keep", "DMAN_BENCH_KEEP"),
        ] {
            if let Ok(v) = std::env::var(var) {
                values.insert(name, v);
            }
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let name = match arg.as_str() {
                "--n" => "n",
                "--backends" => "backends",
                "--reps" => "reps",
                "--out" => "out",
                "--only" => "only",
                "--keep" => {
                    values.insert("keep", "1".into());
                    continue;
                }
                // `cargo bench` passes `--bench`; a filter may follow.
                _ => continue,
            };
            let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            values.insert(name, value);
        }
        let get = |name: &str, default: &'static str| {
            values
                .get(name)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        let ns = list(&get("n", "100,500,2000"))
            .iter()
            .map(|n| n.parse().expect("--n: numbers separated by commas"))
            .collect();
        let mut reps = HashMap::new();
        for part in list(&get("reps", "100:5,500:3,2000:2")) {
            let (n, k) = part.split_once(':').expect("--reps: N:K,N:K");
            reps.insert(n.parse().expect("--reps"), k.parse().expect("--reps"));
        }
        let dir = std::env::var_os("DMAN_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("dman-bench"));
        std::fs::create_dir_all(&dir).expect("DMAN_BENCH_DIR");
        // Spread the cycles' folders over fresh block groups (ext4); a file
        // system without the flag refuses, which changes nothing else.
        let _ = std::process::Command::new("chattr")
            .arg("+T")
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status();
        Options {
            ns,
            backends: list(&get("backends", DEFAULT_BACKENDS)),
            reps,
            out: values.get("out").map(PathBuf::from),
            dir,
            keep: values
                .get("keep")
                .is_some_and(|v| !v.is_empty() && v != "0"),
            only: values.get("only").map(|s| list(s)),
        }
    }

    fn reps(&self, n: usize, backend: &str) -> usize {
        let k = self.reps.get(&n).copied().unwrap_or(1);
        // fsync-, compression- and HTTP-bound rows take tens of seconds per
        // cycle at 2000 runs: once is enough there.
        if backend != "memory" && backend != "fs" && n >= 2000 {
            k.min(1)
        } else {
            k
        }
    }

    fn temp_dir(&self, graveyard: &mut Vec<TempDir>) -> PathBuf {
        let dir = tempfile::tempdir_in(&self.dir).expect("temporary folder");
        let path = dir.path().to_path_buf();
        graveyard.push(dir);
        path
    }
}

// ---- backends -------------------------------------------------------------

/// One fresh backend for one cycle, with the raw-limit counterpart.
struct Target {
    repo: Repo,
    raw: Raw,
}

enum Raw {
    /// Copies into a map (write) and out of it (read).
    Memory(HashMap<String, Vec<u8>>),
    /// `std::fs` in `dir`; `saved` is where dman's files are (the read side
    /// reads those).
    Fs {
        dir: PathBuf,
        saved: PathBuf,
        durable: bool,
    },
    /// The `zip` crate: an archive at `archive`; reads from dman's `saved`.
    Zip { archive: PathBuf, saved: PathBuf },
    /// Puts into the bucket of `raw`, gets from dman's bucket (`saved`).
    S3 {
        raw: Arc<dyn ObjectStore>,
        saved: Arc<dyn ObjectStore>,
    },
}

struct Env {
    opts: Options,
    graveyard: Vec<TempDir>,
    server: Option<S3sServer>,
    buckets: usize,
}

impl Env {
    async fn target(&mut self, backend: &str) -> Target {
        let repo = |store: Arc<dyn StorageBackend>| Repo::new(store).with_generator("bench");
        match backend {
            "memory" => Target {
                repo: repo(Arc::new(MemoryBackend::new())),
                raw: Raw::Memory(HashMap::new()),
            },
            "fs" | "fs-durable" => {
                let durable = backend == "fs-durable";
                let dman_dir = self.opts.temp_dir(&mut self.graveyard);
                let raw_dir = self.opts.temp_dir(&mut self.graveyard);
                let fs = FsBackend::new(dman_dir.join(".dman"))
                    .expect("backend")
                    .durable(durable);
                Target {
                    raw: Raw::Fs {
                        dir: raw_dir.join(".dman"),
                        saved: fs.root().to_path_buf(),
                        durable,
                    },
                    repo: repo(Arc::new(fs)),
                }
            }
            "zip" => {
                let saved = self.opts.temp_dir(&mut self.graveyard).join("dman.zip");
                let archive = self.opts.temp_dir(&mut self.graveyard).join("raw.zip");
                let zip = ZipBackend::builder(&saved).create().expect("zip backend");
                Target {
                    repo: repo(Arc::new(zip)),
                    raw: Raw::Zip { archive, saved },
                }
            }
            "s3" => {
                if self.server.is_none() {
                    let root = self.opts.temp_dir(&mut self.graveyard);
                    self.server = Some(S3sServer::start_in(root).await);
                }
                let server = self.server.as_ref().expect("server");
                self.buckets += 1;
                let bucket = |name: String| {
                    server.create_bucket(&name);
                    server.builder(&name).build().expect("S3 backend")
                };
                let saved = bucket(format!("dman-{}", self.buckets));
                let raw = bucket(format!("raw-{}", self.buckets));
                Target {
                    raw: Raw::S3 {
                        raw: raw.store().clone(),
                        saved: saved.store().clone(),
                    },
                    repo: repo(Arc::new(saved)),
                }
            }
            other => panic!("unknown backend `{other}` (memory, fs, fs-durable, zip, s3)"),
        }
    }
}

/// Writes back the page cache (untimed), so that the write-back of one
/// step does not slow the next.
fn sync() {
    let _ = std::process::Command::new("sync").status();
}

fn local(root: &Path, path: &StoragePath) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(path.segments());
    p
}

fn zip_options() -> zip::write::SimpleFileOptions {
    // What dman-zip writes by default: deflate, level 6.
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
}

impl Raw {
    /// Writes the files of `paths`, each read from `saved` just before
    /// (untimed: only the writing is on the clock), so that no second copy
    /// of every file sits in memory.
    async fn write(&mut self, saved: &Arc<dyn StorageBackend>, paths: &[StoragePath]) -> Duration {
        let mut clock = Duration::ZERO;
        let mut timed = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            f();
            clock += start.elapsed();
        };
        match self {
            Raw::Memory(map) => {
                for path in paths {
                    let bytes = saved.read(path).await.expect("read");
                    timed(&mut || {
                        map.insert(path.to_string(), bytes.to_vec());
                    });
                }
            }
            Raw::Fs { dir, durable, .. } => {
                let mut fs = RawFs::new(dir.clone(), *durable);
                for path in paths {
                    let bytes = saved.read(path).await.expect("read");
                    timed(&mut || fs.write(path, &bytes));
                }
                timed(&mut || fs.finish());
            }
            Raw::Zip { archive, .. } => {
                let temp = archive.with_extension("zip.tmp");
                let mut zip = None;
                timed(&mut || {
                    zip = Some(zip::ZipWriter::new(
                        std::fs::File::create(&temp).expect("create"),
                    ));
                });
                let mut zip = zip.expect("writer");
                for path in paths {
                    let bytes = saved.read(path).await.expect("read");
                    timed(&mut || {
                        zip.start_file(path.as_str(), zip_options()).expect("entry");
                        zip.write_all(&bytes).expect("write");
                    });
                }
                let mut zip = Some(zip);
                timed(&mut || {
                    let file = zip.take().expect("writer").finish().expect("finish");
                    file.sync_all().expect("fsync");
                    std::fs::rename(&temp, archive.as_path()).expect("rename");
                });
            }
            Raw::S3 { raw, .. } => {
                for path in paths {
                    let bytes = saved.read(path).await.expect("read");
                    let start = Instant::now();
                    raw.put(&object_store::path::Path::from(path.as_str()), bytes.into())
                        .await
                        .expect("put");
                    clock += start.elapsed();
                }
            }
        }
        clock
    }

    /// Reads the files one after the other, keeping every buffer until the
    /// clock stops, as a load keeps every array.
    async fn read(&self, paths: &[StoragePath]) -> Duration {
        let start = Instant::now();
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(paths.len());
        match self {
            Raw::Memory(map) => {
                for path in paths {
                    kept.push(map[&path.to_string()].to_vec());
                }
            }
            Raw::Fs { saved, .. } => {
                for path in paths {
                    kept.push(std::fs::read(local(saved, path)).expect("raw read"));
                }
            }
            Raw::Zip { saved, .. } => {
                let file = std::fs::File::open(saved).expect("open archive");
                let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).expect("archive");
                for path in paths {
                    let mut entry = zip.by_name(path.as_str()).expect("entry");
                    let mut buf = Vec::with_capacity(entry.size() as usize);
                    entry.read_to_end(&mut buf).expect("read entry");
                    kept.push(buf);
                }
            }
            Raw::S3 { saved, .. } => {
                for path in paths {
                    let got = saved
                        .get(&object_store::path::Path::from(path.as_str()))
                        .await
                        .expect("get");
                    kept.push(got.bytes().await.expect("body").into());
                }
            }
        }
        let t = start.elapsed();
        assert!(kept.iter().all(|b| !b.is_empty()));
        t
    }
}

/// Files written with plain `std::fs` calls from one thread. Durable:
/// each file is `sync_all`ed, and at the end every folder written into (and
/// the parent of every folder created) is fsynced once.
struct RawFs {
    dir: PathBuf,
    durable: bool,
    folders: BTreeSet<PathBuf>,
    made: BTreeSet<PathBuf>,
}

impl RawFs {
    fn new(dir: PathBuf, durable: bool) -> Self {
        RawFs {
            dir,
            durable,
            folders: BTreeSet::new(),
            made: BTreeSet::new(),
        }
    }

    fn write(&mut self, path: &StoragePath, bytes: &[u8]) {
        let file = local(&self.dir, path);
        let parent = file.parent().expect("parent").to_path_buf();
        if !self.made.contains(&parent) {
            if self.durable {
                // The folders this creates need their parents synced.
                let mut missing = parent.as_path();
                while !missing.exists() {
                    let up = missing.parent().expect("parent");
                    self.folders.insert(up.to_path_buf());
                    missing = up;
                }
            }
            std::fs::create_dir_all(&parent).expect("mkdir");
            self.made.insert(parent.clone());
        }
        if self.durable {
            let mut f = std::fs::File::create(&file).expect("create");
            f.write_all(bytes).expect("write");
            f.sync_all().expect("fsync");
            self.folders.insert(parent);
        } else {
            std::fs::write(&file, bytes).expect("write");
        }
    }

    fn finish(&mut self) {
        for folder in std::mem::take(&mut self.folders) {
            std::fs::File::open(&folder)
                .and_then(|f| f.sync_all())
                .expect("fsync folder");
        }
    }
}

// ---- one cycle ------------------------------------------------------------

#[derive(Default)]
struct Times {
    dman: HashMap<&'static str, Duration>,
    raw: HashMap<&'static str, Duration>,
    /// The local folder's raw limit with dman's concurrency: 16 threads
    /// of plain calls.
    raw16: HashMap<&'static str, Duration>,
}

async fn cycle(
    env: &mut Env,
    backend: &str,
    n: usize,
    data: &Array2<f64>,
    output: &Array2<f64>,
) -> Times {
    let only = env.opts.only.clone();
    let want = |what: &str| {
        only.as_ref()
            .is_none_or(|only| only.iter().any(|o| o == what))
    };
    let mut times = Times::default();
    let mut t = env.target(backend).await;
    let repo = &t.repo;
    let store = repo.backend().clone();
    let prepared: Vec<Run> = (0..n as u64).map(|seed| run(seed, data, output)).collect();
    let extra = run(n as u64, data, output);
    let absent = config(u64::MAX);

    // save: one load, N pushes, one save.
    sync();
    let start = Instant::now();
    let mut runs = repo.load_or(KEY, experiment).await.expect("load");
    for r in prepared {
        runs.push(r);
    }
    repo.save(KEY, &runs).await.expect("save");
    times.dman.insert("save", start.elapsed());
    drop(runs);

    // The files the save wrote, for the raw limit.
    let listed = store.list(&StoragePath::root()).await.expect("list");
    let paths: Vec<StoragePath> = listed.into_iter().map(|m| m.path).collect();
    let is = |p: &StoragePath, ext: &str| p.as_str().ends_with(ext);
    assert_eq!(paths.iter().filter(|p| is(p, ".npy")).count(), 2 * n);
    if want("raw-save") {
        sync();
        times.raw.insert("save", t.raw.write(&store, &paths).await);
        if let Raw::Fs { dir, durable, .. } = &t.raw {
            sync();
            let dir16 = dir.with_file_name(".dman16");
            times
                .raw16
                .insert("save", fs16::write(&store, &paths, &dir16, *durable).await);
        }
    }
    let json: Vec<StoragePath> = paths.iter().filter(|p| is(p, ".json")).cloned().collect();
    let all: Vec<StoragePath> = paths
        .iter()
        .filter(|p| !is(p, ".gitignore"))
        .cloned()
        .collect();

    // resume: load, compare every run's config with an absent one.
    if want("resume") {
        sync();
        let start = Instant::now();
        let runs: MRuns<Run> = repo.load(KEY).await.expect("load");
        let found = runs
            .contents()
            .await
            .expect("runs")
            .iter()
            .any(|r| r.config == absent);
        times.dman.insert("resume", start.elapsed());
        assert!(!found && runs.len() == n);
    }
    if want("raw-resume") {
        sync();
        times.raw.insert("resume", t.raw.read(&json).await);
        if let Raw::Fs { saved, .. } = &t.raw {
            sync();
            times.raw16.insert("resume", fs16::read(saved, &json));
        }
    }

    // load: every array of every run, kept until the clock stops.
    if want("load") {
        sync();
        let start = Instant::now();
        let runs: MRuns<Run> = repo.load(KEY).await.expect("load");
        let contents = runs.contents().await.expect("runs");
        let arrays = try_join_all(
            contents
                .iter()
                .flat_map(|r| [&r.data, &r.output])
                .map(|a| a.as_ref().expect("array").get()),
        )
        .await
        .expect("arrays");
        times.dman.insert("load", start.elapsed());
        let values: usize = arrays.iter().map(|a| a.len()).sum();
        assert_eq!(values, n * (data.len() + output.len()));
    }
    if want("raw-load") {
        sync();
        times.raw.insert("load", t.raw.read(&all).await);
        if let Raw::Fs { saved, .. } = &t.raw {
            sync();
            times.raw16.insert("load", fs16::read(saved, &all));
        }
    }

    // append one run and save.
    if want("append") {
        sync();
        let start = Instant::now();
        let mut extra = Some(extra);
        repo.track(KEY, experiment, async |runs: &mut MRuns<Run>| {
            // One writer: the closure runs once.
            if let Some(run) = extra.take() {
                runs.push(run);
            }
            Ok(())
        })
        .await
        .expect("append");
        times.dman.insert("append", start.elapsed());
    }

    // clean the key.
    if want("clean") {
        sync();
        let start = Instant::now();
        let deleted = repo.clean(KEY).await.expect("clean").deleted;
        times.dman.insert("clean", start.elapsed());
        let appended = usize::from(want("append"));
        assert_eq!(deleted.len(), 3 * (n + appended) + 1);
        let left = store.list(&StoragePath::root()).await.expect("list");
        assert!(left.iter().all(|m| is(&m.path, ".gitignore")), "{left:?}");
    }
    // The raw limit of clean: removing the files the raw saves wrote (the
    // same files as dman's save, without the appended run), from one
    // thread and from 16.
    if want("raw-clean") && want("raw-save") {
        if let Raw::Fs { dir, .. } = &t.raw {
            sync();
            times.raw.insert("clean", fs16::remove(dir, &all, 1));
            sync();
            times.raw16.insert(
                "clean",
                fs16::remove(&dir.with_file_name(".dman16"), &all, 16),
            );
        }
    }
    times
}

/// The local folder's raw limit with the concurrency dman uses: plain
/// `std::fs` calls from 16 threads, each taking every 16th file.
mod fs16 {
    use super::*;

    const THREADS: usize = 16;

    /// Writes `paths` (read from `saved` beforehand, untimed) under `dir`.
    pub async fn write(
        saved: &Arc<dyn StorageBackend>,
        paths: &[StoragePath],
        dir: &Path,
        durable: bool,
    ) -> Duration {
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            files.push((local(dir, path), saved.read(path).await.expect("read")));
        }
        let start = Instant::now();
        std::thread::scope(|scope| {
            for first in 0..THREADS {
                let files = &files;
                scope.spawn(move || {
                    for (file, bytes) in files.iter().skip(first).step_by(THREADS) {
                        let parent = file.parent().expect("parent");
                        std::fs::create_dir_all(parent).expect("mkdir");
                        let mut f = std::fs::File::create(file).expect("create");
                        f.write_all(bytes).expect("write");
                        if durable {
                            f.sync_all().expect("fsync");
                        }
                    }
                });
            }
        });
        start.elapsed()
    }

    /// Reads `paths` under `dir`, keeping every buffer until the clock
    /// stops.
    pub fn read(dir: &Path, paths: &[StoragePath]) -> Duration {
        let start = Instant::now();
        let kept: Vec<Vec<Vec<u8>>> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..THREADS)
                .map(|first| {
                    scope.spawn(move || {
                        paths
                            .iter()
                            .skip(first)
                            .step_by(THREADS)
                            .map(|p| std::fs::read(local(dir, p)).expect("raw read"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            readers
                .into_iter()
                .map(|r| r.join().expect("reader"))
                .collect()
        });
        let t = start.elapsed();
        assert_eq!(kept.iter().map(Vec::len).sum::<usize>(), paths.len());
        t
    }

    /// Removes `paths` under `dir` from `threads` threads.
    pub fn remove(dir: &Path, paths: &[StoragePath], threads: usize) -> Duration {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for first in 0..threads {
                scope.spawn(move || {
                    for p in paths.iter().skip(first).step_by(threads) {
                        std::fs::remove_file(local(dir, p)).expect("raw remove");
                    }
                });
            }
        });
        start.elapsed()
    }
}

fn json_line(imp: &str, backend: &str, row: &str, n: usize, t: Duration, reps: usize) -> String {
    let (backend, mode) = match backend {
        "fs-durable" => ("fs", "durable"),
        b => (b, "default"),
    };
    format!(
        "{{\"impl\": \"{imp}\", \"backend\": \"{backend}\", \"mode\": \"{mode}\", \"row\": \"{row}\", \"n\": {n}, \"seconds\": {:.6}, \"reps\": {reps}}}",
        t.as_secs_f64()
    )
}

#[tokio::main]
async fn main() {
    let opts = Options::parse();
    let data = Array2::from_shape_fn((20, 1000), |(i, j)| (i * 1000 + j) as f64 / 7.0);
    let output = Array2::from_shape_fn((100, 1000), |(i, j)| (i * 1000 + j) as f64 / 3.0);
    let mut out: Box<dyn Write> = match &opts.out {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open --out"),
        ),
        None => Box::new(std::io::stdout()),
    };
    let backends = opts.backends.clone();
    let ns = opts.ns.clone();
    let mut env = Env {
        opts,
        graveyard: Vec::new(),
        server: None,
        buckets: 0,
    };
    for backend in &backends {
        for &n in &ns {
            let reps = env.opts.reps(n, backend);
            let mut best = Times::default();
            for _ in 0..reps {
                let times = cycle(&mut env, backend, n, &data, &output).await;
                for (into, from) in [
                    (&mut best.dman, times.dman),
                    (&mut best.raw, times.raw),
                    (&mut best.raw16, times.raw16),
                ] {
                    for (row, t) in from {
                        let e = into.entry(row).or_insert(t);
                        *e = (*e).min(t);
                    }
                }
            }
            let mut summary = Vec::new();
            for row in ROWS {
                if let Some(&t) = best.dman.get(row) {
                    writeln!(out, "{}", json_line("dman-rs", backend, row, n, t, reps))
                        .expect("write");
                    summary.push(format!("{row} {:.3} s", t.as_secs_f64()));
                }
                if let Some(&t) = best.raw.get(row) {
                    writeln!(out, "{}", json_line("raw", backend, row, n, t, reps)).expect("write");
                    summary.push(format!("(raw {:.3} s)", t.as_secs_f64()));
                }
                if let Some(&t) = best.raw16.get(row) {
                    writeln!(out, "{}", json_line("raw16", backend, row, n, t, reps))
                        .expect("write");
                    summary.push(format!("(raw x16 {:.3} s)", t.as_secs_f64()));
                }
            }
            out.flush().expect("flush");
            eprintln!("dman-rs {backend} N={n}: {}", summary.join(", "));
        }
    }
    if env.opts.keep {
        for dir in env.graveyard.drain(..) {
            let _ = dir.keep();
        }
    }
}
