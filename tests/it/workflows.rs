//! Onboarding and offboarding: tasks for the right administrators, completion in one
//! transaction with the grant or revocation, fallbacks, edge cases, and the report.

use crate::common::{Client, TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{access_grants, notifications, products, tasks, users, workflows};

struct Estate {
    gmail: i64,
    jira: i64,
    zoom: i64,
}

/// Gmail has a Product Administrator (pam); Jira only a Service Administrator (sam) on
/// Atlassian; Zoom nobody, so its tasks go to the Admins.
fn estate(app: &TestApp) -> Estate {
    let google = app.insert_service("Google Workspace");
    let atlassian = app.insert_service("Atlassian");
    let zoom_service = app.insert_service("Zoom");
    let e = Estate {
        gmail: app.insert_product(google, "Gmail", None),
        jira: app.insert_product(atlassian, "Jira", None),
        zoom: app.insert_product(zoom_service, "Zoom Pro", None),
    };
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", e.gmail);
    app.create_user("sam", PASSWORD, "service_admin");
    app.make_service_admin("sam", atlassian);
    e
}

async fn login(app: &TestApp, username: &str) -> Client {
    let c = app.client();
    assert_eq!(c.login(username, PASSWORD).await.status, 303);
    c
}

fn task_ids(body: &str) -> Vec<i64> {
    let re = regex_lite::Regex::new(r#"href="/tasks/(\d+)""#).expect("re");
    re.captures_iter(body)
        .map(|c| c[1].parse().expect("id"))
        .collect()
}

async fn onboard(c: &Client, email: &str, name: &str, products: &[i64]) -> crate::common::Resp {
    let ids: Vec<String> = products.iter().map(|p| p.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = vec![
        ("email", email),
        ("full_name", name),
        ("start_date", "2030-01-15"),
        ("department", "Sales"),
    ];
    for id in &ids {
        fields.push(("product_ids", id));
    }
    c.submit("/workflows/onboard", "/workflows/onboard", &fields)
        .await
}

#[actix_web::test]
async fn an_onboarding_gives_each_product_task_to_the_right_administrator() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    let r = onboard(
        &root,
        "nina@example.com",
        "Nina New",
        &[e.gmail, e.jira, e.zoom],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();
    let page = root.get(&workflow).await;
    assert!(
        page.body.contains("Grant Google Workspace → Gmail")
            && page.body.contains("pam Example (Product Administrator)")
    );
    assert!(page.body.contains("sam Example (Service Administrator)"));
    assert!(page.body.contains("root Example (Admin)"));

    let pam = login(&app, "pam").await;
    let sam = login(&app, "sam").await;
    let pam_tasks = task_ids(&pam.get("/tasks").await.body);
    let sam_tasks = task_ids(&sam.get("/tasks").await.body);
    let root_tasks = task_ids(&root.get("/tasks").await.body);
    assert_eq!(
        (pam_tasks.len(), sam_tasks.len(), root_tasks.len()),
        (1, 1, 1)
    );
    assert!(
        pam.get("/").await.body.contains(r#"aria-label="1 unread""#),
        "pam was notified"
    );
    let status: String = users::table
        .filter(users::email.eq("nina@example.com"))
        .select(users::employment_status)
        .first(&mut app.conn())
        .expect("nina");
    assert_eq!(status, "onboarding");
    // Someone else's task is not there for the asking.
    assert_eq!(
        pam.get(&format!("/tasks/{}", sam_tasks[0])).await.status,
        404
    );
    let refused = pam
        .submit(
            &format!("/tasks/{}", pam_tasks[0]),
            &format!("/tasks/{}/complete", sam_tasks[0]),
            &[],
        )
        .await;
    assert_eq!(refused.status, 404);

    // Done, not needed, done: the workflow completes and Nina is active.
    let r = pam
        .submit(
            &format!("/tasks/{}", pam_tasks[0]),
            &format!("/tasks/{}/complete", pam_tasks[0]),
            &[("account_identifier", "nina@corp")],
        )
        .await;
    assert_eq!(r.status, 303);
    let empty_reason = sam
        .submit(
            &format!("/tasks/{}", sam_tasks[0]),
            &format!("/tasks/{}/not-needed", sam_tasks[0]),
            &[],
        )
        .await;
    assert_eq!(empty_reason.status, 422);
    let r = sam
        .submit(
            &format!("/tasks/{}", sam_tasks[0]),
            &format!("/tasks/{}/not-needed", sam_tasks[0]),
            &[("reason", "works in sales")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(root
        .get(&workflow)
        .await
        .body
        .contains("<span class=\"badge\">open</span>"));
    let r = root
        .submit(
            &format!("/tasks/{}", root_tasks[0]),
            &format!("/tasks/{}/complete", root_tasks[0]),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(root
        .get(&workflow)
        .await
        .body
        .contains("<span class=\"badge\">completed</span>"));
    let (status, grants): (String, i64) = (
        users::table
            .filter(users::email.eq("nina@example.com"))
            .select(users::employment_status)
            .first(&mut app.conn())
            .expect("nina"),
        access_grants::table
            .filter(access_grants::revoked_at.is_null())
            .count()
            .get_result(&mut app.conn())
            .expect("count"),
    );
    assert_eq!((status.as_str(), grants), ("active", 2));
    let done: i64 = notifications::table
        .filter(notifications::kind.eq("workflow.completed"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(done, 1, "the starter hears of it");
    let actions = app.audit_actions();
    for a in [
        "workflow.started",
        "task.completed",
        "task.not_needed",
        "workflow.completed",
        "grant.created",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
}

#[actix_web::test]
async fn onboarding_someone_who_has_a_product_already_creates_no_duplicate() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    let ann = app.insert_person("Ann Lee", "ann@example.com", "Sales");
    app.insert_grant(ann, e.gmail);
    let r = onboard(&root, "ann@example.com", "", &[e.gmail, e.zoom]).await;
    assert_eq!(r.status, 303);
    let n: i64 = tasks::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(n, 1, "only Zoom needs a task");
    let bad = onboard(&root, "new@example.com", "", &[e.zoom]).await;
    assert_eq!(bad.status, 422, "a new person needs a name");
    let none = onboard(&root, "x@example.com", "X", &[]).await;
    assert!(none.body.contains("Choose at least one product"));
}

#[actix_web::test]
async fn an_offboarding_revokes_every_access_and_ends_with_the_person_offboarded() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    app.create_user("leo", PASSWORD, "product_admin");
    let leo_client = login(&app, "leo").await;
    let leo = app.user_id("leo");
    for p in [e.gmail, e.jira, e.zoom] {
        app.insert_grant(leo, p);
    }
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "leo@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();
    assert_eq!(
        leo_client.get("/").await.status,
        200,
        "login stays until the last day"
    );
    let twice = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "leo@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    assert_eq!(twice.status, 422);
    assert!(twice.body.contains("already open"));

    // A grant made meanwhile gets its own revoke task.
    let late = app.insert_product(app.insert_service("Figma"), "Figma Pro", None);
    let r = root
        .submit(
            &format!("/inventory/products/{late}"),
            &format!("/inventory/products/{late}/grants"),
            &[("person", "leo@example.com")],
        )
        .await;
    assert_eq!(r.status, 303);
    let open: i64 = tasks::table
        .filter(tasks::status.eq("open"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(open, 4);

    for who in ["pam", "sam", "root"] {
        let c = if who == "root" {
            root.clone()
        } else {
            login(&app, who).await
        };
        for t in task_ids(&c.get("/tasks").await.body) {
            let r = c
                .submit(
                    &format!("/tasks/{t}"),
                    &format!("/tasks/{t}/complete"),
                    &[("note", "left the company")],
                )
                .await;
            assert_eq!(r.status, 303);
        }
    }
    assert_eq!(
        leo_client.get("/").await.status,
        200,
        "every task done, the login stays until the last day has ended"
    );
    app.state.clock.set(Some(
        chrono::NaiveDate::from_ymd_opt(2030, 7, 1)
            .and_then(|d| d.and_hms_opt(0, 30, 0))
            .expect("date")
            .and_utc(),
    ));
    run_job(&app, "offboardings").await;
    let (status, active): (String, bool) = users::table
        .find(leo)
        .select((users::employment_status, users::is_active))
        .first(&mut app.conn())
        .expect("leo");
    assert_eq!((status.as_str(), active), ("offboarded", false));
    let left: i64 = access_grants::table
        .filter(access_grants::user_id.eq(leo))
        .filter(access_grants::revoked_at.is_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(left, 0);
    assert_eq!(
        leo_client.get("/").await.status,
        303,
        "offboarded: logged out"
    );
    let report = root.get(&format!("{workflow}/report")).await;
    for p in ["Gmail", "Jira", "Zoom Pro", "Figma Pro"] {
        assert!(report.body.contains(p), "{p}");
    }
    assert!(!report.body.contains("STILL ACTIVE"));
    assert!(report.body.contains("pam Example") && report.body.contains("sam Example"));
}

#[actix_web::test]
async fn login_ends_at_once_when_asked_or_after_the_last_day() {
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    app.create_user("now", PASSWORD, "product_admin");
    app.create_user("later", PASSWORD, "product_admin");
    let now_client = login(&app, "now").await;
    let later_client = login(&app, "later").await;
    root.submit(
        "/workflows/offboard",
        "/workflows/offboard",
        &[
            ("email", "now@example.com"),
            ("last_day", "2030-01-01"),
            ("disable_now", "on"),
        ],
    )
    .await;
    assert_eq!(now_client.get("/").await.status, 303);
    root.submit(
        "/workflows/offboard",
        "/workflows/offboard",
        &[("email", "later@example.com"), ("last_day", "2000-01-01")],
    )
    .await;
    assert_eq!(
        later_client.get("/").await.status,
        303,
        "the last day has passed"
    );
    assert_eq!(app.client().login("later", PASSWORD).await.status, 401);
}

#[actix_web::test]
async fn tasks_fall_back_when_an_assignee_loses_their_role_and_archived_products_can_be_closed() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    onboard(&root, "nina@example.com", "Nina New", &[e.gmail, e.jira]).await;
    let pam = login(&app, "pam").await;
    assert_eq!(task_ids(&pam.get("/tasks").await.body).len(), 1);
    diesel::update(users::table.filter(users::username.eq("pam")))
        .set(users::is_active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivate pam");
    // Gmail's service has no Service Administrator: the Admins take it.
    let root_tasks = task_ids(&root.get("/tasks").await.body);
    assert_eq!(root_tasks.len(), 1);

    diesel::update(products::table.find(e.jira))
        .set(products::status.eq("archived"))
        .execute(&mut app.conn())
        .expect("archive");
    let sam = login(&app, "sam").await;
    let jira_task = task_ids(&sam.get("/tasks").await.body)[0];
    let r = sam
        .submit(
            &format!("/tasks/{jira_task}"),
            &format!("/tasks/{jira_task}/complete"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(sam
        .get(&format!("/tasks/{jira_task}"))
        .await
        .body
        .contains("has been archived"));
    let r = sam
        .submit(
            &format!("/tasks/{jira_task}"),
            &format!("/tasks/{jira_task}/not-needed"),
            &[("reason", "Jira retired")],
        )
        .await;
    assert_eq!(r.status, 303);
}

#[actix_web::test]
async fn cancelling_a_workflow_cancels_its_open_tasks() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    let workflow = onboard(&root, "nina@example.com", "Nina New", &[e.gmail, e.zoom])
        .await
        .location();
    let r = root
        .submit(
            &workflow,
            &format!("{workflow}/cancel"),
            &[("reason", "offer declined")],
        )
        .await;
    assert_eq!(r.status, 303);
    let (status, reason): (String, String) = workflows::table
        .select((workflows::status, workflows::cancel_reason))
        .first(&mut app.conn())
        .expect("wf");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("cancelled", "offer declined")
    );
    let open: i64 = tasks::table
        .filter(tasks::status.eq("open"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(open, 0);
    let pam = login(&app, "pam").await;
    assert!(task_ids(&pam.get("/tasks").await.body).is_empty());
}

#[actix_web::test]
async fn templates_preselect_their_products() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    let g = e.gmail.to_string();
    let z = e.zoom.to_string();
    let r = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[
                ("name", "Sales starter"),
                ("department", "Sales"),
                ("product_ids", &g),
                ("product_ids", &z),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let dup = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[("name", "SALES STARTER"), ("product_ids", &g)],
        )
        .await;
    assert_eq!(dup.status, 422);
    let id: i64 = {
        use portalops::db::schema::onboarding_templates;
        onboarding_templates::table
            .select(onboarding_templates::id)
            .first(&mut app.conn())
            .expect("template")
    };
    let form = root
        .get(&format!("/workflows/onboard?template_id={id}"))
        .await;
    assert!(form
        .body
        .contains(&format!(r#"<option value="{}" selected>"#, e.gmail)));
    assert!(form
        .body
        .contains(&format!(r#"<option value="{}" selected>"#, e.zoom)));
    assert!(!form
        .body
        .contains(&format!(r#"<option value="{}" selected>"#, e.jira)));
}

#[actix_web::test]
async fn implausible_dates_are_refused() {
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    app.insert_person("Leo", "leo@example.com", "Sales");
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "leo@example.com"), ("last_day", "0630-02-03")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("between the years 1900 and 2200"));
    assert_eq!(app.count("workflows"), 0);
}

#[actix_web::test]
async fn a_handover_blocks_the_offboarding_until_a_new_owner_is_chosen() {
    use portalops::db::schema::{billing_records, handovers, service_admins};
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    // sam runs Atlassian and owns Jira's billing record; nina can take the service over.
    let sam = app.user_id("sam");
    let record = app.insert_billing(e.jira, "annual", "1200", "EUR", None);
    diesel::update(billing_records::table.find(record))
        .set(billing_records::billing_owner_id.eq(sam))
        .execute(&mut app.conn())
        .expect("owner");
    app.insert_grant(sam, e.zoom);
    app.create_user("nina", PASSWORD, "service_admin");
    let nina = app.user_id("nina");
    let jira = e.jira.to_string();
    let unknown = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[
                ("name", "Engineers"),
                ("product_ids", &jira),
                ("maintainer_email", "who@example.com"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown
            .body
            .contains("Nobody in the directory has this email address.")
            && unknown.body.contains("Engineers")
    );
    let saved = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[
                ("name", "Engineers"),
                ("product_ids", &jira),
                ("maintainer_email", "SAM@example.com"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[
                ("email", "sam@example.com"),
                ("last_day", "2030-06-30"),
                ("disable_now", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();
    let page = root.get(&workflow).await;
    assert!(
        page.body
            .contains("Service Administrator of <strong>Atlassian</strong>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("Billing owner of <strong>Atlassian → Jira"));
    assert!(page
        .body
        .contains("Maintainer of the onboarding template <strong>Engineers</strong>"));
    let ids: Vec<i64> = handovers::table
        .order(handovers::kind.desc())
        .select(handovers::id)
        .load(&mut app.conn())
        .expect("handovers");
    assert_eq!(
        ids.len(),
        3,
        "the template, the service role and the billing record"
    );
    let (template_handover, service_handover, billing_handover) = (ids[0], ids[1], ids[2]);

    // The revoke task done, the offboarding still waits for the handovers.
    for t in task_ids(&root.get("/tasks").await.body) {
        root.submit(
            &format!("/tasks/{t}"),
            &format!("/tasks/{t}/complete"),
            &[("note", "closed")],
        )
        .await;
    }
    let status = || -> String {
        workflows::table
            .select(workflows::status)
            .first(&mut app.conn())
            .expect("status")
    };
    assert_eq!(status(), "open", "an open handover blocks completion");

    // pam is a Product Administrator: refused, nothing changes.
    let bad = root
        .submit(
            &workflow,
            &format!("/handovers/{service_handover}"),
            &[("email", "pam@example.com")],
        )
        .await;
    assert_eq!(bad.status, 303);
    assert!(root
        .get(&workflow)
        .await
        .body
        .contains("is not a Service Administrator"));
    let admins_of = |service_admin: i64| -> i64 {
        service_admins::table
            .filter(service_admins::user_id.eq(service_admin))
            .count()
            .get_result(&mut app.conn())
            .expect("count")
    };
    assert_eq!((admins_of(sam), admins_of(nina)), (1, 0));

    let ok = root
        .submit(
            &workflow,
            &format!("/handovers/{service_handover}"),
            &[("email", "nina@example.com")],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert_eq!((admins_of(sam), admins_of(nina)), (0, 1));
    assert_eq!(status(), "open", "the billing record is still to hand over");
    root.submit(
        &workflow,
        &format!("/handovers/{billing_handover}"),
        &[("email", "")],
    )
    .await;
    assert_eq!(status(), "open", "the template is still to hand over");
    root.submit(
        &workflow,
        &format!("/handovers/{template_handover}"),
        &[("email", "pam@example.com")],
    )
    .await;
    assert!(root
        .get("/workflows/templates")
        .await
        .body
        .contains("<td>pam Example</td>"));
    let owner: Option<i64> = billing_records::table
        .find(record)
        .select(billing_records::billing_owner_id)
        .first(&mut app.conn())
        .expect("owner");
    assert_eq!(owner, None);
    assert_eq!(status(), "completed");
    let report = root.get(&format!("{workflow}/report")).await;
    assert!(
        report.body.contains("handed over to nina Example"),
        "{}",
        report.body
    );
    assert!(report.body.contains("nobody takes it over") && !report.body.contains("STILL OPEN"));
    let actions = app.audit_actions();
    for a in [
        "handover.completed",
        "scope.service_admin_added",
        "scope.service_admin_removed",
        "billing.owner_changed",
        "template.maintainer_changed",
        "workflow.completed",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
}

#[actix_web::test]
async fn cancelling_an_offboarding_cancels_its_handovers_and_changes_no_owner() {
    use portalops::db::schema::{handovers, service_admins};
    let app = TestApp::spawn().await;
    estate(&app);
    let root = app.logged_in("root", "admin").await;
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "sam@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();
    let c = root
        .submit(
            &workflow,
            &format!("{workflow}/cancel"),
            &[("reason", "stays after all")],
        )
        .await;
    assert_eq!(c.status, 303);
    let states: Vec<String> = handovers::table
        .select(handovers::status)
        .load(&mut app.conn())
        .expect("handovers");
    assert_eq!(states, ["cancelled"]);
    let still: i64 = service_admins::table
        .filter(service_admins::user_id.eq(app.user_id("sam")))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(still, 1, "sam still runs Atlassian");
    let id: i64 = handovers::table
        .select(handovers::id)
        .first(&mut app.conn())
        .expect("id");
    let closed = root
        .submit(&workflow, &format!("/handovers/{id}"), &[("email", "")])
        .await;
    assert_eq!(closed.status, 303);
    assert!(root
        .get(&workflow)
        .await
        .body
        .contains("This handover is already closed."));
}

async fn run_job(app: &TestApp, job: &'static str) -> String {
    let state = app.state.clone();
    actix_web::web::block(move || portalops::jobs::run_job(&state, job))
        .await
        .expect("block")
        .expect("job")
}

fn open_task_of(app: &TestApp, person: i64, product: i64) -> i64 {
    tasks::table
        .inner_join(workflows::table)
        .filter(workflows::person_id.eq(person))
        .filter(tasks::product_id.eq(product))
        .filter(tasks::status.eq("open"))
        .select(tasks::id)
        .first(&mut app.conn())
        .expect("open task")
}

fn notified(app: &TestApp, user: i64, kind: &str) -> i64 {
    notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::kind.eq(kind))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[actix_web::test]
async fn a_leaver_is_never_assigned_a_task_of_their_own_offboarding() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    let (pam_id, sam_id, root_id) = (app.user_id("pam"), app.user_id("sam"), app.user_id("root"));
    // pam runs Gmail (no Service Administrator on Google Workspace) and uses it herself.
    app.insert_grant(pam_id, e.gmail);
    let pam = login(&app, "pam").await;
    let last_day = app.state.clock.today() + chrono::TimeDelta::days(1);
    let last_day = last_day.to_string();
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "pam@example.com"), ("last_day", &last_day)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let gmail_task = open_task_of(&app, pam_id, e.gmail);
    let page = root.get(&r.location()).await;
    assert!(
        page.body.contains("root Example (Admin)") && !page.body.contains("pam Example (Product"),
        "the task falls back past pam to the Admins: {}",
        page.body
    );
    assert_eq!(
        notified(&app, pam_id, "task.assigned"),
        0,
        "pam is not told to revoke herself"
    );
    assert_eq!(notified(&app, root_id, "task.assigned"), 1);
    assert!(
        task_ids(&pam.get("/tasks").await.body).is_empty(),
        "not in pam's tasks"
    );
    assert_eq!(task_ids(&root.get("/tasks").await.body), vec![gmail_task]);
    assert_eq!(pam.get(&format!("/tasks/{gmail_task}")).await.status, 404);
    let refused = pam
        .submit("/tasks", &format!("/tasks/{gmail_task}/complete"), &[])
        .await;
    assert_eq!(refused.status, 404, "pam cannot revoke her own access");
    // The API's task list says the same.
    let token = {
        let r = app
            .client()
            .api(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": "pam", "password": PASSWORD})),
            )
            .await;
        serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let mine = app
        .client()
        .api("GET", "/api/v1/tasks", Some(&token), None)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(
        !mine.body.contains(&format!("\"id\":{gmail_task}")),
        "{}",
        mine.body
    );

    // A task made later in the offboarding follows the same rule: pam also runs Jira now,
    // and a grant of it made meanwhile gets a revoke task for Jira's Service Administrator.
    app.make_product_admin("pam", e.jira);
    let r = root
        .submit(
            &format!("/inventory/products/{}", e.jira),
            &format!("/inventory/products/{}/grants", e.jira),
            &[("person", "pam@example.com")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let jira_task = open_task_of(&app, pam_id, e.jira);
    let sam = login(&app, "sam").await;
    assert_eq!(task_ids(&sam.get("/tasks").await.body), vec![jira_task]);
    assert_eq!(notified(&app, sam_id, "task.assigned"), 1);
    assert_eq!(notified(&app, pam_id, "task.assigned"), 0);
    assert!(task_ids(&pam.get("/tasks").await.body).is_empty());

    // Nor does the daily digest remind her of them (both are due tomorrow).
    run_job(&app, "reminders").await;
    assert_eq!(notified(&app, pam_id, "reminder.tasks"), 0);
    assert_eq!(notified(&app, sam_id, "reminder.tasks"), 1);
    assert_eq!(notified(&app, root_id, "reminder.tasks"), 1);

    // A leaving Admin: the other Admins take the task, and the leaver cannot complete it.
    app.create_user("ada", PASSWORD, "admin");
    let ada_id = app.user_id("ada");
    app.insert_grant(ada_id, e.zoom);
    let ada = login(&app, "ada").await;
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "ada@example.com"), ("last_day", &last_day)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let zoom_task = open_task_of(&app, ada_id, e.zoom);
    assert!(!task_ids(&ada.get("/tasks").await.body).contains(&zoom_task));
    assert!(task_ids(&root.get("/tasks").await.body).contains(&zoom_task));
    assert_eq!(notified(&app, ada_id, "task.assigned"), 0);
    let r = ada
        .submit(
            &format!("/tasks/{zoom_task}"),
            &format!("/tasks/{zoom_task}/complete"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(ada
        .get(&format!("/tasks/{zoom_task}"))
        .await
        .body
        .contains("This task is about you"));
    let status: String = tasks::table
        .find(zoom_task)
        .select(tasks::status)
        .first(&mut app.conn())
        .expect("task");
    assert_eq!(status, "open");
}

#[actix_web::test]
async fn the_login_stays_until_the_last_day_ends_and_the_leaver_keeps_no_role_or_scope() {
    use portalops::db::schema::product_admins;
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    app.create_user("leo", PASSWORD, "product_admin");
    app.make_product_admin("leo", e.zoom);
    let leo = app.user_id("leo");
    app.insert_grant(leo, e.gmail);
    let leo_client = login(&app, "leo").await;
    let today = app.state.clock.today();
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[
                ("email", "leo@example.com"),
                ("last_day", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let workflow = r.location();
    let handover: i64 = portalops::db::schema::handovers::table
        .select(portalops::db::schema::handovers::id)
        .first(&mut app.conn())
        .expect("handover of Zoom Pro");
    let r = root
        .submit(
            &workflow,
            &format!("/handovers/{handover}"),
            &[("email", "pam@example.com")],
        )
        .await;
    assert_eq!(r.status, 303);
    let pam = login(&app, "pam").await;
    for t in task_ids(&pam.get("/tasks").await.body) {
        let r = pam
            .submit(&format!("/tasks/{t}"), &format!("/tasks/{t}/complete"), &[])
            .await;
        assert_eq!(r.status, 303);
    }
    let state = || -> (String, String, bool, String) {
        let (status, role, active): (String, String, bool) = users::table
            .find(leo)
            .select((users::employment_status, users::role, users::is_active))
            .first(&mut app.conn())
            .expect("leo");
        let wf: String = workflows::table
            .select(workflows::status)
            .first(&mut app.conn())
            .expect("workflow");
        (status, role, active, wf)
    };
    // Every task and handover done, but the box was not ticked and today is the last day.
    assert_eq!(
        state(),
        (
            "offboarding".into(),
            "product_admin".into(),
            true,
            "open".into()
        )
    );
    assert_eq!(
        leo_client.get("/").await.status,
        200,
        "the login stays today"
    );
    assert!(root
        .get(&workflow)
        .await
        .body
        .contains("keeps their login until the end of their last day"));
    // A grant made meanwhile still gets its revoke task.
    let r = root
        .submit(
            &format!("/inventory/products/{}", e.jira),
            &format!("/inventory/products/{}/grants", e.jira),
            &[("person", "leo@example.com")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let jira_task = open_task_of(&app, leo, e.jira);
    let sam = login(&app, "sam").await;
    sam.submit(
        &format!("/tasks/{jira_task}"),
        &format!("/tasks/{jira_task}/complete"),
        &[],
    )
    .await;
    assert_eq!(state().3, "open");

    // Before the last day has ended, the hourly job leaves it; after, it completes it.
    assert!(run_job(&app, "offboardings").await.starts_with("0 "));
    app.state
        .clock
        .set(Some(portalops::clock::now() + chrono::TimeDelta::days(1)));
    assert!(run_job(&app, "offboardings").await.starts_with("1 "));
    assert_eq!(
        state(),
        (
            "offboarded".into(),
            "user".into(),
            false,
            "completed".into()
        )
    );
    let scopes: i64 = product_admins::table
        .filter(product_admins::user_id.eq(leo))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(scopes, 0, "Zoom Pro was handed over to pam");
    assert_eq!(leo_client.get("/").await.status, 303, "logged out");
    assert_eq!(app.client().login("leo", PASSWORD).await.status, 401);
    assert!(app
        .audit_actions()
        .contains(&"workflow.completed".to_string()));
}

#[actix_web::test]
async fn with_the_box_ticked_the_login_ends_at_once_and_the_admin_role_goes_at_completion() {
    let app = TestApp::spawn().await;
    let e = estate(&app);
    let root = app.logged_in("root", "admin").await;
    app.create_user("ada", PASSWORD, "admin");
    let ada = app.user_id("ada");
    app.insert_grant(ada, e.zoom);
    let ada_client = login(&app, "ada").await;
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[
                ("email", "ada@example.com"),
                ("last_day", "2030-06-30"),
                ("disable_now", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(ada_client.get("/").await.status, 303, "disabled at once");
    let t = open_task_of(&app, ada, e.zoom);
    let r = root
        .submit(&format!("/tasks/{t}"), &format!("/tasks/{t}/complete"), &[])
        .await;
    assert_eq!(r.status, 303);
    let (status, role, wf): (String, String, String) = users::table
        .inner_join(workflows::table.on(workflows::person_id.eq(users::id)))
        .filter(users::id.eq(ada))
        .select((users::employment_status, users::role, workflows::status))
        .first(&mut app.conn())
        .expect("ada");
    assert_eq!(
        (status.as_str(), role.as_str(), wf.as_str()),
        ("offboarded", "user", "completed"),
        "done now: no Admin role kept"
    );
}
