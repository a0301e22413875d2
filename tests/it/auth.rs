//! Login, lockout, legacy hashes and password changes.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::users;

#[actix_web::test]
async fn login_succeeds_with_the_right_password_and_lands_on_the_dashboard() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    let r = c.login("alice", PASSWORD).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/");
    let dash = c.get("/").await;
    assert_eq!(dash.status, 200);
    assert!(
        dash.body.contains("Welcome, alice Example"),
        "{}",
        dash.body
    );
    assert!(app.audit_actions().contains(&"auth.login".to_string()));
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    let wrong = c.login("alice", "not the password at all").await;
    let unknown = c.login("nobody", "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(wrong.body.contains("Invalid username or password."));
    assert!(unknown.body.contains("Invalid username or password."));
    // The typed username is kept, the password is not.
    assert!(wrong.body.contains(r#"value="alice""#));
    assert!(!wrong.body.contains("not the password at all"));
    assert_eq!(c.get("/").await.status, 303, "still not logged in");
    let failed = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    assert_eq!(failed, 2);
}

#[actix_web::test]
async fn users_without_login_rights_cannot_log_in() {
    let app = TestApp::spawn().await;
    let id = app.create_user("carol", PASSWORD, "product_admin");
    diesel::update(users::table.find(id))
        .set(users::is_active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivate");
    assert_eq!(app.client().login("carol", PASSWORD).await.status, 401);
}

/// The (username, client address) pair is locked: this client, which never logged into the
/// account, is refused even the right password. (Other addresses and the account's known
/// devices are not: see the tests below.)
#[actix_web::test]
async fn repeated_failures_lock_this_client_out_of_the_username_even_for_the_right_password() {
    let app = TestApp::spawn_with(&[("PORTALOPS_LOGIN_MAX_FAILURES", "3")]).await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    for _ in 0..3 {
        assert_eq!(c.login("alice", "wrong password here").await.status, 401);
    }
    let locked = c.login("alice", PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("Too many failed attempts"));
    assert!(locked.header("retry-after").is_some());
    // An unknown username is throttled the same way: nothing tells the two apart.
    for _ in 0..3 {
        c.login("ghost", "wrong password here").await;
    }
    assert_eq!(c.login("ghost", "wrong password here").await.status, 429);
    assert!(app
        .audit_actions()
        .contains(&"auth.login_locked".to_string()));
}

#[actix_web::test]
async fn a_client_address_hammering_many_usernames_is_locked_out_except_for_known_devices() {
    let app = TestApp::spawn_with(&[("PORTALOPS_LOGIN_MAX_FAILURES_PER_IP", "10")]).await;
    app.create_user("alice", PASSWORD, "admin");
    // Alice's own browser logged in before: it carries her known-device cookie.
    let known = app.client();
    assert_eq!(known.login("alice", PASSWORD).await.status, 303);
    assert_eq!(known.logout().await.status, 303);
    let c = app.client();
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(
            c.login(&format!("user{i}"), "wrong password here")
                .await
                .status,
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        c.login("alice", PASSWORD).await.status,
        429,
        "the address is locked for every client that is not a known device"
    );
    assert_eq!(
        known.login("alice", PASSWORD).await.status,
        303,
        "the same address, but alice's known device"
    );
}

#[actix_web::test]
async fn legacy_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id() {
    let app = TestApp::spawn().await;
    let legacy = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
    let id = app.insert_user_with_hash("legacy", &legacy, "service_admin");
    let c = app.client();
    assert_eq!(c.login("legacy", PASSWORD).await.status, 303);
    let stored: Option<String> = users::table
        .find(id)
        .select(users::password_hash)
        .first(&mut app.conn())
        .expect("user");
    let stored = stored.expect("hash");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    // The upgraded hash still verifies.
    assert_eq!(app.client().login("legacy", PASSWORD).await.status, 303);
}

#[actix_web::test]
async fn password_change_needs_the_current_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "product_admin");
    let here = app.client();
    let elsewhere = app.client();
    assert_eq!(here.login("alice", PASSWORD).await.status, 303);
    assert_eq!(elsewhere.login("alice", PASSWORD).await.status, 303);

    let new_pw = "a brand new passphrase 42";
    let wrong = here
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "nope nope nope"),
                ("new_password", new_pw),
                ("new_password_confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("This is not your current password."));

    let weak = here
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "Password1234"),
                ("new_password_confirm", "Password1234"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("too common"), "{}", weak.body);

    let ok = here
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_pw),
                ("new_password_confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(here.get("/account").await.status, 200, "this session stays");
    assert_eq!(
        elsewhere.get("/").await.status,
        303,
        "the other session is over"
    );
    assert_eq!(app.client().login("alice", PASSWORD).await.status, 401);
    assert_eq!(app.client().login("alice", new_pw).await.status, 303);
}

