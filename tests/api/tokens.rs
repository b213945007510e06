use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mmr::domain::auth::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

async fn bad_credentials_are_401_even_on_public_routes(app: TestApp) {
    for auth in ["Bearer mmr_0000", "Bearer nonsense", "Basic dXNlcjpwdw==", "Bearer", "Bearer    "] {
        let req = Request::get("/api/v1/cities").header(header::AUTHORIZATION, auth).body(Body::empty()).unwrap();
        let r = app.send(req).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{auth}");
    }
}

async fn secretariat_issues_lists_and_revokes_tokens(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    let body = json!({ "role": "city", "city": "ostersund", "name": "Östersund focal point" });
    let r = app.call(Method::POST, "/api/v1/tokens", Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_i64().unwrap();
    assert!(secret.starts_with("mmr_") && secret.len() == 68);
    // The new token works for its city.
    assert_eq!(app.get("/api/v1/cities/ostersund/contacts", Some(&secret)).await.status, StatusCode::OK);
    // Listing never shows secrets.
    let r = app.get("/api/v1/tokens", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&secret[4..]));
    let listed = r.body["items"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    assert_eq!((listed["role"].as_str(), listed["city"].as_str()), (Some("city"), Some("ostersund")));
    // Revoked: 401 at once; revoking again is 404.
    let path = format!("/api/v1/tokens/{id}");
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.admin), None).await.status, StatusCode::NO_CONTENT);
    let r = app.get("/api/v1/cities", Some(&secret)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.admin), None).await.status, StatusCode::NOT_FOUND);
}

async fn token_requests_are_checked(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    let city = app.token(Role::City, None, Some("ostersund"));
    let r = app
        .call(Method::POST, "/api/v1/tokens", Some(&city), Some(json!({ "role": "secretariat", "name": "me" })))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/tokens", None).await.status, StatusCode::UNAUTHORIZED);
    for (body, field) in [
        (json!({ "role": "emperor", "name": "x" }), "role"),
        (json!({ "role": "city", "name": "x" }), "city"),
        (json!({ "role": "city", "city": "atlantis", "name": "x" }), "city"),
        (json!({ "role": "coordinator", "field": "sculpture", "name": "x" }), "field"),
        (json!({ "role": "coordinator", "name": "x" }), "field"),
        (json!({ "role": "secretariat", "field": "music", "name": "x" }), "field"),
    ] {
        let r = app.call(Method::POST, "/api/v1/tokens", Some(&app.admin), Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }
}

both_backends!(
    bad_credentials_are_401_even_on_public_routes,
    secretariat_issues_lists_and_revokes_tokens,
    token_requests_are_checked
);
