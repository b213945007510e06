//! Pagination. Rows (a line of text, a table row, an image...) are placed top to
//! bottom; a row that does not fit starts a new page. Rows marked
//! `keep_with_next` travel with the row after them (headings, the first and the
//! second-to-last line of a paragraph, table header rows), and a table row that
//! lands on a fresh page brings its table's header with it.
//!
//! Footnotes are set at the foot of the page of their first reference, under a
//! short rule: a row fits only if its notes fit with it, so it moves to the next
//! page with them. A note longer than what is left of an otherwise empty page
//! goes on at the foot of the next page, before that page's own notes.
//!
//! A row may ask for a landscape page (a table too wide for the portrait page): the flow
//! turns to a new page for it, in the landscape frame, and back to portrait for the
//! first row that does not.
//!
//! Each page goes to the flow's [`Sink`] as soon as nothing can change it: when the flow
//! turns to the next page (its footnotes set, nothing pending can move back onto it), and the
//! last one at [`Flow::finish`]. Only the page being filled is held, so a long document never
//! has all its pages of glyphs in memory at once. The sink gets the structure tree with the
//! page, which is why the calls that may end a page take it.

use std::collections::{BTreeMap, VecDeque};
use std::ops::RangeInclusive;
use std::rc::Rc;

use super::super::RenderError;
use super::super::structure::{Artifact, LAYOUT, StructTree};
use super::super::template::Rgb;
use super::{Dest, Item, Page, Rect};

/// An unbreakable horizontal slice of content. Item x positions are absolute,
/// y positions are relative to the row's top.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub height: f32,
    /// Space above the row, dropped at the top of a page.
    pub space_before: f32,
    pub items: Vec<Item>,
    pub keep_with_next: bool,
    /// Destination index to record at this row's position.
    pub anchor: Option<usize>,
    /// Vertical bars (block quotes) drawn beside the row: x and colour.
    pub bars: Vec<(f32, Rgb)>,
    /// The header rows of the table this row belongs to.
    pub header: Option<Rc<Vec<Row>>>,
    /// Baseline of the first line, relative to the row top (for list markers).
    pub baseline: f32,
    /// Footnotes referenced in the row, by number.
    pub notes: Vec<usize>,
    /// The row goes on a landscape page.
    pub landscape: bool,
}

/// A footnote ready for the foot of a page.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    /// Its rows; the first carries the note's destination.
    pub rows: Vec<Row>,
    /// The destination recorded at the row of its first reference.
    pub ref_dest: usize,
}

/// Page geometry for the flow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub top: f32,
    pub bottom: f32,
}

/// Where a flow hands each finished page, with the structure tree its tags name (complete
/// for every element the page draws).
pub(crate) type Sink<'s> = &'s mut dyn FnMut(Page, &StructTree) -> Result<(), RenderError>;

/// Places rows on pages.
pub(crate) struct Flow<'s> {
    /// The page being filled.
    page: Page,
    /// Pages handed to the sink so far: the current page's index in this flow.
    handed: usize,
    sink: Sink<'s>,
    /// The frame of the current page, and those of a portrait and a landscape page.
    frame: Frame,
    portrait: Frame,
    landscape: Option<Frame>,
    y: f32,
    empty: bool,
    pending: Vec<Row>,
    dests: Vec<Option<Dest>>,
    max_pages: usize,
    /// Index of the first page of this flow in the final document, for limits.
    page_offset: usize,
    /// Footnotes not placed yet, by number.
    notes: BTreeMap<usize, Note>,
    /// The rule above the footnotes of a page.
    separator: Row,
    /// Footnote rows set at the foot of the current page, and their height with the separator.
    foot: Vec<Row>,
    foot_height: f32,
    /// Footnote rows that did not fit at the foot of their page, for the next ones.
    carry: VecDeque<Row>,
}

