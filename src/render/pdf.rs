//! The PDF writer: has the page content streams encoded by [`content`](super::content)
//! as the layout hands over the body pages ([`Writer::page`]), then ([`Writer::finish`])
//! the cover, contents and running header and footer, hands printpdf the fonts, images
//! and pages, and finishes the document through lopdf: link annotations, the structure
//! tree ([`structure`](super::structure)), outline, metadata. The only file that imports printpdf (with `structure`, the only
//! ones that import lopdf), and with `content` the one place that flips the y axis
//! (layout measures from the top of the page, PDF from the bottom), with each page's own
//! height: a landscape page (`LaidOut::page_size`) has its own media box, and its
//! annotations and the destinations on it are flipped with its height.
//!
//! Around printpdf 0.12.8's defaults, on purpose:
//! - content streams are encoded directly, page by page as the layout finishes each, and
//!   put in place of printpdf's after `to_lopdf_document`: its per-glyph operation list
//!   was more than half of a rendering's time and held every page in memory; printpdf
//!   still writes each font's `/W` and ToUnicode, from one declaration of its glyphs and
//!   their text (so ToUnicode maps ligatures back to their letters);
//! - a page's running header and footer is a second content stream (`/Contents [body
//!   header-footer]`), written at the end, when the page total is known; the footer's
//!   text still reads after the page's;
//! - fonts are subset here with `subsetter` (which keeps glyph ids, so streams encoded
//!   before the glyph set was complete stay valid) because printpdf only subsets with
//!   its heavy `text_layout` feature;
//! - font and image resource names are fixed (`F0`, `Im0`...), and the trailer
//!   /ID is a digest of the input, where printpdf would use a process-global
//!   counter and random strings;
//! - images never pass through printpdf's optimiser (which turns PNG into lossy
//!   JPEG): PNG samples are Flate-compressed, JPEG is embedded as is;
//! - the file is saved with object streams and a cross-reference stream (PDF 1.5,
//!   allowed by PDF/A-2) by [`file`](super::file), not lopdf's serialiser: the structure
//!   tree's thousands of small dictionaries would otherwise be a third of the file;
//! - link annotations are written here, each an object of its own so the structure
//!   tree can point at it, printed (PDF/A) and described by `/Contents` (PDF/UA);
//! - the outline is built here, nested and in document order (printpdf's is flat
//!   and sorted by title), together with the XMP packet, the sRGB output intent,
//!   the document language, `/MarkInfo` and the pages' tab order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};
use printpdf::{
    Codepoint, DictItem, ExternalStream, ExternalXObject, FontId, FontMetrics, FontType, Op, ParsedFont, PdfDocument,
    PdfFont, PdfFontHandle, PdfFontMetricsStub, PdfPage, PdfSaveOptions, Pt, Px, Rect as PRect, TextItem as PText,
    XObject, XObjectId,
};
use sha2::{Digest, Sha256};

use super::content::{self, GlyphUse};
use super::file::{self, Serialised};
use super::fonts::{FontId as OurFontId, FontSet};
use super::images::{ColourSpace, Encoded, Images};
use super::layout::{Dest, Item, LaidOut, OutlineEntry, Page, Rect, Target};
use super::meta::{DocumentMeta, document_id};
use super::structure::{self, Annotation, Kind, NodeId, StructTree, Tag};
use super::template::Template;
use super::{RENDERER, RenderError, Timings};

/// Document-level values for the Info dictionary and XMP.
pub(crate) struct Info<'a> {
    pub meta: &'a DocumentMeta,
    pub template: &'a Template,
    pub source_sha: &'a str,
}

/// What is kept of a page once its content stream is encoded: no glyphs.
struct Written {
    /// Width and height, in points.
    size: (f32, f32),
    /// Its content streams: the page's items, then its running header and footer.
    contents: Vec<Deflated>,
    /// The element of each MCID.
    marks: Vec<NodeId>,
    links: Vec<Link>,
}

