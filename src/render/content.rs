//! Page content streams, encoded directly from the laid-out items: the PDF writer's
//! hot loop. printpdf writes everything around them (fonts, resources, annotations,
//! pages); going through its operation list cost a `String` and a map entry per
//! glyph and a float per adjustment, more than half of a rendering.
//!
//! A glyph run is one `TJ` array of two-byte Identity-H codes with integer
//! adjustments (thousandths of an em). The adjustments are rounded with the error
//! carried to the next glyph, and measured against the widths the font's `/W` array
//! declares, so a run never drifts from the layout by more than half a thousandth of
//! an em. Numbers are written with at most three decimals, so the bytes depend on
//! the input only.
//!
//! Every item is drawn inside a marked-content sequence: a run of items of one
//! element on one line is `/P <</MCID n>> BDC … EMC` (the element type, and the
//! page's next MCID), a run of artifacts `/Artifact <</Type …>> BDC … EMC`. A sequence never
//! straddles a text object: the text object is closed first. [`page`] returns which
//! element each MCID belongs to, for the structure tree's `/ParentTree`.
//!
//! The glyphs of a right-to-left item of a mixed-direction line (`TextItem::reversed`) are
//! drawn cluster by cluster from the right, each at its place: the layout gives the line's
//! items in logical order, so what reads content in its order (the structure tree's text)
//! reads the line as written.
//!
//! Pages are encoded one at a time, as the layout finishes them, before the document's
//! glyph set is known: how a glyph is written must not depend on the subset. [`GlyphUse`]
//! records each glyph of each face as it is first drawn, with its code (the glyph id, or
//! in a CID-keyed CFF face its CID, both read from the original face), its width (the
//! face's advance) and the text its ToUnicode entry will give; the writer subsets the faces
//! from it at the end (subsetting keeps glyph ids, so streams written earlier stay valid).

use rustybuzz::ttf_parser::GlyphId;

use super::fonts::{Face, FontSet};
use super::layout::{Item, Rect, TextItem};
use super::structure::{NodeId, StructTree, Tag};
use super::template::Rgb;

/// Text a drawn glyph stands for, `None` until a drawing with text is seen.
pub(crate) type GlyphText = Option<Box<str>>;

/// How one glyph is written, fixed when it is first drawn.
#[derive(Debug, Clone)]
struct Glyph {
    /// Its Identity-H code.
    code: u16,
    /// Its `/W` width, in thousandths of an em.
    width: i32,
    /// The text of its ToUnicode entry: fixed by its first drawing with text (see
    /// [`GlyphUse::draw`]).
    text: GlyphText,
}

/// The glyphs drawn so far, per face (indexed by glyph id; allocated only for faces used).
pub(crate) struct GlyphUse<'f, 't> {
    fonts: &'f FontSet<'t>,
    faces: Vec<Option<Vec<Option<Glyph>>>>,
}

impl<'f, 't> GlyphUse<'f, 't> {
    pub fn new(fonts: &'f FontSet<'t>) -> GlyphUse<'f, 't> {
        GlyphUse { fonts, faces: fonts.faces.iter().map(|_| None).collect() }
    }

    /// Record glyph `k` of `t` as drawn, and return how it is written. Its ToUnicode text is
    /// fixed by its first drawing with text: that cluster's text when the glyph is the whole
    /// cluster, else the cluster's character the font maps to the glyph (so `स` first drawn
    /// in "से" reads "स"), else the cluster's text. A later drawing whose text differs
    /// carries `/ActualText` ([`text`]), so extraction stays exact whatever came first.
    /// `None` for a glyph its face does not have.
    fn draw(&mut self, t: &TextItem, k: usize) -> Option<&Glyph> {
        let face = self.fonts.faces.get(t.font)?;
        let table =
            self.faces.get_mut(t.font)?.get_or_insert_with(|| vec![None; face.shaper.number_of_glyphs() as usize]);
        let gid = t.glyphs[k].gid;
        let glyph = table.get_mut(gid as usize)?.get_or_insert_with(|| Glyph {
            code: code(&face.shaper, gid),
            width: width(face, gid),
            text: None,
        });
        if glyph.text.is_none()
            && let Some(own) = cluster_text(t, k)
        {
            let text = if cluster_end(t, k) == k {
                own
            } else {
                let mapped = own.char_indices().find(|&(_, c)| face.shaper.glyph_index(c) == Some(GlyphId(gid)));
                mapped.map_or(own, |(at, c)| &own[at..at + c.len_utf8()])
            };
            glyph.text = Some(text.into());
        }
        Some(glyph)
    }

