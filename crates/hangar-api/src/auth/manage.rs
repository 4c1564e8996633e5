//! Account management by operators (`hangar user …`) and admins
//! (`/api/v1/users`): listing, role and password changes, disabling, enabling,
//! deleting, revoking sessions.
//!
//! A change that takes rights away (a new password, other roles, disabling,
//! deleting) revokes the account's sessions in the same transaction, so its
//! refresh and access tokens stop working at once. No change may leave the
//! platform without an enabled admin when it had one.

use hangar_core::clock::now_ms;
use hangar_store::{Dialect, Store, StoreError, on_pool};
use sqlx::Row;

use super::accounts::{Account, AnyRow, Role, USER_COLUMNS, account_row};

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// No account has this id or address.
    #[error("no account {0}")]
    NotFound(String),
    /// The change would leave no enabled admin.
    #[error(
        "{0} is the last enabled admin; give another account the admin role first \
         (`hangar user create --admin`)"
    )]
    LastAdmin(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ManageError {
    fn from(err: sqlx::Error) -> Self {
        ManageError::Store(StoreError::from(err))
    }
}

/// A change to one account.
#[derive(Debug, Clone)]
pub enum Change {
    /// New roles and, if given, a new password hash.
    Update {
        /// The roles the account has afterwards.
        roles: Vec<Role>,
        /// The new argon2id hash, if the password changes.
        password_hash: Option<String>,
    },
    /// The account cannot sign in; its sessions are revoked.
    Disable,
    /// The account can sign in again.
    Enable,
    /// The account, its sessions and its linked identities are removed.
    Delete,
    /// Every session of the account ends.
    RevokeSessions,
}

impl Change {
    /// The name written in audit lines: `user.disable`…
    pub fn action(&self) -> &'static str {
        match self {
            Change::Update { .. } => "user.update",
            Change::Disable => "user.disable",
            Change::Enable => "user.enable",
            Change::Delete => "user.delete",
            Change::RevokeSessions => "user.revoke_sessions",
        }
    }
}

/// What a change did.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The account after the change (before it, for a deletion).
    pub account: Account,
    /// Sessions the change ended.
    pub sessions_revoked: u64,
}

/// An account id (a UUID) or an e-mail address, as operators name accounts.
fn by_key(key: &str) -> (&'static str, String) {
    if key.contains('@') {
        ("email", key.trim().to_lowercase())
    } else {
        ("id", key.trim().to_owned())
    }
}

/// The account with this id or e-mail address.
pub async fn find(store: &Store, key: &str) -> Result<Option<Account>, StoreError> {
    let (column, value) = by_key(key);
    let sql = format!("SELECT {USER_COLUMNS} FROM hangar_users WHERE {column} = $1");
    let row: Option<AnyRow> = on_pool!(store, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(pool).await
    })?;
    Ok(row.map(|r| account_row(r).account))
}

/// Up to `limit` accounts in creation order (ids are time-ordered), after the
/// account with id `after`.
pub async fn list(
    store: &Store,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM hangar_users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
    );
    let rows: Vec<AnyRow> = on_pool!(store, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after.map(str::to_owned))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })?;
    Ok(rows.into_iter().map(|r| account_row(r).account).collect())
}

/// Sessions of the account that are neither revoked nor expired.
pub async fn active_sessions(store: &Store, user: &str) -> Result<i64, StoreError> {
    let count: i64 = on_pool!(store, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM hangar_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(user)
        .bind(now_ms())
        .fetch_one(pool)
        .await
    })?;
    Ok(count)
}

const IS_ADMIN: &str = "(',' || roles || ',') LIKE '%,admin,%'";

/// Writes the audit line of an account change: target `audit`, who did it
/// (`actor`: an account id, `admin-token`, or `cli:<os user>`), the action and
/// the account.
pub fn audit(actor: &str, action: &str, account: &Account) {
    tracing::info!(
        target: "audit",
        audit = true,
        actor,
        action,
        account = account.id,
        email = account.email,
        "account changed: {action}"
    );
}

