//! The SCIM 2.0 service (issue #18) over real HTTP against the real database: a service
//! account's scim token; the requests Okta and Entra ID send (their shapes, not a mock of
//! them); what `active: false` and DELETE start; the directory's rules holding for what a
//! provider sends; filters, paging, ETags and groups.

use serde_json::{json, Value};

use crate::common::client::{Client, Resp};
use crate::common::{TestApp, PASSWORD};
use crate::service_accounts::{make_account, make_token};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub fn parse(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// A SCIM error: its status, the error schema and media type, and its `scimType`.
pub fn scim_error(r: &Resp, status: u16) -> (Option<String>, String) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json"),
        "{}",
        r.body
    );
    let v = parse(r);
    assert_eq!(
        v["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(v["status"], status.to_string());
    (
        v["scimType"].as_str().map(str::to_string),
        v["detail"].as_str().unwrap_or_default().to_string(),
    )
}

/// An app with an Admin (`ops`) and a service account whose token has the scim scope.
pub async fn setup() -> (TestApp, Client, String) {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let admin = app.client();
    assert_eq!(admin.login("ops", PASSWORD).await.status, 303);
    let id = make_account(&admin, &[("name", "Okta"), ("role", "admin")]).await;
    let token = make_token(&admin, id, &[("scope_scim", "write")]).await;
    (app, admin, token)
}

pub struct Scim<'a> {
    pub c: Client,
    pub token: &'a str,
}

impl Scim<'_> {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.c
            .api_with_headers(
                method,
                &format!("/scim/v2{path}"),
                Some(self.token),
                body,
                &[("content-type", "application/scim+json")],
            )
            .await
    }
}

pub fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u-{user_name}"),
        "groups": [],
        "password": "1mH@ppy!",
        "active": true,
    })
}

/// The only Admin (`ops`, from `setup`) linked to the provider as ops@example.com; their id.
pub async fn provision_the_admin(app: &TestApp, scim: &Scim<'_>) -> i64 {
    use diesel::prelude::*;
    use portalops::db::schema::users;
    let ops = app.user_id("ops");
    diesel::update(users::table.find(ops))
        .set(users::email.eq("ops@example.com"))
        .execute(&mut app.conn())
        .expect("email");
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("ops@example.com", "Ops", "Admin")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    ops
}

pub fn status_of(app: &TestApp, email: &str) -> String {
    use diesel::prelude::*;
    use portalops::db::schema::users;
    users::table
        .filter(users::email.eq(email))
        .select(users::employment_status)
        .first(&mut app.conn())
        .expect("person")
}

