//! Which files and URLs an `extract` task may read. A source usually comes from a
//! run's parameters, which API callers choose, so it is checked before anything
//! is read: a file must lie under one of `pipeline.file_roots` once symlinks and
//! `..` are resolved, and a URL must start with one of `pipeline.http_allow`.
//! A server on a loopback, private, link-local or otherwise non-public address is
//! fetched only when an allowed prefix names its host; the address checked is
//! the one connected to (after DNS, and again after each redirect).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use hangar_core::config::{List, UrlPrefix};
use url::{Host, Url};

/// Most redirects an extract follows.
const MAX_REDIRECTS: usize = 10;

/// A connection the policy refused: an address a host name resolved to, or a
/// redirect. Carried inside the HTTP client's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Refused {
    /// The refusal somewhere in `error`'s chain of causes, if there is one.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(refused) = e.downcast_ref::<Refused>() {
                return Some(refused);
            }
            cause = e.source();
        }
        None
    }
}

/// The configured roots and prefixes; cheap to share.
#[derive(Debug, Clone, Default)]
pub struct SourcePolicy {
    file_roots: Vec<PathBuf>,
    http_allow: Vec<UrlPrefix>,
}

/// Why an address is not on the public internet, if it is not.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
                Some("a private address")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("a multicast address")
            } else if s[0] == 0x0064 && s[1] == 0xff9b {
                // NAT64: the IPv4 address it stands for decides.
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                non_public_v4(v4)
            } else if s[0] == 0x2001 && s[1] == 0x0db8 || s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
                Some("a reserved address")
            } else if s[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated): the IPv4 address decides.
                non_public_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ))
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if a == 0 {
        Some("the unspecified network")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a >= 224 {
        Some("a multicast or reserved address")
    } else if (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Some("a reserved address")
    } else {
        None
    }
}