/// The PDF writer of one rendering. The layout hands it the body pages one by one
/// ([`Writer::page`]), each encoded and compressed at once, so the layout's pages are
/// never all held; [`Writer::finish`] writes the cover and contents, every page's running
/// header and footer (a second content stream: "page X of Y" needs the total), subsets
/// the fonts from the glyphs drawn and writes the document around the streams.
pub(crate) struct Writer<'f, 't> {
    used: GlyphUse<'f, 't>,
    fonts: &'f FontSet<'t>,
    /// Width and height of a portrait page, in points.
    portrait: (f32, f32),
    /// The body pages written so far.
    body: Vec<Written>,
    /// The text of each `Link` element, for its annotations' `/Contents`.
    link_texts: BTreeMap<NodeId, String>,
    /// Time spent in [`Writer::page`], and the part of it spent compressing.
    streaming: Duration,
    deflating: Duration,
}

impl<'f, 't> Writer<'f, 't> {
    /// A writer for pages of `portrait` size (width and height, in points; a landscape
    /// page turns it a quarter).
    pub fn new(fonts: &'f FontSet<'t>, portrait: (f32, f32)) -> Writer<'f, 't> {
        Writer {
            used: GlyphUse::new(fonts),
            fonts,
            portrait,
            body: Vec::new(),
            link_texts: BTreeMap::new(),
            streaming: Duration::ZERO,
            deflating: Duration::ZERO,
        }
    }

    /// Encode and compress the next body page, keeping only its stream, marks and links.
    pub fn page(&mut self, page: Page, tree: &StructTree) -> Result<(), RenderError> {
        let start = Instant::now();
        let size = page.size(self.portrait.0, self.portrait.1);
        let written = self.encode(page, size, tree);
        self.body.push(written);
        self.streaming += start.elapsed();
        Ok(())
    }

    /// Time spent writing the body pages as they were handed over (within the layout's
    /// time, and counted in the writer's).
    pub fn streaming(&self) -> Duration {
        self.streaming
    }

    fn encode(&mut self, page: Page, size: (f32, f32), tree: &StructTree) -> Written {
        let mut marks = Vec::new();
        let stream = content::page(&page.items, size.1, &mut self.used, tree, &mut marks);
        let deflate_start = Instant::now();
        let contents = vec![deflate(stream)];
        self.deflating += deflate_start.elapsed();
        let mut links = Vec::new();
        for item in page.items {
            match item {
                Item::Link { rect, target, tag } => links.push(Link { rect, target, tag }),
                Item::Text(t) => {
                    if let Tag::Node(node) = t.tag
                        && tree.kind(node) == Kind::Link
                    {
                        self.link_texts.entry(node).or_default().push_str(&t.text);
                    }
                }
                _ => {}
            }
        }
        Written { size, contents, marks, links }
    }

