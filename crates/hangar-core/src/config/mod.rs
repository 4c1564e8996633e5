//! Typed configuration, layered defaults → `hangar.toml` → `HANGAR_*` variables.
//!
//! Every value remembers where it came from ([`Source`]), so `hangar config show`
//! can say so and errors can point at the file line or the variable at fault.

mod duration;
mod error;
mod keys;
mod layers;
mod list;
mod secret;
mod url;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use duration::{HumanDuration, ParseDurationError};
pub use error::ConfigError;
pub use keys::{KEYS, KeySpec, Redaction, ValueKind, env_var_name};
pub use layers::{DEFAULT_FILE, LoadOptions, Source, line_col};
pub use list::{
    DEFAULT_QUEUE, List, ListItem, Origin, QueueList, QueueSpec, UrlPrefix, is_queue_name,
};
pub use secret::Secret;
pub use url::{
    DatabaseEngine, DatabaseUrl, ParseDatabaseUrlError, ParseQueueUrlError, QueueUrl, redact,
};

/// The whole configuration of a Hangar process. Every field has a default, so an
/// empty file (or none) is a valid configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store lives: `sqlite://<file>` or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// PostgreSQL read replicas streaming from `database_url`: reads that tolerate
    /// lag go to a healthy one.
    pub database_replica_urls: List<DatabaseUrl>,
    /// Where workers get jobs: `database` (the store's job table) or `amqp://…`.
    pub queue_url: QueueUrl,
    /// The HTTP listener of the api role.
    pub http: HttpConfig,
    /// The HTTP API's own settings.
    pub api: ApiConfig,
    /// Accounts, tokens and sign-in.
    pub auth: AuthConfig,
    /// The realtime event feed.
    pub events: EventsConfig,
    /// Connection behaviour of the store.
    pub store: StoreConfig,
    /// The job queue and its workers.
    pub queue: QueueConfig,
    /// Pipelines.
    pub pipeline: PipelineConfig,
    /// What the site says about its owner.
    pub site: SiteConfig,
    /// The live terminal and its limits.
    pub terminal: TerminalConfig,
    /// Log level and format.
    pub log: LogConfig,
}

/// `[http]`: the api role's listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// A request that takes longer is answered 408 and its handler dropped.
    pub request_timeout: HumanDuration,
    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_timeout: HumanDuration,
    /// Largest request body, in bytes; larger ones are answered 413.
    pub body_limit: u64,
    /// Origins allowed to call the API from a browser (CORS), or `*` for any;
    /// empty: no cross-origin access.
    pub cors_origins: List<Origin>,
    /// Directory of a built web UI (`web/dist`) to serve at `/` instead of the
    /// one built into the binary, read from disk at each request (for work on
    /// the UI). Empty: the UI built into the binary.
    pub web_dir: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout: HumanDuration::secs(30),
            shutdown_timeout: HumanDuration::secs(30),
            body_limit: 1024 * 1024,
            cors_origins: List::default(),
            web_dir: String::new(),
        }
    }
}

/// `[api]`: settings of the HTTP API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Bearer token required by the admin endpoints (`/api/v1/jobs`…). Empty: the
    /// admin endpoints answer 403.
    pub admin_token: Secret,
}

/// `[auth]`: accounts, access and refresh tokens, sign-in limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Key that signs access tokens (HS256), at least 32 characters. Every api
    /// replica needs the same one. Empty: `hangar up` generates one and keeps it in
    /// `<data dir>/jwt-secret`; `hangar serve` answers sign-ins with 503.
    pub jwt_secret: Secret,
    /// `iss` of the access tokens.
    pub issuer: String,
    /// `aud` of the access tokens.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_ttl: HumanDuration,
    /// Lifetime of a sign-in session (its refresh tokens).
    pub refresh_ttl: HumanDuration,
    /// Sign-in and registration attempts per client address per minute, and as
    /// many failed bearer authentications (tokens that are not ours).
    pub ip_attempts: u32,
    /// Failed sign-ins to one account from one address before each further try
    /// from that address waits (1 s, doubling up to 15 minutes).
    pub account_attempts: u32,
    /// Failed sign-ins to one account per minute from all addresses together;
    /// above it the account's sign-ins answer 429 until the minute ends.
    pub account_ceiling: u32,
    /// Who may create an account with `POST /api/v1/auth/register`.
    pub registration: Registration,
    /// How long an invitation code works.
    pub invite_ttl: HumanDuration,
    /// An OpenID Connect provider to sign in with.
    pub oidc: OidcConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: Secret::default(),
            issuer: "hangar".to_owned(),
            audience: "hangar-api".to_owned(),
            access_ttl: HumanDuration::secs(15 * 60),
            refresh_ttl: HumanDuration::secs(30 * 86_400),
            ip_attempts: 20,
            account_attempts: 5,
            account_ceiling: 100,
            registration: Registration::Open,
            invite_ttl: HumanDuration::secs(7 * 86_400),
            oidc: OidcConfig::default(),
        }
    }
}

