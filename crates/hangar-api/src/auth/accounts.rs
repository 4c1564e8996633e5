//! The account tables: users, sessions (refresh-token families), refresh tokens,
//! and identities at OpenID Connect providers.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hangar_core::clock::{from_ms, ms, now_ms};
use hangar_store::{Store, StoreError, on_pool};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the platform: pipelines, jobs, data writes.
    Admin,
    /// A signed-in user.
    User,
}

impl Role {
    pub(crate) fn parse_list(text: &str) -> Vec<Role> {
        text.split(',')
            .filter_map(|r| match r.trim() {
                "admin" => Some(Role::Admin),
                "user" => Some(Role::User),
                _ => None,
            })
            .collect()
    }

    /// The role's name: `admin` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub(crate) fn list(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A user account as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Account {
    /// The user's id.
    pub id: String,
    /// E-mail address (lowercase).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// When the account was created (RFC 3339).
    pub created_at: String,
    /// Whether an admin disabled the account: it cannot sign in.
    pub disabled: bool,
}

pub(crate) struct AccountRow {
    pub(crate) account: Account,
    pub(crate) password_hash: Option<String>,
}

pub(crate) fn account_row(row: AnyRow) -> AccountRow {
    AccountRow {
        account: Account {
            id: row.id,
            email: row.email,
            name: row.name,
            roles: Role::parse_list(&row.roles),
            created_at: from_ms(row.created_at).to_rfc3339(),
            disabled: row.disabled_at.is_some(),
        },
        password_hash: row.password_hash,
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AnyRow {
    id: String,
    email: String,
    name: Option<String>,
    password_hash: Option<String>,
    roles: String,
    created_at: i64,
    disabled_at: Option<i64>,
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, name, password_hash, roles, created_at, disabled_at";

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// Another account has the address.
    #[error("an account with this e-mail address exists")]
    EmailTaken,
    /// The invitation code is unknown, used or expired.
    #[error("the invitation code is unknown, used or expired")]
    InvalidInvite,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Lowercases and checks an e-mail address; the reason when it is not one.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && domain.matches('@').count() == 0
        });
    if valid {
        Ok(email)
    } else {
        Err(format!("email: `{email}` is not an e-mail address"))
    }
}

/// Creates an account.
pub async fn create_account(
    store: &Store,
    email: &str,
    name: Option<&str>,
    password_hash: Option<&str>,
    roles: &[Role],
) -> Result<Account, CreateAccountError> {
    insert_account(store, email, name, password_hash, roles, None).await
}

/// Creates an account with the invitation `code`, which is used up in the same
/// transaction: a refused account leaves the code unused.
pub(crate) async fn create_invited_account(
    store: &Store,
    email: &str,
    name: Option<&str>,
    password_hash: &str,
    code: &str,
) -> Result<Account, CreateAccountError> {
    insert_account(
        store,
        email,
        name,
        Some(password_hash),
        &[Role::User],
        Some(code),
    )
    .await
}

async fn insert_account(
    store: &Store,
    email: &str,
    name: Option<&str>,
    password_hash: Option<&str>,
    roles: &[Role],
    invite: Option<&str>,
) -> Result<Account, CreateAccountError> {
    let now = now_ms();
    let id = Uuid::now_v7().to_string();
    let invite_hash = invite.map(token_hash);
    let result = on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            // The code first: without a valid one, nothing tells whether the
            // address has an account.
            if let Some(hash) = &invite_hash {
                let claimed = sqlx::query(
                    "UPDATE hangar_invites SET used_at = $2, used_by = $3 \
                     WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(hash)
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
            sqlx::query(
                "INSERT INTO hangar_users (id, email, name, password_hash, roles, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&id)
            .bind(email)
            .bind(name)
            .bind(password_hash)
            .bind(Role::list(roles))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }
        .await
    });
    match result {
        Ok(true) => Ok(Account {
            id,
            email: email.to_owned(),
            name: name.map(str::to_owned),
            roles: roles.to_vec(),
            created_at: from_ms(now).to_rfc3339(),
            disabled: false,
        }),
        Ok(false) => Err(CreateAccountError::InvalidInvite),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(CreateAccountError::EmailTaken)
        }
        Err(e) => Err(StoreError::from(e).into()),
    }
}

/// Whether any enabled account has the admin role (a fresh installation has none).
pub async fn admin_exists(store: &Store) -> Result<bool, StoreError> {
    let admins: i64 = on_pool!(store, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM hangar_users \
             WHERE disabled_at IS NULL AND ',' || roles || ',' LIKE '%,admin,%' LIMIT 1) AS any_admin",
        )
        .fetch_one(pool)
        .await
    })?;
    Ok(admins > 0)
}

/// The account with `email` and its password hash.
pub(crate) async fn find_by_email(
    store: &Store,
    email: &str,
) -> Result<Option<(Account, Option<String>)>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM hangar_users WHERE email = $1");
    let row: Option<AnyRow> = on_pool!(store, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(pool).await
    })?;
    Ok(row.map(account_row).map(|r| (r.account, r.password_hash)))
}

/// The account with `id`.
pub(crate) async fn find_by_id(store: &Store, id: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM hangar_users WHERE id = $1");
    let row: Option<AnyRow> = on_pool!(store, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await
    })?;
    Ok(row.map(|r| account_row(r).account))
}

