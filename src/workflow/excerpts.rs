//! What the public pages show of a report's text: its abstract (the start of the executive
//! summary) and, in search results, a snippet around the first words that match the query, with
//! those words marked.
//!
//! Both come from the accepted Markdown as plain text ([`crate::render::text_blocks`]). An
//! abstract is made once per entry and kept (a few hundred bytes, keyed by entry and source
//! digest: an entry's sources are write-once, so it is never stale). A snippet depends on the
//! query, so it is made each time, cheaply: the Markdown is scanned word by word for the first
//! block holding a query word, and only that block is read as Markdown.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::catalog::Record;
use crate::db::{Conn, catalog};
use crate::domain::cities::fold;
use crate::error::Result;
use crate::render::{Template, sections, text_blocks};

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
/// made afresh from the texts each time, reading only as far as the first good match.
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
    /// The cached abstracts of `records` still current, and the ids of the others.
    fn cached(&self, records: &[&Record]) -> (HashMap<i64, Excerpt>, Vec<i64>) {
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

    /// The abstract of each of `records`: the start of its executive summary (empty when the
    /// report has none). Only reports not seen before are read from the database.
    pub fn abstracts(
        &self,
        conn: &mut Conn<'_>,
        template: &Template,
        records: &[&Record],
    ) -> Result<HashMap<i64, Excerpt>> {
        let (mut found, missing) = self.cached(records);
        if !missing.is_empty() {
            for t in catalog::texts(conn, &missing)? {
                let opening = self.keep(template, t.id, t.source_sha256, &t.report);
                found.insert(t.id, opening);
            }
        }
        Ok(found)
    }

    /// For each of `records`, a snippet around the first place its text holds one of `words`
    /// (as [`super::catalog::query_words`] gives them), with the matching words marked; the
    /// abstract where no word is found in the first [`SCANNED`] bytes.
    pub fn snippets(
        &self,
        conn: &mut Conn<'_>,
        template: &Template,
        records: &[&Record],
        words: &[String],
    ) -> Result<HashMap<i64, Excerpt>> {
        let terms: Vec<String> = words.iter().flat_map(|w| terms(w)).collect();
        let (cached, _) = self.cached(records);
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let mut out = HashMap::new();
        for t in catalog::texts(conn, &ids)? {
            let snippet = found_in(&t.report, &t.action_plan, &terms);
            let excerpt = if snippet.has_hits() {
                snippet
            } else if let Some(opening) = cached.get(&t.id) {
                opening.clone()
            } else {
                self.keep(template, t.id, t.source_sha256, &t.report)
            };
            out.insert(t.id, excerpt);
        }
        Ok(out)
    }
}

/// The executive summary's paragraphs as one text.
fn summary(report: &str, template: &Template) -> String {
    let section = sections(report, template).into_iter().find(|s| s.key.as_deref() == Some("executive_summary"));
    let Some(section) = section else { return String::new() };
    let blocks = text_blocks(&section.text);
    blocks.into_iter().filter(|b| !b.heading).map(|b| b.text).collect::<Vec<_>>().join(" ")
}

/// A snippet from the first source block (text between blank lines) of the report, then the
/// plan, that holds a query term, preferring a block of [`MEANINGFUL`] words or more; only that
/// block is read as Markdown. Looks at the first [`SCANNED`] bytes of each.
fn found_in(report: &str, plan: &str, terms: &[String]) -> Excerpt {
    // The snippet of a block, with an ellipsis wherever the texts go on around it.
    let within = |plain: &str, first: bool, last: bool| {
        let mut s = snippet(plain, terms);
        s.cut_before |= !first;
        s.cut_after |= !last;
        s
    };
    let mut fallback = None;
    for (n, text) in [report, plan].into_iter().enumerate() {
        let mut end = SCANNED.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut at = 0;
        for block in text[..end].split("\n\n") {
            let (first, last) = (n == 0 && at == 0, at + block.len() >= text.len() && (n == 1 || plan.is_empty()));
            at += block.len() + 2;
            if !words(block).iter().any(|&(s, e)| matches(&block[s..e], terms)) {
                continue;
            }
            let plain = text_blocks(block).into_iter().map(|b| b.text).collect::<Vec<_>>().join("\n\n");
            if plain.split_whitespace().count() >= MEANINGFUL {
                return within(&plain, first, last);
            }
            fallback.get_or_insert((plain, first, last));
        }
    }
    fallback.map_or_else(Excerpt::default, |(plain, first, last)| within(&plain, first, last))
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

    #[test]
    fn a_snippet_is_found_in_the_markdown_and_read_from_its_block_only() {
        let report = "# Executive Summary\n\nThe **Fête** is small.\n\n# Local Initiatives\n\n\
                      A long paragraph about the *fête* of the city, where forty chefs and twelve schools \
                      cook together for [three days](https://example.org).";
        let s = found_in(report, "", &terms("fete"));
        assert_eq!(
            s.text(),
            "… A long paragraph about the fête of the city, where forty chefs and twelve schools cook together for three days."
        );
        assert_eq!(s.pieces.iter().filter(|p| p.hit).count(), 1);
        // Only in a short block, or only in the plan: still found.
        assert_eq!(found_in("# Fête\n\nOther.", "", &terms("fete")).text(), "Fête …");
        assert!(found_in("Nothing.", "The plan's fête.", &terms("fete")).has_hits());
        assert!(found_in("Nothing.", "", &terms("fete")).is_empty());
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
