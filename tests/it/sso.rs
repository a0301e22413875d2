//! Single sign-on with OpenID Connect against a real provider on loopback (panva's
//! `oidc-provider`, tests/oidc): linking by verified email and then by subject, the group
//! mapping at each login, just-in-time creation, and every refusal SECURITY.md row 28 names
//! — tampered state, wrong audience, replayed nonce, expired token — plus key rotation,
//! deactivated and unknown people, the provider being down, and a login begun on one
//! instance finished on another.

use diesel::prelude::*;
use portalops::db::schema::{audit_log, identity_links, users};

use crate::common::oidc::{account, OidcProvider, CLIENT_ID, CLIENT_SECRET};
use crate::common::{fresh_database, Client, TestApp, PASSWORD};
use crate::operations::free_port;

/// The app configured for a provider on `port` (plus `extra`), and the provider itself with
/// these accounts, PortalOps registered at it with the app's redirect URI.
pub(crate) async fn setup(
    extra: &[(&str, &str)],
    accounts: &[serde_json::Value],
) -> (TestApp, OidcProvider) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut vars = vec![
        ("PORTALOPS_OIDC_ISSUER", issuer.as_str()),
        ("PORTALOPS_OIDC_CLIENT_ID", CLIENT_ID),
        ("PORTALOPS_OIDC_CLIENT_SECRET", CLIENT_SECRET),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn_with(&vars).await;
    let op = OidcProvider::start(
        port,
        &[(CLIENT_ID, CLIENT_SECRET, vec![callback(&app)])],
        accounts,
    );
    (app, op)
}

fn callback(app: &TestApp) -> String {
    format!("{}/login/sso/callback", app.base_url)
}

/// A directory person with a login role and no password (they only ever sign in with SSO).
pub(crate) fn sso_only_person(app: &TestApp, username: &str, email: &str, role: &str) -> i64 {
    diesel::insert_into(users::table)
        .values((
            users::full_name.eq(format!("{username} Example")),
            users::email.eq(email),
            users::username.eq(username),
            users::role.eq(role),
        ))
        .returning(users::id)
        .get_result(&mut app.conn())
        .expect("insert person")
}

fn links(app: &TestApp) -> Vec<(i64, String)> {
    identity_links::table
        .order(identity_links::id.asc())
        .select((identity_links::user_id, identity_links::subject))
        .load(&mut app.conn())
        .expect("links")
}

/// The summaries of the audit entries with `action`, oldest first.
fn audited(app: &TestApp, action: &str) -> Vec<String> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .order(audit_log::id.asc())
        .select(audit_log::summary)
        .load(&mut app.conn())
        .expect("audit")
}

fn role_of(app: &TestApp, id: i64) -> String {
    users::table
        .find(id)
        .select(users::role)
        .first(&mut app.conn())
        .expect("role")
}

/// A full single sign-on as `sub`: the app's answer to the provider's redirect back.
async fn sso_login(
    app: &TestApp,
    op: &OidcProvider,
    client: &Client,
    sub: &str,
) -> crate::common::Resp {
    let back = op.authorize(client, &app.base_url, sub).await;
    client.get(&back).await
}

/// Nobody is logged in with `client`: a protected page sends it to the login page.
async fn assert_logged_out(client: &Client) {
    let r = client.get("/directory").await;
    assert_eq!(r.status, 303, "no session");
    assert!(r.location().starts_with("/login"), "{}", r.location());
}

fn assert_refused(r: &crate::common::Resp, status: u16, text: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(text), "the page says why: {}", r.body);
    assert!(r.body.contains("Back to the login page"), "{}", r.body);
}

