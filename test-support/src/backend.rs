//! One forwarding wrapper of a storage backend: [`Wrapped`] passes every
//! operation to the backend it wraps, and a [`Hook`] states only what a
//! test changes (records operations, fails one, flushes after each).

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use dman::core::storage::{ByteStream, Leftover, Upload};
use dman::core::{ObjectMeta, StorageResult};
use dman::{StorageBackend, StoragePath, Version, WriteCondition};

/// One operation on a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `read`
    Read(StoragePath),
    /// `write`
    Write(StoragePath),
    /// `delete`
    Delete(StoragePath),
    /// `exists`
    Exists(StoragePath),
    /// `list`
    List(StoragePath),
    /// `copy` (from, to)
    Copy(StoragePath, StoragePath),
    /// `flush`
    Flush,
    /// `head`
    Head(StoragePath),
    /// `leftovers`
    Leftovers,
    /// `remove_leftover` (the leftover's name)
    RemoveLeftover(String),
}

/// What a wrapper adds to the operations of the backend it wraps; both
/// methods default to adding nothing.
#[async_trait]
pub trait Hook: fmt::Debug + Send + Sync + 'static {
    /// Sees `op` before `inner` does; an error fails the operation without
    /// passing it on.
    fn before(&self, op: &Op, inner: &dyn StorageBackend) -> StorageResult<()> {
        let _ = (op, inner);
        Ok(())
    }

    /// Runs after `op` succeeded on `inner`; an error fails the operation.
    async fn after(&self, op: &Op, inner: &dyn StorageBackend) -> StorageResult<()> {
        let _ = (op, inner);
        Ok(())
    }
}

/// A backend that forwards every operation to `inner` through a [`Hook`];
/// it has the wrapped backend's location, so errors name the real place.
#[derive(Debug)]
pub struct Wrapped<H> {
    inner: Arc<dyn StorageBackend>,
    hook: H,
}

impl<H: Hook> Wrapped<H> {
    /// Wraps `inner`, passing its operations through `hook`.
    pub fn with_hook(inner: Arc<dyn StorageBackend>, hook: H) -> Arc<Self> {
        Arc::new(Wrapped { inner, hook })
    }
}

impl<H> Wrapped<H> {
    /// The wrapped backend.
    pub fn inner(&self) -> &Arc<dyn StorageBackend> {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

impl<H: Hook> Wrapped<H> {
    async fn pass<T>(
        &self,
        op: Op,
        call: impl std::future::Future<Output = StorageResult<T>>,
    ) -> StorageResult<T> {
        self.hook.before(&op, self.inner.as_ref())?;
        let value = call.await?;
        self.hook.after(&op, self.inner.as_ref()).await?;
        Ok(value)
    }
}

#[async_trait]
impl<H: Hook> StorageBackend for Wrapped<H> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.pass(Op::Read(path.clone()), self.inner.read(path))
            .await
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.pass(Op::Write(path.clone()), self.inner.write(path, data))
            .await
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.pass(Op::Delete(path.clone()), self.inner.delete(path))
            .await
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.pass(Op::Exists(path.clone()), self.inner.exists(path))
            .await
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.pass(Op::List(prefix.clone()), self.inner.list(prefix))
            .await
    }

    async fn flush(&self) -> StorageResult<()> {
        self.pass(Op::Flush, self.inner.flush()).await
    }

    async fn head(&self, path: &StoragePath) -> StorageResult<ObjectMeta> {
        self.pass(Op::Head(path.clone()), self.inner.head(path))
            .await
    }

    // A streamed read is a read; hooks see it when it starts.
    async fn read_stream(&self, path: &StoragePath) -> StorageResult<ByteStream> {
        self.pass(Op::Read(path.clone()), self.inner.read_stream(path))
            .await
    }

