//! Tessera's own encrypted backup (see [`crate::backup`]).

use super::{Format, ImportError, ImportReport, Importer};

pub struct BackupImporter;

impl Importer for BackupImporter {
    fn format(&self) -> Format {
        Format::TesseraBackup
    }

    fn detect(&self, bytes: &[u8]) -> bool {
        crate::backup::is_backup(bytes)
    }

    fn import(&self, bytes: &[u8], password: Option<&str>) -> Result<ImportReport, ImportError> {
        let password = password.ok_or(ImportError::PasswordRequired)?;
        Ok(ImportReport {
            format: Format::TesseraBackup,
            accounts: crate::backup::open(bytes, password)?,
            skipped: Vec::new(),
        })
    }
}
