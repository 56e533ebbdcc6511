//! `object_store` wrappers for the S3 tests: [`Hooked`] forwards every
//! request to the store it wraps, and a [`StoreHook`] states only what a
//! test watches or changes. [`CountingStore`] counts `GET`s,
//! [`FailingStore`] fails chosen writes.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use dman_s3::object_store::path::Path as ObjectPath;
use dman_s3::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use dman_s3::{S3Backend, S3Builder};
use futures::stream::BoxStream;

/// What a wrapper does around the requests of the store it wraps; every
/// method defaults to nothing.
pub trait StoreHook: Send + Sync + 'static {
    /// The wrapper's name, in its `Display` (`Name(inner)`).
    const NAME: &'static str;

    /// Sees a `GET` (or, with `head`, a `HEAD`) of `key`.
    fn get(&self, key: &str, head: bool) {
        let _ = (key, head);
    }

    /// Sees a write before it goes out: a `PUT` of `key`, the start of a
    /// multipart upload of `key`, or its n-th part (`<key>#part-<n>`, from
    /// 0). An error fails the write without sending it.
    fn write(&self, key: &str) -> object_store::Result<()> {
        let _ = key;
        Ok(())
    }

    /// A write [`StoreHook::write`] let through is over (done or failed).
    fn written(&self, key: &str) {
        let _ = key;
    }

    /// A multipart upload of `key` was aborted.
    fn aborted(&self, key: &str) {
        let _ = key;
    }
}

/// An [`ObjectStore`] that passes every request to `inner` through a
/// [`StoreHook`].
pub struct Hooked<H> {
    inner: Arc<dyn ObjectStore>,
    hook: Arc<H>,
}

impl<H: StoreHook> Hooked<H> {
    /// Wraps `inner`.
    pub fn with_hook(inner: Arc<dyn ObjectStore>, hook: H) -> Self {
        Hooked {
            inner,
            hook: Arc::new(hook),
        }
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

impl<H: StoreHook> fmt::Display for Hooked<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", H::NAME, self.inner)
    }
}

impl<H: StoreHook> fmt::Debug for Hooked<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", H::NAME, self.inner)
    }
}

