//! The payment register through its pages: masked cards, full card numbers refused
//! everywhere, exact totals across currencies and cycles, filters, attachments, the print
//! page and the CSV export.

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::schema::{attachments, billing_records};

const FULL_CARD: &str = "4111 1111 1111 1111";

fn record_fields(product: &str) -> Vec<(&str, &str)> {
    vec![
        ("product_id", product),
        ("reference", "ACME-123"),
        ("cycle", "annual"),
        ("amount", "1,200.00"),
        ("currency", "EUR"),
        ("next_renewal_on", "2027-01-31"),
        ("auto_renew", "on"),
        ("payment_method", "card"),
        ("card_brand", "Visa"),
        ("card_last4", "4242"),
        ("card_exp_month", "3"),
        ("card_exp_year", "2027"),
        ("cost_center", "Engineering"),
        ("status", "active"),
    ]
}

/// The text of every row of `table`, for "is this number stored anywhere" checks.
fn table_text(app: &TestApp, table: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    diesel::sql_query(format!(
        "SELECT coalesce(string_agg(row_to_json(x)::text, ' '), '') AS t FROM {table} x"
    ))
    .get_result::<T>(&mut app.conn())
    .expect("dump")
    .t
}

#[actix_web::test]
async fn a_card_is_stored_and_shown_only_masked() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None).to_string();
    let r = c
        .submit("/payments/new", "/payments", &record_fields(&p))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get(&r.location()).await;
    assert!(
        page.body.contains("Visa •••• 4242, exp 03/2027"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1,200.00 EUR"));
    let register = c.get("/payments").await;
    assert!(register.body.contains("Visa •••• 4242, exp 03/2027"));
    let csv = c.get("/payments/export.csv").await;
    assert!(csv.body.contains("Visa •••• 4242, exp 03/2027") && csv.body.contains("ACME-123"));
    let print = c.get("/payments/print").await;
    assert!(print.body.contains("Visa •••• 4242, exp 03/2027"));
    let audit = table_text(&app, "audit_log");
    assert!(
        audit.contains("Visa •••• 4242, exp 03/2027"),
        "the audit log shows the card masked"
    );
}

#[actix_web::test]
async fn a_full_card_number_is_refused_in_every_field_and_stored_nowhere() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None).to_string();
    for field in [
        "reference",
        "amount",
        "card_brand",
        "card_last4",
        "card_exp_month",
        "card_exp_year",
        "billing_owner_email",
        "cost_center",
        "notes",
        "next_renewal_on",
    ] {
        let mut fields = record_fields(&p);
        fields.retain(|(k, _)| *k != field);
        let typed = format!("see {FULL_CARD}");
        fields.push((field, &typed));
        let r = c.submit("/payments/new", "/payments", &fields).await;
        assert_eq!(r.status, 422, "{field}");
        assert!(
            r.body.contains("This looks like a full card number"),
            "{field}"
        );
        assert!(
            !r.body.contains("4111"),
            "{field}: the number is not shown back"
        );
    }
    assert_eq!(app.count("billing_records"), 0);
    // A record exists; its payment history refuses the number too.
    let id = app.insert_billing(s_product(&p), "monthly", "10", "EUR", None);
    let r = c
        .submit(
            &format!("/payments/{id}"),
            &format!("/payments/{id}/history"),
            &[
                ("paid_on", "2026-11-01"),
                ("amount", "10"),
                ("invoice_ref", FULL_CARD),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains("4111"));
    for table in ["billing_records", "payments", "audit_log"] {
        let text = table_text(&app, table);
        assert!(
            !text.contains("4111111111111111") && !text.contains("4111 1111"),
            "{table}"
        );
    }
}

fn s_product(p: &str) -> i64 {
    p.parse().expect("id")
}

#[actix_web::test]
async fn totals_are_exact_per_currency_and_cycle() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Mixed");
    let p = app.insert_product(s, "Everything", None);
    for _ in 0..3 {
        app.insert_billing(p, "monthly", "10.10", "EUR", None);
    }
    app.insert_billing(p, "annual", "1200", "EUR", None);
    app.insert_billing(p, "one_off", "50", "EUR", None);
    app.insert_billing(p, "quarterly", "100.01", "USD", None);
    app.insert_billing(p, "monthly", "1500", "JPY", None);
    let page = c.get("/payments").await;
    // EUR: 3 × 10.10 × 12 + 1,200 = 1,563.60 a year, 130.30 a month.
    for needle in [
        "1,563.60 EUR",
        "130.30 EUR",
        "30.30 EUR",
        "400.04 USD",
        "100.01 USD",
        "18,000 JPY",
        "1,500 JPY",
    ] {
        assert!(page.body.contains(needle), "{needle}");
    }
    let print = c.get("/payments/print?currency=EUR").await;
    assert!(print.body.contains("50.00 EUR"), "one-off total");
    assert!(
        !print.body.contains("USD"),
        "filters apply to the printed register"
    );
    let csv = c.get("/payments/export.csv?cycle=quarterly").await;
    assert!(csv.body.contains("100.01,USD,400.04"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 2);
}

