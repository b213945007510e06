//! A city's page on the desk (`/desk/cities/{slug}`): its registry details, contacts, cycles
//! with their deadlines, reminder holds, reminder ledger, archived reports with their
//! publication, and its audit trail. The Secretariat changes them here through the same
//! [`workflow`] use cases as the API (`PATCH /api/v1/cities/{slug}`, `/contacts`,
//! `/cycles/{id}/extension`, `/cycles/{id}/due-date`, `/reminder-suppressions`,
//! `PATCH /api/v1/archive/{id}`); the field's coordinator reads the page without its forms and
//! without what is the Secretariat's alone (contacts, holds, the audit trail).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::desk::desk_caller;
use super::forms::{self, Failure, Fields, FormState, Refused, optional, path_id, value};

use super::page::{Chrome, Ctx, Form, PageError, html};
use super::portal::{CycleRow, ReminderRow};
use super::views::field_name;
use crate::domain::auth::{Action, Scope};
use crate::domain::cities::{CityPatch, CityPatchInput};
use crate::domain::contacts::{Contact, ContactPatch, NewContact};
use crate::domain::fields::CreativeField;
use crate::domain::{Page, PageRequest, parse_date};
use crate::error::Error;
use crate::workflow::portal::{CityWork, city_work};
use crate::workflow::reminders::Suppression;
use crate::workflow::{self, AuditEvent};

/// How many of the newest audit events the page lists.
const AUDIT_SHOWN: i64 = 50;

/// The city statuses the registry form offers.
const CITY_STATUSES: [&str; 3] = ["active", "on_notice", "withdrawn"];

/// What only the Secretariat sees of a city.
struct SecretariatPart {
    contacts: Vec<Contact>,
    holds: Vec<Suppression>,
    entries: Vec<Archived>,
    audit: Page<AuditEvent>,
}

/// An archived version of the city's report.
struct Archived {
    id: i64,
    cycle: i32,
    version: i32,
    archived_at: chrono::NaiveDateTime,
    published_at: Option<chrono::NaiveDateTime>,
}

struct ContactRow {
    id: i64,
    edit_label: String,
    name: String,
    email: String,
    role: String,
    phone: String,
    primary: bool,
    form: FormState,
}

struct DeadlineForms {
    id: i64,
    heading: String,
    extend: FormState,
    due: FormState,
}

struct HoldRow {
    id: i64,
    until: String,
    reason: String,
    by: String,
    since: String,
}

struct EntryRow {
    id: i64,
    heading: String,
    /// When it was archived and since when it is public.
    state: String,
    form: FormState,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    subject: String,
    /// What changed, from the event's details: `name: value` pairs.
    details: Vec<(String, String)>,
}

/// The longest value shown of an audit event's detail; the API has the whole event.
const DETAIL_CHARS: usize = 160;

/// An audit event's details (a JSON object) as `name: value` pairs, each value as plain text
/// (strings unquoted, anything else as compact JSON) and cut at [`DETAIL_CHARS`].
fn detail_pairs(details: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(details) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "–".to_owned(),
                other => other.to_string(),
            };
            let cut = match text.char_indices().nth(DETAIL_CHARS) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text,
            };
            (name.replace('_', " "), cut)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "desk_city.html")]