    /// Write the document: the cover and contents pages first, then the body pages handed over.
    pub fn finish(
        mut self,
        mut doc: LaidOut,
        images: &Images,
        info: &Info<'_>,
        timings: &mut Timings,
    ) -> Result<Vec<u8>, RenderError> {
        let start = Instant::now();
        let deflated_before = self.deflating;
        let front = std::mem::take(&mut doc.front);
        let mut pages: Vec<Written> = Vec::with_capacity(front.len() + self.body.len());
        for (p, page) in front.into_iter().enumerate() {
            let written = self.encode(page, doc.page_size(p), &doc.structure);
            pages.push(written);
        }
        pages.append(&mut self.body);
        for (p, running) in std::mem::take(&mut doc.running).into_iter().enumerate() {
            let Some(page) = pages.get_mut(p) else { break };
            if running.items.is_empty() {
                continue;
            }
            let stream = content::page(&running.items, page.size.1, &mut self.used, &doc.structure, &mut page.marks);
            let deflate_start = Instant::now();
            page.contents.push(deflate(stream));
            self.deflating += deflate_start.elapsed();
        }

        let subset_start = Instant::now();
        let mut pdf = PdfDocument::new(&info.meta.title);
        // printpdf learns the glyphs of each font (for /W and ToUnicode) from text shown
        // on a page: one declaration per font on the first page, whose content stream is
        // replaced below like every other.
        let mut declarations = Vec::new();
        let fonts = self.fonts;
        for (font, glyphs) in self.used.into_faces() {
            let gids: Vec<u16> = glyphs.iter().map(|(g, _)| *g).collect();
            let parsed = embed_font(fonts, font, &gids)?;
            declarations.push(Op::SetFont { font: PdfFontHandle::External(font_id(font)), size: Pt(1.0) });
            declarations.push(Op::ShowText {
                items: vec![PText::GlyphIds(
                    glyphs
                        .into_iter()
                        .map(|(gid, text)| Codepoint { gid, offset: 0.0, cid: text.map(String::from) })
                        .collect(),
                )],
            });
            pdf.resources.fonts.map.insert(font_id(font), PdfFont::new(parsed));
        }
        timings.subset = subset_start.elapsed();

        for (i, img) in images.list.iter().enumerate() {
            pdf.resources.xobjects.map.insert(XObjectId(format!("Im{i}")), XObject::External(image_xobject(img)));
        }
        let sizes: Vec<(f32, f32)> = pages.iter().map(|p| p.size).collect();
        let mut contents = Vec::with_capacity(pages.len());
        let mut marks = Vec::with_capacity(pages.len());
        let mut links = Vec::with_capacity(pages.len());
        pdf.pages = pages
            .into_iter()
            .enumerate()
            .map(|(p, page)| {
                let (width, height) = page.size;
                contents.push(page.contents);
                marks.push(page.marks);
                links.push(page.links);
                let ops = if p == 0 { std::mem::take(&mut declarations) } else { Vec::new() };
                PdfPage {
                    media_box: PRect::from_wh(Pt(width), Pt(height)),
                    trim_box: PRect::from_wh(Pt(width), Pt(height)),
                    crop_box: PRect::from_wh(Pt(width), Pt(height)),
                    ops,
                }
            })
            .collect();

        let opts = PdfSaveOptions { optimize: false, subset_fonts: false, secure: true, image_optimization: None };
        let mut warnings = Vec::new();
        let writer_start = Instant::now();
        let mut lo = pdf.to_lopdf_document(&opts, &mut warnings);
        timings.printpdf = writer_start.elapsed();
        drop(pdf);
        set_contents(&mut lo, contents)?;
        tidy(&mut lo, fonts);
        let page_refs: Vec<ObjectId> = lo.get_pages().into_values().collect();
        let (annotations, annotation_objects) = annotate(&mut lo, links, &self.link_texts, &doc, &page_refs, &sizes);
        let (struct_root, mut elements) = structure::write(&mut lo, &doc.structure, &marks, &page_refs, &annotations);
        elements.extend(annotation_objects);
        finish_document(&mut lo, &doc, info, struct_root, &page_refs, &sizes)?;
        let before_compress = start.elapsed();

        let compress_start = Instant::now();
        compress_streams(&mut lo);
        // Object streams: the structure tree is thousands of small dictionaries, a third of
        // the file written out plain; compressed together they cost a tenth of that.
        let out = file::save(lo, elements)?;
        // The body pages' streams were written during the layout: their time counts here.
        let deflating = self.deflating;
        let deflated_here = deflating - deflated_before;
        timings.compress = compress_start.elapsed() + deflating;
        timings.pdf = before_compress.saturating_sub(timings.subset + timings.printpdf + deflated_here)
            + self.streaming.saturating_sub(deflated_before);
        Ok(out)
    }
}

fn font_id(font: OurFontId) -> FontId {
    FontId(format!("F{font}"))
}

