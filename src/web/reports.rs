//! The archive's pages: the search (`/reports`) with facets, snippets and pages, and a report's
//! page (`/reports/{id}`, or its readable name, which redirects) with its metadata for people
//! and for machines (Highwire Press `citation_*` and Dublin Core meta tags, schema.org JSON-LD).

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::WebState;
use super::i18n::Tr;
use super::page::{Chrome, Ctx, PageError, PageResult, href, html, respond};
use super::views::{ReportItem, field_name, language_name, report_title};
use crate::domain::PageRequest;
use crate::domain::fields::CreativeField;
use crate::domain::regions::Region;
use crate::error::Error;
use crate::workflow::catalog::{FacetCount, Found, Record, SearchParams};
use crate::workflow::excerpts::Excerpt;
use crate::workflow::{self};

/// Results per page of the search, unless `per_page` says otherwise.
const PER_PAGE: i64 = 20;

/// The query parameters a search page keeps from one link to the next: the filters, and how
/// many results a page shows.
const KEPT: [&str; 8] = ["q", "field", "country", "region", "year", "language", "city", "per_page"];

#[derive(Template)]
#[template(path = "reports.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    total: String,
    results: Vec<ReportItem>,
    facets: Vec<FacetGroup>,
    active: Vec<ActiveFilter>,
    pages: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    exports: Vec<(String, &'static str)>,
    /// Hidden inputs that keep the current filters when the query box is submitted.
    kept: Vec<(String, String)>,
}

struct FacetGroup {
    title: &'static str,
    options: Vec<FacetOption>,
}

struct FacetOption {
    label: String,
    count: String,
    href: String,
    active: bool,
}

struct ActiveFilter {
    label: String,
    remove: String,
}

struct PageLink {
    number: i64,
    href: String,
    current: bool,
}

pub async fn search(State(state): State<WebState>, ctx: Ctx) -> Response {
    respond(search_page(state, ctx).await)
}

async fn search_page(state: WebState, ctx: Ctx) -> PageResult {
    let fail = |e: PageError| (ctx.clone(), e);
    let given = |name: &str| ctx.param(name).map(str::to_owned);
    let params = SearchParams {
        city: given("city"),
        country: given("country"),
        region: given("region"),
        field: given("field"),
        year: given("year"),
        language: given("language"),
        q: given("q"),
        ..SearchParams::default()
    };
    let filter = params.filter().map_err(|e| fail(e.into()))?;
    let page_number = match ctx.param("page") {
        None => 1,
        Some(p) => p.parse::<i64>().map_err(|_| fail(PageError::BadRequest(ctx.tr.t("search.bad_page").into())))?,
    };
    let per_page = match ctx.param("per_page") {
        None => PER_PAGE,
        Some(n) => n.parse::<i64>().map_err(|_| fail(PageError::BadRequest(ctx.tr.t("search.bad_per_page").into())))?,
    };
    let page = PageRequest::parse(Some(page_number), Some(per_page)).map_err(|e| fail(e.into()))?;
    let (index, now) = (state.catalog.clone(), state.now());
    let checked = filter.clone();
    let (catalog, fields) = state
        .db
        .run(move |conn| {
            let catalog = workflow::catalog::searchable(&index, conn, None, &checked)?;
            Ok::<_, Error>((catalog, workflow::public::fields(conn)?))
        })
        .await
        .map_err(|e| fail(e.into()))?;
    // The search and the snippets are memory work, done here as the API does its search; only
    // abstracts not kept yet are read from the database.
    let found = workflow::catalog::search(&state.catalog, &catalog, now, &filter, page);
    let shown: Vec<&Record> = found.page.items.iter().map(Arc::as_ref).collect();
    let (mut snippets, unread) = state.excerpts.under_results(&state.catalog, &shown, &filter.words);
    if !unread.is_empty() {
        let (excerpts, template) = (state.excerpts.clone(), state.reporting.template.clone());
        let read =
            state.db.run(move |conn| excerpts.read(conn, &template, &unread)).await.map_err(|e| fail(e.into()))?;
        snippets.extend(read);
    }
    let view = search_view(&ctx, &found, &fields, &snippets);
    Ok(html(&ctx, StatusCode::OK, &view))
}

