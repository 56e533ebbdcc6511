//! A search for `.dman` that finds none is `Error::NoRoot`, naming where it
//! started and where it stopped. Alone in its binary: it sets
//! `DMAN_CEILING_DIRECTORIES`, which no other test may race.

use dman::Error;

#[test]
fn a_folder_without_dman_is_no_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = dir.path().join("project");
    std::fs::create_dir(&start).expect("project folder");
    // The search may not go above the temporary folder, where a `.dman` of
    // the machine could be.
    std::env::set_var(dman::CEILING_DIRECTORIES, dir.path());
    let err = dman::find_root(&start).expect_err("no .dman");
    assert!(
        matches!(&err, Error::NoRoot { searched_from, ceilings }
            if searched_from == &start && ceilings == &[dir.path().to_path_buf()]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "no .dman folder found. Consider running $dman init (searched from {} upward, stopping below {})",
            start.display(),
            dir.path().display()
        )
    );

    // Once there is one, the same search finds it.
    let root = dman::init(&start).expect("init");
    assert_eq!(dman::find_root(&start).expect("found"), root);
}
