//! OAI-PMH 2.0 at `/oai` (GET, or POST form-encoded): the published archive for metadata
//! harvesters, as Dublin Core (`oai_dc`).
//!
//! - Identifiers are `oai:<host of the public URL>:archive/<id>`; the datestamp is the moment
//!   the entry became public in its current form (`public_since`: its publication date, or the
//!   moment that date was set when it was set in the past), with seconds granularity, so an
//!   incremental harvest `from` its last visit sees every entry that appeared since. Sets are
//!   `field`, `field:<slug>`, `country` and `country:<ISO>`.
//! - `deletedRecord` is `persistent`: an entry that was public and is withdrawn (its publication
//!   date removed or moved into the future) stays in the lists, and answers GetRecord, as a header
//!   with `status="deleted"` dated by its withdrawal, so an incremental harvest `from` its last
//!   visit learns to remove its copy. The withdrawal is kept as long as the entry stays hidden
//!   (`workflow::harvest`), hence persistent. An entry that was never public is never named: that
//!   would tell the public an unpublished report exists.
//! - A record's `dc:identifier`s are its PDF and its page for people
//!   (`workflow::catalog::page_url`), the landing page harvesters link to.
//! - Lists are paged by keyset. A resumption token is the request's arguments, the time the list
//!   was first asked for (entries published later wait for the next harvest, so the list does not
//!   shift under the harvester), the last `(datestamp, id)` sent and the cursor, encoded as
//!   base64url JSON. It holds no server state, so it never expires, and every page costs the same.
//! - Protocol errors are HTTP 200 with the `error` element; the `request` element carries no
//!   attributes after `badVerb` and `badArgument`, as the specification requires.
//!   `noMetadataFormats` cannot arise: every entry is disseminated as `oai_dc`.
//!   `noSetHierarchy` answers set requests while nothing is published, since sets are the fields
//!   and countries of published entries.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState, rfc3339};
use crate::workflow::Conn;
use crate::workflow::catalog::{Record, page_url};
use crate::workflow::harvest::{self, Harvested, Selection, Withdrawn};

const REPOSITORY_NAME: &str = "UNESCO Creative Cities Network — Membership Monitoring Reports";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(by_get, by_post))
}

/// An OAI-PMH 2.0 request's arguments. A bad or missing one is answered in XML with OAI-PMH's own
/// error (`badArgument`, `badVerb`, ...), status 200 as the protocol has it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "the arguments' description: the handler parses the raw query, as OAI-PMH requires")]
struct OaiArguments {
    /// `Identify`, `ListMetadataFormats`, `ListSets`, `ListIdentifiers`, `ListRecords` or `GetRecord`.
    #[param(example = "ListRecords")]
    verb: Option<String>,
    /// `oai_dc`.
    #[param(example = "oai_dc", rename = "metadataPrefix")]
    metadata_prefix: Option<String>,
    /// A record's identifier (GetRecord, ListMetadataFormats).
    identifier: Option<String>,
    /// A set spec: `field`, `field:<slug>`, `country`, `country:<code>`, `region`, `region:<slug>`.
    set: Option<String>,
    /// From this date or time (UTC, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`).
    from: Option<String>,
    /// Until this date or time.
    until: Option<String>,
    /// The token a previous list answer ended with.
    #[param(rename = "resumptionToken")]
    resumption_token: Option<String>,
}

/// The form of an OAI-PMH request by POST: the same arguments.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "the form's description: the handler parses the raw body, as OAI-PMH requires")]
struct OaiForm {
    verb: Option<String>,
    #[schema(rename = "metadataPrefix")]
    metadata_prefix: Option<String>,
    identifier: Option<String>,
    set: Option<String>,
    from: Option<String>,
    until: Option<String>,
    #[schema(rename = "resumptionToken")]
    resumption_token: Option<String>,
}

/// An OAI-PMH 2.0 request (`oai_dc`) over the published reports.
#[utoipa::path(get, path = "/oai", tag = "harvesting", params(OaiArguments), security((), ("bearer" = [])),
    responses((status = 200, description = "The OAI-PMH answer, or its error", content_type = "text/xml", body = String)))]
async fn by_get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    answer(&state, query.unwrap_or_default().into_bytes()).await
}

/// An OAI-PMH 2.0 request by POST, form-encoded.
#[utoipa::path(post, path = "/oai", tag = "harvesting", request_body(content = OaiForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The OAI-PMH answer, or its error", content_type = "text/xml", body = String)))]
async fn by_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "OAI-PMH requests by POST must be application/x-www-form-urlencoded",
        ));
    }
    answer(&state, body.to_vec()).await
}

