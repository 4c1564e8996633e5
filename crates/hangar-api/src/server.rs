//! The HTTP server and its graceful shutdown: on the signal it stops accepting,
//! lets in-flight requests finish for up to the drain deadline, then closes what
//! is still open.
//!
//! The accept loop is ours rather than `axum::serve` so that connections still open
//! at the deadline are closed by the server itself, not left to the end of the
//! process — several roles can share one process (`hangar up`, the tests).

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hangar_core::Shutdown;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The server stopped for a reason other than shutdown.
#[derive(Debug, thiserror::Error)]
#[error("HTTP server failed: {0}")]
pub struct ServeError(#[from] std::io::Error);

/// Serves `router` on `listener` until `shutdown` fires, then drains for at most
/// `drain` and closes the connections still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    drain: Duration,
) -> Result<(), ServeError> {
    let builder = Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: wait instead of spinning.
                tracing::error!(error = %e, "accept failed; pausing for 100ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request
                });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(client = %remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        open_connections = graceful.count(),
        drain_ms = drain.as_millis() as u64,
        "no longer accepting connections; waiting for in-flight requests"
    );
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_ok()
    {
        tracing::info!("HTTP server stopped");
    } else {
        tracing::warn!(
            open_connections = connections.len(),
            drain_ms = drain.as_millis() as u64,
            "in-flight requests did not finish within http.shutdown_timeout; closing them"
        );
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Errors that concern one incoming connection only (it was reset before we took it).
fn is_per_connection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
