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

#[actix_web::test]
async fn repeated_failures_lock_the_username_even_for_the_right_password() {
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
async fn a_client_address_hammering_many_usernames_is_locked_out() {
    let app = TestApp::spawn_with(&[("PORTALOPS_LOGIN_MAX_FAILURES_PER_IP", "10")]).await;
    app.create_user("alice", PASSWORD, "admin");
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
        "the address is locked for everyone"
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