fn open_offboardings(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use portalops::db::schema::workflows;
    workflows::table
        .filter(workflows::kind.eq("offboarding"))
        .filter(workflows::status.eq("open"))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[actix_web::test]
async fn only_an_admin_s_scim_token_gets_in_and_every_refusal_is_a_scim_error() {
    let (app, admin, token) = setup().await;
    let c = app.client();
    for (bearer, status) in [(None, 401), (Some("po_00000000_nonsense"), 401)] {
        let r = c.api("GET", "/scim/v2/Users", bearer, None).await;
        scim_error(&r, status);
    }
    // A JWT is not a SCIM credential.
    let login = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ops", "password": PASSWORD})),
        )
        .await;
    let jwt = parse(&login)["access_token"]
        .as_str()
        .expect("jwt")
        .to_string();
    scim_error(&c.api("GET", "/scim/v2/Users", Some(&jwt), None).await, 401);

    // A REST token without the scim scope; a read-only scim token writing; a Service
    // Administrator's scim token.
    let rest = make_account(&admin, &[("name", "export"), ("role", "admin")]).await;
    let rest = make_token(&admin, rest, &[("scope_people", "write")]).await;
    let (_, detail) = scim_error(
        &c.api("GET", "/scim/v2/Users", Some(&rest), None).await,
        403,
    );
    assert!(detail.contains("scim scope"), "{detail}");
    let reader = make_account(&admin, &[("name", "reader"), ("role", "admin")]).await;
    let reader = make_token(&admin, reader, &[("scope_scim", "read")]).await;
    assert_eq!(
        c.api("GET", "/scim/v2/Users", Some(&reader), None)
            .await
            .status,
        200
    );
    scim_error(
        &c.api(
            "POST",
            "/scim/v2/Users",
            Some(&reader),
            Some(okta_user("a@example.com", "A", "B")),
        )
        .await,
        403,
    );
    let service = app.insert_service("Figma");
    let s = service.to_string();
    let sa = make_account(
        &admin,
        &[
            ("name", "figma"),
            ("role", "service_admin"),
            ("services", &s),
        ],
    )
    .await;
    let sa = make_token(&admin, sa, &[("scope_scim", "write")]).await;
    scim_error(&c.api("GET", "/scim/v2/Users", Some(&sa), None).await, 403);
    // The scim scope cannot be combined with another (the token form says so).
    let page = format!("/settings/service-accounts/{}", 1);
    let r = admin
        .submit(
            &page,
            &format!("{page}/tokens"),
            &[
                ("name", "both"),
                ("scope_scim", "write"),
                ("scope_people", "read"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("scim scope alone"), "{}", r.body);
    // A SCIM token opens nothing of the REST API.
    let r = c.api("GET", "/api/v1/people", Some(&token), None).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Discovery, as application/scim+json; an unknown endpoint is a SCIM 404.
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    for path in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/Schemas",
        "/ResourceTypes/User",
        &format!("/Schemas/{USER}"),
    ] {
        let r = scim.call("GET", path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/scim+json")
        );
    }
    let config = parse(&scim.call("GET", "/ServiceProviderConfig", None).await);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["filter"]["supported"], true);
    scim_error(&scim.call("GET", "/Nonsense", None).await, 404);
    scim_error(&scim.call("GET", "/Users/abc", None).await, 404);
}

