//! CommonMark + GFM (tables, footnotes, strikethrough, task lists, smart
//! punctuation) to the document tree. The only file that imports pulldown-cmark.
//!
//! Raw HTML is data: HTML blocks become literal code blocks and inline HTML
//! becomes literal text. Links keep only http(s), mailto and in-document targets;
//! anything else (javascript:, file:, relative paths) is rendered as plain text.
//! C0 control characters other than tab and line ends are dropped before reading.
//! Nesting depth, table size and the work budget (blocks, headings, links, inlines) are
//! checked here, while building, so the later stages never see an input outside
//! the limits and a hopeless input is refused before any layout.
//!
//! The template check (`check.rs`) reads Markdown through [`scan`], which
//! runs this same builder (so the check and the renderer accept and refuse the
//! same inputs) and, in the same pass, notes where headings, images, raw HTML and
//! links sit in the source. [`outline`] notes headings only, for splitting a text
//! into sections.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use pulldown_cmark::{Alignment, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

use super::tree::{Align, Block, Document, Footnote, Inline, LinkTarget, ListItem, Style, plain_text};
use super::{Limits, RenderError};

/// Parse one Markdown input.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Document, RenderError> {
    check_size(text, limits)?;
    let text = without_controls(text);
    let mut b = Builder::new(limits);
    for event in Parser::new_ext(&text, options()) {
        b.event(event)?;
    }
    Ok(b.finish())
}

/// The text without C0 control characters other than tab, line feed and carriage
/// return: nothing a reader can see, and nothing that belongs in a PDF's text.
fn without_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c < ' ' && !matches!(c, '\t' | '\n' | '\r');
    if text.contains(control) { text.replace(control, "").into() } else { text.into() }
}

/// The syntax every reading of Markdown accepts, so the renderer, the check and
/// the outline see the same document.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
}

fn check_size(text: &str, limits: &Limits) -> Result<(), RenderError> {
    if text.len() > limits.max_markdown_bytes {
        return Err(RenderError::InputTooLarge {
            what: "Markdown input",
            limit: limits.max_markdown_bytes,
            actual: text.len(),
        });
    }
    Ok(())
}

/// A heading outside any block quote, list or footnote: one that opens a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadingMark {
    pub level: u8,
    /// The heading's plain text, trimmed.
    pub text: String,
    /// Source bytes of the heading, from its marker (or first line, for a setext
    /// heading) to the end of its last line.
    pub range: Range<usize>,
}

/// What the template check reports on, each with the byte offset where it starts.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    /// Headings that open sections, in source order.
    pub headings: Vec<HeadingMark>,
    /// Image references the renderer resolves, as written.
    pub images: Vec<(String, usize)>,
    /// Those of them without alternative text: decorative in the PDF (an artifact).
    pub undescribed_images: Vec<(String, usize)>,
    /// Raw HTML blocks and inline tags, which are shown as text.
    pub html: Vec<Range<usize>>,
    /// Links rendered as plain text because of their target, as written.
    pub inert_links: Vec<(String, usize)>,
    /// In-document links: the target as written and the heading slug it needs.
    pub anchor_links: Vec<(String, String, usize)>,
    /// Whether there is any text, code, HTML or image outside headings.
    pub has_content: bool,
    /// Tables, with their cells as plain text.
    pub tables: Vec<TableMark>,
}

/// A table as the template check reads it: the plain text of its cells.
#[derive(Debug, Default)]
pub(crate) struct TableMark {
    /// Byte offset where the table starts.
    pub start: usize,
    pub header: Vec<String>,
    /// Each body row's cells, with the byte offset where the row starts.
    pub rows: Vec<(Vec<String>, usize)>,
}

/// One Markdown input read for the template check.
#[derive(Debug)]
pub(crate) struct Scan {
    pub marks: Marks,
    /// Slugs of every heading, which in-document links can reach.
    pub anchors: HashSet<String>,
}

/// Why [`scan`] refused an input, and the byte offset of the construct that broke the limit.
#[derive(Debug)]
pub(crate) struct ScanError {
    pub error: RenderError,
    pub offset: usize,
}

/// Read one input exactly as [`parse`] does, enforcing the same limits, and note
/// what the template check needs in the same pass.
pub(crate) fn scan(text: &str, limits: &Limits) -> Result<Scan, ScanError> {
    check_size(text, limits).map_err(|error| ScanError { error, offset: 0 })?;
    let mut builder = Builder::new(limits);
    let mut observer = Observer::default();
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        let offset = range.start;
        observer.see(&event, range);
        builder.event(event).map_err(|error| ScanError { error, offset })?;
    }
    let anchors = builder.finish().heading_slugs();
    Ok(Scan { marks: observer.marks, anchors })
}

