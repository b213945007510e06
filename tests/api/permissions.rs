//! The permission table of DESIGN.md §3 for every endpoint of submissions, review and the archive,
//! as a matrix: each endpoint × public, own city, other city, coordinator of the field,
//! coordinator of another field, Secretariat, with the status each must get.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use mmr::domain::auth::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::submissions::{b64, full_plan, full_report, open_cycle, png};

const CALLERS: [&str; 6] = ["public", "own city", "other city", "coordinator", "other coordinator", "secretariat"];

struct Callers {
    tokens: [Option<String>; 6],
}

impl Callers {
    fn new(app: &TestApp, own_city: String) -> Self {
        app.city_designated("parma", "Parma", "IT", "gastronomy", NaiveDate::from_ymd_opt(2015, 12, 11).unwrap());
        Self {
            tokens: [
                None,
                Some(own_city),
                Some(app.token(Role::City, None, Some("parma"))),
                Some(app.token(Role::Coordinator, Some("gastronomy"), None)),
                Some(app.token(Role::Coordinator, Some("music"), None)),
                Some(app.admin.clone()),
            ],
        }
    }
}

/// Calls `path` as every caller and checks each status; `body` is sent as JSON when given.
async fn row(app: &TestApp, callers: &Callers, method: Method, path: &str, body: Option<Value>, expected: [u16; 6]) {
    let mut failures = Vec::new();
    for (i, token) in callers.tokens.iter().enumerate() {
        let r = app.call(method.clone(), path, token.as_deref(), body.clone()).await;
        if r.status.as_u16() != expected[i] {
            failures.push(format!("{}: got {} want {} ({})", CALLERS[i], r.status.as_u16(), expected[i], r.text));
        }
    }
    assert!(failures.is_empty(), "{method} {path}:\n{}", failures.join("\n"));
}

fn report_body() -> Value {
    json!({
        "report_markdown": full_report(""),
        "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(8, 8)) }],
    })
}

async fn permission_matrix(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let callers = Callers::new(&app, city.clone());
    // Version 1, sent back for revision, then version 2 awaiting review.
    let r =
        app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(report_body())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v1 = r.body["id"].as_i64().unwrap();
    let revision = json!({ "decision": "request_revision", "comments": "More.", "revision_due": "2027-02-01" });
    let r =
        app.call(Method::POST, &format!("/api/v1/submissions/{v1}/decision"), Some(&app.admin), Some(revision)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(report_body())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut second = report_body();
    second["report_markdown"] = json!(full_report(" More."));
    let r =
        app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(second.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v2 = r.body["id"].as_i64().unwrap();
    let thread = app
        .call(
            Method::POST,
            &format!("/api/v1/submissions/{v2}/comments"),
            Some(&app.admin),
            Some(json!({ "body_markdown": "Thanks." })),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();

    const READ: [u16; 6] = [401, 200, 403, 200, 403, 200];
    let c = format!("/api/v1/cycles/{cycle}");
    let s = format!("/api/v1/submissions/{v2}");
    row(&app, &callers, Method::GET, &format!("{c}/draft"), None, READ).await;
    row(&app, &callers, Method::GET, &format!("{c}/draft/pdf"), None, READ).await;
    row(&app, &callers, Method::GET, &format!("{c}/draft/skeleton"), None, READ).await;
    row(&app, &callers, Method::PUT, &format!("{c}/draft"), Some(report_body()), [401, 200, 403, 403, 403, 200]).await;
    row(&app, &callers, Method::GET, &format!("{c}/submissions"), None, READ).await;
    // The bundle awaiting review, submitted again: the same version (200), never a second one.
    row(&app, &callers, Method::POST, &format!("{c}/submissions"), Some(second), [401, 200, 403, 403, 403, 200]).await;
    row(&app, &callers, Method::POST, "/api/v1/preview", Some(report_body()), [401, 200, 200, 200, 200, 200]).await;
    row(&app, &callers, Method::GET, &s, None, READ).await;
    row(&app, &callers, Method::GET, &format!("{s}/pdf"), None, READ).await;
    row(&app, &callers, Method::GET, &format!("{s}/attachments/map.png"), None, READ).await;
    row(&app, &callers, Method::GET, &format!("{s}/diff"), None, READ).await;
    row(&app, &callers, Method::GET, &format!("{s}/comments"), None, READ).await;
    let comment = json!({ "body_markdown": "A remark." });
    row(&app, &callers, Method::POST, &format!("{s}/comments"), Some(comment), [401, 403, 403, 201, 403, 201]).await;
    let reply = json!({ "body_markdown": "A reply.", "parent_id": thread });
    row(&app, &callers, Method::POST, &format!("{s}/comments"), Some(reply), [401, 201, 403, 201, 403, 201]).await;
    // Only the Secretariat decides; it decides once.
    let accept = json!({ "decision": "accept" });
    row(&app, &callers, Method::POST, &format!("{s}/decision"), Some(accept), [401, 403, 403, 403, 403, 201]).await;

    let archive = app.get(&s, Some(&app.admin)).await.body["archive_id"].as_i64().expect("archived");
    let a = format!("/api/v1/archive/{archive}");
    // Published at acceptance: everyone reads it.
    for path in [a.clone(), format!("{a}/pdf"), format!("{a}/source"), format!("{a}/verify")] {
        row(&app, &callers, Method::GET, &path, None, [200; 6]).await;
    }
    // So does its page, whoever asks.
    let page = format!("/reports/{archive}");
    row(&app, &callers, Method::GET, &page, None, [200; 6]).await;
    // Only the Secretariat sets the publication date.
    let later = json!({ "published_on": "2027-06-01" });
    row(&app, &callers, Method::PATCH, &a, Some(later), [401, 403, 403, 403, 403, 200]).await;
    // Before its publication date, an entry does not exist for those who may not read the city's work.
    for path in [a.clone(), format!("{a}/pdf"), format!("{a}/source"), format!("{a}/verify")] {
        row(&app, &callers, Method::GET, &path, None, [404, 200, 404, 200, 404, 200]).await;
    }
    // The pages are the public's: an unpublished report has no page, whoever asks, and the
    // city's page and the search do not list it.
    row(&app, &callers, Method::GET, &page, None, [404; 6]).await;
    for path in ["/cities/ostersund", "/reports", "/reports?q=ostersund", "/", "/sitemap.xml"] {
        row(&app, &callers, Method::GET, path, None, [200; 6]).await;
        for token in &callers.tokens {
            let r = app.get(path, token.as_deref()).await;
            assert!(
                !r.text.contains(&format!("{page}\"")) && !r.text.contains(&format!("{page}<")),
                "{path} lists {page}"
            );
        }
    }
}

crate::both_backends!(permission_matrix);
