//! The email factor in real Chromium (docs/factors.md): a real SMTP server process receives the
//! mails (tests/support/smtp_sink.py); the page sends the code by itself, the user types it;
//! then the magic link — opened in another browser (a second Chromium session) it says to
//! type the code and is not used up; opened in a new tab of the browser that asked, it signs in
//! there, and the tab that waited says the sign-in went on in another tab.

use serde_json::json;
use tessera_e2e::browser::{driver, with_page};
use tessera_e2e::Server;
use tessera_server::testing::SmtpSink;

use super::hosted_signin::{set_policy, Pages, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_code_and_magic_link_in_chromium() {
    with_page(|page| async move {
        let dir = tempfile::tempdir().unwrap();
        let sink = SmtpSink::start(dir.path(), &[])
            .await
            .expect("python3-aiosmtpd");
        let s = Server::bare_with(
            &[],
            &format!(
                "\n[email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n\
                 from = \"Tessera <no-reply@tessera.test>\"\n",
                sink.port
            ),
        )
        .await
        .unwrap();
        set_policy(&s, json!({"global": {"mfa": {"mode": "required"}}}))
            .await
            .unwrap();
        s.create_user(
            "mia",
            json!({"username": "mia", "password": PASSWORD, "email": "mia@example.com"}),
        )
        .await
        .unwrap();
        let p = Pages::new(page.clone(), &s.origin);

        // The code: sent when the page shows the email step, typed by the user.
        p.start(None, "mia").await;
        p.at("verify:email").await;
        let sent = p.page.wait_text("#code-sent").await.unwrap();
        assert!(sent.contains("mi***@example.com"), "{sent}");
        let mail = sink.mail(1).await;
        let (code, _) = SmtpSink::code_and_link(&mail);
        p.page.screenshot("signin-email-code").await.unwrap();
        p.code(&code).await;
        p.at("done").await;
        assert_eq!(sink.count(), 1, "one mail for one sign-in");

        // The link: first in another browser, then in a new tab of this one.
        p.page.click("#sign-out").await.unwrap();
        p.at("signed-out").await;
        p.start(None, "mia").await;
        p.at("verify:email").await;
        let (_, link) = SmtpSink::code_and_link(&sink.mail(2).await);
        let link = link.expect("a magic link");

        let other = driver().unwrap().unwrap().session().await.unwrap();
        other.page.goto(&link).await.unwrap();
        let title = other.page.wait_text("#message-title").await.unwrap();
        assert_eq!(title, "Use the code instead");
        other.page.client.clone().close().await.unwrap();

        let waiting = p.page.client.window().await.unwrap();
        let tab = p.page.client.new_window(true).await.unwrap();
        p.page.client.switch_to_window(tab.handle).await.unwrap();
        p.page.goto(&link).await.unwrap();
        p.at("done").await;
        let done = p.page.visible_text().await.unwrap();
        assert!(done.contains("mia"), "{done}");
        p.page.client.close_window().await.unwrap();
        p.page.client.switch_to_window(waiting).await.unwrap();
        p.at("expired").await;
        let said = p.page.wait_text("#expired-message").await.unwrap();
        assert!(said.contains("in another tab"), "{said}");
    })
    .await;
}
