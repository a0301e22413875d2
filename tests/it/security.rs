//! CSRF, redirects, headers, cookies, error pages and escaping, checked from outside.

use crate::common::{TestApp, PASSWORD};

#[actix_web::test]
async fn a_post_without_csrf_token_is_refused_with_a_readable_page() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    c.get("/login").await;
    let r = c
        .post_raw(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Form expired"), "{}", r.body);
    let bad = c
        .post_raw(
            "/login",
            &[
                ("csrf_token", "forged"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
            &[],
        )
        .await;
    assert_eq!(bad.status, 403);
    assert_eq!(c.get("/").await.status, 303, "no login happened");
}

#[actix_web::test]
async fn a_state_change_from_a_foreign_origin_is_refused_even_with_a_token() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    let token = c.get("/account").await.csrf_token().expect("token");
    let r = c
        .post_raw(
            "/logout",
            &[("csrf_token", &token)],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status, 403);
    let null = c
        .post_raw("/logout", &[("csrf_token", &token)], &[("origin", "null")])
        .await;
    assert_eq!(null.status, 403);
    assert_eq!(c.get("/").await.status, 200, "still logged in");
    let same = c
        .post_raw(
            "/logout",
            &[("csrf_token", &token)],
            &[("origin", &app.base_url)],
        )
        .await;
    assert_eq!(same.status, 303);
}

/// File uploads (CSV imports, attachments) carry the CSRF token as the first part of their
/// multipart body, never in the URL: with it there they work; without it, with a wrong one,
/// with it only in the URL, after the file, or from a foreign Origin they are refused with
/// 403 and nothing is stored. The pages' forms put no token in their action URLs.
#[actix_web::test]
async fn file_uploads_take_the_csrf_token_from_the_body_and_never_from_the_url() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    let s = app.insert_service("Zoom");
    let p = app.insert_product(s, "Zoom Business", None);
    let record = app.insert_billing(p, "annual", "100", "USD", None);
    let csv = b"full_name,email,department\nAnn Lee,ann@example.com,Sales\n".as_slice();
    let pdf = b"%PDF-1.4 invoice".as_slice();
    let imports = "/imports?kind=people".to_string();
    let attachments = format!("/payments/{record}/attachments");
    let stored = || {
        (
            app.count("imports"),
            app.count("attachments"),
            std::fs::read_dir(app.uploads.path())
                .map(|d| d.count())
                .unwrap_or(0),
        )
    };

    for page in ["/imports".to_string(), format!("/payments/{record}")] {
        let body = c.get(&page).await.body;
        assert!(body.contains("multipart/form-data"), "{page}");
        assert!(!body.contains("csrf_token="), "{page}: a token in a URL");
    }
    let token = c.get("/imports").await.csrf_token().expect("token");
    let (content_type, second) = {
        // The token after the file: the file would be read before the token.
        let boundary = "----portalops-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{boundary}--\r\n"
        );
        (
            format!("multipart/form-data; boundary={boundary}"),
            body.into_bytes(),
        )
    };
    for (path, data) in [(&imports, csv), (&attachments, pdf)] {
        let none = c.upload(path, None, "f", data).await;
        assert_eq!(none.status, 403, "{path} without a token");
        assert!(none.body.contains("Form expired"), "{}", none.body);
        let wrong = c.upload(path, Some("forged"), "f", data).await;
        assert_eq!(wrong.status, 403, "{path} with a wrong token");
        let sep = if path.contains('?') { '&' } else { '?' };
        let in_url = c
            .upload(&format!("{path}{sep}csrf_token={token}"), None, "f", data)
            .await;
        assert_eq!(in_url.status, 403, "{path} with the token in the URL only");
        let after = c.post_body(path, &content_type, second.clone(), &[]).await;
        assert_eq!(after.status, 403, "{path} with the token after the file");
        let (ct, body) = crate::common::client::multipart_form(Some(&token), "f", data);
        let foreign = c
            .post_body(path, &ct, body, &[("origin", "https://evil.example")])
            .await;
        assert_eq!(foreign.status, 403, "{path} from a foreign Origin");
        assert_eq!(stored(), (0, 0, 0), "{path}: nothing was stored");
    }

    let imported = c.upload(&imports, Some(&token), "people.csv", csv).await;
    assert_eq!(imported.status, 303, "{}", imported.body);
    assert!(imported.location().starts_with("/imports/"));
    // A file larger than what the guard reads ahead reaches the handler whole.
    let big = [pdf, &[b' '; 200_000][..]].concat();
    let attached = c
        .upload(&attachments, Some(&token), "invoice.pdf", &big)
        .await;
    assert_eq!(attached.status, 303, "{}", attached.body);
    assert_eq!(stored(), (1, 1, 1));
    let file = std::fs::read_dir(app.uploads.path())
        .expect("dir")
        .next()
        .expect("file")
        .expect("entry");
    assert_eq!(std::fs::read(file.path()).expect("read"), big);
    assert!(c
        .get(&format!("/payments/{record}"))
        .await
        .body
        .contains("invoice.pdf"));
}

