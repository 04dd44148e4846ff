//! The account center page at `/account`: static HTML, CSS and JavaScript embedded in the
//! binary (`assets/`), with the hosted sign-in's headers (strict CSP with no inline script or
//! style, Trusted Types, no framing, `no-store`) and its stylesheet's design tokens
//! (`/signin/assets/signin.css` is linked first, `account.css` adds the account layout).
//! Without a live session the page redirects to the sign-in, which comes back here.

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::error::Result;
use crate::signin::pages::serve;
use crate::AppState;

const HTML: &str = include_str!("assets/account.html");
const SCRIPT: &str = include_str!("assets/account.js");
const STYLE: &str = include_str!("assets/account.css");

/// Where a browser without a session is sent: the hosted sign-in, which returns to `/account`.
pub const SIGN_IN: &str = "/signin?return_to=%2Faccount";

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/assets/account.js", get(script))
        .route("/account/assets/account.css", get(style))
}

/// The page in the user's language: their saved choice, then the `tessera_lang` cookie, then
/// `Accept-Language` ([`crate::i18n::negotiate`]).
async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let asked = headers.clone();
    let signed_in = state
        .blocking(move |s| {
            let Some((_, _, session)) = super::api::live_session(s, &asked)? else {
                return Ok(None);
            };
            Ok(Some(
                s.store().get_user(&session.user_id)?.and_then(|u| u.locale),
            ))
        })
        .await?;
    let Some(saved) = signed_in else {
        let mut r = serve("", "text/plain; charset=utf-8", "no-store");
        *r.status_mut() = StatusCode::SEE_OTHER;
        r.headers_mut()
            .insert(LOCATION, HeaderValue::from_static(SIGN_IN));
        return Ok(r);
    };
    let locale = crate::i18n::negotiate(&headers, saved.as_deref());
    Ok(rendered(locale))
}

/// The page's HTML in `locale`, with the pages' headers.
fn rendered(locale: crate::i18n::Locale) -> Response {
    let html = crate::i18n::render_page(HTML, "account", locale);
    let mut r = serve("", "text/html; charset=utf-8", "no-store");
    *r.body_mut() = axum::body::Body::from(html.to_string());
    r.headers_mut().insert(
        axum::http::header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    r.headers_mut().insert(
        axum::http::header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    r
}

// Revalidated rather than cached for long: the URLs carry no version.
async fn script() -> Response {
    serve(SCRIPT, "text/javascript; charset=utf-8", "no-cache")
}

async fn style() -> Response {
    serve(STYLE, "text/css; charset=utf-8", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn assets_carry_the_security_headers() {
        for (r, kind) in [
            (script().await, "text/javascript"),
            (style().await, "text/css"),
        ] {
            let h = |n: &str| r.headers().get(n).unwrap().to_str().unwrap().to_owned();
            assert!(h("content-type").starts_with(kind));
            assert_eq!(h("cache-control"), "no-cache");
            assert!(!h("content-security-policy").contains("unsafe-"));
            assert_eq!(h("x-frame-options"), "DENY");
        }
    }

    /// The CSP forbids inline script and style: the HTML must not need them.
    #[test]
    fn the_html_has_no_inline_script_style_or_handler() {
        let lower = HTML.to_lowercase();
        assert!(!lower.contains("<style"), "no <style> element");
        assert!(!lower.contains(" style="), "no style attribute");
        for (i, _) in lower.match_indices("<script") {
            let tag = &lower[i..i + lower[i..].find('>').unwrap()];
            assert!(
                tag.contains(" src=") || tag.contains("type=\"application/json\""),
                "every script is external (or data the browser never runs): {tag}"
            );
        }
        let handler = lower
            .split(|c: char| c.is_whitespace())
            .find(|w| w.starts_with("on") && w.contains('='));
        assert_eq!(handler, None, "no inline event handler attribute");
    }

    /// Every id the script looks up is in the HTML and listed in its header comment.
    #[test]
    fn every_id_the_script_uses_is_in_the_html() {
        let (comment, body) = HTML.split_once("-->").unwrap();
        let mut n = 0;
        for (i, _) in SCRIPT.match_indices("$(\"") {
            let rest = &SCRIPT[i + 3..];
            let id = &rest[..rest.find('"').unwrap()];
            assert!(
                body.contains(&format!("id=\"{id}\"")),
                "#{id} is used by account.js but not in account.html"
            );
            assert!(
                comment.contains(id),
                "#{id} is listed in the header comment"
            );
            n += 1;
        }
        assert!(n > 20, "the script looks up its elements by id");
    }

    /// Every text the page shows comes from the catalogues (locales/{en,ja}/account.ftl): the
    /// HTML's texts are markers, the script takes its texts from the rendered #i18n block
    /// through `t()` and has no English of its own. (That every id used exists in both
    /// languages is `i18n::tests::every_text_a_page_uses_is_in_both_catalogues`.)
    #[test]
    fn the_script_keeps_its_texts_in_one_catalogue() {
        assert!(SCRIPT.contains(r#"JSON.parse(document.getElementById("i18n").textContent)"#));
        assert!(!SCRIPT.contains("TEXTS"), "no catalogue of its own");
        assert!(!SCRIPT.contains("innerHTML"), "no HTML sink");
        // No English sentence in a string of the script: a text is an id, an error is a code.
        for (n, line) in SCRIPT.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for lit in code.split('"').skip(1).step_by(2) {
                let words = lit
                    .split(' ')
                    .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic()))
                    .count();
                assert!(
                    words < 3,
                    "line {}: English text in the script: {lit:?}",
                    n + 1
                );
            }
        }
        // The HTML's visible texts are markers (brand and language names aside).
        let (_, body) = HTML.split_once("-->").unwrap();
        for piece in body.split('>').skip(1) {
            let text = piece.split('<').next().unwrap_or("").trim();
            let allowed = ["", "Tessera", "English", "日本語", "·", ":", "/100 —"];
            assert!(
                allowed.contains(&text) || (text.starts_with("{{") && text.ends_with("}}")),
                "a text of the HTML that is not a catalogue marker: {text:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_page_is_rendered_in_english_and_japanese_with_no_marker_left() {
        let en = rendered(crate::i18n::Locale::En);
        let ja = rendered(crate::i18n::Locale::Ja);
        assert_eq!(en.headers()["content-language"], "en");
        assert_eq!(ja.headers()["content-language"], "ja");
        let text = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap();
            String::from_utf8(b.to_vec()).unwrap()
        };
        let (en, ja) = (text(en).await, text(ja).await);
        assert!(en.contains("<html lang=\"en\">") && ja.contains("<html lang=\"ja\">"));
        assert!(en.contains(">Sign-in methods</h2>"), "{en}");
        assert!(ja.contains(">サインイン方法</h2>"), "{ja}");
        assert!(ja.contains(">バックアップコード</h2>"), "{ja}");
        for page in [&en, &ja] {
            let (_, body) = page.split_once("-->").unwrap();
            assert!(!body.contains("{{"), "a marker is left");
        }
    }
}
