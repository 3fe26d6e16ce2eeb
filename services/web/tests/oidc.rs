//! Sign-in with an identity provider (OpenID Connect, code flow with PKCE),
//! against a provider served by this test: the console sends the browser
//! there with a state, a nonce and an S256 challenge; the provider redeems
//! the code only with the matching verifier; the person's access token then
//! reaches a real service (culture, verifying the provider's keys).
//!
//! And the attacks: a code injected into a browser that did not start the
//! sign-in, another sign-in's state, a replayed code, ID tokens with another
//! nonce, for another audience, expired, signed by another key, with another
//! algorithm, for a service, or naming an unknown jurisdiction. Each is
//! refused and starts no session.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scir_kit::http_client::HttpClient;
use scir_kit::shutdown::Shutdown;
use scir_testkit::{Backend, TestDatabase};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CLIENT_ID: &str = "scir-console";
const CLIENT_SECRET: &str = "console-secret-for-tests";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kit/tests/fixtures")
        .join(name)
}

/// What the provider's token endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    OtherNonce,
    OtherAudience,
    Expired,
    ForgedSignature,
    OtherAlgorithm,
    ServiceRole,
    UnknownJurisdiction,
}

#[derive(Debug, Clone)]
struct Asked {
    redirect_uri: String,
    nonce: String,
    challenge: String,
}

#[derive(Debug, Default)]
struct ProviderState {
    issuer: String,
    mode: Option<Mode>,
    codes: HashMap<String, Asked>,
    access_tokens: Vec<String>,
    refused: Vec<String>,
    /// Access tokens' life in seconds (300 when unset).
    expires_in: Option<u64>,
    /// Refresh tokens not yet spent (each is accepted once, then rotated).
    refresh_tokens: Vec<String>,
    /// Refresh grants answered.
    refreshed: usize,
    /// Whether refresh grants are refused (the person was signed out there).
    refuse_refresh: bool,
}

type Shared = Arc<Mutex<ProviderState>>;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn es256() -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture("test-es256.pem")).expect("key")).expect("key")
}

fn sign(claims: &serde_json::Value, mode: Mode) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-es256".into());
    match mode {
        Mode::ForgedSignature => {
            // The provider's key id, another key: what an attacker without
            // the provider's private key can make.
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .expect("key");
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(pkcs8.as_ref()))
                .expect("token")
        }
        Mode::OtherAlgorithm => {
            // HS256 keyed with the provider's public key: the classic
            // algorithm confusion.
            header.alg = Algorithm::HS256;
            let public = std::fs::read(fixture("test-jwks.json")).expect("jwks");
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&public))
                .expect("token")
        }
        _ => jsonwebtoken::encode(&header, claims, &es256()).expect("token"),
    }
}

