//! The table of every configuration key: how an environment variable's text becomes
//! its value, whether it is secret, and what it means.

/// How the text of a `HANGAR_*` variable is read for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Taken as it is (URLs, addresses, durations, names).
    Text,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

/// Whether, and how much of, a value is hidden when it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redaction {
    /// Shown as it is.
    No,
    /// A URL whose password is replaced by `***`.
    UrlPassword,
    /// Never shown.
    Whole,
}

impl Redaction {
    /// The text to show for a value of this secrecy.
    pub fn redact(self, value: &str) -> String {
        match self {
            Redaction::No => value.to_owned(),
            Redaction::UrlPassword => value
                .split(',')
                .map(super::url::redact)
                .collect::<Vec<_>>()
                .join(","),
            Redaction::Whole if value.is_empty() => String::new(),
            Redaction::Whole => "***".to_owned(),
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Dotted path, e.g. `http.listen`.
    pub key: &'static str,
    /// How its environment variable is read.
    pub kind: ValueKind,
    /// How it is shown.
    pub redaction: Redaction,
    /// One line for `hangar config show` and the docs.
    pub doc: &'static str,
}

const fn key(key: &'static str, kind: ValueKind, doc: &'static str) -> KeySpec {
    KeySpec {
        key,
        kind,
        redaction: Redaction::No,
        doc,
    }
}

/// Every key Hangar reads, in the order `hangar config show` prints them.
pub const KEYS: &[KeySpec] = &[
    KeySpec {
        redaction: Redaction::UrlPassword,
        ..key(
            "database_url",
            ValueKind::Text,
            "the store: sqlite://<file> or postgres://<user>@<host>/<db>",
        )
    },
    KeySpec {
        redaction: Redaction::UrlPassword,
        ..key(
            "database_replica_urls",
            ValueKind::Text,
            "PostgreSQL read replicas of database_url, comma-separated; reads that tolerate lag go to a healthy one",
        )
    },
    KeySpec {
        redaction: Redaction::UrlPassword,
        ..key(
            "queue_url",
            ValueKind::Text,
            "where workers get jobs: database, or amqp://<user>:<password>@<host>/<vhost>",
        )
    },
    key(
        "http.listen",
        ValueKind::Text,
        "address:port of the HTTP listener",
    ),
    key(
        "http.request_timeout",
        ValueKind::Text,
        "longest a request may run before it is answered 408",
    ),
    key(
        "http.shutdown_timeout",
        ValueKind::Text,
        "on SIGTERM, how long in-flight requests may take to finish",
    ),
    key(
        "http.body_limit",
        ValueKind::Integer,
        "largest request body in bytes (413 above)",
    ),
    key(
        "http.cors_origins",
        ValueKind::Text,
        "origins allowed cross-origin, comma-separated, or *",
    ),
    key(
        "http.web_dir",
        ValueKind::Text,
        "directory of a built web UI to serve at / instead of the one built into the binary; empty: the built-in one",
    ),
    KeySpec {
        redaction: Redaction::Whole,
        ..key(
            "api.admin_token",
            ValueKind::Text,
            "bearer token for the admin endpoints; empty disables them",
        )
    },
    KeySpec {
        redaction: Redaction::Whole,
        ..key(
            "auth.jwt_secret",
            ValueKind::Text,
            "HS256 key of access tokens, 32+ characters",
        )
    },
    key("auth.issuer", ValueKind::Text, "iss of access tokens"),
    key("auth.audience", ValueKind::Text, "aud of access tokens"),
    key(
        "auth.access_ttl",
        ValueKind::Text,
        "lifetime of an access token",
    ),
    key(
        "auth.refresh_ttl",
        ValueKind::Text,
        "lifetime of a sign-in session",
    ),
    key(
        "auth.ip_attempts",
        ValueKind::Integer,
        "sign-ins and registrations per address per minute",
    ),
    key(
        "auth.account_attempts",
        ValueKind::Integer,
        "failed sign-ins per account and address before tries are spaced out",
    ),
    key(
        "auth.account_ceiling",
        ValueKind::Integer,
        "failed sign-ins per account per minute from all addresses",
    ),
    key(
        "auth.registration",
        ValueKind::Text,
        "who may register: open, closed or invite",
    ),
    key(
        "auth.invite_ttl",
        ValueKind::Text,
        "how long an invitation code works",
    ),
    key(
        "auth.oidc.name",
        ValueKind::Text,
        "OpenID Connect provider name in URLs",
    ),
    key(
        "auth.oidc.issuer",
        ValueKind::Text,
        "OpenID Connect issuer URL; empty: off",
    ),
    key(
        "auth.oidc.client_id",
        ValueKind::Text,
        "client id at the provider",
    ),
    KeySpec {
        redaction: Redaction::Whole,
        ..key(
            "auth.oidc.client_secret",
            ValueKind::Text,
            "client secret at the provider",
        )
    },
    key(
        "auth.oidc.redirect_url",
        ValueKind::Text,
        "this server's callback URL",
    ),
    key("auth.oidc.scopes", ValueKind::Text, "scopes asked for"),
    key(
        "events.retention",
        ValueKind::Text,
        "how long events are kept for resuming",
    ),
    key(
        "events.client_buffer",
        ValueKind::Integer,
        "events a client may lag before it is cut off",
    ),
    key(
        "events.heartbeat",
        ValueKind::Text,
        "heartbeat interval of the feed",
    ),
    key(
        "store.connect_timeout",
        ValueKind::Text,
        "at start, how long to retry an unreachable database",
    ),
    key(
        "store.max_connections",
        ValueKind::Integer,
        "connections in the store's pool",
    ),
    key(
        "store.busy_timeout",
        ValueKind::Text,
        "SQLite: how long a writer waits for the lock",
    ),
    key(
        "store.replica_max_lag",
        ValueKind::Text,
        "read replicas further behind the primary are skipped",
    ),
    key(
        "store.replica_check_interval",
        ValueKind::Text,
        "how often read replicas' health and lag are checked",
    ),
    key(
        "queue.queues",
        ValueKind::Text,
        "queues to work, e.g. default,mail=2",
    ),
    key(
        "queue.concurrency",
        ValueKind::Integer,
        "jobs at once per queue",
    ),
    key(
        "queue.lease",
        ValueKind::Text,
        "ownership of a running job without heartbeat",
    ),
    key(
        "queue.reap_interval",
        ValueKind::Text,
        "how often expired leases are re-queued",
    ),
    key(
        "queue.poll_interval",
        ValueKind::Text,
        "how often an idle worker looks for jobs",
    ),
    key(
        "queue.prefetch",
        ValueKind::Integer,
        "RabbitMQ: unacked messages per consumer",
    ),
    key(
        "queue.shutdown_timeout",
        ValueKind::Text,
        "how long running jobs may finish on shutdown",
    ),
    key(
        "queue.retry_base",
        ValueKind::Text,
        "delay before the first retry",
    ),
    key(
        "queue.retry_max",
        ValueKind::Text,
        "longest delay between retries",
    ),
    key(
        "queue.connect_timeout",
        ValueKind::Text,
        "at start, how long to retry the broker",
    ),
    key(
        "queue.retention",
        ValueKind::Text,
        "how long finished jobs are kept",
    ),
    key(
        "queue.broker_prefix",
        ValueKind::Text,
        "RabbitMQ: prefix of broker queue names",
    ),
    key(
        "pipeline.dir",
        ValueKind::Text,
        "directory of pipeline definitions (*.toml)",
    ),
    key(
        "pipeline.queue",
        ValueKind::Text,
        "queue the pipeline tasks' jobs go to",
    ),
    key(
        "pipeline.max_output_bytes",
        ValueKind::Integer,
        "largest output a task passes downstream",
    ),
    key(
        "pipeline.max_input_bytes",
        ValueKind::Integer,
        "largest file or HTTP body an extract reads",
    ),
    key(
        "pipeline.file_roots",
        ValueKind::Text,
        "directories an extract may read files under (comma-separated)",
    ),
    key(
        "pipeline.http_allow",
        ValueKind::Text,
        "URL prefixes an extract may fetch (comma-separated; empty: none)",
    ),
    key(
        "site.file",
        ValueKind::Text,
        "TOML file describing the site's owner and projects",
    ),
    key(
        "terminal.enabled",
        ValueKind::Boolean,
        "serve the live terminal",
    ),
    key(
        "terminal.max_sessions",
        ValueKind::Integer,
        "terminal sessions open at once, in all",
    ),
    key(
        "terminal.max_sessions_per_ip",
        ValueKind::Integer,
        "terminal sessions open at once from one address",
    ),
    key(
        "terminal.allowed_origins",
        ValueKind::Text,
        "origins that may open the terminal; empty: the server's own",
    ),
    key(
        "terminal.commands_per_minute",
        ValueKind::Integer,
        "commands a session may send per minute",
    ),
    key(
        "terminal.command_burst",
        ValueKind::Integer,
        "commands that may come at once before the rate applies",
    ),
    key(
        "terminal.max_line",
        ValueKind::Integer,
        "longest terminal line, in bytes",
    ),
    key(
        "terminal.max_command_output",
        ValueKind::Integer,
        "most bytes one terminal command prints",
    ),
    key(
        "terminal.max_session_output",
        ValueKind::Integer,
        "most bytes one terminal session receives",
    ),
    key(
        "terminal.command_timeout",
        ValueKind::Text,
        "longest a terminal command may run",
    ),
    key(
        "terminal.idle_timeout",
        ValueKind::Text,
        "a silent terminal session is closed after this",
    ),
    key(
        "terminal.max_session",
        ValueKind::Text,
        "longest a terminal session may last",
    ),
    key(
        "terminal.max_message",
        ValueKind::Integer,
        "largest WebSocket message a terminal client may send",
    ),
    key(
        "terminal.write_buffer",
        ValueKind::Integer,
        "bytes that may wait unsent to a terminal client",
    ),
    key(
        "terminal.send_timeout",
        ValueKind::Text,
        "longest a terminal client may take to accept one message",
    ),
    key(
        "terminal.max_protocol_errors",
        ValueKind::Integer,
        "malformed messages a terminal session may send before it is closed",
    ),
    key(
        "terminal.max_rows",
        ValueKind::Integer,
        "most rows a terminal query returns",
    ),
    key(
        "terminal.history",
        ValueKind::Integer,
        "lines kept in a terminal session's history",
    ),
    key(
        "log.level",
        ValueKind::Text,
        "level or directives, e.g. info,hangar_store=debug",
    ),
    key("log.format", ValueKind::Text, "auto, json or pretty"),
];

/// The environment variable that sets `key`: `http.listen` → `HANGAR_HTTP_LISTEN`.
pub fn env_var_name(key: &str) -> String {
    format!("HANGAR_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The key an environment variable sets, if it names one.
pub(crate) fn spec_for_env(var: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|spec| env_var_name(spec.key) == var)
}
