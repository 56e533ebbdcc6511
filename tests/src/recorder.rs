//! A backend wrapper that records every operation, to prove what a load or
//! a save touched (and what it did not).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use dman::core::{ObjectMeta, StorageResult};
use dman::{StorageBackend, StoragePath};

/// One operation on the wrapped backend.
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
}

/// Wraps a backend and records what is done to it; it has the wrapped
/// backend's location, so errors name the real place.
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<dyn StorageBackend>,
    ops: Mutex<Vec<Op>>,
}

impl Recorder {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn StorageBackend>) -> Arc<Self> {
        Arc::new(Recorder {
            inner,
            ops: Mutex::new(Vec::new()),
        })
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &Arc<dyn StorageBackend> {
        &self.inner
    }

    fn push(&self, op: Op) {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).push(op);
    }

    /// Every operation so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets the operations so far.
    pub fn clear(&self) {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The paths read, in order (with repeats).
    pub fn reads(&self) -> Vec<StoragePath> {
        self.filter(|op| match op {
            Op::Read(p) => Some(p.clone()),
            _ => None,
        })
    }

    /// The paths written (and copy destinations), in order.
    pub fn writes(&self) -> Vec<StoragePath> {
        self.filter(|op| match op {
            Op::Write(p) | Op::Copy(_, p) => Some(p.clone()),
            _ => None,
        })
    }

    /// The paths deleted, in order.
    pub fn deletes(&self) -> Vec<StoragePath> {
        self.filter(|op| match op {
            Op::Delete(p) => Some(p.clone()),
            _ => None,
        })
    }

    /// Every path any operation named.
    pub fn touched(&self) -> Vec<StoragePath> {
        self.filter(|op| match op {
            Op::Read(p) | Op::Write(p) | Op::Delete(p) | Op::Exists(p) | Op::List(p) => {
                Some(p.clone())
            }
            Op::Copy(from, _) => Some(from.clone()),
            Op::Flush => None,
        })
    }

    fn filter(&self, f: impl Fn(&Op) -> Option<StoragePath>) -> Vec<StoragePath> {
        self.ops().iter().filter_map(f).collect()
    }
}

#[async_trait]
impl StorageBackend for Recorder {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn read(&self, path: &StoragePath) -> StorageResult<Bytes> {
        self.push(Op::Read(path.clone()));
        self.inner.read(path).await
    }

    async fn write(&self, path: &StoragePath, data: Bytes) -> StorageResult<()> {
        self.push(Op::Write(path.clone()));
        self.inner.write(path, data).await
    }

    async fn delete(&self, path: &StoragePath) -> StorageResult<()> {
        self.push(Op::Delete(path.clone()));
        self.inner.delete(path).await
    }

    async fn exists(&self, path: &StoragePath) -> StorageResult<bool> {
        self.push(Op::Exists(path.clone()));
        self.inner.exists(path).await
    }

    async fn list(&self, prefix: &StoragePath) -> StorageResult<Vec<ObjectMeta>> {
        self.push(Op::List(prefix.clone()));
        self.inner.list(prefix).await
    }

    async fn flush(&self) -> StorageResult<()> {
        self.push(Op::Flush);
        self.inner.flush().await
    }

    async fn copy(&self, from: &StoragePath, to: &StoragePath) -> StorageResult<()> {
        self.push(Op::Copy(from.clone(), to.clone()));
        self.inner.copy(from, to).await
    }
}
