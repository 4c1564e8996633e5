//! Whether the reads of the running task may go to a read replica.

use std::future::Future;

/// Where the reads of a task may run on PostgreSQL with read replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRoute {
    /// The primary only: the task wrote, or must see what was just written
    /// (the default outside [`with_read_route`]).
    Primary,
    /// A healthy replica, which may be behind the primary by at most
    /// `store.replica_max_lag`.
    Replica,
}

tokio::task_local! {
    static ROUTE: ReadRoute;
}

/// Runs `future` with its reads routed as `route` says. Tasks it spawns do not
/// inherit the route: their reads go to the primary.
pub async fn with_read_route<F: Future>(route: ReadRoute, future: F) -> F::Output {
    ROUTE.scope(route, future).await
}

/// The route of the running task: [`ReadRoute::Primary`] outside [`with_read_route`].
pub fn current() -> ReadRoute {
    ROUTE.try_with(|route| *route).unwrap_or(ReadRoute::Primary)
}
