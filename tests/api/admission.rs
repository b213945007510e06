//! Rendering under a budget (DESIGN.md §6): a hopeless document is refused while it is parsed,
//! renderings beyond the server's concurrency wait for at most the queue deadline and are then
//! refused with 503 `render_busy`, a token's previews are limited (429), and `/verify` answers
//! from a stored verdict unless the Secretariat asks for a fresh one.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use mmr::domain::auth::Role;
use mmr::workflow::admission::{CallerLimit, CallerRate, RenderBudget, RenderGate};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, request, send_via};
use crate::submissions::{full_plan, full_report};

fn preview_body(report: String) -> Value {
    json!({ "report_markdown": report, "action_plan_markdown": full_plan() })
}

fn retry_after(r: &Reply) -> u64 {
    let value = r.headers.get(header::RETRY_AFTER).unwrap_or_else(|| panic!("no Retry-After: {}", r.text));
    value.to_str().unwrap().parse().unwrap()
}

async fn a_hopeless_document_is_refused_naming_the_limit(app: TestApp) {
    // 400,000 one-letter headings (the tests' body limit is 2 MiB; the service takes 4 MB of
    // Markdown): far beyond the heading budget.
    let hopeless = preview_body("# a\n".repeat(400_000));
    let r = app.call(Method::POST, "/api/v1/preview", Some(&app.admin), Some(hopeless)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.code(), "unrenderable");
    assert!(r.text.contains("max_headings"), "{}", r.text);

    // Saving it as a draft keeps it, with the finding naming the limit.
    let (cycle, city) = crate::submissions::open_cycle(&app).await;
    let body = json!({ "report_markdown": "- x\n".repeat(200_000), "action_plan_markdown": full_plan() });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("too_much_content") && r.text.contains("max_blocks"), "{}", r.text);
}

async fn renderings_beyond_the_concurrency_get_503_with_retry_after(app: TestApp) {
    let mut state = app.state.clone();
    state.reporting.gate = Arc::new(RenderGate::new(RenderBudget { concurrency: 1, queue: Duration::ZERO }));
    let router = mmr::http::router(state.clone());
    let body = || Some(preview_body(full_report("")));

    // Another rendering holds the only slot: the preview is refused at once.
    let held = state.reporting.gate.admit().unwrap();
    let r = send_via(&router, request(Method::POST, "/api/v1/preview", Some(&app.admin), body())).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.code(), "render_busy");
    assert!(r.text.contains("MMR_RENDER_CONCURRENCY"), "{}", r.text);
    assert!(retry_after(&r) >= 1);
    drop(held);

    // Once it is free, the same preview is rendered.
    let r = send_via(&router, request(Method::POST, "/api/v1/preview", Some(&app.admin), body())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.bytes.starts_with(b"%PDF-"));
}

async fn a_tokens_previews_are_limited_with_429(app: TestApp) {
    let mut state = app.state.clone();
    state.reporting.previews = Arc::new(CallerLimit::new(CallerRate { per_minute: 1 }));
    let router = mmr::http::router(state);
    let preview = |token: String| {
        let router = router.clone();
        async move {
            let body = Some(preview_body(full_report("")));
            send_via(&router, request(Method::POST, "/api/v1/preview", Some(&token), body)).await
        }
    };
    let r = preview(app.admin.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = preview(app.admin.clone()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "rate_limited");
    assert!(r.text.contains("MMR_PREVIEW_RATE"), "{}", r.text);
    assert!((1..=60).contains(&retry_after(&r)));
    // Another token has its own allowance.
    let other = app.token(Role::Coordinator, Some("music"), None);
    assert_eq!(preview(other).await.status, StatusCode::OK);
}

crate::both_backends!(
    a_hopeless_document_is_refused_naming_the_limit,
    renderings_beyond_the_concurrency_get_503_with_retry_after,
    a_tokens_previews_are_limited_with_429,
);
