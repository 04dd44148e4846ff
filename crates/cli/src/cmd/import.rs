use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use tessera_core::import::{self, Format};
use tessera_core::Account;
use zeroize::Zeroize;

use crate::context::VaultOptions;
use crate::output::print_json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import.
    pub file: PathBuf,
    /// Its format (detected when omitted): see `tessera import --help` or docs/formats.md.
    #[arg(long)]
    pub format: Option<Format>,
    /// The export's password, first line of this file (encrypted exports).
    #[arg(long, env = "TESSERA_IMPORT_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Import accounts already in the vault again (default: skip them and say so).
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Report what would be imported without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON report (see docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    format: String,
    imported: Vec<i64>,
    duplicates: Vec<String>,
    skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize)]
struct Skipped {
    name: String,
    reason: String,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let password = match &args.password_file {
        Some(f) => {
            let mut text = std::fs::read_to_string(f)
                .with_context(|| format!("reading password file {}", f.display()))?;
            let first = text.lines().next().unwrap_or("").to_owned();
            text.zeroize();
            Some(first)
        }
        None => None,
    };
    let result = import::import(&bytes, args.format, password.as_deref());
    if let Some(mut p) = password {
        p.zeroize();
    }
    let report = result.with_context(|| format!("importing {}", args.file.display()))?;

    let mut vault = opts.open_or_create()?;
    let mut fresh: Vec<Account> = Vec::new();
    let mut duplicates = Vec::new();
    for account in report.accounts {
        let in_vault = !vault.duplicates_of(&account)?.is_empty();
        let in_batch = fresh.iter().any(|a| a.is_duplicate_of(&account));
        if (in_vault || in_batch) && !args.keep_duplicates {
            duplicates.push(account.display_name());
        } else {
            fresh.push(account);
        }
    }
    // All or nothing: one transaction.
    let imported = if args.dry_run {
        Vec::new()
    } else {
        vault.insert_many(&fresh)?
    };
    let out = Report {
        format: report.format.to_string(),
        imported,
        duplicates,
        skipped: report
            .skipped
            .into_iter()
            .map(|s| Skipped {
                name: s.name,
                reason: s.reason.to_string(),
            })
            .collect(),
    };
    if args.json {
        return print_json(&out);
    }
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    let count = if args.dry_run {
        fresh.len()
    } else {
        out.imported.len()
    };
    println!(
        "{verb} {count} accounts from {} ({})",
        args.file.display(),
        out.format
    );
    for d in &out.duplicates {
        println!("  duplicate, skipped: {d}");
    }
    for s in &out.skipped {
        println!("  could not import: {} ({})", s.name, s.reason);
    }
    Ok(())
}
