//! Access-token expiry and refresh, refresh-token rotation and re-use detection, logout,
//! and users held to their current state at the very next request.

use std::time::Duration;

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{auth_sessions, refresh_tokens, users};

async fn wait_for_access_token_expiry() {
    // Access tokens live 1 s in these tests; exp is checked without leeway.
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
}

#[actix_web::test]
async fn an_expired_access_token_is_refreshed_transparently_and_the_refresh_token_rotates() {
    let app = TestApp::spawn_with(&[("PORTALOPS_ACCESS_TOKEN_TTL", "1")]).await;
    let c = app.logged_in("alice", "admin").await;
    let before = c.cookie_header();
    wait_for_access_token_expiry().await;
    let r = c.get("/audit").await;
    assert_eq!(r.status, 200, "refreshed without a new login");
    assert_ne!(
        c.cookie_header(),
        before,
        "a new cookie carries the new tokens"
    );
    let (total, rotated): (i64, i64) = (
        refresh_tokens::table
            .count()
            .get_result(&mut app.conn())
            .expect("count"),
        refresh_tokens::table
            .filter(refresh_tokens::rotated_at.is_not_null())
            .count()
            .get_result(&mut app.conn())
            .expect("count"),
    );
    assert_eq!((total, rotated), (2, 1));
}

#[actix_web::test]
async fn a_rotated_refresh_token_used_again_revokes_the_whole_session() {
    let app = TestApp::spawn_with(&[
        ("PORTALOPS_ACCESS_TOKEN_TTL", "1"),
        ("PORTALOPS_REFRESH_GRACE", "0"),
    ])
    .await;
    let c = app.logged_in("alice", "admin").await;
    let stolen = c.cookie_header();
    wait_for_access_token_expiry().await;
    assert_eq!(
        c.get("/").await.status,
        200,
        "the legitimate client refreshes"
    );

    let attacker = app.client();
    attacker.set_cookie_header(&stolen);
    let r = attacker.get("/").await;
    assert_eq!(
        r.status, 303,
        "the replayed, already-rotated refresh token is refused"
    );
    assert!(r.location().starts_with("/login"));

    // The family is revoked: the legitimate client is logged out as well.
    wait_for_access_token_expiry().await;
    assert_eq!(c.get("/").await.status, 303);
    let revoked: Option<String> = auth_sessions::table
        .select(auth_sessions::revoked_reason)
        .first(&mut app.conn())
        .expect("session");
    assert_eq!(revoked.as_deref(), Some("refresh token re-used"));
    assert!(app
        .audit_actions()
        .contains(&"auth.refresh_reuse".to_string()));
}

#[actix_web::test]
async fn parallel_requests_after_expiry_do_not_log_the_user_out() {
    let app = TestApp::spawn_with(&[("PORTALOPS_ACCESS_TOKEN_TTL", "1")]).await;
    let c = app.logged_in("alice", "admin").await;
    wait_for_access_token_expiry().await;
    let requests: Vec<_> = (0..6).map(|_| c.get("/")).collect();
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(c.get("/").await.status, 200);
    let revoked: i64 = auth_sessions::table
        .filter(auth_sessions::revoked_at.is_not_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(revoked, 0);
}

#[actix_web::test]
async fn a_cookie_saved_before_logout_is_refused_after_it() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    let saved = c.cookie_header();
    let out = c.logout().await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
    let login_page = c.get("/login").await;
    assert!(login_page.body.contains("You are logged out."));

    let replay = app.client();
    replay.set_cookie_header(&saved);
    let r = replay.get("/").await;
    assert_eq!(r.status, 303, "the access token names a revoked session");
    assert!(app.audit_actions().contains(&"auth.logout".to_string()));
}

#[actix_web::test]
async fn a_cookie_from_before_login_is_not_logged_in_after_it() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    c.get("/login").await;
    let before = c.cookie_header();
    assert!(!before.is_empty());
    assert_eq!(c.login("alice", PASSWORD).await.status, 303);
    assert_ne!(
        c.cookie_header(),
        before,
        "login issues a new session cookie"
    );
    let fixated = app.client();
    fixated.set_cookie_header(&before);
    assert_eq!(fixated.get("/").await.status, 303);
}

#[actix_web::test]
async fn a_deactivated_user_loses_access_at_the_next_request() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    assert_eq!(c.get("/").await.status, 200);
    diesel::update(users::table.filter(users::username.eq("alice")))
        .set(users::is_active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivate");
    let r = c.get("/audit").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login"));
}

#[actix_web::test]
async fn a_role_change_applies_at_the_next_request() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    assert_eq!(c.get("/audit").await.status, 200);
    diesel::update(users::table.filter(users::username.eq("alice")))
        .set(users::role.eq("product_admin"))
        .execute(&mut app.conn())
        .expect("demote");
    assert_eq!(c.get("/audit").await.status, 403);
    let dash = c.get("/").await;
    assert!(
        !dash.body.contains(r#"href="/audit""#),
        "the navigation no longer offers it"
    );
}
