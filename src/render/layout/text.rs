//! Inline content to lines. Text is cut into atoms (words, or the pieces of a word
//! around a hyphen or between CJK characters), each shaped once; lines are then
//! chosen by minimising the total badness of the paragraph (an optimal-fit
//! breaker in the spirit of Knuth and Plass, without hyphenation), so no line is
//! overfull and loose lines are rare. A word wider than the line (a long URL or
//! identifier) is cut at a character boundary, preferably after `/`, `.`, `-` or
//! `_`, and never drawn past the margin.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::fonts::{FontId, FontSet, REGULAR};
use super::super::shaping::{PLACEHOLDER_EM, Shaped, Shaper};
use super::super::template::Rgb;
use super::super::tree::{Inline, LinkTarget};
use super::{Item, PlacedGlyph, Rect, Target, TextItem};

/// Paragraph-level text settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextStyle {
    pub size: f32,
    pub line_height: f32,
    pub colour: Rgb,
    pub link_colour: Rgb,
    pub code_background: Rgb,
    pub placeholder: Rgb,
    pub bold: bool,
    pub italic: bool,
    /// Set for code blocks: the whole paragraph in the monospace face.
    pub mono: bool,
}

/// Horizontal alignment of lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlignMode {
    Justify,
    Left,
    Center,
    Right,
}

/// A shaped piece of inline content that is never broken inside.
#[derive(Debug, Clone)]
pub(crate) struct Atom {
    shaped: Rc<Shaped>,
    font: FontId,
    size: f32,
    colour: Rgb,
    rise: f32,
    strike: bool,
    code: bool,
    link: Option<usize>,
    /// Width in points.
    width: f32,
    /// Width of the space after the atom, 0 if none.
    space: f32,
    space_gid: u16,
    /// A line may end after this atom.
    breakable: bool,
    /// The line must end after this atom.
    hard_break: bool,
}

/// One laid-out line; items are relative to the line's top-left corner.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub height: f32,
    pub baseline: f32,
    pub items: Vec<Item>,
}

/// Collects what the text engine has to report: characters without a face.
#[derive(Debug, Default)]
pub(crate) struct Missing {
    pub chars: BTreeMap<char, usize>,
}

/// Builds atoms and lines; holds the shaper for the whole rendering.
pub(crate) struct TextEngine<'f, 't> {
    pub shaper: Shaper<'f, 't>,
    pub missing: Missing,
    spaces: Vec<Option<(u16, f32)>>,
}

impl<'f, 't> TextEngine<'f, 't> {
    pub fn new(fonts: &'f FontSet<'t>) -> Self {
        TextEngine { shaper: Shaper::new(fonts), missing: Missing::default(), spaces: vec![None; fonts.faces.len()] }
    }

    fn space(&mut self, font: FontId) -> (u16, f32) {
        if let Some(Some(s)) = self.spaces.get(font) {
            return *s;
        }
        let shaped = self.shaper.shape(font, " ");
        let s = shaped.runs.first().and_then(|r| r.glyphs.first()).map(|g| (g.gid, g.advance)).unwrap_or((0, 0.25));
        if let Some(slot) = self.spaces.get_mut(font) {
            *slot = Some(s);
        }
        s
    }

    /// Cut inline content into atoms.
    pub fn atoms(&mut self, inlines: &[Inline], style: &TextStyle) -> Vec<Atom> {
        let mut atoms: Vec<Atom> = Vec::new();
        for inline in inlines {
            match inline {
                Inline::Text { text, style: s, link } => {
                    let code = s.code && !style.mono;
                    let font =
                        FontSet::primary(s.strong || style.bold, s.emphasis || style.italic, s.code || style.mono);
                    let size = if code { style.size * 0.9 } else { style.size };
                    let colour = if link.is_some() { style.link_colour } else { style.colour };
                    let proto = AtomProto { font, size, colour, rise: 0.0, strike: s.strike, code, link: *link };
                    self.push_text(&mut atoms, text, &proto);
                }
                Inline::Break => {
                    if let Some(last) = atoms.last_mut() {
                        last.hard_break = true;
                        last.breakable = true;
                        last.space = 0.0;
                    }
                }
                Inline::FootnoteRef(n) => {
                    let proto = AtomProto {
                        font: if style.bold { super::super::fonts::BOLD } else { REGULAR },
                        size: style.size * 0.62,
                        colour: style.link_colour,
                        rise: style.size * 0.36,
                        strike: false,
                        code: false,
                        link: None,
                    };
                    self.push_text(&mut atoms, &n.to_string(), &proto);
                }
                Inline::Image { alt, .. } => {
                    let proto = AtomProto {
                        font: FontSet::primary(style.bold, true, false),
                        size: style.size,
                        colour: style.colour,
                        rise: 0.0,
                        strike: false,
                        code: false,
                        link: None,
                    };
                    self.push_text(&mut atoms, &format!("[{alt}]"), &proto);
                }
            }
        }
        if let Some(last) = atoms.last_mut() {
            last.space = 0.0;
        }
        atoms
    }

