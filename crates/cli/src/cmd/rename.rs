use anyhow::{bail, Result};

use crate::cmd::resolve;
use crate::context::VaultOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which account: an id, `issuer:name`, or text matching one account.
    pub query: String,
    /// The new issuer.
    #[arg(long)]
    pub issuer: Option<String>,
    /// The new account name.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    if args.issuer.is_none() && args.name.is_none() {
        bail!("give --issuer and/or --name");
    }
    let mut vault = opts.open()?;
    let stored = resolve(&vault, &args.query)?;
    let mut account = stored.account.clone();
    if let Some(i) = args.issuer {
        account.issuer = i;
    }
    if let Some(n) = args.name {
        account.name = n;
    }
    vault.update(stored.id, &account)?;
    println!(
        "renamed #{}: {} → {}",
        stored.id,
        stored.account.display_name(),
        account.display_name()
    );
    Ok(())
}
