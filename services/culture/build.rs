//! `sqlx::migrate!` embeds `migrations/` at compile time; this makes cargo
//! rebuild the crate when a migration file changes.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
