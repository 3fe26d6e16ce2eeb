//! Sign-in with the agency's identity provider: OpenID Connect's
//! authorisation code flow with PKCE (S256), a `state` bound to the browser
//! that started it, and a `nonce` the ID token must carry back.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use bytes::Bytes;
use scir_kit::auth::{Caller, ExposeSecret as _, Role, Secret, Verifier};
use scir_kit::http_client::HttpClient;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::OidcConfig;
use crate::session::random_hex;

/// How long the provider may take to answer one request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys are fetched again for an unknown key id at most this often, so a
/// stream of forged key ids cannot make the console hammer the provider.
const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// An access token's life when the provider does not say.
const DEFAULT_TOKEN_SECONDS: u64 = 300;

/// A sign-in under way, kept in a cookie of the browser that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Sent as `state`; the callback must bring it back.
    pub state: String,
    /// Sent as `nonce`; the ID token must carry it.
    pub nonce: String,
    /// The PKCE verifier; only its S256 challenge leaves before the code
    /// comes back.
    pub verifier: String,
}

impl Pending {
    /// A new sign-in with fresh random values.
    pub fn new() -> Self {
        Self {
            state: random_hex(32),
            nonce: random_hex(32),
            verifier: random_hex(32),
        }
    }

    /// The cookie's value.
    pub fn cookie(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    /// The sign-in a cookie's value holds, if well formed.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('.');
        let (state, nonce, verifier) = (parts.next()?, parts.next()?, parts.next()?);
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        (parts.next().is_none() && hex64(state) && hex64(nonce) && hex64(verifier)).then(|| Self {
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            verifier: verifier.to_owned(),
        })
    }

    /// The PKCE S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

/// The provider's discovery document, as far as the console reads it.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct Tokens {
    /// Present when a code is redeemed; a refresh may leave it out.
    #[serde(default)]
    id_token: Option<String>,
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// A renewed access token, and the refresh token when the provider rotated it.
#[derive(Debug)]
pub struct Renewed {
    /// The access token.
    pub access_token: Secret,
    /// When it ends.
    pub ends: std::time::SystemTime,
    /// The next refresh token, if the provider rotated it.
    pub refresh_token: Option<Secret>,
}

/// A person the provider signed in: who, and the access token to call the
/// services with until it ends.
#[derive(Debug)]
pub struct Person {
    /// `sub`, jurisdiction and roles from the ID token.
    pub caller: Caller,
    /// The access token.
    pub access_token: Secret,
    /// When it ends.
    pub ends: std::time::SystemTime,
    /// The refresh token, when the provider gives one.
    pub refresh_token: Option<Secret>,
}

/// The identity provider.
pub struct Provider {
    issuer: String,
    client_id: String,
    client_secret: Secret,
    redirect_url: String,
    scopes: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    keys: RwLock<(Verifier, Instant)>,
    http: HttpClient,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Reads the provider's discovery document and keys; `None` when no
    /// issuer is configured.
    pub async fn discover(config: &OidcConfig) -> anyhow::Result<Option<Self>> {
        let Some(issuer) = config.issuer.as_deref() else {
            return Ok(None);
        };
        let issuer = issuer.trim_end_matches('/').to_owned();
        let client_id = config
            .client_id
            .clone()
            .context("SCIR_WEB_OIDC_CLIENT_ID is required with SCIR_WEB_OIDC_ISSUER")?;
        let secret_file = config
            .client_secret_file
            .as_ref()
            .context("SCIR_WEB_OIDC_CLIENT_SECRET_FILE is required with SCIR_WEB_OIDC_ISSUER")?;
        let client_secret = std::fs::read_to_string(secret_file)
            .with_context(|| format!("reading {}", secret_file.display()))?
            .trim()
            .to_owned();
        if client_secret.is_empty() {
            bail!("{} is empty", secret_file.display());
        }
        let redirect_url = config
            .redirect_url
            .clone()
            .context("SCIR_WEB_OIDC_REDIRECT_URL is required with SCIR_WEB_OIDC_ISSUER")?;
        let http = HttpClient::new(
            config.ca_file.as_deref(),
            config.allow_loopback,
            PROVIDER_TIMEOUT,
        )?;
        let document = get(&http, &format!("{issuer}/.well-known/openid-configuration"))
            .await
            .context("reading the provider's discovery document")?;
        let discovery: Discovery =
            serde_json::from_slice(&document).context("the provider's discovery document")?;
        // The document must be the issuer's own (OpenID Connect Discovery 4.3).
        if discovery.issuer.trim_end_matches('/') != issuer {
            bail!(
                "the discovery document names issuer {}, not {issuer}",
                discovery.issuer
            );
        }
        let keys = fetch_keys(&http, &discovery.jwks_uri, &discovery.issuer, &client_id).await?;
        let mut scopes: Vec<&str> = config.scopes.split_whitespace().collect();
        if !scopes.contains(&"openid") {
            scopes.insert(0, "openid");
        }
        Ok(Some(Self {
            issuer: discovery.issuer,
            client_id,
            client_secret: Secret::from(client_secret),
            redirect_url,
            scopes: scopes.join(" "),
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            jwks_uri: discovery.jwks_uri,
            keys: RwLock::new((keys, Instant::now())),
            http,
        }))
    }

