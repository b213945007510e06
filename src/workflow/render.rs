//! Rendering reports for the service: the template and limits every check, preview and archive
//! uses, the admission every rendering passes ([`super::admission`]), and what the cover says
//! about a cycle's city, from the registry.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::admission::{self, CallerLimit, RenderGate};
use crate::db::Conn;
use crate::db::cycles::CycleRecord;
use crate::error::Result;
use crate::render::{self, Attachment, DocumentMeta, Limits, PdfDate, RenderRequest, Status, Template};

/// The report template and input limits, shared by every check, preview and archive rendering,
/// and the admission every rendering passes.
#[derive(Debug, Clone)]
pub struct Reporting {
    pub template: Arc<Template>,
    pub limits: Limits,
    /// How many renderings run at once, shared by every path that renders.
    pub gate: Arc<RenderGate>,
    /// Each caller's previews.
    pub previews: Arc<CallerLimit>,
}

impl Default for Reporting {
    fn default() -> Self {
        Self {
            template: Arc::new(Template::builtin()),
            limits: Limits::default(),
            gate: Arc::default(),
            previews: Arc::default(),
        }
    }
}

/// A report's sources, as a rendering and a digest see them (attachments sorted by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub report_markdown: String,
    pub action_plan_markdown: String,
    pub attachments: Vec<Attachment>,
}

impl Sources {
    /// The digest a submitted version is known by (also printed on its cover).
    pub fn digest(&self) -> String {
        render::bundle_digest(&self.report_markdown, Some(&self.action_plan_markdown), &self.attachments)
    }
}

impl Reporting {
    /// Renders `sources` with `meta` once the [`RenderGate`] admits it (blocking while it waits;
    /// [`crate::error::Error::Busy`] past the queue deadline); input the renderer refuses is a
    /// 422 naming the problem.
    pub fn render(&self, sources: &Sources, meta: &DocumentMeta) -> Result<render::Rendered> {
        let plan = Some(sources.action_plan_markdown.as_str()).filter(|p| !p.trim().is_empty());
        let request = RenderRequest {
            report_markdown: &sources.report_markdown,
            action_plan_markdown: plan,
            attachments: &sources.attachments,
            meta,
            template: &self.template,
            limits: &self.limits,
        };
        let permit = self.gate.admit()?;
        let started = std::time::Instant::now();
        let rendered = render::render(&request);
        drop(permit);
        metrics::histogram!("mmr_render_seconds").record(started.elapsed().as_secs_f64());
        if let Ok(done) = &rendered {
            metrics::counter!("mmr_render_pages_total").increment(done.page_count as u64);
        }
        admission::trim_after(sources.report_markdown.len() + sources.action_plan_markdown.len());
        Ok(rendered?)
    }
}

/// A rendering whose inputs are loaded: rendering it (blocking, up to seconds for a long report)
/// needs no database connection, so callers load it inside a connection and render outside.
#[derive(Debug, Clone)]
pub struct Rendering {
    pub sources: Sources,
    pub meta: DocumentMeta,
}

impl Rendering {
    /// The PDF.
    pub fn pdf(&self, kit: &Reporting) -> Result<Vec<u8>> {
        Ok(kit.render(&self.sources, &self.meta)?.pdf)
    }
}

/// What the cover says about a city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityCover {
    pub name: String,
    pub country: String,
    pub field: String,
    pub language: String,
}

/// A registered city's cover details; the country by its English name, the field by its name in
/// the city's language (a French-speaking city's report has a French cover).
pub fn city_cover(conn: &mut Conn<'_>, slug: &str) -> Result<CityCover> {
    let city = super::cities::get(conn, slug)?;
    let field = super::cities::list_fields(conn)?
        .into_iter()
        .find(|(f, _)| f.slug == city.field)
        .map_or_else(|| city.field.clone(), |(f, _)| f.name_in(&city.language).to_owned());
    let country =
        crate::domain::countries::country(&city.country).map_or_else(|| city.country.clone(), |c| c.name.to_owned());
    Ok(CityCover { name: city.name, country, field, language: city.language })
}

/// The cover and metadata of a cycle's report: `version` is `None` for a draft, and `created` is
/// the date the document stands for (the submission's, or today's for a draft).
pub fn cycle_meta(
    cycle: &CycleRecord,
    cover: &CityCover,
    version: Option<(i32, NaiveDate)>,
    status: Status,
    created: NaiveDate,
) -> DocumentMeta {
    let mut meta = DocumentMeta::for_city(&cover.name);
    meta.country.clone_from(&cover.country);
    meta.creative_field.clone_from(&cover.field);
    meta.language.clone_from(&cover.language);
    meta.cycle = format!("{}–{}", cycle.period_start_year, cycle.period_end_year);
    meta.version = version.map_or_else(|| "draft".to_owned(), |(n, _)| format!("v{n}"));
    meta.submission_date = version.map(|(_, d)| pdf_date(d));
    meta.status = status;
    meta.keywords.extend([cover.field.clone(), cover.name.clone()]);
    meta.creation_date = pdf_date(created);
    meta
}

/// A calendar date as the renderer takes it.
pub fn pdf_date(d: NaiveDate) -> PdfDate {
    PdfDate::ymd(d.year().clamp(0, 9999) as u16, d.month() as u8, d.day() as u8)
}