/// Who may register an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone.
    #[default]
    Open,
    /// No one: accounts are created by operators (`hangar user create`).
    Closed,
    /// Whoever has an invitation code from an admin (`hangar user invite`,
    /// `POST /api/v1/invites`); each code works once, until it expires.
    Invite,
}

/// `[auth.oidc]`: sign-in with an OpenID Connect provider (authorization code with
/// PKCE). Off while `issuer` is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// Name in the sign-in URL: `/api/v1/auth/oidc/<name>/login`.
    pub name: String,
    /// Issuer URL; its `/.well-known/openid-configuration` is read at first use.
    pub issuer: String,
    /// Client id registered at the provider.
    pub client_id: String,
    /// Client secret registered at the provider.
    pub client_secret: Secret,
    /// This server's callback as registered at the provider:
    /// `https://<host>/api/v1/auth/oidc/<name>/callback`.
    pub redirect_url: String,
    /// Scopes asked for, space-separated.
    pub scopes: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            name: "oidc".to_owned(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            redirect_url: String::new(),
            scopes: "openid email profile".to_owned(),
        }
    }
}

/// `[site]`: who the site belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// A TOML file describing the owner and their projects, served at
    /// `/api/v1/site` and read at start. Empty: the site has no owner page.
    pub file: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            file: "site.toml".to_owned(),
        }
    }
}

/// `[terminal]`: the live terminal at `/api/v1/terminal/ws` and its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalConfig {
    /// Whether the terminal is served.
    pub enabled: bool,
    /// Sessions open at once, in all (per api process).
    pub max_sessions: u32,
    /// Sessions open at once from one client address.
    pub max_sessions_per_ip: u32,
    /// Origins a browser may open the terminal from, or `*` for any; empty: the
    /// server's own origin (the `Host` the request was sent to).
    pub allowed_origins: List<Origin>,
    /// Commands (and completions) a session may send per minute, on average.
    pub commands_per_minute: u32,
    /// Commands that may come at once before the rate applies.
    pub command_burst: u32,
    /// Longest line, in bytes.
    pub max_line: u32,
    /// Most bytes one command prints; the rest is cut with a notice.
    pub max_command_output: u32,
    /// Most bytes one session receives; then it is closed.
    pub max_session_output: u64,
    /// Longest a command may run.
    pub command_timeout: HumanDuration,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: HumanDuration,
    /// Longest a session may last.
    pub max_session: HumanDuration,
    /// Largest WebSocket message (and frame) a client may send, in bytes.
    pub max_message: u32,
    /// Bytes that may wait unsent to a client before its session is closed.
    pub write_buffer: u32,
    /// Longest the server waits for a client to take one message; a client that
    /// takes longer is not reading and its session is closed.
    pub send_timeout: HumanDuration,
    /// Malformed messages (bad JSON, unknown types, binary) a session may send
    /// before it is closed.
    pub max_protocol_errors: u32,
    /// Most rows any query returns.
    pub max_rows: u32,
    /// Lines kept in a session's history.
    pub history: u32,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_sessions: 256,
            max_sessions_per_ip: 8,
            allowed_origins: List::default(),
            commands_per_minute: 120,
            command_burst: 20,
            max_line: 1024,
            max_command_output: 256 * 1024,
            max_session_output: 16 * 1024 * 1024,
            command_timeout: HumanDuration::secs(5),
            idle_timeout: HumanDuration::secs(15 * 60),
            max_session: HumanDuration::secs(2 * 3600),
            max_message: 4096,
            write_buffer: 256 * 1024,
            send_timeout: HumanDuration::secs(10),
            max_protocol_errors: 20,
            max_rows: 100,
            history: 200,
        }
    }
}

/// `[events]`: the realtime event feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// How long events are kept for clients to resume from.
    pub retention: HumanDuration,
    /// Events a client may have waiting to be sent; a client further behind is
    /// disconnected (it resumes with `Last-Event-ID`).
    pub client_buffer: u32,
    /// Interval of the heartbeat sent to idle clients.
    pub heartbeat: HumanDuration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retention: HumanDuration::secs(3600),
            client_buffer: 1024,
            heartbeat: HumanDuration::secs(15),
        }
    }
}

/// `[queue]`: the job queue and its workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Queues a worker takes jobs from, with optional concurrency: `default,mail=2`.
    pub queues: QueueList,
    /// Jobs run at once per queue when `queues` gives no number.
    pub concurrency: u32,
    /// How long a claimed job stays owned without a heartbeat; heartbeats come
    /// every quarter of it. A job whose worker died is re-queued after this.
    pub lease: HumanDuration,
    /// How often expired leases are looked for (and, with RabbitMQ, due jobs
    /// announced).
    pub reap_interval: HumanDuration,
    /// How often an idle worker looks for jobs when it has not been woken.
    pub poll_interval: HumanDuration,
    /// RabbitMQ: unacknowledged messages a consumer may hold per queue.
    pub prefetch: u32,
    /// On shutdown, how long running jobs may take before they are released.
    pub shutdown_timeout: HumanDuration,
    /// Delay before the first retry; doubles each attempt (with jitter).
    pub retry_base: HumanDuration,
    /// Longest delay between retries.
    pub retry_max: HumanDuration,
    /// At start, how long to retry an unreachable broker.
    pub connect_timeout: HumanDuration,
    /// Succeeded and cancelled jobs are deleted this long after they finish.
    pub retention: HumanDuration,
    /// RabbitMQ: prefix of the broker's queue names (`<prefix>.jobs.<queue>`), to
    /// keep several deployments apart on one broker.
    pub broker_prefix: String,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            queues: QueueList::default(),
            concurrency: 8,
            lease: HumanDuration::secs(20),
            reap_interval: HumanDuration::secs(5),
            poll_interval: HumanDuration::secs(1),
            prefetch: 32,
            shutdown_timeout: HumanDuration::secs(30),
            retry_base: HumanDuration::secs(1),
            retry_max: HumanDuration::secs(600),
            connect_timeout: HumanDuration::secs(30),
            retention: HumanDuration::secs(24 * 3600),
            broker_prefix: "hangar".to_owned(),
        }
    }
}