// ---- Login throttling under attack (SECURITY.md row 25; docs/rbac.md "Login throttling") ----

fn credentials(user: &str, password: &str, device: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({"username": user, "password": password});
    if let Some(d) = device {
        body["device_token"] = d.into();
    }
    body
}

/// An API login, optionally as a known device and from a claimed address (believed only
/// behind a trusted proxy).
async fn api_login(
    c: &crate::common::Client,
    user: &str,
    password: &str,
    device: Option<&str>,
    xff: Option<&str>,
) -> crate::common::Resp {
    let headers: Vec<(&str, &str)> = xff.map(|a| ("x-forwarded-for", a)).into_iter().collect();
    c.api_with_headers(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(credentials(user, password, device)),
        &headers,
    )
    .await
}

fn count_actions(app: &TestApp, action: &str) -> usize {
    app.audit_actions().iter().filter(|a| *a == action).count()
}

/// Eight wrong passwords at once, four rounds: every password check is audited
/// (`auth.login_failed`), and no more than the limit of 5 are made; the others are refused
/// unverified, and the lock set in the first round holds through the later ones.
#[actix_web::test]
async fn concurrent_wrong_passwords_are_checked_at_most_the_limit() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let round = (0..8).map(|_| api_login(&c, "alice", "wrong password here", None, None));
        for r in futures_util::future::join_all(round).await {
            statuses.push(r.status);
        }
    }
    let checked = count_actions(&app, "auth.login_failed");
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        (1..=5).contains(&checked),
        "{checked} checked: {statuses:?}"
    );
    assert_eq!(wrong, checked, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[8..].iter().filter(|s| **s == 401).count(),
        0,
        "{statuses:?}"
    );
    assert_eq!(
        api_login(&c, "alice", PASSWORD, None, None).await.status,
        429,
        "still locked for this client"
    );
}

/// Attempts still being verified when the lock is set fail later: the lock stays, with
/// its end unchanged (the old throttle cleared it).
#[actix_web::test]
async fn a_lock_is_never_cleared_or_shortened_by_a_later_failure() {
    use portalops::auth::throttle::{self, Subject, Verdict};
    use portalops::db::schema::login_throttle;
    let app = TestApp::spawn().await;
    let cfg = app.state.config.throttle.clone();
    let keys = throttle::keys_for(
        &cfg,
        &Subject {
            username_key: &throttle::username_key(b"k", "alice"),
            user_id: None,
            client_ip: "192.0.2.1",
            known_device: None,
        },
    );
    let t0 = portalops::clock::now();
    let mut conn = app.conn();
    for _ in 0..cfg.max_failures_per_user {
        assert!(matches!(
            throttle::reserve(&mut conn, &cfg, t0, &keys).expect("reserve"),
            Verdict::Proceed { .. }
        ));
    }
    // The budget is taken by attempts in flight: the next is refused unverified.
    assert!(matches!(
        throttle::reserve(&mut conn, &cfg, t0, &keys).expect("reserve"),
        Verdict::Locked { .. }
    ));
    throttle::record_failure(&mut conn, &cfg, t0, &keys).expect("failure");
    let until = |conn: &mut portalops::db::PgConn| -> Option<chrono::DateTime<chrono::Utc>> {
        login_throttle::table
            .find(&keys[0].key)
            .select(login_throttle::locked_until)
            .first(conn)
            .expect("row")
    };
    let locked = until(&mut conn).expect("locked");
    // The other attempts of the burst fail a minute later, and a success is reported too.
    let later = t0 + chrono::Duration::minutes(1);
    for _ in 1..cfg.max_failures_per_user {
        throttle::record_failure(&mut conn, &cfg, later, &keys).expect("failure");
    }
    throttle::record_success(&mut conn, later, &keys).expect("success");
    assert_eq!(until(&mut conn), Some(locked));
    assert!(matches!(
        throttle::reserve(&mut conn, &cfg, later, &keys).expect("reserve"),
        Verdict::Locked { .. }
    ));
}

