//! What the S3 tests share: the two servers (s3s-fs in-process, moto as a
//! child process), the project's Python, store wrappers that count or fail
//! requests, and the getting-started types.
#![allow(dead_code)]

use std::fmt;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dman::ndarray::Array2;
use dman::{Modelclass, Record};
use dman_s3::object_store::path::Path as ObjectPath;
use dman_s3::object_store::{
    self, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use dman_s3::S3Builder;
use futures::stream::BoxStream;

/// The credentials the test servers accept.
pub const ACCESS_KEY: &str = "dman-test-access-key";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "dman-test-secret-key";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

// ---- s3s-fs, in-process -------------------------------------------------------

/// An S3 server (s3s-fs, files in a temporary folder) speaking HTTP on
/// 127.0.0.1, with s3s's simple authentication. Its accept loop is a task
/// of the test's runtime: it stops when the server is dropped, and its
/// connections end with the runtime.
pub struct S3sServer {
    endpoint: String,
    root: tempfile::TempDir,
    accept: tokio::task::JoinHandle<()>,
}

impl S3sServer {
    /// Starts a server; panics (never skips) when it cannot.
    pub async fn start() -> Self {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder as ConnBuilder;
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let root = tempfile::tempdir().expect("s3s-fs: temporary folder");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs: file system");
        let fs = FolderAware {
            fs,
            root: root.path().to_owned(),
        };
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("s3s-fs: bind 127.0.0.1:0");
        let address = listener.local_addr().expect("s3s-fs: local address");
        let accept = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        S3sServer {
            endpoint: format!("http://{address}"),
            root,
            accept,
        }
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes a bucket (a folder of the server's root).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir(self.root.path().join(bucket)).expect("s3s-fs: create bucket");
    }

    /// A builder for `bucket` on this server, with the right credentials.
    pub fn builder(&self, bucket: &str) -> S3Builder {
        builder(&self.endpoint, bucket)
    }

    /// The folder the server keeps its buckets in.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The files s3s-fs keeps for multipart uploads that were neither
    /// completed nor aborted.
    pub fn stray_upload_files(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path())
            .expect("s3s-fs root")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".upload_id-"))
            .collect()
    }
}

impl Drop for S3sServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// s3s-fs with one difference: it keeps an object `a/b/c` as the file
/// `<bucket>/a/b/c` of its folder, so a prefix such as `a/b`, which on S3
/// is no object at all, is a directory there, and s3s-fs answers a `HEAD`,
/// `GET`, `DELETE` or copy of it with an internal error. This answers them
/// as S3 does (no such key; deleting nothing succeeds) and passes every
/// other request to s3s-fs untouched.
struct FolderAware {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
}

impl FolderAware {
    fn is_folder(&self, bucket: &str, key: &str) -> bool {
        !key.is_empty() && self.root.join(bucket).join(key).is_dir()
    }
}

macro_rules! delegate {
    ($($method:ident: $input:ident => $output:ident;)*) => {
        $(
            // Written out as `async_trait` expands an `async fn`, which it
            // cannot see inside a macro.
            fn $method<'life0, 'async_trait>(
                &'life0 self,
                req: s3s::S3Request<s3s::dto::$input>,
            ) -> std::pin::Pin<Box<
                dyn std::future::Future<Output = s3s::S3Result<s3s::S3Response<s3s::dto::$output>>>
                    + Send
                    + 'async_trait,
            >>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                self.fs.$method(req)
            }
        )*
    };
}

#[async_trait]
impl s3s::S3 for FolderAware {
    delegate! {
        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
        complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
        create_bucket: CreateBucketInput => CreateBucketOutput;
        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
        delete_bucket: DeleteBucketInput => DeleteBucketOutput;
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
        head_bucket: HeadBucketInput => HeadBucketOutput;
        list_buckets: ListBucketsInput => ListBucketsOutput;
        list_objects: ListObjectsInput => ListObjectsOutput;
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
        list_parts: ListPartsInput => ListPartsOutput;
        put_object: PutObjectInput => PutObjectOutput;
        upload_part: UploadPartInput => UploadPartOutput;
        upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput;
    }

