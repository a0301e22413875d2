//! `portalops demo-data`: a consistent company, usable at once, never mixed with real data.

use crate::common::TestApp;
use diesel::prelude::*;
use portalops::db::schema::users;
use portalops::demo::{load, DemoOptions};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[actix_web::test]
async fn demo_data_loads_a_consistent_company_and_refuses_a_second_time() {
    let app = TestApp::spawn().await;
    let summary = load(
        &mut app.conn(),
        &DemoOptions {
            scale: 0.05,
            replace: false,
        },
    )
    .expect("demo data");
    let count = |t: &str| {
        summary
            .counts
            .iter()
            .find(|c| c.0 == t)
            .map(|c| c.1)
            .expect("counted")
    };
    assert_eq!(count("users"), 500);
    assert_eq!(count("services"), 15);
    assert_eq!(count("products"), 75);
    assert_eq!(count("billing_records"), 75);
    assert_eq!(count("workflows"), 250);
    assert_eq!(count("tasks"), 250);
    assert!(count("access_grants") > 4_000, "about ten per person");
    assert!(count("audit_log") >= 10_000);
    assert_eq!(summary.accounts.len(), 8);

    let admin = app.client();
    assert_eq!(admin.login("admin1", &summary.password).await.status, 303);
    for page in [
        "/",
        "/inventory",
        "/directory",
        "/payments",
        "/payments/print",
        "/payments/savings",
        "/calendar",
        "/workflows",
        "/tasks",
        "/audit",
    ] {
        let r = admin.get(page).await;
        assert_eq!(r.status, 200, "{page}");
    }
    let dash = admin.get("/").await;
    assert!(
        dash.body.contains("Total in EUR"),
        "rates for every demo currency"
    );
    assert!(!dash.body.contains("no rate"));

    // Every revoke task names a grant of the leaver, on the task's product, so an open one
    // can be completed.
    let orphans: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM tasks t JOIN workflows w ON w.id = t.workflow_id
         LEFT JOIN access_grants g ON g.id = t.grant_id
         WHERE t.kind = 'revoke'
           AND (g.id IS NULL OR g.user_id <> w.person_id OR g.product_id <> t.product_id)",
    )
    .get_result::<Count>(&mut app.conn())
    .expect("orphans")
    .n;
    assert_eq!(orphans, 0);
    let open_revoke: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM tasks WHERE kind = 'revoke' AND status = 'open'",
    )
    .get_result::<Count>(&mut app.conn())
    .expect("open revokes")
    .n;
    assert!(open_revoke > 0, "the demo has open offboardings to try");

    // service2 runs the 1st and 11th services: Google Workspace and Adobe.
    let sa = app.client();
    assert_eq!(sa.login("service2", &summary.password).await.status, 303);
    let inv = sa.get("/inventory").await.body;
    assert!(
        inv.contains("Google Workspace") && inv.contains("Adobe"),
        "{inv}"
    );
    assert!(!inv.contains("Atlassian"));

    let again = load(
        &mut app.conn(),
        &DemoOptions {
            scale: 0.05,
            replace: false,
        },
    );
    assert!(again.is_err_and(|e| e.contains("already has 500 people") && e.contains("--replace")));

    // Told to, it replaces everything (audit log included) in one transaction: the same
    // company with the same ids, a new password, and nobody left from before.
    app.insert_person("Real Person", "real@example.com", "Ops");
    let replaced = load(
        &mut app.conn(),
        &DemoOptions {
            scale: 0.05,
            replace: true,
        },
    )
    .expect("replace");
    assert_eq!(replaced.counts, summary.counts);
    assert_ne!(replaced.password, summary.password);
    let mut conn = app.conn();
    let real: i64 = users::table
        .filter(users::email.eq("real@example.com"))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(real, 0);
    let first: i64 = users::table
        .select(diesel::dsl::min(users::id))
        .first::<Option<i64>>(&mut conn)
        .expect("min")
        .unwrap_or(0);
    assert_eq!(first, 1, "ids restart");
    let fresh = app.client();
    assert_eq!(
        fresh.login("admin1", &summary.password).await.status,
        401,
        "old password refused"
    );
    assert_eq!(fresh.login("admin1", &replaced.password).await.status, 303);
    assert_eq!(fresh.get("/inventory").await.status, 200);
    // The audit log is append-only again afterwards.
    let truncate = diesel::sql_query("TRUNCATE audit_log").execute(&mut conn);
    assert!(truncate.is_err());
}
