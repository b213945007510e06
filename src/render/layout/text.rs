//! Inline content to lines. Text is cut into atoms at the line break
//! opportunities of Unicode UAX #14 (after spaces and hyphens, between CJK
//! characters, never before closing punctuation), with a space before French
//! `:`, `;`, `!`, `?`, `»` or after `«` kept unbreakable. Justified text is
//! broken first without hyphenation; only the words of a line that comes out
//! loose, and of the line after it, are then cut into syllables at their
//! hyphenation points (see [`super::super::hyphenate`]) and the paragraph broken
//! again, so most words are never looked up. Lines are chosen by minimising the total
//! demerits of the paragraph (optimal fit in the spirit of Knuth and Plass):
//! justified spaces stretch and shrink (down to 80 % of their width), a hyphen
//! costs a penalty, and breaking where no break is allowed costs more than the
//! loosest line, so it only happens when nothing else fits. Ragged text (cells,
//! code) has no slack cost: it fills each line. Syllables of a word that end up
//! on one line are shaped again as one word, so kerning and ligatures are kept;
//! a word broken at a hyphenation point gets its hyphen. A word wider than the
//! line (a long URL or identifier) is cut at grapheme boundaries into pieces
//! that fill the line, and never drawn past the margin. The spaces inside
//! inline code keep their width.
//!
//! Text of both directions is ordered by the Unicode bidirectional algorithm (UAX #9):
//! the paragraph takes the direction of its first strong character, every atom its
//! resolved level, and each line is drawn in the visual order rule L2 gives, while its
//! items keep the logical order (see [`TextEngine::place`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use foldhash::HashMap;
use hyphenation::Standard;
use unicode_bidi::{BidiInfo, Level, ParagraphBidiInfo};
use unicode_segmentation::UnicodeSegmentation;

use super::super::fonts::{FontId, FontSet, REGULAR};
use super::super::hyphenate::{self, Point};
use super::super::shaping::{PLACEHOLDER_EM, Shaped, Shaper};
use super::super::structure::{LAYOUT, Tag, Tagger};
use super::super::template::Rgb;
use super::super::tree::{Inline, LinkTarget};
use super::{Item, PlacedGlyph, Rect, Target, TextItem, note_anchor};

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
    /// Offer the hyphenation points of words to the line breaker (justified text).
    pub hyphenate: bool,
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
    /// The footnote this atom is the reference mark of.
    note: Option<usize>,
    /// Width in points.
    width: f32,
    /// Width of the space after the atom, 0 if none.
    space: f32,
    /// The space after the atom stretches and shrinks when a line is justified
    /// (not the spaces inside inline code).
    elastic: bool,
    /// A line may end after this atom.
    breakable: bool,
    /// The line must end after this atom.
    hard_break: bool,
    /// The next atom continues the same word (a syllable, or a slice of a
    /// long word); joined atoms on one line are drawn as one word.
    joined: bool,
    /// Width of the hyphen drawn if a line ends after this syllable; 0 when
    /// this is no hyphenation point.
    hyphen: f32,
    /// The hyphenation point comes from the other language's patterns.
    foreign: bool,
    /// For a syllable, its byte range in the word `shaped` stands for.
    syllable: Option<(u32, u32)>,
    /// A whole word that may be cut into syllables (justified text, a plain shaped word).
    hyphenate: bool,
    /// The UAX #9 embedding level of the atom's text in its paragraph (a word whose
    /// characters resolve to different levels is cut where they change).
    level: Level,
}

/// One laid-out line; items are relative to the line's top-left corner.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub height: f32,
    pub baseline: f32,
    pub items: Vec<Item>,
    /// Footnotes referenced on the line, in order.
    pub notes: Vec<usize>,
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
    /// Width of a space in em, by face.
    spaces: Vec<Option<f32>>,
    /// Hyphenation dictionaries, the document's language first; none for a
    /// language without patterns.
    dictionaries: Vec<&'static Standard>,
    /// Hyphenation points by word: reports repeat their vocabulary.
    points: HashMap<String, Rc<[Point]>>,
    /// Hyphen width per face, in em.
    hyphens: Vec<Option<f32>>,
}

impl<'f, 't> TextEngine<'f, 't> {
    /// An engine for a document in `language` (a BCP 47 tag), which chooses the hyphenation patterns.
    pub fn new(fonts: &'f FontSet<'t>, language: &str) -> Self {
        TextEngine {
            shaper: Shaper::new(fonts),
            missing: Missing::default(),
            spaces: vec![None; fonts.faces.len()],
            dictionaries: hyphenate::dictionaries(language),
            points: HashMap::default(),
            hyphens: vec![None; fonts.faces.len()],
        }
    }