#[actix_web::test]
async fn login_only_redirects_to_local_paths() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    for (next, expected) in [
        ("/audit?action=auth.", "/audit?action=auth."),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
    ] {
        let c = app.client();
        let r = c
            .submit(
                "/login",
                "/login",
                &[
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), expected, "next={next}");
    }
}

#[actix_web::test]
async fn a_protected_page_sends_you_to_login_and_back() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    let r = c.get("/audit?actor=alice").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/login?next=/audit%3Factor%3Dalice");
    let form = c.get(&r.location()).await;
    assert!(
        form.body
            .contains(r#"name="next" value="/audit?actor=alice""#),
        "{}",
        form.body
    );
    let login = c
        .submit(
            &r.location(),
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("next", "/audit?actor=alice"),
            ],
        )
        .await;
    assert_eq!(login.location(), "/audit?actor=alice");
}

#[actix_web::test]
async fn responses_carry_the_security_headers_and_a_safe_cookie() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let c = app.client();
    let page = c.get("/login").await;
    let csp = page.header("content-security-policy").expect("csp");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(page.header("referrer-policy").is_some());
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert!(page.header("server").is_none());
    assert!(page.header("access-control-allow-origin").is_none());

    let login = c.login("alice", PASSWORD).await;
    // The session cookie and the known-device cookie (docs/rbac.md, "Login throttling").
    let cookies: Vec<&str> = login
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-portalops=")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-portalops-device=")),
        "{cookies:?}"
    );
    for cookie in cookies {
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attr), "{attr} missing in {cookie}");
        }
        assert!(!cookie.contains("Domain"));
        assert!(
            !cookie.contains(PASSWORD) && !cookie.contains("alice"),
            "no secret or username in {cookie}"
        );
    }
}

#[actix_web::test]
async fn unknown_pages_get_a_404_page_with_a_request_id() {
    let app = TestApp::spawn().await;
    let r = app.client().get("/no/such/page").await;
    assert_eq!(r.status, 404);
    let id = r.header("x-request-id").expect("request id");
    assert!(r.body.contains("Page not found"));
    assert!(r.body.contains(&id), "the page quotes the request id");
}

