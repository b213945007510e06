//! Pagination. Rows (a line of text, a table row, an image...) are placed top to
//! bottom; a row that does not fit starts a new page. Rows marked
//! `keep_with_next` travel with the row after them (headings, the first and the
//! second-to-last line of a paragraph, table header rows), and a table row that
//! lands on a fresh page brings its table's header with it.

use std::rc::Rc;

use super::super::RenderError;
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
}

/// Page geometry for the flow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub top: f32,
    pub bottom: f32,
}

/// Places rows on pages.
pub(crate) struct Flow {
    pub pages: Vec<Page>,
    frame: Frame,
    y: f32,
    empty: bool,
    pending: Vec<Row>,
    pub dests: Vec<Option<Dest>>,
    max_pages: usize,
    /// Index of the first page of this flow in the final document, for limits.
    page_offset: usize,
}

impl Flow {
    pub fn new(frame: Frame, max_pages: usize, page_offset: usize) -> Flow {
        Flow {
            pages: vec![Page::default()],
            frame,
            y: frame.top,
            empty: true,
            pending: Vec::new(),
            dests: Vec::new(),
            max_pages,
            page_offset,
        }
    }

    pub fn push_all(&mut self, rows: Vec<Row>) -> Result<(), RenderError> {
        for r in rows {
            self.push(r)?;
        }
        Ok(())
    }

    pub fn push(&mut self, row: Row) -> Result<(), RenderError> {
        let keep = row.keep_with_next;
        self.pending.push(row);
        // A run of "keep" rows is bounded so a pathological input cannot hold the
        // whole document in one group.
        if keep && self.pending.len() < 12 {
            return Ok(());
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), RenderError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let group = std::mem::take(&mut self.pending);
        let total: f32 = group.iter().map(|r| r.height + r.space_before).sum::<f32>() - group[0].space_before;
        let capacity = self.frame.bottom - self.frame.top;
        if !self.empty && self.y + group[0].space_before + total > self.frame.bottom && total <= capacity {
            self.new_page()?;
        }
        for row in group {
            self.place(row, true)?;
        }
        Ok(())
    }

    /// End the current page if it has content; the next row starts a new page.
    pub fn break_page(&mut self) -> Result<(), RenderError> {
        self.flush()?;
        if !self.empty {
            self.new_page()?;
        }
        Ok(())
    }

    fn new_page(&mut self) -> Result<(), RenderError> {
        if self.page_offset + self.pages.len() >= self.max_pages {
            return Err(RenderError::TooManyPages { limit: self.max_pages });
        }
        self.pages.push(Page::default());
        self.y = self.frame.top;
        self.empty = true;
        Ok(())
    }

    fn place(&mut self, mut row: Row, with_header: bool) -> Result<(), RenderError> {
        let mut space = if self.empty { 0.0 } else { row.space_before };
        if !self.empty && self.y + space + row.height > self.frame.bottom {
            self.new_page()?;
            space = 0.0;
        }
        if self.empty
            && with_header
            && let Some(header) = row.header.take()
        {
            for h in header.iter() {
                let mut h = h.clone();
                h.header = None;
                self.place(h, false)?;
            }
            space = 0.0;
        }
        let bar_top = self.y;
        let top = self.y + space;
        let page_index = self.pages.len() - 1;
        if let Some(a) = row.anchor {
            if self.dests.len() <= a {
                self.dests.resize(a + 1, None);
            }
            self.dests[a] = Some(Dest { page: page_index, y: top });
        }
        let page = &mut self.pages[page_index];
        for (x, colour) in &row.bars {
            page.items.push(Item::Fill {
                rect: Rect { x: *x, y: bar_top, w: 2.2, h: top + row.height - bar_top },
                colour: *colour,
            });
        }
        for mut item in row.items {
            item.translate(0.0, top);
            page.items.push(item);
        }
        self.y = top + row.height;
        self.empty = false;
        Ok(())
    }

    /// Flush what is pending and hand over the pages and destinations.
    pub fn finish(mut self) -> Result<(Vec<Page>, Vec<Option<Dest>>), RenderError> {
        self.flush()?;
        Ok((self.pages, self.dests))
    }
}
