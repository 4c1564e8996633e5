//! Settings that must never be printed: tokens, signing keys, client secrets.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret setting (`auth.jwt_secret`, `api.admin_token`, `auth.oidc.client_secret`).
///
/// `Debug` writes `Secret(***)` (or `Secret("")` when unset), so a configuration
/// printed with `{:?}` or logged with `?config` holds no secret; there is no
/// `Display`, so `%secret` does not compile. The value is reached only through
/// [`Secret::expose`], which names the intent at each use. It serializes as its
/// plain text, for the configuration layers: `hangar config show` redacts it by
/// its key (see [`super::KeySpec`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it (signing, comparing,
    /// sending it to the provider). Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the setting is unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its length in characters, for "too short" errors that must not show it.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(\"\")")
        } else {
            f.write_str("Secret(***)")
        }
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_whether_it_is_set_but_never_the_value() {
        let secret = Secret::from("hunter2-hunter2-hunter2-hunter2-x");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(\"\")");
        assert_eq!(secret.expose(), "hunter2-hunter2-hunter2-hunter2-x");
        assert_eq!(secret.chars(), 33);
    }
}
