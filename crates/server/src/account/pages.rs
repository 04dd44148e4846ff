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

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let signed_in = state
        .blocking(move |s| Ok(super::api::live_session(s, &headers)?.is_some()))
        .await?;
    if !signed_in {
        let mut r = serve("", "text/plain; charset=utf-8", "no-store");
        *r.status_mut() = StatusCode::SEE_OTHER;
        r.headers_mut()
            .insert(LOCATION, HeaderValue::from_static(SIGN_IN));
        return Ok(r);
    }
    Ok(serve(HTML, "text/html; charset=utf-8", "no-store"))
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
            assert!(tag.contains(" src="), "every script is external: {tag}");
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

    /// Every text the script shows comes from its catalogue (a Japanese one can be added).
    #[test]
    fn the_script_keeps_its_texts_in_one_catalogue() {
        assert!(SCRIPT.contains("const TEXTS = {"));
        assert!(!SCRIPT.contains("innerHTML"), "no HTML sink");
    }
}
