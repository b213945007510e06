//! The faces a rendering may use: the template's regular, bold, italic, bold
//! italic and monospace faces, then its extra faces as fallbacks for scripts the
//! main family lacks (each face of a collection is a face of its own). Faces
//! borrow the template's font bytes for the length of one rendering; nothing is
//! read from the machine.

use rustybuzz::ttf_parser::name_id;

use super::RenderError;
use super::template::{FontData, Template};

/// Index of a face in a [`FontSet`].
pub(crate) type FontId = usize;

pub(crate) const REGULAR: FontId = 0;
pub(crate) const BOLD: FontId = 1;
pub(crate) const ITALIC: FontId = 2;
pub(crate) const BOLD_ITALIC: FontId = 3;
pub(crate) const MONO: FontId = 4;
const FIRST_EXTRA: FontId = 5;

/// One parsed face.
pub(crate) struct Face<'t> {
    pub shaper: rustybuzz::Face<'t>,
    /// The font file (a whole collection for a face of a `.ttc`).
    pub data: &'t [u8],
    /// The face's index in `data`.
    pub index: u32,
    /// PostScript name, used for the PDF /BaseFont.
    pub name: String,
    pub units_per_em: f32,
    /// Ascender and descender in em (descender negative).
    pub ascender: f32,
    pub descender: f32,
    /// `true` for TrueType outlines (`glyf`); CFF faces are embedded differently.
    pub truetype: bool,
}

/// All faces of one rendering.
pub(crate) struct FontSet<'t> {
    pub faces: Vec<Face<'t>>,
}

impl<'t> FontSet<'t> {
    /// Parse the template's faces. A face that does not parse is a [`RenderError::MissingFont`].
    pub fn load(template: &'t Template) -> Result<FontSet<'t>, RenderError> {
        let f = &template.fonts;
        let all = [&f.regular, &f.bold, &f.italic, &f.bold_italic, &f.mono].into_iter().chain(f.extra.iter());
        let faces = all.map(parse_face).collect::<Result<Vec<_>, _>>()?;
        Ok(FontSet { faces })
    }

    /// The face of the main family for a style.
    pub fn primary(strong: bool, emphasis: bool, code: bool) -> FontId {
        match (code, strong, emphasis) {
            (true, _, _) => MONO,
            (false, true, true) => BOLD_ITALIC,
            (false, true, false) => BOLD,
            (false, false, true) => ITALIC,
            (false, false, false) => REGULAR,
        }
    }

    /// The first face that has a glyph for `c`: the preferred face, then the
    /// extra faces, then the other faces of the family.
    pub fn covering(&self, preferred: FontId, c: char) -> Option<FontId> {
        let order = std::iter::once(preferred).chain(FIRST_EXTRA..self.faces.len()).chain([
            REGULAR,
            BOLD,
            ITALIC,
            BOLD_ITALIC,
            MONO,
        ]);
        order.into_iter().find(|&id| self.faces.get(id).is_some_and(|f| f.shaper.glyph_index(c).is_some()))
    }
}

fn parse_face(font: &FontData) -> Result<Face<'_>, RenderError> {
    let missing = |reason: &str| RenderError::MissingFont { path: font.path.clone(), reason: reason.to_string() };
    let shaper =
        rustybuzz::Face::from_slice(font.data(), font.index).ok_or_else(|| missing("not a TrueType/OpenType font"))?;
    let upem = shaper.units_per_em() as f32;
    if upem <= 0.0 {
        return Err(missing("units per em is zero"));
    }
    let name = shaper
        .names()
        .into_iter()
        .filter(|n| n.name_id == name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .map(|n| n.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Font".to_string());
    let truetype = shaper.tables().glyf.is_some();
    Ok(Face {
        ascender: shaper.ascender() as f32 / upem,
        descender: shaper.descender() as f32 / upem,
        units_per_em: upem,
        name,
        truetype,
        data: font.data(),
        index: font.index,
        shaper,
    })
}