#[async_trait]
impl<H: StoreHook> ObjectStore for Hooked<H> {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.hook.write(location.as_ref())?;
        let result = self.inner.put_opts(location, payload, opts).await;
        self.hook.written(location.as_ref());
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.hook.write(location.as_ref())?;
        let inner = self.inner.put_multipart_opts(location, opts).await;
        self.hook.written(location.as_ref());
        Ok(Box::new(HookedUpload {
            inner: inner?,
            hook: self.hook.clone(),
            key: location.to_string(),
            parts: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.hook.get(location.as_ref(), options.head);
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
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// A multipart upload of a [`Hooked`] store: its parts go through the hook.
struct HookedUpload<H> {
    inner: Box<dyn MultipartUpload>,
    hook: Arc<H>,
    key: String,
    parts: usize,
}

impl<H> fmt::Debug for HookedUpload<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookedUpload({}, {:?})", self.key, self.inner)
    }
}

#[async_trait]
impl<H: StoreHook> MultipartUpload for HookedUpload<H> {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let key = format!("{}#part-{}", self.key, self.parts);
        self.parts += 1;
        if let Err(err) = self.hook.write(&key) {
            return Box::pin(async move { Err(err) });
        }
        let part = self.inner.put_part(data);
        let hook = self.hook.clone();
        Box::pin(async move {
            let result = part.await;
            hook.written(&key);
            result
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.hook.aborted(&self.key);
        self.inner.abort().await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---- counting GETs ------------------------------------------------------------

/// The hook of [`CountingStore`]: the keys of the `GET`s (not the `HEAD`s).
#[derive(Debug, Default)]
pub struct Gets(Mutex<Vec<String>>);

impl StoreHook for Gets {
    const NAME: &'static str = "Counting";

    fn get(&self, key: &str, head: bool) {
        if !head {
            lock(&self.0).push(key.to_owned());
        }
    }
}

/// Counts the `GET` requests (not the `HEAD`s) that go through it, by key.
pub type CountingStore = Hooked<Gets>;

impl Hooked<Gets> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Hooked::with_hook(inner, Gets::default())
    }

    /// The keys read so far, in order.
    pub fn gets(&self) -> Vec<String> {
        lock(&self.hook.0).clone()
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
        lock(&self.hook.0).clear();
    }
}

/// Builds the backend of `builder` over a [`CountingStore`]; gives both.
pub fn counting(builder: S3Builder) -> (S3Backend, Arc<CountingStore>) {
    let slot = OnceLock::<Arc<CountingStore>>::new();
    let backend = builder
        .build_wrapped(|store| {
            slot.get_or_init(|| Arc::new(CountingStore::new(store)))
                .clone()
        })
        .expect("backend");
    let counting = slot.into_inner().expect("the wrapper was built");
    (backend, counting)
}

/// The end of the example, after [`crate::seed::start_getting_started`] on
/// a backend over `counting`: seed 1000 again is found among the saved
/// runs, and finding it reads the experiment but no `.npy` object.
pub async fn rerun_finds_seed_1000(repo: &dman::Repo, counting: &CountingStore) {
    counting.reset();
    let ran = crate::seed::execute(repo, crate::seed::config(1000))
        .await
        .expect("seed 1000 again");
    assert!(!ran, "seed 1000 was not found among the saved runs");
    let gets = counting.gets();
    assert!(
        gets.iter()
            .any(|key| key.ends_with("experiment/experiment.json")),
        "the experiment was not even read: {gets:?}"
    );
    assert_eq!(
        counting.gets_ending_with(".npy"),
        Vec::<String>::new(),
        "finding seed 1000 read arrays"
    );
    counting.reset();
}

// ---- failing writes -----------------------------------------------------------

/// Which writes a [`FailingStore`] fails: `fail(rank, key)`, `rank` counting
/// the writes from 0.
pub type FailWhen = Box<dyn Fn(usize, &str) -> bool + Send + Sync>;

/// The hook of [`FailingStore`].
pub struct FailWrites {
    writes: AtomicUsize,
    fail: FailWhen,
    failed: Mutex<Vec<String>>,
    aborted: AtomicUsize,
}

impl StoreHook for FailWrites {
    const NAME: &'static str = "Failing";

    fn write(&self, key: &str) -> object_store::Result<()> {
        let rank = self.writes.fetch_add(1, Ordering::SeqCst);
        if (self.fail)(rank, key) {
            lock(&self.failed).push(key.to_owned());
            return Err(object_store::Error::Generic {
                store: "FailingStore",
                source: format!("injected failure of write {rank} to {key}").into(),
            });
        }
        Ok(())
    }

    fn aborted(&self, _: &str) {
        self.aborted.fetch_add(1, Ordering::SeqCst);
    }
}

/// Lets every request through but fails the `PUT`s, multipart uploads and
/// parts chosen by a predicate on their rank among the writes and their key
/// (`<key>#part-<n>` for the n-th part of an upload, from 0).
pub type FailingStore = Hooked<FailWrites>;

impl Hooked<FailWrites> {
    /// Wraps `inner`; a write fails when `fail(rank, key)` holds (rank 0 is
    /// the first write).
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        fail: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Hooked::with_hook(
            inner,
            FailWrites {
                writes: AtomicUsize::new(0),
                fail: Box::new(fail),
                failed: Mutex::default(),
                aborted: AtomicUsize::new(0),
            },
        )
    }

    /// The keys whose writes were failed.
    pub fn failed(&self) -> Vec<String> {
        lock(&self.hook.failed).clone()
    }

    /// How many multipart uploads were aborted.
    pub fn aborted(&self) -> usize {
        self.hook.aborted.load(Ordering::SeqCst)
    }
}
