//! The bodies of the fuzz targets, one function per target taking the raw
//! input. `fuzz_targets/*.rs` hand them to libFuzzer (nightly, `cargo
//! fuzz`); `tests/tests/fuzz_replay.rs` includes this file as a module and
//! replays every committed corpus and regression input through them on
//! stable, so this file uses only what both places have: `dman` (features
//! `memory`, `zip`, `ndarray`) and the standard library.
//!
//! A target fails by panicking (an assertion on what must hold for every
//! input), or by what libFuzzer watches: a crash, a stack overflow, an
//! input slower than `-timeout`, an allocation over `-malloc_limit_mb`.
//! Errors returned by the library are the expected outcome for most inputs
//! and are dropped.
//!
//! Inputs of the two graph targets hold several files: the first file's
//! bytes, then for every further file a line `\n%%file <path>\n` and its
//! bytes (see [`split_files`]).

use std::collections::HashSet;
use std::fs::File;
use std::future::Future;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use dman::core::graph::{self, Document, Followed};
use dman::core::json::{self, Map};
use dman::ndarray::{Array1, Array2, ArrayD, IxDyn};
use dman::numeric::num_complex::Complex;
use dman::numeric::{decode_npy, NpyHeader};
use dman::{
    MDict, MList, MRuns, MemoryBackend, Modelclass, Record, StorageBackend, StoragePath, ZipBackend,
};

/// What separates the files of a graph target's input; the path follows,
/// up to the end of the line.
pub const FILE_SEPARATOR: &[u8] = b"\n%%file ";

/// Where the first file of a graph target's input goes: the getting-started
/// experiment's own key file, so that seeds taken from that tree keep their
/// relative targets.
pub const ROOT_FILE: &str = "experiment/experiment.json";

/// The largest entry the zip target lets the backend read: well under
/// libFuzzer's `-malloc_limit_mb`, so that an archive that merely declares
/// a large entry is refused rather than reported as an allocation.
pub const ZIP_MAX_ENTRY: u64 = 64 << 20;

// ---- json --------------------------------------------------------------------

/// The JSON reader: parses the bytes; what parses is written back (pretty
/// and compact) and must read back to the same text.
pub fn json(data: &[u8]) {
    let parsed = json::from_slice(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(
            parsed.is_ok(),
            json::from_str(text).is_ok(),
            "from_slice and from_str disagree"
        );
    }
    let Ok(value) = parsed else { return };
    let pretty = json::to_string_pretty(&value);
    let compact = json::to_string_compact(&value);
    let again = match json::from_str(&pretty) {
        Ok(again) => again,
        Err(err) => panic!("the pretty text of a parsed document does not parse: {err}"),
    };
    assert_eq!(json::to_string_pretty(&again), pretty, "pretty round trip");
    let again = match json::from_str(&compact) {
        Ok(again) => again,
        Err(err) => panic!("the compact text of a parsed document does not parse: {err}"),
    };
    assert_eq!(
        json::to_string_compact(&again),
        compact,
        "compact round trip"
    );
}

// ---- npy ---------------------------------------------------------------------

