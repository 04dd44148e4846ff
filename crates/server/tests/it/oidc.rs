//! The OpenID Connect provider from the outside. A small relying party reads the discovery
//! document, sends its users to `/oauth2/authorize`, redeems the code at `/oauth2/token` and
//! checks the ID token as any relying party would: the key by `kid` from the published JWKS,
//! the ES256 signature with another implementation than the server's (RustCrypto's P-256
//! through `jsonwebtoken`, where the server signs with ring), then `iss`, `aud`, `exp`, `nonce`.
//!
//! The sign-in itself (the hosted flow) is not this file's: the tests check the authorization
//! request as `/oauth2/authorize` does (`oidc::request::check`, what it hands the flow) and
//! finish it as the flow does (`oidc::complete` with the methods the user proved).

use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_core::{Clock, ManualClock};
use tessera_server::oidc::request::{check, AuthorizationRequest};
use tessera_server::policy::{Method as By, Satisfied, Traits};
use tessera_server::signin::Completed;
use tessera_server::AppState;

use super::signin_flow::Browser;
use super::{config_in, error_code, oathtool, t0_clock, Server, T0};

/// The provider's public origin (it sits behind a proxy: the tests reach it on loopback).
const ISSUER: &str = "https://id.example.com";
const REDIRECT: &str = "https://rp.example.com/callback";
/// RFC 7636 Appendix B: a verifier and its S256 challenge, computed by the RFC's authors.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Provider {
    s: Server,
    state: AppState,
    clock: Arc<ManualClock>,
    /// Sees the redirects instead of following them.
    browser: reqwest::Client,
    _tmp: tempfile::TempDir,
}

/// A registered application: its id and (confidential) secret.
struct App {
    id: String,
    secret: Option<String>,
}

async fn provider() -> Provider {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config_in(tmp.path()).unwrap();
    config.device.origin = ISSUER.into();
    let clock = t0_clock();
    let (state, first) = tessera_server::open(config, clock.clone()).unwrap();
    let s = Server::serve(state.clone(), clock.clone(), first.unwrap()).await;
    Provider {
        s,
        state,
        clock,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _tmp: tmp,
    }
}

fn pwd_and_totp(at: u64) -> Vec<Satisfied> {
    vec![
        Satisfied {
            method: By::Password,
            traits: Traits::INTERACTION,
            at,
        },
        Satisfied {
            method: By::Totp,
            traits: Traits::INTERACTION,
            at,
        },
    ]
}

/// The query parameters of a URL.
fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(q).unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn authorize_query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    serde_urlencoded::to_string(&params).unwrap()
}

