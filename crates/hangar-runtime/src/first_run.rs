//! First-run guidance: once a process that serves the site is ready, it logs the
//! site's address and the steps a first-time operator still has to take (load an
//! app's data, create the first admin), written as commands to copy. Only the
//! steps that apply: on an installation in use it logs nothing.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hangar_app::{AppContext, Apps, FirstRunStep, StepCommand};
use hangar_store::StoreError;

/// How the operator started this binary, to write `hangar` commands they can run
/// as they are: the same program path, and the same config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program as started (`hangar`, `target/release/hangar`).
    pub program: String,
    /// A config file other than the default `./hangar.toml`, passed on as `-c FILE`.
    pub config: Option<PathBuf>,
}

impl Invocation {
    /// This process's invocation: its `argv[0]` (relative to the working
    /// directory when it lies below it) and the config file it read.
    pub fn of_this_process(config_file: Option<&Path>) -> Self {
        let argv0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| OsString::from("hangar"));
        let path = PathBuf::from(argv0);
        let shown = std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .filter(|p| p.components().count() > 1)
            .unwrap_or(path);
        Self {
            program: shown.display().to_string(),
            config: config_file
                .filter(|f| *f != Path::new(hangar_core::config::DEFAULT_FILE))
                .map(Path::to_path_buf),
        }
    }

    /// The command line that runs `hangar` with `args` (written as shell words).
    pub fn command(&self, args: &str) -> String {
        let mut line = quoted(&self.program);
        if let Some(file) = &self.config {
            line.push_str(" -c ");
            line.push_str(&quoted(&file.display().to_string()));
        }
        line.push(' ');
        line.push_str(args);
        line
    }
}

/// `word` as one shell word: as is when it holds nothing a shell would split
/// or expand, else single-quoted.
fn quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./+:=@%,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The steps that apply now: each app's (in app order), then the first admin
/// account while there is none.
pub async fn steps(apps: &Apps, ctx: &AppContext) -> Result<Vec<FirstRunStep>, StoreError> {
    let mut steps = apps.first_run(ctx).await?;
    if !hangar_api::auth::accounts::admin_exists(&ctx.store).await? {
        steps.push(FirstRunStep {
            what: "create the first admin account (there is none yet); it signs in at /admin"
                .to_owned(),
            commands: vec![StepCommand::Hangar("user create --admin EMAIL".to_owned())],
        });
    }
    Ok(steps)
}

/// The address to open in a browser: a wildcard listen address is reachable
/// on the loopback one.
pub fn site_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/")
}

/// One step as a line of commands to copy, joined by `&&`.
pub fn command_line(step: &FirstRunStep, invocation: &Invocation) -> String {
    step.commands
        .iter()
        .map(|c| match c {
            StepCommand::Hangar(args) => invocation.command(args),
            StepCommand::Other(line) => line.clone(),
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// Logs the site's address and the steps that apply; nothing when none do.
pub async fn log(apps: &Apps, ctx: &AppContext, addr: SocketAddr, invocation: &Invocation) {
    let steps = match steps(apps, ctx).await {
        Ok(steps) => steps,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell which first-run steps apply");
            return;
        }
    };
    if steps.is_empty() {
        return;
    }
    let url = site_url(addr);
    tracing::info!(
        url = %url,
        steps = steps.len(),
        "first start: the site is at {url}; next steps below"
    );
    for (i, step) in steps.iter().enumerate() {
        let command = command_line(step, invocation);
        tracing::info!(
            step = i + 1,
            command = %command,
            "next step {} of {}: {}: {command}",
            i + 1,
            steps.len(),
            step.what
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_written_with_the_program_and_config_as_started() {
        let plain = Invocation {
            program: "target/release/hangar".to_owned(),
            config: None,
        };
        assert_eq!(
            plain.command("user create --admin EMAIL"),
            "target/release/hangar user create --admin EMAIL"
        );
        let odd = Invocation {
            program: "/opt/my apps/hangar".to_owned(),
            config: Some(PathBuf::from("it's.toml")),
        };
        assert_eq!(
            odd.command("pipeline list"),
            r"'/opt/my apps/hangar' -c 'it'\''s.toml' pipeline list"
        );
    }

    #[test]
    fn a_wildcard_address_is_shown_as_the_loopback_one() {
        assert_eq!(
            site_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(site_url("[::]:80".parse().unwrap()), "http://[::1]:80/");
        assert_eq!(
            site_url("192.0.2.7:8080".parse().unwrap()),
            "http://192.0.2.7:8080/"
        );
    }
}
