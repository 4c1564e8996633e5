//! Process shutdown: one token that every role and background task watches, tripped
//! by SIGINT/SIGTERM or by a fatal error in any part of the process.

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown signal. Cancelling any clone cancels them all.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the signal fires.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// The underlying token, for APIs that take one.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Fires this signal on the first SIGINT or SIGTERM the process receives.
    /// Returns an error only if the signal handlers cannot be installed.
    pub fn trigger_on_signals(&self) -> std::io::Result<()> {
        let this = self.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::spawn(async move {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                    () = this.wait() => return,
                };
                tracing::info!(signal = name, "shutdown requested");
                this.trigger();
            });
        }
        #[cfg(not(unix))]
        {
            tokio::spawn(async move {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_ok() {
                        tracing::info!(signal = "ctrl-c", "shutdown requested");
                        this.trigger();
                    },
                    () = this.wait() => {}
                }
            });
        }
        Ok(())
    }
}
