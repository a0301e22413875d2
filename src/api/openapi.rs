//! The OpenAPI 3.1 document of the REST API, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they take and return: the REST API specification the
//! architecture document promises. Served at `/api/v1/openapi.json` and read by the
//! reference page (`/api/v1/docs`) and by schemathesis in CI.
//!
//! The conventions every operation shares are added here once, by [`Conventions`], instead
//! of in each annotation: authentication (all but login and refresh: a JWT access token,
//! `bearer`, and on every operation that takes one a long-lived API token, `api_token`, as
//! `route_scopes` says) and the problem responses the shared extractors and the
//! authorization module can give.

use std::sync::OnceLock;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::route_scopes::{self, Need};
use super::{
    audit, auth, billing, grants, inventory, notifications, people, roles, tasks, templates,
    tokens, workflows,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PortalOps API",
        version = "1",
        description = "The second door onto PortalOps: the same commands, queries, \
            authorization and audit log as the pages. Log in at `/api/v1/auth/login` for a \
            15-minute access token and a refresh token; send `Authorization: Bearer <access \
            token>`. Scripts can use a long-lived API token instead (`po_…`, made at \
            `/api/v1/tokens` or on the My account → API tokens page) with scopes that only \
            narrow the owner's rights. Errors are RFC 9457 problem documents. See docs/api.md \
            for examples."
    ),
    paths(
        auth::login,
        auth::refresh,
        auth::logout,
        auth::me,
        tokens::list,
        tokens::create,
        tokens::revoke,
        inventory::list_services,
        inventory::service,
        inventory::product,
        people::list,
        people::show,
        roles::set_role,
        roles::add_service_admin,
        roles::remove_service_admin,
        roles::add_product_admin,
        roles::remove_product_admin,
        grants::create,
        grants::show,
        grants::revoke,
        grants::bulk_create,
        grants::bulk_revoke,
        grants::person_create,
        audit::person_history,
        audit::product_history,
        workflows::list,
        workflows::show,
        workflows::onboard,
        workflows::offboard,
        workflows::cancel,
        templates::list,
        templates::show,
        templates::create,
        templates::update,
        templates::delete,
        tasks::mine,
        tasks::show,
        tasks::complete,
        tasks::not_needed,
        billing::list,
        billing::show,
        billing::create,
        billing::update,
        billing::attach,
        billing::download,
        notifications::list,
        notifications::read_all,
        notifications::read_one,
        audit::list,
    ),
    components(schemas(super::problem::Body, super::audit::HistoryKind)),
    modifiers(&Conventions),
    tags(
        (name = "auth", description = "Tokens: log in, refresh, log out, who am I, API tokens for scripts."),
        (name = "inventory", description = "Services and their products."),
        (name = "directory", description = "People and their access (grants)."),
        (name = "roles", description = "Roles and who administers which service or product (Admins)."),
        (name = "workflows", description = "Onboarding and offboarding, and their tasks."),
        (name = "billing", description = "Billing records (the payment register) and their attachments."),
        (name = "notifications", description = "The caller's in-app notifications."),
        (name = "audit", description = "The audit log, read-only."),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// The methods the document gives for `path` (under `/api/v1`), for `Allow`.
pub fn methods(path: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(json()).unwrap_or_default();
    let item = &doc["paths"][format!("/api/v1{path}")];
    let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
        .into_iter()
        .filter(|m| item.get(m).is_some())
        .map(str::to_uppercase)
        .collect();
    if methods.is_empty() {
        // The document's own address and the reference page, which it does not list.
        return "GET".into();
    }
    methods.join(", ")
}

/// Changes that name no object (so cannot answer 404).
const NO_OBJECT: &[&str] = &["logout", "mark_all_notifications_read", "create_token"];

/// Operations that need no access token.
const PUBLIC: &[&str] = &["login", "refresh"];

/// The problem responses, by status: (status, component name, description).
pub(crate) const PROBLEMS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The body or a query parameter could not be read.",
    ),
    (
        "401",
        "Unauthorized",
        "No valid access token (or wrong credentials at login).",
    ),
    ("403", "Forbidden", "The caller's role does not allow this."),
    (
        "404",
        "NotFound",
        "No such object, or it is outside the caller's scope.",
    ),
    (
        "409",
        "Conflict",
        "Refused by a business rule (the detail says which).",
    ),
    (
        "422",
        "Invalid",
        "Invalid fields: `errors` maps each to a message.",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many attempts: wait for `Retry-After` seconds.",
    ),
];

struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token from /api/v1/auth/login."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("po_…")
                    .description(Some(
                        "A long-lived API token (`po_…`) made at /api/v1/tokens: its scopes \
                         narrow the owner's rights (403 naming the missing scope).",
                    ))
                    .build(),
            ),
        );
        for (_, name, description) in PROBLEMS {
            components.responses.insert(
                (*name).into(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                ),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            let writes = [
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ];
            for (method, op) in writes {
                if let Some(op) = op {
                    add_problems(op, has_id, true, route_scopes::need(method, path).flatten());
                }
            }
            if let Some(op) = item.get.as_mut() {
                add_problems(op, has_id, false, route_scopes::need("GET", path).flatten());
            }
        }
    }
}

fn add_problems(op: &mut Operation, has_id: bool, writes: bool, need: Option<Need>) {
    let public = op
        .operation_id
        .as_deref()
        .is_some_and(|id| PUBLIC.contains(&id));
    if !public {
        // Either scheme (the list's entries are alternatives); an operation the table does
        // not classify refuses API tokens, so it lists the JWT only.
        let mut schemes = vec![SecurityRequirement::new("bearer", Vec::<String>::new())];
        if !matches!(need, None | Some(Need::LoginOnly)) {
            schemes.push(SecurityRequirement::new("api_token", Vec::<String>::new()));
        }
        op.security = Some(schemes);
    }
    let id = op.operation_id.as_deref().unwrap_or_default();
    let login = id == "login";
    for (status, name, _) in PROBLEMS {
        let applies = match *status {
            "400" | "422" => true,
            "401" => true,
            "403" => !public,
            // An id in the path, or one in the body naming something to act on.
            "404" => has_id || (writes && !public && !NO_OBJECT.contains(&id)),
            "409" => writes && !public,
            "429" => login,
            _ => false,
        };
        if applies {
            op.responses
                .responses
                .entry((*status).into())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_in_the_document_names_a_component_it_holds() {
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_str(json()).expect("valid JSON");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let path = r.strip_prefix("#/").expect("a local reference");
            let target = path.split('/').fold(&doc, |v, key| &v[key]);
            assert!(!target.is_null(), "{r} names nothing in the document");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_bearer_security_and_problem_responses() {
        let doc: serde_json::Value = serde_json::from_str(json()).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let login = &doc["paths"]["/api/v1/auth/login"]["post"];
        assert!(login.get("security").is_none(), "login needs no token");
        assert!(login["responses"]["429"].is_object());
        let me = &doc["paths"]["/api/v1/me"]["get"];
        assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
        assert_eq!(me["security"][1]["api_token"], serde_json::json!([]));
        let create = &doc["paths"]["/api/v1/tokens"]["post"];
        assert_eq!(
            create["security"].as_array().map(Vec::len),
            Some(1),
            "a login only"
        );
        assert!(me["responses"]["401"].is_object());
        let problem = &doc["components"]["schemas"]["Problem"]["properties"];
        for field in ["type", "title", "status", "detail", "errors"] {
            assert!(problem[field].is_object(), "Problem.{field}");
        }
    }
}
