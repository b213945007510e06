//! `GET /api/v1/audit`: every recorded state change, newest first (Secretariat).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiQuery, Auth};
use super::{ApiError, AppState, ListView, PageQuery};
use crate::domain::auth::Action;
use crate::workflow;
use crate::workflow::{AuditEvent, AuditFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Serialize, ToSchema)]
struct AuditView {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    actor: String,
    action: String,
    subject_type: String,
    subject_id: String,
    /// What changed, as the action records it.
    #[schema(value_type = Object)]
    details: serde_json::Value,
    request_id: Option<String>,
    client_addr: Option<String>,
}

impl From<AuditEvent> for AuditView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            actor: e.actor,
            action: e.action,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::String(e.details)),
            request_id: e.request_id,
            client_addr: e.client_addr,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this action, such as `city.update`.
    action: Option<String>,
    subject_type: Option<String>,
    subject_id: Option<String>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items a page (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// The audit log, filtered by action and subject, paginated (Secretariat).
#[utoipa::path(get, path = "/audit", tag = "administration", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of events, newest first", body = ListView<AuditView>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<ListView<AuditView>>, ApiError> {
    auth.require(Action::Administer)?;
    let page = PageQuery { page: q.page, per_page: q.per_page }.parse()?;
    let events = state
        .db
        .run(move |conn| {
            let filter = AuditFilter {
                action: q.action.as_deref(),
                subject_type: q.subject_type.as_deref(),
                subject_id: q.subject_id.as_deref(),
                city: None,
            };
            workflow::audit_log(conn, filter, page)
        })
        .await?;
    Ok(Json(ListView::from_page(events, AuditView::from)))
}
