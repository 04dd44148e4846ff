//! otpauth URI list: one Key URI per line, readable by nearly every authenticator.

use crate::account::Account;

/// The accounts as `otpauth://` URIs, one per line, newline-terminated.
pub fn to_text(accounts: &[Account]) -> String {
    let mut out = String::new();
    for a in accounts {
        out.push_str(&crate::uri::to_uri(a));
        out.push('\n');
    }
    out
}
