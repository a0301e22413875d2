//! Access from a person's side: several products granted at once, a colleague's access
//! copied (the difference shown first: what would be added, what they already have), in
//! the pages and the REST API; and the grants CSV exports (per product, per service, per
//! person and everything in scope), which the grants import reads back.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{access_grants, audit_log, products};
use serde_json::{json, Value};

/// The preview's fingerprint (the hidden `previewed` field).
fn previewed(body: &str) -> String {
    let key = "name=\"previewed\" value=\"";
    let at = body.find(key).expect("the form carries what it previewed");
    let rest = &body[at + key.len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

fn held(app: &TestApp, person: i64) -> Vec<i64> {
    access_grants::table
        .filter(access_grants::user_id.eq(person))
        .filter(access_grants::revoked_at.is_null())
        .select(access_grants::product_id)
        .order(access_grants::product_id.asc())
        .load(&mut app.conn())
        .expect("grants")
}

fn grants_created(app: &TestApp) -> i64 {
    audit_log::table
        .filter(audit_log::action.eq("grant.created"))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[actix_web::test]
async fn a_colleagues_access_is_copied_after_a_preview_of_the_difference() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let github = app.insert_product(app.insert_service("GitHub"), "Enterprise", Some(10));
    let slack = app.insert_product(app.insert_service("Slack"), "Pro", None);
    let figma = app.insert_product(app.insert_service("Figma"), "Professional", None);
    let jira = app.insert_product(app.insert_service("Jira"), "Cloud", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Engineering");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Engineering");
    app.insert_grant(ann, slack);
    for p in [github, slack, figma] {
        app.insert_grant(bob, p);
    }
    let page = format!("/directory/{ann}");
    assert!(c
        .get(&page)
        .await
        .body
        .contains("Grant several products at once, or copy a colleague’s access"));
    let form = format!("/directory/{ann}/grants/bulk");
    let empty = c.get(&form).await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("Grant access to Ann Lee"));

    // Every problem of the form at once, and what was typed kept.
    let bad = c
        .submit(
            &form,
            &form,
            &[
                ("colleague", "nobody@example.com"),
                ("note", "x".repeat(1001).as_str()),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("The note"), "{}", bad.body);
    let bad = c
        .submit(&form, &form, &[("colleague", "nobody@example.com")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad
        .body
        .contains("Nobody in the directory has this email address."));
    assert!(bad.body.contains("value=\"nobody@example.com\""));
    let none = c.submit(&form, &form, &[("step", "preview")]).await;
    assert_eq!(none.status, 422);
    assert!(none
        .body
        .contains("Choose at least one product, or a colleague"));
    let herself = c
        .submit(&form, &form, &[("colleague", "ANN@example.com")])
        .await;
    assert_eq!(herself.status, 422);
    assert!(herself.body.contains("Choose someone else"));

    let jira_id = jira.to_string();
    let fields = [
        ("colleague", "Bob@Example.com"),
        ("product", jira_id.as_str()),
        ("note", "same as Bob"),
        ("step", "preview"),
    ];
    let preview = c.submit(&form, &form, &fields).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    for needle in [
        "Preview: 3 to add, 1 already held",
        "Copying the access of",
        "GitHub → Enterprise",
        "9 of 10 free",
        "Figma → Professional",
        "Jira → Cloud",
        "Already held (left as they are)",
        "Slack → Pro",
        "Grant 3 products",
    ] {
        assert!(
            preview.body.contains(needle),
            "preview lacks {needle:?}: {}",
            preview.body
        );
    }
    assert_eq!(held(&app, ann), vec![slack], "a preview grants nothing");

    // A confirm of another choice than the one previewed is shown again, not granted.
    let print = previewed(&preview.body);
    let changed = c
        .submit(
            &form,
            &form,
            &[
                ("colleague", "bob@example.com"),
                ("note", "same as Bob"),
                ("previewed", print.as_str()),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(changed.status, 422);
    assert!(changed
        .body
        .contains("The choice changed since its preview"));
    assert_eq!(held(&app, ann), vec![slack]);

    let before = grants_created(&app);
    let mut confirm = fields.to_vec();
    confirm.pop();
    confirm.push(("previewed", print.as_str()));
    confirm.push(("step", "confirm"));
    let done = c.submit(&form, &form, &confirm).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), page);
    let mut want = vec![github, slack, figma, jira];
    want.sort_unstable();
    assert_eq!(held(&app, ann), want);
    assert_eq!(
        grants_created(&app) - before,
        3,
        "each grant its own audited change"
    );
    let notes: Vec<String> = access_grants::table
        .filter(access_grants::user_id.eq(ann))
        .filter(access_grants::product_id.ne(slack))
        .select(access_grants::note)
        .load(&mut app.conn())
        .expect("notes");
    assert!(notes.iter().all(|n| n == "same as Bob"));
    assert!(c
        .get(&page)
        .await
        .body
        .contains("Access granted to 3 products."));

    // Copying again: everything is held already, nothing to grant.
    let again = c
        .submit(&form, &form, &[("colleague", "bob@example.com")])
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("Nothing to add."));
    assert!(!again.body.contains("value=\"confirm\""));
}

#[actix_web::test]
async fn a_person_page_batch_keeps_scope_seats_and_the_offboarded_rule() {
    let app = TestApp::spawn().await;
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", Some(1));
    let drive = app.insert_product(s, "Drive", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Ops");
    let cat = app.insert_person("Cat Diaz", "cat@example.com", "Ops");
    app.insert_grant(bob, gmail);
    app.insert_grant(bob, drive);
    app.insert_grant(cat, gmail);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let c = app.client();
    assert_eq!(c.login("pam", PASSWORD).await.status, 303);
    let form = format!("/directory/{ann}/grants/bulk");

    // Bob's Drive is not Pam's to grant: left out of the copy, never named.
    let preview = c
        .submit(&form, &form, &[("colleague", "bob@example.com")])
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains("Gmail"));
    assert!(!preview.body.contains("Drive"));
    assert!(preview.body.contains("0 of 1 free: 2 over"));
    assert!(preview.body.contains("name=\"over_seats\""));

    // Drive chosen by id anyway: refused as a line, the batch with it.
    let drive_id = drive.to_string();
    let slipped = c
        .submit(&form, &form, &[("product", drive_id.as_str())])
        .await;
    assert_eq!(slipped.status, 422, "{}", slipped.body);
    assert!(slipped
        .body
        .contains("there is no such product among those you administer"));
    assert!(
        !slipped.body.contains("Drive"),
        "an unseen product stays unnamed"
    );

    // Over the seats: refused until confirmed.
    let print = previewed(&preview.body);
    let confirm = |over: bool| {
        let mut f = vec![
            ("colleague", "bob@example.com"),
            ("previewed", print.as_str()),
            ("step", "confirm"),
        ];
        if over {
            f.push(("over_seats", "1"));
        }
        f
    };
    let unticked = c.submit(&form, &form, &confirm(false)).await;
    assert_eq!(unticked.status, 422);
    assert!(unticked
        .body
        .contains("goes over the purchased seats of Google Workspace → Gmail by 2"));
    assert!(held(&app, ann).is_empty());
    let ticked = c.submit(&form, &form, &confirm(true)).await;
    assert_eq!(ticked.status, 303, "{}", ticked.body);
    assert_eq!(held(&app, ann), vec![gmail]);

    // A person who left cannot be given anything.
    diesel::update(portalops::db::schema::users::table.find(cat))
        .set(
            portalops::db::schema::users::employment_status
                .eq(portalops::domain::EmploymentStatus::Offboarded),
        )
        .execute(&mut app.conn())
        .expect("cat left");
    let gone = format!("/directory/{cat}/grants/bulk");
    let gmail_id = gmail.to_string();
    let r = c
        .submit(&gone, &gone, &[("product", gmail_id.as_str())])
        .await;
    assert!(r.status == 422 || r.status == 200, "{}", r.body);
    assert!(!r.body.contains("value=\"confirm\""));
    let missing = c.get("/directory/999999/grants/bulk").await;
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn the_api_grants_several_products_or_copies_a_colleague() {
    let app = TestApp::spawn().await;
    app.create_user("ada", PASSWORD, "admin");
    let token = app.jwt("ada").await;
    let c = app.client();
    let notion = app.insert_product(app.insert_service("Notion"), "Plus", Some(5));
    let zoom = app.insert_product(app.insert_service("Zoom"), "Pro", None);
    let miro = app.insert_product(app.insert_service("Miro"), "Team", None);
    diesel::update(products::table.find(miro))
        .set(products::status.eq(portalops::domain::InventoryStatus::Archived))
        .execute(&mut app.conn())
        .expect("archived");
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Ops");
    app.insert_grant(bob, notion);
    app.insert_grant(ann, zoom);
    let url = format!("/api/v1/people/{ann}/grants");
    let parse = |b: &str| -> Value { serde_json::from_str(b).expect("json") };

    let dry = c
        .api(
            "POST",
            &url,
            Some(&token),
            Some(json!({"copy_from": "bob@example.com", "products": [zoom], "dry_run": true})),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let v = parse(&dry.body);
    assert_eq!(v["to_grant"], 1);
    assert_eq!(v["copied_from"], bob);
    assert_eq!(v["lines"][0]["product_id"], notion);
    assert_eq!(v["lines"][0]["seats_free"], 4);
    assert_eq!(v["already"][0]["product_id"], zoom);

    let archived = c
        .api(
            "POST",
            &url,
            Some(&token),
            Some(json!({"products": [miro, notion]})),
        )
        .await;
    assert_eq!(archived.status, 422, "{}", archived.body);
    assert!(archived.body.contains("archived"));
    assert_eq!(held(&app, ann), vec![zoom]);

    let made = c
        .api(
            "POST",
            &url,
            Some(&token),
            Some(json!({"copy_from": bob.to_string()})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(
        parse(&made.body)["granted"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(held(&app, ann), vec![notion, zoom]);
    let missing = c
        .api(
            "POST",
            "/api/v1/people/999999/grants",
            Some(&token),
            Some(json!({"products": [zoom]})),
        )
        .await;
    assert_eq!(missing.status, 404);
    let card = c
        .api(
            "POST",
            &url,
            Some(&token),
            Some(json!({"products": [zoom], "note": "4111 1111 1111 1111"})),
        )
        .await;
    assert_eq!(card.status, 422);
    assert!(!card.body.contains("4111"));
}

#[actix_web::test]
async fn grants_export_per_product_service_person_and_scope() {
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    let gws = app.insert_service("Google Workspace");
    let gmail = app.insert_product(gws, "Gmail", None);
    let drive = app.insert_product(gws, "Drive", None);
    let figma = app.insert_product(app.insert_service("Figma"), "Pro", None);
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Ops");
    app.insert_grant(ann, gmail);
    app.insert_grant(bob, drive);
    app.insert_grant(ann, figma);
    let revoked = app.insert_grant(bob, figma);
    diesel::update(access_grants::table.find(revoked))
        .set(access_grants::revoked_at.eq(diesel::dsl::now))
        .execute(&mut app.conn())
        .expect("revoked");

    let all = root.get("/inventory/grants.csv").await;
    assert_eq!(all.status, 200);
    assert!(all
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    let lines: Vec<&str> = all.body.lines().collect();
    assert_eq!(
        lines[0],
        "email,service,product,account_identifier,note,granted_on,full_name,employment_status,granted_by"
    );
    assert_eq!(lines.len(), 4, "active grants only: {}", all.body);
    assert!(lines[1].starts_with("ann@example.com,Figma,Pro,"));
    let product = root
        .get(&format!("/inventory/products/{gmail}/grants.csv"))
        .await;
    assert_eq!(product.body.lines().count(), 2);
    assert!(product
        .body
        .contains("ann@example.com,Google Workspace,Gmail"));
    let service = root
        .get(&format!("/inventory/services/{gws}/grants.csv"))
        .await;
    assert_eq!(service.body.lines().count(), 3);
    let person = root.get(&format!("/directory/{ann}/grants.csv")).await;
    assert_eq!(person.body.lines().count(), 3);
    assert!(!person.body.contains("bob@example.com"));

    // A Product Administrator exports what they administer, and nothing else exists to them.
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let pam = app.client();
    assert_eq!(pam.login("pam", PASSWORD).await.status, 303);
    let mine = pam.get("/inventory/grants.csv").await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body.lines().count(), 2, "{}", mine.body);
    assert!(!mine.body.contains("Figma") && !mine.body.contains("Drive"));
    assert_eq!(
        pam.get(&format!("/inventory/products/{figma}/grants.csv"))
            .await
            .status,
        404
    );
    let theirs = pam.get(&format!("/directory/{ann}/grants.csv")).await;
    assert!(!theirs.body.contains("Figma"));
}

#[actix_web::test]
async fn pickers_find_people_and_products_by_words_in_any_order_within_scope() {
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    let gws = app.insert_service("Google Workspace");
    let gmail = app.insert_product(gws, "Gmail", None);
    let drive = app.insert_product(gws, "Drive", None);
    app.insert_product(app.insert_service("Figma"), "Professional", None);
    let ada = app.insert_person("Ada Chen", "ada@example.com", "Engineering");
    app.insert_person("Adam Chenoweth", "adam@example.com", "Sales");
    let gone = app.insert_person("Ada Gone", "gone@example.com", "Sales");
    diesel::update(portalops::db::schema::users::table.find(gone))
        .set(
            portalops::db::schema::users::employment_status
                .eq(portalops::domain::EmploymentStatus::Offboarded),
        )
        .execute(&mut app.conn())
        .expect("left");
    for i in 0..25 {
        app.insert_person(
            &format!("Zed {i:02}"),
            &format!("zed{i:02}@example.com"),
            "Ops",
        );
    }
    let get = |c: &crate::common::Client, url: String| {
        let c = c.clone();
        async move {
            let r = c.get(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.body);
            assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
            serde_json::from_str::<Value>(&r.body).expect("json")
        }
    };
    let labels = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["label"].as_str().unwrap_or_default().to_string())
            .collect()
    };

    // Words in any order, each anywhere in the name or email.
    let v = get(&root, "/pick/people?q=Chen%20Ada".into()).await;
    assert_eq!(labels(&v), ["Ada Chen", "Adam Chenoweth"]);
    assert_eq!(v["items"][0]["id"], ada);
    assert_eq!(v["items"][0]["value"], "ada@example.com");
    assert!(v["items"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("Engineering"));
    let v = get(&root, "/pick/people?q=chen%20sales".into()).await;
    assert!(labels(&v).is_empty(), "departments are not searched: {v}");
    let v = get(&root, "/pick/people?q=ada".into()).await;
    assert!(
        !labels(&v).contains(&"Ada Gone".to_string()),
        "those who left only on request"
    );
    let v = get(&root, "/pick/people?q=ada&left=1".into()).await;
    assert!(labels(&v).contains(&"Ada Gone".to_string()));
    // A page at most, and a word that more match.
    let v = get(&root, "/pick/people?q=zed".into()).await;
    assert_eq!(labels(&v).len(), 20);
    assert_eq!(v["more"], true);
    let v = get(&root, "/pick/people?q=%25".into()).await;
    assert!(
        labels(&v).is_empty(),
        "a % is a character, not a wildcard: {v}"
    );
    app.create_user("pam", PASSWORD, "product_admin");
    let v = get(&root, "/pick/people?role=product_admin".into()).await;
    assert_eq!(v["items"][0]["id"], app.user_id("pam"));
    assert_eq!(
        v["items"].as_array().map(Vec::len),
        Some(1),
        "only the role's holders: {v}"
    );

    let v = get(&root, "/pick/products?q=gmail%20google".into()).await;
    assert_eq!(labels(&v), ["Google Workspace → Gmail"]);
    assert_eq!(v["items"][0]["id"], gmail);
    let v = get(
        &root,
        "/pick/products?q=Google%20Workspace%20%E2%86%92%20Drive".into(),
    )
    .await;
    assert_eq!(
        labels(&v),
        ["Google Workspace → Drive"],
        "a chosen label finds itself"
    );

    // A Product Administrator is offered their products only.
    app.make_product_admin("pam", drive);
    let pam = app.client();
    assert_eq!(pam.login("pam", PASSWORD).await.status, 303);
    let v = get(&pam, "/pick/products".into()).await;
    assert_eq!(labels(&v), ["Google Workspace → Drive"]);
    let anon = app.client().get("/pick/people?q=ada").await;
    assert_eq!(anon.status, 303, "no login, no directory");

    // The pages carry the fields and the one script, from this server only.
    let page = root
        .get(&format!("/directory/{ada}/grants/bulk"))
        .await
        .body;
    assert!(page.contains("data-pick=\"products\"") && page.contains("data-pick=\"people\""));
    assert!(page.contains("<script src=\"/static/picker.js?v="));
    assert!(!page.contains("<script>"), "no inline script");
    let js = root.get("/static/picker.js").await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/javascript"));
}

#[actix_web::test]
async fn a_grant_that_goes_over_the_seats_is_told_the_free_seats_and_confirmed_at_every_door() {
    use portalops::db::schema::tasks;
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let zoom = app.insert_product(app.insert_service("Zoom"), "Pro", Some(1));
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Ops");
    let bob = app.insert_person("Bob Chen", "bob@example.com", "Ops");
    app.insert_person("Cat Diaz", "cat@example.com", "Ops");
    let page = format!("/inventory/products/{zoom}");
    assert!(c.get(&page).await.body.contains("1 of 1 seats are free."));
    let grant = format!("/inventory/products/{zoom}/grants");
    assert_eq!(
        c.submit(&page, &grant, &[("person", "ann@example.com")])
            .await
            .status,
        303
    );

    // The product page: told, the typed values kept, nothing granted; then confirmed.
    let told = c
        .submit(
            &page,
            &grant,
            &[("person", "bob@example.com"), ("note", "trial")],
        )
        .await;
    assert_eq!(told.status, 422, "{}", told.body);
    assert!(told
        .body
        .contains("Zoom → Pro has 0 of 1 seats free: this takes it 1 over"));
    assert!(told.body.contains("name=\"over_seats\""));
    assert!(
        told.body.contains("value=\"bob@example.com\"") && told.body.contains("value=\"trial\"")
    );
    assert_eq!(held(&app, bob), Vec::<i64>::new());
    let ok = c
        .submit(
            &page,
            &grant,
            &[("person", "bob@example.com"), ("over_seats", "1")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(held(&app, bob), vec![zoom]);

    // The person page and the API ask the same.
    let cat = app.user_id_by_email("cat@example.com");
    let person = format!("/directory/{cat}");
    let zoom_id = zoom.to_string();
    let r = c
        .submit(
            &person,
            &format!("/directory/{cat}/grants"),
            &[("product_id", zoom_id.as_str())],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("0 of 1 seats free"));
    app.create_user("ada", PASSWORD, "admin");
    let token = app.jwt("ada").await;
    let api = app.client();
    let body = json!({"person": "cat@example.com", "product_id": zoom});
    let r = api
        .api("POST", "/api/v1/grants", Some(&token), Some(body))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("over_seats"));
    let body = json!({"person": "cat@example.com", "product_id": zoom, "over_seats": true});
    let r = api
        .api("POST", "/api/v1/grants", Some(&token), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // An onboarding's grant task: the task page shows the seats, completing asks first.
    let r = c
        .submit(
            "/workflows/onboard",
            "/workflows/onboard",
            &[
                ("email", "dan@example.com"),
                ("full_name", "Dan Eze"),
                ("start_date", "2030-01-15"),
                ("product_ids", zoom_id.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let task: i64 = tasks::table
        .filter(tasks::product_id.eq(zoom))
        .select(tasks::id)
        .first(&mut app.conn())
        .expect("the grant task");
    let task_page = format!("/tasks/{task}");
    let shown = c.get(&task_page).await;
    assert!(
        shown.body.contains("0 of 1 seats are free."),
        "{}",
        shown.body
    );
    let done = format!("/tasks/{task}/complete");
    let r = c
        .submit(&task_page, &done, &[("account_identifier", "dan")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("this takes it 3 over"));
    assert!(r.body.contains("value=\"dan\""));
    let r = c
        .submit(
            &task_page,
            &done,
            &[("account_identifier", "dan"), ("over_seats", "1")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let dan = app.user_id_by_email("dan@example.com");
    assert_eq!(held(&app, dan), vec![zoom]);
    let _ = ann;
}

#[actix_web::test]
async fn a_product_set_to_refuse_going_over_refuses_at_every_door_and_each_line_past_the_seats() {
    use portalops::db::schema::tasks;
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let zoom = app.insert_product(app.insert_service("Zoom"), "Pro", None);
    for (name, email) in [
        ("Ann Lee", "ann@example.com"),
        ("Bob Chen", "bob@example.com"),
        ("Cat Diaz", "cat@example.com"),
        ("Dan Eze", "dan@example.com"),
    ] {
        app.insert_person(name, email, "Ops");
    }
    let ann = app.user_id_by_email("ann@example.com");
    let bob = app.user_id_by_email("bob@example.com");
    let cat = app.user_id_by_email("cat@example.com");

    // The setting needs a seat count: said next to it, with what was typed kept.
    let edit = format!("/inventory/products/{zoom}/edit");
    let save = format!("/inventory/products/{zoom}");
    let r = c
        .submit(
            &edit,
            &save,
            &[
                ("name", "Pro"),
                ("license_model", "per_seat"),
                ("seats_purchased", ""),
                ("description", "video calls"),
                ("refuse_over_seats", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r
        .body
        .contains("Enter the seats purchased to refuse going over them"));
    assert!(
        r.body.contains("video calls")
            && r.body
                .contains("name=\"refuse_over_seats\" value=\"1\" checked")
    );
    let r = c
        .submit(
            &edit,
            &save,
            &[
                ("name", "Pro"),
                ("license_model", "per_seat"),
                ("seats_purchased", "2"),
                ("refuse_over_seats", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let refuses: bool = products::table
        .find(zoom)
        .select(products::refuse_over_seats)
        .first(&mut app.conn())
        .expect("product");
    assert!(refuses);
    let audited: Value = audit_log::table
        .filter(audit_log::action.eq("product.updated"))
        .select(audit_log::after)
        .first::<Option<Value>>(&mut app.conn())
        .expect("audit")
        .expect("after");
    assert_eq!(audited["refuse_over_seats"], true);
    let page = format!("/inventory/products/{zoom}");
    let shown = c.get(&page).await.body;
    assert!(shown.contains("2 of 2 seats are free; grants beyond them are refused."));
    assert!(shown.contains("Refused: grants beyond the purchased seats are not made"));
    let grant = format!("/inventory/products/{zoom}/grants");
    let r = c
        .submit(&page, &grant, &[("person", "ann@example.com")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // A batch of three with one seat left: the first line takes it, the others are named.
    let form = format!("/inventory/products/{zoom}/grants/bulk");
    let list = "bob@example.com\ncat@example.com\ndan@example.com";
    let preview = c.submit(&form, &form, &[("people", list)]).await;
    assert_eq!(preview.status, 422, "{}", preview.body);
    assert!(
        preview.body.contains("Preview: 1 to grant, 2 cannot be"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("no seat is free for this line"));
    assert!(
        !preview.body.contains("name=\"over_seats\""),
        "no 'grant anyway' to tick"
    );
    let fp = previewed(&preview.body);
    let refused = c
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
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        held(&app, bob),
        Vec::<i64>::new(),
        "a refused line refuses the batch"
    );
    let dropped = c
        .submit(
            &form,
            &form,
            &[("people", list), ("step", "drop"), ("previewed", &fp)],
        )
        .await;
    assert_eq!(dropped.status, 200, "{}", dropped.body);
    assert!(
        dropped.body.contains("Preview: 1 to grant"),
        "{}",
        dropped.body
    );
    let fp = previewed(&dropped.body);
    let ok = c
        .submit(
            &form,
            &form,
            &[
                ("people", "bob@example.com"),
                ("step", "confirm"),
                ("previewed", &fp),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(held(&app, bob), vec![zoom]);

    // Full now: the product page, the person page and the API refuse even when confirmed,
    // and keep what was typed.
    let r = c
        .submit(
            &page,
            &grant,
            &[
                ("person", "cat@example.com"),
                ("note", "trial"),
                ("over_seats", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r
        .body
        .contains("Zoom → Pro has 0 of 2 seats free and refuses grants beyond them"));
    assert!(r.body.contains("value=\"trial\""));
    let zoom_id = zoom.to_string();
    let r = c
        .submit(
            &format!("/directory/{cat}"),
            &format!("/directory/{cat}/grants"),
            &[("product_id", zoom_id.as_str()), ("over_seats", "1")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("refuses grants beyond them"));
    app.create_user("ada", PASSWORD, "admin");
    let token = app.jwt("ada").await;
    let api = app.client();
    let r = api
        .api(
            "POST",
            "/api/v1/grants",
            Some(&token),
            Some(json!({"person": "cat@example.com", "product_id": zoom, "over_seats": true})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("\"seats\"") && r.body.contains("refuses grants beyond them"));
    let r = api
        .api(
            "POST",
            &format!("/api/v1/people/{cat}/grants"),
            Some(&token),
            Some(json!({"products": [zoom], "over_seats": true, "dry_run": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"outcome\":\"no_seat\""), "{}", r.body);
    let r = api
        .api(
            "GET",
            &format!("/api/v1/products/{zoom}"),
            Some(&token),
            None,
        )
        .await;
    assert!(r.body.contains("\"refuse_over_seats\":true"), "{}", r.body);

    // A grants CSV names the row.
    let page_of = crate::imports::upload(
        &c,
        "grants",
        "email,service,product\ncat@example.com,Zoom,Pro\n",
    )
    .await;
    let body = crate::imports::settled(&c, &page_of).await;
    assert!(body.contains("no seat is free for this line"), "{body}");

    // An onboarding's grant task cannot be completed over the seats either.
    let r = c
        .submit(
            "/workflows/onboard",
            "/workflows/onboard",
            &[
                ("email", "eve@example.com"),
                ("full_name", "Eve Fox"),
                ("start_date", "2030-01-15"),
                ("product_ids", zoom_id.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let task: i64 = tasks::table
        .filter(tasks::product_id.eq(zoom))
        .select(tasks::id)
        .first(&mut app.conn())
        .expect("the grant task");
    let task_page = format!("/tasks/{task}");
    assert!(c
        .get(&task_page)
        .await
        .body
        .contains("0 of 2 seats are free; grants beyond them are refused."));
    let r = c
        .submit(
            &task_page,
            &format!("/tasks/{task}/complete"),
            &[("account_identifier", "eve"), ("over_seats", "1")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("refuses grants beyond them") && r.body.contains("value=\"eve\""));
    assert_eq!(held(&app, cat), Vec::<i64>::new());
    assert_eq!(held(&app, ann), vec![zoom]);
}
