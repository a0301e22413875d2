//! The renewal calendar and the personal iCalendar feed: scope, content, token rotation.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use icalendar::Component as _;
use portalops::db::schema::billing_records;

/// Gmail (pam's) renews in 40 days with a 1-month notice; Drive (not pam's) in 50 days.
fn estate(app: &TestApp) -> (i64, i64) {
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", None);
    let drive = app.insert_product(s, "Drive", None);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let today = chrono::Utc::now().date_naive();
    let mine = app.insert_billing(gmail, "annual", "100", "EUR", None);
    let theirs = app.insert_billing(drive, "annual", "200", "EUR", None);
    for (id, days) in [(mine, 40), (theirs, 50)] {
        let renewal = today + chrono::TimeDelta::days(days);
        diesel::update(billing_records::table.find(id))
            .set((
                billing_records::next_renewal_on.eq(renewal),
                billing_records::auto_renew.eq(true),
                billing_records::notice_value.eq(Some(1)),
                billing_records::notice_unit.eq(Some("months")),
                billing_records::cancellation_deadline
                    .eq(renewal.checked_sub_months(chrono::Months::new(1))),
            ))
            .execute(&mut app.conn())
            .expect("dates");
    }
    (mine, theirs)
}

#[actix_web::test]
async fn the_calendar_shows_deadlines_in_scope_and_prints() {
    let app = TestApp::spawn().await;
    let (mine, theirs) = estate(&app);
    let pam = app.client();
    pam.login("pam", PASSWORD).await;
    let page = pam.get("/calendar").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("Last day to cancel: Google Workspace → Gmail"));
    assert!(page.body.contains(&format!("/payments/{mine}")));
    assert!(
        !page.body.contains(&format!("/payments/{theirs}")),
        "outside pam's scope"
    );
    let next = pam.get("/calendar?month=2031-02").await;
    assert!(next.body.contains("February 2031"));
    assert_eq!(
        pam.get("/calendar?month=junk").await.status,
        200,
        "a bad month shows this month"
    );
}

#[actix_web::test]
async fn the_dashboard_lists_the_last_days_to_cancel_in_scope() {
    let app = TestApp::spawn().await;
    let (mine, theirs) = estate(&app);
    let pam = app.client();
    pam.login("pam", PASSWORD).await;
    let dash = pam.get("/").await;
    let panel = dash
        .body
        .split("Last days to cancel in the next 30 days")
        .nth(1)
        .expect("panel")
        .split("</section>")
        .next()
        .expect("end")
        .to_string();
    assert!(
        panel.contains(&format!("/payments/{mine}")) && panel.contains("cancel by"),
        "{panel}"
    );
    assert!(
        !panel.contains(&format!("/payments/{theirs}")),
        "outside pam's scope"
    );
    let admin = app.logged_in("root", "admin").await;
    let dash = admin.get("/").await;
    assert!(dash
        .body
        .contains(&format!("/payments/{theirs}\">Google Workspace → Drive")));
    assert!(!dash.body.contains("The first 8 of"));
    // Many decisions at once: the dashboard shows eight and says how many are due.
    let chat = app.insert_product(app.insert_service("Slack"), "Slack Pro", None);
    for _ in 0..9 {
        let id = app.insert_billing(chat, "monthly", "5", "EUR", None);
        diesel::update(billing_records::table.find(id))
            .set(
                billing_records::cancellation_deadline
                    .eq(chrono::Utc::now().date_naive() + chrono::TimeDelta::days(3)),
            )
            .execute(&mut app.conn())
            .expect("deadline");
    }
    let dash = admin.get("/").await;
    assert!(
        dash.body.contains("The first 8 of 11 decisions due"),
        "{}",
        dash.body
    );
    assert_eq!(dash.body.matches("cancel by <strong>").count(), 8);
    // Past the deadlines, nothing is left to decide.
    diesel::update(billing_records::table)
        .set(
            billing_records::cancellation_deadline
                .eq(chrono::Utc::now().date_naive() - chrono::TimeDelta::days(1)),
        )
        .execute(&mut app.conn())
        .expect("past");
    assert!(admin
        .get("/")
        .await
        .body
        .contains("None: no renewal needs a decision this month."));
}

#[actix_web::test]
async fn the_feed_is_personal_scoped_and_stops_working_when_rotated() {
    let app = TestApp::spawn().await;
    let (mine, _) = estate(&app);
    let pam = app.client();
    pam.login("pam", PASSWORD).await;
    let r = pam.submit("/account", "/account/calendar-token", &[]).await;
    assert_eq!(r.status, 200);
    let re = regex_lite::Regex::new(r#"(/calendar/feed/[A-Za-z0-9_-]+\.ics)"#).expect("re");
    let path = re.captures(&r.body).expect("feed url")[1].to_string();
    let anonymous = app.client();
    let feed = anonymous.get(&path).await;
    assert_eq!(feed.status, 200);
    assert_eq!(
        feed.header("content-type").as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    let cal: icalendar::Calendar = feed.body.parse().expect("a valid iCalendar");
    let summaries: Vec<String> = cal
        .events()
        .filter_map(|e| e.get_summary().map(str::to_string))
        .collect();
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(summaries
        .iter()
        .any(|s| s == "Renewal: Google Workspace → Gmail"));
    assert!(summaries
        .iter()
        .any(|s| s == "Last day to cancel: Google Workspace → Gmail"));
    assert!(cal.events().all(|e| e.get_start().is_some()));
    // The description's second line is the record's link (a real line break, not "\n" text).
    assert!(cal.events().all(|e| e
        .get_description()
        .and_then(|d| d.lines().nth(1))
        .is_some_and(|l| l.ends_with(&format!("/payments/{mine}")))));
    assert!(feed.body.contains(&format!("/payments/{mine}")));
    assert!(!feed.body.contains("Drive"), "only what pam may see");

    let again = pam.submit("/account", "/account/calendar-token", &[]).await;
    let new_path = re.captures(&again.body).expect("feed url")[1].to_string();
    assert_ne!(new_path, path);
    assert_eq!(
        anonymous.get(&path).await.status,
        404,
        "the old link stops at once"
    );
    assert_eq!(anonymous.get(&new_path).await.status, 200);
    assert_eq!(anonymous.get("/calendar/feed/guess.ics").await.status, 404);
    assert!(app
        .audit_actions()
        .contains(&"calendar.token_rotated".to_string()));
}
