use axum::http::{Method, StatusCode};
use mmr::domain::auth::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{MAX_BODY, TestApp};

fn lisbon() -> Value {
    json!({
        "slug": "lisbon",
        "name": "Lisboa",
        "aliases": ["Lisbon", "Lisbonne"],
        "country": "PT",
        "field": "music",
        "designation_date": "2015-12-11",
        "time_zone": "Europe/Lisbon",
        "language": "en"
    })
}

async fn public_list_is_paginated_with_a_total(app: TestApp) {
    app.seed_demo();
    let r = app.get("/api/v1/cities?per_page=10&page=2", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["total"].as_i64(), r.body["page"].as_i64(), r.body["per_page"].as_i64()),
        (Some(116), Some(2), Some(10))
    );
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    // Ordered by slug, page 2 continues page 1.
    let first = app.get("/api/v1/cities?per_page=10", None).await;
    let last_of_first = first.body["items"][9]["slug"].as_str().unwrap().to_owned();
    assert!(items[0]["slug"].as_str().unwrap() > last_of_first.as_str());
    // The last page is short, beyond it is empty.
    let r = app.get("/api/v1/cities?per_page=50&page=3", None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 16);
    let r = app.get("/api/v1/cities?per_page=50&page=4", None).await;
    assert_eq!((r.body["items"].as_array().unwrap().len(), r.body["total"].as_i64()), (0, Some(116)));
}

