//! Authentication and authorisation.
//!
//! Every RPC but health and reflection needs `authorization: Bearer <JWT>`. The
//! token is verified by issuer, audience, expiry and signature (HS256 with a
//! shared secret for development; RS256/ES256 keys from a JWKS file for
//! deployments). Which roles may call which RPC is a declarative table per
//! service ([`MethodRule`]), checked by [`AuthLayer`] before the handler runs; an
//! RPC missing from the table is denied. Handlers then check the jurisdiction of
//! the resource with [`Caller::authorize_jurisdiction`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::audit::{AuditLog, AuditRecord};
use crate::error::ApiError;

/// A role a caller may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A local agency reporting incidents.
    Reporter,
    /// A member of a review team.
    Reviewer,
    /// The lead of a review (Systems Change Review lead).
    ScrLead,
    /// An analyst of one jurisdiction's aggregate data.
    Analyst,
    /// A partnership member seeing pooled, de-identified data only.
    Partner,
    /// An administrator of one jurisdiction.
    Admin,
    /// Another SCIR service.
    Service,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Role::Reporter,
        Role::Reviewer,
        Role::ScrLead,
        Role::Analyst,
        Role::Partner,
        Role::Admin,
        Role::Service,
    ];

    /// The role's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Reviewer => "reviewer",
            Role::ScrLead => "scr_lead",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a SCIR token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Who the caller is (a user or service id; not a name).
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not valid before, seconds since the epoch; checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The jurisdiction the caller acts for.
    pub jurisdiction: String,
    /// The caller's roles; unknown role names are ignored.
    pub roles: Vec<String>,
}

/// The authenticated caller of an RPC, available in the request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token subject.
    pub subject: String,
    /// The jurisdiction the caller acts for.
    pub jurisdiction: String,
    /// Roles the caller holds.
    pub roles: Vec<Role>,
    /// Roles that let the caller into the current RPC.
    pub granted: Vec<Role>,
    /// The caller's own token, for calls made on the caller's behalf.
    pub bearer: Secret,
    /// The method called, as the authorisation table names it (for audit
    /// records); empty until the call is granted.
    pub method: &'static str,
}

impl Caller {
    /// Whether any of the roles that let the caller into this RPC is one of `roles`.
    pub fn granted_any(&self, roles: &[Role]) -> bool {
        self.granted.iter().any(|r| roles.contains(r))
    }

    /// Whether the caller is another SCIR service. A service token carries the
    /// `service` role alone (see [`Verifier::verify`]), and only a call that
    /// `service` granted counts, so a person's token never acts as a service.
    pub fn is_service(&self) -> bool {
        self.granted.contains(&Role::Service)
    }

    /// Allows the call when the resource belongs to the caller's jurisdiction or
    /// to one of its counties (as `directory` lists them). Services, on the
    /// methods open to them, act for every jurisdiction.
    pub fn authorize_jurisdiction(
        &self,
        directory: &crate::directory::Directory,
        resource_jurisdiction: &str,
    ) -> Result<(), ApiError> {
        if self.is_service() || directory.acts_in(&self.jurisdiction, resource_jurisdiction) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(
                "the resource belongs to another jurisdiction".to_owned(),
            ))
        }
    }

    /// The roles as one comma-separated string, for audit records.
    pub fn roles_string(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The caller of a request, put there by [`AuthLayer`].
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Caller, ApiError> {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthenticated("no verified caller".to_owned()))
    }
}

/// Who may call one RPC.
#[derive(Debug, Clone, Copy)]
pub struct MethodRule {
    /// Full gRPC path, e.g. `/scir.intake.v1.IntakeService/ReportIncident`.
    pub method: &'static str,
    /// Roles allowed to call it.
    pub roles: &'static [Role],
}

/// A service's authorisation table, `RULES`, from its method names:
///
/// ```ignore
/// scir_kit::method_rules!("scir.scoring.v1.ScoringService", {
///     "ListInstruments" => &Role::ALL,
///     "SubmitRatings" => &[Role::Reviewer],
/// });
/// ```
#[macro_export]
macro_rules! method_rules {
    ($service:literal, { $($method:literal => $roles:expr),* $(,)? }) => {
        /// The authorisation table: who may call each method.
        pub const RULES: &[$crate::auth::MethodRule] = &[
            $($crate::auth::MethodRule {
                method: concat!("/", $service, "/", $method),
                roles: $roles,
            }),*
        ];
    };
}

