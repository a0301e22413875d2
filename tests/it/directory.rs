//! The directory through its pages: people with and without logins, validation, the
//! last-Admin rule, roles and scopes, and the list's filters.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{service_admins, users};

fn person<'a>(
    name: &'a str,
    email: &'a str,
    role: &'a str,
    username: &'a str,
    password: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("full_name", name),
        ("email", email),
        ("role", role),
        ("username", username),
        ("password", password),
        ("employment_status", "active"),
        ("department", "Engineering"),
        ("is_active", "on"),
    ]
}

#[actix_web::test]
async fn admins_add_people_with_and_without_logins() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let r = c
        .submit(
            "/directory/new",
            "/directory",
            &person("Ann Lee", "Ann@Example.com", "user", "", ""),
        )
        .await;
    assert_eq!(r.status, 303);
    let page = c.get(&r.location()).await;
    assert!(
        page.body.contains("ann@example.com"),
        "emails are stored in lower case"
    );

    let r = c
        .submit(
            "/directory/new",
            "/directory",
            &person(
                "Pam Admin",
                "pam@example.com",
                "product_admin",
                "pam",
                PASSWORD,
            ),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        app.client().login("pam", PASSWORD).await.status,
        303,
        "the new login works"
    );

    for (fields, msg) in [
        (
            person("Dup", "ANN@example.com", "user", "", ""),
            "already has this email address",
        ),
        (
            person("Bad", "not-an-email", "user", "", ""),
            "Enter an email address",
        ),
        (person("", "x@example.com", "user", "", ""), "Enter a name"),
        (
            person("No Name", "y@example.com", "service_admin", "", ""),
            "People who can log in need a username.",
        ),
        (
            person("Weak", "w@example.com", "admin", "weak", "Password1234"),
            "too common",
        ),
        (
            person("Taken", "t@example.com", "admin", "PAM", PASSWORD),
            "This username is taken.",
        ),
    ] {
        let r = c.submit("/directory/new", "/directory", &fields).await;
        assert_eq!(r.status, 422, "{fields:?}");
        assert!(r.body.contains(msg), "{msg}: {}", r.body);
        assert!(
            !r.body.contains(PASSWORD),
            "passwords are never echoed back"
        );
    }
    // A login without a password: an invitation to choose one is emailed.
    let r = c
        .submit(
            "/directory/new",
            "/directory",
            &person("No Pw", "z@example.com", "service_admin", "zed", ""),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(c
        .get(&r.location())
        .await
        .body
        .contains("An invitation to choose a password is queued, but email is not configured"));
    let queued = app.queued_emails();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "z@example.com");
    assert_eq!(app.count("users"), 4);
    let audit = app.audit_actions();
    assert_eq!(audit.iter().filter(|a| *a == "person.created").count(), 3);
    assert_eq!(
        audit
            .iter()
            .filter(|a| *a == "person.invitation_sent")
            .count(),
        1,
        "Pam was given a password: no invitation"
    );
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let root = app.user_id("root");
    let path = format!("/directory/{root}");
    let mut demote = person(
        "root Example",
        "root@example.com",
        "product_admin",
        "root",
        "",
    );
    let r = c.submit(&format!("{path}/edit"), &path, &demote).await;
    assert_eq!(r.status, 303);
    assert!(c
        .get(&r.location())
        .await
        .body
        .contains("is the last active Admin"));
    demote.retain(|(k, _)| *k != "is_active");
    demote.push(("role", "admin"));
    demote.retain(|(k, v)| *k != "role" || *v == "admin");
    let r = c.submit(&format!("{path}/edit"), &path, &demote).await;
    assert!(
        c.get(&r.location())
            .await
            .body
            .contains("is the last active Admin"),
        "deactivating is refused too"
    );
    let role: (String, bool) = users::table
        .find(root)
        .select((users::role, users::is_active))
        .first(&mut app.conn())
        .expect("root");
    assert_eq!(role, ("admin".to_string(), true));

    app.create_user("second", PASSWORD, "admin");
    let r = c
        .submit(
            &format!("{path}/edit"),
            &path,
            &person(
                "root Example",
                "root@example.com",
                "service_admin",
                "root",
                "",
            ),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        c.get("/audit").await.status,
        403,
        "the demotion applies at the next request"
    );
    assert!(app
        .audit_actions()
        .contains(&"person.role_changed".to_string()));
}