/// The Admin's own browser and script, which logged in before, still get in with the right
/// password while an attacker holds every lock there is against the username and their
/// address: the (root, address) pair, the address, and root from every unknown client. A
/// client that never logged in is locked out, by the page and by the API.
#[actix_web::test]
async fn the_owner_logs_in_from_a_known_device_while_another_client_hammers_the_username() {
    // Loopback is the "proxy", so the attacker can also come from many addresses.
    let app = TestApp::spawn_with(&[("PORTALOPS_TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.create_user("root", PASSWORD, "admin");
    let own_browser = app.client();
    assert_eq!(own_browser.login("root", PASSWORD).await.status, 303);
    assert_eq!(own_browser.logout().await.status, 303);
    let own_script = app.client();
    let first = api_login(&own_script, "root", PASSWORD, None, None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let body: serde_json::Value = serde_json::from_str(&first.body).expect("json");
    let device = body["device_token"]
        .as_str()
        .expect("device_token")
        .to_string();

    let attacker = app.client();
    let mut wrong = 0;
    // From the owner's address: root (locks the pair), then other usernames (the address).
    for i in 0..30 {
        let user = if i < 5 {
            "root".to_string()
        } else {
            format!("user{i}")
        };
        let r = api_login(&attacker, &user, "guess guess guess", None, None).await;
        wrong += usize::from(r.status == 401);
    }
    // From many addresses: root, until every client that is not a known device is locked out.
    for i in 0..40 {
        let ip = format!("203.0.113.{i}");
        let r = api_login(&attacker, "root", "guess guess guess", None, Some(&ip)).await;
        wrong += usize::from(r.status == 401);
    }
    assert_eq!(
        wrong,
        30 + 15,
        "pair 5, address 30, account 20 (5 of them from the pair)"
    );
    assert_eq!(
        api_login(&attacker, "root", PASSWORD, None, None)
            .await
            .status,
        429
    );
    assert_eq!(
        app.client().login("root", PASSWORD).await.status,
        429,
        "an unknown client is locked out"
    );
    let fresh = api_login(&app.client(), "root", PASSWORD, None, Some("198.51.100.9")).await;
    assert_eq!(fresh.status, 429, "from any address");

    let r = own_browser.login("root", PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(own_browser.get("/").await.status, 200);
    let r = api_login(&own_script, "root", PASSWORD, Some(&device), None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Another account's device token does not help with this one.
    app.create_user("mallory", PASSWORD, "product_admin");
    let r = api_login(&attacker, "mallory", PASSWORD, None, Some("198.51.100.10")).await;
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let foreign = body["device_token"].as_str().expect("device_token");
    let r = api_login(
        &attacker,
        "root",
        PASSWORD,
        Some(foreign),
        Some("198.51.100.10"),
    )
    .await;
    assert_eq!(r.status, 429);
}

/// Behind a trusted proxy, each client has its own address: failures lock the (username,
/// address) pair, not the username; guessing from many addresses is still bounded by the
/// per-username limit for clients that are not known devices. The throttle table holds no
/// typed username, only keyed hashes.
#[actix_web::test]
async fn pairs_are_locked_apart_and_guessing_from_many_addresses_is_bounded() {
    use portalops::db::schema::login_throttle;
    let app = TestApp::spawn_with(&[("PORTALOPS_TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    for _ in 0..5 {
        let r = api_login(
            &c,
            "alice",
            "wrong password here",
            None,
            Some("203.0.113.9"),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let from = |ip: &'static str| api_login(&c, "alice", PASSWORD, None, Some(ip));
    assert_eq!(from("203.0.113.9").await.status, 429, "the pair is locked");
    assert_eq!(
        from("198.51.100.4").await.status,
        200,
        "another address is not"
    );

    // 20 failures for one username from 20 addresses lock it for every unknown client.
    let mut wrong = 0;
    for i in 0..25 {
        let ip = format!("192.0.2.{i}");
        let r = api_login(&c, "alice", "wrong password here", None, Some(&ip)).await;
        wrong += usize::from(r.status == 401);
    }
    assert_eq!(wrong, 20);
    assert_eq!(from("198.51.100.77").await.status, 429);

    let card = "4111111111111111";
    api_login(&c, card, "wrong password here", None, Some("198.51.100.5")).await;
    let keys: Vec<String> = login_throttle::table
        .select(login_throttle::key)
        .load(&mut app.conn())
        .expect("keys");
    assert!(
        keys.iter()
            .all(|k| !k.contains(card) && !k.contains("alice")),
        "{keys:?}"
    );
}

/// An Admin lifts a lock from Settings → Login locks (audited); a Service Administrator
/// may neither see the page nor unlock (403, as every Settings page); a lock no longer in
/// force answers 404.
#[actix_web::test]
async fn an_admin_unlocks_a_locked_login_and_a_non_admin_cannot() {
    use portalops::db::schema::{audit_log, login_throttle};
    let app = TestApp::spawn_with(&[("PORTALOPS_LOGIN_MAX_FAILURES", "3")]).await;
    let bob = app.create_user("bob", PASSWORD, "product_admin");
    let stranger = app.client();
    for _ in 0..3 {
        assert_eq!(
            stranger.login("bob", "wrong password here").await.status,
            401
        );
    }
    assert_eq!(stranger.login("bob", PASSWORD).await.status, 429);
    let key: String = login_throttle::table
        .filter(login_throttle::kind.eq("pair"))
        .filter(login_throttle::user_id.eq(bob))
        .select(login_throttle::key)
        .first(&mut app.conn())
        .expect("bob's pair");

    let sa = app.logged_in("sally", "service_admin").await;
    assert_eq!(sa.get("/settings/logins").await.status, 403);
    let token = sa.get("/account").await.csrf_token().expect("token");
    let r = sa
        .post_raw(
            "/settings/logins/unlock",
            &[("csrf_token", &token), ("key", &key)],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        stranger.login("bob", PASSWORD).await.status,
        429,
        "still locked"
    );

    let admin = app.logged_in("root", "admin").await;
    let settings = admin.get("/settings").await;
    assert!(
        settings.body.contains("Login locks (1)"),
        "{}",
        settings.body
    );
    let page = admin.get("/settings/logins").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("bob from 127.0.0.1"), "{}", page.body);
    let r = admin
        .submit(
            "/settings/logins",
            "/settings/logins/unlock",
            &[("key", &key)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (actor, object): (Option<i64>, Option<String>) = audit_log::table
        .filter(audit_log::action.eq("auth.unlock"))
        .select((audit_log::actor_id, audit_log::object_id))
        .first(&mut app.conn())
        .expect("audited");
    assert_eq!(actor, Some(app.user_id("root")));
    assert_eq!(object, Some(bob.to_string()));
    assert_eq!(stranger.login("bob", PASSWORD).await.status, 303);
    let again = admin
        .submit(
            "/settings/logins",
            "/settings/logins/unlock",
            &[("key", &key)],
        )
        .await;
    assert_eq!(again.status, 404);
}

/// Logins with X-Forwarded-For from a peer that is not a trusted proxy are named on
/// Settings (and logged); from a trusted proxy they are not.
#[actix_web::test]
async fn settings_warn_about_x_forwarded_for_from_an_untrusted_peer() {
    let warning = "X-Forwarded-For from 127.0.0.1, which is not in PORTALOPS_TRUSTED_PROXIES";
    let app = TestApp::spawn().await;
    let admin = app.logged_in("root", "admin").await;
    assert!(!admin.get("/settings").await.body.contains(warning));
    let r = api_login(
        &app.client(),
        "root",
        "wrong password",
        None,
        Some("198.51.100.7"),
    )
    .await;
    assert_eq!(r.status, 401);
    let settings = admin.get("/settings").await;
    assert!(settings.body.contains(warning), "{}", settings.body);
    assert!(admin.get("/settings/logins").await.body.contains(warning));

    let app = TestApp::spawn_with(&[("PORTALOPS_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let admin = app.logged_in("root", "admin").await;
    api_login(
        &app.client(),
        "root",
        "wrong password",
        None,
        Some("198.51.100.7"),
    )
    .await;
    assert!(!admin
        .get("/settings")
        .await
        .body
        .contains("X-Forwarded-For from"));
}
