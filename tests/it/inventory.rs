//! The inventory through its pages: services and products, validation, archive and
//! delete rules, seat warnings, search and pages, grants and revocations.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{access_grants, audit_log, products, services};

fn service_fields<'a>(name: &'a str, website: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("vendor", "Google"),
        ("category", "Productivity"),
        ("website", website),
        ("description", "Mail and docs"),
    ]
}

#[actix_web::test]
async fn admins_create_and_edit_services_with_clear_validation_messages() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let r = c
        .submit(
            "/inventory/services/new",
            "/inventory/services",
            &service_fields("Google Workspace", "https://workspace.google.com"),
        )
        .await;
    assert_eq!(r.status, 303);
    let service_page = r.location();
    assert!(service_page.starts_with("/inventory/services/"));
    let page = c.get(&service_page).await;
    assert!(
        page.body.contains("Google Workspace")
            && page
                .body
                .contains("Service &#39;Google Workspace&#39; created.")
    );

    for (fields, field_msg) in [
        (
            service_fields("google workspace", ""),
            "A service with this name already exists.",
        ),
        (service_fields("   ", ""), "Enter the service&#39;s name."),
        (
            service_fields("Zoom", "zoom.us"),
            "Enter a web address starting with https://",
        ),
    ] {
        let r = c
            .submit("/inventory/services/new", "/inventory/services", &fields)
            .await;
        assert_eq!(r.status, 422, "{fields:?}");
        assert!(r.body.contains(field_msg), "{field_msg} in {}", r.body);
        assert!(
            r.body.contains(r#"value="Google""#),
            "the form keeps what was typed"
        );
    }
    assert_eq!(
        app.count("services"),
        1,
        "nothing written by the refused forms"
    );

    let id = service_page.rsplit('/').next().expect("id");
    let edit = c
        .submit(
            &format!("{service_page}/edit"),
            &service_page,
            &service_fields("Google Workspace (EU)", ""),
        )
        .await;
    assert_eq!(edit.status, 303);
    let name: String = services::table
        .select(services::name)
        .first(&mut app.conn())
        .expect("service");
    assert_eq!(name, "Google Workspace (EU)");
    let entry: (Option<serde_json::Value>, Option<serde_json::Value>) = audit_log::table
        .filter(audit_log::action.eq("service.updated"))
        .filter(audit_log::object_id.eq(id))
        .select((audit_log::before, audit_log::after))
        .first(&mut app.conn())
        .expect("audit entry");
    assert_eq!(entry.0.expect("before")["name"], "Google Workspace");
    assert_eq!(entry.1.expect("after")["name"], "Google Workspace (EU)");
}

#[actix_web::test]
async fn product_names_are_unique_within_their_service_only() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let google = app.insert_service("Google Workspace");
    let zoho = app.insert_service("Zoho");
    let new = |s: i64| format!("/inventory/services/{s}/products/new");
    let create = |s: i64| format!("/inventory/services/{s}/products");
    let fields = |name: &'static str, seats: &'static str| {
        vec![
            ("name", name),
            ("license_model", "per_seat"),
            ("seats_purchased", seats),
        ]
    };
    assert_eq!(
        c.submit(&new(google), &create(google), &fields("Mail", "10"))
            .await
            .status,
        303
    );
    let dup = c
        .submit(&new(google), &create(google), &fields("MAIL", ""))
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup
        .body
        .contains("This service already has a product with this name."));
    assert_eq!(
        c.submit(&new(zoho), &create(zoho), &fields("Mail", ""))
            .await
            .status,
        303
    );
    let bad = c
        .submit(&new(zoho), &create(zoho), &fields("Desk", "ten"))
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Enter a whole number of seats"));
    let model = c
        .submit(
            &new(zoho),
            &create(zoho),
            &[("name", "Desk"), ("license_model", "free")],
        )
        .await;
    assert_eq!(model.status, 422);
    assert_eq!(app.count("products"), 2);
}

