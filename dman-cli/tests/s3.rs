//! The built `dman` binary on an S3 location: a moto server (from the
//! project's Python venv) on 127.0.0.1, started and stopped by the test.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const ACCESS_KEY: &str = "dman-cli-test";
const SECRET_KEY: &str = "dman-cli-secret";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("DMAN_PYTHON") {
        return PathBuf::from(p);
    }
    let out = Command::new(repo_root().join("scripts/setup-python.sh"))
        .output()
        .expect("run setup-python.sh");
    assert!(
        out.status.success(),
        "cannot set up Python (moto): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// moto's server as a child process, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Bounded wait for the port to answer (not a synchronisation sleep:
        // a poll with a limit, failing loudly).
        for _ in 0..200 {
            assert!(
                moto.child.try_wait().ok().flatten().is_none(),
                "moto exited early"
            );
            if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(50))
                .is_ok()
            {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto did not answer on port {port}");
    }

    fn s3tool(&self, args: &[&str]) {
        let out = Command::new(python())
            .arg(repo_root().join("dman-s3/tests/s3tool.py"))
            .arg(&self.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("s3tool");
        assert!(
            out.status.success(),
            "s3tool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn dman(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_dman"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .output()
            .expect("run dman")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fixture() -> tempfile::TempDir {
    let zip_path = repo_root().join("../shared/fixtures/python-dman-1.0.1/getting-started.zip");
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("fixture")).expect("zip");
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let dest = dir.path().join(entry.enclosed_name().expect("safe name"));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        std::fs::write(dest, bytes).expect("write");
    }
    dir
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_works_on_an_s3_location() {
    let moto = Moto::start();
    moto.s3tool(&["create-bucket", "results"]);
    let fx = fixture();
    let cwd = fx.path();

    let o = moto.dman(cwd, &["copy", ".dman", "s3://results/team/exp"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("copied 11 files"), "{}", text(&o));

    let o = moto.dman(cwd, &["tree", "s3://results/team/exp", "--depth", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("┃   ┗━━ 📂 examples:patterns:common"),
        "{}",
        text(&o)
    );

    let o = moto.dman(cwd, &["show", "s3://results/team/exp", "demo/config.json"]);
    assert!(text(&o).contains("\"seed\": 1234"), "{}", text(&o));

    let o = moto.dman(cwd, &["check", "s3://results/team/exp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = moto.dman(cwd, &["gc", "s3://results/team/exp", "--dry-run"]);
    assert!(text(&o).contains("no orphans"), "{}", text(&o));

    let back = cwd.join("back");
    let o = moto.dman(
        cwd,
        &["copy", "s3://results/team/exp", &back.to_string_lossy()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = Command::new("diff")
        .arg("-r")
        .arg(cwd.join(".dman"))
        .arg(&back)
        .output()
        .expect("diff");
    assert!(o.status.success(), "copied back identical: {}", text(&o));

    let o = moto.dman(
        cwd,
        &[
            "clean",
            "config",
            "--generator",
            "demo",
            "--no-cluster",
            "--location",
            "s3://results/team/exp",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = moto.dman(cwd, &["show", "s3://results/team/exp", "demo/config.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn missing_credentials_are_a_plain_error() {
    let moto = Moto::start();
    let fx = fixture();
    let o = Command::new(env!("CARGO_BIN_EXE_dman"))
        .args(["tree", "s3://nobucket/x"])
        .current_dir(fx.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run dman");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
    assert!(
        text(&o).starts_with("dman: S3 credentials missing"),
        "{}",
        text(&o)
    );
}
