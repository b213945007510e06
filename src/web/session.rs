//! Signing in and out of the pages, and the forms' protection (the rules are
//! [`workflow::sign_in`]'s; this is how the pages carry them).
//!
//! - **Cookies.** `mmr_session` holds the session's secret (the server keeps only its hash);
//!   `mmr_form` holds a random value for a visitor who is not signed in, so that the sign-in
//!   forms can be protected too. Both are `HttpOnly`, `SameSite=Lax`, and `Secure` when
//!   `MMR_PUBLIC_URL` is https.
//! - **Forms.** Every form that changes anything carries a `csrf` field: a hash of the session's
//!   secret (or of the form cookie), which a page on another site cannot read. A form without
//!   the right one is refused with a 403 page and changes nothing ([`check_form`]).
//! - **Links.** `GET /sign-in/link/{secret}` only shows whom the link signs in as, with a button:
//!   mail scanners that open links do not use them up. The button posts it.
//! - A page that needs a signed-in person sends anyone else to `/sign-in?next=<the page>`
//!   ([`signed_in`]), and back there once signed in.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::WebState;
use super::i18n::{Lang, Tr};
use super::page::{Chrome, Ctx, Form, PageError, href, html};
use crate::domain::auth::{Principal, Scope};
use crate::domain::cities::Language;
use crate::error::Error;
use crate::workflow::sign_in::{self, LinkRequest, LinkState, Opened, Refused};

pub const SESSION_COOKIE: &str = "mmr_session";
pub const FORM_COOKIE: &str = "mmr_form";

/// A signed-in person as the pages see them: who, the token their forms carry, and the language
/// their pages default to (a city's, for its focal points).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
    pub language: Option<Lang>,
}

/// The token a form carries for a cookie's secret.
fn form_token(secret: &str) -> String {
    sign_in::digest(&format!("form\0{secret}"))[..32].to_owned()
}

/// The person a session cookie names, if its session is open. A failed lookup is logged and
/// the visitor treated as signed out (the page itself then says what is wrong, if it needs the
/// database).
pub async fn viewer(state: &WebState, secret: String) -> Option<Viewer> {
    let now = state.now();
    let csrf = form_token(&secret);
    let found = state.db.run(move |conn| sign_in::session(conn, &secret, now)).await;
    match found {
        Ok(found) => found.map(|sign_in::SignedIn { principal, language }| Viewer {
            principal,
            csrf,
            language: language.map(|l| match l {
                Language::En => Lang::En,
                Language::Fr => Lang::Fr,
            }),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "a session could not be looked up");
            None
        }
    }
}

/// Where a signed-in person's work is: a city's portal, or the desk.
pub fn home_of(principal: &Principal) -> &'static str {
    match principal.scope {
        Scope::City { .. } => "/portal",
        Scope::Coordinator { .. } | Scope::Secretariat => "/desk",
    }
}

/// The signed-in person, or the redirect to the sign-in page that returns here.
pub fn signed_in(ctx: &Ctx) -> Result<&Principal, Redirect> {
    match &ctx.viewer {
        Some(v) => Ok(&v.principal),
        None => {
            let mut here = ctx.query.clone();
            if ctx.chose_lang {
                here.push(("lang".into(), ctx.tr.lang.code().into()));
            }
            let next = href(&ctx.path, &here);
            Err(Redirect::to(&href("/sign-in", &[("next".into(), next)])))
        }
    }
}

/// The token the visitor's forms must carry: the session's, else the form cookie's.
fn expected_token(ctx: &Ctx) -> Option<String> {
    match (&ctx.viewer, &ctx.form_cookie) {
        (Some(v), _) => Some(v.csrf.clone()),
        (None, Some(cookie)) => Some(form_token(cookie)),
        (None, None) => None,
    }
}