struct CityPage {
    c: Chrome,
    nav: &'static str,
    is_secretariat: bool,
    notice: Option<&'static str>,
    city: String,
    public_href: String,
    facts: String,
    registry: Vec<(&'static str, String)>,
    registry_form: FormState,
    fields: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    languages: Vec<(&'static str, &'static str)>,
    action: String,
    contacts: Vec<ContactRow>,
    new_contact: FormState,
    cycles: Vec<CycleRow>,
    deadlines: Vec<DeadlineForms>,
    holds: Vec<HoldRow>,
    new_hold: FormState,
    reminders: Vec<ReminderRow>,
    entries: Vec<EntryRow>,
    audit: Vec<AuditRow>,
    audit_total: String,
}

/// `GET /desk/cities/{slug}`: a city's page, for the Secretariat and the field's coordinator.
pub async fn city(State(state): State<WebState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    show(state, ctx, slug, None).await
}

/// The page, with a refused form shown again when there is one.
async fn show(state: WebState, ctx: Ctx, slug: String, refused: Option<Refused>) -> Response {
    let principal = match desk_caller(&ctx) {
        Ok(p) => p,
        Err(redirect) => return redirect.into_response(),
    };
    let (rules, now) = (state.rules, state.now());
    let loaded = state
        .db
        .run(move |conn| {
            let work = city_work(conn, &rules, &principal, Some(&slug), now)?;
            let fields = workflow::cities::list_fields(conn)?;
            let part = match principal.scope {
                Scope::Secretariat => Some(secretariat_part(conn, &principal, &work)?),
                _ => None,
            };
            Ok::<_, Error>((work, fields, part))
        })
        .await;
    let (work, fields, part) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let status = refused.as_ref().map_or(StatusCode::OK, |r| r.status);
    let page = page(&ctx, work, fields, part, refused.as_ref());
    html(&ctx, status, &page)
}

fn secretariat_part(
    conn: &mut workflow::Conn<'_>,
    principal: &crate::domain::auth::Principal,
    work: &CityWork,
) -> crate::error::Result<SecretariatPart> {
    let contacts = workflow::contacts::list(conn, &work.city)?;
    let holds = workflow::reminders::suppressions(conn, &work.city.slug)?;
    let mut entries = Vec::new();
    for cycle in &work.cycles {
        for version in workflow::review::versions(conn, cycle.record.id)? {
            if let Some(document) = version.archive {
                entries.push(Archived {
                    id: document.id,
                    cycle: cycle.record.number,
                    version: version.submission.version,
                    archived_at: document.archived_at,
                    published_at: document.published_at,
                });
            }
        }
    }
    let audit = workflow::cities::audit_trail(
        conn,
        principal,
        &work.city.slug,
        PageRequest::parse(Some(1), Some(AUDIT_SHOWN))?,
    )?;
    Ok(SecretariatPart { contacts, holds, entries, audit })
}

fn page(
    ctx: &Ctx,
    work: CityWork,
    fields: Vec<(CreativeField, i64)>,
    part: Option<SecretariatPart>,
    refused: Option<&Refused>,
) -> CityPage {
    let tr = ctx.tr;
    let fields: Vec<CreativeField> = fields.into_iter().map(|(f, _)| f).collect();
    let city = &work.city;
    let designated = city.designation_date.to_string();
    let aliases = city.aliases.join("\n");
    let registry_form = FormState::new(
        "city",
        &[
            ("name", &city.name),
            ("aliases", &aliases),
            ("country", &city.country),
            ("field", &city.field),
            ("designation_date", &designated),
            ("time_zone", &city.time_zone),
            ("language", &city.language),
            ("status", &city.status),
        ],
        refused,
    );
    let registry = vec![
        ("desk.city.name", city.name.clone()),
        ("desk.city.aliases", if city.aliases.is_empty() { "—".into() } else { city.aliases.join(", ") }),
        ("desk.city.country", city.country.clone()),
        ("desk.city.field", field_name(tr, &fields, &city.field, &city.field).to_owned()),
        ("desk.city.designation_date", tr.date(city.designation_date)),
        ("desk.city.time_zone", city.time_zone.clone()),
        ("desk.city.language", tr.t(&format!("language.{}", city.language)).to_owned()),
        ("desk.city.status", tr.t(&format!("desk.city.status.{}", city.status)).to_owned()),
    ];
    let cycles: Vec<CycleRow> = work.cycles.iter().map(|c| CycleRow::new(tr, c)).collect();
    let deadlines = if part.is_some() {
        cycles
            .iter()
            .filter(|c| !matches!(c.status_key, "accepted" | "closed"))
            .map(|c| DeadlineForms {
                id: c.id,
                heading: c.heading.clone(),
                extend: FormState::new(&format!("extend-{}", c.id), &[("due_date", ""), ("reason", "")], refused),
                due: FormState::new(&format!("due-{}", c.id), &[("due_date", "")], refused),
            })
            .collect()
    } else {
        Vec::new()
    };
    let part = part.unwrap_or(SecretariatPart {
        contacts: Vec::new(),
        holds: Vec::new(),
        entries: Vec::new(),
        audit: Page { items: Vec::new(), total: 0, page: 1, per_page: AUDIT_SHOWN },
    });
    CityPage {
        c: ctx.chrome(city.name.clone(), "work"),
        nav: "",
        is_secretariat: matches!(ctx.viewer.as_ref().map(|v| &v.principal.scope), Some(Scope::Secretariat)),
        notice: ctx.param("done").and_then(done_key).map(|key| tr.t(key)),
        city: city.name.clone(),
        public_href: format!("/cities/{}", city.slug),
        facts: tr.fmt(
            "desk.city.facts",
            &[
                ("country", &city.country),
                ("field", &field_name(tr, &fields, &city.field, &city.field)),
                ("zone", &city.time_zone),
            ],
        ),
        registry,
        registry_form,
        fields: fields.iter().map(|f| (f.slug.clone(), f.name_in(tr.lang.code()).to_owned())).collect(),
        statuses: CITY_STATUSES.iter().map(|s| (*s, tr.t(&format!("desk.city.status.{s}")))).collect(),
        languages: vec![("en", tr.t("language.en")), ("fr", tr.t("language.fr"))],
        action: format!("/desk/cities/{}", city.slug),
        contacts: part
            .contacts
            .iter()
            .map(|k| {
                let (role, phone) = (k.role.clone().unwrap_or_default(), k.phone.clone().unwrap_or_default());
                ContactRow {
                    id: k.id,
                    edit_label: tr.fmt("desk.contacts.edit", &[("name", &k.name)]),
                    form: FormState::new(
                        &format!("contact-{}", k.id),
                        &[("name", &k.name), ("email", &k.email), ("role", &role), ("phone", &phone)],
                        refused,
                    ),
                    name: k.name.clone(),
                    email: k.email.clone(),
                    role,
                    phone,
                    primary: k.is_primary,
                }
            })
            .collect(),
        new_contact: FormState::new(
            "contact-new",
            &[("name", ""), ("email", ""), ("role", ""), ("phone", "")],
            refused,
        ),
        cycles,
        deadlines,
        holds: part
            .holds
            .iter()
            .map(|h| HoldRow {
                id: h.id,
                until: h.until_date.map_or_else(|| tr.t("desk.holds.until_lifted").to_owned(), |d| tr.date(d)),
                reason: h.reason.clone(),
                by: h.created_by.clone(),
                since: tr.date(h.created_at.date()),
            })
            .collect(),
        new_hold: FormState::new("hold", &[("until", ""), ("reason", "")], refused),
        reminders: work.reminders.iter().map(|r| ReminderRow::new(tr, r)).collect(),
        entries: part
            .entries
            .iter()
            .map(|d| {
                let on = d.published_at.map(|t| t.date().to_string()).unwrap_or_default();
                EntryRow {
                    id: d.id,
                    heading: tr.fmt("desk.publication.entry", &[("cycle", &d.cycle), ("version", &d.version)]),
                    state: tr.fmt(
                        "desk.publication.state",
                        &[
                            ("archived", &tr.date(d.archived_at.date())),
                            (
                                "published",
                                &d.published_at
                                    .map_or_else(|| tr.t("desk.publication.none").to_owned(), |t| tr.date(t.date())),
                            ),
                        ],
                    ),
                    form: FormState::new(&format!("publish-{}", d.id), &[("published_on", &on)], refused),
                }
            })
            .collect(),
        audit: part
            .audit
            .items
            .iter()
            .map(|e| AuditRow {
                at: e.at.format("%Y-%m-%d %H:%M").to_string(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                subject: format!("{} {}", e.subject_type, e.subject_id),
                details: detail_pairs(&e.details),
            })
            .collect(),
        audit_total: tr.count("desk.audit.total", part.audit.total),
    }
}

/// The notice's message for `?done=<what>`; anything else says nothing.
fn done_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "city" => "desk.done.city",
        "unchanged" => "desk.done.unchanged",
        "contact_added" => "desk.done.contact_added",
        "contact" => "desk.done.contact",
        "primary" => "desk.done.primary",
        "contact_removed" => "desk.done.contact_removed",
        "extension" => "desk.done.extension",
        "due_date" => "desk.done.due_date",
        "hold" => "desk.done.hold",
        "lifted" => "desk.done.lifted",
        "published" => "desk.done.published",
        "unpublished" => "desk.done.unpublished",
        _ => return None,
    })
}

