//! Who may get in (`/desk/access`, the Secretariat only): API tokens (listed without their
//! secrets; issued, the secret shown once on the answer and never again; revoked), the
//! Secretariat's staff addresses (added, removed), and ending every session of an address. The
//! rules are [`workflow::tokens`]' and [`workflow::sign_in`]'s, as the API and the CLI use them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::desk::desk_caller;
use super::forms::{self, Failure, Fields, FormState, Refused, optional, path_id, value};
use super::page::{Chrome, Ctx, Form, PageError, html};
use crate::domain::auth::{Action, Role, authorize};
use crate::error::Error;
use crate::workflow::sign_in;
use crate::workflow::tokens::{TokenSpec, TokenWithCity};
use crate::workflow::{self};

const PAGE: &str = "/desk/access";

struct TokenRow {
    id: i64,
    name: String,
    scope: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

struct StaffRow {
    email: String,
    name: String,
    added: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    c: Chrome,
    nav: &'static str,
    is_secretariat: bool,
    notice: Option<&'static str>,
    /// A token just issued: its name and secret, shown this once.
    issued: Option<(String, String)>,
    tokens: Vec<TokenRow>,
    new_token: FormState,
    roles: Vec<(&'static str, &'static str)>,
    fields: Vec<(String, String)>,
    staff: Vec<StaffRow>,
    new_staff: FormState,
    end_sessions: FormState,
}

/// `GET /desk/access`.
pub async fn access(State(state): State<WebState>, ctx: Ctx) -> Response {
    show(state, ctx, None, None).await
}

async fn show(state: WebState, ctx: Ctx, refused: Option<Refused>, issued: Option<(String, String)>) -> Response {
    let principal = match desk_caller(&ctx) {
        Ok(p) => p,
        Err(redirect) => return redirect.into_response(),
    };
    if authorize(Some(&principal), Action::Administer).is_err() {
        return PageError::Forbidden.page(&ctx);
    }
    let loaded = state
        .db
        .run(move |conn| {
            let tokens = workflow::tokens::list(conn)?;
            let staff = sign_in::staff(conn, Some(&principal))?;
            let fields = workflow::cities::list_fields(conn)?;
            Ok::<_, Error>((tokens, staff, fields))
        })
        .await;
    let (tokens, staff, fields) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let tr = ctx.tr;
    let refused = refused.as_ref();
    let status = match (refused, &issued) {
        (Some(r), _) => r.status,
        (None, Some(_)) => StatusCode::CREATED,
        (None, None) => StatusCode::OK,
    };
    let stamp = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
    let page = AccessPage {
        c: ctx.chrome(tr.t("access.title"), "work"),
        nav: "access",
        is_secretariat: true,
        notice: ctx.param("done").and_then(done_key).map(|key| tr.t(key)),
        issued,
        tokens: tokens
            .into_iter()
            .map(|(t, city): TokenWithCity| TokenRow {
                id: t.id,
                scope: match (t.field, city) {
                    (Some(field), _) => format!("{} · {field}", t.role),
                    (_, Some(city)) => format!("{} · {city}", t.role),
                    _ => t.role,
                },
                name: t.name,
                created: stamp(t.created_at),
                last_used: t.last_used_at.map_or_else(|| "—".to_owned(), stamp),
                revoked: t.revoked_at.map(stamp),
            })
            .collect(),
        new_token: FormState::new("token", &[("role", "city"), ("field", ""), ("city", ""), ("name", "")], refused),
        roles: vec![
            ("city", tr.t("access.role.city")),
            ("coordinator", tr.t("access.role.coordinator")),
            ("secretariat", tr.t("access.role.secretariat")),
        ],
        fields: [(String::new(), tr.t("access.no_field").to_owned())]
            .into_iter()
            .chain(fields.iter().map(|(f, _)| (f.slug.clone(), f.name_in(tr.lang.code()).to_owned())))
            .collect(),
        staff: staff
            .into_iter()
            .map(|s| StaffRow { email: s.email, name: s.name, added: tr.date(s.created_at.date()) })
            .collect(),
        new_staff: FormState::new("staff", &[("email", ""), ("name", "")], refused),
        end_sessions: FormState::new("sessions", &[("email", "")], refused),
    };
    html(&ctx, status, &page)
}

fn done_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "revoked" => "access.done.revoked",
        "staff_added" => "access.done.staff_added",
        "staff_known" => "access.done.staff_known",
        "staff_removed" => "access.done.staff_removed",
        "sessions_ended" => "access.done.sessions_ended",
        _ => return None,
    })
}