/// Applies `change` to the account with this id or e-mail address, in one
/// transaction with the revocation of its sessions and the last-admin check,
/// and writes its audit line as done by `actor`.
pub async fn apply(
    store: &Store,
    actor: &str,
    key: &str,
    change: &Change,
) -> Result<Changed, ManageError> {
    let (column, value) = by_key(key);
    // PostgreSQL: lock the admins' rows so that two concurrent demotions cannot
    // each see the other admin and leave none, always first and in id order, so
    // that two changes of two admins cannot each hold the row the other waits
    // for. SQLite has one writer at a time.
    let lock = match store.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    let select = format!("SELECT {USER_COLUMNS} FROM hangar_users WHERE {column} = $1{lock}");
    let lock_admins = format!(
        "SELECT id FROM hangar_users WHERE disabled_at IS NULL AND {IS_ADMIN} ORDER BY id{lock}"
    );
    let count_admins =
        format!("SELECT COUNT(*) FROM hangar_users WHERE disabled_at IS NULL AND {IS_ADMIN}");
    let now = now_ms();
    let outcome = on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(lock_admins))
                .fetch_all(&mut *tx)
                .await?;
            let row: Option<AnyRow> = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(&value)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok::<_, ManageError>(Err(ManageError::NotFound(value.clone())));
            };
            let before = account_row(row).account;
            let was_admin = !before.disabled && before.roles.contains(&Role::Admin);
            let mut after = before.clone();
            let revoke = match change {
                Change::Update { roles, password_hash } => {
                    sqlx::query(
                        "UPDATE hangar_users SET roles = $2, password_hash = COALESCE($3, password_hash), \
                         updated_at = $4 WHERE id = $1",
                    )
                    .bind(&before.id)
                    .bind(Role::list(roles))
                    .bind(password_hash.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    after.roles = roles.clone();
                    password_hash.is_some() || !same_roles(&before.roles, roles)
                }
                Change::Disable => {
                    sqlx::query(
                        "UPDATE hangar_users SET disabled_at = COALESCE(disabled_at, $2), updated_at = $2 \
                         WHERE id = $1",
                    )
                    .bind(&before.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    after.disabled = true;
                    true
                }
                Change::Enable => {
                    sqlx::query(
                        "UPDATE hangar_users SET disabled_at = NULL, updated_at = $2 WHERE id = $1",
                    )
                    .bind(&before.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    after.disabled = false;
                    false
                }
                Change::Delete | Change::RevokeSessions => true,
            };
            let sessions_revoked = if revoke {
                sqlx::query(
                    "UPDATE hangar_sessions SET revoked_at = $2, revoked_reason = $3 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(&before.id)
                .bind(now)
                .bind(change.action())
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                0
            };
            if matches!(change, Change::Delete) {
                // The foreign keys cascade too; removed here so that no store
                // setting can leave a session behind.
                for sql in [
                    "DELETE FROM hangar_refresh_tokens WHERE session_id IN \
                     (SELECT id FROM hangar_sessions WHERE user_id = $1)",
                    "DELETE FROM hangar_sessions WHERE user_id = $1",
                    "DELETE FROM hangar_identities WHERE user_id = $1",
                    "DELETE FROM hangar_users WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(&before.id).execute(&mut *tx).await?;
                }
            }
            if was_admin {
                let admins: i64 = sqlx::query(sqlx::AssertSqlSafe(count_admins))
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                if admins == 0 {
                    tx.rollback().await?;
                    return Ok(Err(ManageError::LastAdmin(before.email.clone())));
                }
            }
            tx.commit().await?;
            let account = if matches!(change, Change::Delete) { before } else { after };
            Ok(Ok(Changed { account, sessions_revoked }))
        }
        .await
    })?;
    if let Ok(changed) = &outcome {
        audit(actor, change.action(), &changed.account);
    } else if let Err(ManageError::LastAdmin(email)) = &outcome {
        tracing::info!(
            target: "audit",
            audit = true,
            actor,
            action = change.action(),
            email,
            "account change refused: the last enabled admin"
        );
    }
    outcome
}

fn same_roles(a: &[Role], b: &[Role]) -> bool {
    a.iter().all(|r| b.contains(r)) && b.iter().all(|r| a.contains(r))
}