#[actix_web::test]
async fn first_login_links_the_person_with_the_verified_email_and_the_second_reuses_the_link() {
    let (app, op) = setup(&[], &[account("sub-alice", "Alice@Example.com", true, &[])]).await;
    let alice = sso_only_person(&app, "alice", "alice@example.com", "service_admin");

    let client = app.client();
    let login_page = client.get("/login").await;
    assert!(login_page.body.contains("Sign in with SSO"), "the button");
    let r = sso_login(&app, &op, &client, "sub-alice").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/");
    let home = client.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("alice Example"),
        "logged in as the linked person"
    );
    assert_eq!(links(&app), [(alice, "sub-alice".to_string())]);
    assert_eq!(audited(&app, "sso.identity_linked").len(), 1);
    let logins = audited(&app, "auth.login");
    assert!(logins[0].starts_with("Logged in via SSO"), "{logins:?}");

    // The second login: by the link (issuer, subject), even when the provider's email is
    // no longer the directory's nor verified.
    op.set_account(account(
        "sub-alice",
        "alice.new@elsewhere.example",
        false,
        &[],
    ))
    .await;
    let second = app.client();
    let r = sso_login(&app, &op, &second, "sub-alice").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(second.get("/directory").await.status, 200);
    assert_eq!(links(&app).len(), 1, "no second link");
    assert_eq!(audited(&app, "sso.identity_linked").len(), 1);
    assert_eq!(audited(&app, "auth.login").len(), 2);
}

#[actix_web::test]
async fn the_page_asked_for_is_where_the_login_lands() {
    let (app, op) = setup(&[], &[account("s1", "bob@example.com", true, &[])]).await;
    sso_only_person(&app, "bob", "bob@example.com", "admin");
    let client = app.client();
    let start = client.get("/login/sso?next=/directory").await;
    let back = op.sign_in(&start.location(), &app.base_url, "s1").await;
    let r = client.get(&back).await;
    assert_eq!(r.location(), "/directory");
    // An outside address is never a destination.
    let other = app.client();
    let start = other.get("/login/sso?next=//evil.example/").await;
    let back = op.sign_in(&start.location(), &app.base_url, "s1").await;
    assert_eq!(other.get(&back).await.location(), "/");
}

#[actix_web::test]
async fn an_unknown_person_or_an_unverified_email_is_refused_with_a_clear_page() {
    let (app, op) = setup(
        &[],
        &[
            account("stranger", "stranger@example.com", true, &[]),
            account("unverified", "carol@example.com", false, &[]),
        ],
    )
    .await;
    sso_only_person(&app, "carol", "carol@example.com", "admin");

    let client = app.client();
    let r = sso_login(&app, &op, &client, "stranger").await;
    assert_refused(
        &r,
        403,
        "No one in the PortalOps directory has the address stranger@example.com",
    );
    assert_logged_out(&client).await;

    // Same email as a directory person, but the provider does not vouch for it.
    let client = app.client();
    let r = sso_login(&app, &op, &client, "unverified").await;
    assert_refused(&r, 403, "did not confirm your email address");
    assert_logged_out(&client).await;
    assert!(links(&app).is_empty());
    let failed = audited(&app, "auth.login_failed");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|s| s.starts_with("Failed login via SSO")));
    assert!(audited(&app, "auth.login").is_empty());
}

