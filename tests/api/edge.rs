//! The edge of the API: one answer on both stores for control characters in any input, JSON
//! errors for bad path parameters and over-large request heads, bad tokens refused on every
//! route and accounted for, security headers on every response, and CSV cells that cannot run
//! as spreadsheet formulas.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mmr::domain::auth::Role;
use mmr::http::AuthFailure;
use serde_json::json;

use crate::helpers::{Reply, TestApp, multipart, now};
use crate::submissions::{full_plan, full_report, open_cycle, submit_and_accept};

/// A 422 naming `field`, in the error shape.
fn assert_invalid(r: &Reply, field: &str, what: &str) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", r.text);
    assert_eq!(r.code(), "invalid", "{what}: {}", r.text);
    assert_eq!(r.body["error"]["field"], field, "{what}: {}", r.text);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("control character U+00"), "{what}: {}", r.text);
}

/// NUL and other C0 controls: 422 naming the input on both stores (PostgreSQL cannot store
/// U+0000, so without the rule SQLite stored what PostgreSQL answered 500 to); TAB, LF and CR
/// pass in multi-line text.
async fn control_characters_are_refused_alike(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let admin = Some(app.admin.as_str());
    assert_invalid(&app.get("/api/v1/cities?q=%00", None).await, "q", "a query parameter");
    assert_invalid(&app.get("/api/v1/cities?q=a%09b", None).await, "q", "a TAB in a single-line parameter");
    assert_invalid(&app.get("/api/v1/audit?action=%00", admin).await, "action", "an audit filter");
    assert_invalid(&app.get("/api/v1/audit?subject_id=x%1b", admin).await, "subject_id", "an escape");
    assert_invalid(&app.get("/api/v1/archive?q=music%00", None).await, "q", "an archive search");
    assert_invalid(&app.get("/api/v1/cities/ostersund%00", None).await, "slug", "a path parameter");
    // OAI-PMH answers in its own terms: badArgument, in XML.
    let r = app.get("/oai?verb=ListRecords&metadataPrefix=oai_dc&set=field:%00", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/xml"));
    assert!(r.text.contains("<error code=\"badArgument\">"), "{}", r.text);
    assert!(!r.text.contains('\0'));
    // JSON string values, wherever they are.
    let lyon = json!({ "slug": "lyon", "name": "Ly\u{0}on", "country": "FR", "field": "literature",
        "designation_date": "2017-10-31", "time_zone": "Europe/Paris" });
    assert_invalid(&app.call(Method::POST, "/api/v1/cities", admin, Some(lyon)).await, "name", "a city name");
    let draft = format!("/api/v1/cycles/{cycle}/draft");
    let body = json!({ "report_markdown": full_report("Nul\u{0}here."), "action_plan_markdown": full_plan() });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body.clone())).await;
    assert_invalid(&r, "report_markdown", "a draft's Markdown");
    let submissions = format!("/api/v1/cycles/{cycle}/submissions");
    let r = app.call(Method::POST, &submissions, Some(&city), Some(body)).await;
    assert_invalid(&r, "report_markdown", "a submission's Markdown");
    let body = json!({ "report_markdown": full_report(""), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "m\u{1}.png", "content_base64": "" }] });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body)).await;
    assert_invalid(&r, "attachments[0].name", "a nested member");
    // Multipart report parts.
    let report = full_report("Bell\u{7}.");
    let (content_type, bytes) = multipart(&[
        ("report", None, Some("text/markdown"), report.as_bytes()),
        ("action_plan", None, Some("text/markdown"), full_plan().as_bytes()),
    ]);
    let r = app.raw(Method::PUT, &draft, Some(&city), &content_type, bytes).await;
    assert_invalid(&r, "report", "a multipart part");
    // Nothing of it was stored; multi-line text keeps its TABs and line ends.
    assert_eq!(app.get(&draft, Some(&city)).await.status, StatusCode::NOT_FOUND);
    let report = full_report("A\ttabbed\r\nline.");
    let body = json!({ "report_markdown": report, "action_plan_markdown": full_plan() });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get(&draft, Some(&city)).await;
    assert!(r.body["report_markdown"].as_str().unwrap().contains("A\ttabbed\r\nline."), "{}", r.text);
}