#[actix_web::test]
async fn a_role_change_removes_the_scopes_of_the_old_role() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    app.create_user("sam", PASSWORD, "service_admin");
    app.make_service_admin("sam", s);
    let sam = app.user_id("sam");
    let sam_client = app.client();
    assert_eq!(sam_client.login("sam", PASSWORD).await.status, 303);
    assert_eq!(
        sam_client
            .get(&format!("/inventory/services/{s}"))
            .await
            .status,
        200
    );

    let path = format!("/directory/{sam}");
    let r = c
        .submit(
            &format!("{path}/edit"),
            &path,
            &person("Sam", "sam@example.com", "product_admin", "sam", ""),
        )
        .await;
    assert_eq!(r.status, 303);
    let left: i64 = service_admins::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(left, 0);
    assert_eq!(
        sam_client
            .get(&format!("/inventory/services/{s}"))
            .await
            .status,
        404,
        "at the next request"
    );
}

#[actix_web::test]
async fn the_directory_filters_by_department_status_role_and_access() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("GitHub");
    let p = app.insert_product(s, "GitHub Enterprise", None);
    for i in 0..55 {
        let dept = if i % 2 == 0 { "Engineering" } else { "Sales" };
        let id = app.insert_person(
            &format!("Person {i:02}"),
            &format!("p{i}@example.com"),
            dept,
        );
        if i < 3 {
            app.insert_grant(id, p);
        }
    }
    let all = c.get("/directory").await;
    assert!(all.body.contains("1–50 of 56"), "55 people and the Admin");
    let eng = c.get("/directory?department=Engineering").await;
    assert!(eng.body.contains("1–28 of 28"));
    let admins = c.get("/directory?role=admin").await;
    assert!(admins.body.contains("1–1 of 1") && admins.body.contains("root Example"));
    let access = c.get("/directory?access=github").await;
    assert!(access.body.contains("1–3 of 3"));
    let exact = c.get(&format!("/directory?product_id={p}")).await;
    assert!(exact.body.contains("1–3 of 3"));
    let search = c.get("/directory?q=P5%40").await;
    assert!(search.body.contains("p5@example.com") && search.body.contains("1–1 of 1"));
    let status = c.get("/directory?status=offboarded").await;
    assert!(status.body.contains("Nobody matches."));
    let sorted = c.get("/directory?sort=email&dir=desc").await;
    assert_eq!(sorted.status, 200);
}

/// The same grant submitted from the product page by several Admins at the same moment: one
/// is made, every other one shows the form again with the reason (409 when the database's
/// unique rule caught it, 422 when the command's own check did), never an error page.
#[actix_web::test]
async fn identical_grants_submitted_at_once_show_the_form_with_the_reason() {
    use portalops::db::schema::access_grants;
    let app = TestApp::spawn().await;
    let mut admins = Vec::new();
    for i in 0..3 {
        admins.push(app.logged_in(&format!("admin{i}"), "admin").await);
    }
    let service = app.insert_service("Slack");
    for round in 0..5 {
        let product = app.insert_product(service, &format!("Slack {round}"), None);
        let email = format!("ann{round}@example.com");
        let person = app.insert_person(&format!("Ann {round}"), &email, "Sales");
        let page = format!("/inventory/products/{product}");
        let action = format!("{page}/grants");
        let fields = [("person", email.as_str())];
        let answers = futures_util::future::join_all(
            admins.iter().map(|c| c.submit(&page, &action, &fields)),
        )
        .await;
        for r in &answers {
            match r.status {
                303 => {}
                409 | 422 => assert!(
                    r.body
                        .contains("This person already has access to this product."),
                    "{}",
                    r.body
                ),
                other => panic!("{other}: {}", r.body),
            }
        }
        assert_eq!(answers.iter().filter(|r| r.status == 303).count(), 1);
        let active: i64 = access_grants::table
            .filter(access_grants::user_id.eq(person))
            .filter(access_grants::revoked_at.is_null())
            .count()
            .get_result(&mut app.conn())
            .expect("count");
        assert_eq!(active, 1);
    }
}
