//! The floor every Hangar box stands on: configuration, telemetry (logs and the
//! metrics registry), shutdown, retry backoff, readiness checks, and the
//! "did you mean" of error messages.
//!
//! Nothing here knows about HTTP, SQL or a broker. Higher crates (store, queue,
//! api, apps) take what they need from here; this crate depends on none of them.

pub mod backoff;
pub mod clock;
pub mod config;
pub mod health;
pub mod host;
pub mod shutdown;
pub mod spelling;
pub mod telemetry;

pub use config::{Config, ConfigError, LoadedConfig};
pub use shutdown::Shutdown;