/// The verified caller and the message of a request.
pub fn split<T>(request: tonic::Request<T>) -> Result<(Caller, T), Status> {
    let caller = Caller::of(&request)?;
    Ok((caller, request.into_inner()))
}

/// A secret read from configuration: printed as `[REDACTED]`, zeroed when
/// dropped, read only through `ExposeSecret::expose_secret`.
pub use secrecy::{ExposeSecret, SecretString as Secret};

/// How tokens are verified.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// Expected `iss` claim of every token.
    #[arg(
        long = "jwt-issuer",
        env = "SCIR_JWT_ISSUER",
        default_value = "scir-dev"
    )]
    pub issuer: String,
    /// Expected `aud` claim of every token.
    #[arg(
        long = "jwt-audience",
        env = "SCIR_JWT_AUDIENCE",
        default_value = "scir"
    )]
    pub audience: String,
    /// HS256 shared secret (development). Exactly one of this and the JWKS file.
    #[arg(
        long = "jwt-hs256-secret",
        env = "SCIR_JWT_HS256_SECRET",
        hide_env_values = true
    )]
    pub hs256_secret: Option<Secret>,
    /// JWKS file with the RS256/ES256 public keys of the identity provider.
    #[arg(long = "jwt-jwks-file", env = "SCIR_JWT_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: Arc<Keys>,
}

enum Keys {
    Hs256(DecodingKey),
    Jwks(HashMap<String, (Algorithm, DecodingKey)>),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The configuration does not allow verifying tokens.
    #[error("auth configuration: {0}")]
    Config(String),
    /// The token is missing, malformed, expired, or not ours.
    #[error("{0}")]
    Token(String),
}

impl Verifier {
    /// A verifier from configuration.
    pub fn from_config(config: &AuthConfig) -> Result<Self, AuthError> {
        let keys = match (&config.hs256_secret, &config.jwks_file) {
            (Some(secret), None) => {
                if secret.expose_secret().len() < 32 {
                    return Err(AuthError::Config(
                        "the HS256 secret must be at least 32 bytes".to_owned(),
                    ));
                }
                Keys::Hs256(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    AuthError::Config(format!("reading JWKS file {}: {e}", path.display()))
                })?;
                Keys::Jwks(
                    parse_jwks(&text).map_err(|e| {
                        AuthError::Config(format!("JWKS file {}: {e}", path.display()))
                    })?,
                )
            }
            _ => {
                return Err(AuthError::Config(
                    "set exactly one of SCIR_JWT_HS256_SECRET and SCIR_JWT_JWKS_FILE".to_owned(),
                ));
            }
        };
        Ok(Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            keys: Arc::new(keys),
        })
    }

    /// A verifier of an identity provider's tokens: its JWKS document (as
    /// its `jwks_uri` serves it), the `iss` and the `aud` to expect.
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let keys = parse_jwks(jwks).map_err(|e| AuthError::Config(format!("JWKS: {e}")))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: Arc::new(Keys::Jwks(keys)),
        })
    }

    /// Verifies a token and returns the caller it identifies.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let claims: Claims = self.decode(token)?;
        caller(claims.sub, claims.jurisdiction, &claims.roles, token)
    }

    /// Verifies an OpenID Connect ID token (signature, `iss`, `aud`, `exp`)
    /// and that it answers the sign-in that sent `nonce`; the person it names.
    /// The token itself is no bearer for the services: `Caller::bearer` is
    /// left empty.
    pub fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Caller, AuthError> {
        #[derive(Deserialize)]
        struct IdClaims {
            sub: String,
            #[serde(default)]
            jurisdiction: String,
            #[serde(default)]
            roles: Vec<String>,
            #[serde(default)]
            nonce: Option<String>,
        }
        let claims: IdClaims = self.decode(token)?;
        // A token minted for another sign-in (replayed, or injected into this
        // browser's callback) names another nonce, or none.
        let same = claims.nonce.as_deref().is_some_and(|n| {
            n.len() == nonce.len()
                && n.bytes()
                    .zip(nonce.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if nonce.is_empty() || !same {
            return Err(AuthError::Token(
                "the token answers another sign-in".to_owned(),
            ));
        }
        caller(claims.sub, claims.jurisdiction, &claims.roles, "")
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Token("malformed token".to_owned()))?;
        let (algorithm, key) = match &*self.keys {
            Keys::Hs256(key) => (Algorithm::HS256, key),
            Keys::Jwks(keys) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthError::Token("token has no key id".to_owned()))?;
                let (alg, key) = keys
                    .get(kid)
                    .ok_or_else(|| AuthError::Token("unknown signing key".to_owned()))?;
                (*alg, key)
            }
        };
        if header.alg != algorithm {
            return Err(AuthError::Token("unexpected signing algorithm".to_owned()));
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<T>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Token(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::ImmatureSignature => "token not yet valid",
                    ErrorKind::InvalidSignature => "bad token signature",
                    ErrorKind::InvalidAudience => "token is for another audience",
                    ErrorKind::InvalidIssuer => "token from an unknown issuer",
                    _ => "invalid token",
                }
                .to_owned(),
            )
        })?;
        Ok(data.claims)
    }
}