#[actix_web::test]
async fn okta_s_crud_sequence_provisions_updates_deactivates_and_reactivates_a_person() {
    let (app, admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };

    // Okta first looks the user up, then creates them.
    let r = scim
        .call(
            "GET",
            "/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r);
    assert_eq!(v["totalResults"], 0);
    assert_eq!(
        v["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );

    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("ada@example.com", "Ada", "Lovelace")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user = parse(&r);
    let id = user["id"].as_str().expect("id").to_string();
    assert_eq!(
        r.header("location").as_deref(),
        user["meta"]["location"].as_str()
    );
    assert!(r.header("etag").is_some());
    assert_eq!(user["userName"], "ada@example.com");
    assert_eq!(user["name"]["givenName"], "Ada");
    assert_eq!(user["active"], true);
    assert!(
        user.get("password").is_none(),
        "a password is never given back"
    );
    assert_eq!(status_of(&app, "ada@example.com"), "active");
    // She has access to something, so leaving means revoking it (an open offboarding).
    let service = app.insert_service("Slack");
    let product = app.insert_product(service, "Pro", None);
    app.insert_grant(id.parse().expect("id"), product);

    // In the directory, named as provisioned by the service account.
    let entry: (Option<i64>, String) = {
        use diesel::prelude::*;
        use portalops::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("person.created"))
            .select((audit_log::actor_id, audit_log::actor_label))
            .first(&mut app.conn())
            .expect("audited")
    };
    assert_eq!(entry, (None, "service: Okta".to_string()));

    // The person page tells Admins where the person comes from.
    let page = admin.get(&format!("/directory/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("provisioned through SCIM as <code>ada@example.com</code>"),
        "{}",
        page.body
    );

    // Found by the same filter, and by id.
    let v = parse(
        &scim
            .call(
                "GET",
                "/Users?filter=userName%20eq%20%22ADA%40example.com%22",
                None,
            )
            .await,
    );
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0]["id"], id.as_str());
    let got = scim.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(got.status, 200);

    // A second create of the same userName: 409 uniqueness.
    let (kind, _) = scim_error(
        &scim
            .call(
                "POST",
                "/Users",
                Some(okta_user("ada@example.com", "Ada", "Lovelace")),
            )
            .await,
        409,
    );
    assert_eq!(kind.as_deref(), Some("uniqueness"));
    // Another userName with the same externalId: refused too, saying which.
    let mut other = okta_user("ada.l@example.com", "Ada", "L");
    other["externalId"] = user["externalId"].clone();
    let (kind, detail) = scim_error(&scim.call("POST", "/Users", Some(other)).await, 409);
    assert_eq!(kind.as_deref(), Some("uniqueness"));
    assert!(detail.contains("externalId"), "{detail}");

    // PUT replaces: a new title and department land in the directory.
    let mut replaced = okta_user("ada@example.com", "Ada", "King");
    replaced["title"] = json!("Analyst");
    replaced[ENTERPRISE] = json!({"department": "Research", "employeeNumber": "1815"});
    let r = scim
        .call("PUT", &format!("/Users/{id}"), Some(replaced))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r);
    assert_eq!(v["title"], "Analyst");
    assert_eq!(v[ENTERPRISE]["department"], "Research");
    assert_eq!(v[ENTERPRISE]["employeeNumber"], "1815");
    assert_eq!(v["name"]["familyName"], "King");

    // Okta deactivates with a path-less replace: the person's offboarding starts today.
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r)["active"], false);
    assert_eq!(status_of(&app, "ada@example.com"), "offboarding");
    assert_eq!(open_offboardings(&app), 1);
    let v = parse(
        &scim
            .call("GET", "/Users?filter=active%20eq%20false", None)
            .await,
    );
    assert_eq!(v["totalResults"], 1);

    // Reactivated: the offboarding is cancelled and the person is active again.
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": true}}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r)["active"], true);
    assert_eq!(status_of(&app, "ada@example.com"), "active");
    assert_eq!(open_offboardings(&app), 0);

    // A stale ETag is refused; the current one works.
    let current = scim.call("GET", &format!("/Users/{id}"), None).await;
    let version = current.header("etag").expect("etag");
    let stale = scim
        .c
        .api_with_headers(
            "DELETE",
            &format!("/scim/v2/Users/{id}"),
            Some(&token),
            None,
            &[("if-match", "W/\"1\"")],
        )
        .await;
    scim_error(&stale, 412);

    // DELETE: the person stays, leaving; the SCIM id is gone.
    let r = scim
        .c
        .api_with_headers(
            "DELETE",
            &format!("/scim/v2/Users/{id}"),
            Some(&token),
            None,
            &[("if-match", version.as_str())],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    scim_error(&scim.call("GET", &format!("/Users/{id}"), None).await, 404);
    scim_error(
        &scim.call("DELETE", &format!("/Users/{id}"), None).await,
        404,
    );
    assert_eq!(status_of(&app, "ada@example.com"), "offboarding");
    let actions = app.audit_actions();
    for a in [
        "scim.user_created",
        "workflow.started",
        "workflow.cancelled",
        "scim.user_deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[actix_web::test]
async fn entra_id_s_shapes_string_booleans_capitalised_ops_and_filtered_paths_work() {
    let (app, _admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let manager = scim
        .call(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER, ENTERPRISE], "userName": "grace@example.com", "active": true,
                        "emails": [{"type": "work", "value": "grace@example.com", "primary": true}],
                        "name": {"formatted": "Grace Hopper"}})),
        )
        .await;
    assert_eq!(manager.status, 201, "{}", manager.body);
    let manager_id = parse(&manager)["id"].as_str().expect("id").to_string();
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Alan@Example.com",
                "active": "True",
                "displayName": "Alan Turing",
                "emails": [{"primary": true, "type": "work", "value": "Alan@Example.com"}],
                "name": {"familyName": "Turing", "givenName": "Alan"},
                ENTERPRISE: {"department": "Cryptanalysis", "manager": manager_id},
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let alan = parse(&r);
    let id = alan["id"].as_str().expect("id").to_string();
    assert_eq!(alan[ENTERPRISE]["manager"]["value"], manager_id.as_str());
    assert_eq!(
        alan["userName"], "Alan@Example.com",
        "the userName round-trips as sent"
    );

    // Entra's lookup by externalId, then its PATCH with capitalised ops and a filtered path.
    let v = parse(
        &scim
            .call(
                "GET",
                "/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
                None,
            )
            .await,
    );
    assert_eq!(v["totalResults"], 1);
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alan.turing@example.com"},
                {"op": "Replace", "path": "displayName", "value": "Alan M. Turing"},
                {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Computing"},
                {"op": "Remove", "path": format!("{ENTERPRISE}:manager")},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r);
    assert_eq!(v["emails"][0]["value"], "alan.turing@example.com");
    assert_eq!(v["displayName"], "Alan M. Turing");
    assert_eq!(v[ENTERPRISE]["department"], "Computing");
    assert!(v[ENTERPRISE].get("manager").is_none(), "{v}");
    assert_eq!(status_of(&app, "alan.turing@example.com"), "active");

    // "active": "False" as a string.
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Nothing to revoke: the offboarding completes at once.
    assert_eq!(status_of(&app, "alan.turing@example.com"), "offboarded");
    // A bad PATCH is a SCIM 400 that changes nothing.
    for (body, kind) in [
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "Move", "path": "active", "value": true}]}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "emails[type eq", "value": "x"}]}),
            "invalidPath",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "perhaps"}]}),
            "invalidValue",
        ),
    ] {
        let (t, _) = scim_error(
            &scim
                .call("PATCH", &format!("/Users/{id}"), Some(body))
                .await,
            400,
        );
        assert_eq!(t.as_deref(), Some(kind));
    }
    assert_eq!(status_of(&app, "alan.turing@example.com"), "offboarded");
    assert_eq!(
        parse(&scim.call("GET", &format!("/Users/{id}"), None).await)["active"],
        false
    );
}

