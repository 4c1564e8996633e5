//! The token-signing secret of `hangar up` when none is configured: generated on
//! first start and kept beside the SQLite file (or in `data/`), readable by its
//! owner only, so tokens survive restarts of a one-machine installation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hangar_core::Config;
use hangar_core::config::{DatabaseEngine, Secret};
use hangar_store::sqlx::sqlite::SqliteConnectOptions;

/// Name of the file holding the generated secret.
const FILE: &str = "jwt-secret";

/// Where the generated secret is kept for `config`.
pub fn secret_path(config: &Config) -> PathBuf {
    let dir = match config.database_url.engine() {
        DatabaseEngine::Sqlite => SqliteConnectOptions::from_str(config.database_url.expose())
            .ok()
            .and_then(|o| o.get_filename().parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("data")),
        DatabaseEngine::Postgres => PathBuf::from("data"),
    };
    dir.join(FILE)
}

/// What the kept secret file holds.
pub enum Kept {
    /// No file yet: `hangar up` generates one.
    Missing,
    /// A usable secret.
    Secret(Secret),
    /// A file too short to sign tokens with.
    TooShort,
}

/// Reads the kept secret at `path`.
pub fn read_kept(path: &Path) -> std::io::Result<Kept> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= hangar_api::auth::MIN_SECRET_CHARS => {
            Ok(Kept::Secret(Secret::from(text.trim())))
        }
        Ok(_) => Ok(Kept::TooShort),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Kept::Missing),
        Err(e) => Err(e),
    }
}

/// Fills `auth.jwt_secret` from the kept file, generating it on first start.
/// Returns what was done, for the log.
pub fn ensure_local_secret(config: &mut Config) -> std::io::Result<Option<String>> {
    if !config.auth.jwt_secret.is_empty() {
        return Ok(None);
    }
    let path = secret_path(config);
    match read_kept(&path)? {
        Kept::Secret(secret) => {
            config.auth.jwt_secret = secret;
            return Ok(Some(format!(
                "auth.jwt_secret is not set; using the secret kept in {}",
                path.display()
            )));
        }
        Kept::TooShort => {
            return Err(std::io::Error::other(format!(
                "{} is shorter than {} characters; delete it to generate a new one, or set auth.jwt_secret",
                path.display(),
                hangar_api::auth::MIN_SECRET_CHARS
            )));
        }
        Kept::Missing => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 48]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    config.auth.jwt_secret = Secret::from(secret);
    Ok(Some(format!(
        "auth.jwt_secret is not set; generated one and kept it in {} (set auth.jwt_secret to share one between processes)",
        path.display()
    )))
}
