use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tessera_core::qr::{self, Payload};
use tessera_core::Account;

use crate::context::VaultOptions;
use crate::output::print_json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An image file (PNG, JPEG, GIF, BMP, WebP) holding one or more QR codes.
    pub image: PathBuf,
    /// Report what was found without adding anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object per QR code found (see docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

/// One QR code found in the image.
#[derive(Debug, Serialize)]
struct Found {
    /// otpauth | otpauth-migration | other | invalid
    kind: &'static str,
    /// Accounts the code carries, as "Issuer (name)".
    accounts: Vec<String>,
    /// Ids of the accounts added (empty in --dry-run or when duplicates were skipped).
    added: Vec<i64>,
    /// Why nothing was added, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let bytes =
        std::fs::read(&args.image).with_context(|| format!("reading {}", args.image.display()))?;
    let texts = qr::decode_image_bytes(&bytes)
        .with_context(|| format!("reading {}", args.image.display()))?;
    if texts.is_empty() {
        bail!("no QR code found in {}", args.image.display());
    }

    let mut found = Vec::new();
    let mut to_add: Vec<(usize, Account)> = Vec::new();
    for text in &texts {
        let (kind, accounts, note) = match qr::classify(text) {
            Ok(p @ Payload::Account(_)) => ("otpauth", qr::accounts(&p), None),
            Ok(p @ Payload::Migration(_)) => ("otpauth-migration", qr::accounts(&p), None),
            Ok(Payload::Other(why)) => ("other", Vec::new(), Some(why)),
            Err(e) => ("invalid", Vec::new(), Some(e.to_string())),
        };
        let idx = found.len();
        found.push(Found {
            kind,
            accounts: accounts.iter().map(Account::display_name).collect(),
            added: Vec::new(),
            note,
        });
        to_add.extend(accounts.into_iter().map(|a| (idx, a)));
    }

    if !args.dry_run && !to_add.is_empty() {
        let mut vault = opts.open_or_create()?;
        let mut fresh: Vec<(usize, Account)> = Vec::new();
        for (idx, account) in to_add {
            if vault.duplicates_of(&account)?.is_empty() {
                fresh.push((idx, account));
            } else if let Some(f) = found.get_mut(idx) {
                f.note = Some(format!(
                    "{} is already in the vault",
                    account.display_name()
                ));
            }
        }
        let accounts: Vec<Account> = fresh.iter().map(|(_, a)| a.clone()).collect();
        let ids = vault.insert_many(&accounts)?;
        for ((idx, _), id) in fresh.iter().zip(ids) {
            if let Some(f) = found.get_mut(*idx) {
                f.added.push(id);
            }
        }
    }

    for f in &found {
        if args.json {
            print_json(f)?;
            continue;
        }
        match f.kind {
            "other" | "invalid" => println!(
                "{}: {}",
                f.kind,
                f.note.as_deref().unwrap_or("not an authenticator code")
            ),
            _ => {
                for name in &f.accounts {
                    println!("{}: {name}", if args.dry_run { "found" } else { "scanned" });
                }
                if let Some(n) = &f.note {
                    println!("  note: {n}");
                }
            }
        }
    }
    Ok(())
}
