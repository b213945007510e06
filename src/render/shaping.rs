//! Text shaping with rustybuzz (kerning, ligatures, complex scripts) and the
//! per-rendering cache of shaped words. Reports repeat their vocabulary, so most
//! words are shaped once; the cache is dropped with the rendering, so it never
//! outlives its input.
//!
//! A word is shaped with its preferred face first; only if that face lacks a glyph
//! is it split into runs by coverage, with characters no face covers kept as
//! placeholder runs that the layout draws as boxes and reports as warnings.

use std::rc::Rc;

use foldhash::HashMap;

use rustybuzz::{Direction, Script, ShapePlan, UnicodeBuffer};

use super::fonts::{FontId, FontSet};

/// One glyph, in em units of its font.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    pub gid: u16,
    pub advance: f32,
    pub x_offset: f32,
    pub y_offset: f32,
    /// Byte range of the text this glyph stands for in the run's text; empty for
    /// the second and later glyphs of one cluster.
    pub text_start: u32,
    pub text_end: u32,
}

/// A run of glyphs from one face (or a placeholder for uncovered characters).
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub font: FontId,
    pub glyphs: Vec<Glyph>,
    pub text: String,
    /// Width in em.
    pub width: f32,
    /// Characters no face covers; drawn as one box each.
    pub placeholder: bool,
    pub rtl: bool,
}

/// A shaped word: one run in the common case.
#[derive(Debug, Clone)]
pub(crate) struct Shaped {
    pub runs: Vec<Run>,
    /// Width in em.
    pub width: f32,
    pub rtl: bool,
}

/// Width of a placeholder box, in em.
pub(crate) const PLACEHOLDER_EM: f32 = 0.6;

/// Shapes words and remembers the result for the rest of the rendering.
pub(crate) struct Shaper<'f, 't> {
    fonts: &'f FontSet<'t>,
    /// Per face, shaped words by text.
    cache: Vec<HashMap<String, Rc<Shaped>>>,
    /// Words shaped left to right against their script's direction, by face and text.
    ltr: HashMap<(FontId, String), Rc<Shaped>>,
    buffer: Option<UnicodeBuffer>,
    /// Shape plans are costly to build (rustybuzz parses the layout features each
    /// time), so one is kept per face, direction and script.
    plans: Vec<(FontId, Direction, Script, ShapePlan)>,
}

impl<'f, 't> Shaper<'f, 't> {
    pub fn new(fonts: &'f FontSet<'t>) -> Self {
        Shaper {
            fonts,
            cache: vec![HashMap::default(); fonts.faces.len()],
            ltr: HashMap::default(),
            buffer: Some(UnicodeBuffer::new()),
            plans: Vec::new(),
        }
    }

    pub fn fonts(&self) -> &'f FontSet<'t> {
        self.fonts
    }

    /// Shape `text` (no line breaks inside) preferring face `font`.
    pub fn shape(&mut self, font: FontId, text: &str) -> Rc<Shaped> {
        if let Some(hit) = self.cache.get(font).and_then(|c| c.get(text)) {
            return hit.clone();
        }
        let shaped = Rc::new(self.shape_uncached(font, text, None));
        if let Some(c) = self.cache.get_mut(font) {
            c.insert(text.to_string(), shaped.clone());
        }
        shaped
    }

    /// [`Shaper::shape`], left to right whatever the script says: Arabic-Indic digits, which
    /// the bidirectional algorithm sets left to right inside Arabic text.
    pub fn shape_ltr(&mut self, font: FontId, text: &str) -> Rc<Shaped> {
        let key = (font, text.to_string());
        if let Some(hit) = self.ltr.get(&key) {
            return hit.clone();
        }
        let shaped = Rc::new(self.shape_uncached(font, text, Some(Direction::LeftToRight)));
        self.ltr.insert(key, shaped.clone());
        shaped
    }

    /// Shape `text`, in `direction` or the one its script guesses.
    fn shape_uncached(&mut self, font: FontId, text: &str, direction: Option<Direction>) -> Shaped {
        let first = self.shape_run(font, text, direction);
        let runs = if first.glyphs.iter().any(|g| g.gid == 0) {
            self.shape_by_coverage(font, text, direction)
        } else {
            vec![first]
        };
        let width = runs.iter().map(|r| r.width).sum();
        let rtl = runs.iter().any(|r| r.rtl);
        Shaped { runs, width, rtl }
    }

    /// Split `text` into runs of characters that share a covering face.
    fn shape_by_coverage(&mut self, font: FontId, text: &str, direction: Option<Direction>) -> Vec<Run> {
        let mut pieces: Vec<(Option<FontId>, usize, usize)> = Vec::new();
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            // Marks and joiners stay with the character before them.
            let sticky = is_sticky(c);
            let face = if sticky { pieces.last().map(|p| p.0).unwrap_or(None) } else { self.fonts.covering(font, c) };
            match pieces.last_mut() {
                Some(last) if last.0 == face || sticky => last.2 = end,
                _ => pieces.push((face, i, end)),
            }
        }
        pieces
            .into_iter()
            .map(|(face, s, e)| match face {
                Some(f) => self.shape_run(f, &text[s..e], direction),
                None => {
                    let t = &text[s..e];
                    let n = t.chars().filter(|c| !is_sticky(*c)).count().max(1);
                    Run {
                        font,
                        glyphs: Vec::new(),
                        text: t.to_string(),
                        width: PLACEHOLDER_EM * n as f32,
                        placeholder: true,
                        rtl: false,
                    }
                }
            })
            .collect()
    }

    fn shape_run(&mut self, font: FontId, text: &str, direction: Option<Direction>) -> Run {
        let face = &self.fonts.faces[font];
        let mut buffer = self.buffer.take().unwrap_or_default();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        if let Some(direction) = direction {
            buffer.set_direction(direction);
        }
        let (direction, script) = (buffer.direction(), buffer.script());
        let rtl = direction == Direction::RightToLeft;
        let k = match self.plans.iter().position(|p| p.0 == font && p.1 == direction && p.2 == script) {
            Some(k) => k,
            None => {
                let plan = ShapePlan::new(&face.shaper, direction, Some(script), None, &[]);
                self.plans.push((font, direction, script, plan));
                self.plans.len() - 1
            }
        };
        let output = rustybuzz::shape_with_plan(&face.shaper, &self.plans[k].3, buffer);
        let scale = 1.0 / face.units_per_em;
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let mut starts: Vec<u32> = infos.iter().map(|g| g.cluster).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        for (k, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            let same_as_previous = k > 0 && infos[k - 1].cluster == info.cluster;
            // The cluster's text ends where the next cluster (in logical order) starts.
            let end = if same_as_previous {
                start
            } else {
                let next = starts.partition_point(|&c| c <= info.cluster);
                starts.get(next).map(|&c| c as usize).unwrap_or(text.len())
            };
            let advance = pos.x_advance as f32 * scale;
            width += advance;
            glyphs.push(Glyph {
                gid: u16::try_from(info.glyph_id).unwrap_or(0),
                advance,
                x_offset: pos.x_offset as f32 * scale,
                y_offset: pos.y_offset as f32 * scale,
                text_start: start as u32,
                text_end: end as u32,
            });
        }
        self.buffer = Some(output.clear());
        Run { font, glyphs, text: text.to_string(), width, placeholder: false, rtl }
    }
}

/// Characters that belong to the preceding character for font selection.
fn is_sticky(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x200C | 0x200D | 0xFE00..=0xFE0F | 0x0610..=0x061A | 0x064B..=0x065F | 0x0591..=0x05C7)
}