fn answer(status: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

fn form(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// The provider's answer to one request.
fn handle(state: &Shared, method: &str, target: &str, headers: &str, body: &str) -> Vec<u8> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut s = state.lock().expect("state");
    let issuer = s.issuer.clone();
    match (method, path) {
        ("GET", "/.well-known/openid-configuration") => answer(
            "200 OK",
            &[("Content-Type", "application/json".into())],
            &serde_json::json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            })
            .to_string(),
        ),
        ("GET", "/jwks") => answer(
            "200 OK",
            &[("Content-Type", "application/json".into())],
            &std::fs::read_to_string(fixture("test-jwks.json")).expect("jwks"),
        ),
        ("GET", "/authorize") => {
            let q = form(query);
            assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
            assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
            assert_eq!(
                q.get("code_challenge_method").map(String::as_str),
                Some("S256")
            );
            assert!(
                !q.contains_key("code_verifier"),
                "the verifier never leaves early"
            );
            let code = format!("code-{}", s.codes.len());
            let redirect = q["redirect_uri"].clone();
            s.codes.insert(
                code.clone(),
                Asked {
                    redirect_uri: redirect.clone(),
                    nonce: q["nonce"].clone(),
                    challenge: q["code_challenge"].clone(),
                },
            );
            let back = form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &code)
                .append_pair("state", &q["state"])
                .finish();
            answer(
                "302 Found",
                &[("Location", format!("{redirect}?{back}"))],
                "",
            )
        }
        ("POST", "/token") => {
            let f = form(body);
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
            let refuse = |s: &mut ProviderState, why: &str| {
                s.refused.push(why.to_owned());
                answer(
                    "400 Bad Request",
                    &[("Content-Type", "application/json".into())],
                    r#"{"error":"invalid_grant"}"#,
                )
            };
            if !headers
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Basic {basic}")))
            {
                return refuse(&mut s, "client authentication");
            }
            let t = now();
            let access = |issuer: &str| {
                sign(
                    &serde_json::json!({
                        "iss": issuer, "aud": "scir", "sub": "oidc-lead", "iat": t, "exp": t + 300,
                        "jurisdiction": "us-wi", "roles": ["scr_lead", "analyst"],
                    }),
                    Mode::Honest,
                )
            };
            let expires_in = s.expires_in.unwrap_or(300);
            if f.get("grant_type").map(String::as_str) == Some("refresh_token") {
                let given = f.get("refresh_token").cloned().unwrap_or_default();
                let Some(at) = s.refresh_tokens.iter().position(|r| *r == given) else {
                    return refuse(&mut s, "unknown or spent refresh token");
                };
                if s.refuse_refresh {
                    return refuse(&mut s, "refresh refused");
                }
                s.refresh_tokens.remove(at);
                s.refreshed += 1;
                let next = format!("refresh-{}", s.refreshed);
                s.refresh_tokens.push(next.clone());
                let access_token = access(&issuer);
                s.access_tokens.push(access_token.clone());
                return answer(
                    "200 OK",
                    &[("Content-Type", "application/json".into())],
                    &serde_json::json!({
                        "access_token": access_token, "token_type": "Bearer",
                        "expires_in": expires_in, "refresh_token": next,
                    })
                    .to_string(),
                );
            }
            // A code is redeemed once, by the one who holds its verifier.
            let Some(asked) = f.get("code").and_then(|c| s.codes.remove(c)) else {
                return refuse(&mut s, "unknown or used code");
            };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if challenge != asked.challenge {
                return refuse(&mut s, "PKCE verifier");
            }
            if f.get("redirect_uri") != Some(&asked.redirect_uri) {
                return refuse(&mut s, "redirect_uri");
            }
            let mode = s.mode.unwrap_or(Mode::Honest);
            let (exp, aud, nonce, roles, jurisdiction) = match mode {
                Mode::OtherNonce => (
                    t + 300,
                    CLIENT_ID,
                    "f".repeat(64),
                    vec!["scr_lead"],
                    "us-wi",
                ),
                Mode::OtherAudience => (
                    t + 300,
                    "another-client",
                    asked.nonce.clone(),
                    vec!["scr_lead"],
                    "us-wi",
                ),
                Mode::Expired => (
                    t - 3600,
                    CLIENT_ID,
                    asked.nonce.clone(),
                    vec!["scr_lead"],
                    "us-wi",
                ),
                Mode::ServiceRole => (
                    t + 300,
                    CLIENT_ID,
                    asked.nonce.clone(),
                    vec!["service"],
                    "us-wi",
                ),
                Mode::UnknownJurisdiction => (
                    t + 300,
                    CLIENT_ID,
                    asked.nonce.clone(),
                    vec!["scr_lead"],
                    "xx-nowhere",
                ),
                _ => (
                    t + 300,
                    CLIENT_ID,
                    asked.nonce.clone(),
                    vec!["scr_lead", "analyst"],
                    "us-wi",
                ),
            };
            let id_token = sign(
                &serde_json::json!({
                    "iss": issuer, "aud": aud, "sub": "oidc-lead", "iat": t, "exp": exp,
                    "nonce": nonce, "jurisdiction": jurisdiction, "roles": roles,
                }),
                mode,
            );
            let access_token = access(&issuer);
            s.access_tokens.push(access_token.clone());
            let refresh = format!("refresh-code-{}", s.access_tokens.len());
            s.refresh_tokens.push(refresh.clone());
            answer(
                "200 OK",
                &[("Content-Type", "application/json".into())],
                &serde_json::json!({
                    "id_token": id_token, "access_token": access_token,
                    "token_type": "Bearer", "expires_in": expires_in,
                    "refresh_token": refresh,
                })
                .to_string(),
            )
        }
        _ => answer("404 Not Found", &[], ""),
    }
}

