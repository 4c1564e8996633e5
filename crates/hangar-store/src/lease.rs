//! Named leases in the store: at most one holder at a time, for as long as it
//! renews. The scheduler role uses one to elect the process that fires cron
//! triggers.

use std::time::Duration;

use crate::{Store, StoreError, on_pool};

impl Store {
    /// Takes or renews the lease `name` for `holder` until `ttl` from now. Returns
    /// whether `holder` holds it afterwards: it does if it held it already, or if
    /// the previous holder's lease had expired.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = hangar_core::clock::now_ms();
        let until = now.saturating_add(hangar_core::clock::ms(ttl));
        let sql = "INSERT INTO hangar_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE hangar_leases.holder = excluded.holder OR hangar_leases.expires_at < $4 \
             RETURNING holder";
        let held: Option<String> = on_pool!(self.writer(), pool => {
            sqlx::query_scalar(sql)
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(now)
                .fetch_optional(pool)
                .await
        })?;
        Ok(held.as_deref() == Some(holder))
    }

    /// Gives the lease up if `holder` holds it, so another process can take it at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        on_pool!(self.writer(), pool => {
            sqlx::query("DELETE FROM hangar_leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}
