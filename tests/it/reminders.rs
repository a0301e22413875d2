//! Reminders through a real SMTP server on loopback, with a fixed "today": thresholds and
//! recipients, exactly once (two scans, a restart, two instances), digests, SMTP down then
//! up, and failed emails shown to Admins.

use std::net::TcpListener;

use chrono::{NaiveDate, TimeZone as _, Utc};
use diesel::prelude::*;
use portalops::db::schema::{billing_records, email_outbox, notifications};

use crate::common::smtp::{self, Inbox};
use crate::common::{TestApp, PASSWORD};

fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("PORTALOPS_SMTP_HOST", "127.0.0.1".into()),
        ("PORTALOPS_SMTP_PORT", port.to_string()),
        ("PORTALOPS_SMTP_TLS", "none".into()),
        ("PORTALOPS_MAIL_FROM", "portalops@example.com".into()),
    ]
}

async fn app_with_smtp(port: u16, extra: &[(&'static str, &str)], db: Option<String>) -> TestApp {
    let mut env: Vec<(&str, String)> = smtp_env(port);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match db {
        Some(url) => TestApp::spawn_on(url, &borrowed).await,
        None => TestApp::spawn_with(&borrowed).await,
    }
}

fn at(date: &str) -> chrono::DateTime<Utc> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    Utc.from_utc_datetime(&d.and_hms_opt(9, 0, 0).expect("time"))
}

async fn run(app: &TestApp, job: &'static str) -> String {
    let state = app.state.clone();
    actix_web::web::block(move || portalops::jobs::run_job(&state, job))
        .await
        .expect("block")
        .expect("job")
}

/// Slack Pro (pam runs it) in Slack (sam runs it), paid by a Visa expiring at the end of
/// December 2026; no renewal date.
fn estate(app: &TestApp) -> i64 {
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None);
    app.create_user("root", PASSWORD, "admin");
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", p);
    app.create_user("sam", PASSWORD, "service_admin");
    app.make_service_admin("sam", s);
    let id = app.insert_billing(
        p,
        "monthly",
        "8.75",
        "EUR",
        Some(("Visa", "4242", 12, 2026)),
    );
    diesel::update(billing_records::table.find(id))
        .set(billing_records::next_renewal_on.eq(None::<NaiveDate>))
        .execute(&mut app.conn())
        .expect("no renewal");
    id
}

#[actix_web::test]
async fn a_card_expiry_reaches_every_administrator_once_per_threshold() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox: Inbox = smtp::serve(listener);
    let app = app_with_smtp(port, &[], None).await;
    let record = estate(&app);

    app.state.clock.set(Some(at("2026-11-30")));
    assert!(
        run(&app, "reminders").await.starts_with("0 billing"),
        "31 days out: nothing yet"
    );
    app.state.clock.set(Some(at("2026-12-01")));
    assert!(run(&app, "reminders").await.starts_with("1 billing"));
    assert!(
        run(&app, "reminders").await.starts_with("0 billing"),
        "a second scan the same day sends nothing"
    );
    assert_eq!(run(&app, "outbox").await, "3 sent, 0 to retry, 0 failed");
    let mails = inbox.all();
    assert_eq!(mails.len(), 3);
    for who in ["root@example.com", "pam@example.com", "sam@example.com"] {
        let m = inbox.to(who);
        assert_eq!(m.len(), 1, "{who} once");
        assert!(
            m[0].data
                .contains("Subject: Card expiring in 30 days: Slack =?")
                || m[0].data.contains("Card expiring in 30 days"),
            "{}",
            m[0].data
        );
        assert!(
            m[0].data
                .contains(&format!("{}/payments/{record}", app.base_url)),
            "a link to the record"
        );
        assert!(
            m[0].data.contains("Content-Type: text/plain")
                && m[0].data.contains("Content-Type: text/html")
        );
        assert!(m[0].data.contains("4242") && !m[0].data.contains("4242424242424242"));
    }
    let notified: i64 = notifications::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(notified, 3, "an in-app notification each");

    // The 7-day threshold is a new reminder; a restart does not repeat anything.
    app.state.clock.set(Some(at("2026-12-24")));
    assert!(run(&app, "reminders").await.starts_with("1 billing"));
    let again = app_with_smtp(port, &[], Some(app.db_url.clone())).await;
    again.state.clock.set(Some(at("2026-12-24")));
    assert!(
        run(&again, "reminders").await.starts_with("0 billing"),
        "across a restart"
    );
    assert_eq!(run(&again, "outbox").await, "3 sent, 0 to retry, 0 failed");
    assert_eq!(inbox.all().len(), 6);
    assert_eq!(run(&again, "outbox").await, "0 sent, 0 to retry, 0 failed");
}

