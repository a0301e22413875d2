//! The REST API's first increment: bearer-token authentication (login, refresh rotation and
//! re-use detection, logout), problem documents, and the services endpoints with the same
//! scope rules as the pages.

use serde_json::{json, Value};

use crate::common::{TestApp, PASSWORD};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

async fn tokens(app: &TestApp, username: &str) -> (String, String) {
    let r = app
        .client()
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    (
        v["access_token"].as_str().expect("access").to_string(),
        v["refresh_token"].as_str().expect("refresh").to_string(),
    )
}

fn assert_problem(r: &crate::common::client::Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let v = parse(&r.body);
    assert_eq!(v["status"], status);
    assert!(v["title"].is_string() && v["detail"].is_string() && v["type"].is_string());
    v
}

#[actix_web::test]
async fn login_refresh_rotation_reuse_and_logout() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let c = app.client();

    // Bad input and bad credentials: problem documents, nothing logged in.
    let r = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ops"})),
        )
        .await;
    let v = assert_problem(&r, 422);
    assert_eq!(v["errors"]["password"], "Enter your password.");
    let r = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ops", "password": "wrong password here"})),
        )
        .await;
    assert_problem(&r, 401);
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
    let r = c.api("POST", "/api/v1/auth/login", None, None).await;
    assert_problem(&r, 400);

    let (access, refresh) = tokens(&app, "ops").await;
    let me = c.api("GET", "/api/v1/me", Some(&access), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let v = parse(&me.body);
    assert_eq!(v["username"], "ops");
    assert_eq!(v["role"], "admin");

    // Rotation: the new pair works, the old refresh token is spent; presenting it again
    // after the grace window revokes the whole session.
    let r = c
        .api(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    let (access2, refresh2) = (
        v["access_token"].as_str().expect("a").to_string(),
        v["refresh_token"].as_str().expect("r").to_string(),
    );
    assert_ne!(refresh2, refresh);
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&access2), None)
            .await
            .status,
        200
    );
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE rotated_at IS NOT NULL"),
        &mut app.conn(),
    )
    .expect("age the rotation");
    let r = c
        .api(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    let v = assert_problem(&r, 401);
    assert!(v["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("already used"));
    let r = c.api("GET", "/api/v1/me", Some(&access2), None).await;
    assert_problem(&r, 401);
    let r = c
        .api(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh2})),
        )
        .await;
    assert_problem(&r, 401);

    // Logout ends the session at once, and is audited like the page's.
    let (access3, refresh3) = tokens(&app, "ops").await;
    let r = c
        .api("POST", "/api/v1/auth/logout", Some(&access3), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_problem(&c.api("GET", "/api/v1/me", Some(&access3), None).await, 401);
    assert_problem(
        &c.api(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh3})),
        )
        .await,
        401,
    );
    assert!(app.audit_actions().iter().any(|a| a == "auth.logout"));

    // No token, a forged one, or only the pages' cookie: 401.
    assert_problem(&c.api("GET", "/api/v1/me", None, None).await, 401);
    assert_problem(
        &c.api("GET", "/api/v1/me", Some("not.a.jwt"), None).await,
        401,
    );
    let browser = app.logged_in("pageuser", "admin").await;
    assert_problem(&browser.get("/api/v1/me").await, 401);
    // Unknown API paths are problems too, not HTML.
    assert_problem(
        &c.api("GET", "/api/v1/nothing-here", Some(&access2), None)
            .await,
        404,
    );
}

#[actix_web::test]
async fn api_logins_are_throttled_like_the_page() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let c = app.client();
    let mut last = 0;
    for _ in 0..6 {
        let r = c
            .api(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "ops", "password": "not the password at all"})),
            )
            .await;
        last = r.status;
    }
    assert_eq!(last, 429);
    let r = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ops", "password": PASSWORD})),
        )
        .await;
    assert_problem(&r, 429);
    assert!(r.header("retry-after").is_some());
}

