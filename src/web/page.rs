//! What every page shares: the request's context (language, address), the site's chrome (the
//! layout's data), the response with the pages' security headers, and errors as pages.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::i18n::{Lang, Tr};
use crate::error::{DbError, Error};

/// The pages' Content-Security-Policy: everything from this server only, no inline script or
/// style, no framing, forms posting only here.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

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
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx::of(parts.uri.path(), parts.uri.query(), &parts.headers))
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
        Ctx { tr: Tr::new(lang), path: path.to_owned(), query, chose_lang }
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
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if ctx.chose_lang {
                let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", ctx.tr.lang.code());
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    headers.insert(header::SET_COOKIE, value);
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
    Unavailable,
    Internal,
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound { .. } | Error::Db(DbError::NotFound) => PageError::NotFound,
            Error::Invalid(invalid) => PageError::BadRequest(format!("{}: {}", invalid.field, invalid.message)),
            Error::Db(DbError::Unavailable(_)) => PageError::Unavailable,
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

/// A page handler's result: the page, or the error shown as a page.
pub type PageResult = Result<Response, (Ctx, PageError)>;

/// Shows a handler's error as a page.
pub fn respond(result: PageResult) -> Response {
    result.unwrap_or_else(|(ctx, e)| e.page(&ctx))
}
