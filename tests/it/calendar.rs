//! The renewal calendar and the personal iCalendar feed: scope, content, token rotation.

use crate::common::{TestApp, PASSWORD};
use chrono::{Datelike as _, NaiveDate};
use diesel::prelude::*;
use icalendar::{Component as _, DatePerhapsTime};
use portalops::db::schema::billing_records;

/// Gmail (pam's) renews in 40 days with a 1-month notice; Drive (not pam's) in 50 days.
fn estate(app: &TestApp) -> (i64, i64) {
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", None);
    let drive = app.insert_product(s, "Drive", None);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let today = portalops::clock::now().date_naive();
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
                    .eq(portalops::clock::now().date_naive() + chrono::TimeDelta::days(3)),
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
                .eq(portalops::clock::now().date_naive() - chrono::TimeDelta::days(1)),
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

/// An auto-renewing record renewing on `next` with a `notice_days` notice period; its stored
/// deadline is what a save would compute.
fn recurring(app: &TestApp, product: i64, cycle: &str, next: NaiveDate, notice_days: i32) -> i64 {
    let id = app.insert_billing(product, cycle, "10", "EUR", None);
    diesel::update(billing_records::table.find(id))
        .set((
            billing_records::next_renewal_on.eq(next),
            billing_records::renewal_anchor_day.eq(Some(next.day() as i16)),
            billing_records::auto_renew.eq(true),
            billing_records::notice_value.eq(Some(notice_days)),
            billing_records::notice_unit.eq(Some("days")),
            billing_records::cancellation_deadline
                .eq(next - chrono::TimeDelta::days(i64::from(notice_days))),
        ))
        .execute(&mut app.conn())
        .expect("dates");
    id
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// The days of the month grid (`data-date` cells) that show `text`, and all the grid's days.
fn days_showing(body: &str, text: &str) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let mut showing = Vec::new();
    let mut all = Vec::new();
    for piece in body.split("data-date=\"").skip(1) {
        let day = date(&piece[..10]);
        all.push(day);
        if piece
            .split("</td>")
            .next()
            .is_some_and(|c| c.contains(text))
        {
            showing.push(day);
        }
    }
    (showing, all)
}

#[actix_web::test]
async fn the_month_grid_shows_a_monthly_renewal_every_month_on_its_anchor_day() {
    let app = TestApp::spawn().await;
    let s = app.insert_service("Atlassian");
    let jira = app.insert_product(s, "Jira", None);
    let wiki = app.insert_product(s, "Confluence", None);
    let books = app.insert_product(s, "Bookkeeping", None);
    recurring(&app, jira, "monthly", date("2031-01-31"), 10);
    recurring(&app, wiki, "quarterly", date("2031-01-31"), 10);
    // Not auto-renewing: it renews once (a decision), then stops.
    let once = recurring(&app, books, "monthly", date("2031-01-31"), 10);
    diesel::update(billing_records::table.find(once))
        .set(billing_records::auto_renew.eq(false))
        .execute(&mut app.conn())
        .expect("no auto-renew");
    let admin = app.logged_in("boss", "admin").await;

    // Jan 31 → Feb 28 → Mar 31 → Apr 30 …, Feb 29 in 2032; each renewal with its own last
    // day to cancel, ten days before.
    let monthly: Vec<NaiveDate> = [
        "2031-01-31",
        "2031-02-28",
        "2031-03-31",
        "2031-04-30",
        "2031-05-31",
        "2031-06-30",
        "2031-07-31",
        "2031-08-31",
        "2031-09-30",
        "2031-10-31",
        "2031-11-30",
        "2031-12-31",
        "2032-01-31",
        "2032-02-29",
        "2032-03-31",
    ]
    .map(date)
    .to_vec();
    let quarterly: Vec<NaiveDate> = [
        "2031-01-31",
        "2031-04-30",
        "2031-07-31",
        "2031-10-31",
        "2032-01-31",
    ]
    .map(date)
    .to_vec();
    let ten_days_before = |v: &[NaiveDate]| -> Vec<NaiveDate> {
        v.iter().map(|d| *d - chrono::TimeDelta::days(10)).collect()
    };
    for month in [
        "2030-12", "2031-01", "2031-02", "2031-03", "2031-04", "2031-05", "2031-06", "2031-10",
        "2032-01", "2032-02", "2032-03",
    ] {
        let body = admin.get(&format!("/calendar?month={month}")).await.body;
        for (text, dates) in [
            ("Renewal: Atlassian → Jira", monthly.clone()),
            (
                "Last day to cancel: Atlassian → Jira",
                ten_days_before(&monthly),
            ),
            ("Renewal: Atlassian → Confluence", quarterly.clone()),
            (
                "Last day to cancel: Atlassian → Confluence",
                ten_days_before(&quarterly),
            ),
            ("Renewal: Atlassian → Bookkeeping", vec![date("2031-01-31")]),
        ] {
            let (showing, grid) = days_showing(&body, text);
            assert!(grid.len() >= 28, "{month}: the grid's days are marked");
            let expected: Vec<NaiveDate> = dates.into_iter().filter(|d| grid.contains(d)).collect();
            assert_eq!(showing, expected, "{month}: {text}");
        }
        if month == "2032-02" {
            assert!(days_showing(&body, "Renewal: Atlassian → Jira")
                .0
                .contains(&date("2032-02-29")));
        }
    }
}

#[actix_web::test]
async fn a_monthly_renewal_shows_every_month_in_the_next_90_days_and_the_feed_with_exclusive_ends()
{
    let app = TestApp::spawn().await;
    let s = app.insert_service("Slack");
    let pro = app.insert_product(s, "Slack Pro", None);
    let today = portalops::clock::now().date_naive();
    // The 10th of next month, then the 10th of every month.
    let first_of_next = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .expect("next month");
    let next = first_of_next + chrono::TimeDelta::days(9);
    let id = recurring(&app, pro, "monthly", next, 3);
    let tenths = |until: NaiveDate| -> Vec<NaiveDate> {
        (0..)
            .map(|k| {
                next.checked_add_months(chrono::Months::new(k))
                    .expect("month")
            })
            .take_while(|d| *d <= until)
            .collect()
    };
    let admin = app.logged_in("boss", "admin").await;

    let page = admin.get("/calendar").await.body;
    let list = page
        .split("Next 90 days")
        .nth(1)
        .expect("90-day list")
        .to_string();
    let in_90 = tenths(today + chrono::TimeDelta::days(90));
    assert!(in_90.len() >= 2, "{in_90:?}");
    assert_eq!(
        list.matches(">Renewal: Slack → Slack Pro</a>").count(),
        in_90.len(),
        "{list}"
    );
    for d in &in_90 {
        assert!(
            list.contains(&format!("<td class=\"nowrap\">{d}</td>")),
            "{d} in {list}"
        );
    }

    let r = admin
        .submit("/account", "/account/calendar-token", &[])
        .await;
    let re = regex_lite::Regex::new(r#"(/calendar/feed/[A-Za-z0-9_-]+\.ics)"#).expect("re");
    let path = re.captures(&r.body).expect("feed url")[1].to_string();
    let feed = app.client().get(&path).await;
    assert_eq!(feed.status, 200);
    let cal: icalendar::Calendar = feed.body.parse().expect("a valid iCalendar");
    let span = |e: &icalendar::Event| match (e.get_start(), e.get_end()) {
        (Some(DatePerhapsTime::Date(s)), Some(DatePerhapsTime::Date(e))) => (s, e),
        other => panic!("not an all-day event: {other:?}"),
    };
    let mut renewals: Vec<NaiveDate> = Vec::new();
    let mut deadlines: Vec<NaiveDate> = Vec::new();
    let mut uids = std::collections::HashSet::new();
    for e in cal.events() {
        let (start, end) = span(e);
        assert_eq!(
            end,
            start + chrono::TimeDelta::days(1),
            "DTEND is the next day"
        );
        assert!(
            uids.insert(e.get_uid().expect("uid").to_string()),
            "unique UIDs"
        );
        assert!(e
            .get_url()
            .is_some_and(|u| u.ends_with(&format!("/payments/{id}"))));
        match e.get_summary() {
            Some("Renewal: Slack → Slack Pro") => renewals.push(start),
            Some("Last day to cancel: Slack → Slack Pro") => deadlines.push(start),
            other => panic!("unexpected event {other:?}"),
        }
    }
    renewals.sort();
    deadlines.sort();
    let horizon = today + chrono::TimeDelta::days(366);
    let expected = tenths(horizon);
    assert!(expected.len() >= 11, "{expected:?}");
    assert_eq!(
        renewals, expected,
        "one event for every renewal in the year"
    );
    let expected_deadlines: Vec<NaiveDate> = tenths(horizon + chrono::TimeDelta::days(3))
        .into_iter()
        .map(|d| d - chrono::TimeDelta::days(3))
        .filter(|d| *d <= horizon)
        .collect();
    assert_eq!(deadlines, expected_deadlines);
    // As written on the wire: dates, not date-times, and no RRULE to expand.
    assert!(feed.body.contains(&format!(
        "DTEND;VALUE=DATE:{}",
        (next + chrono::TimeDelta::days(1)).format("%Y%m%d")
    )));
    assert!(!feed.body.contains("RRULE"));
}
