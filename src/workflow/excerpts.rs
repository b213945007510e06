//! What the public pages show of a report's text: its abstract (the start of the executive
//! summary) and, in search results, a snippet around the first words that match the query, with
//! those words marked.
//!
//! Both come from the accepted Markdown as plain text ([`crate::render::text_blocks`]). An
//! abstract is made once per entry and kept (a few hundred bytes, keyed by entry and source
//! digest: an entry's sources are write-once, so it is never stale). A snippet depends on the
//! query, so it is cut at each search, from memory: when the search index takes in a text, this
//! module splits it into passages ([`text`]: the source blocks between blank lines of the first
//! [`SCANNED`] bytes of the report and of the plan, each read as Markdown once), and the index
//! finds the passage a query's snippet comes from ([`crate::search::TextIndex::passage`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::catalog::Record;
use super::catalog_index::CatalogIndex;
use crate::db::{Conn, catalog};
use crate::domain::cities::fold;
use crate::error::Result;
use crate::render::{Template, sections, text_blocks};
use crate::search::{Cut, Passage, Text};

/// How many reports' abstracts the cache holds (a few hundred bytes each).
const CACHED: usize = 16_384;

/// How much of a report's and of a plan's Markdown a snippet is looked for in, in bytes.
const SCANNED: usize = 64 * 1024;

/// About how many words an abstract or a snippet has.
const WORDS: usize = 48;

/// How many words a block needs for a snippet to prefer it (see [`snippet`]).
const MEANINGFUL: usize = 12;

/// A piece of an excerpt: text, and whether it is a word the query matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// An abstract or a snippet: pieces to show in order, and whether text was left out before
/// and after them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excerpt {
    pub pieces: Vec<Piece>,
    pub cut_before: bool,
    pub cut_after: bool,
}

impl Excerpt {
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The excerpt as plain text, with an ellipsis where text was left out.
    pub fn text(&self) -> String {
        let body: String = self.pieces.iter().map(|p| p.text.as_str()).collect();
        format!("{}{body}{}", if self.cut_before { "… " } else { "" }, if self.cut_after { " …" } else { "" })
    }

    /// Whether any query word was found.
    pub fn has_hits(&self) -> bool {
        self.pieces.iter().any(|p| p.hit)
    }
}

/// A report's abstract, as the cache keeps it.
struct Abstract {
    source_sha256: String,
    opening: Excerpt,
}

/// The abstracts of reports shown lately: one per server. Snippets depend on the query and are
/// cut afresh each time, from the passages the search index keeps.
#[derive(Default)]
pub struct Excerpts {
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    abstracts: HashMap<i64, Arc<Abstract>>,
    /// Least recently added first.
    order: VecDeque<i64>,
}

impl Excerpts {
    /// The kept abstracts of `records` still current, and the ids of the others.
    fn kept(&self, records: &[&Record]) -> (HashMap<i64, Excerpt>, Vec<i64>) {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for r in records {
            match cache.abstracts.get(&r.id) {
                Some(a) if a.source_sha256 == r.source_sha256 => {
                    found.insert(r.id, a.opening.clone());
                }
                _ => missing.push(r.id),
            }
        }
        (found, missing)
    }

    /// Keeps the abstract of entry `id` whose report is `report`, and returns it.
    fn keep(&self, template: &Template, id: i64, source_sha256: String, report: &str) -> Excerpt {
        let opening = opening(&summary(report, template));
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = Arc::new(Abstract { source_sha256, opening: opening.clone() });
        if cache.abstracts.insert(id, entry).is_none() {
            cache.order.push_back(id);
        }
        while cache.order.len() > CACHED {
            if let Some(old) = cache.order.pop_front() {
                cache.abstracts.remove(&old);
            }
        }
        opening
    }

