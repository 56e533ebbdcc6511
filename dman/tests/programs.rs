//! Small programs compiled against this very build of the facade: what the
//! compiler says when a type is not what dman needs
//! (`#[diagnostic::on_unimplemented]` on `Serializable`, `Storable` and
//! `Item`), and what a failing `fn main() -> dman::Result<()>` prints.
//!
//! `rustc` is run directly on the `dman` library that cargo built for this
//! test (its `deps` folder holds the library and every dependency), so no
//! second build of the workspace is needed. The first program compiles, so
//! that a broken set-up cannot pass for a compile error.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of this test's executable: cargo's `deps`, where the `dman`
/// library this test links against lies beside its dependencies.
fn deps() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent().expect("the deps folder").to_path_buf()
}

/// The newest `libdman-*.rlib` in `deps`: the one cargo just built for this
/// test (older builds with other features may lie beside it).
fn facade(deps: &Path) -> PathBuf {
    std::fs::read_dir(deps)
        .expect("read deps")
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libdman-") && name.ends_with(".rlib")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("the dman library beside this test")
}

/// A program using `dman`, written with the manifest of a user's project.
struct Program {
    dir: tempfile::TempDir,
}

impl Program {
    fn new(source: &str) -> Program {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(dir.path().join("main.rs"), source).expect("write the program");
        // The derives find dman's core crate through the manifest of the
        // crate being compiled, as in a user's project that depends on `dman`.
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"program\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\ndman = \"*\"\n",
        )
        .expect("write the manifest");
        Program { dir }
    }

    /// Runs rustc with `emit` (`metadata` to check, `link` to build);
    /// `Ok` or the compiler's messages.
    fn rustc(&self, emit: &str) -> Result<(), String> {
        let deps = deps();
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let out = Command::new(rustc)
            .args(["--edition", "2021", "--crate-type", "bin"])
            .arg(format!("--emit={emit}"))
            .arg("--out-dir")
            .arg(self.dir.path())
            .arg("-L")
            .arg(format!("dependency={}", deps.display()))
            .arg("--extern")
            .arg(format!("dman={}", facade(&deps).display()))
            .arg(self.dir.path().join("main.rs"))
            .env("CARGO_MANIFEST_DIR", self.dir.path())
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .expect("run rustc");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Checks `source` as a program using `dman`; `Ok` or the compiler's
/// messages.
fn compile(source: &str) -> Result<(), String> {
    Program::new(source).rustc("metadata")
}

const RUN: &str = r#"
#[derive(dman::Modelclass, Debug)]
#[dman(name = "run"STORABLE)]
struct Run { seed: u64 }

fn main() {
    let mut runs: dman::MRuns<Run> = dman::MRuns::new();
    runs.push(Run { seed: 1 });
}
"#;

#[test]
fn a_storable_modelclass_in_mruns_compiles() {
    compile(&RUN.replace("STORABLE", ", storable")).expect("the program compiles");
}

#[test]
fn a_modelclass_without_storable_in_mruns_hints_at_the_option() {
    let errors = compile(&RUN.replace("STORABLE", "")).expect_err("no Storable, no MRuns");
    assert!(
        errors.contains("`Run` is not `Storable`")
            && errors.contains("`#[dman(storable)]` beside `#[derive(Modelclass)]`"),
        "{errors}"
    );
}

#[test]
fn a_field_of_a_foreign_type_hints_at_the_derives_and_serde() {
    let errors = compile(
        r#"
struct Foreign;

#[derive(dman::Modelclass)]
struct Holder { x: Foreign }

fn main() {}
"#,
    )
    .expect_err("a field dman cannot write");
    assert!(
        errors.contains("`Foreign` is not `Serializable`")
            && errors.contains("#[derive(Modelclass)]")
            && errors.contains("#[dman(serde)]"),
        "{errors}"
    );
}

#[test]
fn a_main_that_finds_no_dman_prints_a_sentence() {
    let program = Program::new(
        r#"
fn main() -> dman::Result<()> {
    let _repo = dman::blocking::discover()?;
    Ok(())
}
"#,
    );
    program.rustc("link").expect("the program builds");
    let project = program.dir.path().join("project");
    std::fs::create_dir(&project).expect("project folder");
    let out = Command::new(program.dir.path().join("main"))
        .current_dir(&project)
        // No `.dman` of the machine above the temporary folder is found.
        .env(dman::CEILING_DIRECTORIES, program.dir.path())
        .output()
        .expect("run the program");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with(
            "Error: no .dman folder found. Consider running $dman init (searched from "
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("NoRoot"), "{stderr}");
}
