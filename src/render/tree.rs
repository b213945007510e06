//! The document tree the layout works from: our own types, so nothing past the
//! Markdown reader knows pulldown-cmark. Inline content is flattened into styled
//! spans, which is what line breaking needs and keeps every later stage free of
//! recursion over inline nesting.

use std::collections::{BTreeSet, HashSet};
use std::ops::Range;

/// Character styling of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Style {
    pub strong: bool,
    pub emphasis: bool,
    pub strike: bool,
    pub code: bool,
}

/// Where a link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    /// An external http(s) or mailto URI.
    Uri(String),
    /// A heading of this document, by its slug.
    Anchor(String),
    /// A heading of another part (0 the report, 1 the action plan), by its slug: set by
    /// [`link_parts`] for an anchor that names no heading of its own document.
    PartAnchor(usize, String),
}

/// One piece of inline content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    /// Text in one style; `link` indexes [`Document::links`].
    Text { text: String, style: Style, link: Option<usize> },
    /// A hard line break.
    Break,
    /// A footnote reference, by footnote number (1-based).
    FootnoteRef(usize),
    /// An image; `src` names an attachment.
    Image { src: String, alt: String },
}

/// Column alignment from the GFM delimiter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// A list item, with its task-list state when it has a checkbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListItem {
    pub task: Option<bool>,
    pub blocks: Vec<Block>,
}

/// A block-level element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Heading {
        level: u8,
        content: Vec<Inline>,
        /// Slug for internal links, unique within the document.
        slug: String,
    },
    Paragraph(Vec<Inline>),
    /// Fenced or indented code, and raw HTML blocks shown as literal text.
    Code(String),
    Quote(Vec<Block>),
    List {
        /// First number of an ordered list; `None` for bullets.
        start: Option<u64>,
        items: Vec<ListItem>,
    },
    Table {
        aligns: Vec<Align>,
        header: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Rule,
}

/// A footnote with its number and text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Footnote {
    pub number: usize,
    pub blocks: Vec<Block>,
}

/// One Markdown input (the report or the action plan), parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Document {
    pub blocks: Vec<Block>,
    /// Footnotes in number order, collected from wherever they were defined.
    pub footnotes: Vec<Footnote>,
    pub links: Vec<LinkTarget>,
    /// Footnote references without a definition, by label.
    pub undefined_footnotes: Vec<String>,
    /// Link destinations that were not kept (not http(s), mailto or #anchor).
    pub dropped_links: Vec<String>,
}

impl Document {
    /// Every image reference, in document order (footnotes last).
    pub fn images(&self) -> Vec<&str> {
        fn inline_images<'a>(inlines: &'a [Inline], out: &mut Vec<&'a str>) {
            for i in inlines {
                if let Inline::Image { src, .. } = i {
                    out.push(src.as_str());
                }
            }
        }
        let mut out = Vec::new();
        // An explicit stack: nesting depth is bounded by the limits, but recursion
        // is still avoided so no input can exhaust the call stack.
        let mut stack: Vec<&Block> = self.footnotes.iter().rev().flat_map(|f| f.blocks.iter().rev()).collect();
        stack.extend(self.blocks.iter().rev());
        while let Some(b) = stack.pop() {
            match b {
                Block::Heading { content, .. } | Block::Paragraph(content) => inline_images(content, &mut out),
                Block::Quote(blocks) => stack.extend(blocks.iter().rev()),
                Block::List { items, .. } => {
                    for item in items.iter().rev() {
                        stack.extend(item.blocks.iter().rev());
                    }
                }
                Block::Table { header, rows, .. } => {
                    for cell in header.iter().chain(rows.iter().flatten()) {
                        inline_images(cell, &mut out);
                    }
                }
                Block::Code(_) | Block::Rule => {}
            }
        }
        out
    }
}

impl Document {
    /// Slugs of every heading, nested ones and footnotes included: the anchors the layout
    /// registers. An explicit stack, as in [`Document::images`].
    pub fn heading_slugs(&self) -> HashSet<String> {
        let mut slugs = HashSet::new();
        let mut stack: Vec<&Block> = self.blocks.iter().chain(self.footnotes.iter().flat_map(|f| &f.blocks)).collect();
        while let Some(b) = stack.pop() {
            match b {
                Block::Heading { slug, .. } => {
                    slugs.insert(slug.clone());
                }
                Block::Quote(blocks) => stack.extend(blocks),
                Block::List { items, .. } => stack.extend(items.iter().flat_map(|i| &i.blocks)),
                _ => {}
            }
        }
        slugs
    }

    /// Make the text of the links `dead` marks plain text.
    fn unlink(&mut self, dead: &[bool]) {
        self.each_inlines(|inlines| {
            for i in inlines {
                if let Inline::Text { link, .. } = i
                    && link.is_some_and(|l| dead.get(l).copied().unwrap_or(false))
                {
                    *link = None;
                }
            }
        });
    }

