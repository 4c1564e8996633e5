//! Names of this process, for the ids workers and schedulers record.

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".to_owned())
}

/// `host:pid`, unique among the processes running at one time.
pub fn process_name() -> String {
    format!("{}:{}", hostname(), std::process::id())
}