/// Serves the provider on a loopback port; its issuer URL.
async fn provider(state: Shared) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    state.lock().expect("state").issuer = issuer.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_start) = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 4);
                    }
                };
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < body_start + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[body_start..]).into_owned();
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
                let out = handle(&state, method, target, &head, &body);
                let _ = stream.write_all(&out).await;
            });
        }
    });
    issuer
}

struct Console {
    base: String,
    http: HttpClient,
    web_db: String,
    _dbs: Vec<TestDatabase>,
    _shutdown: Shutdown,
}

fn cookies_set(response: &http::Response<Bytes>) -> Vec<String> {
    response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

fn location(response: &http::Response<Bytes>) -> String {
    response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn cookie_value(set: &[String], name: &str) -> Option<String> {
    set.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (k, v) = pair.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

impl Console {
    async fn start(issuer: &str) -> Self {
        let culture_db = TestDatabase::new(Backend::Sqlite).await;
        let web_db = TestDatabase::new(Backend::Sqlite).await;
        let shutdown = Shutdown::new();
        // Culture verifies the provider's access tokens with its keys.
        let mut common = scir_testkit::common_config(&culture_db.url);
        common.auth = scir_kit::auth::AuthConfig {
            issuer: issuer.to_owned(),
            audience: "scir".to_owned(),
            hs256_secret: None,
            jwks_file: Some(fixture("test-jwks.json")),
        };
        let culture = scir_culture::Application::build(
            &scir_culture::CultureConfig {
                common,
                instruments_dir: None,
                min_respondents: 5,
                page_requests_per_minute: 600,
                trusted_proxies: Vec::new(),
            },
            &shutdown,
        )
        .await
        .expect("culture");
        let culture_addr = format!("http://{}", culture.address());
        tokio::spawn(culture.run());
        let (mut common, web_addr) = scir_testkit::common_config_bound(&web_db.url);
        common.auth = scir_kit::auth::AuthConfig {
            issuer: issuer.to_owned(),
            audience: "scir".to_owned(),
            hs256_secret: None,
            jwks_file: Some(fixture("test-jwks.json")),
        };
        let secret_file = web_db
            .url
            .trim_start_matches("sqlite://")
            .replace("test.db", "secret");
        std::fs::write(&secret_file, CLIENT_SECRET).expect("secret");
        let unused = "http://127.0.0.1:9".to_owned();
        let config = scir_web::WebConfig {
            common,
            review_addr: unused.clone(),
            scoring_addr: unused.clone(),
            insights_addr: unused.clone(),
            culture_addr,
            learning_addr: unused,
            dev_sign_in: false,
            oidc: scir_web::config::OidcConfig {
                issuer: Some(issuer.to_owned()),
                client_id: Some(CLIENT_ID.to_owned()),
                client_secret_file: Some(secret_file.into()),
                redirect_url: Some(format!("http://{web_addr}/sign-in/callback")),
                scopes: "openid".to_owned(),
                ca_file: None,
                allow_loopback: true,
            },
            secure_cookies: false,
            idle_minutes: 30,
            absolute_hours: 12,
            page_requests_per_minute: 6000,
            trusted_proxies: Vec::new(),
        };
        let web = scir_web::Application::build(&config, &shutdown)
            .await
            .expect("web");
        tokio::spawn(web.run());
        Self {
            base: format!("http://{web_addr}"),
            http: HttpClient::new(None, true, Duration::from_secs(10)).expect("client"),
            web_db: web_db.url.clone(),
            _dbs: vec![culture_db, web_db],
            _shutdown: shutdown,
        }
    }

    async fn get(&self, url: &str, cookie: Option<&str>) -> http::Response<Bytes> {
        let headers: Vec<_> = cookie
            .map(|c| (http::header::COOKIE, c.to_owned()))
            .into_iter()
            .collect();
        self.http
            .send(http::Method::GET, url, &headers, Bytes::new())
            .await
            .expect("answer")
    }

    /// Starts a sign-in: the provider's authorisation URL and the cookie.
    async fn start_sign_in(&self) -> (String, String) {
        let started = self.get(&format!("{}/sign-in", self.base), None).await;
        assert_eq!(started.status(), 303);
        let cookie = cookie_value(&cookies_set(&started), "scir_oidc").expect("pending cookie");
        (location(&started), cookie)
    }

    /// The provider's redirect back to the console: the callback URL.
    async fn authorise(&self, authorisation: &str) -> String {
        let back = self.get(authorisation, None).await;
        assert_eq!(back.status(), 302);
        location(&back)
    }
}

#[tokio::test]
async fn signing_in_at_the_identity_provider_and_every_forgery_refused() {
    let state: Shared = Arc::default();
    let issuer = provider(state.clone()).await;
    let console = Console::start(&issuer).await;

    // An honest sign-in.
    let (authorisation, pending) = console.start_sign_in().await;
    let asked = form(authorisation.split_once('?').expect("query").1);
    assert!(authorisation.starts_with(&format!("{issuer}/authorize?")));
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["code_challenge"].len(), 43);
    assert_eq!(asked["state"].len(), 64);
    assert_eq!(asked["nonce"].len(), 64);
    let callback = console.authorise(&authorisation).await;
    let done = console
        .get(&callback, Some(&format!("scir_oidc={pending}")))
        .await;
    assert_eq!(
        done.status(),
        303,
        "{:?}",
        String::from_utf8_lossy(done.body())
    );
    assert_eq!(location(&done), "/");
    let session = cookie_value(&cookies_set(&done), "scir").expect("a session");
    // The person's access token reaches culture, which verifies it.
    let page = console
        .get(
            &format!("{}/culture", console.base),
            Some(&format!("scir={session}")),
        )
        .await;
    let text = String::from_utf8_lossy(page.body()).into_owned();
    assert_eq!(page.status(), 200, "{text}");
    assert!(
        text.contains("<h1>Safety culture surveys</h1>") && text.contains("oidc-lead"),
        "{text}"
    );
    assert!(
        !text.contains("Development sign-in"),
        "no development banner"
    );
    // The session's row holds the token sealed, never as sent.
    let access = state
        .lock()
        .expect("state")
        .access_tokens
        .last()
        .cloned()
        .expect("token");
    let raw = std::fs::read(console.web_db.trim_start_matches("sqlite://")).expect("db");
    let needle = &access.as_bytes()[..40];
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle),
        "the token is sealed"
    );
    println!("signed in at the provider; culture answered with the person's token");

    // A code injected into a browser that did not start the sign-in (no
    // pending cookie), and another sign-in's state.
    let (authorisation, _) = console.start_sign_in().await;
    let callback = console.authorise(&authorisation).await;
    let injected = console.get(&callback, None).await;
    assert_eq!(injected.status(), 403);
    assert_eq!(cookie_value(&cookies_set(&injected), "scir"), None);
    let (_, other_pending) = console.start_sign_in().await;
    let crossed = console
        .get(&callback, Some(&format!("scir_oidc={other_pending}")))
        .await;
    assert_eq!(crossed.status(), 403);
    assert_eq!(cookie_value(&cookies_set(&crossed), "scir"), None);

    // A replayed code: the first use succeeds, the second is refused.
    let (authorisation, pending) = console.start_sign_in().await;
    let callback = console.authorise(&authorisation).await;
    let cookie = format!("scir_oidc={pending}");
    assert_eq!(console.get(&callback, Some(&cookie)).await.status(), 303);
    let replayed = console.get(&callback, Some(&cookie)).await;
    assert_eq!(replayed.status(), 403);
    assert_eq!(cookie_value(&cookies_set(&replayed), "scir"), None);
    assert!(
        state
            .lock()
            .expect("state")
            .refused
            .contains(&"unknown or used code".to_owned())
    );

    // ID tokens a forger or a confused provider could send.
    for mode in [
        Mode::OtherNonce,
        Mode::OtherAudience,
        Mode::Expired,
        Mode::ForgedSignature,
        Mode::OtherAlgorithm,
        Mode::ServiceRole,
        Mode::UnknownJurisdiction,
    ] {
        state.lock().expect("state").mode = Some(mode);
        let (authorisation, pending) = console.start_sign_in().await;
        let callback = console.authorise(&authorisation).await;
        let refused = console
            .get(&callback, Some(&format!("scir_oidc={pending}")))
            .await;
        assert_eq!(refused.status(), 403, "{mode:?}");
        assert_eq!(
            cookie_value(&cookies_set(&refused), "scir"),
            None,
            "{mode:?}"
        );
        let text = String::from_utf8_lossy(refused.body()).into_owned();
        assert!(text.contains("Sign in again"), "{mode:?}: {text}");
        println!("{mode:?}: refused");
    }
    // The provider never refused the console's own PKCE verifier or client
    // authentication: every refusal above is the console's.
    let refused = state.lock().expect("state").refused.clone();
    assert_eq!(refused, ["unknown or used code"], "{refused:?}");
}

