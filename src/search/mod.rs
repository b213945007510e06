//! The archive search, in memory: a snapshot of the published catalogue ([`Catalog`]: the
//! records in search order, and facets to filter and count by) and an inverted index of the
//! reports' texts ([`TextIndex`], ranked by Okapi BM25). A search ([`search`]) filters, matches,
//! ranks and counts facets without any I/O. An adapter: it imports only `domain`; keeping the
//! snapshot in step with the database is `workflow::catalog_index`'s.
//!
//! Why in memory: the databases' full-text engines (SQLite FTS5, PostgreSQL `tsvector`) cost
//! 5–600 ms for the searches researchers run most (facets over the whole archive, a word found in
//! nearly every report, because every match gets ranked), far from a 50 ms p99 at 50 clients on a
//! small server (BENCHMARKS.md, "Archive search"). Here the same searches take well under a
//! millisecond, and rank and match the same on both stores.
//!
//! Visibility is decided at each search: an entry is found only when its publication instant is
//! at or before the search's `now`, so a scheduled publication needs no write, and nothing
//! unpublished ever leaves: withdrawn entries are not in the snapshot at all.
//!
//! Text: the words of the report and the action plan, as `workflow::catalog::query_words` splits
//! a query (runs of letters and digits), lower-cased, with diacritics and other scripts
//! transliterated to ASCII (`deunicode`: `Smörgåsbord` is `smorgasbord`), no stemming and no stop
//! words (reports mix English and French). Every query word must occur. Ranking is Okapi BM25
//! (k1 = 1.2, b = 0.75) over the report and action plan as one document, with document
//! frequencies and lengths over every indexed text; ties, and searches without words, newest
//! publication first, then highest id.
//!
//! Snippets: a text is added as passages (the blocks a snippet may be cut from, each with the
//! text a reader sees of it) and the rest. Each posting keeps where its term first occurs among
//! the document's passages, so the passage of a result that a snippet comes from
//! ([`TextIndex::passage`]) is a binary search per query term, with no text read or parsed again.
//! Only the passages some term points at keep their text. What a passage is (its Markdown, how
//! far a text is looked into) is the caller's (`workflow::excerpts`).
//!
//! Text is only ever added: an entry's accepted sources are write-once. A withdrawn entry's
//! terms stay (it is simply not in the snapshot), as does the old text of an entry whose digest
//! changed; both are rare and only weigh on memory, and a restart drops them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::domain::catalog::{FacetCount, Facets, Filter, Record};
use crate::domain::regions::Region;

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;

/// BM25's document-length normalisation.
const B: f64 = 0.75;

/// The dated entries of one catalogue revision.
pub struct Catalog {
    revision: i64,
    /// Newest publication first, then highest id: the order of a search without words.
    entries: Vec<Arc<Record>>,
    /// The position in `entries` of each indexed text, by document number; [`NOT_LISTED`] for
    /// texts of entries not in this revision (withdrawn, or superseded sources).
    by_doc: Vec<u32>,
    /// The position in `entries` of each entry, by archive id.
    by_id: HashMap<i64, u32>,
    /// Each entry's creative field, country, period end year, city and language, to filter and
    /// count facets by.
    fields: Facet,
    countries: Facet,
    years: Facet,
    cities: Facet,
    languages: Facet,
    /// The UNESCO region of each value of `countries`.
    regions: Vec<Option<Region>>,
}

/// The values one facet takes (code and name) and which one each entry has.
struct Facet {
    values: Vec<(String, String)>,
    /// The position of each code in `values`.
    positions: HashMap<String, u32>,
    /// By entry, the position of its value in `values`.
    of: Vec<u32>,
    /// By value, the positions of the entries that have it, ascending.
    entries: Vec<Vec<u32>>,
}

