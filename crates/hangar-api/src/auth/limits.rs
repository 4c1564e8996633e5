//! Rate limits of sign-in, registration and bearer tokens. Kept in the process's
//! memory, so with several api replicas each counts what reaches it.
//!
//! - Each client address has `ip_attempts` sign-in and registration attempts a
//!   minute, and as many failed bearer authentications (a token that is not
//!   ours: guessing).
//! - Failed sign-ins are counted per (account, address): after `account_attempts`
//!   of them, each further try from that address waits 1 s, then 2 s, 4 s… up to
//!   15 minutes. A stranger slows down their own address, not the owner's.
//! - An account has a much higher ceiling of failed sign-ins a minute from all
//!   addresses together (`account_ceiling`), against guessing spread over many
//!   addresses.
//! - Registrations refused because the address has an account count like failed
//!   sign-ins of the registering address, which slows down probing for accounts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::problem::Problem;

const WINDOW: Duration = Duration::from_secs(60);
/// Longest wait between tries of one (account, address).
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FORGET: Duration = Duration::from_secs(30 * 60);
/// Keys tracked before stale ones are swept out.
const SWEEP_AT: usize = 10_000;

/// The limits.
#[derive(Debug)]
pub struct Limits {
    per_ip: u32,
    free_failures: u32,
    account_ceiling: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    backoffs: Mutex<HashMap<String, Backoff>>,
}

/// Failures of one key and when the last one was.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    last: Instant,
}

impl Backoff {
    /// How long after the last failure the next try may come.
    fn delay(&self, free: u32) -> Duration {
        if self.failures < free {
            return Duration::ZERO;
        }
        let doublings = (self.failures - free).min(20);
        Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
    }
}

impl Limits {
    /// `per_ip` attempts per address a minute; `free_failures` failed sign-ins
    /// per (account, address) before tries are spaced out; `account_ceiling`
    /// failed sign-ins per account a minute from all addresses.
    pub fn new(per_ip: u32, free_failures: u32, account_ceiling: u32) -> Self {
        Self {
            per_ip,
            free_failures,
            account_ceiling,
            windows: Mutex::default(),
            backoffs: Mutex::default(),
        }
    }

    /// Counts a sign-in or registration attempt from `ip`; 429 when over the limit.
    pub fn attempt_from(&self, ip: &str) -> Result<(), Problem> {
        self.take(format!("ip:{ip}"), self.per_ip, true)
            .map_err(|wait| too_many("too many attempts from this address", wait))
    }

    /// 429 when `account` must wait before another sign-in from `ip`, or has
    /// reached its ceiling of failures this minute.
    pub fn check_sign_in(&self, account: &str, ip: &str) -> Result<(), Problem> {
        self.check_backoff(&format!("sign-in:{account}|{ip}"))
            .map_err(|wait| too_many("too many failed sign-ins from this address", wait))?;
        self.take(format!("account:{account}"), self.account_ceiling, false)
            .map_err(|wait| too_many("too many failed sign-ins for this account", wait))
    }

    /// Counts a failed sign-in of `account` from `ip`.
    pub fn failed_sign_in(&self, account: &str, ip: &str) {
        self.fail_backoff(format!("sign-in:{account}|{ip}"));
        let _ = self.take(format!("account:{account}"), u32::MAX, true);
    }

    /// Forgets the failures of `account` from `ip` after a successful sign-in.
    pub fn signed_in(&self, account: &str, ip: &str) {
        let mut backoffs = self.backoffs.lock().unwrap_or_else(|e| e.into_inner());
        backoffs.remove(&format!("sign-in:{account}|{ip}"));
    }

    /// 429 when `ip` must wait before registering again.
    pub fn check_registration(&self, ip: &str) -> Result<(), Problem> {
        self.check_backoff(&format!("register:{ip}"))
            .map_err(|wait| too_many("too many refused registrations from this address", wait))
    }

    /// Counts a registration from `ip` refused because the address has an account.
    pub fn refused_registration(&self, ip: &str) {
        self.fail_backoff(format!("register:{ip}"));
    }

    /// 429 when `ip` has sent too many bearer tokens that are not ours this minute.
    pub fn check_bearer(&self, ip: &str) -> Result<(), Problem> {
        self.take(format!("bearer:{ip}"), self.per_ip, false)
            .map_err(|wait| too_many("too many invalid bearer tokens from this address", wait))
    }

    /// Counts a bearer token from `ip` that is not ours.
    pub fn failed_bearer(&self, ip: &str) {
        let _ = self.take(format!("bearer:{ip}"), u32::MAX, true);
    }

    /// Counts one in `key`'s minute window unless `count` is false; the seconds to
    /// wait when the window already holds `limit`.
    fn take(&self, key: String, limit: u32, count: bool) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(seconds(WINDOW.saturating_sub(now.duration_since(entry.0))));
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }

    /// The seconds to wait before `key` may try again, if any.
    fn check_backoff(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let backoffs = self.backoffs.lock().unwrap_or_else(|e| e.into_inner());
        match backoffs.get(key) {
            Some(b) if now.duration_since(b.last) < FORGET => {
                let ready = b.last + b.delay(self.free_failures);
                if ready > now {
                    Err(seconds(ready - now))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    fn fail_backoff(&self, key: String) {
        let now = Instant::now();
        let mut backoffs = self.backoffs.lock().unwrap_or_else(|e| e.into_inner());
        if backoffs.len() >= SWEEP_AT {
            backoffs.retain(|_, b| now.duration_since(b.last) < FORGET);
        }
        let entry = backoffs.entry(key).or_insert(Backoff {
            failures: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
    }
}

/// Whole seconds, rounded up, at least 1.
fn seconds(wait: Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

fn too_many(what: &str, wait: u64) -> Problem {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many attempts",
    )
    .with_detail(format!("{what}; try again in {wait}s"))
    .with_retry_after(wait)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_are_capped() {
        let at = |failures| {
            Backoff {
                failures,
                last: Instant::now(),
            }
            .delay(3)
        };
        assert_eq!(at(2), Duration::ZERO);
        assert_eq!(at(3), Duration::from_secs(1));
        assert_eq!(at(4), Duration::from_secs(2));
        assert_eq!(at(6), Duration::from_secs(8));
        assert_eq!(at(40), MAX_DELAY);
    }

    #[test]
    fn failures_from_one_address_do_not_slow_another() {
        let limits = Limits::new(100, 2, 50);
        for _ in 0..2 {
            limits
                .check_sign_in("owner@example.test", "127.0.0.2")
                .unwrap();
            limits.failed_sign_in("owner@example.test", "127.0.0.2");
        }
        let refused = limits.check_sign_in("owner@example.test", "127.0.0.2");
        assert_eq!(refused.unwrap_err().status, 429);
        limits
            .check_sign_in("owner@example.test", "127.0.0.3")
            .unwrap();
    }
}
