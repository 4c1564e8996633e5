//! What the store's test files share.

use std::time::Duration;

use hangar_core::Shutdown;
use hangar_core::config::StoreConfig;
use hangar_store::Store;
use hangar_testkit::{Backend, TestDatabase};

/// A store over a new database of `backend`, reachable; `None` when the backend
/// is not available (the test is skipped, with the reason printed).
pub async fn fresh_store(backend: Backend, test: &str) -> Option<(Store, TestDatabase)> {
    let db = TestDatabase::create(backend, test).await?;
    let store = Store::open(db.url(), &StoreConfig::default()).expect("open the store");
    store
        .wait_until_reachable(Duration::from_secs(10), &Shutdown::new())
        .await
        .expect("the test database is reachable");
    Some((store, db))
}
