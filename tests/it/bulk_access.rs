//! Access at company scale through a product's pages: a pasted list granted at once after
//! its preview (unknown, departed and existing holders listed, never dropped silently; the
//! seats checked before), and many people's access revoked with one reason after a second,
//! confirming page. Each grant and revocation is its own audited change, all or nothing.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{access_grants, users};

/// The preview's fingerprint of the list (the hidden `previewed` field).
fn previewed(body: &str) -> String {
    let at = body
        .find("name=\"previewed\" value=\"")
        .expect("the form carries what it previewed");
    let rest = &body[at + "name=\"previewed\" value=\"".len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

fn active_grants(app: &TestApp, product: i64) -> Vec<i64> {
    access_grants::table
        .filter(access_grants::product_id.eq(product))
        .filter(access_grants::revoked_at.is_null())
        .select(access_grants::user_id)
        .order(access_grants::user_id.asc())
        .load(&mut app.conn())
        .expect("grants")
}

#[actix_web::test]
async fn a_pasted_list_is_previewed_then_granted_whole_with_refused_lines_named() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("GitHub");
    let p = app.insert_product(s, "Enterprise", Some(4));
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Engineering");
    let cat = app.insert_person("Cat Diaz", "cat@example.com", "Sales");
    let dan = app.insert_person("Dan Eze", "dan@example.com", "Sales");
    let eve = app.insert_person("Eve Fox", "eve@example.com", "Sales");
    diesel::update(users::table.find(eve))
        .set(users::employment_status.eq(portalops::domain::EmploymentStatus::Offboarded))
        .execute(&mut app.conn())
        .expect("eve left");
    app.insert_grant(dan, p);
    let form = format!("/inventory/products/{p}/grants/bulk");
    let page = c.get(&form).await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("Grant GitHub → Enterprise to many people"));

    // Mixed separators, a mail program's "Name <email>", a repeat, case: all read.
    let list = "ann@example.com, Bob Chen <BOB@example.com>\ncat@example.com; nobody@example.com\n\
                dan@example.com\neve@example.com\nann@EXAMPLE.com";
    let preview = c
        .submit(
            &form,
            &form,
            &[("people", list), ("note", "Q3 hires"), ("step", "preview")],
        )
        .await;
    assert_eq!(
        preview.status, 422,
        "refused lines make the preview an error"
    );
    for needle in [
        "3 of the 6 people named cannot be granted",
        "nobody in the directory has this email address",
        "already has access to this product",
        "has been offboarded",
        "Ann Lee",
        "Bob Chen",
        "Cat Diaz",
    ] {
        assert!(
            preview.body.contains(needle),
            "the preview says {needle:?}: {}",
            preview.body
        );
    }
    assert!(
        !preview.body.contains("value=\"confirm\""),
        "no confirm while a line is refused"
    );
    assert_eq!(
        active_grants(&app, p),
        vec![dan],
        "a preview grants nothing"
    );

    // Confirming the refused list anyway (a crafted post) grants nothing, every line named.
    let fp = previewed(&preview.body);
    let forced = c
        .submit(
            &form,
            &form,
            &[("people", list), ("step", "confirm"), ("previewed", &fp)],
        )
        .await;
    assert_eq!(forced.status, 422);
    assert!(forced.body.contains("nothing was granted"));
    assert_eq!(active_grants(&app, p), vec![dan]);

    // "Remove the lines that cannot be granted": explicit, and the list shown is what is left.
    let dropped = c
        .submit(
            &form,
            &form,
            &[("people", list), ("note", "Q3 hires"), ("step", "drop")],
        )
        .await;
    assert_eq!(dropped.status, 200);
    assert!(!dropped.body.contains("nobody@example.com"));
    assert!(dropped.body.contains("Grant access to 3 people"));
    // 1 seat held + 3 = 4 of 4: within the seats, no box to tick.
    assert!(dropped.body.contains("3 of 4 seats are free now"));
    assert!(!dropped.body.contains("name=\"over_seats\""));
    let kept = "ann@example.com\nBOB@example.com\ncat@example.com";
    assert!(dropped.body.contains(kept));

    // A list edited after its preview is previewed again, not granted.
    let fp = previewed(&dropped.body);
    let edited = c
        .submit(
            &form,
            &form,
            &[
                ("people", "ann@example.com"),
                ("step", "confirm"),
                ("previewed", &fp),
            ],
        )
        .await;
    assert_eq!(edited.status, 422);
    assert!(edited.body.contains("The list changed since its preview"));
    assert_eq!(active_grants(&app, p), vec![dan]);

    let done = c
        .submit(
            &form,
            &form,
            &[
                ("people", kept),
                ("note", "Q3 hires"),
                ("step", "confirm"),
                ("previewed", &fp),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let mut want = vec![ann, bob, cat, dan];
    want.sort_unstable();
    assert_eq!(active_grants(&app, p), want);
    let notes: Vec<String> = access_grants::table
        .filter(access_grants::user_id.eq_any([ann, bob, cat]))
        .select(access_grants::note)
        .load(&mut app.conn())
        .expect("notes");
    assert!(notes.iter().all(|n| n == "Q3 hires"));
    let created = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "grant.created")
        .count();
    assert_eq!(created, 3, "each grant is its own audited change");
    let product = c.get(&format!("/inventory/products/{p}")).await;
    assert!(product.body.contains("Access granted to 3 people."));
}

#[actix_web::test]
async fn going_over_the_seats_is_told_first_and_needs_a_tick() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Zoom");
    let p = app.insert_product(s, "Pro", Some(1));
    app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    app.insert_person("Bob Chen", "bob@example.com", "Engineering");
    let form = format!("/inventory/products/{p}/grants/bulk");
    let list = "ann@example.com\nbob@example.com";
    let preview = c.submit(&form, &form, &[("people", list)]).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview
        .body
        .contains("1 of 1 seats are free now; after this grant 2 of 1 are in use."));
    assert!(preview.body.contains("name=\"over_seats\""));
    let fp = previewed(&preview.body);
    let unticked = c
        .submit(
            &form,
            &form,
            &[("people", list), ("step", "confirm"), ("previewed", &fp)],
        )
        .await;
    assert_eq!(unticked.status, 422);
    assert!(unticked
        .body
        .contains("goes over the purchased seats of Zoom → Pro by 1: confirm to grant anyway"));
    assert_eq!(active_grants(&app, p).len(), 0);
    let ticked = c
        .submit(
            &form,
            &form,
            &[
                ("people", list),
                ("step", "confirm"),
                ("previewed", &fp),
                ("over_seats", "1"),
            ],
        )
        .await;
    assert_eq!(ticked.status, 303);
    assert_eq!(active_grants(&app, p).len(), 2);
}

