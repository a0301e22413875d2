//! Invitations and password resets through a real SMTP server on loopback: a login given
//! without a password emails one invitation whose link sets the password once; two tabs
//! using one link at once; expiry on the application's clock; "Send invitation again";
//! "Forgot password" answering alike for unknown and known addresses, its limits, and the
//! reset ending the other sessions; the token never in the database, the logs, the audit
//! log or a page.

use std::net::TcpListener;

use diesel::prelude::*;
use portalops::db::schema::{audit_log, login_links, users};
use serde_json::json;

use crate::common::smtp::{self, Inbox};
use crate::common::{Client, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "amber harbour kettle 93";

pub struct Mailed {
    pub app: TestApp,
    pub inbox: Inbox,
}

/// An app whose outbox sends to a real SMTP server on loopback, and that server's inbox.
pub async fn app_with_smtp() -> Mailed {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let inbox = smtp::serve(listener);
    let app = TestApp::spawn_with(&[
        ("PORTALOPS_SMTP_HOST", "127.0.0.1"),
        ("PORTALOPS_SMTP_PORT", &port),
        ("PORTALOPS_SMTP_TLS", "none"),
        ("PORTALOPS_MAIL_FROM", "portalops@example.com"),
    ])
    .await;
    Mailed { app, inbox }
}

/// Sends what the outbox holds, as the scheduled job does.
pub async fn deliver(app: &TestApp) -> String {
    let state = app.state.clone();
    actix_web::web::block(move || portalops::jobs::run_job(&state, "outbox"))
        .await
        .expect("block")
        .expect("outbox job")
}

/// The path of the link in a received message (quoted-printable soft breaks undone).
pub fn link_in(mail: &smtp::Mail) -> String {
    let data = mail.data.replace("=\r\n", "").replace("=\n", "");
    let re = regex_lite::Regex::new(r"/password/set/([A-Za-z0-9_-]{43})").expect("regex");
    let c = re
        .captures(&data)
        .unwrap_or_else(|| panic!("no link in the message: {data}"));
    c[0].to_string()
}

fn token_of(link: &str) -> &str {
    link.trim_start_matches("/password/set/")
}

/// Ada, in the directory without a login; returns her id.
pub(crate) fn ada(app: &TestApp) -> i64 {
    app.insert_person("Ada Lovelace", "ada@example.com", "Engineering")
}

pub(crate) fn person_form<'a>(
    role: &'a str,
    username: &'a str,
    password: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("full_name", "Ada Lovelace"),
        ("email", "ada@example.com"),
        ("role", role),
        ("username", username),
        ("password", password),
        ("employment_status", "active"),
        ("department", "Engineering"),
        ("is_active", "on"),
    ]
}

