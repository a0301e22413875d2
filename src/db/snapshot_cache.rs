//! Results of read-only computations, reused for as long as the database shows exactly the
//! snapshot they were computed in.
//!
//! A computation runs in one `REPEATABLE READ READ ONLY` transaction, so every statement in
//! it sees the same snapshot, and is stored with that snapshot's text
//! (`pg_current_snapshot()`: xmin, xmax and the transactions in progress). Two identical
//! snapshots make exactly the same committed transactions visible, so they answer every
//! query identically: a stored result is returned only when the current snapshot is the one
//! it was computed in. Any commit anywhere changes the snapshot, so nothing is ever stale;
//! between commits (most of the time in a portal that is read far more than written) the
//! estate-wide pages (dashboard, register, print, savings) cost one statement instead of a
//! dozen aggregates.
//!
//! What is not in the database must be in the key: the actor (scope and role come from the
//! database, but the key keeps users apart), the filters, and "today".

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::error::AppError;

type Value = Arc<dyn Any + Send + Sync>;

pub struct SnapshotCache {
    /// key → (snapshot, value); only entries of the newest snapshot seen are kept.
    entries: Mutex<HashMap<String, (String, Value)>>,
    capacity: usize,
}

impl SnapshotCache {
    /// At most `capacity` results are kept (all of one snapshot); past that the oldest
    /// computations are simply recomputed.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Returns what `compute` returned for `key` in the current snapshot, computing it (in
    /// that snapshot, read-only) when nothing is stored for it.
    pub fn get_or_compute<V, F>(
        &self,
        conn: &mut PgConnection,
        key: String,
        compute: F,
    ) -> Result<V, AppError>
    where
        V: Clone + Send + Sync + 'static,
        F: FnOnce(&mut PgConnection) -> Result<V, AppError>,
    {
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run(|conn| {
                let snapshot: String =
                    diesel::select(diesel::dsl::sql::<Text>("pg_current_snapshot()::text"))
                        .get_result(conn)?;
                if let Some(v) = self.lookup::<V>(&key, &snapshot) {
                    return Ok(v);
                }
                let v = compute(conn)?;
                self.store(key, snapshot, Arc::new(v.clone()));
                Ok(v)
            })
    }

    fn lookup<V: Clone + 'static>(&self, key: &str, snapshot: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (at, value) = entries.get(key)?;
        (at == snapshot)
            .then(|| value.downcast_ref::<V>().cloned())
            .flatten()
    }

    fn store(&self, key: String, snapshot: String, value: Value) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Snapshots only move forward: results of any other snapshot will not be asked for
        // again (or, for a request still running in an older one, are recomputed).
        entries.retain(|_, (at, _)| *at == snapshot);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (snapshot, value));
    }
}
