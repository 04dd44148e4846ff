use std::io::Read;

use anyhow::{bail, Context, Result};
use tessera_core::{uri, Account, Algorithm, OtpType, Secret};

use crate::context::VaultOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An otpauth:// URI (or use the field flags below).
    #[arg(conflicts_with_all = ["issuer", "name", "secret", "otp_type", "algorithm", "digits", "period", "counter"])]
    pub uri: Option<String>,
    /// Issuer, e.g. "GitHub".
    #[arg(long)]
    pub issuer: Option<String>,
    /// Account name at the issuer, e.g. "alice@example.com".
    #[arg(long)]
    pub name: Option<String>,
    /// Base32 secret; `-` reads it from standard input (keeps it out of the process list).
    #[arg(long)]
    pub secret: Option<String>,
    /// totp, hotp or steam.
    #[arg(long = "type", value_name = "TYPE")]
    pub otp_type: Option<OtpType>,
    /// SHA1, SHA256 or SHA512.
    #[arg(long)]
    pub algorithm: Option<Algorithm>,
    /// Code length (6–10).
    #[arg(long)]
    pub digits: Option<u8>,
    /// TOTP period in seconds.
    #[arg(long)]
    pub period: Option<u32>,
    /// HOTP counter of the next code.
    #[arg(long)]
    pub counter: Option<u64>,
    /// Put the account in this group (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// A note.
    #[arg(long)]
    pub note: Option<String>,
    /// Pin to the top of the list.
    #[arg(long)]
    pub favourite: bool,
    /// Add even if the same secret, issuer and name are already in the vault.
    #[arg(long)]
    pub allow_duplicate: bool,
    /// Print the added account as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let mut account = match &args.uri {
        Some(text) => {
            let parsed = uri::parse_with_warnings(text.trim())?;
            for w in &parsed.warnings {
                eprintln!("tessera: warning: {w}");
            }
            parsed.account
        }
        None => from_fields(&args)?,
    };
    account.groups.extend(args.groups.iter().cloned());
    if let Some(note) = &args.note {
        account.note = note.clone();
    }
    account.favourite |= args.favourite;
    account.validate()?;
    if args.uri.is_none() && account.secret.is_weak() {
        eprintln!(
            "tessera: warning: the secret has only {} bits (RFC 4226 asks for at least 128)",
            account.secret.bits()
        );
    }

    let mut vault = opts.open_or_create()?;
    if !args.allow_duplicate {
        if let Some(id) = vault.duplicates_of(&account)?.first() {
            bail!(
                "{} is already in the vault as #{id}; pass --allow-duplicate to add it again",
                account.display_name()
            );
        }
    }
    let id = vault.insert(&account)?;
    if args.json {
        let stored = vault.get(id)?;
        crate::output::print_json(&crate::output::AccountJson::from_stored(&stored))?;
    } else {
        println!("added #{id} {}", account.display_name());
    }
    Ok(())
}

fn from_fields(args: &Args) -> Result<Account> {
    let Some(secret_arg) = &args.secret else {
        bail!("give an otpauth:// URI, or --secret with --issuer and/or --name");
    };
    let secret = if secret_arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the secret from standard input")?;
        let s = Secret::from_base32(text.trim());
        zeroize::Zeroize::zeroize(&mut text);
        s?
    } else {
        Secret::from_base32(secret_arg)?
    };
    let mut account = Account::totp(
        args.issuer.clone().unwrap_or_default(),
        args.name.clone().unwrap_or_default(),
        secret,
    );
    if let Some(t) = args.otp_type {
        account.otp_type = t;
        if t == OtpType::Steam {
            account.digits = tessera_core::otp::STEAM_DIGITS;
        }
    }
    if let Some(a) = args.algorithm {
        account.algorithm = a;
    }
    if let Some(d) = args.digits {
        account.digits = d;
    }
    if let Some(p) = args.period {
        account.period = p;
    }
    if let Some(c) = args.counter {
        account.counter = c;
    }
    Ok(account)
}
