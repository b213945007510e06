use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::both_backends;
use crate::helpers::TestApp;

async fn probes_answer(app: TestApp) {
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(r.body["database"], expected);
    assert_eq!(r.body["search_index"]["entries"], 0, "{}", r.text);
}

async fn unknown_routes_and_methods_speak_json(app: TestApp) {
    let r = app.get("/api/v1/nothing-here", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.call(Method::DELETE, "/api/v1/fields", Some(&app.admin), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let r = app.get("/api/v1/fields", None).await;
    let id = r.headers.get("x-request-id").expect("x-request-id").to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let other = app.get("/api/v1/fields", None).await;
    assert_ne!(other.headers.get("x-request-id").unwrap().to_str().unwrap(), id);
    // An id set by a proxy in front is kept.
    let req = Request::get("/healthz").header("x-request-id", "from-the-proxy").body(Body::empty()).unwrap();
    assert_eq!(app.send(req).await.headers.get("x-request-id").unwrap(), "from-the-proxy");
}

async fn fields_are_data_with_counts(app: TestApp) {
    app.seed_demo();
    let r = app.get("/api/v1/fields", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let fields = r.body["items"].as_array().unwrap();
    let slugs: Vec<&str> = fields.iter().map(|f| f["slug"].as_str().unwrap()).collect();
    assert_eq!(
        slugs,
        ["crafts_folk_art", "design", "film", "gastronomy", "literature", "media_arts", "music", "architecture"]
    );
    let count = |slug: &str| fields.iter().find(|f| f["slug"] == slug).unwrap()["cities"].as_i64().unwrap();
    // The brochure cohort (UCCN.md §2): Design 22, Crafts 20, Literature 20, Music 19, ...
    assert_eq!((count("design"), count("music"), count("architecture")), (22, 19, 0));
    assert_eq!(fields.iter().map(|f| f["cities"].as_i64().unwrap()).sum::<i64>(), 116);
    assert_eq!(fields.last().unwrap()["since_year"], 2025);
}

both_backends!(
    probes_answer,
    unknown_routes_and_methods_speak_json,
    every_response_carries_a_request_id,
    fields_are_data_with_counts
);
