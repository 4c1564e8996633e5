//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, two
//! passes, one lane, as OWASP recommends), off the async threads.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest and longest accepted passwords, in characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest accepted password (hashing cost grows with it).
pub const MAX_PASSWORD: usize = 256;

/// Why a password is not accepted for a new account.
pub fn weakness(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        Some(format!(
            "password: needs at least {MIN_PASSWORD} characters"
        ))
    } else if n > MAX_PASSWORD {
        Some(format!("password: at most {MAX_PASSWORD} characters"))
    } else {
        None
    }
}

/// The PHC string of `password` with a random salt.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A hash of a password nobody has, verified when an account does not exist so
/// that a sign-in takes as long for an unknown e-mail as for a wrong password.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let password: [u8; 16] = rand::random();
        Argon2::default()
            .hash_password(&password)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` matches `phc` (or, with `None`, spends the same time and
/// returns false).
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| decoy().to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}