#[actix_web::test]
async fn nothing_a_provider_sends_bypasses_the_directory_s_rules() {
    let (app, _admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let before = app.count("users");

    // A card number anywhere: refused, nothing stored.
    let mut u = okta_user("carl@example.com", "Carl", "Card");
    u["displayName"] = json!("Carl 4111 1111 1111 1111");
    let (kind, detail) = scim_error(&scim.call("POST", "/Users", Some(u)).await, 400);
    assert_eq!(kind.as_deref(), Some("invalidValue"), "{detail}");
    let mut u = okta_user("carl@example.com", "Carl", "Card");
    u["title"] = json!("x".repeat(101));
    scim_error(&scim.call("POST", "/Users", Some(u)).await, 400);
    let mut u = okta_user("carl@example.com", "Carl", "Card");
    u["emails"] = json!([{"value": "not an address", "primary": true}]);
    let (_, detail) = scim_error(&scim.call("POST", "/Users", Some(u)).await, 400);
    assert!(detail.contains("emails"), "{detail}");
    assert_eq!(app.count("users"), before);
    assert_eq!(app.count("scim_users"), 0);

    // Someone already in the directory is linked, not duplicated.
    let existing = app.insert_person("Dora Existing", "dora@example.com", "Sales");
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("dora@example.com", "Dora", "Linked")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(parse(&r)["id"], existing.to_string());
    assert_eq!(app.count("users"), before + 1);

    // The last Admin cannot be deactivated by the provider: a clear SCIM error, no change.
    let ops_id = provision_the_admin(&app, &scim).await;
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{ops_id}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]})),
        )
        .await;
    let (_, detail) = scim_error(&r, 400);
    assert!(
        detail.contains("last active Admin") || detail.contains("Admin"),
        "{detail}"
    );
    assert_eq!(status_of(&app, "ops@example.com"), "active");
    assert_eq!(open_offboardings(&app), 0);
    // The Admins are told (provisioning::… has the whole of it).
    let told = app.queued_emails();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].1.contains("the last Admin was not deactivated"));
}

