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
