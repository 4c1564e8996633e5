//! Accounts and authentication: users with roles, argon2id password hashes, JWT
//! access tokens (HS256: `iss`, `aud`, `sub`, `exp`, `sid`, roles), refresh tokens
//! stored hashed and rotated on every use with reuse detection, sign-in rate
//! limits, and sign-in through an OpenID Connect provider.
//!
//! Handlers ask for a caller with the [`User`] and [`Admin`] extractors; the router
//! puts the [`Auth`] service in every request's extensions.
//!
//! | endpoint | file |
//! |---|---|
//! | `POST /api/v1/auth/register` | `register.rs` |
//! | `POST /api/v1/auth/login` | `login.rs` |
//! | `POST /api/v1/auth/refresh` | `refresh.rs` |
//! | `POST /api/v1/auth/logout` | `logout.rs` |
//! | `GET /api/v1/auth/me` | `me.rs` |
//! | `GET /api/v1/auth/oidc/{provider}/login`, `…/callback` | `oidc.rs` |
//! | `/api/v1/users…` (admins manage accounts) | `users/` |
//! | `POST /api/v1/invites` | `invites.rs` |
//!
//! Every request with an access token reads its session and account in one
//! query: a revoked session, a disabled account and a changed role apply at once.

pub mod accounts;
pub mod invites;
mod limits;
mod login;
mod logout;
pub mod manage;
mod me;
pub mod oidc;
pub mod passwords;
mod refresh;
mod register;
mod sessions;
mod tokens;
mod users;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_core::config::{AuthConfig, Registration, Secret};
use hangar_store::Store;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
pub use accounts::{Account, CreateAccountError, Role};
pub use limits::Limits;
pub use tokens::{Claims, TokenError, Tokens};

/// Shortest accepted `auth.jwt_secret`, and `api.admin_token` when it is set.
pub const MIN_SECRET_CHARS: usize = 32;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id (`admin-token` for the configured admin token).
    pub user_id: String,
    /// The user's e-mail address.
    pub email: String,
    /// The user's roles.
    pub roles: Vec<Role>,
    /// The sign-in session the token belongs to.
    pub session: Option<String>,
}

impl Caller {
    /// Whether the caller has the admin role.
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }
}

/// The authentication service: token keys, the store of accounts, limits.
#[derive(Clone)]
pub struct Auth(Arc<Inner>);

struct Inner {
    store: Store,
    tokens: Option<Tokens>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    admin_token: Secret,
    limits: Limits,
    registration: Registration,
    invite_ttl: Duration,
    oidc: Option<oidc::Provider>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("tokens", &self.0.tokens.is_some())
            .field("oidc", &self.0.oidc.is_some())
            .finish()
    }
}

/// A configuration `Auth` cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// The secret is too short to be a key.
    #[error("auth.jwt_secret has {0} characters; it needs at least {MIN_SECRET_CHARS}")]
    ShortSecret(usize),
    /// The admin token is set but too short to resist guessing.
    #[error(
        "api.admin_token has {0} characters; it needs at least {MIN_SECRET_CHARS} \
         (e.g. `openssl rand -base64 32`), or leave it empty to turn it off"
    )]
    ShortAdminToken(usize),
    /// The OpenID Connect settings are incomplete or malformed.
    #[error("auth.oidc: {0}")]
    Oidc(String),
}

