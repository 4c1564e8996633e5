//! List settings, parsed when the configuration loads: a list is written in the
//! file as a TOML array of strings (`["a", "b"]`) or as one comma-separated
//! string (`"a,b"`), and in an environment variable comma-separated. Empty items
//! (`"a,,b"`, a trailing comma) are ignored. Each item is parsed into its type, so
//! a bad one stops the process at start, naming the file line or the variable.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};

/// One item of a list setting.
pub trait ListItem: Sized {
    /// Parses one item (already trimmed, never empty); the error says what is
    /// expected.
    fn parse_item(text: &str) -> Result<Self, String>;
    /// The item as it would be written back in the setting.
    fn write_item(&self) -> String;
}

/// A list of `T`, from a TOML array or a comma-separated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(Vec<T>);

impl<T> List<T> {
    /// The items, in the order written.
    pub fn items(&self) -> &[T] {
        &self.0
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An iterator over the items.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> Self {
        Self(items)
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: ListItem> List<T> {
    fn from_texts<'t>(texts: impl IntoIterator<Item = &'t str>) -> Result<Self, String> {
        texts
            .into_iter()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(T::parse_item)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl<T: ListItem> FromStr for List<T> {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_texts(text.split(','))
    }
}

impl<T: ListItem> fmt::Display for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let written: Vec<String> = self.0.iter().map(ListItem::write_item).collect();
        f.write_str(&written.join(","))
    }
}

impl<T: ListItem> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, T: ListItem> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let texts = deserializer.deserialize_any(Texts)?;
        Self::from_texts(texts.iter().map(String::as_str)).map_err(de::Error::custom)
    }
}

/// Reads a list's raw items: the strings of an array, or one string split at commas.
struct Texts;

impl<'de> Visitor<'de> for Texts {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings or a comma-separated string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(text.split(',').map(str::to_owned).collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<String>()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// An origin a browser may send (`Origin:` header): `scheme://host[:port]`, or
/// `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Any origin.
    Any,
    /// One origin, in the form browsers send it: lower-case scheme and host, the
    /// scheme's default port left out, no trailing `/`.
    Exact(String),
}

impl Origin {
    /// Whether the `Origin` header value `origin` is this one.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Origin::Any => true,
            Origin::Exact(exact) => {
                canonical_origin(origin.trim_end_matches('/')).is_some_and(|o| o == *exact)
            }
        }
    }

    /// The origin as browsers write it (`*` for any).
    pub fn as_str(&self) -> &str {
        match self {
            Origin::Any => "*",
            Origin::Exact(exact) => exact,
        }
    }
}

/// `scheme://host[:port]` in the form browsers send it, if `text` is an http(s)
/// origin with nothing after the authority.
fn canonical_origin(text: &str) -> Option<String> {
    let url = Url::parse(text).ok()?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    bare.then(|| url.origin().ascii_serialization())
}

impl ListItem for Origin {
    fn parse_item(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(Origin::Any);
        }
        canonical_origin(text.trim_end_matches('/'))
            .map(Origin::Exact)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not an origin: write `scheme://host[:port]` with scheme \
                     http or https and no path, such as `https://app.example` or \
                     `http://localhost:5173`, or `*` for any"
                )
            })
    }

    fn write_item(&self) -> String {
        self.as_str().to_owned()
    }
}

impl List<Origin> {
    /// Whether `*` is listed.
    pub fn any(&self) -> bool {
        self.0.contains(&Origin::Any)
    }

    /// Whether the `Origin` header value `origin` is listed (or `*` is).
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o.allows(origin))
    }
}

/// A read replica's URL: PostgreSQL only.
impl ListItem for super::DatabaseUrl {
    fn parse_item(text: &str) -> Result<Self, String> {
        let url: super::DatabaseUrl = text
            .parse()
            .map_err(|e: super::ParseDatabaseUrlError| e.to_string())?;
        if url.engine() != super::DatabaseEngine::Postgres {
            return Err(format!(
                "`{}` is not a PostgreSQL URL: read replicas are PostgreSQL servers, \
                 postgres://<user>@<host>:<port>/<database>",
                url.redacted()
            ));
        }
        Ok(url)
    }

    fn write_item(&self) -> String {
        self.expose().to_owned()
    }
}

impl ListItem for PathBuf {
    fn parse_item(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }

    fn write_item(&self) -> String {
        self.display().to_string()
    }
}

/// A URL prefix: a scheme (`http` or `https`), an authority (`host`, `host:port`,
/// `host:` for any port, or empty for any host) and the start of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix {
    text: String,
    scheme: String,
    host: Option<String>,
    /// `None`: any port. `Some(None)`: the scheme's default port.
    port: Option<Option<u16>>,
    path: String,
}

impl UrlPrefix {
    /// The prefix as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host it names, if it names one (`https://` names none).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Whether `url` (without user info) starts with this prefix.
    pub fn matches(&self, url: &Url) -> bool {
        if url.scheme() != self.scheme {
            return false;
        }
        if let Some(host) = &self.host {
            if url.host_str() != Some(host.as_str()) {
                return false;
            }
            let port_fits = match self.port {
                None => true,
                Some(None) => url.port().is_none(),
                Some(Some(port)) => url.port_or_known_default() == Some(port),
            };
            if !port_fits {
                return false;
            }
        }
        let rest = &url[url::Position::BeforePath..];
        rest.starts_with(&self.path)
    }
}

