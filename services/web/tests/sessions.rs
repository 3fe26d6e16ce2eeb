//! Sessions on both backends: a cookie value finds its session and nothing
//! else does, the database holds only hashes, a session ends when idle and
//! at sign-out, and abandoned sessions are removed as new ones start.

use std::time::Duration;

use scir_kit::auth::ExposeSecret as _;
use scir_kit::auth::Role;
use scir_kit::db::{Database, DbOptions};
use scir_testkit::{Backend, TestDatabase};
use scir_web::session::{Sessions, SignedIn};

scir_testkit::on_both_backends!(
    sessions_end_and_leave_nothing_usable_behind,
    an_access_token_is_sealed_and_ends_its_session
);

/// A fresh, migrated sessions database (kept alive by the returned guard).
async fn database(backend: Backend) -> (TestDatabase, Database) {
    let test = TestDatabase::new(backend).await;
    let db = Database::connect(
        &test.url,
        &scir_web::startup::MIGRATIONS,
        &DbOptions::default(),
    )
    .await
    .expect("database");
    (test, db)
}

async fn sessions_end_and_leave_nothing_usable_behind(backend: Backend) {
    let (_test, db) = database(backend).await;
    let sessions = Sessions::new(
        db.clone(),
        Duration::from_millis(600),
        Duration::from_secs(3600),
    );
    let (id, started) = sessions
        .start("lead-a", "us-wi", &[Role::ScrLead, Role::Reviewer])
        .await
        .expect("started");
    let found = sessions.find(&id).await.expect("read").expect("found");
    assert_eq!(found, started);
    assert_eq!(found.roles, [Role::ScrLead, Role::Reviewer]);
    // Another value, a malformed one, and one differing in a digit find nothing.
    let mut other = id.clone();
    other.replace_range(0..1, if id.starts_with('0') { "1" } else { "0" });
    for wrong in [other.as_str(), "", "not-hex", &id[..63]] {
        assert_eq!(sessions.find(wrong).await.expect("read"), None, "{wrong}");
    }
    // The table holds the hash, never the value, nor the form token's use.
    let mut conn = db.acquire().await.expect("connection");
    let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM web_sessions")
        .fetch_all(&mut *conn)
        .await
        .expect("rows");
    drop(conn);
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], id, "only the hash is stored");

    // Idle past the timeout: gone.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sessions.find(&id).await.expect("read"), None);

    // Abandoned sessions go as new ones start; sign-out ends one at once.
    let (abandoned, _) = sessions
        .start("lead-b", "us-wi", &[Role::ScrLead])
        .await
        .expect("b");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (kept, _) = sessions
        .start("lead-c", "us-tn", &[Role::Reviewer])
        .await
        .expect("c");
    let mut conn = db.acquire().await.expect("connection");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    drop(conn);
    assert_eq!(rows, 1, "the abandoned session was removed");
    assert_eq!(sessions.find(&abandoned).await.expect("read"), None);
    assert!(sessions.find(&kept).await.expect("read").is_some());
    sessions.end(&kept).await.expect("signed out");
    assert_eq!(sessions.find(&kept).await.expect("read"), None);
    db.close().await;
}

/// A session from the identity provider keeps its access token sealed (the
/// table alone opens nothing), gives it back whole, and ends with it.
async fn an_access_token_is_sealed_and_ends_its_session(backend: Backend) {
    let (_test, db) = database(backend).await;
    let sessions = Sessions::new(
        db.clone(),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    let token = "eyJhbGciOiJFUzI1NiJ9.the-access-token.signature";
    let now = scir_kit::db::now_micros();
    let (id, _) = sessions
        .begin(SignedIn {
            subject: "oidc-lead",
            jurisdiction: "us-wi",
            roles: &[Role::ScrLead],
            token: Some((token, now + 800_000)),
            refresh: None,
        })
        .await
        .expect("started");
    let found = sessions.find(&id).await.expect("read").expect("found");
    let bearer = found.bearer.expect("the token");
    assert_eq!(bearer.0.expose_secret(), token);
    let mut conn = db.acquire().await.expect("connection");
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT token FROM web_sessions")
        .fetch_one(&mut *conn)
        .await
        .expect("row");
    drop(conn);
    let needle = b"the-access-token";
    assert!(
        !sealed.windows(needle.len()).any(|w| w == needle),
        "the token is sealed"
    );
    // The token's end is the session's, however recently it was used.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(sessions.find(&id).await.expect("read"), None);

    // With a refresh token the session outlives its access token: it asks to
    // be renewed, and once renewed carries the new token.
    let now = scir_kit::db::now_micros();
    let (id, _) = sessions
        .begin(SignedIn {
            subject: "oidc-lead",
            jurisdiction: "us-wi",
            roles: &[Role::ScrLead],
            token: Some((token, now - 1)),
            refresh: Some("the-refresh-token"),
        })
        .await
        .expect("started");
    let found = sessions.find(&id).await.expect("read").expect("kept");
    let refresh = found.renew_with.expect("to be renewed");
    assert_eq!(refresh.0.expose_secret(), "the-refresh-token");
    sessions
        .renew(
            &id,
            "the-next-access-token",
            now + 3_600_000_000,
            Some("the-next-refresh"),
        )
        .await
        .expect("renewed");
    let found = sessions.find(&id).await.expect("read").expect("kept");
    assert!(found.renew_with.is_none(), "not due again");
    assert_eq!(
        found.bearer.expect("token").0.expose_secret(),
        "the-next-access-token"
    );
    db.close().await;
}