/// The `.npy` header parser and decoder: parses the header, then decodes
/// the data as the element type the header names (any number of axes), and
/// as `f64` with two axes whatever it names.
pub fn npy(data: &[u8]) {
    let _ = decode_npy::<f64, dman::ndarray::Ix2>(data);
    let Ok(header) = NpyHeader::parse(data) else {
        return;
    };
    let _ = header.dtype_name();
    let _ = header.shape_text();
    let _ = header.is_empty();
    assert!(header.data_offset <= data.len(), "data offset past the end");
    let descr = header.descr.trim_start_matches(['<', '>', '|', '=']);
    let decoded = match descr {
        "f8" => decode_npy::<f64, IxDyn>(data).map(|a| a.len()),
        "f4" => decode_npy::<f32, IxDyn>(data).map(|a| a.len()),
        "i8" => decode_npy::<i64, IxDyn>(data).map(|a| a.len()),
        "i4" => decode_npy::<i32, IxDyn>(data).map(|a| a.len()),
        "i2" => decode_npy::<i16, IxDyn>(data).map(|a| a.len()),
        "i1" => decode_npy::<i8, IxDyn>(data).map(|a| a.len()),
        "u8" => decode_npy::<u64, IxDyn>(data).map(|a| a.len()),
        "u4" => decode_npy::<u32, IxDyn>(data).map(|a| a.len()),
        "u2" => decode_npy::<u16, IxDyn>(data).map(|a| a.len()),
        "u1" => decode_npy::<u8, IxDyn>(data).map(|a| a.len()),
        "b1" => decode_npy::<bool, IxDyn>(data).map(|a| a.len()),
        "c16" => decode_npy::<Complex<f64>, IxDyn>(data).map(|a| a.len()),
        "c8" => decode_npy::<Complex<f32>, IxDyn>(data).map(|a| a.len()),
        _ => return,
    };
    if let Ok(len) = decoded {
        assert_eq!(Some(len), header.len(), "decoded length against the shape");
    }
}

// ---- zip ---------------------------------------------------------------------

/// The zip backend's central-directory reader and entry reads: opens the
/// bytes as an archive (read-only, entries up to [`ZIP_MAX_ENTRY`]), lists
/// it, reads every entry (each read must give the listed size), and
/// verifies it. Gives the number of entries read.
pub fn zip(data: &[u8]) -> usize {
    let Some(path) = archive_file(data) else {
        return 0;
    };
    let Ok(backend) = ZipBackend::builder(&path)
        .read_only(true)
        .max_entry_size(ZIP_MAX_ENTRY)
        .open()
    else {
        return 0;
    };
    block_on(async {
        let mut read = 0;
        let Ok(listed) = backend.list(&StoragePath::root()).await else {
            return read;
        };
        for meta in listed {
            if let Ok(bytes) = backend.read(&meta.path).await {
                assert_eq!(
                    bytes.len() as u64,
                    meta.size,
                    "{}: read vs listed",
                    meta.path
                );
                read += 1;
            }
        }
        let _ = backend.verify().await;
        read
    })
}

thread_local! {
    /// This thread's scratch archive, written anew for every input.
    static ARCHIVE: Option<(File, PathBuf)> = scratch_file();
}

/// An unnamed temporary file and a path that opens it
/// (`/proc/self/fd/<n>`): nothing is left behind when a fuzzer stops.
fn scratch_file() -> Option<(File, PathBuf)> {
    use std::os::fd::AsRawFd;
    let dir = std::env::temp_dir();
    let name = dir.join(format!(
        "dman-fuzz-{}-{:?}.zip",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&name)
        .ok()?;
    // Unlinked at once; the file lives on through its descriptor.
    std::fs::remove_file(&name).ok()?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    Some((file, path))
}

/// Writes `data` into this thread's scratch archive; its path, or `None`
/// when there is no scratch file (no `/proc`).
fn archive_file(data: &[u8]) -> Option<PathBuf> {
    ARCHIVE.with(|archive| {
        let (file, path) = archive.as_ref()?;
        let mut file = file;
        file.set_len(0).ok()?;
        file.seek(SeekFrom::Start(0)).ok()?;
        file.write_all(data).ok()?;
        Some(path.clone())
    })
}

// ---- storage_path ------------------------------------------------------------

/// `StoragePath` parsing: the input's first line is a path, the rest a
/// path relative to it. A parsed path parses to itself; a joined one stays
/// under its base or is refused.
pub fn storage_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(base) = StoragePath::parse(first) else {
        let _ = StoragePath::parse(rest);
        return;
    };
    assert_eq!(
        StoragePath::parse(base.as_str()).as_ref(),
        Ok(&base),
        "a parsed path parses to itself"
    );
    assert_eq!(base.segments().count(), segments(base.as_str()));
    let _ = (
        base.file_name(),
        base.stem(),
        base.suffix(),
        base.extension(),
    );
    if let Some(parent) = base.parent() {
        assert!(
            base.starts_with(&parent),
            "{base} under its parent {parent}"
        );
        let tail = base.strip_prefix(&parent);
        assert!(tail.is_some(), "{base} strips its parent {parent}");
    }
    if let Ok(joined) = base.join(rest) {
        assert_eq!(
            StoragePath::parse(joined.as_str()).as_ref(),
            Ok(&joined),
            "a joined path parses to itself"
        );
    }
    if let Ok(other) = StoragePath::parse(rest) {
        let joined = base.join_path(&other);
        assert!(joined.starts_with(&base), "{joined} under {base}");
        assert_eq!(joined.strip_prefix(&base).as_ref(), Some(&other));
    }
}