fn search_view(ctx: &Ctx, found: &Found, fields: &[CreativeField], snippets: &HashMap<i64, Excerpt>) -> SearchPage {
    let tr = ctx.tr;
    let kept: Vec<(String, String)> =
        ctx.query.iter().filter(|(k, v)| KEPT.contains(&k.as_str()) && !v.trim().is_empty()).cloned().collect();
    let with = |name: &str, value: Option<&str>| {
        let mut pairs: Vec<(String, String)> = kept.iter().filter(|(k, _)| k != name).cloned().collect();
        if let Some(v) = value {
            pairs.push((name.to_owned(), v.to_owned()));
        }
        href("/reports", &pairs)
    };
    let group =
        |title: &'static str, param: &'static str, counts: &[FacetCount], label: &dyn Fn(&FacetCount) -> String| {
            let current = ctx.param(param);
            FacetGroup {
                title,
                options: counts
                    .iter()
                    .map(|f| FacetOption {
                        label: label(f),
                        count: tr.number(f.count),
                        href: with(param, Some(&f.code)),
                        active: current == Some(f.code.as_str()),
                    })
                    .collect(),
            }
        };
    let facets = vec![
        group(tr.t("facet.field"), "field", &found.facets.fields, &|f| {
            field_name(tr, fields, &f.code, &f.name).to_owned()
        }),
        group(tr.t("facet.region"), "region", &found.facets.regions, &|f| region_name(tr, &f.code, &f.name)),
        group(tr.t("facet.country"), "country", &found.facets.countries, &|f| f.name.clone()),
        group(tr.t("facet.year"), "year", &found.facets.years, &|f| f.name.clone()),
        group(tr.t("facet.language"), "language", &found.facets.languages, &|f| language_name(tr, &f.code)),
    ];
    let facets = facets.into_iter().filter(|g| !g.options.is_empty()).collect();
    let mut active = Vec::new();
    for (param, value) in &kept {
        if param == "q" || param == "per_page" {
            continue;
        }
        let shown = match param.as_str() {
            "field" => field_name(tr, fields, value, value).to_owned(),
            "language" => language_name(tr, value),
            "region" => region_name(tr, value, value),
            "country" => crate::domain::countries::country(value).map_or_else(|| value.clone(), |c| c.name.to_owned()),
            _ => value.clone(),
        };
        let what = tr.t(&format!("facet.{param}"));
        active.push(ActiveFilter { label: format!("{what}: {shown}"), remove: with(param, None) });
    }
    if let Some(q) = ctx.param("q") {
        active.push(ActiveFilter { label: tr.fmt("search.words", &[("q", &q)]), remove: with("q", None) });
    }
    let page = &found.page;
    let last = ((page.total + page.per_page - 1) / page.per_page).max(1);
    let page_href = |n: i64| {
        let mut pairs = kept.clone();
        if n > 1 {
            pairs.push(("page".into(), n.to_string()));
        }
        href("/reports", &pairs)
    };
    let window = (page.page - 2).max(1)..=(page.page + 2).min(last);
    let pages = if last > 1 {
        window.map(|n| PageLink { number: n, href: page_href(n), current: n == page.page }).collect()
    } else {
        Vec::new()
    };
    let selection = href("", &kept.iter().filter(|(k, _)| k != "per_page").cloned().collect::<Vec<_>>());
    let exports = vec![
        (format!("/api/v1/archive/export.csv{selection}"), tr.t("search.export.csv")),
        (format!("/api/v1/archive/export.json{selection}"), tr.t("search.export.json")),
        (format!("/api/v1/archive/bulk.zip{selection}"), tr.t("search.export.zip")),
        (format!("/feeds/archive.atom{selection}"), tr.t("search.export.atom")),
    ];
    let title = match ctx.param("q") {
        Some(q) => tr.fmt("search.title.q", &[("q", &q)]),
        None => tr.t("search.title").to_owned(),
    };
    SearchPage {
        c: ctx.chrome(title, "reports"),
        q: ctx.param("q").unwrap_or_default().to_owned(),
        total: tr.count("search.total", page.total),
        results: page.items.iter().map(|r| ReportItem::new(tr, fields, r, snippets)).collect(),
        facets,
        active,
        prev: (page.page > 1).then(|| page_href(page.page - 1)),
        next: (page.page < last).then(|| page_href(page.page + 1)),
        pages,
        exports,
        kept: kept.into_iter().filter(|(k, _)| k != "q" && k != "page").collect(),
    }
}

