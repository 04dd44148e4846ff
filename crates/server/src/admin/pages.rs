//! The admin console page at `/admin`: HTML, CSS and JavaScript embedded in the binary
//! (`assets/`), with the hosted sign-in's headers (strict CSP with no inline script or style,
//! Trusted Types with no policy, no framing, `no-store`) and its stylesheet's design tokens
//! (`/signin/assets/signin.css` first, `admin.css` adds the console's layout). The page's texts
//! come from `locales/{en,ja}/admin.ftl` in the negotiated language.
//!
//! Every route here answers only an administrator signed in with a second factor: without a
//! session the page redirects to the sign-in (which comes back to `/admin`); a session of a
//! user outside the administrators' group, or one without a second factor, gets a 403 page
//! saying why, and the assets answer 401 or 403 likewise.

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{gate, refusal, Gate};
use crate::error::Result;
use crate::i18n::{negotiate, render_page, text, Locale};
use crate::signin::pages::{message_page, serve};
use crate::AppState;

const HTML: &str = include_str!("assets/admin.html");
const SCRIPT: &str = include_str!("assets/admin.js");
const STYLE: &str = include_str!("assets/admin.css");

/// Where a browser without a session is sent: the hosted sign-in, which returns to `/admin`.
pub const SIGN_IN: &str = "/signin?return_to=%2Fadmin";

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/assets/admin.js", get(script))
        .route("/admin/assets/admin.css", get(style))
}

/// A 403 page in the visitor's language: `title` and `text` are message ids.
fn refused(locale: Locale, title: &str, body: &str) -> Response {
    let mut r = message_page(
        locale.tag(),
        &text(locale, title, &[]),
        &text(locale, body, &[]),
        (SIGN_IN, &text(locale, "admin-refused-sign-in", &[])),
    );
    *r.status_mut() = StatusCode::FORBIDDEN;
    language(&mut r, locale);
    r
}

/// `Content-Language`, and `Vary` on what chose it.
fn language(r: &mut Response, locale: Locale) {
    r.headers_mut().insert(
        axum::http::header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.tag()),
    );
    r.headers_mut().insert(
        axum::http::header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let h = headers.clone();
    let g = state.blocking(move |s| gate(s, &h)).await?;
    // The user's saved language first, then the switcher's cookie, then the browser's.
    let saved = match &g {
        Gate::NotAdmin(u) | Gate::NoSecondFactor(u) => u.locale.clone(),
        Gate::Admin(c) => c.user.locale.clone(),
        Gate::NoSession => None,
    };
    let locale = negotiate(&headers, saved.as_deref());
    Ok(match g {
        Gate::NoSession => {
            let mut r = serve("", "text/plain; charset=utf-8", "no-store");
            *r.status_mut() = StatusCode::SEE_OTHER;
            r.headers_mut()
                .insert(LOCATION, HeaderValue::from_static(SIGN_IN));
            r
        }
        Gate::NotAdmin(_) => refused(locale, "admin-refused-title", "admin-refused-not-admin"),
        Gate::NoSecondFactor(_) => refused(locale, "admin-refused-title", "admin-refused-mfa"),
        Gate::Admin(_) => {
            let mut r = serve("", "text/html; charset=utf-8", "no-store");
            *r.body_mut() = axum::body::Body::from(render_page(HTML, "admin", locale).to_string());
            language(&mut r, locale);
            r
        }
    })
}

/// An asset, for an administrator's console session only.
async fn asset(
    state: &AppState,
    headers: HeaderMap,
    body: &'static str,
    kind: &'static str,
) -> Result<Response> {
    let g = state.blocking(move |s| gate(s, &headers)).await?;
    if let Some(e) = refusal(&g) {
        return Ok(e.into_response());
    }
    // Revalidated rather than cached for long: the URLs carry no version.
    Ok(serve(body, kind, "no-cache"))
}

async fn script(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    asset(&state, headers, SCRIPT, "text/javascript; charset=utf-8").await
}

async fn style(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    asset(&state, headers, STYLE, "text/css; charset=utf-8").await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusal pages' texts (outside the page and its script, so not found by
    /// `i18n::tests`) exist in both languages.
    #[test]
    fn the_refusal_texts_are_in_both_catalogues() {
        for locale in [Locale::En, Locale::Ja] {
            let ids = crate::i18n::ids(locale);
            for id in [
                "admin-refused-title",
                "admin-refused-not-admin",
                "admin-refused-mfa",
                "admin-refused-sign-in",
            ] {
                assert!(ids.contains_key(id), "{id} in {}", locale.tag());
            }
        }
    }
}
