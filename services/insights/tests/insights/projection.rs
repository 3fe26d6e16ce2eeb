//! The projection: the same facts from a rebuild, and after a restart.

use scir_insights::store;
use scir_kit::db::{Database, DbOptions};
use scir_testkit::Backend;

use super::harness::{Settings, partnership, start, start_on};

scir_testkit::on_both_backends!(a_rebuild_from_cursor_zero_gives_the_same_facts);

async fn dump(url: &str) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let db = Database::open(url, &DbOptions::default())
        .await
        .expect("open");
    let mut conn = db.pool().acquire().await.expect("conn");
    let out = store::dump(&mut conn).await.expect("dump");
    drop(conn);
    db.close().await;
    out
}

async fn a_rebuild_from_cursor_zero_gives_the_same_facts(backend: Backend) {
    let fixtures = partnership();
    let first = start(backend, &fixtures, Settings { k: 10 }).await;
    let db = first.stop().await;
    let facts = dump(&db.url).await;
    assert_eq!(facts["facts_reviews"].len(), fixtures.len());
    assert_eq!(facts["facts_levels"].len(), fixtures.len() * 6);

    // A second database, built from cursor 0, holds the same facts.
    let rebuilt = start(backend, &fixtures, Settings { k: 10 }).await;
    let other = rebuilt.stop().await;
    assert_eq!(dump(&other.url).await, facts);

    // A restart resumes from the stored cursors: nothing applied twice.
    let restarted = start_on(db, &fixtures, Settings { k: 10 }).await;
    let db = restarted.stop().await;
    assert_eq!(dump(&db.url).await, facts);
}
