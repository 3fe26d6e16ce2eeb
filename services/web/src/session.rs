//! Sessions: a random id in a cookie, its hash in the database, with who
//! signed in, the form token, and the times that end it.

use std::time::Duration;

use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use scir_kit::auth::{ExposeSecret as _, Role, Secret};
use scir_kit::db::{Database, DbError, now_micros};
use sha2::{Digest, Sha256};

/// The session cookie's name. The `__Host-` prefix (secure cookies only)
/// binds it to this host and path `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-scir" } else { "scir" }
}

/// Who is signed in, and the token their forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The person (`sub`).
    pub subject: String,
    /// Their jurisdiction.
    pub jurisdiction: String,
    /// Their roles.
    pub roles: Vec<Role>,
    /// The form token (CSRF).
    pub csrf: String,
    /// The identity provider's access token the services are called with
    /// (OpenID Connect sign-in); none for a development session.
    pub bearer: Option<Bearer>,
    /// The provider's refresh token, when it gave one and the access token
    /// has ended or is about to: the session is to be renewed with it.
    pub renew_with: Option<Bearer>,
}

/// An access token, never printed.
#[derive(Clone)]
pub struct Bearer(pub Secret);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl PartialEq for Bearer {
    fn eq(&self, other: &Self) -> bool {
        same_token(self.0.expose_secret(), other.0.expose_secret())
    }
}

impl Eq for Bearer {}

/// What a session is started with: who signed in and, from an identity
/// provider, the access token and when it ends (microseconds).
#[derive(Debug)]
pub struct SignedIn<'a> {
    /// `sub`.
    pub subject: &'a str,
    /// The jurisdiction.
    pub jurisdiction: &'a str,
    /// The roles.
    pub roles: &'a [Role],
    /// The access token and its end, if any.
    pub token: Option<(&'a str, i64)>,
    /// The provider's refresh token, if it gave one.
    pub refresh: Option<&'a str>,
}

/// How long before its access token ends a session is renewed, so no call
/// carries a token that ends on the way.
const RENEW_BEFORE_MICROS: i64 = 30_000_000;

impl Session {
    /// Whether they hold any of `roles`.
    pub fn holds(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Random bytes as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The key a session's access token is sealed with: derived from the
/// cookie's value, which the database never holds, so the table alone opens
/// no token.
fn token_key(id: &str) -> ChaCha20Poly1305 {
    let mut digest = Sha256::new();
    digest.update(b"scir-web session token\0");
    digest.update(id.as_bytes());
    ChaCha20Poly1305::new_from_slice(&digest.finalize()).expect("a 32-byte key")
}

fn seal_token(id: &str, token: &str) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).expect("the operating system's random source");
    let sealed = token_key(id)
        .encrypt(&Nonce::from(nonce), token.as_bytes())
        .expect("sealing in memory");
    [nonce.as_slice(), &sealed].concat()
}

fn open_token(id: &str, sealed: &[u8]) -> Option<String> {
    let (nonce, body) = sealed.split_at_checked(12)?;
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let plain = token_key(id).decrypt(&Nonce::from(nonce), body).ok()?;
    String::from_utf8(plain).ok()
}

/// Whether two tokens are equal, in time that does not depend on where they
/// first differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(sqlx::FromRow)]
struct Row {
    subject: String,
    jurisdiction: String,
    roles: String,
    csrf: String,
    created: i64,
    seen: i64,
    token: Option<Vec<u8>>,
    ends: Option<i64>,
    refresh: Option<Vec<u8>>,
}

/// The sessions, in the console's own database.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Database,
    idle: Duration,
    absolute: Duration,
}

/// How often a session's last use is written (a page view within this of
/// the last write does not write).
const TOUCH_EVERY_MICROS: i64 = 60_000_000;

impl Sessions {
    /// Sessions in `db` ending after `idle` without use or `absolute` after
    /// sign-in.
    pub fn new(db: Database, idle: Duration, absolute: Duration) -> Self {
        Self { db, idle, absolute }
    }

    /// Starts a development session (no access token); returns the cookie
    /// value (shown once: only its hash is kept) and the session.
    pub async fn start(
        &self,
        subject: &str,
        jurisdiction: &str,
        roles: &[Role],
    ) -> Result<(String, Session), DbError> {
        self.begin(SignedIn {
            subject,
            jurisdiction,
            roles,
            token: None,
            refresh: None,
        })
        .await
    }

