//! Which language the app shows: the user's setting, else the OS locale, else English.
//!
//! The OS locale comes from `sys-locale` (Linux: `LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`,
//! in that order; macOS and Windows: the user's preferred languages), read once at start. It is
//! read here rather than from the webview's `navigator.languages`, whose source differs between
//! WebKitGTK, WebView2 and WKWebView: every window then gets the same answer, and the shell's own
//! texts ([`crate::texts`]: tray menu, notification) use it too. The UI gets the result in
//! [`crate::wire::AppStatus::locale`] and translates itself (i18next, `ui/src/locales/`).

use crate::wire::{Language, Locale};

/// The OS's preferred locales as BCP 47 tags, most preferred first (may be empty).
pub fn os_locales() -> Vec<String> {
    sys_locale::get_locales().collect()
}

/// The language to show: an explicit setting wins; `system` takes the first OS locale the app
/// is translated into (`ja-JP`, `ja`, `en-GB`…); anything else (`C`, `POSIX`, `fr-FR` alone)
/// gives English.
pub fn resolve(setting: Language, os_locales: &[String]) -> Locale {
    match setting {
        Language::En => Locale::En,
        Language::Ja => Locale::Ja,
        Language::System => os_locales
            .iter()
            .find_map(|tag| supported(tag))
            .unwrap_or(Locale::En),
    }
}

/// The translated language a BCP 47 (or POSIX) tag names, by its primary subtag.
fn supported(tag: &str) -> Option<Locale> {
    let primary = tag.split(['-', '_', '.', '@']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "ja" => Some(Locale::Ja),
        "en" => Some(Locale::En),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_setting_wins_then_the_first_translated_os_locale_then_english() {
        let ja_os = tags(&["ja-JP"]);
        assert_eq!(resolve(Language::En, &ja_os), Locale::En);
        assert_eq!(resolve(Language::Ja, &tags(&["en-US"])), Locale::Ja);
        assert_eq!(resolve(Language::System, &ja_os), Locale::Ja);
        assert_eq!(
            resolve(Language::System, &tags(&["ja_JP.UTF-8"])),
            Locale::Ja
        );
        assert_eq!(
            resolve(Language::System, &tags(&["fr-FR", "ja"])),
            Locale::Ja
        );
        assert_eq!(
            resolve(Language::System, &tags(&["en-GB", "ja"])),
            Locale::En
        );
        for os in [tags(&["C"]), tags(&["POSIX"]), tags(&["fr-FR"]), tags(&[])] {
            assert_eq!(resolve(Language::System, &os), Locale::En, "{os:?}");
        }
    }
}