impl Facet {
    fn new(entries: &[Arc<Record>], value: impl Fn(&Record) -> (String, String)) -> Self {
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut values = Vec::new();
        let mut with: Vec<Vec<u32>> = Vec::new();
        let mut of = Vec::with_capacity(entries.len());
        for (at, r) in (0u32..).zip(entries) {
            let (code, name) = value(r);
            let v = *seen.entry(code.clone()).or_insert_with(|| {
                values.push((code, name));
                with.push(Vec::new());
                u32::try_from(values.len() - 1).unwrap_or(u32::MAX)
            });
            with[v as usize].push(at);
            of.push(v);
        }
        Facet { values, positions: seen, of, entries: with }
    }

    /// How many of the entries at `positions` have each value, by value.
    fn counts(&self, positions: &[u32]) -> Vec<i64> {
        let mut counts = vec![0i64; self.values.len()];
        for &at in positions {
            counts[self.of[at as usize] as usize] += 1;
        }
        counts
    }

    /// The values counted in `counts` (by value), most first, then by code.
    fn named(&self, counts: &[i64]) -> Vec<FacetCount> {
        ordered(counts.iter().zip(&self.values).filter(|(n, _)| **n > 0).map(|(&count, (code, name))| FacetCount {
            code: code.clone(),
            name: name.clone(),
            count,
        }))
    }
}

const NOT_LISTED: u32 = u32::MAX;

/// Which entries of a catalogue a filter admits at a moment: public by then, with every value
/// it asks for.
struct Admission<'c> {
    catalog: &'c Catalog,
    /// The first public entry's position; every later one is public too.
    first_public: u32,
    /// The values asked for, each with its facet.
    wanted: Vec<(&'c Facet, u32)>,
    region: Option<Region>,
}

impl Admission<'_> {
    fn admits(&self, at: u32) -> bool {
        let c = self.catalog;
        at >= self.first_public
            && self.wanted.iter().all(|(facet, value)| facet.of[at as usize] == *value)
            && self.region.is_none_or(|r| c.regions[c.countries.of[at as usize] as usize] == Some(r))
    }

    /// Every admitted position, ascending: the entries of the rarest value asked for, or all
    /// public ones, checked against the other criteria.
    fn all(&self) -> Vec<u32> {
        let rarest =
            self.wanted.iter().map(|(facet, value)| facet.entries[*value as usize].as_slice()).min_by_key(|l| l.len());
        let admitted = |candidates: &mut dyn ExactSizeIterator<Item = u32>| {
            let mut admitted = Vec::with_capacity(candidates.len());
            admitted.extend(candidates.filter(|&at| self.admits(at)));
            admitted
        };
        match rarest {
            Some(list) => admitted(&mut list[list.partition_point(|&at| at < self.first_public)..].iter().copied()),
            None => admitted(&mut (self.first_public..self.catalog.entries.len() as u32)),
        }
    }
}

/// A search's results: every match, with the facets of them all.
pub struct Hits<'a> {
    catalog: &'a Catalog,
    /// Positions in the catalogue, in search order as far as asked for.
    positions: Vec<u32>,
    pub facets: Facets,
}

impl<'a> Hits<'a> {
    /// How many entries matched.
    pub fn total(&self) -> usize {
        self.positions.len()
    }

    /// The matches from the `skip`-th on, at most `take` of them, in search order when within
    /// the `ordered` the search was asked for.
    pub fn records(&self, skip: usize, take: usize) -> impl Iterator<Item = &'a Arc<Record>> + '_ {
        self.positions.iter().skip(skip).take(take).map(|&at| &self.catalog.entries[at as usize])
    }
}

