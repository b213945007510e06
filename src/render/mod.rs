//! Archival rendering of a Membership Monitoring Report: Markdown in, PDF bytes out.
//!
//! The pipeline runs in one direction and each stage owns one concern:
//!
//! 1. [`markdown`] reads CommonMark + GFM with pulldown-cmark (the only file that
//!    imports it) into the document tree of [`tree`], enforcing the structural
//!    [`Limits`] on the way and dropping C0 control characters. The report's
//!    language is read from its section headings ([`check`]), falling back to
//!    [`DocumentMeta::language`]; it is the PDF's `/Lang`, chooses the
//!    hyphenation patterns of [`hyphenate`] and the template's own words (its
//!    `translations`: a French report's cover, contents and running footer are French).
//! 2. [`fonts`] and [`shaping`] select a face for every character (falling back to
//!    the template's extra fonts) and shape runs with rustybuzz.
//! 3. [`layout`] breaks lines, paginates, adds the cover, contents, running header
//!    and footer, and makes pages of positioned items in points with a top-left
//!    origin. It never touches PDF. As it goes it builds the [`structure`] tree
//!    (tagged PDF) and tags every item with its element or as an artifact. It hands
//!    each body page to the writer as soon as the page is finished, and returns the
//!    cover, the contents and every page's running header and footer at the end.
//! 4. [`content`] encodes each page's content stream (one `TJ` per glyph run, each
//!    element's content in marked-content sequences), flipping the y axis, as the
//!    page arrives; only the compressed stream is kept. [`pdf`] (the only file that
//!    imports printpdf) adds the header and footer as a second stream of each page,
//!    subsets the fonts from the glyphs drawn and writes a deterministic PDF around
//!    the streams with structure tree, outline, links, metadata and XMP, which [`file`]
//!    serialises (object streams, cross-reference stream).
//!
//! Nothing here reads the clock, the machine's fonts or any file the caller did not
//! hand over: the same request always gives the same bytes.
//! The module is a leaf: it imports nothing else from the crate.

mod check;
mod content;
mod error;
mod file;
mod fonts;
mod hyphenate;
mod icc;
mod images;
mod layout;
mod limits;
mod markdown;
mod meta;
mod pdf;
mod received;
mod shaping;
mod skeleton;
mod structure;
mod template;
mod tree;

use std::time::{Duration, Instant};

pub use check::{
    CheckRequest, Finding, PROGRESS_KEY, Progress, SectionText, Severity, Source, check, progress_status, sections,
};
pub use error::{RenderError, Warning, WarningCode};
pub use limits::Limits;
pub use markdown::{TextBlock, text_blocks};
pub use meta::{Attachment, DocumentMeta, PdfDate, Status, bundle_digest, load_attachments_dir};
pub use received::{DEFAULT_RECEIVED_PDF_BUDGET, MAX_RECEIVED_PDF_BYTES, ReceivedPdf, inspect_received};
pub use skeleton::{PlanItem, Skeleton, plan_items, skeleton};
pub use template::{PageSize, Part, Section, Template};

/// Name and version of this renderer, written into every PDF (producer, creator, XMP), every
/// bundle's manifest and every archive entry. It is not the package version: it names the bytes.
/// Any change that alters the bytes of any rendered PDF (layout, typography, the writer, fonts,
/// the built-in template) must bump it, so that a report archived before is known to have been
/// made by an earlier renderer instead of looking damaged; `tests/render/golden.rs` fails until it
/// is bumped and its list regenerated. README's "Renderer versions" table says which release
/// carries each.
pub const RENDERER: &str = "mmr-render 7";