/// A new random refresh token and the hash it is stored under.
pub(crate) fn new_refresh_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a session for `user`; returns its id and first refresh token.
pub(crate) async fn create_session(
    store: &Store,
    user: &str,
    method: &str,
    ttl: Duration,
) -> Result<(String, String), StoreError> {
    let now = now_ms();
    let expires = now + ms(ttl);
    let session = Uuid::now_v7().to_string();
    let (token, hash) = new_refresh_token();
    on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO hangar_sessions (id, user_id, method, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&session)
            .bind(user)
            .bind(method)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO hangar_refresh_tokens (token_hash, session_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&hash)
            .bind(&session)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await
    })?;
    Ok((session, token))
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub(crate) enum Rotation {
    /// A new refresh token for the same session.
    Rotated {
        account: Account,
        session: String,
        refresh_token: String,
    },
    /// No such token, or its session expired or was revoked.
    Invalid,
    /// The token was used before: its session is now revoked.
    Reused,
}

/// Uses a refresh token: marks it used and issues the next one of its session,
/// all in one transaction. A token used a second time revokes its session.
pub(crate) async fn rotate(store: &Store, token: &str) -> Result<Rotation, StoreError> {
    let now = now_ms();
    let hash = token_hash(token);
    let (next, next_hash) = new_refresh_token();
    let outcome = on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(
                "SELECT t.session_id, t.used_at, t.expires_at, s.user_id, s.revoked_at, s.expires_at AS session_expires \
                 FROM hangar_refresh_tokens t JOIN hangar_sessions s ON s.id = t.session_id \
                 WHERE t.token_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok((Rotation::Invalid, None)) };
            let session: String = row.try_get("session_id")?;
            let used_at: Option<i64> = row.try_get("used_at")?;
            let expires_at: i64 = row.try_get("expires_at")?;
            let user: String = row.try_get("user_id")?;
            let revoked_at: Option<i64> = row.try_get("revoked_at")?;
            let session_expires: i64 = row.try_get("session_expires")?;
            if revoked_at.is_some() || expires_at <= now || session_expires <= now {
                return Ok((Rotation::Invalid, None));
            }
            let claimed = sqlx::query(
                "UPDATE hangar_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(&hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if used_at.is_some() || claimed == 0 {
                sqlx::query(
                    "UPDATE hangar_sessions SET revoked_at = $2, revoked_reason = 'refresh token reused' \
                     WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(&session)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok((Rotation::Reused, Some(session)));
            }
            sqlx::query(
                "INSERT INTO hangar_refresh_tokens (token_hash, session_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&next_hash)
            .bind(&session)
            .bind(now)
            .bind(session_expires)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((
                Rotation::Rotated {
                    account: Account {
                        id: user,
                        email: String::new(),
                        name: None,
                        roles: Vec::new(),
                        created_at: String::new(),
                        disabled: false,
                    },
                    session,
                    refresh_token: next.clone(),
                },
                None,
            ))
        }
        .await
    })?;
    match outcome {
        (
            Rotation::Rotated {
                account,
                session,
                refresh_token,
            },
            _,
        ) => {
            // The account is read again so that role changes apply at refresh.
            match find_by_id(store, &account.id).await? {
                Some(account) if !account.disabled => Ok(Rotation::Rotated {
                    account,
                    session,
                    refresh_token,
                }),
                _ => Ok(Rotation::Invalid),
            }
        }
        (Rotation::Reused, Some(session)) => {
            tracing::warn!(session, "refresh token reused; the session is revoked");
            Ok(Rotation::Reused)
        }
        (other, _) => Ok(other),
    }
}

/// Revokes a session (sign-out); its access tokens stop working at once.
pub(crate) async fn revoke_session(
    store: &Store,
    session: &str,
    reason: &str,
) -> Result<(), StoreError> {
    on_pool!(store.writer(), pool => {
        sqlx::query(
            "UPDATE hangar_sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(session)
        .bind(now_ms())
        .bind(reason)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// The account behind an active session, as it is now.
#[derive(Debug, Clone)]
pub(crate) struct SessionAccount {
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) roles: Vec<Role>,
}

/// The account of a session that exists, is not revoked, has not expired and
/// whose account is enabled; `None` otherwise. One query, so that every request
/// sees the account's current roles at the cost of the session check alone.
pub(crate) async fn session_account(
    store: &Store,
    session: &str,
) -> Result<Option<SessionAccount>, StoreError> {
    let row: Option<(String, String, String)> = on_pool!(store, pool => {
        sqlx::query_as(
            "SELECT u.id, u.email, u.roles FROM hangar_sessions s JOIN hangar_users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(session)
        .bind(now_ms())
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|(user_id, email, roles)| SessionAccount {
        user_id,
        email,
        roles: Role::parse_list(&roles),
    }))
}

/// The user linked to `subject` at `provider`.
pub(crate) async fn find_identity(
    store: &Store,
    provider: &str,
    subject: &str,
) -> Result<Option<Account>, StoreError> {
    let user: Option<String> = on_pool!(store, pool => {
        sqlx::query_scalar("SELECT user_id FROM hangar_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(pool)
            .await
    })?;
    match user {
        Some(id) => find_by_id(store, &id).await,
        None => Ok(None),
    }
}

/// Links `subject` at `provider` to `user`.
pub(crate) async fn link_identity(
    store: &Store,
    provider: &str,
    subject: &str,
    user: &str,
) -> Result<(), StoreError> {
    on_pool!(store.writer(), pool => {
        sqlx::query(
            "INSERT INTO hangar_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (provider, subject) DO NOTHING",
        )
        .bind(provider)
        .bind(subject)
        .bind(user)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(())
}
