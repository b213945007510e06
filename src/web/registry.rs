//! The member cities and the creative fields: the list of cities with filters, a city's page
//! with its published reports, the fields and a field's page.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::WebState;
use super::page::{Chrome, Ctx, PageError, PageResult, href, html, respond};
use super::views::{ReportItem, field_name};
use crate::domain::cities::{City, CountryCode};
use crate::domain::fields::{CreativeField, FieldSlug};
use crate::error::Error;
use crate::workflow;
use crate::workflow::cities::CityFilter;

/// A member city in a list.
struct CityItem {
    href: String,
    name: String,
    country: String,
    field: String,
    year: i32,
}

impl CityItem {
    fn new(ctx: &Ctx, fields: &[CreativeField], c: &City) -> Self {
        use chrono::Datelike;
        CityItem {
            href: format!("/cities/{}", c.slug),
            name: c.name.clone(),
            country: country_name(&c.country),
            field: field_name(ctx.tr, fields, &c.field, &c.field).to_owned(),
            year: c.designation_date.year(),
        }
    }
}

fn country_name(code: &str) -> String {
    crate::domain::countries::country(code).map_or_else(|| code.to_owned(), |c| c.name.to_owned())
}

#[derive(Template)]
#[template(path = "cities.html")]
struct CitiesPage {
    c: Chrome,
    cities: Vec<CityItem>,
    total: String,
    q: String,
    field: String,
    country: String,
    fields: Vec<(String, String)>,
    countries: Vec<(String, String)>,
    clear: Option<String>,
    /// `Page 2 of 5`, and the neighbouring pages, when the list has more than one page.
    page_of: Option<String>,
    prev: Option<String>,
    next: Option<String>,
}

/// Cities per page of the list.
const CITIES_PER_PAGE: usize = 100;

pub async fn cities(State(state): State<WebState>, ctx: Ctx) -> Response {
    respond(cities_page(state, ctx).await)
}

