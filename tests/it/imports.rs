//! CSV import (dry run, row errors, all-or-nothing commit, progress) and export.

use std::time::{Duration, Instant};

use crate::common::{Client, TestApp};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use portalops::db::schema::{products, services, users};

/// Uploads `csv` as an import of `kind`; returns the import's page.
pub(crate) async fn upload(c: &Client, kind: &str, csv: &str) -> String {
    let token = c.get("/imports").await.csrf_token().expect("token");
    let r = c
        .upload(
            &format!("/imports?kind={kind}"),
            Some(&token),
            "file.csv",
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location()
}

/// Waits for the background job, then returns the page.
pub(crate) async fn settled(c: &Client, page: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.get(page).await;
        assert_eq!(r.status, 200);
        if !r.body.contains("This page refreshes by itself") {
            return r.body;
        }
        assert!(Instant::now() < deadline, "the import did not finish");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn commit(c: &Client, page: &str) -> String {
    let r = c.submit(page, &format!("{page}/commit"), &[]).await;
    assert_eq!(r.status, 303);
    settled(c, page).await
}

#[actix_web::test]
async fn a_people_import_lists_every_rows_errors_before_writing_anything() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    app.insert_person("Old Name", "ann@example.com", "Sales");
    let bad = "full_name,email,department,manager_email,employment_status,start_date\n\
               Ann Lee,ANN@example.com,Engineering,,,\n\
               ,new@example.com,,,,\n\
               Bob,not-an-email,,,,\n\
               Cat,cat@example.com,,nobody@example.com,,\n\
               Dan,dan@example.com,,,retired,2026-13-01\n\
               Eve,ann@example.com,,,,\n";
    let page = upload(&c, "people", bad).await;
    let body = settled(&c, &page).await;
    assert!(body.contains("6 rows checked"), "{body}");
    for needle in [
        "A new person needs a full name.",
        "Enter an email address",
        "No manager with the email nobody@example.com",
        "Choose an employment status.",
        "Enter a date as YYYY-MM-DD.",
        "This email appears twice in the file (also row 2).",
    ] {
        assert!(body.contains(needle), "{needle}");
    }
    assert!(
        !body.contains("Import now"),
        "no commit while rows have errors"
    );
    assert_eq!(app.count("users"), 2, "a dry run writes nothing");
    let refused = c.submit(&page, &format!("{page}/commit"), &[]).await;
    assert_eq!(refused.status, 303);
    assert_eq!(
        app.count("users"),
        2,
        "a file with errors cannot be committed"
    );

    let good = "full_name,email,department,manager_email,employment_status,start_date\n\
                Ann Lee,ANN@example.com,Engineering,,,\n\
                Cat Chen,cat@example.com,Engineering,ann@example.com,onboarding,2026-12-01\n\
                Dan Diaz,dan@example.com,,cat@example.com,,\n";
    let page = upload(&c, "people", good).await;
    let body = settled(&c, &page).await;
    assert!(
        body.contains("Would create <strong>2</strong> and update <strong>1</strong>"),
        "{body}"
    );
    let done = commit(&c, &page).await;
    assert!(done.contains("2 created, 1 updated."), "{done}");
    let (name, dept): (String, Option<String>) = users::table
        .filter(users::email.eq("ann@example.com"))
        .select((users::full_name, users::department))
        .first(&mut app.conn())
        .expect("ann");
    assert_eq!(
        (name.as_str(), dept.as_deref()),
        ("Ann Lee", Some("Engineering"))
    );
    let dan_manager: Option<i64> = users::table
        .filter(users::email.eq("dan@example.com"))
        .select(users::manager_id)
        .first(&mut app.conn())
        .expect("dan");
    let cat: i64 = users::table
        .filter(users::email.eq("cat@example.com"))
        .select(users::id)
        .first(&mut app.conn())
        .expect("cat");
    assert_eq!(
        dan_manager,
        Some(cat),
        "managers created by the same file resolve"
    );
    let actions = app.audit_actions();
    assert_eq!(actions.iter().filter(|a| *a == "person.created").count(), 2);
    assert!(actions.contains(&"import.committed".to_string()));
}

#[actix_web::test]
async fn a_commit_that_fails_half_way_writes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let mut csv = String::from("full_name,email\n");
    for i in 0..300 {
        csv.push_str(&format!("Person {i},p{i}@example.com\n"));
    }
    csv.push_str("Boom,boom@example.com\n");
    let page = upload(&c, "people", &csv).await;
    assert!(settled(&c, &page)
        .await
        .contains("Would create <strong>301</strong>"));
    app.conn()
        .batch_execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.email = 'boom@example.com' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER boom BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .expect("trigger");
    let done = commit(&c, &page).await;
    assert!(done.contains("nothing was written"), "{done}");
    assert_eq!(
        app.count("users"),
        1,
        "the 300 rows before the failure were rolled back"
    );
}

