//! moto's S3 server as a child process.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long moto may take to start listening before the test fails.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The script that serves moto one request at a time (see its docstring:
/// moto's conditional writes are atomic only that way).
const SERVER_SCRIPT: &str = include_str!("../../../tests/python/moto_server.py");

/// moto's S3 server (`tests/python/moto_server.py`, moto's own app behind a
/// lock that makes each conditional write atomic, as on S3), a child
/// process listening on a port of 127.0.0.1 it binds itself, killed when
/// dropped.
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log: Arc<Mutex<String>>,
}

impl MotoServer {
    /// Starts moto with the project's Python and waits until it listens:
    /// the script binds port 0 and prints the port it got (werkzeug's
    /// ` * Running on http://127.0.0.1:PORT`, once the socket listens).
    /// Panics, with what moto printed, when it exits first or does not
    /// start within a minute.
    pub fn start() -> Self {
        let python = crate::python::python();
        let mut child = Command::new(python)
            .args(["-c", SERVER_SCRIPT])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start moto with {}: {err}", python.display()));
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("moto's stdout");
        let stderr = child.stderr.take().expect("moto's stderr");
        collect(stdout, log.clone(), None);
        collect(stderr, log.clone(), Some(port_tx));
        let port = match port_rx.recv_timeout(START_LIMIT) {
            Ok(port) => port,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().expect("moto's exit status");
                panic!(
                    "moto exited with {status} before listening:\n{}",
                    read(&log)
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "moto did not listen within {} s:\n{}",
                    START_LIMIT.as_secs(),
                    read(&log)
                );
            }
        };
        MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes a bucket with boto3.
    pub fn create_bucket(&self, bucket: &str) {
        super::s3tool(&self.endpoint, &["create-bucket", bucket]);
    }

    /// A builder for `bucket` on this server, with the right credentials.
    #[cfg(feature = "s3")]
    pub fn builder(&self, bucket: &str) -> dman_s3::S3Builder {
        super::builder(&self.endpoint, bucket)
    }

    /// Everything moto printed so far.
    pub fn logs(&self) -> String {
        read(&self.log)
    }

    /// The requests moto logged so far (werkzeug's access log), such as
    /// `127.0.0.1 - - [date] "GET /bucket/key HTTP/1.1" 200 -`, without
    /// their colours.
    pub fn requests(&self) -> Vec<String> {
        self.logs()
            .lines()
            .map(strip_colours)
            .filter(|line| line.contains(" HTTP/1.1\" "))
            .collect()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(log: &Mutex<String>) -> String {
    log.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Appends every line of `stream` to `log`, from a thread of its own (which
/// ends when moto closes the stream); with `port`, sends the port of
/// werkzeug's `Running on` line there.
fn collect(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    port: Option<mpsc::Sender<u16>>,
) {
    std::thread::spawn(move || {
        let mut port = port;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(found) = port.as_ref().and_then(|_| listening_port(&line)) {
                let _ = port.take().expect("a sender").send(found);
            }
            let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            log.push_str(&line);
            log.push('\n');
        }
    });
}

/// The port of werkzeug's ` * Running on http://127.0.0.1:PORT` line.
fn listening_port(line: &str) -> Option<u16> {
    let line = strip_colours(line);
    let rest = line.split("Running on http://127.0.0.1:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|port| *port != 0)
}

/// `line` without its ANSI colour sequences (`ESC [ ... m`).
fn strip_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
