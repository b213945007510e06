//! The Atom feed (RFC 4287) of newly published reports at `/feeds/archive.atom`: the
//! [`FEED_SIZE`] entries most recently made public, newest first (of the whole archive, or of a
//! selection made with the archive search's filters), each linking to its page for
//! people (`workflow::catalog::page_url`, the first `alternate` link), its PDF and its JSON
//! metadata. An entry's `published` is its publication date, its `updated` the moment it became
//! public in its current form (a backdated publication still shows as new).
//! Entry ids are `tag:` URIs (RFC 4151) on the public URL's host, so they never change.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiQuery;
use super::oai::escape;
use super::{ApiError, AppState, rfc3339};
use crate::workflow::catalog::{self, FEED_SIZE, Filter, Record, SearchParams, page_url};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feed))
}

/// The newest reports, or with the archive search's filters (`field`, `country`, `region`,
/// `year`, `language`, `city`, `q`) the newest of that selection, so a reader can follow a field,
/// a country or a subject. Not paged.
#[utoipa::path(get, path = "/feeds/archive.atom", tag = "harvesting", params(SearchParams), security((), ("bearer" = [])),
    responses((status = 200, description = "An Atom feed (RFC 4287)", content_type = "application/atom+xml", body = String)))]
async fn feed(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    ApiQuery(query): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let filter = super::archive::unpaged(&query, &format!("the {FEED_SIZE} newest reports"))?;
    let now = state.now();
    let index = state.catalog.clone();
    let records = state
        .db
        .run(move |conn| {
            if filter == Filter::default() {
                return catalog::newest(conn, now, FEED_SIZE);
            }
            let mut selected = catalog::export(&index, conn, None, now, &filter, catalog::EXPORT_LIMIT)?;
            selected.sort_by(|a, b| b.public_since.cmp(&a.public_since).then(b.id.cmp(&a.id)));
            Ok(selected.into_iter().take(FEED_SIZE).map(|r| (*r).clone()).collect())
        })
        .await?;
    let xml = render(&state.public_url, raw.as_deref().filter(|q| !q.is_empty()), now, &records);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8"))], xml).into_response())
}

/// `<name>text</name>`, escaped.
fn element(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>", escape(text)));
}

/// The feed of `records`; `query` is the selection's query string, which names the feed (its
/// `self` link and its id).
fn render(public_url: &str, query: Option<&str>, now: chrono::NaiveDateTime, records: &[Record]) -> String {
    let base = public_url.trim_end_matches('/');
    let host =
        url::Url::parse(base).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
    let selection = query.map(|q| format!("?{q}")).unwrap_or_default();
    let self_url = format!("{base}/feeds/archive.atom{selection}");
    // Nothing published yet: the feed was last updated now, as far as a reader can tell.
    let updated = records.first().map_or(now, |r| r.public_since);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    element(&mut out, "id", &format!("tag:{host},2026:archive{selection}"));
    element(&mut out, "title", "UNESCO Creative Cities Network — newly published Membership Monitoring Reports");
    element(&mut out, "updated", &rfc3339(updated.and_utc()));
    out.push_str(&format!("<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>", escape(&self_url)));
    out.push_str("<author><name>UNESCO Creative Cities Network Secretariat</name></author>");
    element(&mut out, "generator", "mmr");
    for r in records {
        let url = format!("{base}/api/v1/archive/{}", r.id);
        out.push_str("<entry>");
        element(&mut out, "id", &format!("tag:{host},2026:archive/{}", r.id));
        element(&mut out, "title", &r.title());
        element(&mut out, "updated", &rfc3339(r.public_since.and_utc()));
        element(&mut out, "published", &rfc3339(r.published_at.and_utc()));
        out.push_str("<author>");
        element(&mut out, "name", &r.city_name);
        out.push_str("</author>");
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            escape(&page_url(base, r.id))
        ));
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/pdf\" length=\"{}\" href=\"{}\"/>",
            r.pdf_bytes,
            escape(&format!("{url}/pdf"))
        ));
        out.push_str(&format!("<link rel=\"alternate\" type=\"application/json\" href=\"{}\"/>", escape(&url)));
        out.push_str(&format!("<category term=\"{}\" label=\"{}\"/>", escape(&r.field_slug), escape(&r.field_name)));
        element(&mut out, "summary", &r.description());
        element(&mut out, "rights", &r.rights());
        out.push_str("</entry>");
    }
    out.push_str("</feed>\n");
    out
}
