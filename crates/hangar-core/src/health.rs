//! Readiness: the named checks `/readyz` runs (store reachable, queue reachable, …).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Boxed future returned by a [`ReadinessCheck`].
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Something a process needs to serve traffic, checked on each `/readyz`.
pub trait ReadinessCheck: Send + Sync + 'static {
    /// Short stable name shown in `/readyz` (`store`, `queue`).
    fn name(&self) -> &'static str;
    /// `Ok` when reachable; otherwise a one-line reason safe to show to operators.
    fn check(&self) -> CheckFuture<'_>;
    /// Facts shown beside the verdict that do not change it (a read replica
    /// skipped while the primary serves), as `(name, text)` pairs.
    fn details(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// A flag that turns true once start-up work (connect, migrate) is done.
#[derive(Debug, Clone, Default)]
pub struct StartupGate(Arc<AtomicBool>);

impl StartupGate {
    /// Marks start-up as finished.
    pub fn open(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether start-up has finished.
    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