#[actix_web::test]
async fn services_follow_the_same_scope_as_the_pages() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", Some(5));
    let zoom = app.insert_service("Zoom");
    app.insert_product(zoom, "Zoom Meetings", None);
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.insert_grant(ada, pro);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pat", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    let c = app.client();

    let (admin, _) = tokens(&app, "root").await;
    let r = c
        .api("GET", "/api/v1/services?limit=1", Some(&admin), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    assert_eq!(v["total"], 2);
    assert_eq!(v["limit"], 1);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["items"][0]["name"], "Slack");
    assert_eq!(v["items"][0]["seats_in_use"], 1);
    let r = c
        .api("GET", "/api/v1/services?limit=1&page=2", Some(&admin), None)
        .await;
    assert_eq!(parse(&r.body)["items"][0]["name"], "Zoom");
    let r = c
        .api("GET", "/api/v1/services?q=zoo", Some(&admin), None)
        .await;
    assert_eq!(parse(&r.body)["total"], 1);
    let v = assert_problem(
        &c.api("GET", "/api/v1/services?limit=500", Some(&admin), None)
            .await,
        422,
    );
    assert!(v["errors"]["limit"].is_string());
    assert_problem(
        &c.api("GET", "/api/v1/services?page=x", Some(&admin), None)
            .await,
        400,
    );
    let r = c
        .api(
            "GET",
            &format!("/api/v1/services/{slack}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    assert_eq!(v["products"][0]["name"], "Slack Pro");
    assert_eq!(v["products"][0]["seats_used"], 1);
    assert_eq!(v["people_with_access"], 1);

    // A Product Administrator sees their service only; the other one is 404, as on the pages.
    let (pa, _) = tokens(&app, "pat").await;
    let v = parse(&c.api("GET", "/api/v1/services", Some(&pa), None).await.body);
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["name"], "Slack");
    assert_problem(
        &c.api("GET", &format!("/api/v1/services/{zoom}"), Some(&pa), None)
            .await,
        404,
    );
    assert_problem(
        &c.api("GET", "/api/v1/services/999999", Some(&admin), None)
            .await,
        404,
    );
}