async fn answer(state: &AppState, raw: Vec<u8>) -> Result<Response, ApiError> {
    let repo = Repository::new(state);
    let xml = state.db.run(move |conn| respond(conn, &repo, &raw)).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"))], xml).into_response())
}

/// Escapes text for XML content and attribute values, dropping characters XML 1.0 cannot carry.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>`, escaped.
fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// What a response needs to know about this repository.
struct Repository {
    base_url: String,
    admin_email: String,
    public_url: String,
    repo_id: String,
    now: NaiveDateTime,
    page_size: usize,
}

impl Repository {
    fn new(state: &AppState) -> Self {
        let public_url = state.public_url.trim_end_matches('/').to_owned();
        let repo_id = url::Url::parse(&public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        Self {
            base_url: format!("{public_url}/oai"),
            admin_email: state.secretariat_email.clone(),
            public_url,
            repo_id,
            now: state.now(),
            page_size: state.oai_page_size.max(1),
        }
    }

    fn identifier(&self, id: i64) -> String {
        format!("oai:{}:archive/{id}", self.repo_id)
    }

    /// The archive id an identifier names, if it is one of ours.
    fn archive_id(&self, identifier: &str) -> Option<i64> {
        let prefix = format!("oai:{}:archive/", self.repo_id);
        let id = identifier.strip_prefix(&prefix)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Identify,
    ListMetadataFormats,
    ListSets,
    ListIdentifiers,
    ListRecords,
    GetRecord,
}

impl Verb {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Identify" => Self::Identify,
            "ListMetadataFormats" => Self::ListMetadataFormats,
            "ListSets" => Self::ListSets,
            "ListIdentifiers" => Self::ListIdentifiers,
            "ListRecords" => Self::ListRecords,
            "GetRecord" => Self::GetRecord,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Identify => "Identify",
            Self::ListMetadataFormats => "ListMetadataFormats",
            Self::ListSets => "ListSets",
            Self::ListIdentifiers => "ListIdentifiers",
            Self::ListRecords => "ListRecords",
            Self::GetRecord => "GetRecord",
        }
    }

    /// The arguments the verb takes, and those it requires (unless given a resumption token).
    fn arguments(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Identify => (&[], &[]),
            Self::ListMetadataFormats => (&["identifier"], &[]),
            Self::ListSets => (&["resumptionToken"], &[]),
            Self::ListIdentifiers | Self::ListRecords => {
                (&["metadataPrefix", "from", "until", "set", "resumptionToken"], &["metadataPrefix"])
            }
            Self::GetRecord => (&["identifier", "metadataPrefix"], &["identifier", "metadataPrefix"]),
        }
    }
}

/// A protocol error: its code and a message naming the problem.
#[derive(Debug)]
struct OaiError {
    code: &'static str,
    message: String,
}

fn oai_error(code: &'static str, message: impl Into<String>) -> OaiError {
    OaiError { code, message: message.into() }
}

/// A checked request: the verb and its (single-valued) arguments.
struct Request {
    verb: Verb,
    args: BTreeMap<String, String>,
}

impl Request {
    fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).map(String::as_str)
    }
}

fn check(raw: &[u8]) -> Result<Request, OaiError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    let verbs: Vec<&str> = pairs.iter().filter(|(k, _)| k == "verb").map(|(_, v)| v.as_str()).collect();
    let verb = match verbs.as_slice() {
        [] => return Err(oai_error("badVerb", "the verb argument is missing")),
        [one] => Verb::parse(one).ok_or_else(|| oai_error("badVerb", format!("`{one}` is not an OAI-PMH verb")))?,
        _ => return Err(oai_error("badVerb", "the verb argument is repeated")),
    };
    // The control-character rule of every text input (see `extract`), answered the OAI-PMH way.
    for (key, value) in &pairs {
        if crate::domain::forbidden_control(key.as_bytes(), false).is_some() {
            return Err(oai_error("badArgument", "an argument name contains a control character"));
        }
        if let Some(c) = crate::domain::forbidden_control(value.as_bytes(), false) {
            let message = format!("the argument `{key}` {}", crate::domain::control_message(c));
            return Err(oai_error("badArgument", message));
        }
    }
    let (allowed, required) = verb.arguments();
    let mut args = BTreeMap::new();
    for (key, value) in pairs.into_iter().filter(|(k, _)| k != "verb") {
        if !allowed.contains(&key.as_str()) {
            return Err(oai_error("badArgument", format!("{} does not take the argument `{key}`", verb.name())));
        }
        if args.contains_key(&key) {
            return Err(oai_error("badArgument", format!("the argument `{key}` is repeated")));
        }
        args.insert(key, value);
    }
    if args.contains_key("resumptionToken") {
        if args.len() > 1 {
            return Err(oai_error("badArgument", "resumptionToken is an exclusive argument"));
        }
    } else if let Some(missing) = required.iter().find(|r| !args.contains_key(**r)) {
        return Err(oai_error("badArgument", format!("{} requires the argument `{missing}`", verb.name())));
    }
    Ok(Request { verb, args })
}