/// Gives Ada a Product Administrator login from her edit page, without a password.
async fn give_login(admin: &Client, id: i64) {
    let r = admin
        .submit(
            &format!("/directory/{id}/edit"),
            &format!("/directory/{id}"),
            &person_form("product_admin", "ada", ""),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = admin.get(&r.location()).await;
    assert!(
        page.body
            .contains("An invitation to choose a password was emailed."),
        "{}",
        page.body
    );
}

/// Opens `link` in `c` and posts the two passwords to it.
async fn set_password(
    c: &Client,
    link: &str,
    password: &str,
    confirm: &str,
) -> crate::common::Resp {
    c.submit(
        link,
        link,
        &[("password", password), ("password_confirm", confirm)],
    )
    .await
}

fn pg_dump(db_url: &str) -> String {
    let out = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .args(["--data-only", "--inserts", "--no-owner", "--dbname", db_url])
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[actix_web::test]
async fn a_login_without_a_password_emails_one_invitation_whose_link_sets_it_once() {
    let logs = crate::common::logs::capture();
    let Mailed { app, inbox } = app_with_smtp().await;
    let id = ada(&app);
    let admin = app.logged_in("root", "admin").await;
    give_login(&admin, id).await;

    // One email, queued with the change; the queue holds no usable link.
    let queued = app.queued_emails();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "ada@example.com");
    assert_eq!(queued[0].1, "root Example invited you to PortalOps");
    assert!(
        queued[0].2.contains("/password/set/[[sealed:"),
        "a sealed placeholder, not a token: {}",
        queued[0].2
    );
    assert!(app
        .audit_actions()
        .contains(&"person.invitation_sent".to_string()));
    // Saving her again sends nothing more: her invitation is still valid.
    let r = admin
        .submit(
            &format!("/directory/{id}/edit"),
            &format!("/directory/{id}"),
            &person_form("product_admin", "ada", ""),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(app.queued_emails().len(), 1);

    assert_eq!(deliver(&app).await, "1 sent, 0 to retry, 0 failed");
    let mails = inbox.to("ada@example.com");
    assert_eq!(mails.len(), 1);
    let link = link_in(&mails[0]);
    let token = token_of(&link).to_string();
    assert!(mails[0].data.contains("root Example"), "who invited her");
    assert!(mails[0].data.contains("ada"), "her username");
    assert!(mails[0].data.contains(&app.base_url), "an absolute link");

    // The person page says she was invited, and never shows the link.
    let page = admin.get(&format!("/directory/{id}")).await;
    assert!(page.body.contains("invited on"), "{}", page.body);
    assert!(page.body.contains("Send invitation again"));
    assert!(!page.body.contains(&token));

    // The link's page: the form, with headers that keep the token to itself.
    let c = app.client();
    let form = c.get(&link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("Choose your password"));
    assert!(!form.body.contains(&token), "the token is in no markup");
    assert_eq!(
        form.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(form.header("cache-control").as_deref(), Some("no-store"));

    // The password policy, with her username and name; every error at once, nothing used.
    for (pw, confirm, msg) in [
        ("short", "short", "at least 12"),
        ("Password1234", "Password1234", "too common"),
        ("ada lovelace ada", "ada lovelace ada", "name"),
        (
            NEW_PASSWORD,
            "something else entirely",
            "The two passwords differ.",
        ),
    ] {
        let r = set_password(&c, &link, pw, confirm).await;
        assert_eq!(r.status, 422, "{pw}: {}", r.body);
        assert!(r.body.contains(msg), "{msg}: {}", r.body);
    }
    // As a browser posts it under `no-referrer`: `Origin: null`; a foreign Origin is refused.
    let csrf = c.get(&link).await.csrf_token().expect("token");
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ];
    let r = c
        .post_raw(&link, &fields, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = c.post_raw(&link, &fields, &[("origin", "null")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/login");
    assert!(c.get("/login").await.body.contains("Password set — log in"));
    assert_eq!(app.client().login("ada", NEW_PASSWORD).await.status, 303);

    // Once only.
    let again = app.client();
    let r = again.get(&link).await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("This link was already used"), "{}", r.body);
    let csrf = again
        .get("/password/forgot")
        .await
        .csrf_token()
        .expect("token");
    let p = "another long passphrase";
    let r = again
        .post_raw(
            &link,
            &[
                ("csrf_token", &csrf),
                ("password", p),
                ("password_confirm", p),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(r.body.contains("This link was already used"));
    assert_eq!(app.client().login("ada", NEW_PASSWORD).await.status, 303);
    let page = admin.get(&format!("/directory/{id}")).await;
    assert!(page.body.contains("has a password"));
    assert!(!page.body.contains("Send invitation again"));
    assert!(app
        .audit_actions()
        .contains(&"user.password_set".to_string()));

    // Stored hashed; in no table, no log line, no audit entry.
    let stored: Vec<Vec<u8>> = login_links::table
        .select(login_links::token_hash)
        .load(&mut app.conn())
        .expect("links");
    assert_eq!(stored, vec![portalops::crypto::sha256(token.as_bytes())]);
    assert!(
        !pg_dump(&app.db_url).contains(&token),
        "the token is in the database"
    );
    let audit: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> =
        audit_log::table
            .select((audit_log::summary, audit_log::before, audit_log::after))
            .load(&mut app.conn())
            .expect("audit");
    assert!(!format!("{audit:?}").contains(&token));
    if logs.installed() {
        let text = logs.text();
        assert!(
            text.contains("/password/set/[redacted]"),
            "the request was logged"
        );
        assert!(!text.contains(&token), "the token is in the logs");
    }
}

#[actix_web::test]
async fn the_api_gives_a_login_with_an_invitation_or_with_a_password() {
    let app = TestApp::spawn().await;
    let id = ada(&app);
    let bob = app.insert_person("Bob Byte", "bob@example.com", "Ops");
    app.create_user("root", PASSWORD, "admin");
    let login = app
        .client()
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "root", "password": PASSWORD})),
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&login.body).expect("json");
    let token = v["access_token"].as_str().expect("token").to_string();
    let c = app.client();
    let r = c
        .api(
            "PUT",
            &format!("/api/v1/people/{id}/role"),
            Some(&token),
            Some(json!({"role": "service_admin", "username": "ada"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["invitation_sent"], true);
    // A password still works, and then nothing is emailed.
    let r = c
        .api(
            "PUT",
            &format!("/api/v1/people/{bob}/role"),
            Some(&token),
            Some(json!({"role": "service_admin", "username": "bob", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["invitation_sent"], false);
    let queued = app.queued_emails();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "ada@example.com");
    assert_eq!(app.client().login("bob", PASSWORD).await.status, 303);
}

#[actix_web::test]
async fn two_tabs_using_one_link_at_once_set_the_password_once() {
    let Mailed { app, inbox } = app_with_smtp().await;
    let id = ada(&app);
    let admin = app.logged_in("root", "admin").await;
    give_login(&admin, id).await;
    deliver(&app).await;
    let link = link_in(&inbox.to("ada@example.com")[0]);
    let (a, b) = (app.client(), app.client());
    let (ta, tb) = (
        a.get(&link).await.csrf_token().expect("form a"),
        b.get(&link).await.csrf_token().expect("form b"),
    );
    let (pa, pb) = ("first tab passphrase 1", "second tab passphrase 2");
    let ra_fields = [
        ("csrf_token", ta.as_str()),
        ("password", pa),
        ("password_confirm", pa),
    ];
    let rb_fields = [
        ("csrf_token", tb.as_str()),
        ("password", pb),
        ("password_confirm", pb),
    ];
    let (ra, rb) = futures_util::future::join(
        a.post_raw(&link, &ra_fields, &[]),
        b.post_raw(&link, &rb_fields, &[]),
    )
    .await;
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 410], "{} / {}", ra.body, rb.body);
    let (winner, loser, lost) = if ra.status == 303 {
        (pa, pb, &rb)
    } else {
        (pb, pa, &ra)
    };
    assert!(
        lost.body.contains("This link was already used"),
        "{}",
        lost.body
    );
    assert_eq!(app.client().login("ada", winner).await.status, 303);
    assert_eq!(app.client().login("ada", loser).await.status, 401);
    let used: i64 = login_links::table
        .filter(login_links::used_at.is_not_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(used, 1);
}

#[actix_web::test]
async fn an_expired_invitation_is_refused_and_sending_it_again_voids_the_old_link() {
    let Mailed { app, inbox } = app_with_smtp().await;
    let id = ada(&app);
    let admin = app.logged_in("root", "admin").await;
    give_login(&admin, id).await;
    deliver(&app).await;
    let old = link_in(&inbox.to("ada@example.com")[0]);

    // Seven days and a minute later (the application's clock).
    let later =
        portalops::clock::now() + chrono::TimeDelta::days(7) + chrono::TimeDelta::minutes(1);
    app.state.clock.set(Some(later));
    let c = app.client();
    let r = c.get(&old).await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(r.body.contains("This link has expired"), "{}", r.body);
    assert!(r.body.contains("Ask an Admin to send the invitation again"));
    let page = admin.get(&format!("/directory/{id}")).await;
    assert!(page.body.contains("has expired"), "{}", page.body);

    // Send invitation again: a new link; the old one stays refused.
    let r = admin
        .submit(
            &format!("/directory/{id}"),
            &format!("/directory/{id}/invitation"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(admin
        .get(&r.location())
        .await
        .body
        .contains("Invitation sent to ada@example.com."));
    assert!(app
        .audit_actions()
        .contains(&"person.invitation_resent".to_string()));
    assert_eq!(deliver(&app).await, "1 sent, 0 to retry, 0 failed");
    let mails = inbox.to("ada@example.com");
    assert_eq!(mails.len(), 2);
    let new = link_in(&mails[1]);
    assert_ne!(new, old);
    assert_eq!(c.get(&old).await.status, 410);

    // Sent again before it expired: the earlier link is voided.
    let r = admin
        .submit(
            &format!("/directory/{id}"),
            &format!("/directory/{id}/invitation"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    deliver(&app).await;
    let newest = link_in(&inbox.to("ada@example.com")[2]);
    let r = c.get(&new).await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("no longer valid"), "{}", r.body);
    assert_eq!(
        set_password(&c, &newest, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status,
        303
    );
    // Someone with a password is not invited again.
    let r = admin
        .submit(
            &format!("/directory/{id}"),
            &format!("/directory/{id}/invitation"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(admin
        .get(&r.location())
        .await
        .body
        .contains("has set a password already"));
    assert_eq!(app.queued_emails().len(), 0);
    // An unknown token: not found, with what to do.
    let r = c
        .get("/password/set/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Ask for a new link"));
}

/// The answer page without what differs on every page (the CSRF token).
fn normalised(body: &str) -> String {
    let re = regex_lite::Regex::new(r#"value="[A-Za-z0-9_-]{43}""#).expect("regex");
    re.replace_all(body, "value=\"…\"").into_owned()
}

async fn forgot(c: &Client, who: &str) -> crate::common::Resp {
    c.submit("/password/forgot", "/password/forgot", &[("who", who)])
        .await
}

#[actix_web::test]
async fn forgot_password_answers_alike_for_anyone_and_the_reset_ends_other_sessions() {
    let Mailed { app, inbox } = app_with_smtp().await;
    app.create_user("ops", PASSWORD, "service_admin");
    app.insert_person("No Login", "nologin@example.com", "Ops");
    let elsewhere = app.client();
    assert_eq!(elsewhere.login("ops", PASSWORD).await.status, 303);
    assert_eq!(elsewhere.get("/account").await.status, 200);

    let login = app.client().get("/login").await;
    assert!(login.body.contains("href=\"/password/forgot\""));
    let c = app.client();
    let timed = |who: &'static str| {
        let c = c.clone();
        async move {
            let started = std::time::Instant::now();
            let r = forgot(&c, who).await;
            (r, started.elapsed())
        }
    };
    let (unknown, t_unknown) = timed("nobody@example.com").await;
    let (no_login, t_no_login) = timed("nologin@example.com").await;
    let (known, t_known) = timed("OPS@example.com").await;
    // Each answer waits for the same floor (300 ms), whoever was asked for.
    for t in [t_unknown, t_no_login, t_known] {
        assert!(t >= std::time::Duration::from_millis(300), "{t:?}");
    }
    for r in [&unknown, &no_login, &known] {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(normalised(&r.body), normalised(&known.body));
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    }
    assert!(known.body.contains("Check your email"));
    let queued = app.queued_emails();
    assert_eq!(
        queued.len(),
        1,
        "only the known address gets an email: {queued:?}"
    );
    assert_eq!(queued[0].0, "ops@example.com");
    assert_eq!(queued[0].1, "Reset your PortalOps password");
    assert_eq!(deliver(&app).await, "1 sent, 0 to retry, 0 failed");
    let link = link_in(&inbox.to("ops@example.com")[0]);

    // The reset: the old password stops working and every session ends.
    let r = set_password(&c, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = elsewhere.get("/account").await;
    assert_eq!(r.status, 303, "the other session is over");
    assert!(r.location().starts_with("/login"));
    assert_eq!(app.client().login("ops", PASSWORD).await.status, 401);
    assert_eq!(app.client().login("ops", NEW_PASSWORD).await.status, 303);
    assert!(app
        .audit_actions()
        .contains(&"user.password_reset".to_string()));
    let ended: Vec<Option<String>> = portalops::db::schema::auth_sessions::table
        .filter(portalops::db::schema::auth_sessions::revoked_at.is_not_null())
        .select(portalops::db::schema::auth_sessions::revoked_reason)
        .load(&mut app.conn())
        .expect("sessions");
    assert_eq!(
        ended,
        vec![Some("password set through an emailed link".to_string())]
    );
}

#[actix_web::test]
async fn forgot_password_cannot_flood_an_inbox_or_be_hammered_from_one_address() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "service_admin");
    let c = app.client();
    // By username too; three emails an hour at most, the same answer every time.
    for _ in 0..5 {
        let r = forgot(&c, "ops").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Check your email"));
    }
    let queued = app.queued_emails();
    assert_eq!(queued.len(), 3, "{queued:?}");
    let live: i64 = login_links::table
        .filter(login_links::voided_at.is_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(live, 1, "each new link voids the one before");
    // Ten requests an hour from one address, whatever was typed; then 429 with Retry-After.
    for n in 5..10 {
        assert_eq!(
            forgot(&c, &format!("someone{n}@example.com")).await.status,
            200
        );
    }
    let r = forgot(&c, "nobody@example.com").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("Too many password reset requests"));
    // An hour later it answers again.
    app.state.clock.set(Some(
        portalops::clock::now() + chrono::TimeDelta::minutes(61),
    ));
    assert_eq!(forgot(&c, "ops").await.status, 200);
    assert_eq!(app.queued_emails().len(), 4);
    // Nothing typed, or a card number: asked again, nothing recorded.
    let r = forgot(&c, "").await;
    assert_eq!(r.status, 422);
    let r = forgot(&c, "4111 1111 1111 1111").await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains("4111 1111"));
    let users_n: i64 = users::table.count().get_result(&mut app.conn()).expect("n");
    assert_eq!(users_n, 1);
}

#[actix_web::test]
async fn a_new_address_or_a_login_taken_away_voids_the_links_out() {
    let Mailed { app, inbox } = app_with_smtp().await;
    let id = ada(&app);
    let admin = app.logged_in("root", "admin").await;
    give_login(&admin, id).await;
    deliver(&app).await;
    let first = link_in(&inbox.to("ada@example.com")[0]);
    let edit = |email: &'static str, role: &'static str| {
        let mut f = person_form(role, "ada", "");
        f.retain(|(k, _)| *k != "email");
        f.push(("email", email));
        f
    };
    // Her address changes: the link sent to the old one stops, the new one gets its own.
    let r = admin
        .submit(
            &format!("/directory/{id}/edit"),
            &format!("/directory/{id}"),
            &edit("ada.l@example.com", "product_admin"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    deliver(&app).await;
    let c = app.client();
    assert_eq!(c.get(&first).await.status, 410);
    let second = link_in(&inbox.to("ada.l@example.com")[0]);
    // Her login is taken away, then given back: the link out does not come back to life.
    for role in ["user", "product_admin"] {
        let r = admin
            .submit(
                &format!("/directory/{id}/edit"),
                &format!("/directory/{id}"),
                &edit("ada.l@example.com", role),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    assert_eq!(deliver(&app).await, "1 sent, 0 to retry, 0 failed");
    let r = c.get(&second).await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("no longer valid"));
    let third = link_in(&inbox.to("ada.l@example.com")[1]);
    assert_eq!(c.get(&third).await.status, 200);
}
