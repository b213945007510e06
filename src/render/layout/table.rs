//! GFM tables. Column widths come from content, as browsers do for automatic
//! table layout (see [`column_widths`]): every column gets at least its longest
//! word, short columns and a first column of labels their whole text, and the
//! remaining width is shared in proportion to how much more each column would
//! like. A table wider than the measure spreads over the wider block of the page
//! (centred, up to 20 mm from its edges); one whose longest words still do not fit
//! side by side is set in smaller type with tighter padding, and one whose words would
//! still be cut goes on a landscape page of its own, before any word is cut. Cells wrap, take the column's alignment, and the
//! header row is repeated on every page the table continues on; the first two and
//! the last two body rows are kept together, so no page holds a single row of it.

use std::rc::Rc;

use super::super::structure::{Kind, LAYOUT, Scope, Tag, Tagger};
use super::super::tree::{Align, Inline};
use super::blocks::{Ctx, Env, lines_to_rows};
use super::flow::Row;
use super::text::{AlignMode, Atom, TextEngine, TextStyle};
use super::{Item, Rect};

/// Type size (as a share of the table size) and horizontal and vertical cell padding, tried
/// in turn until the table's longest words fit side by side.
const STEPS: [(f32, f32, f32); 4] = [(1.0, 4.0, 3.0), (0.85, 2.5, 2.0), (0.72, 1.5, 1.5), (0.62, 1.0, 1.2)];

/// A table's cells shaped at one step of [`STEPS`].
struct Shaped {
    rows: Vec<Vec<Vec<Atom>>>,
    min: Vec<f32>,
    max: Vec<f32>,
    body_style: TextStyle,
    head_style: TextStyle,
    pad_x: f32,
    pad_y: f32,
}

/// A table's columns: as many as its alignment row, its header or its longest row has.
fn column_count(aligns: &[Align], header: &[Vec<Inline>], body: &[Vec<Vec<Inline>>]) -> usize {
    aligns.len().max(header.len()).max(body.iter().map(Vec::len).max().unwrap_or(0))
}

