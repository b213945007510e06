//! `/metrics` as Prometheus reads it: the scrape is parsed by a real Prometheus text parser
//! (`prometheus_client.parser`, from PyPI), request counts carry route templates, never raw
//! paths, and the gauges read from the database say what the store holds.

use std::io::Write;
use std::process::{Command, Stdio};

use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::helpers::TestApp;

/// The scrape's samples as `[{"name", "labels", "value"}]`, by way of the Prometheus client
/// library's parser (which refuses text that does not follow the format), and the families'
/// types by name.
fn parse(text: &str) -> (Vec<Value>, Value) {
    let script = "import json, sys\n\
                  from prometheus_client.parser import text_string_to_metric_families\n\
                  samples, types = [], {}\n\
                  for family in text_string_to_metric_families(sys.stdin.read()):\n\
                  \x20   types[family.name] = family.type\n\
                  \x20   samples += [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in family.samples]\n\
                  print(json.dumps({'samples': samples, 'types': types}))\n";
    let mut child = Command::new(std::env::var("MMR_TEST_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the metrics test parses the scrape with prometheus_client: make test-deps)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the scrape (or `pip install prometheus-client` is needed): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    (parsed["samples"].as_array().unwrap().clone(), parsed["types"].clone())
}

fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

async fn a_scrape_parses_and_names_routes_by_template(app: TestApp) {
    let archived = crate::archive::archived(&app).await;
    for path in ["/api/v1/cities/ostersund", "/api/v1/cities/parma", "/api/v1/no/such/route"] {
        app.get(path, None).await;
    }
    assert_eq!(app.get(&format!("/api/v1/archive/{archived}/pdf"), None).await.status, StatusCode::OK);
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/plain; version=0.0.4; charset=utf-8");
    let (samples, types) = parse(&r.text);

    assert_eq!(types["mmr_http_requests"], "counter");
    assert_eq!(types["mmr_http_request_duration_seconds"], "histogram");
    assert_eq!(types["mmr_render_seconds"], "histogram");
    let by_template = [("route", "/api/v1/cities/{slug}"), ("method", "GET"), ("status", "200")];
    assert!(value(&samples, "mmr_http_requests_total", &by_template).is_some_and(|n| n >= 1.0), "{}", r.text);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert!(value(&samples, "mmr_http_requests_total", &unmatched).is_some(), "an unknown address is `unmatched`");
    for s in &samples {
        let route = s["labels"]["route"].as_str().unwrap_or("");
        assert!(!route.contains("ostersund") && !route.contains("no/such"), "a raw path as a label: {s}");
    }
    assert!(value(&samples, "mmr_downloads_total", &[("kind", "pdf")]).is_some_and(|n| n >= 1.0));
    assert!(value(&samples, "mmr_render_pages_total", &[]).is_some_and(|n| n >= 1.0), "the acceptance rendered");

    // The gauges read this store at the scrape.
    assert_eq!(value(&samples, "mmr_database_up", &[]), Some(1.0));
    assert_eq!(value(&samples, "mmr_archive_entries", &[]), Some(1.0));
    let record = app.get(&format!("/api/v1/archive/{archived}"), None).await.body;
    let bytes = record["pdf"]["bytes"].as_f64().unwrap() + record["source_bundle"]["bytes"].as_f64().unwrap_or(0.0);
    assert_eq!(value(&samples, "mmr_archive_bytes", &[]), Some(bytes), "{record}");
    assert_eq!(value(&samples, "mmr_archive_damaged_entries", &[]), Some(0.0));
    assert!(value(&samples, "mmr_cycles_overdue", &[]).is_some());
    assert!(value(&samples, "mmr_db_connections_max", &[]).is_some_and(|n| n >= 1.0));
    assert!(value(&samples, "mmr_db_connections", &[("state", "in_use")]).is_some());
}

crate::both_backends!(a_scrape_parses_and_names_routes_by_template);