impl Catalog {
    /// The catalogue of `revision` holding `entries` (in any order; kept in search order), whose
    /// texts `text` indexes.
    pub fn new(revision: i64, mut entries: Vec<Arc<Record>>, text: &TextIndex) -> Self {
        entries.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(b.id.cmp(&a.id)));
        let mut by_doc = vec![NOT_LISTED; text.docs.len()];
        for (i, r) in entries.iter().enumerate() {
            if let Some(&doc) = text.latest.get(&r.id) {
                by_doc[doc as usize] = u32::try_from(i).unwrap_or(NOT_LISTED);
            }
        }
        Catalog::with(revision, entries, by_doc)
    }

    /// The catalogue before anything is loaded: revision -1, no entries.
    pub fn empty() -> Self {
        Catalog::with(-1, Vec::new(), Vec::new())
    }

    /// The catalogue revision it reflects.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// How many dated entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn with(revision: i64, entries: Vec<Arc<Record>>, by_doc: Vec<u32>) -> Self {
        let fields = Facet::new(&entries, |r| (r.field_slug.clone(), r.field_name.clone()));
        let countries = Facet::new(&entries, |r| (r.country_code.clone(), r.country_name.clone()));
        let years = Facet::new(&entries, |r| (r.period_end_year.to_string(), r.period_end_year.to_string()));
        let cities = Facet::new(&entries, |r| (r.city_slug.clone(), r.city_name.clone()));
        let languages = Facet::new(&entries, |r| (r.language.clone(), r.language.clone()));
        let regions = countries.values.iter().map(|(code, _)| crate::domain::regions::of(code)).collect();
        let by_id = (0u32..).zip(&entries).map(|(at, r)| (r.id, at)).collect();
        Catalog { revision, entries, by_doc, by_id, fields, countries, years, cities, languages, regions }
    }

    /// Entry `id`, if it is public at `now`.
    pub fn public(&self, id: i64, now: NaiveDateTime) -> Option<Arc<Record>> {
        let record = &self.entries[*self.by_id.get(&id)? as usize];
        (record.published_at <= now).then(|| record.clone())
    }

    /// What `filter` admits at `now` (every criterion but the words), or `None` when nothing
    /// can be (a value no entry has).
    fn admission<'c>(&'c self, now: NaiveDateTime, filter: &Filter) -> Option<Admission<'c>> {
        let year = filter.year.map(|y| y.to_string());
        let mut wanted: Vec<(&Facet, u32)> = Vec::new();
        for (facet, code) in [
            (&self.fields, filter.field.as_deref()),
            (&self.countries, filter.country.as_deref()),
            (&self.years, year.as_deref()),
            (&self.cities, filter.city.as_deref()),
            (&self.languages, filter.language.as_deref()),
        ] {
            if let Some(code) = code {
                wanted.push((facet, *facet.positions.get(code)?));
            }
        }
        // Newest first: the entries public at `now` are the last ones.
        let first_public = self.entries.partition_point(|r| r.published_at > now) as u32;
        Some(Admission { catalog: self, first_public, wanted, region: filter.region })
    }

    /// The facets of the entries at `positions`: counts per field, country, UNESCO region (summed
    /// from the countries') and year.
    fn facets(&self, positions: &[u32]) -> Facets {
        let countries = self.countries.counts(positions);
        let mut regions: HashMap<Region, i64> = HashMap::new();
        for (region, &count) in self.regions.iter().zip(&countries) {
            if let Some(region) = region.filter(|_| count > 0) {
                *regions.entry(region).or_insert(0) += count;
            }
        }
        Facets {
            fields: self.fields.named(&self.fields.counts(positions)),
            countries: self.countries.named(&countries),
            regions: ordered(regions.into_iter().map(|(region, count)| FacetCount {
                code: region.slug().into(),
                name: region.name().into(),
                count,
            })),
            years: self.years.named(&self.years.counts(positions)),
            languages: self.languages.named(&self.languages.counts(positions)),
        }
    }
}

/// Every entry of `catalog` public at `now` that `filter` selects, with their facets; the
/// first `ordered` of them in search order (best match first, else newest first), the rest
/// after them in no order (ranking every match is the costly part of a common word).
pub fn search<'a>(
    text: &TextIndex,
    catalog: &'a Catalog,
    now: NaiveDateTime,
    filter: &Filter,
    ordered: usize,
) -> Hits<'a> {
    let Some(admission) = catalog.admission(now, filter) else {
        return Hits { catalog, positions: Vec::new(), facets: Facets::default() };
    };
    let positions: Vec<u32> = if filter.words.is_empty() {
        admission.all()
    } else {
        let mut scored = text.matches(&filter.words, |doc| {
            catalog.by_doc.get(doc as usize).copied().filter(|&at| at != NOT_LISTED && admission.admits(at))
        });
        // Best first; equal scores in the catalogue's order (newest first).
        let order = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if ordered < scored.len() {
            scored.select_nth_unstable_by(ordered, order);
            scored[..ordered].sort_unstable_by(order);
        } else {
            scored.sort_unstable_by(order);
        }
        scored.into_iter().map(|(_, at)| at).collect()
    };
    let facets = catalog.facets(&positions);
    Hits { catalog, positions, facets }
}

