//! What the public pages show of a report's text: its abstract (the start of the executive
//! summary) and, in search results, a snippet around the first words that match the query, with
//! those words marked.
//!
//! Both come from the accepted Markdown as plain text ([`crate::render::text_blocks`]). Turning
//! a report into plain text costs about a millisecond, so the plain text of the reports shown
//! lately is kept in a small cache, keyed by entry and source digest (an entry's sources are
//! write-once, so an entry is never shown stale text).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::catalog::Record;
use crate::db::{Conn, catalog};
use crate::domain::cities::fold;
use crate::error::Result;
use crate::render::{Template, sections, text_blocks};

/// How many reports' plain text the cache holds.
const CACHED: usize = 256;

/// How much plain text of a report a snippet is looked for in (bytes, whole blocks).
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

/// A report's text as the pages use it.
struct Text {
    source_sha256: String,
    /// The executive summary's paragraphs, joined.
    summary: String,
    /// The report's and the action plan's blocks, joined by blank lines, up to [`SCANNED`].
    body: String,
}

/// The plain text of the reports shown lately: one per server.
#[derive(Default)]
pub struct Excerpts {
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    texts: HashMap<i64, Arc<Text>>,
    /// Least recently added first.
    order: VecDeque<i64>,
}

impl Excerpts {
    /// The texts of `records`, from the cache or read from the database in one query.
    fn texts(&self, conn: &mut Conn<'_>, template: &Template, records: &[&Record]) -> Result<HashMap<i64, Arc<Text>>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for r in records {
                match cache.texts.get(&r.id) {
                    Some(t) if t.source_sha256 == r.source_sha256 => {
                        found.insert(r.id, t.clone());
                    }
                    _ => missing.push(r.id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let loaded: Vec<(i64, Arc<Text>)> = catalog::texts(conn, &missing)?
            .into_iter()
            .map(|t| {
                let text = Text {
                    summary: summary(&t.report, template),
                    body: body(&t.report, &t.action_plan),
                    source_sha256: t.source_sha256,
                };
                (t.id, Arc::new(text))
            })
            .collect();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, text) in loaded {
            if cache.texts.insert(id, text.clone()).is_none() {
                cache.order.push_back(id);
            }
            while cache.order.len() > CACHED {
                if let Some(old) = cache.order.pop_front() {
                    cache.texts.remove(&old);
                }
            }
            found.insert(id, text);
        }
        Ok(found)
    }

    /// The abstract of each of `records`: the start of its executive summary (empty when the
    /// report has none).
    pub fn abstracts(
        &self,
        conn: &mut Conn<'_>,
        template: &Template,
        records: &[&Record],
    ) -> Result<HashMap<i64, Excerpt>> {
        let texts = self.texts(conn, template, records)?;
        Ok(texts.into_iter().map(|(id, t)| (id, opening(&t.summary))).collect())
    }

    /// For each of `records`, a snippet around the first place its text holds one of `words`
    /// (as [`super::catalog::query_words`] gives them), with the matching words marked; the
    /// abstract where no word is found in the scanned text (the match is further on).
    pub fn snippets(
        &self,
        conn: &mut Conn<'_>,
        template: &Template,
        records: &[&Record],
        words: &[String],
    ) -> Result<HashMap<i64, Excerpt>> {
        let texts = self.texts(conn, template, records)?;
        let terms: Vec<String> = words.iter().flat_map(|w| terms(w)).collect();
        Ok(texts
            .into_iter()
            .map(|(id, t)| {
                let snippet = snippet(&t.body, &terms);
                (id, if snippet.has_hits() { snippet } else { opening(&t.summary) })
            })
            .collect())
    }
}

/// The executive summary's paragraphs as one text.
fn summary(report: &str, template: &Template) -> String {
    let section = sections(report, template).into_iter().find(|s| s.key.as_deref() == Some("executive_summary"));
    let Some(section) = section else { return String::new() };
    let blocks = text_blocks(&section.text);
    blocks.into_iter().filter(|b| !b.heading).map(|b| b.text).collect::<Vec<_>>().join(" ")
}

/// The report's and plan's blocks as one text, up to [`SCANNED`] bytes.
fn body(report: &str, plan: &str) -> String {
    let mut out = String::new();
    for block in text_blocks(report).into_iter().chain(text_blocks(plan)) {
        if out.len() + block.text.len() > SCANNED {
            break;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&block.text);
    }
    out
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
    let hit = |&(s, e): &(usize, usize)| self::terms(&text[s..e]).iter().any(|t| terms.contains(t));
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
