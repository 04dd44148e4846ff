//! A text file of `otpauth://` Key URIs, one per line (blank lines and `#` comments ignored).
//! `otpauth-migration://` lines are decoded too. A line that does not parse fails the whole
//! import, naming its line number; a file with no entries is [`InteropError::Empty`].

use super::{Format, ImportReport, Importer, InteropError, Password, Probe, Result};

/// Reads otpauth URI lists.
#[derive(Debug)]
pub(crate) struct UriList;

pub(crate) fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The non-blank, non-comment lines with their 1-based numbers.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

pub(crate) fn text(format: Format, bytes: &[u8]) -> Result<&str> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        InteropError::malformed(format, format!("not UTF-8 at byte {}", e.valid_up_to()))
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Reads one line into the report: a Key URI or a migration URI. A line that does not parse
/// fails the import, naming its number.
pub(crate) fn read_line(report: &mut ImportReport, number: usize, line: &str) -> Result<()> {
    let entry = || format!("line {number}");
    if starts_with_ignore_case(line, "otpauth-migration:") {
        let batch = crate::migration::decode_batch(line).map_err(|error| InteropError::Entry {
            entry: entry(),
            error,
        })?;
        for a in batch.accounts {
            report.push(entry, a)?;
        }
        for (name, reason) in batch.skipped {
            report.skip(name, reason);
        }
        Ok(())
    } else {
        report.push_result(entry, crate::uri::parse(line))
    }
}

impl Importer for UriList {
    fn format(&self) -> Format {
        Format::UriList
    }

    fn detect(&self, probe: &Probe<'_>) -> bool {
        probe
            .first_line()
            .is_some_and(|l| starts_with_ignore_case(l, "otpauth:"))
    }

    fn import(&self, bytes: &[u8], _password: Option<&Password>) -> Result<ImportReport> {
        let text = text(Format::UriList, bytes)?;
        let mut report = ImportReport::new(Format::UriList);
        for (number, line) in lines(text) {
            read_line(&mut report, number, line)?;
        }
        report.non_empty()
    }
}
