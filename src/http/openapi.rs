//! The API's OpenAPI 3.1 document, served at `GET /api/v1/openapi.json` and read by the
//! reference page (`/api/docs`, in `crate::web`).
//!
//! It cannot drift from the code: every route is registered with `utoipa_axum::routes!`, which
//! takes the path and method from the handler's `#[utoipa::path]` annotation, so the router and the
//! document are built from the same list ([`super::routes`]); a unit test refuses a `.route(` in
//! this module's tree, and the API tests ask every documented operation of the live router.
//!
//! The handlers' annotations say what is particular to each operation: its parameters, body,
//! successful responses, security and the statuses only it answers (409). [`document`] adds the
//! failures that follow from the shape of an operation, as the shared layers and extractors answer
//! them, each with the error body ([`ErrorBody`]):
//! - every operation: 401 (a malformed, unknown or revoked token is refused even on public
//!   routes), 429 (the rate limit on callers without a valid token), 500 and 503;
//! - one that needs a token: 403;
//! - one with parameters: 400 (a parameter that does not parse, an unknown query parameter) and
//!   422 (a value out of range, a control character);
//! - one with a path parameter: 404;
//! - one with a body: 400, 413 (the route's body limit), 415 and 422.

use std::sync::LazyLock;

use utoipa::openapi::info::LicenseBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, RefOr, ServerBuilder};
use utoipa::{PartialSchema, ToSchema};

use super::error::FindingView;

/// Every failure's body.
#[derive(ToSchema)]
#[allow(dead_code, reason = "the schema of what `ApiError` writes as JSON")]
pub struct ErrorBody {
    error: ErrorObject,
}

#[derive(ToSchema)]
#[allow(dead_code, reason = "the schema of what `ApiError` writes as JSON")]
struct ErrorObject {
    /// A stable code: `bad_request`, `malformed_json`, `unauthenticated`, `forbidden`,
    /// `not_found`, `no_source_bundle`, `method_not_allowed`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `invalid`, `check_failed`, `unrenderable`, `rate_limited`,
    /// `internal`, `archive_damaged`, `unavailable`, `render_busy`.
    #[schema(example = "invalid")]
    code: String,
    /// What is wrong, for a person.
    #[schema(example = "per_page: must be between 1 and 200")]
    message: String,
    /// The input at fault (a parameter or a JSON member, `attachments[0].name`), with `invalid`.
    #[schema(example = "per_page")]
    field: Option<String>,
    /// Each bad line or value, when there are several (`invalid`, e.g. a CSV import).
    problems: Option<Vec<String>>,
    /// The template check's findings (`check_failed`).
    findings: Option<Vec<FindingView>>,
}

/// The security scheme's name in the document.
pub const BEARER: &str = "bearer";

/// The whole document: the routes' operations and the failures that follow from their shape.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: LazyLock<OpenApi> = LazyLock::new(|| {
        let mut api = super::routes(super::SMALL_BODY_BYTES, true).into_openapi();
        describe(&mut api);
        api
    });
    &DOCUMENT
}

/// [`document`] as JSON, as served.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> =
        LazyLock::new(|| document().to_pretty_json().expect("the OpenAPI document serialises"));
    &JSON
}

fn describe(api: &mut OpenApi) {
    api.info = InfoBuilder::new()
        .title("UCCN Membership Monitoring Reports API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(include_str!("openapi_intro.md")))
        .license(Some(LicenseBuilder::new().name("Apache-2.0").identifier(Some("Apache-2.0")).build()))
        .build();
    api.servers = Some(vec![ServerBuilder::new().url("/").description(Some("this server")).build()]);
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token (`mmr_…`) issued by the Secretariat (`mmr token create`, `POST /api/v1/tokens`).",
                ))
                .build(),
        ),
    );
    components.schemas.insert("ErrorBody".to_owned(), ErrorBody::schema());
    let mut schemas = Vec::new();
    ErrorBody::schemas(&mut schemas);
    components.schemas.extend(schemas);
    for (name, description) in TAGS {
        api.tags
            .get_or_insert_with(Vec::new)
            .push(TagBuilder::new().name(*name).description(Some(*description)).build());
    }
    name_operations(api);
    for item in api.paths.paths.values_mut() {
        for operation in operations(item) {
            add_failures(operation);
        }
    }
}

/// Gives each operation a unique id: the handler's name, prefixed with its path's last fixed
/// segment where several modules name their handlers alike (`cities_list`, `tokens_list`).
fn name_operations(api: &mut OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in api.paths.paths.values_mut() {
        for operation in operations(item) {
            *seen.entry(operation.operation_id.clone().unwrap_or_default()).or_default() += 1;
        }
    }
    for (path, item) in api.paths.paths.iter_mut() {
        let resource = path.split('/').rfind(|s| !s.is_empty() && !s.starts_with('{')).unwrap_or("root");
        let resource = resource.replace(['-', '.'], "_");
        for operation in operations(item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            if seen.get(&id).copied().unwrap_or(0) > 1 {
                operation.operation_id = Some(format!("{resource}_{id}"));
            }
        }
    }
}