/// `[pipeline]`: where pipelines are defined and how their tasks run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Directory of pipeline definitions (`*.toml`); a missing one has none.
    pub dir: String,
    /// Queue the tasks' jobs go to.
    pub queue: String,
    /// Largest output a task may pass downstream, in bytes of JSON.
    pub max_output_bytes: u64,
    /// Largest file or HTTP body an `extract` task may read, in bytes.
    pub max_input_bytes: u64,
    /// Directories an `extract` task may read files under, symlinks resolved;
    /// relative ones are taken from the working directory.
    pub file_roots: List<PathBuf>,
    /// URL prefixes an `extract` task may fetch; empty: none.
    pub http_allow: List<UrlPrefix>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            dir: "pipelines".to_owned(),
            queue: DEFAULT_QUEUE.to_owned(),
            max_output_bytes: 32 * 1024 * 1024,
            max_input_bytes: 256 * 1024 * 1024,
            file_roots: List::from(vec![PathBuf::from("data/datasets")]),
            http_allow: List::default(),
        }
    }
}

/// `[store]`: how the store connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// At start, how long to keep retrying an unreachable database before giving up.
    pub connect_timeout: HumanDuration,
    /// Size of the connection pool.
    pub max_connections: u32,
    /// SQLite: how long a writer waits for the file lock before failing.
    pub busy_timeout: HumanDuration,
    /// Read replicas further behind the primary than this are skipped.
    pub replica_max_lag: HumanDuration,
    /// How often the read replicas' health and lag are checked.
    pub replica_check_interval: HumanDuration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            connect_timeout: HumanDuration::secs(30),
            max_connections: 10,
            busy_timeout: HumanDuration::secs(5),
            replica_max_lag: HumanDuration::secs(2),
            replica_check_interval: HumanDuration::secs(1),
        }
    }
}

/// `[log]`: what is logged and how it looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A level (`info`) or per-target directives (`info,hangar_store=debug`).
    pub level: LogFilter,
    /// `json` lines, `pretty` human text, or `auto`: pretty on a terminal, JSON otherwise.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: LogFilter("info".to_owned()),
            format: LogFormat::Auto,
        }
    }
}

/// A `tracing` filter: a level or comma-separated `target=level` directives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LogFilter(String);

impl LogFilter {
    /// The directives as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for LogFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        tracing_subscriber::EnvFilter::builder()
            .parse(text)
            .map(|_| Self(text.to_owned()))
            .map_err(|e| {
                format!(
                    "expected a level (error, warn, info, debug, trace) or directives \
                     such as `info,hangar_store=debug`, found `{text}`: {e}"
                )
            })
    }
}

impl<'de> Deserialize<'de> for LogFilter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON lines otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Pretty,
}

/// A loaded configuration and the origin of each of its values.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The effective configuration.
    pub config: Config,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// For each dotted key (`http.listen`), where its value came from.
    pub sources: BTreeMap<String, Source>,
}

/// One line of `hangar config show`.
#[derive(Debug, Clone, Serialize)]
pub struct ShownValue {
    /// Dotted key, e.g. `http.listen`.
    pub key: &'static str,
    /// The value as TOML would write it, with secrets redacted.
    pub value: String,
    /// Where the value came from.
    pub source: String,
    /// The environment variable that would set it.
    pub env: String,
}

impl Config {
    /// Loads the configuration from the layers described by `options`.
    pub fn load(options: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
        layers::load(options)
    }
}

impl LoadedConfig {
    /// Every known key with its effective value (secrets redacted) and its source.
    pub fn shown(&self) -> Vec<ShownValue> {
        let values = layers::flatten_config(&self.config);
        KEYS.iter()
            .map(|spec| {
                let value = values
                    .get(spec.key)
                    .map(|v| spec.redaction.redact(&render(v)))
                    .unwrap_or_else(|| "(unset)".to_owned());
                let source = self
                    .sources
                    .get(spec.key)
                    .map_or_else(|| "default".to_owned(), ToString::to_string);
                ShownValue {
                    key: spec.key,
                    value,
                    source,
                    env: env_var_name(spec.key),
                }
            })
            .collect()
    }
}

fn render(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
