//! `/api/docs`: the API's reference, read from its OpenAPI document
//! ([`crate::http::openapi::document`]) and rendered here as an ordinary page, so it needs no
//! script, no network and no assets beyond the site's own, and reads in English and French (the
//! page's words; the operations' descriptions are the code's, in English). Operations are
//! grouped by tag in the document's order, each with its parameters, body and responses; the
//! schemas follow, each property with its type linked to the schema it names.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::page::{Chrome, Ctx, html};

/// A type as the page names it, linked to the schema it refers to, if any.
struct Ty {
    text: String,
    link: Option<String>,
}

struct Param {
    name: String,
    place: String,
    required: bool,
    ty: Ty,
    description: String,
}

struct Media {
    content_type: String,
    ty: Option<Ty>,
}

struct Reply {
    status: String,
    description: String,
    media: Vec<Media>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    public: bool,
    params: Vec<Param>,
    body: Vec<Media>,
    replies: Vec<Reply>,
}

struct Section {
    anchor: String,
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Property {
    name: String,
    required: bool,
    ty: Ty,
    description: String,
}

struct SchemaDoc {
    anchor: String,
    name: String,
    ty: Ty,
    description: String,
    properties: Vec<Property>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ReferencePage {
    c: Chrome,
    title: String,
    version: String,
    intro: Vec<String>,
    sections: Vec<Section>,
    schemas: Vec<SchemaDoc>,
}

pub async fn reference(ctx: Ctx) -> Response {
    let document = reference_document();
    let page = ReferencePage {
        c: ctx.chrome(ctx.tr.t("api.title"), "about"),
        title: text(&document["info"]["title"]),
        version: text(&document["info"]["version"]),
        intro: text(&document["info"]["description"]).split("\n\n").map(prose).collect(),
        sections: sections(document),
        schemas: schemas(document),
    };
    html(&ctx, StatusCode::OK, &page)
}

/// The document as JSON, read once.
fn reference_document() -> &'static Value {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        serde_json::from_str(crate::http::openapi::json()).expect("the OpenAPI document is JSON")
    });
    &DOCUMENT
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A description as HTML: escaped, with its Markdown code spans and strong emphasis (the only
/// Markdown the document's descriptions use) as `<code>` and `<strong>`, and line breaks as
/// spaces.
fn prose(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() + 32);
    let (mut code, mut strong) = (false, false);
    let mut chars = markdown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                html.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            '*' if !code && chars.peek() == Some(&'*') => {
                chars.next();
                html.push_str(if strong { "</strong>" } else { "<strong>" });
                strong = !strong;
            }
            '\n' => html.push(' '),
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            other => html.push(other),
        }
    }
    // An unpaired mark closes at the end rather than spilling into the page.
    if code {
        html.push_str("</code>");
    }
    if strong {
        html.push_str("</strong>");
    }
    html
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn sections(document: &Value) -> Vec<Section> {
    let empty = Map::new();
    let paths = document["paths"].as_object().unwrap_or(&empty);
    let tags = document["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
    tags.iter()
        .map(|tag| {
            let name = text(&tag["name"]);
            let operations = paths
                .iter()
                .flat_map(|(path, item)| METHODS.iter().filter_map(move |m| item.get(*m).map(|op| (path, *m, op))))
                .filter(|(_, _, op)| op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == &tag["name"])))
                .map(|(path, method, op)| operation(path, method, op))
                .collect();
            Section { anchor: format!("tag-{name}"), name, description: prose(&text(&tag["description"])), operations }
        })
        .collect()
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let summary = text(&op["summary"]);
    let description = text(&op["description"]);
    let params = op["parameters"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|p| Param {
                    name: text(&p["name"]),
                    place: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    ty: ty(&p["schema"]),
                    description: prose(&text(&p["description"])),
                })
                .collect()
        })
        .unwrap_or_default();
    let replies = op["responses"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(status, r)| Reply {
                    status: status.clone(),
                    description: prose(&text(&r["description"])),
                    media: media(&r["content"]),
                })
                .collect()
        })
        .unwrap_or_default();
    // A public operation lists the empty requirement beside the bearer one.
    let public = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(Map::is_empty)));
    Operation {
        anchor: text(&op["operationId"]),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        summary: prose(&summary),
        description: prose(&description),
        public,
        params,
        body: media(&op["requestBody"]["content"]),
        replies,
    }
}

