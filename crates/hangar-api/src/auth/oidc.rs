//! Sign-in through an OpenID Connect provider: the authorization code flow with
//! PKCE (S256), issuer discovery, and ID tokens verified against the provider's
//! published keys.
//!
//! `GET …/login` sends the browser to the provider with a fresh `state`, `nonce`
//! and PKCE challenge; those three travel in a short-lived cookie signed with the
//! server's token key, so any replica can finish the flow. `GET …/callback` checks
//! the state, exchanges the code (with the verifier and the client secret), checks
//! the ID token (signature, issuer, audience, expiry, nonce), finds or creates the
//! user — linked by the provider's subject, or by a verified e-mail address — and
//! answers with the same tokens as a password sign-in.

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hangar_core::config::{OidcConfig, Secret};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use utoipa::IntoParams;

use super::accounts::{self, CreateAccountError, Role};
use super::{Auth, TokenResponse};
use crate::problem::Problem;
use crate::problem::responses::{BadGateway, BadRequest, Conflict, NotFound, ServiceUnavailable};

/// Name of the cookie carrying a sign-in in progress.
const COOKIE: &str = "hangar_oidc";
/// How long a sign-in at the provider may take.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// A configured provider and what was discovered about it.
pub struct Provider {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: Secret,
    redirect_url: String,
    scopes: String,
    http: reqwest::Client,
    discovered: Mutex<Option<Discovered>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .finish()
    }
}

#[derive(Clone)]
struct Discovered {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks: JwkSet,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

impl Provider {
    /// The provider of `config`, or `None` when `issuer` is empty.
    pub fn from_config(config: &OidcConfig) -> Result<Option<Self>, String> {
        if config.issuer.is_empty() {
            return Ok(None);
        }
        for (field, value) in [
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.expose()),
            ("redirect_url", config.redirect_url.as_str()),
        ] {
            if value.is_empty() {
                return Err(format!("{field} is required when issuer is set"));
            }
        }
        for (field, value) in [
            ("issuer", &config.issuer),
            ("redirect_url", &config.redirect_url),
        ] {
            url::Url::parse(value).map_err(|e| format!("{field} `{value}` is not a URL: {e}"))?;
        }
        let name_ok = !config.name.is_empty()
            && config
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(format!(
                "name `{}` must be lowercase letters, digits and `-`",
                config.name
            ));
        }
        // reqwest is built without a default TLS provider; ring is the one linked.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("hangar/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Some(Self {
            name: config.name.clone(),
            issuer: config.issuer.trim_end_matches('/').to_owned(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_url: config.redirect_url.clone(),
            scopes: config.scopes.clone(),
            http,
            discovered: Mutex::new(None),
        }))
    }

    /// The provider's endpoints and keys, discovered at first use; `refresh`
    /// fetches the keys again (a key rotated at the provider).
    async fn discovered(&self, refresh: bool) -> Result<Discovered, Problem> {
        let mut cached = self.discovered.lock().await;
        if let Some(found) = cached.as_mut() {
            if refresh {
                found.jwks = self.get_json(&found.jwks_uri).await?;
            }
            return Ok(found.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let metadata: Metadata = self.get_json(&url).await?;
        if metadata.issuer.trim_end_matches('/') != self.issuer {
            return Err(provider_problem(format!(
                "the provider says its issuer is `{}`, not `{}` (auth.oidc.issuer)",
                metadata.issuer, self.issuer
            )));
        }
        let jwks = self.get_json(&metadata.jwks_uri).await?;
        let found = Discovered {
            authorization_endpoint: metadata.authorization_endpoint,
            token_endpoint: metadata.token_endpoint,
            jwks,
            jwks_uri: metadata.jwks_uri,
        };
        *cached = Some(found.clone());
        Ok(found)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Problem> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| provider_problem(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(provider_problem(format!(
                "GET {url}: {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| provider_problem(format!("GET {url}: {e}")))
    }
}

/// What the cookie carries between `login` and `callback`.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    aud: String,
    exp: i64,
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn provider_of<'a>(auth: &'a Auth, name: &str) -> Result<&'a Provider, Problem> {
    auth.oidc().filter(|p| p.name == name).ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found").with_detail(format!(
            "no OpenID Connect provider `{name}` is configured (auth.oidc)"
        ))
    })
}