#[actix_web::test]
async fn deleting_what_has_grants_is_refused_and_archiving_keeps_history() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Atlassian");
    let jira = app.insert_product(s, "Jira", None);
    let person = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    app.insert_grant(person, jira);

    let r = c
        .submit(
            &format!("/inventory/services/{s}"),
            &format!("/inventory/services/{s}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = c.get(&r.location()).await;
    assert!(page.body.contains("cannot be deleted"), "{}", page.body);
    assert!(page.body.contains("Archive it instead"));
    assert_eq!(app.count("services"), 1);

    let r = c
        .submit(
            &format!("/inventory/products/{jira}"),
            &format!("/inventory/products/{jira}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(app.count("products"), 1);

    assert_eq!(
        c.submit(
            &format!("/inventory/services/{s}"),
            &format!("/inventory/services/{s}/archive"),
            &[]
        )
        .await
        .status,
        303
    );
    let list = c.get("/inventory").await;
    assert!(
        !list.body.contains("Atlassian"),
        "archived services leave the default list"
    );
    let archived = c.get("/inventory?status=archived").await;
    assert!(archived.body.contains("Atlassian"));
    assert!(
        c.get(&format!("/directory/{person}"))
            .await
            .body
            .contains("Atlassian → Jira"),
        "grants stay"
    );

    let empty = app.insert_service("Unused");
    app.insert_product(empty, "Nothing", None);
    let r = c
        .submit(
            &format!("/inventory/services/{empty}"),
            &format!("/inventory/services/{empty}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.location(), "/inventory");
    assert_eq!(app.count("services"), 1);
    assert_eq!(app.count("products"), 1);
}

#[actix_web::test]
async fn seats_used_over_purchased_show_a_warning() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Figma");
    let p = app.insert_product(s, "Figma Professional", Some(1));
    for i in 0..2 {
        let person = app.insert_person(
            &format!("Designer {i}"),
            &format!("d{i}@example.com"),
            "Design",
        );
        app.insert_grant(person, p);
    }
    let page = c.get(&format!("/inventory/products/{p}")).await;
    assert!(
        page.body.contains("Over the purchased seats: 2 of 1"),
        "{}",
        page.body
    );
    let service = c.get(&format!("/inventory/services/{s}")).await;
    assert!(service.body.contains(r#"class="over""#));
    let dash = c.get("/").await;
    assert!(dash.body.contains("products over their purchased seats"));
}

#[actix_web::test]
async fn the_inventory_list_searches_filters_sorts_and_pages_in_the_database() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    for i in 0..60 {
        let id = app.insert_service(&format!("Service {i:02}"));
        if i == 42 {
            app.insert_product(id, "Whiteboard", None);
        }
    }
    let first = c.get("/inventory").await;
    assert!(first.body.contains("Service 00") && first.body.contains("Service 49"));
    assert!(!first.body.contains("Service 50"));
    assert!(first.body.contains("1–50 of 60"));
    let second = c.get("/inventory?page=2").await;
    assert!(second.body.contains("Service 59") && !second.body.contains("Service 49<"));
    let by_product = c.get("/inventory?q=whiteboard").await;
    assert!(by_product.body.contains("Service 42") && by_product.body.contains("1–1 of 1"));
    let desc = c.get("/inventory?sort=name&dir=desc").await;
    let pos = |b: &str, s: &str| b.find(s).expect(s);
    assert!(pos(&desc.body, "Service 59") < pos(&desc.body, "Service 58"));
    let none = c.get("/inventory?q=%25%27%20OR%201%3D1").await;
    assert_eq!(none.status, 200);
    assert!(none.body.contains("No services match."));
    let rows = c
        .get("/inventory?category=Productivity")
        .await
        .body
        .matches(r#"<td><a href="/inventory/services/"#)
        .count();
    assert_eq!(rows, 50);
}

#[actix_web::test]
async fn access_is_granted_once_and_revoking_keeps_the_record() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let page = format!("/inventory/products/{p}");
    let grant = format!("/inventory/products/{p}/grants");

    let unknown = c
        .submit(&page, &grant, &[("person", "nobody@example.com")])
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown
        .body
        .contains("Nobody in the directory has this email address."));
    let ok = c
        .submit(
            &page,
            &grant,
            &[
                ("person", "ANN@example.com"),
                ("account_identifier", "U123"),
                ("note", "team channel"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303);
    let twice = c
        .submit(&page, &grant, &[("person", "ann@example.com")])
        .await;
    assert_eq!(twice.status, 422);
    assert!(twice.body.contains("already has access"));
    assert_eq!(app.count("access_grants"), 1);

    let listed = c.get(&page).await;
    assert!(
        listed.body.contains("Ann Lee")
            && listed.body.contains("U123")
            && listed.body.contains("root Example")
    );
    let grant_id: i64 = access_grants::table
        .select(access_grants::id)
        .first(&mut app.conn())
        .expect("grant");
    let revoked = c
        .submit(
            &page,
            &format!("/grants/{grant_id}/revoke"),
            &[("reason", "left the team"), ("return_to", &page)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(revoked.location(), page);
    let person = c.get(&format!("/directory/{ann}")).await;
    assert!(person.body.contains("Revoked access (1)") && person.body.contains("left the team"));
    assert!(person.body.contains("No active access."));
    let (at, by): (Option<chrono::DateTime<chrono::Utc>>, Option<i64>) = access_grants::table
        .select((access_grants::revoked_at, access_grants::revoked_by))
        .first(&mut app.conn())
        .expect("grant");
    assert!(at.is_some() && by == Some(app.user_id("root")));
    // Granting again after a revocation is a new grant.
    assert_eq!(
        c.submit(&page, &grant, &[("person", "ann@example.com")])
            .await
            .status,
        303
    );
    assert_eq!(app.count("access_grants"), 2);
    let actions = app.audit_actions();
    assert_eq!(actions.iter().filter(|a| *a == "grant.created").count(), 2);
    assert!(actions.contains(&"grant.revoked".to_string()));
    let _ = products::table;
}

#[actix_web::test]
async fn a_product_administrator_sees_and_grants_only_their_products() {
    let app = TestApp::spawn().await;
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", None);
    let drive = app.insert_product(s, "Drive", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    app.insert_grant(ann, drive);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let c = app.client();
    assert_eq!(c.login("pam", PASSWORD).await.status, 303);

    let service = c.get(&format!("/inventory/services/{s}")).await;
    assert!(service.body.contains("Gmail") && !service.body.contains("Drive"));
    let person = c.get(&format!("/directory/{ann}")).await;
    assert!(
        !person.body.contains("Drive"),
        "grants outside the scope are not shown"
    );
    assert!(person.body.contains("No active access."));
    assert!(
        !person.body.contains("Job title"),
        "non-Admins see the lookup fields only"
    );
    let r = c
        .submit(
            &format!("/directory/{ann}"),
            &format!("/directory/{ann}/grants"),
            &[("product_id", &gmail.to_string())],
        )
        .await;
    assert_eq!(r.status, 303);
    let dash = c.get("/").await;
    assert!(dash.body.contains("Google Workspace → Gmail"));
}

#[actix_web::test]
async fn list_and_detail_pages_run_the_same_number_of_queries_whatever_their_size() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None);
    let b = app.insert_billing(p, "monthly", "10", "EUR", None);
    let ann = app.insert_person("Ann Grows", "ann.grows@example.com", "Ops");
    let queries = |r: &crate::common::Resp| {
        r.header("x-query-count")
            .expect("query count")
            .parse::<u32>()
            .expect("number")
    };
    let pages = [
        "/inventory".to_string(),
        "/directory".to_string(),
        format!("/inventory/services/{s}"),
        format!("/inventory/products/{p}"),
        "/".to_string(),
        "/payments".to_string(),
        format!("/payments/{b}"),
        "/payments/print".to_string(),
        "/payments/savings".to_string(),
        "/calendar".to_string(),
        "/tasks".to_string(),
        format!("/directory/{ann}"),
    ];
    let mut small = Vec::new();
    for page in &pages {
        small.push(queries(&c.get(page).await));
    }
    for i in 0..60 {
        let sid = app.insert_service(&format!("Service {i}"));
        let pid = app.insert_product(sid, "Pro", None);
        let person = app.insert_person(&format!("P {i}"), &format!("p{i}@example.com"), "Ops");
        app.insert_grant(person, pid);
        app.insert_grant(person, p);
        app.insert_grant(ann, pid);
        app.insert_billing(pid, "annual", "120", "USD", Some(("Visa", "4242", 1, 2030)));
    }
    for (page, before) in pages.iter().zip(small) {
        let r = c.get(page).await;
        assert_eq!(r.status, 200);
        assert_eq!(queries(&r), before, "{page}: no query per row");
        // The dashboard gathers a panel per concern (stats, deadlines, renewals, cards,
        // spend, activity): one or two queries each, whatever the estate's size. It and the
        // register also open a snapshot for the cache (BEGIN, the snapshot, COMMIT).
        let budget = match page.as_str() {
            "/" | "/payments" => 15,
            _ => 12,
        };
        assert!(
            (1..=budget).contains(&before),
            "{page} runs {before} queries"
        );
    }
}