/// The headings that open sections, in source order. Builds no document and
/// applies no limits: the work is linear in the input whatever its shape.
pub(crate) fn outline(text: &str) -> Vec<HeadingMark> {
    let mut observer = Observer::default();
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        observer.see(&event, range);
    }
    observer.marks.headings
}

/// A block of a document as plain text: a paragraph, a heading, a list item's own text or a
/// table cell, for the web pages' abstracts and search snippets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextBlock {
    pub heading: bool,
    pub text: String,
}

/// The text of `text`'s blocks in reading order, without markup: inline code and link texts
/// kept, images by their alternative text, HTML and footnote references dropped, soft breaks as
/// spaces. Builds no document and applies no limits: linear in the input.
pub fn text_blocks(text: &str) -> Vec<TextBlock> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut heading = false;
    let flush = |current: &mut String, heading: bool, out: &mut Vec<TextBlock>| {
        let text = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            out.push(TextBlock { heading, text });
        }
        current.clear();
    };
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::Start(Tag::Heading { .. }) => {
                flush(&mut current, heading, &mut out);
                heading = true;
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut current, heading, &mut out);
                heading = false;
            }
            Event::Start(Tag::Paragraph | Tag::Item | Tag::TableCell | Tag::CodeBlock(_))
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell | TagEnd::CodeBlock) => {
                flush(&mut current, heading, &mut out);
            }
            _ => {}
        }
    }
    flush(&mut current, heading, &mut out);
    out
}

/// A heading being read by the [`Observer`].
struct OpenHeading {
    level: u8,
    text: String,
    range: Range<usize>,
    top: bool,
}

/// Notes positions while the events go by; builds nothing.
#[derive(Default)]
struct Observer {
    marks: Marks,
    /// Block quotes, lists and footnote definitions currently open.
    containers: usize,
    heading: Option<OpenHeading>,
    /// Images currently open: the builder keeps only the outermost one.
    images: usize,
    /// The alternative text of the image being read.
    alt: String,
    /// The table cell being read, if any.
    cell: Option<String>,
    /// The table row being read: its cells and where it starts.
    row: Option<(Vec<String>, usize)>,
}

