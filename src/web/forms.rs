//! The desk's forms that change something: the order of checks every one of them follows (the
//! form's token, then the caller's right, then the change through [`crate::workflow`]), the
//! answer (303 back to the page with `?done=<what>`: Post/Redirect/Get), and a refused form
//! shown again with the values sent and the problem next to its field.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDateTime;

use super::WebState;
use super::page::{Ctx, PageError};
use super::session::{check_form, home_of, signed_in};
use crate::domain::auth::{Action, Principal, Scope, authorize};
use crate::error::{Error, Result};
use crate::workflow::{Actor, Conn};

/// A posted form's fields by name.
pub type Fields = HashMap<String, String>;

/// A form's values as shown, and the problem found with what was sent to it.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// The form's name, which its fields' ids start with.
    pub name: String,
    values: HashMap<String, String>,
    /// The field named by the problem (empty: the form as a whole), and what is wrong.
    problem: Option<(String, String)>,
}

impl FormState {
    /// Form `name` showing `values` (its fields' current values, by name), or what was sent to
    /// it if it is the form `refused`.
    pub fn new(name: &str, values: &[(&str, &str)], refused: Option<&Refused>) -> Self {
        let state = Self {
            name: name.to_owned(),
            values: values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            problem: None,
        };
        match refused {
            Some(r) if r.form == name => state.refused(r),
            _ => state,
        }
    }

    /// The same form after a refused post: the values sent over the shown ones, and the problem.
    fn refused(mut self, refused: &Refused) -> Self {
        for (k, v) in &refused.sent {
            if self.values.contains_key(k) {
                self.values.insert(k.clone(), v.clone());
            }
        }
        // A problem named after a value this form has no field for belongs to the whole form.
        let field = if self.values.contains_key(&refused.field) { refused.field.clone() } else { String::new() };
        self.problem = Some((field, refused.message.clone()));
        self
    }

    pub fn has_problem(&self) -> bool {
        self.problem.is_some()
    }

    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Whether field `name` holds `value` (a choice shown as selected).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.get(name) == value
    }

    pub fn invalid(&self, name: &str) -> bool {
        self.problem.as_ref().is_some_and(|(field, _)| field == name)
    }

    /// What is wrong with field `name`, if anything.
    pub fn problem(&self, name: &str) -> &str {
        match &self.problem {
            Some((field, message)) if field == name => message,
            _ => "",
        }
    }

    /// What is wrong with the form as a whole (a conflict, say), if anything.
    pub fn general(&self) -> Option<&str> {
        match &self.problem {
            Some((field, message)) if field.is_empty() => Some(message),
            _ => None,
        }
    }
}

/// A form refused for what it holds: which form, what was sent, what is wrong, and the answer's
/// status (422 for a bad value, 409 for a conflict).
#[derive(Debug, Clone)]
pub struct Refused {
    pub form: String,
    pub sent: Fields,
    pub field: String,
    pub message: String,
    pub status: StatusCode,
}

/// Why a form's change was not made.
pub enum Failure {
    /// Shown as it is: the sign-in redirect, a 403, 404 or 503 page.
    Page(Response),
    /// Shown as the form's page again, with the problem.
    Refused(Refused),
}

/// The Secretariat's (or, for `Action`s a coordinator may take, the caller's) change from form
/// `form`: the form's token is checked first (403, nothing changed), then who may do `action`
/// (a city's focal point goes to the portal, anyone else not allowed gets a 403 page), then `f`
/// runs on the blocking pool. A bad value or a conflict comes back as [`Failure::Refused`].
pub async fn run<T: Send + 'static>(
    state: &WebState,
    ctx: &Ctx,
    form: &str,
    sent: &Fields,
    action: Action<'static>,
    f: impl FnOnce(&mut Conn<'_>, &Actor, &Principal, NaiveDateTime) -> Result<T> + Send + 'static,
) -> std::result::Result<T, Failure> {
    if let Err(e) = check_form(ctx, sent.get("csrf").map_or("", String::as_str)) {
        return Err(Failure::Page(e.page(ctx)));
    }
    let principal = signed_in(ctx).map_err(|r| Failure::Page(r.into_response()))?.clone();
    if matches!(principal.scope, Scope::City { .. }) {
        return Err(Failure::Page(Redirect::to(home_of(&principal)).into_response()));
    }
    if authorize(Some(&principal), action).is_err() {
        return Err(Failure::Page(PageError::Forbidden.page(ctx)));
    }
    let (actor, now) = (ctx.actor(), state.now());
    match state.db.run(move |conn| f(conn, &actor, &principal, now)).await {
        Ok(done) => Ok(done),
        Err(e) => {
            let (field, message, status) = match e {
                Error::Invalid(i) => (i.field.to_owned(), i.message, StatusCode::UNPROCESSABLE_ENTITY),
                Error::Conflict(m) => (String::new(), m, StatusCode::CONFLICT),
                other => return Err(Failure::Page(PageError::from(other).page(ctx))),
            };
            Err(Failure::Refused(Refused { form: form.to_owned(), sent: sent.clone(), field, message, status }))
        }
    }
}

/// The answer to a form that did its change: back to `page`, which says `done`.
pub fn done(page: &str, done: &str, anchor: &str) -> Response {
    let anchor = if anchor.is_empty() { String::new() } else { format!("#{anchor}") };
    Redirect::to(&format!("{page}?done={done}{anchor}")).into_response()
}

/// The value of field `name`, trimmed; empty if not sent.
pub fn value<'a>(sent: &'a Fields, name: &str) -> &'a str {
    sent.get(name).map_or("", |v| v.trim())
}

/// The value of field `name` if not empty.
pub fn optional<'a>(sent: &'a Fields, name: &str) -> Option<&'a str> {
    Some(value(sent, name)).filter(|v| !v.is_empty())
}

/// An id from the address; anything else is no such thing.
pub fn path_id(raw: &str) -> std::result::Result<i64, PageError> {
    raw.parse::<i64>().map_err(|_| PageError::NotFound)
}
