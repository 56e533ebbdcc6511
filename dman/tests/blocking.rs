//! The blocking API: works from plain threads, refuses clearly (no panic)
//! inside an async runtime, and opens locations.

use dman::blocking;
use dman::{Key, Modelclass};

#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
struct Config {
    seed: u64,
}

#[test]
fn blocking_calls_work_from_a_plain_thread() {
    let repo = blocking::open("memory://blocking-plain").expect("open");
    repo.save(Key::new("config").cluster(false), &Config { seed: 3 })
        .expect("save");
    let back: Config = repo.load(Key::new("config").cluster(false)).expect("load");
    assert_eq!(back, Config { seed: 3 });
    // A second open of the same name sees the same files.
    let again = blocking::open("memory://blocking-plain").expect("open");
    assert!(again
        .exists(Key::new("config").cluster(false))
        .expect("exists"));
}

#[tokio::test]
async fn blocking_calls_inside_a_runtime_are_refused_clearly() {
    let repo = blocking::open("memory://").expect("open");
    let err = repo
        .save("config", &Config { seed: 1 })
        .expect_err("refused");
    assert!(matches!(err, dman::Error::InsideRuntime), "{err:?}");
    assert!(err.to_string().contains("inside an async runtime"), "{err}");
    // The async API is the one to use there.
    repo.inner()
        .save("config", &Config { seed: 1 })
        .await
        .expect("async save");
}

#[test]
fn unknown_locations_are_errors() {
    let err = blocking::open("ftp://host/x").expect_err("unsupported");
    assert!(
        matches!(&err, dman::Error::InvalidLocation { location, .. } if location == "ftp://host/x"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("cannot open `ftp://host/x`: the `ftp` backend is not part of this build"),
        "{err}"
    );
}