impl Observer {
    fn see(&mut self, event: &Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.heading = Some(OpenHeading {
                    level: heading_level(*level),
                    text: String::new(),
                    range,
                    top: self.containers == 0,
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = self.heading.take()
                    && h.top
                {
                    let text = h.text.trim().to_string();
                    self.marks.headings.push(HeadingMark { level: h.level, text, range: h.range });
                }
            }
            Event::Start(Tag::BlockQuote(_) | Tag::List(_) | Tag::FootnoteDefinition(_)) => self.containers += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::FootnoteDefinition) => {
                self.containers = self.containers.saturating_sub(1)
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                if self.images == 0 {
                    self.marks.images.push((dest_url.to_string(), range.start));
                    self.content();
                    self.alt.clear();
                }
                self.images += 1;
            }
            Event::End(TagEnd::Image) => {
                self.images = self.images.saturating_sub(1);
                if self.images == 0
                    && self.alt.trim().is_empty()
                    && let Some(image) = self.marks.images.last()
                {
                    self.marks.undescribed_images.push(image.clone());
                }
            }
            Event::Start(Tag::Link { link_type, dest_url, .. }) => {
                match link_target(&link_dest(*link_type, dest_url)) {
                    None => self.marks.inert_links.push((dest_url.to_string(), range.start)),
                    Some(LinkTarget::Anchor(slug)) => {
                        self.marks.anchor_links.push((dest_url.to_string(), slug, range.start))
                    }
                    Some(LinkTarget::Uri(_) | LinkTarget::PartAnchor(..)) => {}
                }
            }
            Event::Start(Tag::HtmlBlock) => {
                self.marks.html.push(range);
                self.content();
            }
            Event::InlineHtml(t) => {
                self.marks.html.push(range);
                self.text(t);
            }
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) | Event::Html(t) => {
                self.text(t)
            }
            Event::SoftBreak | Event::HardBreak => self.text(" "),
            Event::FootnoteReference(_) => self.content(),
            Event::Start(Tag::Table(_)) => {
                self.marks.tables.push(TableMark { start: range.start, ..TableMark::default() })
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => self.row = Some((Vec::new(), range.start)),
            Event::Start(Tag::TableCell) => self.cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                if let (Some(cell), Some((cells, _))) = (self.cell.take(), self.row.as_mut()) {
                    cells.push(cell.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            Event::End(end @ (TagEnd::TableHead | TagEnd::TableRow)) => {
                if let (Some((cells, start)), Some(table)) = (self.row.take(), self.marks.tables.last_mut()) {
                    match end {
                        TagEnd::TableHead => table.header = cells,
                        _ => table.rows.push((cells, start)),
                    }
                }
            }
            _ => {}
        }
    }

    /// Text goes to the heading being read (as [`plain_text`] would give it), or
    /// counts as content.
    fn text(&mut self, t: &str) {
        if let Some(cell) = &mut self.cell {
            cell.push_str(t);
        }
        if self.images > 0 {
            self.alt.push_str(t);
        }
        match &mut self.heading {
            Some(h) => h.text.push_str(t),
            None if !t.trim().is_empty() => self.marks.has_content = true,
            None => {}
        }
    }

    fn content(&mut self) {
        if self.heading.is_none() {
            self.marks.has_content = true;
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// An element being built.
enum Open {
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<ListItem>,
    },
    Item {
        task: Option<bool>,
        blocks: Vec<Block>,
    },
    Footnote {
        label: String,
        blocks: Vec<Block>,
    },
    /// `implicit` marks the paragraph opened for the text of a tight list item.
    Paragraph {
        inlines: Vec<Inline>,
        implicit: bool,
    },
    Heading {
        level: u8,
        inlines: Vec<Inline>,
    },
    Table {
        aligns: Vec<Align>,
        header: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
        cells: usize,
    },
    Row {
        cells: Vec<Vec<Inline>>,
        head: bool,
    },
    Cell(Vec<Inline>),
    Code(String),
    Image {
        src: String,
        alt: String,
    },
}

struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Open>,
    doc: Document,
    depth: usize,
    strong: u32,
    emphasis: u32,
    strike: u32,
    links: Vec<Option<usize>>,
    footnote_numbers: HashMap<String, usize>,
    footnote_defs: HashMap<String, Vec<Block>>,
    slugs: HashMap<String, usize>,
    /// The work budget spent so far: blocks, headings and links ([`Limits::max_blocks`]...).
    blocks: usize,
    headings: usize,
    link_count: usize,
    inlines: usize,
    /// A budget overrun found where no error can be returned ([`Builder::push_block`]), handed
    /// back by [`Builder::event`].
    over: Option<RenderError>,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            doc: Document::default(),
            depth: 0,
            strong: 0,
            emphasis: 0,
            strike: 0,
            links: Vec::new(),
            footnote_numbers: HashMap::new(),
            footnote_defs: HashMap::new(),
            slugs: HashMap::new(),
            blocks: 0,
            headings: 0,
            link_count: 0,
            inlines: 0,
            over: None,
        }
    }

    /// Counts one more of a budgeted item; past `limit`, the error naming it.
    fn spend(
        count: &mut usize,
        limit: usize,
        items: &'static str,
        limit_name: &'static str,
    ) -> Result<(), RenderError> {
        *count += 1;
        if *count > limit {
            return Err(RenderError::TooMuchContent { what: "Markdown input", items, limit, limit_name });
        }
        Ok(())
    }

    fn style(&self, code: bool) -> Style {
        Style { strong: self.strong > 0, emphasis: self.emphasis > 0, strike: self.strike > 0, code }
    }

    fn enter_container(&mut self, open: Open) -> Result<(), RenderError> {
        self.close_implicit_paragraph();
        self.depth += 1;
        if self.depth > self.limits.max_nesting_depth {
            return Err(RenderError::NestingTooDeep {
                what: "Markdown input",
                limit: self.limits.max_nesting_depth,
                depth: self.depth,
            });
        }
        self.stack.push(open);
        Ok(())
    }

    fn close_implicit_paragraph(&mut self) {
        if let Some(Open::Paragraph { implicit: true, .. }) = self.stack.last()
            && let Some(Open::Paragraph { inlines, .. }) = self.stack.pop()
        {
            self.push_block(Block::Paragraph(inlines));
        }
    }