#[actix_web::test]
async fn register_filters_find_renewals_and_expiring_cards() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Cards");
    let p = app.insert_product(s, "Card product", None);
    let soon = portalops::clock::now().date_naive();
    use chrono::Datelike as _;
    let expiring = app.insert_billing(
        p,
        "monthly",
        "5",
        "EUR",
        Some(("Visa", "1111", soon.month() as i16, soon.year() as i16)),
    );
    let later = app.insert_billing(p, "monthly", "6", "EUR", Some(("Amex", "0005", 12, 2035)));
    let cancelled = app.insert_billing(p, "monthly", "7", "USD", None);
    diesel::update(billing_records::table.find(cancelled))
        .set(billing_records::status.eq("cancelled"))
        .execute(&mut app.conn())
        .expect("cancel");
    diesel::update(billing_records::table.find(later))
        .set(
            billing_records::next_renewal_on
                .eq(portalops::clock::now().date_naive() + chrono::TimeDelta::days(200)),
        )
        .execute(&mut app.conn())
        .expect("later");
    let cards = c.get("/payments?card_expiring_within=60").await;
    assert!(cards.body.contains("•••• 1111"), "{}", cards.body);
    assert!(!cards.body.contains("•••• 0005"), "{}", cards.body);
    let renewing = c.get("/payments?renewing_within=30").await;
    assert!(
        renewing.body.contains(&format!("/payments/{expiring}\""))
            && !renewing.body.contains(&format!("/payments/{later}\""))
    );
    assert!(
        !c.get("/payments").await.body.contains("7.00 USD"),
        "cancelled records are hidden by default"
    );
    assert!(c
        .get("/payments?status=all")
        .await
        .body
        .contains("7.00 USD"));
    assert!(c
        .get("/payments?method=invoice&status=cancelled")
        .await
        .body
        .contains("7.00 USD"));
    let dash = c.get("/").await;
    assert!(
        dash.body.contains("Cards expiring"),
        "the dashboard shows what is coming up"
    );
    assert!(dash.body.contains("•••• 1111"));
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
}

#[actix_web::test]
async fn attachments_are_checked_stored_safely_and_served_only_in_scope() {
    let app = TestApp::spawn_with(&[("PORTALOPS_MAX_UPLOAD_MB", "1")]).await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Zoom");
    let p = app.insert_product(s, "Zoom Business", None);
    let id = app.insert_billing(p, "annual", "100", "USD", None);
    let page = format!("/payments/{id}");
    let token = c.get(&page).await.csrf_token().expect("token");
    let upload = |name: &'static str, data: Vec<u8>| {
        let c = c.clone();
        let (url, token) = (format!("/payments/{id}/attachments"), token.clone());
        async move { c.upload(&url, Some(&token), name, &data).await }
    };
    let ok = upload("../../etc/invoice March.pdf", pdf()).await;
    assert_eq!(ok.status, 303);
    let html_as_pdf = upload("evil.pdf", b"<html><script>alert(1)</script>".to_vec()).await;
    assert_eq!(html_as_pdf.status, 303);
    assert!(c.get(&page).await.body.contains("Only PDF, PNG and JPEG"));
    let svg = upload(
        "x.png",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
    )
    .await;
    assert_eq!(svg.status, 303);
    let big = upload("big.pdf", [pdf(), vec![b' '; 2 * 1024 * 1024]].concat()).await;
    assert_eq!(big.status, 413);
    assert_eq!(app.count("attachments"), 1);

    let (aid, stored, name): (i64, String, String) = attachments::table
        .select((
            attachments::id,
            attachments::stored_name,
            attachments::original_name,
        ))
        .first(&mut app.conn())
        .expect("attachment");
    assert_eq!(
        name, "invoice March.pdf",
        "only the last part of the name is kept, for display"
    );
    let files: Vec<String> = std::fs::read_dir(app.uploads.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        vec![stored.clone()],
        "stored under the generated name, inside the upload directory"
    );

    let dl = c.get(&format!("/attachments/{aid}")).await;
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body.as_bytes(), pdf().as_slice());
    assert!(dl
        .header("content-disposition")
        .expect("cd")
        .starts_with("attachment;"));
    assert_eq!(
        dl.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        dl.header("content-type").as_deref(),
        Some("application/pdf")
    );

    // Another scope's administrator cannot see it.
    let other = app.insert_product(app.insert_service("Other"), "Other", None);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", other);
    let pam = app.client();
    pam.login("pam", PASSWORD).await;
    assert_eq!(pam.get(&format!("/attachments/{aid}")).await.status, 404);
    assert_eq!(pam.get(&page).await.status, 404);

    let removed = c
        .submit(&page, &format!("/attachments/{aid}/remove"), &[])
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(
        c.get(&format!("/attachments/{aid}")).await.status,
        404,
        "not served after removal"
    );
    let actions = app.audit_actions();
    assert!(
        actions.contains(&"attachment.added".to_string())
            && actions.contains(&"attachment.removed".to_string())
    );
}