#[actix_web::test]
async fn grants_and_revokes_go_through_the_same_command_and_audit_as_the_pages() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", Some(5));
    let zoom = app.insert_service("Zoom");
    let meetings = app.insert_product(zoom, "Zoom Meetings", None);
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.create_user("pat", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    let c = app.client();
    let (pa, _) = tokens(&app, "pat").await;
    let post = |path: &'static str, body: Value| {
        let (c, pa) = (&c, pa.clone());
        async move { c.api("POST", path, Some(&pa), Some(body)).await }
    };

    // Validation and refusals: problems, nothing written.
    let v = assert_problem(
        &post("/api/v1/grants", json!({"person": "ada@example.com"})).await,
        422,
    );
    assert!(v["errors"]["product_id"].is_string());
    let v = assert_problem(
        &post(
            "/api/v1/grants",
            json!({"person": "nobody@example.com", "product_id": pro}),
        )
        .await,
        422,
    );
    assert!(v["errors"]["person"].is_string());
    let v = assert_problem(
        &post(
            "/api/v1/grants",
            json!({"person": "ada@example.com", "product_id": pro, "note": "card 4111 1111 1111 1111"}),
        )
        .await,
        422,
    );
    assert!(v["errors"]["note"]
        .as_str()
        .unwrap_or_default()
        .contains("full card number"));
    // Another administrator's product is not there for this one.
    assert_problem(
        &post(
            "/api/v1/grants",
            json!({"person": "ada@example.com", "product_id": meetings}),
        )
        .await,
        404,
    );
    assert_eq!(app.count("access_grants"), 0);

    let r = post(
        "/api/v1/grants",
        json!({"person": "ada@example.com", "product_id": pro, "account_identifier": "ada"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = parse(&r.body)["id"].as_i64().expect("id");
    assert_eq!(r.location(), format!("/api/v1/grants/{id}"));
    assert_eq!(app.count("access_grants"), 1);
    assert!(app.audit_actions().iter().any(|a| a == "grant.created"));
    // The same person again is refused by the command, as on the page.
    let again = post(
        "/api/v1/grants",
        json!({"person": ada.to_string(), "product_id": pro}),
    )
    .await;
    let v = assert_problem(&again, 422);
    assert!(v["errors"]["person"]
        .as_str()
        .unwrap_or_default()
        .contains("already has access"));

    let r = c
        .api("GET", &format!("/api/v1/services/{slack}"), Some(&pa), None)
        .await;
    assert_eq!(parse(&r.body)["products"][0]["seats_used"], 1);

    let r = post_revoke(&c, &pa, id, "left the team").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    assert_eq!(v["person_id"], ada);
    assert_eq!(v["product_id"], pro);
    assert!(app.audit_actions().iter().any(|a| a == "grant.revoked"));
    assert_problem(&post_revoke(&c, &pa, id, "twice").await, 409);
    assert_problem(&post_revoke(&c, &pa, 999_999, "none").await, 404);
}

async fn post_revoke(
    c: &crate::common::client::Client,
    token: &str,
    id: i64,
    reason: &str,
) -> crate::common::client::Resp {
    c.api(
        "POST",
        &format!("/api/v1/grants/{id}/revoke"),
        Some(token),
        Some(json!({ "reason": reason })),
    )
    .await
}

/// The API routes × (Admin, SA in scope, SA out of scope, PA in scope, PA out of scope,
/// no token): the same answers as the pages' matrix, 401 instead of a login redirect.
#[actix_web::test]
async fn every_api_route_answers_each_actor_as_the_rbac_guide_says() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    let zoom = app.insert_service("Zoom");
    let meetings = app.insert_product(zoom, "Zoom Meetings", None);
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    let revoked = app.insert_grant(ada, pro);
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE access_grants SET revoked_at = now() WHERE id = {revoked}"
        )),
        &mut app.conn(),
    )
    .expect("revoke");
    for (user, role) in [
        ("admin", "admin"),
        ("sa_in", "service_admin"),
        ("sa_out", "service_admin"),
        ("pa_in", "product_admin"),
        ("pa_out", "product_admin"),
    ] {
        app.create_user(user, PASSWORD, role);
    }
    app.make_service_admin("sa_in", slack);
    app.make_service_admin("sa_out", zoom);
    app.make_product_admin("pa_in", pro);
    app.make_product_admin("pa_out", meetings);
    let mut bearer = vec![];
    for user in ["admin", "sa_in", "sa_out", "pa_in", "pa_out"] {
        bearer.push(Some(tokens(&app, user).await.0));
    }
    bearer.push(None);

    let unknown_person = json!({"person": "nobody@example.com", "product_id": pro});
    let reason = json!({"reason": "matrix"});
    #[rustfmt::skip]
    let rows: Vec<(&str, String, Option<Value>, [u16; 6])> = vec![
        ("GET", "/api/v1/me".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", "/api/v1/services".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/v1/services/{slack}"), None, [200, 200, 404, 200, 404, 401]),
        ("GET", "/api/v1/people".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", "/api/v1/audit".into(), None, [200, 403, 403, 403, 403, 401]),
        ("POST", "/api/v1/workflows/offboarding".into(), Some(json!({"email": "nobody@example.com", "last_day": "2026-12-31"})), [422, 403, 403, 403, 403, 401]),
        ("GET", format!("/api/v1/people/{ada}"), None, [200, 200, 200, 200, 200, 401]),
        ("POST", "/api/v1/grants".into(), Some(unknown_person), [422, 422, 404, 422, 404, 401]),
        ("POST", format!("/api/v1/grants/{revoked}/revoke"), Some(reason), [409, 409, 404, 409, 404, 401]),
    ];
    let c = app.client();
    for (method, path, body, expected) in rows {
        let actors = ["admin", "sa_in", "sa_out", "pa_in", "pa_out", "anonymous"];
        for ((token, want), actor) in bearer.iter().zip(expected).zip(actors) {
            let r = c.api(method, &path, token.as_deref(), body.clone()).await;
            assert_eq!(r.status, want, "{method} {path} as {actor}: {}", r.body);
        }
    }
    assert_eq!(app.count("access_grants"), 1, "nothing was granted");
}