#[actix_web::test]
async fn deactivated_and_offboarded_people_are_refused_at_once() {
    let (app, op) = setup(
        &[],
        &[
            account("dave", "dave@example.com", true, &[]),
            account("erin", "erin@example.com", true, &[]),
        ],
    )
    .await;
    let dave = sso_only_person(&app, "dave", "dave@example.com", "admin");
    let erin = sso_only_person(&app, "erin", "erin@example.com", "service_admin");
    // Both have logged in before (linked, with a session).
    let dave_session = app.client();
    assert_eq!(
        sso_login(&app, &op, &dave_session, "dave").await.status,
        303
    );
    assert_eq!(
        sso_login(&app, &op, &app.client(), "erin").await.status,
        303
    );

    diesel::update(users::table.find(dave))
        .set(users::is_active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivate");
    diesel::update(users::table.find(erin))
        .set(users::employment_status.eq("offboarded"))
        .execute(&mut app.conn())
        .expect("offboard");

    for sub in ["dave", "erin"] {
        let client = app.client();
        let r = sso_login(&app, &op, &client, sub).await;
        assert_refused(&r, 403, "Your PortalOps login is not active");
        assert_logged_out(&client).await;
    }
    // The session made before deactivation ends at its next request too.
    assert_logged_out(&dave_session).await;
    assert_eq!(audited(&app, "auth.login_failed").len(), 2);
}

#[actix_web::test]
async fn a_tampered_state_a_foreign_browser_and_a_replayed_callback_are_refused() {
    let (app, op) = setup(&[], &[account("frank", "frank@example.com", true, &[])]).await;
    sso_only_person(&app, "frank", "frank@example.com", "admin");

    // A changed state: unknown.
    let client = app.client();
    let back = op.authorize(&client, &app.base_url, "frank").await;
    let tampered = tamper_state(&back);
    let r = client.get(&tampered).await;
    assert_refused(&r, 400, "This sign-in link is not valid");
    assert_logged_out(&client).await;

    // The right callback, but in another browser (login CSRF): refused, and it burns the
    // state, so the browser it was meant for cannot use it either.
    let client = app.client();
    let back = op.authorize(&client, &app.base_url, "frank").await;
    let other = app.client();
    assert_refused(
        &other.get(&back).await,
        400,
        "This sign-in link is not valid",
    );
    assert_refused(
        &client.get(&back).await,
        400,
        "This sign-in link is not valid",
    );
    assert_logged_out(&other).await;

    // A used callback replayed (its state, nonce and code): refused, no second session.
    let client = app.client();
    let back = op.authorize(&client, &app.base_url, "frank").await;
    assert_eq!(client.get(&back).await.status, 303);
    let replayer = app.client();
    replayer.set_cookie_header(&client.cookie_header());
    assert_refused(
        &replayer.get(&back).await,
        400,
        "This sign-in link is not valid",
    );
    assert_eq!(audited(&app, "auth.login").len(), 1);

    // No state at all.
    assert_refused(
        &app.client().get("/login/sso/callback?code=x").await,
        400,
        "not valid",
    );
    let failed = audited(&app, "auth.login_failed");
    assert_eq!(failed.len(), 5, "{failed:?}");
}

fn tamper_state(callback: &str) -> String {
    let re = regex_lite::Regex::new(r"state=([^&]+)").expect("regex");
    re.replace(callback, |c: &regex_lite::Captures| {
        let s = &c[1];
        let flipped = if s.starts_with('A') { "B" } else { "A" };
        format!("state={flipped}{}", &s[1..])
    })
    .into_owned()
}

#[actix_web::test]
async fn id_tokens_for_another_client_or_another_login_or_issuer_are_refused() {
    let (app, op) = setup(&[], &[account("gina", "gina@example.com", true, &[])]).await;
    sso_only_person(&app, "gina", "gina@example.com", "admin");
    let forged = [
        serde_json::json!({"aud": "another-client"}),
        serde_json::json!({"aud": ["another-client"], "azp": "another-client"}),
        serde_json::json!({"nonce": "a-nonce-from-another-login"}),
        serde_json::json!({"iss": "http://127.0.0.1:1/evil"}),
    ];
    for claims in forged {
        let client = app.client();
        let back = op.authorize(&client, &app.base_url, "gina").await;
        op.forge_next_id_token(claims.clone()).await;
        let r = client.get(&back).await;
        assert_refused(&r, 401, "could not be verified");
        assert_logged_out(&client).await;
    }
    let failed = audited(&app, "auth.login_failed");
    assert_eq!(failed.len(), 4);
    assert!(failed[0].contains("audience"), "{failed:?}");
    assert!(failed[2].to_lowercase().contains("nonce"), "{failed:?}");
    // The same provider unforged logs in.
    assert_eq!(
        sso_login(&app, &op, &app.client(), "gina").await.status,
        303
    );
}

#[actix_web::test]
async fn an_expired_id_token_is_refused() {
    let (app, op) = setup(&[], &[account("hal", "hal@example.com", true, &[])]).await;
    sso_only_person(&app, "hal", "hal@example.com", "admin");
    // The provider's ID tokens live an hour; PortalOps' clock is two hours ahead.
    app.state
        .clock
        .set(Some(portalops::clock::now() + chrono::TimeDelta::hours(2)));
    let client = app.client();
    let r = sso_login(&app, &op, &client, "hal").await;
    assert_refused(&r, 401, "could not be verified");
    assert_logged_out(&client).await;
    let failed = audited(&app, "auth.login_failed");
    assert!(failed[0].contains("xpired"), "{failed:?}");
}

#[actix_web::test]
async fn a_rotated_signing_key_is_fetched_again_and_the_login_works() {
    let (app, mut op) = setup(&[], &[account("ivy", "ivy@example.com", true, &[])]).await;
    sso_only_person(&app, "ivy", "ivy@example.com", "admin");
    assert_eq!(sso_login(&app, &op, &app.client(), "ivy").await.status, 303);
    // The provider now signs with a key the app's cached key set lacks.
    op.restart();
    let client = app.client();
    let r = sso_login(&app, &op, &client, "ivy").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(client.get("/directory").await.status, 200);
    assert_eq!(audited(&app, "auth.login").len(), 2);
}

#[actix_web::test]
async fn the_group_mapping_sets_the_role_at_each_login_and_audits_every_change() {
    let (app, op) = setup(
        &[
            ("PORTALOPS_OIDC_GROUPS_CLAIM", "groups"),
            (
                "PORTALOPS_OIDC_GROUP_ROLES",
                "portal-admins=admin,it-staff=service_admin,app-owners=product_admin",
            ),
        ],
        &[account(
            "jo",
            "jo@example.com",
            true,
            &["it-staff", "unrelated"],
        )],
    )
    .await;
    // Two Admins, so that demoting one is allowed.
    app.create_user("root", PASSWORD, "admin");
    let jo = sso_only_person(&app, "joan", "jo@example.com", "product_admin");

    let client = app.client();
    assert_eq!(sso_login(&app, &op, &client, "jo").await.status, 303);
    assert_eq!(role_of(&app, jo), "service_admin");

    // Moved to the admins' group at the provider: Admin at the next login.
    op.set_account(account(
        "jo",
        "jo@example.com",
        true,
        &["portal-admins", "it-staff"],
    ))
    .await;
    let client = app.client();
    assert_eq!(sso_login(&app, &op, &client, "jo").await.status, 303);
    assert_eq!(role_of(&app, jo), "admin");
    assert_eq!(client.get("/settings").await.status, 200, "an Admin's page");

    // Unchanged groups: no change, nothing audited.
    assert_eq!(sso_login(&app, &op, &app.client(), "jo").await.status, 303);
    let changes = audited(&app, "person.role_changed");
    assert_eq!(changes.len(), 2, "{changes:?}");
    let by: Vec<String> = audit_log::table
        .filter(audit_log::action.eq("person.role_changed"))
        .select(audit_log::actor_label)
        .load(&mut app.conn())
        .expect("audit");
    assert!(
        by.iter().all(|l| l.starts_with("single sign-on (")),
        "{by:?}"
    );

    // Out of every mapped group: no login role any more, refused, and the Admin session
    // made before ends.
    op.set_account(account("jo", "jo@example.com", true, &["unrelated"]))
        .await;
    let r = sso_login(&app, &op, &app.client(), "jo").await;
    assert_refused(&r, 403, "not active");
    assert_eq!(role_of(&app, jo), "user");
    assert_logged_out(&client).await;
}

#[actix_web::test]
async fn just_in_time_creation_adds_an_unknown_person_when_switched_on() {
    let (app, op) = setup(
        &[
            ("PORTALOPS_OIDC_CREATE_UNKNOWN", "true"),
            ("PORTALOPS_OIDC_GROUPS_CLAIM", "groups"),
            ("PORTALOPS_OIDC_GROUP_ROLES", "it-staff=service_admin"),
        ],
        &[
            account("kim", "Kim.Lee@Example.com", true, &["it-staff"]),
            account("nogroup", "nobody@example.com", true, &[]),
        ],
    )
    .await;
    let client = app.client();
    let r = sso_login(&app, &op, &client, "kim").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (username, role, email): (Option<String>, String, String) = users::table
        .filter(users::email.eq("kim.lee@example.com"))
        .select((users::username, users::role, users::email))
        .first(&mut app.conn())
        .expect("created");
    assert_eq!(
        (username.as_deref(), role.as_str()),
        (Some("kim.lee"), "service_admin")
    );
    assert_eq!(email, "kim.lee@example.com");
    assert_eq!(audited(&app, "person.created").len(), 1);
    assert_eq!(client.get("/inventory").await.status, 200);

    // Groups that give no role: not created.
    let r = sso_login(&app, &op, &app.client(), "nogroup").await;
    assert_refused(&r, 403, "give you no PortalOps role");
    assert_eq!(app.count("users"), 1);
}

#[actix_web::test]
async fn the_provider_being_down_shows_a_readable_page_and_passwords_still_work() {
    // Nothing listens on the issuer's port.
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(&[
        ("PORTALOPS_OIDC_ISSUER", issuer.as_str()),
        ("PORTALOPS_OIDC_CLIENT_ID", CLIENT_ID),
        ("PORTALOPS_OIDC_CLIENT_SECRET", CLIENT_SECRET),
    ])
    .await;
    app.create_user("lena", PASSWORD, "admin");
    let client = app.client();
    let r = client.get("/login/sso").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains(
        "The sign-in provider could not be reached; sign in with your password or try again"
    ));
    assert_eq!(client.login("lena", PASSWORD).await.status, 303);
}

