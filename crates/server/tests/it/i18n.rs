//! English and Japanese (docs/i18n.md): the pages speak the visitor's language — the user's
//! saved choice, then the language switcher's cookie, then `Accept-Language`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::account::{call, csrf, overview, sign_in};
use super::signin_flow::PW;
use super::Server;

async fn sign_in_page(s: &Server, headers: &[(&str, &str)]) -> (String, String) {
    let mut rb = s.client.get(format!("{}/signin", s.url));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let lang = r.headers()["content-language"].to_str().unwrap().to_owned();
    (lang, r.text().await.unwrap())
}

#[tokio::test]
async fn the_sign_in_page_speaks_the_visitors_language() {
    let s = Server::start().await;
    let (lang, en) = sign_in_page(&s, &[]).await;
    assert_eq!(lang, "en");
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains(">Username or email</label>"), "{en}");
    let (lang, ja) = sign_in_page(&s, &[("accept-language", "fr, ja;q=0.9, en;q=0.8")]).await;
    assert_eq!(lang, "ja");
    assert!(ja.contains("<html lang=\"ja\">"));
    assert!(
        ja.contains(">ユーザー名またはメールアドレス</label>"),
        "{ja}"
    );
    assert!(!ja.contains("Username or email"), "no English label left");
    // Every marker was replaced; the script's catalogue is data, in Japanese.
    assert!(!ja.contains("{{"), "a marker is left");
    let json = ja
        .split("<script type=\"application/json\" id=\"i18n\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .expect("the catalogue block");
    let messages: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        messages["signin-enter-password"],
        "パスワードを入力してください。"
    );
    assert_eq!(
        messages["error-flow_expired"]
            .as_str()
            .map(|t| t.is_empty()),
        Some(false)
    );
    // The switcher's cookie wins over the browser.
    let (lang, _) = sign_in_page(
        &s,
        &[("accept-language", "ja"), ("cookie", "tessera_lang=en")],
    )
    .await;
    assert_eq!(lang, "en");
}

#[tokio::test]
async fn the_account_center_saves_the_users_language() {
    let s = Server::start().await;
    s.create_user("kana", Some(PW)).await;
    let b = sign_in(&s, "kana", None).await;
    let v = overview(&b).await;
    assert_eq!(v["user"]["locale"], json!(null));
    let token = csrf(&v);
    // A change needs the CSRF token, and a language the server speaks.
    let (st, _) = call(
        &b,
        Method::PUT,
        "/account/api/locale",
        None,
        Some(json!({"locale": "ja"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, e) = call(
        &b,
        Method::PUT,
        "/account/api/locale",
        Some(&token),
        Some(json!({"locale": "xx"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    let (st, _) = call(
        &b,
        Method::PUT,
        "/account/api/locale",
        Some(&token),
        Some(json!({"locale": "ja"})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(overview(&b).await["user"]["locale"], "ja");
    // Administrators see it; null goes back to the browser's language.
    let uid = overview(&b).await["user"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, u) = s
        .admin_json(Method::GET, &format!("/api/v2/users/{uid}"), None)
        .await;
    assert_eq!(u["locale"], "ja");
    let (st, _) = call(
        &b,
        Method::PUT,
        "/account/api/locale",
        Some(&token),
        Some(json!({"locale": null})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(overview(&b).await["user"]["locale"], json!(null));
}