#[actix_web::test]
async fn a_card_number_in_the_note_refuses_the_batch_and_clears_the_note() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Pro", None);
    app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let form = format!("/inventory/products/{p}/grants/bulk");
    let r = c
        .submit(
            &form,
            &form,
            &[
                ("people", "ann@example.com"),
                ("note", "card 4111 1111 1111 1111"),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains("4111 1111 1111 1111"));
    assert!(r.body.contains("ann@example.com"), "the list typed is kept");
    assert_eq!(active_grants(&app, p).len(), 0);
}

#[actix_web::test]
async fn many_are_revoked_with_one_reason_after_a_confirming_page() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Figma");
    let p = app.insert_product(s, "Editor", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Design");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Design");
    let cat = app.insert_person("Cat Diaz", "cat@example.com", "Design");
    let ga = app.insert_grant(ann, p);
    let gb = app.insert_grant(bob, p);
    app.insert_grant(cat, p);
    let page = format!("/inventory/products/{p}");
    let shown = c.get(&page).await;
    assert!(shown.body.contains("form=\"bulk-revoke\""));
    let action = format!("/inventory/products/{p}/grants/revoke");
    let (a, b) = (ga.to_string(), gb.to_string());

    // Nothing chosen: told so.
    let none = c.submit(&page, &action, &[]).await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("Choose at least one"));

    let confirm_page = c
        .submit(&page, &action, &[("grant", &a), ("grant", &b)])
        .await;
    assert_eq!(confirm_page.status, 200);
    assert!(confirm_page
        .body
        .contains("This ends the access of 2 people"));
    assert!(confirm_page.body.contains("Ann Lee") && confirm_page.body.contains("Bob Chen"));
    assert!(!confirm_page.body.contains("Cat Diaz"));
    assert_eq!(
        active_grants(&app, p).len(),
        3,
        "the first step revokes nothing"
    );

    let done = c
        .submit(
            &page,
            &action,
            &[
                ("grant", &a),
                ("grant", &b),
                ("reason", "project ended"),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(active_grants(&app, p), vec![cat]);
    let reasons: Vec<String> = access_grants::table
        .filter(access_grants::id.eq_any([ga, gb]))
        .select(access_grants::revoke_note)
        .load(&mut app.conn())
        .expect("reasons");
    assert!(reasons.iter().all(|r| r == "project ended"));
    assert_eq!(
        app.audit_actions()
            .iter()
            .filter(|a| *a == "grant.revoked")
            .count(),
        2
    );

    // Again, for one already revoked and one still active: refused whole, nothing revoked.
    let gc: i64 = access_grants::table
        .filter(access_grants::user_id.eq(cat))
        .select(access_grants::id)
        .first(&mut app.conn())
        .expect("cat's grant");
    let again = c
        .submit(
            &page,
            &action,
            &[
                ("grant", &a),
                ("grant", &gc.to_string()),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("already revoked"));
    assert_eq!(active_grants(&app, p), vec![cat]);
}

#[actix_web::test]
async fn a_product_administrator_bulk_changes_only_their_products() {
    let app = TestApp::spawn().await;
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", None);
    let drive = app.insert_product(s, "Drive", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let on_drive = app.insert_grant(ann, drive);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let c = app.client();
    assert_eq!(c.login("pam", PASSWORD).await.status, 303);
    assert_eq!(
        c.get(&format!("/inventory/products/{drive}/grants/bulk"))
            .await
            .status,
        404
    );
    let mine = format!("/inventory/products/{gmail}/grants/bulk");
    let elsewhere = format!("/inventory/products/{drive}/grants/bulk");
    let r = c
        .submit(&mine, &elsewhere, &[("people", "ann@example.com")])
        .await;
    assert_eq!(r.status, 404);
    // A grant of another product slipped into a bulk revocation: refused whole (404).
    let on_gmail = app.insert_grant(ann, gmail);
    let revoke = format!("/inventory/products/{gmail}/grants/revoke");
    let r = c
        .submit(
            &format!("/inventory/products/{gmail}"),
            &revoke,
            &[
                ("grant", &on_gmail.to_string()),
                ("grant", &on_drive.to_string()),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(active_grants(&app, drive), vec![ann]);
    assert_eq!(active_grants(&app, gmail), vec![ann]);
    let ok = c
        .submit(&mine, &mine, &[("people", "ann@example.com")])
        .await;
    assert_eq!(ok.status, 422, "Ann holds Gmail already");
}

#[actix_web::test]
async fn the_api_grants_and_revokes_in_bulk_with_the_same_rules() {
    use serde_json::{json, Value};
    let app = TestApp::spawn().await;
    app.create_user("ada", PASSWORD, "admin");
    let token = app.jwt("ada").await;
    let c = app.client();
    let s = app.insert_service("Notion");
    let p = app.insert_product(s, "Plus", Some(2));
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Ops");
    let cat = app.insert_person("Cat Diaz", "cat@example.com", "Ops");
    let bulk = format!("/api/v1/products/{p}/grants/bulk");
    let parse = |b: &str| -> Value { serde_json::from_str(b).expect("json") };

    let dry = c
        .api("POST", &bulk, Some(&token), Some(json!({"people": ["ann@example.com", "nobody@example.com", bob.to_string()], "dry_run": true})))
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let v = parse(&dry.body);
    assert_eq!(v["to_grant"], 2);
    assert_eq!(v["refused"], 1);
    assert_eq!(v["lines"][1]["outcome"], "unknown");
    assert_eq!(v["lines"][2]["person_id"], bob);

    let refused = c
        .api(
            "POST",
            &bulk,
            Some(&token),
            Some(json!({"people": ["ann@example.com", "nobody@example.com"]})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let v = parse(&refused.body);
    assert!(v["errors"]["people.2"]
        .as_str()
        .unwrap_or_default()
        .contains("nobody@example.com"));
    assert_eq!(app.count("access_grants"), 0);

    // Three people on two seats: refused until the caller says so.
    let three = json!({"people": ["ann@example.com", "bob@example.com", "cat@example.com"], "note": "pilot"});
    let over = c
        .api("POST", &bulk, Some(&token), Some(three.clone()))
        .await;
    assert_eq!(over.status, 422, "{}", over.body);
    assert!(parse(&over.body)["errors"]["over_seats"].is_string());
    let mut accepted = three;
    accepted["over_seats"] = json!(true);
    let made = c.api("POST", &bulk, Some(&token), Some(accepted)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let granted: Vec<i64> = parse(&made.body)["granted"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(granted.len(), 3);

    let revoke = c
        .api(
            "POST",
            "/api/v1/grants/bulk-revoke",
            Some(&token),
            Some(json!({"grants": &granted[..2], "reason": "pilot over"})),
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    let v = parse(&revoke.body);
    assert_eq!(v["revoked"].as_array().map(Vec::len), Some(2));
    let again = c
        .api(
            "POST",
            "/api/v1/grants/bulk-revoke",
            Some(&token),
            Some(json!({"grants": &granted[1..]})),
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert_eq!(
        access_grants::table
            .filter(access_grants::revoked_at.is_null())
            .select(access_grants::user_id)
            .load::<i64>(&mut app.conn())
            .expect("active"),
        vec![cat],
        "the refused batch revoked nothing"
    );
    let _ = (ann, bob);
}

/// The same list granted by several Admins at the same moment: one batch is made, every
/// other one is refused with the reason (409 when the database's unique rule caught it,
/// 422 when the plan saw the first batch's grants), never a 500, and nobody is granted twice.
#[actix_web::test]
async fn the_same_list_granted_at_once_is_made_once() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        app.create_user(&format!("ops{i}"), PASSWORD, "admin");
    }
    let mut tokens = Vec::new();
    for i in 0..3 {
        tokens.push(app.jwt(&format!("ops{i}")).await);
    }
    let s = app.insert_service("Miro");
    for round in 0..4 {
        let p = app.insert_product(s, &format!("Team {round}"), None);
        let people: Vec<String> = (0..5)
            .map(|i| {
                let email = format!("p{round}-{i}@example.com");
                app.insert_person(&format!("Person {round} {i}"), &email, "Ops");
                email
            })
            .collect();
        let bulk = format!("/api/v1/products/{p}/grants/bulk");
        let clients: Vec<_> = tokens.iter().map(|_| app.client()).collect();
        let answers = futures_util::future::join_all(clients.iter().zip(&tokens).map(|(c, t)| {
            c.api(
                "POST",
                &bulk,
                Some(t),
                Some(serde_json::json!({"people": people})),
            )
        }))
        .await;
        for r in &answers {
            match r.status {
                201 => {}
                409 | 422 => assert!(r.body.contains("already has access"), "{}", r.body),
                other => panic!("{other}: {}", r.body),
            }
        }
        assert_eq!(answers.iter().filter(|r| r.status == 201).count(), 1);
        assert_eq!(active_grants(&app, p).len(), 5);
    }
}
