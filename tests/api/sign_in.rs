//! Signing in to the pages and what a session may see, through the real router with a cookie
//! jar, the way a browser does it: e-mail links (caught from the mail transport), token sign-in,
//! CSRF tokens on every form, sign-out, expiry and revocation, the audit trail, the limits, and
//! the portal and the desk under the permission rules (DESIGN.md §3).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::TimeDelta;
use mmr::domain::PageRequest;
use mmr::domain::auth::Role;
use mmr::domain::cities::Language;
use mmr::http::router_with_pages;
use mmr::mail::MemoryTransport;
use mmr::workflow::Postman;
use mmr::workflow::sign_in::{self, LinkState};
use mmr::workflow::{self, Actor, AuditFilter};
use serde_json::json;

use crate::helpers::{Reply, TestApp, now, send_via};

/// A browser on the app's router: a cookie jar, and the mail the server sent.
pub struct Browser {
    pub router: Router,
    pub jar: BTreeMap<String, String>,
    pub outbox: Arc<MemoryTransport>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let outbox = Arc::new(MemoryTransport::new());
        let mut state = app.state.clone();
        state.postman = Some(Arc::new(Postman {
            transport: outbox.clone(),
            from: "UNESCO Creative Cities <ccn@mmr.example.org>".into(),
            public_url: "https://mmr.example.org".into(),
        }));
        state.public_url = "https://mmr.example.org".into();
        let router = router_with_pages(state.clone(), Some(mmr::startup::pages(&state)));
        Self { router, jar: BTreeMap::new(), outbox }
    }

    /// Another browser on the same server (its own cookies).
    pub fn another(&self) -> Self {
        Self { router: self.router.clone(), jar: BTreeMap::new(), outbox: self.outbox.clone() }
    }

    pub async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let body = match form {
            Some(pairs) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
            }
            None => Body::empty(),
        };
        let reply = send_via(&self.router, request.body(body).unwrap()).await;
        for cookie in reply.headers.get_all(header::SET_COOKIE) {
            let cookie = cookie.to_str().unwrap();
            if cookie.starts_with("mmr_") {
                let flags = cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure");
                assert!(flags, "{cookie}");
            }
            let (name, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        reply
    }

    /// Posts a `multipart/form-data` form, as a form with a file input does.
    pub async fn post_multipart(&mut self, path: &str, parts: &[crate::helpers::Part<'_>]) -> Reply {
        let (content_type, body) = crate::helpers::multipart(parts);
        let mut request = Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, content_type);
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        request = request.header(header::COOKIE, cookies.join("; "));
        send_via(&self.router, request.body(Body::from(body)).unwrap()).await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, path, Some(form)).await
    }

    /// The `csrf` field of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        field(&page.text, "csrf")
    }

    /// Asks for a link for `address` and returns the links the message holds.
    pub async fn ask_link(&mut self, address: &str) -> (Reply, Vec<String>) {
        self.ask_link_from("/sign-in", address).await
    }

    /// Asks for a link for `address` on the sign-in page at `page` (with the `next` it carries).
    pub async fn ask_link_from(&mut self, page: &str, address: &str) -> (Reply, Vec<String>) {
        let before = self.outbox.messages().len();
        let form = self.get(page).await;
        assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.text);
        let (csrf, next) = (field(&form.text, "csrf"), field(&form.text, "next"));
        let r = self.post("/sign-in/email", &[("email", address), ("csrf", &csrf), ("next", &next)]).await;
        // The message goes out after the page answered.
        for _ in 0..100 {
            if self.outbox.messages().len() > before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let links = self.outbox.messages()[before..]
            .iter()
            .flat_map(|m| {
                m.body()
                    .split_whitespace()
                    .filter(|w| w.contains("/sign-in/link/"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .map(|url| url.trim_start_matches("https://mmr.example.org").to_owned())
            .collect();
        (r, links)
    }

    /// The last message to `address` whose subject starts with `subject`, waited for (messages go
    /// out after the page answered).
    pub async fn mail_to(&self, address: &str, subject: &str) -> mmr::mail::OutgoingMessage {
        for _ in 0..200 {
            let found = self
                .outbox
                .messages()
                .into_iter()
                .rev()
                .find(|m| m.to().iter().any(|to| to.contains(address)) && m.subject().starts_with(subject));
            if let Some(message) = found {
                return message;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let sent: Vec<String> =
            self.outbox.messages().iter().map(|m| format!("{:?} {}", m.to(), m.subject())).collect();
        panic!("no message `{subject}…` to {address}; sent: {sent:#?}");
    }

    /// Signs in with an API token through the sign-in page.
    pub async fn sign_in_with_token(&mut self, token: &str) {
        let csrf = self.csrf("/sign-in").await;
        let r = self.post("/sign-in/token", &[("token", token), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }

    /// Signs in with a link's path: the confirmation page, then its button.
    pub async fn use_link(&mut self, path: &str) -> Reply {
        let csrf = self.csrf(path).await;
        self.post(path, &[("csrf", &csrf)]).await
    }
}

/// The value of the hidden field `name` in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub async fn add_contact(app: &TestApp, slug: &str, name: &str, email: &str) {
    let path = format!("/api/v1/cities/{slug}/contacts");
    let body = json!({ "name": name, "email": email, "primary": true });
    let reply = app.call(Method::POST, &path, Some(&app.admin), Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

/// A city's contact signs in by e-mail link, in the city's language, and sees the city's portal;
/// the link works once; the page says the same for an unknown address and sends nothing.
async fn a_contact_signs_in_by_link(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    app.city("lyon", "Lyon", "FR", "media_arts");
    let french =
        app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "language": "fr" }))).await;
    assert_eq!(french.status, StatusCode::OK, "{}", french.text);
    app.sync_cycles();
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    add_contact(&app, "lyon", "Claire Martin", "claire@lyon.example").await;
    let mut browser = Browser::new(&app);

    let (known, links) = browser.ask_link("  Anna@Ostersund.Example ").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(links.len(), 1, "one role, one link");
    let message = browser.outbox.messages().last().unwrap().clone();
    assert_eq!(message.to(), ["anna@ostersund.example"]);
    assert!(message.body().contains("Sign in as Östersund"), "{}", message.body());

    let (unknown, none) = browser.ask_link("nobody@nowhere.example").await;
    assert!(none.is_empty() && browser.outbox.messages().len() == 1, "nothing goes to an unknown address");
    let normalise = |text: &str, address: &str| text.replace(address, "ADDRESS");
    assert_eq!(normalise(&unknown.text, "nobody@nowhere.example"), normalise(&known.text, "Anna@Ostersund.Example"));

    let link = &links[0];
    let confirm = browser.get(link).await;
    assert!(confirm.text.contains("Anna Svensson") && confirm.text.contains("Östersund"), "{}", confirm.text);
    let signed = browser.use_link(link).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.headers[header::LOCATION], "/portal");
    assert!(browser.jar.contains_key("mmr_session"));
    let portal = browser.get("/portal").await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.text);
    assert!(portal.text.contains("<h1>Östersund</h1>") && portal.text.contains("Cycle "), "{}", portal.text);
    assert_eq!(portal.headers[header::CACHE_CONTROL], "private, no-store");

    // The link is spent, on this browser and any other.
    let mut other = browser.another();
    let again = other.get(link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.text.contains("used already"));

    // A French city's contact gets the message in French.
    let (_, links) = other.ask_link("claire@lyon.example").await;
    let message = other.outbox.messages().last().unwrap().clone();
    assert_eq!(message.subject(), "Votre lien de connexion au système MMR");
    assert!(message.body().contains("Se connecter en tant que Lyon"));
    let signed = other.use_link(&links[0]).await;
    assert_eq!(signed.headers[header::LOCATION], "/portal");
    // Her pages are in the city's language, unless she chooses another.
    let portal = other.get("/portal").await;
    assert!(portal.text.contains("<html lang=\"fr\">") && portal.text.contains("Cycles de rapport"), "{}", portal.text);
    let english = other.get("/portal?lang=en").await;
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(other.get("/portal").await.text.contains("<html lang=\"en\">"), "the choice is remembered");
}

/// Links expire after 15 minutes; a made-up or cut link is refused; sessions end after 12 idle
/// hours, after 7 days, at sign-out and when their token is revoked.
async fn links_and_sessions_end(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let mut browser = Browser::new(&app);
    let (_, links) = browser.ask_link("anna@ostersund.example").await;
    let secret = links[0].rsplit('/').next().unwrap().to_owned();
    let state = |at| {
        let secret = secret.clone();
        app.db.run_blocking(move |conn| sign_in::link_state(conn, &secret, Language::En, at)).unwrap()
    };
    assert!(matches!(state(now() + TimeDelta::minutes(14)), LinkState::Valid { .. }));
    assert_eq!(state(now() + TimeDelta::minutes(15)), LinkState::Expired);
    let expired = app
        .db
        .run_blocking(|conn| sign_in::use_link(conn, &Actor::cli(), &secret, now() + TimeDelta::minutes(16)))
        .unwrap();
    assert_eq!(expired.unwrap_err(), sign_in::Refused::Expired);
    for bad in ["/sign-in/link/abc", "/sign-in/link/0000000000000000000000000000000000000000000000000000000000000000"] {
        let r = browser.get(bad).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
        assert!(r.text.contains("not a sign-in link"));
    }

    // Sessions: idle and absolute expiry, straight through the rule.
    let opened =
        app.db.run_blocking(|conn| sign_in::use_token(conn, &Actor::cli(), &app.admin, now())).unwrap().unwrap();
    let at = |t| {
        let secret = opened.secret.clone();
        app.db.run_blocking(move |conn| sign_in::session(conn, &secret, t)).unwrap()
    };
    let mut t = now();
    for _ in 0..15 {
        t += TimeDelta::hours(11);
        assert!(at(t).is_some(), "used every 11 hours, the session goes on until 7 days");
    }
    assert!(at(t + TimeDelta::hours(11)).is_none(), "not after 7 days");
    let fresh =
        app.db.run_blocking(|conn| sign_in::use_token(conn, &Actor::cli(), &app.admin, now())).unwrap().unwrap();
    let idle = fresh.secret.clone();
    assert!(
        app.db.run_blocking(move |conn| sign_in::session(conn, &idle, now() + TimeDelta::hours(12))).unwrap().is_none()
    );

    // Token sign-in through the page; the session ends when the token is revoked.
    let holder = app.token(Role::Coordinator, Some("gastronomy"), None);
    let mut coordinator = browser.another();
    let csrf = coordinator.csrf("/sign-in").await;
    let r = coordinator
        .post("/sign-in/token", &[("token", &holder), ("csrf", &csrf), ("next", "/desk?status=overdue")])
        .await;
    assert_eq!(r.headers[header::LOCATION], "/desk?status=overdue");
    assert_eq!(coordinator.get("/desk").await.status, StatusCode::OK);
    let tokens = app.get("/api/v1/tokens", Some(&app.admin)).await;
    let id =
        tokens.body["items"].as_array().unwrap().iter().find(|t| t["role"] == "coordinator").unwrap()["id"].clone();
    let revoked = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&app.admin), None).await;
    assert!(revoked.status.is_success(), "{}", revoked.text);
    assert_eq!(coordinator.get("/desk").await.status, StatusCode::SEE_OTHER, "signed out with its token");

    // A wrong token is refused on the page, and says so.
    let csrf = coordinator.csrf("/sign-in").await;
    let r = coordinator.post("/sign-in/token", &[("token", "mmr_nope"), ("csrf", &csrf), ("next", "")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("not valid"));

    // Sign-out ends the session; the old cookie opens nothing.
    let mut desk = browser.another();
    let csrf = desk.csrf("/sign-in").await;
    desk.post("/sign-in/token", &[("token", &app.admin), ("csrf", &csrf), ("next", "")]).await;
    let cookie = desk.jar["mmr_session"].clone();
    let page = desk.get("/desk").await;
    let csrf = field(&page.text, "csrf");
    let out = desk.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!desk.jar.contains_key("mmr_session"));
    desk.jar.insert("mmr_session".into(), cookie);
    assert_eq!(desk.get("/desk").await.status, StatusCode::SEE_OTHER, "the old session stays ended");

    // The audit log has every sign-in, refusal and sign-out, and no address.
    let events = app
        .db
        .run_blocking(|conn| -> mmr::error::Result<_> {
            workflow::audit_log(conn, AuditFilter::default(), PageRequest::parse(Some(1), Some(200))?)
        })
        .unwrap();
    let actions: Vec<&str> = events.items.iter().map(|e| e.action.as_str()).collect();
    for action in ["session.sign_in", "session.sign_in_refused", "session.sign_out"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    for e in &events.items {
        assert!(!e.details.contains('@') && !e.subject_id.contains('@') && !e.actor.contains('@'), "{e:?}");
    }
}

/// A form without the visitor's token changes nothing: no link sent, no sign-in, no sign-out.
async fn forms_need_their_token(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let mut browser = Browser::new(&app);
    let good = browser.csrf("/sign-in").await;
    for csrf in ["", "00000000000000000000000000000000", &good[..31]] {
        let r = browser.post("/sign-in/email", &[("email", "anna@ostersund.example"), ("csrf", csrf)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(r.text.contains("This form has expired"));
        let r = browser.post("/sign-in/token", &[("token", &app.admin), ("csrf", csrf)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert!(browser.outbox.messages().is_empty());
    assert!(!browser.jar.contains_key("mmr_session"));
    // A token from another visitor's page does not do either.
    let mut stranger = browser.another();
    let theirs = stranger.csrf("/sign-in").await;
    let r = browser.post("/sign-in/token", &[("token", &app.admin), ("csrf", &theirs)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Signed in, the sign-out form needs the session's token, not the sign-in page's.
    let r = browser.post("/sign-in/token", &[("token", &app.admin), ("csrf", &good)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = browser.post("/sign-out", &[("csrf", &good)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/desk").await.status, StatusCode::OK, "still signed in");
    // An invalid address is named as such, and nothing is sent.
    let csrf = stranger.csrf("/sign-in").await;
    let r = stranger.post("/sign-in/email", &[("email", "not an address"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("aria-invalid=\"true\"") && r.text.contains("whole e-mail address"));
    // A return address off the site is ignored.
    let r =
        stranger.post("/sign-in/token", &[("token", &app.admin), ("csrf", &csrf), ("next", "//evil.example/")]).await;
    assert_eq!(r.headers[header::LOCATION], "/desk");
}

/// At most five links an hour go to one address, and a client asking too often is told to wait.
async fn sign_in_requests_are_limited(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let mut browser = Browser::new(&app);
    for _ in 0..sign_in::LINKS_PER_ADDRESS + 2 {
        let (r, _) = browser.ask_link("anna@ostersund.example").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(browser.outbox.messages().len() as i64, sign_in::LINKS_PER_ADDRESS);
    let mut status = StatusCode::OK;
    for _ in 0..20 {
        let csrf = browser.csrf("/sign-in").await;
        status = browser.post("/sign-in/email", &[("email", "x@y.example"), ("csrf", &csrf)]).await.status;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// The portal and the desk under DESIGN.md §3: a city sees its own work only, a coordinator their
/// field, a signed-out visitor is sent to sign in; the Secretariat adds and removes staff
/// addresses, and removing one ends that person's sessions.
async fn pages_follow_the_permission_rules(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    app.city("parma", "Parma", "IT", "gastronomy");
    app.city("lyon", "Lyon", "FR", "media_arts");
    app.sync_cycles();
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let mut public = Browser::new(&app);
    for path in ["/portal", "/desk", "/desk/cities/lyon", "/desk/board.csv"] {
        let r = public.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.headers[header::LOCATION].to_str().unwrap().starts_with("/sign-in?next=%2F"), "{path}");
    }

    let mut city = public.another();
    let (_, links) = city.ask_link("anna@ostersund.example").await;
    city.use_link(&links[0]).await;
    assert_eq!(city.get("/desk").await.headers[header::LOCATION], "/portal");
    assert_eq!(city.get("/desk/cities/parma").await.headers[header::LOCATION], "/portal");
    assert!(!city.get("/portal").await.text.contains("Parma"));

    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let mut field = public.another();
    let csrf = field.csrf("/sign-in").await;
    field.post("/sign-in/token", &[("token", &coordinator), ("csrf", &csrf)]).await;
    let board = field.get("/desk").await;
    assert!(board.text.contains("Parma") && board.text.contains("Östersund") && !board.text.contains("Lyon"));
    assert_eq!(field.get("/desk?field=media_arts").await.status, StatusCode::FORBIDDEN);
    assert_eq!(field.get("/desk/cities/lyon").await.status, StatusCode::FORBIDDEN);
    assert_eq!(field.get("/desk/cities/parma").await.status, StatusCode::OK);
    let csv = field.get("/desk/board.csv").await;
    assert!(csv.text.starts_with("city,name,") && csv.text.contains("parma,") && !csv.text.contains("lyon,"));

    let mut desk = public.another();
    desk.sign_in_with_token(&app.admin).await;
    let board = desk.get("/desk?sort=city").await;
    assert!(board.text.contains("Lyon") && board.text.contains("Parma"));
    assert_eq!(desk.get("/desk?status=lost").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(desk.get("/desk/cities/atlantis").await.status, StatusCode::NOT_FOUND);

    // Staff addresses: a staff member signs in as the Secretariat until removed.
    let secretariat = Some(mmr::domain::auth::Principal {
        credential: mmr::domain::auth::Credential::Token(1),
        name: "t".into(),
        scope: mmr::domain::auth::Scope::Secretariat,
    });
    app.db
        .run_blocking(|conn| {
            sign_in::add_staff(conn, &Actor::cli(), secretariat.as_ref(), "Desk@Unesco.example", "Desk", now())
        })
        .unwrap();
    let mut staff = public.another();
    let (_, links) = staff.ask_link("desk@unesco.example").await;
    assert_eq!(staff.use_link(&links[0]).await.headers[header::LOCATION], "/desk");
    assert_eq!(staff.get("/desk").await.status, StatusCode::OK);
    let city_principal = mmr::domain::auth::Principal {
        credential: mmr::domain::auth::Credential::Token(2),
        name: "c".into(),
        scope: mmr::domain::auth::Scope::City { city_id: 1 },
    };
    let refused = app.db.run_blocking(|conn| {
        sign_in::remove_staff(conn, &Actor::cli(), Some(&city_principal), "desk@unesco.example", now())
    });
    assert!(refused.is_err(), "a city cannot remove staff");
    app.db
        .run_blocking(|conn| {
            sign_in::remove_staff(conn, &Actor::cli(), secretariat.as_ref(), "desk@unesco.example", now())
        })
        .unwrap();
    assert_eq!(staff.get("/desk").await.status, StatusCode::SEE_OTHER, "removed staff are signed out");
}

crate::both_backends!(
    a_contact_signs_in_by_link,
    links_and_sessions_end,
    forms_need_their_token,
    sign_in_requests_are_limited,
    pages_follow_the_permission_rules
);