/// Errors that used to leave in another shape: a path parameter that does not parse (axum's
/// text/plain 400) and over-long request targets and headers (hyper's empty 414 and 431).
async fn every_error_is_json(app: TestApp) {
    let json_error = |r: &Reply, status: StatusCode, code: &str, what: &str| {
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/json", "{what}");
        assert_eq!(r.code(), code, "{what}: {}", r.text);
    };
    let r = app.get("/api/v1/archive/abc", None).await;
    json_error(&r, StatusCode::BAD_REQUEST, "bad_request", "a bad archive id");
    assert_eq!(r.body["error"]["message"], "the path parameter `id` must be an i64, not `abc`");
    let r = app.get("/api/v1/submissions/x/attachments/map.png", None).await;
    json_error(&r, StatusCode::BAD_REQUEST, "bad_request", "a bad id beside a name");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("`id`"), "{}", r.text);
    let r = app.get("/api/v1/cycles/1.5/draft", Some(&app.admin)).await;
    json_error(&r, StatusCode::BAD_REQUEST, "bad_request", "a bad cycle id");
    let r = app.call(Method::DELETE, "/api/v1/cities/lyon/contacts/x", Some(&app.admin), None).await;
    json_error(&r, StatusCode::BAD_REQUEST, "bad_request", "a bad contact id");
    let long = format!("/api/v1/cities?q={}", "a".repeat(mmr::http::MAX_URI_BYTES));
    json_error(&app.get(&long, None).await, StatusCode::URI_TOO_LONG, "uri_too_long", "a long target");
    let mut many = Request::builder().uri("/api/v1/fields");
    for i in 0..=mmr::http::MAX_HEADERS {
        many = many.header(format!("x-h{i}"), "1");
    }
    let r = app.send(many.body(Body::empty()).unwrap()).await;
    json_error(&r, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", "many headers");
    let big = Request::builder().uri("/api/v1/fields").header("x-big", "b".repeat(mmr::http::MAX_HEADER_BYTES));
    let r = app.send(big.body(Body::empty()).unwrap()).await;
    json_error(&r, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", "a big header");
}

/// `GET path` with a raw `Authorization` value.
async fn with_authorization(app: &TestApp, path: &str, authorization: &str) -> Reply {
    let request = Request::builder().uri(path).header(header::AUTHORIZATION, authorization);
    app.send(request.body(Body::empty()).unwrap()).await
}

/// A presented token that is malformed, unknown or revoked is 401 on every route, the public
/// ones, OAI-PMH, the feed and the probes included; a valid one works everywhere.
async fn bad_tokens_are_refused_on_every_route(app: TestApp) {
    let created = app
        .call(Method::POST, "/api/v1/tokens", Some(&app.admin), Some(json!({ "role": "secretariat", "name": "Gone" })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let (id, revoked) = (created.body["id"].as_i64().unwrap(), created.body["token"].as_str().unwrap().to_owned());
    let r = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&app.admin), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let routes = [
        "/oai?verb=Identify",
        "/feeds/archive.atom",
        "/healthz",
        "/readyz",
        "/api/v1/fields",
        "/api/v1/cities",
        "/api/v1/archive",
        "/nowhere",
    ];
    for path in routes {
        for authorization in ["Basic eDp5", "Bearer", "Bearer mmr_made-up", &format!("Bearer {revoked}")] {
            let r = with_authorization(&app, path, authorization).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} with {authorization}: {}", r.text);
            assert_eq!(r.code(), "unauthenticated", "{path}");
            assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer", "{path}");
        }
        let r = with_authorization(&app, path, &format!("Bearer {}", app.admin)).await;
        let expected = if path == "/nowhere" { StatusCode::NOT_FOUND } else { StatusCode::OK };
        assert_eq!(r.status, expected, "{path} with a valid token: {}", r.text);
        assert_eq!(app.get(path, None).await.status, expected, "{path} without a token");
    }
}

/// Every failed authentication and refusal is counted by reason; a known token refused again
/// and again is audited once (per reason, per hour), and the token itself is never recorded.
async fn failed_authentication_is_counted_and_audited(app: TestApp) {
    let created = app
        .call(Method::POST, "/api/v1/tokens", Some(&app.admin), Some(json!({ "role": "secretariat", "name": "Gone" })))
        .await;
    let (id, revoked) = (created.body["id"].as_i64().unwrap(), created.body["token"].as_str().unwrap().to_owned());
    app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&app.admin), None).await;
    app.city("lyon", "Lyon", "FR", "literature");
    let city = app.token(Role::City, None, Some("lyon"));
    let failures = app.state.auth_failures.clone();
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/fields", Some(&revoked)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/api/v1/audit", Some(&city)).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get("/api/v1/fields", Some("mmr_made-up")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_authorization(&app, "/healthz", "Basic eDp5").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/audit", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        [
            failures.count(AuthFailure::Revoked),
            failures.count(AuthFailure::Forbidden),
            failures.count(AuthFailure::Unknown),
            failures.count(AuthFailure::Malformed),
            failures.count(AuthFailure::Missing),
        ],
        [3, 3, 1, 1, 1]
    );
    let r = app.get("/api/v1/audit?action=token.refused", Some(&app.admin)).await;
    assert_eq!(r.body["total"], 2, "once for the revoked token, once for the city's: {}", r.text);
    let reasons: Vec<(&str, &str)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["subject_id"].as_str().unwrap(), e["details"]["reason"].as_str().unwrap()))
        .collect();
    assert!(reasons.contains(&(id.to_string().as_str(), "revoked")), "{reasons:?}");
    assert!(reasons.iter().any(|&(_, reason)| reason == "forbidden"), "{reasons:?}");
    assert!(!r.text.contains(&revoked) && !r.text.contains(&city), "no secret in the audit log");
    assert!(r.body["items"][0]["request_id"].is_string(), "{}", r.text);
}

