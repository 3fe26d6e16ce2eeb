//! Sessions: a random id in a cookie, its hash in the database, with who
//! signed in, the form token, and the times that end it.

use std::time::Duration;

use scir_kit::auth::Role;
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
}

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

    /// Starts a session; returns the cookie value (shown once: only its hash
    /// is kept) and the session.
    pub async fn start(
        &self,
        subject: &str,
        jurisdiction: &str,
        roles: &[Role],
    ) -> Result<(String, Session), DbError> {
        let id = random_hex(32);
        let session = Session {
            subject: subject.to_owned(),
            jurisdiction: jurisdiction.to_owned(),
            roles: roles.to_vec(),
            csrf: random_hex(32),
        };
        let now = now_micros();
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let mut conn = self.db.acquire().await?;
        // Sessions nobody comes back to are removed as new ones start, so the
        // table holds live sessions only, however many are abandoned.
        sqlx::query("DELETE FROM web_sessions WHERE seen < $1 OR created < $2")
            .bind(now - micros(self.idle))
            .bind(now - micros(self.absolute))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, subject, jurisdiction, roles, csrf, created, seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash(&id))
        .bind(subject)
        .bind(jurisdiction)
        .bind(roles.join(","))
        .bind(&session.csrf)
        .bind(now)
        .bind(now)
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
            "SELECT subject, jurisdiction, roles, csrf, created, seen FROM web_sessions WHERE id_hash = $1",
        )
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = now_micros();
        if now - row.seen > micros(self.idle) || now - row.created > micros(self.absolute) {
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
        }))
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
    use super::same_token;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }
}
