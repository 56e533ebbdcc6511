//! The modules of dman-core import in one direction: no module uses one
//! that uses it back, directly or around a cycle. A module's uses are the
//! `crate::<module>` paths in its code (comments and doc links aside), so
//! this is the check anyone can run with `cargo test -p dman-core --test
//! module_graph`; it prints the order it found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `src/` (a file, or a folder with `mod.rs`) with the
/// modules its code names.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src/") {
        let path = entry.expect("entry").path();
        let in_folder = path.is_dir();
        let (name, files) = if in_folder {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let files: Vec<_> = std::fs::read_dir(&path)
                .expect("folder")
                .map(|e| e.expect("entry").path())
                .collect();
            (name, files)
        } else {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, vec![path])
        };
        if name == "lib" {
            continue;
        }
        let mut named = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            named.extend(paths_after(&text, "crate::").filter(|m| *m != name));
            // The files of a folder module import in one direction too:
            // `graph::save` may use `super::walk`, not the other way round.
            if in_folder && file.file_name().is_some_and(|f| f != "mod.rs") {
                let stem = file.file_stem().expect("name").to_string_lossy();
                let siblings = paths_after(&text, "super::").map(|m| format!("{name}::{m}"));
                modules
                    .entry(format!("{name}::{stem}"))
                    .or_insert_with(BTreeSet::new)
                    .extend(siblings);
            }
        }
        modules.insert(name, named);
    }
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    for named in modules.values_mut() {
        // Root re-exports (`crate::Result`, `crate::__private`) are not
        // modules of their own.
        named.retain(|m| known.contains(m));
    }
    modules
}

/// The module names that follow `prefix` in the code of `text` (comments,
/// doc links and macros' `$crate::` aside).
fn paths_after<'t>(text: &'t str, prefix: &'t str) -> impl Iterator<Item = String> + 't {
    text.lines()
        .map(str::trim_start)
        .filter(|code| !code.starts_with("//"))
        .flat_map(move |code| {
            let code = code.split(" //").next().unwrap_or(code);
            code.match_indices(prefix)
                .filter(|(at, _)| !code[..*at].ends_with('$'))
                .map(|(at, _)| {
                    code[at + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                // `__private` is `private.rs` (`#[path]`).
                .map(|m| m.trim_start_matches("__").to_string())
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
        })
}

#[test]
fn modules_import_in_one_direction() {
    let mut left = uses();
    let mut order = Vec::new();
    // Peel off modules that use nothing left; what stays is in a cycle.
    loop {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, named)| named.is_empty())
            .map(|(m, _)| m.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for m in &ready {
            left.remove(m);
        }
        for named in left.values_mut() {
            for m in &ready {
                named.remove(m);
            }
        }
        order.push(ready.join(" "));
    }
    println!(
        "modules, each line using only those above it:\n{}",
        order.join("\n")
    );
    assert!(
        left.is_empty(),
        "modules in an import cycle (each with what it still names): {left:#?}"
    );
}
