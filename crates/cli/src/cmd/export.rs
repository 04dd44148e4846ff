use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tessera_core::{backup, Account};
use zeroize::Zeroize;

use crate::context::VaultOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One otpauth:// URI per line (PLAINTEXT: anyone with the file has the secrets).
    UriList,
    /// Google Authenticator otpauth-migration:// URIs, one per line, each fitting one QR code
    /// (PLAINTEXT).
    Migration,
    /// Google Authenticator export as a printable HTML page of QR codes to scan with a phone
    /// (PLAINTEXT).
    MigrationHtml,
    /// Google Authenticator export as QR code PNG files: FILE becomes FILE-1.png, FILE-2.png, …
    /// (PLAINTEXT).
    MigrationPng,
    /// Aegis vault JSON, unencrypted (PLAINTEXT).
    Aegis,
    /// Aegis vault JSON, encrypted (scrypt + AES-256-GCM, as Aegis reads it); needs
    /// --password-file.
    AegisEncrypted,
    /// Tessera's encrypted backup (Argon2id + AES-256-GCM); needs --password-file.
    Backup,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to write (refused if it exists, unless --force).
    pub file: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The backup's password, first line of this file (backup format).
    #[arg(long, env = "TESSERA_EXPORT_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    /// After writing a backup, decrypt it again and compare it with the vault (test restore).
    #[arg(long)]
    pub verify: bool,
}

impl ExportFormat {
    fn core(self) -> tessera_core::export::ExportFormat {
        use tessera_core::export::ExportFormat as F;
        match self {
            ExportFormat::UriList => F::UriList,
            ExportFormat::Migration => F::Migration,
            ExportFormat::MigrationHtml => F::MigrationHtml,
            ExportFormat::MigrationPng => F::MigrationPng,
            ExportFormat::Aegis => F::Aegis,
            ExportFormat::AegisEncrypted => F::AegisEncrypted,
            ExportFormat::Backup => F::Backup,
        }
    }
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let format = args.format.core();
    if args.file.exists() && !args.force && args.format != ExportFormat::MigrationPng {
        bail!(
            "{} already exists; pass --force to replace it",
            args.file.display()
        );
    }
    let mut password = match (&args.password_file, format.needs_password()) {
        (Some(file), true) => Some(read_first_line(file)?),
        (None, true) if args.format == ExportFormat::Backup => {
            bail!("a backup needs a password: give --password-file FILE")
        }
        (None, true) => {
            bail!("an encrypted Aegis export needs a password: give --password-file FILE")
        }
        (_, false) => None,
    };
    let vault = opts.open()?;
    let accounts: Vec<Account> = vault.list()?.into_iter().map(|s| s.account).collect();
    let rendered = tessera_core::export::render(format, &accounts, password.as_deref());
    if let (Ok(r), Some(pw), true) = (&rendered, &password, args.verify) {
        if let (ExportFormat::Backup, Some(bytes)) = (args.format, r.files.first()) {
            let check = backup::test_restore(bytes, pw, &accounts);
            let check = check.context("test restore of the new backup")?;
            if check.identical != accounts.len() || check.in_backup != accounts.len() {
                password.zeroize();
                bail!("test restore found differences: {check:?}");
            }
        }
    }
    password.zeroize();
    let rendered = rendered?;
    let skipped: Vec<String> = rendered
        .skipped
        .iter()
        .map(|s| format!("{} ({})", s.name, s.reason))
        .collect();
    let written = accounts.len() - skipped.len();
    if args.format == ExportFormat::MigrationPng {
        let stem = args
            .file
            .to_string_lossy()
            .trim_end_matches(".png")
            .to_owned();
        for (i, png) in rendered.files.iter().enumerate() {
            let path = PathBuf::from(format!("{stem}-{}.png", i + 1));
            if path.exists() && !args.force {
                bail!(
                    "{} already exists; pass --force to replace it",
                    path.display()
                );
            }
            write_private(&path, png, args.force)?;
            println!("wrote {}", path.display());
        }
        eprintln!(
            "tessera: warning: the QR codes hold your secrets in plaintext; delete them when done"
        );
        println!(
            "exported {written} accounts as {} QR codes",
            rendered.files.len()
        );
        return Ok(());
    }
    let bytes = rendered.files.concat();
    write_private(&args.file, &bytes, args.force)?;
    if format.is_plaintext() {
        eprintln!(
            "tessera: warning: {} holds your secrets in plaintext; keep it safe and delete it when done",
            args.file.display()
        );
    }
    println!(
        "exported {written} accounts to {}{}",
        args.file.display(),
        if args.verify {
            " (test restore ok)"
        } else {
            ""
        }
    );
    for s in skipped {
        println!("  not exported: {s}");
    }
    Ok(())
}

fn read_first_line(file: &Path) -> Result<String> {
    let mut text = std::fs::read_to_string(file)
        .with_context(|| format!("reading password file {}", file.display()))?;
    let first = text.lines().next().unwrap_or("").to_owned();
    text.zeroize();
    if first.is_empty() {
        bail!("password file {} is empty", file.display());
    }
    Ok(first)
}

/// Writes a file readable only by the user, completely or not at all.
fn write_private(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    tessera_vault::write_private(path, bytes, replace)
        .with_context(|| format!("writing {}", path.display()))
}
