use axum::http::{Method, StatusCode};
use mmr::domain::auth::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

async fn every_change_is_audited_with_its_actor_and_request(app: TestApp) {
    app.city("lyon", "Lyon", "FR", "media_arts");
    let r =
        app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "field": "literature" }))).await;
    let request_id = r.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let body = json!({ "name": "Focal", "email": "f@lyon.fr" });
    assert_eq!(
        app.call(Method::POST, "/api/v1/cities/lyon/contacts", Some(&app.admin), Some(body)).await.status,
        StatusCode::CREATED
    );

    let r = app.get("/api/v1/audit?per_page=2", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // token.create (admin), city.create, city.update, contact.create: newest first.
    assert_eq!(r.body["total"], 4);
    assert_eq!(r.body["items"][0]["action"], "contact.create");
    let update = &r.body["items"][1];
    assert_eq!((update["action"].as_str(), update["subject_id"].as_str()), (Some("city.update"), Some("lyon")));
    assert_eq!(update["details"], json!({ "field": "literature" }));
    assert_eq!(update["actor"], "test secretariat");
    assert_eq!(update["request_id"], request_id.as_str());
    assert_eq!(update["at"], "2026-11-24T09:30:00.000Z");
    let r = app.get("/api/v1/audit?action=city.create", Some(&app.admin)).await;
    assert_eq!(
        (r.body["total"].as_i64(), r.body["items"][0]["actor"].as_str()),
        (Some(1), Some("cli:".to_owned() + &std::env::var("USER").unwrap_or("unknown".into())).as_deref())
    );
    let r = app.get("/api/v1/audit?subject_type=city&subject_id=lyon", Some(&app.admin)).await;
    assert_eq!(r.body["total"], 2);
    // A refused change leaves no trace.
    let r =
        app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "field": "sculpture" }))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/audit", Some(&app.admin)).await.body["total"], 4);
}

/// Each filter narrows the log on its own: `subject_id` without `subject_type` is not ignored.
async fn each_audit_filter_applies_alone(app: TestApp) {
    app.city("lyon", "Lyon", "FR", "media_arts");
    app.city("braga", "Braga", "PT", "media_arts");
    let r =
        app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "field": "literature" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // token.create, city.create twice, city.update.
    assert_eq!(app.get("/api/v1/audit", Some(&app.admin)).await.body["total"], 4);
    let total = |query: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/v1/audit?{query}"), Some(&app.admin)).await.body["total"].clone() }
    };
    assert_eq!(total("subject_id=lyon").await, 2);
    assert_eq!(total("subject_id=braga").await, 1);
    assert_eq!(total("subject_id=nowhere").await, 0);
    assert_eq!(total("subject_type=city").await, 3);
    assert_eq!(total("subject_type=city&subject_id=lyon&action=city.update").await, 1);
    let r = app.get("/api/v1/audit?subject_id=lyon", Some(&app.admin)).await;
    assert!(r.body["items"].as_array().unwrap().iter().all(|e| e["subject_id"] == "lyon"), "{}", r.text);
}

async fn only_the_secretariat_reads_the_audit_log(app: TestApp) {
    app.city("lyon", "Lyon", "FR", "literature");
    let city = app.token(Role::City, None, Some("lyon"));
    let coordinator = app.token(Role::Coordinator, Some("literature"), None);
    assert_eq!(app.get("/api/v1/audit", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/audit", Some(&city)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/audit", Some(&coordinator)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/audit?per_page=1000", Some(&app.admin)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

both_backends!(
    every_change_is_audited_with_its_actor_and_request,
    each_audit_filter_applies_alone,
    only_the_secretariat_reads_the_audit_log
);