    /// Starts a session for `who`; returns the cookie value (shown once) and
    /// the session. An access token is kept sealed and ends the session
    /// when it expires.
    pub async fn begin(&self, who: SignedIn<'_>) -> Result<(String, Session), DbError> {
        let id = random_hex(32);
        let session = Session {
            subject: who.subject.to_owned(),
            jurisdiction: who.jurisdiction.to_owned(),
            roles: who.roles.to_vec(),
            csrf: random_hex(32),
            bearer: who
                .token
                .map(|(token, _)| Bearer(Secret::from(token.to_owned()))),
            renew_with: None,
        };
        let now = now_micros();
        let roles: Vec<&str> = who.roles.iter().map(|r| r.as_str()).collect();
        let mut conn = self.db.acquire().await?;
        // Sessions nobody comes back to are removed as new ones start, so the
        // table holds live sessions only, however many are abandoned.
        sqlx::query(
            "DELETE FROM web_sessions WHERE seen < $1 OR created < $2 OR (ends < $3 AND refresh IS NULL)",
        )
            .bind(now - micros(self.idle))
            .bind(now - micros(self.absolute))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, subject, jurisdiction, roles, csrf, created, seen, token, ends, refresh) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(hash(&id))
        .bind(who.subject)
        .bind(who.jurisdiction)
        .bind(roles.join(","))
        .bind(&session.csrf)
        .bind(now)
        .bind(now)
        .bind(who.token.map(|(token, _)| seal_token(&id, token)))
        .bind(who.token.map(|(_, ends)| ends))
        .bind(who.refresh.map(|refresh| seal_token(&id, refresh)))
        .execute(&mut *conn)
        .await?;
        Ok((id, session))
    }

    /// The live session of a cookie value; an ended one is deleted.
    pub async fn find(&self, id: &str) -> Result<Option<Session>, DbError> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = hash(id);
        let mut conn = self.db.acquire().await?;
        let row: Option<Row> = sqlx::query_as(
            "SELECT subject, jurisdiction, roles, csrf, created, seen, token, ends, refresh FROM web_sessions WHERE id_hash = $1",
        )
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = now_micros();
        // A sealed token that does not open (another cookie's, or altered)
        // ends the session like an expired one.
        let bearer = row
            .token
            .as_deref()
            .and_then(|sealed| open_token(id, sealed))
            .map(|token| Bearer(Secret::from(token)));
        let token_lost = row.token.is_some() && bearer.is_none();
        let refresh = row
            .refresh
            .as_deref()
            .and_then(|sealed| open_token(id, sealed))
            .map(|token| Bearer(Secret::from(token)));
        let ending = row
            .ends
            .is_some_and(|ends| now >= ends - RENEW_BEFORE_MICROS);
        // Without a refresh token, the access token's end is the session's.
        let ended = row.ends.is_some_and(|ends| now >= ends) && refresh.is_none();
        if now - row.seen > micros(self.idle)
            || now - row.created > micros(self.absolute)
            || ended
            || token_lost
        {
            drop(conn);
            self.end(id).await?;
            return Ok(None);
        }
        if now - row.seen > TOUCH_EVERY_MICROS {
            sqlx::query("UPDATE web_sessions SET seen = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&key)
                .execute(&mut *conn)
                .await?;
        }
        Ok(Some(Session {
            subject: row.subject,
            jurisdiction: row.jurisdiction,
            roles: row
                .roles
                .split(',')
                .filter_map(|r| r.parse().ok())
                .collect(),
            csrf: row.csrf,
            bearer,
            renew_with: if ending { refresh } else { None },
        }))
    }

    /// Keeps a renewed access token (and the refresh token, when the
    /// provider rotated it) for the session of cookie value `id`.
    pub async fn renew(
        &self,
        id: &str,
        token: &str,
        ends: i64,
        refresh: Option<&str>,
    ) -> Result<(), DbError> {
        let mut conn = self.db.acquire().await?;
        let key = hash(id);
        sqlx::query("UPDATE web_sessions SET token = $1, ends = $2 WHERE id_hash = $3")
            .bind(seal_token(id, token))
            .bind(ends)
            .bind(&key)
            .execute(&mut *conn)
            .await?;
        if let Some(refresh) = refresh {
            sqlx::query("UPDATE web_sessions SET refresh = $1 WHERE id_hash = $2")
                .bind(seal_token(id, refresh))
                .bind(&key)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Ends a session.
    pub async fn end(&self, id: &str) -> Result<(), DbError> {
        let mut conn = self.db.acquire().await?;
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(hash(id))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{open_token, same_token, seal_token};

    #[test]
    fn a_sealed_token_opens_only_with_its_own_cookie() {
        let id = "a".repeat(64);
        let sealed = seal_token(&id, "eyJ.token.sig");
        assert!(!String::from_utf8_lossy(&sealed).contains("eyJ.token.sig"));
        assert_eq!(open_token(&id, &sealed).as_deref(), Some("eyJ.token.sig"));
        assert_eq!(open_token(&"b".repeat(64), &sealed), None);
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(open_token(&id, &altered), None);
        assert_eq!(open_token(&id, &sealed[..5]), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }
}
