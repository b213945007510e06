//! Layout: from the document tree to pages of positioned items.
//!
//! Lengths are PDF points (1/72 inch) held in `f32`, with the origin at the
//! top-left corner of the page and y growing downwards, as a reader reads; the
//! PDF writer is the one place that flips the axis. Layout knows fonts and glyphs
//! but nothing of PDF objects, so it can be tested as data.
//!
//! - [`text`] turns inline content into shaped atoms and breaks them into lines;
//! - [`blocks`] turns blocks into rows (a line, a table row, an image...);
//! - [`table`] sizes columns from content and builds table rows;
//! - [`flow`] places rows on pages, keeping headings with what follows and
//!   repeating table headers, and hands each page on as soon as it is finished;
//! - [`document`] assembles cover, contents, parts, footnotes, running header and
//!   footer, and resolves page numbers.
//!
//! The body's pages go to the caller's sink one by one as they are finished (the PDF
//! writer encodes each at once); what needs the whole document (the cover, the contents
//! with their page numbers, the running header and footer with the page total, heading
//! anchors) comes in the [`LaidOut`] returned at the end.
//!
//! Every item carries its [`Tag`]: the element of the structure tree
//! ([`structure`](super::structure)) it is content of, which the block drawing it
//! adds as it goes, or the kind of artifact it is (running header and footer,
//! rules, backgrounds, leaders, a table header repeated on a later page).

mod blocks;
mod document;
mod flow;
mod table;
mod text;

use std::collections::HashMap;

pub(crate) use document::{Input, appendix_range, lay_out};

use super::fonts::FontId;
use super::structure::{Artifact, StructTree, Tag};
use super::template::Rgb;

/// Millimetres, as the template gives margins.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct Mm(pub f32);

impl Mm {
    /// The length in points.
    pub fn pt(self) -> f32 {
        self.0 * 72.0 / 25.4
    }
}

/// A rectangle, top-left origin, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// One glyph placed on a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlacedGlyph {
    pub gid: u16,
    /// Advance used by the layout, in points (kerning and justification included).
    pub advance: f32,
    pub x_offset: f32,
    pub y_offset: f32,
    /// Byte range in [`TextItem::text`] this glyph stands for.
    pub text_start: u32,
    pub text_end: u32,
}

/// A run of glyphs in one face, size and colour, starting at a baseline point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextItem {
    pub x: f32,
    /// Baseline.
    pub y: f32,
    pub font: FontId,
    pub size: f32,
    pub colour: Rgb,
    pub glyphs: Vec<PlacedGlyph>,
    /// The text the glyphs stand for, for text extraction.
    pub text: String,
    pub tag: Tag,
    /// The glyphs (placed left to right) run right to left: the writer draws them from the
    /// right, so the content reads in logical order (a right-to-left atom of a
    /// mixed-direction line).
    pub reversed: bool,
}

/// Where a link goes once laid out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    Uri(String),
    /// A destination by index into [`LaidOut::dests`].
    Dest(usize),
    /// A heading slug, resolved through [`LaidOut::anchors`] when the document is complete.
    Anchor(String),
}

/// The anchor of footnote `n`'s text. Numbers run through the whole document, and heading
/// anchors carry their part's prefix (`p0:`), so the two never collide.
pub(crate) fn note_anchor(n: usize) -> String {
    format!("fn:{n}")
}

/// The anchor of the (first) reference mark of footnote `n`, which the note links back to.
pub(crate) fn note_ref_anchor(n: usize) -> String {
    format!("fnref:{n}")
}

/// Something drawn on a page, with the element of the structure tree it belongs to
/// (for a link, the `Link` element its annotation is part of).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Text(TextItem),
    Fill { rect: Rect, colour: Rgb, tag: Tag },
    Stroke { rect: Rect, colour: Rgb, width: f32, tag: Tag },
    Line { x1: f32, y1: f32, x2: f32, y2: f32, width: f32, colour: Rgb, tag: Tag },
    Image { rect: Rect, image: usize, tag: Tag },
    Link { rect: Rect, target: Target, tag: Tag },
}

impl Item {
    pub fn tag(&self) -> Tag {
        match self {
            Item::Text(t) => t.tag,
            Item::Fill { tag, .. }
            | Item::Stroke { tag, .. }
            | Item::Line { tag, .. }
            | Item::Image { tag, .. }
            | Item::Link { tag, .. } => *tag,
        }
    }

    /// Make drawn content an artifact (a link annotation keeps its element).
    fn make_artifact(&mut self, kind: Artifact) {
        match self {
            Item::Text(TextItem { tag, .. })
            | Item::Fill { tag, .. }
            | Item::Stroke { tag, .. }
            | Item::Line { tag, .. }
            | Item::Image { tag, .. } => *tag = Tag::Artifact(kind),
            Item::Link { .. } => {}
        }
    }

    fn translate(&mut self, dx: f32, dy: f32) {
        match self {
            Item::Text(t) => {
                t.x += dx;
                t.y += dy;
            }
            Item::Fill { rect, .. }
            | Item::Stroke { rect, .. }
            | Item::Image { rect, .. }
            | Item::Link { rect, .. } => {
                rect.x += dx;
                rect.y += dy;
            }
            Item::Line { x1, y1, x2, y2, .. } => {
                *x1 += dx;
                *x2 += dx;
                *y1 += dy;
                *y2 += dy;
            }
        }
    }
}

/// A finished page.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Page {
    pub items: Vec<Item>,
    /// Turned a quarter: the template's page size with width and height swapped (a page of
    /// its own for a table whose words do not fit side by side across the portrait page).
    pub landscape: bool,
}

impl Page {
    /// Width and height in points, for a document of portrait pages `width` × `height`.
    pub fn size(&self, width: f32, height: f32) -> (f32, f32) {
        if self.landscape { (height, width) } else { (width, height) }
    }
}

/// A link or outline destination: a page and a y position on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dest {
    pub page: usize,
    pub y: f32,
}

/// One entry of the PDF outline, in document order; `level` 0 is a part.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutlineEntry {
    pub level: u8,
    pub title: String,
    pub dest: usize,
}

/// What the layout gives at the end, the body's pages having gone to the sink: page
/// numbers count the cover and contents, which come first.
#[derive(Debug, Clone)]
pub(crate) struct LaidOut {
    pub width: f32,
    pub height: f32,
    /// The cover and the contents pages, laid out after the body (the contents need its
    /// page numbers), first in the document.
    pub front: Vec<Page>,
    /// One per page of the document, in order: its running header and footer (none on
    /// the cover), and its orientation.
    pub running: Vec<Page>,
    pub dests: Vec<Dest>,
    pub outline: Vec<OutlineEntry>,
    /// Heading slug (prefixed with its part) to destination, for links whose target is a
    /// [`Target::Anchor`]: a heading may come after the page linking to it.
    pub anchors: HashMap<String, usize>,
    /// The elements the items' tags name.
    pub structure: StructTree,
}

impl LaidOut {
    /// Width and height of page `page`, in points: `width` and `height` swapped on a
    /// landscape page.
    pub fn page_size(&self, page: usize) -> (f32, f32) {
        self.running.get(page).map_or((self.width, self.height), |p| p.size(self.width, self.height))
    }

    /// The destination a link goes to (`None` for an address, or an anchor no heading has).
    pub fn dest(&self, target: &Target) -> Option<&Dest> {
        let index = match target {
            Target::Uri(_) => return None,
            Target::Dest(d) => *d,
            Target::Anchor(a) => *self.anchors.get(a)?,
        };
        self.dests.get(index)
    }
}