/// The caller a verified token's claims name.
fn caller(
    subject: String,
    jurisdiction: String,
    roles: &[String],
    token: &str,
) -> Result<Caller, AuthError> {
    if jurisdiction.is_empty() {
        return Err(AuthError::Token("token has no jurisdiction".to_owned()));
    }
    let roles: Vec<Role> = roles.iter().filter_map(|r| r.parse().ok()).collect();
    // A service is its own kind of principal: a token that mixes it with a
    // person's roles is refused whole, so no person's call can borrow a
    // service's reach across jurisdictions.
    if roles.contains(&Role::Service) && roles.iter().any(|r| *r != Role::Service) {
        return Err(AuthError::Token(
            "a service token carries no other role".to_owned(),
        ));
    }
    Ok(Caller {
        subject,
        jurisdiction,
        roles,
        granted: Vec::new(),
        bearer: Secret::from(token),
        method: "",
    })
}

fn parse_jwks(text: &str) -> Result<HashMap<String, (Algorithm, DecodingKey)>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().ok_or("a key has no `kid`")?;
        let alg = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::RS256) => Algorithm::RS256,
            Some(KeyAlgorithm::ES256) => Algorithm::ES256,
            _ => return Err(format!("key `{kid}`: `alg` must be RS256 or ES256")),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
        keys.insert(kid, (alg, key));
    }
    if keys.is_empty() {
        return Err("no keys".to_owned());
    }
    Ok(keys)
}

/// Signs `claims` with an HS256 secret, for development and tests.
pub fn encode_hs256(secret: &str, claims: &Claims) -> Result<String, AuthError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| AuthError::Config(e.to_string()))
}

/// Mints an HS256 token, for development and tests.
pub fn mint_hs256(
    secret: &str,
    issuer: &str,
    audience: &str,
    subject: &str,
    jurisdiction: &str,
    roles: &[Role],
    ttl: std::time::Duration,
) -> Result<String, AuthError> {
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = Claims {
        sub: subject.to_owned(),
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        iat: now,
        nbf: None,
        exp: now + ttl.as_secs(),
        jurisdiction: jurisdiction.to_owned(),
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| AuthError::Config(e.to_string()))
}

/// Paths that need no token: health checks and reflection.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// The authorisation decision for one call.
pub fn authorize(
    verifier: &Verifier,
    rules: &[MethodRule],
    path: &str,
    authorization: Option<&str>,
) -> Result<Caller, ApiError> {
    grant(rules, path, authenticate(verifier, authorization)?)
}

/// The caller a bearer `authorization` header identifies.
fn authenticate(verifier: &Verifier, authorization: Option<&str>) -> Result<Caller, ApiError> {
    let token = authorization
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| ApiError::Unauthenticated("missing bearer token".to_owned()))?;
    verifier
        .verify(token.trim())
        .map_err(|e| ApiError::Unauthenticated(e.to_string()))
}