/// What a strict validator would flag in printpdf's output: the empty resource
/// dictionaries it gives every page (`/ExtGState`, `/Shading`, `/XObject` without
/// images) go, and font descriptors are flagged symbolic, not nonsymbolic: the fonts
/// are reached through Identity-H glyph codes, not a standard Latin encoding (and
/// fixed-pitch where the face is monospaced; italic as printpdf set it).
fn tidy(lo: &mut lopdf::Document, fonts: &FontSet<'_>) {
    const FIXED_PITCH: i64 = 1;
    const SYMBOLIC: i64 = 4;
    const NONSYMBOLIC: i64 = 32;
    let empty: Vec<ObjectId> =
        lo.objects.iter().filter(|(_, o)| o.as_dict().is_ok_and(Dictionary::is_empty)).map(|(id, _)| *id).collect();
    let mut dropped = Vec::new();
    let mut drop_empty = |resources: &mut Dictionary| {
        for key in [b"ExtGState".as_slice(), b"Shading", b"XObject", b"Pattern", b"ColorSpace", b"Properties"] {
            match resources.get(key) {
                Ok(Object::Reference(id)) if empty.contains(id) => dropped.push(*id),
                Ok(Object::Dictionary(d)) if d.is_empty() => {}
                _ => continue,
            }
            resources.remove(key);
        }
    };
    for obj in lo.objects.values_mut() {
        let Object::Dictionary(d) = obj else { continue };
        // Resources, whether their own object or inside the page.
        drop_empty(d);
        if let Ok(Object::Dictionary(resources)) = d.get_mut(b"Resources") {
            drop_empty(resources);
        }
        if d.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"FontDescriptor") {
            let name = d.get(b"FontName").and_then(Object::as_name).map(|n| n.to_vec()).unwrap_or_default();
            let face = name.iter().position(|&b| b == b'+').map_or(&name[..], |i| &name[i + 1..]);
            let fixed = fonts.faces.iter().any(|f| f.name.as_bytes() == face && f.shaper.is_monospaced());
            let flags = d.get(b"Flags").and_then(Object::as_i64).unwrap_or(0);
            let flags = (flags & !NONSYMBOLIC) | SYMBOLIC | if fixed { FIXED_PITCH } else { 0 };
            d.set("Flags", flags);
        }
    }
    for id in dropped {
        lo.objects.remove(&id);
    }
}

/// A link annotation to write.
struct Link {
    rect: Rect,
    target: Target,
    tag: Tag,
}

/// Write the link annotations of each page (`links[p]`), as objects of their own so the
/// structure tree can point at them; returns those that belong to a `Link` element, and
/// the annotations serialised as they are made (thousands of lopdf dictionaries, held
/// until the file was written, were the largest part of the writer's peak memory).
/// Each has its element's text as `/Contents` (PDF/UA), else its address. A link to an
/// anchor no heading has (a note whose reference was never placed) is left out.
fn annotate(
    lo: &mut lopdf::Document,
    links: Vec<Vec<Link>>,
    texts: &BTreeMap<NodeId, String>,
    doc: &LaidOut,
    page_refs: &[ObjectId],
    sizes: &[(f32, f32)],
) -> (Vec<Annotation>, Serialised) {
    let mut out = Vec::new();
    let mut objects = Serialised::new();
    for (p, page_links) in links.into_iter().enumerate() {
        let h = sizes[p].1;
        let mut refs = Vec::with_capacity(page_links.len());
        for Link { rect, target, tag } in page_links {
            let mut action = Dictionary::new();
            let uri = match target {
                Target::Uri(u) => {
                    action.set("S", "URI");
                    action.set("URI", Object::string_literal(u.as_bytes()));
                    Some(u)
                }
                Target::Dest(_) | Target::Anchor(_) => {
                    let Some(dest) = doc.dest(&target) else { continue };
                    let Some(&page_ref) = page_refs.get(dest.page) else { continue };
                    action.set("S", "GoTo");
                    action.set("D", destination(page_ref, sizes[dest.page].1, dest.y));
                    None
                }
            };
            let node = match tag {
                Tag::Node(node) => Some(node),
                Tag::Artifact(_) => None,
            };
            let text = node.and_then(|n| texts.get(&n)).map(|t| t.trim()).filter(|t| !t.is_empty());
            let mut a = Dictionary::new();
            a.set("Type", "Annot");
            a.set("Subtype", "Link");
            a.set(
                "Rect",
                Object::Array([rect.x, h - rect.y - rect.h, rect.x + rect.w, h - rect.y].map(Object::Real).to_vec()),
            );
            a.set("Border", Object::Array(vec![0.into(), 0.into(), 0.into()]));
            // Printed, as PDF/A asks.
            a.set("F", 4);
            a.set("A", action);
            if let Some(contents) = text.or(uri.as_deref()) {
                a.set("Contents", text_string(contents));
            }
            if node.is_some() {
                a.set("StructParent", structure::annotation_key(page_refs.len(), out.len()));
            }
            let id = lo.new_object_id();
            objects.insert(id.0, file::serialise(&Object::Dictionary(a)));
            refs.push(Object::Reference(id));
            if let Some(node) = node {
                out.push(Annotation { id, page: p, node });
            }
        }
        if !refs.is_empty()
            && let Ok(page) = lo.get_dictionary_mut(page_refs[p])
        {
            page.set("Annots", Object::Array(refs));
        }
    }
    (out, objects)
}

