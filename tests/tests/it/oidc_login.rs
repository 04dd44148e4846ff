//! An OpenID Connect login in real Chromium: a small sample relying party (its own HTTP server
//! on loopback, as an application would run) sends the browser to `/oauth2/authorize` with
//! PKCE, a state and a nonce; the user signs in on the hosted pages (password, then a TOTP code
//! from `oathtool`); the relying party receives the code on its callback, redeems it at
//! `/oauth2/token`, verifies the ID token's ES256 signature against the published JWKS with an
//! implementation other than the server's (RustCrypto through `jsonwebtoken`), checks `iss`,
//! `aud`, `nonce`, and shows who signed in and how — `amr` naming the methods used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tessera_e2e::browser::with_page;
use tessera_e2e::{oathtool, START};

use super::hosted_signin::{hosted, totp, user, Pages, PASSWORD};

/// The sample relying party.
#[derive(Clone)]
struct Rp {
    issuer: String,
    client_id: Arc<Mutex<String>>,
    redirect_uri: String,
    /// state → (PKCE verifier, nonce)
    pending: Arc<Mutex<HashMap<String, (String, String)>>>,
    http: reqwest::Client,
}

fn random() -> String {
    BASE64URL_NOPAD.encode(&tessera_core::crypto::random_vec(32).unwrap())
}

async fn login(State(rp): State<Rp>) -> Redirect {
    let (verifier, state, nonce) = (random(), random(), random());
    let challenge =
        BASE64URL_NOPAD.encode(&tessera_core::device::message::sha256(verifier.as_bytes()));
    rp.pending
        .lock()
        .unwrap()
        .insert(state.clone(), (verifier, nonce.clone()));
    let client_id = rp.client_id.lock().unwrap().clone();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/oauth2/authorize", rp.issuer),
        &[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
            ("scope", "openid profile"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    Redirect::to(url.as_str())
}

async fn callback(State(rp): State<Rp>, Query(q): Query<HashMap<String, String>>) -> Response {
    match finish(&rp, &q).await {
        Ok(claims) => Html(format!(
            "<!doctype html><title>Sample RP</title><p id=who>{}</p><p id=amr>{}</p><p id=acr>{}</p>",
            claims["preferred_username"].as_str().unwrap_or("?"),
            claims["amr"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            claims["acr"].as_str().unwrap_or("")
        ))
        .into_response(),
        Err(e) => Html(format!("<!doctype html><p id=error>{e}</p>")).into_response(),
    }
}

/// Redeems the code and checks the ID token as a relying party must.
async fn finish(rp: &Rp, q: &HashMap<String, String>) -> anyhow::Result<Value> {
    let state = q.get("state").ok_or_else(|| anyhow::anyhow!("no state"))?;
    let (verifier, nonce) = rp
        .pending
        .lock()
        .unwrap()
        .remove(state)
        .ok_or_else(|| anyhow::anyhow!("unknown state"))?;
    anyhow::ensure!(
        q.get("iss") == Some(&rp.issuer),
        "iss of the redirect: {q:?}"
    );
    let code = q
        .get("code")
        .ok_or_else(|| anyhow::anyhow!("no code: {q:?}"))?;
    let client_id = rp.client_id.lock().unwrap().clone();
    let tokens: Value = rp
        .http
        .post(format!("{}/oauth2/token", rp.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id_token: {tokens}"))?;
    let jwks: JwkSet = rp
        .http
        .get(format!("{}/oauth2/jwks", rp.issuer))
        .send()
        .await?
        .json()
        .await?;
    let kid = jsonwebtoken::decode_header(id_token)?
        .kid
        .unwrap_or_default();
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| anyhow::anyhow!("kid {kid} not in the JWKS"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[client_id.as_str()]);
    validation.set_issuer(&[rp.issuer.as_str()]);
    let claims =
        jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims;
    anyhow::ensure!(claims["nonce"] == nonce.as_str(), "nonce: {claims}");
    // The profile from userinfo, for the access token, about the same subject.
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let info: Value = rp
        .http
        .get(format!("{}/oauth2/userinfo", rp.issuer))
        .bearer_auth(access)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        info["sub"] == claims["sub"],
        "userinfo {info} vs ID token {claims}"
    );
    let mut claims = claims;
    claims["preferred_username"] = info["preferred_username"].clone();
    Ok(claims)
}

#[tokio::test]
async fn a_sample_relying_party_signs_a_user_in_and_the_id_token_names_the_methods() {
    if !super::hosted_signin::oathtool_ready() {
        return;
    }
    // The relying party listens first: its callback is the redirect URI it registers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp_origin = format!("http://{}", listener.local_addr().unwrap());
    let h = hosted();
    let rp = Rp {
        issuer: h.origin().to_owned(),
        client_id: Arc::default(),
        redirect_uri: format!("{rp_origin}/callback"),
        pending: Arc::default(),
        http: reqwest::Client::new(),
    };
    let redirect = rp.redirect_uri.clone();
    let (client_id, secret) = h
        .run(move |s| async move {
            let (st, v) = s
                .call(
                    reqwest::Method::POST,
                    "/api/v2/applications",
                    Some(&s.admin),
                    Some(serde_json::json!({"name": "Sample RP", "type": "public",
                        "redirect_uris": [redirect]})),
                )
                .await?;
            anyhow::ensure!(st == 201, "{st} {v}");
            let id = user(s, "oidc-zoe").await?;
            // Confirmed with the previous step's code (within the skew), so the current
            // step's code is still unused for the sign-in: the shared server's clock stands still.
            let t = totp(s, &id, START - 30).await?;
            Ok((
                v["client_id"].as_str().unwrap_or_default().to_owned(),
                t.secret,
            ))
        })
        .await;
    *rp.client_id.lock().unwrap() = client_id;
    let app = Router::new()
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(rp);
    tokio::spawn(async move { axum::serve(listener, app).await });

    with_page(|page| async move {
        let p = Pages::new(page, h.origin());
        p.page.goto(&format!("{rp_origin}/login")).await.unwrap();
        // On the hosted page, for the relying party's flow.
        p.identify("oidc-zoe").await;
        p.password(PASSWORD).await;
        p.at("verify:totp").await;
        p.code(&oathtool(&secret, START).unwrap()).await;
        // Back at the relying party, which verified the ID token.
        let who = p.page.wait_text("#who, #error").await.unwrap();
        assert_eq!(
            who,
            "oidc-zoe",
            "the relying party's page: {}",
            p.page.visible_text().await.unwrap()
        );
        let amr = p.page.text("#amr").await.unwrap();
        let mut amr: Vec<&str> = amr.split(' ').collect();
        amr.sort_unstable();
        assert_eq!(
            amr,
            ["mfa", "otp", "pwd"],
            "amr names the password and the TOTP code"
        );
        assert_eq!(p.page.text("#acr").await.unwrap(), "urn:tessera:acr:mfa");
    })
    .await;
}