    /// Per face used, the glyphs drawn in glyph id order with their ToUnicode text.
    pub fn into_faces(self) -> impl Iterator<Item = (usize, Vec<(u16, GlyphText)>)> {
        self.faces.into_iter().enumerate().filter_map(|(font, table)| {
            let glyphs =
                table?.into_iter().enumerate().filter_map(|(gid, glyph)| glyph.map(|g| (gid as u16, g.text))).collect();
            Some((font, glyphs))
        })
    }
}

/// A glyph's advance in font units, as the face's `/W` declares it.
pub(crate) fn advance(face: &Face<'_>, gid: u16) -> u16 {
    face.shaper.glyph_hor_advance(GlyphId(gid)).unwrap_or(0)
}

/// The `/W` width of a glyph as printpdf writes it: truncated to thousandths of an em.
fn width(face: &Face<'_>, gid: u16) -> i32 {
    (f32::from(advance(face, gid)) * 1000.0 / f32::from(face.units_per_em as u16)) as i32
}

/// The Identity-H code of a glyph: its CID in a CID-keyed CFF face (the charset of the
/// original face, which the subset keeps), its glyph id otherwise.
pub(crate) fn code(face: &rustybuzz::ttf_parser::Face<'_>, gid: u16) -> u16 {
    face.tables().cff.and_then(|cff| cff.glyph_cid(GlyphId(gid))).unwrap_or(gid)
}

/// The text glyph `k` of an item stands for; `None` for the second and later
/// glyphs of a cluster.
fn cluster_text(t: &TextItem, k: usize) -> Option<&str> {
    let g = &t.glyphs[k];
    t.text.get(g.text_start as usize..g.text_end as usize).filter(|s| !s.is_empty())
}

/// The last glyph of the cluster glyph `k` begins: the glyphs after it without text.
fn cluster_end(t: &TextItem, k: usize) -> usize {
    let more = t.glyphs[k + 1..].iter().take_while(|g| g.text_start >= g.text_end).count();
    k + more
}

/// Graphics state already set in the stream, so it is not repeated.
#[derive(Default)]
struct State {
    fill: Option<Rgb>,
    stroke: Option<Rgb>,
    stroke_width: Option<f32>,
    font: Option<(usize, f32)>,
    in_text: bool,
    /// The tag of the open marked-content sequence.
    marked: Option<Tag>,
    /// The baseline of the last text drawn in it.
    line: Option<f32>,
}

