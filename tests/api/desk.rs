//! The desk's pages beyond the board, through the router with a cookie-jar browser: a city's
//! page (registry, contacts, deadlines, reminder holds, publication, audit trail), the
//! dashboard and the access page. Every form changes what the API then shows, for the
//! Secretariat only; everyone else, and every form without its token, changes nothing.

use axum::http::{StatusCode, header};
use mmr::domain::auth::Role;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::sign_in::{Browser, add_contact, field};
use crate::submissions::open_cycle;

const PAGE: &str = "/desk/cities/ostersund";

/// The Secretariat's browser, signed in with its token.
async fn secretariat(app: &TestApp) -> Browser {
    let mut desk = Browser::new(app);
    desk.sign_in_with_token(&app.admin).await;
    desk
}

/// Posts `form` (with the page's token) to `action` under the city's page.
async fn post(browser: &mut Browser, action: &str, form: &[(&str, &str)]) -> crate::helpers::Reply {
    let csrf = browser.csrf(PAGE).await;
    let mut pairs = form.to_vec();
    pairs.push(("csrf", &csrf));
    browser.post(&format!("{PAGE}{action}"), &pairs).await
}

fn location(reply: &crate::helpers::Reply) -> &str {
    reply.headers[header::LOCATION].to_str().unwrap()
}

async fn city_json(app: &TestApp) -> Value {
    app.get("/api/v1/cities/ostersund", Some(&app.admin)).await.body
}

async fn contacts_json(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/cities/ostersund/contacts", Some(&app.admin)).await.body["items"].as_array().unwrap().clone()
}

