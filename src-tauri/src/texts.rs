//! The few texts the shell itself shows, outside the webview: the tray menu, the push
//! notification and the approval window's title. The UI's own texts are i18next catalogues
//! (`ui/src/locales/*.json`); these handful are a `match` per language rather than a second
//! catalogue format, and a test checks every language has each of them.

use crate::wire::Locale;

/// One text the shell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Tray menu: bring the main window forward.
    TrayShow,
    /// Tray menu: lock the vault.
    TrayLock,
    /// Tray menu: quit.
    TrayQuit,
    /// The push notification's title.
    PushTitle,
    /// The approval window's title.
    ApprovalWindowTitle,
    /// Stands in for an empty application name in the notification.
    ASignIn,
}

/// `text` in `locale`.
pub fn text(locale: Locale, text: Text) -> &'static str {
    use Text::*;
    match (locale, text) {
        (Locale::En, TrayShow) => "Show Tessera",
        (Locale::En, TrayLock) => "Lock",
        (Locale::En, TrayQuit) => "Quit",
        (Locale::En, PushTitle) => "Sign-in request",
        (Locale::En, ApprovalWindowTitle) => "Tessera — sign-in request",
        (Locale::En, ASignIn) => "A sign-in",
        (Locale::Ja, TrayShow) => "Tessera を表示",
        (Locale::Ja, TrayLock) => "ロック",
        (Locale::Ja, TrayQuit) => "終了",
        (Locale::Ja, PushTitle) => "サインインのリクエスト",
        (Locale::Ja, ApprovalWindowTitle) => "Tessera — サインインのリクエスト",
        (Locale::Ja, ASignIn) => "サインイン",
    }
}

/// The push notification's body: who asks, at which site, from where.
pub fn push_body(locale: Locale, application: &str, origin: &str, place: &str) -> String {
    let app = if application.is_empty() {
        text(locale, Text::ASignIn)
    } else {
        application
    };
    match locale {
        Locale::En => {
            format!("{app} at {origin} from {place} — open Tessera and type the number shown")
        }
        Locale::Ja => format!(
            "{origin} の{app}（{place}）— Tessera を開いて、表示された番号を入力してください"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_texts_are_japanese() {
        for t in [
            Text::TrayShow,
            Text::TrayLock,
            Text::TrayQuit,
            Text::PushTitle,
            Text::ApprovalWindowTitle,
            Text::ASignIn,
        ] {
            let ja = text(Locale::Ja, t);
            assert_ne!(ja, text(Locale::En, t), "{t:?} has a Japanese text");
            assert!(!ja.is_empty());
        }
        let body = push_body(Locale::Ja, "", "https://id.example.com", "Tokyo");
        assert!(body.contains("https://id.example.com") && body.contains("Tokyo"));
        assert!(body.contains("サインイン"), "{body}");
        let body = push_body(Locale::En, "Payroll", "https://id.example.com", "10.0.0.1");
        assert!(body.starts_with("Payroll at https://id.example.com from 10.0.0.1"));
    }
}
