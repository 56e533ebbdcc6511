//! Issue 18, point 5: `ls`, `du`, `runs`, `diff` and `cat` answer "which
//! experiments do I have, how big, with which configs?" on a folder, a zip
//! archive and S3 (moto), their `--json` parsed and checked.

use std::path::Path;
use std::process::{Command, Output};

use dman::core::json::{self, Value};
use dman_test_support::fixture::{getting_started_workspace, getting_started_zip};
use dman_test_support::s3::{upload, MotoServer};

mod common;
use common::{both, dman, dman_s3, stderr, stdout};

/// The JSON document a command printed.
fn parsed(o: &Output) -> Value {
    assert!(o.status.success(), "{}", both(o));
    json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(k)
            .unwrap_or_else(|| panic!("no `{k}` in {}", json::to_string_compact(v)))
    })
}

fn int(v: &Value, path: &[&str]) -> i64 {
    get(v, path).as_i64().expect("an integer")
}

/// Bytes of the experiment key: its file, two run files, four arrays.
const EXPERIMENT_BYTES: i64 = 648 + 2 * 603 + 2 * 160_128 + 2 * 800_128;
/// Every file of the fixture: the keys and two `.gitignore` files.
const ALL_BYTES: i64 = EXPERIMENT_BYTES + 2 * 149 + 33 + 22;

/// The read commands on the getting-started tree at `loc`, run by `run`.
fn read_commands_work(loc: &str, run: &dyn Fn(&[&str]) -> Output) {
    // ls: three keys, their types, files, sizes and arrays.
    let ls = parsed(&run(&["ls", loc, "--json"]));
    let keys = get(&ls, &["keys"]).as_array().expect("keys");
    let labels: Vec<&str> = keys
        .iter()
        .map(|k| get(k, &["key"]).as_str().expect("label"))
        .collect();
    assert_eq!(
        labels,
        [
            "cache/examples:patterns:common/config",
            "cache/examples:patterns:common/experiment",
            "demo/config"
        ]
    );
    let experiment = &keys[1];
    assert_eq!(get(experiment, &["type"]).as_str(), Some("_ser__mruns"));
    assert_eq!(int(experiment, &["files"]), 7);
    assert_eq!(int(experiment, &["bytes"]), EXPERIMENT_BYTES);
    assert!(get(experiment, &["modified"]).as_str().is_some());
    let arrays = get(experiment, &["arrays"]).as_array().expect("arrays");
    assert_eq!(arrays.len(), 4);
    assert!(arrays
        .iter()
        .all(|a| get(a, &["dtype"]).as_str() == Some("float64")));
    let mut shapes: Vec<String> = arrays
        .iter()
        .map(|a| json::to_string_compact(get(a, &["shape"])))
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        ["[100, 1000]", "[100, 1000]", "[20, 1000]", "[20, 1000]"]
    );
    assert_eq!(int(&ls, &["total", "keys"]), 3);
    assert_eq!(int(&ls, &["total", "files"]), 9);
    assert_eq!(int(&ls, &["total", "all_files"]), 11);
    assert_eq!(int(&ls, &["total", "all_bytes"]), ALL_BYTES);
    let o = run(&["ls", loc]);
    assert!(o.status.success(), "{}", both(&o));
    let text = stdout(&o);
    assert!(text.starts_with("KEY"), "{text}");
    assert!(
        text.contains("2 × float64 (100, 1000), 2 × float64 (20, 1000)"),
        "{text}"
    );
    assert!(
        text.ends_with("3 keys, 9 files, 1.8 MiB (11 files in all, 1.8 MiB)\n"),
        "{text}"
    );

    // du: per generator and key, and the total.
    let du = parsed(&run(&["du", loc, "--json"]));
    assert_eq!(int(&du, &["total", "files"]), 11);
    assert_eq!(int(&du, &["total", "bytes"]), ALL_BYTES);
    let generators = get(&du, &["generators"]).as_array().expect("generators");
    assert_eq!(
        get(&generators[0], &["generator"]).as_str(),
        Some("cache/examples:patterns:common")
    );
    assert_eq!(
        int(&generators[0], &["bytes"]),
        EXPERIMENT_BYTES + 149 + 33,
        "the keys and the generator's .gitignore"
    );
    let first_key = &get(&generators[0], &["keys"]).as_array().expect("keys")[0];
    assert_eq!(get(first_key, &["name"]).as_str(), Some("experiment"));
    assert_eq!(int(first_key, &["bytes"]), EXPERIMENT_BYTES);
    let o = run(&["du", loc]);
    assert!(
        stdout(&o).contains("1.8 MiB     11  total: 3 keys in 2 generators"),
        "{}",
        both(&o)
    );

    // runs: the configs of the two runs, filtered.
    let runs = parsed(&run(&["runs", loc, "experiment", "--json"]));
    assert_eq!(
        json::to_string_compact(get(&runs, &["columns"])),
        r#"["config.seed", "config.size", "config.nsample", "config.nrepeats"]"#
    );
    let rows = get(&runs, &["rows"]).as_array().expect("rows");
    let seeds: Vec<i64> = rows
        .iter()
        .map(|r| int(r, &["fields", "config.seed"]))
        .collect();
    assert_eq!(seeds, [1000, 1024]);
    let one = parsed(&run(&[
        "runs",
        loc,
        "experiment",
        "--json",
        "--where",
        "config.seed=1024",
        "--where",
        "config.size=20",
    ]));
    assert_eq!(get(&one, &["rows"]).as_array().map(Vec::len), Some(1));
    assert_eq!(
        int(
            &get(&one, &["rows"]).as_array().expect("rows")[0],
            &["index"]
        ),
        1
    );
    let o = run(&["runs", loc, "experiment", "--csv"]);
    assert_eq!(
        stdout(&o),
        "index,config.seed,config.size,config.nsample,config.nrepeats\n\
         0,1000,20,1000,2\n1,1024,20,1000,2\n",
        "{}",
        both(&o)
    );
    let o = run(&["runs", loc, "experiment", "--where", "seed=1"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("the fields are config.seed"),
        "{}",
        both(&o)
    );

    // cat: the bytes of one file.
    let o = run(&["cat", loc, "demo/config.json"]);
    assert!(o.status.success(), "{}", both(&o));
    assert!(
        stdout(&o).starts_with("{\n    \"_ser__type\": \"config\""),
        "{}",
        both(&o)
    );
    assert_eq!(o.stdout.len(), 149);

    // diff of two keys of the location: the two configs are the same.
    let same = parsed(&run(&[
        "diff",
        loc,
        "cache/examples:patterns:common/config",
        "demo/config",
        "--json",
    ]));
    assert_eq!(get(&same, &["same"]).as_bool(), Some(true));
}

