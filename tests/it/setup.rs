//! First run: the one-time setup URL creates the first Admin and then disappears.

use crate::common::{TestApp, PASSWORD};

#[actix_web::test]
async fn the_setup_token_creates_the_first_admin_once() {
    let app = TestApp::spawn().await;
    *app.state.setup_token.lock().expect("lock") = Some("one-time-token".into());
    let c = app.client();
    assert_eq!(c.get("/setup").await.status, 404);
    assert_eq!(c.get("/setup?token=guess").await.status, 404);
    let form = c.get("/setup?token=one-time-token").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Create the first Admin"));

    let invalid = c
        .submit(
            "/setup?token=one-time-token",
            "/setup",
            &[
                ("token", "one-time-token"),
                ("full_name", "Ada Admin"),
                ("email", "not-an-email"),
                ("username", "ada"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains("Enter an email address"));
    assert!(invalid.body.contains("Use at least 12 characters."));
    assert!(
        invalid.body.contains(r#"value="Ada Admin""#),
        "what was typed is kept"
    );

    let ok = c
        .submit(
            "/setup?token=one-time-token",
            "/setup",
            &[
                ("token", "one-time-token"),
                ("full_name", "Ada Admin"),
                ("email", "ada@example.com"),
                ("username", "ada"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/login");
    assert_eq!(
        c.get("/setup?token=one-time-token").await.status,
        404,
        "gone once used"
    );
    assert_eq!(c.login("ada", PASSWORD).await.status, 303);
    assert!(c.get("/").await.body.contains("Admin"));
    assert!(app.audit_actions().contains(&"user.created".to_string()));
}

#[actix_web::test]
async fn setup_refuses_once_an_admin_exists_even_with_the_token() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    *app.state.setup_token.lock().expect("lock") = Some("late-token".into());
    let c = app.client();
    let r = c
        .submit(
            "/setup?token=late-token",
            "/setup",
            &[
                ("token", "late-token"),
                ("full_name", "Mallory"),
                ("email", "m@example.com"),
                ("username", "mallory"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(c.login("mallory", PASSWORD).await.status, 401);
}