impl<'s> Flow<'s> {
    pub fn new(frame: Frame, max_pages: usize, page_offset: usize, sink: Sink<'s>) -> Flow<'s> {
        Flow {
            page: Page::default(),
            handed: 0,
            sink,
            frame,
            portrait: frame,
            landscape: None,
            y: frame.top,
            empty: true,
            pending: Vec::new(),
            dests: Vec::new(),
            max_pages,
            page_offset,
            notes: BTreeMap::new(),
            separator: Row::default(),
            foot: Vec::new(),
            foot_height: 0.0,
            carry: VecDeque::new(),
        }
    }

    /// Rows marked `landscape` go on landscape pages of this frame (without it, on portrait ones).
    pub fn with_landscape(self, frame: Frame) -> Flow<'s> {
        Flow { landscape: Some(frame), ..self }
    }

    /// Footnotes to set at the foot of the page where they are first referenced, under `separator`.
    pub fn add_notes(&mut self, notes: BTreeMap<usize, Note>, separator: Row) {
        self.notes.extend(notes);
        self.separator = separator;
    }

    /// The footnotes numbered in `numbers` that no placed row has referenced, in number order,
    /// handed back to the caller.
    pub fn take_unplaced(&mut self, numbers: RangeInclusive<usize>) -> Vec<(usize, Note)> {
        let taken: Vec<usize> = self.notes.range(numbers).map(|(n, _)| *n).collect();
        taken.into_iter().filter_map(|n| self.notes.remove(&n).map(|note| (n, note))).collect()
    }

    /// Where body text must stop on the current page: above its footnotes.
    fn bottom(&self) -> f32 {
        self.frame.bottom - self.foot_height
    }