/// A destination at the left edge of `page`, a little above `y` (from the top) so the line
/// there is not cut by the window's edge.
fn destination(page: ObjectId, page_height: f32, y: f32) -> Object {
    Object::Array(vec![
        page.into(),
        "XYZ".into(),
        Object::Integer(0),
        Object::Real(page_height - y + 4.0),
        Object::Null,
    ])
}

/// Put the encoded content streams in place of printpdf's (which hold only the
/// glyph declarations), page by page in order: the first in printpdf's stream, any
/// other (the running header and footer) in a stream of its own after it, the page's
/// `/Contents` then an array of both.
fn set_contents(lo: &mut lopdf::Document, contents: Vec<Vec<Deflated>>) -> Result<(), RenderError> {
    let pdf_err = |e: lopdf::Error| RenderError::Pdf(e.to_string());
    let pages: Vec<ObjectId> = lo.get_pages().into_values().collect();
    for (page, streams) in pages.into_iter().zip(contents) {
        let first =
            lo.get_dictionary(page).and_then(|d| d.get(b"Contents")).and_then(Object::as_reference).map_err(pdf_err)?;
        let mut refs = vec![Object::Reference(first)];
        for (k, content) in streams.into_iter().enumerate() {
            let id = if k == 0 {
                first
            } else {
                let id = lo.add_object(Stream::new(Dictionary::new(), Vec::new()));
                refs.push(Object::Reference(id));
                id
            };
            let Object::Stream(stream) = lo.get_object_mut(id).map_err(pdf_err)? else {
                return Err(RenderError::Pdf("page contents are not a stream".into()));
            };
            match content {
                Deflated::Packed(packed) => {
                    stream.dict.set("Filter", "FlateDecode");
                    stream.set_content(packed);
                }
                Deflated::Plain(plain) => stream.set_content(plain),
            }
        }
        if refs.len() > 1 {
            lo.get_dictionary_mut(page).map_err(pdf_err)?.set("Contents", Object::Array(refs));
        }
    }
    Ok(())
}

/// A stream's bytes after compression was tried.
enum Deflated {
    Packed(Vec<u8>),
    /// Compression did not make it smaller.
    Plain(Vec<u8>),
}

/// Flate-compressed `data` where that makes it smaller (at level 1, see [`file::deflate`]).
fn deflate(data: Vec<u8>) -> Deflated {
    let packed = file::deflate(&data);
    if packed.len() < data.len() { Deflated::Packed(packed) } else { Deflated::Plain(data) }
}

