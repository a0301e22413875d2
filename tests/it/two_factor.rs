//! Two-factor login (SECURITY.md row 27): enrolment, the code after the password (no
//! session before it), single-use codes and their window on the application's clock,
//! wrong codes on the password's throttle, recovery codes, the Admins' policy, an Admin's
//! reset (never of a higher role, always with their own password), the secret encrypted at
//! rest, and the audit trail.

use diesel::prelude::*;

use crate::common::{Client, Resp, TestApp, PASSWORD};

/// The RFC 6238 SHA-1 test vectors against the code path logins use.
#[test]
fn rfc_6238_vectors_through_the_verification_code_path() {
    use portalops::auth::two_factor::totp::{code_at, matching_step};
    let secret = b"12345678901234567890";
    for (t, code) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000i64, "65353130"),
    ] {
        assert_eq!(code_at(secret, 8, t), code, "T = {t}");
        // People type six digits: the same HOTP value's last six.
        assert_eq!(
            matching_step(secret, &code[2..], t),
            Some(t / 30),
            "T = {t}"
        );
        assert_eq!(
            matching_step(secret, &code[2..], t + 90),
            None,
            "T = {t} + 90 s"
        );
    }
}

/// A fixed moment at the start of a time step, near the real time (tokens still use it).
fn step_start() -> i64 {
    let now = portalops::clock::now().timestamp();
    (now / 30) * 30
}

fn at(unix: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix, 0).expect("a time")
}

/// The code of `secret` (base32, as the page shows it) at `unix`, computed here with
/// totp-rs, as an authenticator app would.
fn code(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.replace(' ', ""))
        .to_bytes()
        .expect("base32");
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes).generate(unix as u64)
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = body.find(start)? + start.len();
    let j = body[i..].find(end)? + i;
    Some(&body[i..j])
}