/// `caller` with the roles that let it into `path`, or PERMISSION_DENIED.
fn grant(rules: &[MethodRule], path: &str, mut caller: Caller) -> Result<Caller, ApiError> {
    let rule = rules.iter().find(|r| r.method == path).ok_or_else(|| {
        ApiError::PermissionDenied("the method is not open to any role".to_owned())
    })?;
    caller.granted = caller
        .roles
        .iter()
        .copied()
        .filter(|r| rule.roles.contains(r))
        .collect();
    caller.method = rule.method;
    if caller.granted.is_empty() {
        return Err(ApiError::PermissionDenied(format!(
            "the method requires one of the roles: {}",
            rule.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(caller)
}

/// A tower layer that authenticates and authorises every call by the method table,
/// records denials in the audit log, and hands the [`Caller`] to the handler.
#[derive(Clone)]
pub struct AuthLayer {
    state: Arc<AuthState>,
}

struct AuthState {
    verifier: Verifier,
    rules: Vec<MethodRule>,
    audit: Option<AuditLog>,
    /// Calls refused for want of a valid token since the last flush, by method.
    unauthenticated: std::sync::Mutex<BTreeMap<&'static str, u64>>,
}

/// How often the count of unauthenticated calls is written to the audit log.
pub const UNAUTHENTICATED_AUDIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What an unauthenticated call to a method no table names is counted as.
const UNKNOWN_METHOD: &str = "(unknown method)";

impl AuthState {
    /// Counts an unauthenticated call to `path`. Nothing is written per call,
    /// so a flood of calls without a token costs the database one record per
    /// method per interval, not one per call.
    fn tally_unauthenticated(&self, path: &str) {
        let method = self
            .rules
            .iter()
            .find(|r| r.method == path)
            .map_or(UNKNOWN_METHOD, |r| r.method);
        let mut counts = self
            .unauthenticated
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *counts.entry(method).or_default() += 1;
    }

    /// Writes the counts gathered since the last flush, one record per method.
    async fn flush_unauthenticated(&self) {
        let Some(audit) = &self.audit else { return };
        let counts = std::mem::take(
            &mut *self
                .unauthenticated
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (method, count) in counts {
            let record = AuditRecord {
                subject: String::new(),
                roles: String::new(),
                method: method.to_owned(),
                resource: String::new(),
                jurisdiction: String::new(),
                outcome: format!("denied: unauthenticated x{count}"),
            };
            if let Err(e) = audit.record(record).await {
                tracing::error!(error = %e, "could not audit unauthenticated calls");
            }
        }
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("rules", &self.state.rules.len())
            .finish()
    }
}

impl AuthLayer {
    /// A layer for the union of the given method tables. Denials are audited in
    /// `audit` when given.
    ///
    /// Unauthenticated calls are audited as counts per method every
    /// [`UNAUTHENTICATED_AUDIT_INTERVAL`], by a task that ends with the layer;
    /// it needs a Tokio runtime, and without one they are not audited.
    pub fn new(verifier: Verifier, rules: Vec<MethodRule>, audit: Option<AuditLog>) -> Self {
        let state = Arc::new(AuthState {
            verifier,
            rules,
            audit,
            unauthenticated: std::sync::Mutex::default(),
        });
        if state.audit.is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let state = Arc::downgrade(&state);
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval(UNAUTHENTICATED_AUDIT_INTERVAL);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let Some(state) = state.upgrade() else { return };
                    state.flush_unauthenticated().await;
                }
            });
        }
        Self { state }
    }

    /// Writes the unauthenticated calls counted so far to the audit log now.
    pub async fn flush(&self) {
        self.state.flush_unauthenticated().await;
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    state: Arc<AuthState>,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let mut inner = crate::take_ready(&mut self.inner);
        let path = request.uri().path().to_owned();
        if is_public(&path) {
            return Box::pin(inner.call(request));
        }
        // A method this port does not serve is answered as gRPC does, before
        // any token is read: nothing about it is worth a verification or an
        // audit line, and an arbitrary path never reaches the tallies.
        if !self.state.rules.iter().any(|r| r.method == path) {
            let response = Status::unimplemented(format!("{path} is not served here")).into_http();
            return Box::pin(async move { Ok(response) });
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let caller = match authenticate(&self.state.verifier, authorization) {
            Ok(caller) => caller,
            Err(error) => {
                self.state.tally_unauthenticated(&path);
                let response = Status::from(error).into_http();
                return Box::pin(async move { Ok(response) });
            }
        };
        // A verified caller's denial is recorded one by one, with who.
        let (subject, roles) = (caller.subject.clone(), caller.roles_string());
        match grant(&self.state.rules, &path, caller) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Box::pin(inner.call(request))
            }
            Err(error) => {
                let state = self.state.clone();
                Box::pin(async move {
                    if let Some(audit) = &state.audit {
                        let record = AuditRecord {
                            subject,
                            roles,
                            method: path,
                            resource: String::new(),
                            jurisdiction: String::new(),
                            outcome: "denied: role".to_owned(),
                        };
                        if let Err(e) = audit.record(record).await {
                            tracing::error!(error = %e, "could not audit a denied call");
                        }
                    }
                    Ok(Status::from(error).into_http())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn verifier() -> Verifier {
        Verifier::from_config(&AuthConfig {
            issuer: "iss".into(),
            audience: "aud".into(),
            hs256_secret: Some(Secret::from(SECRET)),
            jwks_file: None,
        })
        .expect("verifier")
    }

    const RULES: &[MethodRule] = &[MethodRule {
        method: "/x.S/Get",
        roles: &[Role::Reviewer],
    }];

    fn token(roles: &[Role], secret: &str, aud: &str) -> String {
        mint_hs256(
            secret,
            "iss",
            aud,
            "u1",
            "us-wi",
            roles,
            Duration::from_secs(60),
        )
        .expect("mint")
    }

    #[test]
    fn a_valid_token_with_an_allowed_role_passes() {
        let t = format!("Bearer {}", token(&[Role::Reviewer], SECRET, "aud"));
        let caller = authorize(&verifier(), RULES, "/x.S/Get", Some(&t)).expect("allowed");
        assert_eq!(caller.jurisdiction, "us-wi");
        assert_eq!(caller.granted, [Role::Reviewer]);
    }

    #[test]
    fn denials_are_precise() {
        let v = verifier();
        let wrong_role = format!("Bearer {}", token(&[Role::Reporter], SECRET, "aud"));
        let bad_sig = format!(
            "Bearer {}",
            token(
                &[Role::Reviewer],
                "another-secret-of-32-bytes-or-more",
                "aud"
            )
        );
        let wrong_aud = format!("Bearer {}", token(&[Role::Reviewer], SECRET, "other"));
        let ok = format!("Bearer {}", token(&[Role::Reviewer], SECRET, "aud"));
        let code = |r: Result<Caller, ApiError>| r.map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            code(authorize(&v, RULES, "/x.S/Get", None)),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(authorize(&v, RULES, "/x.S/Get", Some(&bad_sig))),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(authorize(&v, RULES, "/x.S/Get", Some(&wrong_aud))),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(authorize(&v, RULES, "/x.S/Get", Some(&wrong_role))),
            Err(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            code(authorize(&v, RULES, "/x.S/Missing", Some(&ok))),
            Err(tonic::Code::PermissionDenied)
        );
    }

    fn claims(roles: &[&str], nbf: Option<u64>) -> Claims {
        let now = chrono::Utc::now().timestamp() as u64;
        Claims {
            sub: "u1".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            iat: now,
            nbf,
            exp: now + 600,
            jurisdiction: "us-tn".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn a_person_token_that_claims_the_service_role_is_refused_whole() {
        let v = verifier();
        for roles in [
            &["reporter", "service"][..],
            &["service", "admin"],
            &["partner", "service", "service"],
        ] {
            let token = encode_hs256(SECRET, &claims(roles, None)).expect("token");
            let refused = v.verify(&token).expect_err("mixed roles");
            assert!(refused.to_string().contains("service"), "{roles:?}");
        }
        let service = encode_hs256(SECRET, &claims(&["service"], None)).expect("token");
        assert_eq!(v.verify(&service).expect("service").roles, [Role::Service]);
    }

    #[test]
    fn only_a_call_the_service_role_granted_crosses_jurisdictions() {
        let dir = crate::directory::Directory::shipped();
        let mut caller = Caller {
            subject: "s".into(),
            jurisdiction: "us-tn".into(),
            roles: vec![Role::Service],
            granted: vec![Role::Service],
            bearer: Secret::default(),
            method: "",
        };
        assert!(caller.authorize_jurisdiction(&dir, "us-wi").is_ok());
        // Held but not what let the caller in: no reach.
        caller.roles = vec![Role::Reporter, Role::Service];
        caller.granted = vec![Role::Reporter];
        assert!(caller.authorize_jurisdiction(&dir, "us-wi").is_err());
    }

    #[test]
    fn a_token_is_refused_before_its_not_before_time() {
        let v = verifier();
        let later = chrono::Utc::now().timestamp() as u64 + 3600;
        let early = encode_hs256(SECRET, &claims(&["reporter"], Some(later))).expect("token");
        assert_eq!(
            v.verify(&early).expect_err("not yet").to_string(),
            "token not yet valid"
        );
        let now = chrono::Utc::now().timestamp() as u64;
        let valid = encode_hs256(SECRET, &claims(&["reporter"], Some(now - 5))).expect("token");
        v.verify(&valid).expect("valid after nbf");
    }

    #[test]
    fn jurisdiction_scope_allows_own_and_child_jurisdictions() {
        let dir = crate::directory::Directory::shipped();
        let caller = Caller {
            subject: "s".into(),
            jurisdiction: "us-wi".into(),
            roles: vec![Role::Reviewer],
            granted: vec![Role::Reviewer],
            bearer: Secret::default(),
            method: "",
        };
        assert!(caller.authorize_jurisdiction(&dir, "us-wi").is_ok());
        assert!(caller.authorize_jurisdiction(&dir, "us-wi-dane").is_ok());
        assert!(caller.authorize_jurisdiction(&dir, "us-tn").is_err());
        let county = Caller {
            jurisdiction: "us-wi-dane".into(),
            ..caller
        };
        assert!(county.authorize_jurisdiction(&dir, "us-wi").is_err());
        assert!(
            county
                .authorize_jurisdiction(&dir, "us-wi-milwaukee")
                .is_err()
        );
    }

    fn jwks_verifier() -> Verifier {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-jwks.json");
        Verifier::from_config(&AuthConfig {
            issuer: "iss".into(),
            audience: "aud".into(),
            hs256_secret: None,
            jwks_file: Some(PathBuf::from(path)),
        })
        .expect("jwks verifier")
    }

    fn signed(alg: Algorithm, kid: Option<&str>, pem: &str) -> String {
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .expect("key");
        let now = chrono::Utc::now().timestamp() as u64;
        let claims = Claims {
            sub: "svc".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            iat: now,
            nbf: None,
            exp: now + 60,
            jurisdiction: "us-wi".into(),
            roles: vec!["reviewer".into(), "no-such-role".into()],
        };
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    }

    const ES256_PEM: &str = include_str!("../tests/fixtures/test-es256.pem");
    const RS256_PEM: &str = include_str!("../tests/fixtures/test-rs256.pem");

    #[test]
    fn jwks_keys_verify_rs256_and_es256_tokens() {
        let v = jwks_verifier();
        let es = v
            .verify(&signed(Algorithm::ES256, Some("test-es256"), ES256_PEM))
            .expect("es256");
        assert_eq!(es.roles, [Role::Reviewer], "unknown roles are ignored");
        v.verify(&signed(Algorithm::RS256, Some("test-rs256"), RS256_PEM))
            .expect("rs256");
        // A key used under another key's id, or with no id, is refused.
        assert!(
            v.verify(&signed(Algorithm::RS256, Some("test-es256"), RS256_PEM))
                .is_err()
        );
        assert!(
            v.verify(&signed(Algorithm::ES256, None, ES256_PEM))
                .is_err()
        );
        // An HS256 token signed with a public key as the secret is refused.
        let forged = jsonwebtoken::encode(
            &Header { kid: Some("test-rs256".into()), ..Header::new(Algorithm::HS256) },
            &serde_json::json!({"sub": "x", "iss": "iss", "aud": "aud", "exp": u64::MAX / 2, "iat": 0, "jurisdiction": "us-wi", "roles": ["admin"]}),
            &EncodingKey::from_secret(RS256_PEM.as_bytes()),
        )
        .expect("forge");
        assert!(v.verify(&forged).is_err());
    }

    #[test]
    fn short_secrets_and_ambiguous_configs_are_refused() {
        let config = |secret: Option<&str>, jwks: Option<&str>| AuthConfig {
            issuer: "i".into(),
            audience: "a".into(),
            hs256_secret: secret.map(Secret::from),
            jwks_file: jwks.map(PathBuf::from),
        };
        assert!(Verifier::from_config(&config(Some("short"), None)).is_err());
        assert!(Verifier::from_config(&config(None, None)).is_err());
        assert!(Verifier::from_config(&config(Some(SECRET), Some("x.json"))).is_err());
    }
}
