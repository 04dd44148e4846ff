//! The console's texts in English and Japanese (`crates/server/locales/{en,ja}/admin.ftl`),
//! until the shared `crate::i18n` replaces this with the same calls: [`negotiate`] picks the
//! language, [`render_page`] fills the page's `{{id}}` markers and its `{{i18n}}` catalogue.
//! Messages are one line each: `id = text`, variables as `{ $name }`.

use axum::http::HeaderMap;

const EN: &str = include_str!("../../locales/en/admin.ftl");
const JA: &str = include_str!("../../locales/ja/admin.ftl");

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl Locale {
    /// The language tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "ja" => Some(Locale::Ja),
            _ => None,
        }
    }
}

/// The user's saved language, then the `tessera_lang` cookie, then `Accept-Language` (by
/// weight), then English.
pub fn negotiate(headers: &HeaderMap, user_setting: Option<&str>) -> Locale {
    if let Some(l) = user_setting.and_then(Locale::parse) {
        return l;
    }
    if let Some(l) = crate::device::http::cookie(headers, "tessera_lang").and_then(Locale::parse) {
        return l;
    }
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Locale)> = None;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("");
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(l) = Locale::parse(tag) {
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, l));
            }
        }
    }
    best.map_or(Locale::En, |(_, l)| l)
}

/// The messages of a catalogue, in file order.
pub fn messages(locale: Locale) -> Vec<(&'static str, String)> {
    let text = match locale {
        Locale::En => EN,
        Locale::Ja => JA,
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(" = "))
        .map(|(id, v)| (id.trim(), v.trim().to_owned()))
        .collect()
}

/// A message with its variables as `{name}` (what the page's `t()` fills).
fn js_form(v: &str) -> String {
    v.replace("{ $", "{").replace(" }", "}")
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `html` with `{{lang}}`, every `{{message-id}}` (escaped) and `{{i18n}}` (the whole
/// catalogue as JSON, safe inside `<script type="application/json">`) filled in.
pub fn render_page(html: &str, _page: &str, locale: Locale) -> String {
    let msgs = messages(locale);
    let mut out = String::with_capacity(html.len() + 8192);
    let mut rest = html;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let key = &after[..j];
        match key {
            "lang" => out.push_str(locale.tag()),
            "i18n" => {
                let map: serde_json::Map<String, serde_json::Value> = msgs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(js_form(v))))
                    .collect();
                let json = serde_json::Value::Object(map).to_string();
                out.push_str(
                    &json
                        .replace('<', "\\u003c")
                        .replace('>', "\\u003e")
                        .replace('&', "\\u0026"),
                );
            }
            id => match msgs.iter().find(|(k, _)| *k == id) {
                Some((_, v)) => out.push_str(&escape_html(&js_form(v))),
                None => out.push_str(id),
            },
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("accept-language", accept.parse().unwrap());
        h
    }

    #[test]
    fn the_language_follows_the_setting_then_accept_language() {
        assert_eq!(negotiate(&headers("ja,en;q=0.8"), None), Locale::Ja);
        assert_eq!(negotiate(&headers("en-US,ja;q=0.5"), None), Locale::En);
        assert_eq!(negotiate(&headers("fr, ja-JP;q=0.3"), None), Locale::Ja);
        assert_eq!(negotiate(&headers("fr"), None), Locale::En);
        assert_eq!(negotiate(&headers("ja"), Some("en")), Locale::En);
    }

    #[test]
    fn both_catalogues_have_the_same_ids_and_variables() {
        let en = messages(Locale::En);
        let ja = messages(Locale::Ja);
        let vars = |v: &str| {
            let mut names: Vec<String> = v
                .split("{ $")
                .skip(1)
                .map(|s| s.split(' ').next().unwrap_or("").to_owned())
                .collect();
            names.sort();
            names
        };
        assert!(en.len() > 100);
        for (id, v) in &en {
            assert!(id.starts_with("admin-"), "{id}");
            let other = ja.iter().find(|(k, _)| k == id);
            let Some((_, jv)) = other else {
                panic!("{id} is missing in ja/admin.ftl")
            };
            assert_eq!(vars(v), vars(jv), "the variables of {id}");
        }
        assert_eq!(en.len(), ja.len(), "ja/admin.ftl has no extra id");
    }

    #[test]
    fn markers_are_filled_and_escaped() {
        let out = render_page(
            "<html lang=\"{{lang}}\"><title>{{admin-title}}</title><script type=\"application/json\" id=\"i18n\">{{i18n}}</script>",
            "admin",
            Locale::Ja,
        );
        assert!(out.starts_with("<html lang=\"ja\">"));
        assert!(!out.contains("{{"));
        assert!(!out.contains("</script><"), "{out}");
    }
}