/// A UNESCO region's name in the visitor's language.
fn region_name(tr: Tr, slug: &str, fallback: &str) -> String {
    match Region::parse(slug) {
        Ok(region) => tr.t(&format!("region.{}", region.slug())).to_owned(),
        Err(_) => fallback.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    r: Record,
    /// A past report as the city sent it (imported history): its PDF only, nothing rendered here.
    received: bool,
    heading: String,
    field: String,
    country: String,
    language: String,
    published: String,
    archived: String,
    pdf_size: String,
    bundle_size: String,
    bundle_sha256: String,
    page_url: String,
    /// The downloads and the JSON record, relative to the server the page came from.
    pdf_href: String,
    bundle_href: String,
    json_href: String,
    abstract_text: Option<String>,
    versions: Vec<(String, i32, String)>,
    citation: String,
    bibtex: String,
    csl: String,
    /// `(name, content)` meta tags: Highwire Press and Dublin Core.
    meta: Vec<(&'static str, String)>,
    json_ld: String,
}

pub async fn report(State(state): State<WebState>, ctx: Ctx, Path(key): Path<String>) -> Response {
    respond(report_page(state, ctx, key).await)
}

async fn report_page(state: WebState, ctx: Ctx, key: String) -> PageResult {
    let fail = |e: PageError| (ctx.clone(), e);
    let (index, excerpts, template, now) =
        (state.catalog.clone(), state.excerpts.clone(), state.reporting.template.clone(), state.now());
    let Ok(id) = key.parse::<i64>() else {
        // A readable name: redirect to the report's stable address.
        let found = state
            .db
            .run(move |conn| workflow::public::by_name(&index, conn, now, &key))
            .await
            .map_err(|e| fail(e.into()))?;
        return match found {
            Some(r) => Ok(Redirect::permanent(&format!("/reports/{}", r.id)).into_response()),
            None => Err(fail(PageError::NotFound)),
        };
    };
    let rules = state.rules;
    let loaded = state
        .db
        .run(move |conn| {
            // The public's view: an entry not yet (or no longer) published is not found.
            let (_, described) = workflow::reading::entry(conn, &rules, None, id, now)?;
            let Some(described) = described else { return Ok(None) };
            let summary = excerpts.abstracts(conn, &template, &[&described.record])?;
            Ok::<_, Error>(Some((described, summary, workflow::public::fields(conn)?)))
        })
        .await
        .map_err(|e| fail(e.into()))?;
    let Some((described, summary, fields)) = loaded else { return Err(fail(PageError::NotFound)) };
    let view = report_view(&ctx, &state.public_url, described.record, &described.others, summary.get(&id), &fields);
    Ok(html(&ctx, StatusCode::OK, &view))
}

fn report_view(
    ctx: &Ctx,
    base: &str,
    r: Record,
    versions: &[Record],
    summary: Option<&Excerpt>,
    fields: &[CreativeField],
) -> ReportPage {
    let tr = ctx.tr;
    let page_url = workflow::catalog::page_url(base, r.id);
    let api = format!("/api/v1/archive/{}", r.id);
    let pdf_url = format!("{}{api}/pdf", base.trim_end_matches('/'));
    let heading = report_title(tr, &r);
    let field = field_name(tr, fields, &r.field_slug, &r.field_name).to_owned();
    let date = r.published_at.date();
    let abstract_text = summary.filter(|s| !s.is_empty()).map(Excerpt::text);
    let meta = vec![
        ("citation_title", r.title()),
        ("citation_author", r.city_name.clone()),
        ("citation_publication_date", date.format("%Y/%m/%d").to_string()),
        ("citation_online_date", date.format("%Y/%m/%d").to_string()),
        ("citation_publisher", "UNESCO Creative Cities Network".to_owned()),
        ("citation_technical_report_institution", "UNESCO Creative Cities Network".to_owned()),
        ("citation_technical_report_number", r.persistent_id()),
        ("citation_language", r.language.clone()),
        ("citation_pdf_url", pdf_url.clone()),
        ("citation_abstract_html_url", page_url.clone()),
        ("citation_keywords", format!("UNESCO Creative Cities Network; {}; {}", r.field_name, r.country_name)),
        ("DC.title", r.title()),
        ("DC.creator", r.city_name.clone()),
        ("DC.publisher", "UNESCO Creative Cities Network".to_owned()),
        ("DC.date", date.to_string()),
        ("DC.type", "Text".to_owned()),
        ("DC.format", "application/pdf".to_owned()),
        ("DC.language", r.language.clone()),
        ("DC.identifier", r.persistent_id()),
        ("DC.description", r.description()),
        ("DC.subject", r.field_name.clone()),
        ("DC.coverage", format!("{}, {}; {}", r.city_name, r.country_name, r.period())),
        ("DC.rights", r.rights()),
    ];
    let json_ld = json!({
        "@context": "https://schema.org",
        "@type": "Report",
        "@id": page_url,
        "url": page_url,
        "name": r.title(),
        "headline": r.title(),
        "description": r.description(),
        "author": {"@type": "City", "name": r.city_name, "address": {"@type": "PostalAddress", "addressCountry": r.country_code}},
        "publisher": {"@type": "Organization", "name": "UNESCO Creative Cities Network"},
        "datePublished": date.to_string(),
        "inLanguage": r.language,
        "identifier": r.persistent_id(),
        "about": r.field_name,
        "temporalCoverage": format!("{}/{}", r.period_start_year, r.period_end_year),
        "version": r.version,
        "license": r.rights(),
        "encoding": {"@type": "MediaObject", "contentUrl": pdf_url, "encodingFormat": "application/pdf", "contentSize": r.pdf_bytes, "sha256": r.pdf_sha256},
    });
    ReportPage {
        c: Chrome { description: r.description(), ..ctx.chrome(heading.clone(), "reports") },
        received: r.renderer_version == workflow::history::RECEIVED,
        heading,
        field,
        country: r.country_name.clone(),
        language: language_name(tr, &r.language),
        published: tr.date(date),
        archived: tr.date(r.archived_at.date()),
        pdf_size: tr.bytes(r.pdf_bytes),
        bundle_size: r.bundle_bytes.map(|b| tr.bytes(b)).unwrap_or_default(),
        bundle_sha256: r.bundle_sha256.clone().unwrap_or_default(),
        pdf_href: format!("{api}/pdf"),
        bundle_href: format!("{api}/source.zip"),
        json_href: api,
        abstract_text,
        versions: versions
            .iter()
            .map(|v| (format!("/reports/{}", v.id), v.version, tr.date(v.published_at.date())))
            .collect(),
        citation: r.citation_text(&page_url),
        bibtex: r.bibtex(&page_url),
        csl: serde_json::to_string_pretty(&r.csl_json(&page_url)).unwrap_or_default(),
        meta,
        // `</` cannot close the script element early.
        json_ld: json_ld.to_string().replace("</", "<\\/"),
        page_url,
        r,
    }
}
