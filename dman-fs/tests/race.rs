//! A folder inside the root is swapped, again and again, with a symbolic
//! link to a folder outside it (which holds files of the same names),
//! while tasks read, write, copy, delete, list and look up files below
//! that folder through the backend. Whatever the interleaving, no read may
//! return an outside file, no lookup may see one, and nothing outside may
//! be created, changed or removed.
//!
//! The swap is one `renameat2(RENAME_EXCHANGE)`: the folder and the link
//! trade names atomically, so there is never a moment without either.
//!
//! With `openat2` (Linux 5.6 and later) the backend resolves and opens in
//! one kernel step, so this holds for every interleaving. The check-then-
//! open walk it falls back to elsewhere does not hold it: run this test
//! with `DMAN_FS_NO_OPENAT2=1` to see it fail.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath, WriteCondition};
use dman_fs::FsBackend;
use futures::StreamExt;
use rustix::fs::{renameat_with, RenameFlags, CWD};

/// At least this many swaps; the swapping goes on until every task is done.
const SWAPS: usize = 2000;
/// An upper bound on the swaps, should the tasks be slow.
const MAX_SWAPS: usize = 10_000_000;
/// Tasks, and rounds of operations per task.
const TASKS: usize = 4;
const ROUNDS: usize = 150;

const INSIDE_SECRET: &[u8] = b"inside secret";
const OUTSIDE_SECRET: &[u8] = b"OUTSIDE SECRET";
const OUTSIDE_ONLY: &str = "only-outside.txt";

fn p(input: &str) -> StoragePath {
    StoragePath::parse(input).unwrap()
}

/// Everything below `folder`: relative path, inode, and content (files) or
/// link target (links).
fn snapshot(folder: &Path) -> BTreeMap<PathBuf, (u64, Vec<u8>)> {
    let mut found = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            let content = if meta.is_dir() {
                pending.push(entry.path());
                Vec::new()
            } else if meta.file_type().is_symlink() {
                fs::read_link(entry.path())
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(entry.path()).unwrap()
            };
            let relative = entry.path().strip_prefix(folder).unwrap().to_path_buf();
            found.insert(relative, (meta.ino(), content));
        }
    }
    found
}

/// Swaps the names `a` and `b` atomically.
fn exchange(a: &Path, b: &Path) {
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .unwrap_or_else(|err| panic!("renameat2(RENAME_EXCHANGE) of {}: {err}", a.display()));
}

/// What the tasks saw.
#[derive(Default)]
struct Seen {
    /// Things that must never happen.
    escapes: Mutex<Vec<String>>,
    /// Operations that succeeded, to show that the test did something.
    reads: AtomicUsize,
    writes: AtomicUsize,
    lookups: AtomicUsize,
    /// Files made by *create only* writes (never deleted).
    created: AtomicUsize,
}

impl Seen {
    fn escape(&self, what: String) {
        self.escapes.lock().unwrap().push(what);
    }

