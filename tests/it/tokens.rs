//! Long-lived API tokens (issue #17, SECURITY.md row 29): shown once, stored hashed, scopes
//! that only narrow the owner's rights (checked for every route of the API by one table),
//! revocation effective at once on every instance; expiry, the owner's deactivation, the
//! pages, the audit entries and the last use.

use serde_json::{json, Value};

use crate::common::client::Resp;
use crate::common::{TestApp, PASSWORD};
use portalops::api::route_scopes::{Need, ROUTES};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The random part of a token's secret (`po_<8 hex>_<random>`); the random part may itself
/// hold `_`, so it is what follows the second one, not the last.
fn random_part(secret: &str) -> &str {
    secret.splitn(3, '_').nth(2).expect("po_<prefix>_<random>")
}

/// Makes an API token through the API: (id, secret).
async fn make_token(app: &TestApp, jwt: &str, scopes: &[&str]) -> (i64, String) {
    let r = app
        .client()
        .api(
            "POST",
            "/api/v1/tokens",
            Some(jwt),
            Some(json!({"name": "script", "scopes": scopes})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = parse(&r.body);
    (
        v["id"].as_i64().expect("id"),
        v["token"].as_str().expect("token").to_string(),
    )
}

fn problem(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    parse(&r.body)["detail"]
        .as_str()
        .expect("detail")
        .to_string()
}

/// A concrete path for a pattern: every `{…}` becomes `id`.
fn concrete(pattern: &str, id: i64) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        out.push_str(&id.to_string());
        rest = &rest[rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1)..];
    }
    out.push_str(rest);
    out
}

fn sql(app: &TestApp, statement: &str) {
    diesel::RunQueryDsl::execute(diesel::sql_query(statement), &mut app.conn()).expect(statement);
}

#[derive(diesel::QueryableByName)]
struct LastUse {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_used_ip: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    token_hash: Vec<u8>,
}

fn last_use(app: &TestApp, id: i64) -> LastUse {
    diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT last_used_at, last_used_ip, token_hash FROM api_tokens WHERE id = {id}"
        )),
        &mut app.conn(),
    )
    .expect("token row")
}

#[actix_web::test]
async fn a_token_made_through_the_api_is_shown_once_stored_hashed_works_and_records_its_use() {
    let logs = crate::common::logs::capture();
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let access = app.jwt("ops").await;
    let c = app.client();
    let (id, secret) = make_token(&app, &access, &["read"]).await;
    assert!(secret.starts_with("po_"), "{secret}");

    // It works on reads, as its owner.
    let me = c.api("GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(parse(&me.body)["username"], "ops");
    assert_eq!(
        c.api("GET", "/api/v1/services", Some(&secret), None)
            .await
            .status,
        200
    );

    // Listed by prefix, never the secret (nor through the token itself).
    for bearer in [&access, &secret] {
        let r = c.api("GET", "/api/v1/tokens", Some(bearer), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains(&secret), "the list shows the secret");
        let list = parse(&r.body);
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["state"], "active");
        assert!(secret.starts_with(list[0]["prefix"].as_str().expect("prefix")));
        assert_eq!(list[0]["scopes"].as_array().map(Vec::len), Some(5));
    }

    // Stored as its SHA-256 only: the secret is nowhere in the database, nor in the log.
    let row = last_use(&app, id);
    assert_eq!(row.token_hash, portalops::crypto::sha256(secret.as_bytes()));
    let dump = crate::cards::pg_dump(&app.db_url);
    assert!(dump.contains("api_tokens"), "the dump has the table");
    let random_part = random_part(&secret);
    assert!(!dump.contains(random_part), "the secret is in the database");
    if logs.installed() {
        assert!(!logs.text().contains(random_part), "the secret was logged");
    }

    // Audited, without the secret.
    assert!(app
        .audit_actions()
        .contains(&"api_token.create".to_string()));

    // The last use and its address are recorded, at most once a minute.
    let first = row.last_used_at.expect("last use recorded");
    assert_eq!(row.last_used_ip.as_deref(), Some("127.0.0.1"));
    app.state
        .clock
        .set(Some(first + chrono::Duration::seconds(30)));
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&secret), None).await.status,
        200
    );
    assert_eq!(
        last_use(&app, id).last_used_at,
        Some(first),
        "not a write per request"
    );
    let later = first + chrono::Duration::seconds(90);
    app.state.clock.set(Some(later));
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&secret), None).await.status,
        200
    );
    assert_eq!(last_use(&app, id).last_used_at, Some(later));
}