fn segments(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.split('/').count()
    }
}

// ---- graph -------------------------------------------------------------------

/// Splits a graph target's input into files: the first at [`ROOT_FILE`],
/// then each `\n%%file <path>\n<bytes>`. Paths that do not parse are
/// dropped.
pub fn split_files(data: &[u8]) -> Vec<(StoragePath, &[u8])> {
    let mut files = Vec::new();
    let mut chunks = split(data, FILE_SEPARATOR);
    if let (Some(first), Ok(root)) = (chunks.next(), StoragePath::parse(ROOT_FILE)) {
        files.push((root, first));
    }
    for chunk in chunks {
        let (name, bytes) = match chunk.iter().position(|&b| b == b'\n') {
            Some(end) => (&chunk[..end], &chunk[end + 1..]),
            None => (chunk, &[][..]),
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if let Ok(path) = StoragePath::parse(name) {
            files.push((path, bytes));
        }
    }
    files
}

fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current
            .windows(separator.len())
            .position(|window| window == separator)
        {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A memory backend holding the files of a graph target's input.
fn memory_store(data: &[u8]) -> Arc<dyn StorageBackend> {
    let memory = MemoryBackend::new();
    block_on(async {
        for (path, bytes) in split_files(data) {
            let _ = memory.write(&path, bytes.to_vec().into()).await;
        }
    });
    Arc::new(memory)
}

/// The untyped graph loader: opens [`ROOT_FILE`] as a document and follows
/// every record it reaches, each file once; also the walks of
/// `graph::owned_files` and `graph::prefetch`. Gives the number of records
/// followed to a file that was read.
pub fn graph(data: &[u8]) -> usize {
    let store = memory_store(data);
    block_on(async {
        let mut followed = 0;
        let Ok(root) = StoragePath::parse(ROOT_FILE) else {
            return followed;
        };
        let _ = graph::owned_files(&store, &root).await;
        let Ok(doc) = Document::open(store.clone(), root.clone()).await else {
            return followed;
        };
        let _ = graph::prefetch(&store, &doc.dir(), &doc.value).await;
        let mut seen = HashSet::from([root]);
        let mut pending = vec![doc];
        while let Some(doc) = pending.pop() {
            let _ = doc.invalid_markers();
            for record in doc.records() {
                let Ok(path) = doc.resolve(&record) else {
                    continue;
                };
                if !seen.insert(path.clone()) {
                    continue;
                }
                match doc.follow(&record).await {
                    Ok(Followed::Document(next)) => {
                        followed += 1;
                        pending.push(next);
                    }
                    Ok(Followed::Bytes(bytes)) => {
                        followed += 1;
                        if path.extension() == Some("npy") {
                            let _ = NpyHeader::parse(&bytes);
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        followed
    })
}

// ---- typed -------------------------------------------------------------------

/// The getting-started `config` and `run` (a configuration and two arrays in
/// `.npy` files): the project's own seed types.
pub use dman_test_support::seed::{Config, Run};

/// A modelclass with a field of every kind a graph holds: plain values,
/// JSON, a nested modelclass, each container of runs, records of a
/// modelclass and of an array.
#[derive(Modelclass, Debug)]
#[dman(name = "fuzz_experiment")]
pub struct Experiment {
    /// A string.
    pub title: String,
    /// A list of strings.
    pub tags: Vec<String>,
    /// Plain JSON.
    pub options: Map,
    /// A nested modelclass.
    pub config: Config,
    /// Runs in folders of their own.
    pub runs: MRuns<Run>,
    /// Runs by name.
    pub named: MDict<Run>,
    /// Runs in a list.
    pub listed: MList<Run>,
    /// A record of a modelclass.
    pub best: Option<Record<Run>>,
    /// A record of an array with any number of axes.
    pub weights: Option<Record<ArrayD<i64>>>,
    /// An inline array.
    pub scale: Option<Array1<f64>>,
    /// An optional string.
    pub note: Option<String>,
}

/// A typed decode: loads [`ROOT_FILE`] as the getting-started experiment
/// (`MRuns<Run>`) and as an [`Experiment`], then loads every record either
/// one reaches. Gives the number of records loaded.
pub fn typed(data: &[u8]) -> usize {
    let store = memory_store(data);
    block_on(async {
        let mut loaded = 0;
        let Ok(root) = StoragePath::parse(ROOT_FILE) else {
            return loaded;
        };
        if let Ok(runs) = graph::load::<MRuns<Run>>(&store, &root).await {
            loaded += load_runs(runs.iter()).await;
        }
        if let Ok(experiment) = graph::load::<Experiment>(&store, &root).await {
            loaded += load_runs(experiment.runs.iter()).await;
            loaded += load_runs(experiment.named.iter().map(|(_, run)| run)).await;
            loaded += load_runs(experiment.listed.iter()).await;
            loaded += load_runs(experiment.best.iter()).await;
            if let Some(weights) = &experiment.weights {
                loaded += usize::from(weights.get().await.is_ok());
            }
        }
        loaded
    })
}

async fn load_runs<'a>(runs: impl Iterator<Item = &'a Record<Run>>) -> usize {
    let mut loaded = 0;
    for run in runs {
        if let Ok(run) = run.get().await {
            loaded += 1;
            for array in [&run.data, &run.output].into_iter().flatten() {
                loaded += usize::from(array.get().await.is_ok());
            }
        }
    }
    loaded
}

/// A seed for the typed target: an [`Experiment`] with a run in each
/// container and every optional field set, saved to memory and written out
/// as a graph target's input. `None` if saving fails.
pub fn typed_seed() -> Option<Vec<u8>> {
    let run = |seed: u64| Run {
        config: Config {
            seed,
            size: 2,
            nsample: 3,
            nrepeats: 1,
        },
        data: Some(Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64 / 8.0).into()),
        output: Some(Array2::from_elem((1, 3), f64::NAN).into()),
    };
    let mut runs = MRuns::new().stem("experiment").subdir("results");
    runs.push(run(1000));
    let mut named = MDict::new().subdir("named");
    named.insert("first", run(1024));
    let mut listed = MList::new();
    listed.push(run(7));
    let mut options = Map::new();
    options.insert("lr".into(), json::Value::Float(1e-05));
    let experiment = Experiment {
        title: "fuzz".into(),
        tags: vec!["a".into(), "é".into()],
        options,
        config: Config::default(),
        runs,
        named,
        listed,
        best: Some(run(1).into()),
        weights: Some(ArrayD::from_elem(IxDyn(&[2, 1, 2]), -3_i64).into()),
        scale: Some(Array1::from(vec![0.5, f64::INFINITY])),
        note: None,
    };
    let memory = Arc::new(MemoryBackend::new());
    let store: Arc<dyn StorageBackend> = memory.clone();
    let root = StoragePath::parse(ROOT_FILE).ok()?;
    block_on(graph::save(
        &experiment,
        &store,
        &root,
        Default::default(),
        1,
    ))
    .ok()?;
    let mut out = memory.get(&root)?.to_vec();
    for path in memory.paths() {
        if path != root {
            out.extend_from_slice(FILE_SEPARATOR);
            out.extend_from_slice(path.as_str().as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&memory.get(&path)?);
        }
    }
    Some(out)
}

// ---- an executor -------------------------------------------------------------

/// Runs a future to completion on this thread. The backends here finish
/// their work inline (the zip backend reads on the calling thread outside
/// a Tokio runtime), so no runtime is needed, and none of its threads.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
