//! Okta's published SCIM test suites (the Runscope files Okta's developer guide asks an
//! integration to pass before it is listed), replayed against the service step by step:
//! the same requests — methods, paths, headers (an `application/json` create, a
//! `charset` on the content type, a non-JSON body to a read-only endpoint) and bodies —
//! and the same assertions, in Runscope's vocabulary (`equal_number`, `not_empty`,
//! `has_value`, `equal`, `contains`, `is_a_number`) and its scripts' checks.
//!
//! - "Okta SCIM 2.0 SPEC Test": okta/okta-developer-docs,
//!   `…/oin-build-provisioning-integration/SCIMFiles/Okta-SCIM-20-SPEC-Test.json`
//!   (commit 11cb1f1e). Every step is a SCIM request; all are replayed (the pauses
//!   between them are not: nothing here is eventually consistent).
//! - "Okta SCIM CRUD Test": `…/build-provisioning-integration/SCIMFiles/Okta-SCIM-CRUD-Test.json`
//!   (commit e7f55c14). Its steps against Okta's own API (make a user in Okta, assign
//!   the app, change the first name, deactivate, reactivate) need Okta itself: each is
//!   replaced by the SCIM request Okta sends for it (Okta's SCIM 2.0 guide: a POST for
//!   the assignment, a PUT of the whole user for a profile change, a PATCH of `active`
//!   for deactivation and reactivation); its SCIM steps — the checks — are replayed as
//!   written.

use std::collections::HashMap;

use serde_json::Value;

use crate::common::client::Resp;
use crate::scim::setup;

/// One of Runscope's assertions on a response.
enum Check {
    Status(u16),
    /// The property exists and is not null, "" or an empty list or object.
    NotEmpty(&'static str),
    /// The property (a list) has this value.
    HasValue(&'static str, &'static str),
    /// The property, as text, is this (variables substituted).
    Equal(&'static str, &'static str),
    /// The property (a list) contains this value.
    Contains(&'static str, &'static str),
    IsNumber(&'static str),
}

struct Step {
    note: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    checks: Vec<Check>,
    /// Variables taken from the response: (name, property).
    save: &'static [(&'static str, &'static str)],
}

/// The headers Okta's suite sends on its reads.
const READ: &[(&str, &str)] = &[
    ("accept-charset", "utf-8"),
    ("content-type", "application/scim+json; charset=utf-8"),
    ("accept", "application/scim+json"),
    ("user-agent", "OKTA SCIM Integration"),
];
/// And on its creates.
const CREATE: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("accept", "application/scim+json; charset=utf-8"),
];

/// `Resources[0].name.givenName` in `v`.
fn property<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = v;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        at = at.get(name)?;
        if let Some(i) = index {
            at = at.get(i)?;
        }
    }
    Some(at)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    assert!(!out.contains("{{"), "an unset variable in {out}");
    out
}

async fn run(
    scim: &crate::common::client::Client,
    token: &str,
    steps: &[Step],
    vars: &mut HashMap<String, String>,
) {
    for step in steps {
        let path = substitute(step.path, vars)
            .replace(' ', "%20")
            .replace('"', "%22");
        let body = step.body.map(|b| substitute(b, vars));
        let r: Resp = scim
            .raw(
                step.method,
                &format!("/scim/v2{path}"),
                Some(token),
                body.as_deref(),
                step.headers,
            )
            .await;
        let json: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        for check in &step.checks {
            let why = |what: String| format!("{}: {what}\n{} {}", step.note, r.status, r.body);
            match check {
                Check::Status(s) => assert_eq!(r.status, *s, "{}", why("status".into())),
                Check::NotEmpty(p) => {
                    let v = property(&json, p);
                    let empty = match v {
                        None | Some(Value::Null) => true,
                        Some(Value::String(s)) => s.is_empty(),
                        Some(Value::Array(a)) => a.is_empty(),
                        Some(Value::Object(o)) => o.is_empty(),
                        Some(_) => false,
                    };
                    assert!(!empty, "{}", why(format!("{p} is empty")));
                }
                Check::HasValue(p, want) | Check::Contains(p, want) => {
                    let list = property(&json, p).and_then(Value::as_array);
                    assert!(
                        list.is_some_and(|l| l.iter().any(|x| x == want)),
                        "{}",
                        why(format!("{p} has no {want}"))
                    );
                }
                Check::Equal(p, want) => {
                    let want = substitute(want, vars);
                    let got = property(&json, p).map(as_text);
                    assert_eq!(
                        got.as_deref(),
                        Some(want.as_str()),
                        "{}",
                        why(p.to_string())
                    );
                }
                Check::IsNumber(p) => assert!(
                    property(&json, p).is_some_and(Value::is_number),
                    "{}",
                    why(format!("{p} is not a number"))
                ),
            }
        }
        for (name, p) in step.save {
            let v = property(&json, p)
                .map(as_text)
                .unwrap_or_else(|| panic!("{}: no {p} to keep as {name}: {}", step.note, r.body));
            vars.insert(name.to_string(), v);
        }
    }
}