/// The tags, in the reference's order.
const TAGS: &[(&str, &str)] = &[
    ("registry", "The creative fields, the member cities and their contacts."),
    ("cycles", "Each city's four-year reporting cycles, deadlines, the board and the dashboard."),
    ("reminders", "Reminders sent and planned, holds, and where coordinators are reached."),
    ("reports", "Drafts, submitted versions, previews, comments and decisions."),
    ("archive", "The archive of accepted reports: search, records, PDFs, source bundles, exports."),
    ("history", "Rounds from before the system: importing past reports."),
    ("administration", "Tokens and the audit log."),
    ("harvesting", "OAI-PMH, the Atom feed and this document."),
    ("operations", "Health, readiness and metrics."),
];

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head]
        .into_iter()
        .filter_map(Option::as_mut)
}

fn add_failures(operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path = parameters.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let has_parameters = !parameters.is_empty();
    let has_body = operation.request_body.is_some();
    // Public operations list an empty requirement beside the bearer one.
    let needs_token = operation.security.as_ref().is_some_and(|s| {
        !s.is_empty()
            && !s.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty())))
    });
    let mut add = |status: &str, description: &str| {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error(description)));
    };
    if has_parameters || has_body {
        add("400", "The request is malformed: a parameter that does not parse, an unknown query parameter, bad JSON.");
    }
    add("401", "A bearer token is needed, or the one given is malformed, unknown or revoked.");
    if needs_token {
        add("403", "This token's role does not allow it.");
    }
    if has_path {
        add("404", "No such resource.");
    }
    if has_body {
        add("413", "The body exceeds this route's limit.");
        add("415", "The body's content type is not one this route takes.");
    }
    if has_parameters || has_body {
        add("422", "A value is not acceptable; `field` names it.");
    }
    add("429", "Too many requests without a valid token from this address; see Retry-After.");
    add("500", "Something failed on our side; it has been logged.");
    add("503", "The database or the archive store is unavailable, or too many renderings are queued; see Retry-After.");
}

/// A failure response with the error body.
fn error(description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody")))).build(),
    );
    if description.contains("Retry-After") {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new().schema(Some(u64::schema())).description(Some("Seconds to wait.")).build(),
        );
    }
    response.build()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::document;

    /// Every route is registered with `routes!`, from its handler's annotation: a route added with
    /// axum's `.route(` would be served without being documented.
    #[test]
    fn no_route_is_registered_around_the_document() {
        // Spelt out here so this test's own source does not hold them.
        let calls: Vec<String> = ["route", "route_service", "nest_service"].iter().map(|c| format!(".{c}(")).collect();
        fn walk(dir: &Path, calls: &[String], found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, calls, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in source.lines().enumerate() {
                        let code = line.trim_start();
                        if !code.starts_with("//") && calls.iter().any(|call| code.contains(call.as_str())) {
                            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http"), &calls, &mut found);
        assert!(found.is_empty(), "register routes with `routes!` so they are documented:\n{}", found.join("\n"));
    }

    #[test]
    fn every_operation_is_named_once_says_who_may_call_it_and_how_it_fails() {
        let api = document();
        let mut ids = std::collections::HashSet::new();
        for (path, item) in &api.paths.paths {
            let json = serde_json::to_value(item).unwrap();
            for (method, operation) in json.as_object().unwrap() {
                let at = format!("{method} {path}");
                let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
                assert!(ids.insert(id.clone()), "{at}: operation id `{id}` is taken");
                assert!(operation["security"].as_array().is_some_and(|s| !s.is_empty()), "{at}: no security");
                assert!(operation["tags"].as_array().is_some_and(|t| t.len() == 1), "{at}: one tag");
                assert!(!operation["summary"].as_str().unwrap_or_default().is_empty(), "{at}: no summary");
                let responses = operation["responses"].as_object().unwrap();
                assert!(responses.keys().any(|s| s.starts_with('2')), "{at}: no success");
                for status in ["401", "429", "500", "503"] {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{at}: {status}"
                    );
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{at}: a path parameter can name nothing");
                }
                if operation.get("requestBody").is_some() {
                    assert!(responses.contains_key("413") && responses.contains_key("415"), "{at}");
                }
            }
        }
        let tags: Vec<_> = api.tags.iter().flatten().map(|t| t.name.as_str()).collect();
        for (path, item) in &api.paths.paths {
            let json = serde_json::to_value(item).unwrap();
            for operation in json.as_object().unwrap().values() {
                let tag = operation["tags"][0].as_str().unwrap();
                assert!(tags.contains(&tag), "{path}: tag `{tag}` is not described");
            }
        }
    }
}
