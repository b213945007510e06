//! The report template as data: page geometry, fonts, sizes, colours, the cover,
//! header and footer texts with `{placeholders}`, and the list of sections a
//! Membership Monitoring Report is expected to have (UCCN.md §4.4) in English and
//! French, which the upload check reuses. The shipped template lives in
//! `report_templates/mmr/` and is compiled into the binary.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::RenderError;

const BUILTIN_JSON: &str = include_str!("../../report_templates/mmr/template.json");
const BUILTIN_FONTS: [(&str, &[u8]); 6] = [
    ("fonts/NotoSerif-Regular.ttf", include_bytes!("../../report_templates/mmr/fonts/NotoSerif-Regular.ttf")),
    ("fonts/NotoSerif-Bold.ttf", include_bytes!("../../report_templates/mmr/fonts/NotoSerif-Bold.ttf")),
    ("fonts/NotoSerif-Italic.ttf", include_bytes!("../../report_templates/mmr/fonts/NotoSerif-Italic.ttf")),
    ("fonts/NotoSerif-BoldItalic.ttf", include_bytes!("../../report_templates/mmr/fonts/NotoSerif-BoldItalic.ttf")),
    ("fonts/NotoSansMono-Regular.ttf", include_bytes!("../../report_templates/mmr/fonts/NotoSansMono-Regular.ttf")),
    (
        "fonts/NotoSansSymbols2-Regular.ttf",
        include_bytes!("../../report_templates/mmr/fonts/NotoSansSymbols2-Regular.ttf"),
    ),
];

/// Paper size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PageSize {
    A4,
    Letter,
}

impl PageSize {
    /// Width and height in points.
    pub fn points(self) -> (f32, f32) {
        match self {
            PageSize::A4 => (595.276, 841.89),
            PageSize::Letter => (612.0, 792.0),
        }
    }
}

/// Which document a section belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Report,
    ActionPlan,
}

/// One expected section of the report, as the upload check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Section {
    /// Stable key, e.g. `executive_summary`.
    pub key: String,
    /// Number in the guidelines, e.g. `6.3`.
    pub number: String,
    /// English heading.
    pub en: String,
    /// French heading.
    pub fr: String,
    pub required: bool,
    pub part: Part,
    /// One line under the heading in a new report's skeleton: what the section should
    /// contain, in English.
    #[serde(default)]
    pub prompt_en: String,
    /// The same in French.
    #[serde(default)]
    pub prompt_fr: String,
}

impl Section {
    /// The heading in `language` (`fr`: French; anything else: English).
    pub fn title(&self, language: &str) -> &str {
        if language == "fr" { &self.fr } else { &self.en }
    }