    fn space(&mut self, font: FontId) -> f32 {
        if let Some(Some(s)) = self.spaces.get(font) {
            return *s;
        }
        let shaped = self.shaper.shape(font, " ");
        let s = shaped.runs.first().and_then(|r| r.glyphs.first()).map_or(0.25, |g| g.advance);
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
                    let proto = AtomProto {
                        font,
                        size,
                        colour,
                        rise: 0.0,
                        strike: s.strike,
                        code,
                        link: *link,
                        note: None,
                        hyphenate: style.hyphenate && !s.code && !style.mono,
                    };
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
                        note: Some(*n),
                        hyphenate: false,
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
                        note: None,
                        hyphenate: false,
                    };
                    self.push_text(&mut atoms, &format!("[{alt}]"), &proto);
                }
            }
        }
        if let Some(last) = atoms.last_mut() {
            last.space = 0.0;
        }
        keep_french_punctuation(&mut atoms);
        atoms
    }

    /// Cut text at its UAX #14 break opportunities; spaces become the space
    /// after the atom before them.
    fn push_text(&mut self, atoms: &mut Vec<Atom>, text: &str, p: &AtomProto) {
        let mut last = 0;
        for (pos, _) in unicode_linebreak::linebreaks(text) {
            let segment = &text[last..pos];
            last = pos;
            let word = segment.trim_end_matches(is_space);
            let spaced = word.len() < segment.len();
            let trimmed = word.trim_start_matches(is_space);
            if trimmed.len() < word.len() {
                self.space_after(atoms, p);
            }
            if !trimmed.is_empty() {
                self.push_word(atoms, trimmed, p);
                if !spaced
                    && pos < text.len()
                    && let Some(a) = atoms.last_mut()
                {
                    // A break without a space: after a hyphen, between ideographs.
                    a.breakable = true;
                }
            }
            if spaced {
                self.space_after(atoms, p);
            }
        }
    }

    /// Give the last atom a space (one, however many the source has).
    fn space_after(&mut self, atoms: &mut [Atom], p: &AtomProto) {
        let w = self.space(p.font);
        if let Some(last) = atoms.last_mut()
            && !last.hard_break
            && last.space == 0.0
        {
            last.space = w * p.size;
            last.elastic = !p.code;
            last.breakable = true;
        }
    }

    /// Push one unbreakable word, marked for hyphenation in justified text.
    fn push_word(&mut self, atoms: &mut Vec<Atom>, word: &str, p: &AtomProto) {
        let start = atoms.len();
        self.push_piece(atoms, word, p);
        if p.hyphenate
            && !self.dictionaries.is_empty()
            && atoms.len() == start + 1
            && atoms[start].shaped.runs.len() == 1
            && !atoms[start].shaped.rtl
        {
            atoms[start].hyphenate = true;
        }
    }

    /// A word as its syllables, cut at its hyphenation points (the whole word when it has none).
    /// Syllables share the word's shaping; each is as wide as the glyphs of its clusters, so
    /// nothing is shaped again unless a line ends inside the word.
    fn syllables(&mut self, whole: &Atom, out: &mut Vec<Atom>) {
        let word = whole.shaped.runs[0].text.as_str();
        let points = match self.points.get(word) {
            Some(points) => points.clone(),
            None => {
                let points: Rc<[Point]> = hyphenate::points(&self.dictionaries, word).into();
                self.points.insert(word.to_string(), points.clone());
                points
            }
        };
        if points.is_empty() {
            out.push(Atom { hyphenate: false, ..whole.clone() });
            return;
        }
        let glyphs = &whole.shaped.runs[0].glyphs;
        let hyphen = self.hyphen(whole.font) * whole.size;
        let mut from = 0;
        for (k, to) in points.iter().map(|pt| pt.at).chain(std::iter::once(word.len())).enumerate() {
            let width: f32 =
                glyphs.iter().filter(|g| (from..to).contains(&(g.text_start as usize))).map(|g| g.advance).sum::<f32>()
                    * whole.size;
            let last = to == word.len();
            // The word's space and break opportunity belong to its last syllable.
            let mut syllable = Atom {
                width,
                syllable: Some((from as u32, to as u32)),
                joined: !last,
                hyphen: if last { 0.0 } else { hyphen },
                foreign: !last && points[k].foreign,
                hyphenate: false,
                ..whole.clone()
            };
            if !last {
                syllable.space = 0.0;
                syllable.elastic = false;
                syllable.breakable = false;
                syllable.hard_break = false;
            }
            out.push(syllable);
            from = to;
        }
    }

    /// Hyphenation where it helps: the words of every line whose spaces would stretch by more
    /// than a quarter, and of the line after it (whose first word may come back in part), cut
    /// into syllables. `None` when no line is loose or no word there has a hyphenation point,
    /// which is most of the time, so most words are never looked up.
    fn hyphenate_loose(&mut self, atoms: &[Atom], breaks: &[usize], width: f32) -> Option<Vec<Atom>> {
        const LOOSE: f32 = 0.25;
        if !atoms.iter().any(|a| a.hyphenate) {
            return None;
        }
        let mut wanted = vec![false; breaks.len()];
        let mut start = 0;
        for (k, &end) in breaks.iter().enumerate() {
            let line = &atoms[start..end];
            let last = k + 1 == breaks.len() || line[line.len() - 1].hard_break;
            if !last {
                let natural: f32 = line.iter().map(|a| a.width + a.space).sum::<f32>() - line[line.len() - 1].space;
                let spaces: f32 = line[..line.len() - 1].iter().filter(|a| a.elastic).map(|a| a.space).sum();
                if width - natural > spaces * LOOSE {
                    wanted[k] = true;
                    if let Some(next) = wanted.get_mut(k + 1) {
                        *next = true;
                    }
                }
            }
            start = end;
        }
        if !wanted.contains(&true) {
            return None;
        }
        let mut out = Vec::with_capacity(atoms.len() * 2);
        let mut start = 0;
        for (k, &end) in breaks.iter().enumerate() {
            for a in &atoms[start..end] {
                if wanted[k] && a.hyphenate {
                    self.syllables(a, &mut out);
                } else {
                    out.push(a.clone());
                }
            }
            start = end;
        }
        (out.len() > atoms.len()).then_some(out)
    }

    /// Width of a hyphen in a face, in em.
    fn hyphen(&mut self, font: FontId) -> f32 {
        if let Some(Some(w)) = self.hyphens.get(font) {
            return *w;
        }
        let w = self.shaper.shape(font, "-").width;
        if let Some(slot) = self.hyphens.get_mut(font) {
            *slot = Some(w);
        }
        w
    }

    fn push_piece(&mut self, atoms: &mut Vec<Atom>, piece: &str, p: &AtomProto) {
        // A huge unbroken word is shaped in slices, which bounds the memory and
        // time of one shaping call; the slices are joined, and `split_long` cuts
        // the word into pieces that fill the line.
        const MAX_PIECE: usize = 256;
        let mut piece = piece;
        while piece.len() > MAX_PIECE {
            let mut end = MAX_PIECE;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.push_piece(atoms, &piece[..end], p);
            if let Some(a) = atoms.last_mut() {
                a.joined = true;
            }
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
            note: p.note,
            space: 0.0,
            elastic: false,
            breakable: false,
            hard_break: false,
            joined: false,
            hyphen: 0.0,
            foreign: false,
            syllable: None,
            hyphenate: false,
            level: Level::ltr(),
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
            note: None,
            hyphenate: false,
        };
        let mut atoms = Vec::new();
        self.push_piece(&mut atoms, line, &proto);
        atoms
    }

    /// Narrowest width the atoms can take (the widest atom) and their natural
    /// width on one line, in points.
    pub fn measure(atoms: &[Atom]) -> (f32, f32) {
        let mut min: f32 = 0.0;
        let mut word = 0.0;
        let mut line = 0.0;
        let mut max: f32 = 0.0;
        for a in atoms {
            word += a.width;
            if a.breakable || a.space > 0.0 || a.hard_break {
                min = min.max(word);
                word = 0.0;
            }
            line += a.width;
            if a.hard_break {
                max = max.max(line);
                line = 0.0;
            } else {
                line += a.space;
            }
        }
        (min.max(word), max.max(line))
    }

    /// Cut every word wider than `width` (a run of atoms with no break
    /// opportunity between them, in one style) into pieces that fill the line,
    /// at grapheme boundaries.
    fn split_long(&mut self, atoms: Vec<Atom>, width: f32) -> Vec<Atom> {
        let mut word = 0.0;
        let mut fits = true;
        for (k, a) in atoms.iter().enumerate() {
            word += a.width;
            fits &= word <= width;
            if atoms.get(k + 1).is_none_or(|b| !connected(a, b)) {
                word = 0.0;
            }
        }
        if fits {
            return atoms;
        }
        let mut out = Vec::with_capacity(atoms.len() + 8);
        let mut k = 0;
        while k < atoms.len() {
            // The word: atoms joined to the next one without a break, same style.
            let mut end = k + 1;
            let mut total = atoms[k].width;
            while end < atoms.len() && connected(&atoms[end - 1], &atoms[end]) {
                total += atoms[end].width;
                end += 1;
            }
            if total <= width {
                out.extend_from_slice(&atoms[k..end]);
                k = end;
                continue;
            }
            let text: String =
                atoms[k..end].iter().flat_map(|a| a.shaped.runs.iter()).map(|r| r.text.as_str()).collect();
            let (first, last) = (&atoms[k], &atoms[end - 1]);
            let chunks = self.chunk(&text, first.font, first.size, width * 0.98);
            let n = chunks.len();
            for (c, chunk) in chunks.into_iter().enumerate() {
                let shaped = self.shaper.shape(first.font, chunk);
                let is_last = c + 1 == n;
                out.push(Atom {
                    width: shaped.width * first.size,
                    shaped,
                    space: if is_last { last.space } else { 0.0 },
                    elastic: is_last && last.elastic,
                    breakable: !is_last || last.breakable,
                    hard_break: is_last && last.hard_break,
                    joined: false,
                    hyphen: 0.0,
                    foreign: false,
                    syllable: None,
                    hyphenate: false,
                    ..first.clone()
                });
            }
            k = end;
        }
        out
    }

    /// Greedy grapheme chunks of at most `width` (at least one grapheme each).
    fn chunk<'s>(&mut self, text: &'s str, font: FontId, size: f32, width: f32) -> Vec<&'s str> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut acc = 0.0;
        for (i, g) in text.grapheme_indices(true) {
            let w = self.shaper.shape(font, g).width * size;
            if acc + w > width && i > start {
                chunks.push(&text[start..i]);
                start = i;
                acc = 0.0;
            }
            acc += w;
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
        tagger: &mut Tagger<'_>,
    ) -> Vec<Line> {
        let width = width.max(1.0);
        let (atoms, base) = self.resolve_levels(atoms);
        let mut atoms = self.split_long(atoms, width);
        let justify = align == AlignMode::Justify;
        let mut breaks = break_lines(&atoms, width, justify);
        // Breaking again can leave another line loose, elsewhere: a few rounds at most.
        for _ in 0..if justify { 3 } else { 0 } {
            let Some(hyphenated) = self.hyphenate_loose(&atoms, &breaks, width) else { break };
            atoms = hyphenated;
            breaks = break_lines(&atoms, width, true);
        }
        let mut out = Vec::with_capacity(breaks.len());
        let mut start = 0;
        let n_lines = breaks.len();
        for (k, &end) in breaks.iter().enumerate() {
            let last = k + 1 == n_lines || atoms[end - 1].hard_break;
            let line = &atoms[start..end];
            if line.iter().any(|a| a.joined || a.syllable.is_some()) {
                let merged = self.words(line);
                out.push(self.place(&merged, width, align, last, base, style, links, tagger));
            } else {
                out.push(self.place(line, width, align, last, base, style, links, tagger));
            }
            start = end;
        }
        out
    }

    /// The paragraph's embedding level and each atom's, by the Unicode bidirectional
    /// algorithm (UAX #9) over the paragraph's text: the paragraph direction is that of its
    /// first strong character, and a word whose characters resolve to different levels
    /// (`2013.` in Arabic text: the digits at level 2, the full stop at level 1) is cut
    /// into one atom per level, each shaped on its own and kept on one line with the next.
    /// A paragraph with no right-to-left run is left to right throughout: nothing to resolve.
    fn resolve_levels(&mut self, atoms: Vec<Atom>) -> (Vec<Atom>, Level) {
        if !atoms.iter().any(|a| a.shaped.rtl) {
            return (atoms, Level::ltr());
        }
        let mut text = String::new();
        let mut spans = Vec::with_capacity(atoms.len());
        for a in &atoms {
            let start = text.len();
            text.push_str(&atom_text(a));
            spans.push(start..text.len());
            if a.space > 0.0 || a.hard_break {
                text.push(' ');
            }
        }
        let info = ParagraphBidiInfo::new(&text, None);
        let mut out = Vec::with_capacity(atoms.len() + 4);
        for (a, span) in atoms.into_iter().zip(spans) {
            let levels = &info.levels[span.clone()];
            let Some(&first) = levels.first() else {
                out.push(a);
                continue;
            };
            if levels.iter().all(|&l| l == first) {
                let shaped = self.shaped_at(a.shaped.clone(), a.font, &text[span], first);
                out.push(Atom { width: shaped.width * a.size, shaped, level: first, ..a });
                continue;
            }
            let word = &text[span];
            let mut from = 0;
            while from < word.len() {
                let level = levels[from];
                let to =
                    (from..word.len()).find(|&i| word.is_char_boundary(i) && levels[i] != level).unwrap_or(word.len());
                let shaped = self.shaper.shape(a.font, &word[from..to]);
                let shaped = self.shaped_at(shaped, a.font, &word[from..to], level);
                let last = to == word.len();
                out.push(Atom {
                    width: shaped.width * a.size,
                    shaped,
                    level,
                    space: if last { a.space } else { 0.0 },
                    elastic: last && a.elastic,
                    breakable: last && a.breakable,
                    hard_break: last && a.hard_break,
                    hyphenate: false,
                    ..a.clone()
                });
                from = to;
            }
        }
        (out, info.paragraph_level)
    }

    /// Text shaped for its level: as its script says, except text shaped right to left at an
    /// even level (Arabic-Indic digits, which read left to right in Arabic text), shaped again
    /// left to right.
    fn shaped_at(&mut self, shaped: Rc<Shaped>, font: FontId, text: &str, level: Level) -> Rc<Shaped> {
        if shaped.rtl && !level.is_rtl() { self.shaper.shape_ltr(font, text) } else { shaped }
    }

    /// A line's atoms with the syllables and slices of each word joined again
    /// (shaped as one word), and the hyphen added when the line ends inside a word.
    fn words(&mut self, atoms: &[Atom]) -> Vec<Atom> {
        let mut out = Vec::with_capacity(atoms.len());
        let mut k = 0;
        while k < atoms.len() {
            let mut a = atoms[k].clone();
            // Syllables of one shaped word: its byte range on this line.
            let mut range = a.syllable;
            // Slices of a long word: their text joined.
            let mut text: Option<String> = None;
            while a.joined && k + 1 < atoms.len() {
                k += 1;
                let next = &atoms[k];
                match (&mut range, next.syllable) {
                    (Some(r), Some(n)) => r.1 = n.1,
                    _ => text.get_or_insert_with(|| atom_text(&a)).push_str(&atom_text(next)),
                }
                a.width += next.width;
                a.space = next.space;
                a.elastic = next.elastic;
                a.breakable = next.breakable;
                a.hard_break = next.hard_break;
                a.joined = next.joined;
                a.hyphen = next.hyphen;
                a.foreign = next.foreign;
            }
            let broken = a.joined && a.hyphen > 0.0;
            if let Some((from, to)) = range {
                let whole = (from as usize, to as usize) == (0, a.shaped.runs[0].text.len());
                if !whole || broken {
                    text = Some(a.shaped.runs[0].text[from as usize..to as usize].to_string());
                }
            }
            if broken {
                text.get_or_insert_with(|| atom_text(&a)).push('-');
            }
            if let Some(t) = text {
                a.shaped = self.shaper.shape(a.font, &t);
            }
            a.syllable = None;
            a.width = a.shaped.width * a.size;
            out.push(a);
            k += 1;
        }
        out
    }

    /// Place a line's atoms. A line with text of both directions is drawn in the visual
    /// order of UAX #9 (rule L2 over the atoms' levels), but its items are written in
    /// logical order, one per atom, each with its own space: its content reads in logical
    /// order, and a right-to-left atom, whose glyphs run backwards, is marked `reversed`
    /// so the writer draws them from the right.
    // The line's settings and the part's links and tagger, all needed per atom.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        atoms: &[Atom],
        width: f32,
        align: AlignMode,
        last: bool,
        base: Level,
        style: &TextStyle,
        links: &[LinkTarget],
        tagger: &mut Tagger<'_>,
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
        let spaces = atoms[..n.saturating_sub(1)].iter().filter(|a| a.space > 0.0 && a.elastic).count();
        let rtl_base = base.is_rtl();
        let bidi = rtl_base || atoms.iter().any(|a| a.level != base);
        let mut extra = 0.0;
        let mut letter = 0.0;
        let slack = (width - natural).max(0.0);
        let mut x = match align {
            // Shaping a hyphenated word as one can make a line a little wider than the breaker measured.
            _ if natural > width && spaces > 0 => {
                extra = (width - natural) / spaces as f32;
                0.0
            }
            AlignMode::Justify if !last && spaces > 0 => {
                let e = slack / spaces as f32;
                if e <= style.size * 1.2 {
                    (extra, letter) = loose_line(atoms, slack, spaces, style.size);
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

        let order: Vec<usize> = if bidi {
            BidiInfo::reorder_visual(&atoms.iter().map(|a| a.level).collect::<Vec<_>>())
        } else {
            (0..n).collect()
        };
        // Tags in logical order, so the elements of links are made in reading order.
        let tags: Vec<Tag> = atoms
            .iter()
            .map(|a| match (a.note, a.link) {
                (Some(_), _) => tagger.note_mark(),
                (None, Some(l)) => tagger.link(l),
                (None, None) => tagger.text(),
            })
            .collect();
        let mut items: Vec<Item> = Vec::new();
        let mut backgrounds: Vec<Item> = Vec::new();
        let mut current: Option<TextItem> = None;
        // The glyphs and text the line still has to place (a space after each atom counted),
        // so an item is allocated once for the rest of the line instead of growing run by run.
        let runs = || atoms.iter().flat_map(|a| &a.shaped.runs);
        let mut glyphs_left = runs().map(|r| r.glyphs.len()).sum::<usize>() + n + 1;
        let mut text_left = runs().map(|r| r.text.len()).sum::<usize>() + n + 1;
        let mut link_rect: Option<(usize, Rect)> = None;
        let mut notes = Vec::new();
        // A mixed-direction line's items by logical atom.
        let mut logical: Vec<Vec<Item>> = if bidi { vec![Vec::new(); n] } else { Vec::new() };
        for (pos, &i) in order.iter().enumerate() {
            let a = &atoms[i];
            let y = baseline - a.rise;
            let atom_x = x;
            let line_end = pos + 1 == order.len();
            let tracking = if a.code || a.shaped.rtl { 0.0 } else { letter };
            let tag = tags[i];
            let first_item = items.len();
            // The runs of a right-to-left atom (its letters and the punctuation another face
            // draws) go from the right.
            let run_count = a.shaped.runs.len();
            for r in 0..run_count {
                let run = &a.shaped.runs[if a.level.is_rtl() { run_count - 1 - r } else { r }];
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
                            tag,
                        });
                        x += w;
                    }
                    continue;
                }
                let same = !bidi
                    && current.as_ref().is_some_and(|t| {
                        t.font == run.font && t.size == a.size && t.colour == a.colour && t.y == y && t.tag == tag
                    });
                if !same {
                    flush(&mut current, &mut items);
                    current = Some(TextItem {
                        x,
                        y,
                        font: run.font,
                        size: a.size,
                        colour: a.colour,
                        glyphs: Vec::with_capacity(glyphs_left),
                        text: String::with_capacity(text_left),
                        tag,
                        reversed: bidi && run.rtl,
                    });
                }
                let last_run = line_end && r + 1 == run_count;
                glyphs_left = glyphs_left.saturating_sub(run.glyphs.len());
                text_left = text_left.saturating_sub(run.text.len());
                if let Some(t) = current.as_mut() {
                    let base = t.text.len() as u32;
                    t.text.push_str(&run.text);
                    for (k, g) in run.glyphs.iter().enumerate() {
                        // Letter spacing of a loose line, never after the line's last glyph.
                        let tracked = g.advance > 0.0 && !(last_run && k + 1 == run.glyphs.len());
                        let adv = g.advance * a.size + if tracked { tracking } else { 0.0 };
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
                    tag: LAYOUT,
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
                    tag: LAYOUT,
                });
            }
            if let Some(n) = a.note {
                // The mark is small: its link covers the height of the line's text.
                notes.push(n);
                items.push(Item::Link {
                    rect: Rect {
                        x: atom_x - 1.0,
                        y: baseline - style.size,
                        w: atom_end - atom_x + 2.0,
                        h: style.size * 1.3,
                    },
                    target: Target::Anchor(note_anchor(n)),
                    tag,
                });
            }
            if bidi {
                flush(&mut current, &mut items);
                let own = &mut logical[i];
                own.extend(items.drain(first_item..));
                if a.level.is_rtl() {
                    own.reverse();
                }
                // The atom's own space, in its text: the space drawn after it may be another's.
                if (a.space > 0.0 || a.hard_break)
                    && let Some(Item::Text(t)) = own.iter_mut().rev().find(|it| matches!(it, Item::Text(_)))
                {
                    self.push_space(t, 0.0);
                }
            }
            let space = order.get(pos + 1).map(|&next| space_between(atoms, i, next, rtl_base));
            let (space, elastic) = space.map_or((0.0, false), |k| (atoms[k].space, atoms[k].elastic));
            if space > 0.0 {
                let adv = if elastic { space + extra } else { space };
                if !bidi && let Some(t) = current.as_mut() {
                    self.push_space(t, adv);
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
                            push_link(&mut items, links, cur, r, tagger);
                        }
                        link_rect = Some((l, rect));
                    }
                }
            } else if let Some((cur, r)) = link_rect.take() {
                push_link(&mut items, links, cur, r, tagger);
            }
        }
        // A line that ends at a space or a hard break keeps its space (drawn without
        // advance), so text read from the structure keeps the words of two lines apart.
        // (A mixed-direction line gave each atom its space above.)
        if !bidi
            && atoms.last().is_some_and(|a| a.space > 0.0 || a.hard_break)
            && let Some(t) = current.as_mut()
        {
            self.push_space(t, 0.0);
        }
        flush(&mut current, &mut items);
        if let Some((cur, r)) = link_rect.take() {
            push_link(&mut items, links, cur, r, tagger);
        }
        backgrounds.extend(logical.into_iter().flatten());
        backgrounds.extend(items);
        Line { height, baseline, items: backgrounds, notes }
    }

    /// A space at the end of the item being built, `advance` points wide. It is drawn with
    /// the space glyph of the item's face (the width may come from the atom on the other
    /// side of it); a face without one leaves a gap only, never another face's glyph id.
    /// A reversed item ends at its left: its space (without advance) goes first.
    fn push_space(&self, t: &mut TextItem, advance: f32) {
        let Some(gid) = self.shaper.fonts().faces.get(t.font).and_then(|f| f.shaper.glyph_index(' ')) else {
            return;
        };
        let base = t.text.len() as u32;
        t.text.push(' ');
        let space =
            PlacedGlyph { gid: gid.0, advance, x_offset: 0.0, y_offset: 0.0, text_start: base, text_end: base + 1 };
        if t.reversed {
            t.glyphs.insert(0, space);
        } else {
            t.glyphs.push(space);
        }
    }
}

