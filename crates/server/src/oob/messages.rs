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

/// The email carrying a code and, when given, its magic link (EM-1).
pub fn code_email(
    locale: Locale,
    purpose: Purpose,
    username: &str,
    code: &str,
    link: Option<&str>,
    minutes: u32,
) -> Email {
    let (subject, greeting, intro, link_intro, outro) = match locale {
        Locale::En => (
            match purpose {
                Purpose::SignIn => "Your Tessera sign-in code",
                Purpose::Reset => "Reset your Tessera password",
                Purpose::Unlock => "Unlock your Tessera account",
                Purpose::Verify => "Confirm your email address for Tessera",
            }
            .to_owned(),
            format!("Hello {username},"),
            match purpose {
                Purpose::SignIn => "Your code to sign in to Tessera is:",
                Purpose::Reset => "Your code to reset your Tessera password is:",
                Purpose::Unlock => "Your code to unlock your Tessera account is:",
                Purpose::Verify => "Your code to confirm this address for your Tessera account is:",
            }
            .to_owned(),
            "Or open this link in the browser where you asked for it:".to_owned(),
            format!(
                "The code and the link expire in {minutes} minutes and work once. If you did \
                 not ask for this, ignore this email, and tell your administrator."
            ),
        ),
        Locale::Ja => (
            match purpose {
                Purpose::SignIn => "Tessera サインイン確認コード",
                Purpose::Reset => "Tessera パスワードの再設定",
                Purpose::Unlock => "Tessera アカウントのロック解除",
                Purpose::Verify => "Tessera メールアドレスの確認",
            }
            .to_owned(),
            format!("{username} 様"),
            match purpose {
                Purpose::SignIn => "Tessera にサインインするための確認コードです:",
                Purpose::Reset => "Tessera のパスワードを再設定するための確認コードです:",
                Purpose::Unlock => "Tessera アカウントのロックを解除するための確認コードです:",
                Purpose::Verify => {
                    "このメールアドレスを Tessera アカウントで確認するための確認コードです:"
                }
            }
            .to_owned(),
            "または、コードを要求したブラウザーで次のリンクを開いてください:".to_owned(),
            format!(
                "コードとリンクの有効期限は {minutes} 分で、一度だけ使用できます。\
                 心当たりがない場合は、このメールを無視し、管理者に連絡してください。"
            ),
        ),
    };
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
    match locale {
        Locale::En => {
            format!("Your Tessera code is {code}. It expires in {minutes} min. Never share it.")
        }
        Locale::Ja => {
            format!(
                "Tessera の確認コード: {code}（有効期限 {minutes} 分）。他人に教えないでください。"
            )
        }
    }
}

/// What a voice call reads out: the code character by character, twice.
pub fn code_voice(locale: Locale, code: &str) -> String {
    let sep = match locale {
        Locale::En => ", ",
        Locale::Ja => "、",
    };
    let spelled = code.chars().map(String::from).collect::<Vec<_>>().join(sep);
    match locale {
        Locale::En => format!("Your Tessera code is: {spelled}. Again: {spelled}."),
        Locale::Ja => format!("Tessera の確認コードは {spelled} です。繰り返します。{spelled}。"),
    }
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
    match locale {
        Locale::En => {
            let line = match change {
                Change::Added => format!("A sign-in method was added to your account: {what}."),
                Change::Removed => {
                    format!("A sign-in method was removed from your account: {what}.")
                }
                Change::CodesRegenerated => {
                    "New backup codes were created for your account; the old ones no longer work."
                        .to_owned()
                }
            };
            (
                "A change to how you sign in to Tessera".to_owned(),
                format!(
                    "{line}\nWhen: {at_utc} (UTC)\nIf this was not you, tell your administrator at once."
                ),
            )
        }
        Locale::Ja => {
            let line = match change {
                Change::Added => format!("アカウントにサインイン方法が追加されました: {what}。"),
                Change::Removed => {
                    format!("アカウントからサインイン方法が削除されました: {what}。")
                }
                Change::CodesRegenerated => {
                    "新しいバックアップコードが作成されました。以前のコードは使用できません。"
                        .to_owned()
                }
            };
            (
                "Tessera のサインイン方法が変更されました".to_owned(),
                format!(
                    "{line}\n日時: {at_utc}（UTC）\n心当たりがない場合は、すぐに管理者に連絡してください。"
                ),
            )
        }
    }
}

/// The name of a method in a notice.
pub fn method_name(locale: Locale, channel: &str) -> &'static str {
    match (locale, channel) {
        (Locale::En, "otp" | "totp") => "an authenticator app",
        (Locale::En, "email") => "email codes",
        (Locale::En, "sms") => "text-message codes",
        (Locale::En, "voice") => "voice-call codes",
        (Locale::En, "push") => "the Tessera app",
        (Locale::En, "passkey") => "a passkey",
        (Locale::En, _) => "a sign-in method",
        (Locale::Ja, "otp" | "totp") => "認証アプリ",
        (Locale::Ja, "email") => "メールによるコード",
        (Locale::Ja, "sms") => "SMS によるコード",
        (Locale::Ja, "voice") => "音声通話によるコード",
        (Locale::Ja, "push") => "Tessera アプリ",
        (Locale::Ja, "passkey") => "パスキー",
        (Locale::Ja, _) => "サインイン方法",
    }
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