#[actix_web::test]
async fn with_password_login_off_only_the_break_glass_account_uses_its_password() {
    let (app, _op) = setup(
        &[
            ("PORTALOPS_PASSWORD_LOGIN", "rescue"),
            ("PORTALOPS_OIDC_BUTTON_LABEL", "Sign in with Keycloak"),
        ],
        &[],
    )
    .await;
    app.create_user("rescue", PASSWORD, "admin");
    app.create_user("mona", PASSWORD, "admin");
    let page = app.client().get("/login").await;
    assert!(page.body.contains("Sign in with Keycloak"));
    assert_eq!(app.client().login("mona", PASSWORD).await.status, 401);
    assert_eq!(app.client().login("rescue", PASSWORD).await.status, 303);

    // Switched off for everyone: no password form at all (and `PasswordLogin::allows`
    // refuses every username: the config module's tests).
    let (off, _op) = setup(&[("PORTALOPS_PASSWORD_LOGIN", "off")], &[]).await;
    off.create_user("rescue", PASSWORD, "admin");
    let page = off.client().get("/login").await;
    assert!(page.body.contains("Sign in with SSO"));
    assert!(!page.body.contains(r#"name="password""#), "{}", page.body);
}

#[actix_web::test]
async fn a_login_begun_on_one_instance_finishes_on_another() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let vars = [
        ("PORTALOPS_OIDC_ISSUER", issuer.as_str()),
        ("PORTALOPS_OIDC_CLIENT_ID", CLIENT_ID),
        ("PORTALOPS_OIDC_CLIENT_SECRET", CLIENT_SECRET),
    ];
    let db = fresh_database();
    let a = TestApp::spawn_on(db.clone(), &vars).await;
    let b = TestApp::spawn_on(db, &vars).await;
    let op = OidcProvider::start(
        port,
        &[(CLIENT_ID, CLIENT_SECRET, vec![callback(&a), callback(&b)])],
        &[account("nat", "nat@example.com", true, &[])],
    );
    sso_only_person(&a, "nat", "nat@example.com", "admin");

    let on_a = a.client();
    let back = op.authorize(&on_a, &a.base_url, "nat").await;
    // The load balancer sends the provider's redirect back to the other instance.
    let on_b = Client::new(&b.base_url);
    on_b.set_cookie_header(&on_a.cookie_header());
    let r = on_b.get(&back).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(on_b.get("/directory").await.status, 200);
}

#[actix_web::test]
async fn single_sign_on_routes_are_public() {
    let (app, op) = setup(&[], &[]).await;
    let anon = app.client();
    let admin = app.logged_in("olga", "admin").await;
    for c in [&anon, &admin] {
        let start = c.get("/login/sso").await;
        assert_eq!(start.status, 303);
        assert!(
            start.location().starts_with(&op.issuer),
            "{}",
            start.location()
        );
        let cb = c.get("/login/sso/callback?state=forged&code=x").await;
        assert_eq!(cb.status, 400, "{}", cb.body);
    }
}

#[actix_web::test]
async fn the_group_mapping_sets_service_and_product_scopes_at_each_login() {
    use portalops::db::schema::{product_admins, service_admins};
    let (app, op) = setup(
        &[
            ("PORTALOPS_OIDC_GROUPS_CLAIM", "groups"),
            (
                "PORTALOPS_OIDC_GROUP_ROLES",
                "gws-admins=service_admin:Google Workspace,slack-admins=service_admin:Slack,\
                 mail-owners=product_admin:Google Workspace/Gmail,ghost=service_admin:No Such Service",
            ),
        ],
        &[account("pia", "pia@example.com", true, &["gws-admins", "ghost"])],
    )
    .await;
    let gws = app.insert_service("Google Workspace");
    let slack = app.insert_service("Slack");
    let gmail = app.insert_product(gws, "Gmail", None);
    let pia = sso_only_person(&app, "pia", "pia@example.com", "product_admin");
    let services_of = || -> Vec<i64> {
        service_admins::table
            .filter(service_admins::user_id.eq(pia))
            .select(service_admins::service_id)
            .order(service_admins::service_id.asc())
            .load(&mut app.conn())
            .expect("scopes")
    };
    let products_of = || -> Vec<i64> {
        product_admins::table
            .filter(product_admins::user_id.eq(pia))
            .select(product_admins::product_id)
            .load(&mut app.conn())
            .expect("scopes")
    };

    let client = app.client();
    assert_eq!(sso_login(&app, &op, &client, "pia").await.status, 303);
    assert_eq!(role_of(&app, pia), "service_admin");
    assert_eq!(services_of(), [gws], "an unknown service name is skipped");
    assert_eq!(
        client
            .get(&format!("/inventory/services/{gws}"))
            .await
            .status,
        200
    );

    // Moved from the Google Workspace group to the Slack one.
    op.set_account(account("pia", "pia@example.com", true, &["slack-admins"]))
        .await;
    let client = app.client();
    assert_eq!(sso_login(&app, &op, &client, "pia").await.status, 303);
    assert_eq!(services_of(), [slack]);
    assert_eq!(
        client
            .get(&format!("/inventory/services/{gws}"))
            .await
            .status,
        404
    );

    // Only the mail owners' group: a Product Administrator of Gmail, no service left.
    op.set_account(account("pia", "pia@example.com", true, &["mail-owners"]))
        .await;
    assert_eq!(sso_login(&app, &op, &app.client(), "pia").await.status, 303);
    assert_eq!(role_of(&app, pia), "product_admin");
    assert!(services_of().is_empty());
    assert_eq!(products_of(), [gmail]);

    let actions = app.audit_actions();
    for expected in [
        "scope.service_admin_added",
        "scope.service_admin_removed",
        "scope.product_admin_added",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected}: {actions:?}"
        );
    }
}