    fn push_text(&mut self, atoms: &mut Vec<Atom>, text: &str, p: &AtomProto) {
        let mut word_start: Option<usize> = None;
        for (i, c) in text.char_indices() {
            let is_space = matches!(c, ' ' | '\t' | '\n' | '\r');
            if is_space {
                if let Some(s) = word_start.take() {
                    self.push_word(atoms, &text[s..i], p);
                }
                if let Some(last) = atoms.last_mut()
                    && !last.hard_break
                    && last.space == 0.0
                {
                    let (gid, w) = self.space(p.font);
                    last.space = w * p.size;
                    last.space_gid = gid;
                    last.breakable = true;
                }
            } else if word_start.is_none() {
                word_start = Some(i);
            }
        }
        if let Some(s) = word_start {
            self.push_word(atoms, &text[s..], p);
        }
    }

    /// Push one space-free word, split after inner hyphens and around CJK.
    fn push_word(&mut self, atoms: &mut Vec<Atom>, word: &str, p: &AtomProto) {
        let mut start = 0;
        let mut prev: Option<char> = None;
        let mut iter = word.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let next = iter.peek().map(|&(_, n)| n);
            let end = i + c.len_utf8();
            let cjk = is_cjk(c);
            if cjk && i > start {
                self.push_piece(atoms, &word[start..i], p, true);
                start = i;
            }
            let hyphen_break = matches!(c, '-' | '\u{2010}' | '\u{2013}' | '\u{2014}')
                && prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphanumeric);
            let next_cjk = next.is_some_and(is_cjk);
            if (hyphen_break || cjk || next_cjk) && end < word.len() {
                self.push_piece(atoms, &word[start..end], p, true);
                start = end;
            }
            prev = Some(c);
        }
        if start < word.len() {
            self.push_piece(atoms, &word[start..], p, false);
        }
    }

    fn push_piece(&mut self, atoms: &mut Vec<Atom>, piece: &str, p: &AtomProto, breakable: bool) {
        // A huge unbroken word is shaped in slices, which bounds the memory and
        // time of one shaping call; the slices are joined without a break
        // opportunity, so the breaker only cuts there when it must.
        const MAX_PIECE: usize = 256;
        let mut piece = piece;
        while piece.len() > MAX_PIECE {
            let mut end = MAX_PIECE;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.push_piece(atoms, &piece[..end], p, false);
            piece = &piece[end..];
        }
        let shaped = self.shaper.shape(p.font, piece);
        atoms.push(Atom {
            width: shaped.width * p.size,
            shaped,
            font: p.font,
            size: p.size,
            colour: p.colour,
            rise: p.rise,
            strike: p.strike,
            code: p.code,
            link: p.link,
            space: 0.0,
            space_gid: 0,
            breakable,
            hard_break: false,
        });
    }

    /// One line of code as a single atom: spaces are kept as glyphs, and a line
    /// too long for the column is cut by `split_long`.
    pub fn code_atoms(&mut self, line: &str, style: &TextStyle) -> Vec<Atom> {
        let proto = AtomProto {
            font: super::super::fonts::MONO,
            size: style.size,
            colour: style.colour,
            rise: 0.0,
            strike: false,
            code: false,
            link: None,
        };
        let mut atoms = Vec::new();
        self.push_piece(&mut atoms, line, &proto, false);
        atoms
    }

    /// Narrowest width the atoms can take (the widest atom) and their natural
    /// width on one line, in points.
    pub fn measure(atoms: &[Atom]) -> (f32, f32) {
        let mut min: f32 = 0.0;
        let mut line = 0.0;
        let mut max: f32 = 0.0;
        for a in atoms {
            min = min.max(a.width);
            line += a.width;
            if a.hard_break {
                max = max.max(line);
                line = 0.0;
            } else {
                line += a.space;
            }
        }
        (min, max.max(line))
    }

    /// Cut atoms wider than `width` into pieces that fit.
    fn split_long(&mut self, atoms: Vec<Atom>, width: f32) -> Vec<Atom> {
        if atoms.iter().all(|a| a.width <= width) {
            return atoms;
        }
        let mut out = Vec::with_capacity(atoms.len() + 8);
        for a in atoms {
            if a.width <= width {
                out.push(a);
                continue;
            }
            let text: String = a.shaped.runs.iter().map(|r| r.text.as_str()).collect();
            let chunks = self.chunk(&text, a.font, a.size, width * 0.97);
            let n = chunks.len();
            for (k, chunk) in chunks.into_iter().enumerate() {
                let shaped = self.shaper.shape(a.font, chunk);
                let last = k + 1 == n;
                out.push(Atom {
                    width: shaped.width * a.size,
                    shaped,
                    space: if last { a.space } else { 0.0 },
                    breakable: if last { a.breakable } else { true },
                    hard_break: last && a.hard_break,
                    ..a.clone()
                });
            }
        }
        out
    }

    /// Greedy character chunks of at most `width`, preferring to end a chunk
    /// after a URL or identifier separator.
    fn chunk<'s>(&mut self, text: &'s str, font: FontId, size: f32, width: f32) -> Vec<&'s str> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut acc = 0.0;
        let mut last_sep: Option<usize> = None;
        let mut buf = [0u8; 4];
        for (i, c) in text.char_indices() {
            let w = self.shaper.shape(font, c.encode_utf8(&mut buf)).width * size;
            if acc + w > width && i > start {
                let cut = match last_sep {
                    Some(s) if s > start && (s - start) * 5 >= (i - start) * 3 => s,
                    _ => i,
                };
                chunks.push(&text[start..cut]);
                acc = text[cut..i].chars().map(|c| self.shaper.shape(font, c.encode_utf8(&mut buf)).width * size).sum();
                start = cut;
                last_sep = None;
            }
            acc += w;
            if matches!(c, ' ' | '/' | '.' | '-' | '_' | '?' | '&' | '=' | ',' | ';' | ':' | '#') {
                last_sep = Some(i + c.len_utf8());
            }
        }
        if start < text.len() {
            chunks.push(&text[start..]);
        }
        chunks
    }

    /// Break atoms into lines of `width` points and place them.
    pub fn lines(
        &mut self,
        atoms: Vec<Atom>,
        width: f32,
        align: AlignMode,
        style: &TextStyle,
        links: &[LinkTarget],
    ) -> Vec<Line> {
        let width = width.max(1.0);
        let atoms = self.split_long(atoms, width);
        let breaks = break_lines(&atoms, width);
        let mut out = Vec::with_capacity(breaks.len());
        let mut start = 0;
        let n_lines = breaks.len();
        for (k, &end) in breaks.iter().enumerate() {
            let last = k + 1 == n_lines || atoms[end - 1].hard_break;
            out.push(self.place(&atoms[start..end], width, align, last, style, links));
            start = end;
        }
        out
    }

    fn place(
        &mut self,
        atoms: &[Atom],
        width: f32,
        align: AlignMode,
        last: bool,
        style: &TextStyle,
        links: &[LinkTarget],
    ) -> Line {
        let fonts = self.shaper.fonts();
        let regular = &fonts.faces[REGULAR];
        let max_size = atoms.iter().filter(|a| a.rise == 0.0).map(|a| a.size).fold(style.size, f32::max);
        let height = max_size * style.line_height;
        let asc = regular.ascender * max_size;
        let desc = -regular.descender * max_size;
        let baseline = ((height - asc - desc) / 2.0 + asc).max(asc * 0.8);

        let n = atoms.len();
        let natural: f32 = atoms.iter().map(|a| a.width).sum::<f32>()
            + atoms[..n.saturating_sub(1)].iter().map(|a| a.space).sum::<f32>();
        let spaces = atoms[..n.saturating_sub(1)].iter().filter(|a| a.space > 0.0).count();
        let rtl_base = atoms.iter().find(|a| !a.shaped.runs.is_empty()).is_some_and(|a| a.shaped.rtl);
        let mut extra = 0.0;
        let slack = (width - natural).max(0.0);
        let mut x = match align {
            AlignMode::Justify if !last && spaces > 0 => {
                let e = slack / spaces as f32;
                if e <= style.size * 1.2 {
                    extra = e;
                    0.0
                } else if rtl_base {
                    slack
                } else {
                    0.0
                }
            }
            AlignMode::Center => slack / 2.0,
            AlignMode::Right => slack,
            _ if rtl_base => slack,
            _ => 0.0,
        };

        let order = visual_order(atoms, rtl_base);
        let mut items: Vec<Item> = Vec::new();
        let mut backgrounds: Vec<Item> = Vec::new();
        let mut current: Option<TextItem> = None;
        let mut link_rect: Option<(usize, Rect)> = None;
        for (pos, &i) in order.iter().enumerate() {
            let a = &atoms[i];
            let y = baseline - a.rise;
            let atom_x = x;
            for run in &a.shaped.runs {
                if run.placeholder {
                    flush(&mut current, &mut items);
                    for c in run.text.chars() {
                        *self.missing.chars.entry(c).or_insert(0) += 1;
                    }
                    let w = PLACEHOLDER_EM * a.size;
                    let count = (run.width / PLACEHOLDER_EM).round().max(1.0) as usize;
                    for _ in 0..count {
                        items.push(Item::Stroke {
                            rect: Rect { x: x + w * 0.1, y: y - a.size * 0.7, w: w * 0.8, h: a.size * 0.8 },
                            colour: style.placeholder,
                            width: 0.6,
                        });
                        x += w;
                    }
                    continue;
                }
                let same = current
                    .as_ref()
                    .is_some_and(|t| t.font == run.font && t.size == a.size && t.colour == a.colour && t.y == y);
                if !same {
                    flush(&mut current, &mut items);
                    current = Some(TextItem {
                        x,
                        y,
                        font: run.font,
                        size: a.size,
                        colour: a.colour,
                        glyphs: Vec::with_capacity(run.glyphs.len() + 4),
                        text: String::with_capacity(run.text.len() + 4),
                    });
                }
                if let Some(t) = current.as_mut() {
                    let base = t.text.len() as u32;
                    t.text.push_str(&run.text);
                    for g in &run.glyphs {
                        let adv = g.advance * a.size;
                        t.glyphs.push(PlacedGlyph {
                            gid: g.gid,
                            advance: adv,
                            x_offset: g.x_offset * a.size,
                            y_offset: g.y_offset * a.size,
                            text_start: base + g.text_start,
                            text_end: base + g.text_end,
                        });
                        x += adv;
                    }
                }
            }
            let atom_end = x;
            if a.code {
                backgrounds.push(Item::Fill {
                    rect: Rect { x: atom_x - 1.0, y: y - a.size * 0.92, w: atom_end - atom_x + 2.0, h: a.size * 1.22 },
                    colour: style.code_background,
                });
            }
            if a.strike {
                items.push(Item::Line {
                    x1: atom_x,
                    y1: y - a.size * 0.3,
                    x2: atom_end,
                    y2: y - a.size * 0.3,
                    width: (a.size * 0.06).max(0.4),
                    colour: a.colour,
                });
            }
            let space = order.get(pos + 1).map_or(0.0, |&next| space_between(atoms, i, next, rtl_base));
            if space > 0.0 {
                let adv = space + extra;
                if let Some(t) = current.as_mut() {
                    let base = t.text.len() as u32;
                    t.text.push(' ');
                    t.glyphs.push(PlacedGlyph {
                        gid: a.space_gid,
                        advance: adv,
                        x_offset: 0.0,
                        y_offset: 0.0,
                        text_start: base,
                        text_end: base + 1,
                    });
                }
                x += adv;
            }
            if let Some(l) = a.link {
                let rect = Rect { x: atom_x, y: y - a.size, w: atom_end - atom_x, h: a.size * 1.3 };
                match &mut link_rect {
                    Some((cur, r)) if *cur == l && (r.x + r.w - atom_x).abs() < space + extra + 1.0 + a.size => {
                        r.w = atom_end - r.x;
                    }
                    _ => {
                        if let Some((cur, r)) = link_rect.take() {
                            push_link(&mut items, links, cur, r);
                        }
                        link_rect = Some((l, rect));
                    }
                }
            } else if let Some((cur, r)) = link_rect.take() {
                push_link(&mut items, links, cur, r);
            }
        }
        flush(&mut current, &mut items);
        if let Some((cur, r)) = link_rect.take() {
            push_link(&mut items, links, cur, r);
        }
        backgrounds.extend(items);
        Line { height, baseline, items: backgrounds }
    }
}