impl Auth {
    /// The service for `config`, with `admin_token` (`api.admin_token`) accepted
    /// as an admin credential for machines. Without a JWT secret, sign-in
    /// endpoints answer 503 and only the admin token authenticates.
    pub fn new(
        config: &AuthConfig,
        admin_token: &Secret,
        store: Store,
    ) -> Result<Self, AuthConfigError> {
        let tokens = match config.jwt_secret.chars() {
            0 => None,
            n if n < MIN_SECRET_CHARS => return Err(AuthConfigError::ShortSecret(n)),
            _ => Some(Tokens::new(
                config.jwt_secret.expose(),
                &config.issuer,
                &config.audience,
            )),
        };
        match admin_token.chars() {
            n if n > 0 && n < MIN_SECRET_CHARS => {
                return Err(AuthConfigError::ShortAdminToken(n));
            }
            _ => {}
        }
        let oidc = oidc::Provider::from_config(&config.oidc).map_err(AuthConfigError::Oidc)?;
        Ok(Self(Arc::new(Inner {
            store,
            tokens,
            access_ttl: config.access_ttl.get(),
            refresh_ttl: config.refresh_ttl.get(),
            admin_token: admin_token.clone(),
            limits: Limits::new(
                config.ip_attempts,
                config.account_attempts,
                config.account_ceiling,
            ),
            registration: config.registration,
            invite_ttl: config.invite_ttl.get(),
            oidc,
        })))
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.0.limits
    }

    pub(crate) fn registration(&self) -> Registration {
        self.0.registration
    }

    pub(crate) fn invite_ttl(&self) -> Duration {
        self.0.invite_ttl
    }

    pub(crate) fn oidc(&self) -> Option<&oidc::Provider> {
        self.0.oidc.as_ref()
    }

    /// The token service, or 503 when no secret is configured.
    pub(crate) fn tokens(&self) -> Result<&Tokens, Problem> {
        self.0.tokens.as_ref().ok_or_else(|| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "auth-not-configured",
                "Sign-in not configured",
            )
            .with_detail("set auth.jwt_secret (HANGAR_AUTH_JWT_SECRET) to enable accounts")
        })
    }

    /// Who sent `token`: the admin token, or a valid access token of a session
    /// that is not revoked, of an account that is enabled; the roles are the
    /// account's as they are now.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, Problem> {
        let admin_token = self.0.admin_token.expose();
        if !admin_token.is_empty() && same(token.as_bytes(), admin_token.as_bytes()) {
            return Ok(Caller {
                user_id: "admin-token".to_owned(),
                email: String::new(),
                roles: vec![Role::Admin],
                session: None,
            });
        }
        let claims = match &self.0.tokens {
            Some(tokens) => tokens.verify(token).map_err(token_problem)?,
            None => {
                return Err(token_problem(TokenError::Invalid(
                    "no token is valid here".into(),
                )));
            }
        };
        let Some(account) = accounts::session_account(&self.0.store, &claims.sid)
            .await?
            .filter(|a| a.user_id == claims.sub)
        else {
            return Err(token_problem(TokenError::Revoked));
        };
        Ok(Caller {
            user_id: account.user_id,
            email: account.email,
            roles: account.roles,
            session: Some(claims.sid),
        })
    }

    /// [`Auth::authenticate`] for a request from `client`: an address that sent
    /// too many tokens that are not ours (neither the admin token nor signed with
    /// our key) is answered 429 before its token is compared with the admin
    /// token. A token signed with our key cannot be guessed, so it is still
    /// looked at: one client behind a shared address cannot lock out the others.
    pub async fn authenticate_from(
        &self,
        token: &str,
        client: Option<IpAddr>,
    ) -> Result<Caller, Problem> {
        let Some(ip) = client.map(|ip| ip.to_string()) else {
            return self.authenticate(token).await;
        };
        if let Err(limited) = self.0.limits.check_bearer(&ip)
            && !self.signed_by_us(token)
        {
            return Err(limited);
        }
        let result = self.authenticate(token).await;
        if let Err(problem) = &result
            && problem.kind == "urn:hangar:problem:invalid-token"
        {
            self.0.limits.failed_bearer(&ip);
            tracing::info!(client = ip, "bearer token refused");
        }
        result
    }

    /// Whether `token` carries our signature (expired or not).
    fn signed_by_us(&self, token: &str) -> bool {
        self.0
            .tokens
            .as_ref()
            .is_some_and(|tokens| matches!(tokens.verify(token), Ok(_) | Err(TokenError::Expired)))
    }

    /// Who sent the request, from its `Authorization: Bearer` header.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
        self.caller_from(headers, None).await
    }

    /// Who sent the request from `client`, from its `Authorization: Bearer`
    /// header, with the limit on tokens that are not ours.
    pub async fn caller_from(
        &self,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Caller, Problem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme name is case-insensitive (RFC 9110, section 11.1).
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token)
            })
            .ok_or_else(|| {
                unauthorized(
                    "unauthorized",
                    "send `Authorization: Bearer <access token>` (POST /api/v1/auth/login)",
                )
            })?;
        self.authenticate_from(token.trim(), client).await
    }

    /// Starts a session for `account` and returns its first tokens.
    pub(crate) async fn sign_in(
        &self,
        account: &Account,
        method: &str,
    ) -> Result<TokenResponse, Problem> {
        let tokens = self.tokens()?;
        if account.disabled {
            return Err(account_disabled());
        }
        let (session, refresh) =
            accounts::create_session(&self.0.store, &account.id, method, self.0.refresh_ttl)
                .await?;
        self.token_response(tokens, account, &session, refresh)
    }

    pub(crate) fn token_response(
        &self,
        tokens: &Tokens,
        account: &Account,
        session: &str,
        refresh_token: String,
    ) -> Result<TokenResponse, Problem> {
        let access_token = tokens
            .issue(account, session, self.0.access_ttl)
            .map_err(|e| {
                tracing::error!(error = %e, "could not sign an access token");
                Problem::internal()
            })?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.0.access_ttl.as_secs(),
            refresh_token,
            user: account.clone(),
        })
    }
}

