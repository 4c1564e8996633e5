//! Connection URLs in the config: which engine they select, and how they are shown
//! without their passwords.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The store's connection URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    engine: DatabaseEngine,
}

/// The SQL engine a [`DatabaseUrl`] points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseEngine {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why a database URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected `sqlite://<file>` or `postgres://<user>@<host>/<database>`, found `{}`",
    redact(.0)
)]
pub struct ParseDatabaseUrlError(String);

impl DatabaseUrl {
    /// The URL exactly as configured (it may hold a password: never log it).
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// Which engine the URL selects.
    pub fn engine(&self) -> DatabaseEngine {
        self.engine
    }

    /// The URL with any password replaced by `***`, safe for logs and error messages.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }
}

impl FromStr for DatabaseUrl {
    type Err = ParseDatabaseUrlError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let engine = if raw.starts_with("sqlite:") && raw.len() > "sqlite:".len() {
            DatabaseEngine::Sqlite
        } else if (raw.starts_with("postgres://") || raw.starts_with("postgresql://"))
            && url::Url::parse(raw).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
        {
            DatabaseEngine::Postgres
        } else {
            return Err(ParseDatabaseUrlError(raw.to_owned()));
        };
        Ok(Self {
            raw: raw.to_owned(),
            engine,
        })
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        Self {
            raw: "sqlite://data/hangar.db".to_owned(),
            engine: DatabaseEngine::Sqlite,
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Where jobs are dispatched from: the store itself, or a RabbitMQ broker.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum QueueUrl {
    /// Workers claim jobs from the store's job table (`database`, the default).
    #[default]
    Database,
    /// Workers receive jobs from RabbitMQ (`amqp://user:password@host:5672/vhost`).
    Amqp(String),
}

/// Why a queue URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `database` or `amqp://<user>:<password>@<host>:<port>/<vhost>`, found `{}`", redact(.0))]
pub struct ParseQueueUrlError(String);

impl QueueUrl {
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            QueueUrl::Database => "database".to_owned(),
            QueueUrl::Amqp(raw) => redact(raw),
        }
    }
}

impl FromStr for QueueUrl {
    type Err = ParseQueueUrlError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if raw == "database" {
            return Ok(QueueUrl::Database);
        }
        let amqp = raw.starts_with("amqp://")
            && url::Url::parse(raw).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
        if amqp {
            Ok(QueueUrl::Amqp(raw.to_owned()))
        } else {
            Err(ParseQueueUrlError(raw.to_owned()))
        }
    }
}

impl fmt::Debug for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for QueueUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            QueueUrl::Database => serializer.serialize_str("database"),
            QueueUrl::Amqp(raw) => serializer.serialize_str(raw),
        }
    }
}

impl<'de> Deserialize<'de> for QueueUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Replaces the password of a URL (`scheme://user:password@host`) with `***`.
/// Text that is not a URL with credentials comes back unchanged.
pub fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails for URLs that cannot have one, which
            // `password().is_some()` has excluded.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_engine_from_the_scheme() {
        let sqlite: DatabaseUrl = "sqlite://data/hangar.db".parse().unwrap();
        assert_eq!(sqlite.engine(), DatabaseEngine::Sqlite);
        let pg: DatabaseUrl = "postgresql://app:secret@db:5432/hangar".parse().unwrap();
        assert_eq!(pg.engine(), DatabaseEngine::Postgres);
        assert_eq!(pg.redacted(), "postgresql://app:***@db:5432/hangar");
        assert!(!format!("{pg:?}").contains("secret"));
    }

    #[test]
    fn queue_urls_select_the_dispatch() {
        assert_eq!("database".parse::<QueueUrl>().unwrap(), QueueUrl::Database);
        let amqp: QueueUrl = "amqp://guest:guest@127.0.0.1:5672/%2f".parse().unwrap();
        assert_eq!(amqp.redacted(), "amqp://guest:***@127.0.0.1:5672/%2f");
        for raw in ["", "redis://h", "amqp://", "amqps-ish"] {
            assert!(raw.parse::<QueueUrl>().is_err(), "{raw}");
        }
    }

    #[test]
    fn refuses_other_schemes_without_echoing_passwords() {
        for raw in [
            "mysql://u:pw@h/db",
            "sqlite:",
            "postgres://",
            "data/hangar.db",
        ] {
            let err = raw.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(err.contains("expected `sqlite://"), "{raw}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
