//! Text files of Key URIs: `otpauth://` lines, `otpauth-migration://` lines, or both.
//! Blank lines and lines starting with `#` are ignored; a bad line fails the whole import
//! and is named by its number.

use super::{Format, ImportError, ImportReport, Importer, Skipped};
use crate::{migration, uri};

pub struct UriListImporter;
pub struct MigrationImporter;

fn lines(bytes: &[u8]) -> Result<impl Iterator<Item = (usize, &str)>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#')))
}

fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

fn read(bytes: &[u8], format: Format) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport {
        format,
        accounts: Vec::new(),
        skipped: Vec::new(),
    };
    let mut any = false;
    for (line, text) in lines(bytes)? {
        any = true;
        if starts_with_ci(text, "otpauth-migration:") {
            let batch = migration::decode_batch(text)
                .map_err(|error| ImportError::Entry { line, error })?;
            report.accounts.extend(batch.accounts);
            report.skipped.extend(
                batch
                    .skipped
                    .into_iter()
                    .map(|(name, reason)| Skipped { name, reason }),
            );
        } else {
            let account = uri::parse(text).map_err(|error| ImportError::Entry { line, error })?;
            report.accounts.push(account);
        }
    }
    if !any {
        return Err(ImportError::Empty);
    }
    Ok(report)
}

impl Importer for UriListImporter {
    fn format(&self) -> Format {
        Format::UriList
    }

    fn detect(&self, bytes: &[u8]) -> bool {
        lines(bytes).is_ok_and(|mut l| {
            l.next().is_some_and(|(_, t)| {
                starts_with_ci(t, "otpauth:") || starts_with_ci(t, "otpauth-migration:")
            })
        })
    }

    fn import(&self, bytes: &[u8], _password: Option<&str>) -> Result<ImportReport, ImportError> {
        read(bytes, Format::UriList)
    }
}

impl Importer for MigrationImporter {
    fn format(&self) -> Format {
        Format::GoogleMigration
    }

    fn detect(&self, bytes: &[u8]) -> bool {
        lines(bytes).is_ok_and(|mut l| l.all(|(_, t)| starts_with_ci(t, "otpauth-migration:")))
            && lines(bytes).is_ok_and(|mut l| l.next().is_some())
    }

    fn import(&self, bytes: &[u8], _password: Option<&str>) -> Result<ImportReport, ImportError> {
        read(bytes, Format::GoogleMigration)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{detect, import, Format, ImportError};

    #[test]
    fn mixed_list_and_bad_line() {
        let ok = "# my codes\n\notpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\r\notpauth://hotp/B:b?secret=JBSWY3DPEHPK3PXP&counter=3\n";
        assert_eq!(detect(ok.as_bytes()), Some(Format::UriList));
        let r = import(ok.as_bytes(), None, None).unwrap();
        assert_eq!(r.accounts.len(), 2);
        let bad = format!("{ok}otpauth://totp/C:c?secret=JBSWY3DPEHPK3PXP&digits=0\n");
        match import(bad.as_bytes(), None, None) {
            Err(ImportError::Entry { line, .. }) => assert_eq!(line, 5),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            import(b"# nothing\n", Some(Format::UriList), None).unwrap_err(),
            ImportError::Empty
        );
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(&[0xff, 0xfe]), None);
    }
}
