//! The tree renderer (`dman_core::tree`): sizes in IEC binary units,
//! escaped names, and output that stays bounded whatever the tree holds.

use std::sync::Arc;

use bytes::Bytes;
use dman_core::tree::*;
use dman_core::{StorageBackend, StoragePath};

#[test]
fn sizes_in_iec_binary_units() {
    assert_eq!(human_size(1), "1 byte");
    assert_eq!(human_size(603), "603 bytes");
    assert_eq!(human_size(160_128), "156.4 KiB");
    assert_eq!(human_size(800_128), "781.4 KiB");
    assert_eq!(human_size(1_850_509), "1.8 MiB");
    assert_eq!(human_size(1023), "1023 bytes");
    assert_eq!(human_size(1024), "1.0 KiB");
    // Rounded as printed: never `1024.0 KiB`.
    assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB");
}

#[test]
fn control_characters_are_escaped() {
    assert_eq!(escape_control("plain ☃"), "plain ☃");
    assert_eq!(escape_control("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
}

fn store_with(files: &[(&str, Vec<u8>)]) -> Arc<dyn StorageBackend> {
    let store = dman_memory::MemoryBackend::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for (path, bytes) in files {
            let path = StoragePath::parse(path).expect("path");
            store
                .write(&path, Bytes::from(bytes.clone()))
                .await
                .expect("write");
        }
    });
    Arc::new(store)
}

fn render_blocking(store: &Arc<dyn StorageBackend>, options: &TreeOptions) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(render(store, &StoragePath::root(), "top", options))
        .expect("render")
}

/// A name 4 000 folders deep (a zip entry can be) used to overflow the
/// stack; now the walk is iterative and the levels below the limit are
/// one line.
#[test]
fn a_very_deep_folder_is_cut_with_a_mark() {
    let deep = vec!["d"; 4000].join("/") + "/leaf.txt";
    let store = store_with(&[(&deep, b"x".to_vec()), ("top.txt", b"y".to_vec())]);
    // On a thread with a small stack, as a runtime's worker has.
    let text = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || render_blocking(&store, &TreeOptions::default()))
        .expect("thread")
        .join()
        .expect("no overflow");
    assert_eq!(text.matches("📂 d").count(), MAX_LEVELS, "{text}");
    assert!(
        text.contains("┗━━ … 1 file in deeper folders not shown"),
        "{text}"
    );
    assert!(text.contains("📄 top.txt (1 byte)"), "{text}");
    assert!(text.len() < 64 * 1024, "output stays small: {}", text.len());
}

/// A 520 KB JSON file used to ask for ~16 GB (every line padded to the
/// longest); a long line is now cut and a large file not read.
#[test]
fn content_boxes_are_bounded() {
    let long_line = format!("[\"{}\"]", "x".repeat(100_000));
    let many_lines = (0..5000).map(|i| format!("line {i}\n")).collect::<String>();
    let big = format!("[\"{}\"]", "y".repeat(600_000));
    let store = store_with(&[
        ("long.json", long_line.into_bytes()),
        ("many.txt", many_lines.into_bytes()),
        ("big.json", big.into_bytes()),
        ("escape.txt", b"\x1b]0;owned\x07".to_vec()),
    ]);
    let text = render_blocking(
        &store,
        &TreeOptions {
            content: true,
            ..TreeOptions::default()
        },
    );
    assert!(text.len() < 200_000, "output stays small: {}", text.len());
    assert!(text.lines().all(|l| l.chars().count() < BOX_WIDTH + 16));
    assert!(text.contains('…'), "the long line is cut with a mark");
    assert!(text.contains("… 4500 more lines not shown"), "{text}");
    assert!(text.contains("(not shown: 585.9 KiB, more than 256.0 KiB)"));
    assert!(!text.contains('\u{1b}'), "escapes are not printed raw");
    assert!(text.contains("\\u{1b}]0;owned\\u{7}"), "{text}");
}

#[test]
fn depth_cuts_with_a_mark() {
    let store = store_with(&[("a/b/c.txt", b"1".to_vec()), ("a/d.txt", b"2".to_vec())]);
    let text = render_blocking(
        &store,
        &TreeOptions {
            depth: Some(1),
            ..TreeOptions::default()
        },
    );
    assert_eq!(
        text,
        "📂 top\n┗━━ 📂 a\n    ┗━━ … 2 files in deeper folders not shown\n"
    );
}