#[actix_web::test]
async fn the_provider_refusing_the_login_shows_why_and_logs_nobody_in() {
    let (app, _op) = setup(&[], &[]).await;
    let client = app.client();
    let start = client.get("/login/sso").await;
    let re = regex_lite::Regex::new(r"[?&]state=([^&]+)").expect("regex");
    let state = re.captures(&start.location()).expect("state")[1].to_string();
    // What the provider sends back when the person cancels at its page.
    let r = client
        .get(&format!(
            "/login/sso/callback?error=access_denied&error_description=End-User+aborted&state={state}"
        ))
        .await;
    assert_refused(&r, 403, "did not sign you in (access_denied)");
    assert_logged_out(&client).await;
    let failed = audited(&app, "auth.login_failed");
    assert!(
        failed[0].contains("access_denied: End-User aborted"),
        "{failed:?}"
    );
}

/// The PortalOps second factor guards passwords: with the policy requiring it of Admins, an
/// Admin who signs in only through the provider reaches their pages (the provider's own
/// multi-factor rules apply), while an Admin with a password and no factor is sent to set
/// one up.
#[actix_web::test]
async fn the_two_factor_policy_leaves_a_provider_only_admin_to_the_provider() {
    let (app, op) = setup(&[], &[account("sub-olga", "olga@example.com", true, &[])]).await;
    sso_only_person(&app, "olga", "olga@example.com", "admin");
    diesel::insert_into(portalops::db::schema::app_settings::table)
        .values((
            portalops::db::schema::app_settings::key.eq("two_factor_required"),
            portalops::db::schema::app_settings::value.eq("admins"),
        ))
        .execute(&mut app.conn())
        .expect("policy");

    let olga = app.client();
    let r = sso_login(&app, &op, &olga, "sub-olga").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = olga.get("/directory").await;
    assert_eq!(page.status, 200, "not sent to enrol: {}", page.body);

    let pat = app.logged_in("pat", "admin").await;
    let gated = pat.get("/directory").await;
    assert_eq!(gated.status, 303);
    assert_eq!(gated.location(), "/account/two-factor");
}