/// Everything one rendering needs. Borrowed so a caller can render the same bundle
/// twice without cloning it.
#[derive(Debug, Clone, Copy)]
pub struct RenderRequest<'a> {
    /// The report, as CommonMark + GFM.
    pub report_markdown: &'a str,
    /// The four-year action plan, rendered as Part II when present.
    pub action_plan_markdown: Option<&'a str>,
    /// Files that image references may resolve to; nothing else is ever read.
    pub attachments: &'a [Attachment],
    /// Cover, header and PDF metadata values, all supplied by the caller.
    pub meta: &'a DocumentMeta,
    /// Page geometry, fonts, styles and texts.
    pub template: &'a Template,
    /// Input limits; [`Limits::default`] is the service's policy.
    pub limits: &'a Limits,
}

/// A finished rendering.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PDF file.
    pub pdf: Vec<u8>,
    /// Problems that did not stop the rendering (missing glyphs, missing images...).
    pub warnings: Vec<Warning>,
    /// Number of pages, cover included.
    pub page_count: usize,
}

/// Time spent in each stage of one rendering, for the benchmark.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Markdown to document tree.
    pub parse: Duration,
    /// Shaping, line breaking and pagination.
    pub layout: Duration,
    /// Walking the laid-out pages into printpdf operations, and finishing the
    /// document (outline, metadata, XMP, output intent).
    pub pdf: Duration,
    /// printpdf turning its operations into PDF objects (`to_lopdf_document`).
    pub printpdf: Duration,
    /// Font subsetting (part of writing, reported apart).
    pub subset: Duration,
    /// Flate compression of streams and serialisation to bytes.
    pub compress: Duration,
}

/// Render a report (and optional action plan) into an archival PDF.
pub fn render(request: &RenderRequest<'_>) -> Result<Rendered, RenderError> {
    render_timed(request).map(|(rendered, _)| rendered)
}

/// [`render`], also returning how long each stage took.
pub fn render_timed(request: &RenderRequest<'_>) -> Result<(Rendered, Timings), RenderError> {
    let mut timings = Timings::default();
    let limits = request.limits;
    let start = Instant::now();
    let mut report = markdown::parse(request.report_markdown, limits)?;
    let mut plan = request.action_plan_markdown.map(|text| markdown::parse(text, limits)).transpose()?;
    let unresolved = tree::link_parts(&mut report, plan.as_mut());
    let appendix = layout::appendix_range(&report.blocks, request.template);
    tree::number_footnotes(&mut report, plan.as_mut(), appendix);
    timings.parse = start.elapsed();

    // The report's own headings say its language better than the city's or the template's
    // default: it becomes /Lang and dc:language, chooses the hyphenation patterns and the
    // template's words on the cover, contents and running header and footer.
    let language = check::heading_language(&report, request.template).unwrap_or(&request.meta.language);
    let meta = DocumentMeta { language: language.to_string(), ..request.meta.clone() };
    let template = request.template.in_language(language);
    let template = template.as_ref();

    let start = Instant::now();
    let mut warnings: Vec<Warning> = unresolved
        .into_iter()
        .map(|a| Warning::new(WarningCode::LinkDropped, format!("link to #{a} names no heading; shown as plain text")))
        .collect();
    let images = images::prepare(&report, plan.as_ref(), request.attachments, limits, &mut warnings)?;
    let faces = fonts::FontSet::load(template)?;
    let source_sha = meta::source_digest(request);
    // The body's pages go to the writer as the layout finishes them.
    let mut writer = pdf::Writer::new(&faces, request.template.page.size.points());
    let document = layout::lay_out(
        &layout::Input {
            report: &report,
            action_plan: plan.as_ref(),
            meta: &meta,
            template,
            images: &images,
            source_sha: &source_sha,
            limits,
        },
        &faces,
        &mut warnings,
        &mut |page, tree| writer.page(page, tree),
    )?;
    timings.layout = start.elapsed().saturating_sub(writer.streaming());

    let page_count = document.running.len();
    let pdf = writer.finish(
        document,
        &images,
        &pdf::Info { meta: &meta, template, source_sha: &source_sha },
        &mut timings,
    )?;
    Ok((Rendered { pdf, warnings, page_count }, timings))
}
