//! What the service supports (RFC 7644 §4, RFC 7643 §5–7): `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`. The schemas list exactly the attributes PortalOps keeps
//! and gives back, so a provider (and a conformance tool) knows what round-trips.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::users::{ENTERPRISE_SCHEMA, USER_SCHEMA};
use super::{respond, ScimCaller, ScimError, ScimResult, LIST_SCHEMA, MAX_COUNT};
use crate::web::AppState;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

fn meta(base: &str, kind: &str, path: &str) -> Value {
    json!({"resourceType": kind, "location": format!("{base}/{path}")})
}

pub async fn service_provider_config(
    _caller: ScimCaller,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    let base = super::base_url(&state);
    Ok(respond(
        StatusCode::OK,
        &json!({
            "schemas": [CONFIG_SCHEMA],
            "documentationUri": format!("{}/api/v1/docs", state.config.public_url.trim_end_matches('/')),
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_COUNT},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "API token",
                "description": "A PortalOps API token with the scim scope (Settings → Service accounts), sent as Authorization: Bearer po_…",
                "primary": true,
            }],
            "meta": meta(&base, "ServiceProviderConfig", "ServiceProviderConfig"),
        }),
    ))
}

fn resource_type_list(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A person of the PortalOps directory",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": meta(base, "ResourceType", "ResourceTypes/User"),
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of the identity provider and its members",
            "schema": super::discovery::GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": meta(base, "ResourceType", "ResourceTypes/Group"),
        }),
    ]
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn resource_types(
    _caller: ScimCaller,
    state: web::Data<AppState>,
) -> ScimResult<HttpResponse> {
    Ok(respond(
        StatusCode::OK,
        &list(resource_type_list(&super::base_url(&state))),
    ))
}

pub async fn resource_type(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ScimResult<HttpResponse> {
    resource_type_list(&super::base_url(&state))
        .into_iter()
        .find(|t| t["id"] == path.as_str())
        .map(|t| respond(StatusCode::OK, &t))
        .ok_or_else(|| ScimError::not_found("There is no such resource type."))
}

/// One attribute's definition (RFC 7643 §7).
fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut a: Value, changes: Value) -> Value {
    if let (Some(a), Some(c)) = (a.as_object_mut(), changes.as_object()) {
        for (k, v) in c {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn schema_list(base: &str) -> Vec<Value> {
    let user = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the PortalOps directory",
        "attributes": [
            with(attr("userName", "string", "The provider's unique name for the person"),
                json!({"required": true, "uniqueness": "server"})),
            with(attr("name", "complex", "The person's name"), json!({"subAttributes": [
                attr("formatted", "string", "The full name, as the directory shows it"),
                attr("givenName", "string", "Given name"),
                attr("familyName", "string", "Family name"),
            ]})),
            attr("displayName", "string", "The name shown for the person"),
            attr("title", "string", "Job title"),
            with(attr("active", "boolean", "false starts the person's offboarding; true again cancels it (a user sent without it is active)"),
                json!({"required": true})),
            with(attr("emails", "complex", "Email addresses; the primary one is the directory's email (required: every person of the directory has one)"),
                json!({"multiValued": true, "required": true, "subAttributes": [
                    with(attr("value", "string", "The address"), json!({"required": true})),
                    with(attr("type", "string", "work, home or other"),
                        json!({"canonicalValues": ["work", "home", "other"]})),
                    attr("primary", "boolean", "Whether this is the directory's email"),
                ]})),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{USER_SCHEMA}")),
    });
    let enterprise = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "Enterprise attributes of a person",
        "attributes": [
            attr("employeeNumber", "string", "The person's employee number"),
            attr("department", "string", "The person's department"),
            with(attr("manager", "complex", "The person's manager (a provisioned user)"),
                json!({"subAttributes": [
                    with(attr("value", "string", "The manager's id"), json!({"caseExact": true})),
                    with(attr("$ref", "reference", "The manager's URI (value decides)"),
                        json!({"referenceTypes": ["User"]})),
                ]})),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{ENTERPRISE_SCHEMA}")),
    });
    let group = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A group of the identity provider",
        "attributes": [
            with(attr("displayName", "string", "The group's name"),
                json!({"required": true, "uniqueness": "server"})),
            with(attr("members", "complex", "The group's members (provisioned users)"),
                json!({"multiValued": true, "subAttributes": [
                    with(attr("value", "string", "A member's id"),
                        json!({"caseExact": true, "mutability": "immutable"})),
                    with(attr("$ref", "reference", "A member's URI"),
                        json!({"referenceTypes": ["User"], "mutability": "immutable"})),
                    with(attr("type", "string", "User"), json!({"canonicalValues": ["User"], "mutability": "immutable"})),
                ]})),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{GROUP_SCHEMA}")),
    });
    vec![user, enterprise, group]
}

pub async fn schemas(_caller: ScimCaller, state: web::Data<AppState>) -> ScimResult<HttpResponse> {
    Ok(respond(
        StatusCode::OK,
        &list(schema_list(&super::base_url(&state))),
    ))
}

pub async fn schema(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ScimResult<HttpResponse> {
    schema_list(&super::base_url(&state))
        .into_iter()
        .find(|s| s["id"] == path.as_str())
        .map(|s| respond(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("There is no such schema."))
}