/// The whole response document for a raw query string or form body.
fn respond(conn: &mut Conn<'_>, repo: &Repository, raw: &[u8]) -> crate::error::Result<String> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd\">",
    );
    element(&mut out, "responseDate", &rfc3339(repo.now.and_utc()));
    let request = check(raw);
    let body = match &request {
        Ok(req) => verb(conn, repo, req)?,
        Err(e) => Err(oai_error(e.code, e.message.clone())),
    };
    // The request element echoes the arguments unless they were refused as such.
    out.push_str("<request");
    let refused = body.as_ref().is_err_and(|e| e.code == "badVerb" || e.code == "badArgument");
    if let (Ok(req), false) = (&request, refused) {
        out.push_str(&format!(" verb=\"{}\"", req.verb.name()));
        for (k, v) in &req.args {
            out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
    }
    out.push('>');
    out.push_str(&escape(&repo.base_url));
    out.push_str("</request>");
    match body {
        Ok(xml) => out.push_str(&xml),
        Err(e) => out.push_str(&format!("<error code=\"{}\">{}</error>", e.code, escape(&e.message))),
    }
    out.push_str("</OAI-PMH>\n");
    Ok(out)
}

type Answer = Result<String, OaiError>;

fn verb(conn: &mut Conn<'_>, repo: &Repository, req: &Request) -> crate::error::Result<Answer> {
    match req.verb {
        Verb::Identify => identify(conn, repo),
        Verb::ListMetadataFormats => metadata_formats(conn, repo, req.arg("identifier")),
        Verb::ListSets => list_sets(conn, repo, req.arg("resumptionToken")),
        Verb::GetRecord => get_record(conn, repo, req),
        Verb::ListIdentifiers | Verb::ListRecords => list(conn, repo, req),
    }
}

fn identify(conn: &mut Conn<'_>, repo: &Repository) -> crate::error::Result<Answer> {
    let earliest = harvest::earliest_datestamp(conn, repo.now)?.unwrap_or(chrono::DateTime::UNIX_EPOCH.naive_utc());
    let mut out = String::from("<Identify>");
    element(&mut out, "repositoryName", REPOSITORY_NAME);
    element(&mut out, "baseURL", &repo.base_url);
    element(&mut out, "protocolVersion", "2.0");
    element(&mut out, "adminEmail", &repo.admin_email);
    element(&mut out, "earliestDatestamp", &rfc3339(earliest.and_utc()));
    element(&mut out, "deletedRecord", "persistent");
    element(&mut out, "granularity", "YYYY-MM-DDThh:mm:ssZ");
    out.push_str("</Identify>");
    Ok(Ok(out))
}

const OAI_DC: &str = "oai_dc";

fn metadata_formats(conn: &mut Conn<'_>, repo: &Repository, identifier: Option<&str>) -> crate::error::Result<Answer> {
    if let Some(identifier) = identifier
        && find(conn, repo, identifier)?.is_none()
    {
        return Ok(Err(unknown_id(identifier)));
    }
    Ok(Ok("<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>\
         <schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>\
         <metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>\
         </metadataFormat></ListMetadataFormats>"
        .to_owned()))
}

fn unknown_id(identifier: &str) -> OaiError {
    oai_error("idDoesNotExist", format!("`{identifier}` is not the identifier of a published report"))
}

fn find(conn: &mut Conn<'_>, repo: &Repository, identifier: &str) -> crate::error::Result<Option<Harvested>> {
    match repo.archive_id(identifier) {
        Some(id) => harvest::harvested(conn, id, repo.now),
        None => Ok(None),
    }
}