/// Runs a city form's change and answers: back to the city's page saying `done`, or the page
/// again with the refused form.
async fn city_change(
    state: WebState,
    ctx: Ctx,
    slug: String,
    form_name: String,
    sent: Fields,
    action: Action<'static>,
    f: impl FnOnce(&mut workflow::Conn<'_>, &workflow::Actor, chrono::NaiveDateTime) -> crate::error::Result<&'static str>
    + Send
    + 'static,
) -> Response {
    let anchor = form_name.clone();
    match forms::run(&state, &ctx, &form_name, &sent, action, move |conn, actor, _, now| f(conn, actor, now)).await {
        Ok(done) => forms::done(&format!("/desk/cities/{slug}"), done, &anchor),
        Err(Failure::Page(response)) => response,
        Err(Failure::Refused(refused)) => show(state, ctx, slug, Some(refused)).await,
    }
}

/// `POST /desk/cities/{slug}/registry`: edits the city's registry details (Secretariat), as
/// `PATCH /api/v1/cities/{slug}`; only the values that differ from the stored ones are changed.
pub async fn edit_city(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(sent): Form<Fields>,
) -> Response {
    let (key, values) = (slug.clone(), sent.clone());
    city_change(state, ctx, slug, "city".into(), sent, Action::EditRegistry, move |conn, actor, now| {
        let city = workflow::cities::get(conn, &key)?;
        let aliases: Vec<&str> = value(&values, "aliases").lines().map(str::trim).filter(|a| !a.is_empty()).collect();
        let changed = |name: &str, stored: &str| Some(value(&values, name)).filter(|v| *v != stored);
        let input = CityPatchInput {
            name: changed("name", &city.name),
            aliases: (aliases != city.aliases).then_some(aliases.clone()),
            country: changed("country", &city.country),
            field: changed("field", &city.field),
            designation_date: changed("designation_date", &city.designation_date.to_string()),
            time_zone: changed("time_zone", &city.time_zone),
            language: changed("language", &city.language),
            status: changed("status", &city.status),
        };
        let patch = CityPatch::parse(&input, now.date())?;
        if patch.is_empty() {
            return Ok("unchanged");
        }
        workflow::cities::update(conn, actor, &key, &patch, now)?;
        Ok("city")
    })
    .await
}

/// `POST /desk/cities/{slug}/contacts`: adds a contact (Secretariat).
pub async fn add_contact(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(sent): Form<Fields>,
) -> Response {
    let (key, values) = (slug.clone(), sent.clone());
    city_change(state, ctx, slug, "contact-new".into(), sent, Action::EditRegistry, move |conn, actor, now| {
        let new = NewContact::parse(
            value(&values, "name"),
            value(&values, "email"),
            optional(&values, "role"),
            optional(&values, "phone"),
            values.contains_key("primary"),
        )?;
        let city = workflow::cities::get(conn, &key)?;
        workflow::contacts::create(conn, actor, &city, &new, now)?;
        Ok("contact_added")
    })
    .await
}

/// `POST /desk/cities/{slug}/contacts/{id}/{change}` (Secretariat): `edit` changes a contact
/// (a new address signs the old one out), `primary` makes it the primary one, `remove` removes
/// it and ends its sessions.
pub async fn contact(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((slug, id, change)): Path<(String, String, String)>,
    Form(sent): Form<Fields>,
) -> Response {
    let id = match path_id(&id) {
        Ok(id) if matches!(change.as_str(), "edit" | "primary" | "remove") => id,
        _ => return PageError::NotFound.page(&ctx),
    };
    let (key, values) = (slug.clone(), sent.clone());
    city_change(state, ctx, slug, format!("contact-{id}"), sent, Action::EditRegistry, move |conn, actor, now| {
        let city = workflow::cities::get(conn, &key)?;
        match change.as_str() {
            "edit" => {
                let patch = ContactPatch::parse(
                    Some(value(&values, "name")),
                    Some(value(&values, "email")),
                    Some(optional(&values, "role")),
                    Some(optional(&values, "phone")),
                    None,
                )?;
                workflow::contacts::update(conn, actor, &city, id, &patch, now)?;
                Ok("contact")
            }
            "primary" => {
                let patch = ContactPatch { is_primary: Some(true), ..ContactPatch::default() };
                workflow::contacts::update(conn, actor, &city, id, &patch, now)?;
                Ok("primary")
            }
            _ => {
                workflow::contacts::delete(conn, actor, &city, id, now)?;
                Ok("contact_removed")
            }
        }
    })
    .await
}

/// `POST /desk/cities/{slug}/cycles/{id}/{change}` (Secretariat): `extension` grants one (a
/// later date and a reason), as `POST /api/v1/cycles/{id}/extension`; `due-date` sets the
/// scheduled due date of a catch-up round, as `PUT /api/v1/cycles/{id}/due-date`.
pub async fn deadline(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((slug, id, change)): Path<(String, String, String)>,
    Form(sent): Form<Fields>,
) -> Response {
    let (id, form) = match (path_id(&id), change.as_str()) {
        (Ok(id), "extension") => (id, format!("extend-{id}")),
        (Ok(id), "due-date") => (id, format!("due-{id}")),
        _ => return PageError::NotFound.page(&ctx),
    };
    let (rules, values) = (state.rules, sent.clone());
    city_change(state, ctx, slug, form, sent, Action::EditRegistry, move |conn, actor, now| {
        let due = parse_date("due_date", value(&values, "due_date"))?;
        if change == "extension" {
            workflow::cycles::extend(conn, actor, &rules, id, due, value(&values, "reason"), now)?;
            Ok("extension")
        } else {
            workflow::cycles::set_due_date(conn, actor, &rules, id, due, now)?;
            Ok("due_date")
        }
    })
    .await
}

/// `POST /desk/cities/{slug}/holds`: holds back the city's reminders until a date (or until
/// lifted), with a reason.
pub async fn hold(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(sent): Form<Fields>,
) -> Response {
    let (key, values) = (slug.clone(), sent.clone());
    city_change(state, ctx, slug, "hold".into(), sent, Action::EditRegistry, move |conn, actor, now| {
        let until = optional(&values, "until").map(|d| parse_date("until", d)).transpose()?;
        workflow::reminders::suppress(conn, actor, &key, until, value(&values, "reason"), now)?;
        Ok("hold")
    })
    .await
}

/// `POST /desk/cities/{slug}/holds/{id}/lift`: lifts a hold.
pub async fn lift(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(sent): Form<Fields>,
) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return e.page(&ctx),
    };
    let key = slug.clone();
    city_change(state, ctx, slug, "holds".into(), sent, Action::EditRegistry, move |conn, actor, now| {
        workflow::reminders::lift(conn, actor, &key, id, now)?;
        Ok("lifted")
    })
    .await
}

