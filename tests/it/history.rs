//! The History of a person, product, service and billing record: every audit entry that
//! touched it — its grants, tasks, workflows, handovers and payments included — newest
//! first, filtered by kind and date, paged, as CSV; an administrator sees what touched
//! the products they run.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;

fn entries(body: &str) -> usize {
    body.matches("<li>\n    <p class=\"when\">").count()
}

#[actix_web::test]
async fn a_persons_history_gathers_their_grants_workflows_and_tasks_newest_first() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let gws = app.insert_service("Google Workspace");
    let gmail = app.insert_product(gws, "Gmail", None);
    let figma = app.insert_product(app.insert_service("Figma"), "Professional", None);
    let r = c
        .submit(
            "/directory/new",
            "/directory",
            &[
                ("full_name", "Leo Park"),
                ("email", "leo@example.com"),
                ("role", "user"),
                ("employment_status", "active"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let leo = app.user_id_by_email("leo@example.com");
    for p in [gmail, figma] {
        let r = c
            .submit(
                &format!("/inventory/products/{p}"),
                &format!("/inventory/products/{p}/grants"),
                &[("person", "leo@example.com")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    // Someone else's grant is not Leo's history.
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    c.submit(
        &format!("/inventory/products/{gmail}"),
        &format!("/inventory/products/{gmail}/grants"),
        &[("person", "ann@example.com")],
    )
    .await;
    let r = c
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "leo@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();

    let person = c.get(&format!("/directory/{leo}")).await;
    assert!(person
        .body
        .contains(&format!("href=\"/directory/{leo}/history\"")));
    let history = c.get(&format!("/directory/{leo}/history")).await;
    assert_eq!(history.status, 200);
    let body = &history.body;
    assert!(body.contains("History of Leo Park"));
    for needle in [
        "Granted Google Workspace → Gmail to Leo Park",
        "Granted Figma → Professional to Leo Park",
        "Leo Park",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    assert!(!body.contains("to Ann Lee"), "another person's grant");
    // Newest first: the offboarding (and its revoke tasks) before the grants.
    let offboarding = body
        .find(&format!("href=\"{workflow}\""))
        .expect("the offboarding, linked");
    let granted = body.find("Granted Figma").expect("grant");
    assert!(offboarding < granted, "newest first");
    assert!(
        body.contains(&format!("href=\"/directory/{leo}\"")),
        "the person's own entry links to them"
    );

    // Narrowed to access, and to a day range with nothing in it.
    let access = c
        .get(&format!("/directory/{leo}/history?kind=access"))
        .await
        .body;
    assert_eq!(entries(&access), 2, "{access}");
    let none = c
        .get(&format!(
            "/directory/{leo}/history?from=2001-01-01&to=2001-01-31"
        ))
        .await
        .body;
    assert_eq!(entries(&none), 0);
    assert!(none.contains("Nothing recorded that matches."));
    let bad = c
        .get(&format!("/directory/{leo}/history?from=yesterday"))
        .await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("is not a date"));

    // As CSV, with the same filter.
    let csv = c
        .get(&format!("/directory/{leo}/history?kind=access&format=csv"))
        .await;
    assert!(csv
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "at,actor,action,object_type,object_id,summary");
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines.iter().skip(1).all(|l| l.contains("grant.created")));

    // A Product Administrator of Gmail sees Leo's Gmail, not his Figma.
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let pam = app.client();
    assert_eq!(pam.login("pam", PASSWORD).await.status, 303);
    let theirs = pam.get(&format!("/directory/{leo}/history")).await.body;
    assert!(theirs.contains("Granted Google Workspace → Gmail to Leo Park"));
    assert!(!theirs.contains("Figma"), "{theirs}");
    assert!(theirs.contains("What touched the products you run"));
    assert_eq!(pam.get("/directory/999999/history").await.status, 404);
    assert_eq!(
        pam.get(&format!("/inventory/products/{figma}/history"))
            .await
            .status,
        404
    );
    let _ = ann;
}

#[actix_web::test]
async fn product_service_and_billing_histories_and_their_pages() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let gws = app.insert_service("Google Workspace");
    let gmail = app.insert_product(gws, "Gmail", None);
    let drive = app.insert_product(gws, "Drive", None);
    app.insert_person("Ann Lee", "ann@example.com", "Ops");
    for p in [gmail, drive] {
        c.submit(
            &format!("/inventory/products/{p}"),
            &format!("/inventory/products/{p}/grants"),
            &[("person", "ann@example.com")],
        )
        .await;
    }
    let record = app.insert_billing(gmail, "monthly", "120.00", "EUR", None);
    let r = c
        .submit(
            &format!("/payments/{record}"),
            &format!("/payments/{record}/history"),
            &[
                ("paid_on", "2026-01-05"),
                ("amount", "120.00"),
                ("invoice_ref", "INV-7"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let product = c
        .get(&format!("/inventory/products/{gmail}/history"))
        .await
        .body;
    assert!(product.contains("History of Google Workspace → Gmail"));
    assert!(product.contains("Granted Google Workspace → Gmail to Ann Lee"));
    assert!(!product.contains("Drive to Ann Lee"));
    assert!(
        product.contains("INV-7") || product.contains("payment"),
        "{product}"
    );
    let service = c
        .get(&format!("/inventory/services/{gws}/history"))
        .await
        .body;
    assert!(service.contains("Gmail to Ann Lee") && service.contains("Drive to Ann Lee"));
    let billing = c.get(&format!("/payments/{record}/history")).await;
    assert_eq!(billing.status, 200);
    assert_eq!(entries(&billing.body), 1, "{}", billing.body);
    for (page, link) in [
        (
            format!("/inventory/products/{gmail}"),
            format!("/inventory/products/{gmail}/history"),
        ),
        (
            format!("/inventory/services/{gws}"),
            format!("/inventory/services/{gws}/history"),
        ),
        (
            format!("/payments/{record}"),
            format!("/payments/{record}/history"),
        ),
    ] {
        assert!(
            c.get(&page)
                .await
                .body
                .contains(&format!("href=\"{link}\"")),
            "{page} links its History"
        );
    }

    // A Product Administrator of Drive: the service's History holds Drive's, not Gmail's.
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", drive);
    let pam = app.client();
    assert_eq!(pam.login("pam", PASSWORD).await.status, 303);
    let theirs = pam
        .get(&format!("/inventory/services/{gws}/history"))
        .await
        .body;
    assert!(theirs.contains("Drive to Ann Lee"));
    assert!(!theirs.contains("Gmail to Ann Lee"), "{theirs}");
    assert_eq!(
        pam.get(&format!("/payments/{record}/history")).await.status,
        404
    );
}

#[actix_web::test]
async fn a_long_history_is_paged_by_keyset_and_its_subjects_cannot_be_rewritten() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let s = app.insert_service("Catalogue");
    let ids: Vec<String> = (0..60)
        .map(|i| {
            app.insert_product(s, &format!("Tool {i:02}"), None)
                .to_string()
        })
        .collect();
    let form = format!("/directory/{ann}/grants/bulk");
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("product", i.as_str())).collect();
    let preview = c.submit(&form, &form, &fields).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let key = "name=\"previewed\" value=\"";
    let at = preview.body.find(key).expect("previewed") + key.len();
    let print = preview.body[at..at + 24].to_string();
    fields.push(("previewed", print.as_str()));
    fields.push(("step", "confirm"));
    assert_eq!(c.submit(&form, &form, &fields).await.status, 303);

    let first = c
        .get(&format!("/directory/{ann}/history?kind=access"))
        .await
        .body;
    assert_eq!(entries(&first), 50);
    assert!(
        first.contains("Tool 59") && !first.contains("Tool 09 to"),
        "newest first"
    );
    let older = first
        .split("href=\"")
        .find(|s| s.contains("before="))
        .and_then(|s| s.split('"').next())
        .expect("an older page")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(older.contains("kind=access"), "the filter is kept: {older}");
    let second = c.get(&older).await.body;
    assert_eq!(entries(&second), 10);
    assert!(second.contains("Tool 00"));
    assert!(second.contains("← Newer</a>"));

    let mut conn = app.conn();
    let rewrite = diesel::sql_query("UPDATE audit_subjects SET subject_id = 1").execute(&mut conn);
    assert!(rewrite.is_err(), "append-only");
    let dropped = diesel::sql_query("DELETE FROM audit_subjects").execute(&mut conn);
    assert!(dropped.is_err(), "append-only");
}

#[actix_web::test]
async fn the_audit_log_searches_free_text_links_its_objects_and_downloads_what_it_selects() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let gmail = app.insert_product(app.insert_service("Google Workspace"), "Gmail", None);
    app.insert_person("Ann Lee", "ann@example.com", "Ops");
    app.insert_person("Bob Chen", "bob@example.com", "Ops");
    for who in ["ann@example.com", "bob@example.com"] {
        c.submit(
            &format!("/inventory/products/{gmail}"),
            &format!("/inventory/products/{gmail}/grants"),
            &[("person", who)],
        )
        .await;
    }
    let found = c.get("/audit?q=lee%20gmail").await.body;
    assert!(found.contains("to Ann Lee"));
    assert!(!found.contains("to Bob Chen"), "every word must match");
    let all = c.get("/audit?q=gmail").await.body;
    assert!(all.contains("to Ann Lee") && all.contains("to Bob Chen"));
    assert!(all.contains("format=csv"), "the download keeps the filters");
    let csv = c.get("/audit?q=chen&format=csv").await;
    assert!(csv
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert!(csv.body.contains("to Bob Chen"));
    // Each entry links to its object where it has a page.
    let service = app.insert_service("Figma");
    let made = c
        .submit(
            &format!("/inventory/services/{service}/products/new"),
            &format!("/inventory/services/{service}/products"),
            &[("name", "Professional"), ("license_model", "per_seat")],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let figma = made.location();
    let product = c.get("/audit?object_type=product").await.body;
    assert!(product.contains(&format!("href=\"{figma}\"")), "{product}");

    // The same through the API, and the History as JSON.
    app.create_user("ada", PASSWORD, "admin");
    let token = app.jwt("ada").await;
    let api = app.client();
    let r = api
        .api("GET", "/api/v1/audit?q=lee", Some(&token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert!(v["items"].as_array().is_some_and(|i| !i.is_empty()));
    let ann = app.user_id_by_email("ann@example.com");
    let r = api
        .api(
            "GET",
            &format!("/api/v1/people/{ann}/history?kind=access"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["items"][0]["action"], "grant.created");
    let r = api
        .api(
            "GET",
            &format!("/api/v1/products/{gmail}/history"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
    let bad = api
        .api(
            "GET",
            &format!("/api/v1/people/{ann}/history?kind=everything"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    let missing = api
        .api("GET", "/api/v1/products/999999/history", Some(&token), None)
        .await;
    assert_eq!(missing.status, 404);
}
