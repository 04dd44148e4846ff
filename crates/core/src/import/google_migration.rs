//! Google Authenticator's export: `otpauth-migration://offline?data=…` URIs, one per line (as
//! read from its QR codes). Entries Google carries that we cannot (an unknown type) are listed
//! as skipped by the decoder.

use super::uri_list::{lines, read_line, starts_with_ignore_case, text};
use super::{Format, ImportReport, Importer, Password, Probe, Result};

/// Reads Google migration URIs.
#[derive(Debug)]
pub(crate) struct GoogleMigration;

impl Importer for GoogleMigration {
    fn format(&self) -> Format {
        Format::GoogleMigration
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe
            .first_line()
            .is_some_and(|l| starts_with_ignore_case(l, "otpauth-migration://"))
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let text = text(Format::GoogleMigration, bytes)?;
        let mut report = ImportReport::new(Format::GoogleMigration);
        for (number, line) in lines(text) {
            read_line(&mut report, number, line)?;
        }
        report.non_empty()
    }
}
