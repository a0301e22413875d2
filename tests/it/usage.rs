//! Usage evidence (issue #18): a product's user export from its admin console, uploaded on
//! the product's usage page, dry-run against its grants (matched by the grant's account,
//! the directory email, or another email the identity provider sent; reasons for the
//! rest; holders absent from the export), its columns changed, then applied — giving each
//! grant a last active date that the product page's and the savings page's "inactive for
//! N days" filters read. Fixture exports cover the matching edge cases: case, aliases,
//! people who left, repeats, unreadable and ambiguous dates.

use diesel::prelude::*;

use crate::common::client::{Client, Resp};
use crate::common::{TestApp, PASSWORD};
use portalops::db::schema::{access_grants, scim_users, usage_imports, users};

fn usage(product: i64) -> String {
    format!("/inventory/products/{product}/usage")
}

async fn upload(c: &Client, product: i64, name: &str, csv: &str) -> Resp {
    let page = c.get(&usage(product)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = page.csrf_token().expect("csrf");
    c.upload(&usage(product), Some(&token), name, csv.as_bytes())
        .await
}

fn offboard(app: &TestApp, id: i64, on: &str) {
    diesel::update(users::table.find(id))
        .set((
            users::employment_status.eq("offboarded"),
            users::end_date.eq(chrono::NaiveDate::parse_from_str(on, "%Y-%m-%d").ok()),
        ))
        .execute(&mut app.conn())
        .expect("offboard");
}

fn last_active(
    app: &TestApp,
    grant: i64,
) -> (Option<chrono::NaiveDate>, Option<bool>, Option<String>) {
    access_grants::table
        .find(grant)
        .select((
            access_grants::last_active_on,
            access_grants::usage_listed,
            access_grants::usage_tier,
        ))
        .first(&mut app.conn())
        .expect("grant")
}

fn day(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[actix_web::test]
async fn an_export_is_dry_run_then_applied_and_feeds_the_inactivity_filters() {
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Pro", Some(10));
    let today = app.state.clock.today();
    let recent = (today - chrono::TimeDelta::days(3)).to_string();
    let old = (today - chrono::TimeDelta::days(100)).to_string();

    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Eng");
    let bob = app.insert_person("Bob Builder", "bob@example.com", "Eng");
    let cy = app.insert_person("Cy Leaver", "cy@example.com", "Eng");
    let dan = app.insert_person("Dan Absent", "dan@example.com", "Eng");
    let di = app.insert_person("Di Account", "di@example.com", "Eng");
    let g_ada = app.insert_grant(ada, pro);
    let g_bob = app.insert_grant(bob, pro);
    let g_dan = app.insert_grant(dan, pro);
    let g_di = app.insert_grant(di, pro);
    // Di's account in Slack is under another name, recorded on her grant.
    diesel::update(access_grants::table.find(g_di))
        .set(access_grants::account_identifier.eq("DI.OLDNAME@corp.example"))
        .execute(&mut app.conn())
        .expect("account");
    // Bob's other email, as the identity provider sent it.
    diesel::insert_into(scim_users::table)
        .values((
            scim_users::user_id.eq(bob),
            scim_users::user_name.eq("bob@example.com"),
            scim_users::emails.eq(serde_json::json!([
                {"value": "bob@example.com", "primary": true},
                {"value": "robert@legacy.example", "type": "home"}
            ])),
        ))
        .execute(&mut app.conn())
        .expect("scim user");
    offboard(&app, cy, "2026-10-01");

    // A Google Workspace-shaped export: its headers are recognised.
    let csv = format!(
        "\u{feff}First Name [Required],Email Address [Required],Last Sign In [READ ONLY],Licenses [READ ONLY]\n\
         Ada,ADA@Example.COM,{recent}T10:00:00Z,Business+\n\
         Robert,robert@legacy.example,{old},Business\n\
         Di,di.oldname@corp.example,Never,Business\n\
         Cy,cy@example.com,2026-09-15,Business\n\
         Eve,eve@elsewhere.example,{recent},Business\n\
         Ada,ada@example.com,{old},Business+\n\
         Zed,zed@example.com,next week,Business\n"
    );
    let r = upload(&root, pro, "google-users.csv", &csv).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let dry = r.location();
    let page = root.get(&dry).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("Dry run: 7 row(s)"), "{body}");
    assert!(body.contains("<strong>3</strong> matched"), "{body}");
    assert!(body.contains("<strong>4</strong> not matched"), "{body}");
    assert!(body.contains("<strong>1</strong> holder(s)"), "{body}");
    for reason in [
        "Cy Leaver left on 2026-10-01: their account in the tool is still there.",
        "Nobody in the directory has this email",
        "The same person as on line 2",
        "is not a date this import can read",
        "another email of theirs",
        "account on the grant",
        "Dan Absent",
    ] {
        assert!(body.contains(reason), "{reason}: {body}");
    }
    // Nothing written yet.
    assert_eq!(last_active(&app, g_ada), (None, None, None));

    // Columns: one that is not in the file is refused next to its field.
    let token = page.csrf_token().expect("csrf");
    let r = root
        .post_raw(
            &format!("{dry}/columns"),
            &[
                ("csrf_token", &token),
                ("email_column", "Nope"),
                ("last_active_column", "Last Sign In [READ ONLY]"),
                ("tier_column", ""),
                ("date_format", "auto"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Choose one of the file&#39;s columns."),
        "{}",
        r.body
    );
    // Without the licence column the tier is not recorded.
    let r = root
        .post_raw(
            &format!("{dry}/columns"),
            &[
                ("csrf_token", &token),
                ("email_column", "Email Address [Required]"),
                ("last_active_column", "Last Sign In [READ ONLY]"),
                ("tier_column", "Licenses [READ ONLY]"),
                ("date_format", "auto"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let r = root.submit(&dry, &format!("{dry}/apply"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Ada's latest date counts (her two rows), Bob's through his alias, Di's "never".
    assert_eq!(
        last_active(&app, g_ada),
        (day(&recent), Some(true), Some("Business+".into()))
    );
    assert_eq!(
        last_active(&app, g_bob),
        (day(&old), Some(true), Some("Business".into()))
    );
    assert_eq!(
        last_active(&app, g_di),
        (None, Some(true), Some("Business".into()))
    );
    assert_eq!(last_active(&app, g_dan), (None, Some(false), None));
    let (status, kept): (String, String) = usage_imports::table
        .select((usage_imports::status, usage_imports::csv_data))
        .first(&mut app.conn())
        .expect("import");
    assert_eq!(
        (status.as_str(), kept.as_str()),
        ("applied", ""),
        "the file is not kept"
    );
    assert!(app.audit_actions().contains(&"usage.applied".to_string()));
    // Applying twice is refused and changes nothing.
    let r = root.submit(&dry, &format!("{dry}/apply"), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(app.count("usage_imports"), 1);

    // The product page: last activity, and "inactive for 30 days" lists Bob (100 days),
    // Di (never) and Dan (not in the export), not Ada.
    let page = root.get(&format!("/inventory/products/{pro}")).await;
    assert!(page.body.contains(&recent), "{}", page.body);
    assert!(page.body.contains("not in the last export"));
    let page = root
        .get(&format!("/inventory/products/{pro}?inactive=30"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("3 inactive for 30 days"),
        "{}",
        page.body
    );
    for name in ["Bob Builder", "Di Account", "Dan Absent"] {
        assert!(page.body.contains(name), "{name}");
    }
    assert!(!page.body.contains("Ada Lovelace"), "{}", page.body);
    // Out-of-range filters are no filter.
    let page = root
        .get(&format!("/inventory/products/{pro}?inactive=-5"))
        .await;
    assert!(page.body.contains("Ada Lovelace"));

    // The REST API gives the same evidence and the same filter (a bad one is a 422).
    let api = app.client();
    let login = api
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "root", "password": PASSWORD})),
        )
        .await;
    let jwt: serde_json::Value = serde_json::from_str(&login.body).expect("json");
    let jwt = jwt["access_token"].as_str().expect("token").to_string();
    let r = api
        .api(
            "GET",
            &format!("/api/v1/products/{pro}?inactive=30"),
            Some(&jwt),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["grants"]["total"], 3, "{v}");
    let names: Vec<&str> = v["grants"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| g["person"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Bob Builder", "Dan Absent", "Di Account"]);
    let dan = &v["grants"]["items"][1];
    assert_eq!(dan["in_usage_export"], false);
    assert!(dan["usage_checked_at"].is_string());
    let r = api
        .api("GET", &format!("/api/v1/products/{pro}"), Some(&jwt), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["grants"]["items"][0]["last_active_on"], recent.as_str());
    let r = api
        .api(
            "GET",
            &format!("/api/v1/products/{pro}?inactive=0"),
            Some(&jwt),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("inactive"), "{}", r.body);

    // Savings by real use: 4 assigned, 3 inactive: 1 in use of 10 bought.
    let page = root.get("/payments/savings?inactive=30").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("?inactive=30#access\">3</a>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<td class=\"num\">10%</td>"),
        "{}",
        page.body
    );

    // An older export applied later does not move a date back; an ambiguous date needs
    // the format chosen.
    let csv = format!("email,last login\nada@example.com,{old}\nbob@example.com,01/02/2026\n");
    let r = upload(&root, pro, "older.csv", &csv).await;
    let dry = r.location();
    let page = root.get(&dry).await;
    assert!(
        page.body.contains("could be day/month or month/day"),
        "{}",
        page.body
    );
    let token = page.csrf_token().expect("csrf");
    let r = root
        .post_raw(
            &format!("{dry}/columns"),
            &[
                ("csrf_token", &token),
                ("email_column", "email"),
                ("last_active_column", "last login"),
                ("tier_column", ""),
                ("date_format", "dmy"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = root.submit(&dry, &format!("{dry}/apply"), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(last_active(&app, g_ada).0, day(&recent));
    // The tier column was not chosen this time: the tier stays as recorded.
    assert_eq!(last_active(&app, g_ada).2.as_deref(), Some("Business+"));
    assert_eq!(
        last_active(&app, g_bob).0,
        day(&old),
        "100 days ago is later than 1 Feb"
    );
}

#[actix_web::test]
async fn only_who_may_grant_the_product_sees_its_usage_and_a_card_number_stores_nothing() {
    let app = TestApp::spawn().await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Pro", None);
    let zoom = app.insert_service("Zoom");
    let meet = app.insert_product(zoom, "Meetings", None);
    app.create_user("pat", PASSWORD, "product_admin");
    app.make_product_admin("pat", pro);
    let pat = app.client();
    assert_eq!(pat.login("pat", PASSWORD).await.status, 303);
    assert_eq!(pat.get(&usage(pro)).await.status, 200);
    // Another product: not there at all.
    assert_eq!(pat.get(&usage(meet)).await.status, 404);
    let r = pat
        .upload(&usage(meet), None, "x.csv", b"email\na@example.com\n")
        .await;
    assert!(matches!(r.status, 403 | 404), "{}", r.status);
    assert_eq!(app.count("usage_imports"), 0);

    let r = upload(
        &pat,
        pro,
        "cards.csv",
        "email,last active,notes\nada@example.com,2026-11-01,card 4111 1111 1111 1111\n",
    )
    .await;
    assert_eq!(r.status, 303);
    let page = pat.get(&r.location()).await;
    assert!(page.body.contains("Line 2:"), "{}", page.body);
    assert!(page.body.contains("full card number"), "{}", page.body);
    assert_eq!(app.count("usage_imports"), 0);

    // A file without a header is refused with a reason; one the product admin may read
    // is stored, and another product's import id is not found through this product.
    let r = upload(&pat, pro, "empty.csv", "\n").await;
    assert_eq!(r.status, 303);
    assert_eq!(app.count("usage_imports"), 0);
    let r = upload(&pat, pro, "ok.csv", "Email\nada@example.com\n").await;
    let dry = r.location();
    assert_eq!(pat.get(&dry).await.status, 200);
    let id = dry.rsplit('/').next().unwrap();
    assert_eq!(pat.get(&format!("{}/{id}", usage(meet))).await.status, 404);
    let root = app.logged_in("root", "admin").await;
    assert_eq!(
        root.get(&format!("{}/{id}", usage(meet))).await.status,
        404,
        "an import belongs to its product"
    );
    // Discarded: the file goes, nothing else changes.
    let r = pat.submit(&dry, &format!("{dry}/discard"), &[]).await;
    assert_eq!(r.status, 303);
    let (status, kept): (String, String) = usage_imports::table
        .select((usage_imports::status, usage_imports::csv_data))
        .first(&mut app.conn())
        .expect("import");
    assert_eq!((status.as_str(), kept.as_str()), ("discarded", ""));

    // Two people applying the same dry run at once: one applies it, the other is told it
    // already was — never a 500, and one audit entry.
    let ada = app.insert_person("Ada", "ada@example.com", "Eng");
    app.insert_grant(ada, pro);
    let r = upload(
        &pat,
        pro,
        "again.csv",
        "Email,Last active\nada@example.com,2026-11-01\n",
    )
    .await;
    let dry = r.location();
    let token = pat.get(&dry).await.csrf_token().expect("csrf");
    let token2 = root.get(&dry).await.csrf_token().expect("csrf");
    let apply = format!("{dry}/apply");
    let answers = futures_util::future::join_all([
        pat.post_raw(&apply, &[("csrf_token", &token)], &[]),
        root.post_raw(&apply, &[("csrf_token", &token2)], &[]),
    ])
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [303, 303], "{}", answers[0].body);
    let applied = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "usage.applied")
        .count();
    assert_eq!(applied, 1);
}