#[actix_web::test]
async fn administrators_see_only_their_products_records() {
    let app = TestApp::spawn().await;
    let s = app.insert_service("Google Workspace");
    let gmail = app.insert_product(s, "Gmail", None);
    let drive = app.insert_product(s, "Drive", None);
    let mine = app.insert_billing(gmail, "monthly", "11", "EUR", None);
    let theirs = app.insert_billing(drive, "monthly", "22", "EUR", None);
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    let c = app.client();
    c.login("pam", PASSWORD).await;
    let reg = c.get("/payments").await;
    assert!(reg.body.contains("11.00 EUR") && !reg.body.contains("22.00 EUR"));
    let dash = c.get("/").await;
    // 11 EUR a month is 132 EUR a year; Drive's 264 EUR is not pam's.
    assert!(
        dash.body.contains("132.00 EUR")
            && !dash.body.contains("264.00 EUR")
            && !dash.body.contains("396.00 EUR")
    );
    assert_eq!(c.get(&format!("/payments/{mine}")).await.status, 200);
    assert_eq!(c.get(&format!("/payments/{theirs}")).await.status, 404);
    assert_eq!(c.get(&format!("/payments/{theirs}/edit")).await.status, 404);
    let r = c
        .submit(
            "/payments/new",
            "/payments",
            &record_fields(&drive.to_string()),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "a product outside the scope cannot be chosen"
    );
    // By product, not by a bare "22": the renewal date (20 days from today) may hold it.
    let csv = c.get("/payments/export.csv").await.body;
    assert!(csv.contains(",Gmail,") && !csv.contains(",Drive,"), "{csv}");
    let r = c
        .submit(
            "/payments/new",
            "/payments",
            &record_fields(&gmail.to_string()),
        )
        .await;
    assert_eq!(r.status, 303);
}

