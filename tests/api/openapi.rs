//! The OpenAPI document against the live router and against tools nobody here wrote: it is a
//! valid OpenAPI 3.1 document (`openapi-spec-validator`, PyPI), every operation it lists is served
//! and every other method on its paths is refused with 405, and Schemathesis (PyPI) finds no
//! server error, no response that departs from it (status, content type, body schema, headers),
//! none slower than 2 s and no request that breaks it accepted, for each role's token and for the
//! public, on both stores.

use std::process::Command;

use axum::http::{Method, StatusCode};
use mmr::domain::auth::Role;
use serde_json::Value;

use mmr::workflow::{self, Actor};

use crate::helpers::{TestApp, now};

fn python() -> String {
    std::env::var("MMR_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The document as served.
async fn served(app: &TestApp) -> Value {
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    r.body
}

/// A value for a path parameter that names something the demo data holds.
fn sample(param: &str, path: &str) -> &'static str {
    match param {
        "slug" if path.starts_with("/api/v1/fields/") => "gastronomy",
        "slug" => "chengdu",
        "name" => "figure.png",
        _ => "1",
    }
}

async fn the_document_is_valid_and_is_the_router(app: TestApp) {
    app.seed_demo();
    let document = served(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&document).unwrap()).unwrap();
    let out = Command::new(python())
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 (`pip install openapi-spec-validator`: make test-deps)");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document (or is not installed: make test-deps): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 45, "{} paths", paths.len());
    let mut operations = 0;
    for (template, item) in paths {
        let path = template
            .split('/')
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => sample(param, template),
                None => segment,
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let documented = item.get(method.as_str().to_ascii_lowercase()).is_some();
            // Anonymous and without a body: what matters is which handler answers, not what it
            // makes of the request (a token could be revoked on the way by `DELETE /tokens/1`).
            let r = app.call(method.clone(), &path, None, None).await;
            let fallback = r.status == StatusCode::NOT_FOUND && r.body["error"]["message"] == "no such route";
            if documented {
                operations += 1;
                assert!(
                    !fallback && r.status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is documented but not served: {}",
                    r.status
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not documented"
                );
            }
        }
    }
    assert!(operations >= 55, "{operations} operations");
}

/// `/api/docs`, in both languages: every operation of the document has its entry, and every link
/// within the page lands on an anchor it has.
async fn the_reference_page_is_the_document(app: TestApp) {
    let document = served(&app).await;
    let operations: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| {
            item.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        })
        .collect();
    for (lang, heading) in [("en", "API reference"), ("fr", "Référence de l’API")] {
        let r = app.get(&format!("/api/docs?lang={lang}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{lang}");
        assert!(r.text.contains(&format!("<h1>{heading}</h1>")), "{lang}");
        for id in &operations {
            assert!(r.text.contains(&format!("id=\"op-{id}\"")), "{lang}: no entry for {id}");
        }
        for link in r.text.split("href=\"#").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]) {
            assert!(r.text.contains(&format!("id=\"{link}\"")), "{lang}: #{link} leads nowhere");
        }
    }
}

/// Runs Schemathesis against `base` with `token` (none: the public) for `seconds`; its report on
/// failure.
fn schemathesis(base: &str, token: Option<&str>, exclude: &[&str], seconds: u64) -> Result<(), String> {
    let mut command = Command::new(python());
    command
        .args([
            "-c",
            "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'st'; sys.exit(schemathesis())",
        ])
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance"])
        .args(["--checks", "response_schema_conformance,response_headers_conformance,negative_data_rejection"])
        .args(["--max-response-time", "2", "--phases", "examples,coverage,fuzzing"])
        // One worker: CPython 3.11's parser is not safe to run from two threads at once, and
        // Hypothesis parses its filters' source (seen: "AST constructor recursion depth mismatch").
        .args(["--max-time", &seconds.to_string(), "--workers", "1", "--no-color", "--output-truncate", "true"])
        .args(["--generation-database", "none", "--seed", "20261207"]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    for operation in exclude {
        command.args(["--exclude-operation-id", operation]);
    }
    // Schemathesis keeps a cache in its working directory: not in the repository.
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    command.current_dir(scratch.path());
    let out = command.output().map_err(|e| format!("python3 with schemathesis (make test-deps): {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let report = String::from_utf8_lossy(&out.stdout);
    let failures = report.find("FAILURES").map_or(report.len().saturating_sub(6000), |at| at);
    Err(format!("{}{}", &report[failures..], String::from_utf8_lossy(&out.stderr)))
}

async fn schemathesis_finds_nothing(mut app: TestApp) {
    app.seed_demo();
    let s = &app.state;
    let demo =
        workflow::demo::load(&app.db, s.store.as_ref(), &s.reporting, &s.rules, &Actor::cli(), true, now()).unwrap();
    assert!(!demo.loaded.is_empty(), "the demo reports load");
    let base = crate::helpers::serve_tcp(&mut app).await;
    // Chengdu has a cycle with accepted versions, comments and an archived report.
    let city = app.token(Role::City, None, Some("chengdu"));
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let seconds = std::env::var("MMR_SCHEMATHESIS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut failed = Vec::new();
    // The Secretariat may revoke any token, its own included, which would end its run early.
    let runs: [(&str, Option<&str>, &[&str]); 4] = [
        ("the public", None, &[]),
        ("a city", Some(&city), &[]),
        ("a coordinator", Some(&coordinator), &[]),
        ("the Secretariat", Some(&app.admin), &["revoke"]),
    ];
    for (who, token, exclude) in runs {
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking({
            let (base, token, exclude) =
                (base.clone(), token.map(str::to_owned), exclude.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            move || {
                let exclude: Vec<&str> = exclude.iter().map(String::as_str).collect();
                schemathesis(&base, token.as_deref(), &exclude, seconds)
            }
        })
        .await
        .unwrap();
        eprintln!("schemathesis as {who}: {:?} in {:.0?}", outcome.is_ok(), started.elapsed());
        if let Err(report) = outcome {
            failed.push(format!("as {who}:\n{report}"));
        }
    }
    assert!(failed.is_empty(), "Schemathesis found departures from the document:\n{}", failed.join("\n"));
    // The server is still whole after it all.
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK);
}

crate::both_backends!(
    the_document_is_valid_and_is_the_router,
    the_reference_page_is_the_document,
    schemathesis_finds_nothing
);