async fn cities_page(state: WebState, ctx: Ctx) -> PageResult {
    let fail = |e: PageError| (ctx.clone(), e);
    let field = ctx.param("field").map(FieldSlug::parse).transpose().map_err(|e| fail(e.into()))?;
    let country = ctx.param("country").map(CountryCode::parse).transpose().map_err(|e| fail(e.into()))?;
    let filter = CityFilter {
        field: field.map(|f| f.as_str().to_owned()),
        country: country.map(|c| c.as_str().to_owned()),
        query: ctx.param("q").map(str::to_owned),
        ..CityFilter::default()
    };
    let (cities, all, fields) = state
        .db
        .run(move |conn| {
            let cities = workflow::public::every_city(conn, &filter)?;
            let all = workflow::public::every_city(conn, &CityFilter::default())?;
            Ok::<_, Error>((cities, all, workflow::public::fields(conn)?))
        })
        .await
        .map_err(|e| fail(e.into()))?;
    let mut countries: BTreeMap<String, String> = BTreeMap::new();
    for c in &all {
        countries.entry(country_name(&c.country)).or_insert_with(|| c.country.clone());
    }
    let tr = ctx.tr;
    let filtered = ctx.param("field").is_some() || ctx.param("country").is_some() || ctx.param("q").is_some();
    let pages = cities.len().div_ceil(CITIES_PER_PAGE).max(1);
    let number = match ctx.param("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if (1..=pages).contains(&n) => n,
        Some(_) => return Err(fail(PageError::BadRequest(tr.fmt("cities.bad_page", &[("pages", &pages)])))),
    };
    let page_href = |n: usize| {
        let mut pairs: Vec<(String, String)> = ctx.query.iter().filter(|(k, _)| k != "page").cloned().collect();
        if n > 1 {
            pairs.push(("page".into(), n.to_string()));
        }
        href("/cities", &pairs)
    };
    let shown = cities.iter().skip((number - 1) * CITIES_PER_PAGE).take(CITIES_PER_PAGE);
    let page = CitiesPage {
        c: ctx.chrome(tr.t("cities.title"), "cities"),
        total: tr.count("cities.total", cities.len() as i64),
        page_of: (pages > 1).then(|| tr.fmt("cities.page_of", &[("page", &number), ("pages", &pages)])),
        prev: (number > 1).then(|| page_href(number - 1)),
        next: (number < pages).then(|| page_href(number + 1)),
        cities: shown.map(|c| CityItem::new(&ctx, &fields, c)).collect(),
        q: ctx.param("q").unwrap_or_default().to_owned(),
        field: ctx.param("field").unwrap_or_default().to_owned(),
        country: ctx.param("country").unwrap_or_default().to_owned(),
        fields: fields.iter().map(|f| (f.slug.clone(), f.name_in(tr.lang.code()).to_owned())).collect(),
        countries: countries.into_iter().map(|(name, code)| (code, name)).collect(),
        clear: filtered.then(|| href("/cities", &[])),
    };
    Ok(html(&ctx, StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "city.html")]
struct CityPage {
    c: Chrome,
    city: CityItem,
    field_slug: String,
    designated: String,
    reports: Vec<ReportItem>,
}

pub async fn city(State(state): State<WebState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    respond(city_page(state, ctx, slug).await)
}

async fn city_page(state: WebState, ctx: Ctx, slug: String) -> PageResult {
    let (index, now) = (state.catalog.clone(), state.now());
    let (city, reports, fields) = state
        .db
        .run(move |conn| {
            let (city, reports) = workflow::public::city(&index, conn, now, &slug)?;
            Ok::<_, Error>((city, reports, workflow::public::fields(conn)?))
        })
        .await
        .map_err(|e| (ctx.clone(), e.into()))?;
    let tr = ctx.tr;
    let page = CityPage {
        c: ctx.chrome(city.name.clone(), "cities"),
        field_slug: city.field.clone(),
        designated: tr.date(city.designation_date),
        reports: reports.iter().map(|r| ReportItem::new(tr, &fields, r, &HashMap::new())).collect(),
        city: CityItem::new(&ctx, &fields, &city),
    };
    Ok(html(&ctx, StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "fields.html")]
struct FieldsPage {
    c: Chrome,
    fields: Vec<(String, String, String, i32)>,
}

pub async fn fields(State(state): State<WebState>, ctx: Ctx) -> Response {
    respond(fields_page(state, ctx).await)
}

async fn fields_page(state: WebState, ctx: Ctx) -> PageResult {
    let fields = state.db.run(workflow::cities::list_fields).await.map_err(|e: Error| (ctx.clone(), e.into()))?;
    let tr = ctx.tr;
    let page = FieldsPage {
        c: ctx.chrome(tr.t("fields.title"), "fields"),
        fields: fields
            .iter()
            .map(|(f, n)| {
                (
                    format!("/fields/{}", f.slug),
                    f.name_in(tr.lang.code()).to_owned(),
                    tr.count("cities.total", *n),
                    f.since_year,
                )
            })
            .collect(),
    };
    Ok(html(&ctx, StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "field.html")]
struct FieldPage {
    c: Chrome,
    since: i32,
    cities: Vec<CityItem>,
    reports: Vec<ReportItem>,
    search: String,
}

pub async fn field(State(state): State<WebState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    respond(field_page(state, ctx, slug).await)
}

async fn field_page(state: WebState, ctx: Ctx, slug: String) -> PageResult {
    let (index, now) = (state.catalog.clone(), state.now());
    let (field, cities, reports, fields) = state
        .db
        .run(move |conn| {
            let (field, cities, reports) = workflow::public::field(&index, conn, now, &slug)?;
            Ok::<_, Error>((field, cities, reports, workflow::public::fields(conn)?))
        })
        .await
        .map_err(|e| (ctx.clone(), e.into()))?;
    let tr = ctx.tr;
    let page = FieldPage {
        c: ctx.chrome(field.name_in(tr.lang.code()).to_owned(), "fields"),
        since: field.since_year,
        cities: cities.iter().map(|c| CityItem::new(&ctx, &fields, c)).collect(),
        reports: reports.iter().map(|r| ReportItem::new(tr, &fields, r, &HashMap::new())).collect(),
        search: href("/reports", &[("field".into(), field.slug.clone())]),
    };
    Ok(html(&ctx, StatusCode::OK, &page))
}
