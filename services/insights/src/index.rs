//! The in-memory index: every review's facts, the learning loop's and the
//! closed culture waves', kept current from the facts
//! tables (each change is logged, so every replica catches up), and answered
//! from without touching the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use scir_kit::db::Database;
use scir_kit::shutdown::ShutdownSignal;
use tokio::sync::Notify;

use crate::domain::facts::{Dicts, ReviewFact};
use crate::domain::snapshot::{Culture, Learning, Snapshot};
use crate::store;

/// What the index holds: facts by review key, the dictionaries numbering their
/// names, and the fixed-size snapshot the questions read.
#[derive(Debug, Default)]
struct State {
    facts: HashMap<String, ReviewFact>,
    dicts: Dicts,
    snapshot: Snapshot,
}

/// Facts by review key, with the dictionaries numbering their names.
#[derive(Debug, Clone, Default)]
pub struct Index {
    facts: Arc<RwLock<State>>,
    applied: Arc<std::sync::atomic::AtomicI64>,
    // One catch-up at a time, so an older read never overwrites a newer one.
    catching_up: Arc<tokio::sync::Mutex<()>>,
}

impl Index {
    /// Loads every review's facts.
    pub async fn load(db: &Database) -> anyhow::Result<Self> {
        let mut conn = db.pool().acquire().await?;
        let last = store::last_change(&mut conn).await?;
        let mut facts = store::load(&mut conn, None).await?;
        let mut dicts = Dicts::default();
        for f in facts.values_mut() {
            dicts.intern(f);
        }
        let mut snapshot = Snapshot::new();
        let keys: Vec<String> = facts.keys().cloned().collect();
        snapshot.update(&keys, &facts, &dicts);
        snapshot.learning = Learning::of(&store::load_learning(&mut conn).await?, &mut dicts);
        snapshot.culture = Culture::of(&store::load_culture(&mut conn).await?, &mut dicts);
        Ok(Self {
            facts: Arc::new(RwLock::new(State {
                facts,
                dicts,
                snapshot,
            })),
            applied: Arc::new(last.into()),
            catching_up: Arc::default(),
        })
    }

    /// Runs `f` over the facts and their dictionaries.
    pub fn read<T>(&self, f: impl FnOnce(&HashMap<String, ReviewFact>, &Dicts) -> T) -> T {
        let guard = self.facts.read().unwrap_or_else(|e| e.into_inner());
        f(&guard.facts, &guard.dicts)
    }

    /// Runs `f` over the snapshot and the dictionaries.
    pub fn snapshot<T>(&self, f: impl FnOnce(&Snapshot, &Dicts) -> T) -> T {
        let guard = self.facts.read().unwrap_or_else(|e| e.into_inner());
        f(&guard.snapshot, &guard.dicts)
    }

    /// The last change applied.
    pub fn applied(&self) -> i64 {
        self.applied.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Applies every logged change after the last one applied.
    pub async fn catch_up(&self, db: &Database) -> anyhow::Result<()> {
        let _one_at_a_time = self.catching_up.lock().await;
        let mut conn = db.pool().acquire().await?;
        loop {
            let changes = store::changes_after(&mut conn, self.applied()).await?;
            let Some((last, _)) = changes.last().cloned() else {
                return Ok(());
            };
            let mut keys: Vec<String> = changes.into_iter().map(|(_, k)| k).collect();
            keys.sort();
            keys.dedup();
            if let Some(at) = keys.iter().position(|k| k == store::LEARNING_CHANGE) {
                keys.remove(at);
                let learning = store::load_learning(&mut conn).await?;
                let mut guard = self.facts.write().unwrap_or_else(|e| e.into_inner());
                let State {
                    dicts, snapshot, ..
                } = &mut *guard;
                snapshot.learning = Learning::of(&learning, dicts);
            }
            if let Some(at) = keys.iter().position(|k| k == store::CULTURE_CHANGE) {
                keys.remove(at);
                let culture = store::load_culture(&mut conn).await?;
                let mut guard = self.facts.write().unwrap_or_else(|e| e.into_inner());
                let State {
                    dicts, snapshot, ..
                } = &mut *guard;
                snapshot.culture = Culture::of(&culture, dicts);
            }
            for chunk in keys.chunks(500) {
                let fresh = store::load(&mut conn, Some(chunk)).await?;
                let mut guard = self.facts.write().unwrap_or_else(|e| e.into_inner());
                let State {
                    facts,
                    dicts,
                    snapshot,
                } = &mut *guard;
                for key in chunk {
                    match fresh.get(key) {
                        Some(f) => {
                            let mut f = f.clone();
                            dicts.intern(&mut f);
                            facts.insert(key.clone(), f)
                        }
                        None => facts.remove(key),
                    };
                }
                snapshot.update(chunk, facts, dicts);
            }
            self.applied
                .store(last, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Keeps the index current: at once when `changed` is notified, and every
    /// half second for changes other replicas applied.
    pub fn spawn_refresh(&self, db: Database, changed: Arc<Notify>, mut shutdown: ShutdownSignal) {
        let index = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = index.catch_up(&db).await {
                    tracing::warn!(error = %e, "refreshing the insights index failed");
                }
                tokio::select! {
                    _ = changed.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.fired() => return,
                }
            }
        });
    }
}
