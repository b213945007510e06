//! What every page shares: the request's context (language, address), the site's chrome (the
//! layout's data), the response with the pages' security headers, and errors as pages.

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use std::net::IpAddr;

use super::i18n::{Lang, Tr, cookie};
use super::session::{self, Viewer};
use super::{WebState, assets};
use crate::error::{DbError, Error};
use crate::workflow::{Actor, ClientAddr};

/// The pages' Content-Security-Policy: everything from this server only, no inline script or
/// style, not framed elsewhere (a draft's PDF preview is framed from here), forms posting only here.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// One request as the pages see it.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tr: Tr,
    /// The path, as asked for.
    pub path: String,
    /// The query's pairs other than `lang`.
    pub query: Vec<(String, String)>,
    /// Whether the visitor chose the language with `?lang=` (then remembered in a cookie).
    pub chose_lang: bool,
    /// The signed-in person, if a session cookie names an open session.
    pub viewer: Option<Viewer>,
    /// The form cookie of a visitor who is not signed in (see [`session`](super::session)).
    pub form_cookie: Option<String>,
    /// The client's address and the request's id, for the audit log and the sign-in throttle.
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let mut ctx = Ctx::of(parts.uri.path(), parts.uri.query(), &parts.headers);
        ctx.client = parts.extensions.get::<ClientAddr>().and_then(|c| c.0);
        ctx.request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        ctx.form_cookie = cookie(&parts.headers, session::FORM_COOKIE).map(str::to_owned);
        if let Some(secret) = cookie(&parts.headers, session::SESSION_COOKIE) {
            ctx.viewer = session::viewer(state, secret.to_owned()).await;
            // A city's focal points read their city's language unless they chose another
            // (`?lang=` or the `lang` cookie).
            let chosen = ctx.chose_lang || cookie(&parts.headers, "lang").and_then(Lang::parse).is_some();
            if let Some(lang) = ctx.viewer.as_ref().and_then(|v| v.language).filter(|_| !chosen) {
                ctx.tr = Tr::new(lang);
            }
        }
        Ok(ctx)
    }
}

impl Ctx {
    pub fn of(path: &str, query: Option<&str>, headers: &HeaderMap) -> Ctx {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().take(64).collect();
        let asked = pairs.iter().find(|(k, _)| k == "lang").map(|(_, v)| v.as_str());
        let lang = Lang::negotiate(asked, headers);
        let chose_lang = asked.and_then(Lang::parse).is_some();
        let query = pairs.into_iter().filter(|(k, _)| k != "lang").collect();
        Ctx {
            tr: Tr::new(lang),
            path: path.to_owned(),
            query,
            chose_lang,
            viewer: None,
            form_cookie: None,
            client: None,
            request_id: None,
        }
    }

    /// The audit log's actor for a change made from this request: the signed-in person (or
    /// `anonymous`), with the request's id and client address.
    pub fn actor(&self) -> Actor {
        let (request_id, client) = (self.request_id.clone(), self.client.map(|ip| ip.to_string()));
        match &self.viewer {
            Some(v) => Actor::from_principal(&v.principal, request_id, client),
            None => Actor { name: "anonymous".into(), token_id: None, request_id, client_addr: client },
        }
    }

    /// The first value of query parameter `name`, trimmed, if not empty.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The chrome of a page titled `title`, in section `section` of the navigation.
    pub fn chrome(&self, title: impl Into<String>, section: &'static str) -> Chrome {
        let other = match self.tr.lang {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        };
        let mut switch = self.query.clone();
        switch.push(("lang".into(), other.code().into()));
        Chrome {
            tr: self.tr,
            lang: self.tr.lang.code(),
            title: title.into(),
            description: self.tr.t("site.description").to_owned(),
            section,
            css: assets::url("site.css"),
            js: assets::url("site.js"),
            icon: assets::url("icon.svg"),
            switch_href: href(&self.path, &switch),
            switch_lang: other.code(),
            switch_name: other.own_name(),
            who: self.viewer.as_ref().map(|v| v.principal.name.clone()),
            work_href: self.viewer.as_ref().map(|v| session::home_of(&v.principal)),
            csrf: self.viewer.as_ref().map(|v| v.csrf.clone()).unwrap_or_default(),
            sign_in_href: href("/sign-in", &[("next".into(), self.path.clone())]),
        }
    }
}

/// An address: `path` with the query `pairs`, encoded.
pub fn href(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}?{query}")
}

/// The layout's data: the same on every page but for the title and the current section.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    pub description: String,
    /// `home`, `reports`, `cities`, `fields`, `about` or empty: the navigation marks it current.
    pub section: &'static str,
    pub css: String,
    pub js: String,
    pub icon: String,
    /// The same page in the other language.
    pub switch_href: String,
    pub switch_lang: &'static str,
    pub switch_name: &'static str,
    /// The signed-in person's name, their work's page, and the sign-out form's token.
    pub who: Option<String>,
    pub work_href: Option<&'static str>,
    pub csrf: String,
    /// The sign-in page, returning here.
    pub sign_in_href: String,
}

/// A rendered page with the pages' headers; `ctx` sets the language cookie when the visitor
/// chose one.
pub fn html(ctx: &Ctx, status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(ctx.tr.lang.code()));
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
            // A signed-in person's page is theirs alone: no cache keeps it.
            let cache = if ctx.viewer.is_some() { "private, no-store" } else { "no-cache" };
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if ctx.chose_lang {
                let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", ctx.tr.lang.code());
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            page_headers(response)
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            page_headers((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        }
    }
}