    /// Where to send the browser to sign in.
    pub fn authorization_url(&self, pending: &Pending) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_url)
            .append_pair("scope", &self.scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pending.challenge())
            .append_pair("code_challenge_method", "S256")
            .finish();
        let joiner = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{joiner}{query}", self.authorization_endpoint)
    }

    /// Redeems the code the provider sent back for tokens, and verifies the
    /// ID token against the sign-in that asked for it.
    pub async fn finish(&self, code: &str, pending: &Pending) -> Result<Person, String> {
        let tokens = self
            .token_endpoint(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_url),
                ("client_id", &self.client_id),
                ("code_verifier", &pending.verifier),
            ])
            .await?;
        let id_token = tokens
            .id_token
            .as_deref()
            .ok_or("the provider sent no ID token")?;
        let caller = self.verify(id_token, &pending.nonce).await?;
        if caller.roles.contains(&Role::Service) {
            return Err("a service's identity cannot sign in to the console".to_owned());
        }
        let seconds = tokens.expires_in.unwrap_or(DEFAULT_TOKEN_SECONDS);
        Ok(Person {
            caller,
            access_token: Secret::from(tokens.access_token),
            ends: std::time::SystemTime::now() + Duration::from_secs(seconds),
            refresh_token: tokens.refresh_token.map(Secret::from),
        })
    }

    /// A new access token for a session, with its refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Renewed, String> {
        let tokens = self
            .token_endpoint(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
            ])
            .await?;
        let seconds = tokens.expires_in.unwrap_or(DEFAULT_TOKEN_SECONDS);
        Ok(Renewed {
            access_token: Secret::from(tokens.access_token),
            ends: std::time::SystemTime::now() + Duration::from_secs(seconds),
            refresh_token: tokens.refresh_token.map(Secret::from),
        })
    }

    /// Posts `form` to the token endpoint with the client's credentials
    /// (`client_secret_basic`); the bearer tokens it answers.
    async fn token_endpoint(&self, form: &[(&str, &str)]) -> Result<Tokens, String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        // client_secret_basic: both parts form-encoded first (RFC 6749 2.3.1).
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose_secret())
        ));
        let headers = [
            (
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".to_owned(),
            ),
            (http::header::AUTHORIZATION, format!("Basic {basic}")),
            (http::header::ACCEPT, "application/json".to_owned()),
        ];
        let answer = self
            .http
            .send(
                http::Method::POST,
                &self.token_endpoint,
                &headers,
                Bytes::from(body),
            )
            .await?;
        if !answer.status().is_success() {
            return Err(format!(
                "the provider refused the grant (HTTP {})",
                answer.status()
            ));
        }
        let tokens: Tokens = serde_json::from_slice(answer.body())
            .map_err(|e| format!("the provider's token answer: {e}"))?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err("the provider's access token is not a bearer token".to_owned());
        }
        Ok(tokens)
    }

    /// Verifies an ID token; keys are fetched again, at most once a minute,
    /// when it names a key the console does not know (the provider rotated).
    async fn verify(&self, id_token: &str, nonce: &str) -> Result<Caller, String> {
        let (verifier, fetched) = self.keys.read().expect("keys lock").clone();
        match verifier.verify_id_token(id_token, nonce) {
            Err(scir_kit::auth::AuthError::Token(why))
                if why == "unknown signing key" && fetched.elapsed() >= REFETCH_EVERY =>
            {
                let fresh = fetch_keys(&self.http, &self.jwks_uri, &self.issuer, &self.client_id)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                *self.keys.write().expect("keys lock") = (fresh.clone(), Instant::now());
                fresh
                    .verify_id_token(id_token, nonce)
                    .map_err(|e| e.to_string())
            }
            other => other.map_err(|e| e.to_string()),
        }
    }
}

async fn get(http: &HttpClient, url: &str) -> anyhow::Result<Bytes> {
    let answer = http
        .send(
            http::Method::GET,
            url,
            &[(http::header::ACCEPT, "application/json".to_owned())],
            Bytes::new(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    if !answer.status().is_success() {
        bail!("{url}: HTTP {}", answer.status());
    }
    Ok(answer.into_body())
}

async fn fetch_keys(
    http: &HttpClient,
    jwks_uri: &str,
    issuer: &str,
    client_id: &str,
) -> anyhow::Result<Verifier> {
    let jwks = get(http, jwks_uri)
        .await
        .context("reading the provider's keys")?;
    let text = std::str::from_utf8(&jwks).context("the provider's keys")?;
    Ok(Verifier::from_jwks(text, issuer, client_id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        // RFC 7636, appendix B.
        let pending = Pending {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
        };
        assert_eq!(
            pending.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn only_a_well_formed_cookie_is_a_pending_sign_in() {
        let pending = Pending::new();
        assert_eq!(Pending::parse(&pending.cookie()), Some(pending.clone()));
        let cookie = pending.cookie();
        assert_eq!(Pending::parse(&cookie[1..]), None);
        assert_eq!(Pending::parse(&format!("{cookie}.x")), None);
        assert_eq!(Pending::parse(&cookie.replace('.', "-")), None);
        assert_eq!(Pending::parse(""), None);
    }
}