    /// Call `f` on every run of inline content, footnotes included. An explicit stack, as in
    /// [`Document::images`].
    fn each_inlines(&mut self, mut f: impl FnMut(&mut Vec<Inline>)) {
        let mut stack: Vec<&mut Block> =
            self.blocks.iter_mut().chain(self.footnotes.iter_mut().flat_map(|f| &mut f.blocks)).collect();
        while let Some(b) = stack.pop() {
            match b {
                Block::Heading { content, .. } | Block::Paragraph(content) => f(content),
                Block::Quote(blocks) => stack.extend(blocks),
                Block::List { items, .. } => stack.extend(items.iter_mut().flat_map(|i| &mut i.blocks)),
                Block::Table { header, rows, .. } => {
                    header.iter_mut().chain(rows.iter_mut().flatten()).for_each(&mut f)
                }
                Block::Code(_) | Block::Rule => {}
            }
        }
    }

    /// The highest footnote number used, by a note or a reference without one.
    fn last_footnote(&self) -> usize {
        self.footnotes.len() + self.undefined_footnotes.len()
    }
}

/// Number the footnotes of the parts through the whole document, in reading order: the report
/// without its appendix, then the action plan if any, then the report's `appendix` (a range of
/// its blocks, laid out after both parts), then the report's notes no text refers to. Without an
/// appendix that is the parser's numbering with the action plan's first note after the report's
/// last.
pub(crate) fn number_footnotes(report: &mut Document, plan: Option<&mut Document>, appendix: Option<Range<usize>>) {
    let in_plan = plan.as_ref().map_or(0, |p| p.last_footnote());
    let Some(range) = appendix else {
        renumber(plan, |n| n + report.last_footnote());
        return;
    };
    let first = note_refs(report.blocks[..range.start].iter().chain(&report.blocks[range.end..]));
    let later: Vec<usize> = note_refs(report.blocks[range].iter())
        .into_iter()
        .chain(1..=report.last_footnote())
        .filter(|n| !first.contains(n))
        .fold(Vec::new(), |mut order, n| {
            if !order.contains(&n) {
                order.push(n);
            }
            order
        });
    let mut new = vec![0; report.last_footnote() + 1];
    for (k, old) in first.iter().enumerate() {
        new[*old] = k + 1;
    }
    for (k, old) in later.iter().enumerate() {
        new[*old] = first.len() + in_plan + k + 1;
    }
    renumber(Some(report), |n| new[n]);
    renumber(plan, |n| n + first.len());
}

/// Gives the notes of `doc` and the references to them new numbers.
fn renumber(doc: Option<&mut Document>, number: impl Fn(usize) -> usize) {
    let Some(doc) = doc else { return };
    for note in &mut doc.footnotes {
        note.number = number(note.number);
    }
    doc.footnotes.sort_by_key(|note| note.number);
    doc.each_inlines(|inlines| {
        for i in inlines {
            if let Inline::FootnoteRef(n) = i {
                *n = number(*n);
            }
        }
    });
}

/// The notes `blocks` refer to, in the order they are first referred to.
pub(crate) fn note_refs<'a>(blocks: impl DoubleEndedIterator<Item = &'a Block>) -> Vec<usize> {
    let mut order = Vec::new();
    let mut visit = |inlines: &[Inline]| {
        for i in inlines {
            if let Inline::FootnoteRef(n) = i
                && !order.contains(n)
            {
                order.push(*n);
            }
        }
    };
    // Pushed in reverse, so the stack pops in document order.
    let mut stack: Vec<&Block> = blocks.rev().collect();
    while let Some(b) = stack.pop() {
        match b {
            Block::Heading { content, .. } | Block::Paragraph(content) => visit(content),
            Block::Quote(blocks) => stack.extend(blocks.iter().rev()),
            Block::List { items, .. } => stack.extend(items.iter().rev().flat_map(|i| i.blocks.iter().rev())),
            Block::Table { header, rows, .. } => header.iter().chain(rows.iter().flatten()).for_each(|c| visit(c)),
            Block::Code(_) | Block::Rule => {}
        }
    }
    order
}

/// Resolve the in-document links of the parts (the report, then the action plan if any): an
/// anchor that names no heading of its own part but one of another part becomes a
/// [`LinkTarget::PartAnchor`]; one that names no heading at all is made plain text, so it is
/// not drawn as a link. Returns those unresolvable anchors, sorted.
pub(crate) fn link_parts(report: &mut Document, plan: Option<&mut Document>) -> Vec<String> {
    let mut parts: Vec<&mut Document> = std::iter::once(report).chain(plan).collect();
    let slugs: Vec<HashSet<String>> = parts.iter().map(|d| d.heading_slugs()).collect();
    let mut missing = BTreeSet::new();
    for (k, doc) in parts.iter_mut().enumerate() {
        let mut dead = vec![false; doc.links.len()];
        for (i, link) in doc.links.iter_mut().enumerate() {
            if let LinkTarget::Anchor(slug) = link
                && !slugs[k].contains(slug.as_str())
            {
                match slugs.iter().position(|s| s.contains(slug.as_str())) {
                    Some(j) => *link = LinkTarget::PartAnchor(j, std::mem::take(slug)),
                    None => {
                        dead[i] = true;
                        missing.insert(slug.clone());
                    }
                }
            }
        }
        if dead.contains(&true) {
            doc.unlink(&dead);
        }
    }
    missing.into_iter().collect()
}

/// Plain text of inline content (for outline titles, slugs and captions).
pub(crate) fn plain_text(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text { text, .. } => s.push_str(text),
            Inline::Break => s.push(' '),
            Inline::FootnoteRef(_) => {}
            Inline::Image { alt, .. } => s.push_str(alt),
        }
    }
    s
}