/// The security headers of every page: its policy, which the API's layer then keeps (and adds
/// `nosniff` to, as to every response).
pub fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A failed page: shown as a page in the site's layout, in the visitor's language.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    /// A bad address or query, with what is wrong (already in the visitor's language or naming
    /// the parameter).
    BadRequest(String),
    /// The request conflicts with the state of things (409), said in the message.
    Conflict(String),
    /// The form sent is larger than this page takes (413), said in the message.
    TooLarge(String),
    /// Signed in, but not allowed to see or do this (403).
    Forbidden,
    /// A form came without this site's token for the visitor (403): posted from elsewhere, or
    /// from a page older than the visitor's session.
    FormExpired,
    /// Too many requests of this kind from the visitor lately (429).
    TooMany,
    Unavailable,
    Internal,
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound { .. } | Error::Db(DbError::NotFound) => PageError::NotFound,
            Error::Invalid(invalid) => PageError::BadRequest(format!("{}: {}", invalid.field, invalid.message)),
            Error::Db(DbError::Unavailable(_)) => PageError::Unavailable,
            Error::Denied(_) => PageError::Forbidden,
            Error::RateLimited { .. } => PageError::TooMany,
            Error::Busy { .. } => PageError::Unavailable,
            Error::Conflict(message) => PageError::Conflict(message),
            Error::TooLarge(message) | Error::CheckFailed { summary: message, .. } => PageError::BadRequest(message),
            Error::InvalidMany { summary, problems } => {
                PageError::BadRequest(format!("{summary}: {}", problems.join("; ")))
            }
            other => {
                tracing::error!(error = %other, "a page failed");
                PageError::Internal
            }
        }
    }
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        Error::from(e).into()
    }
}

impl From<crate::domain::Invalid> for PageError {
    fn from(e: crate::domain::Invalid) -> Self {
        Error::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    heading: &'static str,
    message: String,
}

impl PageError {
    /// The error as a page in `ctx`'s language.
    pub fn page(self, ctx: &Ctx) -> Response {
        let tr = ctx.tr;
        let (status, heading, message) = match self {
            PageError::NotFound => {
                (StatusCode::NOT_FOUND, tr.t("error.not_found"), tr.t("error.not_found.text").into())
            }
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, tr.t("error.bad_request"), m),
            PageError::Conflict(m) => (StatusCode::CONFLICT, tr.t("error.conflict"), m),
            PageError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, tr.t("error.too_large"), m),
            PageError::Forbidden => {
                (StatusCode::FORBIDDEN, tr.t("error.forbidden"), tr.t("error.forbidden.text").into())
            }
            PageError::FormExpired => {
                (StatusCode::FORBIDDEN, tr.t("error.form_expired"), tr.t("error.form_expired.text").into())
            }
            PageError::TooMany => {
                (StatusCode::TOO_MANY_REQUESTS, tr.t("error.too_many"), tr.t("error.too_many.text").into())
            }
            PageError::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, tr.t("error.unavailable"), tr.t("error.unavailable.text").into())
            }
            PageError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, tr.t("error.internal"), tr.t("error.internal.text").into())
            }
        };
        let page = ErrorPage { c: ctx.chrome(heading, ""), status: status.as_u16(), heading, message };
        html(ctx, status, &page)
    }
}

/// `axum::Form` whose refusals are pages in the site's layout and the visitor's language: a form
/// over its route's body limit ([`crate::http::SMALL_BODY_BYTES`] for every form but the draft's)
/// is a 413 page naming the limit, one that does not parse a 400 page.
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<WebState> for Form<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &WebState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let mut kept = parts.clone();
        let refusal = match axum::Form::<T>::from_request(Request::from_parts(parts, body), state).await {
            Ok(axum::Form(value)) => return Ok(Self(value)),
            Err(refusal) => refusal,
        };
        // The visitor's language and session are looked up only for a refusal.
        let limit = kept.extensions.get::<crate::http::BodyLimit>().map(|l| l.0);
        let Ok(ctx) = Ctx::from_request_parts(&mut kept, state).await;
        let error = if refusal.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let size = limit.map_or_else(String::new, |bytes| format!(" ({} MiB)", bytes.div_ceil(1 << 20)));
            PageError::TooLarge(format!("{}{size}", ctx.tr.t("error.too_large.text")))
        } else {
            PageError::BadRequest(refusal.body_text())
        };
        Err(error.page(&ctx))
    }
}

/// A page handler's result: the page, or the error shown as a page.
pub type PageResult = Result<Response, (Ctx, PageError)>;

/// Shows a handler's error as a page.
pub fn respond(result: PageResult) -> Response {
    result.unwrap_or_else(|(ctx, e)| e.page(&ctx))
}

/// A PDF made for a signed-in person (a draft's preview, a version under review), named
/// `file_name` when saved, shown in its page's frame and nowhere else, never cached; a rendering that failed or was interrupted is an
/// error page.
pub fn framed_pdf(
    ctx: &Ctx,
    file_name: &str,
    made: Result<crate::error::Result<Vec<u8>>, tokio::task::JoinError>,
) -> Response {
    match made {
        Ok(Ok(bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(disposition) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, disposition);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'self'"));
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
            response
        }
        Ok(Err(e)) => PageError::from(e).page(ctx),
        Err(e) => {
            tracing::error!(error = %e, "making a PDF was interrupted");
            PageError::Internal.page(ctx)
        }
    }
}
