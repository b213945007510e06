//! The Atom feed (RFC 4287) of newly published reports at `/feeds/archive.atom`: the
//! [`FEED_SIZE`] entries most recently made public, newest first, each linking to its page for
//! people (`workflow::catalog::page_url`, the first `alternate` link), its PDF and its JSON
//! metadata. An entry's `published` is its publication date, its `updated` the moment it became
//! public in its current form (a backdated publication still shows as new).
//! Entry ids are `tag:` URIs (RFC 4151) on the public URL's host, so they never change.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::oai::escape;
use super::{ApiError, AppState, rfc3339};
use crate::workflow::catalog::{self, FEED_SIZE, Record, page_url};

pub fn router() -> Router<AppState> {
    Router::new().route("/feeds/archive.atom", get(feed))
}

async fn feed(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = state.now();
    let records = state.db.run(move |conn| catalog::newest(conn, now, FEED_SIZE)).await?;
    let xml = render(&state.public_url, now, &records);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8"))], xml).into_response())
}

/// `<name>text</name>`, escaped.
fn element(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>", escape(text)));
}

fn render(public_url: &str, now: chrono::NaiveDateTime, records: &[Record]) -> String {
    let base = public_url.trim_end_matches('/');
    let host =
        url::Url::parse(base).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
    let self_url = format!("{base}/feeds/archive.atom");
    // Nothing published yet: the feed was last updated now, as far as a reader can tell.
    let updated = records.first().map_or(now, |r| r.public_since);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    element(&mut out, "id", &format!("tag:{host},2026:archive"));
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
