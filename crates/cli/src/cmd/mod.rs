//! One file per subcommand; this module only lists them.

mod add;
mod code;
mod device;
mod export;
mod import;
mod init;
mod list;
mod remove;
mod rename;
mod scan;

use anyhow::{bail, Result};
use clap::Subcommand;
use tessera_vault::{StoredAccount, Vault};

use crate::context::VaultOptions;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty vault (optional: `add` and `import` create one when none exists).
    Init(init::Args),
    /// Add an account from an otpauth:// URI or from fields.
    Add(add::Args),
    /// List the accounts (never their secrets).
    List(list::Args),
    /// Show the current code of one account (HOTP: the next code; advances the counter).
    Code(code::Args),
    /// Remove an account.
    Remove(remove::Args),
    /// Change an account's issuer or name.
    Rename(rename::Args),
    /// Import accounts from a file (otpauth URI lists, Google migration, other apps' exports).
    Import(import::Args),
    /// Export accounts to a file.
    Export(export::Args),
    /// Find QR codes in an image file and add the accounts they carry.
    Scan(scan::Args),
    /// The device simulator for testers: enroll, answer pushes, approve QR logins.
    Device(device::Args),
}

pub fn run(command: Command, opts: &VaultOptions) -> Result<()> {
    match command {
        Command::Init(a) => init::run(a, opts),
        Command::Add(a) => add::run(a, opts),
        Command::List(a) => list::run(a, opts),
        Command::Code(a) => code::run(a, opts),
        Command::Remove(a) => remove::run(a, opts),
        Command::Rename(a) => rename::run(a, opts),
        Command::Import(a) => import::run(a, opts),
        Command::Export(a) => export::run(a, opts),
        Command::Scan(a) => scan::run(a, opts),
        Command::Device(a) => device::run(a, opts),
    }
}

/// Finds the one account a query means: an id, `issuer:name`, or a unique substring.
pub fn resolve(vault: &Vault, query: &str) -> Result<StoredAccount> {
    let mut matches = vault.find(query)?;
    if matches.len() > 1 {
        let q = query.to_lowercase();
        let exact: Vec<StoredAccount> = matches
            .iter()
            .filter(|s| {
                let a = &s.account;
                format!("{}:{}", a.issuer, a.name).to_lowercase() == q
                    || a.name.to_lowercase() == q
                    || a.issuer.to_lowercase() == q
            })
            .cloned()
            .collect();
        if exact.len() == 1 {
            matches = exact;
        }
    }
    match matches.len() {
        0 => bail!("no account matches `{query}` (see `tessera list`)"),
        1 => matches
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no account matches `{query}`")),
        n => {
            let shown: Vec<String> = matches
                .iter()
                .take(5)
                .map(|s| format!("#{} {}", s.id, s.account.display_name()))
                .collect();
            bail!(
                "`{query}` matches {n} accounts ({}{}); name one by its id",
                shown.join(", "),
                if n > 5 { ", …" } else { "" }
            )
        }
    }
}
