use axum::http::{Method, StatusCode};
use mmr::domain::auth::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

const PATH: &str = "/api/v1/cities/ostersund/contacts";

fn setup(app: &TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    app.city("parma", "Parma", "IT", "gastronomy");
}

async fn contacts_are_read_by_the_city_and_the_secretariat_only(app: TestApp) {
    setup(&app);
    let own = app.token(Role::City, None, Some("ostersund"));
    let other = app.token(Role::City, None, Some("parma"));
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let body = json!({ "name": "Anna Focal", "email": "Anna@Ostersund.se", "primary": true });
    let r = app.call(Method::POST, PATH, Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["email"], "anna@ostersund.se");
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(&other), StatusCode::FORBIDDEN),
        (Some(&coordinator), StatusCode::FORBIDDEN),
        (Some(&own), StatusCode::OK),
        (Some(&app.admin), StatusCode::OK),
    ] {
        let r = app.get(PATH, token.map(String::as_str)).await;
        assert_eq!(r.status, status, "{}", r.text);
        if status == StatusCode::OK {
            assert_eq!(r.body["items"][0]["name"], "Anna Focal");
        }
    }
    // The city reads but does not write its contacts.
    let r = app.call(Method::POST, PATH, Some(&own), Some(json!({ "name": "B", "email": "b@x.org" }))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get("/api/v1/cities/atlantis/contacts", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn one_primary_contact_at_a_time(app: TestApp) {
    setup(&app);
    let admin = Some(app.admin.as_str());
    let a =
        app.call(Method::POST, PATH, admin, Some(json!({ "name": "A", "email": "a@x.org", "primary": true }))).await;
    let b =
        app.call(Method::POST, PATH, admin, Some(json!({ "name": "B", "email": "b@x.org", "primary": true }))).await;
    assert_eq!((a.status, b.status), (StatusCode::CREATED, StatusCode::CREATED));
    let list = app.get(PATH, admin).await.body["items"].clone();
    assert_eq!((list[0]["name"].as_str(), list[0]["primary"].as_bool()), (Some("B"), Some(true)));
    assert_eq!(list[1]["primary"], false);
    let path = format!("{PATH}/{}", a.body["id"]);
    let r = app.call(Method::PATCH, &path, admin, Some(json!({ "primary": true, "role": "Director" }))).await;
    assert_eq!(
        (r.status, r.body["primary"].as_bool(), r.body["role"].as_str()),
        (StatusCode::OK, Some(true), Some("Director"))
    );
    let list = app.get(PATH, admin).await.body["items"].clone();
    assert_eq!(list.as_array().unwrap().iter().filter(|c| c["primary"] == true).count(), 1);
    // null clears an optional value.
    let r = app.call(Method::PATCH, &path, admin, Some(json!({ "role": null }))).await;
    assert_eq!(r.body["role"], json!(null));
}

async fn bad_contacts_are_refused(app: TestApp) {
    setup(&app);
    let admin = Some(app.admin.as_str());
    let r = app.call(Method::POST, PATH, admin, Some(json!({ "name": "A", "email": "a@x.org" }))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_i64().unwrap();
    let r = app.call(Method::POST, PATH, admin, Some(json!({ "name": "A again", "email": "A@X.org" }))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{}", r.text);
    for body in [json!({ "name": "C", "email": "not-an-address" }), json!({ "name": "", "email": "c@x.org" })] {
        let r = app.call(Method::POST, PATH, admin, Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    // The same address at another city is fine.
    let r = app
        .call(Method::POST, "/api/v1/cities/parma/contacts", admin, Some(json!({ "name": "A", "email": "a@x.org" })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // A contact is reached only through its own city.
    let r = app.call(Method::DELETE, &format!("/api/v1/cities/parma/contacts/{id}"), admin, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call(Method::PATCH, &format!("{PATH}/{id}"), admin, Some(json!({ "email": "bad" }))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.call(Method::DELETE, &format!("{PATH}/{id}"), admin, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.call(Method::DELETE, &format!("{PATH}/{id}"), admin, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call(Method::DELETE, &format!("{PATH}/not-a-number"), admin, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

both_backends!(
    contacts_are_read_by_the_city_and_the_secretariat_only,
    one_primary_contact_at_a_time,
    bad_contacts_are_refused
);