#[actix_web::test]
async fn role_checks_are_made_on_the_server_not_by_hiding_links() {
    let app = TestApp::spawn().await;
    for role in ["product_admin", "service_admin"] {
        let c = app.logged_in(&format!("pa_{role}"), role).await;
        let dash = c.get("/").await;
        assert_eq!(dash.status, 200);
        assert!(!dash.body.contains(r#"href="/audit""#));
        assert_eq!(c.get("/audit").await.status, 403);
        assert_eq!(c.get("/settings").await.status, 403);
        assert_eq!(c.get("/account").await.status, 200);
    }
}

#[actix_web::test]
async fn user_supplied_text_is_escaped() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    let xss = r#""><svg onload=alert(1)>"#;
    let probe = app.client();
    probe.login(xss, "whatever password").await;
    let audit = c.get("/audit").await;
    assert!(
        !audit.body.contains("<svg onload"),
        "raw markup must not appear"
    );
    assert!(
        audit.body.contains("&#60;svg onload=alert(1)&#62;"),
        "{}",
        audit.body
    );
    let filtered = c.get("/audit?actor=%27%20OR%201%3D1--").await;
    assert_eq!(filtered.status, 200);
    assert!(filtered.body.contains("No entries match."));
}

#[actix_web::test]
async fn a_tampered_session_cookie_is_not_logged_in() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    let saved = c.cookie_header();
    let (name, value) = saved.split_once('=').expect("cookie");
    let mut bytes: Vec<char> = value.chars().collect();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == 'A' { 'B' } else { 'A' };
    let forged = app.client();
    forged.set_cookie_header(&format!("{name}={}", bytes.into_iter().collect::<String>()));
    let r = forged.get("/").await;
    assert_eq!(
        r.status, 303,
        "the encrypted cookie no longer authenticates"
    );
    assert_eq!(c.get("/").await.status, 200, "the real cookie still does");
}

/// `X-Forwarded-For` names the client only when the request comes from a configured reverse
/// proxy. Sent directly, a forged header changes neither the audit log's address nor whose
/// failures the login throttle counts.
#[actix_web::test]
async fn a_forged_x_forwarded_for_is_ignored_unless_it_comes_from_a_trusted_proxy() {
    use diesel::prelude::*;
    use portalops::db::schema::audit_log;
    let last_login_ip = |app: &TestApp| -> Option<String> {
        audit_log::table
            .filter(audit_log::action.like("auth.login%"))
            .order(audit_log::id.desc())
            .select(audit_log::client_ip)
            .first::<Option<String>>(&mut app.conn())
            .expect("audit")
    };
    let login =
        |user: &str, password: &str| serde_json::json!({"username": user, "password": password});

    // No trusted proxies (the default): the peer's address, whatever the header says.
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let c = app.client();
    for i in 0..31 {
        let forged = format!("203.0.113.{i}");
        let r = c
            .api_with_headers(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(login(&format!("nobody{i}"), "wrong password 123")),
                &[("x-forwarded-for", &forged)],
            )
            .await;
        assert!(r.status == 401 || r.status == 429, "{}", r.body);
    }
    assert_eq!(last_login_ip(&app).as_deref(), Some("127.0.0.1"));
    // Thirty failures from this address lock it, even for the right password, whatever
    // address the header claims.
    let r = c
        .api_with_headers(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login("ops", PASSWORD)),
            &[("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);

    // Behind a trusted proxy (here: loopback), the client is the last address the proxies
    // appended; what the client itself put in front of it is not believed.
    let app = TestApp::spawn_with(&[("PORTALOPS_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).await;
    app.create_user("ops", PASSWORD, "admin");
    let c = app.client();
    let r = c
        .api_with_headers(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login("ops", PASSWORD)),
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(last_login_ip(&app).as_deref(), Some("198.51.100.7"));

    // A bad proxy list stops start-up with the variable named; the old switch is refused.
    let bad = portalops::config::Config::from_lookup(|k| {
        (k == "PORTALOPS_TRUSTED_PROXIES").then(|| "10.0.0.0/33".to_string())
    });
    assert!(bad.is_err_and(|e| e.to_string().contains("PORTALOPS_TRUSTED_PROXIES")));
    let old = portalops::config::Config::from_lookup(|k| {
        (k == "PORTALOPS_TRUST_PROXY").then(|| "true".to_string())
    });
    assert!(old.is_err_and(|e| e.to_string().contains("PORTALOPS_TRUSTED_PROXIES")));
}
