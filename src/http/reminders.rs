//! The reminder ledger (Secretariat), a city's reminders (past and planned: the preview), holds
//! on a city's reminders, and the field coordinators' addresses formal reminders are copied to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cities::path_slug;
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::{Action, Principal, Scope};
use crate::domain::cities::CitySlug;
use crate::domain::contacts::Email;
use crate::domain::fields::FieldSlug;
use crate::domain::reminders::ReminderState;
use crate::domain::{Invalid, parse_date};
use crate::workflow;
use crate::workflow::reminders::{Reminder, ReminderFilter, Suppression};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ledger))
        .routes(routes!(city_reminders))
        .routes(routes!(suppressions, suppress))
        .routes(routes!(lift))
        .routes(routes!(update_field))
}

fn timestamp(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize, ToSchema)]
struct ReminderView {
    id: i64,
    city: String,
    cycle_id: i64,
    kind: String,
    stage: String,
    /// Shown to the Secretariat and the city; coordinators do not read contacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<String>,
    send_on: String,
    state: &'static str,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    updated_at: String,
}

impl ReminderView {
    fn new(r: Reminder, show_recipient: bool) -> Self {
        Self {
            id: r.id,
            city: r.city_slug,
            cycle_id: r.cycle_id,
            kind: r.kind,
            stage: r.stage,
            recipient: show_recipient.then_some(r.recipient),
            send_on: r.send_on.to_string(),
            state: r.state.as_str(),
            attempts: r.attempts,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at.map(timestamp),
            sent_at: r.sent_at.map(timestamp),
            updated_at: timestamp(r.updated_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LedgerQuery {
    /// A city's slug (the ledger only).
    city: Option<String>,
    /// A cycle's id.
    cycle: Option<i64>,
    /// `planned`, `sending`, `sent`, `failed`, `skipped` or `cancelled`.
    state: Option<String>,
    /// `deadline` or `revision`.
    kind: Option<String>,
    /// To be sent on or after this date.
    #[param(format = Date)]
    send_from: Option<String>,
    /// To be sent on or before this date.
    #[param(format = Date)]
    send_to: Option<String>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

impl LedgerQuery {
    fn filter(&self) -> Result<ReminderFilter, ApiError> {
        if let Some(state) = self.state.as_deref() {
            ReminderState::parse(state)?;
        }
        if let Some(kind) = self.kind.as_deref().filter(|k| !["deadline", "revision"].contains(k)) {
            return Err(Invalid::new("kind", format!("`{kind}` is not a reminder kind (deadline, revision)")).into());
        }
        Ok(ReminderFilter {
            city_id: None,
            cycle_id: self.cycle,
            state: self.state.clone(),
            kind: self.kind.clone(),
            send_from: self.send_from.as_deref().map(|d| parse_date("send_from", d)).transpose()?,
            send_to: self.send_to.as_deref().map(|d| parse_date("send_to", d)).transpose()?,
            newest_first: false,
        })
    }
}

/// The whole ledger, by send date (Secretariat), filtered by city, cycle, state, kind and dates.
#[utoipa::path(get, path = "/reminders", tag = "reminders", params(LedgerQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of the ledger, by send date", body = ListView<ReminderView>)))]
async fn ledger(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<Json<ListView<ReminderView>>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.parse()?;
    let mut filter = q.filter()?;
    // A filter, not an address: a city that does not exist is a bad value (422), as a bad state is.
    let city =
        q.city.as_deref().map(|c| CitySlug::parse(c).map_err(|e| Invalid::new("city", e.message))).transpose()?;
    let rows = state
        .db
        .run(move |conn| {
            if let Some(slug) = &city {
                let found = workflow::cities::get(conn, slug.as_str()).map_err(|e| match e {
                    crate::error::Error::NotFound { .. } => Invalid::new("city", format!("no city `{slug}`")).into(),
                    other => other,
                })?;
                filter.city_id = Some(found.id);
            }
            workflow::reminders::list(conn, &filter, page)
        })
        .await?;
    Ok(Json(ListView::from_page(rows, |r| ReminderView::new(r, true))))
}

/// A city's reminders: what was sent and what is planned (the preview). The city, its field's
/// coordinator (without recipients) and the Secretariat.
#[utoipa::path(get, path = "/cities/{slug}/reminders", tag = "reminders", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), LedgerQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of the city's reminders", body = ListView<ReminderView>)))]
async fn city_reminders(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<Json<ListView<ReminderView>>, ApiError> {
    let principal: Principal = auth.signed_in()?.clone();
    let slug = path_slug(&slug)?;
    if q.city.is_some() {
        return Err(Invalid::new("city", "the city is in the path").into());
    }
    let page = PageQuery { page: q.page, per_page: q.per_page }.parse()?;
    let mut filter = q.filter()?;
    let show_recipient = !matches!(principal.scope, Scope::Coordinator { .. });
    let rows = state
        .db
        .run(move |conn| {
            let city = workflow::cities::with_readable_work(conn, &principal, slug.as_str())?;
            filter.city_id = Some(city.id);
            workflow::reminders::list(conn, &filter, page)
        })
        .await?;
    Ok(Json(ListView::from_page(rows, |r| ReminderView::new(r, show_recipient))))
}

#[derive(Serialize, ToSchema)]
struct SuppressionView {
    id: i64,
    until: Option<String>,
    reason: String,
    created_by: String,
    created_at: String,
}

impl From<Suppression> for SuppressionView {
    fn from(s: Suppression) -> Self {
        Self {
            id: s.id,
            until: s.until_date.map(|d| d.to_string()),
            reason: s.reason,
            created_by: s.created_by,
            created_at: timestamp(s.created_at),
        }
    }
}

/// A city's holds in force (Secretariat).
#[utoipa::path(get, path = "/cities/{slug}/reminder-suppressions", tag = "reminders", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of holds in force", body = ListView<SuppressionView>)))]
async fn suppressions(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListView<SuppressionView>>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let list = state.db.run(move |conn| workflow::reminders::suppressions(conn, slug.as_str())).await?;
    Ok(Json(ListView::of(list, &page, SuppressionView::from)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SuppressBody {
    /// Last day held back (inclusive); absent: until lifted.
    #[schema(format = Date, example = "2027-01-31")]
    until: Option<String>,
    #[schema(example = "The focal point is on leave; the city asked for a pause.")]
    reason: String,
}

/// Holds back a city's reminders (Secretariat): due ones are skipped, with the reason, while the
/// hold lasts.
#[utoipa::path(post, path = "/cities/{slug}/reminder-suppressions", tag = "reminders", params(("slug" = String, Path, description = "The city's slug", example = "krakow")), request_body = SuppressBody,
    security(("bearer" = [])), responses((status = 201, description = "The hold", body = SuppressionView)))]
async fn suppress(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<SuppressBody>,
) -> Result<(StatusCode, Json<SuppressionView>), ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let until = body.until.as_deref().map(|d| parse_date("until", d)).transpose()?;
    let (actor, now) = (auth.actor()?, state.now());
    let s = state
        .db
        .run(move |conn| workflow::reminders::suppress(conn, &actor, slug.as_str(), until, &body.reason, now))
        .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// Lifts a hold (Secretariat).
#[utoipa::path(delete, path = "/cities/{slug}/reminder-suppressions/{id}", tag = "reminders", params(("slug" = String, Path, description = "The city's slug", example = "krakow"), ("id" = i64, Path, description = "The hold's id")),
    security(("bearer" = [])), responses((status = 204, description = "Lifted")))]
async fn lift(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    auth.require(Action::EditRegistry)?;
    let slug = path_slug(&slug)?;
    let (actor, now) = (auth.actor()?, state.now());
    state.db.run(move |conn| workflow::reminders::lift(conn, &actor, slug.as_str(), id, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FieldBody {
    /// The field coordinator's address; `null` removes it.
    #[schema(format = Email, example = "gastronomy.coordinator@example.org")]
    coordinator_email: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct FieldContactView {
    slug: String,
    coordinator_email: Option<String>,
}

/// Sets where a field's coordinator is reached (Secretariat).
#[utoipa::path(patch, path = "/fields/{slug}", tag = "reminders", params(("slug" = String, Path, description = "The field's slug", example = "gastronomy")),
    request_body = FieldBody, security(("bearer" = [])), responses((status = 200, description = "The field's contact", body = FieldContactView)))]
async fn update_field(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<FieldBody>,
) -> Result<Json<FieldContactView>, ApiError> {
    auth.require(Action::EditRegistry)?;
    let field = FieldSlug::parse(&slug).map_err(|_| ApiError::not_found(format!("field `{slug}` does not exist")))?;
    let email = body.coordinator_email.as_deref().map(Email::parse).transpose()?;
    let (actor, now) = (auth.actor()?, state.now());
    let view_email = email.as_ref().map(|e| e.as_str().to_owned());
    state
        .db
        .run(move |conn| workflow::cities::set_coordinator_email(conn, &actor, &field, email.as_ref(), now))
        .await?;
    Ok(Json(FieldContactView { slug, coordinator_email: view_email }))
}
