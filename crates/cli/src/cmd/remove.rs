use anyhow::Result;

use crate::cmd::resolve;
use crate::context::VaultOptions;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which account: an id, `issuer:name`, or text matching one account.
    pub query: String,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let mut vault = opts.open()?;
    let stored = resolve(&vault, &args.query)?;
    vault.remove(stored.id)?;
    println!("removed #{} {}", stored.id, stored.account.display_name());
    Ok(())
}