/// Tokens handed out at sign-in and refresh.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Bearer token for API calls (`Authorization: Bearer …`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// One-use token for `POST /api/v1/auth/refresh`; each use returns a new one.
    pub refresh_token: String,
    /// The signed-in user.
    pub user: Account,
}

/// The auth routes.
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout::logout))
        .routes(routes!(me::me))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::revoke_session))
        .routes(routes!(sessions::revoke_other_sessions))
        .routes(routes!(oidc::oidc_login))
        .routes(routes!(oidc::oidc_callback))
        .routes(routes!(invites::create))
        .merge(users::routes())
}

/// 403 for signing in to an account an admin disabled.
pub(crate) fn account_disabled() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "account-disabled",
        "Account disabled",
    )
    .with_detail("this account is disabled; ask an admin to enable it")
}

/// Compares in time independent of where the inputs first differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 401 with `WWW-Authenticate: Bearer`.
pub(crate) fn unauthorized(kind: &str, detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, kind, "Unauthorized").with_detail(detail)
}

fn token_problem(err: TokenError) -> Problem {
    let kind = match err {
        TokenError::Expired => "token-expired",
        TokenError::Revoked => "token-revoked",
        TokenError::Invalid(_) => "invalid-token",
    };
    unauthorized(kind, &err.to_string())
}

/// The [`Auth`] service of a request, put there by the router.
fn auth_of(parts: &Parts) -> Result<Auth, Problem> {
    parts.extensions.get::<Auth>().cloned().ok_or_else(|| {
        tracing::error!("the router has no Auth extension");
        Problem::internal()
    })
}

/// The client address of a request, where the server recorded it.
fn client_of(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// A signed-in caller (any role); 401 otherwise.
#[derive(Debug, Clone)]
pub struct User(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let auth = auth_of(parts)?;
        auth.caller_from(&parts.headers, client_of(parts))
            .await
            .map(User)
    }
}

/// A caller with the admin role; 401 if not signed in, 403 otherwise.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let auth = auth_of(parts)?;
        let caller = auth.caller_from(&parts.headers, client_of(parts)).await?;
        if caller.is_admin() {
            Ok(Admin(caller))
        } else {
            Err(forbidden())
        }
    }
}

/// 403 for a signed-in caller without the admin role.
pub(crate) fn forbidden() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
        .with_detail("this needs the admin role")
}

/// Middleware guarding a whole router with [`Admin`].
pub(crate) async fn require_admin(
    admin: Result<Admin, Problem>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match admin {
        Ok(_) => next.run(request).await,
        Err(problem) => problem.into_response(),
    }
}