/// Subset a face to the glyphs used (ids unchanged) and describe it to printpdf.
fn embed_font(fonts: &FontSet<'_>, font: OurFontId, gids: &[u16]) -> Result<ParsedFont, RenderError> {
    let face = &fonts.faces[font];
    let mut keep = gids.to_vec();
    if !keep.contains(&0) {
        keep.insert(0, 0);
    }
    let subset = subsetter::subset(face.data, face.index, subsetter::Profile::pdf(&keep))
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
        glyph_widths: gids.iter().map(|&g| (g, content::advance(face, g))).collect(),
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

/// Text string for the Info dictionary, outline and structure tree: PDFDocEncoding-safe
/// ASCII as a literal, anything else as UTF-16BE with a byte order mark.
pub(crate) fn text_string(s: &str) -> Object {
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

fn finish_document(
    lo: &mut lopdf::Document,
    doc: &LaidOut,
    info: &Info<'_>,
    struct_root: ObjectId,
    page_refs: &[ObjectId],
    sizes: &[(f32, f32)],
) -> Result<(), RenderError> {
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

    let heights: Vec<f32> = sizes.iter().map(|s| s.1).collect();
    let outline_root = build_outline(lo, &doc.outline, &doc.dests, page_refs, &heights);
    // Tab order follows the structure (PDF/UA).
    for page in page_refs {
        lo.get_dictionary_mut(*page).map_err(pdf_err)?.set("Tabs", "S");
    }

    let root_id = lo.trailer.get(b"Root").and_then(Object::as_reference).map_err(pdf_err)?;
    let catalog = lo.get_dictionary_mut(root_id).map_err(pdf_err)?;
    catalog.set("Metadata", xmp_id);
    catalog.set("OutputIntents", Object::Array(vec![Object::Dictionary(intent)]));
    catalog.set("Lang", text_string(&meta.language));
    catalog.set("StructTreeRoot", struct_root);
    let mut mark_info = Dictionary::new();
    mark_info.set("Marked", true);
    catalog.set("MarkInfo", mark_info);
    let mut prefs = Dictionary::new();
    prefs.set("DisplayDocTitle", true);
    catalog.set("ViewerPreferences", prefs);
    if let Some(outline_root) = outline_root {
        catalog.set("Outlines", outline_root);
        catalog.set("PageMode", "UseOutlines");
    }
    Ok(())
}

/// Nested outline in document order; returns the root's object id.
fn build_outline(
    lo: &mut lopdf::Document,
    entries: &[OutlineEntry],
    dests: &[Dest],
    page_refs: &[ObjectId],
    page_heights: &[f32],
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
            d.set("Dest", destination(page, page_heights[dest.page], dest.y));
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

/// The XMP packet. It declares PDF/A-2a and PDF/UA-1: the file is tagged (structure tree,
/// marked content, `/Lang`, standard types only), every glyph drawn has a Unicode value, and
/// `tests/render/pdfua_check.py` checks that on every PDF the tests render. PDF/UA's
/// `pdfuaid` schema is not one PDF/A-2 predefines, so the packet describes it (an extension
/// schema), as PDF/A asks.
fn xmp_packet(meta: &DocumentMeta, subject: &str, keywords: &str, producer: &str) -> String {
    let date = meta.creation_date.xmp_string();
    let e = xml_escape;
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Indicates which part of ISO 14289 standard is followed</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
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
<pdfaid:conformance>A</pdfaid:conformance>
<pdfuaid:part>1</pdfuaid:part>
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

/// Flate-compress every stream that has no filter yet (fonts, ToUnicode, ICC); the
/// XMP packet stays readable.
fn compress_streams(lo: &mut lopdf::Document) {
    for obj in lo.objects.values_mut() {
        let Object::Stream(s) = obj else { continue };
        if !s.allows_compression || s.dict.has(b"Filter") {
            continue;
        }
        let packed = file::deflate(&s.content);
        if packed.len() < s.content.len() {
            s.dict.set("Filter", "FlateDecode");
            s.set_content(packed);
        }
    }
}

#[cfg(test)]
mod tests {
    use rustybuzz::ttf_parser;

    use super::*;

    /// A page is encoded before the fonts are subset, so a glyph's code in a CID-keyed CFF
    /// face is read from the original face: it must be the CID the subset gives it, which
    /// printpdf writes `/W` with. Checked on the CJK faces the script tests use (Debian's
    /// `fonts-noto-cjk`, `make test-deps`).
    #[test]
    fn cids_of_the_original_face_are_those_of_the_subset() {
        let dir = std::path::Path::new("/usr/share/fonts/opentype/noto");
        for file in ["NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc"] {
            let path = dir.join(file);
            let data = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e}; install fonts-noto-cjk (make test-deps)", path.display()));
            for index in [0, 2] {
                let face = ttf_parser::Face::parse(&data, index).expect("a face of the collection");
                let mut gids: Vec<u16> =
                    "漢字かなカナ한국어。、「」A1".chars().filter_map(|c| face.glyph_index(c)).map(|g| g.0).collect();
                gids.extend([1, 2, 100, 5000, face.number_of_glyphs() - 1]);
                gids.sort_unstable();
                gids.dedup();
                let mut keep = gids.clone();
                keep.insert(0, 0);
                let subset = subsetter::subset(&data, index, subsetter::Profile::pdf(&keep)).expect("subsets");
                let map = printpdf::cff_charset_gid_to_cid_map(&subset, 0).expect("a CID-keyed CFF subset");
                let cff = face.tables().cff.expect("a CFF face");
                for g in gids {
                    // Read from the charset, not the glyph id taken for want of one.
                    assert!(cff.glyph_cid(ttf_parser::GlyphId(g)).is_some(), "{file} #{index}: glyph {g}");
                    assert_eq!(map.get(&g).copied(), Some(content::code(&face, g)), "{file} #{index}: glyph {g}");
                }
            }
        }
    }
}