fn ordered(counts: impl Iterator<Item = FacetCount>) -> Vec<FacetCount> {
    let mut counts: Vec<FacetCount> = counts.collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    counts
}

/// One document's occurrences of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    doc: u32,
    /// How many times the term occurs in the document, at most `u16::MAX` (BM25 saturates long
    /// before).
    freq: u16,
    /// Where it first occurs among the document's passages: the number of the first preferred
    /// passage holding it, else [`OTHER`] plus the number of the first passage holding it, else
    /// [`NOWHERE`]. The smallest of a query's terms is so the passage a snippet comes from.
    first: u16,
}

/// Marks a passage that is not preferred in [`Posting::first`].
const OTHER: u16 = 0x8000;

/// In [`Posting::first`]: the term is in no passage.
const NOWHERE: u16 = u16::MAX;

/// The most passages of one text; later blocks count as the rest.
const MAX_PASSAGES: usize = (OTHER - 1) as usize;

/// A block of a text that a snippet may be cut from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage<'t> {
    /// What is indexed (the source, e.g. Markdown).
    pub source: &'t str,
    /// What a reader sees of it.
    pub shown: String,
    /// Whether a snippet prefers it to the passages before it that are not preferred (say, a
    /// paragraph to a heading).
    pub preferred: bool,
}

/// A text to index: its passages in order, then the rest of it, which is indexed but never cut
/// from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'t> {
    pub passages: Vec<Passage<'t>>,
    pub rest: Vec<&'t str>,
    /// Whether the last passage ends the text (nothing of it is left out after).
    pub complete: bool,
}

/// The passage a snippet for a query comes from ([`TextIndex::passage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The passage as a reader sees it.
    pub shown: String,
    /// Whether it is the text's first passage.
    pub first: bool,
    /// Whether it is the last and the text ends with it.
    pub last: bool,
}

/// An indexed text.
struct Doc {
    /// The digest of the accepted sources the text came from.
    source_sha256: String,
    /// How many terms it holds.
    len: u32,
    /// The shown text of the passages some posting points at, one after the other (empty for the
    /// others); passage `n` ends at `ends[n]`.
    shown: Box<str>,
    ends: Box<[u32]>,
    /// [`Text::complete`].
    complete: bool,
}

/// An inverted index: for each term, the documents holding it, by document number.
#[derive(Default)]
pub struct TextIndex {
    /// Term number by term.
    terms: HashMap<Box<str>, u32>,
    /// Postings by term number, in document order.
    postings: Vec<Vec<Posting>>,
    /// Documents by number, in the order they were added.
    docs: Vec<Doc>,
    /// The last document added for each archive entry.
    latest: HashMap<i64, u32>,
    /// The sum of the documents' lengths.
    total_len: u64,
}

impl TextIndex {
    /// How many texts are indexed.
    pub fn documents(&self) -> usize {
        self.docs.len()
    }

    /// How many distinct terms.
    pub fn terms(&self) -> usize {
        self.postings.len()
    }

    /// How many (document, term) pairs.
    pub fn postings(&self) -> usize {
        self.postings.iter().map(Vec::len).sum()
    }

    /// Whether the text of entry `archive_id`'s sources `source_sha256` is indexed.
    pub fn holds(&self, archive_id: i64, source_sha256: &str) -> bool {
        self.latest.get(&archive_id).is_some_and(|&doc| self.docs[doc as usize].source_sha256 == source_sha256)
    }