    fn check_read(&self, what: &str, data: &[u8]) {
        assert_ne!(data, b"", "{what}: an empty read");
        if data == OUTSIDE_SECRET {
            self.escape(format!("{what} returned the file outside the root"));
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
}

/// One task's rounds: every kind of operation on paths below `shared`.
async fn work(backend: Arc<FsBackend>, task: usize, seen: Arc<Seen>) {
    let secret = p("shared/secret.txt");
    let only_outside = p(&format!("shared/{OUTSIDE_ONLY}"));
    for round in 0..ROUNDS {
        if let Ok(data) = backend.read(&secret).await {
            seen.check_read("read", &data);
        }
        if let Ok((data, _)) = backend.read_versioned(&secret).await {
            seen.check_read("read_versioned", &data);
        }
        if let Ok(mut stream) = backend.read_stream(&secret).await {
            let mut data = Vec::new();
            let mut whole = true;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => data.extend_from_slice(&chunk),
                    Err(_) => whole = false,
                }
            }
            if whole {
                seen.check_read("read_stream", &data);
            }
        }
        match backend.exists(&only_outside).await {
            Ok(true) => seen.escape(format!("exists saw `{only_outside}`")),
            Ok(false) => {
                seen.lookups.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {}
        }
        if let Ok(meta) = backend.head(&only_outside).await {
            seen.escape(format!("head saw `{}`", meta.path));
        }
        if let Ok(listed) = backend.list(&p("shared")).await {
            seen.lookups.fetch_add(1, Ordering::Relaxed);
            for meta in listed {
                if meta.path.as_str().ends_with(OUTSIDE_ONLY) {
                    seen.escape(format!("list saw `{}`", meta.path));
                }
            }
        }

        let mine = Bytes::from(format!("task {task} round {round}"));
        if backend
            .write_if(
                &p(&format!("shared/created-{task}-{round}.txt")),
                mine.clone(),
                &WriteCondition::Create,
            )
            .await
            .is_ok()
        {
            seen.created.fetch_add(1, Ordering::Relaxed);
        }
        let writes = [
            backend
                .write(&p(&format!("shared/w{task}.txt")), mine.clone())
                .await,
            // Overwrites the outside file of that name if it escapes.
            backend
                .write(&p("shared/secret.txt"), Bytes::from_static(INSIDE_SECRET))
                .await,
            backend
                .copy(&p("mine.txt"), &p(&format!("shared/copy{task}.txt")))
                .await,
        ];
        for written in writes {
            if written.is_ok() {
                seen.writes.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut upload) = backend
            .write_stream(&p(&format!("shared/s{task}.txt")))
            .await
        {
            if upload.put(mine.clone()).await.is_ok() && upload.finish().await.is_ok() {
                seen.writes.fetch_add(1, Ordering::Relaxed);
            }
        }
        // A copy out of the swapped folder, read back from a plain one.
        let copied = p(&format!("copies/{task}.txt"));
        if backend.copy(&secret, &copied).await.is_ok() {
            if let Ok(data) = backend.read(&copied).await {
                seen.check_read("a copy", &data);
            }
        }
        // Deletes the outside file of that name if it escapes.
        let victim = p("shared/victim.txt");
        if backend.delete(&victim).await.is_ok() {
            let _ = backend.write(&victim, mine).await;
        }
    }
}

fn race(link_to_outside: impl Fn(&Path, &Path) -> PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let outside = folder.path().join("outside");
    let shared = root.join("shared");
    let parked = root.join("parked");
    fs::create_dir_all(&shared).unwrap();
    fs::create_dir_all(outside.join("sub")).unwrap();
    fs::write(shared.join("secret.txt"), INSIDE_SECRET).unwrap();
    fs::write(shared.join("victim.txt"), b"inside victim").unwrap();
    fs::write(outside.join("secret.txt"), OUTSIDE_SECRET).unwrap();
    fs::write(outside.join("victim.txt"), b"OUTSIDE VICTIM").unwrap();
    fs::write(outside.join(OUTSIDE_ONLY), b"OUTSIDE ONLY").unwrap();
    fs::write(outside.join("sub/deeper.txt"), b"OUTSIDE DEEPER").unwrap();
    symlink(link_to_outside(&root, &outside), &parked).unwrap();
    fs::write(root.join("mine.txt"), b"mine").unwrap();
    let before = snapshot(&outside);

    let backend = Arc::new(FsBackend::new(&root).unwrap());
    let seen = Arc::new(Seen::default());
    let done = Arc::new(AtomicBool::new(false));

    let swapper = {
        let done = done.clone();
        let (shared, parked) = (shared.clone(), parked.clone());
        std::thread::spawn(move || {
            let mut swaps = 0;
            while swaps < MAX_SWAPS && (swaps < SWAPS || !done.load(Ordering::Acquire)) {
                exchange(&shared, &parked);
                swaps += 1;
            }
            // Back to the real folder under its own name.
            if swaps % 2 == 1 {
                exchange(&shared, &parked);
            }
            swaps
        })
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| tokio::spawn(work(backend.clone(), task, seen.clone())))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    done.store(true, Ordering::Release);
    let swaps = swapper.join().unwrap();

    let escapes = seen.escapes.lock().unwrap();
    let after = snapshot(&outside);
    let (reads, writes, lookups) = (
        seen.reads.load(Ordering::Relaxed),
        seen.writes.load(Ordering::Relaxed),
        seen.lookups.load(Ordering::Relaxed),
    );
    println!(
        "{swaps} swaps; successful reads {reads}, writes {writes} (and {} creates), \
         lookups {lookups}; {} escapes",
        seen.created.load(Ordering::Relaxed),
        escapes.len()
    );
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|name| before.get(*name) != after.get(*name))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|name| {
            let show = |entry: Option<&(u64, Vec<u8>)>| {
                entry.map(|(ino, content)| (*ino, String::from_utf8_lossy(content).into_owned()))
            };
            format!(
                "{}: {:?} -> {:?}",
                name.display(),
                show(before.get(name)),
                show(after.get(name))
            )
        })
        .collect();
    assert!(
        escapes.is_empty() && changed.is_empty(),
        "the backend left its root: {} escapes (first ones: {:#?}); outside changes: {changed:#?}",
        escapes.len(),
        &escapes[..escapes.len().min(5)]
    );
    assert!(swaps >= SWAPS, "{swaps}");
    assert!(
        reads > 0 && writes > 0 && lookups > 0,
        "nothing got through: reads {reads}, writes {writes}, lookups {lookups}"
    );
    // What was written went to the real folder, inside the root.
    assert_eq!(fs::read(shared.join("secret.txt")).unwrap(), INSIDE_SECRET);
    let created = fs::read_dir(&shared)
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            name.to_str().unwrap().starts_with("created-")
        })
        .count();
    assert_eq!(created, seen.created.load(Ordering::Relaxed));
    assert!(fs::symlink_metadata(&parked)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn an_absolute_link_swapped_in_never_leads_out() {
    race(|_root, outside| outside.to_path_buf());
}

#[test]
fn a_relative_link_swapped_in_never_leads_out() {
    race(|_root, _outside| PathBuf::from("../outside"));
}
