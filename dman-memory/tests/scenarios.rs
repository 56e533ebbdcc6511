//! The repository scenario suite on the memory backend.

use std::sync::Arc;

use dman_core::StorageBackend;
use dman_memory::MemoryBackend;

#[tokio::test(flavor = "multi_thread")]
async fn repository_scenarios() {
    dman_core::scenarios::repository(|| -> Arc<dyn StorageBackend> {
        Arc::new(MemoryBackend::new())
    })
    .await;
}