#[actix_web::test]
async fn people_show_lookup_fields_to_all_and_grants_in_scope() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    let zoom = app.insert_service("Zoom");
    let meetings = app.insert_product(zoom, "Zoom Meetings", None);
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.insert_person("Grace Hopper", "grace@example.com", "Ops");
    app.insert_grant(ada, pro);
    app.insert_grant(ada, meetings);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pat", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    let c = app.client();
    let (admin, _) = tokens(&app, "root").await;
    let (pa, _) = tokens(&app, "pat").await;

    let v = parse(
        &c.api("GET", "/api/v1/people?q=lovelace", Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["email"], "ada@example.com");
    assert_eq!(v["items"][0]["grants"], 2);
    let v = parse(
        &c.api("GET", "/api/v1/people?department=Ops", Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(v["items"][0]["full_name"], "Grace Hopper");
    let v = parse(
        &c.api("GET", "/api/v1/people?q=lovelace", Some(&pa), None)
            .await
            .body,
    );
    assert_eq!(
        v["items"][0]["grants"], 1,
        "only grants in the PA's products"
    );
    let v = assert_problem(
        &c.api("GET", "/api/v1/people?status=gone", Some(&admin), None)
            .await,
        400,
    );
    assert!(v["detail"].as_str().is_some_and(|d| d.contains("gone")));

    let v = parse(
        &c.api("GET", &format!("/api/v1/people/{ada}"), Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(v["active_grants"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["hr"]["role"], "user");
    let r = c
        .api("GET", &format!("/api/v1/people/{ada}"), Some(&pa), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parse(&r.body);
    assert!(v.get("hr").is_none(), "HR fields are an Admin's: {v}");
    assert_eq!(v["active_grants"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["active_grants"][0]["product"], "Slack Pro");
    assert_problem(
        &c.api("GET", "/api/v1/people/999999", Some(&admin), None)
            .await,
        404,
    );
}

#[actix_web::test]
async fn the_audit_log_reads_back_every_api_change_with_keyset_paging() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.create_user("root", PASSWORD, "admin");
    let c = app.client();
    let (admin, _) = tokens(&app, "root").await;
    let r = c
        .api(
            "POST",
            "/api/v1/grants",
            Some(&admin),
            Some(json!({"person": "ada@example.com", "product_id": pro, "note": "via API"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = parse(
        &c.api(
            "GET",
            "/api/v1/audit?action=grant.created",
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    let entry = &v["items"][0];
    assert_eq!(entry["action"], "grant.created");
    assert_eq!(entry["actor"], "root");
    assert!(
        entry["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Ada Lovelace"),
        "{entry}"
    );
    // Newest first; `before` the newest gives the older ones, and the login is among them.
    let all = parse(&c.api("GET", "/api/v1/audit", Some(&admin), None).await.body);
    let newest = all["items"][0]["id"].as_i64().expect("id");
    let older = parse(
        &c.api(
            "GET",
            &format!("/api/v1/audit?before={newest}"),
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    assert!(older["items"]
        .as_array()
        .is_some_and(|a| a.iter().all(|e| e["id"].as_i64() < Some(newest))));
    assert!(older["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e["action"] == "auth.login")));
    assert_problem(
        &c.api("GET", "/api/v1/audit?from=yesterday", Some(&admin), None)
            .await,
        400,
    );
}

#[actix_web::test]
async fn an_hr_system_starts_onboardings_and_offboardings() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    app.create_user("root", PASSWORD, "admin");
    let c = app.client();
    let (admin, _) = tokens(&app, "root").await;

    let v = assert_problem(
        &c.api(
            "POST",
            "/api/v1/workflows/onboarding",
            Some(&admin),
            Some(
                json!({"email": "new@example.com", "full_name": "New Hire", "start_date": "soon"}),
            ),
        )
        .await,
        422,
    );
    assert!(v["errors"]["start_date"].is_string(), "{v}");
    assert_eq!(app.count("workflows"), 0);

    let r = c
        .api(
            "POST",
            "/api/v1/workflows/onboarding",
            Some(&admin),
            Some(json!({
                "email": "new@example.com", "full_name": "New Hire", "department": "Eng",
                "start_date": "2026-12-01", "product_ids": [pro]
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = parse(&r.body)["id"].as_i64().expect("id");
    assert_eq!(r.location(), format!("/api/v1/workflows/{id}"));
    assert_eq!(app.count("tasks"), 1, "one grant task for Slack Pro");
    assert!(app.audit_actions().iter().any(|a| a == "workflow.started"));
    let people = parse(
        &c.api("GET", "/api/v1/people?q=new%20hire", Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(people["total"], 1);
    // Once they hold access, an offboarding has something to revoke and stays open.
    app.insert_grant(people["items"][0]["id"].as_i64().expect("person"), pro);

    let off = json!({"email": "new@example.com", "last_day": "2027-01-31", "disable_now": false});
    let r = c
        .api(
            "POST",
            "/api/v1/workflows/offboarding",
            Some(&admin),
            Some(off.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = assert_problem(
        &c.api(
            "POST",
            "/api/v1/workflows/offboarding",
            Some(&admin),
            Some(off),
        )
        .await,
        422,
    );
    assert!(
        v["errors"]["email"]
            .as_str()
            .unwrap_or_default()
            .contains("already open"),
        "{v}"
    );
}

/// The OpenAPI document is the contract: every path and method it lists is routed (and
/// refuses a call without a token as documented), and a method it does not list answers 405
/// with the methods it does.
#[actix_web::test]
async fn the_openapi_document_lists_every_route_and_only_those_methods() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.api("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let doc = parse(&r.body);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 13, "{} paths", paths.len());
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1");
        let methods: Vec<String> = item
            .as_object()
            .expect("path item")
            .keys()
            .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
            .cloned()
            .collect();
        assert!(!methods.is_empty(), "{path}");
        for method in &methods {
            let op = &item[method];
            let documented: Vec<&String> = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .collect();
            let upper = method.to_uppercase();
            let body = (upper != "GET").then(|| json!({}));
            let r = c.api(&upper, &concrete, None, body).await;
            if op.get("security").is_some() {
                assert_problem(&r, 401);
                assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
            } else {
                assert_problem(&r, 422);
            }
            assert!(
                documented.contains(&&r.status.to_string()),
                "{upper} {path} answered {} but documents {documented:?}",
                r.status
            );
        }
        let unlisted = ["GET", "POST", "PUT", "DELETE"]
            .into_iter()
            .find(|m| !methods.contains(&m.to_lowercase()))
            .expect("an unlisted method");
        let r = c.api(unlisted, &concrete, None, None).await;
        assert_problem(&r, 405);
        let mut allow: Vec<String> = methods.iter().map(|m| m.to_uppercase()).collect();
        allow.sort();
        let mut got: Vec<String> = r
            .header("allow")
            .unwrap_or_default()
            .split(", ")
            .map(str::to_string)
            .collect();
        got.sort();
        assert_eq!(got, allow, "{unlisted} {path}");
    }
    assert_problem(&c.api("GET", "/api/v1/nothing-here", None, None).await, 404);
}

/// What fuzzers send and no person types: huge page numbers, NUL characters, whole numbers
/// written as decimals. Each gets a clear answer or is used as meant; none is a 500.
#[actix_web::test]
async fn odd_input_gets_an_answer_never_a_server_error() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.create_user("root", PASSWORD, "admin");
    let (admin, _) = tokens(&app, "root").await;
    let c = app.client();

    let v = assert_problem(
        &c.api(
            "GET",
            "/api/v1/people?page=901200832033164544",
            Some(&admin),
            None,
        )
        .await,
        422,
    );
    assert!(v["errors"]["page"].is_string());
    let r = c
        .api(
            "GET",
            "/api/v1/people?q=Ada%00&department=Eng",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        parse(&r.body)["total"],
        1,
        "the NUL is removed, the search runs"
    );

    let r = c
        .api(
            "POST",
            "/api/v1/grants",
            Some(&admin),
            Some(
                json!({"person": "ada@example.com", "product_id": pro as f64,
                        "note": "via\u{0}script"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let note: String = {
        use diesel::prelude::*;
        use portalops::db::schema::access_grants;
        access_grants::table
            .filter(access_grants::user_id.eq(ada))
            .select(access_grants::note)
            .first(&mut app.conn())
            .expect("grant")
    };
    assert_eq!(note, "viascript");

    // The pages: the same NUL and page number give a page, not an error.
    let browser = app.client();
    browser.login("root", PASSWORD).await;
    for page in [
        "/directory?q=Ada%00",
        "/directory?page=901200832033164544",
        "/inventory?page=9223372036854775807&q=%00",
        "/payments?page=9223372036854775807",
        "/workflows?page=9223372036854775807",
    ] {
        let r = browser.get(page).await;
        assert_eq!(r.status, 200, "{page}: {}", r.body);
    }
    let r = browser.get("/directory?q=Ada%00").await;
    assert!(r.body.contains("Ada Lovelace"));
}