#[actix_web::test]
async fn services_with_their_products_import_and_reimport_idempotently() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let csv = "service_name,vendor,category,website,product_name,license_model,seats_purchased\n\
               Google Workspace,Google,Productivity,https://workspace.google.com,Gmail,per_seat,100\n\
               Google Workspace,,,,Drive,per_seat,100\n\
               Atlassian,Atlassian,Engineering,,Jira,,\n\
               Notion,Notion Labs,Docs,,,,\n";
    let page = upload(&c, "services", csv).await;
    assert!(settled(&c, &page)
        .await
        .contains("Would create <strong>6</strong>"));
    assert!(commit(&c, &page).await.contains("6 created, 0 updated."));
    assert_eq!((app.count("services"), app.count("products")), (3, 3));
    let again = upload(&c, "services", csv).await;
    assert!(settled(&c, &again)
        .await
        .contains("Would create <strong>0</strong> and update <strong>0</strong>"));
    let changed = "service_name,product_name,seats_purchased\ngoogle workspace,GMAIL,150\n";
    let page = upload(&c, "services", changed).await;
    assert!(settled(&c, &page)
        .await
        .contains("update <strong>1</strong>"));
    commit(&c, &page).await;
    let seats: Option<i32> = products::table
        .filter(products::name.eq("Gmail"))
        .select(products::seats_purchased)
        .first(&mut app.conn())
        .expect("gmail");
    assert_eq!(seats, Some(150));
    let conflicting = "service_name,vendor,product_name,license_model\nZoom,Zoom,Meetings,per_seat\nZoom,Other,Webinars,lifetime\n";
    let page = upload(&c, "services", conflicting).await;
    let body = settled(&c, &page).await;
    assert!(body.contains("Differs from row 2 for the same service."));
    let unknown = upload(&c, "services", "service,colour\nx,y\n").await;
    assert!(settled(&c, &unknown).await.contains("Unknown column"));
    let n: i64 = services::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(n, 3);
}

#[actix_web::test]
async fn uploads_over_the_limit_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let token = c.get("/imports").await.csrf_token().expect("token");
    let big = vec![b'a'; 11 * 1024 * 1024];
    let r = c
        .upload("/imports?kind=people", Some(&token), "big.csv", &big)
        .await;
    assert_eq!(r.status, 413);
    assert!(r.body.contains("limited to 10 MB"));
    let no_token = c
        .upload("/imports?kind=people", None, "x.csv", b"email\na@b.co\n")
        .await;
    assert_eq!(no_token.status, 403, "uploads need the CSRF token too");
    assert_eq!(app.count("imports"), 0);
}

#[actix_web::test]
async fn exports_carry_each_persons_access_and_defuse_formulas() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", Some(5));
    let ann = app.insert_person(
        "=HYPERLINK(\"http://evil\")",
        "ann@example.com",
        "Engineering",
    );
    app.insert_grant(ann, p);
    let r = c.get("/directory/export.csv").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .expect("attachment")
        .starts_with("attachment"));
    assert!(r.body.starts_with("full_name,email,username"));
    assert!(r.body.contains("Slack → Slack Pro"));
    assert!(r.body.contains("'=HYPERLINK"), "{}", r.body);
    let inv = c.get("/inventory/export.csv").await;
    assert!(
        inv.body
            .contains("Slack,Slack Inc.,Productivity,,,Slack Pro,per_seat,5,,active,active,1"),
        "{}",
        inv.body
    );
    let pa = app.logged_in("pat", "product_admin").await;
    assert_eq!(pa.get("/directory/export.csv").await.status, 403);
    assert_eq!(pa.get("/imports").await.status, 403);
}