#[actix_web::test]
async fn a_token_made_on_the_page_is_shown_once_and_bad_fields_are_shown_next_to_them() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("ops", "admin").await;
    let profile = c.get("/account").await;
    assert!(
        profile.body.contains("href=\"/account/tokens\""),
        "linked from My account"
    );

    // Every wrong field at once, 422, what was typed kept.
    let r = c
        .submit(
            "/account/tokens",
            "/account/tokens",
            &[("name", ""), ("expires_on", "2001-01-01")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("The name is required."), "{}", r.body);
    assert!(
        r.body.contains("Choose today or a later day."),
        "{}",
        r.body
    );
    assert!(r.body.contains("Choose at least one scope."), "{}", r.body);
    assert!(
        r.body.contains("value=\"2001-01-01\""),
        "the day typed is kept"
    );
    let r = c
        .submit(
            "/account/tokens",
            "/account/tokens",
            &[
                ("name", "nightly export"),
                ("expires_on", "soon"),
                ("scope_billing", "read"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("value=\"nightly export\""),
        "the name typed is kept"
    );
    assert!(r.body.contains("Enter the day as YYYY-MM-DD"), "{}", r.body);
    assert!(
        r.body.contains("<option value=\"read\" selected>"),
        "the scope chosen is kept"
    );
    assert_eq!(app.count("api_tokens"), 0);

    // Made: the secret is on this answer, once.
    let r = c
        .submit(
            "/account/tokens",
            "/account/tokens",
            &[("name", "nightly export"), ("scope_billing", "read")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let marker = "class=\"feed-url new-token\">";
    let start = r.body.find(marker).expect("the secret is shown") + marker.len();
    let secret: String = r.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(secret.len() > 40, "{secret}");
    assert!(r.body.contains("shown this once"));
    let again = c.get("/account/tokens").await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains(&secret), "shown again on the list");
    assert!(again.body.contains(&secret[..11]), "the prefix is listed");
    assert!(again.body.contains("billing:read"));

    // It reads billing only.
    let api = app.client();
    assert_eq!(
        api.api("GET", "/api/v1/billing-records", Some(&secret), None)
            .await
            .status,
        200
    );
    let detail = problem(
        &api.api("GET", "/api/v1/people", Some(&secret), None).await,
        403,
    );
    assert!(detail.contains("people:read"), "{detail}");

    // Revoked from the page: 401 at the very next request.
    let id: i64 = {
        let v = parse(
            &api.api("GET", "/api/v1/tokens", Some(&secret), None)
                .await
                .body,
        );
        v[0]["id"].as_i64().expect("id")
    };
    let r = c
        .submit(
            "/account/tokens",
            &format!("/account/tokens/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let detail = problem(
        &api.api("GET", "/api/v1/billing-records", Some(&secret), None)
            .await,
        401,
    );
    assert!(detail.contains("revoked"), "{detail}");
    let listed = c.get("/account/tokens").await;
    assert!(listed.body.contains("revoked"));
    let actions = app.audit_actions();
    assert!(
        actions.contains(&"api_token.create".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"api_token.revoke".to_string()),
        "{actions:?}"
    );
}

/// A read-only token is refused on every route that changes anything, whatever the table
/// lists (not a hand-made list), with a reason; nothing changes.
#[actix_web::test]
async fn a_read_only_token_is_refused_on_every_write_route_and_allowed_every_read() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let access = app.jwt("ops").await;
    let (_, secret) = make_token(&app, &access, &["read"]).await;
    let audit_before = app.audit_actions().len();
    let c = app.client();
    let mut writes = 0;
    for (method, pattern, need) in ROUTES {
        if *need == Need::Public {
            continue;
        }
        let path = concrete(pattern, 1);
        let body = (*method != "GET").then(|| json!({}));
        let r = c.api(method, &path, Some(&secret), body).await;
        if *method == "GET" {
            assert_ne!(r.status, 401, "GET {pattern}: {}", r.body);
            assert!(
                !(r.status == 403 && r.body.contains("API token")),
                "GET {pattern} refused a read-only token: {}",
                r.body
            );
        } else {
            writes += 1;
            let detail = problem(&r, 403);
            assert!(detail.contains("API token"), "{method} {pattern}: {detail}");
            if let Need::Area(area, _) = need {
                assert!(
                    detail.contains(&format!("{area}:write")),
                    "{method} {pattern} does not name the scope: {detail}"
                );
            }
        }
    }
    assert!(writes >= 20, "only {writes} write routes");
    assert_eq!(app.audit_actions().len(), audit_before, "nothing changed");
}

#[actix_web::test]
async fn an_area_scope_narrows_to_that_area() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    let access = app.jwt("ops").await;
    let (_, people) = make_token(&app, &access, &["people:write"]).await;
    let c = app.client();
    // Through the gate to the handler, which validates as for a login.
    let r = c
        .api(
            "PUT",
            &format!("/api/v1/people/{ada}/role"),
            Some(&people),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        c.api("GET", "/api/v1/people", Some(&people), None)
            .await
            .status,
        200,
        "write includes read"
    );
    for (method, path, scope) in [
        ("POST", "/api/v1/billing-records", "billing:write"),
        ("GET", "/api/v1/billing-records", "billing:read"),
        ("GET", "/api/v1/services", "inventory:read"),
        ("GET", "/api/v1/audit", "audit:read"),
        ("POST", "/api/v1/workflows/onboarding", "workflows:write"),
    ] {
        let body = (method != "GET").then(|| json!({}));
        let detail = problem(&c.api(method, path, Some(&people), body).await, 403);
        assert!(detail.contains(scope), "{method} {path}: {detail}");
    }
    // A read scope does not write its area.
    let (_, billing_read) = make_token(&app, &access, &["billing:read"]).await;
    let detail = problem(
        &c.api(
            "POST",
            "/api/v1/billing-records",
            Some(&billing_read),
            Some(json!({})),
        )
        .await,
        403,
    );
    assert!(detail.contains("billing:write"), "{detail}");
    // Unknown scopes are refused when the token is made.
    let r = c
        .api(
            "POST",
            "/api/v1/tokens",
            Some(&access),
            Some(json!({"name": "x", "scopes": ["people:admin"]})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(parse(&r.body)["errors"]["scopes"].is_string());
}

/// A Product Administrator's token with every write scope gets exactly what their login
/// gets, on every route (404 outside their scope, 403 where their role does not reach): the
/// same requests on two identical databases, one by login, one by token, so a change made
/// by one does not alter what the other sees.
#[actix_web::test]
async fn scopes_cannot_widen_the_owners_rights() {
    /// The ids to try in every path (each table counts from 1), and another product's record.
    async fn estate(app: &TestApp) -> (Vec<i64>, i64) {
        let slack = app.insert_service("Slack");
        let pro = app.insert_product(slack, "Slack Pro", None);
        let zoom = app.insert_service("Zoom");
        let meetings = app.insert_product(zoom, "Zoom Meetings", None);
        let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
        let mine = app.insert_grant(ada, pro);
        let theirs = app.insert_grant(ada, meetings);
        let record = app.insert_billing(pro, "annual", "100", "EUR", None);
        let foreign = app.insert_billing(meetings, "annual", "100", "EUR", None);
        app.create_user("pa", PASSWORD, "product_admin");
        app.make_product_admin("pa", pro);
        let mut ids = vec![
            slack, pro, zoom, meetings, ada, mine, theirs, record, foreign, 999_999,
        ];
        ids.sort_unstable();
        ids.dedup();
        (ids, foreign)
    }
    let by_login = TestApp::spawn().await;
    let by_token = TestApp::spawn().await;
    let (ids, foreign) = estate(&by_login).await;
    assert_eq!(
        estate(&by_token).await,
        (ids.clone(), foreign),
        "the same estate twice"
    );
    let access = by_login.jwt("pa").await;
    // Every area of the REST API (SCIM's scope stands alone and opens none of it).
    let every_write: Vec<String> = portalops::domain::ApiArea::ALL
        .iter()
        .filter(|a| **a != portalops::domain::ApiArea::Scim)
        .map(|a| format!("{a}:write"))
        .collect();
    let scopes: Vec<&str> = every_write.iter().map(String::as_str).collect();
    let (_, secret) = make_token(&by_token, &by_token.jwt("pa").await, &scopes).await;
    let (login_client, token_client) = (by_login.client(), by_token.client());
    let mut compared = 0;
    for (method, pattern, need) in ROUTES {
        if matches!(need, Need::Public | Need::LoginOnly) {
            continue;
        }
        for id in &ids {
            let path = concrete(pattern, *id);
            let body = (*method != "GET").then(|| json!({"reason": "same"}));
            let l = login_client
                .api(method, &path, Some(&access), body.clone())
                .await;
            let t = token_client.api(method, &path, Some(&secret), body).await;
            assert_eq!(
                t.status, l.status,
                "{method} {path}: the token got {} where the login got {}",
                t.body, l.body
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
    // What that means, for instance.
    let c = by_token.client();
    let r = c.api("GET", "/api/v1/audit", Some(&secret), None).await;
    assert_eq!(r.status, 403, "a PA's token cannot read the audit log");
    let r = c
        .api(
            "GET",
            &format!("/api/v1/billing-records/{foreign}"),
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "another product's record stays invisible");
}

#[actix_web::test]
async fn a_revoked_token_is_refused_at_the_next_request_on_every_instance() {
    let one = TestApp::spawn().await;
    let two = TestApp::spawn_on(one.db_url.clone(), &[]).await;
    one.create_user("ops", PASSWORD, "admin");
    one.create_user("pa", PASSWORD, "product_admin");
    let admin = one.jwt("ops").await;
    let pa = two.jwt("pa").await;
    let (id, secret) = make_token(&one, &admin, &["read"]).await;
    let (pa_id, pa_secret) = make_token(&two, &pa, &["read"]).await;
    for app in [&one, &two] {
        for s in [&secret, &pa_secret] {
            assert_eq!(
                app.client()
                    .api("GET", "/api/v1/me", Some(s), None)
                    .await
                    .status,
                200
            );
        }
    }

    // Only the owner (and Admins) may revoke: another's token answers 404.
    let r = two
        .client()
        .api("DELETE", &format!("/api/v1/tokens/{id}"), Some(&pa), None)
        .await;
    problem(&r, 404);
    // A token cannot revoke tokens (nor make them, nor log out).
    let detail = problem(
        &one.client()
            .api(
                "DELETE",
                &format!("/api/v1/tokens/{id}"),
                Some(&secret),
                None,
            )
            .await,
        403,
    );
    assert!(detail.contains("log in"), "{detail}");
    problem(
        &one.client()
            .api(
                "POST",
                "/api/v1/tokens",
                Some(&secret),
                Some(json!({"name": "wider", "scopes": ["people:write"]})),
            )
            .await,
        403,
    );
    problem(
        &one.client()
            .api("POST", "/api/v1/auth/logout", Some(&secret), None)
            .await,
        403,
    );

    // Revoked through instance one: instance two refuses it at the very next request.
    let r = one
        .client()
        .api(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for app in [&two, &one] {
        let detail = problem(
            &app.client()
                .api("GET", "/api/v1/me", Some(&secret), None)
                .await,
            401,
        );
        assert!(detail.contains("revoked"), "{detail}");
    }
    // Twice: refused, nothing changes.
    problem(
        &one.client()
            .api(
                "DELETE",
                &format!("/api/v1/tokens/{id}"),
                Some(&admin),
                None,
            )
            .await,
        409,
    );

    // An Admin revokes anyone's, from Settings → API tokens (listed with its owner).
    let page = one.client();
    assert_eq!(page.login("ops", PASSWORD).await.status, 303);
    let list = page.get("/settings/tokens").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("pa Example (pa)"), "{}", list.body);
    assert!(!list.body.contains(&pa_secret));
    let r = page
        .submit(
            "/settings/tokens",
            &format!("/settings/tokens/{pa_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    problem(
        &two.client()
            .api("GET", "/api/v1/me", Some(&pa_secret), None)
            .await,
        401,
    );

    // Both revocations audited, neither with a secret.
    #[derive(diesel::QueryableByName)]
    struct Entry {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let entries: Vec<Entry> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT concat_ws(' ', summary, before::text, after::text) AS text FROM audit_log \
             WHERE action LIKE 'api_token.%'",
        ),
        &mut one.conn(),
    )
    .expect("audit");
    assert_eq!(entries.len(), 4, "two made, two revoked");
    for e in entries {
        for s in [&secret, &pa_secret] {
            let random = random_part(s);
            assert!(
                !e.text.contains(random),
                "a secret in the audit log: {}",
                e.text
            );
        }
        assert!(e.text.contains("po_"), "named by its prefix: {}", e.text);
    }
}

#[actix_web::test]
async fn an_expired_token_or_one_whose_owner_may_not_log_in_is_refused() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    app.create_user("leaver", PASSWORD, "service_admin");
    app.create_user("demoted", PASSWORD, "product_admin");
    let c = app.client();
    let access = app.jwt("ops").await;
    let today = app.state.clock.today();

    // The last day given is in the past: refused when made.
    let r = c
        .api(
            "POST",
            "/api/v1/tokens",
            Some(&access),
            Some(json!({"name": "x", "scopes": ["read"], "expires_on": (today - chrono::Days::new(1)).to_string()})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(parse(&r.body)["errors"]["expires_on"].is_string());

    // Valid through its last day, refused after it.
    let r = c
        .api(
            "POST",
            "/api/v1/tokens",
            Some(&access),
            Some(
                json!({"name": "today only", "scopes": ["read"], "expires_on": today.to_string()}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let short = parse(&r.body)["token"].as_str().expect("token").to_string();
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&short), None).await.status,
        200
    );
    app.state
        .clock
        .set(Some(app.state.clock.now() + chrono::Duration::days(2)));
    let detail = problem(&c.api("GET", "/api/v1/me", Some(&short), None).await, 401);
    assert!(detail.contains("expired"), "{detail}");
    app.state.clock.set(None);

    // The owner deactivated, or no longer a role that logs in: refused at once.
    for (user, change) in [
        ("leaver", "is_active = false"),
        ("demoted", "role = 'user'"),
    ] {
        let (_, secret) = make_token(&app, &app.jwt(user).await, &["read"]).await;
        assert_eq!(
            c.api("GET", "/api/v1/me", Some(&secret), None).await.status,
            200
        );
        sql(
            &app,
            &format!("UPDATE users SET {change} WHERE username = '{user}'"),
        );
        let detail = problem(&c.api("GET", "/api/v1/me", Some(&secret), None).await, 401);
        assert!(detail.contains("owner"), "{user}: {detail}");
    }
    // Offboarded likewise.
    let (_, secret) = make_token(&app, &access, &["read"]).await;
    sql(
        &app,
        "UPDATE users SET employment_status = 'offboarded' WHERE username = 'ops'",
    );
    problem(&c.api("GET", "/api/v1/me", Some(&secret), None).await, 401);

    // Made up tokens: 401, never a 500.
    for bogus in ["po_", "po_00000000_xyz", "po_x y", "po_00000000_Ab-_9"] {
        problem(&c.api("GET", "/api/v1/me", Some(bogus), None).await, 401);
    }
}

#[actix_web::test]
async fn a_token_never_opens_a_page() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let access = app.jwt("ops").await;
    let (_, secret) = make_token(&app, &access, &["read"]).await;
    let c = app.client();
    for page in ["/", "/account", "/account/tokens", "/settings/tokens"] {
        let r = c.api("GET", page, Some(&secret), None).await;
        assert_eq!(r.status, 303, "{page}: {}", r.body);
        assert!(
            r.header("location")
                .unwrap_or_default()
                .starts_with("/login"),
            "{page}"
        );
    }
}

/// The table is the whole API: every operation of the OpenAPI document is classified (and
/// declares the API token scheme unless tokens are refused there), every classified route is
/// documented, and a method the table does not give a path answers 405 to a token, with no
/// handler run.
#[actix_web::test]
async fn every_api_route_is_classified_for_tokens() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let access = app.jwt("ops").await;
    let (_, secret) = make_token(&app, &access, &["read"]).await;
    let c = app.client();
    let doc = parse(&c.api("GET", "/api/v1/openapi.json", None, None).await.body);
    assert_eq!(
        doc["components"]["securitySchemes"]["api_token"]["scheme"],
        "bearer"
    );
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut documented = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in methods {
            let Some(op) = item.get(method) else { continue };
            documented.insert((method.to_uppercase(), path.clone()));
            let need = portalops::api::route_scopes::need(method, path)
                .flatten()
                .unwrap_or_else(|| panic!("{method} {path} is not in api::route_scopes::ROUTES"));
            let schemes: Vec<String> = op["security"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_object()?.keys().next().cloned())
                        .collect()
                })
                .unwrap_or_default();
            let expected: &[&str] = match need {
                Need::Public => &[],
                Need::LoginOnly => &["bearer"],
                _ => &["bearer", "api_token"],
            };
            assert_eq!(schemes, expected, "{method} {path}");
        }
    }
    for (method, pattern, _) in ROUTES {
        if !pattern.ends_with("/openapi.json") && !pattern.ends_with("/docs") {
            assert!(
                documented.contains(&(method.to_string(), pattern.to_string())),
                "{method} {pattern} is classified but not in the OpenAPI document"
            );
        }
        let listed: Vec<&str> = ROUTES
            .iter()
            .filter(|(_, p, _)| p == pattern)
            .map(|(m, _, _)| *m)
            .collect();
        for other in ["GET", "POST", "PUT", "DELETE"] {
            if !listed.contains(&other) {
                let r = c
                    .api(other, &concrete(pattern, 1), Some(&secret), Some(json!({})))
                    .await;
                assert_eq!(r.status, 405, "{other} {pattern}: {}", r.body);
            }
        }
    }
}

/// `portalops token create` for service scripts: the token on standard output (only there),
/// the same rules as a token made by its owner, audited as made by the command line.
#[actix_web::test]
async fn the_command_line_makes_a_token_for_a_service_script() {
    let app = TestApp::spawn().await;
    app.create_user("svc", PASSWORD, "product_admin");
    app.insert_person("No Login", "nologin@example.com", "Ops");
    let data = tempfile::tempdir().expect("data dir");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_portalops"))
            .args(["token", "create"])
            .args(args)
            .env("DATABASE_URL", &app.db_url)
            .env("PORTALOPS_DATA_DIR", data.path())
            .output()
            .expect("portalops token create")
    };
    let out = run(&[
        "--user",
        "svc",
        "--name",
        "backup script",
        "--scopes",
        "billing:read,inventory:read",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        secret.starts_with("po_") && !secret.contains('\n'),
        "{secret}"
    );
    assert!(
        !stderr.contains(&secret),
        "the secret went to the log stream"
    );
    let c = app.client();
    let me = c.api("GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(parse(&me.body)["username"], "svc");
    assert_eq!(
        c.api("GET", "/api/v1/services", Some(&secret), None)
            .await
            .status,
        200
    );
    let detail = problem(
        &c.api("GET", "/api/v1/people", Some(&secret), None).await,
        403,
    );
    assert!(detail.contains("people:read"), "{detail}");
    #[derive(diesel::QueryableByName)]
    struct Label {
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor_label: String,
    }
    let labels: Vec<Label> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT actor_label FROM audit_log WHERE action = 'api_token.create'"),
        &mut app.conn(),
    )
    .expect("audit");
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].actor_label, "command line");

    // Refused, with the reason, and nothing made: an unknown login, a person without one,
    // a bad scope, a past day.
    for (args, says) in [
        (
            vec!["--user", "nobody", "--name", "x", "--scopes", "read"],
            "no login",
        ),
        (
            vec![
                "--user",
                "nologin@example.com",
                "--name",
                "x",
                "--scopes",
                "read",
            ],
            "no login",
        ),
        (
            vec!["--user", "svc", "--name", "x", "--scopes", "people:admin"],
            "scopes",
        ),
        (
            vec![
                "--user",
                "svc",
                "--name",
                "x",
                "--scopes",
                "read",
                "--expires-on",
                "2001-01-01",
            ],
            "expires_on",
        ),
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(app.count("api_tokens"), 1);
}
