//! A migration that a database has run must never change: sqlx refuses to
//! start a service whose applied migration's checksum differs, so an edited
//! migration would stop every deployment at its next upgrade. The ledger
//! (`docs/migrations.ledger`) holds each migration's checksum; new migrations
//! are added to it with `SCIR_BLESS=1 cargo test -p scir --test migrations`,
//! and no run, blessed or not, may change or drop a line already in it.

use std::fmt::Write as _;
use std::path::PathBuf;

use scir_kit::db::Migrations;

fn ledger() -> Vec<String> {
    let all: [(&str, &Migrations); 8] = [
        ("kit", &scir_kit::db::KIT_MIGRATIONS),
        ("intake", &scir_intake::startup::MIGRATIONS),
        ("review", &scir_review::startup::MIGRATIONS),
        ("scoring", &scir_scoring::startup::MIGRATIONS),
        ("insights", &scir_insights::startup::MIGRATIONS),
        ("learning", &scir_learning::startup::MIGRATIONS),
        ("culture", &scir_culture::startup::MIGRATIONS),
        ("web", &scir_web::startup::MIGRATIONS),
    ];
    let mut lines = Vec::new();
    for (owner, migrations) in all {
        for (backend, migrator) in [
            ("postgres", &migrations.postgres),
            ("sqlite", &migrations.sqlite),
        ] {
            for m in migrator.iter() {
                let mut checksum = String::new();
                for byte in m.checksum.iter() {
                    write!(checksum, "{byte:02x}").expect("writing to a String");
                }
                lines.push(format!("{owner} {backend} {:04} {checksum}", m.version));
            }
        }
    }
    lines
}

#[test]
fn applied_migrations_never_change() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migrations.ledger");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let committed: Vec<&str> = committed
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let current = ledger();
    for line in &committed {
        assert!(
            current.iter().any(|c| c == line),
            "a migration in docs/migrations.ledger changed or went: `{line}`. Put the \
             change in a new migration; databases that ran the old one refuse an edited one"
        );
    }
    let added: Vec<&String> = current
        .iter()
        .filter(|c| !committed.contains(&c.as_str()))
        .collect();
    if std::env::var_os("SCIR_BLESS").is_some() {
        let mut text = String::from(
            "# Checksums (SHA-384) of every migration a database may have run:\n\
             # owner, backend, version, checksum. Written by\n\
             # `SCIR_BLESS=1 cargo test -p scir --test migrations`; lines are only\n\
             # ever added (services/scir/tests/migrations.rs).\n",
        );
        for line in committed
            .iter()
            .copied()
            .chain(added.iter().map(|s| s.as_str()))
        {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write the ledger");
        return;
    }
    assert!(
        added.is_empty(),
        "migrations not in docs/migrations.ledger: {added:?}; run \
         `SCIR_BLESS=1 cargo test -p scir --test migrations`"
    );
}
