//! Figures PortalOps keeps or reuses instead of recomputing per request: the per-product
//! seat counters (kept by triggers) and the snapshot cache of the estate-wide pages. Both
//! must be exactly what a fresh count would say, after every kind of change.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use crate::common::TestApp;

#[derive(QueryableByName, Debug, PartialEq)]
struct Seats {
    #[diesel(sql_type = BigInt)]
    product_id: i64,
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// (product, active grants) from the counters, and from counting the grants.
fn counters_and_truth(app: &TestApp) -> (Vec<Seats>, Vec<Seats>) {
    let mut conn = app.conn();
    let kept = diesel::sql_query(
        "SELECT product_id, active_grants AS n FROM product_seat_counts
          WHERE active_grants > 0 ORDER BY product_id",
    )
    .load(&mut conn)
    .expect("counters");
    let counted = diesel::sql_query(
        "SELECT product_id, count(*)::int AS n FROM access_grants
          WHERE revoked_at IS NULL GROUP BY product_id ORDER BY product_id",
    )
    .load(&mut conn)
    .expect("count");
    (kept, counted)
}

#[actix_web::test]
async fn seat_counters_follow_every_grant_revoke_reassign_and_delete() {
    let app = TestApp::spawn().await;
    let svc = app.insert_service("Atlassian");
    let jira = app.insert_product(svc, "Jira", Some(2));
    let wiki = app.insert_product(svc, "Confluence", None);
    let people: Vec<i64> = (0..4)
        .map(|i| app.insert_person(&format!("P {i}"), &format!("p{i}@example.com"), "Ops"))
        .collect();
    for p in &people {
        app.insert_grant(*p, jira);
    }
    app.insert_grant(people[0], wiki);
    let (kept, counted) = counters_and_truth(&app);
    assert_eq!(kept, counted);
    assert_eq!(
        kept,
        vec![
            Seats {
                product_id: jira,
                n: 4
            },
            Seats {
                product_id: wiki,
                n: 1
            }
        ]
    );

    let mut conn = app.conn();
    // A multi-row revoke, an edit of an active grant's note, a move to another product,
    // a delete of a revoked and of an active grant, and a multi-row insert in one statement.
    let script = [
        format!("UPDATE access_grants SET revoked_at = now() WHERE product_id = {jira} AND user_id IN ({}, {})", people[0], people[1]),
        format!("UPDATE access_grants SET note = 'renamed' WHERE product_id = {jira}"),
        format!("UPDATE access_grants SET product_id = {wiki} WHERE product_id = {jira} AND user_id = {}", people[2]),
        format!("DELETE FROM access_grants WHERE product_id = {jira} AND revoked_at IS NOT NULL AND user_id = {}", people[0]),
        format!("DELETE FROM access_grants WHERE product_id = {wiki} AND user_id = {}", people[0]),
        format!("INSERT INTO access_grants (user_id, product_id) VALUES ({}, {jira}), ({}, {jira}), ({}, {wiki})", people[0], people[1], people[3]),
    ];
    for sql in &script {
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
        let (kept, counted) = counters_and_truth(&app);
        assert_eq!(kept, counted, "after {sql}");
    }
    // A rolled-back change leaves the counters as they were.
    let before = counters_and_truth(&app).0;
    let _ = conn.transaction::<(), diesel::result::Error, _>(|c| {
        diesel::sql_query(format!(
            "UPDATE access_grants SET revoked_at = now() WHERE product_id = {jira}"
        ))
        .execute(c)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert_eq!(counters_and_truth(&app).0, before);

    // What the pages show comes from the counters: Jira has 3 seats taken of 2 bought.
    let admin = app.logged_in("root", "admin").await;
    let product = admin.get(&format!("/inventory/products/{jira}")).await.body;
    assert!(product.contains("3 of 2"), "{product}");
    let dash = admin.get("/").await.body;
    assert!(
        dash.contains(
            r#"<span class="num">1</span><span class="lbl">products over their purchased seats"#
        ),
        "{dash}"
    );
}

#[actix_web::test]
async fn estate_pages_reused_between_changes_show_every_change_at_once() {
    let app = TestApp::spawn().await;
    let svc = app.insert_service("Slack");
    let product = app.insert_product(svc, "Slack Pro", Some(10));
    let person = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    let admin = app.logged_in("root", "admin").await;

    let grants_on = |body: &str| -> String {
        let at = body.find("active access grants").expect("grants stat");
        let num = &body[..at];
        let start = num.rfind("<span class=\"num\">").expect("num") + "<span class=\"num\">".len();
        num[start..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let first = admin.get("/").await;
    assert_eq!(grants_on(&first.body), "0");
    // The same snapshot: the figures are reused, in a fixed handful of statements. (The
    // snapshot is the whole cluster's, and other tests commit in it all the time: a few
    // tries find a quiet moment.)
    let count = |r: &crate::common::client::Resp| -> u32 {
        r.header("x-query-count")
            .and_then(|n| n.parse().ok())
            .expect("query count")
    };
    let computed = count(&first);
    let mut reused = computed;
    for _ in 0..50 {
        let again = admin.get("/").await;
        assert_eq!(grants_on(&again.body), "0");
        reused = reused.min(count(&again));
    }
    assert!(reused < computed, "reused {reused} vs computed {computed}");

    // Any commit changes the snapshot: the next view is recomputed.
    app.insert_grant(person, product);
    assert_eq!(grants_on(&admin.get("/").await.body), "1");

    // The register and the savings page too.
    let register = admin.get("/payments").await.body;
    assert!(!register.contains("REF-CACHE-1"));
    app.insert_billing(product, "monthly", "120.00", "EUR", None);
    diesel::sql_query("UPDATE billing_records SET reference = 'REF-CACHE-1'")
        .execute(&mut app.conn())
        .expect("reference");
    let register = admin.get("/payments").await.body;
    assert!(register.contains("REF-CACHE-1"), "{register}");
    let print = admin.get("/payments/print").await.body;
    assert!(print.contains("REF-CACHE-1"));
    let savings = admin.get("/payments/savings").await.body;
    assert!(savings.contains("Slack Pro"), "{savings}");
    assert!(savings.contains("10%"), "1 of 10 seats: {savings}");

    // Users never see each other's reused figures: a Product Administrator of nothing
    // sees no products, right after the Admin's view was stored.
    let pa = app.logged_in("pat", "product_admin").await;
    let savings = pa.get("/payments/savings").await.body;
    assert!(!savings.contains("Slack Pro"), "{savings}");
}
