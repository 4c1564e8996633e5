//! `hangar user create|list|show|disable|enable|delete|revoke-sessions|invite`.
//!
//! `create` asks for the password twice at a terminal (not echoed), or reads it
//! as the first line of standard input when that is not a terminal. Every change
//! is written to the log as an audit line (target `audit`) naming the operating
//! system user who ran the command.

use std::io::{BufRead, IsTerminal, Write};

use hangar_api::auth::accounts::{self, Account, CreateAccountError};
use hangar_api::auth::invites;
use hangar_api::auth::manage::{self, Change, ManageError};
use hangar_api::auth::{Role, passwords};
use hangar_core::config::Registration;
use hangar_core::telemetry::{LogStream, init_logs};
use hangar_core::{Config, LoadedConfig};
use hangar_store::Store;

use super::{CommandError, runtime, signals};
use crate::cli::UserCommand;
use crate::output::{Table, emit, to_json};
use hangar_runtime::Connections;

pub(super) fn run(loaded: LoadedConfig, command: UserCommand) -> Result<(), CommandError> {
    // Input is checked before anything is opened.
    let input = match &command {
        UserCommand::Create { email, admin, .. } => {
            let email = accounts::normalize_email(email).map_err(CommandError::Usage)?;
            let password = read_password()?;
            if let Some(weak) = passwords::weakness(&password) {
                return Err(CommandError::Usage(weak));
            }
            let roles = if *admin {
                vec![Role::Admin, Role::User]
            } else {
                vec![Role::User]
            };
            Some((email, password, roles))
        }
        UserCommand::Delete { account, yes } => {
            confirm_delete(account, *yes)?;
            None
        }
        _ => None,
    };
    let config = loaded.config;
    init_logs(&config.log, LogStream::Stderr).map_err(anyhow::Error::from)?;
    runtime()?.block_on(async {
        let connections = Connections::open(&config, &signals()?).await?;
        let result = act(&connections.store, &config, command, input).await;
        connections.close().await;
        let text = result?;
        Ok(emit(&text).map_err(anyhow::Error::from)?)
    })
}