fn list_sets(conn: &mut Conn<'_>, repo: &Repository, token: Option<&str>) -> crate::error::Result<Answer> {
    if let Some(token) = token {
        return Ok(Err(oai_error("badResumptionToken", format!("`{token}` is not a ListSets token: sets come whole"))));
    }
    let sets = harvest::sets(conn, repo.now)?;
    if sets.is_empty() {
        return Ok(Err(no_sets()));
    }
    let mut out = String::from("<ListSets>");
    for set in sets {
        out.push_str("<set>");
        element(&mut out, "setSpec", &set.spec);
        element(&mut out, "setName", &set.name);
        out.push_str("</set>");
    }
    out.push_str("</ListSets>");
    Ok(Ok(out))
}

fn no_sets() -> OaiError {
    oai_error("noSetHierarchy", "nothing is published yet, so the repository has no sets")
}

fn cannot_disseminate(prefix: &str) -> OaiError {
    oai_error("cannotDisseminateFormat", format!("`{prefix}` is not a metadata format of this repository (oai_dc is)"))
}

fn get_record(conn: &mut Conn<'_>, repo: &Repository, req: &Request) -> crate::error::Result<Answer> {
    let (identifier, prefix) = (req.arg("identifier").unwrap_or(""), req.arg("metadataPrefix").unwrap_or(""));
    let Some(record) = find(conn, repo, identifier)? else {
        return Ok(Err(unknown_id(identifier)));
    };
    if prefix != OAI_DC {
        return Ok(Err(cannot_disseminate(prefix)));
    }
    let mut out = String::from("<GetRecord>");
    write_record(&mut out, repo, &record);
    out.push_str("</GetRecord>");
    Ok(Ok(out))
}

/// A list's position and arguments, carried from page to page.
#[derive(Debug, Serialize, Deserialize)]
struct Token {
    /// The verb.
    v: String,
    /// The horizon: the time the first page was asked for.
    h: NaiveDateTime,
    /// `from` (inclusive) and the exclusive upper bound from `until`.
    f: Option<NaiveDateTime>,
    b: Option<NaiveDateTime>,
    /// The set spec.
    s: Option<String>,
    /// The last `(datestamp, id)` sent.
    a: (NaiveDateTime, i64),
    /// How many records were sent before the next page.
    c: i64,
}

impl Token {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str, verb: Verb) -> Result<Self, OaiError> {
        let bad = || oai_error("badResumptionToken", format!("`{raw}` is not a resumption token of this repository"));
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let token: Self = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if token.v != verb.name() || token.c < 0 {
            return Err(bad());
        }
        Ok(token)
    }
}

/// A `from`/`until` value: a day, or a UTC second.
enum Stamp {
    Day(NaiveDate),
    Second(NaiveDateTime),
}

fn parse_stamp(name: &str, raw: &str) -> Result<Stamp, OaiError> {
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        && raw.len() == 10
    {
        return Ok(Stamp::Day(day));
    }
    if raw.len() == 20
        && let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%SZ")
    {
        return Ok(Stamp::Second(t));
    }
    Err(oai_error("badArgument", format!("{name} `{raw}` is neither YYYY-MM-DD nor YYYY-MM-DDThh:mm:ssZ")))
}