#[actix_web::test]
async fn a_grants_import_names_every_bad_row_then_grants_a_clean_file_whole() {
    use portalops::db::schema::{access_grants, audit_log};
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let gh = app.insert_service("GitHub");
    let enterprise = app.insert_product(gh, "Enterprise", Some(1));
    let slack = app.insert_product(app.insert_service("Slack"), "Pro", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Engineering");
    let cat = app.insert_person("Cat Diaz", "cat@example.com", "Sales");
    app.insert_grant(cat, slack);
    let grants = |app: &TestApp| -> Vec<(i64, i64)> {
        access_grants::table
            .filter(access_grants::revoked_at.is_null())
            .select((access_grants::user_id, access_grants::product_id))
            .order((access_grants::user_id, access_grants::product_id))
            .load(&mut app.conn())
            .expect("grants")
    };

    let bad = "email,service,product,account_identifier,note,granted_on\n\
               ann@example.com,github,ENTERPRISE,ann-gh,,2025-03-01\n\
               nobody@example.com,GitHub,Enterprise,,,\n\
               bob@example.com,GitHub,Team,,,\n\
               cat@example.com,Slack,Pro,,,\n\
               bob@example.com,Slack,Pro,,,2099-01-01\n\
               ,Slack,,,,\n\
               ann@example.com,GitHub,Enterprise,,,\n";
    let page = upload(&c, "grants", bad).await;
    let body = settled(&c, &page).await;
    for (row, needle) in [
        (3, "nobody in the directory has this email address"),
        (4, "there is no such product among those you administer"),
        (5, "already has access to this product"),
        (6, "cannot be in the future"),
        (7, "The person&#39;s email address is missing."),
        (7, "The product name is missing."),
        (8, "is named twice for this product"),
    ] {
        assert!(
            body.contains(needle),
            "row {row}: {needle:?} missing from {body}"
        );
    }
    assert!(body.contains("problem(s) found"));
    assert!(!body.contains("Import now"));
    let refused = c.submit(&page, &format!("{page}/commit"), &[]).await;
    assert_eq!(refused.status, 303);
    assert_eq!(grants(&app), vec![(cat, slack)], "nothing is written");

    // The clean file: the seats it goes over are said before the commit, which confirms it.
    let good = "\u{feff}Email,Service,Product,Account_identifier,Note,Granted_on,full_name\n\
                ann@example.com,github,ENTERPRISE,ann-gh,from the old sheet,2025-03-01,Ann\n\
                bob@example.com,GitHub,Enterprise,,,,\n\
                bob@example.com,Slack,Pro,,,,\n";
    let page = upload(&c, "grants", good).await;
    let body = settled(&c, &page).await;
    assert!(body.contains("Would grant <strong>3</strong>"), "{body}");
    assert!(body.contains("GitHub → Enterprise has 1 of 1 seats free: this file takes it 1 over."));
    let done = commit(&c, &page).await;
    assert!(done.contains("3 grants made."), "{done}");
    let mut want = vec![
        (ann, enterprise),
        (bob, enterprise),
        (bob, slack),
        (cat, slack),
    ];
    want.sort_unstable();
    assert_eq!(grants(&app), want);
    let (since, account, note): (chrono::DateTime<chrono::Utc>, String, String) =
        access_grants::table
            .filter(access_grants::user_id.eq(ann))
            .select((
                access_grants::granted_at,
                access_grants::account_identifier,
                access_grants::note,
            ))
            .first(&mut app.conn())
            .expect("ann's grant");
    assert_eq!(since.date_naive().to_string(), "2025-03-01");
    assert_eq!(
        (account.as_str(), note.as_str()),
        ("ann-gh", "from the old sheet")
    );
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("grant.created"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(audited, 3, "each grant its own audited change");

    // The export reads back: the same file again finds every row already granted.
    let exported = c.get("/inventory/grants.csv").await.body;
    let page = upload(&c, "grants", &exported).await;
    let body = settled(&c, &page).await;
    assert_eq!(
        body.matches("already has access to this product").count(),
        4,
        "{body}"
    );
}

#[actix_web::test]
async fn a_grants_import_is_for_admins_and_refuses_a_card_number_before_storing() {
    let app = TestApp::spawn().await;
    app.create_user("sam", crate::common::PASSWORD, "service_admin");
    let sam = app.client();
    assert_eq!(sam.login("sam", crate::common::PASSWORD).await.status, 303);
    assert_eq!(sam.get("/imports/template/grants.csv").await.status, 403);
    let c = app.logged_in("root", "admin").await;
    let template = c.get("/imports/template/grants.csv").await;
    assert_eq!(template.status, 200);
    assert!(template.body.starts_with("email,service,product,"));
    let token = c.get("/imports").await.csrf_token().expect("token");
    let r = c
        .upload(
            "/imports?kind=grants",
            Some(&token),
            "g.csv",
            b"email,service,product,note\na@example.com,S,P,4111 1111 1111 1111\n",
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(app.count("imports"), 0, "nothing stored");
}

#[actix_web::test]
async fn a_grant_imported_for_a_leaver_gets_its_revoke_task() {
    use portalops::db::schema::tasks;
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let figma = app.insert_product(app.insert_service("Figma"), "Pro", None);
    let leo = app.insert_person("Leo Park", "leo@example.com", "Design");
    // Something to revoke, so the offboarding stays open.
    app.insert_grant(
        leo,
        app.insert_product(app.insert_service("Slack"), "Pro", None),
    );
    let r = c
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "leo@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let open = |app: &TestApp| -> i64 {
        tasks::table
            .filter(tasks::status.eq("open"))
            .filter(tasks::product_id.eq(figma))
            .count()
            .get_result(&mut app.conn())
            .expect("count")
    };
    assert_eq!(open(&app), 0);
    let page = upload(
        &c,
        "grants",
        "email,service,product\nleo@example.com,Figma,Pro\n",
    )
    .await;
    settled(&c, &page).await;
    let done = commit(&c, &page).await;
    assert!(done.contains("1 grants made."), "{done}");
    assert_eq!(
        open(&app),
        1,
        "the offboarding revokes what was imported meanwhile"
    );
}