/// A content stream of one page (uncompressed), recording the glyphs it draws in `used`.
/// `marks` holds the element of each of the page's MCIDs so far (a page may have more
/// than one stream), and gets those of this one. The y axis flips here, as everywhere in
/// the writer, with `page_height`.
pub(crate) fn page(
    items: &[Item],
    page_height: f32,
    used: &mut GlyphUse<'_, '_>,
    tree: &StructTree,
    marks: &mut Vec<NodeId>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 48);
    let mut st = State::default();
    out.extend_from_slice(b"0 J\n");
    for item in items {
        // Annotations, not content: the writer puts them on the page.
        if matches!(item, Item::Link { .. }) {
            continue;
        }
        // A sequence per line of text, so what reads the structure gets lines, not words
        // run together across a line end.
        let tag = item.tag();
        let new_line = matches!(item, Item::Text(t) if st.line.is_some_and(|y| y != t.y));
        let retag = st.marked != Some(tag) || new_line;
        if (retag || !matches!(item, Item::Text(_))) && st.in_text {
            out.extend_from_slice(b"ET\n");
            st.in_text = false;
        }
        if retag {
            if st.marked.is_some() {
                out.extend_from_slice(b"EMC\n");
            }
            begin_marked(&mut out, tag, tree, marks);
            st.marked = Some(tag);
            st.line = None;
        }
        if let Item::Text(t) = item {
            st.line = Some(t.y);
        }
        match item {
            Item::Text(t) => {
                let mut marking = Marking { tree, marks };
                text(&mut out, &mut st, t, page_height, used, &mut marking);
            }
            Item::Fill { rect, colour, .. } => {
                set_fill(&mut out, &mut st, *colour);
                rect_path(&mut out, rect, page_height);
                out.extend_from_slice(b"f\n");
            }
            Item::Stroke { rect, colour, width, .. } => {
                set_stroke(&mut out, &mut st, *colour, *width);
                rect_path(&mut out, rect, page_height);
                out.extend_from_slice(b"S\n");
            }
            Item::Line { x1, y1, x2, y2, width, colour, .. } => {
                set_stroke(&mut out, &mut st, *colour, *width);
                nums(&mut out, &[*x1, page_height - y1]);
                out.extend_from_slice(b"m ");
                nums(&mut out, &[*x2, page_height - y2]);
                out.extend_from_slice(b"l S\n");
            }
            Item::Image { rect, image, .. } => {
                out.extend_from_slice(b"q ");
                nums(&mut out, &[rect.w, 0.0, 0.0, rect.h, rect.x, page_height - rect.y - rect.h]);
                out.extend_from_slice(b"cm /Im");
                uint(&mut out, *image as u64, 1);
                out.extend_from_slice(b" Do Q\n");
                // Q restores colours and line width: state set inside q/Q is gone
                // (none is set inside, but the next item must not rely on it).
                st = State { marked: st.marked, line: st.line, ..State::default() };
            }
            Item::Link { .. } => {}
        }
    }
    if st.in_text {
        out.extend_from_slice(b"ET\n");
    }
    if st.marked.is_some() {
        out.extend_from_slice(b"EMC\n");
    }
    out
}

/// What opening a marked-content sequence needs: the element types and the page's MCIDs so far.
struct Marking<'a> {
    tree: &'a StructTree,
    marks: &'a mut Vec<NodeId>,
}

/// Open the marked-content sequence of `tag`: an element's gets the page's next MCID.
fn begin_marked(out: &mut Vec<u8>, tag: Tag, tree: &StructTree, marks: &mut Vec<NodeId>) {
    match tag {
        Tag::Node(node) => {
            out.push(b'/');
            out.extend_from_slice(tree.tag_name(node).as_bytes());
            out.extend_from_slice(b" <</MCID ");
            uint(out, marks.len() as u64, 1);
            out.extend_from_slice(b">> BDC\n");
            marks.push(node);
        }
        Tag::Artifact(kind) => {
            out.extend_from_slice(b"/Artifact ");
            out.extend_from_slice(kind.properties());
            out.extend_from_slice(b" BDC\n");
        }
    }
}

fn set_fill(out: &mut Vec<u8>, st: &mut State, c: Rgb) {
    if st.fill != Some(c) {
        nums(out, &[c.0, c.1, c.2]);
        out.extend_from_slice(b"rg\n");
        st.fill = Some(c);
    }
}

fn set_stroke(out: &mut Vec<u8>, st: &mut State, c: Rgb, width: f32) {
    if st.stroke != Some(c) {
        nums(out, &[c.0, c.1, c.2]);
        out.extend_from_slice(b"RG\n");
        st.stroke = Some(c);
    }
    if st.stroke_width != Some(width) {
        nums(out, &[width]);
        out.extend_from_slice(b"w\n");
        st.stroke_width = Some(width);
    }
}

/// A rectangle path; layout rectangles hang from their top edge.
fn rect_path(out: &mut Vec<u8>, r: &Rect, page_height: f32) {
    nums(out, &[r.x, page_height - r.y - r.h, r.w, r.h]);
    out.extend_from_slice(b"re ");
}