fn media(content: &Value) -> Vec<Media> {
    content
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(content_type, m)| Media { content_type: content_type.clone(), ty: m.get("schema").map(ty) })
                .collect()
        })
        .unwrap_or_default()
}

/// The schema's name without the path of its reference.
fn referenced(schema: &Value) -> Option<&str> {
    schema["$ref"].as_str().and_then(|r| r.rsplit('/').next())
}

/// A schema as a short type: `string (date)`, `array of CityView`, `map of integer`, `one of A, B`.
fn ty(schema: &Value) -> Ty {
    if let Some(name) = referenced(schema) {
        return Ty { text: name.to_owned(), link: Some(format!("schema-{name}")) };
    }
    for (key, word) in [("oneOf", "one of"), ("anyOf", "any of"), ("allOf", "all of")] {
        if let Some(parts) = schema[key].as_array() {
            let parts: Vec<Ty> = parts.iter().map(ty).collect();
            let link = parts.iter().find_map(|p| p.link.clone());
            let names: Vec<String> = parts.into_iter().map(|p| p.text).collect();
            let text = if names.len() == 1 { names.concat() } else { format!("{word} {}", names.join(", ")) };
            return Ty { text, link };
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable = types.contains(&"null");
    let base = types.iter().find(|t| **t != "null").copied().unwrap_or(if types.is_empty() { "any" } else { "null" });
    let inner = match base {
        "array" => {
            let item = ty(&schema["items"]);
            Ty { text: format!("array of {}", item.text), link: item.link }
        }
        "object" if schema.get("additionalProperties").is_some_and(Value::is_object) => {
            let value = ty(&schema["additionalProperties"]);
            Ty { text: format!("map of {}", value.text), link: value.link }
        }
        other => {
            let detail = schema["format"].as_str().or(schema["contentMediaType"].as_str());
            let text = match detail {
                Some(detail) => format!("{other} ({detail})"),
                None => other.to_owned(),
            };
            Ty { text, link: None }
        }
    };
    if nullable { Ty { text: format!("{} or null", inner.text), ..inner } } else { inner }
}

fn schemas(document: &Value) -> Vec<SchemaDoc> {
    let empty = Map::new();
    let all = document["components"]["schemas"].as_object().unwrap_or(&empty);
    all.iter()
        .map(|(name, schema)| {
            let mut properties: Vec<Property> = Vec::new();
            // A flattened view is `allOf` a referenced schema and its own properties.
            let own = std::iter::once(schema).chain(schema["allOf"].as_array().into_iter().flatten());
            for part in own {
                let required: Vec<&str> = part["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (property, value) in part["properties"].as_object().into_iter().flatten() {
                    properties.push(Property {
                        name: property.clone(),
                        required: required.contains(&property.as_str()),
                        ty: ty(value),
                        description: prose(&text(&value["description"])),
                    });
                }
            }
            SchemaDoc {
                anchor: format!("schema-{name}"),
                name: name.clone(),
                ty: ty(schema),
                description: prose(&text(&schema["description"])),
                properties,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{prose, ty};

    #[test]
    fn descriptions_keep_their_code_and_emphasis_and_nothing_else() {
        assert_eq!(prose("**Text.** No `<b>` &\nso"), "<strong>Text.</strong> No <code>&lt;b&gt;</code> &amp; so");
        assert_eq!(prose("a `b"), "a <code>b</code>");
        assert_eq!(prose("2 * 3 = \"6\""), "2 * 3 = &quot;6&quot;");
    }

    #[test]
    fn types_read_as_a_person_names_them() {
        assert_eq!(ty(&json!({"type": "string", "format": "date"})).text, "string (date)");
        assert_eq!(ty(&json!({"type": ["string", "null"]})).text, "string or null");
        let list = ty(&json!({"type": "array", "items": {"$ref": "#/components/schemas/CityView"}}));
        assert_eq!((list.text.as_str(), list.link.as_deref()), ("array of CityView", Some("schema-CityView")));
        let map = ty(&json!({"type": "object", "additionalProperties": {"type": "integer"}}));
        assert_eq!(map.text, "map of integer");
        let either = ty(&json!({"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}));
        assert_eq!(either.text, "one of A, B");
        assert_eq!(ty(&json!({})).text, "any");
    }
}