#[actix_web::test]
async fn open_tasks_make_one_digest_per_assignee_per_day() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = smtp::serve(listener);
    let app = app_with_smtp(port, &[], None).await;
    let s = app.insert_service("GitHub");
    let p = app.insert_product(s, "GitHub Enterprise", None);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", p);
    let root = app.logged_in("root", "admin").await;
    let pid = p.to_string();
    for (email, name) in [("a@example.com", "Ann"), ("b@example.com", "Bob")] {
        root.submit(
            "/workflows/onboard",
            "/workflows/onboard",
            &[
                ("email", email),
                ("full_name", name),
                ("start_date", "2027-01-04"),
                ("product_ids", &pid),
            ],
        )
        .await;
    }
    app.state.clock.set(Some(at("2026-12-20")));
    assert!(
        run(&app, "reminders")
            .await
            .ends_with("0 task digest(s) for 2026-12-20"),
        "not due soon yet"
    );
    app.state.clock.set(Some(at("2027-01-02")));
    assert!(run(&app, "reminders")
        .await
        .ends_with("1 task digest(s) for 2027-01-02"));
    assert!(
        run(&app, "reminders")
            .await
            .ends_with("0 task digest(s) for 2027-01-02"),
        "one a day"
    );
    run(&app, "outbox").await;
    let pam = inbox.to("pam@example.com");
    assert_eq!(pam.len(), 1);
    assert!(pam[0].data.contains("2 open task(s)"));
    assert!(pam[0].data.contains("Grant GitHub =?") || pam[0].data.contains("Grant GitHub"));
    assert!(pam[0].data.contains(&format!("{}/tasks/", app.base_url)));
    app.state.clock.set(Some(at("2027-01-05")));
    assert!(
        run(&app, "reminders")
            .await
            .ends_with("1 task digest(s) for 2027-01-05"),
        "overdue: a new day, a new digest"
    );
    let queued = app.queued_emails();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "pam@example.com");
    assert!(
        queued[0].1.contains("open task(s) due soon or overdue"),
        "{queued:?}"
    );
}

#[actix_web::test]
async fn an_email_queued_while_smtp_is_down_is_delivered_once_when_it_is_back() {
    let down = smtp::DownPort::new();
    let app = app_with_smtp(down.port, &[], None).await;
    estate(&app);
    app.state.clock.set(Some(at("2026-12-25")));
    run(&app, "reminders").await;
    assert_eq!(run(&app, "outbox").await, "0 sent, 3 to retry, 0 failed");
    assert_eq!(
        run(&app, "outbox").await,
        "0 sent, 0 to retry, 0 failed",
        "backing off"
    );
    let inbox = down.up();
    app.state
        .clock
        .set(Some(at("2026-12-25") + chrono::TimeDelta::hours(1)));
    assert_eq!(run(&app, "outbox").await, "3 sent, 0 to retry, 0 failed");
    assert_eq!(run(&app, "outbox").await, "0 sent, 0 to retry, 0 failed");
    assert_eq!(inbox.all().len(), 3);
}

#[actix_web::test]
async fn two_instances_running_the_jobs_at_once_send_each_email_once() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = smtp::serve(listener);
    let a = app_with_smtp(port, &[], None).await;
    estate(&a);
    let b = app_with_smtp(port, &[], Some(a.db_url.clone())).await;
    for app in [&a, &b] {
        app.state.clock.set(Some(at("2026-12-01")));
    }
    let (sa, sb) = (a.state.clone(), b.state.clone());
    let t1 = std::thread::spawn(move || {
        (
            portalops::jobs::run_job(&sa, "reminders"),
            portalops::jobs::run_job(&sa, "outbox"),
        )
    });
    let t2 = std::thread::spawn(move || {
        (
            portalops::jobs::run_job(&sb, "reminders"),
            portalops::jobs::run_job(&sb, "outbox"),
        )
    });
    let r1 = t1.join().expect("thread");
    let r2 = t2.join().expect("thread");
    for r in [r1, r2] {
        assert!(r.0.is_ok() && r.1.is_ok());
    }
    // Whatever either left, one more drain finishes.
    run(&a, "outbox").await;
    assert_eq!(inbox.all().len(), 3, "each administrator once");
    let rows: i64 = email_outbox::table
        .count()
        .get_result(&mut a.conn())
        .expect("count");
    assert_eq!(rows, 3);
}