    async fn head_object(
        &self,
        req: s3s::S3Request<s3s::dto::HeadObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::HeadObjectOutput>> {
        if self.is_folder(&req.input.bucket, &req.input.key) {
            return Err(s3s::s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn get_object(
        &self,
        req: s3s::S3Request<s3s::dto::GetObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::GetObjectOutput>> {
        if self.is_folder(&req.input.bucket, &req.input.key) {
            return Err(s3s::s3_error!(NoSuchKey));
        }
        self.fs.get_object(req).await
    }

    async fn delete_object(
        &self,
        req: s3s::S3Request<s3s::dto::DeleteObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::DeleteObjectOutput>> {
        if self.is_folder(&req.input.bucket, &req.input.key) {
            return Ok(s3s::S3Response::new(s3s::dto::DeleteObjectOutput::default()));
        }
        self.fs.delete_object(req).await
    }

    async fn copy_object(
        &self,
        req: s3s::S3Request<s3s::dto::CopyObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::CopyObjectOutput>> {
        if let s3s::dto::CopySource::Bucket { bucket, key, .. } = &req.input.copy_source {
            if self.is_folder(bucket, key) {
                return Err(s3s::s3_error!(NoSuchKey));
            }
        }
        self.fs.copy_object(req).await
    }
}

/// A builder for `bucket` at `endpoint`, with the tests' credentials.
pub fn builder(endpoint: &str, bucket: &str) -> S3Builder {
    S3Builder::new()
        .endpoint(endpoint)
        .bucket(bucket)
        .region(REGION)
        .credentials(ACCESS_KEY, SECRET_KEY)
}

// ---- moto, a child process ----------------------------------------------------

/// moto's S3 server (`python -m moto.server`), a child process on a free
/// port of 127.0.0.1, killed when dropped.
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl MotoServer {
    /// Starts moto with the project's Python and waits until its port
    /// answers (at most 200 tries, 50 ms apart); panics, with moto's log,
    /// when it does not.
    pub fn start() -> Self {
        let python = python();
        let dir = tempfile::tempdir().expect("moto: temporary folder");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("moto: log file"))
            .stderr(std::fs::File::create(dir.path().join("moto.err")).expect("moto: log file"))
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start moto with {}: {err}", python.display()));
        let mut server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        for _ in 0..200 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "moto exited with {status} before answering:\n{}",
                    server.logs()
                );
            }
            if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(50))
                .is_ok()
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "moto did not answer on port {port} within 10 s:\n{}",
            server.logs()
        );
    }

    /// The server's URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes a bucket with boto3.
    pub fn create_bucket(&self, bucket: &str) {
        s3tool(&self.endpoint, &["create-bucket", bucket]);
    }

    /// A builder for `bucket` on this server.
    pub fn builder(&self, bucket: &str) -> S3Builder {
        builder(&self.endpoint, bucket)
    }

    /// What moto printed.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.log.with_file_name(name)).unwrap_or_default();
        format!("{}{}", read("moto.log"), read("moto.err"))
    }

    /// The requests moto logged (werkzeug's access log, on stderr), such as
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

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

// ---- Python -------------------------------------------------------------------

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's Python with dman 1.0.1, moto and boto3: `DMAN_PYTHON`, or
/// the venv `scripts/setup-python.sh` sets up. Panics when neither works.
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(python) = std::env::var_os("DMAN_PYTHON") {
                return PathBuf::from(python);
            }
            let out = Command::new(repo_root().join("scripts/setup-python.sh"))
                .output()
                .expect("run scripts/setup-python.sh");
            assert!(
                out.status.success(),
                "cannot set up the Python of the tests (dman 1.0.1, moto, boto3): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        })
        .clone()
}

/// Runs `tests/s3tool.py ENDPOINT ARGS...` (boto3) with the tests'
/// credentials; panics with its output when it fails. Returns its stdout.
pub fn s3tool(endpoint: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3tool.py"))
        .arg(endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run s3tool.py");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "s3tool.py {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `tests/python/check_getting_started.py WORKSPACE EXPECTED` with
/// Python dman 1.0.1 and returns its verdict (`ok N checks`).
pub fn python_check_getting_started(workspace: &Path, expected: &Path) -> String {
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/check_getting_started.py"))
        .arg(workspace)
        .arg(expected)
        .output()
        .expect("run check_getting_started.py");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "Python dman 1.0.1 disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Extracts the fixture `getting-started.zip` (Python dman 1.0.1's tree)
/// into `dir`; returns the `.dman` folder.
pub fn extract_fixture(dir: &Path) -> PathBuf {
    use std::io::Read;
    let fixture = repo_root().join("../shared/fixtures/python-dman-1.0.1/getting-started.zip");
    let file = std::fs::File::open(&fixture)
        .unwrap_or_else(|err| panic!("fixture {}: {err}", fixture.display()));
    let mut archive = zip::ZipArchive::new(file).expect("fixture zip");
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("fixture entry");
        let Some(name) = entry.enclosed_name() else {
            panic!("fixture entry escapes its folder")
        };
        let dest = dir.join(name);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read fixture entry");
        std::fs::write(dest, bytes).expect("write fixture file");
    }
    dir.join(".dman")
}

// ---- store wrappers -----------------------------------------------------------

/// Counts the `GET` requests (not the `HEAD`s) that go through it, by key.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    gets: Mutex<Vec<String>>,
}

impl CountingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        CountingStore {
            inner,
            gets: Mutex::default(),
        }
    }

    /// The keys read so far, in order.
    pub fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The keys read so far that end with `suffix`.
    pub fn gets_ending_with(&self, suffix: &str) -> Vec<String> {
        self.gets()
            .into_iter()
            .filter(|key| key.ends_with(suffix))
            .collect()
    }

    /// Forgets the keys read so far.
    pub fn reset(&self) {
        self.gets.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !options.head {
            self.gets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(location.to_string());
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Lets every request through but fails the `PUT`s, multipart uploads and
/// parts chosen by a predicate on their key (`<key>#part-<n>` for the
/// n-th part of an upload, from 0) and their rank among those writes.
pub struct FailingStore {
    inner: Arc<dyn ObjectStore>,
    state: Arc<FailState>,
}

type FailFn = Box<dyn Fn(usize, &str) -> bool + Send + Sync>;

struct FailState {
    writes: AtomicUsize,
    fail: FailFn,
    failed: Mutex<Vec<String>>,
    aborted: AtomicUsize,
}

impl FailState {
    fn check(&self, key: &str) -> object_store::Result<()> {
        let rank = self.writes.fetch_add(1, Ordering::SeqCst);
        if (self.fail)(rank, key) {
            self.failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(key.to_owned());
            return Err(object_store::Error::Generic {
                store: "FailingStore",
                source: format!("injected failure of write {rank} to {key}").into(),
            });
        }
        Ok(())
    }
}

impl FailingStore {
    /// Wraps `inner`; a write fails when `fail(rank, key)` holds (rank 0 is
    /// the first write).
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        fail: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        FailingStore {
            inner,
            state: Arc::new(FailState {
                writes: AtomicUsize::new(0),
                fail: Box::new(fail),
                failed: Mutex::default(),
                aborted: AtomicUsize::new(0),
            }),
        }
    }

    /// The keys whose writes were failed.
    pub fn failed(&self) -> Vec<String> {
        self.state
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many multipart uploads were aborted.
    pub fn aborted(&self) -> usize {
        self.state.aborted.load(Ordering::SeqCst)
    }
}

/// A multipart upload of [`FailingStore`].
#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    state: Arc<FailState>,
    key: String,
    parts: usize,
}

impl fmt::Debug for FailState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailState")
    }
}

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        let key = format!("{}#part-{}", self.key, self.parts);
        self.parts += 1;
        match self.state.check(&key) {
            Ok(()) => self.inner.put_part(data),
            Err(err) => Box::pin(async move { Err(err) }),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.state.aborted.fetch_add(1, Ordering::SeqCst);
        self.inner.abort().await
    }
}

impl fmt::Debug for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failing({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.state.check(location.as_ref())?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.state.check(location.as_ref())?;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FailingUpload {
            inner,
            state: self.state.clone(),
            key: location.to_string(),
            parts: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

// ---- the getting-started types ------------------------------------------------

/// The configuration of one experiment (as in `examples/patterns/common.rs`).
#[derive(Modelclass, Debug, Clone, PartialEq)]
#[dman(name = "config")]
pub struct Config {
    pub seed: u64,
    pub size: usize,
    pub nsample: usize,
    pub nrepeats: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1234,
            size: 20,
            nsample: 1000,
            nrepeats: 2,
        }
    }
}

/// One run: its configuration and two arrays, each in a `.npy` file.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
pub struct Run {
    pub config: Config,
    pub data: Option<Record<Array2<f64>>>,
    pub output: Option<Record<Array2<f64>>>,
}

/// The experiment container of the getting-started example.
pub fn experiment() -> dman::MRuns<Run> {
    dman::MRuns::new().stem("experiment").subdir("results")
}

/// The arrays of a run of `cfg`, deterministic in the seed.
pub fn arrays(cfg: &Config) -> (Array2<f64>, Array2<f64>) {
    let mut state = cfg
        .seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let data = Array2::from_shape_fn((cfg.size, cfg.nsample), |_| next());
    let transform = Array2::from_shape_fn((100, cfg.size), |_| next() - 0.5);
    let output = transform.dot(&data);
    (data, output)
}

/// Runs the experiment for `cfg` unless a run with that configuration is
/// saved already; returns whether it ran.
pub async fn execute(repo: &dman::Repo, cfg: Config) -> dman::Result<bool> {
    repo.track(
        "experiment",
        experiment,
        async |runs: &mut dman::MRuns<Run>| {
            if runs.contents().await?.iter().any(|run| run.config == cfg) {
                return Ok(false);
            }
            let (data, output) = arrays(&cfg);
            runs.push(Run {
                config: cfg.clone(),
                data: Some(data.into()),
                output: Some(output.into()),
            });
            Ok(true)
        },
    )
    .await
}

/// The sha256 of an array's float64 little-endian bytes (as
/// `check_getting_started.py` computes it).
pub fn digest(array: &Array2<f64>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for x in array.iter() {
        hasher.update(x.to_le_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