impl ListItem for UrlPrefix {
    fn parse_item(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` {why}; write a URL prefix such as `https://example.org/data/` \
                 or `http://127.0.0.1:8080/`"
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("has no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad("is not an http:// or https:// prefix"));
        }
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(bad("contains a user name"));
        }
        let (host, port) = if authority.is_empty() {
            if !path.is_empty() {
                return Err(bad("has a path but no host"));
            }
            (None, None)
        } else {
            let (host, port) = if authority.ends_with(']') {
                (authority, Some(None))
            } else {
                match authority.rsplit_once(':') {
                    Some((host, "")) => (host, None),
                    Some((host, port)) => {
                        let port = port
                            .parse::<u16>()
                            .map_err(|_| bad(&format!("has a bad port `{port}`")))?;
                        (host, Some(Some(port)))
                    }
                    None => (authority, Some(None)),
                }
            };
            let parsed = Host::parse(host).map_err(|e| bad(&format!("has a bad host: {e}")))?;
            (Some(parsed.to_string()), port)
        };
        Ok(Self {
            text: text.to_owned(),
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }

    fn write_item(&self) -> String {
        self.text.clone()
    }
}

/// One entry of `queue.queues`: a queue name and, after `=`, how many of its jobs
/// run at once (else `queue.concurrency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// The queue's name (1-64 of `a-z`, `0-9`, `_`, `-`).
    pub name: String,
    /// Its concurrency, when given.
    pub concurrency: Option<NonZeroU32>,
}

/// Whether `name` is a queue name: 1-64 of `a-z`, `0-9`, `_` and `-`, starting
/// with a letter or digit. It is also the RabbitMQ queue's suffix, so it is kept
/// to safe characters. The queue crate's `QueueName` uses this rule too.
pub fn is_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl ListItem for QueueSpec {
    fn parse_item(text: &str) -> Result<Self, String> {
        let (name, concurrency) = match text.split_once('=') {
            Some((name, n)) => {
                let n = n.trim().parse::<NonZeroU32>().map_err(|_| {
                    format!("`{text}`: the concurrency after `=` must be a whole number above 0")
                })?;
                (name.trim(), Some(n))
            }
            None => (text, None),
        };
        if !is_queue_name(name) {
            return Err(format!(
                "`{name}` is not a queue name: use 1-64 of a-z, 0-9, `_` and `-`"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            concurrency,
        })
    }

    fn write_item(&self) -> String {
        match self.concurrency {
            Some(n) => format!("{}={n}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The queue jobs go to unless they say otherwise, and the one a worker takes
/// jobs from unless `queue.queues` says otherwise.
pub const DEFAULT_QUEUE: &str = "default";

/// `queue.queues`: at least one queue, each named once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueList(List<QueueSpec>);

impl Default for QueueList {
    fn default() -> Self {
        Self(List(vec![QueueSpec {
            name: DEFAULT_QUEUE.to_owned(),
            concurrency: None,
        }]))
    }
}

impl QueueList {
    /// The queues, in the order written.
    pub fn items(&self) -> &[QueueSpec] {
        self.0.items()
    }

    fn checked(list: List<QueueSpec>) -> Result<Self, String> {
        if list.is_empty() {
            return Err("name at least one queue, e.g. `default`".to_owned());
        }
        for (i, spec) in list.iter().enumerate() {
            if list.items()[..i].iter().any(|s| s.name == spec.name) {
                return Err(format!("`{}` is listed twice", spec.name));
            }
        }
        Ok(Self(list))
    }
}

impl FromStr for QueueList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::checked(text.parse()?)
    }
}

impl fmt::Display for QueueList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for QueueList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for QueueList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::checked(List::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        let list: List<Origin> = "https://App.Example:443/, http://localhost:5173,*"
            .parse()
            .unwrap();
        assert_eq!(
            list.to_string(),
            "https://app.example,http://localhost:5173,*"
        );
        let exact: List<Origin> = "https://app.example".parse().unwrap();
        assert!(exact.allows("https://app.example"));
        assert!(exact.allows("https://app.example/"));
        assert!(!exact.allows("https://app.example.evil"));
        assert!(!exact.allows("http://app.example"));
        assert!(!exact.any());
        for bad in [
            "app.example",
            "ftp://app.example",
            "https://app.example/path",
            "https://u:p@app.example",
            "https://app.example?x=1",
            "https://",
        ] {
            let err = bad.parse::<List<Origin>>().unwrap_err();
            assert!(err.contains("is not an origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn queue_lists_are_checked_whole() {
        let list: QueueList = " default, mail=2 ,".parse().unwrap();
        assert_eq!(list.to_string(), "default,mail=2");
        assert_eq!(list.items()[1].concurrency, NonZeroU32::new(2));
        for (bad, expected) in [
            ("", "at least one queue"),
            ("a,a=2", "listed twice"),
            ("mail=0", "above 0"),
            ("Mail", "not a queue name"),
        ] {
            let err = bad.parse::<QueueList>().unwrap_err();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn url_prefixes_say_what_is_wrong() {
        for bad in [
            "example.org",
            "ftp://x/",
            "https:///x",
            "http://u@h/",
            "http://h:x/",
        ] {
            let err = UrlPrefix::parse_item(bad).unwrap_err();
            assert!(err.contains("write a URL prefix"), "{bad}: {err}");
        }
        let any_host = UrlPrefix::parse_item("https://").unwrap();
        assert_eq!(any_host.host(), None);
        assert!(any_host.matches(&Url::parse("https://example.org/x").unwrap()));
    }
}
