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
//! estate-wide pages (dashboard, register, print, savings, calendar, My tasks) cost one
//! statement instead of a dozen aggregates.
//!
//! What is not in the database must be in the key: the actor (`Actor::cache_key`: id, role
//! and scope as this request loaded them), the filters, and "today". The snapshot is the
//! whole PostgreSQL cluster's: on a shared server, other databases' commits also change it
//! (never wrong, only fewer reuses).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::error::AppError;

type Value = Arc<dyn Any + Send + Sync>;

/// How long a request waits for another computing the same result before computing it
/// itself (the other may have failed).
const WAIT_FOR_OTHER: Duration = Duration::from_secs(2);

enum Slot {
    /// Being computed by one request; the others with the same snapshot wait for it.
    Computing,
    Ready(Value),
}

pub struct SnapshotCache {
    /// key → (snapshot, slot); only entries of the newest snapshot seen are kept.
    entries: Mutex<HashMap<String, (String, Slot)>>,
    ready: Condvar,
    capacity: usize,
}

impl SnapshotCache {
    /// At most `capacity` results are kept (all of one snapshot); past that the oldest
    /// computations are simply recomputed.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ready: Condvar::new(),
            capacity,
        }
    }

    /// Returns what `compute` returned for `key` in the current snapshot, computing it (in
    /// that snapshot, read-only) when nothing is stored for it. After a commit, the first
    /// request for a key computes it and the others in the same snapshot wait for that
    /// result, instead of all computing the same figures at once. The result is shared, not
    /// copied: a printed register's 1,500 rows cloned per request spent half the CPU in
    /// malloc and free.
    pub fn get_or_compute<V, F>(
        &self,
        conn: &mut PgConnection,
        key: String,
        compute: F,
    ) -> Result<Arc<V>, AppError>
    where
        V: Send + Sync + 'static,
        F: FnOnce(&mut PgConnection) -> Result<V, AppError>,
    {
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run(|conn| {
                let snapshot: String =
                    diesel::select(diesel::dsl::sql::<Text>("pg_current_snapshot()::text"))
                        .get_result(conn)?;
                if let Some(v) = self.claim::<V>(&key, &snapshot) {
                    return Ok(v);
                }
                let result = compute(conn).map(Arc::new);
                self.finish(&key, &snapshot, result.as_ref().ok().cloned());
                result
            })
    }

    /// The stored value, after waiting for another request computing it; `None` when this
    /// request is to compute it (its slot is then marked as being computed).
    fn claim<V: Send + Sync + 'static>(&self, key: &str, snapshot: &str) -> Option<Arc<V>> {
        let mut entries = self.lock();
        let mut waited = false;
        loop {
            match entries.get(key) {
                Some((at, Slot::Ready(value))) if at == snapshot => {
                    return value.clone().downcast::<V>().ok();
                }
                Some((at, Slot::Computing)) if at == snapshot && !waited => {
                    let (guard, timeout) = self
                        .ready
                        .wait_timeout(entries, WAIT_FOR_OTHER)
                        .unwrap_or_else(|e| e.into_inner());
                    entries = guard;
                    waited = timeout.timed_out();
                }
                _ => break,
            }
        }
        // Snapshots only move forward: results of any other snapshot will not be asked for
        // again (a request still running in an older one computes its own).
        entries.retain(|_, (at, _)| at == snapshot);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key.to_string(), (snapshot.to_string(), Slot::Computing));
        None
    }

    /// Stores the computed value (or frees the slot after an error) and wakes the waiters.
    fn finish<V: Send + Sync + 'static>(&self, key: &str, snapshot: &str, value: Option<Arc<V>>) {
        let mut entries = self.lock();
        if let Some((at, slot)) = entries.get_mut(key) {
            if at == snapshot && matches!(slot, Slot::Computing) {
                match value {
                    Some(v) => *slot = Slot::Ready(v),
                    None => {
                        entries.remove(key);
                    }
                }
            }
        }
        drop(entries);
        self.ready.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (String, Slot)>> {
        // The map holds no invariant a panicking holder could break half-way.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