    /// Reads the reports of entries `ids` from the database and keeps their abstracts.
    pub fn read(&self, conn: &mut Conn<'_>, template: &Template, ids: &[i64]) -> Result<HashMap<i64, Excerpt>> {
        Ok(catalog::texts(conn, ids)?
            .into_iter()
            .map(|t| (t.id, self.keep(template, t.id, t.source_sha256, &t.report)))
            .collect())
    }

    /// The abstract of each of `records`: the start of its executive summary (empty when the
    /// report has none). Only reports not seen before are read from the database.
    pub fn abstracts(
        &self,
        conn: &mut Conn<'_>,
        template: &Template,
        records: &[&Record],
    ) -> Result<HashMap<i64, Excerpt>> {
        let (mut found, missing) = self.kept(records);
        if !missing.is_empty() {
            found.extend(self.read(conn, template, &missing)?);
        }
        Ok(found)
    }

    /// What a page of search results shows under each of `records`: a snippet around the first
    /// place its passages hold one of `words` (as [`super::catalog::query_words`] gives them),
    /// with the matching words marked, else its abstract. Memory only (the passages come from
    /// `index`); the second value lists the entries whose abstract is not kept yet, to
    /// [`Excerpts::read`].
    pub fn under_results(
        &self,
        index: &CatalogIndex,
        records: &[&Record],
        words: &[String],
    ) -> (HashMap<i64, Excerpt>, Vec<i64>) {
        let terms: Vec<String> = words.iter().flat_map(|w| terms(w)).collect();
        let snippets: HashMap<i64, Excerpt> = index
            .passages(records, words)
            .into_iter()
            .map(|(id, cut)| (id, cut_from(&cut, &terms)))
            .filter(|(_, excerpt)| excerpt.has_hits())
            .collect();
        let rest: Vec<&Record> = records.iter().filter(|r| !snippets.contains_key(&r.id)).copied().collect();
        let (mut shown, unread) = self.kept(&rest);
        shown.extend(snippets);
        (shown, unread)
    }
}

/// The executive summary's paragraphs as one text.
fn summary(report: &str, template: &Template) -> String {
    let section = sections(report, template).into_iter().find(|s| s.key.as_deref() == Some("executive_summary"));
    let Some(section) = section else { return String::new() };
    let blocks = text_blocks(&section.text);
    blocks.into_iter().filter(|b| !b.heading).map(|b| b.text).collect::<Vec<_>>().join(" ")
}

/// The passages of a report and its plan as the search index takes them: the source blocks
/// (text between blank lines) of the first [`SCANNED`] bytes of each, each with its plain text,
/// preferred when that has [`MEANINGFUL`] words or more; the rest of each is indexed but never
/// cut from. The scanned part ends before a word the bound would split.
pub fn text<'t>(report: &'t str, plan: &'t str) -> Text<'t> {
    let mut text = Text { passages: Vec::new(), rest: Vec::new(), complete: true };
    // The plan's blocks follow the report's; without a plan, the report's last block is last.
    let parts: &[&str] = if plan.is_empty() { &[report] } else { &[report, plan] };
    for part in parts {
        let end = scanned_end(part, SCANNED);
        for source in part[..end].split("\n\n") {
            let shown = text_blocks(source).into_iter().map(|b| b.text).collect::<Vec<_>>().join("\n\n");
            let preferred = shown.split_whitespace().count() >= MEANINGFUL;
            text.passages.push(Passage { source, shown, preferred });
        }
        if end < part.len() {
            text.rest.push(&part[end..]);
        }
        text.complete = end == part.len();
    }
    text
}

/// How many bytes of `text` are looked into for snippets: at most `bound`, ending on a character
/// boundary and not within a word.
fn scanned_end(text: &str, bound: usize) -> usize {
    if text.len() <= bound {
        return text.len();
    }
    let mut end = bound;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if text[end..].starts_with(char::is_alphanumeric) {
        // Back to the start of the word the bound falls in.
        end =
            text[..end].char_indices().rev().find(|(_, c)| !c.is_alphanumeric()).map_or(0, |(at, c)| at + c.len_utf8());
    }
    end
}