/// Starts a sign-in at the provider.
#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/{provider}/login",
    tag = "auth",
    params(("provider" = String, Path, description = "The provider's name (auth.oidc.name)")),
    responses(
        (status = 302, description = "To the provider's sign-in page"),
        (status = 404, response = NotFound),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn oidc_login(
    Extension(auth): Extension<Auth>,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let provider = provider_of(&auth, &name)?;
    let tokens = auth.tokens()?;
    let discovered = provider.discovered(false).await?;
    let pending = Pending {
        aud: COOKIE.to_owned(),
        exp: hangar_core::clock::now_ms() / 1000 + PENDING_TTL.as_secs() as i64,
        provider: provider.name.clone(),
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let mut url = url::Url::parse(&discovered.authorization_endpoint)
        .map_err(|e| provider_problem(format!("authorization_endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.client_id)
        .append_pair("redirect_uri", &provider.redirect_url)
        .append_pair("scope", &provider.scopes)
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let cookie_value = tokens.sign_value(&pending).map_err(|e| {
        tracing::error!(error = %e, "could not sign the sign-in cookie");
        Problem::internal()
    })?;
    let secure = if provider.redirect_url.starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={cookie_value}; Path=/api/v1/auth/oidc; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        PENDING_TTL.as_secs()
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(url.as_str())).into_response())
}

/// What the provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent with the sign-in.
    pub state: Option<String>,
    /// Set when the provider refused.
    pub error: Option<String>,
    /// The provider's explanation of `error`.
    pub error_description: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
}

/// Finishes a sign-in at the provider.
#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/{provider}/callback",
    tag = "auth",
    params(("provider" = String, Path, description = "The provider's name"), CallbackParams),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn oidc_callback(
    Extension(auth): Extension<Auth>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, Problem> {
    let provider = provider_of(&auth, &name)?;
    let tokens = auth.tokens()?;
    let bad = |detail: &str| {
        Problem::new(StatusCode::BAD_REQUEST, "oidc-failed", "Sign-in failed").with_detail(detail)
    };
    if let Some(error) = &params.error {
        return Err(bad(&format!(
            "the provider refused: {error} {}",
            params.error_description.as_deref().unwrap_or_default()
        )));
    }
    let pending: Pending = cookie(&headers, COOKIE)
        .and_then(|value| tokens.verify_value(value, COOKIE))
        .filter(|p: &Pending| p.provider == provider.name)
        .ok_or_else(|| bad(&format!(
            "no sign-in in progress here (missing, expired or altered cookie); start at /api/v1/auth/oidc/{name}/login"
        )))?;
    if params.state.as_deref() != Some(pending.state.as_str()) {
        return Err(bad("the state does not match the sign-in started here"));
    }
    if let Some(iss) = &params.iss
        && iss.trim_end_matches('/') != provider.issuer
    {
        return Err(bad("the answer comes from another issuer"));
    }
    let code = params
        .code
        .as_deref()
        .ok_or_else(|| bad("the provider sent no code"))?;
    let discovered = provider.discovered(false).await?;
    let response = provider
        .http
        .post(&discovered.token_endpoint)
        .basic_auth(&provider.client_id, Some(provider.client_secret.expose()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", provider.redirect_url.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| provider_problem(format!("token endpoint: {e}")))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(provider_problem(format!(
            "token endpoint answered {status}: {}",
            body.chars().take(300).collect::<String>()
        )));
    }
    let answer: TokenAnswer = response
        .json()
        .await
        .map_err(|e| provider_problem(format!("token endpoint: {e}")))?;
    let claims = verify_id_token(provider, &answer.id_token).await?;
    if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
        return Err(provider_problem(
            "the ID token's nonce is not this sign-in's".to_owned(),
        ));
    }
    let account = find_or_create(&auth, provider, &claims).await?;
    tracing::info!(
        user = account.id,
        provider = provider.name,
        "signed in with OpenID Connect"
    );
    let tokens: TokenResponse = auth
        .sign_in(&account, &format!("oidc:{}", provider.name))
        .await?;
    let clear = format!("{COOKIE}=; Path=/api/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");
    Ok(([(header::SET_COOKIE, clear)], Json(tokens)).into_response())
}

async fn verify_id_token(provider: &Provider, token: &str) -> Result<IdClaims, Problem> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| provider_problem(format!("the ID token is malformed: {e}")))?;
    let mut discovered = provider.discovered(false).await?;
    let find = |d: &Discovered| match &header.kid {
        Some(kid) => d.jwks.find(kid).cloned(),
        None => d.jwks.keys.first().cloned(),
    };
    let jwk = match find(&discovered) {
        Some(jwk) => jwk,
        None => {
            discovered = provider.discovered(true).await?;
            find(&discovered).ok_or_else(|| {
                provider_problem(
                    "the ID token is signed with a key the provider does not publish".to_owned(),
                )
            })?
        }
    };
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| provider_problem(format!("the provider's key is unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[&provider.client_id]);
    validation.set_issuer(&[&provider.issuer, &format!("{}/", provider.issuer)]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| provider_problem(format!("the ID token is not valid: {e}")))
}

async fn find_or_create(
    auth: &Auth,
    provider: &Provider,
    claims: &IdClaims,
) -> Result<accounts::Account, Problem> {
    let store = auth.store();
    if let Some(account) = accounts::find_identity(store, &provider.name, &claims.sub).await? {
        return Ok(account);
    }
    let email = claims
        .email
        .as_deref()
        .ok_or_else(|| {
            provider_problem(
                "the ID token carries no e-mail address (ask for the `email` scope)".to_owned(),
            )
        })
        .and_then(|e| accounts::normalize_email(e).map_err(provider_problem))?;
    let verified = claims.email_verified == Some(true);
    let account = match accounts::create_account(
        store,
        &email,
        claims.name.as_deref(),
        None,
        &[Role::User],
    )
    .await
    {
        Ok(account) => {
            super::manage::audit(&account.id, "user.register", &account);
            account
        }
        Err(CreateAccountError::EmailTaken) if verified => accounts::find_by_email(store, &email)
            .await?
            .map(|(account, _)| account)
            .ok_or_else(Problem::internal)?,
        Err(CreateAccountError::EmailTaken) => {
            return Err(Problem::new(StatusCode::CONFLICT, "email-taken", "E-mail address taken")
                .with_detail(format!(
                    "an account with {email} exists and the provider did not verify the address; sign in with the password"
                )));
        }
        Err(CreateAccountError::Store(e)) => return Err(e.into()),
        // No invitation was given.
        Err(CreateAccountError::InvalidInvite) => return Err(Problem::internal()),
    };
    accounts::link_identity(store, &provider.name, &claims.sub, &account.id).await?;
    Ok(account)
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn provider_problem(detail: String) -> Problem {
    tracing::warn!(detail, "OpenID Connect provider problem");
    Problem::new(StatusCode::BAD_GATEWAY, "oidc-provider", "Provider error").with_detail(detail)
}
