//! The temporary archives of flushes that never finished
//! (`<archive>.tmp-<random>` beside the archive) are the zip backend's
//! leftovers; other files beside it are not.

use bytes::Bytes;
use dman_core::storage::LeftoverKind;
use dman_core::{StorageBackend, StoragePath};
use dman_zip::{ZipBackend, TEMP_INFIX};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_archives_beside_the_archive_are_leftovers() {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("results.zip");
    let backend = ZipBackend::create(&archive).unwrap();
    backend
        .write(
            &StoragePath::parse("cache/a.json").unwrap(),
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    backend.flush().await.unwrap();
    assert!(
        backend.leftovers().await.unwrap().is_empty(),
        "a flush leaves none"
    );

    // What a flush killed half-way leaves (its name is the flush's own
    // pattern), beside files that are not this archive's.
    let killed = folder
        .path()
        .join(format!("results.zip{TEMP_INFIX}0123456789abcdef"));
    std::fs::write(&killed, vec![0u8; 1000]).unwrap();
    for other in [
        format!("other.zip{TEMP_INFIX}0123"),
        "results.zip.bak".to_owned(),
        "notes.txt".to_owned(),
    ] {
        std::fs::write(folder.path().join(other), b"not ours").unwrap();
    }
    let leftovers = backend.leftovers().await.unwrap();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let leftover = &leftovers[0];
    assert_eq!(
        leftover.name,
        format!("results.zip{TEMP_INFIX}0123456789abcdef")
    );
    assert_eq!(leftover.kind, LeftoverKind::ArchiveTemp);
    assert_eq!(leftover.size, 1000);
    assert!(leftover.last_modified.is_some());
    assert!(
        leftover
            .to_string()
            .contains("temporary archive of an interrupted flush"),
        "{leftover}"
    );

    // A forged leftover naming another file is refused.
    let mut forged = leftover.clone();
    forged.name = "notes.txt".to_owned();
    forged.id = folder
        .path()
        .join("notes.txt")
        .to_string_lossy()
        .into_owned();
    assert!(backend.remove_leftover(&forged).await.is_err());
    assert!(folder.path().join("notes.txt").is_file());

    backend.remove_leftover(leftover).await.unwrap();
    assert!(!killed.exists());
    assert!(backend.leftovers().await.unwrap().is_empty());
    // The archive itself is untouched.
    let reopened = ZipBackend::open(&archive).unwrap();
    assert_eq!(reopened.list(&StoragePath::root()).await.unwrap().len(), 1);
}