    /// Height the unplaced notes referenced by `rows` would add to the foot.
    fn notes_height<'r>(&self, rows: impl IntoIterator<Item = &'r Row>) -> f32 {
        let mut seen = Vec::new();
        let mut h = 0.0;
        for n in rows.into_iter().flat_map(|r| &r.notes) {
            if let Some(note) = self.notes.get(n)
                && !seen.contains(n)
            {
                seen.push(*n);
                h += note.rows.iter().map(|r| r.height + r.space_before).sum::<f32>();
            }
        }
        if h > 0.0 && self.foot.is_empty() { h + self.separator.height } else { h }
    }

    pub fn push_all(&mut self, rows: Vec<Row>, tree: &StructTree) -> Result<(), RenderError> {
        for r in rows {
            self.push(r, tree)?;
        }
        Ok(())
    }

    pub fn push(&mut self, row: Row, tree: &StructTree) -> Result<(), RenderError> {
        let keep = row.keep_with_next;
        self.pending.push(row);
        // A run of "keep" rows is bounded so a pathological input cannot hold the
        // whole document in one group.
        if keep && self.pending.len() < 12 {
            return Ok(());
        }
        self.flush(tree)
    }

    fn flush(&mut self, tree: &StructTree) -> Result<(), RenderError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let group = std::mem::take(&mut self.pending);
        let total: f32 = group.iter().map(|r| r.height + r.space_before).sum::<f32>() - group[0].space_before
            + self.notes_height(&group);
        let capacity = self.frame.bottom - self.frame.top;
        if !self.empty && self.y + group[0].space_before + total > self.bottom() && total <= capacity {
            self.new_page(tree)?;
        }
        for row in group {
            self.place(row, true, tree)?;
        }
        Ok(())
    }

    /// End the current page if it has content; the next row starts a new page.
    pub fn break_page(&mut self, tree: &StructTree) -> Result<(), RenderError> {
        self.flush(tree)?;
        if !self.empty {
            self.new_page(tree)?;
        }
        Ok(())
    }

    /// Hand the current page to the sink, footnotes set, and start the next.
    fn new_page(&mut self, tree: &StructTree) -> Result<(), RenderError> {
        if self.page_offset + self.handed + 1 >= self.max_pages {
            return Err(RenderError::TooManyPages { limit: self.max_pages });
        }
        self.close_page();
        // A table going on over several pages keeps their orientation.
        let landscape = self.page.landscape;
        let done = std::mem::replace(&mut self.page, Page { landscape, ..Page::default() });
        (self.sink)(done, tree)?;
        self.handed += 1;
        self.y = self.frame.top;
        self.empty = true;
        // What the last page could not hold goes first, and at least one row of it.
        while let Some(r) = self.carry.front() {
            let h = self.foot_row_height(r);
            if !self.foot.is_empty() && self.y + self.foot_height + h > self.frame.bottom {
                break;
            }
            let r = self.carry.pop_front().expect("a carried row");
            self.foot_height += h;
            self.foot.push(r);
        }
        Ok(())
    }

    /// Height a row adds to the foot of the current page.
    fn foot_row_height(&self, row: &Row) -> f32 {
        if self.foot.is_empty() { self.separator.height + row.height } else { row.space_before + row.height }
    }

    /// Set the notes of a row placed at `top` at the foot of the page (or carry them on).
    fn attach_notes(&mut self, numbers: &[usize], top: f32) {
        for n in numbers {
            let Some(note) = self.notes.remove(n) else { continue };
            self.record(note.ref_dest, top);
            for r in note.rows {
                let h = self.foot_row_height(&r);
                if self.carry.is_empty() && self.y + self.foot_height + h <= self.frame.bottom {
                    self.foot_height += h;
                    self.foot.push(r);
                } else {
                    self.carry.push_back(r);
                }
            }
        }
    }

    /// Draw the current page's footnotes, their last row on the bottom margin.
    fn close_page(&mut self) {
        if self.foot.is_empty() {
            return;
        }
        let mut y = self.frame.bottom - self.foot_height;
        let separator = self.separator.clone();
        let h = separator.height;
        self.put(separator, y, y);
        y += h;
        for (k, r) in std::mem::take(&mut self.foot).into_iter().enumerate() {
            let top = if k == 0 { y } else { y + r.space_before };
            y = top + r.height;
            self.put(r, top, top);
        }
        self.foot_height = 0.0;
    }

    fn record(&mut self, dest: usize, y: f32) {
        if self.dests.len() <= dest {
            self.dests.resize(dest + 1, None);
        }
        self.dests[dest] = Some(Dest { page: self.handed, y });
    }

    /// Draw a row at `top` on the current page; its bars start at `bar_top`.
    fn put(&mut self, row: Row, top: f32, bar_top: f32) {
        if let Some(a) = row.anchor {
            self.record(a, top);
        }
        let page = &mut self.page;
        for (x, colour) in &row.bars {
            page.items.push(Item::Fill {
                rect: Rect { x: *x, y: bar_top, w: 2.2, h: top + row.height - bar_top },
                colour: *colour,
                tag: LAYOUT,
            });
        }
        for mut item in row.items {
            item.translate(0.0, top);
            page.items.push(item);
        }
    }

    /// Turn to a page of the row's orientation when the current page has the other one: a
    /// new page, unless the current one is still empty.
    fn turn(&mut self, landscape: bool, tree: &StructTree) -> Result<(), RenderError> {
        let frame = if landscape { self.landscape } else { Some(self.portrait) };
        let Some(frame) = frame.filter(|_| self.page.landscape != landscape) else { return Ok(()) };
        if !self.empty {
            self.new_page(tree)?;
        }
        self.frame = frame;
        self.y = frame.top;
        self.page.landscape = landscape;
        Ok(())
    }

    fn place(&mut self, mut row: Row, with_header: bool, tree: &StructTree) -> Result<(), RenderError> {
        self.turn(row.landscape, tree)?;
        let mut space = if self.empty { 0.0 } else { row.space_before };
        let crowded = !self.empty || !self.foot.is_empty();
        if crowded && self.y + space + row.height + self.notes_height([&row]) > self.bottom() {
            self.new_page(tree)?;
            space = 0.0;
        }
        if self.empty
            && with_header
            && let Some(header) = row.header.take()
        {
            for h in header.iter() {
                let mut h = h.clone();
                h.header = None;
                h.landscape = row.landscape;
                // Read once, where the table starts: repeated, it is pagination.
                for item in &mut h.items {
                    item.make_artifact(Artifact::Pagination);
                }
                self.place(h, false, tree)?;
            }
            space = 0.0;
        }
        let bar_top = self.y;
        let top = self.y + space;
        let notes = std::mem::take(&mut row.notes);
        self.y = top + row.height;
        self.empty = false;
        self.put(row, top, bar_top);
        self.attach_notes(&notes, top);
        Ok(())
    }

    /// Flush what is pending, hand over the last pages, and return the destinations (pages
    /// counted from this flow's first).
    pub fn finish(mut self, tree: &StructTree) -> Result<Vec<Option<Dest>>, RenderError> {
        self.flush(tree)?;
        while !self.carry.is_empty() {
            self.new_page(tree)?;
        }
        self.close_page();
        (self.sink)(self.page, tree)?;
        Ok(self.dests)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn rows_for_a_landscape_page_turn_to_pages_of_their_own_and_back() {
        let portrait = Frame { top: 50.0, bottom: 800.0 };
        let mut pages = Vec::new();
        let mut sink = |page: Page, _: &StructTree| {
            pages.push(page.landscape);
            Ok(())
        };
        let tree = StructTree::new("en");
        let mut flow = Flow::new(portrait, 100, 0, &mut sink).with_landscape(Frame { top: 50.0, bottom: 550.0 });
        let row = |landscape| Row { height: 100.0, landscape, ..Row::default() };
        // One portrait row, eight landscape ones (five fit the turned frame), one portrait.
        let rows = std::iter::once(false).chain([true; 8]).chain(std::iter::once(false));
        flow.push_all(rows.map(row).collect(), &tree).expect("within the page limit");
        flow.finish(&tree).expect("within the page limit");
        assert_eq!(pages, [false, true, true, false]);
    }

    #[test]
    fn each_page_goes_to_the_sink_once_nothing_can_change_it() {
        let frame = Frame { top: 0.0, bottom: 1000.0 };
        // The rows on each page handed over, as the rows' heights (each row's own).
        let handed: RefCell<Vec<Vec<f32>>> = RefCell::new(Vec::new());
        let mut sink = |page: Page, _: &StructTree| {
            let heights = page
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Fill { rect, .. } => Some(rect.h),
                    _ => None,
                })
                .collect();
            handed.borrow_mut().push(heights);
            Ok(())
        };
        let tree = StructTree::new("en");
        let mut flow = Flow::new(frame, 100, 0, &mut sink);
        // Rows of 300 pt (a marker fill as tall as the row): three to a page, ten in all.
        let row = |k: usize| Row {
            height: 300.0,
            items: vec![Item::Fill {
                rect: Rect { x: 0.0, y: 0.0, w: 1.0, h: 300.0 + k as f32 },
                colour: Rgb(0.0, 0.0, 0.0),
                tag: LAYOUT,
            }],
            ..Row::default()
        };
        for k in 0..4 {
            flow.push(row(k), &tree).expect("within the page limit");
        }
        // The fourth row started page 2: page 1 is complete and already handed over, the
        // rows still to come not laid out.
        assert_eq!(*handed.borrow(), [vec![300.0, 301.0, 302.0]]);
        for k in 4..10 {
            flow.push(row(k), &tree).expect("within the page limit");
        }
        assert_eq!(handed.borrow().len(), 3, "the fourth page is still being filled");
        let dests = flow.finish(&tree).expect("within the page limit");
        assert!(dests.is_empty());
        let handed = handed.into_inner();
        assert_eq!(handed.len(), 4);
        assert_eq!(handed[3], [309.0]);
    }
}
