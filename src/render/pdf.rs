//! The PDF writer: walks the laid-out pages and hands printpdf one operation per
//! item, then finishes the document through lopdf. The only file that imports
//! printpdf and lopdf, and the one place that flips the y axis (layout measures
//! from the top of the page, PDF from the bottom).
//!
//! Around printpdf 0.12.8's defaults, on purpose:
//! - fonts are subset here with `subsetter` (which keeps glyph ids) because
//!   printpdf only subsets with its heavy `text_layout` feature; glyphs are shown
//!   as glyph ids with their text attached, so ToUnicode maps ligatures back to
//!   their letters;
//! - font and image resource names are fixed (`F0`, `Im0`...), and the trailer
//!   /ID is a digest of the input, where printpdf would use a process-global
//!   counter and random strings;
//! - images never pass through printpdf's optimiser (which turns PNG into lossy
//!   JPEG): PNG samples are Flate-compressed, JPEG is embedded as is;
//! - the outline is built here, nested and in document order (printpdf's is flat
//!   and sorted by title), together with the XMP packet, the sRGB output intent,
//!   the document language and annotation print flags that PDF/A asks for.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};
use printpdf::{
    Actions, BorderArray, Codepoint, Color, Destination, DictItem, ExternalStream, ExternalXObject, FontId,
    FontMetrics, FontType, Line as PLine, LineCapStyle, LinePoint, LinkAnnotation, Op, PaintMode, ParsedFont,
    PdfDocument, PdfFont, PdfFontHandle, PdfFontMetricsStub, PdfPage, PdfSaveOptions, Point, Pt, Px, Rect as PRect,
    Rgb as PRgb, TextItem as PText, TextMatrix, XObject, XObjectId, XObjectTransform,
};
use rustybuzz::ttf_parser::GlyphId;
use sha2::{Digest, Sha256};

use super::fonts::{FontId as OurFontId, FontSet};
use super::images::{ColourSpace, Encoded, Images};
use super::layout::{Item, LaidOut, OutlineEntry, Rect, Target, TextItem};
use super::meta::{DocumentMeta, document_id};
use super::template::{Rgb, Template};
use super::{RENDERER, RenderError, Timings};

/// Document-level values for the Info dictionary and XMP.
pub(crate) struct Info<'a> {
    pub meta: &'a DocumentMeta,
    pub template: &'a Template,
    pub source_sha: &'a str,
}

/// Where a glyph's text is attached: the last place it is shown. printpdf keeps
/// the last text it sees for a glyph id, so text on that one glyph is enough.
type GlyphSite = (u32, u32, u32);

/// Write the PDF. The layout is consumed page by page, so its glyphs are freed
/// as printpdf's operations are built and the two never peak together.
pub(crate) fn write(
    mut doc: LaidOut,
    fonts: &FontSet<'_>,
    images: &Images,
    info: &Info<'_>,
    timings: &mut Timings,
) -> Result<Vec<u8>, RenderError> {
    let start = Instant::now();
    let sites = glyph_sites(&doc, fonts);

    let subset_start = Instant::now();
    let mut pdf = PdfDocument::new(&info.meta.title);
    for (font, gids) in used_glyphs(&sites) {
        let parsed = embed_font(fonts, font, &gids)?;
        pdf.resources.fonts.map.insert(font_id(font), PdfFont::new(parsed));
    }
    timings.subset = subset_start.elapsed();

    for (i, img) in images.list.iter().enumerate() {
        pdf.resources.xobjects.map.insert(XObjectId(format!("Im{i}")), XObject::External(image_xobject(img)));
    }
    let height = doc.height;
    let pages = std::mem::take(&mut doc.pages);
    pdf.pages = pages
        .into_iter()
        .enumerate()
        .map(|(p, page)| PdfPage {
            media_box: PRect::from_wh(Pt(doc.width), Pt(height)),
            trim_box: PRect::from_wh(Pt(doc.width), Pt(height)),
            crop_box: PRect::from_wh(Pt(doc.width), Pt(height)),
            ops: page_ops(p, &page.items, &doc, fonts, &sites),
        })
        .collect();

    let opts = PdfSaveOptions { optimize: false, subset_fonts: false, secure: true, image_optimization: None };
    let mut warnings = Vec::new();
    let writer_start = Instant::now();
    let mut lo = pdf.to_lopdf_document(&opts, &mut warnings);
    timings.printpdf = writer_start.elapsed();
    drop(pdf);
    finish_document(&mut lo, &doc, info)?;
    let before_compress = start.elapsed();

    let compress_start = Instant::now();
    compress_streams(&mut lo);
    let mut out = Vec::with_capacity(1 << 20);
    lo.save_to(&mut out).map_err(|e| RenderError::Pdf(e.to_string()))?;
    timings.compress = compress_start.elapsed();
    timings.pdf = before_compress.saturating_sub(timings.subset + timings.printpdf);
    Ok(out)
}