/// `path` made absolute against the working directory, with `.` and `..`
/// resolved by name only (no file system access).
fn lexical(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl SourcePolicy {
    /// The policy of `pipeline.file_roots` and `pipeline.http_allow`, both
    /// checked when the configuration loaded.
    pub fn new(file_roots: &List<PathBuf>, http_allow: &List<UrlPrefix>) -> Self {
        Self {
            file_roots: file_roots.items().to_vec(),
            http_allow: http_allow.items().to_vec(),
        }
    }

    fn roots_described(&self) -> String {
        if self.file_roots.is_empty() {
            return "none: pipeline.file_roots is empty".to_owned();
        }
        self.file_roots
            .iter()
            .map(|r| {
                let shown = r.display().to_string();
                let full = lexical(r).display().to_string();
                if shown == full {
                    shown
                } else {
                    format!("{shown} ({full})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn prefixes_described(&self) -> String {
        if self.http_allow.is_empty() {
            return "none: pipeline.http_allow is empty, so no URL is fetched".to_owned();
        }
        self.http_allow
            .iter()
            .map(UrlPrefix::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether `source`, by name (symlinks not followed), lies under one of the
    /// roots: a path an extract may look at on the file system.
    pub fn names_a_path_under_roots(&self, source: &str) -> bool {
        let wanted = lexical(Path::new(source));
        self.file_roots
            .iter()
            .any(|r| wanted.starts_with(lexical(r)))
    }

    /// The file `source` names, resolved (symlinks followed), if it lies under
    /// one of the roots. A path outside them by name is refused without looking
    /// at the file system.
    pub fn file(&self, source: &str) -> Result<PathBuf, String> {
        let refused = || {
            format!(
                "`{source}` is outside the directories an extract may read ({}); \
                 move the file under one of them, or add its directory to \
                 pipeline.file_roots",
                self.roots_described()
            )
        };
        let wanted = lexical(Path::new(source));
        if !self
            .file_roots
            .iter()
            .any(|r| wanted.starts_with(lexical(r)))
        {
            return Err(refused());
        }
        let real =
            std::fs::canonicalize(&wanted).map_err(|e| format!("cannot read {source}: {e}"))?;
        let inside = self
            .file_roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .any(|root| real.starts_with(root));
        if inside {
            Ok(real)
        } else {
            // A symlink (the file or a directory on the way) leads out.
            Err(refused())
        }
    }

    /// Checks a URL before it is fetched: its scheme, an allowed prefix, and
    /// its host if that is an IP address. A host name's addresses are checked
    /// when it is resolved (see [`SourcePolicy::client`]).
    pub fn url(&self, source: &str) -> Result<Url, String> {
        let url = Url::parse(source).map_err(|e| format!("`{source}` is not a URL: {e}"))?;
        self.allowed(&url)?;
        Ok(url)
    }

    fn allowed(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{url}`: only http and https URLs are fetched"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "`{url}`: a URL with a user name or password is not fetched"
            ));
        }
        let matching: Vec<&UrlPrefix> = self.http_allow.iter().filter(|p| p.matches(url)).collect();
        if matching.is_empty() {
            return Err(format!(
                "`{url}` does not start with an allowed prefix ({}); add one to \
                 pipeline.http_allow to fetch it",
                self.prefixes_described()
            ));
        }
        // A prefix with a host matches only that host: it names it.
        let named = matching.iter().any(|p| p.host().is_some());
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = ip
            && !named
            && let Some(what) = non_public(ip)
        {
            return Err(self.private_refused(url.host_str().unwrap_or_default(), ip, what));
        }
        // The resolver lets a host that a prefix names use non-public
        // addresses; a URL reaches such a host only through a prefix that names
        // it, never through a broad one like `https://` (another port or path).
        if let Some(Host::Domain(host)) = url.host()
            && !named
            && self.names(host)
        {
            return Err(format!(
                "`{url}`: `{host}` is fetched only under the prefixes of \
                 pipeline.http_allow that name it ({})",
                self.prefixes_described()
            ));
        }
        Ok(())
    }

    fn private_refused(&self, host: &str, ip: IpAddr, what: &str) -> String {
        format!(
            "`{host}` is {ip}, {what}; such addresses are fetched only when a prefix of \
             pipeline.http_allow names the host (for example `http://{host}:8080/`)"
        )
    }

    /// Whether a prefix names `host` (then its non-public addresses may be used).
    fn names(&self, host: &str) -> bool {
        self.http_allow.iter().any(|p| p.host() == Some(host))
    }

    /// An HTTP client that connects only to addresses this policy allows: host
    /// names are resolved and checked here, redirects are checked like the
    /// first URL, and proxies are not used (a proxy would connect on our
    /// behalf where no check applies).
    pub fn client(self: &Arc<Self>) -> reqwest::Client {
        let redirects = Arc::clone(self);
        reqwest::Client::builder()
            .user_agent(concat!("hangar/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .no_proxy()
            .dns_resolver(Arc::new(Resolver(Arc::clone(self))))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match redirects.allowed(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(Refused(format!("redirected: {why}"))),
                }
            }))
            .build()
            .unwrap_or_default()
    }
}

/// Resolves host names for [`SourcePolicy::client`], refusing a name whose
/// addresses include a non-public one unless a prefix names the host.
struct Resolver(Arc<SourcePolicy>);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.0);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.names(&host) {
                for addr in &addrs {
                    if let Some(what) = non_public(addr.ip()) {
                        let message = policy.private_refused(&host, addr.ip(), what);
                        return Err(Box::new(Refused(message)) as Box<_>);
                    }
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy from the settings' text, as a config file would give them.
    fn policy(file_roots: &str, http_allow: &str) -> SourcePolicy {
        SourcePolicy::new(&file_roots.parse().unwrap(), &http_allow.parse().unwrap())
    }

    #[test]
    fn addresses_outside_the_public_internet_are_named() {
        for (ip, what) in [
            ("127.0.0.1", Some("a loopback address")),
            ("10.1.2.3", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("192.168.1.1", Some("a private address")),
            ("100.64.0.1", Some("a private address")),
            ("169.254.169.254", Some("a link-local address")),
            ("0.0.0.0", Some("the unspecified network")),
            ("::1", Some("a loopback address")),
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("fe80::1", Some("a link-local address")),
            ("fd00::1", Some("a private address")),
            ("64:ff9b::a00:1", Some("a private address")),
            ("93.184.216.34", None),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), what, "{ip}");
        }
    }

    #[test]
    fn prefixes_match_scheme_host_port_and_path_start() {
        let policy = policy(
            "",
            "https://example.org/data/, http://127.0.0.1:, http://localhost:8080/",
        );
        let ok = |u: &str| policy.url(u).map(|_| ());
        assert!(ok("https://example.org/data/movies.json").is_ok());
        assert!(ok("https://example.org/database.json").is_err());
        assert!(ok("http://example.org/data/movies.json").is_err());
        assert!(ok("https://example.org.evil.test/data/x").is_err());
        assert!(ok("http://127.0.0.1:9/metrics").is_ok());
        assert!(ok("http://127.0.0.1:80@evil.test/").is_err());
        assert!(ok("http://localhost:8080/x").is_ok());
        assert!(ok("http://localhost:8081/x").is_err());
        assert!(ok("file:///etc/passwd").is_err());
    }

    #[test]
    fn a_prefix_for_any_host_still_refuses_private_addresses() {
        let policy = policy("", "http://, https://");
        let error = policy.url("http://127.0.0.1:9/metrics").unwrap_err();
        assert!(error.contains("loopback"), "{error}");
        assert!(error.contains("pipeline.http_allow"), "{error}");
        assert!(
            policy
                .url("http://[::1]/")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(policy.url("http://93.184.216.34/x.json").is_ok());
    }

    #[test]
    fn a_named_host_is_reached_only_through_its_own_prefixes() {
        let policy = policy("data", "https://, http://localhost:8080/data/");
        assert!(policy.url("http://localhost:8080/data/movies.json").is_ok());
        for url in [
            "https://localhost:6443/anything",
            "https://localhost/data/movies.json",
            "http://localhost:8080/other",
        ] {
            assert!(policy.url(url).is_err(), "{url} is refused");
        }
        assert!(policy.url("https://example.org/movies.json").is_ok());
    }

    #[test]
    fn nothing_is_fetched_by_default() {
        let error = policy("data/datasets", "")
            .url("https://example.org/movies.json")
            .unwrap_err();
        assert!(error.contains("pipeline.http_allow is empty"), "{error}");
    }
}