    /// Indexes `text` as the text of entry `archive_id`, from sources `source_sha256`.
    pub fn add(&mut self, archive_id: i64, source_sha256: String, text: Text<'_>) {
        let Ok(doc) = u32::try_from(self.docs.len()) else { return };
        // (term number, where it is: the passage's `first` value, or NOWHERE in the rest).
        let mut found: Vec<(u32, u16)> = Vec::new();
        let passages = text.passages.len().min(MAX_PASSAGES);
        for (n, passage) in (0u16..).zip(&text.passages[..passages]) {
            let place = if passage.preferred { n } else { OTHER | n };
            self.terms_of(passage.source, |number| found.push((number, place)));
        }
        for part in text.passages[passages..].iter().map(|p| p.source).chain(text.rest.iter().copied()) {
            self.terms_of(part, |number| found.push((number, NOWHERE)));
        }
        let len = u32::try_from(found.len()).unwrap_or(u32::MAX);
        found.sort_unstable();
        let mut pointed = vec![false; passages];
        for run in found.chunk_by(|a, b| a.0 == b.0) {
            let (number, first) = run[0];
            if first != NOWHERE {
                pointed[usize::from(first & !OTHER)] = true;
            }
            let freq = u16::try_from(run.len()).unwrap_or(u16::MAX);
            self.postings[number as usize].push(Posting { doc, freq, first });
        }
        let mut shown = String::new();
        let mut ends = Vec::with_capacity(passages);
        for (passage, pointed) in text.passages.iter().zip(pointed) {
            if pointed {
                shown.push_str(&passage.shown);
            }
            ends.push(u32::try_from(shown.len()).unwrap_or(u32::MAX));
        }
        let complete = text.complete && passages == text.passages.len();
        self.docs.push(Doc { source_sha256, len, shown: shown.into(), ends: ends.into(), complete });
        self.latest.insert(archive_id, doc);
        self.total_len += u64::from(len);
    }

    /// Calls `each` with the number of every term of `text`, in order, numbering new terms.
    fn terms_of(&mut self, text: &str, mut each: impl FnMut(u32)) {
        for_each_term(text, |term| {
            let next = self.postings.len() as u32;
            let number = match self.terms.get(term) {
                Some(&n) => n,
                None => {
                    self.terms.insert(term.into(), next);
                    self.postings.push(Vec::new());
                    next
                }
            };
            each(number);
        });
    }

    /// The passage of entry `archive_id`'s text from sources `source_sha256` that a snippet for
    /// `words` comes from: the first preferred passage holding one of their terms, else the
    /// first passage holding one. `None` when no passage holds one, or the entry's text from
    /// those sources is not indexed.
    pub fn passage(&self, archive_id: i64, source_sha256: &str, words: &[String]) -> Option<Cut> {
        let doc = *self.latest.get(&archive_id)?;
        let d = &self.docs[doc as usize];
        if d.source_sha256 != source_sha256 {
            return None;
        }
        let mut first = NOWHERE;
        for word in words {
            for_each_term(word, |term| {
                let Some(&number) = self.terms.get(term) else { return };
                let postings = &self.postings[number as usize];
                let at = postings.partition_point(|p| p.doc < doc);
                if let Some(p) = postings.get(at).filter(|p| p.doc == doc) {
                    first = first.min(p.first);
                }
            });
        }
        if first == NOWHERE {
            return None;
        }
        let n = usize::from(first & !OTHER);
        let start = n.checked_sub(1).map_or(0, |before| d.ends[before] as usize);
        Some(Cut {
            shown: d.shown[start..d.ends[n] as usize].to_owned(),
            first: n == 0,
            last: d.complete && n + 1 == d.ends.len(),
        })
    }