fn font_id(font: OurFontId) -> FontId {
    FontId(format!("F{font}"))
}

/// For every (face, glyph id) the last place it is shown with non-empty text.
fn glyph_sites(doc: &LaidOut, fonts: &FontSet<'_>) -> Vec<Vec<Option<GlyphSite>>> {
    let mut sites: Vec<Vec<Option<GlyphSite>>> =
        fonts.faces.iter().map(|f| vec![None; f.shaper.number_of_glyphs() as usize]).collect();
    for (p, page) in doc.pages.iter().enumerate() {
        for (i, item) in page.items.iter().enumerate() {
            if let Item::Text(t) = item {
                let Some(table) = sites.get_mut(t.font) else {
                    continue;
                };
                for (g, glyph) in t.glyphs.iter().enumerate() {
                    if let Some(slot) = table.get_mut(glyph.gid as usize)
                        && (glyph.text_end > glyph.text_start || slot.is_none())
                    {
                        *slot = Some((p as u32, i as u32, g as u32));
                    }
                }
            }
        }
    }
    sites
}

fn used_glyphs(sites: &[Vec<Option<GlyphSite>>]) -> Vec<(OurFontId, Vec<u16>)> {
    sites
        .iter()
        .enumerate()
        .filter_map(|(font, table)| {
            let gids: Vec<u16> = table.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(g, _)| g as u16).collect();
            (!gids.is_empty()).then_some((font, gids))
        })
        .collect()
}

/// Subset a face to the glyphs used (ids unchanged) and describe it to printpdf.
fn embed_font(fonts: &FontSet<'_>, font: OurFontId, gids: &[u16]) -> Result<ParsedFont, RenderError> {
    let face = &fonts.faces[font];
    let mut keep = gids.to_vec();
    if !keep.contains(&0) {
        keep.insert(0, 0);
    }
    let subset = subsetter::subset(face.data, 0, subsetter::Profile::pdf(&keep))
        .map_err(|e| RenderError::MissingFont { path: face.name.clone(), reason: format!("cannot subset: {e}") })?;
    // The subset tag is derived from the content, so it is stable across runs.
    let mut h = Sha256::new();
    h.update(face.name.as_bytes());
    for g in gids {
        h.update(g.to_be_bytes());
    }
    let digest = h.finalize();
    let tag: String = digest.iter().take(6).map(|b| (b'A' + b % 26) as char).collect();
    let s = &face.shaper;
    let bbox = s.global_bounding_box();
    let angle = s.italic_angle();
    Ok(ParsedFont {
        original_bytes: subset,
        font_index: 0,
        font_name: Some(format!("{tag}+{}", face.name)),
        codepoint_to_glyph: BTreeMap::new(),
        glyph_widths: gids.iter().map(|&g| (g, s.glyph_hor_advance(GlyphId(g)).unwrap_or(0))).collect(),
        units_per_em: face.units_per_em as u16,
        font_metrics: FontMetrics { ascent: s.ascender(), descent: s.descender() },
        font_type: if face.truetype { FontType::TrueType } else { FontType::OpenTypeCFF(()) },
        pdf_font_metrics: PdfFontMetricsStub {
            units_per_em: face.units_per_em as u16,
            x_min: bbox.x_min,
            y_min: bbox.y_min,
            x_max: bbox.x_max,
            y_max: bbox.y_max,
            caret_slope_rise: 1000,
            caret_slope_run: ((-angle).to_radians().tan() * 1000.0).round() as i16,
            us_weight_class: s.weight().to_number(),
        },
    })
}