#[actix_web::test]
async fn filters_paging_and_groups() {
    let (app, _admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let mut ids = Vec::new();
    for (name, given) in [
        ("amy@example.com", "Amy"),
        ("bob@example.com", "Bob"),
        ("abe@example.org", "Abe"),
    ] {
        let r = scim
            .call("POST", "/Users", Some(okta_user(name, given, "Test")))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(parse(&r)["id"].as_str().expect("id").to_string());
    }
    let count = |filter: &str| {
        let scim = &scim;
        let filter = filter.to_string();
        async move {
            let r = scim
                .call(
                    "GET",
                    &format!("/Users?filter={}", urlencoding(&filter)),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{filter}: {}", r.body);
            parse(&r)["totalResults"].as_i64().expect("total")
        }
    };
    assert_eq!(count(r#"userName sw "a""#).await, 2);
    assert_eq!(count(r#"emails.value ew ".org""#).await, 1);
    assert_eq!(
        count(r#"userName co "example" and not (name.givenName eq "Bob")"#).await,
        2
    );
    assert_eq!(
        count(r#"userName eq "amy@example.com" or userName eq "bob@example.com""#).await,
        2
    );
    assert_eq!(
        count(r#"emails[type eq "work" and value co "bob"]"#).await,
        1
    );
    assert_eq!(
        count(r#"userName co "%""#).await,
        0,
        "a wildcard is a character"
    );
    let (kind, _) = scim_error(
        &scim
            .call("GET", "/Users?filter=password%20eq%20%22x%22", None)
            .await,
        400,
    );
    assert_eq!(kind.as_deref(), Some("invalidFilter"));

    // Paging: startIndex is 1-based; totalResults counts them all.
    let v = parse(&scim.call("GET", "/Users?startIndex=2&count=1", None).await);
    assert_eq!(v["totalResults"], 3);
    assert_eq!(v["startIndex"], 2);
    assert_eq!(v["itemsPerPage"], 1);
    assert_eq!(v["Resources"][0]["id"], ids[1].as_str());
    let v = parse(&scim.call("GET", "/Users?count=0", None).await);
    assert_eq!(v["totalResults"], 3);
    assert_eq!(v["Resources"].as_array().map(Vec::len), Some(0));

    // Groups: made with members, members added and removed as Entra sends it.
    let r = scim
        .call(
            "POST",
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering", "members": [{"value": ids[0]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = parse(&r)["id"].as_str().expect("id").to_string();
    let r = scim
        .call(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": ids[1]}, {"value": ids[2]}]},
                {"op": "Remove", "path": format!("members[value eq \"{}\"]", ids[0])},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let members: Vec<String> = parse(&r)["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().expect("value").to_string())
        .collect();
    assert_eq!(members, vec![ids[1].clone(), ids[2].clone()]);
    // Entra ID takes a member out with the path and the member as the value.
    let r = scim
        .call(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": ids[1]}]},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r)["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(parse(&r)["members"][0]["value"], ids[2].as_str());
    let v = parse(
        &scim
            .call(
                "GET",
                "/Groups?filter=displayName%20eq%20%22engineering%22",
                None,
            )
            .await,
    );
    assert_eq!(v["totalResults"], 1);
    let (kind, _) = scim_error(
        &scim
            .call(
                "POST",
                "/Groups",
                Some(json!({"displayName": "ENGINEERING"})),
            )
            .await,
        409,
    );
    assert_eq!(kind.as_deref(), Some("uniqueness"));
    let (_, detail) = scim_error(
        &scim
            .call(
                "POST",
                "/Groups",
                Some(json!({"displayName": "Ghosts", "members": [{"value": "999999"}]})),
            )
            .await,
        400,
    );
    assert!(detail.contains("999999"), "{detail}");
    assert_eq!(
        scim.call("DELETE", &format!("/Groups/{gid}"), None)
            .await
            .status,
        204
    );
    scim_error(
        &scim.call("GET", &format!("/Groups/{gid}"), None).await,
        404,
    );
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The card-number refusal holds for every string a provider can send, wherever it sits in
/// the body (the one screen every door's JSON goes through), and nothing is stored.
#[actix_web::test]
async fn a_card_number_in_any_attribute_of_any_body_is_refused() {
    let (app, _admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let made = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("kept@example.com", "Kept", "User")),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = parse(&made)["id"].as_str().expect("id").to_string();
    let users_before = app.count("users");
    let card = "4111 1111 1111 1111";
    let paths: &[&[&str]] = &[
        &["userName"],
        &["externalId"],
        &["displayName"],
        &["title"],
        &["locale"],
        &["name", "givenName"],
        &["name", "familyName"],
        &["name", "formatted"],
        &[ENTERPRISE, "department"],
        &[ENTERPRISE, "employeeNumber"],
    ];
    for path in paths {
        let mut body = okta_user("carded@example.com", "Carded", "User");
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            if at.get(*key).is_none() {
                at[*key] = json!({});
            }
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = json!(format!("x {card} y"));
        for (method, target) in [
            ("POST", "/Users".to_string()),
            ("PUT", format!("/Users/{id}")),
        ] {
            let r = scim.call(method, &target, Some(body.clone())).await;
            let (kind, _) = scim_error(&r, 400);
            assert_eq!(kind.as_deref(), Some("invalidValue"), "{method} {path:?}");
        }
    }
    // In an email's value, a PATCH value, a group's name and a member.
    let mut body = okta_user("carded@example.com", "Carded", "User");
    body["emails"][0]["value"] = json!(format!("{card}@example.com"));
    scim_error(&scim.call("POST", "/Users", Some(body)).await, 400);
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "title", "value": card}]});
    scim_error(
        &scim
            .call("PATCH", &format!("/Users/{id}"), Some(patch))
            .await,
        400,
    );
    scim_error(
        &scim
            .call(
                "POST",
                "/Groups",
                Some(json!({"displayName": format!("Cards {card}")})),
            )
            .await,
        400,
    );
    assert_eq!(app.count("users"), users_before);
    assert_eq!(app.count("scim_users"), 1);
    assert_eq!(app.count("scim_groups"), 0);
    let kept = parse(&scim.call("GET", &format!("/Users/{id}"), None).await);
    assert_eq!(
        kept["name"]["givenName"], "Kept",
        "the PUTs changed nothing"
    );
    assert!(kept.get("title").is_none());
}

/// A provider retrying, or two of its workers racing: the same user created at once gives
/// one 201 and clear 409s, never a 500 or a second person.
#[actix_web::test]
async fn the_same_user_created_at_once_is_made_once() {
    let (app, _admin, token) = setup().await;
    let users_before = app.count("users");
    let calls = (0..8).map(|_| {
        let c = app.client();
        let token = token.clone();
        async move {
            c.api_with_headers(
                "POST",
                "/scim/v2/Users",
                Some(&token),
                Some(okta_user("race@example.com", "Race", "Twice")),
                &[("content-type", "application/scim+json")],
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        let (kind, _) = scim_error(r, 409);
        assert_eq!(kind.as_deref(), Some("uniqueness"));
    }
    assert_eq!(app.count("users"), users_before + 1);
    assert_eq!(app.count("scim_users"), 1);
}