struct AtomProto {
    font: FontId,
    size: f32,
    colour: Rgb,
    rise: f32,
    strike: bool,
    code: bool,
    link: Option<usize>,
}

fn flush(current: &mut Option<TextItem>, items: &mut Vec<Item>) {
    if let Some(t) = current.take()
        && !t.glyphs.is_empty()
    {
        items.push(Item::Text(t));
    }
}

fn push_link(items: &mut Vec<Item>, links: &[LinkTarget], idx: usize, rect: Rect) {
    let target = match links.get(idx) {
        Some(LinkTarget::Uri(u)) => Target::Uri(u.clone()),
        Some(LinkTarget::Anchor(a)) => Target::Anchor(a.clone()),
        None => return,
    };
    items.push(Item::Link { rect, target });
}

/// The space drawn between two atoms that are neighbours in visual order: the
/// logical space between them, or at the edge of a reversed run the space that
/// separates the run from its neighbour.
fn space_between(atoms: &[Atom], u: usize, v: usize, rtl_base: bool) -> f32 {
    let flipped = |k: usize| atoms[k].shaped.rtl != rtl_base;
    let k = if u.abs_diff(v) == 1 {
        u.min(v)
    } else if u < v {
        if flipped(v) { u } else { v - 1 }
    } else if flipped(u) {
        v
    } else {
        u - 1
    };
    atoms.get(k).map_or(0.0, |a| a.space)
}

