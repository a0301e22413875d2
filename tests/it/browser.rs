//! Real-browser journeys: headless Chromium (Debian's chromium + chromium-driver) driven
//! over WebDriver. Screenshots land in target/screenshots/ for a human to look at.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use crate::common::{TestApp, PASSWORD};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver_path() -> String {
    for p in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("chromedriver is not installed: run scripts/test.sh, which installs chromium and chromium-driver");
}

async fn browser() -> (fantoccini::Client, Driver) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let driver = Driver(
        Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            // Under `faketime` (scripts/test.sh runs the suite with the clock years ahead)
            // the browser keeps the real clock: Chromium does not start with it preloaded.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900", "--lang=en-US"
            ]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (client, driver),
            Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
            Err(_) => actix_web::rt::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Waits (up to 10 s) for an element: clicks start navigations that finish a moment later.
async fn wait_for(b: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => panic!(
            "{css} did not appear ({e}); page was:\n{}",
            b.source().await.unwrap_or_default()
        ),
    }
}

/// Waits (up to 10 s) until an element matching `css` shows `text`: after a click the old
/// page may still be there for a moment.
async fn wait_for_text(b: &fantoccini::Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = b.find(Locator::Css(css)).await {
            if e.text().await.map(|t| t.contains(text)).unwrap_or(false) {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "{css} never showed {text:?}; page was:\n{}",
                b.source().await.unwrap_or_default()
            );
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn save_screenshot(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

#[actix_web::test]
async fn login_dashboard_logout_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD, "admin");
    let (b, _driver) = browser().await;

    b.goto(&format!("{}/audit", app.base_url))
        .await
        .expect("open");
    let url = b.current_url().await.expect("url");
    assert_eq!(
        url.path(),
        "/login",
        "a protected page leads to the login page"
    );
    b.find(Locator::Css("#username"))
        .await
        .expect("username")
        .send_keys("alice")
        .await
        .expect("type");
    b.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys("wrong password!")
        .await
        .expect("type");
    b.find(Locator::Css("button[type=submit].primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    let error = wait_for(&b, ".flash.error").await;
    assert_eq!(
        error.text().await.expect("text"),
        "Invalid username or password."
    );
    save_screenshot("login-error", &b.screenshot().await.expect("screenshot"));

    b.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    b.find(Locator::Css("button[type=submit].primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    let h1 = wait_for(&b, "h1.audit-title").await;
    assert_eq!(
        h1.text().await.expect("text"),
        "Audit log",
        "back to the page first asked for"
    );
    b.find(Locator::LinkText("Dashboard"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    let h1 = wait_for(&b, "h1.welcome").await;
    assert_eq!(h1.text().await.expect("text"), "Welcome, alice Example");
    save_screenshot("dashboard", &b.screenshot().await.expect("screenshot"));

    b.find(Locator::Css("button.link"))
        .await
        .expect("logout")
        .click()
        .await
        .expect("click");
    let flash = wait_for(&b, ".flash.info").await;
    assert_eq!(flash.text().await.expect("text"), "You are logged out.");
    assert_eq!(b.current_url().await.expect("url").path(), "/login");
    b.goto(&format!("{}/", app.base_url)).await.expect("open");
    assert_eq!(
        b.current_url().await.expect("url").path(),
        "/login",
        "logged out for real"
    );
    b.close().await.expect("close");
}

#[actix_web::test]
async fn first_run_setup_then_every_admin_page_in_a_real_browser() {
    let app = TestApp::spawn().await;
    *app.state.setup_token.lock().expect("lock") = Some("browser-setup-token".into());
    let (b, _driver) = browser().await;

    b.goto(&format!("{}/setup?token=browser-setup-token", app.base_url))
        .await
        .expect("open");
    for (field, value) in [
        ("#full_name", "Grace Admin"),
        ("#email", "grace@example.com"),
        ("#username", "grace"),
        ("#password", "short"),
        ("#password_confirm", "short"),
    ] {
        b.find(Locator::Css(field))
            .await
            .expect(field)
            .send_keys(value)
            .await
            .expect("type");
    }
    b.find(Locator::Css("button.primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    let error = wait_for(&b, "#password-error").await;
    assert_eq!(
        error.text().await.expect("text"),
        "Use at least 12 characters."
    );
    let kept = b.find(Locator::Css("#full_name")).await.expect("name");
    assert_eq!(
        kept.prop("value").await.expect("value").as_deref(),
        Some("Grace Admin")
    );
    save_screenshot("setup-error", &b.screenshot().await.expect("screenshot"));

    b.find(Locator::Css("#password"))
        .await
        .expect("pw")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    b.find(Locator::Css("#password_confirm"))
        .await
        .expect("pw2")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    b.find(Locator::Css("button.primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    let flash = wait_for(&b, ".flash.success").await;
    assert!(flash
        .text()
        .await
        .expect("text")
        .contains("Your Admin account is ready"));

    b.find(Locator::Css("#username"))
        .await
        .expect("u")
        .send_keys("grace")
        .await
        .expect("type");
    b.find(Locator::Css("#password"))
        .await
        .expect("p")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    b.find(Locator::Css("button.primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    wait_for(&b, "h1.welcome").await;

    b.find(Locator::LinkText("Audit log"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    wait_for(&b, "table.audit").await;
    save_screenshot("audit-log", &b.screenshot().await.expect("screenshot"));
    b.find(Locator::Css("#action"))
        .await
        .expect("filter")
        .send_keys("auth.")
        .await
        .expect("type");
    b.find(Locator::Css(".filters button"))
        .await
        .expect("filter")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b
        .current_url()
        .await
        .expect("url")
        .query()
        .unwrap_or_default()
        .contains("action=auth.")
    {
        assert!(Instant::now() < deadline, "the filter did not apply");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(&b, "table.audit").await;

    b.find(Locator::LinkText("Settings"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    wait_for(&b, "table.props-table").await;
    save_screenshot("settings", &b.screenshot().await.expect("screenshot"));
    b.find(Locator::LinkText("Scheduler and email"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for_text(&b, "h1", "Scheduler").await;
    b.find(Locator::Css(
        "form[action='/settings/scheduler/reminders/run'] button",
    ))
    .await
    .expect("run now")
    .click()
    .await
    .expect("click");
    wait_for_text(&b, ".flash.success", "reminders:").await;
    save_screenshot("scheduler", &b.screenshot().await.expect("screenshot"));

    b.find(Locator::LinkText("Grace Admin"))
        .await
        .expect("account")
        .click()
        .await
        .expect("click");
    wait_for(&b, "#current_password").await;
    b.find(Locator::Css("#current_password"))
        .await
        .expect("cur")
        .send_keys("wrong wrong wrong")
        .await
        .expect("type");
    b.find(Locator::Css("#new_password"))
        .await
        .expect("new")
        .send_keys("a new long passphrase")
        .await
        .expect("type");
    b.find(Locator::Css("#new_password_confirm"))
        .await
        .expect("new2")
        .send_keys("a new long passphrase")
        .await
        .expect("type");
    b.find(Locator::Css("form[action='/account/password'] button"))
        .await
        .expect("btn")
        .click()
        .await
        .expect("click");
    let err = wait_for(&b, "#current_password-error").await;
    assert_eq!(
        err.text().await.expect("text"),
        "This is not your current password."
    );
    save_screenshot("account", &b.screenshot().await.expect("screenshot"));

    b.goto(&format!("{}/no-such-page", app.base_url))
        .await
        .expect("open");
    wait_for(&b, ".status-code").await;
    save_screenshot("not-found", &b.screenshot().await.expect("screenshot"));
    b.close().await.expect("close");
}

async fn fill(b: &fantoccini::Client, css: &str, value: &str) {
    let e = b
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} missing"));
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

async fn click(b: &fantoccini::Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} missing"))
        .click()
        .await
        .expect("click");
}

async fn choose(b: &fantoccini::Client, select_css: &str, option_text: &str) {
    let select = b.find(Locator::Css(select_css)).await.expect("select");
    select
        .select_by_label(option_text)
        .await
        .unwrap_or_else(|e| panic!("option {option_text}: {e}"));
}

/// Types `typed` into a picker's box and chooses the match whose text holds `label`.
async fn pick(b: &fantoccini::Client, box_css: &str, typed: &str, label: &str) {
    fill(b, box_css, typed).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for li in b
            .find_all(Locator::Css(".picker-list li[role='option']"))
            .await
            .unwrap_or_default()
        {
            // A list answered for fewer letters may be replaced while it is read: its items
            // are gone then, so the click fails and the newer list is read again.
            if li.is_displayed().await.unwrap_or(false)
                && li.text().await.map(|t| t.contains(label)).unwrap_or(false)
                && li.click().await.is_ok()
            {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "the picker {box_css} never offered {label:?}; page was:\n{}",
                b.source().await.unwrap_or_default()
            );
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn an_admin_sets_up_a_product_and_its_product_administrator_grants_it() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let (b, _driver) = browser().await;
    let base = &app.base_url;

    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;

    // The Product Administrator and the person to be granted, through the directory.
    b.find(Locator::LinkText("Directory"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    wait_for(&b, "a[href='/directory/new']").await;
    click(&b, "a[href='/directory/new']").await;
    wait_for(&b, "#full_name").await;
    fill(&b, "#full_name", "Priya Product").await;
    fill(&b, "#email", "priya@example.com").await;
    fill(&b, "#department", "IT").await;
    choose(&b, "#role", "Product Administrator").await;
    fill(&b, "#username", "priya").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "Priya Product added").await;
    b.goto(&format!("{base}/directory/new"))
        .await
        .expect("open");
    wait_for(&b, "#full_name").await;
    fill(&b, "#full_name", "Nina New").await;
    fill(&b, "#email", "nina@example.com").await;
    fill(&b, "#department", "Sales").await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "Nina New added").await;

    // A service and a product, then Priya as its Product Administrator.
    b.find(Locator::LinkText("Inventory"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    wait_for(&b, "a[href='/inventory/services/new']").await;
    click(&b, "a[href='/inventory/services/new']").await;
    wait_for(&b, "#name").await;
    fill(&b, "#name", "Google Workspace").await;
    fill(&b, "#vendor", "Google").await;
    fill(&b, "#category", "Productivity").await;
    fill(&b, "#website", "https://workspace.google.com").await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "created").await;
    b.find(Locator::LinkText("New product"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for(&b, "#name").await;
    fill(&b, "#name", "Gmail").await;
    fill(&b, "#seats_purchased", "25").await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "Product 'Gmail' created.").await;
    pick(&b, "#pa_user-search", "priya", "Priya Product").await;
    click(&b, "form[action$='/admins'] button").await;
    wait_for_text(&b, ".flash.success", "Product Administrator added.").await;
    save_screenshot("product-admin", &b.screenshot().await.expect("screenshot"));
    click(&b, "button.link").await;
    wait_for_text(&b, ".flash.info", "You are logged out.").await;

    // Priya logs in, finds her product, and grants it to Nina.
    fill(&b, "#username", "priya").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    save_screenshot(
        "product-admin-dashboard",
        &b.screenshot().await.expect("screenshot"),
    );
    b.find(Locator::LinkText("Google Workspace → Gmail"))
        .await
        .expect("my product")
        .click()
        .await
        .expect("click");
    wait_for(&b, "#person").await;
    fill(&b, "#person", "nina@example.com").await;
    fill(&b, "#account_identifier", "nina@corp").await;
    click(&b, "form[action$='/grants'] button").await;
    wait_for_text(&b, ".flash.success", "Access granted.").await;
    let body = b.source().await.expect("source");
    assert!(body.contains("Nina New") && body.contains("nina@corp"));
    save_screenshot(
        "product-granted",
        &b.screenshot().await.expect("screenshot"),
    );
    b.goto(&format!("{base}/directory?q=nina"))
        .await
        .expect("open");
    b.find(Locator::LinkText("Nina New"))
        .await
        .expect("person")
        .click()
        .await
        .expect("click");
    wait_for(&b, "h1").await;
    save_screenshot("person", &b.screenshot().await.expect("screenshot"));
    assert!(b
        .source()
        .await
        .expect("source")
        .contains("Google Workspace → Gmail"));
    b.close().await.expect("close");
}

#[actix_web::test]
async fn an_admin_imports_people_from_a_csv_file_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let s = app.insert_service("Atlassian");
    let p = app.insert_product(s, "Jira", Some(2));
    for i in 0..3 {
        let id = app.insert_person(
            &format!("Existing {i}"),
            &format!("e{i}@example.com"),
            "Engineering",
        );
        app.insert_grant(id, p);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("people-bad.csv");
    std::fs::write(
        &bad,
        "full_name,email,department\nAnn Lee,ann@example.com,Sales\nBob,not-an-email,Sales\n",
    )
    .expect("write");
    let good = dir.path().join("people.csv");
    std::fs::write(&good, "full_name,email,department\nAnn Lee,ann@example.com,Sales\nBob Stone,bob@example.com,Sales\n").expect("write");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    save_screenshot(
        "admin-dashboard",
        &b.screenshot().await.expect("screenshot"),
    );

    b.goto(&format!("{base}/inventory")).await.expect("open");
    wait_for(&b, "table.table").await;
    save_screenshot("inventory", &b.screenshot().await.expect("screenshot"));
    b.goto(&format!("{base}/inventory/services/{s}"))
        .await
        .expect("open");
    wait_for(&b, "tr.over").await;
    save_screenshot("service", &b.screenshot().await.expect("screenshot"));

    b.find(Locator::LinkText("Import"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    wait_for(&b, "#people-file").await;
    b.find(Locator::Css("#people-file"))
        .await
        .expect("file")
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose file");
    click(&b, "form[action*='kind=people'] button").await;
    wait_for_text(&b, ".flash.error", "problem(s) found").await;
    assert!(b
        .source()
        .await
        .expect("source")
        .contains("Enter an email address"));
    save_screenshot("import-errors", &b.screenshot().await.expect("screenshot"));

    b.goto(&format!("{base}/imports")).await.expect("open");
    wait_for(&b, "#people-file").await;
    b.find(Locator::Css("#people-file"))
        .await
        .expect("file")
        .send_keys(&good.display().to_string())
        .await
        .expect("choose file");
    click(&b, "form[action*='kind=people'] button").await;
    wait_for_text(&b, "h2", "Dry run").await;
    let url = b.current_url().await.expect("url");
    assert!(!url.as_str().contains("csrf"), "{url}");
    click(&b, "form[action$='/commit'] button").await;
    wait_for_text(&b, ".flash.success", "2 created, 0 updated.").await;
    save_screenshot("import-done", &b.screenshot().await.expect("screenshot"));

    b.goto(&format!("{base}/directory?department=Sales"))
        .await
        .expect("open");
    wait_for(&b, "table.table").await;
    let body = b.source().await.expect("source");
    assert!(body.contains("Ann Lee") && body.contains("Bob Stone"));
    b.goto(&format!("{base}/directory")).await.expect("open");
    wait_for(&b, "table.table").await;
    save_screenshot("directory", &b.screenshot().await.expect("screenshot"));
    b.close().await.expect("close");
}

/// The attachment form sends its CSRF token in the multipart body: the browser uploads an
/// invoice, no URL it visited carries the token, and the file downloads as it was.
#[actix_web::test]
async fn an_admin_attaches_an_invoice_to_a_billing_record_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let s = app.insert_service("Zoom");
    let p = app.insert_product(s, "Zoom Business", None);
    let record = app.insert_billing(p, "annual", "100", "USD", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("invoice-march.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n% March invoice\n").expect("write");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;

    b.goto(&format!("{base}/payments/{record}"))
        .await
        .expect("open");
    wait_for(&b, "#file").await;
    b.find(Locator::Css("#file"))
        .await
        .expect("file")
        .send_keys(&pdf.display().to_string())
        .await
        .expect("choose file");
    let form = wait_for(&b, "form[enctype='multipart/form-data']").await;
    let action = form
        .attr("action")
        .await
        .expect("action")
        .unwrap_or_default();
    assert_eq!(action, format!("/payments/{record}/attachments"));
    click(&b, "form[enctype='multipart/form-data'] button").await;
    wait_for_text(&b, ".flash", "File attached.").await;
    let url = b.current_url().await.expect("url");
    assert_eq!(url.path(), format!("/payments/{record}"));
    assert!(url.query().is_none(), "{url}");
    let link = wait_for(&b, "a[href^='/attachments/']").await;
    assert_eq!(link.text().await.expect("text"), "invoice-march.pdf");
    assert_eq!(app.count("attachments"), 1);
    save_screenshot("attachment", &b.screenshot().await.expect("screenshot"));
    b.close().await.expect("close");
}

#[actix_web::test]
async fn the_printed_register_has_every_row_repeated_headers_and_totals() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let s = app.insert_service("Printing Co");
    for i in 0..45 {
        let p = app.insert_product(s, &format!("Product {i:02}"), None);
        app.insert_billing(
            p,
            "monthly",
            "10.10",
            "EUR",
            Some(("Visa", "4242", 12, 2030)),
        );
    }
    let usd = app.insert_product(app.insert_service("Dollar Inc"), "Dollar product", None);
    app.insert_billing(usd, "annual", "99", "USD", None);
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    b.goto(&format!("{base}/payments")).await.expect("open");
    wait_for(&b, "table.register").await;
    save_screenshot("register", &b.screenshot().await.expect("screenshot"));
    b.goto(&format!("{base}/payments/print?currency=EUR"))
        .await
        .expect("open");
    wait_for(&b, "table.print-table").await;
    let config = fantoccini::wd::PrintConfiguration::builder()
        .build()
        .expect("print configuration");
    let pdf = b.print(config).await.expect("print to PDF");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("register.pdf");
    std::fs::write(&path, &pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    for i in 0..45 {
        assert!(
            text.contains(&format!("Product {i:02}")),
            "row {i} missing from the PDF:\n{text}"
        );
    }
    assert!(
        !text.contains("Dollar product"),
        "the currency filter applies to the printed register"
    );
    assert!(text.contains("Generated") && text.contains("by root Example"));
    assert!(text.contains("Currency: EUR"));
    assert!(
        text.contains("5,454.00 EUR"),
        "yearly total: 45 × 10.10 × 12"
    );
    assert!(
        !text.contains("Log out") && !text.contains("Back to the register"),
        "no navigation on paper"
    );
    let table_pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| p.contains("Printing Co"))
        .collect();
    assert!(table_pages.len() >= 2, "45 rows take more than one page");
    for (n, page) in table_pages.iter().enumerate() {
        assert!(
            page.contains("Reference"),
            "page {} repeats the table header",
            n + 1
        );
    }
    b.close().await.expect("close");
}

#[actix_web::test]
async fn an_offboarding_is_completed_by_each_products_administrator_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let leaver = app.insert_person("Lena Leaver", "lena@example.com", "Sales");
    let mut admins = Vec::new();
    for (i, (service, product)) in [
        ("Google Workspace", "Gmail"),
        ("Atlassian", "Jira"),
        ("Slack", "Slack Pro"),
    ]
    .iter()
    .enumerate()
    {
        let p = app.insert_product(app.insert_service(service), product, None);
        app.insert_grant(leaver, p);
        let admin = format!("admin{i}");
        app.create_user(&admin, PASSWORD, "product_admin");
        app.make_product_admin(&admin, p);
        admins.push(admin);
        if i == 0 {
            // Lena owns Gmail's billing record: a handover for the Admins.
            use diesel::prelude::*;
            use portalops::db::schema::billing_records;
            let r = app.insert_billing(p, "monthly", "60", "EUR", None);
            diesel::update(billing_records::table.find(r))
                .set(billing_records::billing_owner_id.eq(leaver))
                .execute(&mut app.conn())
                .expect("owner");
        }
    }
    app.insert_person("Omar Owner", "omar@example.com", "Finance");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    let login_as = |user: String| {
        let b = b.clone();
        async move {
            b.goto(&format!("{base}/login")).await.expect("open");
            fill(&b, "#username", &user).await;
            fill(&b, "#password", PASSWORD).await;
            click(&b, "button.primary").await;
            wait_for(&b, "h1.welcome").await;
        }
    };
    login_as("root".into()).await;
    b.goto(&format!("{base}/workflows/offboard"))
        .await
        .expect("open");
    fill(&b, "#email", "lena@example.com").await;
    // A date input takes what a person types in the browser's locale (en-US: mm dd yyyy).
    fill(&b, "#last_day", "06302030").await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "Offboarding started.").await;
    let workflow_url = b.current_url().await.expect("url").to_string();
    assert!(
        b.source().await.expect("source").contains("2030-06-30"),
        "the date typed is the date stored"
    );
    save_screenshot("offboarding", &b.screenshot().await.expect("screenshot"));
    b.execute(
        "document.getElementById('handovers').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll");
    save_screenshot("handover-open", &b.screenshot().await.expect("screenshot"));
    fill(
        &b,
        "form[action^='/handovers/'] input[name=email]",
        "omar@example.com",
    )
    .await;
    click(&b, "form[action^='/handovers/'] button").await;
    wait_for_text(&b, ".flash.success", "Handed over.").await;
    assert!(b
        .source()
        .await
        .expect("source")
        .contains("handed over to Omar Owner"));
    b.execute(
        "document.getElementById('handovers').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll");
    save_screenshot("handover", &b.screenshot().await.expect("screenshot"));
    click(&b, "button.link").await;
    wait_for_text(&b, ".flash.info", "You are logged out.").await;

    for admin in &admins {
        login_as(admin.clone()).await;
        b.find(Locator::LinkText("My tasks"))
            .await
            .expect("nav")
            .click()
            .await
            .expect("click");
        wait_for_text(&b, "h1", "My tasks").await;
        b.find(Locator::Css("a[href^='/tasks/']"))
            .await
            .expect("my task")
            .click()
            .await
            .expect("click");
        wait_for(&b, "form[action$='/complete'] button").await;
        fill(&b, "#note", "account closed").await;
        click(&b, "form[action$='/complete'] button").await;
        wait_for_text(&b, ".flash.success", "Task done.").await;
        assert!(b.source().await.expect("source").contains("Nothing to do."));
        click(&b, "button.link").await;
        wait_for_text(&b, ".flash.info", "You are logged out.").await;
    }

    login_as("root".into()).await;
    b.goto(&workflow_url).await.expect("open");
    wait_for_text(&b, "h1", "completed").await;
    b.goto(&format!("{workflow_url}/report"))
        .await
        .expect("open");
    wait_for(&b, "table.print-table").await;
    let report = b.source().await.expect("source");
    for p in ["Gmail", "Jira", "Slack Pro"] {
        assert!(report.contains(p), "{p}");
    }
    assert_eq!(
        report.matches("account closed").count(),
        3,
        "three revocations with their note"
    );
    assert!(!report.contains("STILL ACTIVE") && !report.contains("STILL OPEN"));
    assert!(report.contains("Billing owner of Google Workspace → Gmail"));
    save_screenshot(
        "offboarding-report",
        &b.screenshot().await.expect("screenshot"),
    );
    b.goto(&format!("{base}/directory/{leaver}"))
        .await
        .expect("open");
    wait_for(&b, "h1").await;
    let person = b.source().await.expect("source");
    assert!(person.contains("offboarded") && person.contains("No active access."));
    b.close().await.expect("close");
}

#[actix_web::test]
async fn an_admin_follows_a_cancellation_deadline_from_the_calendar_and_prints_the_month() {
    use diesel::prelude::*;
    use portalops::db::schema::billing_records;
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let p = app.insert_product(app.insert_service("Salesforce"), "Sales Cloud", Some(20));
    let id = app.insert_billing(p, "annual", "12000", "EUR", None);
    let today = app.state.clock.today();
    diesel::update(billing_records::table.find(id))
        .set((
            billing_records::next_renewal_on.eq(today.checked_add_months(chrono::Months::new(1))),
            billing_records::auto_renew.eq(true),
            billing_records::notice_value.eq(Some(1)),
            billing_records::notice_unit.eq(Some("months")),
            billing_records::cancellation_deadline.eq(Some(today)),
        ))
        .execute(&mut app.conn())
        .expect("deadline today");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    let dash = b.source().await.expect("source");
    assert!(
        dash.contains("cancel by <strong>"),
        "the deadline is on the dashboard"
    );
    save_screenshot(
        "dashboard-deadline",
        &b.screenshot().await.expect("screenshot"),
    );
    b.goto(&format!("{base}/payments")).await.expect("open");
    b.find(Locator::LinkText("Calendar"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for(&b, "table.calendar").await;
    save_screenshot("calendar", &b.screenshot().await.expect("screenshot"));
    let config = fantoccini::wd::PrintConfiguration::builder()
        .build()
        .expect("print configuration");
    let pdf = b.print(config).await.expect("print to PDF");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/calendar.pdf");
    std::fs::write(&path, &pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Renewal calendar") && text.contains("Last day to cancel"),
        "{text}"
    );
    assert!(!text.contains("Log out"), "no navigation on paper");

    click(&b, "a.ev.deadline").await;
    wait_for_text(&b, "h1", "Salesforce → Sales Cloud").await;
    let body = b.source().await.expect("source");
    assert!(body.contains("Last day to cancel") && body.contains(&today.to_string()));

    // From the register to the savings page: 20 seats bought, none assigned.
    b.goto(&format!("{base}/payments")).await.expect("open");
    b.find(Locator::LinkText("Savings"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for_text(&b, "h1", "Unused seats and savings").await;
    let savings = b.source().await.expect("source");
    assert!(
        savings.contains("12,000.00 EUR"),
        "all 20 seats unused: {savings}"
    );
    save_screenshot("savings", &b.screenshot().await.expect("screenshot"));
    b.close().await.expect("close");
}

/// The API reference is a readable page, reached from every page's footer: sections per
/// tag, each operation with its responses, and schema links that land on the schema.
#[actix_web::test]
async fn the_api_reference_is_reached_from_the_footer_and_its_links_work() {
    let app = TestApp::spawn().await;
    let (b, _driver) = browser().await;
    b.goto(&format!("{}/login", app.base_url))
        .await
        .expect("open");
    click(&b, "footer a[href='/api/v1/docs']").await;
    let h1 = wait_for(&b, "h1").await;
    assert!(h1.text().await.expect("text").starts_with("PortalOps API"));
    save_screenshot("api-reference", &b.screenshot().await.expect("screenshot"));

    click(&b, "a[href='#tag-billing']").await;
    let op = wait_for(&b, "#op-create_billing_record").await;
    let text = op.text().await.expect("text");
    assert!(text.contains("/api/v1/billing-records"), "{text}");
    assert!(text.contains("422"), "{text}");
    click(
        &b,
        "#op-create_billing_record a[href='#schema-BillingInput']",
    )
    .await;
    let schema = wait_for(&b, "#schema-BillingInput").await;
    let text = schema.text().await.expect("text");
    assert!(
        text.contains("card_last4") && text.contains("required"),
        "{text}"
    );
    assert_eq!(
        b.current_url().await.expect("url").fragment(),
        Some("schema-BillingInput")
    );
    save_screenshot(
        "api-reference-schema",
        &b.screenshot().await.expect("screenshot"),
    );

    click(&b, "a[href='/api/v1/openapi.json']").await;
    let body = wait_for(&b, "body").await.text().await.expect("json");
    assert!(
        body.contains("\"openapi\": \"3.1.0\""),
        "{}",
        &body[..body.len().min(200)]
    );
    b.close().await.expect("close");
}

#[actix_web::test]
async fn sso_first_login_through_the_providers_page_in_a_real_browser() {
    let (app, _op) = crate::sso::setup(
        &[("PORTALOPS_OIDC_BUTTON_LABEL", "Sign in with Example ID")],
        &[crate::common::oidc::account(
            "sub-paula",
            "paula@example.com",
            true,
            &[],
        )],
    )
    .await;
    crate::sso::sso_only_person(&app, "paula", "paula@example.com", "admin");
    let (b, _driver) = browser().await;

    b.goto(&format!("{}/login", app.base_url))
        .await
        .expect("open");
    let button = wait_for(&b, "#sso-login").await;
    assert_eq!(
        button.text().await.expect("text"),
        "Sign in with Example ID"
    );
    save_screenshot("login-sso", &b.screenshot().await.expect("screenshot"));
    b.set_window_size(390, 844).await.expect("narrow");
    save_screenshot("login-sso-390", &b.screenshot().await.expect("screenshot"));
    b.set_window_size(1280, 900).await.expect("wide");

    // The provider's own sign-in page (oidc-provider's development page: any password).
    click(&b, "#sso-login").await;
    wait_for(&b, "input[name=login]").await;
    fill(&b, "input[name=login]", "sub-paula").await;
    fill(&b, "input[name=password]", "anything").await;
    click(&b, "button.login-submit").await;

    // Back on PortalOps, logged in as the directory person with that verified email.
    wait_for_text(&b, "body", "paula Example").await;
    let url = b.current_url().await.expect("url");
    assert_eq!(url.as_str(), format!("{}/", app.base_url));
    save_screenshot("sso-dashboard", &b.screenshot().await.expect("screenshot"));
    let linked: i64 = {
        use diesel::prelude::*;
        portalops::db::schema::identity_links::table
            .count()
            .get_result(&mut app.conn())
            .expect("links")
    };
    assert_eq!(linked, 1);
    b.close().await.expect("close");
}

/// Invitation → set password → enrol TOTP → log out → log in with password and code →
/// recovery code (issue #17's journey). An Admin gives a colleague a login without a
/// password; the invitation's link (from the real SMTP message) opens the set-password
/// page, at desktop and phone sizes; the colleague chooses a password, logs in, sets up
/// two-factor, and logs in again with a code, then with a recovery code.
#[actix_web::test]
async fn an_invited_colleague_sets_a_password_and_two_factor_then_logs_in_with_a_code_and_a_recovery_code_in_a_real_browser(
) {
    let crate::invitations::Mailed { app, inbox } = crate::invitations::app_with_smtp().await;
    app.create_user("root", PASSWORD, "admin");
    let (b, _driver) = browser().await;
    let base = &app.base_url;

    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    b.goto(&format!("{base}/directory/new"))
        .await
        .expect("open");
    wait_for(&b, "#full_name").await;
    fill(&b, "#full_name", "Ivy Invited").await;
    fill(&b, "#email", "ivy@example.com").await;
    fill(&b, "#department", "Finance").await;
    choose(&b, "#role", "Service Administrator").await;
    fill(&b, "#username", "ivy").await;
    click(&b, "form button.primary").await;
    wait_for_text(
        &b,
        ".flash.success",
        "An invitation to choose a password was emailed.",
    )
    .await;
    wait_for_text(&b, "#login-state", "invited on").await;
    save_screenshot("person-invited", &b.screenshot().await.expect("screenshot"));
    click(&b, "button.link").await;
    wait_for_text(&b, ".flash.info", "You are logged out.").await;

    assert_eq!(
        crate::invitations::deliver(&app).await,
        "1 sent, 0 to retry, 0 failed"
    );
    let link = crate::invitations::link_in(&inbox.to("ivy@example.com")[0]);
    b.goto(&format!("{base}{link}"))
        .await
        .expect("open the link");
    wait_for_text(&b, "h1", "Choose your password").await;
    save_screenshot("set-password", &b.screenshot().await.expect("screenshot"));
    b.set_window_size(390, 844).await.expect("phone size");
    save_screenshot(
        "set-password-phone",
        &b.screenshot().await.expect("screenshot"),
    );
    b.set_window_size(1280, 900).await.expect("desktop size");
    fill(&b, "#password", "short").await;
    fill(&b, "#password_confirm", "short").await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, "#password-error", "at least 12").await;
    let chosen = "violet ledger sunrise 58";
    fill(&b, "#password", chosen).await;
    fill(&b, "#password_confirm", chosen).await;
    click(&b, "form button.primary").await;
    wait_for_text(&b, ".flash.success", "Password set — log in").await;
    assert_eq!(b.current_url().await.expect("url").path(), "/login");

    fill(&b, "#username", "ivy").await;
    fill(&b, "#password", chosen).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    save_screenshot(
        "invited-dashboard",
        &b.screenshot().await.expect("screenshot"),
    );
    // The link was used: opening it again says so.
    b.goto(&format!("{base}{link}")).await.expect("open again");
    wait_for_text(&b, "h1", "This link was already used").await;
    save_screenshot("link-used", &b.screenshot().await.expect("screenshot"));

    // Two-factor: set up from My account (the secret read off the page, the code computed
    // here as a phone would), log out, log in with the password and a code, log out, and
    // log in with the password and a recovery code.
    let code_at = |secret: &str, offset: i64| {
        let bytes = totp_rs::Secret::Encoded(secret.to_string())
            .to_bytes()
            .expect("base32");
        let t = portalops::clock::now().timestamp() + offset;
        totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes).generate(t as u64)
    };
    b.goto(&format!("{base}/account")).await.expect("open");
    b.find(Locator::LinkText("Two-factor login"))
        .await
        .expect("the link on the profile")
        .click()
        .await
        .expect("click");
    wait_for_text(&b, "main h2", "Off").await;
    click(&b, "form[action='/account/two-factor/start'] button").await;
    let qr = wait_for(&b, ".qr-box svg").await;
    assert_eq!(qr.attr("role").await.expect("attr").as_deref(), Some("img"));
    let secret = wait_for(&b, "#totp-secret")
        .await
        .text()
        .await
        .expect("text")
        .replace(' ', "");
    assert!(secret.len() >= 32, "{secret}");
    save_screenshot("two-factor-qr", &b.screenshot().await.expect("screenshot"));
    b.set_window_size(390, 844).await.expect("phone window");
    save_screenshot(
        "two-factor-qr-phone",
        &b.screenshot().await.expect("screenshot"),
    );
    b.set_window_size(1280, 900).await.expect("window");
    fill(&b, "#code", "000000").await;
    click(&b, "form[action='/account/two-factor/confirm'] button").await;
    wait_for(&b, "#code-error").await;
    fill(&b, "#code", &code_at(&secret, 0)).await;
    click(&b, "form[action='/account/two-factor/confirm'] button").await;
    wait_for(&b, "#recovery-codes").await;
    let mut recovery = Vec::new();
    for c in b
        .find_all(Locator::Css(".recovery-codes code"))
        .await
        .expect("codes")
    {
        recovery.push(c.text().await.expect("code text"));
    }
    assert_eq!(recovery.len(), 10);
    save_screenshot(
        "two-factor-recovery-codes",
        &b.screenshot().await.expect("screenshot"),
    );

    click(&b, "button.link").await;
    wait_for_text(&b, ".flash.info", "You are logged out.").await;
    fill(&b, "#username", "ivy").await;
    fill(&b, "#password", chosen).await;
    click(&b, "button[type=submit].primary").await;
    wait_for_text(&b, "h1", "Two-factor login").await;
    assert_eq!(
        b.current_url().await.expect("url").path(),
        "/login/two-factor"
    );
    save_screenshot("login-code", &b.screenshot().await.expect("screenshot"));
    // The set-up used the current step's code: the next step's is good now (one ahead).
    fill(&b, "#code", &code_at(&secret, 30)).await;
    click(&b, "button[type=submit].primary").await;
    wait_for(&b, "h1.welcome").await;

    click(&b, "button.link").await;
    wait_for_text(&b, ".flash.info", "You are logged out.").await;
    fill(&b, "#username", "ivy").await;
    fill(&b, "#password", chosen).await;
    click(&b, "button[type=submit].primary").await;
    wait_for_text(&b, "h1", "Two-factor login").await;
    fill(&b, "#code", &recovery[0]).await;
    click(&b, "button[type=submit].primary").await;
    let h1 = wait_for(&b, "h1.welcome").await;
    assert!(
        h1.text().await.expect("text").contains("Ivy Invited"),
        "logged in with a recovery code"
    );
    b.close().await.expect("close");
}

#[actix_web::test]
async fn a_product_administrator_makes_copies_and_revokes_an_api_token_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("pat", PASSWORD, "product_admin");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "pat").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    b.goto(&format!("{base}/account")).await.expect("open");
    click(&b, "a[href='/account/tokens']").await;
    wait_for(&b, "#name").await;

    // No scope chosen: the message by the scopes, the name kept.
    fill(&b, "#name", "invoice sync").await;
    click(&b, "form[action='/account/tokens'] button.primary").await;
    wait_for_text(&b, "#scopes-error", "Choose at least one scope.").await;
    let kept = b
        .find(Locator::Css("#name"))
        .await
        .expect("name")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("invoice sync"));

    choose(&b, "#scope_billing", "Read").await;
    click(&b, "form[action='/account/tokens'] button.primary").await;
    let shown = wait_for(&b, "code.new-token").await;
    let secret = shown.text().await.expect("secret");
    assert!(secret.starts_with("po_"), "{secret}");
    save_screenshot("api-token", &b.screenshot().await.expect("screenshot"));
    let api = app.client();
    assert_eq!(
        api.api("GET", "/api/v1/billing-records", Some(&secret), None)
            .await
            .status,
        200
    );

    // Shown once: the list names it by prefix only; revoked from there, it stops at once.
    b.goto(&format!("{base}/account/tokens"))
        .await
        .expect("open");
    wait_for_text(&b, "table", "invoice sync").await;
    assert!(!b.source().await.expect("source").contains(&secret));
    click(&b, "form[action$='/revoke'] button").await;
    wait_for_text(&b, ".flash", "API token revoked").await;
    assert_eq!(
        api.api("GET", "/api/v1/billing-records", Some(&secret), None)
            .await
            .status,
        401
    );
    b.close().await.expect("close");
}

#[actix_web::test]
async fn an_admin_makes_a_service_account_and_its_token_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("ops", PASSWORD, "admin");
    let figma = app.insert_service("Figma");
    app.insert_product(figma, "Editor", None);
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "ops").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;
    b.goto(&format!("{base}/settings")).await.expect("open");
    click(&b, "a[href='/settings/service-accounts']").await;
    wait_for(&b, "#name").await;

    // A Service Administrator account without a service: both messages, the text kept.
    fill(&b, "#description", "Runs in the sync cron job").await;
    choose(&b, "#role", "Service Administrator").await;
    click(
        &b,
        "form[action='/settings/service-accounts'] button.primary",
    )
    .await;
    wait_for_text(
        &b,
        "#services-error",
        "Choose at least one service it runs.",
    )
    .await;
    wait_for(&b, "#name-error").await;
    let kept = b
        .find(Locator::Css("#description"))
        .await
        .expect("description")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("Runs in the sync cron job"));
    save_screenshot(
        "service-account-errors",
        &b.screenshot().await.expect("screenshot"),
    );

    fill(&b, "#name", "figma sync").await;
    choose(&b, "#services", "Figma").await;
    click(
        &b,
        "form[action='/settings/service-accounts'] button.primary",
    )
    .await;
    wait_for_text(&b, ".flash", "Service account made").await;
    choose(&b, "#scope_people", "Read and write").await;
    fill(&b, "#name", "nightly").await;
    click(&b, "form[action$='/tokens'] button.primary").await;
    let secret = wait_for(&b, "code.new-token")
        .await
        .text()
        .await
        .expect("secret");
    assert!(secret.starts_with("po_"), "{secret}");
    save_screenshot(
        "service-account",
        &b.screenshot().await.expect("screenshot"),
    );
    let me = app
        .client()
        .api("GET", "/api/v1/me", Some(&secret), None)
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(me.body.contains("\"kind\":\"service\""), "{}", me.body);

    b.set_window_size(390, 844).await.expect("phone size");
    b.goto(&format!("{base}/settings/service-accounts"))
        .await
        .expect("open");
    wait_for_text(&b, "table", "figma sync").await;
    save_screenshot(
        "service-accounts-phone",
        &b.screenshot().await.expect("screenshot"),
    );
    b.close().await.expect("close");
}

/// Access at company scale in a real browser: twenty people granted at once from a product
/// page through the picker (a name typed in either order), a colleague's access copied, a
/// grants CSV with a bad row then a good file, and a revocation confirmed on its own page.
#[actix_web::test]
async fn access_at_company_scale_in_a_real_browser() {
    let app = TestApp::spawn().await;
    app.create_user("root", PASSWORD, "admin");
    let github = app.insert_product(app.insert_service("GitHub"), "Enterprise", Some(30));
    let slack = app.insert_product(app.insert_service("Slack"), "Pro", None);
    let figma = app.insert_product(app.insert_service("Figma"), "Professional", None);
    let ada = app.insert_person("Ada Chen", "ada@example.com", "Engineering");
    let bob = app.insert_person("Bob Stone", "bob@example.com", "Engineering");
    app.insert_grant(bob, github);
    app.insert_grant(bob, figma);
    for i in 1..=19 {
        app.insert_person(
            &format!("Person {i:02}"),
            &format!("p{i:02}@example.com"),
            "Engineering",
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("grants-bad.csv");
    std::fs::write(
        &bad,
        "email,service,product,granted_on\np01@example.com,Slack,Pro,2025-01-15\nnobody@example.com,Slack,Pro,\n",
    )
    .expect("write");
    let good = dir.path().join("grants.csv");
    std::fs::write(
        &good,
        "email,service,product,granted_on\np01@example.com,Slack,Pro,2025-01-15\np02@example.com,Slack,Pro,\n",
    )
    .expect("write");
    let (b, _driver) = browser().await;
    let base = &app.base_url;
    b.goto(&format!("{base}/login")).await.expect("open");
    fill(&b, "#username", "root").await;
    fill(&b, "#password", PASSWORD).await;
    click(&b, "button.primary").await;
    wait_for(&b, "h1.welcome").await;

    // Twenty people for GitHub, each found by the picker over the list.
    b.goto(&format!("{base}/inventory/products/{github}"))
        .await
        .expect("open");
    b.find(Locator::LinkText("Grant to many people at once…"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    wait_for(&b, "#people-search").await;
    fill(&b, "#people-search", "person 1").await;
    wait_for_text(&b, ".picker-list", "Person 19").await;
    save_screenshot("picker-open", &b.screenshot().await.expect("screenshot"));
    pick(&b, "#people-search", "Chen Ada", "Ada Chen").await;
    for i in 1..=19 {
        pick(
            &b,
            "#people-search",
            &format!("p{i:02}@"),
            &format!("Person {i:02}"),
        )
        .await;
    }
    let listed = b
        .find(Locator::Css("#people"))
        .await
        .expect("list")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(listed.lines().count(), 20, "{listed}");
    assert!(listed.starts_with("ada@example.com\n"));
    save_screenshot(
        "bulk-grant-picked",
        &b.screenshot().await.expect("screenshot"),
    );
    click(&b, "button[value='preview']").await;
    wait_for_text(&b, "#preview h2", "Preview: 20 to grant").await;
    save_screenshot(
        "bulk-grant-preview",
        &b.screenshot().await.expect("screenshot"),
    );
    click(&b, "button[value='confirm']").await;
    wait_for_text(&b, ".flash.success", "Access granted to 20 people.").await;

    // Ada gets Bob's access (GitHub she now has; Figma is added) and Slack, chosen by search.
    b.goto(&format!("{base}/directory/{ada}"))
        .await
        .expect("open");
    wait_for(&b, "a[href$='/grants/bulk']").await;
    click(&b, "a[href$='/grants/bulk']").await;
    wait_for(&b, "#product-search").await;
    pick(&b, "#product-search", "slack", "Slack → Pro").await;
    wait_for_text(&b, ".picker-chips", "Slack → Pro").await;
    pick(&b, "#colleague", "Stone", "Bob Stone").await;
    save_screenshot(
        "copy-access-form",
        &b.screenshot().await.expect("screenshot"),
    );
    click(&b, "button[value='preview']").await;
    wait_for_text(&b, "#preview h2", "Preview: 2 to add, 1 already held").await;
    let body = b.source().await.expect("source");
    assert!(body.contains("Copying the access of") && body.contains("Figma → Professional"));
    save_screenshot(
        "copy-access-preview",
        &b.screenshot().await.expect("screenshot"),
    );
    b.set_window_size(390, 844).await.expect("phone");
    save_screenshot(
        "copy-access-phone",
        &b.screenshot().await.expect("screenshot"),
    );
    b.set_window_size(1280, 900).await.expect("desktop");
    click(&b, "button[value='confirm']").await;
    wait_for_text(&b, ".flash.success", "Access granted to 2 products.").await;
    let _ = slack;

    // A grants CSV: the bad row named, nothing written; then the good file.
    b.goto(&format!("{base}/imports")).await.expect("open");
    wait_for(&b, "#grants-file").await;
    b.find(Locator::Css("#grants-file"))
        .await
        .expect("file")
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose file");
    click(&b, "form[action*='kind=grants'] button").await;
    wait_for_text(&b, ".flash.error", "problem(s) found").await;
    assert!(b
        .source()
        .await
        .expect("source")
        .contains("nobody in the directory has this email address"));
    save_screenshot(
        "grants-import-errors",
        &b.screenshot().await.expect("screenshot"),
    );
    b.goto(&format!("{base}/imports")).await.expect("open");
    wait_for(&b, "#grants-file").await;
    b.find(Locator::Css("#grants-file"))
        .await
        .expect("file")
        .send_keys(&good.display().to_string())
        .await
        .expect("choose file");
    click(&b, "form[action*='kind=grants'] button").await;
    wait_for_text(&b, "h2", "Dry run").await;
    click(&b, "form[action$='/commit'] button").await;
    wait_for_text(&b, ".flash.success", "2 grants made.").await;

    // Two of GitHub's holders revoked with one reason, after the confirming page.
    b.goto(&format!("{base}/inventory/products/{github}"))
        .await
        .expect("open");
    let boxes = b
        .find_all(Locator::Css("input[name='grant'][form='bulk-revoke']"))
        .await
        .expect("checkboxes");
    assert!(boxes.len() >= 21, "{} holders listed", boxes.len());
    for cb in boxes.iter().take(2) {
        cb.click().await.expect("tick");
    }
    click(&b, "#bulk-revoke button").await;
    wait_for_text(&b, "form.bulk-form p", "This ends the access of 2 people").await;
    fill(&b, "#reason", "left the project").await;
    save_screenshot(
        "bulk-revoke-confirm",
        &b.screenshot().await.expect("screenshot"),
    );
    click(&b, "button[value='confirm']").await;
    wait_for_text(&b, ".flash.success", "Access revoked for 2 people.").await;
    b.close().await.expect("close");
}
