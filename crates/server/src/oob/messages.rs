//! What the email, SMS and voice messages say, in English and Japanese. The code and the link
//! go into the message only; nothing here is logged.

pub use crate::i18n::Locale;

/// Why a code is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A second factor in the hosted sign-in.
    SignIn,
    /// Self-service password reset (EM-5).
    Reset,
    /// Self-service unlock (EM-5).
    Unlock,
    /// Confirming a new address or number before it becomes the user's (EM-6).
    Verify,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "signin",
            Purpose::Reset => "reset",
            Purpose::Unlock => "unlock",
            Purpose::Verify => "verify",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "signin" => Some(Purpose::SignIn),
            "reset" => Some(Purpose::Reset),
            "unlock" => Some(Purpose::Unlock),
            "verify" => Some(Purpose::Verify),
            _ => None,
        }
    }
}

/// An email: subject, plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn t(locale: Locale, id: &str, vars: &[(&str, &str)]) -> String {
    crate::i18n::text(locale, id, vars)
}

/// The email carrying a code and, when given, its magic link (EM-1). Texts: locales/*/mail.ftl.
pub fn code_email(
    locale: Locale,
    purpose: Purpose,
    username: &str,
    code: &str,
    link: Option<&str>,
    minutes: u32,
) -> Email {
    let p = purpose.as_str();
    let subject = t(locale, &format!("mail-subject-{p}"), &[]);
    let greeting = t(locale, "mail-greeting", &[("user", username)]);
    let intro = t(locale, &format!("mail-intro-{p}"), &[]);
    let link_intro = t(locale, "mail-link-intro", &[]);
    let outro = t(locale, "mail-outro", &[("minutes", &minutes.to_string())]);
    let mut text = format!("{greeting}\n\n{intro}\n\n    {code}\n\n");
    let mut html = format!(
        "<!doctype html><html lang=\"{}\"><body><p>{}</p><p>{}</p>\
         <p style=\"font-size:24px;font-family:monospace;letter-spacing:4px\"><strong>{}</strong></p>",
        locale.tag(),
        escape_html(&greeting),
        escape_html(&intro),
        escape_html(code)
    );
    if let Some(link) = link {
        text.push_str(&format!("{link_intro}\n{link}\n\n"));
        html.push_str(&format!(
            "<p>{}<br><a href=\"{}\">{}</a></p>",
            escape_html(&link_intro),
            escape_html(link),
            escape_html(link)
        ));
    }
    text.push_str(&outro);
    text.push('\n');
    html.push_str(&format!("<p>{}</p></body></html>", escape_html(&outro)));
    Email {
        subject,
        text,
        html,
    }
}

/// The SMS carrying a code.
pub fn code_sms(locale: Locale, code: &str, minutes: u32) -> String {
    t(
        locale,
        "mail-sms-code",
        &[("code", code), ("minutes", &minutes.to_string())],
    )
}

/// What a voice call reads out: the code character by character, twice.
pub fn code_voice(locale: Locale, code: &str) -> String {
    // How the language separates the characters read out (punctuation, not a message).
    let sep = match locale {
        Locale::En => ", ",
        Locale::Ja => "、",
    };
    let spelled = code.chars().map(String::from).collect::<Vec<_>>().join(sep);
    t(locale, "mail-voice-code", &[("spelled", &spelled)])
}

/// A change to the user's sign-in methods (IBM-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A method was added.
    Added,
    /// A method was removed.
    Removed,
    /// New backup codes replaced the old ones.
    CodesRegenerated,
}

/// The notice of a change: subject and text (the SMS is the text).
pub fn change_notice(locale: Locale, change: Change, what: &str, at_utc: &str) -> (String, String) {
    let line = match change {
        Change::Added => t(locale, "mail-notice-added", &[("what", what)]),
        Change::Removed => t(locale, "mail-notice-removed", &[("what", what)]),
        Change::CodesRegenerated => t(locale, "mail-notice-codes", &[]),
    };
    (
        t(locale, "mail-notice-subject", &[]),
        format!(
            "{line}\n{}\n{}",
            t(locale, "mail-notice-when", &[("at", at_utc)]),
            t(locale, "mail-notice-not-you", &[])
        ),
    )
}

/// The name of a method in a notice.
pub fn method_name(locale: Locale, channel: &str) -> String {
    let id = match channel {
        "otp" | "totp" => "otp",
        "email" | "sms" | "voice" | "push" | "passkey" => channel,
        _ => "other",
    };
    t(locale, &format!("mail-method-{id}"), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_english_and_japanese() {
        assert_eq!(Locale::from_accept_language(None), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("ja")), Locale::Ja);
        assert_eq!(
            Locale::from_accept_language(Some("ja-JP,ja;q=0.9,en;q=0.8")),
            Locale::Ja
        );
        assert_eq!(
            Locale::from_accept_language(Some("fr,en;q=0.5,ja;q=0.4")),
            Locale::En
        );
        assert_eq!(
            Locale::from_accept_language(Some("en;q=0.2,ja;q=0.9")),
            Locale::Ja
        );
        assert_eq!(Locale::from_accept_language(Some("de")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("ja;q=0")), Locale::En);
    }

    #[test]
    fn the_email_carries_the_code_and_link_in_both_parts_and_escapes_html() {
        let m = code_email(
            Locale::En,
            Purpose::SignIn,
            "<b>al</b>",
            "123456",
            Some("https://x/?t=a&b"),
            5,
        );
        assert!(m.text.contains("123456") && m.text.contains("https://x/?t=a&b"));
        assert!(m.html.contains("123456") && m.html.contains("https://x/?t=a&amp;b"));
        assert!(!m.html.contains("<b>al</b>") && m.html.contains("&lt;b&gt;al&lt;/b&gt;"));
        let ja = code_email(Locale::Ja, Purpose::Reset, "al", "1", None, 10);
        assert!(ja.subject.contains("パスワード") && ja.text.contains("10 分"));
        assert!(!ja.text.contains("http"));
    }

    #[test]
    fn the_voice_message_spells_the_code_twice() {
        assert_eq!(
            code_voice(Locale::En, "42"),
            "Your Tessera code is: 4, 2. Again: 4, 2."
        );
    }
}