    // A streamed write is a write: hooks see it before it starts, and their
    // `after` runs when it finished (as for `write`), not when it started.
    async fn write_stream<'a>(&'a self, path: &StoragePath) -> StorageResult<Box<dyn Upload + 'a>> {
        let op = Op::Write(path.clone());
        self.hook.before(&op, self.inner.as_ref())?;
        let inner = self.inner.write_stream(path).await?;
        Ok(Box::new(WrappedUpload {
            inner,
            wrapped: self,
            op,
        }))
    }

    async fn leftovers(&self) -> StorageResult<Vec<Leftover>> {
        self.pass(Op::Leftovers, self.inner.leftovers()).await
    }

    async fn remove_leftover(&self, leftover: &Leftover) -> StorageResult<()> {
        self.pass(
            Op::RemoveLeftover(leftover.name.clone()),
            self.inner.remove_leftover(leftover),
        )
        .await
    }

    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.pass(
            Op::Copy(from.clone(), to.clone()),
            self.inner.copy(from, to),
        )
        .await
    }

    fn supports_conditional_writes(&self) -> bool {
        self.inner.supports_conditional_writes()
    }

    // A versioned read is a read, a conditional write a write: hooks see
    // them as such.
    async fn read_versioned(&self, path: &StoragePath) -> StorageResult<(Bytes, Version)> {
        self.pass(Op::Read(path.clone()), self.inner.read_versioned(path))
            .await
    }

    async fn write_if(
        &self,
        path: &StoragePath,
        data: Bytes,
        condition: &WriteCondition,
    ) -> StorageResult<Version> {
        self.pass(
            Op::Write(path.clone()),
            self.inner.write_if(path, data, condition),
        )
        .await
    }
}

/// The upload of a [`Wrapped`] backend: the hook's `after` runs on finish.
struct WrappedUpload<'a, H> {
    inner: Box<dyn Upload + 'a>,
    wrapped: &'a Wrapped<H>,
    op: Op,
}

#[async_trait]
impl<H: Hook> Upload for WrappedUpload<'_, H> {
    async fn put(&mut self, chunk: Bytes) -> StorageResult<()> {
        self.inner.put(chunk).await
    }

    async fn finish(self: Box<Self>) -> StorageResult<()> {
        let WrappedUpload { inner, wrapped, op } = *self;
        inner.finish().await?;
        wrapped.hook.after(&op, wrapped.inner.as_ref()).await
    }

    async fn abort(self: Box<Self>) -> StorageResult<()> {
        self.inner.abort().await
    }
}

// ---- the recorder ---------------------------------------------------------------

/// The hook of [`Recorder`]: every operation, in order.
#[derive(Debug, Default)]
pub struct Log {
    ops: Mutex<Vec<Op>>,
}

impl Hook for Log {
    fn before(&self, op: &Op, _: &dyn StorageBackend) -> StorageResult<()> {
        self.ops
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(op.clone());
        Ok(())
    }
}

/// A backend wrapper that records every operation, to prove what a load or
/// a save touched (and what it did not).
pub type Recorder = Wrapped<Log>;

impl Wrapped<Log> {
    /// Wraps `inner`, recording from now on.
    pub fn new(inner: Arc<dyn StorageBackend>) -> Arc<Self> {
        Wrapped::with_hook(inner, Log::default())
    }

    /// Every operation so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.hook
            .ops
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Forgets the operations so far.
    pub fn clear(&self) {
        self.hook
            .ops
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// The paths read, in order (with repeats).
    pub fn reads(&self) -> Vec<StoragePath> {
        self.paths(|op| match op {
            Op::Read(path) => Some(path),
            _ => None,
        })
    }

    /// The paths read whose names end with `suffix` (`.npy`, `.json`).
    pub fn reads_ending_with(&self, suffix: &str) -> Vec<StoragePath> {
        self.reads()
            .into_iter()
            .filter(|path| path.as_str().ends_with(suffix))
            .collect()
    }

    /// The paths written (and copy destinations), in order.
    pub fn writes(&self) -> Vec<StoragePath> {
        self.paths(|op| match op {
            Op::Write(path) | Op::Copy(_, path) => Some(path),
            _ => None,
        })
    }

    /// The paths deleted, in order.
    pub fn deletes(&self) -> Vec<StoragePath> {
        self.paths(|op| match op {
            Op::Delete(path) => Some(path),
            _ => None,
        })
    }

    /// Every path an operation named (the source of a copy).
    pub fn touched(&self) -> Vec<StoragePath> {
        self.paths(|op| match op {
            Op::Read(path)
            | Op::Write(path)
            | Op::Delete(path)
            | Op::Exists(path)
            | Op::List(path)
            | Op::Copy(path, _)
            | Op::Head(path) => Some(path),
            Op::Flush | Op::Leftovers | Op::RemoveLeftover(_) => None,
        })
    }

    fn paths(&self, pick: impl Fn(&Op) -> Option<&StoragePath>) -> Vec<StoragePath> {
        self.ops().iter().filter_map(pick).cloned().collect()
    }
}