/// `POST /desk/cities/{slug}/archive/{id}/publication`: sets (`publish`) or clears (`clear`)
/// an archived report's publication date, as `PATCH /api/v1/archive/{id}`.
pub async fn publication(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(sent): Form<Fields>,
) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return e.page(&ctx),
    };
    let values = sent.clone();
    city_change(state, ctx, slug, format!("publish-{id}"), sent, Action::Decide, move |conn, actor, now| {
        let (on, done) = match value(&values, "action") {
            "clear" => (None, "unpublished"),
            _ => (Some(parse_date("published_on", value(&values, "published_on"))?), "published"),
        };
        workflow::archive::publish(conn, actor, id, on, now)?;
        Ok(done)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::detail_pairs;

    #[test]
    fn audit_details_read_as_pairs() {
        let pairs = detail_pairs(r#"{"due_date":"2027-01-31","reason":null,"changes":{"name":"Östersund"},"n":2}"#);
        let expected =
            [("due date", "2027-01-31"), ("reason", "–"), ("changes", r#"{"name":"Östersund"}"#), ("n", "2")];
        let got: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut want = expected.to_vec();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want);
        assert!(detail_pairs("not json").is_empty() && detail_pairs("[1]").is_empty());
        let long = format!(r#"{{"text":"{}"}}"#, "é".repeat(400));
        assert_eq!(detail_pairs(&long)[0].1.chars().count(), super::DETAIL_CHARS + 1, "cut, with an ellipsis");
    }
}