#[actix_web::test]
async fn okta_s_spec_test_suite_passes_step_by_step() {
    use Check::*;
    let (app, _admin, token) = setup().await;
    let c = app.client();
    // The suite expects the application to have users already (it reads the first one).
    let seed = crate::scim::okta_user("seed@example.com", "Seed", "User");
    let r = c
        .api_with_headers("POST", "/scim/v2/Users", Some(&token), Some(seed), CREATE)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Runscope's random values: a userName with capitals (the suite's script checks the
    // case is kept), an email, names.
    let mut vars: HashMap<String, String> = [
        ("randomUsername", "Runscope9041Tetra@atko.com"),
        ("randomUsernameCaps", "RUNSCOPE9041TETRA@ATKO.COM"),
        ("randomEmail", "runscope9041tetra.mail@atko.com"),
        ("randomGivenName", "Tetra"),
        ("randomFamilyName", "Runscope"),
        ("InvalidUserEmail", "nobody-at-all@atko.com"),
        ("UserIdThatDoesNotExist", "010101001010101"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{randomUsername}}","name":{"givenName":"{{randomGivenName}}","familyName":"{{randomFamilyName}}"},"emails":[{"primary":true,"value":"{{randomEmail}}","type":"work"}],"displayName":"{{randomGivenName}} {{randomFamilyName}}","active":true}"#;
    let same = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{randomUsername}}","name":{"givenName":"{{randomGivenName}}","familyName":"{{randomFamilyName}}"},"emails":[{"primary":true,"value":"{{randomUsername}}","type":"work"}],"displayName":"{{randomGivenName}} {{randomFamilyName}}","active":true}"#;
    let list = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    let steps = vec![
        Step {
            note: "Test ServiceProviderConfig endpoint",
            method: "GET",
            path: "/ServiceProviderConfig",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                NotEmpty("schemas"),
                HasValue(
                    "schemas",
                    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
                ),
                NotEmpty("patch"),
                NotEmpty("bulk"),
                NotEmpty("filter"),
                NotEmpty("changePassword"),
                NotEmpty("sort"),
                NotEmpty("etag"),
                NotEmpty("authenticationSchemes"),
                NotEmpty("authenticationSchemes[0].type"),
                NotEmpty("authenticationSchemes[0].description"),
                NotEmpty("etag.supported"),
                NotEmpty("sort.supported"),
                NotEmpty("changePassword.supported"),
                NotEmpty("filter.maxResults"),
                NotEmpty("filter.supported"),
                NotEmpty("bulk.supported"),
                NotEmpty("bulk.maxOperations"),
                NotEmpty("bulk.maxPayloadSize"),
                NotEmpty("patch.supported"),
            ],
            save: &[],
        },
        Step {
            note: "Check if ServiceProviderConfig is read-only",
            method: "POST",
            path: "/ServiceProviderConfig",
            headers: READ,
            body: Some(""),
            checks: vec![Status(405)],
            save: &[],
        },
        Step {
            note: "Check ResourceTypes endpoint",
            method: "GET",
            path: "/ResourceTypes",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                NotEmpty("Resources"),
                HasValue("schemas", list),
                NotEmpty("Resources[0].name"),
                NotEmpty("Resources[0].endpoint"),
                NotEmpty("Resources[0].schema"),
            ],
            save: &[],
        },
        Step {
            note: "Check if ResourceTypes is read-only",
            method: "POST",
            path: "/ResourceTypes",
            headers: READ,
            body: Some(""),
            checks: vec![Status(405)],
            save: &[],
        },
        Step {
            note: "Check Schemas endpoint",
            method: "GET",
            path: "/Schemas",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                NotEmpty("Resources"),
                HasValue("schemas", list),
                NotEmpty("Resources[0].id"),
                NotEmpty("Resources[0].attributes"),
            ],
            save: &[],
        },
        Step {
            note: "Check if Schemas is read-only",
            method: "POST",
            path: "/Schemas",
            headers: READ,
            body: Some("test"),
            checks: vec![Status(405)],
            save: &[],
        },
        Step {
            note: "Test Users endpoint",
            method: "GET",
            path: "/Users?count=1&startIndex=1",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                NotEmpty("Resources"),
                HasValue("schemas", list),
                IsNumber("itemsPerPage"),
                IsNumber("startIndex"),
                IsNumber("totalResults"),
                NotEmpty("Resources[0].id"),
                NotEmpty("Resources[0].name.familyName"),
                NotEmpty("Resources[0].name.givenName"),
                NotEmpty("Resources[0].userName"),
                NotEmpty("Resources[0].active"),
                NotEmpty("Resources[0].emails[0].value"),
            ],
            save: &[("ISVUserid", "Resources[0].id")],
        },
        Step {
            note: "Get Users/{{id}}",
            method: "GET",
            path: "/Users/{{ISVUserid}}",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                NotEmpty("id"),
                NotEmpty("name.familyName"),
                NotEmpty("name.givenName"),
                NotEmpty("userName"),
                NotEmpty("active"),
                NotEmpty("emails[0].value"),
                Equal("id", "{{ISVUserid}}"),
            ],
            save: &[],
        },
        Step {
            note: "Test invalid User by username",
            method: "GET",
            path: "/Users?filter=userName eq \"{{InvalidUserEmail}}\"",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                HasValue("schemas", list),
                Equal("totalResults", "0"),
            ],
            save: &[],
        },
        Step {
            note: "Test invalid User by ID",
            method: "GET",
            path: "/Users/{{UserIdThatDoesNotExist}}",
            headers: READ,
            body: None,
            checks: vec![
                Status(404),
                NotEmpty("detail"),
                HasValue("schemas", "urn:ietf:params:scim:api:messages:2.0:Error"),
            ],
            save: &[],
        },
        Step {
            note: "Make sure random user doesn't exist",
            method: "GET",
            path: "/Users?filter=userName eq \"{{randomEmail}}\"",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                Equal("totalResults", "0"),
                HasValue("schemas", list),
            ],
            save: &[],
        },
        Step {
            note: "Create Okta user with realistic values",
            method: "POST",
            path: "/Users",
            headers: CREATE,
            body: Some(user),
            checks: vec![
                Status(201),
                Equal("active", "true"),
                NotEmpty("id"),
                Equal("name.familyName", "{{randomFamilyName}}"),
                Equal("name.givenName", "{{randomGivenName}}"),
                Contains("schemas", "urn:ietf:params:scim:schemas:core:2.0:User"),
                Equal("userName", "{{randomUsername}}"),
            ],
            save: &[("idUserOne", "id"), ("randomUserEmail", "emails[0].value")],
        },
        Step {
            note: "Verify that user was created",
            method: "GET",
            path: "/Users/{{idUserOne}}",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                Equal("userName", "{{randomUsername}}"),
                Equal("name.familyName", "{{randomFamilyName}}"),
                Equal("name.givenName", "{{randomGivenName}}"),
            ],
            save: &[],
        },
        Step {
            note: "Expect failure when recreating user with same values",
            method: "POST",
            path: "/Users",
            headers: CREATE,
            body: Some(same),
            checks: vec![Status(409)],
            save: &[],
        },
        Step {
            note: "Username Case Sensitivity Check",
            method: "GET",
            path: "/Users?filter=userName eq \"{{randomUsernameCaps}}\"",
            headers: READ,
            body: None,
            checks: vec![Status(200)],
            save: &[],
        },
        Step {
            note: "Verify Groups endpoint",
            method: "GET",
            path: "/Groups",
            headers: READ,
            body: None,
            checks: vec![Status(200)],
            save: &[],
        },
    ];
    run(&c, &token, &steps, &mut vars).await;

    // The create step's script: the userName comes back as sent, not lowercased.
    let r = c
        .api_with_headers(
            "GET",
            &format!("/scim/v2/Users/{}", vars["idUserOne"]),
            Some(&token),
            None,
            READ,
        )
        .await;
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_ne!(
        v["userName"].as_str().expect("userName").to_lowercase(),
        vars["randomUsername"],
        "ISVuserNameLower matches with InitialuserName"
    );
    assert_eq!(vars["randomUserEmail"], vars["randomEmail"]);
    // The Groups step's script: Resources is a list when there are groups.
    let r = c
        .api_with_headers("GET", "/scim/v2/Groups", Some(&token), None, READ)
        .await;
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert!(v["totalResults"] == 0 || v["Resources"].is_array(), "{v}");
}