    /// The skeleton's prompt in `language`, as [`Section::title`].
    pub fn prompt(&self, language: &str) -> &str {
        if language == "fr" { &self.prompt_fr } else { &self.prompt_en }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageSpec {
    pub size: PageSize,
    pub margin_top_mm: f32,
    pub margin_right_mm: f32,
    pub margin_bottom_mm: f32,
    pub margin_left_mm: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FontSpec {
    regular: String,
    bold: String,
    italic: String,
    bold_italic: String,
    mono: String,
    /// Fallback faces, in order.
    #[serde(default)]
    extra: Vec<String>,
    /// A directory whose `.ttf`/`.otf` files are added as fallbacks after `extra`.
    extra_dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sizes {
    pub body: f32,
    pub line_height: f32,
    pub headings: [f32; 6],
    pub code: f32,
    pub table: f32,
    pub footnote: f32,
    pub header_footer: f32,
    pub cover_title: f32,
    pub cover_city: f32,
    pub paragraph_spacing: f32,
}

/// An sRGB colour, components 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub f32, pub f32, pub f32);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColourSpec {
    text: String,
    heading: String,
    link: String,
    muted: String,
    rule: String,
    code_background: String,
    quote_bar: String,
    table_header_background: String,
    table_rule: String,
    placeholder: String,
    accent: String,
}

/// Resolved colours.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Colours {
    pub text: Rgb,
    pub heading: Rgb,
    pub link: Rgb,
    pub muted: Rgb,
    pub rule: Rgb,
    pub code_background: Rgb,
    pub quote_bar: Rgb,
    pub table_header_background: Rgb,
    pub table_rule: Rgb,
    pub placeholder: Rgb,
    pub accent: Rgb,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Texts {
    pub cover_kicker: String,
    pub cover_title: String,
    pub cover_subtitle: String,
    pub cover_fields: Vec<(String, String)>,
    pub header: String,
    pub footer: String,
    pub contents: String,
    pub part_report: String,
    pub part_action_plan: String,
    pub status_draft: String,
    pub status_submitted: String,
    pub status_accepted: String,
    pub image_missing: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    version: String,
    language: String,
    page: PageSpec,
    fonts: FontSpec,
    sizes: Sizes,
    colours: ColourSpec,
    texts: Texts,
    /// The same texts in other languages, by primary language subtag (`fr`).
    #[serde(default)]
    translations: BTreeMap<String, Texts>,
    toc_depth: u8,
    sections: Vec<Section>,
}

/// One face of a font file, with the name it was loaded under (for messages). The
/// faces of a collection (`.ttc`) share the file's bytes.
#[derive(Debug, Clone)]
pub(crate) struct FontData {
    pub path: String,
    pub bytes: Arc<Cow<'static, [u8]>>,
    /// The face's index in a collection; 0 in a single-face file.
    pub index: u32,
}

impl FontData {
    /// Every face of a font file: one for a `.ttf`/`.otf`, each face of a collection.
    fn faces(path: String, bytes: Cow<'static, [u8]>) -> Vec<FontData> {
        let count = rustybuzz::ttf_parser::fonts_in_collection(&bytes).unwrap_or(1);
        let bytes = Arc::new(bytes);
        (0..count).map(|index| FontData { path: path.clone(), bytes: bytes.clone(), index }).collect()
    }

    /// The font file's bytes (the whole collection for a face of a `.ttc`).
    pub fn data(&self) -> &[u8] {
        &self.bytes
    }
}

/// Whether a file name is a font this renderer loads (TrueType or OpenType, single or
/// collection).
fn is_font_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".ttf", ".otf", ".ttc", ".otc"].iter().any(|ext| lower.ends_with(ext))
}

/// The font files of a directory (not its subdirectories; symbolic links followed), in
/// file-name order, each face of a collection apart.
fn fonts_in_dir(dir: &Path) -> Result<Vec<FontData>, RenderError> {
    let missing = |path: &Path, e: std::io::Error| RenderError::MissingFont {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| missing(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_font_file(n))
        .collect();
    names.sort();
    let mut faces = Vec::new();
    for n in names {
        let p = dir.join(&n);
        let bytes = std::fs::read(&p).map_err(|e| missing(&p, e))?;
        faces.extend(FontData::faces(p.display().to_string(), Cow::Owned(bytes)));
    }
    Ok(faces)
}

/// The fonts of a template: the five roles plus extra fallback faces.
#[derive(Debug, Clone)]
pub(crate) struct TemplateFonts {
    pub regular: FontData,
    pub bold: FontData,
    pub italic: FontData,
    pub bold_italic: FontData,
    pub mono: FontData,
    /// Fallbacks for scripts the main family lacks (CJK, Arabic, Hebrew...), in
    /// file-name order.
    pub extra: Vec<FontData>,
}

/// A loaded, validated template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    version: String,
    language: String,
    pub(crate) page: PageSpec,
    pub(crate) sizes: Sizes,
    pub(crate) colours: Colours,
    pub(crate) texts: Texts,
    translations: BTreeMap<String, Texts>,
    pub(crate) toc_depth: u8,
    sections: Vec<Section>,
    pub(crate) fonts: TemplateFonts,
}

impl Template {
    /// The shipped MMR template, fonts included; needs no file at run time.
    pub fn builtin() -> Template {
        let file: TemplateFile = match serde_json::from_str(BUILTIN_JSON) {
            Ok(file) => file,
            // The shipped JSON is checked by a test; this arm is unreachable in a build
            // that passed it.
            Err(e) => panic!("the built-in template is invalid: {e}"),
        };
        let font = |path: &str| -> FontData {
            // The shipped JSON and this table change together; any test that
            // renders catches a mismatch.
            let Some(bytes) = BUILTIN_FONTS.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes) else {
                panic!("the built-in template names {path}, which is not compiled in");
            };
            FontData { path: path.to_string(), bytes: Arc::new(Cow::Borrowed(bytes)), index: 0 }
        };
        let fonts = TemplateFonts {
            regular: font(&file.fonts.regular),
            bold: font(&file.fonts.bold),
            italic: font(&file.fonts.italic),
            bold_italic: font(&file.fonts.bold_italic),
            mono: font(&file.fonts.mono),
            extra: file.fonts.extra.iter().map(|p| font(p)).collect(),
        };
        match Template::assemble(file, fonts, "built-in template") {
            Ok(t) => t,
            Err(e) => panic!("the built-in template is invalid: {e}"),
        }
    }

