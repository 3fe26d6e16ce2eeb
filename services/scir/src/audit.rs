//! `scir audit verify`: walks a service's audit chain and reports the first
//! broken link.

use scir_kit::audit::AuditLog;
use scir_kit::db::{Database, DbOptions};

/// Verifies the audit chain of the database at `url`. Returns a report and
/// whether the chain is intact.
pub async fn verify(url: &str) -> anyhow::Result<(String, bool)> {
    let db = Database::open(url, &DbOptions::default()).await;
    let db = match db {
        Ok(db) => db,
        Err(e) => anyhow::bail!("cannot open the database: {e}"),
    };
    let log = AuditLog::new(db.clone());
    let broken = log.verify().await?;
    db.close().await;
    Ok(match broken {
        None => ("audit chain intact".to_owned(), true),
        Some(link) => (
            format!("audit chain broken at record {}: {}", link.seq, link.reason),
            false,
        ),
    })
}
