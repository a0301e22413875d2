//! Service accounts (issue #17): what scripts and provisioning act as instead of a person.
//! Made by Admins on Settings → Service accounts, acting only through their API tokens with
//! their own role and scope (narrowed by the token's scopes), never in the directory, named
//! "service: <name>" in the audit log, and stopped at once by disabling.

use serde_json::{json, Value};

use crate::common::{TestApp, PASSWORD};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The secret shown once on the page that answered the token form.
fn shown_secret(body: &str) -> String {
    let start = body
        .find("class=\"feed-url new-token\">")
        .unwrap_or_else(|| panic!("no new token on the page: {body}"))
        + "class=\"feed-url new-token\">".len();
    body[start..]
        .split('<')
        .next()
        .expect("secret")
        .trim()
        .to_string()
}

#[derive(diesel::QueryableByName, Debug)]
struct Entry {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    actor_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    actor_label: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: String,
}

fn audit(app: &TestApp) -> Vec<Entry> {
    diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT actor_id, actor_label, action FROM audit_log ORDER BY id"),
        &mut app.conn(),
    )
    .expect("audit")
}

/// Makes a service account through the page; its id (from the redirect).
pub(crate) async fn make_account(
    c: &crate::common::client::Client,
    fields: &[(&str, &str)],
) -> i64 {
    let r = c
        .submit(
            "/settings/service-accounts",
            "/settings/service-accounts",
            fields,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").expect("location");
    to.rsplit('/').next().expect("id").parse().expect("an id")
}

/// Makes a token for service account `id` through its page; the secret shown once.
pub(crate) async fn make_token(
    c: &crate::common::client::Client,
    id: i64,
    scopes: &[(&str, &str)],
) -> String {
    let page = format!("/settings/service-accounts/{id}");
    let mut fields = vec![("name", "provisioning")];
    fields.extend_from_slice(scopes);
    let r = c.submit(&page, &format!("{page}/tokens"), &fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
    shown_secret(&r.body)
}

#[actix_web::test]
async fn an_admin_service_account_acts_through_its_token_is_audited_by_name_and_is_no_person() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Research");
    let service = app.insert_service("Figma");
    let product = app.insert_product(service, "Editor", None);
    let people_before = app.count("users");
    let c = app.client();
    assert_eq!(c.login("ops", PASSWORD).await.status, 303);

    // Every wrong field at once, nothing stored, what was typed kept.
    let r = c
        .submit(
            "/settings/service-accounts",
            "/settings/service-accounts",
            &[
                ("name", " "),
                ("description", "kept text"),
                ("role", "service_admin"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Enter the name") || r.body.contains("The name"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("Choose at least one service it runs."),
        "{}",
        r.body
    );
    assert!(r.body.contains("kept text"), "{}", r.body);
    assert_eq!(app.count("service_accounts"), 0);

    let id = make_account(
        &c,
        &[
            ("name", "SCIM from Okta"),
            ("description", "Okta's provisioning app"),
            ("role", "admin"),
        ],
    )
    .await;
    // The same name again, in another case: the name field says so.
    let r = c
        .submit(
            "/settings/service-accounts",
            "/settings/service-accounts",
            &[("name", "scim FROM okta"), ("role", "admin")],
        )
        .await;
    assert!(
        r.status == 409 || r.status == 422,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(
        r.body
            .contains("A service account with this name already exists."),
        "{}",
        r.body
    );
    assert_eq!(app.count("service_accounts"), 1);

    let secret = make_token(&c, id, &[("scope_people", "write")]).await;
    assert!(secret.starts_with("po_"), "{secret}");
    // Shown once: the account's page afterwards lists it by its prefix only.
    let page = c.get(&format!("/settings/service-accounts/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&secret));
    assert!(page.body.contains(&secret[..11]), "{}", page.body);
    // Settings → API tokens names the owner as the service account.
    let all = c.get("/settings/tokens").await;
    assert!(all.body.contains("service: SCIM from Okta"), "{}", all.body);

    // The token acts as the service account.
    let api = app.client();
    let me = api.api("GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = parse(&me.body);
    assert_eq!(me["kind"], "service");
    assert_eq!(me["id"], id);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["username"], "service: SCIM from Okta");

    // It changes what its scopes allow, and the audit names it.
    let r = api
        .api(
            "POST",
            "/api/v1/grants",
            Some(&secret),
            Some(json!({"person": "ada@example.com", "product_id": product})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let grant = parse(&r.body)["id"].as_i64().expect("grant id");
    let entry = audit(&app)
        .into_iter()
        .find(|e| e.action == "grant.created")
        .expect("the grant audited");
    assert_eq!(entry.actor_id, None, "{entry:?}");
    assert_eq!(entry.actor_label, "service: SCIM from Okta");
    let granted_by: Option<i64> = diesel::RunQueryDsl::get_result(
        diesel::QueryDsl::select(
            diesel::QueryDsl::find(portalops::db::schema::access_grants::table, grant),
            portalops::db::schema::access_grants::granted_by,
        ),
        &mut app.conn(),
    )
    .expect("grant");
    assert_eq!(granted_by, None, "no person granted it");
    // Outside its scopes: refused (billing was not given).
    let r = api
        .api("GET", "/api/v1/billing-records", Some(&secret), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // What only a person has is refused to it, whatever its role.
    for (method, path) in [
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
    ] {
        let r = api
            .api(
                method,
                path,
                Some(&secret),
                Some(json!({"name": "x", "scopes": ["read"]})),
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }

    // It is no person: not in the directory, not in the API's people, no users row.
    assert_eq!(app.count("users"), people_before);
    let dir = c.get("/directory").await;
    assert!(!dir.body.contains("SCIM from Okta"), "{}", dir.body);
    let people = api.api("GET", "/api/v1/people", Some(&secret), None).await;
    assert_eq!(people.status, 200, "{}", people.body);
    assert!(!people.body.contains("SCIM"), "{}", people.body);
    assert!(people.body.contains(&ada.to_string()));

    // Disabled: the token stops at once; enabled again, it works again. Each audited.
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}"),
            &format!("/settings/service-accounts/{id}/disable"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = api.api("GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("disabled"), "{}", r.body);
    // No new token for a disabled account.
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}"),
            &format!("/settings/service-accounts/{id}/tokens"),
            &[("name", "x"), ("scope_people", "read")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(app.count("api_tokens"), 1);
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}"),
            &format!("/settings/service-accounts/{id}/enable"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = api.api("GET", "/api/v1/me", Some(&secret), None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let actions: Vec<String> = audit(&app).into_iter().map(|e| e.action).collect();
    for a in [
        "service_account.create",
        "api_token.create",
        "service_account.disable",
        "service_account.enable",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[actix_web::test]
async fn a_service_administrator_account_acts_only_on_what_it_runs_and_its_edits_apply_at_once() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    app.insert_person("Ada Lovelace", "ada@example.com", "Research");
    let figma = app.insert_service("Figma");
    let figma_editor = app.insert_product(figma, "Editor", None);
    let slack = app.insert_service("Slack");
    let slack_pro = app.insert_product(slack, "Pro", None);
    let c = app.client();
    assert_eq!(c.login("ops", PASSWORD).await.status, 303);
    let figma_s = figma.to_string();
    let id = make_account(
        &c,
        &[
            ("name", "figma sync"),
            ("role", "service_admin"),
            ("services", &figma_s),
        ],
    )
    .await;
    let secret = make_token(
        &c,
        id,
        &[("scope_people", "write"), ("scope_inventory", "read")],
    )
    .await;
    let api = app.client();
    let get = |path: String| {
        let api = &api;
        let secret = &secret;
        async move { api.api("GET", &path, Some(secret), None).await.status }
    };
    assert_eq!(get(format!("/api/v1/services/{figma}")).await, 200);
    assert_eq!(get(format!("/api/v1/services/{slack}")).await, 404);
    let grant = |product: i64| {
        let api = &api;
        let secret = &secret;
        async move {
            api.api(
                "POST",
                "/api/v1/grants",
                Some(secret),
                Some(json!({"person": "ada@example.com", "product_id": product})),
            )
            .await
        }
    };
    assert_eq!(grant(slack_pro).await.status, 404);
    let r = grant(figma_editor).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Edited to run Slack instead: the same token follows at its next request.
    let slack_s = slack.to_string();
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}/edit"),
            &format!("/settings/service-accounts/{id}/edit"),
            &[
                ("name", "figma sync"),
                ("role", "service_admin"),
                ("services", &slack_s),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(get(format!("/api/v1/services/{figma}")).await, 404);
    assert_eq!(get(format!("/api/v1/services/{slack}")).await, 200);
    let update = diesel::RunQueryDsl::load::<Entry>(
        diesel::sql_query(
            "SELECT actor_id, actor_label, action FROM audit_log \
             WHERE action = 'service_account.update' AND before::text LIKE '%' || $1 || '%' \
             AND after::text LIKE '%' || $2 || '%'",
        )
        .bind::<diesel::sql_types::Text, _>(figma.to_string())
        .bind::<diesel::sql_types::Text, _>(slack.to_string()),
        &mut app.conn(),
    )
    .expect("audit");
    assert_eq!(update.len(), 1, "the edit audited with before and after");

    // An edit that is wrong changes nothing and says why next to the field.
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}/edit"),
            &format!("/settings/service-accounts/{id}/edit"),
            &[("name", "figma sync"), ("role", "product_admin")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Choose at least one product it runs."),
        "{}",
        r.body
    );
    assert_eq!(get(format!("/api/v1/services/{slack}")).await, 200);

    // Revoked from the account's page: stops at once.
    let token_id: i64 = diesel::RunQueryDsl::get_result(
        diesel::QueryDsl::select(
            portalops::db::schema::api_tokens::table,
            portalops::db::schema::api_tokens::id,
        ),
        &mut app.conn(),
    )
    .expect("token id");
    let r = c
        .submit(
            &format!("/settings/service-accounts/{id}"),
            &format!("/settings/service-accounts/{id}/tokens/{token_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(get(format!("/api/v1/services/{slack}")).await, 401);
}