async fn act(
    store: &Store,
    config: &Config,
    command: UserCommand,
    input: Option<(String, String, Vec<Role>)>,
) -> Result<String, CommandError> {
    let actor = actor();
    let change = |account: String, change: Change| {
        let actor = actor.clone();
        async move {
            manage::apply(store, &actor, &account, &change)
                .await
                .map_err(manage_error)
        }
    };
    Ok(match command {
        UserCommand::Create { name, update, .. } => {
            let Some((email, password, roles)) = input else {
                return Err(CommandError::Usage("no password was read".to_owned()));
            };
            let hash = passwords::hash(password)
                .await
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            match accounts::create_account(store, &email, name.as_deref(), Some(&hash), &roles)
                .await
            {
                Ok(account) => {
                    manage::audit(&actor, "user.create", &account);
                    format!(
                        "created {} ({}) with roles {}\n",
                        account.email,
                        account.id,
                        role_names(&roles)
                    )
                }
                Err(CreateAccountError::EmailTaken) if update => {
                    let changed = change(
                        email.clone(),
                        Change::Update {
                            roles: roles.clone(),
                            password_hash: Some(hash),
                        },
                    )
                    .await?;
                    format!(
                        "updated {email}: new password, roles {}; {} session(s) revoked\n",
                        role_names(&roles),
                        changed.sessions_revoked
                    )
                }
                Err(CreateAccountError::EmailTaken) => {
                    return Err(CommandError::Usage(format!(
                        "an account with {email} exists; add --update to set its password and roles"
                    )));
                }
                Err(CreateAccountError::Store(e)) => return Err(store_error(e)),
                Err(e @ CreateAccountError::InvalidInvite) => {
                    return Err(CommandError::Other(e.into()));
                }
            }
        }
        UserCommand::List { json } => {
            let mut all = Vec::new();
            loop {
                let after = all.last().map(|a: &Account| a.id.clone());
                let page = manage::list(store, after.as_deref(), 500)
                    .await
                    .map_err(store_error)?;
                let done = page.len() < 500;
                all.extend(page);
                if done {
                    break;
                }
            }
            if json {
                to_json(&serde_json::json!({ "users": all })).map_err(anyhow::Error::from)?
            } else {
                list_table(&all)
            }
        }
        UserCommand::Show { account, json } => {
            let found = manage::find(store, &account)
                .await
                .map_err(store_error)?
                .ok_or_else(|| manage_error(ManageError::NotFound(account.clone())))?;
            let sessions = manage::active_sessions(store, &found.id)
                .await
                .map_err(store_error)?;
            if json {
                let mut value = serde_json::to_value(&found).map_err(anyhow::Error::from)?;
                value["active_sessions"] = sessions.into();
                to_json(&value).map_err(anyhow::Error::from)?
            } else {
                describe(&found, sessions)
            }
        }
        UserCommand::Disable { account } => {
            let changed = change(account, Change::Disable).await?;
            format!(
                "disabled {}; {} session(s) revoked\n",
                changed.account.email, changed.sessions_revoked
            )
        }
        UserCommand::Enable { account } => {
            let changed = change(account, Change::Enable).await?;
            format!("enabled {}\n", changed.account.email)
        }
        UserCommand::Delete { account, .. } => {
            let changed = change(account, Change::Delete).await?;
            format!(
                "deleted {} ({}); {} session(s) ended\n",
                changed.account.email, changed.account.id, changed.sessions_revoked
            )
        }
        UserCommand::Invite { json } => {
            let invite = invites::create_invite(store, &actor, config.auth.invite_ttl.get())
                .await
                .map_err(store_error)?;
            if json {
                to_json(&invite).map_err(anyhow::Error::from)?
            } else {
                let mut text = format!(
                    "invitation code: {}\nexpires: {}\n(one use; pass it as `invite` to POST /api/v1/auth/register)\n",
                    invite.code, invite.expires_at
                );
                if config.auth.registration != Registration::Invite {
                    text.push_str(
                        "note: auth.registration is not `invite`, so registration does not ask for it\n",
                    );
                }
                text
            }
        }
        UserCommand::RevokeSessions { account } => {
            let changed = change(account, Change::RevokeSessions).await?;
            format!(
                "revoked {} session(s) of {}\n",
                changed.sessions_revoked, changed.account.email
            )
        }
    })
}

/// Who runs the command, for the audit lines: `cli:<operating system user>`.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

fn manage_error(err: ManageError) -> CommandError {
    match err {
        ManageError::Store(e) => store_error(e),
        other => CommandError::Other(anyhow::anyhow!("{other}")),
    }
}

fn store_error(err: hangar_store::StoreError) -> CommandError {
    CommandError::Other(anyhow::anyhow!(
        "{err} (has the store been migrated? run `hangar migrate`)"
    ))
}

fn list_table(accounts: &[Account]) -> String {
    if accounts.is_empty() {
        return "(no accounts; create one with `hangar user create --admin EMAIL`)\n".to_owned();
    }
    let mut table = Table::new(vec!["ID", "EMAIL", "ROLES", "STATE", "CREATED"]);
    for account in accounts {
        table.row(vec![
            account.id.clone(),
            account.email.clone(),
            role_names(&account.roles),
            state(account).to_owned(),
            account.created_at.clone(),
        ]);
    }
    table.render()
}

fn describe(account: &Account, sessions: i64) -> String {
    format!(
        "id:              {}\nemail:           {}\nname:            {}\nroles:           {}\nstate:           {}\ncreated:         {}\nactive sessions: {sessions}\n",
        account.id,
        account.email,
        account.name.as_deref().unwrap_or("-"),
        role_names(&account.roles),
        state(account),
        account.created_at,
    )
}

fn state(account: &Account) -> &'static str {
    if account.disabled {
        "disabled"
    } else {
        "enabled"
    }
}

fn role_names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Asks before a deletion at a terminal; elsewhere `--yes` must say it.
fn confirm_delete(account: &str, yes: bool) -> Result<(), CommandError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::Usage(format!(
            "deleting {account} cannot be undone; add --yes to confirm (standard input is not a terminal)"
        )));
    }
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "Delete {account} and end its sessions? This cannot be undone. [y/N] "
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| anyhow::anyhow!("cannot read the answer: {e}"))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CommandError::Usage(format!("{account} was not deleted")))
    }
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
