//! The audit log's event types, what each one came to (`success` or `failure`), and the CSV the
//! log is exported as.
//!
//! [`KINDS`] lists every type the code writes; a unit test reads the server's sources and fails
//! when a type is written that is not listed here, so the `result` filter and field stay true.

use serde::{Deserialize, Serialize};

use crate::model::AuditEvent;

/// What an audit event came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditResult {
    /// The action happened (a verification passed, a change was made, a message was sent).
    Success,
    /// Something was refused or went wrong (a wrong code, a lockout, a denied push, a refused
    /// sign-in, a message that could not be sent).
    Failure,
}

impl AuditResult {
    /// `success` / `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Failure => "failure",
        }
    }

    /// Parses `success` / `failure`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(AuditResult::Success),
            "failure" => Some(AuditResult::Failure),
            _ => None,
        }
    }
}

use AuditResult::{Failure, Success};

/// Every audit event type the server writes, and its result.
pub const KINDS: &[(&str, AuditResult)] = &[
    // OTP / recovery-code factors (store verify, factors).
    ("enroll", Success),
    ("confirm", Success),
    ("verify_ok", Success),
    ("verify_fail", Failure),
    ("verify_refused", Failure),
    ("lockout", Failure),
    ("unlock", Success),
    ("delete", Success),
    ("delete_all", Success),
    ("regenerate", Success),
    ("token_use", Success),
    ("token_issued", Success),
    ("token_revoke", Success),
    ("password_fail", Failure),
    // Users.
    ("mfa_prompt_reset", Success),
    ("user_delete", Success),
    ("password.reset_sent", Success),
    ("password.reset", Success),
    ("unlock.self", Success),
    ("user.blocked", Success),
    ("user.unblocked", Success),
    // Console, policy, settings, applications.
    ("console.request", Success),
    ("policy.updated", Success),
    ("settings.changed", Success),
    ("application.created", Success),
    ("application.updated", Success),
    ("application.deleted", Success),
    ("application.secret_rotated", Success),
    // OpenID Connect.
    ("oidc.key_rotated", Success),
    ("oidc.code_issued", Success),
    ("oidc.token_issued", Success),
    ("oidc.code_refused", Failure),
    ("oidc.code_reused", Failure),
    // Hosted sign-in and the account center.
    ("signin.ok", Success),
    ("signin.denied", Failure),
    ("session.ended", Success),
    ("account.step_up", Success),
    // Email / SMS / voice codes and contacts.
    ("oob.sent", Success),
    ("oob.used", Success),
    ("oob.limited", Failure),
    ("contact.enrolled", Success),
    ("contact.removed", Success),
    ("notify.sent", Success),
    ("notify.failed", Failure),
    // Passkeys.
    ("passkey.refused", Failure),
    ("passkey.cloned", Failure),
    // The device factor.
    ("device.offer_created", Success),
    ("device.enrolled", Success),
    ("device.removed", Success),
    ("push.created", Success),
    ("push.approved", Success),
    ("push.consumed", Success),
    ("push.denied", Failure),
    ("push.wrong_number", Failure),
    ("push.not_me", Failure),
    ("push.expired", Failure),
    ("qr_login.approved", Success),
    ("qr_login.redeemed", Success),
    ("qr_login.denied", Failure),
    ("qr_login.expired", Failure),
];

/// Whether `kind` is listed in [`KINDS`].
pub fn is_known(kind: &str) -> bool {
    KINDS.iter().any(|(k, _)| *k == kind)
}

/// The result of an event of type `kind`: `failure` for the types listed as failures, else
/// `success` (a type no longer written, kept in old rows, counts as a success).
pub fn result_of(kind: &str) -> AuditResult {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Success, |(_, r)| *r)
}

/// The failure types as an SQL list (`'verify_fail','lockout',…`), for `kind IN (…)`. The types
/// are constants of `[a-z_.]` (a unit test checks), so they need no escaping.
pub fn failure_sql_list() -> String {
    KINDS
        .iter()
        .filter(|(_, r)| *r == Failure)
        .map(|(k, _)| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The most rows one export returns (`GET /api/v2/logs/export`); the response says when more
/// events matched (`X-Tessera-Export-Truncated: true`).
pub const EXPORT_MAX_ROWS: u64 = 100_000;

/// The header row of the CSV export.
pub const CSV_HEADER: &str = "id,time,user_id,type,result,authenticator_id,detail\r\n";

/// One CSV cell (RFC 4180): quoted, inner quotes doubled; a value a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`
/// so it stays text (OWASP "CSV injection").
pub fn csv_cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    for ch in value.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// One event as a CSV line (CRLF-terminated), in [`CSV_HEADER`]'s order.
pub fn csv_row(e: &AuditEvent) -> String {
    let cells = [
        e.id.to_string(),
        rfc3339(e.at),
        e.user_id.clone().unwrap_or_default(),
        e.kind.clone(),
        result_of(&e.kind).as_str().to_owned(),
        e.authenticator_id.clone().unwrap_or_default(),
        e.detail.clone(),
    ];
    let mut line = cells
        .iter()
        .map(String::as_str)
        .map(csv_cell)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Unix seconds as an RFC 3339 UTC time (`2026-12-07T09:52:37Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (the era arithmetic: 400-year eras of
/// 146,097 days, years starting on 1 March so the leap day comes last).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests;
