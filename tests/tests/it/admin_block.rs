//! An administrator locks a user in the admin console (docs/admin.md, `user-block`), in real
//! Chromium and in Japanese: the console asks a second click, then shows the lock on the
//! user's status line and in the users list; the user, signing in in another browser, is told
//! the account is locked only after the right password (in their language); unlocked, they
//! sign in.

use reqwest::Method;
use serde_json::json;
use tessera_e2e::browser::with_two_pages_in;
use tessera_e2e::{oathtool, Server, START};

use super::admin_console::{admin_api, screen, READY};
use super::hosted_signin::{oathtool_ready, totp, Pages, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_locks_and_unlocks_a_user_in_the_console() {
    if !oathtool_ready() {
        return;
    }
    with_two_pages_in("ja", |admin_page, user_page| async move {
        let s = Server::bare(&[]).await.unwrap();
        let origin = s.origin.clone();
        let root = s
            .create_user(
                "root",
                json!({"username": "root", "password": PASSWORD, "groups": ["tessera-admins"]}),
            )
            .await
            .unwrap();
        let root_app = totp(&s, &root, START - 30).await.unwrap();
        let kai = s
            .create_user("kai", json!({"username": "kai", "password": PASSWORD}))
            .await
            .unwrap();

        // The administrator in the console (password and authenticator app).
        let a = Pages::new(admin_page, &origin);
        a.page.goto(&format!("{origin}/admin")).await.unwrap();
        a.identify("root").await;
        a.password(PASSWORD).await;
        a.at("verify:totp").await;
        a.code(&oathtool(&root_app.secret, START).unwrap()).await;
        a.page.wait_js("the console", READY, vec![]).await.unwrap();

        // Lock: the first click only arms the button and says the sessions end.
        screen(&a.page, &format!("#user/{kai}")).await;
        assert_eq!(
            a.page.text("#user-block").await.unwrap(),
            "アカウントをロック"
        );
        a.page.click("#user-block").await.unwrap();
        let armed = a.page.text("#user-block").await.unwrap();
        assert!(armed.contains("セッションはすぐに終了"), "{armed}");
        let u = admin_api(&s, Method::GET, &format!("/api/v2/users/{kai}")).await;
        assert_eq!(u["blocked"], false, "nothing locked on the first click");
        a.page.click("#user-block").await.unwrap();
        a.page
            .wait_js(
                "the lock on the status line",
                "return document.getElementById('user-status').textContent.startsWith('管理者によりロック中') \
                 && document.getElementById('user-block').textContent === 'アカウントのロックを解除' ? true : null;",
                vec![],
            )
            .await
            .unwrap();
        let u = admin_api(&s, Method::GET, &format!("/api/v2/users/{kai}")).await;
        assert_eq!(u["blocked"], true, "{u}");
        // The users list tags the locked user (and only them).
        screen(&a.page, "#users").await;
        let tags = a
            .page
            .js(
                "return [...document.querySelectorAll('#users-list li')]
                   .filter((li) => li.querySelector('.tag.locked'))
                   .map((li) => li.dataset.username);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(tags, json!(["kai"]));
        a.page.screenshot("admin-user-locked").await.unwrap();

        // The user: the password step as for anyone, then the lock, in Japanese.
        let p = Pages::new(user_page, &origin);
        p.open(None).await;
        p.identify("kai").await;
        p.password(PASSWORD).await;
        let error = p.error().await;
        assert_eq!(
            error,
            "このアカウントはロックされています。管理者にお問い合わせください。"
        );
        p.at("verify:password").await;

        // Unlocked (no second click needed): the user signs in.
        screen(&a.page, &format!("#user/{kai}")).await;
        a.page.click("#user-block").await.unwrap();
        a.page
            .wait_js(
                "the lock gone",
                "return !document.getElementById('user-status').textContent.includes('管理者によりロック中') \
                 && document.getElementById('user-block').textContent === 'アカウントをロック' ? true : null;",
                vec![],
            )
            .await
            .unwrap();
        p.page.fill("#password", PASSWORD).await.unwrap();
        p.page.click("#password-submit").await.unwrap();
        assert_eq!(p.signed_in().await, "kai");
    })
    .await;
}
