//! Where the vault is and how it is unlocked, from flags and environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use tessera_core::SystemClock;
use tessera_vault::{KeySource, Passphrase, Vault};
use zeroize::Zeroize;

/// Options shared by every command that touches the vault.
#[derive(Debug, Clone, Args)]
pub struct VaultOptions {
    /// The vault file [default: the user's data dir, e.g. ~/.local/share/tessera/vault.sqlite3].
    #[arg(long, global = true, env = "TESSERA_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,

    /// Unlock with the passphrase in this file (first line) instead of the OS keyring.
    /// For headless use, CI and managed installs.
    #[arg(
        long,
        global = true,
        env = "TESSERA_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,
}

impl VaultOptions {
    /// The vault's path: `--vault`, `TESSERA_VAULT`, or the default location.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.vault {
            Some(p) => Ok(p.clone()),
            None => tessera_vault::default_path().context("finding the default vault location"),
        }
    }

    fn key_source(&self) -> Result<KeySource> {
        match &self.passphrase_file {
            None => Ok(KeySource::Keyring),
            Some(file) => {
                let mut text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading passphrase file {}", file.display()))?;
                let first = text.lines().next().unwrap_or("").to_owned();
                text.zeroize();
                if first.is_empty() {
                    bail!("passphrase file {} is empty", file.display());
                }
                Ok(KeySource::Passphrase(Passphrase::new(first)))
            }
        }
    }

    /// Opens an existing vault. Never creates one: a missing file is an error that says how to
    /// start.
    pub fn open(&self) -> Result<Vault> {
        let path = self.path()?;
        if !Vault::exists(&path) {
            bail!(
                "no vault at {}: add an account first (`tessera add …`) or pass --vault",
                path.display()
            );
        }
        open_existing(&path, self.key_source()?)
    }

    /// Opens the vault, creating a new empty one only when no file exists at the path.
    pub fn open_or_create(&self) -> Result<Vault> {
        let path = self.path()?;
        let key = self.key_source()?;
        if Vault::exists(&path) {
            return open_existing(&path, key);
        }
        let vault = Vault::create(&path, &key, Arc::new(SystemClock))
            .with_context(|| format!("creating vault {}", path.display()))?;
        eprintln!("tessera: created a new vault at {}", path.display());
        Ok(vault)
    }
}

fn open_existing(path: &Path, key: KeySource) -> Result<Vault> {
    Vault::open(path, &key, Arc::new(SystemClock))
        .with_context(|| format!("opening vault {}", path.display()))
}