/// The snippet of passage `cut`, with an ellipsis wherever the texts go on around it.
fn cut_from(cut: &Cut, terms: &[String]) -> Excerpt {
    let mut s = snippet(&cut.shown, terms);
    s.cut_before |= !cut.first;
    s.cut_after |= !cut.last;
    s
}

/// Whether `word` folds to one of `terms` (ASCII words without allocating).
fn matches(word: &str, terms: &[String]) -> bool {
    if word.is_ascii() {
        terms.iter().any(|t| word.eq_ignore_ascii_case(t))
    } else {
        self::terms(word).iter().any(|t| terms.contains(t))
    }
}

/// The folded terms of a word, as the index folds them (`Fête` gives `fete`).
fn terms(word: &str) -> Vec<String> {
    fold(word).split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// The words of `text` with their byte ranges: runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The first [`WORDS`] words of `text`.
fn opening(text: &str) -> Excerpt {
    let spans = words(text);
    if spans.is_empty() {
        return Excerpt::default();
    }
    let end = spans.get(WORDS).map_or(text.len(), |&(start, _)| start);
    let piece = text[..end].trim_end().to_owned();
    Excerpt { pieces: vec![Piece { text: piece, hit: false }], cut_before: false, cut_after: end < text.len() }
}

/// About [`WORDS`] words of `text` around the first word whose folded form is one of `terms`,
/// within the block (paragraph, heading, item) that holds it: from its start when that is near,
/// else a few words before the match, with every matching word in the window marked. Without a
/// match, no pieces.
fn snippet(text: &str, terms: &[String]) -> Excerpt {
    if terms.is_empty() {
        return Excerpt::default();
    }
    let spans = words(text);
    let hit = |&(s, e): &(usize, usize)| matches(&text[s..e], terms);
    let block_of = |at: usize| {
        let start = text[..at].rfind("\n\n").map_or(0, |p| p + 2);
        (start, text[at..].find("\n\n").map_or(text.len(), |p| at + p))
    };
    // The first match in a paragraph of some length: a match in a heading or a label ("Creative
    // field: …") says little; failing that, the first match.
    let mut hits = spans.iter().enumerate().filter(|(_, s)| hit(s)).map(|(i, _)| i);
    let Some(any) = hits.next() else { return Excerpt::default() };
    let long = |&i: &usize| {
        let (start, end) = block_of(spans[i].0);
        text[start..end].split_whitespace().count() >= MEANINGFUL
    };
    let first = std::iter::once(any).chain(hits).find(long).unwrap_or(any);
    let at = spans[first].0;
    let (block_start, block_end) = block_of(at);
    let in_block = |&(s, _): &(usize, usize)| s >= block_start && s < block_end;
    let from = (first.saturating_sub(8)..=first).find(|&i| in_block(&spans[i])).unwrap_or(first);
    let to = (from + WORDS).min(spans.len());
    let to = (first..to).take_while(|&i| in_block(&spans[i])).last().map_or(first + 1, |i| i + 1);
    let start = spans[from].0;
    // The window's last word, with the punctuation that follows it when it ends the block.
    let end = if to < spans.len() && spans[to].0 < block_end { spans[to - 1].1 } else { block_end };
    let mut pieces = Vec::new();
    let mut at = start;
    for span in &spans[from..to] {
        if hit(span) {
            if span.0 > at {
                pieces.push(Piece { text: text[at..span.0].to_owned(), hit: false });
            }
            pieces.push(Piece { text: text[span.0..span.1].to_owned(), hit: true });
            at = span.1;
        }
    }
    if end > at {
        pieces.push(Piece { text: text[at..end].to_owned(), hit: false });
    }
    Excerpt { pieces, cut_before: start > 0, cut_after: end < text.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_marks_the_query_words_whatever_their_accents() {
        let text =
            "The city held its first festival.\n\nLa Fête de la gastronomie réunit 40 chefs; la FETE dure trois jours.";
        let s = snippet(text, &terms("fete"));
        let hits: Vec<&str> = s.pieces.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
        assert_eq!(hits, ["Fête", "FETE"]);
        assert_eq!(s.text(), "… La Fête de la gastronomie réunit 40 chefs; la FETE dure trois jours.");
        // The window ends with the paragraph it starts in.
        let s = snippet(&format!("{text}\n\nAnother paragraph."), &terms("fete"));
        assert_eq!(s.text(), "… La Fête de la gastronomie réunit 40 chefs; la FETE dure trois jours. …");
        assert!(snippet(text, &terms("absent")).is_empty());
        // A match in a short label yields to one in a paragraph.
        let labelled = "Creative field: Music\n\nThe city is a creative hub where twelve music schools and forty venues train and employ musicians.";
        assert!(snippet(labelled, &terms("creative")).text().starts_with("… The city is a creative hub"));
        assert_eq!(snippet("Creative field: Music", &terms("creative")).text(), "Creative field: Music");
        assert!(snippet(text, &[]).is_empty());
    }

    /// The snippet for `query` of a report and plan indexed as the search index takes them.
    fn found_in(report: &str, plan: &str, query: &str) -> Excerpt {
        let mut index = crate::search::TextIndex::default();
        index.add(1, "d".into(), text(report, plan));
        let words = vec![query.to_owned()];
        index.passage(1, "d", &words).map_or_else(Excerpt::default, |cut| cut_from(&cut, &terms(query)))
    }

    #[test]
    fn a_snippet_is_found_in_the_markdown_and_read_from_its_block_only() {
        let report = "# Executive Summary\n\nThe **Fête** is small.\n\n# Local Initiatives\n\n\
                      A long paragraph about the *fête* of the city, where forty chefs and twelve schools \
                      cook together for [three days](https://example.org).";
        let s = found_in(report, "", "fete");
        assert_eq!(
            s.text(),
            "… A long paragraph about the fête of the city, where forty chefs and twelve schools cook together for three days."
        );
        assert_eq!(s.pieces.iter().filter(|p| p.hit).count(), 1);
        // Only in a short block, or only in the plan: still found.
        assert_eq!(found_in("# Fête\n\nOther.", "", "fete").text(), "Fête …");
        assert!(found_in("Nothing.", "The plan's fête.", "fete").has_hits());
        assert!(found_in("Nothing.", "", "fete").is_empty());
    }

    #[test]
    fn only_the_scanned_start_of_a_text_is_cut_from_and_no_word_is_split() {
        let filler = "Filler words here.\n\n".repeat(SCANNED / 20 + 1);
        let report = format!("{filler}A late accordion paragraph with enough words to be a good snippet here.");
        let t = text(&report, "");
        assert!(!t.complete && t.rest.len() == 1);
        let scanned: usize = t.passages.iter().map(|p| p.source.len() + 2).sum::<usize>() - 2;
        assert_eq!(format!("{}{}", &report[..scanned], t.rest[0]), report);
        assert!(found_in(&report, "", "accordion").is_empty(), "found beyond the scanned bytes");
        assert_eq!(scanned_end("ab cdé", 5), 3, "not within `cdé`");
        assert_eq!(scanned_end("abc", 2), 0);
    }
    #[test]
    fn an_opening_is_the_first_words() {
        let long = (0..100).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let o = opening(&long);
        assert!(o.cut_after && !o.cut_before);
        assert_eq!(o.text().split_whitespace().count(), WORDS + 1, "{}", o.text());
        assert_eq!(opening("Short text.").text(), "Short text.");
        assert!(opening("").is_empty());
    }

    #[test]
    fn the_summary_is_the_executive_summary_without_its_heading() {
        let template = Template::builtin();
        let report = "# Executive Summary\n\nÖstersund *grew* its [food](https://x) network.\n\n- one\n- two\n\n# General Information\n\nOther.";
        assert_eq!(summary(report, &template), "Östersund grew its food network. one two");
        assert_eq!(summary("# General Information\n\nNo summary.", &template), "");
    }
}
