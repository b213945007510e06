//! Pieces of views more than one page shows: a report in a list, with its excerpt.

use std::collections::HashMap;

use super::i18n::Tr;
use crate::domain::fields::CreativeField;
use crate::workflow::catalog::Record;
use crate::workflow::excerpts::Excerpt;

/// The name of field `slug` in the visitor's language, from the registry's fields.
pub fn field_name<'a>(tr: Tr, fields: &'a [CreativeField], slug: &'a str, fallback: &'a str) -> &'a str {
    fields.iter().find(|f| f.slug == slug).map_or(fallback, |f| f.name_in(tr.lang.code()))
}

/// A language's name in the visitor's language.
pub fn language_name(tr: Tr, code: &str) -> String {
    match code {
        "en" | "fr" => tr.t(&format!("language.{code}")).to_owned(),
        other => other.to_owned(),
    }
}

/// A published report as a list shows it.
pub struct ReportItem {
    pub href: String,
    pub title: String,
    pub city: String,
    pub country: String,
    pub field: String,
    pub period: String,
    pub published: String,
    /// `2026-03-31`, for `<time datetime>`.
    pub published_iso: String,
    pub language: String,
    pub version: i32,
    pub excerpt: Option<Excerpt>,
}

impl ReportItem {
    pub fn new(tr: Tr, fields: &[CreativeField], r: &Record, excerpts: &HashMap<i64, Excerpt>) -> Self {
        ReportItem {
            href: format!("/reports/{}", r.id),
            title: report_title(tr, r),
            city: r.city_name.clone(),
            country: r.country_name.clone(),
            field: field_name(tr, fields, &r.field_slug, &r.field_name).to_owned(),
            period: r.period(),
            published: tr.date(r.published_at.date()),
            published_iso: r.published_at.date().to_string(),
            language: language_name(tr, &r.language),
            version: r.version,
            excerpt: excerpts.get(&r.id).filter(|e| !e.is_empty()).cloned(),
        }
    }
}

/// `Membership Monitoring Report — Östersund, 2022–2026`, in the visitor's language.
pub fn report_title(tr: Tr, r: &Record) -> String {
    tr.fmt("report.title", &[("city", &r.city_name), ("period", &r.period())])
}