async fn list_filters_by_field_country_status_and_text(app: TestApp) {
    app.seed_demo();
    let total = |r: &crate::helpers::Reply| r.body["total"].as_i64().unwrap();
    assert_eq!(total(&app.get("/api/v1/cities?field=music", None).await), 19);
    let fr = app.get("/api/v1/cities?country=fr&per_page=200", None).await;
    assert!(fr.body["items"].as_array().unwrap().iter().all(|c| c["country"] == "FR"));
    assert!(total(&fr) >= 3);
    assert_eq!(total(&app.get("/api/v1/cities?field=design&country=DE", None).await), 1); // Berlin
    assert_eq!(total(&app.get("/api/v1/cities?status=active", None).await), 116);
    assert_eq!(total(&app.get("/api/v1/cities?status=withdrawn", None).await), 0);
    // Names and aliases, accents and case ignored.
    for q in ["krakow", "Kraków", "KRAKÓW", "cracow"] {
        let r = app.get(&format!("/api/v1/cities?q={}", urlencode(q)), None).await;
        assert_eq!(total(&r), 1, "q={q}");
        assert_eq!(r.body["items"][0]["slug"], "krakow");
    }
    // LIKE wildcards in the query are literal.
    assert_eq!(total(&app.get("/api/v1/cities?q=%25", None).await), 0);
    assert_eq!(total(&app.get("/api/v1/cities?q=_", None).await), 0);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn list_rejects_bad_filters_by_name(app: TestApp) {
    for (query, status, field) in [
        ("field=underwater_basket_weaving", StatusCode::UNPROCESSABLE_ENTITY, Some("field")),
        ("field=Music", StatusCode::UNPROCESSABLE_ENTITY, Some("field")),
        ("country=XX", StatusCode::UNPROCESSABLE_ENTITY, Some("country")),
        ("status=sleeping", StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        ("per_page=201", StatusCode::UNPROCESSABLE_ENTITY, Some("per_page")),
        ("page=0", StatusCode::UNPROCESSABLE_ENTITY, Some("page")),
        ("page=abc", StatusCode::BAD_REQUEST, None),
        ("colour=blue", StatusCode::BAD_REQUEST, None),
    ] {
        let r = app.get(&format!("/api/v1/cities?{query}"), None).await;
        assert_eq!(r.status, status, "{query}: {}", r.text);
        if let Some(field) = field {
            assert_eq!(r.body["error"]["field"], field, "{query}");
        }
        assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

async fn show_gives_a_city_with_its_field_history(app: TestApp) {
    app.seed_demo();
    let r = app.get("/api/v1/cities/ostersund", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Östersund");
    assert_eq!(r.body["country"], "SE");
    assert_eq!(r.body["field"], "gastronomy");
    assert_eq!(r.body["time_zone"], "Europe/Stockholm");
    assert_eq!(r.body["status"], "active");
    assert_eq!(
        r.body["field_history"],
        json!([{ "field": "gastronomy", "from": r.body["designation_date"], "until": null }])
    );
    for missing in ["/api/v1/cities/atlantis", "/api/v1/cities/Not%20A%20Slug"] {
        let r = app.get(missing, None).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{missing}");
    }
}

async fn secretariat_registers_a_city(app: TestApp) {
    let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(lisbon())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.headers.get("location").unwrap(), "/api/v1/cities/lisbon");
    assert_eq!(r.body["aliases"], json!(["Lisbon", "Lisbonne"]));
    let r = app.get("/api/v1/cities?q=lisbonne", None).await;
    assert_eq!(r.body["items"][0]["slug"], "lisbon");
    // The same slug again is a conflict, whatever the name.
    let mut body = lisbon();
    body["name"] = json!("Lisbon again");
    let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(body)).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{}", r.text);
    // Two cities may share a name (the two Granadas) under different slugs.
    let mut granada = lisbon();
    granada["slug"] = json!("lisbon-0");
    let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(granada)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn only_the_secretariat_writes_cities(app: TestApp) {
    app.city("ostersund", "Östersund", "SE", "gastronomy");
    let city = app.token(Role::City, None, Some("ostersund"));
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(&city), StatusCode::FORBIDDEN),
        (Some(&coordinator), StatusCode::FORBIDDEN),
    ] {
        let r = app.call(Method::POST, "/api/v1/cities", token.map(String::as_str), Some(lisbon())).await;
        assert_eq!(r.status, status, "{}", r.text);
        let r = app
            .call(Method::PATCH, "/api/v1/cities/ostersund", token.map(String::as_str), Some(json!({"name": "X"})))
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    let r = app.call(Method::POST, "/api/v1/cities", None, Some(lisbon())).await;
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    assert_eq!(app.get("/api/v1/cities/lisbon", None).await.status, StatusCode::NOT_FOUND);
}

async fn bad_city_bodies_are_refused_by_name(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("field", json!("underwater_basket_weaving"), "field"),
        ("country", json!("XX"), "country"),
        ("country", json!("Portugal"), "country"),
        ("time_zone", json!("Europe/Atlantis"), "time_zone"),
        ("designation_date", json!("2015-13-40"), "designation_date"),
        ("designation_date", json!("2031-10-31"), "designation_date"),
        ("designation_date", json!("1999-10-31"), "designation_date"),
        ("slug", json!("Lisbon City"), "slug"),
        ("name", json!("   "), "name"),
        ("language", json!("pt"), "language"),
    ];
    for (key, value, field) in cases {
        let mut body = lisbon();
        body[key] = value.clone();
        let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(body)).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{key}={value}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{key}={value}");
    }
    // Missing, extra and mistyped members are 422 with serde's explanation.
    let mut missing = lisbon();
    missing.as_object_mut().unwrap().remove("country");
    let mut extra = lisbon();
    extra["population"] = json!(545_000);
    let mut mistyped = lisbon();
    mistyped["aliases"] = json!("Lisbon");
    for body in [missing, extra, mistyped] {
        let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let token = Some(app.admin.as_str());
    let r = app.raw(Method::POST, "/api/v1/cities", token, "application/json", b"{\"slug\": ".to_vec()).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed_json"));
    let r =
        app.raw(Method::POST, "/api/v1/cities", token, "application/json", b"{\"name\": \"\xff\xfe\"}".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "invalid UTF-8: {}", r.text);
    let r = app.raw(Method::POST, "/api/v1/cities", token, "text/plain", lisbon().to_string().into_bytes()).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    // A small JSON request takes at most 1 MiB, whatever MMR_MAX_BODY_BYTES allows reports.
    let mut huge = lisbon();
    huge["name"] = json!("x".repeat(mmr::http::SMALL_BODY_BYTES));
    const { assert!(mmr::http::SMALL_BODY_BYTES < MAX_BODY) };
    let r = app.call(Method::POST, "/api/v1/cities", token, Some(huge)).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    assert_eq!(r.body["error"]["message"], "the request body exceeds this route's limit of 1 MiB");
    assert_eq!(app.get("/api/v1/cities", None).await.body["total"], 0, "nothing was stored");
}

async fn secretariat_edits_a_city_and_keeps_field_history(app: TestApp) {
    app.city("lyon", "Lyon", "FR", "media_arts");
    let patch = json!({ "field": "literature", "aliases": ["Lyons"], "language": "fr" });
    let r = app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(patch)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["field"].as_str(), r.body["language"].as_str()), (Some("literature"), Some("fr")));
    assert_eq!(
        r.body["field_history"],
        json!([
            { "field": "media_arts", "from": "2015-12-11", "until": "2026-11-24" },
            { "field": "literature", "from": "2026-11-24", "until": null },
        ])
    );
    assert_eq!(app.get("/api/v1/cities?q=lyons", None).await.body["total"], 1);
    let r =
        app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "status": "on_notice" }))).await;
    assert_eq!(r.body["status"], "on_notice");
    assert_eq!(app.get("/api/v1/cities?status=on_notice", None).await.body["total"], 1);
}

async fn bad_city_edits_are_refused(app: TestApp) {
    app.city("lyon", "Lyon", "FR", "media_arts");
    let admin = Some(app.admin.as_str());
    for (body, status) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "slug": "lyon-2" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "field": "sculpture" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "country": "ZZ" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "status": "deleted" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "time_zone": "" }), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = app.call(Method::PATCH, "/api/v1/cities/lyon", admin, Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let r = app.call(Method::PATCH, "/api/v1/cities/atlantis", admin, Some(json!({ "name": "X" }))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/cities/lyon", None).await.body["field"], "media_arts");
}

both_backends!(
    public_list_is_paginated_with_a_total,
    list_filters_by_field_country_status_and_text,
    list_rejects_bad_filters_by_name,
    show_gives_a_city_with_its_field_history,
    secretariat_registers_a_city,
    only_the_secretariat_writes_cities,
    bad_city_bodies_are_refused_by_name,
    secretariat_edits_a_city_and_keeps_field_history,
    bad_city_edits_are_refused,
);