/// Word spacing and letter spacing of a justified line with `slack` points to
/// fill over `spaces` elastic spaces. Spaces take the slack up to half again
/// their width; a looser line also spaces its letters, by at most 2 % of the
/// type size, and the spaces take the rest.
fn loose_line(atoms: &[Atom], slack: f32, spaces: usize, size: f32) -> (f32, f32) {
    let n = atoms.len();
    let space_width: f32 = atoms[..n.saturating_sub(1)].iter().filter(|a| a.elastic).map(|a| a.space).sum();
    if slack <= space_width * 0.5 {
        return (slack / spaces as f32, 0.0);
    }
    let glyphs = atoms
        .iter()
        .filter(|a| !a.code && !a.shaped.rtl)
        .flat_map(|a| a.shaped.runs.iter())
        .flat_map(|r| r.glyphs.iter())
        .filter(|g| g.advance > 0.0)
        .count()
        .saturating_sub(1);
    if glyphs == 0 {
        return (slack / spaces as f32, 0.0);
    }
    let letter = ((slack - space_width * 0.5) / glyphs as f32).min(size * 0.02);
    ((slack - letter * glyphs as f32) / spaces as f32, letter)
}

struct AtomProto {
    font: FontId,
    size: f32,
    colour: Rgb,
    rise: f32,
    strike: bool,
    code: bool,
    link: Option<usize>,
    note: Option<usize>,
    hyphenate: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The text an atom stands for.
fn atom_text(a: &Atom) -> String {
    match a.syllable {
        Some((from, to)) => a.shaped.runs[0].text[from as usize..to as usize].to_string(),
        None => a.shaped.runs.iter().map(|r| r.text.as_str()).collect(),
    }
}

/// `b` continues the word `a` ends: no break opportunity, no space, one style.
fn connected(a: &Atom, b: &Atom) -> bool {
    !a.breakable
        && !a.hard_break
        && a.space == 0.0
        && a.font == b.font
        && a.size == b.size
        && a.colour == b.colour
        && a.rise == b.rise
        && a.link == b.link
        && a.code == b.code
        && a.strike == b.strike
}

/// French spacing: the space before `:`, `;`, `!`, `?`, `»` and `›` and the
/// space after `«` and `‹` stretch like any other, but no line breaks there, so
/// the punctuation stays with its word (also across a change of style).
fn keep_french_punctuation(atoms: &mut [Atom]) {
    for k in 0..atoms.len().saturating_sub(1) {
        if atoms[k].space == 0.0 || atoms[k].hard_break {
            continue;
        }
        let ends_open =
            atoms[k].shaped.runs.last().and_then(|r| r.text.chars().last()).is_some_and(|c| matches!(c, '«' | '‹'));
        let next_closes = atoms[k + 1]
            .shaped
            .runs
            .first()
            .and_then(|r| r.text.chars().next())
            .is_some_and(|c| matches!(c, ':' | ';' | '!' | '?' | '»' | '›'));
        if ends_open || next_closes {
            atoms[k].breakable = false;
        }
    }
}

fn flush(current: &mut Option<TextItem>, items: &mut Vec<Item>) {
    if let Some(mut t) = current.take()
        && !t.glyphs.is_empty()
    {
        // The item was given room for the rest of its line, and is held until the writer
        // draws its page: what another item of the line took is not kept.
        t.glyphs.shrink_to_fit();
        t.text.shrink_to_fit();
        items.push(Item::Text(t));
    }
}

fn push_link(items: &mut Vec<Item>, links: &[LinkTarget], idx: usize, rect: Rect, tagger: &mut Tagger<'_>) {
    let target = match links.get(idx) {
        Some(LinkTarget::Uri(u)) => Target::Uri(u.clone()),
        Some(LinkTarget::Anchor(a) | LinkTarget::PartAnchor(_, a)) => Target::Anchor(a.clone()),
        None => return,
    };
    items.push(Item::Link { rect, target, tag: tagger.link(idx) });
}

/// The atom whose space is drawn between two atoms that are neighbours in
/// visual order: the logical space between them, or at the edge of a reversed
/// run the space that separates the run from its neighbour.
fn space_between(atoms: &[Atom], u: usize, v: usize, rtl_base: bool) -> usize {
    let flipped = |k: usize| atoms[k].level.is_rtl() != rtl_base;
    if u.abs_diff(v) == 1 {
        u.min(v)
    } else if u < v {
        if flipped(v) { u } else { v - 1 }
    } else if flipped(u) {
        v
    } else {
        u - 1
    }
}

/// Line ends (exclusive atom indices) minimising the paragraph's demerits.
///
/// A line may end after a breakable atom, or after a syllable at the cost of a
/// hyphen (more for a point of the other language's patterns, more when the line before also ended with one, or when the last
/// line would start with the rest of a hyphenated word). Ending after any other
/// atom is an illegal break: allowed, so a run of unbreakable atoms wider than
/// the line still breaks instead of overflowing, but at a penalty above the
/// demerits of the loosest line. Justified spaces stretch (badness 100 at half
/// again their width) and shrink to 80 %; ragged text costs only its penalties.
/// Candidates per line are bounded by the line width and by `MAX_LOOKBACK`, so
/// the work is linear in the number of atoms.
fn break_lines(atoms: &[Atom], width: f32, justify: bool) -> Vec<usize> {
    const MAX_LOOKBACK: usize = 1000;
    const MAX_BADNESS: f64 = 10_000.0;
    // Above (1 + MAX_BADNESS)^2, the demerits of the loosest line.
    const ILLEGAL: f64 = 1.0e10;
    const HYPHEN: f64 = 2_500.0;
    // A point only the other language's patterns give: taken where the
    // alternative is a line with spaces at about 160 % of their width.
    const FOREIGN_HYPHEN: f64 = 40_000.0;
    const DOUBLE_HYPHEN: f64 = 10_000.0;
    const FINAL_HYPHEN: f64 = 5_000.0;
    let n = atoms.len();
    if n == 0 {
        return Vec::new();
    }
    let width = f64::from(width);
    // Per atom, whether a line ending after it ends at a hyphen: read for every start tried,
    // from a small array rather than from the atoms.
    let hyphen_ends: Vec<bool> = atoms.iter().map(|a| !a.breakable && a.joined && a.hyphen > 0.0).collect();
    // The stretch ratio at which a loose line reaches MAX_BADNESS: every looser line costs the same.
    let loosest = (MAX_BADNESS / 100.0).cbrt();
    // prefix[k]: width of atoms[..k] with their trailing spaces; elastic[k]: the
    // spaces that stretch and shrink among them; slack[k]: the width at which a line of
    // them would be the loosest (each space stretched to its limit).
    let mut prefix = vec![0.0f64; n + 1];
    let mut elastic = vec![0.0f64; n + 1];
    let mut slack = vec![0.0f64; n + 1];
    // paragraph[j]: where a line ending at j may start at the earliest, after
    // the last hard break before its end.
    let mut paragraph = vec![0usize; n + 1];
    for (k, a) in atoms.iter().enumerate() {
        prefix[k + 1] = prefix[k] + f64::from(a.width) + f64::from(a.space);
        elastic[k + 1] = elastic[k] + if a.elastic { f64::from(a.space) } else { 0.0 };
        slack[k + 1] = prefix[k + 1] + loosest * 0.5 * elastic[k + 1];
        paragraph[k + 1] = if k > 0 && atoms[k - 1].hard_break { k } else { paragraph[k] };
    }
    let mut cost = vec![f64::INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    cost[0] = 0.0;
    let (mut by_spaces_from, mut by_measure_from) = (0, 0);
    for j in 1..=n {
        let end = &atoms[j - 1];
        let last_line = j == n || end.hard_break;
        let hyphenated = !last_line && hyphen_ends[j - 1];
        let penalty = if end.breakable || j == n {
            0.0
        } else if hyphenated && end.foreign {
            FOREIGN_HYPHEN
        } else if hyphenated {
            HYPHEN
        } else {
            ILLEGAL
        };
        let hyphen = if hyphenated { f64::from(end.hyphen) } else { 0.0 };
        let end_elastic = if end.elastic { f64::from(end.space) } else { 0.0 };
        let lower = j.saturating_sub(MAX_LOOKBACK).max(paragraph[j]);
        // A justified line so short that it is the loosest even with every space stretched
        // to its limit costs the same whatever it holds: such starts are tried only when no
        // other one can end here. They are the starts from `top` on: the line is at most
        // `width` with its spaces stretched `loosest` times half their width, and not wider
        // than `loosest` hundredths of the measure short of it (the least slack counted).
        let top = if justify && !last_line {
            let extra = f64::from(end.space) - hyphen;
            let by_spaces = slack[j] - extra - loosest * 0.5 * end_elastic - width;
            let by_measure = prefix[j] - extra - width * (1.0 - loosest / 100.0);
            // Both bounds move forward with `j` (give or take the end's space and hyphen):
            // walked from where they were, not searched for afresh.
            first_at_least(&slack, by_spaces, &mut by_spaces_from)
                .max(first_at_least(&prefix, by_measure, &mut by_measure_from))
                .clamp(lower, j)
        } else {
            j
        };
        for (hi, lo) in [(top, lower), (j, top)] {
            if hi == j && top < j && cost[j].is_finite() {
                break;
            }
            let mut i = hi;
            while i > lo {
                i -= 1;
                let natural = prefix[j] - prefix[i] - f64::from(end.space) + hyphen;
                let spaces = elastic[j] - elastic[i] - end_elastic;
                let shrink = if justify { spaces * 0.2 } else { 0.0 };
                if natural - shrink > width + 0.01 && i + 1 < j {
                    break;
                }
                if !cost[i].is_finite() {
                    continue;
                }
                let badness = if !justify || (last_line && natural <= width) {
                    0.0
                } else if natural > width {
                    let r = (natural - width) / shrink.max(1.0e-3);
                    (100.0 * r * r * r).min(MAX_BADNESS)
                } else {
                    let r = (width - natural) / (spaces * 0.5).max(width * 0.01);
                    (100.0 * r * r * r).min(MAX_BADNESS)
                };
                let after_hyphen = i > 0 && hyphen_ends[i - 1];
                let mut demerits = (1.0 + badness) * (1.0 + badness) + penalty;
                if after_hyphen && hyphenated {
                    demerits += DOUBLE_HYPHEN;
                }
                if after_hyphen && last_line {
                    demerits += FINAL_HYPHEN;
                }
                let c = cost[i] + demerits;
                if c < cost[j] {
                    cost[j] = c;
                    from[j] = i;
                }
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

/// The first index of the nondecreasing `values` holding at least `bound` (`partition_point`),
/// walked to from `at`, where the last answer was, and left there for the next.
fn first_at_least(values: &[f64], bound: f64, at: &mut usize) -> usize {
    let mut k = (*at).min(values.len());
    while k < values.len() && values[k] < bound {
        k += 1;
    }
    while k > 0 && values[k - 1] >= bound {
        k -= 1;
    }
    *at = k;
    k
}

#[cfg(test)]
mod tests {
    //! The line breaker as data: no line wider than its measure, words kept in
    //! order, long words cut.

    use super::*;
    use crate::render::structure::StructTree;
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
            hyphenate: false,
        }
    }

    /// The line breaker's tests draw artifacts: no structure tree to build.
    fn untagged() -> Tagger<'static> {
        Tagger::new(Box::leak(Box::new(StructTree::new("en"))), LAYOUT)
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
    fn walking_to_a_bound_finds_what_a_search_finds() {
        let values = [0.0, 1.0, 1.0, 2.5, 4.0, 4.0, 7.0];
        let mut at = 0;
        for bound in [-1.0, 0.5, 1.0, 4.0, 3.0, 9.0, 0.0, 7.0, 6.9] {
            let found = first_at_least(&values, bound, &mut at);
            assert_eq!(found, values.partition_point(|&v| v < bound), "bound {bound}");
        }
    }

    #[test]
    fn lines_fit_their_measure_and_keep_every_word() {
        let template = Template::builtin();
        let fonts = FontSet::load(&template).expect("fonts");
        let mut engine = TextEngine::new(&fonts, "en");
        let s = style();
        let para = "Participants described the atmosphere as a kind of smörgåsbord, a rencontre where \
                    the chef met the public. https://data.example.org/open/a-very-long-path/with/many/segments.csv \
                    Supercalifragilisticexpialidociouswithoutanybreakopportunityatall ends it.";
        for width in [60.0, 120.0, 250.0, 400.0] {
            let atoms = engine.atoms(&text(para), &s);
            let lines = engine.lines(atoms, width, AlignMode::Justify, &s, &[], &mut untagged());
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
        let mut engine = TextEngine::new(&fonts, "en");
        let s = style();
        let mut inl = text("one");
        inl.push(Inline::Break);
        inl.extend(text("two"));
        let atoms = engine.atoms(&inl, &s);
        assert_eq!(engine.lines(atoms, 400.0, AlignMode::Left, &s, &[], &mut untagged()).len(), 2);
        let atoms = engine.atoms(&text("漢字漢字漢字漢字漢字漢字漢字漢字"), &s);
        let lines = engine.lines(atoms, 40.0, AlignMode::Left, &s, &[], &mut untagged());
        assert!(lines.len() >= 3, "CJK text should wrap between characters");
    }
}
