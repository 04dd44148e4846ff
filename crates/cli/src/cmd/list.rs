use anyhow::Result;

use crate::context::VaultOptions;
use crate::output::{print_json, AccountJson};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only accounts matching this text (issuer, name or id).
    pub query: Option<String>,
    /// Only accounts in this group.
    #[arg(long)]
    pub group: Option<String>,
    /// Print a JSON array (see docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let vault = opts.open()?;
    let mut accounts = match &args.query {
        Some(q) => vault.find(q)?,
        None => vault.list()?,
    };
    if let Some(g) = &args.group {
        accounts.retain(|s| s.account.groups.iter().any(|x| x.eq_ignore_ascii_case(g)));
    }
    if args.json {
        let rows: Vec<AccountJson> = accounts.iter().map(AccountJson::from_stored).collect();
        return print_json(&rows);
    }
    if accounts.is_empty() {
        eprintln!("tessera: no accounts");
    }
    for s in &accounts {
        let a = &s.account;
        let detail = match a.otp_type {
            tessera_core::OtpType::Hotp => {
                format!("hotp {} {}d #{}", a.algorithm, a.digits, a.counter)
            }
            t => format!("{t} {} {}d {}s", a.algorithm, a.digits, a.period),
        };
        println!(
            "{:>4}  {}{}  [{detail}]",
            s.id,
            if a.favourite { "★ " } else { "" },
            a.display_name()
        );
    }
    Ok(())
}
