//! The readable API reference, `/api/v1/docs`: the OpenAPI document rendered as one
//! server-side page (no script, the site's own styles) — operations by tag with their
//! parameters, bodies and responses, then every schema. Public, like the document.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

use crate::error::AppResult;
use crate::web::respond::html;
use crate::web::PageCtx;

/// A type as shown: its words, and the schema it links to when it is one.
pub struct TypeRef {
    pub label: String,
    pub schema: Option<String>,
}

pub struct Field {
    pub name: String,
    pub location: String,
    pub ty: TypeRef,
    pub required: bool,
    pub description: String,
}

pub struct Response {
    pub status: String,
    pub description: String,
    pub ty: Option<TypeRef>,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub needs_token: bool,
    pub params: Vec<Field>,
    pub body: Option<(String, TypeRef)>,
    pub responses: Vec<Response>,
}

pub struct Tag {
    pub name: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub kind: String,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "api/reference.html")]
struct ReferencePage {
    ctx: PageCtx,
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

mod filters {
    /// The descriptions' `code` spans as `<code>`, everything else HTML-escaped: the only
    /// markup the annotations use.
    #[askama::filter_fn]
    pub fn code_spans(s: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        let mut out = String::new();
        for (i, part) in s.to_string().split('`').enumerate() {
            let escaped = crate::web::respond::html_escape(part);
            if i % 2 == 1 {
                out.push_str(&format!("<code>{escaped}</code>"));
            } else {
                out.push_str(&escaped);
            }
        }
        Ok(out)
    }
}

pub async fn page(session: Session) -> AppResult<HttpResponse> {
    let doc: Value = serde_json::from_str(super::openapi::json()).unwrap_or_default();
    let page = ReferencePage {
        ctx: PageCtx::new(&session, None, "API reference", ""),
        title: text(&doc["info"]["title"]),
        version: text(&doc["info"]["version"]),
        description: text(&doc["info"]["description"]),
        tags: tags(&doc),
        schemas: schemas(&doc),
    };
    html(StatusCode::OK, page.render())
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn tags(doc: &Value) -> Vec<Tag> {
    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Tag {
            name: text(&t["name"]),
            description: text(&t["description"]),
            operations: Vec::new(),
        })
        .collect();
    let methods = ["get", "post", "put", "patch", "delete"];
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in methods {
            let op = &item[method];
            if !op.is_object() {
                continue;
            }
            let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
            let operation = operation(path, method, op);
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(t) => t.operations.push(operation),
                None => tags.push(Tag {
                    name: tag,
                    description: String::new(),
                    operations: vec![operation],
                }),
            }
        }
    }
    tags
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let params = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Field {
            name: text(&p["name"]),
            location: text(&p["in"]),
            ty: type_ref(&p["schema"]),
            required: p["required"].as_bool().unwrap_or(false),
            description: text(&p["description"]),
        })
        .collect();
    let body = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.iter().next())
        .map(|(content_type, c)| (content_type.clone(), type_ref(&c["schema"])));
    let responses = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, r)| {
            let shared = r["$ref"]
                .as_str()
                .map(|name| name.rsplit('/').next().unwrap_or(name));
            Response {
                status: status.clone(),
                description: match shared {
                    Some(name) => problem_description(name),
                    None => text(&r["description"]),
                },
                ty: if shared.is_some() {
                    Some(TypeRef {
                        label: "Problem".into(),
                        schema: Some("Problem".into()),
                    })
                } else {
                    r["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .filter(|c| c["schema"].is_object())
                        .map(|c| type_ref(&c["schema"]))
                },
            }
        })
        .collect();
    let description = text(&op["description"]);
    Operation {
        anchor: format!("op-{}", text(&op["operationId"])),
        method: method.to_uppercase(),
        path: path.to_string(),
        summary: text(&op["summary"]),
        description,
        needs_token: op["security"].is_array(),
        params,
        body,
        responses,
    }
}

fn problem_description(name: &str) -> String {
    super::openapi::PROBLEMS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(_, _, d)| d.to_string())
        .unwrap_or_default()
}

fn schemas(doc: &Value) -> Vec<Schema> {
    doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let required: Vec<&str> = s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let fields = s["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, f)| Field {
                    name: field.clone(),
                    location: String::new(),
                    ty: type_ref(f),
                    required: required.contains(&field.as_str()),
                    description: text(&f["description"]),
                })
                .collect();
            Schema {
                name: name.clone(),
                description: text(&s["description"]),
                kind: if s["properties"].is_object() {
                    "object".into()
                } else {
                    type_ref(s).label
                },
                fields,
            }
        })
        .collect()
}

/// "string (date)", "array of Task", "integer or null", "one of: a, b" …
fn type_ref(s: &Value) -> TypeRef {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        return TypeRef {
            label: name.clone(),
            schema: Some(name),
        };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = s[key].as_array() {
            let parts: Vec<TypeRef> = options.iter().map(type_ref).collect();
            let schema = parts.iter().find_map(|p| p.schema.clone());
            let label = parts
                .into_iter()
                .map(|p| p.label)
                .collect::<Vec<_>>()
                .join(" or ");
            return TypeRef { label, schema };
        }
    }
    if let Some(values) = s["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return TypeRef {
            label: format!("one of: {}", values.join(", ")),
            schema: None,
        };
    }
    let base = |t: &str| -> TypeRef {
        if t == "array" {
            let item = type_ref(&s["items"]);
            return TypeRef {
                label: format!("array of {}", item.label),
                schema: item.schema,
            };
        }
        let format = match s["format"].as_str() {
            Some(f) if t != "null" => format!(" ({f})"),
            _ => String::new(),
        };
        TypeRef {
            label: format!("{t}{format}"),
            schema: None,
        }
    };
    match &s["type"] {
        Value::String(t) => base(t),
        Value::Array(ts) => {
            let parts: Vec<TypeRef> = ts.iter().filter_map(Value::as_str).map(base).collect();
            let schema = parts.iter().find_map(|p| p.schema.clone());
            TypeRef {
                label: parts
                    .into_iter()
                    .map(|p| p.label)
                    .collect::<Vec<_>>()
                    .join(" or "),
                schema,
            }
        }
        _ => TypeRef {
            label: "any".into(),
            schema: None,
        },
    }
}