/// With a provider configured, the invitation says the person may also sign in with it.
#[actix_web::test]
async fn an_invitation_names_the_sign_in_provider_when_there_is_one() {
    let (app, _op) = setup(
        &[("PORTALOPS_OIDC_BUTTON_LABEL", "Sign in with Acme ID")],
        &[],
    )
    .await;
    let id = crate::invitations::ada(&app);
    let admin = app.logged_in("root", "admin").await;
    let r = admin
        .submit(
            &format!("/directory/{id}/edit"),
            &format!("/directory/{id}"),
            &crate::invitations::person_form("product_admin", "ada", ""),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let emails = app.queued_emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    let (to, _, body) = &emails[0];
    assert_eq!(to, "ada@example.com");
    assert!(body.contains("Sign in with Acme ID"), "{body}");
    assert!(body.contains("company's sign-in provider"), "{body}");
}

/// Microsoft Entra ID sends `email` but never `email_verified`: refused by default, linked
/// with `PORTALOPS_OIDC_TRUST_EMAIL=true`; an explicit `email_verified: false` stays refused.
#[actix_web::test]
async fn an_id_token_without_email_verified_links_only_when_the_email_is_trusted() {
    let entra = |sub: &str, email: &str| serde_json::json!({"sub": sub, "email": email, "name": format!("{sub} at Entra")});
    let (app, op) = setup(&[], &[entra("entra-dana", "dana@example.com")]).await;
    sso_only_person(&app, "dana", "dana@example.com", "admin");
    let client = app.client();
    let r = sso_login(&app, &op, &client, "entra-dana").await;
    assert_refused(&r, 403, "did not confirm your email address");
    assert!(links(&app).is_empty());
    drop(op);

    let (app, op) = setup(
        &[("PORTALOPS_OIDC_TRUST_EMAIL", "true")],
        &[
            entra("entra-dana", "dana@example.com"),
            account("said-no", "erin@example.com", false, &[]),
        ],
    )
    .await;
    let dana = sso_only_person(&app, "dana", "dana@example.com", "admin");
    sso_only_person(&app, "erin", "erin@example.com", "admin");
    let client = app.client();
    let r = sso_login(&app, &op, &client, "entra-dana").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(client.get("/directory").await.status, 200);
    assert_eq!(links(&app), vec![(dana, "entra-dana".to_string())]);

    let client = app.client();
    let r = sso_login(&app, &op, &client, "said-no").await;
    assert_refused(&r, 403, "did not confirm your email address");
    assert_eq!(links(&app).len(), 1);
}