fn text(
    out: &mut Vec<u8>,
    st: &mut State,
    t: &TextItem,
    page_height: f32,
    used: &mut GlyphUse<'_, '_>,
    m: &mut Marking<'_>,
) {
    if t.glyphs.is_empty() || used.fonts.faces.get(t.font).is_none() {
        return;
    }
    if !st.in_text {
        out.extend_from_slice(b"BT\n");
        st.in_text = true;
    }
    if st.font != Some((t.font, t.size)) {
        out.extend_from_slice(b"/F");
        uint(out, t.font as u64, 1);
        out.push(b' ');
        nums(out, &[t.size]);
        out.extend_from_slice(b"Tf\n");
        st.font = Some((t.font, t.size));
    }
    set_fill(out, st, t.colour);
    let baseline = page_height - t.y;
    // Thousandths of an em per point at this size.
    let per_pt = if t.size > 0.0 { 1000.0 / t.size } else { 0.0 };
    let mut pen = t.x;
    let mut open = false;
    // Rounding error carried from one adjustment to the next.
    let mut carry = 0.0f32;
    // The last glyph of an open /ActualText span.
    let mut span_end: Option<usize> = None;
    // A reversed item's drawing order, and where each of its glyphs goes, since they are
    // not drawn in turn (nothing allocated for the others).
    let (reordered, pens): (Vec<usize>, Vec<f32>) = if t.reversed {
        (reversed_order(t), t.glyphs.iter().scan(t.x, |x, g| Some(std::mem::replace(x, *x + g.advance))).collect())
    } else {
        (Vec::new(), Vec::new())
    };
    let in_turn = if t.reversed { 0 } else { t.glyphs.len() };
    for k in (0..in_turn).chain(reordered) {
        let glyph = &t.glyphs[k];
        // A glyph the face does not have is written as its id, with no width.
        let (code, width, reads_own) = match used.draw(t, k) {
            Some(g) => (g.code, g.width, cluster_text(t, k).is_some_and(|own| g.text.as_deref() == Some(own))),
            None => (glyph.gid, 0, false),
        };
        if t.reversed {
            // Each glyph placed on its own: the next one drawn is not the one to its right.
            if open {
                out.extend_from_slice(b"] TJ\n");
                open = false;
            }
            pen = pens[k];
        }
        // A cluster its glyphs' ToUnicode entries would misread (several glyphs, a
        // glyph shared with another text, a reordered vowel sign) carries its text.
        if span_end.is_none()
            && let Some(own) = cluster_text(t, k)
        {
            let end = cluster_end(t, k);
            if end > k || !reads_own {
                if open {
                    out.extend_from_slice(b"] TJ\n");
                    open = false;
                }
                // An element's span is a marked-content sequence of its own (an MCID of the
                // same element), not one nested in the line's: readers of the structure
                // (poppler's among them) stop at a nested sequence's end.
                let own_mcid = match t.tag {
                    Tag::Node(node) => {
                        out.extend_from_slice(b"ET\nEMC\n/Span <</MCID ");
                        uint(out, m.marks.len() as u64, 1);
                        out.push(b' ');
                        m.marks.push(node);
                        true
                    }
                    Tag::Artifact(_) => {
                        out.extend_from_slice(b"/Span <<");
                        false
                    }
                };
                out.extend_from_slice(b"/ActualText <FEFF");
                for unit in own.encode_utf16() {
                    hex_digits(out, unit);
                }
                out.extend_from_slice(if own_mcid { b">>> BDC\nBT\n" } else { b">>> BDC\n" });
                span_end = Some(end);
            }
        }
        if glyph.x_offset != 0.0 || glyph.y_offset != 0.0 {
            // A positioned mark: shown on its own at its offset, then the run
            // continues from where its advance puts the pen.
            if open {
                out.extend_from_slice(b"] TJ\n");
                open = false;
            }
            start_run(out, pen + glyph.x_offset, baseline + glyph.y_offset);
            hex(out, code);
            out.extend_from_slice(b"] TJ\n");
            pen += glyph.advance;
        } else {
            if !open {
                start_run(out, pen, baseline);
                open = true;
                carry = 0.0;
            }
            hex(out, code);
            pen += glyph.advance;
            // TJ moves the pen left by n/1000 em after the declared width.
            carry += width as f32 - glyph.advance * per_pt;
            let n = carry.round();
            if n != 0.0 {
                carry -= n;
                int(out, n as i64);
            }
        }
        if span_end == Some(k) {
            if open {
                out.extend_from_slice(b"] TJ\n");
                open = false;
            }
            if let Tag::Node(_) = t.tag {
                out.extend_from_slice(b"ET\nEMC\n");
                begin_marked(out, t.tag, m.tree, m.marks);
                out.extend_from_slice(b"BT\n");
            } else {
                out.extend_from_slice(b"EMC\n");
            }
            span_end = None;
        }
    }
    if open {
        out.extend_from_slice(b"] TJ\n");
    }
}

