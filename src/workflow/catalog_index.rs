//! The archive search's index kept in step with the database: the current snapshot of the
//! published catalogue and the indexed texts (`crate::search`), reloaded when the catalogue's
//! revision moves. Every entry with a publication date (public now or scheduled) is in it.
//!
//! Exactness: triggers bump the catalogue revision (migration `catalog_revision`) in every
//! transaction that changes what the catalogue holds or shows, whichever process writes.
//! [`CatalogIndex::sync`] reads it (one row by primary key) and, when it moved, reloads the
//! metadata of every dated entry (one query) and indexes the text of the entries it has not seen,
//! or whose accepted sources changed (their source digest), split into the passages search
//! snippets are cut from (`workflow::excerpts::text`). The snapshot is labelled with the
//! revision read *before* loading, so a write committed meanwhile makes the next request reload
//! again.
//!
//! Who reads it: the search, the exports and bulk downloads (`workflow::catalog`), the search
//! page's snippets (`workflow::excerpts`), and public downloads, which take a published entry's
//! file facts from its record ([`Catalog::public`]) instead of loading the entry
//! (`workflow::reading`). A reload runs inside the request that found the revision moved, on the
//! blocking pool with its pooled connection; requests arriving meanwhile wait for it, each
//! holding a connection too. `mmr serve` builds the index in the
//! background at start, which takes seconds for 10,000 reports (BENCHMARKS.md, "Archive search",
//! with the memory it uses).

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::NaiveDateTime;

use super::catalog::{Filter, Record};
use super::excerpts;
use crate::db::{Conn, DbError, catalog};
use crate::search::{self, Cut, TextIndex};
pub use crate::search::{Catalog, Hits};

/// How many entries' texts are read from the database and indexed at a time: it bounds the text
/// held in memory while indexing and how long a search may wait for the index's lock.
const TEXT_BATCH: usize = 64;

/// The archive search's index: one per server, shared by every request.
pub struct CatalogIndex {
    /// The catalogue as of a revision; replaced whole by [`CatalogIndex::sync`].
    current: RwLock<Arc<Catalog>>,
    /// The indexed texts; grows in place, under the write lock, a batch at a time.
    text: RwLock<TextIndex>,
    /// One reload at a time; requests that find the revision moved wait for it.
    reloading: Mutex<()>,
}

impl Default for CatalogIndex {
    fn default() -> Self {
        CatalogIndex {
            current: RwLock::new(Arc::new(Catalog::empty())),
            text: RwLock::new(TextIndex::default()),
            reloading: Mutex::new(()),
        }
    }
}

/// What [`CatalogIndex::stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    /// The catalogue revision the index reflects; -1 before its first load.
    pub revision: i64,
    /// Entries with a publication date (public or scheduled).
    pub entries: usize,
    /// Indexed texts.
    pub documents: usize,
    /// Distinct terms.
    pub terms: usize,
    /// (document, term) pairs.
    pub postings: usize,
}

impl CatalogIndex {
    /// The catalogue at the database's current revision, reloading what changed since the last
    /// call (module doc).
    pub fn sync(&self, conn: &mut Conn<'_>) -> Result<Arc<Catalog>, DbError> {
        let revision = catalog::revision(conn)?;
        if let Some(current) = self.at_least(revision) {
            return Ok(current);
        }
        let _reloading = self.reloading.lock().unwrap_or_else(PoisonError::into_inner);
        // Another request may have reloaded while this one waited.
        if let Some(current) = self.at_least(revision) {
            return Ok(current);
        }
        let rows = catalog::dated(conn)?;
        let stale: Vec<i64> = {
            let text = self.text.read().unwrap_or_else(PoisonError::into_inner);
            rows.iter().filter(|r| !text.holds(r.id, &r.source_sha256)).map(|r| r.id).collect()
        };
        for ids in stale.chunks(TEXT_BATCH) {
            let texts = catalog::texts(conn, ids)?;
            // Split into passages (Markdown read) before taking the lock searches wait on.
            let prepared: Vec<_> = texts.iter().map(|t| excerpts::text(&t.report, &t.action_plan)).collect();
            let mut text = self.text.write().unwrap_or_else(PoisonError::into_inner);
            for (t, prepared) in texts.iter().zip(prepared) {
                text.add(t.id, t.source_sha256.clone(), prepared);
            }
        }
        let text = self.text.read().unwrap_or_else(PoisonError::into_inner);
        let entries = rows.into_iter().map(|row| Arc::new(Record::from(row))).collect();
        let loaded = Arc::new(Catalog::new(revision, entries, &text));
        drop(text);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded.clone();
        Ok(loaded)
    }

    /// The current snapshot if it reflects `revision` or a later one.
    fn at_least(&self, revision: i64) -> Option<Arc<Catalog>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        (current.revision() >= revision).then(|| current.clone())
    }

    /// Every entry of `catalog` public at `now` that `filter` selects, with their facets; the
    /// first `ordered` of them in search order ([`search::search`]).
    pub fn search<'a>(&self, catalog: &'a Catalog, now: NaiveDateTime, filter: &Filter, ordered: usize) -> Hits<'a> {
        let text = self.text.read().unwrap_or_else(PoisonError::into_inner);
        search::search(&text, catalog, now, filter, ordered)
    }

    /// For each of `records` whose indexed passages hold one of `words`, the passage a snippet
    /// comes from ([`TextIndex::passage`]).
    pub fn passages(&self, records: &[&Record], words: &[String]) -> Vec<(i64, Cut)> {
        let text = self.text.read().unwrap_or_else(PoisonError::into_inner);
        records.iter().filter_map(|r| Some((r.id, text.passage(r.id, &r.source_sha256, words)?))).collect()
    }

    /// How big the index is, and which revision it reflects.
    pub fn stats(&self) -> IndexStats {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner).clone();
        let text = self.text.read().unwrap_or_else(PoisonError::into_inner);
        IndexStats {
            revision: current.revision(),
            entries: current.len(),
            documents: text.documents(),
            terms: text.terms(),
            postings: text.postings(),
        }
    }
}