/// `nosniff` on every response and the API's Content-Security-Policy on every non-page: JSON,
/// errors, XML, the feed, CSV, PDFs.
async fn security_headers_on_every_response(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let archive = submit_and_accept(&app, cycle, &city, "").await;
    let paths = [
        "/api/v1/fields".to_owned(),
        "/api/v1/nowhere".to_owned(),
        "/api/v1/audit".to_owned(),
        "/api/v1/archive/abc".to_owned(),
        "/api/v1/cities?q=%00".to_owned(),
        "/oai?verb=Identify".to_owned(),
        "/feeds/archive.atom".to_owned(),
        "/healthz".to_owned(),
        "/api/v1/archive/export.csv".to_owned(),
        format!("/api/v1/archive/{archive}/pdf"),
        format!("/api/v1/archive/{archive}/source.zip"),
    ];
    for path in &paths {
        let r = app.get(path, None).await;
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path} ({})", r.status);
        assert_eq!(
            r.headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; frame-ancestors 'none'",
            "{path} ({})",
            r.status
        );
    }
    // An address outside the API is a page (the 404 page here), with the pages' own policy.
    let r = app.get("/nowhere", None).await;
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let r = app.get(&format!("/api/v1/cycles/{cycle}/draft/pdf"), Some(&city)).await;
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "a draft PDF ({})", r.status);
    let r = app.get("/api/v1/audit", Some(&city)).await;
    assert_eq!(
        (r.status, r.headers[header::X_CONTENT_TYPE_OPTIONS].to_str().unwrap()),
        (StatusCode::FORBIDDEN, "nosniff")
    );
}

const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";

