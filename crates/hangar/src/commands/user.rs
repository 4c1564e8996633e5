//! `hangar user create [--admin] EMAIL`: creates an account. The password is
//! asked for twice at a terminal (not echoed), or read as the first line of
//! standard input when that is not a terminal.

use std::io::{BufRead, IsTerminal};

use hangar_api::auth::accounts::{self, CreateAccountError};
use hangar_api::auth::{Role, passwords};
use hangar_core::LoadedConfig;
use hangar_core::telemetry::{LogStream, init_logs};

use super::{CommandError, runtime, signals};
use crate::cli::UserCommand;
use crate::runtime::Connections;

pub(super) fn run(loaded: LoadedConfig, command: UserCommand) -> Result<(), CommandError> {
    let UserCommand::Create {
        email,
        admin,
        name,
        update,
    } = command;
    let email = accounts::normalize_email(&email).map_err(CommandError::Usage)?;
    let password = read_password()?;
    if let Some(weak) = passwords::weakness(&password) {
        return Err(CommandError::Usage(weak));
    }
    let roles = if admin {
        vec![Role::Admin, Role::User]
    } else {
        vec![Role::User]
    };
    let config = loaded.config;
    init_logs(&config.log, LogStream::Stderr).map_err(anyhow::Error::from)?;
    runtime()?.block_on(async {
        let connections = Connections::open(&config, &signals()?).await?;
        let result = async {
            let hash = passwords::hash(password)
                .await
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            let store = &connections.store;
            match accounts::create_account(store, &email, name.as_deref(), Some(&hash), &roles)
                .await
            {
                Ok(account) => Ok(format!(
                    "created {} ({}) with roles {}\n",
                    account.email,
                    account.id,
                    role_names(&roles)
                )),
                Err(CreateAccountError::EmailTaken) if update => {
                    accounts::update_account(store, &email, Some(&hash), &roles)
                        .await
                        .map_err(anyhow::Error::from)?;
                    Ok(format!(
                        "updated {email}: new password, roles {}\n",
                        role_names(&roles)
                    ))
                }
                Err(CreateAccountError::EmailTaken) => Err(CommandError::Usage(format!(
                    "an account with {email} exists; add --update to set its password and roles"
                ))),
                Err(CreateAccountError::Store(e)) => Err(CommandError::Other(anyhow::anyhow!(
                    "{e} (has the store been migrated? run `hangar migrate`)"
                ))),
            }
        }
        .await;
        connections.close().await;
        print!("{}", result?);
        Ok(())
    })
}

fn role_names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_password() -> Result<String, CommandError> {
    let failed =
        |e: std::io::Error| CommandError::Other(anyhow::anyhow!("cannot read the password: {e}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(failed)?;
        let again = rpassword::prompt_password("Password again: ").map_err(failed)?;
        if first != again {
            return Err(CommandError::Usage("the passwords differ".to_owned()));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(failed)?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err(CommandError::Usage(
                "no password on standard input (give it as the first line)".to_owned(),
            ));
        }
        Ok(password)
    }
}