    /// The BM25 score and `admit`'s value of each document holding every one of `words` (query
    /// words: see the module doc) that `admit` admits, in document order. A word that folds to no
    /// term matches nothing.
    pub fn matches(&self, words: &[String], admit: impl Fn(u32) -> Option<u32>) -> Vec<(f64, u32)> {
        let mut numbers: Vec<u32> = Vec::new();
        let mut unmatched = false;
        for word in words {
            let mut any = false;
            for_each_term(word, |term| {
                any = true;
                match self.terms.get(term) {
                    Some(&n) => numbers.push(n),
                    None => unmatched = true,
                }
            });
            unmatched |= !any;
        }
        numbers.sort_unstable();
        numbers.dedup();
        if unmatched || numbers.is_empty() {
            return Vec::new();
        }
        // The rarest term first: its documents are the candidates.
        let mut lists: Vec<&[Posting]> = numbers.iter().map(|&n| self.postings[n as usize].as_slice()).collect();
        lists.sort_by_key(|l| l.len());
        let n = self.docs.len() as f64;
        let average = (self.total_len as f64 / n).max(1.0);
        let idf: Vec<f64> =
            lists.iter().map(|l| (1.0 + (n - l.len() as f64 + 0.5) / (l.len() as f64 + 0.5)).ln()).collect();
        let mut cursors = vec![0usize; lists.len()];
        let mut out = Vec::with_capacity(lists[0].len());
        'docs: for first in lists[0] {
            let mut freqs = Vec::with_capacity(lists.len());
            freqs.push(first.freq);
            for (list, cursor) in lists.iter().zip(cursors.iter_mut()).skip(1) {
                *cursor += list[*cursor..].partition_point(|p| p.doc < first.doc);
                match list.get(*cursor) {
                    Some(p) if p.doc == first.doc => freqs.push(p.freq),
                    Some(_) => continue 'docs,
                    None => break 'docs,
                }
            }
            let Some(admitted) = admit(first.doc) else { continue };
            let norm = K1 * (1.0 - B + B * f64::from(self.docs[first.doc as usize].len) / average);
            let score = freqs
                .iter()
                .zip(&idf)
                .map(|(&f, idf)| {
                    let f = f64::from(f);
                    idf * f * (K1 + 1.0) / (f + norm)
                })
                .sum();
            out.push((score, admitted));
        }
        out
    }
}