#[actix_web::test]
async fn failed_emails_are_shown_to_admins_who_can_retry_them() {
    // SMTP stays down for the whole test (the port is kept, so nothing else answers on it).
    let down = smtp::DownPort::new();
    let app = app_with_smtp(down.port, &[("PORTALOPS_OUTBOX_MAX_ATTEMPTS", "1")], None).await;
    estate(&app);
    app.state.clock.set(Some(at("2026-12-25")));
    run(&app, "reminders").await;
    assert_eq!(run(&app, "outbox").await, "0 sent, 0 to retry, 3 failed");
    let c = app.client();
    assert_eq!(c.login("root", PASSWORD).await.status, 303);
    let page = c.get("/settings/scheduler").await;
    assert!(
        page.body.contains("3 failed") && page.body.contains("pam@example.com"),
        "{}",
        page.body
    );
    let id: i64 = email_outbox::table
        .select(email_outbox::id)
        .first(&mut app.conn())
        .expect("email");
    let r = c
        .submit(
            "/settings/scheduler",
            &format!("/settings/outbox/{id}/retry"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(c.get("/settings/scheduler").await.body.contains("2 failed"));
    let r = c
        .submit(
            "/settings/scheduler",
            "/settings/scheduler/reminders/run",
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(app
        .audit_actions()
        .contains(&"scheduler.run_now".to_string()));
    assert!(app.audit_actions().contains(&"email.retry".to_string()));
    let pam = app.client();
    pam.login("pam", PASSWORD).await;
    assert_eq!(pam.get("/settings/scheduler").await.status, 403);
    let queued = app.queued_emails();
    assert_eq!(
        queued.len(),
        1,
        "the retried email waits for the next outbox run, and running the reminders again \
         queues nothing new: {queued:?}"
    );
}

#[actix_web::test]
async fn names_with_line_breaks_cannot_add_email_headers() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = smtp::serve(listener);
    let app = app_with_smtp(port, &[], None).await;
    let s = app.insert_service("Evil\r\nBcc: thief@example.com");
    let p = app.insert_product(s, "Pro\r\nX-Injected: yes", None);
    app.create_user("root", PASSWORD, "admin");
    diesel::update(portalops::db::schema::users::table)
        .set(portalops::db::schema::users::full_name.eq("Root\r\nBcc: thief@example.com"))
        .execute(&mut app.conn())
        .expect("name");
    app.insert_billing(p, "monthly", "1", "EUR", Some(("Visa", "1111", 12, 2026)));
    app.state.clock.set(Some(at("2026-12-25")));
    run(&app, "reminders").await;
    run(&app, "outbox").await;
    let mails = inbox.all();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["root@example.com".to_string()]);
    let headers = mails[0].data.split("\r\n\r\n").next().expect("headers");
    assert!(
        !headers.contains("\r\nBcc:") && !headers.contains("\r\nX-Injected:"),
        "{headers}"
    );
}

#[actix_web::test]
async fn cancellation_deadlines_are_derived_reminded_once_and_renewals_roll_forward() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = smtp::serve(listener);
    let app = app_with_smtp(port, &[("PORTALOPS_REMINDER_DAYS", "7")], None).await;
    let s = app.insert_service("Salesforce");
    let p = app.insert_product(s, "Sales Cloud", None).to_string();
    let root = app.logged_in("root", "admin").await;
    let r = root
        .submit(
            "/payments/new",
            "/payments",
            &[
                ("product_id", &p),
                ("cycle", "annual"),
                ("amount", "12000"),
                ("currency", "EUR"),
                ("next_renewal_on", "2027-03-31"),
                ("auto_renew", "on"),
                ("notice_value", "1"),
                ("notice_unit", "months"),
                ("payment_method", "invoice"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = root.get(&r.location()).await;
    assert!(
        page.body.contains("Last day to cancel") && page.body.contains("2027-02-28"),
        "31 March − 1 month"
    );
    assert!(page.body.contains("1 month before renewal"));
    let bad = root
        .submit(
            "/payments/new",
            "/payments",
            &[
                ("product_id", &p),
                ("cycle", "annual"),
                ("amount", "1"),
                ("currency", "EUR"),
                ("payment_method", "invoice"),
                ("notice_value", "soon"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad
        .body
        .contains("Enter the notice period as a whole number"));

    app.state.clock.set(Some(at("2027-02-21")));
    let out = run(&app, "reminders").await;
    assert!(out.starts_with("1 billing"), "{out}");
    assert!(
        run(&app, "reminders").await.starts_with("0 billing"),
        "exactly once"
    );
    run(&app, "outbox").await;
    let mails = inbox.to("root@example.com");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].data.contains("Last day to cancel: 2027-02-28"),
        "{}",
        mails[0].data
    );

    // The renewal date passes: it rolls forward by a year, keeping the 31st, with a new deadline.
    app.state.clock.set(Some(at("2027-04-02")));
    let out = run(&app, "reminders").await;
    assert!(out.contains("1 renewal(s) rolled forward"), "{out}");
    let (next, deadline): (Option<NaiveDate>, Option<NaiveDate>) = billing_records::table
        .select((
            billing_records::next_renewal_on,
            billing_records::cancellation_deadline,
        ))
        .first(&mut app.conn())
        .expect("record");
    assert_eq!(next, NaiveDate::from_ymd_opt(2028, 3, 31));
    assert_eq!(
        deadline,
        NaiveDate::from_ymd_opt(2028, 2, 29),
        "a leap year"
    );
    assert!(app
        .audit_actions()
        .contains(&"billing.renewal_rolled".to_string()));
    assert!(!run(&app, "reminders").await.contains("rolled"), "once");
}