/// Visual order of a line's atoms: runs of right-to-left atoms are reversed in a
/// left-to-right line, and the other way round.
fn visual_order(atoms: &[Atom], rtl_base: bool) -> Vec<usize> {
    let n = atoms.len();
    let mut order: Vec<usize> = (0..n).collect();
    if !atoms.iter().any(|a| a.shaped.rtl) {
        return order;
    }
    if rtl_base {
        order.reverse();
    }
    let mut i = 0;
    while i < n {
        let a = &atoms[order[i]];
        let flip = if rtl_base { !a.shaped.rtl } else { a.shaped.rtl };
        if flip {
            let mut j = i;
            while j < n && (if rtl_base { !atoms[order[j]].shaped.rtl } else { atoms[order[j]].shaped.rtl }) {
                j += 1;
            }
            order[i..j].reverse();
            i = j;
        } else {
            i += 1;
        }
    }
    order
}

/// Line ends (exclusive atom indices) minimising the sum of squared badness.
///
/// A line may end after a breakable atom; ending after any other atom is allowed
/// at a heavy penalty, so a run of unbreakable atoms wider than the line still
/// breaks instead of overflowing. Candidates per line are bounded by the line
/// width and by `MAX_LOOKBACK`, so the work is linear in the number of atoms.
fn break_lines(atoms: &[Atom], width: f32) -> Vec<usize> {
    const MAX_LOOKBACK: usize = 1000;
    const FORCED: f32 = 1.0e7;
    let n = atoms.len();
    if n == 0 {
        return Vec::new();
    }
    // prefix[k]: width of atoms[..k] with their trailing spaces; spaces[k]: the
    // spaces alone.
    let mut prefix = vec![0.0f32; n + 1];
    let mut spaces = vec![0.0f32; n + 1];
    for (k, a) in atoms.iter().enumerate() {
        prefix[k + 1] = prefix[k] + a.width + a.space;
        spaces[k + 1] = spaces[k] + a.space;
    }
    let mut cost = vec![f32::INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    cost[0] = 0.0;
    for j in 1..=n {
        let end = &atoms[j - 1];
        let last_line = j == n || end.hard_break;
        let end_penalty = if end.breakable || j == n { 0.0 } else { FORCED };
        let lower = j.saturating_sub(MAX_LOOKBACK);
        let mut i = j;
        while i > lower {
            i -= 1;
            // A line cannot contain a hard break before its end.
            if i + 1 < j && atoms[i].hard_break {
                break;
            }
            let natural = prefix[j] - prefix[i] - end.space;
            if natural > width + 0.01 && i + 1 < j {
                break;
            }
            if !cost[i].is_finite() {
                continue;
            }
            let slack = (width - natural).max(0.0);
            let stretch = (spaces[j] - spaces[i] - end.space).max(width * 0.02);
            let badness = if last_line {
                0.0
            } else {
                let r = slack / stretch;
                (100.0 * r * r * r).min(10_000.0)
            };
            let c = cost[i] + (1.0 + badness) * (1.0 + badness) + end_penalty;
            if c < cost[j] {
                cost[j] = c;
                from[j] = i;
            }
        }
    }
    let mut ends = Vec::new();
    let mut j = n;
    while j > 0 {
        ends.push(j);
        let i = from[j];
        if i >= j {
            break;
        }
        j = i;
    }
    ends.reverse();
    ends
}

/// Ideographs and kana, where a line may break between any two characters.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF | 0x3040..=0x30FF | 0x3100..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

#[cfg(test)]
mod tests {
    //! The line breaker as data: no line wider than its measure, words kept in
    //! order, long words cut.

    use super::*;
    use crate::render::template::Template;
    use crate::render::tree::Style;

    fn style() -> TextStyle {
        let black = Rgb(0.0, 0.0, 0.0);
        TextStyle {
            size: 10.0,
            line_height: 1.4,
            colour: black,
            link_colour: black,
            code_background: black,
            placeholder: black,
            bold: false,
            italic: false,
            mono: false,
        }
    }

    fn text(t: &str) -> Vec<Inline> {
        vec![Inline::Text { text: t.to_string(), style: Style::default(), link: None }]
    }

    /// Right edge of the glyphs of a line.
    fn right_edge(line: &Line) -> f32 {
        line.items
            .iter()
            .filter_map(|i| match i {
                Item::Text(t) => Some(t.x + t.glyphs.iter().map(|g| g.advance).sum::<f32>()),
                _ => None,
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn lines_fit_their_measure_and_keep_every_word() {
        let template = Template::builtin();
        let fonts = FontSet::load(&template).expect("fonts");
        let mut engine = TextEngine::new(&fonts);
        let s = style();
        let para = "Participants described the atmosphere as a kind of smörgåsbord, a rencontre where \
                    the chef met the public. https://data.example.org/open/a-very-long-path/with/many/segments.csv \
                    Supercalifragilisticexpialidociouswithoutanybreakopportunityatall ends it.";
        for width in [60.0, 120.0, 250.0, 400.0] {
            let atoms = engine.atoms(&text(para), &s);
            let lines = engine.lines(atoms, width, AlignMode::Justify, &s, &[]);
            assert!(!lines.is_empty());
            for l in &lines {
                assert!(right_edge(l) <= width + 0.05, "line wider than {width}: {}", right_edge(l));
            }
            let joined: String = lines
                .iter()
                .flat_map(|l| l.items.iter())
                .filter_map(|i| match i {
                    Item::Text(t) => Some(t.text.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("");
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(squash(&joined), squash(para), "text lost or reordered at width {width}");
        }
    }

    #[test]
    fn hard_breaks_end_lines_and_cjk_breaks_between_characters() {
        let template = Template::builtin();
        let fonts = FontSet::load(&template).expect("fonts");
        let mut engine = TextEngine::new(&fonts);
        let s = style();
        let mut inl = text("one");
        inl.push(Inline::Break);
        inl.extend(text("two"));
        let atoms = engine.atoms(&inl, &s);
        assert_eq!(engine.lines(atoms, 400.0, AlignMode::Left, &s, &[]).len(), 2);
        let atoms = engine.atoms(&text("漢字漢字漢字漢字漢字漢字漢字漢字"), &s);
        let lines = engine.lines(atoms, 40.0, AlignMode::Left, &s, &[]);
        assert!(lines.len() >= 3, "CJK text should wrap between characters");
    }
}