/// Registry details, contacts, deadlines and holds: each form changes what the API shows, says
/// so on the page it returns to, and a bad value is named next to its field.
async fn the_secretariat_edits_a_city(app: TestApp) {
    let (cycle, _) = open_cycle(&app).await;
    let mut desk = secretariat(&app).await;
    let page = desk.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for section in ["Registry details", "Contacts", "Deadlines", "Reminder holds", "Publication", "Audit trail"] {
        assert!(page.text.contains(section), "{section}");
    }
    assert!(page.text.contains(r#"href="/desk/access""#), "the desk's navigation");

    // The registry: the values that differ are changed.
    let registry = [
        ("name", "Östersund"),
        ("aliases", "Ostersund\r\nÖstersunds kommun"),
        ("country", "SE"),
        ("field", "gastronomy"),
        ("designation_date", "2010-12-01"),
        ("time_zone", "Europe/Stockholm"),
        ("language", "fr"),
        ("status", "active"),
    ];
    let r = post(&mut desk, "/registry", &registry).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), "/desk/cities/ostersund?done=city#city");
    let city = city_json(&app).await;
    assert_eq!(city["language"], "fr");
    assert_eq!(city["aliases"], serde_json::json!(["Ostersund", "Östersunds kommun"]));
    assert!(desk.get(&location(&r).replace("#city", "")).await.text.contains("The registry details are saved."));
    let r = post(&mut desk, "/registry", &registry).await;
    assert_eq!(location(&r), "/desk/cities/ostersund?done=unchanged#city");
    let mut bad = registry.to_vec();
    bad[4] = ("designation_date", "2010-13-40");
    let r = post(&mut desk, "/registry", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(r#"aria-describedby="city-designation_date-error""#), "{}", r.text);
    assert!(r.text.contains(r#"value="2010-13-40""#), "the value sent is shown again");
    assert_eq!(city_json(&app).await["designation_date"], "2010-12-01");

    // Contacts: add, a second as primary, make the first primary, edit, remove.
    let r = post(&mut desk, "/contacts", &[("name", "Anna Svensson"), ("email", "anna@ostersund.example")]).await;
    assert_eq!(location(&r), "/desk/cities/ostersund?done=contact_added#contact-new");
    let r =
        post(&mut desk, "/contacts", &[("name", "Björn"), ("email", "bjorn@ostersund.example"), ("primary", "yes")])
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let contacts = contacts_json(&app).await;
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0]["name"], "Björn", "the primary first");
    let anna = contacts.iter().find(|c| c["name"] == "Anna Svensson").unwrap()["id"].as_i64().unwrap();
    let r = post(&mut desk, "/contacts", &[("name", "Again"), ("email", "ANNA@ostersund.example")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("already has a contact with this e-mail address"));
    let r = post(&mut desk, "/contacts", &[("name", "Nobody"), ("email", "not an address")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(r#"aria-describedby="contact-new-email-error""#));
    let r = post(&mut desk, &format!("/contacts/{anna}/primary"), &[]).await;
    assert_eq!(location(&r), format!("/desk/cities/ostersund?done=primary#contact-{anna}"));
    assert_eq!(contacts_json(&app).await[0]["name"], "Anna Svensson");

    // Anna signs in; a new address signs the old one out everywhere.
    let mut anna_browser = desk.another();
    let (_, links) = anna_browser.ask_link("anna@ostersund.example").await;
    anna_browser.use_link(&links[0]).await;
    assert_eq!(anna_browser.get("/portal").await.status, StatusCode::OK);
    let edit = [("name", "Anna Svensson"), ("email", "anna.svensson@ostersund.example"), ("role", "Focal point")];
    let r = post(&mut desk, &format!("/contacts/{anna}/edit"), &edit).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let contacts = contacts_json(&app).await;
    assert_eq!(contacts[0]["email"], "anna.svensson@ostersund.example");
    assert_eq!(contacts[0]["role"], "Focal point");
    assert_eq!(anna_browser.get("/portal").await.status, StatusCode::SEE_OTHER, "signed out");
    let bjorn = contacts[1]["id"].as_i64().unwrap();
    let r = post(&mut desk, &format!("/contacts/{bjorn}/remove"), &[]).await;
    assert_eq!(location(&r), format!("/desk/cities/ostersund?done=contact_removed#contact-{bjorn}"));
    assert_eq!(contacts_json(&app).await.len(), 1);
    assert_eq!(post(&mut desk, "/contacts/abc/remove", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(post(&mut desk, "/contacts/999999/remove", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(post(&mut desk, &format!("/contacts/{anna}/promote"), &[]).await.status, StatusCode::NOT_FOUND);

    // Deadlines: an extension (a later date and a reason), then a catch-up due date.
    let r = post(&mut desk, &format!("/cycles/{cycle}/extension"), &[("due_date", "soon"), ("reason", "x")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(&format!(r#"aria-describedby="extend-{cycle}-due_date-error""#)));
    let extension = [("due_date", "2027-01-31"), ("reason", "Elections in the city council")];
    let r = post(&mut desk, &format!("/cycles/{cycle}/extension"), &extension).await;
    assert_eq!(location(&r), format!("/desk/cities/ostersund?done=extension#extend-{cycle}"));
    let shown = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&app.admin)).await.body;
    assert_eq!(shown["due_date"], "2027-01-31");
    assert_eq!(shown["extensions"][0]["reason"], "Elections in the city council");
    let r = post(&mut desk, &format!("/cycles/{cycle}/due-date"), &[("due_date", "2026-12-31")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let shown = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&app.admin)).await.body;
    assert_eq!(shown["scheduled_due_date"], "2026-12-31");

    // Reminder holds: not in the past; held, then lifted.
    let r = post(&mut desk, "/holds", &[("until", "2020-01-01"), ("reason", "Too late")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("is in the past") && r.text.contains(r#"aria-describedby="hold-until-error""#));
    let r = post(&mut desk, "/holds", &[("until", "2027-03-01"), ("reason", "A new mayor")]).await;
    assert_eq!(location(&r), "/desk/cities/ostersund?done=hold#hold");
    let holds = app.get("/api/v1/cities/ostersund/reminder-suppressions", Some(&app.admin)).await.body["items"].clone();
    assert_eq!(holds[0]["reason"], "A new mayor");
    let id = holds[0]["id"].as_i64().unwrap();
    let r = post(&mut desk, &format!("/holds/{id}/lift"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let holds = app.get("/api/v1/cities/ostersund/reminder-suppressions", Some(&app.admin)).await.body["items"].clone();
    assert_eq!(holds.as_array().unwrap().len(), 0);

    // The audit trail lists the city's changes, newest first; in French the page is French.
    let page = desk.get(PAGE).await.text;
    let trail = &page[page.find(r#"id="audit""#).unwrap()..];
    let order: Vec<usize> = ["reminders.lift", "cycle.set_due_date", "cycle.extend", "contact.delete", "city.update"]
        .iter()
        .map(|action| trail.find(&format!("<code>{action}</code>")).unwrap_or_else(|| panic!("{action}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // Each with what changed.
    let extended = &trail[order[2]..trail[order[2]..].find("</tr>").unwrap() + order[2]];
    assert!(extended.contains("<dd>Elections in the city council</dd>"), "{extended}");
    desk.jar.insert("lang".into(), "fr".into());
    let french = desk.get(PAGE).await.text;
    assert!(french.contains("Données du registre") && french.contains("Journal des modifications"));
}

/// Publication from the city's page: set a date, the public sees the report; clear it, it is
/// withdrawn.
async fn the_secretariat_publishes_and_withdraws(app: TestApp) {
    let id = crate::archive::archived(&app).await;
    let mut desk = secretariat(&app).await;
    let action = format!("/archive/{id}/publication");
    let r = post(&mut desk, &action, &[("published_on", "someday"), ("action", "publish")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(&format!(r#"aria-describedby="publish-{id}-published_on-error""#)));
    let r = post(&mut desk, &action, &[("published_on", "2026-11-01"), ("action", "publish")]).await;
    assert_eq!(location(&r), format!("/desk/cities/ostersund?done=published#publish-{id}"));
    assert_eq!(app.get(&format!("/api/v1/archive/{id}"), None).await.status, StatusCode::OK, "public now");
    let r = post(&mut desk, &action, &[("published_on", "2026-11-01"), ("action", "clear")]).await;
    assert_eq!(location(&r), format!("/desk/cities/ostersund?done=unpublished#publish-{id}"));
    assert_eq!(app.get(&format!("/api/v1/archive/{id}"), None).await.status, StatusCode::NOT_FOUND);
    let page = desk.get(PAGE).await.text;
    assert!(page.contains("<code>archive.publish</code>"), "in the city's audit trail");
}

/// A coordinator reads their field's city without forms and cannot post them; a city's focal
/// point is sent to the portal; a form without the session's token is refused: nothing changes.
async fn everyone_else_is_refused(app: TestApp) {
    let (cycle, _) = open_cycle(&app).await;
    app.city("lyon", "Lyon", "FR", "media_arts");
    add_contact(&app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let before = (city_json(&app).await, contacts_json(&app).await);
    let attempts = [
        ("/registry", vec![("name", "Renamed"), ("country", "SE")]),
        ("/contacts", vec![("name", "Eve"), ("email", "eve@example.org")]),
        (&format!("/cycles/{cycle}/extension") as &str, vec![("due_date", "2027-06-01"), ("reason", "x")]),
        ("/holds", vec![("reason", "x")]),
    ];

    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let mut field = Browser::new(&app);
    field.sign_in_with_token(&coordinator).await;
    let page = field.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains(r#"action="/desk/cities"#), "read-only");
    assert!(!page.text.contains("anna@ostersund.example") && !page.text.contains(r#"id="audit""#));
    assert!(!page.text.contains(r#"href="/desk/access""#));
    assert_eq!(field.get("/desk/cities/lyon").await.status, StatusCode::FORBIDDEN);
    assert_eq!(field.get("/desk/access").await.status, StatusCode::FORBIDDEN);
    for (action, form) in &attempts {
        let r = post(&mut field, action, form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}");
    }
    let csrf = field.csrf("/desk").await;
    let r = field.post("/desk/access/tokens", &[("csrf", &csrf), ("role", "secretariat"), ("name", "mine")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut city = Browser::new(&app);
    let (_, links) = city.ask_link("anna@ostersund.example").await;
    city.use_link(&links[0]).await;
    let csrf = city.csrf("/portal").await;
    for (action, form) in &attempts {
        let mut pairs = form.clone();
        pairs.push(("csrf", &csrf));
        let r = city.post(&format!("{PAGE}{action}"), &pairs).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}");
        assert_eq!(location(&r), "/portal");
    }

    let mut desk = secretariat(&app).await;
    let good = desk.csrf(PAGE).await;
    for csrf in ["", "00000000000000000000000000000000", &good[..31]] {
        for (action, form) in &attempts {
            let mut pairs = form.clone();
            pairs.push(("csrf", csrf));
            let r = desk.post(&format!("{PAGE}{action}"), &pairs).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{action} {csrf:?}");
            assert!(r.text.contains("This form has expired"));
        }
    }
    let mut stranger = Browser::new(&app);
    let r = stranger.post(&format!("{PAGE}/registry"), &[("name", "Renamed")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "signed out, without a token");
    assert_eq!((city_json(&app).await, contacts_json(&app).await), before, "nothing changed");
    let shown = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&app.admin)).await.body;
    assert_eq!(shown["extensions"].as_array().unwrap().len(), 0);
}

/// Tokens: issued with the secret shown once, working at once, then revoked; staff addresses
/// added and removed; every session of an address ended.
async fn the_access_page(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    let mut desk = secretariat(&app).await;
    let page = desk.get("/desk/access").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csrf = field(&page.text, "csrf");

    let r = desk.post("/desk/access/tokens", &[("csrf", &csrf), ("role", "coordinator"), ("name", "Music")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(r#"aria-describedby="token-field-error""#) && r.text.contains("needs a field"));
    let form = [("csrf", csrf.as_str()), ("role", "coordinator"), ("field", "gastronomy"), ("name", "Gastronomy desk")];
    let r = desk.post("/desk/access/tokens", &form).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let shown = &r.text[r.text.find(r#"id="issued-secret""#).unwrap()..];
    let from = shown.find("value=\"").unwrap() + "value=\"".len();
    let secret = shown[from..].split('"').next().unwrap().to_owned();
    assert!(secret.starts_with("mmr_"), "{secret}");
    assert_eq!(app.get("/api/v1/dashboard", Some(&secret)).await.status, StatusCode::OK, "the token works");
    let page = desk.get("/desk/access").await.text;
    assert!(page.contains("Gastronomy desk") && !page.contains(&secret), "the secret is shown once only");
    let tokens = app.get("/api/v1/tokens", Some(&app.admin)).await.body["items"].clone();
    let id = tokens.as_array().unwrap().iter().find(|t| t["name"] == "Gastronomy desk").unwrap()["id"].clone();
    let r = desk.post(&format!("/desk/access/tokens/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(location(&r), "/desk/access?done=revoked");
    assert_eq!(app.get("/api/v1/dashboard", Some(&secret)).await.status, StatusCode::UNAUTHORIZED);

    let r = desk.post("/desk/access/staff", &[("csrf", &csrf), ("email", "nope"), ("name", "Eve")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains(r#"aria-describedby="staff-email-error""#));
    let r =
        desk.post("/desk/access/staff", &[("csrf", &csrf), ("email", "Marie@Unesco.example"), ("name", "Marie")]).await;
    assert_eq!(location(&r), "/desk/access?done=staff_added");
    assert!(desk.get("/desk/access").await.text.contains("marie@unesco.example"));
    let mut marie = desk.another();
    let (_, links) = marie.ask_link("marie@unesco.example").await;
    marie.use_link(&links[0]).await;
    assert_eq!(marie.get("/desk/access").await.status, StatusCode::OK, "staff sign in as the Secretariat");
    let r = desk.post("/desk/access/sessions", &[("csrf", &csrf), ("email", "marie@unesco.example")]).await;
    assert_eq!(location(&r), "/desk/access?done=sessions_ended");
    assert_eq!(marie.get("/desk/access").await.status, StatusCode::SEE_OTHER, "signed out");
    let r = desk.post("/desk/access/staff/remove", &[("csrf", &csrf), ("email", "marie@unesco.example")]).await;
    assert_eq!(location(&r), "/desk/access?done=staff_removed");
    assert!(!desk.get("/desk/access").await.text.contains("marie@unesco.example"));
}

/// The dashboard: three charts, each followed by its table, with the API's figures; a
/// coordinator's is their field's; a city's focal point goes to the portal.
async fn the_dashboard(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let mut desk = secretariat(&app).await;
    let empty = desk.get("/desk/dashboard").await;
    assert!(empty.text.contains("Nothing to count yet."), "no round has passed: no on-time rate");
    // A catch-up round due in the past makes one.
    let cycles = app.get("/api/v1/cycles?field=music&per_page=1", Some(&app.admin)).await.body;
    let cycle = cycles["items"][0]["id"].as_i64().unwrap();
    let moved = app
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/cycles/{cycle}/due-date"),
            Some(&app.admin),
            Some(serde_json::json!({ "due_date": "2026-06-30" })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let page = desk.get("/desk/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.text.matches(r#"<svg class="chart""#).count(), 3);
    for id in ["by-field", "on-time", "by-year"] {
        assert!(page.text.contains(&format!(r#"aria-describedby="{id}-table""#)), "{id}");
        assert!(page.text.contains(&format!(r#"<table class="list" id="{id}-table">"#)), "{id}");
    }
    assert!(!page.text.contains("style="));
    let api = app.get("/api/v1/dashboard", Some(&app.admin)).await.body;
    let total = api["total"].as_i64().unwrap();
    assert!(total > 0);
    assert!(page.text.contains(&format!("{} reporting cycles", total_text(total))), "{}", page.text);
    assert!(page.text.contains("0% (0 of 1)"), "the on-time table");

    let coordinator = app.token(Role::Coordinator, Some("music"), None);
    let mut field = Browser::new(&app);
    field.sign_in_with_token(&coordinator).await;
    let page = field.get("/desk/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let api = app.get("/api/v1/dashboard", Some(&coordinator)).await.body;
    assert!(page.text.contains(&format!("{} reporting cycles", total_text(api["total"].as_i64().unwrap()))));
    assert!(!page.text.contains("Gastronomy"), "their field only");
}

/// A count as the English pages write it.
fn total_text(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

crate::both_backends!(
    the_secretariat_edits_a_city,
    the_secretariat_publishes_and_withdraws,
    everyone_else_is_refused,
    the_access_page,
    the_dashboard,
);