impl Ctx<'_, '_, '_> {
    /// Whether [`Ctx::table`] puts this table on a landscape page: starting at the text block's
    /// edge, its longest words do not fit side by side even in the smallest type.
    pub fn table_turns(
        &mut self,
        aligns: &[Align],
        header: &[Vec<Inline>],
        body: &[Vec<Vec<Inline>>],
        env: &Env,
    ) -> bool {
        let columns = column_count(aligns, header, body);
        let (text_left, _, wide_width) = self.breakout;
        if columns == 0 || env.x != text_left || self.landscape.is_none() {
            return false;
        }
        let smallest = self.shape_cells(header, body, columns, env, STEPS.len() - 1);
        smallest.min.iter().sum::<f32>() > wide_width.max(env.width)
    }

    /// Every cell shaped in the type and padding of `STEPS[step]`, with each column's narrowest
    /// (its longest word) and widest (its text on one line) width.
    fn shape_cells(
        &mut self,
        header: &[Vec<Inline>],
        body: &[Vec<Vec<Inline>>],
        columns: usize,
        env: &Env,
        step: usize,
    ) -> Shaped {
        let (scale, pad_x, pad_y) = STEPS[step];
        let tenv = Env { size: self.template.sizes.table.min(env.size) * scale, justify: false, ..*env };
        let body_style = self.text_style(&tenv);
        let mut head_style = body_style;
        head_style.bold = true;
        let empty: Vec<Inline> = Vec::new();
        let mut rows = Vec::with_capacity(body.len() + 1);
        let mut min = vec![0.0f32; columns];
        let mut max = vec![0.0f32; columns];
        for (r, row) in std::iter::once(header).chain(body.iter().map(Vec::as_slice)).enumerate() {
            let style = if r == 0 { &head_style } else { &body_style };
            let mut cells = Vec::with_capacity(columns);
            for c in 0..columns {
                let atoms = self.engine.atoms(row.get(c).unwrap_or(&empty), style);
                let (lo, hi) = TextEngine::measure(&atoms);
                min[c] = min[c].max(lo + 2.0 * pad_x);
                max[c] = max[c].max(hi + 2.0 * pad_x);
                cells.push(atoms);
            }
            rows.push(cells);
        }
        Shaped { rows, min, max, body_style, head_style, pad_x, pad_y }
    }

    pub fn table(
        &mut self,
        aligns: &[Align],
        header: &[Vec<Inline>],
        body: &[Vec<Vec<Inline>>],
        env: &Env,
    ) -> Vec<Row> {
        let columns = column_count(aligns, header, body);
        if columns == 0 {
            return Vec::new();
        }
        // A table starting at the text block's edge may spread over the wider block.
        let (text_left, wide_left, wide_width) = self.breakout;
        let wide = if env.x == text_left { wide_width.max(env.width) } else { env.width };
        // Shape every cell once per step, until the longest words fit side by side.
        let mut step = 0;
        let Shaped { rows: shaped_rows, min, max, body_style, head_style, pad_x, pad_y } = loop {
            let shaped = self.shape_cells(header, body, columns, env, step);
            step += 1;
            if step == STEPS.len() || shaped.min.iter().sum::<f32>() <= wide {
                break shaped;
            }
        };
        // Words cut even in the smallest type: the table turns to a landscape page, where
        // it is laid out again (once: there, what does not fit is cut).
        if min.iter().sum::<f32>() > wide
            && env.x == text_left
            && let Some(turned) = self.landscape.take()
        {
            let portrait = std::mem::replace(&mut self.breakout, turned.breakout);
            let mut rows = self.table(aligns, header, body, &Env { x: turned.x, width: turned.width, ..*env });
            self.breakout = portrait;
            self.landscape = Some(turned);
            for row in &mut rows {
                row.landscape = true;
            }
            return rows;
        }
        // Wider than the measure: out of it, centred on the text block.
        let spread = max.iter().sum::<f32>() > env.width && wide > env.width;
        let widths = column_widths(&min, &max, if spread { wide } else { env.width });
        let table_width: f32 = widths.iter().sum();
        let left = if spread { (env.x + (env.width - table_width) / 2.0).max(wide_left) } else { env.x };
        let mut xs = Vec::with_capacity(columns);
        let mut x = left;
        for w in &widths {
            xs.push(x);
            x += w;
        }
        let colours = self.template.colours;

        let table = self.add(Kind::Table);
        let mut out: Vec<Row> = Vec::with_capacity(shaped_rows.len());
        let mut header_rc: Option<Rc<Vec<Row>>> = None;
        let n_rows = shaped_rows.len();
        for (r, cells) in shaped_rows.into_iter().enumerate() {
            let style = if r == 0 { head_style } else { body_style };
            let tr = self.tree.add(table, Kind::TR);
            let mut items = Vec::new();
            let mut height: f32 = 0.0;
            let mut first_baseline = 0.0;
            let mut notes = Vec::new();
            for (c, atoms) in cells.into_iter().enumerate() {
                let align = match aligns.get(c) {
                    Some(Align::Center) => AlignMode::Center,
                    Some(Align::Right) => AlignMode::Right,
                    _ => AlignMode::Left,
                };
                let cell = self.tree.add(tr, if r == 0 { Kind::TH(Scope::Column) } else { Kind::TD });
                let mut tagger = Tagger::new(&mut self.tree, Tag::Node(cell));
                let lines = self.engine.lines(atoms, widths[c] - 2.0 * pad_x, align, &style, &self.links, &mut tagger);
                let rows = lines_to_rows(lines, xs[c] + pad_x);
                let mut y = pad_y;
                for (k, row) in rows.into_iter().enumerate() {
                    if k == 0 && c == 0 {
                        first_baseline = pad_y + row.baseline;
                    }
                    notes.extend(row.notes);
                    for mut it in row.items {
                        it.translate(0.0, y);
                        items.push(it);
                    }
                    y += row.height;
                }
                height = height.max(y + pad_y);
            }
            if r == 0 {
                items.insert(
                    0,
                    Item::Fill {
                        rect: Rect { x: left, y: 0.0, w: table_width, h: height },
                        colour: colours.table_header_background,
                        tag: LAYOUT,
                    },
                );
            }
            items.push(Item::Line {
                x1: left,
                y1: height,
                x2: left + table_width,
                y2: height,
                width: if r == 0 || r + 1 == n_rows { 0.9 } else { 0.4 },
                colour: colours.table_rule,
                tag: LAYOUT,
            });
            // The header, the first body row and the second-to-last travel with the row after them.
            let keep = r == 0 || r == 1 || r + 2 == n_rows;
            let mut row =
                Row { height, items, baseline: first_baseline, keep_with_next: keep, notes, ..Row::default() };
            if r == 0 {
                header_rc = Some(Rc::new(vec![row.clone()]));
                // The top rule belongs to the header so it repeats with it.
                row.items.push(Item::Line {
                    x1: left,
                    y1: 0.0,
                    x2: left + table_width,
                    y2: 0.0,
                    width: 0.9,
                    colour: colours.table_rule,
                    tag: LAYOUT,
                });
                if let Some(h) = header_rc.as_mut().and_then(Rc::get_mut) {
                    h[0] = row.clone();
                }
            } else {
                row.header = header_rc.clone();
            }
            out.push(row);
        }
        out
    }
}

/// Automatic table layout. Every column gets at least its longest word. A column that wants
/// no more than a fair share of the width left (a status, a figure) gets its whole text, and
/// so does a first column up to two fifths of the width: that is a column of labels, and
/// wrapping them saves little room for much reading. The others share the rest by demand.
fn column_widths(min: &[f32], max: &[f32], available: f32) -> Vec<f32> {
    let sum_min: f32 = min.iter().sum();
    let sum_max: f32 = max.iter().sum();
    if sum_max <= available {
        // Natural widths fit: stretch a little towards the full width so short
        // tables are not cramped, but never more than 1.5 times natural.
        let grow = (available / sum_max.max(1.0)).min(1.5);
        return max.iter().map(|w| w * grow).collect();
    }
    if sum_min >= available {
        return min.iter().map(|w| w * available / sum_min.max(1.0)).collect();
    }
    let n = min.len();
    let mut whole = vec![false; n];
    let mut left = available;
    let mut open_min = sum_min;
    loop {
        let share = left / whole.iter().filter(|w| !**w).count().max(1) as f32;
        let mut changed = false;
        for c in 0..n {
            let limit = if c == 0 { share.max(available * 0.4) } else { share };
            // Taken whole only while every other column still gets its longest word.
            if !whole[c] && max[c] <= limit && left - max[c] >= open_min - min[c] {
                whole[c] = true;
                left -= max[c];
                open_min -= min[c];
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let open_max: f32 = (0..n).filter(|&c| !whole[c]).map(|c| max[c]).sum();
    let share = ((left - open_min) / (open_max - open_min).max(1.0e-3)).clamp(0.0, 1.0);
    (0..n).map(|c| if whole[c] { max[c] } else { min[c] + (max[c] - min[c]) * share }).collect()
}
