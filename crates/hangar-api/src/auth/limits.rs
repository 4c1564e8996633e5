//! Sign-in rate limits: attempts per client address and failed sign-ins per
//! account, each in a one-minute window. Kept in the process's memory, so with
//! several api replicas each counts what reaches it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::problem::Problem;

const WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked before old windows are swept out.
const SWEEP_AT: usize = 10_000;

/// The sign-in limits.
#[derive(Debug)]
pub struct Limits {
    per_ip: u32,
    per_account: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limits {
    /// `per_ip` attempts per address and `per_account` failures per account a minute.
    pub fn new(per_ip: u32, per_account: u32) -> Self {
        Self {
            per_ip,
            per_account,
            windows: Mutex::default(),
        }
    }

    /// Counts an attempt from `ip`; 429 when over the limit.
    pub fn attempt_from(&self, ip: &str) -> Result<(), Problem> {
        self.take(format!("ip:{ip}"), self.per_ip, true)
    }

    /// 429 when `account` has had too many failed sign-ins this minute.
    pub fn check_account(&self, account: &str) -> Result<(), Problem> {
        self.take(format!("account:{account}"), self.per_account, false)
    }

    /// Counts a failed sign-in of `account`.
    pub fn failed(&self, account: &str) {
        let _ = self.take(format!("account:{account}"), u32::MAX, true);
    }

    fn take(&self, key: String, limit: u32, count: bool) -> Result<(), Problem> {
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
            let wait = WINDOW.saturating_sub(now.duration_since(entry.0)).as_secs() + 1;
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many attempts",
            )
            .with_detail(format!("too many sign-in attempts; try again in {wait}s"))
            .with_retry_after(wait));
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }
}