/// Refuses a form that does not carry the visitor's token.
pub fn check_form(ctx: &Ctx, sent: &str) -> Result<(), PageError> {
    let Some(expected) = expected_token(ctx) else {
        return Err(PageError::FormExpired);
    };
    let same =
        expected.len() == sent.len() && expected.bytes().zip(sent.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same { Ok(()) } else { Err(PageError::FormExpired) }
}

/// The form token for a page with a sign-in form, and the cookie to set if the visitor had none.
fn anonymous_token(state: &WebState, ctx: &Ctx) -> (String, Option<HeaderValue>) {
    if let Some(v) = &ctx.viewer {
        return (v.csrf.clone(), None);
    }
    match &ctx.form_cookie {
        Some(cookie) if cookie.len() == 64 => (form_token(cookie), None),
        _ => {
            let secret = sign_in::new_secret();
            let cookie = cookie_header(state, FORM_COOKIE, &secret, 86_400);
            (form_token(&secret), cookie)
        }
    }
}

fn cookie_header(state: &WebState, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.public_url.starts_with("https://") { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")).ok()
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The page's language as the sign-in rules know it.
fn language(tr: Tr) -> Language {
    match tr.lang {
        Lang::En => Language::En,
        Lang::Fr => Language::Fr,
    }
}

/// `next` if it is a path on this site.
fn next_of(next: Option<&str>) -> Option<String> {
    next.map(str::trim).filter(|n| sign_in::is_local_path(n)).map(str::to_owned)
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
    csrf: String,
    next: String,
    email: String,
    email_error: Option<String>,
    token_error: Option<String>,
    email_help: String,
    /// Who is signed in already, if someone is.
    already: Option<String>,
    /// What happens next, once a link was asked for.
    sent: Option<String>,
}

impl SignInPage {
    fn new(ctx: &Ctx, csrf: String, next: Option<String>) -> Self {
        let minutes = sign_in::LINK_VALID.num_minutes();
        Self {
            c: ctx.chrome(ctx.tr.t("sign_in.title"), "sign-in"),
            csrf,
            next: next.unwrap_or_default(),
            email: String::new(),
            email_error: None,
            token_error: None,
            email_help: ctx.tr.fmt("sign_in.email.help", &[("minutes", &minutes)]),
            already: ctx.viewer.as_ref().map(|v| ctx.tr.fmt("sign_in.already", &[("name", &v.principal.name)])),
            sent: None,
        }
    }
}

/// `GET /sign-in`: the e-mail form and the token form.
pub async fn page(State(state): State<WebState>, ctx: Ctx) -> Response {
    let (csrf, cookie) = anonymous_token(&state, &ctx);
    let page = SignInPage::new(&ctx, csrf, next_of(ctx.param("next")));
    with_cookie(html(&ctx, StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-in/email`: sends the links (if the address is known) and says the same either way.
pub async fn email(State(state): State<WebState>, ctx: Ctx, Form(form): Form<EmailForm>) -> Response {
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    if !state.sign_in_throttle.allow(ctx.client, state.now()) {
        return PageError::TooMany.page(&ctx);
    }
    let next = next_of(Some(&form.next));
    let Some(postman) = state.postman.clone() else {
        tracing::error!("a sign-in link was asked for, but this server sends no mail");
        return PageError::Unavailable.page(&ctx);
    };
    let (address, return_to, lang, now) = (form.email.clone(), next.clone(), language(ctx.tr), state.now());
    let asked = state
        .db
        .run(move |conn| {
            sign_in::request_link(conn, &postman, &address, return_to.as_deref(), lang, now).map(|r| (r, postman))
        })
        .await;
    let (csrf, _) = anonymous_token(&state, &ctx);
    let mut page = SignInPage::new(&ctx, csrf, next);
    page.email = form.email.trim().to_owned();
    match asked {
        Ok((request, postman)) => {
            match request {
                LinkRequest::Send(message) => {
                    // The page answers now, as it does for an unknown address; the message goes after.
                    postman.post(*message);
                }
                LinkRequest::Unknown => tracing::info!("a sign-in link was asked for an address no one has"),
                LinkRequest::Limited => tracing::warn!("a sign-in link was asked for an address sent many lately"),
            }
            let minutes = sign_in::LINK_VALID.num_minutes();
            page.sent = Some(ctx.tr.fmt("sign_in.sent.text", &[("address", &page.email), ("minutes", &minutes)]));
            html(&ctx, StatusCode::OK, &page)
        }
        Err(Error::Invalid(invalid)) => {
            tracing::debug!(problem = %invalid.message, "a sign-in link was asked for with no address");
            page.email_error = Some(ctx.tr.t("sign_in.email.invalid").to_owned());
            html(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => PageError::from(e).page(&ctx),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-in/token`: a session for an API token's holder.
pub async fn token(State(state): State<WebState>, ctx: Ctx, Form(form): Form<TokenForm>) -> Response {
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    if !state.sign_in_throttle.allow(ctx.client, state.now()) {
        return PageError::TooMany.page(&ctx);
    }
    let next = next_of(Some(&form.next));
    let (actor, now) = (ctx.actor(), state.now());
    let secret = form.token;
    match state.db.run(move |conn| sign_in::use_token(conn, &actor, &secret, now)).await {
        Ok(Ok(opened)) => open(&state, opened, next),
        Ok(Err(_)) => {
            let (csrf, _) = anonymous_token(&state, &ctx);
            let mut page = SignInPage::new(&ctx, csrf, next);
            page.token_error = Some(ctx.tr.t("sign_in.token.refused").to_owned());
            html(&ctx, StatusCode::UNAUTHORIZED, &page)
        }
        Err(e) => PageError::from(e).page(&ctx),
    }
}

/// The session cookie, and on to where the person was going (or their work's page).
fn open(state: &WebState, opened: Opened, next: Option<String>) -> Response {
    let to = opened.return_to.or(next).unwrap_or_else(|| home_of(&opened.principal).to_owned());
    let cookie = cookie_header(state, SESSION_COOKIE, &opened.secret, sign_in::LONGEST.num_seconds());
    with_cookie(Redirect::to(&to).into_response(), cookie)
}

#[derive(Template)]
#[template(path = "sign_in_link.html")]
struct LinkPage {
    c: Chrome,
    csrf: String,
    action: String,
    /// Whom the link signs in as; `None` when it cannot be used, with why.
    lead: Option<String>,
    problem: Option<&'static str>,
}

/// `GET /sign-in/link/{secret}`: whom the link signs in as, and the button that does it.
pub async fn link(State(state): State<WebState>, ctx: Ctx, Path(secret): Path<String>) -> Response {
    let (lang, now, key) = (language(ctx.tr), state.now(), secret.clone());
    let found = state.db.run(move |conn| sign_in::link_state(conn, &key, lang, now)).await;
    let (csrf, cookie) = anonymous_token(&state, &ctx);
    let (status, lead, problem) = match found {
        Ok(LinkState::Valid { name, label }) => {
            (StatusCode::OK, Some(ctx.tr.fmt("sign_in.link.as", &[("name", &name), ("who", &label)])), None)
        }
        Ok(LinkState::Expired) => (StatusCode::GONE, None, Some("sign_in.link.expired")),
        Ok(LinkState::Used) => (StatusCode::GONE, None, Some("sign_in.link.used")),
        Ok(LinkState::Unknown) => (StatusCode::NOT_FOUND, None, Some("sign_in.link.unknown")),
        Err(e) => return PageError::from(e).page(&ctx),
    };
    let page = LinkPage {
        c: ctx.chrome(ctx.tr.t("sign_in.link.title"), "sign-in"),
        csrf,
        action: format!("/sign-in/link/{secret}"),
        lead,
        problem: problem.map(|key| ctx.tr.t(key)),
    };
    with_cookie(html(&ctx, status, &page), cookie)
}

#[derive(Deserialize)]
pub struct PlainForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-in/link/{secret}`: uses the link.
pub async fn use_link(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(secret): Path<String>,
    Form(form): Form<PlainForm>,
) -> Response {
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    let (actor, now) = (ctx.actor(), state.now());
    match state.db.run(move |conn| sign_in::use_link(conn, &actor, &secret, now)).await {
        Ok(Ok(opened)) => open(&state, opened, None),
        Ok(Err(why)) => {
            let (status, key) = match why {
                Refused::Expired => (StatusCode::GONE, "sign_in.link.expired"),
                Refused::Used => (StatusCode::GONE, "sign_in.link.used"),
                Refused::Unknown => (StatusCode::NOT_FOUND, "sign_in.link.unknown"),
            };
            let (csrf, _) = anonymous_token(&state, &ctx);
            let page = LinkPage {
                c: ctx.chrome(ctx.tr.t("sign_in.link.title"), "sign-in"),
                csrf,
                action: String::new(),
                lead: None,
                problem: Some(ctx.tr.t(key)),
            };
            html(&ctx, status, &page)
        }
        Err(e) => PageError::from(e).page(&ctx),
    }
}

/// `POST /sign-out`: ends the session and forgets its cookie.
pub async fn sign_out(State(state): State<WebState>, ctx: Ctx, Form(form): Form<PlainForm>) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return Redirect::to("/").into_response();
    };
    if let Err(e) = check_form(&ctx, &form.csrf) {
        return e.page(&ctx);
    }
    let (actor, principal, now) = (ctx.actor(), viewer.principal.clone(), state.now());
    if let Err(e) = state.db.run(move |conn| sign_in::sign_out(conn, &actor, &principal, now)).await {
        return PageError::from(e).page(&ctx);
    }
    with_cookie(Redirect::to("/").into_response(), cookie_header(&state, SESSION_COOKIE, "", 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_tokens_differ_by_secret_and_are_checked_whole() {
        let a = form_token("a");
        assert_eq!(a.len(), 32);
        assert_ne!(a, form_token("b"));
        let mut ctx = Ctx::of("/sign-in", None, &Default::default());
        assert!(matches!(check_form(&ctx, &a), Err(PageError::FormExpired)));
        ctx.form_cookie = Some("a".into());
        assert!(check_form(&ctx, &a).is_ok());
        assert!(check_form(&ctx, &a[..31]).is_err());
        assert!(check_form(&ctx, "").is_err());
    }
}
