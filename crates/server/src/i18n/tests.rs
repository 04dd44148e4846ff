//! The catalogues are complete in both languages and every text a page uses exists.

use super::*;

#[test]
fn every_catalogue_parses_without_errors_and_no_id_is_defined_twice() {
    for (file, en, ja) in SOURCES {
        for (lang, src) in [("en", en), ("ja", ja)] {
            if let Err((_, errors)) = FluentResource::try_new((*src).to_owned()) {
                panic!("locales/{lang}/{file}.ftl: {errors:?}");
            }
        }
    }
    for locale in LOCALES {
        let mut seen = BTreeMap::new();
        for (file, en, ja) in SOURCES {
            let src = if locale == Locale::En { en } else { ja };
            let Ok(r) = FluentResource::try_new((*src).to_owned()) else {
                unreachable!()
            };
            for e in r.entries() {
                if let ast::Entry::Message(m) = e {
                    if let Some(other) = seen.insert(m.id.name.to_owned(), *file) {
                        panic!("{} is in {other}.ftl and {file}.ftl", m.id.name);
                    }
                    assert!(
                        m.id.name.starts_with(&format!("{file}-"))
                            || (*file == "errors" && m.id.name.starts_with("error-")),
                        "{}: ids of {file}.ftl start with `{file}-`",
                        m.id.name
                    );
                }
            }
        }
    }
}

/// A key missing in either language, an empty text or a variable one language forgot fails.
#[test]
fn english_and_japanese_have_the_same_messages_with_the_same_variables() {
    let en: BTreeSet<_> = ids(Locale::En).keys().collect();
    let ja: BTreeSet<_> = ids(Locale::Ja).keys().collect();
    let only_en: Vec<_> = en.difference(&ja).collect();
    let only_ja: Vec<_> = ja.difference(&en).collect();
    assert!(only_en.is_empty(), "missing in Japanese: {only_en:?}");
    assert!(only_ja.is_empty(), "missing in English: {only_ja:?}");
    for id in en {
        for locale in LOCALES {
            assert!(
                !text(locale, id, &[]).trim().is_empty(),
                "{id} is empty in {}",
                locale.tag()
            );
        }
        assert_eq!(
            variables(Locale::En, id),
            variables(Locale::Ja, id),
            "{id}: the same variables in both languages"
        );
    }
}

/// A Japanese text that is the English one was not translated. Product names and codes may be
/// the same in both.
#[test]
fn japanese_texts_are_translated() {
    for id in ids(Locale::En).keys() {
        let en = text(Locale::En, id, &[]);
        let ja = text(Locale::Ja, id, &[]);
        if en == ja {
            assert!(
                !en.chars().any(|c| c.is_ascii_lowercase()),
                "{id} is not translated: {ja:?}"
            );
        }
    }
}

/// Every `{{id}}` of a page's HTML and every `t("id")` of its script exists in both languages
/// (a prefix such as `t("signin-method-" + m)` must begin at least one id).
#[test]
fn every_text_a_page_uses_is_in_both_catalogues() {
    for crate::page_checks::Page {
        surface: page,
        html,
        script,
        ..
    } in crate::page_checks::PAGES
    {
        for id in markers(html).into_iter().chain(script_ids(script)) {
            for locale in LOCALES {
                if id.ends_with('-') {
                    assert!(
                        ids(locale).keys().any(|k| k.starts_with(id)),
                        "{page}: no message starts with {id} in {}",
                        locale.tag()
                    );
                } else {
                    assert!(
                        has(locale, id),
                        "{page}: {id} is missing in {}",
                        locale.tag()
                    );
                }
            }
        }
    }
}

#[test]
fn a_page_is_rendered_in_its_language_with_escaped_texts_and_a_safe_catalogue() {
    let html = "<html lang=\"{{lang}}\"><title>{{signin-page-title}}</title>\
        <script type=\"application/json\" id=\"i18n\">{{i18n}}</script><p>{{signin-unknown-step}}</p>";
    let ja = render_uncached(html, "signin", Locale::Ja);
    assert!(
        ja.starts_with("<html lang=\"ja\"><title>サインイン — Tessera</title>"),
        "{ja}"
    );
    // A variable the script fills stays a marker.
    assert!(
        ja.contains("このページは「{step}」という手順に対応していません。"),
        "{ja}"
    );
    let json = ja
        .split("id=\"i18n\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .unwrap();
    let messages: BTreeMap<String, String> = serde_json::from_str(json).unwrap();
    assert_eq!(messages["signin-continue"], "次へ");
    assert_eq!(messages["signin-to-continue"], "{app} を続行するには");
    assert_eq!(
        messages["error-network"],
        text(Locale::Ja, "error-network", &[])
    );
    assert!(
        !messages.keys().any(|k| k.starts_with("account-")),
        "only this page's texts"
    );
    let en = render_uncached(html, "signin", Locale::En);
    assert!(
        en.contains("<p>This page does not know the step “{step}”.</p>"),
        "{en}"
    );

    // Markup in a text cannot close the data block or start an element.
    let mut m = BTreeMap::new();
    m.insert("k".to_owned(), "</script><img src=x>&amp;".to_owned());
    let safe = script_json(&m);
    assert!(
        !safe.contains('<') && !safe.contains('>') && !safe.contains('&'),
        "{safe}"
    );
    let back: BTreeMap<String, String> = serde_json::from_str(&safe).unwrap();
    assert_eq!(back, m);
    assert_eq!(
        escape_html("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn the_language_is_the_users_then_the_cookies_then_the_browsers_then_english() {
    let mut h = HeaderMap::new();
    assert_eq!(negotiate(&h, None), Locale::En);
    h.insert(
        ACCEPT_LANGUAGE,
        "fr-FR, ja;q=0.8, en;q=0.5".parse().unwrap(),
    );
    assert_eq!(negotiate(&h, None), Locale::Ja);
    h.insert(
        axum::http::header::COOKIE,
        "a=b; tessera_lang=en".parse().unwrap(),
    );
    assert_eq!(negotiate(&h, None), Locale::En);
    assert_eq!(negotiate(&h, Some("ja")), Locale::Ja);
    // An unknown saved choice or cookie falls through to the next source.
    assert_eq!(negotiate(&h, Some("de")), Locale::En);
    h.insert(
        axum::http::header::COOKIE,
        "tessera_lang=xx".parse().unwrap(),
    );
    assert_eq!(negotiate(&h, None), Locale::Ja);
    assert_eq!(Locale::parse("ja_JP.UTF-8"), Some(Locale::Ja));
    assert_eq!(Locale::parse("EN-us"), Some(Locale::En));
    assert_eq!(Locale::from_accept_language(Some("ja;q=0, de")), Locale::En);
}

#[test]
fn texts_take_their_variables_and_fall_back_to_english_then_the_id() {
    assert_eq!(
        text(Locale::Ja, "signin-to-continue", &[("app", "経費精算")]),
        "経費精算 を続行するには"
    );
    assert_eq!(text(Locale::Ja, "no-such-message", &[]), "no-such-message");
    assert_eq!(
        variables(Locale::En, "signin-sent-email"),
        ["time", "to"].into_iter().map(String::from).collect()
    );
    assert_eq!(
        script_ids("a.split(\"x\"); t(\"one\"); t('two', {}); format(\"no\")"),
        vec!["one", "two"]
    );
    assert_eq!(
        markers("{{lang}} {{ a-b }} {{i18n}} {{c}}"),
        vec!["a-b", "c"]
    );
}