fn image_xobject(img: &super::images::Image) -> ExternalXObject {
    let name = |n: &str| DictItem::Name(n.as_bytes().to_vec());
    let colour = match img.colour {
        ColourSpace::Gray => "DeviceGray",
        ColourSpace::Rgb => "DeviceRGB",
        ColourSpace::Cmyk => "DeviceCMYK",
    };
    let mut dict = BTreeMap::new();
    dict.insert("Type".to_string(), name("XObject"));
    dict.insert("Subtype".to_string(), name("Image"));
    dict.insert("Width".to_string(), DictItem::Int(img.width as i64));
    dict.insert("Height".to_string(), DictItem::Int(img.height as i64));
    dict.insert("ColorSpace".to_string(), name(colour));
    dict.insert("BitsPerComponent".to_string(), DictItem::Int(8));
    let content = match &img.encoded {
        Encoded::Jpeg(bytes) => {
            dict.insert("Filter".to_string(), name("DCTDecode"));
            bytes.clone()
        }
        Encoded::Flate { data, alpha } => {
            dict.insert("Filter".to_string(), name("FlateDecode"));
            if let Some(alpha) = alpha {
                let mut mask = BTreeMap::new();
                mask.insert("Type".to_string(), name("XObject"));
                mask.insert("Subtype".to_string(), name("Image"));
                mask.insert("Width".to_string(), DictItem::Int(img.width as i64));
                mask.insert("Height".to_string(), DictItem::Int(img.height as i64));
                mask.insert("ColorSpace".to_string(), name("DeviceGray"));
                mask.insert("BitsPerComponent".to_string(), DictItem::Int(8));
                mask.insert("Filter".to_string(), name("FlateDecode"));
                dict.insert(
                    "SMask".to_string(),
                    DictItem::Stream { stream: ExternalStream { dict: mask, content: alpha.clone(), compress: false } },
                );
            }
            data.clone()
        }
    };
    ExternalXObject {
        stream: ExternalStream { dict, content, compress: false },
        width: Some(Px(img.width as usize)),
        height: Some(Px(img.height as usize)),
        dpi: None,
    }
}

fn colour(c: Rgb) -> Color {
    Color::Rgb(PRgb { r: c.0, g: c.1, b: c.2, icc_profile: None })
}

/// Graphics state already set in the content stream, to avoid repeating it.
#[derive(Default)]
struct State {
    fill: Option<Rgb>,
    stroke: Option<Rgb>,
    stroke_width: Option<f32>,
    font: Option<(OurFontId, f32)>,
    in_text: bool,
}

fn page_ops(
    page_index: usize,
    items: &[Item],
    doc: &LaidOut,
    fonts: &FontSet<'_>,
    sites: &[Vec<Option<GlyphSite>>],
) -> Vec<Op> {
    let h = doc.height;
    let mut ops = Vec::with_capacity(items.len() * 6);
    let mut st = State::default();
    ops.push(Op::SetLineCapStyle { cap: LineCapStyle::Butt });
    for (i, item) in items.iter().enumerate() {
        if !matches!(item, Item::Text(_)) && st.in_text {
            ops.push(Op::EndTextSection);
            st.in_text = false;
        }
        match item {
            Item::Text(t) => text_ops(&mut ops, &mut st, t, (page_index, i), h, fonts, sites),
            Item::Fill { rect, colour: c } => {
                if st.fill != Some(*c) {
                    ops.push(Op::SetFillColor { col: colour(*c) });
                    st.fill = Some(*c);
                }
                ops.push(Op::DrawRectangle { rectangle: pdf_rect(rect, h, Some(PaintMode::Fill)) });
            }
            Item::Stroke { rect, colour: c, width } => {
                set_stroke(&mut ops, &mut st, *c, *width);
                ops.push(Op::DrawRectangle { rectangle: pdf_rect(rect, h, Some(PaintMode::Stroke)) });
            }
            Item::Line { x1, y1, x2, y2, width, colour: c } => {
                set_stroke(&mut ops, &mut st, *c, *width);
                let pt = |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(h - y) }, bezier: false };
                ops.push(Op::DrawLine { line: PLine { points: vec![pt(*x1, *y1), pt(*x2, *y2)], is_closed: false } });
            }
            Item::Image { rect, image } => {
                ops.push(Op::SaveGraphicsState);
                ops.push(Op::SetTransformationMatrix {
                    matrix: printpdf::CurTransMat::Raw([rect.w, 0.0, 0.0, rect.h, rect.x, h - rect.y - rect.h]),
                });
                ops.push(Op::UseXobject {
                    id: XObjectId(format!("Im{image}")),
                    transform: XObjectTransform { no_auto_scale: true, ..Default::default() },
                });
                ops.push(Op::RestoreGraphicsState);
                // Q restores colours and line width.
                st = State::default();
            }
            Item::Link { rect, target } => {
                let action = match target {
                    Target::Uri(u) => Actions::Uri(u.clone()),
                    Target::Dest(d) => match doc.dests.get(*d) {
                        Some(dest) => Actions::Goto(Destination::Xyz {
                            page: dest.page + 1,
                            left: Some(0.0),
                            top: Some(h - dest.y + 4.0),
                            zoom: None,
                        }),
                        None => continue,
                    },
                    Target::Anchor(_) => continue,
                };
                ops.push(Op::LinkAnnotation {
                    link: LinkAnnotation::new(
                        pdf_rect(rect, h, None),
                        action,
                        Some(BorderArray::Solid([0.0, 0.0, 0.0])),
                        None,
                        None,
                    ),
                });
            }
        }
    }
    if st.in_text {
        ops.push(Op::EndTextSection);
    }
    ops
}