/// The order a reversed item's glyphs are drawn in: its clusters from the right (its
/// glyphs run right to left), so that what reads the content in its order (the structure
/// tree's text) reads the text as written. A cluster's own glyphs keep their order.
fn reversed_order(t: &TextItem) -> Vec<usize> {
    let n = t.glyphs.len();
    let mut order = Vec::with_capacity(n);
    let mut end = n;
    while end > 0 {
        // The cluster ending at `end`: its first glyph is the one that carries its text.
        let mut start = end - 1;
        while start > 0 && cluster_text(t, start).is_none() {
            start -= 1;
        }
        order.extend(start..end);
        end = start;
    }
    order
}

fn start_run(out: &mut Vec<u8>, x: f32, y: f32) {
    out.extend_from_slice(b"1 0 0 1 ");
    nums(out, &[x, y]);
    out.extend_from_slice(b"Tm [");
}

/// A glyph's two-byte code as a hex string.
fn hex(out: &mut Vec<u8>, code: u16) {
    out.push(b'<');
    hex_digits(out, code);
    out.push(b'>');
}

fn hex_digits(out: &mut Vec<u8>, unit: u16) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let b = unit.to_be_bytes();
    out.extend_from_slice(&[
        DIGITS[(b[0] >> 4) as usize],
        DIGITS[(b[0] & 15) as usize],
        DIGITS[(b[1] >> 4) as usize],
        DIGITS[(b[1] & 15) as usize],
    ]);
}

fn int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    uint(out, n.unsigned_abs(), 1);
}

/// `n` in decimal, at least `width` digits (zero-padded), without allocating.
fn uint(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Numbers followed by a space each, with at most three decimals and no trailing
/// zeros (`12.5 `, `0 `, `-3.125 `).
fn nums(out: &mut Vec<u8>, values: &[f32]) {
    for &v in values {
        let milli = (f64::from(v) * 1000.0).round() as i64;
        if milli < 0 {
            out.push(b'-');
        }
        let milli = milli.unsigned_abs();
        uint(out, milli / 1000, 1);
        let mut frac = milli % 1000;
        if frac != 0 {
            out.push(b'.');
            let mut digits = 3;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            uint(out, frac, digits);
        }
        out.push(b' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(values: &[f32]) -> String {
        let mut out = Vec::new();
        nums(&mut out, values);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_have_at_most_three_decimals_and_no_trailing_zeros() {
        assert_eq!(
            written(&[0.0, 12.5, -3.125, 0.0004, -0.0004, 841.89, 1.0 / 3.0, -0.05]),
            "0 12.5 -3.125 0 0 841.89 0.333 -0.05 "
        );
    }

    #[test]
    fn codes_are_four_hex_digits() {
        let mut out = Vec::new();
        hex(&mut out, 0x0A3F);
        hex(&mut out, 7);
        assert_eq!(out, b"<0A3F><0007>");
    }
}