/// A city name that is a formula reaches both CSVs as text; bidi overrides are refused in names
/// and aliases, by the API and by the CSV import alike.
async fn csv_cells_cannot_be_formulas(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let r = app.call(Method::PATCH, "/api/v1/cities/ostersund", Some(&app.admin), Some(json!({ "name": EVIL }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    submit_and_accept(&app, cycle, &city, "").await;
    let board = app.get("/api/v1/cycles?format=csv", Some(&app.admin)).await;
    let export = app.get("/api/v1/archive/export.csv", None).await;
    for (what, r) in [("board", &board), ("export", &export)] {
        assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
        let mut cells = csv::Reader::from_reader(r.text.as_bytes());
        let rows: Vec<csv::StringRecord> = cells.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{what}");
        for row in &rows {
            assert!(row.iter().all(|c| !c.starts_with(['=', '+', '@', '\t', '\r'])), "{what}: {row:?}");
        }
        assert!(rows.iter().any(|row| row.iter().any(|c| c == format!("'{EVIL}"))), "{what}: {}", r.text);
    }
    for (name, aliases, field) in
        [("Lyon\u{202E}noyL", json!([]), "name"), ("Lyon", json!(["Lugdunum\u{2066}"]), "aliases")]
    {
        let body = json!({ "slug": "lyon", "name": name, "aliases": aliases, "country": "FR",
            "field": "literature", "designation_date": "2017-10-31", "time_zone": "Europe/Paris" });
        let r = app.call(Method::POST, "/api/v1/cities", Some(&app.admin), Some(body)).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)));
        assert!(r.text.contains("bidirectional"), "{}", r.text);
    }
    let r = app
        .call(Method::PATCH, "/api/v1/cities/ostersund", Some(&app.admin), Some(json!({ "aliases": ["\u{202D}x"] })))
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("aliases")));
    let csv = "name,country,iso3166_alpha2,creative_field,designation_year\nLyon\u{202E},France,FR,literature,2017\n";
    let refused = mmr::workflow::import::parse_csv(csv.as_bytes(), now().date()).unwrap_err();
    assert!(format!("{refused:?}").contains("U+202E"), "{refused:?}");
}

/// Every list answers `{"items", "total", "page", "per_page"}` and pages with `?page=&per_page=`,
/// the short lists held whole (a city's contacts and cycles, versions, comments, tokens, holds,
/// fields) as well as the long ones.
async fn every_list_has_the_documented_shape(app: TestApp) {
    let cycle = crate::submissions::city_with_draft(&app, "ostersund", "Östersund", "SE", "gastronomy", "Words.").await;
    let city = app.token(Role::City, None, Some("ostersund"));
    submit_and_accept(&app, cycle, &city, "").await;
    let versions = app.get(&format!("/api/v1/cycles/{cycle}/submissions"), Some(&app.admin)).await;
    let version = versions.body["items"][0]["id"].as_i64().expect("a version");
    let lists = [
        "/api/v1/fields".to_owned(),
        "/api/v1/tokens".to_owned(),
        "/api/v1/cities/ostersund/contacts".to_owned(),
        "/api/v1/cities/ostersund/cycles".to_owned(),
        "/api/v1/cities/ostersund/reminder-suppressions".to_owned(),
        format!("/api/v1/cycles/{cycle}/submissions"),
        format!("/api/v1/submissions/{version}/comments"),
        "/api/v1/cities".to_owned(),
        "/api/v1/cycles".to_owned(),
        "/api/v1/archive".to_owned(),
    ];
    for list in &lists {
        let whole = app.get(list, Some(&app.admin)).await;
        assert_eq!(whole.status, StatusCode::OK, "{list}: {}", whole.text);
        let total = whole.body["total"].as_i64().unwrap_or_else(|| panic!("{list}: no total in {}", whole.text));
        assert_eq!((whole.body["page"].as_i64(), whole.body["per_page"].as_i64()), (Some(1), Some(50)), "{list}");
        assert_eq!(whole.body["items"].as_array().map(Vec::len), Some(total.min(50) as usize), "{list}");
        let second = app.get(&format!("{list}?page=2&per_page=1"), Some(&app.admin)).await;
        assert_eq!((second.body["page"].as_i64(), second.body["total"].as_i64()), (Some(2), Some(total)), "{list}");
        let expected = if total >= 2 { vec![whole.body["items"][1].clone()] } else { Vec::new() };
        assert_eq!(second.body["items"].as_array().unwrap(), &expected, "{list}: the second item alone");
        let bad = app.get(&format!("{list}?per_page=0"), Some(&app.admin)).await;
        assert_eq!((bad.status, bad.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{list}: {}", bad.text);
    }
}

crate::both_backends!(
    every_list_has_the_documented_shape,
    control_characters_are_refused_alike,
    every_error_is_json,
    bad_tokens_are_refused_on_every_route,
    failed_authentication_is_counted_and_audited,
    security_headers_on_every_response,
    csv_cells_cannot_be_formulas,
);
