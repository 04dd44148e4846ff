//! The hosted sign-in pages at `/signin`: static HTML, CSS and JavaScript (no inline script)
//! over the JSON flow API (docs/signin.md). The three files are embedded in the binary
//! (`assets/`); the page keeps no state of its own on the server: everything it shows comes from
//! the flow view.
//!
//! Every answer carries a Content-Security-Policy that allows scripts, styles and connections to
//! this origin only, images from it or `data:` (the TOTP QR code, drawn as an `<img>` from the
//! API's SVG), no plugins, no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`)
//! and Trusted Types with no policy, so no string can ever reach an HTML sink. The HTML is
//! `no-store`: it is the same for everyone, but a shared cache has no business with a sign-in
//! page.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

const HTML: &str = include_str!("assets/signin.html");
const SCRIPT: &str = include_str!("assets/signin.js");
/// Passkey ceremonies (base64url ↔ ArrayBuffer), shared with the account center.
const WEBAUTHN: &str = include_str!("assets/webauthn.js");
/// The pages' stylesheet: the design tokens the desktop app uses too, then the pages' rules.
const STYLE: &str = concat!(
    include_str!("../../../../ui/src/tokens.css"),
    include_str!("assets/signin.css")
);

/// The pages' Content-Security-Policy.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'; \
    require-trusted-types-for 'script'; trusted-types 'none'";

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(page))
        .route("/signin/assets/signin.js", get(script))
        .route("/signin/assets/webauthn.js", get(webauthn))
        .route("/signin/assets/signin.css", get(style))
}

/// The page in the visitor's language (the `tessera_lang` cookie, then `Accept-Language`): the
/// sign-in does not know who is signing in when it renders.
async fn page(headers: HeaderMap) -> Response {
    let locale = crate::i18n::negotiate(&headers, None);
    let html = crate::i18n::render_page(HTML, "signin", locale);
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

// Assets are revalidated rather than cached for long: their URLs carry no version, and a page
// served by a newer binary must not run an older script.
async fn script() -> Response {
    serve(SCRIPT, "text/javascript; charset=utf-8", "no-cache")
}

async fn webauthn() -> Response {
    serve(WEBAUTHN, "text/javascript; charset=utf-8", "no-cache")
}

async fn style() -> Response {
    serve(STYLE, "text/css; charset=utf-8", "no-cache")
}

/// A page with a message and one link, for answers that need no script (a magic link that
/// cannot be used here). Texts are escaped; same headers as the sign-in page.
pub fn message_page(lang: &str, title: &str, text: &str, link: (&str, &str)) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/signin/assets/signin.css\"></head>\
         <body><main class=\"card\"><h1 id=\"message-title\">{}</h1><p id=\"message-text\">{}</p>\
         <p><a id=\"message-link\" href=\"{}\">{}</a></p></main></body></html>\n",
        esc(lang),
        esc(title),
        esc(title),
        esc(text),
        esc(link.0),
        esc(link.1)
    );
    let mut r = serve("", "text/html; charset=utf-8", "no-store");
    *r.body_mut() = axum::body::Body::from(body);
    r
}

/// An embedded page or asset with the pages' headers (CSP, no framing, no referrer, nosniff,
/// same-origin isolation); the account center's pages use it too.
pub(crate) fn serve(
    body: &'static str,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let headers: [(HeaderName, HeaderValue); 8] = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static(cache)),
        (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'r>(r: &'r Response, name: &str) -> &'r str {
        r.headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} is set"))
            .to_str()
            .unwrap()
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers() {
        for (r, kind, cache) in [
            (page(HeaderMap::new()).await, "text/html", "no-store"),
            (script().await, "text/javascript", "no-cache"),
            (webauthn().await, "text/javascript", "no-cache"),
            (style().await, "text/css", "no-cache"),
        ] {
            assert!(header(&r, "content-type").starts_with(kind));
            assert_eq!(header(&r, "cache-control"), cache);
            let csp = header(&r, "content-security-policy");
            assert!(csp.starts_with("default-src 'self';"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert!(!csp.contains("unsafe-"), "no inline script or style: {csp}");
            assert_eq!(header(&r, "x-frame-options"), "DENY");
            assert_eq!(header(&r, "referrer-policy"), "no-referrer");
            assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        }
    }
}
