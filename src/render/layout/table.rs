//! GFM tables. Column widths come from content, as browsers do for automatic
//! table layout: every column gets at least its longest word, and the remaining
//! width is shared in proportion to how much more each column would like. Cells
//! wrap, take the column's alignment, and the header row is repeated on every
//! page the table continues on.

use std::rc::Rc;

use super::super::tree::{Align, Inline};
use super::blocks::{Ctx, Env, lines_to_rows};
use super::flow::Row;
use super::text::{AlignMode, TextEngine};
use super::{Item, Rect};

const PAD_X: f32 = 4.0;
const PAD_Y: f32 = 3.0;

impl Ctx<'_, '_, '_> {
    pub fn table(
        &mut self,
        aligns: &[Align],
        header: &[Vec<Inline>],
        body: &[Vec<Vec<Inline>>],
        env: &Env,
    ) -> Vec<Row> {
        let columns = aligns.len().max(header.len()).max(body.iter().map(Vec::len).max().unwrap_or(0));
        if columns == 0 {
            return Vec::new();
        }
        let size = self.template.sizes.table.min(env.size);
        let tenv = Env { size, justify: false, ..*env };
        let body_style = self.text_style(&tenv);
        let mut head_style = body_style;
        head_style.bold = true;

        let empty: Vec<Inline> = Vec::new();
        let cell = |row: &[Vec<Inline>], c: usize| -> usize { if c < row.len() { c } else { usize::MAX } };
        // Shape every cell once; measure for column widths.
        let mut shaped_rows = Vec::with_capacity(body.len() + 1);
        let mut min = vec![0.0f32; columns];
        let mut max = vec![0.0f32; columns];
        for (r, row) in std::iter::once(header).chain(body.iter().map(Vec::as_slice)).enumerate() {
            let style = if r == 0 { &head_style } else { &body_style };
            let mut cells = Vec::with_capacity(columns);
            for c in 0..columns {
                let idx = cell(row, c);
                let content = row.get(idx).unwrap_or(&empty);
                let atoms = self.engine.atoms(content, style);
                let (lo, hi) = TextEngine::measure(&atoms);
                min[c] = min[c].max(lo + 2.0 * PAD_X);
                max[c] = max[c].max(hi + 2.0 * PAD_X);
                cells.push(atoms);
            }
            shaped_rows.push(cells);
        }
        let widths = column_widths(&min, &max, env.width);
        let mut xs = Vec::with_capacity(columns);
        let mut x = env.x;
        for w in &widths {
            xs.push(x);
            x += w;
        }
        let table_width: f32 = widths.iter().sum();
        let colours = self.template.colours;

        let mut out: Vec<Row> = Vec::with_capacity(shaped_rows.len());
        let mut header_rc: Option<Rc<Vec<Row>>> = None;
        let n_rows = shaped_rows.len();
        for (r, cells) in shaped_rows.into_iter().enumerate() {
            let style = if r == 0 { head_style } else { body_style };
            let mut items = Vec::new();
            let mut height: f32 = 0.0;
            let mut first_baseline = 0.0;
            for (c, atoms) in cells.into_iter().enumerate() {
                let align = match aligns.get(c) {
                    Some(Align::Center) => AlignMode::Center,
                    Some(Align::Right) => AlignMode::Right,
                    _ => AlignMode::Left,
                };
                let lines = self.engine.lines(atoms, widths[c] - 2.0 * PAD_X, align, &style, &self.links);
                let rows = lines_to_rows(lines, xs[c] + PAD_X);
                let mut y = PAD_Y;
                for (k, row) in rows.into_iter().enumerate() {
                    if k == 0 && c == 0 {
                        first_baseline = PAD_Y + row.baseline;
                    }
                    for mut it in row.items {
                        it.translate(0.0, y);
                        items.push(it);
                    }
                    y += row.height;
                }
                height = height.max(y + PAD_Y);
            }
            if r == 0 {
                items.insert(
                    0,
                    Item::Fill {
                        rect: Rect { x: env.x, y: 0.0, w: table_width, h: height },
                        colour: colours.table_header_background,
                    },
                );
            }
            items.push(Item::Line {
                x1: env.x,
                y1: height,
                x2: env.x + table_width,
                y2: height,
                width: if r == 0 || r + 1 == n_rows { 0.9 } else { 0.4 },
                colour: colours.table_rule,
            });
            let mut row = Row { height, items, baseline: first_baseline, keep_with_next: r == 0, ..Row::default() };
            if r == 0 {
                header_rc = Some(Rc::new(vec![row.clone()]));
                // The top rule belongs to the header so it repeats with it.
                row.items.push(Item::Line {
                    x1: env.x,
                    y1: 0.0,
                    x2: env.x + table_width,
                    y2: 0.0,
                    width: 0.9,
                    colour: colours.table_rule,
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

/// Automatic table layout: minimum widths always, the rest shared by demand.
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
    let share = (available - sum_min) / (sum_max - sum_min).max(1.0e-3);
    min.iter().zip(max).map(|(lo, hi)| lo + (hi - lo) * share).collect()
}
