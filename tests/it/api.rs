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
    let no_reason = json!({"reason": ""});
    let record = app.insert_billing(pro, "annual", "100", "EUR", None);
    let c = app.client();
    let r = c
        .api(
            "POST",
            "/api/v1/workflows/onboarding",
            bearer[0].as_deref(),
            Some(
                json!({"email": "new@example.com", "full_name": "New Person",
                        "start_date": "2030-01-06", "product_ids": [pro]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let wf = parse(&r.body)["id"].as_i64().expect("workflow");
    let task = parse(
        &c.api("GET", "/api/v1/tasks", bearer[3].as_deref(), None)
            .await
            .body,
    )[0]["id"]
        .as_i64()
        .expect("pa_in's task");
    let note = parse(
        &c.api("GET", "/api/v1/notifications", bearer[3].as_deref(), None)
            .await
            .body,
    )[0]["id"]
        .as_i64()
        .expect("pa_in's notification");
    let r = c
        .api_upload(
            &format!("/api/v1/billing-records/{record}/attachments"),
            bearer[0].as_deref().expect("admin"),
            "invoice.pdf",
            b"%PDF-1.4 matrix",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let attachment = parse(&r.body)["id"].as_i64().expect("attachment");
    let card_in_note = json!({"note": "card 4111 1111 1111 1111"});
    #[rustfmt::skip]
    let rows: Vec<(&str, String, Option<Value>, [u16; 6])> = vec![
        ("GET", "/api/v1/me".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", "/api/v1/tokens".into(), None, [200, 200, 200, 200, 200, 401]),
        ("POST", "/api/v1/tokens".into(), Some(json!({})), [422, 422, 422, 422, 422, 401]),
        ("DELETE", "/api/v1/tokens/999999".into(), None, [404, 404, 404, 404, 404, 401]),
        ("GET", "/api/v1/services".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/v1/services/{slack}"), None, [200, 200, 404, 200, 404, 401]),
        ("GET", "/api/v1/people".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", "/api/v1/audit".into(), None, [200, 403, 403, 403, 403, 401]),
        ("POST", "/api/v1/workflows/offboarding".into(), Some(json!({"email": "nobody@example.com", "last_day": "2026-12-31"})), [422, 403, 403, 403, 403, 401]),
        ("GET", format!("/api/v1/people/{ada}"), None, [200, 200, 200, 200, 200, 401]),
        ("POST", "/api/v1/grants".into(), Some(unknown_person), [422, 422, 404, 422, 404, 401]),
        ("POST", format!("/api/v1/grants/{revoked}/revoke"), Some(reason), [409, 409, 404, 409, 404, 401]),
        ("GET", format!("/api/v1/grants/{revoked}"), None, [200, 200, 404, 200, 404, 401]),
        ("GET", "/api/v1/grants/999999".into(), None, [404, 404, 404, 404, 404, 401]),
        ("GET", "/api/v1/workflows".into(), None, [200, 403, 403, 403, 403, 401]),
        ("GET", format!("/api/v1/workflows/{wf}"), None, [200, 403, 403, 403, 403, 401]),
        ("POST", format!("/api/v1/workflows/{wf}/cancel"), Some(no_reason.clone()), [422, 403, 403, 403, 403, 401]),
        ("GET", "/api/v1/tasks".into(), None, [200, 200, 200, 200, 200, 401]),
        // The task is the product administrator's (and the Admins'); the service's
        // administrator gets it only when the product has none.
        ("GET", format!("/api/v1/tasks/{task}"), None, [200, 404, 404, 200, 404, 401]),
        ("POST", format!("/api/v1/tasks/{task}/not-needed"), Some(no_reason), [422, 404, 404, 422, 404, 401]),
        ("GET", "/api/v1/notifications".into(), None, [200, 200, 200, 200, 200, 401]),
        ("POST", format!("/api/v1/notifications/{note}/read"), None, [404, 404, 404, 200, 404, 401]),
        ("GET", "/api/v1/billing-records".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/v1/billing-records/{record}"), None, [200, 200, 404, 200, 404, 401]),
        ("POST", "/api/v1/billing-records".into(), Some(json!({})), [422, 422, 422, 422, 422, 401]),
        ("PUT", format!("/api/v1/billing-records/{record}"), Some(json!({})), [422, 422, 404, 422, 404, 401]),
        ("POST", format!("/api/v1/billing-records/{record}/attachments"), Some(json!({})), [400, 400, 404, 400, 404, 401]),
        ("GET", format!("/api/v1/products/{pro}"), None, [200, 200, 404, 200, 404, 401]),
        ("PUT", format!("/api/v1/people/{ada}/role"), Some(json!({})), [422, 403, 403, 403, 403, 401]),
        ("POST", format!("/api/v1/services/{slack}/admins"), Some(json!({})), [422, 403, 404, 403, 404, 401]),
        ("DELETE", format!("/api/v1/services/{slack}/admins/{ada}"), None, [204, 403, 404, 403, 404, 401]),
        ("POST", format!("/api/v1/products/{pro}/admins"), Some(json!({})), [422, 403, 403, 403, 403, 401]),
        ("DELETE", format!("/api/v1/products/{pro}/admins/{ada}"), None, [204, 403, 403, 403, 403, 401]),
        ("GET", "/api/v1/templates".into(), None, [200, 403, 403, 403, 403, 401]),
        ("POST", "/api/v1/templates".into(), Some(json!({})), [422, 403, 403, 403, 403, 401]),
        ("GET", "/api/v1/templates/999".into(), None, [404, 403, 403, 403, 403, 401]),
        ("DELETE", "/api/v1/templates/999".into(), None, [404, 403, 403, 403, 403, 401]),
        ("PUT", "/api/v1/templates/999".into(), Some(json!({})), [422, 403, 403, 403, 403, 401]),
        ("POST", "/api/v1/workflows/onboarding".into(), Some(json!({})), [422, 403, 403, 403, 403, 401]),
        // A card number is refused at the door (web::input), before any object is looked
        // up: the same 422 for every caller and every id, so it confirms nothing. (The
        // not-needed row above checks that outsiders get 404 on the task.)
        ("POST", format!("/api/v1/tasks/{task}/complete"), Some(card_in_note.clone()), [422, 422, 422, 422, 422, 401]),
        ("POST", "/api/v1/tasks/999999/complete".into(), Some(card_in_note), [422, 422, 422, 422, 422, 401]),
        ("POST", "/api/v1/notifications/read".into(), None, [200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/v1/attachments/{attachment}"), None, [200, 200, 404, 200, 404, 401]),
    ];
    for (method, path, body, expected) in rows {
        let actors = ["admin", "sa_in", "sa_out", "pa_in", "pa_out", "anonymous"];
        for ((token, want), actor) in bearer.iter().zip(expected).zip(actors) {
            let r = c.api(method, &path, token.as_deref(), body.clone()).await;
            assert_eq!(r.status, want, "{method} {path} as {actor}: {}", r.body);
        }
    }
    assert_eq!(app.count("access_grants"), 1, "nothing was granted");
    assert_eq!(app.count("billing_records"), 1, "nothing was added");
    assert_eq!(app.count("attachments"), 1, "only the one uploaded before");
}

/// Every `Location` the API sends answers 200 to the caller who got it. Each operation the
/// OpenAPI document gives a `Location` header is called here (the list is checked against the
/// document), by the Admin and, where they may call it, by a product's administrator.
#[actix_web::test]
async fn every_location_the_api_sends_answers_200_to_the_same_caller() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pa", PASSWORD, "product_admin");
    app.make_product_admin("pa", pro);
    app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.insert_person("Bob Stone", "bob@example.com", "Eng");
    let leaver = app.insert_person("Lee Leaver", "lee@example.com", "Sales");
    app.insert_grant(leaver, pro);
    let record = app.insert_billing(pro, "annual", "100", "EUR", None);
    let (admin, _) = tokens(&app, "root").await;
    let (pa, _) = tokens(&app, "pa").await;
    let c = app.client();

    let doc = parse(&c.api("GET", "/api/v1/openapi.json", None, None).await.body);
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let sends_location = op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
                .any(|r| r["headers"].get("Location").is_some());
            if sends_location {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }

    let billing = |n: &str| {
        json!({"product_id": pro, "reference": n, "cycle": "annual", "amount": "10",
               "currency": "EUR", "payment_method": "invoice"})
    };
    #[rustfmt::skip]
    let calls: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("POST /api/v1/grants", "/api/v1/grants".into(), Some(json!({"person": "ada@example.com", "product_id": pro})), &admin),
        ("POST /api/v1/grants", "/api/v1/grants".into(), Some(json!({"person": "bob@example.com", "product_id": pro})), &pa),
        ("POST /api/v1/billing-records", "/api/v1/billing-records".into(), Some(billing("B-1")), &admin),
        ("POST /api/v1/billing-records", "/api/v1/billing-records".into(), Some(billing("B-2")), &pa),
        ("POST /api/v1/billing-records/{id}/attachments", format!("/api/v1/billing-records/{record}/attachments"), None, &admin),
        ("POST /api/v1/billing-records/{id}/attachments", format!("/api/v1/billing-records/{record}/attachments"), None, &pa),
        ("POST /api/v1/templates", "/api/v1/templates".into(), Some(json!({"name": "Eng kit", "product_ids": [pro]})), &admin),
        ("POST /api/v1/workflows/onboarding", "/api/v1/workflows/onboarding".into(), Some(json!({"email": "new@example.com", "full_name": "New Hire", "start_date": "2030-01-07", "product_ids": [pro]})), &admin),
        ("POST /api/v1/workflows/offboarding", "/api/v1/workflows/offboarding".into(), Some(json!({"email": "lee@example.com", "last_day": "2030-01-31"})), &admin),
    ];
    let mut exercised = std::collections::BTreeSet::new();
    for (operation, path, body, bearer) in calls {
        let r = match body {
            Some(body) => c.api("POST", &path, Some(bearer), Some(body)).await,
            None => {
                c.api_upload(&path, bearer, "invoice.pdf", b"%PDF-1.4 located")
                    .await
            }
        };
        assert_eq!(r.status, 201, "{operation}: {}", r.body);
        let location = r.location();
        assert!(
            location.starts_with("/api/v1/"),
            "{operation}: {location:?}"
        );
        let got = c.api("GET", &location, Some(bearer), None).await;
        assert_eq!(
            got.status, 200,
            "{operation} sent Location {location}: {}",
            got.body
        );
        exercised.insert(operation.to_string());
    }
    assert_eq!(
        exercised, documented,
        "every operation documented with a Location is exercised"
    );
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

/// Billing records through the API: the register's scope, masked cards, the page's
/// validation (a full card number refused and stored nowhere), audit, attachments.
#[actix_web::test]
async fn billing_records_are_scoped_masked_validated_and_take_attachments() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    let zoom = app.insert_service("Zoom");
    let meetings = app.insert_product(zoom, "Zoom Meetings", None);
    let visa = app.insert_billing(
        pro,
        "monthly",
        "120.50",
        "EUR",
        Some(("Visa", "4242", 12, 2031)),
    );
    let other = app.insert_billing(meetings, "annual", "999", "USD", None);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pat", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    let (admin, _) = tokens(&app, "root").await;
    let (pat, _) = tokens(&app, "pat").await;
    let c = app.client();

    let v = parse(
        &c.api("GET", "/api/v1/billing-records", Some(&pat), None)
            .await
            .body,
    );
    assert_eq!(v["total"], 1, "only the PA's product");
    let rec = &v["items"][0];
    assert_eq!(rec["id"], visa);
    assert_eq!(rec["amount"], "120.50");
    assert_eq!(rec["yearly"], "1446.00");
    assert_eq!(rec["card"]["last4"], "4242");
    assert_eq!(rec["card"]["brand"], "Visa");
    assert_eq!(
        parse(
            &c.api(
                "GET",
                "/api/v1/billing-records?currency=usd",
                Some(&admin),
                None
            )
            .await
            .body
        )["total"],
        1
    );
    assert_problem(
        &c.api(
            "GET",
            &format!("/api/v1/billing-records/{other}"),
            Some(&pat),
            None,
        )
        .await,
        404,
    );

    // A full card number in any field is refused and stored nowhere.
    let card = "4111 1111 1111 1111";
    let v = assert_problem(
        &c.api(
            "POST",
            "/api/v1/billing-records",
            Some(&pat),
            Some(
                json!({"product_id": pro, "cycle": "annual", "amount": "10", "currency": "EUR",
                        "payment_method": "invoice", "notes": format!("card {card}")}),
            ),
        )
        .await,
        422,
    );
    assert!(v["errors"]["notes"].is_string(), "{v}");
    assert_eq!(app.count("billing_records"), 2);
    // Another product's record is out of the PA's scope.
    let v = assert_problem(
        &c.api(
            "POST",
            "/api/v1/billing-records",
            Some(&pat),
            Some(
                json!({"product_id": meetings, "cycle": "annual", "amount": "10",
                        "currency": "EUR", "payment_method": "invoice"}),
            ),
        )
        .await,
        422,
    );
    assert!(v["errors"]["product_id"].is_string(), "{v}");

    let r = c
        .api(
            "POST",
            "/api/v1/billing-records",
            Some(&pat),
            Some(
                json!({"product_id": pro, "reference": "C-7", "cycle": "quarterly",
                        "amount": 300.0, "currency": "eur", "payment_method": "card",
                        "card_brand": "Mastercard", "card_last4": "5100",
                        "card_exp_month": 3, "card_exp_year": 2030,
                        "next_renewal_on": "2027-01-31", "auto_renew": true,
                        "notice_value": 1, "notice_unit": "months"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = parse(&r.body);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(r.location(), format!("/api/v1/billing-records/{id}"));
    assert_eq!(created["amount"], "300.00");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["cancellation_deadline"], "2026-12-31");
    assert_eq!(created["card"]["last4"], "5100");
    assert!(app.audit_actions().iter().any(|a| a == "billing.created"));

    // PUT replaces the record: the card goes when the method changes.
    let r = c
        .api(
            "PUT",
            &format!("/api/v1/billing-records/{id}"),
            Some(&pat),
            Some(
                json!({"product_id": pro, "reference": "C-7", "cycle": "annual",
                        "amount": "1100.00", "currency": "EUR", "payment_method": "invoice"}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let saved = parse(&r.body);
    assert_eq!(saved["cycle"], "annual");
    assert!(saved["card"].is_null());
    assert!(app.audit_actions().iter().any(|a| a == "billing.updated"));

    // Attachments: the type comes from the content; the download is the same bytes.
    let pdf = b"%PDF-1.4\n% test invoice\n";
    let r = c
        .api_upload(
            &format!("/api/v1/billing-records/{id}/attachments"),
            &pat,
            "inv.pdf",
            pdf,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let href = parse(&r.body)["href"].as_str().expect("href").to_string();
    let r = c
        .api_upload(
            &format!("/api/v1/billing-records/{id}/attachments"),
            &pat,
            "x.pdf",
            b"MZ not a pdf",
        )
        .await;
    assert_problem(&r, 415);
    let r = c
        .api_upload(
            &format!("/api/v1/billing-records/{other}/attachments"),
            &pat,
            "x.pdf",
            pdf,
        )
        .await;
    assert_problem(&r, 404);
    let r = c.api("GET", &href, Some(&pat), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_bytes(), pdf);
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));
    assert!(r
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment")));
    let detail = parse(
        &c.api(
            "GET",
            &format!("/api/v1/billing-records/{id}"),
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    assert_eq!(detail["attachments"][0]["name"], "inv.pdf");
    assert_eq!(detail["attachments"][0]["href"], href);
}

/// Workflows and tasks through the API: the HR system starts an onboarding, the product's
/// administrator sees and completes the task (which grants the access), notifications follow.
#[actix_web::test]
async fn tasks_are_listed_completed_and_notified_through_the_api() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", None);
    let zoom = app.insert_service("Zoom");
    let meetings = app.insert_product(zoom, "Zoom Meetings", None);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pat", PASSWORD, "product_admin");
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    app.make_product_admin("pam", meetings);
    let (admin, _) = tokens(&app, "root").await;
    let (pat, _) = tokens(&app, "pat").await;
    let (pam, _) = tokens(&app, "pam").await;
    let c = app.client();

    let r = c
        .api(
            "POST",
            "/api/v1/workflows/onboarding",
            Some(&admin),
            Some(
                json!({"email": "grace@example.com", "full_name": "Grace Hopper",
                        "start_date": "2030-01-06", "product_ids": [pro, meetings]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let wf = parse(&r.body)["id"].as_i64().expect("id");

    let v = parse(
        &c.api(
            "GET",
            "/api/v1/workflows?kind=onboarding",
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["person"], "Grace Hopper");
    assert_eq!(v["items"][0]["progress"]["open"], 2);
    let detail = parse(
        &c.api(
            "GET",
            &format!("/api/v1/workflows/{wf}"),
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    assert_eq!(detail["tasks"].as_array().map(Vec::len), Some(2));
    assert_problem(
        &c.api("GET", &format!("/api/v1/workflows/{wf}"), Some(&pat), None)
            .await,
        403,
    );

    let mine = parse(&c.api("GET", "/api/v1/tasks", Some(&pat), None).await.body);
    let mine = mine.as_array().expect("tasks");
    assert_eq!(mine.len(), 1, "only the task for pat's product");
    assert_eq!(mine[0]["product"], "Slack → Slack Pro");
    let task = mine[0]["id"].as_i64().expect("task id");
    assert_problem(
        &c.api("GET", &format!("/api/v1/tasks/{task}"), Some(&pam), None)
            .await,
        404,
    );
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/tasks/{task}/complete"),
            Some(&pam),
            Some(json!({})),
        )
        .await,
        404,
    );

    let notes = parse(
        &c.api("GET", "/api/v1/notifications", Some(&pat), None)
            .await
            .body,
    );
    assert_eq!(notes[0]["kind"], "task.assigned");
    assert_eq!(notes[0]["read"], false);
    let note = notes[0]["id"].as_i64().expect("note id");
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/notifications/{note}/read"),
            Some(&pam),
            None,
        )
        .await,
        404,
    );
    let r = c
        .api(
            "POST",
            &format!("/api/v1/notifications/{note}/read"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(parse(&r.body)["marked"], 1);

    let r = c
        .api(
            "POST",
            &format!("/api/v1/tasks/{task}/complete"),
            Some(&pat),
            Some(json!({"account_identifier": "grace@slack"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r.body)["workflow_id"], wf);
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/tasks/{task}/complete"),
            Some(&pat),
            Some(json!({})),
        )
        .await,
        409,
    );
    let grace = parse(
        &c.api("GET", "/api/v1/people?q=grace", Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(
        grace["items"][0]["grants"], 1,
        "completing the task granted the access"
    );
    assert!(app.audit_actions().iter().any(|a| a == "task.completed"));

    // The other task is closed as not needed; the workflow completes.
    let other = parse(&c.api("GET", "/api/v1/tasks", Some(&pam), None).await.body)[0]["id"]
        .as_i64()
        .expect("pam's task");
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/tasks/{other}/not-needed"),
            Some(&pam),
            Some(json!({"reason": " "})),
        )
        .await,
        422,
    );
    let r = c
        .api(
            "POST",
            &format!("/api/v1/tasks/{other}/not-needed"),
            Some(&pam),
            Some(json!({"reason": "has Teams"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let done = parse(
        &c.api(
            "GET",
            &format!("/api/v1/workflows/{wf}"),
            Some(&admin),
            None,
        )
        .await
        .body,
    );
    assert_eq!(done["status"], "completed");
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/workflows/{wf}/cancel"),
            Some(&admin),
            Some(json!({"reason": "late"})),
        )
        .await,
        409,
    );
    let starter = parse(
        &c.api("GET", "/api/v1/notifications", Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(starter[0]["kind"], "workflow.completed");
    let r = c
        .api("POST", "/api/v1/notifications/read", Some(&admin), None)
        .await;
    assert!(parse(&r.body)["marked"].as_u64().is_some_and(|n| n >= 1));
}

/// Roles, scopes, templates and products through the API: the pages' rules (a login role
/// needs a username and a password the first time, the last Admin stays, a scope needs the
/// matching role), audited, and what they change is what the next call sees.
#[actix_web::test]
async fn roles_scopes_templates_and_products_follow_the_pages_rules() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Slack Pro", Some(10));
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    app.insert_grant(ada, pro);
    app.create_user("root", PASSWORD, "admin");
    let root = app.user_id("root");
    let (admin, _) = tokens(&app, "root").await;
    let c = app.client();

    // A login role needs a username and a first password.
    let v = assert_problem(
        &c.api(
            "PUT",
            &format!("/api/v1/people/{ada}/role"),
            Some(&admin),
            Some(json!({"role": "product_admin"})),
        )
        .await,
        422,
    );
    assert!(v["errors"]["username"].is_string(), "{v}");
    let r = c
        .api(
            "PUT",
            &format!("/api/v1/people/{ada}/role"),
            Some(&admin),
            Some(
                json!({"role": "product_admin", "username": "ada", "password": PASSWORD,
                        "login_enabled": true}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r.body)["role"], "product_admin");
    // The last Admin stays.
    let v = assert_problem(
        &c.api(
            "PUT",
            &format!("/api/v1/people/{root}/role"),
            Some(&admin),
            Some(json!({"role": "user"})),
        )
        .await,
        409,
    );
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("Admin")),
        "{v}"
    );

    // A scope needs the matching role; the new Product Administrator sees the product.
    assert_problem(
        &c.api(
            "POST",
            &format!("/api/v1/services/{slack}/admins"),
            Some(&admin),
            Some(json!({"person_id": ada})),
        )
        .await,
        409,
    );
    let r = c
        .api(
            "POST",
            &format!("/api/v1/products/{pro}/admins"),
            Some(&admin),
            Some(json!({"person_id": ada})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (ada_token, _) = tokens(&app, "ada").await;
    let me = parse(
        &c.api("GET", "/api/v1/me", Some(&ada_token), None)
            .await
            .body,
    );
    assert_eq!(me["products"], json!([pro]));
    let product = parse(
        &c.api(
            "GET",
            &format!("/api/v1/products/{pro}"),
            Some(&ada_token),
            None,
        )
        .await
        .body,
    );
    assert_eq!(product["seats_used"], 1);
    assert_eq!(product["seats_purchased"], 10);
    assert_eq!(product["admins"][0]["email"], "ada@example.com");
    assert_eq!(product["grants"]["items"][0]["person"], "Ada Lovelace");
    // Removed again, the product is out of her scope at her next call.
    let r = c
        .api(
            "DELETE",
            &format!("/api/v1/products/{pro}/admins/{ada}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_problem(
        &c.api(
            "GET",
            &format!("/api/v1/products/{pro}"),
            Some(&ada_token),
            None,
        )
        .await,
        404,
    );
    let actions = app.audit_actions();
    for action in [
        "person.role_changed",
        "scope.product_admin_added",
        "scope.product_admin_removed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }

    // Templates: validated like the page (existing products, a unique name).
    assert_problem(
        &c.api(
            "POST",
            "/api/v1/templates",
            Some(&admin),
            Some(json!({"name": "Eng kit", "product_ids": [pro, 999_999]})),
        )
        .await,
        422,
    );
    let r = c
        .api(
            "POST",
            "/api/v1/templates",
            Some(&admin),
            Some(json!({"name": "Eng kit", "department": "Eng", "product_ids": [pro, pro]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let t = parse(&r.body)["id"].as_i64().expect("template");
    assert_problem(
        &c.api(
            "POST",
            "/api/v1/templates",
            Some(&admin),
            Some(json!({"name": "eng KIT", "product_ids": [pro]})),
        )
        .await,
        422,
    );
    let got = parse(
        &c.api("GET", &format!("/api/v1/templates/{t}"), Some(&admin), None)
            .await
            .body,
    );
    assert_eq!(got["product_ids"], json!([pro]));
    assert_problem(
        &c.api(
            "PUT",
            "/api/v1/templates/999999",
            Some(&admin),
            Some(json!({"name": "Ghost", "product_ids": [pro]})),
        )
        .await,
        404,
    );
    let r = c
        .api(
            "DELETE",
            &format!("/api/v1/templates/{t}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        parse(
            &c.api("GET", "/api/v1/templates", Some(&admin), None)
                .await
                .body
        ),
        json!([])
    );
    assert!(app.audit_actions().iter().any(|a| a == "template.deleted"));
}

/// An access token stops working when it expires (no leeway); the refresh token gets a new
/// one, and the session goes on.
#[actix_web::test]
async fn an_expired_access_token_is_refused_until_refreshed() {
    let app = TestApp::spawn_with(&[("PORTALOPS_ACCESS_TOKEN_TTL", "1")]).await;
    app.create_user("ops", PASSWORD, "admin");
    let c = app.client();
    let r = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ops", "password": PASSWORD})),
        )
        .await;
    let v = parse(&r.body);
    assert_eq!(v["expires_in"], 1);
    let access = v["access_token"].as_str().expect("access").to_string();
    let refresh = v["refresh_token"].as_str().expect("refresh").to_string();
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&access), None).await.status,
        200
    );

    actix_web::rt::time::sleep(std::time::Duration::from_millis(2100)).await;
    let v = assert_problem(&c.api("GET", "/api/v1/me", Some(&access), None).await, 401);
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("expired")),
        "{v}"
    );

    let r = c
        .api(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = parse(&r.body)["access_token"]
        .as_str()
        .expect("new")
        .to_string();
    let me = c.api("GET", "/api/v1/me", Some(&fresh), None).await;
    assert_eq!(parse(&me.body)["username"], "ops");
}

/// Fires `n` copies of one API call at once and returns their statuses.
async fn at_once(
    app: &TestApp,
    n: usize,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Vec<u16> {
    let clients: Vec<_> = (0..n).map(|_| app.client()).collect();
    let calls = clients
        .iter()
        .map(|c| c.api(method, path, Some(token), Some(body.clone())));
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| {
            assert!(r.status < 500, "{} {path}: {} {}", method, r.status, r.body);
            if r.status == 409 {
                let v = parse(&r.body);
                assert!(
                    !v["detail"].as_str().unwrap_or_default().is_empty(),
                    "a 409 says why: {v}"
                );
            }
            r.status
        })
        .collect()
}

#[actix_web::test]
async fn identical_requests_at_once_answer_success_or_409_never_500() {
    use diesel::prelude::*;
    use portalops::db::schema::{access_grants, users, workflows};
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let (admin, _) = tokens(&app, "root").await;
    let service = app.insert_service("Slack");
    for round in 0..4 {
        let product = app.insert_product(service, &format!("Slack {round}"), None);
        let person = app.insert_person(
            &format!("Ann {round}"),
            &format!("ann{round}@example.com"),
            "Sales",
        );
        // Identical grants: one is made, the others are told the person has it already.
        let statuses = at_once(
            &app,
            4,
            "POST",
            "/api/v1/grants",
            &admin,
            json!({"person": format!("ann{round}@example.com"), "product_id": product}),
        )
        .await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        let active: i64 = access_grants::table
            .filter(access_grants::user_id.eq(person))
            .filter(access_grants::revoked_at.is_null())
            .count()
            .get_result(&mut app.conn())
            .expect("count");
        assert_eq!(active, 1);

        // Onboardings of one new person, then of one existing person: one opens.
        let onboard = |email: String, product: i64| {
            json!({"email": email, "full_name": "New Hire", "start_date": "2030-01-15",
                   "product_ids": [product]})
        };
        // (Ann gets a product she does not have, or each onboarding would complete at once.)
        let extra = app.insert_product(service, &format!("Huddles {round}"), None);
        for (email, product) in [
            (format!("new{round}@example.com"), product),
            (format!("ann{round}@example.com"), extra),
        ] {
            let statuses = at_once(
                &app,
                3,
                "POST",
                "/api/v1/workflows/onboarding",
                &admin,
                onboard(email.clone(), product),
            )
            .await;
            assert_eq!(
                statuses.iter().filter(|s| **s == 201).count(),
                1,
                "{email}: {statuses:?}"
            );
        }

        // Offboardings of one person: one opens.
        let statuses = at_once(
            &app,
            3,
            "POST",
            "/api/v1/workflows/offboarding",
            &admin,
            json!({"email": format!("ann{round}@example.com"), "last_day": "2030-06-30"}),
        )
        .await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
    }
    let open_per_person: Vec<(i64, String, i64)> = workflows::table
        .filter(workflows::status.eq("open"))
        .group_by((workflows::person_id, workflows::kind))
        .select((
            workflows::person_id,
            workflows::kind,
            diesel::dsl::count_star(),
        ))
        .load(&mut app.conn())
        .expect("workflows");
    assert!(
        open_per_person.iter().all(|w| w.2 == 1),
        "{open_per_person:?}"
    );
    let people: i64 = users::table
        .filter(users::email.like("new%@example.com"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(people, 4, "each new person once");
}

#[actix_web::test]
async fn two_admins_demoting_each_other_at_once_never_get_a_500() {
    use diesel::prelude::*;
    use portalops::db::schema::users;
    let app = TestApp::spawn().await;
    let a = app.create_user("amy", PASSWORD, "admin");
    let b = app.create_user("bob", PASSWORD, "admin");
    for _ in 0..6 {
        // A demotion ends the demoted Admin's sessions: fresh tokens each round.
        let (amy, _) = tokens(&app, "amy").await;
        let (bob, _) = tokens(&app, "bob").await;
        let (ca, cb) = (app.client(), app.client());
        let (ra, rb) = futures_util::future::join(
            ca.api(
                "PUT",
                &format!("/api/v1/people/{b}/role"),
                Some(&amy),
                Some(json!({"role": "user"})),
            ),
            cb.api(
                "PUT",
                &format!("/api/v1/people/{a}/role"),
                Some(&bob),
                Some(json!({"role": "user"})),
            ),
        )
        .await;
        for r in [&ra, &rb] {
            // 401/403: the other's demotion landed first and ended this one's session.
            assert!(
                [200, 401, 403, 409].contains(&r.status),
                "{} {}",
                r.status,
                r.body
            );
        }
        let admins: i64 = users::table
            .filter(users::role.eq("admin"))
            .count()
            .get_result(&mut app.conn())
            .expect("count");
        assert_eq!(admins, 1, "the last Admin stays: {} {}", ra.body, rb.body);
        diesel::update(users::table.filter(users::id.eq_any([a, b])))
            .set(users::role.eq("admin"))
            .execute(&mut app.conn())
            .expect("both Admins again");
    }
}

#[actix_web::test]
async fn a_duplicate_template_name_is_a_field_error_not_a_500() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let (admin, _) = tokens(&app, "root").await;
    let c = app.client();
    let p = app.insert_product(app.insert_service("Slack"), "Slack Pro", None);
    // PostgreSQL's lower() under the C locale leaves "É" alone, Rust's does not: the check
    // must compare as the unique index does.
    for name in ["Équipe Ventes", "Ops"] {
        let r = c
            .api(
                "POST",
                "/api/v1/templates",
                Some(&admin),
                Some(json!({"name": name, "product_ids": [p]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let again = assert_problem(
        &c.api(
            "POST",
            "/api/v1/templates",
            Some(&admin),
            Some(json!({"name": "Équipe Ventes", "product_ids": [p]})),
        )
        .await,
        422,
    );
    assert_eq!(
        again["errors"]["name"],
        "A template with this name already exists."
    );
    let ops: i64 = parse(
        &c.api("GET", "/api/v1/templates", Some(&admin), None)
            .await
            .body,
    )
    .as_array()
    .and_then(|a| a.iter().find(|t| t["name"] == "Ops"))
    .and_then(|t| t["id"].as_i64())
    .expect("Ops");
    let saved = assert_problem(
        &c.api(
            "PUT",
            &format!("/api/v1/templates/{ops}"),
            Some(&admin),
            Some(json!({"name": "Équipe Ventes", "product_ids": [p]})),
        )
        .await,
        422,
    );
    assert_eq!(
        saved["errors"]["name"],
        "A template with this name already exists."
    );
    // And the page shows the message next to the name.
    let root = app.client();
    assert_eq!(root.login("root", PASSWORD).await.status, 303);
    let page = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[("name", "Équipe Ventes"), ("product_ids", &p.to_string())],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page
        .body
        .contains("A template with this name already exists."));
}

#[actix_web::test]
async fn a_second_open_onboarding_of_one_person_is_refused() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let (admin, _) = tokens(&app, "root").await;
    let c = app.client();
    let p = app.insert_product(app.insert_service("Slack"), "Slack Pro", None);
    let q = app.insert_product(app.insert_service("Zoom"), "Zoom Pro", None);
    let body = |product: i64| {
        json!({"email": "nina@example.com", "full_name": "Nina New", "start_date": "2030-01-15",
               "product_ids": [product]})
    };
    let r = c
        .api(
            "POST",
            "/api/v1/workflows/onboarding",
            Some(&admin),
            Some(body(p)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = assert_problem(
        &c.api(
            "POST",
            "/api/v1/workflows/onboarding",
            Some(&admin),
            Some(body(q)),
        )
        .await,
        422,
    );
    assert_eq!(
        v["errors"]["email"],
        "An onboarding for this person is already open."
    );
    assert_eq!(app.count("workflows"), 1);
    assert_eq!(app.count("tasks"), 1, "no second set of grant tasks");
}