    /// Load a template directory: `template.json` plus the font files it names,
    /// relative to the directory, and every font file of `fonts.extra_dir`
    /// (`.ttf`, `.otf`, and each face of a `.ttc`/`.otc` collection).
    pub fn load(dir: &Path) -> Result<Template, RenderError> {
        let path = dir.join("template.json");
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RenderError::BadTemplate { path: shown.clone(), reason: e.to_string() })?;
        let file: TemplateFile = serde_json::from_str(&text)
            .map_err(|e| RenderError::BadTemplate { path: shown.clone(), reason: e.to_string() })?;
        let read = |rel: &str| -> Result<Vec<FontData>, RenderError> {
            let p = dir.join(rel);
            let bytes = std::fs::read(&p)
                .map_err(|e| RenderError::MissingFont { path: p.display().to_string(), reason: e.to_string() })?;
            Ok(FontData::faces(p.display().to_string(), Cow::Owned(bytes)))
        };
        // A role names one face: the first of a collection.
        let role = |rel: &str| -> Result<FontData, RenderError> {
            read(rel)?.into_iter().next().ok_or_else(|| RenderError::MissingFont {
                path: dir.join(rel).display().to_string(),
                reason: "the collection has no face".to_string(),
            })
        };
        let mut extra = Vec::new();
        for p in &file.fonts.extra {
            extra.extend(read(p)?);
        }
        if let Some(extra_dir) = &file.fonts.extra_dir {
            extra.extend(fonts_in_dir(&dir.join(extra_dir))?);
        }
        let fonts = TemplateFonts {
            regular: role(&file.fonts.regular)?,
            bold: role(&file.fonts.bold)?,
            italic: role(&file.fonts.italic)?,
            bold_italic: role(&file.fonts.bold_italic)?,
            mono: role(&file.fonts.mono)?,
            extra,
        };
        Template::assemble(file, fonts, &shown)
    }

    /// Add every font file of a directory as fallback fonts (`mmr render --fonts`,
    /// `MMR_FONTS_DIR`): `.ttf`, `.otf` and each face of a `.ttc`/`.otc`, in file-name
    /// order, symbolic links followed.
    pub fn with_fonts_dir(mut self, dir: &Path) -> Result<Template, RenderError> {
        self.fonts.extra.extend(fonts_in_dir(dir)?);
        Ok(self)
    }

    /// Use another paper size (the template default is A4).
    pub fn with_page_size(mut self, size: PageSize) -> Template {
        self.page.size = size;
        self
    }

    fn assemble(file: TemplateFile, fonts: TemplateFonts, shown: &str) -> Result<Template, RenderError> {
        let bad = |reason: String| RenderError::BadTemplate { path: shown.to_string(), reason };
        let c = &file.colours;
        let colour =
            |name: &str, v: &str| parse_colour(v).ok_or_else(|| bad(format!("colour {name} {v:?} is not #rrggbb")));
        let colours = Colours {
            text: colour("text", &c.text)?,
            heading: colour("heading", &c.heading)?,
            link: colour("link", &c.link)?,
            muted: colour("muted", &c.muted)?,
            rule: colour("rule", &c.rule)?,
            code_background: colour("code_background", &c.code_background)?,
            quote_bar: colour("quote_bar", &c.quote_bar)?,
            table_header_background: colour("table_header_background", &c.table_header_background)?,
            table_rule: colour("table_rule", &c.table_rule)?,
            placeholder: colour("placeholder", &c.placeholder)?,
            accent: colour("accent", &c.accent)?,
        };
        let s = &file.sizes;
        let all_sizes = [s.body, s.code, s.table, s.footnote, s.header_footer, s.cover_title, s.cover_city]
            .into_iter()
            .chain(s.headings);
        for v in all_sizes {
            if !(4.0..=72.0).contains(&v) {
                return Err(bad(format!("font size {v} is outside 4..72 pt")));
            }
        }
        if !(1.0..=3.0).contains(&s.line_height) || !(0.0..=50.0).contains(&s.paragraph_spacing) {
            return Err(bad("line_height must be 1..3 and paragraph_spacing 0..50".to_string()));
        }
        let p = &file.page;
        let (w, h) = p.size.points();
        let mm = 72.0 / 25.4;
        let margins = [p.margin_top_mm, p.margin_right_mm, p.margin_bottom_mm, p.margin_left_mm];
        if margins.iter().any(|m| !(5.0..=60.0).contains(m))
            || w - (p.margin_left_mm + p.margin_right_mm) * mm < 200.0
            || h - (p.margin_top_mm + p.margin_bottom_mm) * mm < 300.0
        {
            return Err(bad("margins must be 5..60 mm and leave a usable text area".to_string()));
        }
        if file.version.trim().is_empty() {
            return Err(bad("version is empty".to_string()));
        }
        Ok(Template {
            name: file.name,
            version: file.version,
            language: file.language,
            page: file.page,
            sizes: file.sizes,
            colours,
            texts: file.texts,
            translations: file.translations,
            toc_depth: file.toc_depth.clamp(1, 6),
            sections: file.sections,
            fonts,
        })
    }

    /// Template version, written into the PDF producer field and XMP.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Human-readable template name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Default language of reports made with this template.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The template with its own words (cover, contents, part titles, running header and
    /// footer, statuses) in `language` (a BCP 47 tag), where it has them: a French report
    /// gets a French cover. Borrowed when the template speaks that language already or has no
    /// translation into it.
    pub(crate) fn in_language(&self, language: &str) -> Cow<'_, Template> {
        let primary = language.split(['-', '_']).next().unwrap_or(language).to_ascii_lowercase();
        match self.translations.get(&primary) {
            Some(texts) if primary != self.language => {
                Cow::Owned(Template { language: primary, texts: texts.clone(), ..self.clone() })
            }
            _ => Cow::Borrowed(self),
        }
    }

    /// Paper size.
    pub fn page_size(&self) -> PageSize {
        self.page.size
    }

    /// The report's expected sections, in guideline order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
}

fn parse_colour(v: &str) -> Option<Rgb> {
    let hex = v.strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok().map(|b| b as f32 / 255.0);
    Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_speaks_the_reports_language_where_it_has_its_words() {
        let t = Template::builtin();
        let french = t.in_language("fr-CA");
        assert_eq!((french.language(), french.texts.contents.as_str()), ("fr", "Table des matières"));
        assert_eq!(french.sections().len(), t.sections().len());
        assert!(matches!(t.in_language("en-GB"), Cow::Borrowed(_)));
        // No words in Spanish: the template's own.
        assert!(matches!(t.in_language("es"), Cow::Borrowed(_)));
    }
}
