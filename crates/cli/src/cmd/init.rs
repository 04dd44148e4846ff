use anyhow::{bail, Result};

use crate::context::VaultOptions;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, opts: &VaultOptions) -> Result<()> {
    let path = opts.path()?;
    if tessera_vault::Vault::exists(&path) {
        bail!("a vault already exists at {}", path.display());
    }
    opts.open_or_create()?;
    println!("{}", path.display());
    Ok(())
}