#[actix_web::test]
async fn card_numbers_are_refused_in_the_other_forms_too() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let r = c
        .submit(
            "/inventory/services/new",
            "/inventory/services",
            &[
                ("name", "Stripe"),
                ("description", "card 4111-1111-1111-1111"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("full card number") && !r.body.contains("4111"));
    let s = app.insert_service("Slack");
    let p = app.insert_product(s, "Slack Pro", None);
    app.insert_person("Ann Lee", "ann@example.com", "Sales");
    let page = format!("/inventory/products/{p}");
    let r = c
        .submit(
            &page,
            &format!("{page}/grants"),
            &[("person", "ann@example.com"), ("note", FULL_CARD)],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains("4111"));
    let r = c
        .submit(
            "/directory/new",
            "/directory",
            &[
                ("full_name", "Bob"),
                ("email", "bob@example.com"),
                ("role", "user"),
                ("employment_status", "active"),
                ("job_title", FULL_CARD),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(!r.body.contains("4111"));
    for table in ["services", "access_grants", "users", "audit_log"] {
        assert!(!table_text(&app, table).contains("4111"), "{table}");
    }
}

#[actix_web::test]
async fn a_service_prints_its_own_register() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let a = app.insert_service("Alpha");
    let b = app.insert_service("Beta");
    app.insert_billing(
        app.insert_product(a, "A1", None),
        "monthly",
        "1.25",
        "EUR",
        None,
    );
    app.insert_billing(
        app.insert_product(b, "B1", None),
        "monthly",
        "9.75",
        "EUR",
        None,
    );
    let service = c.get(&format!("/inventory/services/{a}")).await;
    assert!(service
        .body
        .contains(&format!("/payments/print?service_id={a}")));
    let print = c.get(&format!("/payments/print?service_id={a}")).await;
    assert!(print.body.contains("Payment register: Alpha"));
    assert!(print.body.contains("Service: <strong>Alpha</strong>"));
    assert!(print.body.contains("Alpha → A1") && !print.body.contains("Beta → B1"));
    assert!(print.body.contains("15.00 EUR"), "1.25 × 12 a year");
    assert!(print.body.contains("Generated") && print.body.contains("by root Example"));
}

#[actix_web::test]
async fn totals_convert_to_the_reporting_currency_and_mark_missing_rates() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("root", "admin").await;
    let s = app.insert_service("Mixed");
    let p = app.insert_product(s, "Everything", None);
    app.insert_billing(p, "annual", "1000", "EUR", None);
    app.insert_billing(p, "quarterly", "100.01", "USD", None);
    app.insert_billing(p, "monthly", "1500", "JPY", None);
    assert_eq!(
        c.submit(
            "/settings/currency",
            "/settings/currency",
            &[("currency", "EUR")]
        )
        .await
        .status,
        303
    );
    let bad = c
        .submit(
            "/settings/currency",
            "/settings/currency/rates",
            &[("csv", "USD,-2,2026-01-01")],
        )
        .await;
    assert!(c
        .get(&bad.location())
        .await
        .body
        .contains("positive number"));
    let r = c
        .submit("/settings/currency", "/settings/currency/rates", &[("csv", "currency,rate,valid_from\nUSD,0.9000,2020-01-01\nUSD,0.9250,2026-01-01\nUSD,5,2199-01-01")])
        .await;
    assert_eq!(r.status, 303);
    let page = c.get("/payments").await;
    // 400.04 USD a year × 0.925 = 370.037 → 370.04 EUR; total 1,370.04 EUR; JPY has no rate.
    assert!(
        page.body.contains("In EUR (reporting currency)"),
        "{}",
        page.body
    );
    let rep = page
        .body
        .split("In EUR (reporting currency)")
        .nth(1)
        .expect("section")
        .split("</section>")
        .next()
        .expect("end");
    assert!(
        rep.contains("370.04 EUR") && rep.contains("0.925 (since 2026-01-01)"),
        "{rep}"
    );
    assert!(page.body.contains("1,370.04 EUR"));
    assert!(page.body.contains("without JPY: no rate"));
    let print = c.get("/payments/print").await;
    assert!(print.body.contains("1,370.04 EUR"));
    let dash = c.get("/").await;
    let spend = dash
        .body
        .split("What it costs a year")
        .nth(1)
        .expect("spend panel")
        .split("</section>")
        .next()
        .expect("end");
    assert!(spend.contains("<strong>1,370.04 EUR</strong>"), "{spend}");
    assert!(spend.contains("without JPY: no rate") && spend.contains("370.04 EUR"));
    assert!(app
        .audit_actions()
        .contains(&"settings.exchange_rates".to_string()));
}

#[actix_web::test]
async fn savings_prices_unused_seats_and_lists_leavers_first_within_scope() {
    let app = TestApp::spawn().await;
    let admin = app.logged_in("root", "admin").await;
    let slack = app.insert_service("Slack");
    let pro = app.insert_product(slack, "Pro", Some(10));
    // 100 EUR a month = 1,200 EUR a year for 10 seats; 3 assigned → 7 unused = 840.00 EUR.
    app.insert_billing(pro, "monthly", "100.00", "EUR", None);
    let figma = app.insert_service("Figma");
    let editor = app.insert_product(figma, "Editor", Some(5));
    let ann = app.insert_person("Ann Early", "ann@example.com", "Sales");
    let bob = app.insert_person("Bob Late", "bob@example.com", "Sales");
    let zed = app.insert_person("Zed Gone", "zed@example.com", "Ops");
    for p in [ann, bob, zed] {
        app.insert_grant(p, pro);
    }
    app.insert_grant(ann, editor);
    diesel::sql_query(format!(
        "UPDATE users SET employment_status = 'offboarded' WHERE id = {zed}"
    ))
    .execute(&mut app.conn())
    .expect("offboard");

    let page = admin.get("/payments/savings").await;
    assert_eq!(page.status, 200);
    let seats = page
        .body
        .split("Grants most likely unused")
        .next()
        .expect("seats");
    let pro_row = seats
        .split("Slack → Pro")
        .nth(1)
        .expect("pro row")
        .split("</tr>")
        .next()
        .expect("row");
    assert!(
        pro_row.contains(">30%<") && pro_row.contains(">7<") && pro_row.contains("840.00 EUR"),
        "{pro_row}"
    );
    assert!(seats.contains("Figma → Editor") && seats.contains("no billing record"));
    let grants = page
        .body
        .split("Grants most likely unused")
        .nth(1)
        .expect("grants");
    let zed_at = grants.find("Zed Gone").expect("zed listed");
    let ann_at = grants.find("Ann Early").expect("ann listed");
    assert!(zed_at < ann_at, "the offboarded person comes first");

    app.create_user("sam", PASSWORD, "service_admin");
    app.make_service_admin("sam", figma);
    let sam = app.client();
    assert_eq!(sam.login("sam", PASSWORD).await.status, 303);
    let scoped = sam.get("/payments/savings").await;
    assert_eq!(scoped.status, 200);
    assert!(scoped.body.contains("Figma → Editor"));
    assert!(!scoped.body.contains("Slack → Pro") && !scoped.body.contains("Zed Gone"));
}
