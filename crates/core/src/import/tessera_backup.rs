//! Tessera's own encrypted backup, as an import format (see [`crate::backup`]).

use super::{Format, ImportReport, Importer, InteropError, Password, Probe, Result};

/// Reads Tessera backups.
#[derive(Debug)]
pub(crate) struct TesseraBackup;

impl Importer for TesseraBackup {
    fn format(&self) -> Format {
        Format::TesseraBackup
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        crate::backup::is_backup(probe.bytes)
    }

    fn import(&self, bytes: &[u8], password: Option<&Password>) -> Result<ImportReport> {
        let password = password.ok_or(InteropError::PasswordRequired {
            format: Format::TesseraBackup,
        })?;
        let mut report = ImportReport::new(Format::TesseraBackup);
        for (i, a) in crate::backup::open(bytes, password.as_str())?
            .into_iter()
            .enumerate()
        {
            report.push(|| format!("entry {}", i + 1), a)?;
        }
        Ok(report)
    }
}
