//! The memory backend passes the backend conformance suite.

use std::sync::Arc;

use dman_memory::MemoryBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    dman_core::testing::conformance(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn conformance_on_a_current_thread_runtime() {
    dman_core::testing::conformance(Arc::new(MemoryBackend::new())).await;
}
