//! The limits that keep one visitor from using more than a fair share: sessions
//! per address and in all, commands per minute, and the sizes and times a
//! session may use.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hangar_core::config::TerminalConfig;
use tokio::time::Instant;

/// What one session may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Longest line accepted, in bytes.
    pub max_line: usize,
    /// Commands (and completions) a session may send per minute, on average.
    pub commands_per_minute: u32,
    /// Commands that may be sent at once before the rate applies.
    pub command_burst: u32,
    /// Most bytes one command may print; the rest is cut with a notice.
    pub max_command_output: usize,
    /// Most bytes a session may receive in all; then it is closed.
    pub max_session_output: u64,
    /// Longest a command may run.
    pub command_timeout: Duration,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Longest a session may last.
    pub max_session: Duration,
    /// Most rows any query returns.
    pub max_rows: u32,
    /// Lines kept in a session's history.
    pub history: usize,
    /// Malformed messages (bad JSON, unknown types) tolerated before the session
    /// is closed.
    pub max_protocol_errors: u32,
}

/// The defaults are the `[terminal]` settings' defaults: they are written once,
/// in [`TerminalConfig`].
impl Default for Limits {
    fn default() -> Self {
        Self::from(&TerminalConfig::default())
    }
}

impl From<&TerminalConfig> for Limits {
    /// The session limits of the `[terminal]` settings.
    fn from(config: &TerminalConfig) -> Self {
        Self {
            max_line: config.max_line as usize,
            commands_per_minute: config.commands_per_minute,
            command_burst: config.command_burst,
            max_command_output: config.max_command_output as usize,
            max_session_output: config.max_session_output,
            command_timeout: config.command_timeout.get(),
            idle_timeout: config.idle_timeout.get(),
            max_session: config.max_session.get(),
            max_rows: config.max_rows,
            history: config.history as usize,
            max_protocol_errors: config.max_protocol_errors,
        }
    }
}

/// A token bucket: `burst` tokens, refilled at `per_minute` a minute.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_minute: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            tokens: burst,
            burst,
            per_second: f64::from(per_minute) / 60.0,
            last: now,
        }
    }

    /// Takes a token, or says how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if self.per_second <= 0.0 {
            Err(Duration::MAX)
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

/// Why a new session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefused {
    /// `terminal.max_sessions` are open.
    #[error("the terminal is full ({0} sessions are open); try again in a minute")]
    Full(u32),
    /// `terminal.max_sessions_per_ip` are open from this address.
    #[error("{0} terminal sessions are already open from your address; close one and try again")]
    PerAddress(u32),
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    by_address: HashMap<IpAddr, u32>,
}

/// Counts open sessions, in all and per client address.
#[derive(Debug, Clone)]
pub struct Sessions {
    max_total: u32,
    max_per_address: u32,
    counts: Arc<Mutex<Counts>>,
}

/// An open session's place; it is given back when dropped.
#[derive(Debug)]
pub struct SessionPermit {
    address: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Sessions {
    /// A gate for at most `max_total` sessions, `max_per_address` from one address.
    pub fn new(max_total: u32, max_per_address: u32) -> Self {
        Self {
            max_total,
            max_per_address,
            counts: Arc::default(),
        }
    }

    /// A place for a session from `address`.
    pub fn open(&self, address: IpAddr) -> Result<SessionPermit, SessionRefused> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.max_total {
            return Err(SessionRefused::Full(self.max_total));
        }
        let mine = counts.by_address.entry(address).or_default();
        if *mine >= self.max_per_address {
            return Err(SessionRefused::PerAddress(self.max_per_address));
        }
        *mine += 1;
        counts.total += 1;
        Ok(SessionPermit {
            address,
            counts: self.counts.clone(),
        })
    }

    /// Sessions open now.
    pub fn open_count(&self) -> u32 {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for SessionPermit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(60, 3, start);
        for _ in 0..3 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        assert!(bucket.take(start + Duration::from_millis(500)).is_err());
        assert!(bucket.take(start + Duration::from_millis(1100)).is_ok());
        // Never more than the burst, however long it rests.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(bucket.take(later).is_ok());
        }
        assert!(bucket.take(later).is_err());
    }

    #[test]
    fn sessions_per_address_and_in_all() {
        let gate = Sessions::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = gate.open(a).unwrap();
        let _a2 = gate.open(a).unwrap();
        assert_eq!(gate.open(a).unwrap_err(), SessionRefused::PerAddress(2));
        let _b1 = gate.open(b).unwrap();
        assert_eq!(gate.open(b).unwrap_err(), SessionRefused::Full(3));
        drop(a1);
        assert_eq!(gate.open_count(), 2);
        assert!(gate.open(b).is_ok());
    }
}
