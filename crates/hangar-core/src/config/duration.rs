//! Durations written the way people write them in config files: `500ms`, `30s`, `5m`, `1h`,
//! `30d`; printed back the same way, in the largest unit that is exact.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration parsed from `<integer><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
///
/// `Display` writes it back in the largest unit that divides it exactly (`30d`,
/// `15m`, `2s`, `300ms`), so a value reads as it is written in the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(Duration);

impl HumanDuration {
    /// Wraps a [`Duration`]; sub-millisecond precision is kept but printed as milliseconds.
    pub const fn new(duration: Duration) -> Self {
        Self(duration)
    }

    /// A whole number of seconds.
    pub const fn secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// A whole number of milliseconds.
    pub const fn millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The wrapped standard duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration such as `500ms`, `30s`, `5m`, `1h` or `30d`, found `{0}`")]
pub struct ParseDurationError(String);

impl FromStr for HumanDuration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(err)?;
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number.parse().map_err(|_| err())?;
        let duration = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.checked_mul(60).ok_or_else(err)?),
            "h" => Duration::from_secs(number.checked_mul(3600).ok_or_else(err)?),
            "d" => Duration::from_secs(number.checked_mul(86_400).ok_or_else(err)?),
            _ => return Err(err()),
        };
        Ok(Self(duration))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u128, &str); 4] = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ];
        let millis = self.0.as_millis();
        let unit = UNITS
            .iter()
            .find(|(size, _)| millis != 0 && millis.is_multiple_of(*size));
        match unit {
            Some((size, name)) => write!(f, "{}{name}", millis / size),
            None => write!(f, "{millis}ms"),
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_prints_it_back() {
        for (text, duration) in [
            ("250ms", Duration::from_millis(250)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("2h", Duration::from_secs(7200)),
            ("30d", Duration::from_secs(30 * 86_400)),
            ("0ms", Duration::ZERO),
        ] {
            let parsed: HumanDuration = text.parse().unwrap();
            assert_eq!(parsed.get(), duration);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn prints_the_largest_exact_unit() {
        for (duration, text) in [
            (Duration::from_secs(30 * 86_400), "30d"),
            (Duration::from_secs(36 * 3600), "36h"),
            (Duration::from_secs(15 * 60), "15m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(2000), "2s"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_millis(1500), "1500ms"),
        ] {
            assert_eq!(HumanDuration::new(duration).to_string(), text);
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "30", "s", "-1s", "1.5s", "3 days", "10x"] {
            let err = text.parse::<HumanDuration>().unwrap_err();
            assert!(
                err.to_string().contains("expected a duration"),
                "{text}: {err}"
            );
        }
    }
}