    /// Append a finished block to the innermost block container.
    fn push_block(&mut self, block: Block) {
        if let Err(e) = Self::spend(&mut self.blocks, self.limits.max_blocks, "blocks", "max_blocks") {
            self.over.get_or_insert(e);
            return;
        }
        for open in self.stack.iter_mut().rev() {
            match open {
                Open::Quote(blocks) | Open::Item { blocks, .. } | Open::Footnote { blocks, .. } => {
                    blocks.push(block);
                    return;
                }
                Open::List { items, .. } => {
                    // A block directly in a list (not in an item) cannot come from
                    // the parser; keep it rather than lose it.
                    items.push(ListItem { task: None, blocks: vec![block] });
                    return;
                }
                _ => {}
            }
        }
        self.doc.blocks.push(block);
    }

    /// The inline list text should go to, opening an implicit paragraph if needed.
    fn inline_target(&mut self) -> Option<&mut Vec<Inline>> {
        let needs_paragraph = !matches!(
            self.stack.last(),
            Some(Open::Paragraph { .. } | Open::Heading { .. } | Open::Cell(_) | Open::Image { .. })
        );
        if needs_paragraph {
            if matches!(self.stack.last(), Some(Open::Table { .. } | Open::Row { .. } | Open::Code(_))) {
                return None;
            }
            self.stack.push(Open::Paragraph { inlines: Vec::new(), implicit: true });
        }
        match self.stack.last_mut() {
            Some(Open::Paragraph { inlines, .. } | Open::Heading { inlines, .. } | Open::Cell(inlines)) => {
                Some(inlines)
            }
            _ => None,
        }
    }