/// The selection of a first list request, or why it is refused.
fn first_selection(
    conn: &mut Conn<'_>,
    repo: &Repository,
    req: &Request,
) -> crate::error::Result<Result<(Selection, Option<String>), OaiError>> {
    let prefix = req.arg("metadataPrefix").unwrap_or("");
    let from = req.arg("from").map(|f| parse_stamp("from", f)).transpose();
    let until = req.arg("until").map(|u| parse_stamp("until", u)).transpose();
    let (from, until) = match (from, until) {
        (Ok(f), Ok(u)) => (f, u),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    if matches!(
        (&from, &until),
        (Some(Stamp::Day(_)), Some(Stamp::Second(_))) | (Some(Stamp::Second(_)), Some(Stamp::Day(_)))
    ) {
        return Ok(Err(oai_error("badArgument", "from and until must have the same granularity")));
    }
    let from = from.map(|s| match s {
        Stamp::Day(d) => d.and_time(chrono::NaiveTime::MIN),
        Stamp::Second(t) => t,
    });
    let before = until.map(|s| match s {
        Stamp::Day(d) => d.and_time(chrono::NaiveTime::MIN) + TimeDelta::days(1),
        Stamp::Second(t) => t + TimeDelta::seconds(1),
    });
    if let (Some(f), Some(b)) = (from, before)
        && f >= b
    {
        return Ok(Err(oai_error("badArgument", "from is later than until")));
    }
    if prefix != OAI_DC {
        return Ok(Err(cannot_disseminate(prefix)));
    }
    let set = req.arg("set").map(str::to_owned);
    if set.is_some() && harvest::earliest(conn, repo.now)?.is_none() {
        return Ok(Err(no_sets()));
    }
    Ok(Ok((Selection { horizon: repo.now, from, before, within: None }, set)))
}

fn list(conn: &mut Conn<'_>, repo: &Repository, req: &Request) -> crate::error::Result<Answer> {
    let (mut sel, set, after, cursor) = match req.arg("resumptionToken") {
        Some(raw) => match Token::decode(raw, req.verb) {
            Ok(t) => (Selection { horizon: t.h, from: t.f, before: t.b, within: None }, t.s, Some(t.a), t.c),
            Err(e) => return Ok(Err(e)),
        },
        None => match first_selection(conn, repo, req)? {
            Ok((sel, set)) => (sel, set, None, 0),
            Err(e) => return Ok(Err(e)),
        },
    };
    if let Some(spec) = &set {
        match harvest::parse_set(spec) {
            Some(within) => sel.within = within,
            None if after.is_some() => return Ok(Err(oai_error("badResumptionToken", "the token names no set"))),
            None => return Ok(Err(no_match())),
        }
    }
    let slice = harvest::slice(conn, &sel, after, repo.page_size)?;
    if slice.records.is_empty() && after.is_none() {
        return Ok(Err(no_match()));
    }
    let name = req.verb.name();
    let mut out = format!("<{name}>");
    for record in &slice.records {
        if req.verb == Verb::ListRecords {
            write_record(&mut out, repo, record);
        } else {
            write_header(&mut out, repo, record);
        }
    }
    let sent = cursor + slice.records.len() as i64;
    match (slice.more, slice.records.last()) {
        (true, Some(last)) => {
            let token = Token {
                v: name.to_owned(),
                h: sel.horizon,
                f: sel.from,
                b: sel.before,
                s: set,
                a: last.position(),
                c: sent,
            };
            out.push_str(&format!(
                "<resumptionToken completeListSize=\"{}\" cursor=\"{cursor}\">{}</resumptionToken>",
                slice.total,
                token.encode()
            ));
        }
        _ if after.is_some() => {
            out.push_str(&format!("<resumptionToken completeListSize=\"{}\" cursor=\"{cursor}\"/>", slice.total));
        }
        _ => {}
    }
    out.push_str(&format!("</{name}>"));
    Ok(Ok(out))
}

fn no_match() -> OaiError {
    oai_error("noRecordsMatch", "no published report matches these arguments")
}

fn write_header(out: &mut String, repo: &Repository, h: &Harvested) {
    let (id, specs) = match h {
        Harvested::Record(r) => {
            out.push_str("<header>");
            (r.id, r.set_specs())
        }
        Harvested::Withdrawn(Withdrawn { id, set_specs, .. }) => {
            out.push_str("<header status=\"deleted\">");
            (*id, set_specs.clone())
        }
    };
    element(out, "identifier", &repo.identifier(id));
    element(out, "datestamp", &rfc3339(h.datestamp().and_utc()));
    for spec in specs {
        element(out, "setSpec", &spec);
    }
    out.push_str("</header>");
}

/// A record: the header, and the Dublin Core metadata of a published entry (a withdrawn one has
/// none, as OAI-PMH requires of a deleted record).
fn write_record(out: &mut String, repo: &Repository, h: &Harvested) {
    out.push_str("<record>");
    write_header(out, repo, h);
    if let Harvested::Record(r) = h {
        write_metadata(out, repo, r);
    }
    out.push_str("</record>");
}

fn write_metadata(out: &mut String, repo: &Repository, r: &Record) {
    out.push_str(
        "<metadata><oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd\">",
    );
    let url = format!("{}/api/v1/archive/{}", repo.public_url, r.id);
    element(out, "dc:title", &r.title());
    element(out, "dc:creator", &r.city_name);
    element(out, "dc:subject", &r.field_name);
    element(out, "dc:description", &r.description());
    element(out, "dc:publisher", "UNESCO Creative Cities Network");
    element(out, "dc:date", &r.published_at.date().to_string());
    element(out, "dc:type", "Text");
    element(out, "dc:format", "application/pdf");
    element(out, "dc:identifier", &format!("{url}/pdf"));
    element(out, "dc:identifier", &page_url(&repo.public_url, r.id));
    element(out, "dc:relation", &url);
    element(out, "dc:language", &r.language);
    element(out, "dc:coverage", &r.country_name);
    element(out, "dc:coverage", &r.period());
    element(out, "dc:rights", &r.rights());
    out.push_str("</oai_dc:dc></metadata>");
}