fn set_stroke(ops: &mut Vec<Op>, st: &mut State, c: Rgb, width: f32) {
    if st.stroke != Some(c) {
        ops.push(Op::SetOutlineColor { col: colour(c) });
        st.stroke = Some(c);
    }
    if st.stroke_width != Some(width) {
        ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        st.stroke_width = Some(width);
    }
}

/// The one place the y axis flips: layout rectangles hang from their top edge.
fn pdf_rect(r: &Rect, page_height: f32, mode: Option<PaintMode>) -> PRect {
    PRect { x: Pt(r.x), y: Pt(page_height - r.y - r.h), width: Pt(r.w), height: Pt(r.h), mode, winding_order: None }
}

fn text_ops(
    ops: &mut Vec<Op>,
    st: &mut State,
    t: &TextItem,
    at: (usize, usize),
    page_height: f32,
    fonts: &FontSet<'_>,
    sites: &[Vec<Option<GlyphSite>>],
) {
    if !st.in_text {
        ops.push(Op::StartTextSection);
        st.in_text = true;
    }
    if st.font != Some((t.font, t.size)) {
        ops.push(Op::SetFont { font: PdfFontHandle::External(font_id(t.font)), size: Pt(t.size) });
        st.font = Some((t.font, t.size));
    }
    if st.fill != Some(t.colour) {
        ops.push(Op::SetFillColor { col: colour(t.colour) });
        st.fill = Some(t.colour);
    }
    let face = &fonts.faces[t.font];
    let scale = t.size / face.units_per_em;
    let table = &sites[t.font];
    let baseline = page_height - t.y;
    let mut pen = t.x;
    let mut run: Vec<Codepoint> = Vec::with_capacity(t.glyphs.len());
    let mut run_start = pen;
    let flush = |ops: &mut Vec<Op>, run: &mut Vec<Codepoint>, x: f32, y: f32| {
        if run.is_empty() {
            return;
        }
        ops.push(Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(y)) });
        ops.push(Op::ShowText { items: vec![PText::GlyphIds(std::mem::take(run))] });
    };
    for (g, glyph) in t.glyphs.iter().enumerate() {
        let nominal = face.shaper.glyph_hor_advance(GlyphId(glyph.gid)).unwrap_or(0) as f32 * scale;
        let here = Some((at.0 as u32, at.1 as u32, g as u32));
        let cid = if table.get(glyph.gid as usize).copied().flatten() == here {
            t.text.get(glyph.text_start as usize..glyph.text_end as usize).map(str::to_string)
        } else {
            None
        };
        let offset = if t.size > 0.0 { (nominal - glyph.advance) * 1000.0 / t.size } else { 0.0 };
        if glyph.x_offset != 0.0 || glyph.y_offset != 0.0 {
            // A positioned mark: shown on its own at its offset, then the pen
            // continues from where the advance puts it.
            flush(ops, &mut run, run_start, baseline);
            let mut single = vec![Codepoint { gid: glyph.gid, offset: 0.0, cid }];
            flush(ops, &mut single, pen + glyph.x_offset, baseline + glyph.y_offset);
            pen += glyph.advance;
            run_start = pen;
            continue;
        }
        run.push(Codepoint {
            gid: glyph.gid,
            offset: if offset.abs() < 0.01 { 0.0 } else { (offset * 100.0).round() / 100.0 },
            cid,
        });
        pen += glyph.advance;
    }
    flush(ops, &mut run, run_start, baseline);
}

