//! s3s-fs, an S3 server in the test's process.

use std::path::{Path, PathBuf};

use dman_s3::S3Builder;

use super::{ACCESS_KEY, SECRET_KEY};

/// An S3 server (s3s-fs, its objects in files of a folder) speaking HTTP on
/// 127.0.0.1, with s3s's simple authentication and the tests' credentials.
/// Its accept loop is a task of the caller's runtime: it stops when the
/// server is dropped, and its connections end with the runtime.
pub struct S3sServer {
    endpoint: String,
    root: PathBuf,
    _temporary: Option<tempfile::TempDir>,
    accept: tokio::task::JoinHandle<()>,
}

impl S3sServer {
    /// Starts a server whose files go to a temporary folder, removed when
    /// it is dropped. Panics (never skips) when it cannot start.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("s3s-fs: temporary folder");
        let root = dir.path().to_owned();
        Self::serve(root, Some(dir)).await
    }

    /// Starts a server whose files go to the folder `root`, which stays.
    pub async fn start_in(root: PathBuf) -> Self {
        Self::serve(root, None).await
    }

    async fn serve(root: PathBuf, temporary: Option<tempfile::TempDir>) -> Self {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder as ConnBuilder;
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs: file system");
        let service = {
            let mut builder = S3ServiceBuilder::new(FolderAware {
                fs,
                root: root.clone(),
            });
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
                // Without it, a response written in two parts waits for
                // the client's delayed ACK: 40 ms per GET.
                let _ = socket.set_nodelay(true);
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
            _temporary: temporary,
            accept,
        }
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes a bucket (a folder of the server's root).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir(self.root.join(bucket))
            .unwrap_or_else(|err| panic!("s3s-fs: create bucket {bucket}: {err}"));
    }

    /// A builder for `bucket` on this server, with the right credentials
    /// and without conditional writes: s3s-fs checks `If-None-Match` and
    /// `If-Match` but not atomically (the conformance check
    /// `concurrent_conditional_writes` sees 7 or 8 of 16 racing creators
    /// win), so backends on it must not claim them.
    pub fn builder(&self, bucket: &str) -> S3Builder {
        super::builder(&self.endpoint, bucket).conditional_writes(false)
    }

    /// The folder the server keeps its buckets in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files s3s-fs keeps for multipart uploads that were neither
    /// completed nor aborted.
    pub fn stray_upload_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.root)
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

#[async_trait::async_trait]
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