/// Sets up two-factor login for the logged-in `client` at `t` (the app's clock is set
/// there): the secret shown as text and the recovery codes shown once.
async fn enrol(app: &TestApp, client: &Client, t: i64) -> (String, Vec<String>) {
    app.state.clock.set(Some(at(t)));
    let r = client
        .submit("/account/two-factor", "/account/two-factor/start", &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = client.get("/account/two-factor").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<svg role=\"img\""), "an inline QR code");
    let secret = between(&page.body, "id=\"totp-secret\">", "</code>")
        .expect("the secret as text")
        .replace(' ', "");
    let r = client
        .submit(
            "/account/two-factor",
            "/account/two-factor/confirm",
            &[("code", &code(&secret, t))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> = r
        .body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    let again = client.get("/account/two-factor").await;
    assert!(
        codes.iter().all(|c| !again.body.contains(c.as_str())),
        "recovery codes are shown once"
    );
    (secret, codes)
}

/// The password, then the code; the status of the code step.
async fn login_with_code(client: &Client, user: &str, code: &str) -> Resp {
    let r = client.login(user, PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/login/two-factor");
    client
        .submit("/login/two-factor", "/login/two-factor", &[("code", code)])
        .await
}

fn summaries(app: &TestApp, action: &str) -> Vec<String> {
    use portalops::db::schema::audit_log;
    audit_log::table
        .filter(audit_log::action.eq(action))
        .order(audit_log::id.asc())
        .select(audit_log::summary)
        .load(&mut app.conn())
        .expect("audit")
}

fn has_factor(app: &TestApp, user: &str) -> bool {
    let id = app.user_id(user);
    portalops::auth::two_factor::queries::has_factor(&mut app.conn(), id).expect("query")
}

#[actix_web::test]
async fn after_enrolment_a_login_needs_the_code_and_has_no_session_before_it() {
    let app = TestApp::spawn().await;
    let owner = app.logged_in("ana", "service_admin").await;
    let t = step_start();
    let (secret, _) = enrol(&app, &owner, t).await;
    assert!(has_factor(&app, "ana"));

    let c = app.client();
    let r = c.login("ana", PASSWORD).await;
    assert_eq!(r.location(), "/login/two-factor", "the code is asked for");
    let protected = c.get("/inventory").await;
    assert_eq!(protected.status, 303, "no session after the password alone");
    assert!(
        protected.location().starts_with("/login"),
        "{}",
        protected.location()
    );

    app.state.clock.set(Some(at(t + 31)));
    let wrong = c
        .submit(
            "/login/two-factor",
            "/login/two-factor",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("code-error"),
        "the error is next to the field"
    );
    assert_eq!(c.get("/inventory").await.status, 303);

    let ok = c
        .submit(
            "/login/two-factor",
            "/login/two-factor",
            &[("code", &code(&secret, t + 31))],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(c.get("/inventory").await.status, 200, "logged in");
    let logins = summaries(&app, "auth.login");
    assert!(
        logins.last().is_some_and(|s| s.contains("with two-factor")),
        "{logins:?}"
    );
    let actions = app.audit_actions();
    for a in [
        "two_factor.enrolment_started",
        "two_factor.enabled",
        "auth.login_failed",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

#[actix_web::test]
async fn a_wrong_confirmation_code_turns_nothing_on() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("ben", "product_admin").await;
    c.submit("/account/two-factor", "/account/two-factor/start", &[])
        .await;
    for typed in ["000000", "12345", "not a code", ""] {
        let r = c
            .submit(
                "/account/two-factor",
                "/account/two-factor/confirm",
                &[("code", typed)],
            )
            .await;
        assert_eq!(r.status, 422, "{typed:?}");
        assert!(r.body.contains("id=\"code-error\""), "{typed:?}");
        assert!(
            r.body.contains("id=\"totp-secret\""),
            "the set-up is still shown"
        );
    }
    assert!(!has_factor(&app, "ben"));
    let fresh = app.client();
    let r = fresh.login("ben", PASSWORD).await;
    assert_eq!(r.location(), "/", "the password alone still logs in");
}

/// A time step's code works once, also when two requests race with it; codes of the step
/// before and after are accepted, two steps away they are not.
#[actix_web::test]
async fn codes_are_single_use_within_a_window_of_one_step_either_side() {
    let app = TestApp::spawn().await;
    let owner = app.logged_in("cy", "admin").await;
    let t = step_start() - 600;
    let (secret, _) = enrol(&app, &owner, t).await;
    let c = app.client();

    // The confirmation used the current step's code: it does not log in.
    let r = login_with_code(&c, "cy", &code(&secret, t)).await;
    assert_eq!(r.status, 401, "the code used to confirm is spent");

    // The last second of the next step: the previous step's code (step + 1) is still good.
    app.state.clock.set(Some(at(t + 89)));
    let r = login_with_code(&c, "cy", &code(&secret, t + 30)).await;
    assert_eq!(r.status, 303, "one step back: {}", r.body);
    c.logout().await;
    let r = login_with_code(&c, "cy", &code(&secret, t + 30)).await;
    assert_eq!(r.status, 401, "a replayed code is refused");

    // Two steps back and two ahead are too far.
    app.state.clock.set(Some(at(t + 150)));
    let r = login_with_code(&c, "cy", &code(&secret, t + 90)).await;
    assert_eq!(r.status, 401, "two steps back");
    let r = login_with_code(&c, "cy", &code(&secret, t + 210)).await;
    assert_eq!(r.status, 401, "two steps ahead");
    // One ahead, at the first second of the step: good.
    let r = login_with_code(&c, "cy", &code(&secret, t + 180)).await;
    assert_eq!(r.status, 303, "one step ahead: {}", r.body);
    c.logout().await;

    // Two clients with the same fresh code at once: one session.
    app.state.clock.set(Some(at(t + 300)));
    let fresh = code(&secret, t + 300);
    let (a, b) = (app.client(), app.client());
    for x in [&a, &b] {
        assert_eq!(
            x.login("cy", PASSWORD).await.location(),
            "/login/two-factor"
        );
    }
    let token_a = a
        .get("/login/two-factor")
        .await
        .csrf_token()
        .expect("token");
    let token_b = b
        .get("/login/two-factor")
        .await
        .csrf_token()
        .expect("token");
    let fa = [("csrf_token", token_a.as_str()), ("code", fresh.as_str())];
    let fb = [("csrf_token", token_b.as_str()), ("code", fresh.as_str())];
    let (ra, rb) = futures_util::future::join(
        a.post_raw("/login/two-factor", &fa, &[]),
        b.post_raw("/login/two-factor", &fb, &[]),
    )
    .await;
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [303, 401],
        "exactly one of the racing requests logs in"
    );
}

/// Eight wrong codes at once after a right password: at most the throttle's limit (5) are
/// checked, the others are refused unchecked, and the client is then locked out of the
/// account — the right code included — as for wrong passwords.
#[actix_web::test]
async fn concurrent_wrong_codes_are_checked_at_most_the_limit() {
    let app = TestApp::spawn().await;
    let owner = app.logged_in("dee", "admin").await;
    let t = step_start() - 1200;
    let (secret, _) = enrol(&app, &owner, t).await;
    app.state.clock.set(Some(at(t + 60)));
    let c = app.client();
    assert_eq!(
        c.login("dee", PASSWORD).await.location(),
        "/login/two-factor"
    );
    let token = c
        .get("/login/two-factor")
        .await
        .csrf_token()
        .expect("token");
    let before = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    let wrong = [
        "111111", "222222", "333333", "444444", "555555", "666666", "777777", "888888",
    ];
    let posts = wrong.iter().map(|w| {
        let fields = [("csrf_token", token.clone()), ("code", w.to_string())];
        let c = c.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.post_raw("/login/two-factor", &f, &[]).await.status
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    let checked = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count()
        - before;
    assert!(
        (1..=5).contains(&checked),
        "{checked} checked: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        checked,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let right = c
        .submit(
            "/login/two-factor",
            "/login/two-factor",
            &[("code", &code(&secret, t + 60))],
        )
        .await;
    assert_eq!(
        right.status, 429,
        "locked: the right code is not checked either"
    );
    assert!(right.header("retry-after").is_some());
}

#[actix_web::test]
async fn a_recovery_code_logs_in_once() {
    let app = TestApp::spawn().await;
    let owner = app.logged_in("eve", "service_admin").await;
    let (_, codes) = enrol(&app, &owner, step_start()).await;
    let c = app.client();
    // Typed in capitals with a space instead of the dash: the same code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let r = login_with_code(&c, "eve", &typed).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        summaries(&app, "auth.login")
            .last()
            .is_some_and(|s| s.contains("recovery code; 9 left")),
        "{:?}",
        summaries(&app, "auth.login")
    );
    c.logout().await;
    assert_eq!(
        login_with_code(&c, "eve", &codes[3]).await.status,
        401,
        "used"
    );
    assert_eq!(
        login_with_code(&c, "eve", &codes[4]).await.status,
        303,
        "another one"
    );

    // New codes (with the password) replace the old ones.
    let r = owner
        .submit(
            "/account/two-factor",
            "/account/two-factor/recovery-codes",
            &[("current_password", "not my password at all")],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = owner
        .submit(
            "/account/two-factor",
            "/account/two-factor/recovery-codes",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<li><code>"));
    c.logout().await;
    assert_eq!(
        login_with_code(&c, "eve", &codes[5]).await.status,
        401,
        "replaced"
    );
    assert!(app
        .audit_actions()
        .iter()
        .any(|a| a == "two_factor.recovery_codes_renewed"));
}

#[actix_web::test]
async fn the_api_login_asks_for_the_code_and_counts_wrong_ones() {
    let app = TestApp::spawn().await;
    let owner = app.logged_in("fay", "admin").await;
    let t = step_start();
    let (secret, _) = enrol(&app, &owner, t).await;
    app.state.clock.set(Some(at(t + 30)));
    let c = app.client();
    let login = |totp: Option<String>| {
        let mut body = serde_json::json!({"username": "fay", "password": PASSWORD});
        if let Some(code) = totp {
            body["totp"] = serde_json::Value::String(code);
        }
        c.api("POST", "/api/v1/auth/login", None, Some(body))
    };
    let r = login(None).await;
    assert_eq!(r.status, 401);
    assert!(
        r.body.contains("second-factor code is required"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("access_token"));
    let r = login(Some("x".repeat(65))).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("\"totp\""), "named: {}", r.body);
    let before = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    let r = login(Some("123456".into())).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("not right"), "{}", r.body);
    let after = app
        .audit_actions()
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    assert_eq!(after, before + 1, "a wrong code is a failed login");
    let good = code(&secret, t + 30);
    let r = login(Some(good.clone())).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let token = v["access_token"].as_str().expect("token").to_string();
    assert_eq!(
        c.api("GET", "/api/v1/me", Some(&token), None).await.status,
        200
    );
    assert_eq!(login(Some(good)).await.status, 401, "replayed");
}

#[actix_web::test]
async fn the_admins_policy_confines_a_user_without_a_factor_to_enrolment() {
    let app = TestApp::spawn().await;
    let admin = app.logged_in("gus", "admin").await;
    let sa = app.logged_in("hal", "service_admin").await;
    let r = admin
        .submit(
            "/settings/two-factor",
            "/settings/two-factor",
            &[("policy", "sometimes")],
        )
        .await;
    assert_eq!(r.status, 422, "an unknown choice is refused");
    let r = admin
        .submit(
            "/settings/two-factor",
            "/settings/two-factor",
            &[("policy", "admins")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(summaries(&app, "settings.two_factor_required")
        .iter()
        .any(|s| s.contains("Admins")));

    for path in ["/", "/inventory", "/settings", "/account"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), "/account/two-factor", "{path}");
    }
    let page = admin.get("/account/two-factor").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("required for your account"));
    assert_eq!(
        sa.get("/inventory").await.status,
        200,
        "not required of other roles"
    );

    // The API: tokens, then 403 with the reason.
    let r = app
        .client()
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "gus", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let token = v["access_token"].as_str().expect("token").to_string();
    let me = app
        .client()
        .api("GET", "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, 403);
    assert!(me.body.contains("/account/two-factor"), "{}", me.body);

    // Enrolled, the Admin reaches everything again (and logs in with the code).
    enrol(&app, &admin, step_start()).await;
    assert_eq!(admin.get("/settings").await.status, 200);
    let me = app
        .client()
        .api("GET", "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, 200);

    // Everyone: the Service Administrator too; logging out still works.
    admin
        .submit(
            "/settings/two-factor",
            "/settings/two-factor",
            &[("policy", "everyone")],
        )
        .await;
    assert_eq!(sa.get("/inventory").await.location(), "/account/two-factor");
    let out = sa.submit("/account/two-factor", "/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
}

#[actix_web::test]
async fn a_reset_needs_an_admin_their_own_password_and_no_higher_role() {
    let app = TestApp::spawn().await;
    let admin = app.logged_in("ida", "admin").await;
    let other_admin = app.logged_in("jo", "admin").await;
    let sa = app.logged_in("kim", "service_admin").await;
    let pa = app.logged_in("lou", "product_admin").await;
    let t = step_start() - 3000;
    enrol(&app, &other_admin, t).await;
    enrol(&app, &sa, t + 30).await;
    enrol(&app, &pa, t + 60).await;
    let url = |u: &str| format!("/directory/{}/two-factor/reset", app.user_id(u));

    // A Service Administrator resets nobody: not an Admin's (higher), nor a lower role's.
    for target in ["jo", "lou"] {
        assert_eq!(sa.get(&url(target)).await.status, 403, "{target}");
        let r = sa
            .submit("/account", &url(target), &[("current_password", PASSWORD)])
            .await;
        assert_eq!(r.status, 403, "{target}");
        assert!(has_factor(&app, target), "{target}");
    }
    // The person page offers the reset only while a factor is on.
    let person = |u: &str| format!("/directory/{}", app.user_id(u));
    let kim_page = admin.get(&person("kim")).await;
    assert!(
        kim_page.body.contains("Reset two-factor"),
        "{}",
        kim_page.body
    );
    assert!(kim_page
        .body
        .contains(r#"<dd id="two-factor-state">on</dd>"#));
    let ida_page = admin.get(&person("ida")).await;
    assert!(!ida_page.body.contains("Reset two-factor"));
    assert!(ida_page
        .body
        .contains(r#"<dd id="two-factor-state">off</dd>"#));
    // An Admin, with a wrong own password: nothing happens, the error is by the field.
    let page = admin.get(&url("kim")).await;
    assert_eq!(page.status, 200);
    let r = admin
        .submit(
            &url("kim"),
            &url("kim"),
            &[("current_password", "wrong password 123")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("current_password-error"));
    assert!(has_factor(&app, "kim"));
    // With it: a lower role's and an equal role's.
    for target in ["kim", "jo"] {
        let r = admin
            .submit(
                &url(target),
                &url(target),
                &[("current_password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status, 303, "{target}: {}", r.body);
        assert!(!has_factor(&app, target), "{target}");
    }
    let resets = summaries(&app, "two_factor.reset");
    assert_eq!(resets.len(), 2, "{resets:?}");
    assert!(resets[0].contains("kim Example"), "{resets:?}");
    // The person reset logs in with the password alone again.
    assert_eq!(app.client().login("kim", PASSWORD).await.location(), "/");
    assert_eq!(
        admin.get("/directory/999999/two-factor/reset").await.status,
        404
    );
}

#[actix_web::test]
async fn turning_it_off_needs_the_password_and_is_audited() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("max", "product_admin").await;
    enrol(&app, &c, step_start()).await;
    let r = c
        .submit(
            "/account/two-factor",
            "/account/two-factor/disable",
            &[("disable_password", "wrong password 123")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("disable_password-error"));
    assert!(has_factor(&app, "max"));
    let r = c
        .submit(
            "/account/two-factor",
            "/account/two-factor/disable",
            &[("disable_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(!has_factor(&app, "max"));
    assert!(app
        .audit_actions()
        .iter()
        .any(|a| a == "two_factor.disabled"));
    assert_eq!(app.client().login("max", PASSWORD).await.location(), "/");
}

/// The TOTP secret is stored encrypted and the recovery codes hashed: neither the secret
/// (base32 or its bytes) nor a recovery code is anywhere in a dump of the database.
#[actix_web::test]
async fn the_secret_and_recovery_codes_are_not_stored_in_clear() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("ned", "admin").await;
    let (secret, codes) = enrol(&app, &c, step_start()).await;
    let raw = totp_rs::Secret::Encoded(secret.clone())
        .to_bytes()
        .expect("base32");
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let dump = pg_dump(&app.db_url);
    assert!(dump.contains("user_totp"), "the dump has the table");
    assert!(!dump.contains(&secret), "base32 secret in the dump");
    assert!(!dump.contains(&hex), "raw secret in the dump");
    for code in &codes {
        assert!(!dump.contains(code.as_str()), "a recovery code in the dump");
        assert!(!dump.contains(&code.replace('-', "")));
    }
    // The sealed row opens only with the key, for this user.
    use portalops::db::schema::user_totp;
    let (ciphertext, nonce): (Vec<u8>, Vec<u8>) = user_totp::table
        .select((user_totp::secret_ciphertext, user_totp::secret_nonce))
        .first(&mut app.conn())
        .expect("row");
    let sealed = portalops::crypto::aead::Sealed { ciphertext, nonce };
    let key = portalops::auth::two_factor::queries::sealing_key(&app.state.config).expect("key");
    let id = app.user_id("ned");
    assert_eq!(key.open(&sealed, &format!("user_totp:{id}")), Some(raw));
    assert_eq!(key.open(&sealed, &format!("user_totp:{}", id + 1)), None);
}

fn pg_dump(db_url: &str) -> String {
    let bin = ["/usr/lib/postgresql/15/bin/pg_dump", "pg_dump"]
        .into_iter()
        .find(|b| !b.starts_with('/') || std::path::Path::new(b).is_file())
        .expect("pg_dump");
    let out = std::process::Command::new(bin)
        .args(["--data-only", "--inserts", "--no-owner", "--dbname", db_url])
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Instances must share the encryption key like the other secrets; once a two-factor
/// secret is stored with it, another key is refused even from the environment.
#[test]
fn start_up_refuses_an_encryption_key_that_cannot_open_the_stored_secrets() {
    use diesel::Connection as _;
    use portalops::startup::check_shared_secrets;
    let url = crate::common::fresh_database();
    let mut conn = diesel::PgConnection::establish(&url).expect("connect");
    let first = crate::common::test_config(&[]);
    let other = crate::common::test_config(&[(
        "PORTALOPS_ENCRYPTION_KEY",
        "another-encryption-key-long-enough-987654321",
    )]);
    check_shared_secrets(&mut conn, &first, true).expect("recorded");
    let err = check_shared_secrets(&mut conn, &other, true).expect_err("generated and different");
    assert!(err.contains("PORTALOPS_ENCRYPTION_KEY"), "{err}");
    check_shared_secrets(&mut conn, &other, false).expect("set in the environment, nothing stored");
    check_shared_secrets(&mut conn, &first, false).expect("and back");
    // After a restore (which clears the secrets' fingerprint) a new data directory's
    // generated key is recorded, while no secret needs the old one.
    let restored = || {
        diesel::sql_query("DELETE FROM app_settings WHERE key = 'secrets_fingerprint'")
            .execute(&mut diesel::PgConnection::establish(&url).expect("connect"))
            .expect("as a restore does");
    };
    restored();
    check_shared_secrets(&mut conn, &other, true).expect("restored, nothing stored");
    restored();
    check_shared_secrets(&mut conn, &first, true).expect("and back");

    let user: i64 = diesel::sql_query(
        "INSERT INTO users (full_name, email, username, role) \
         VALUES ('K Key', 'k@example.com', 'kkey', 'admin') RETURNING id",
    )
    .get_result::<Id>(&mut conn)
    .expect("user")
    .id;
    diesel::insert_into(portalops::db::schema::user_totp::table)
        .values((
            portalops::db::schema::user_totp::user_id.eq(user),
            portalops::db::schema::user_totp::secret_ciphertext.eq(vec![1u8, 2, 3]),
            portalops::db::schema::user_totp::secret_nonce.eq(vec![0u8; 12]),
            portalops::db::schema::user_totp::created_at.eq(portalops::clock::now()),
        ))
        .execute(&mut conn)
        .expect("a stored secret");
    let err =
        check_shared_secrets(&mut conn, &other, false).expect_err("a stored secret needs its key");
    assert!(
        err.contains("PORTALOPS_ENCRYPTION_KEY") && err.contains("two-factor"),
        "{err}"
    );
    check_shared_secrets(&mut conn, &first, false).expect("the right key");
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// The way back when the only Admin lost their phone: the server's shell resets the factor
/// (audited); an unknown username is an error that says so.
#[actix_web::test]
async fn the_command_line_resets_a_second_factor() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("olga", "admin").await;
    enrol(&app, &c, step_start()).await;
    let data = tempfile::tempdir().expect("data dir");
    let run = |username: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_portalops"))
            .args(["admin", "reset-two-factor", "--username", username])
            .env("DATABASE_URL", &app.db_url)
            .env("PORTALOPS_DATA_DIR", data.path())
            .output()
            .expect("run portalops")
    };
    let out = run("nobody-here");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no login has the username"));
    assert!(has_factor(&app, "olga"));
    let out = run("OLGA");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("was reset"));
    assert!(!has_factor(&app, "olga"));
    assert!(summaries(&app, "two_factor.reset")
        .iter()
        .any(|s| s.contains("portalops admin reset-two-factor")));
    assert_eq!(app.client().login("olga", PASSWORD).await.location(), "/");
}
