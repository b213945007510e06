//! An exact cache of answers derived from the public catalogue (the archive search's pages), so
//! a popular search costs one small query instead of a full-text match, a count and three facet
//! counts.
//!
//! An answer depends on the catalogue's content and on the moment it is asked at (only entries
//! published by then are public). Each answer is therefore kept with:
//!
//! - the catalogue revision read *before* it was computed ([`catalog::revision`]). Triggers bump
//!   the revision in the transaction of every write that changes what the catalogue holds or
//!   shows, so a request that reads the same revision sees the same rows; any process sharing
//!   the database sees the bump of any other. A write that commits while an answer is being
//!   computed leaves the answer under the older revision, which later requests no longer read.
//! - the interval of time it holds for: from the moment it was computed at to the next
//!   publication instant after it ([`catalog::next_publication`]), when an entry with a future
//!   publication date becomes public.
//!
//! A hit costs the revision query (one row by primary key) and a hash lookup. The cache holds at
//! most `capacity` answers: once the revision moves, every kept answer is dropped at the next
//! insertion; when full, an arbitrary answer makes room. Capacity 0 turns it off (every request
//! computes its answer, without the revision query).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDateTime;

use crate::db::{Conn, DbError, catalog};

/// How many answers a cache holds by default.
pub const DEFAULT_CAPACITY: usize = 1_000;

/// Answers `V` keyed by `K` (the normalised request), valid for one catalogue revision and a
/// time interval.
pub struct CatalogCache<K, V> {
    capacity: usize,
    state: Mutex<Kept<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The answers of one revision.
struct Kept<K, V> {
    revision: i64,
    answers: HashMap<K, Answer<V>>,
}

struct Answer<V> {
    /// The moment it was computed at: it holds from then on...
    from: NaiveDateTime,
    /// ...until this instant, when an entry becomes public (never, with `None`).
    until: Option<NaiveDateTime>,
    value: Arc<V>,
}

/// What a cache has done since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub capacity: usize,
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

impl<K: Hash + Eq + Clone, V> CatalogCache<K, V> {
    /// A cache of at most `capacity` answers; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(Kept { revision: -1, answers: HashMap::new() }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The answer to `key` at `now`: a kept one if it is still exact, otherwise `compute`'s
    /// (kept for the next requests).
    pub fn get_or_compute<E: From<DbError>>(
        &self,
        conn: &mut Conn<'_>,
        now: NaiveDateTime,
        key: K,
        compute: impl FnOnce(&mut Conn<'_>) -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if self.capacity == 0 {
            return compute(conn).map(Arc::new);
        }
        let revision = catalog::revision(conn)?;
        {
            let kept = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if kept.revision == revision
                && let Some(answer) = kept.answers.get(&key)
                && answer.from <= now
                && answer.until.is_none_or(|until| now < until)
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(answer.value.clone());
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(compute(conn)?);
        let until = catalog::next_publication(conn, now)?;
        let mut kept = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if revision > kept.revision {
            kept.revision = revision;
            kept.answers.clear();
        }
        if revision == kept.revision {
            if kept.answers.len() >= self.capacity
                && !kept.answers.contains_key(&key)
                && let Some(evicted) = kept.answers.keys().next().cloned()
            {
                kept.answers.remove(&evicted);
            }
            kept.answers.insert(key, Answer { from: now, until, value: value.clone() });
        }
        Ok(value)
    }

    /// Capacity, kept answers, hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        let entries = self.state.lock().unwrap_or_else(PoisonError::into_inner).answers.len();
        CacheStats {
            capacity: self.capacity,
            entries,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
