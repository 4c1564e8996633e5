//! Telemetry bootstrap: logs (`tracing`, JSON lines or human text) and the process's
//! Prometheus registry, into which every crate registers its metrics.

mod logs;
mod metrics;
mod process;

pub use logs::{LogInitError, LogStream, init_logs};
pub use metrics::{MetricsFormat, MetricsRegistry, encode_metrics};