/// Text string for the Info dictionary and outline: PDFDocEncoding-safe ASCII as
/// a literal, anything else as UTF-16BE with a byte order mark.
fn text_string(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        for unit in s.encode_utf16() {
            bytes.extend(unit.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

fn finish_document(lo: &mut lopdf::Document, doc: &LaidOut, info: &Info<'_>) -> Result<(), RenderError> {
    let meta = info.meta;
    let pdf_err = |e: lopdf::Error| RenderError::Pdf(e.to_string());
    lo.version = "1.7".to_string();
    let producer = format!("{RENDERER}; template {} {}", info.template.name(), info.template.version());
    let created = meta.creation_date.pdf_string();
    let keywords = meta.keywords.join("; ");
    let subject = format!(
        "UNESCO Creative Cities Network — Membership Monitoring Report {} — {}",
        meta.cycle, meta.creative_field
    );

    // Info dictionary.
    let mut infod = Dictionary::new();
    infod.set("Title", text_string(&meta.title));
    infod.set("Author", text_string(&meta.city));
    infod.set("Subject", text_string(&subject));
    infod.set("Keywords", text_string(&keywords));
    infod.set("Creator", text_string(RENDERER));
    infod.set("Producer", text_string(&producer));
    infod.set("CreationDate", Object::String(created.clone().into_bytes(), StringFormat::Literal));
    infod.set("ModDate", Object::String(created.into_bytes(), StringFormat::Literal));
    // printpdf's own Info dictionary is replaced, not left behind unreferenced.
    if let Ok(old) = lo.trailer.get(b"Info").and_then(Object::as_reference) {
        lo.objects.remove(&old);
    }
    let info_id = lo.add_object(infod);
    lo.trailer.set("Info", info_id);

    let id = document_id(info.source_sha, meta, info.template.version()).to_vec();
    lo.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ]),
    );

    // XMP, uncompressed as PDF/A recommends.
    let xmp = xmp_packet(meta, &subject, &keywords, &producer);
    let mut xmp_dict = Dictionary::new();
    xmp_dict.set("Type", "Metadata");
    xmp_dict.set("Subtype", "XML");
    let mut xmp_stream = Stream::new(xmp_dict, xmp.into_bytes());
    xmp_stream.allows_compression = false;
    let xmp_id = lo.add_object(xmp_stream);

    // sRGB output intent.
    let mut icc_dict = Dictionary::new();
    icc_dict.set("N", 3);
    let icc_id = lo.add_object(Stream::new(icc_dict, super::icc::srgb_profile()));
    let mut intent = Dictionary::new();
    intent.set("Type", "OutputIntent");
    intent.set("S", "GTS_PDFA1");
    intent.set("OutputConditionIdentifier", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("RegistryName", Object::string_literal("http://www.color.org"));
    intent.set("Info", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("DestOutputProfile", icc_id);

    let pages: BTreeMap<u32, ObjectId> = lo.get_pages();
    let page_refs: Vec<ObjectId> = pages.values().copied().collect();
    let outline_root = build_outline(lo, &doc.outline, &doc.dests, &page_refs, doc.height);

    let root_id = lo.trailer.get(b"Root").and_then(Object::as_reference).map_err(pdf_err)?;
    let catalog = lo.get_dictionary_mut(root_id).map_err(pdf_err)?;
    catalog.set("Metadata", xmp_id);
    catalog.set("OutputIntents", Object::Array(vec![Object::Dictionary(intent)]));
    catalog.set("Lang", text_string(&meta.language));
    let mut prefs = Dictionary::new();
    prefs.set("DisplayDocTitle", true);
    catalog.set("ViewerPreferences", prefs);
    if let Some(outline_root) = outline_root {
        catalog.set("Outlines", outline_root);
        catalog.set("PageMode", "UseOutlines");
    }

    // Link annotations must print (PDF/A); printpdf does not set the flag.
    for obj in lo.objects.values_mut() {
        let Object::Dictionary(d) = obj else { continue };
        if let Ok(Object::Array(annots)) = d.get_mut(b"Annots") {
            for a in annots.iter_mut() {
                if let Object::Dictionary(ad) = a {
                    ad.set("F", 4);
                }
            }
        }
    }
    Ok(())
}

/// Nested outline in document order; returns the root's object id.
fn build_outline(
    lo: &mut lopdf::Document,
    entries: &[OutlineEntry],
    dests: &[super::layout::Dest],
    page_refs: &[ObjectId],
    page_height: f32,
) -> Option<ObjectId> {
    if entries.is_empty() {
        return None;
    }
    let root = lo.new_object_id();
    let ids: Vec<ObjectId> = entries.iter().map(|_| lo.new_object_id()).collect();
    // Parent of each entry: the nearest earlier entry with a lower level.
    let mut parent: Vec<Option<usize>> = vec![None; entries.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        while stack.last().is_some_and(|&j| entries[j].level >= e.level) {
            stack.pop();
        }
        parent[i] = stack.last().copied();
        stack.push(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    let mut top = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some(p) => children[*p].push(i),
            None => top.push(i),
        }
    }
    // Descendant counts, children before parents (entries are in document order).
    let mut count = vec![0i64; entries.len()];
    for i in (0..entries.len()).rev() {
        count[i] = children[i].iter().map(|&c| 1 + count[c]).sum();
    }
    let link_siblings = |d: &mut Dictionary, siblings: &[usize], k: usize| {
        if k > 0 {
            d.set("Prev", ids[siblings[k - 1]]);
        }
        if k + 1 < siblings.len() {
            d.set("Next", ids[siblings[k + 1]]);
        }
    };
    for (i, e) in entries.iter().enumerate() {
        let mut d = Dictionary::new();
        d.set("Title", text_string(&e.title));
        d.set("Parent", parent[i].map_or(root, |p| ids[p]));
        let siblings = match parent[i] {
            Some(p) => &children[p],
            None => &top,
        };
        if let Some(k) = siblings.iter().position(|&s| s == i) {
            link_siblings(&mut d, siblings, k);
        }
        if let (Some(&first), Some(&last)) = (children[i].first(), children[i].last()) {
            d.set("First", ids[first]);
            d.set("Last", ids[last]);
            // Parts and chapters open, deeper levels closed.
            d.set("Count", if e.level <= 1 { count[i] } else { -count[i] });
        }
        if let Some(dest) = dests.get(e.dest)
            && let Some(&page) = page_refs.get(dest.page)
        {
            d.set(
                "Dest",
                Object::Array(vec![
                    page.into(),
                    "XYZ".into(),
                    Object::Integer(0),
                    Object::Real(page_height - dest.y + 4.0),
                    Object::Null,
                ]),
            );
        }
        lo.objects.insert(ids[i], Object::Dictionary(d));
    }
    let mut r = Dictionary::new();
    r.set("Type", "Outlines");
    if let (Some(&first), Some(&last)) = (top.first(), top.last()) {
        r.set("First", ids[first]);
        r.set("Last", ids[last]);
    }
    r.set("Count", top.iter().map(|&t| 1 + count[t].max(0)).sum::<i64>());
    lo.objects.insert(root, Object::Dictionary(r));
    Some(root)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn xmp_packet(meta: &DocumentMeta, subject: &str, keywords: &str, producer: &str) -> String {
    let date = meta.creation_date.xmp_string();
    let e = xml_escape;
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
<dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag></dc:language>
<pdf:Keywords>{keywords}</pdf:Keywords>
<pdf:Producer>{producer}</pdf:Producer>
<xmp:CreatorTool>{creator}</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
<xmp:MetadataDate>{date}</xmp:MetadataDate>
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        title = e(&meta.title),
        author = e(&meta.city),
        subject = e(subject),
        lang = e(&meta.language),
        keywords = e(keywords),
        producer = e(producer),
        creator = e(RENDERER),
        date = date,
    )
}

/// Flate-compress every stream that has no filter yet (content, fonts, ToUnicode,
/// ICC); the XMP packet stays readable.
fn compress_streams(lo: &mut lopdf::Document) {
    for obj in lo.objects.values_mut() {
        let Object::Stream(s) = obj else { continue };
        if !s.allows_compression || s.dict.has(b"Filter") {
            continue;
        }
        // Level 1: content streams of shaped text compress about as well at the
        // fastest level, at a fraction of the time.
        let mut enc = ZlibEncoder::new(Vec::with_capacity(s.content.len() / 3 + 64), Compression::fast());
        if enc.write_all(&s.content).is_err() {
            continue;
        }
        if let Ok(packed) = enc.finish()
            && packed.len() < s.content.len()
        {
            s.dict.set("Filter", "FlateDecode");
            s.set_content(packed);
        }
    }
}