#[tokio::test]
async fn the_development_sign_in_cannot_sit_beside_an_identity_provider() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let config = scir_web::WebConfig {
        common: scir_testkit::common_config(&db.url),
        review_addr: "http://127.0.0.1:9".into(),
        scoring_addr: "http://127.0.0.1:9".into(),
        insights_addr: "http://127.0.0.1:9".into(),
        culture_addr: "http://127.0.0.1:9".into(),
        learning_addr: "http://127.0.0.1:9".into(),
        dev_sign_in: true,
        oidc: scir_web::config::OidcConfig {
            issuer: Some("https://idp.example.org".into()),
            ..Default::default()
        },
        secure_cookies: false,
        idle_minutes: 30,
        absolute_hours: 12,
        page_requests_per_minute: 600,
        trusted_proxies: Vec::new(),
    };
    let refused = scir_web::Application::build(&config, &Shutdown::new())
        .await
        .expect_err("refused");
    assert!(
        format!("{refused:#}").contains("SCIR_WEB_OIDC_ISSUER"),
        "{refused:#}"
    );
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_once_per_turn_and_a_refused_renewal_ends_the_session() {
    let state: Shared = Arc::default();
    state.lock().expect("state").expires_in = Some(1);
    let issuer = provider(state.clone()).await;
    let console = Console::start(&issuer).await;
    let (authorisation, pending) = console.start_sign_in().await;
    let callback = console.authorise(&authorisation).await;
    let done = console
        .get(&callback, Some(&format!("scir_oidc={pending}")))
        .await;
    assert_eq!(done.status(), 303);
    let cookie = format!(
        "scir={}",
        cookie_value(&cookies_set(&done), "scir").expect("a session")
    );
    let culture = format!("{}/culture", console.base);
    // The access token ends within the renewal margin: each visit renews it
    // with the refresh token, which the provider rotates.
    for turn in 1..=2 {
        let page = console.get(&culture, Some(&cookie)).await;
        assert_eq!(page.status(), 200, "turn {turn}");
        assert_eq!(state.lock().expect("state").refreshed, turn);
    }
    // Two requests at once (a page and its image): one renewal, and no
    // refresh token offered twice.
    let (a, b) = tokio::join!(
        console.get(&culture, Some(&cookie)),
        console.get(&culture, Some(&cookie))
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let refused = state.lock().expect("state").refused.clone();
    assert!(refused.is_empty(), "{refused:?}");
    // Signed out at the provider: the renewal is refused, the session ends.
    state.lock().expect("state").refuse_refresh = true;
    let page = console.get(&culture, Some(&cookie)).await;
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/sign-in");
    state.lock().expect("state").refuse_refresh = false;
    let again = console.get(&culture, Some(&cookie)).await;
    assert_eq!(
        (again.status().as_u16(), location(&again)),
        (303, "/sign-in".to_owned())
    );
}