/// A copy of the fixture's `.dman` with one run's seed changed (same
/// size: found by content), the demo key removed and a file added.
fn changed_copy(ws: &Path) -> std::path::PathBuf {
    let other = ws.join("other");
    let o = Command::new("cp")
        .arg("-r")
        .arg(ws.join(".dman"))
        .arg(&other)
        .output()
        .expect("cp");
    assert!(o.status.success());
    let run = other
        .join("cache/examples:patterns:common/experiment/results/experiment-1/experiment.json");
    let text = std::fs::read_to_string(&run).expect("read");
    std::fs::write(&run, text.replace("\"seed\": 1024", "\"seed\": 2048")).expect("write");
    std::fs::remove_file(other.join("demo/config.json")).expect("remove");
    std::fs::write(other.join("demo/notes.txt"), "added").expect("write");
    other
}

#[test]
fn read_commands_on_a_folder() {
    let fx = getting_started_workspace();
    let ws = fx.path().to_path_buf();
    read_commands_work(".dman", &|args| dman(&ws, args));

    let other = changed_copy(&ws);
    let o = dman(&ws, &["diff", ".dman", &other.to_string_lossy(), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    let d: Value = json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(get(&d, &["same"]).as_bool(), Some(false));
    assert_eq!(
        json::to_string_compact(get(&d, &["keys", "removed"])),
        r#"["demo/config"]"#
    );
    assert_eq!(
        json::to_string_compact(get(&d, &["files", "added"])),
        r#"[{"path": "demo/notes.txt", "bytes": 5}]"#
    );
    let changed = get(&d, &["files", "changed"]).as_array().expect("changed");
    assert_eq!(changed.len(), 1, "{}", stdout(&o));
    assert_eq!(get(&changed[0], &["by"]).as_str(), Some("content"));
    assert_eq!(
        json::to_string_compact(get(&d, &["runs"])),
        r#"[{"key": "cache/examples:patterns:common/experiment", "index": 1, "change": "changed", "fields": [{"field": "config.seed", "a": 1024, "b": 2048}]}]"#
    );
    // By size alone the changed run file (same size) goes unseen; its
    // changed field does not.
    let o = dman(
        &ws,
        &[
            "diff",
            ".dman",
            &other.to_string_lossy(),
            "--json",
            "--size-only",
        ],
    );
    let d: Value = json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(
        get(&d, &["files", "changed"]).as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(get(&d, &["runs"]).as_array().map(Vec::len), Some(1));
    let o = dman(&ws, &["diff", ".dman", &other.to_string_lossy()]);
    let text = stdout(&o);
    assert!(text.contains("- key demo/config\n"), "{text}");
    assert!(text.contains("+ file demo/notes.txt (5 bytes)\n"), "{text}");
    assert!(
        text.contains("~ item 1 of cache/examples:patterns:common/experiment changed: config.seed 1024 → 2048"),
        "{text}"
    );

    // Two keys by name, in the `.dman` above.
    let o = dman(
        &ws,
        &[
            "diff",
            "cache/examples:patterns:common/config",
            "demo/config",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains("the same (1 file compared)"),
        "{}",
        both(&o)
    );
}

#[test]
fn read_commands_on_a_zip() {
    let fx = getting_started_workspace();
    let ws = fx.path().to_path_buf();
    let zip = getting_started_zip();
    read_commands_work(&zip.to_string_lossy(), &|args| dman(&ws, args));
    // The archive holds what the folder holds.
    let o = dman(&ws, &["diff", ".dman", &zip.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains("the same (11 files compared)"),
        "{}",
        both(&o)
    );
}

#[test]
fn read_commands_on_s3() {
    let moto = MotoServer::start();
    moto.create_bucket("results");
    let fx = getting_started_workspace();
    let ws = fx.path().to_path_buf();
    assert_eq!(
        upload(moto.endpoint(), &ws.join(".dman"), "results", "team/exp"),
        11
    );
    let run = |args: &[&str]| dman_s3(moto.endpoint(), &ws, args);
    read_commands_work("s3://results/team/exp", &run);
    let o = run(&["diff", ".dman", "s3://results/team/exp"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let o = run(&["show", "s3://results/team/exp", "experiment"]);
    assert!(stdout(&o).contains("\"run_count\": 2"), "{}", both(&o));

    // Point 3 on S3: a mistyped prefix is an error, not an empty tree.
    for command in ["tree", "check", "ls"] {
        let o = run(&[command, "s3://results/team/exp-typo"]);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", both(&o));
        assert!(
            stderr(&o).contains("no object under that bucket and prefix"),
            "{command}: {}",
            both(&o)
        );
    }
}