/// Runs an access form's change and answers: back to the page saying `done`, or the page
/// again with the refused form.
async fn change(
    state: WebState,
    ctx: Ctx,
    form: &str,
    sent: Fields,
    f: impl FnOnce(
        &mut workflow::Conn<'_>,
        &workflow::Actor,
        &crate::domain::auth::Principal,
        chrono::NaiveDateTime,
    ) -> crate::error::Result<&'static str>
    + Send
    + 'static,
) -> Response {
    match forms::run(&state, &ctx, form, &sent, Action::Administer, f).await {
        Ok(done) => forms::done(PAGE, done, ""),
        Err(Failure::Page(response)) => response,
        Err(Failure::Refused(refused)) => show(state, ctx, Some(refused), None).await,
    }
}

/// `POST /desk/access/tokens`: issues a token; the answer is the only page that shows its secret.
pub async fn issue(State(state): State<WebState>, ctx: Ctx, Form(sent): Form<Fields>) -> Response {
    let values = sent.clone();
    let issued = forms::run(&state, &ctx, "token", &sent, Action::Administer, move |conn, actor, _, now| {
        let role = Role::parse(value(&values, "role"))?;
        let spec =
            TokenSpec::parse(role, optional(&values, "field"), optional(&values, "city"), value(&values, "name"))?;
        let (_, secret) = workflow::tokens::create(conn, actor, &spec, now)?;
        Ok((spec.name, secret))
    })
    .await;
    match issued {
        Ok(issued) => show(state, ctx, None, Some(issued)).await,
        Err(Failure::Page(response)) => response,
        Err(Failure::Refused(refused)) => show(state, ctx, Some(refused), None).await,
    }
}

/// `POST /desk/access/tokens/{id}/revoke`: revokes a token at once.
pub async fn revoke(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(sent): Form<Fields>,
) -> Response {
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return e.page(&ctx),
    };
    change(state, ctx, "tokens", sent, move |conn, actor, _, now| {
        workflow::tokens::revoke(conn, actor, id, now)?;
        Ok("revoked")
    })
    .await
}

/// `POST /desk/access/staff`: adds a staff address.
pub async fn add_staff(State(state): State<WebState>, ctx: Ctx, Form(sent): Form<Fields>) -> Response {
    let values = sent.clone();
    change(state, ctx, "staff", sent, move |conn, actor, principal, now| {
        let added =
            sign_in::add_staff(conn, actor, Some(principal), value(&values, "email"), value(&values, "name"), now)?;
        Ok(if added { "staff_added" } else { "staff_known" })
    })
    .await
}

/// `POST /desk/access/staff/remove`: removes a staff address and ends that person's sessions.
pub async fn remove_staff(State(state): State<WebState>, ctx: Ctx, Form(sent): Form<Fields>) -> Response {
    let values = sent.clone();
    change(state, ctx, "staff-list", sent, move |conn, actor, principal, now| {
        sign_in::remove_staff(conn, actor, Some(principal), value(&values, "email"), now)?;
        Ok("staff_removed")
    })
    .await
}

/// `POST /desk/access/sessions`: ends every session of an address.
pub async fn end_sessions(State(state): State<WebState>, ctx: Ctx, Form(sent): Form<Fields>) -> Response {
    let values = sent.clone();
    change(state, ctx, "sessions", sent, move |conn, actor, principal, now| {
        sign_in::end_sessions_of(conn, actor, Some(principal), value(&values, "email"), now)?;
        Ok("sessions_ended")
    })
    .await
}