    fn push_text(&mut self, text: &str, code: bool) {
        if let Some(Open::Image { alt, .. }) = self.stack.last_mut() {
            alt.push_str(text);
            return;
        }
        if let Some(Open::Code(buf)) = self.stack.last_mut() {
            buf.push_str(text);
            return;
        }
        let style = self.style(code);
        let link = self.links.last().copied().flatten();
        if let Some(inlines) = self.inline_target() {
            if let Some(Inline::Text { text: prev, style: s, link: l }) = inlines.last_mut()
                && *s == style
                && *l == link
            {
                prev.push_str(text);
                return;
            }
            inlines.push(Inline::Text { text: text.to_string(), style, link });
            self.spend_inline();
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        if let Some(inlines) = self.inline_target() {
            inlines.push(inline);
            self.spend_inline();
        }
    }

    /// Counts one more inline item against [`Limits::max_inlines`].
    fn spend_inline(&mut self) {
        if let Err(e) = Self::spend(&mut self.inlines, self.limits.max_inlines, "inline items", "max_inlines") {
            self.over.get_or_insert(e);
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), RenderError> {
        self.read(event)?;
        match self.over.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn read(&mut self, event: Event<'_>) -> Result<(), RenderError> {
        match event {
            Event::Start(tag) => self.start(tag)?,
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.push_text(&t, false),
            Event::Code(t) => self.push_text(&t, true),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_text(&t, true),
            Event::Html(t) => {
                if matches!(self.stack.last(), Some(Open::Code(_))) {
                    self.push_text(&t, false);
                } else {
                    self.push_block(Block::Code(t.to_string()));
                }
            }
            Event::InlineHtml(t) => self.push_text(&t, false),
            Event::FootnoteReference(label) => {
                let next = self.footnote_numbers.len() + 1;
                let n = *self.footnote_numbers.entry(label.to_string()).or_insert(next);
                self.push_inline(Inline::FootnoteRef(n));
            }
            Event::SoftBreak => self.push_text(" ", false),
            Event::HardBreak => self.push_inline(Inline::Break),
            Event::Rule => {
                self.close_implicit_paragraph();
                self.push_block(Block::Rule);
            }
            Event::TaskListMarker(checked) => {
                for open in self.stack.iter_mut().rev() {
                    if let Open::Item { task, .. } = open {
                        *task = Some(checked);
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag<'_>) -> Result<(), RenderError> {
        match tag {
            Tag::Paragraph => {
                self.close_implicit_paragraph();
                self.stack.push(Open::Paragraph { inlines: Vec::new(), implicit: false });
            }
            Tag::Heading { level, .. } => {
                Self::spend(&mut self.headings, self.limits.max_headings, "headings", "max_headings")?;
                self.close_implicit_paragraph();
                self.stack.push(Open::Heading { level: heading_level(level), inlines: Vec::new() });
            }
            Tag::BlockQuote(_) => self.enter_container(Open::Quote(Vec::new()))?,
            // The info string is not shown: indented and fenced code look alike.
            Tag::CodeBlock(_) => {
                self.close_implicit_paragraph();
                self.stack.push(Open::Code(String::new()));
            }
            Tag::HtmlBlock => {
                self.close_implicit_paragraph();
                self.stack.push(Open::Code(String::new()));
            }
            Tag::List(start) => self.enter_container(Open::List { start, items: Vec::new() })?,
            Tag::Item => {
                self.close_implicit_paragraph();
                self.stack.push(Open::Item { task: None, blocks: Vec::new() });
            }
            Tag::FootnoteDefinition(label) => {
                self.enter_container(Open::Footnote { label: label.to_string(), blocks: Vec::new() })?
            }
            Tag::Table(aligns) => {
                self.close_implicit_paragraph();
                let columns = aligns.len();
                if columns > self.limits.max_table_columns {
                    return Err(self.table_error(columns, None));
                }
                self.stack.push(Open::Table {
                    aligns: aligns
                        .iter()
                        .map(|a| match a {
                            Alignment::Center => Align::Center,
                            Alignment::Right => Align::Right,
                            Alignment::None | Alignment::Left => Align::Left,
                        })
                        .collect(),
                    header: Vec::new(),
                    rows: Vec::new(),
                    cells: 0,
                });
            }
            Tag::TableHead => self.stack.push(Open::Row { cells: Vec::new(), head: true }),
            Tag::TableRow => self.stack.push(Open::Row { cells: Vec::new(), head: false }),
            Tag::TableCell => {
                let mut over = None;
                for open in self.stack.iter_mut().rev() {
                    if let Open::Table { aligns, cells, .. } = open {
                        *cells += 1;
                        if *cells > self.limits.max_table_cells {
                            over = Some((aligns.len(), *cells));
                        }
                        break;
                    }
                }
                if let Some((columns, cells)) = over {
                    return Err(self.table_error(columns, Some(cells)));
                }
                // A cell is laid out like a small block: it counts against the blocks' budget,
                // which bounds the cells of all tables together.
                Self::spend(&mut self.blocks, self.limits.max_blocks, "blocks", "max_blocks")?;
                self.stack.push(Open::Cell(Vec::new()));
            }
            Tag::Emphasis => self.emphasis += 1,
            Tag::Strong => self.strong += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { link_type, dest_url, .. } => {
                Self::spend(&mut self.link_count, self.limits.max_links, "links", "max_links")?;
                let dest_url = link_dest(link_type, &dest_url);
                let target = link_target(&dest_url);
                let idx = match target {
                    Some(t) => {
                        self.doc.links.push(t);
                        Some(self.doc.links.len() - 1)
                    }
                    None => {
                        self.doc.dropped_links.push(dest_url.to_string());
                        None
                    }
                };
                self.links.push(idx);
            }
            Tag::Image { dest_url, .. } => {
                if self.inline_target().is_some() {
                    self.stack.push(Open::Image { src: dest_url.to_string(), alt: String::new() });
                }
            }
            // Not enabled in the options; listed so a future option cannot slip
            // content through unseen.
            Tag::MetadataBlock(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript => {}
        }
        Ok(())
    }

    fn table_error(&self, columns: usize, cells: Option<usize>) -> RenderError {
        RenderError::TableTooLarge {
            columns,
            cells,
            max_columns: self.limits.max_table_columns,
            max_cells: self.limits.max_table_cells,
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                self.links.pop();
            }
            TagEnd::Item => {
                self.close_implicit_paragraph();
                if let Some(Open::Item { task, blocks }) = self.stack.pop()
                    && let Some(Open::List { items, .. }) = self.stack.last_mut()
                {
                    items.push(ListItem { task, blocks });
                }
            }
            TagEnd::List(_) | TagEnd::BlockQuote(_) | TagEnd::FootnoteDefinition => {
                self.close_implicit_paragraph();
                self.depth = self.depth.saturating_sub(1);
                match self.stack.pop() {
                    Some(Open::List { start, items }) => self.push_block(Block::List { start, items }),
                    Some(Open::Quote(blocks)) => self.push_block(Block::Quote(blocks)),
                    Some(Open::Footnote { label, blocks }) => {
                        self.footnote_defs.entry(label).or_insert(blocks);
                    }
                    Some(other) => self.stack.push(other),
                    None => {}
                }
            }
            TagEnd::Paragraph => {
                if let Some(Open::Paragraph { inlines, .. }) = self.stack.pop() {
                    self.push_block(Block::Paragraph(inlines));
                }
            }
            TagEnd::Heading(_) => {
                if let Some(Open::Heading { level, inlines }) = self.stack.pop() {
                    let slug = self.unique_slug(&plain_text(&inlines));
                    self.push_block(Block::Heading { level, content: inlines, slug });
                }
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock => {
                if let Some(Open::Code(text)) = self.stack.pop() {
                    self.push_block(Block::Code(text));
                }
            }
            TagEnd::TableCell => {
                if let Some(Open::Cell(inlines)) = self.stack.pop()
                    && let Some(Open::Row { cells, .. }) = self.stack.last_mut()
                {
                    cells.push(inlines);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(Open::Row { cells, head }) = self.stack.pop()
                    && let Some(Open::Table { header, rows, .. }) = self.stack.last_mut()
                {
                    if head {
                        *header = cells;
                    } else {
                        rows.push(cells);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(Open::Table { aligns, header, rows, .. }) = self.stack.pop() {
                    self.push_block(Block::Table { aligns, header, rows });
                }
            }
            TagEnd::Image => {
                if let Some(Open::Image { src, alt }) = self.stack.pop() {
                    self.push_inline(Inline::Image { src, alt });
                }
            }
            TagEnd::MetadataBlock(_)
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript => {}
        }
    }

    fn unique_slug(&mut self, text: &str) -> String {
        let base = slugify(text);
        let n = self.slugs.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}-{}", *n - 1) }
    }

    fn finish(mut self) -> Document {
        // Close whatever an unterminated input left open, innermost first.
        while let Some(open) = self.stack.pop() {
            match open {
                Open::Paragraph { inlines, .. } | Open::Heading { inlines, .. } | Open::Cell(inlines) => {
                    self.push_block(Block::Paragraph(inlines))
                }
                Open::Quote(blocks) | Open::Item { blocks, .. } | Open::Footnote { blocks, .. } => {
                    self.push_block(Block::Quote(blocks))
                }
                Open::List { start, items } => self.push_block(Block::List { start, items }),
                Open::Code(text) => self.push_block(Block::Code(text)),
                Open::Table { aligns, header, rows, .. } => self.push_block(Block::Table { aligns, header, rows }),
                Open::Row { .. } | Open::Image { .. } => {}
            }
        }
        let mut numbered: Vec<(usize, String)> = self.footnote_numbers.iter().map(|(l, n)| (*n, l.clone())).collect();
        numbered.sort();
        let mut next = numbered.len() + 1;
        for (n, label) in numbered {
            match self.footnote_defs.remove(&label) {
                Some(blocks) => self.doc.footnotes.push(Footnote { number: n, blocks }),
                None => self.doc.undefined_footnotes.push(label),
            }
        }
        // Definitions nobody references still carry text the author wrote.
        let mut unreferenced: Vec<(String, Vec<Block>)> = self.footnote_defs.drain().collect();
        unreferenced.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, blocks) in unreferenced {
            self.doc.footnotes.push(Footnote { number: next, blocks });
            next += 1;
        }
        self.doc
    }
}

/// The destination a link means: an e-mail autolink (`<name@example.org>`) comes
/// from the parser without its `mailto:`.
fn link_dest<'a>(link_type: LinkType, dest_url: &'a str) -> Cow<'a, str> {
    if link_type == LinkType::Email && !dest_url.trim().to_ascii_lowercase().starts_with("mailto:") {
        Cow::Owned(format!("mailto:{}", dest_url.trim()))
    } else {
        Cow::Borrowed(dest_url)
    }
}

/// Where a link may go: http(s) and mailto URIs and headings of the document.
/// Anything else (`None`) is rendered as plain text, and the check warns about it.
fn link_target(dest: &str) -> Option<LinkTarget> {
    let lower = dest.trim().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:") {
        Some(LinkTarget::Uri(dest.trim().to_string()))
    } else {
        dest.strip_prefix('#').map(|a| LinkTarget::Anchor(slugify(a)))
    }
}

/// GitHub-style slug: lower case, letters and digits kept, spaces to hyphens.
pub(crate) fn slugify(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if c == ' ' || c == '-' || c == '_' {
            s.push('-');
        }
    }
    s
}