#[actix_web::test]
async fn okta_s_crud_test_suite_passes_with_okta_s_own_steps_sent_as_okta_sends_them() {
    use Check::*;
    let (app, _admin, token) = setup().await;
    let c = app.client();
    let mut vars: HashMap<String, String> = [
        ("okta_user_email", "crud.tester@atko.com"),
        ("okta_user_firstname", "Crud"),
        ("okta_user_firstname_update", "Crudder"),
        ("okta_user_lastname", "Tester"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    const SEND: &[(&str, &str)] = &[
        ("content-type", "application/scim+json; charset=utf-8"),
        ("accept", "application/scim+json"),
        ("user-agent", "Okta SCIM Client 1.0.0"),
    ];
    let steps = vec![
        // "Add new random user to Okta" and "Assign user to SCIM App": Okta looks the
        // user up by userName, then creates them.
        Step {
            note: "(Okta) look the user up before creating them",
            method: "GET",
            path: "/Users?filter=userName eq \"{{okta_user_email}}\"&startIndex=1&count=100",
            headers: SEND,
            body: None,
            checks: vec![Status(200), Equal("totalResults", "0")],
            save: &[],
        },
        Step {
            note: "(Okta) assign user to SCIM App",
            method: "POST",
            path: "/Users",
            headers: SEND,
            body: Some(
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{okta_user_email}}","name":{"givenName":"{{okta_user_firstname}}","familyName":"{{okta_user_lastname}}"},"emails":[{"primary":true,"value":"{{okta_user_email}}","type":"work"}],"displayName":"{{okta_user_firstname}} {{okta_user_lastname}}","locale":"en-US","externalId":"00u1crudtest","groups":[],"password":"Abcd1234","active":true}"#,
            ),
            checks: vec![Status(201)],
            save: &[],
        },
        Step {
            note: "Verify if user is created in SCIM App",
            method: "GET",
            path: "/Users?filter=userName eq \"{{okta_user_email}}\"",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                Equal("Resources[0].userName", "{{okta_user_email}}"),
                Equal("Resources[0].emails[0].value", "{{okta_user_email}}"),
                Equal("Resources[0].name.familyName", "{{okta_user_lastname}}"),
                Equal("Resources[0].name.givenName", "{{okta_user_firstname}}"),
            ],
            save: &[("scim_id", "Resources[0].id")],
        },
        // "Update user firstname": Okta sends the whole user.
        Step {
            note: "(Okta) update user firstname",
            method: "PUT",
            path: "/Users/{{scim_id}}",
            headers: SEND,
            body: Some(
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"{{scim_id}}","userName":"{{okta_user_email}}","name":{"givenName":"{{okta_user_firstname_update}}","familyName":"{{okta_user_lastname}}"},"emails":[{"primary":true,"value":"{{okta_user_email}}","type":"work"}],"displayName":"{{okta_user_firstname_update}} {{okta_user_lastname}}","locale":"en-US","externalId":"00u1crudtest","groups":[],"active":true}"#,
            ),
            checks: vec![Status(200)],
            save: &[],
        },
        Step {
            note: "Verify firstname update in SCIM App",
            method: "GET",
            path: "/Users/{{scim_id}}",
            headers: READ,
            body: None,
            checks: vec![
                Status(200),
                Equal("name.givenName", "{{okta_user_firstname_update}}"),
            ],
            save: &[],
        },
        // "Deactivate user in Okta".
        Step {
            note: "(Okta) deactivate user",
            method: "PATCH",
            path: "/Users/{{scim_id}}",
            headers: SEND,
            body: Some(
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#,
            ),
            checks: vec![Status(200)],
            save: &[],
        },
        Step {
            note: "Verify if user is deactivated in SCIM App",
            method: "GET",
            path: "/Users/{{scim_id}}",
            headers: READ,
            body: None,
            checks: vec![Status(200), Equal("active", "false")],
            save: &[],
        },
        // "reactivate user in okta" and "Assign user to SCIM App" again.
        Step {
            note: "(Okta) reactivate user",
            method: "PATCH",
            path: "/Users/{{scim_id}}",
            headers: SEND,
            body: Some(
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}"#,
            ),
            checks: vec![Status(200)],
            save: &[],
        },
        Step {
            note: "Verify if user is reactivated in SCIM App",
            method: "GET",
            path: "/Users/{{scim_id}}",
            headers: READ,
            body: None,
            checks: vec![Status(200), Equal("active", "true")],
            save: &[],
        },
    ];
    run(&c, &token, &steps, &mut vars).await;
}