impl Provider {
    async fn register(&self, kind: &str) -> App {
        let (st, v) = self
            .s
            .admin_json(
                Method::POST,
                "/api/v2/applications",
                Some(json!({"name": format!("RP {kind}"), "type": kind,
                            "redirect_uris": [REDIRECT, "https://rp.example.com/other"]})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        App {
            id: v["client_id"].as_str().unwrap().to_owned(),
            secret: v["client_secret"].as_str().map(str::to_owned),
        }
    }

    /// `GET /oauth2/authorize` as the browser sends it.
    async fn authorize(&self, query: &str) -> reqwest::Response {
        self.browser
            .get(format!("{}/oauth2/authorize?{query}", self.s.url))
            .send()
            .await
            .unwrap()
    }

    /// The request the authorization endpoint accepts and hands to the sign-in flow.
    async fn checked(&self, client_id: &str, extra: &[(&str, &str)]) -> AuthorizationRequest {
        match check(&self.state, &authorize_query(client_id, extra)).await {
            Ok(r) => r,
            Err(e) => panic!("refused: {e:?}"),
        }
    }

    /// The flow's end: `oidc::complete` with what the user proved; the redirect URL.
    async fn complete(
        &self,
        request: &AuthorizationRequest,
        user_id: &str,
        methods: Vec<Satisfied>,
    ) -> String {
        let state = self.state.clone();
        let json = serde_json::to_value(request).unwrap();
        let done = Completed {
            user_id: user_id.to_owned(),
            methods,
            auth_time: self.clock.now_unix() - 5,
            session_id: "ses_test".into(),
        };
        tokio::task::spawn_blocking(move || tessera_server::oidc::complete(&state, &json, &done))
            .await
            .unwrap()
            .unwrap()
    }

    /// A user signed in for `app` with a password and a TOTP code: the code from the redirect.
    async fn code_for(&self, app: &App, user_id: &str, extra: &[(&str, &str)]) -> String {
        let request = self.checked(&app.id, extra).await;
        let redirect = self
            .complete(&request, user_id, pwd_and_totp(self.clock.now_unix() - 5))
            .await;
        param(&redirect, "code").unwrap()
    }

    /// `POST /oauth2/token` with `form`, and Basic credentials when given.
    async fn token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut rb = self
            .s
            .client
            .post(format!("{}/oauth2/token", self.s.url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        if let Some((id, secret)) = basic {
            rb = rb.basic_auth(id, Some(secret));
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body: Value = r.json().await.unwrap();
        (status, headers, body)
    }

    /// Redeems `code` as `app` would (Basic for a confidential client, `client_id` for a
    /// public one).
    async fn redeem(&self, app: &App, code: &str, verifier: &str) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ];
        let basic = app.secret.as_deref().map(|s| (app.id.as_str(), s));
        if basic.is_none() {
            form.push(("client_id", &app.id));
        }
        let (st, headers, v) = self.token(&form, basic).await;
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "token responses are never cached"
        );
        (st, v)
    }

    async fn get_json(&self, path: &str) -> Value {
        let (st, v) = self.s.json(Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
        v
    }

    /// The relying party's check of an ID token, with `jsonwebtoken` and the published JWKS;
    /// the claims. `exp`/`iat` are checked against the server's (test) clock.
    async fn verify(&self, client_id: &str, id_token: &str) -> Value {
        let discovery = self.get_json("/.well-known/openid-configuration").await;
        let jwks_path = discovery["jwks_uri"]
            .as_str()
            .unwrap()
            .strip_prefix(ISSUER)
            .unwrap()
            .to_owned();
        let jwks: JwkSet = serde_json::from_value(self.get_json(&jwks_path).await).unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        let kid = header.kid.expect("the header names its key");
        let jwk = jwks.find(&kid).expect("the signing key is published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[client_id]);
        // The server's clock is the test's, not the wall clock jsonwebtoken reads.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
            .unwrap_or_else(|e| panic!("the ID token does not verify: {e}"));
        let claims = data.claims;
        let now = self.clock.now_unix();
        let exp = claims["exp"].as_u64().unwrap();
        let iat = claims["iat"].as_u64().unwrap();
        assert!(iat <= now && now < exp, "iat {iat} ≤ now {now} < exp {exp}");
        claims
    }
}

/// A JWS with one byte of its signature changed.
fn tampered(jws: &str) -> String {
    let (signed, sig) = jws.rsplit_once('.').unwrap();
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    bytes[0] ^= 1;
    format!(
        "{signed}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[tokio::test]
async fn the_discovery_document_names_the_endpoints_and_what_is_supported() {
    let p = provider().await;
    let d = p.get_json("/.well-known/openid-configuration").await;
    assert_eq!(d["issuer"], ISSUER, "the public origin, as devices know it");
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
    ] {
        assert_eq!(d[field], format!("{ISSUER}{path}"), "{field}");
    }
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["grant_types_supported"], json!(["authorization_code"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(d["scopes_supported"], json!(["openid", "profile", "email"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for claim in ["sub", "auth_time", "nonce", "acr", "amr", "sid"] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "{claim}"
        );
    }
    // Before any token: the JWKS already holds the current key.
    let jwks = p.get_json("/oauth2/jwks").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["use"], "sig");
    assert!(keys[0].get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn a_relying_party_signs_a_user_in_and_verifies_the_id_token_independently() {
    let p = provider().await;
    let app = p.register("confidential").await;
    let user = p.s.create_user("ada", Some("correct horse battery")).await;

    let request = p.checked(&app.id, &[]).await;
    assert_eq!(request.scope, "openid profile email");
    assert_eq!(request.state.as_deref(), Some("st-123"));
    let redirect = p.complete(&request, &user, pwd_and_totp(T0 - 5)).await;
    assert!(redirect.starts_with(&format!("{REDIRECT}?")), "{redirect}");
    assert_eq!(param(&redirect, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&redirect, "iss").as_deref(), Some(ISSUER), "RFC 9207");
    let code = param(&redirect, "code").unwrap();
    assert!(code.len() >= 43, "256 random bits: {}", code.len());

    p.clock.advance(10);
    let (st, tokens) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid profile email");
    let id_token = tokens["id_token"].as_str().unwrap();

    let claims = p.verify(&app.id, id_token).await;
    assert_eq!(claims["sub"], user);
    assert_eq!(claims["aud"], app.id);
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["sid"], "ses_test");
    assert_eq!(claims["auth_time"], T0 - 5);
    assert_eq!(claims["iat"], T0 + 10);
    assert_eq!(claims["exp"], T0 + 10 + 3600);
    assert_eq!(claims["acr"], "urn:tessera:acr:mfa");
    assert_eq!(claims["amr"], json!(["mfa", "otp", "pwd"]));

    // The independent verifier refuses a changed signature and another audience.
    let jwks: JwkSet = serde_json::from_value(p.get_json("/oauth2/jwks").await).unwrap();
    let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false;
    v.set_audience(&[app.id.as_str()]);
    assert!(jsonwebtoken::decode::<Value>(&tampered(id_token), &key, &v).is_err());
    v.set_audience(&["app_other"]);
    assert!(jsonwebtoken::decode::<Value>(id_token, &key, &v).is_err());

    // userinfo with the access token: the claims its scopes allow.
    let access = tokens["access_token"].as_str().unwrap();
    let (st, info) =
        p.s.json(Method::GET, "/oauth2/userinfo", Some(access), None)
            .await;
    assert_eq!(st, StatusCode::OK, "{info}");
    assert_eq!(info["sub"], user);
    assert_eq!(info["preferred_username"], "ada");
    assert_eq!(info["email"], "ada@example.com");
    let (st, _) =
        p.s.json(Method::POST, "/oauth2/userinfo", Some(access), None)
            .await;
    assert_eq!(st, StatusCode::OK, "POST too");
    let r =
        p.s.call(Method::GET, "/oauth2/userinfo", Some("tsa_nope"), None)
            .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    // A management token is no user's access token.
    let admin = p.s.admin.clone();
    let (st, _) =
        p.s.json(Method::GET, "/oauth2/userinfo", Some(&admin), None)
            .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Only what the scope asked: no email claim without `email`.
    let code = p
        .code_for(&app, &user, &[("scope", "openid unknown profile")])
        .await;
    let (st, tokens) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    assert_eq!(
        tokens["scope"], "openid profile",
        "unknown scopes are left out"
    );
    let (_, info) =
        p.s.json(
            Method::GET,
            "/oauth2/userinfo",
            tokens["access_token"].as_str(),
            None,
        )
        .await;
    assert!(info.get("email").is_none(), "{info}");

    for kind in ["oidc.code_issued", "oidc.token_issued"] {
        assert_eq!(p.s.events(&user, kind).await.len(), 2, "{kind}");
    }
    // Neither the code, nor the verifier, nor the secret is in the audit log.
    let (_, all) =
        p.s.admin_json(Method::GET, "/api/v2/logs?per_page=100", None)
            .await;
    let text = all.to_string();
    for secret in [code.as_str(), VERIFIER, app.secret.as_deref().unwrap()] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
}

#[tokio::test]
async fn clients_authenticate_as_their_kind_says() {
    let p = provider().await;
    let confidential = p.register("confidential").await;
    let public = p.register("public").await;
    let user = p.s.create_user("bo", None).await;
    let secret = confidential.secret.clone().unwrap();

    // client_secret_post.
    let code = p.code_for(&confidential, &user, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", confidential.id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (st, _, v) = p.token(&form, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A wrong secret, Basic or in the body, and no secret at all: 401 invalid_client.
    let code = p.code_for(&confidential, &user, &[]).await;
    let wrong = App {
        id: confidential.id.clone(),
        secret: Some(format!("{secret}x")),
    };
    let (st, v) = p.redeem(&wrong, &code, VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(
        !v.to_string().contains(&secret),
        "the secret is never repeated"
    );
    let (st, headers, v) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", confidential.id.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(headers.contains_key(WWW_AUTHENTICATE));
    // The failed authentications did not use the code up.
    let (st, v) = p.redeem(&confidential, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A public client names itself, with PKCE as its proof; a secret it sends is refused.
    let code = p.code_for(&public, &user, &[]).await;
    let (st, v) = p.redeem(&public, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    p.verify(&public.id, v["id_token"].as_str().unwrap()).await;
    let code = p.code_for(&public, &user, &[]).await;
    let pretending = App {
        id: public.id.clone(),
        secret: Some("tsc_made_up".into()),
    };
    let (st, v) = p.redeem(&pretending, &code, VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );

    // A code issued to one client is not another's.
    let code = p.code_for(&public, &user, &[]).await;
    let (st, v) = p.redeem(&confidential, &code, VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    // An unknown client, and a request that is not a form.
    let nobody = App {
        id: "app_nobody".into(),
        secret: None,
    };
    let (st, v) = p.redeem(&nobody, "tso_x", VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let (st, v) =
        p.s.json(
            Method::POST,
            "/oauth2/token",
            None,
            Some(json!({"grant_type": "authorization_code"})),
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (st, _, v) = p
        .token(
            &[("grant_type", "password"), ("client_id", &public.id)],
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
    let (st, _, v) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &public.id),
                ("code", "tso_x"),
                ("redirect_uri", REDIRECT),
            ],
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
}

#[tokio::test]
async fn a_code_redeems_once_and_a_replay_revokes_what_it_issued() {
    let p = provider().await;
    let app = p.register("confidential").await;
    let user = p.s.create_user("cy", None).await;
    let code = p.code_for(&app, &user, &[]).await;
    let (st, tokens) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (st, _) =
        p.s.json(Method::GET, "/oauth2/userinfo", Some(&access), None)
            .await;
    assert_eq!(st, StatusCode::OK);

    let (st, v) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (st, _) =
        p.s.json(Method::GET, "/oauth2/userinfo", Some(&access), None)
            .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "RFC 6749 §4.1.2: the first redemption's token is revoked"
    );
    assert_eq!(p.s.events(&user, "oidc.code_reused").await.len(), 1);

    // Concurrent redemptions of one code: exactly one wins.
    let code = p.code_for(&app, &user, &[]).await;
    let p = Arc::new(p);
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (p, app, code) = (Arc::clone(&p), Arc::clone(&app), code.clone());
        tasks.push(tokio::spawn(async move {
            p.redeem(&app, &code, VERIFIER).await.0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(ok, 1, "one of eight concurrent redemptions");
}

#[tokio::test]
async fn a_wrong_verifier_redirect_uri_or_an_expired_code_is_refused() {
    let p = provider().await;
    let app = p.register("public").await;
    let user = p.s.create_user("di", None).await;
    let other_verifier = "x".repeat(43);

    let code = p.code_for(&app, &user, &[]).await;
    let (st, v) = p.redeem(&app, &code, &other_verifier).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (st, _) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "a failed attempt used the code up"
    );

    // Registered, but not the one of the authorization request.
    let code = p.code_for(&app, &user, &[]).await;
    let (st, _, v) = p
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app.id),
                ("code", &code),
                ("redirect_uri", "https://rp.example.com/other"),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    // 60 seconds to redeem.
    let code = p.code_for(&app, &user, &[]).await;
    p.clock.advance(59);
    let (st, _) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(st, StatusCode::OK, "at 59 s");
    let code = p.code_for(&app, &user, &[]).await;
    p.clock.advance(60);
    let (st, v) = p.redeem(&app, &code, VERIFIER).await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let refused = p.s.events(&user, "oidc.code_refused").await;
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"].as_str().unwrap().rsplit(' ').next().unwrap())
        .collect();
    for reason in ["wrong_verifier", "wrong_redirect_uri", "expired"] {
        assert!(reasons.contains(&reason), "{reason} in {reasons:?}");
    }
}

#[tokio::test]
async fn keys_rotate_and_tokens_signed_before_still_verify() {
    let p = provider().await;
    let app = p.register("public").await;
    let user = p.s.create_user("ed", None).await;
    let kid_of = |jws: &str| jsonwebtoken::decode_header(jws).unwrap().kid.unwrap();

    let code = p.code_for(&app, &user, &[]).await;
    let (_, t1) = p.redeem(&app, &code, VERIFIER).await;
    let first = t1["id_token"].as_str().unwrap().to_owned();
    let k1 = kid_of(&first);

    // Rotation now, through the management API (manage:keys).
    let (st, rotated) =
        p.s.admin_json(Method::POST, "/api/v2/oidc/keys/rotation", None)
            .await;
    assert_eq!(st, StatusCode::OK, "{rotated}");
    let k2 = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(k1, k2);
    assert_eq!(rotated["keys"][1]["kid"], k1.as_str());
    assert_eq!(rotated["keys"][1]["retire_at"], T0 + 3600 + 300);
    let jwks = p.get_json("/oauth2/jwks").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![k2.as_str(), k1.as_str()],
        "the current key first"
    );

    p.clock.advance(600);
    p.verify(&app.id, &first).await;
    let code = p.code_for(&app, &user, &[]).await;
    let (_, t2) = p.redeem(&app, &code, VERIFIER).await;
    let second = t2["id_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&second), k2);
    p.verify(&app.id, &second).await;

    // Once every token k1 signed has expired, k1 leaves the JWKS.
    p.clock.advance(3600 + 300 - 600);
    let jwks = p.get_json("/oauth2/jwks").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    assert_eq!(jwks["keys"][0]["kid"], k2.as_str());

    // After `oidc.key_rotation_days` (30) the next signature rotates by itself.
    p.clock.advance(30 * 86_400);
    let code = p.code_for(&app, &user, &[]).await;
    let (_, t3) = p.redeem(&app, &code, VERIFIER).await;
    let third = t3["id_token"].as_str().unwrap();
    let k3 = kid_of(third);
    assert!(k3 != k1 && k3 != k2, "a new key");
    p.verify(&app.id, third).await;
    let jwks = p.get_json("/oauth2/jwks").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "k3 and k2: {jwks}"
    );
    let (_, log) =
        p.s.admin_json(Method::GET, "/api/v2/logs?type=oidc.key_rotated", None)
            .await;
    let rotations: Vec<&str> = log["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        rotations.len(),
        3,
        "made, rotated now, rotated when due: {rotations:?}"
    );
    assert!(
        rotations[0].starts_with(&format!("kid={k3} previous={k2}")),
        "newest first: {rotations:?}"
    );

    // The scope: a token without manage:keys may not rotate.
    let (st, v) =
        p.s.admin_json(
            Method::POST,
            "/api/v2/tokens",
            Some(json!({"name": "apps", "scopes": ["manage:applications"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) =
        p.s.json(
            Method::POST,
            "/api/v2/oidc/keys/rotation",
            v["token"].as_str(),
            None,
        )
        .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
}

#[tokio::test]
async fn instances_that_find_the_key_due_at_once_make_one_key() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_in(tmp.path()).unwrap();
    let clock = t0_clock();
    let (a, _) = tessera_server::open(config.clone(), clock.clone()).unwrap();
    let (b, _) = tessera_server::open(config, clock.clone()).unwrap();
    for round in 0..2 {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let state = if i % 2 == 0 { a.clone() } else { b.clone() };
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    tessera_server::oidc::keys::current(&state)
                        .unwrap()
                        .kid()
                        .to_owned()
                })
            })
            .collect();
        let mut kids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        kids.dedup();
        assert_eq!(
            kids.len(),
            1,
            "round {round}: one current key for all: {kids:?}"
        );
        let keys = a.store().signing_keys(clock.now_unix()).unwrap();
        assert_eq!(keys.len(), round + 1, "round {round}: {keys:?}");
        // Due for rotation: every instance at once again.
        clock.advance(30 * 86_400);
    }
}

#[tokio::test]
async fn authorization_errors_go_to_a_page_until_the_redirect_uri_is_trusted() {
    let p = provider().await;
    let app = p.register("public").await;

    // Unknown client, unregistered or missing redirect URI: a page, never a redirect.
    for (query, says) in [
        (authorize_query("app_nobody", &[]), "unknown `client_id`"),
        (
            authorize_query(&app.id, &[("redirect_uri", "https://evil.example/cb")]),
            "not one of the application",
        ),
        (
            authorize_query(&app.id, &[("redirect_uri", "")]),
            "missing `redirect_uri`",
        ),
        (
            authorize_query("<script>alert(1)</script>", &[]),
            "unknown `client_id`",
        ),
        (
            format!("{}&redirect_uri=x", authorize_query(&app.id, &[])),
            "`redirect_uri` is given twice",
        ),
        ("client_id=%zz".to_owned(), "malformed"),
    ] {
        let r = p.authorize(&query).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(r.headers().get(LOCATION).is_none(), "{query}");
        assert!(r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = r.text().await.unwrap();
        assert!(page.contains(says), "{query}: {page}");
        assert!(!page.contains("<script>"), "escaped");
    }

    // After it: back to the client with error=, its state and the issuer.
    for (extra, error, names) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
            "code_challenge_method",
        ),
        (
            vec![("code_challenge", "")],
            "invalid_request",
            "code_challenge",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "S256",
        ),
        (
            vec![("code_challenge", "too-short")],
            "invalid_request",
            "code_challenge",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "response_type",
        ),
        (
            vec![("response_type", "")],
            "invalid_request",
            "response_type",
        ),
        (vec![("scope", "profile email")], "invalid_scope", "openid"),
        (vec![("prompt", "none")], "login_required", "prompt=none"),
        (vec![("prompt", "none login")], "invalid_request", "prompt"),
        (vec![("prompt", "bogus")], "invalid_request", "bogus"),
        (vec![("max_age", "-1")], "invalid_request", "max_age"),
        (
            vec![("response_mode", "fragment")],
            "invalid_request",
            "response_mode",
        ),
        (vec![("request", "eyJ")], "request_not_supported", "request"),
        (
            vec![("request_uri", "https://x")],
            "request_uri_not_supported",
            "request_uri",
        ),
    ] {
        let r = p.authorize(&authorize_query(&app.id, &extra)).await;
        assert_eq!(r.status(), StatusCode::FOUND, "{extra:?}");
        let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some(error),
            "{extra:?}"
        );
        assert!(
            param(&location, "error_description")
                .unwrap()
                .contains(names),
            "{extra:?}: {location}"
        );
        assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
        assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
        assert!(param(&location, "code").is_none());
    }
    // A parameter given twice (other than client_id and redirect_uri).
    let r = p
        .authorize(&format!("{}&state=again", authorize_query(&app.id, &[])))
        .await;
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );

    // What is accepted and handed to the flow.
    let r = p
        .checked(&app.id, &[("prompt", "login"), ("max_age", "300")])
        .await;
    assert!(r.prompt_login);
    assert_eq!(r.max_age, Some(300));
    let r = p.checked(&app.id, &[("max_age", "0")]).await;
    assert!(r.prompt_login, "max_age=0 is prompt=login");
    let r = p
        .checked(&app.id, &[("prompt", "consent"), ("state", "")])
        .await;
    assert!(!r.prompt_login && r.state.is_none());

    // POST works as GET does.
    let r = p
        .browser
        .post(format!("{}/oauth2/authorize", p.s.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(authorize_query(&app.id, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn complete_refuses_an_application_changed_during_the_sign_in() {
    let p = provider().await;
    let app = p.register("public").await;
    let user = p.s.create_user("fay", None).await;
    let request = p.checked(&app.id, &[]).await;
    let (st, _) =
        p.s.admin_json(
            Method::PATCH,
            &format!("/api/v2/applications/{}", app.id),
            Some(json!({"redirect_uris": ["https://rp.example.com/other"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let state = p.state.clone();
    let json = serde_json::to_value(&request).unwrap();
    let done = Completed {
        user_id: user,
        methods: pwd_and_totp(T0),
        auth_time: T0,
        session_id: "ses_x".into(),
    };
    let e =
        tokio::task::spawn_blocking(move || tessera_server::oidc::complete(&state, &json, &done))
            .await
            .unwrap()
            .unwrap_err();
    assert!(e.to_string().contains("redirect_uri"), "{e}");
}

/// `GET /oauth2/authorize` from `b` (its cookies sent, the ones set kept): where it sends the
/// browser.
async fn authorize_from(p: &Provider, b: &mut Browser<'_>, query: &str) -> String {
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let r = p
        .browser
        .get(format!("{}/oauth2/authorize?{query}", p.s.url))
        .header(reqwest::header::COOKIE, cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    for c in r.headers().get_all(reqwest::header::SET_COOKIE) {
        let (kv, _) = c.to_str().unwrap().split_once(';').unwrap();
        let (k, v) = kv.split_once('=').unwrap();
        b.cookies.insert(k.to_owned(), v.to_owned());
    }
    r.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// [`authorize_from`] to the hosted sign-in: the flow it started, as the hosted page reads it.
async fn flow_from_authorize(p: &Provider, b: &mut Browser<'_>, query: &str) -> Value {
    let location = authorize_from(p, b, query).await;
    let flow = location
        .strip_prefix("/signin?flow=")
        .unwrap_or_else(|| panic!("to the hosted sign-in: {location}"));
    let (st, view) = b
        .call(Method::GET, &format!("/signin/api/flows/{flow}"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{view}");
    view
}

#[tokio::test]
async fn the_hosted_sign_in_completes_an_authorization_request_end_to_end() {
    const PW: &str = "correct horse battery";
    let p = provider().await;
    let (st, v) =
        p.s.admin_json(
            Method::PUT,
            "/api/v2/policies/sign-in",
            Some(
                json!({"global": {"mfa": {"mode": "optional", "prompt": "never"},
                                   "reauth": {"mode": "after_minutes", "minutes": 30}}}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let app = p.register("confidential").await;
    let user = p.s.create_user("gil", Some(PW)).await;
    let (_, secret) = super::enrolled(&p.s, &user).await;
    p.clock.advance(30);

    let mut b = Browser::new(&p.s);
    let f = flow_from_authorize(&p, &mut b, &authorize_query(&app.id, &[])).await;
    assert_eq!(f["step"], "identifier", "{f}");
    assert_eq!(f["application"]["client_id"], app.id.as_str());
    let f = b.ok(&f, "identifier", json!({"identifier": "gil"})).await;
    let f = b
        .ok(&f, "verify", json!({"method": "password", "password": PW}))
        .await;
    assert_eq!(
        (f["step"].as_str(), f["method"].as_str()),
        (Some("verify"), Some("totp")),
        "{f}"
    );
    let code = oathtool(&secret, "SHA1", 6, 30, p.clock.now_unix());
    let done = b
        .ok(&f, "verify", json!({"method": "totp", "code": code}))
        .await;
    assert_eq!(done["step"], "done", "{done}");
    let signed_in_at = p.clock.now_unix();
    let redirect = done["redirect_to"].as_str().unwrap().to_owned();
    assert!(redirect.starts_with(&format!("{REDIRECT}?")), "{redirect}");
    assert_eq!(param(&redirect, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&redirect, "iss").as_deref(), Some(ISSUER));
    let (st, tokens) = p
        .redeem(&app, &param(&redirect, "code").unwrap(), VERIFIER)
        .await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    let claims = p
        .verify(&app.id, tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["amr"], json!(["mfa", "otp", "pwd"]));
    assert_eq!(claims["acr"], "urn:tessera:acr:mfa");
    assert_eq!(claims["auth_time"], signed_in_at);
    let sid = claims["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("ses_"), "{sid}");

    // Within the re-authentication window the global session signs in at once: the same
    // methods, and auth_time stays when the user last proved them.
    p.clock.advance(120);
    let redirect = authorize_from(&p, &mut b, &authorize_query(&app.id, &[("nonce", "n-2")])).await;
    assert!(
        redirect.starts_with(&format!("{REDIRECT}?code=")),
        "single sign-on: straight back with a code: {redirect}"
    );
    let (_, tokens) = p
        .redeem(&app, &param(&redirect, "code").unwrap(), VERIFIER)
        .await;
    let claims = p
        .verify(&app.id, tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["nonce"], "n-2");
    assert_eq!(claims["auth_time"], signed_in_at, "not re-authenticated");
    assert_eq!(claims["amr"], json!(["mfa", "otp", "pwd"]));
    assert_eq!(claims["sid"], sid.as_str(), "the same session");

    // prompt=login, and a max_age shorter than the time since: the user proves it again.
    for extra in [[("prompt", "login")], [("max_age", "60")]] {
        let f = flow_from_authorize(&p, &mut b, &authorize_query(&app.id, &extra)).await;
        assert_ne!(f["step"], "done", "{extra:?}: {f}");
        assert!(f["redirect_to"].is_null(), "{extra:?}");
    }
    // A max_age the session's proofs are within is single sign-on again.
    let redirect =
        authorize_from(&p, &mut b, &authorize_query(&app.id, &[("max_age", "600")])).await;
    assert!(
        redirect.starts_with(&format!("{REDIRECT}?code=")),
        "{redirect}"
    );
}