/// Calls `each` with every term of `text`, in order: its runs of letters and digits, each
/// transliterated to ASCII and lower-cased (a run may give several terms: `北京` gives `bei` and
/// `jing`).
fn for_each_term(text: &str, mut each: impl FnMut(&str)) {
    let mut term = String::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if word.is_ascii() {
            term.clear();
            term.push_str(word);
            term.make_ascii_lowercase();
            each(&term);
            continue;
        }
        let ascii = deunicode::deunicode(word);
        for part in ascii.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
            term.clear();
            term.push_str(part);
            term.make_ascii_lowercase();
            each(&term);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_term(text, |t| out.push(t.to_owned()));
        out
    }

    #[test]
    fn terms_are_folded_words() {
        assert_eq!(terms("Smörgåsbord, FÊTE de la musique!"), ["smorgasbord", "fete", "de", "la", "musique"]);
        assert_eq!(
            terms("**Bold** [link](http://x.org/a_b) 2024-2027"),
            ["bold", "link", "http", "x", "org", "a", "b", "2024", "2027"]
        );
        assert_eq!(terms("Straße Ærø"), ["strasse", "aero"]);
        assert_eq!(terms("北京"), ["bei", "jing"]);
        assert_eq!(terms("  -- "), Vec::<String>::new());
    }

    /// A text without passages.
    fn plain(text: &str) -> Text<'_> {
        Text { passages: Vec::new(), rest: vec![text], complete: true }
    }

    fn index(texts: &[&str]) -> TextIndex {
        let mut index = TextIndex::default();
        for (i, text) in texts.iter().enumerate() {
            index.add(i as i64 + 1, format!("digest-{i}"), plain(text));
        }
        index
    }

    fn docs(index: &TextIndex, query: &str) -> Vec<u32> {
        let words: Vec<String> = query.split(' ').map(str::to_owned).collect();
        index.matches(&words, Some).into_iter().map(|(_, doc)| doc).collect()
    }

    #[test]
    fn every_word_must_occur() {
        let index = index(&["accordion parade", "accordion", "parade fête", "nothing"]);
        assert_eq!(docs(&index, "accordion"), [0, 1]);
        assert_eq!(docs(&index, "ACCORDION parade"), [0]);
        assert_eq!(docs(&index, "fete"), [2]);
        assert_eq!(docs(&index, "accordion accordion"), [0, 1], "a repeated word counts once");
        assert_eq!(docs(&index, "accordion unknown"), Vec::<u32>::new());
        assert_eq!(docs(&index, "❤"), Vec::<u32>::new(), "a word without a term matches nothing");
    }

    #[test]
    fn bm25_prefers_more_occurrences_and_shorter_texts_and_rarer_words() {
        let index = index(&[
            "accordion",
            "accordion accordion accordion",
            "accordion and many other words in a long text about music",
            "rare accordion",
        ]);
        let scores: HashMap<u32, f64> =
            index.matches(&["accordion".into()], Some).into_iter().map(|(score, doc)| (doc, score)).collect();
        assert!(scores[&1] > scores[&0], "{scores:?}");
        assert!(scores[&0] > scores[&2], "{scores:?}");
        let both: HashMap<u32, f64> = index
            .matches(&["rare".into(), "accordion".into()], Some)
            .into_iter()
            .map(|(score, doc)| (doc, score))
            .collect();
        assert!(both[&3] > scores[&3], "a rare word adds to the score");
    }

    fn passage<'t>(source: &'t str, preferred: bool) -> Passage<'t> {
        Passage { source, shown: source.replace('*', ""), preferred }
    }

    #[test]
    fn a_passage_is_the_first_preferred_one_holding_a_query_term() {
        let mut index = TextIndex::default();
        let text = Text {
            passages: vec![
                passage("# Fête", false),
                passage("The *fête* and the parade", true),
                passage("Accordion", false),
                passage("A long accordion parade", true),
            ],
            rest: vec!["words after: violin"],
            complete: true,
        };
        index.add(7, "d".into(), text);
        let cut = |q: &str| {
            let words: Vec<String> = q.split(' ').map(str::to_owned).collect();
            index.passage(7, "d", &words).map(|c| (c.shown, c.first, c.last))
        };
        assert_eq!(cut("fete"), Some(("The fête and the parade".into(), false, false)), "a preferred one first");
        assert_eq!(cut("accordion"), Some(("A long accordion parade".into(), false, true)));
        assert_eq!(cut("parade ACCORDION"), Some(("The fête and the parade".into(), false, false)));
        assert_eq!(cut("violin"), None, "the rest is indexed, never cut from");
        assert_eq!(docs(&index, "violin"), [0]);
        assert_eq!(index.passage(7, "other digest", &["fete".into()]), None);
        assert_eq!(index.passage(8, "d", &["fete".into()]), None);
        // Without a preferred one, the first holding a term; only passages pointed at keep text.
        let mut index = TextIndex::default();
        let text = Text {
            passages: vec![passage("Fête", false), passage("Fête, fête", false), passage("Nothing new", true)],
            rest: Vec::new(),
            complete: false,
        };
        index.add(1, "d".into(), text);
        let cut = index.passage(1, "d", &["fete".into()]).unwrap();
        assert_eq!((cut.shown.as_str(), cut.first, cut.last), ("Fête", true, false));
        assert_eq!(&*index.docs[0].shown, "FêteNothing new");
    }

    #[test]
    fn new_sources_replace_an_entry_text() {
        let mut index = index(&["old words"]);
        assert!(index.holds(1, "digest-0"));
        index.add(1, "digest-new".into(), plain("new words"));
        assert!(!index.holds(1, "digest-0") && index.holds(1, "digest-new"));
        assert_eq!(index.latest[&1], 1);
        // The old text is still indexed under its document number; the catalogue maps only the
        // latest one to the entry.
        assert_eq!(docs(&index, "old"), [0]);
        assert_eq!(docs(&index, "new"), [1]);
    }
}
