//! The authorization matrix: every inventory and directory route × every kind of actor
//! → the expected status. Out-of-scope objects answer 404; in scope but not allowed, 403;
//! anonymous requests go to the login page (303).

use crate::common::{Client, TestApp, PASSWORD};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    SaIn,
    SaOut,
    PaIn,
    PaOut,
    Anon,
}

const ACTORS: [Who; 6] = [
    Who::Admin,
    Who::SaIn,
    Who::SaOut,
    Who::PaIn,
    Who::PaOut,
    Who::Anon,
];

struct Fixture {
    /// An onboarding of Pat with one grant task on Gmail (pa_in's product).
    w1: i64,
    t1: i64,
    /// A handover on w1 (refused for the unknown email the row sends: nothing changes).
    h1: i64,
    b1: i64,
    a1: i64,
    /// One attachment per actor, for the remove route (each actor removes its own).
    removable: std::collections::HashMap<String, i64>,
    s1: i64,
    p1: i64,
    p2: i64,
    person: i64,
    g1: i64,
}

fn setup(app: &TestApp) -> Fixture {
    let s1 = app.insert_service("Google Workspace");
    let s2 = app.insert_service("Atlassian");
    let s3 = app.insert_service("Slack");
    let p1 = app.insert_product(s1, "Gmail", Some(10));
    let p2 = app.insert_product(s2, "Jira", None);
    let p3 = app.insert_product(s3, "Slack Enterprise", None);
    let person = app.insert_person("Pat Person", "pat@example.com", "Engineering");
    app.insert_grant(person, p1);
    let leaver = app.insert_person("Lee Leaver", "lee@example.com", "Sales");
    let g1 = app.insert_grant(leaver, p1);
    for (user, role) in [
        ("admin", "admin"),
        ("sa_in", "service_admin"),
        ("sa_out", "service_admin"),
        ("pa_in", "product_admin"),
        ("pa_out", "product_admin"),
    ] {
        app.create_user(user, PASSWORD, role);
    }
    app.make_service_admin("sa_in", s1);
    app.make_service_admin("sa_out", s3);
    app.make_product_admin("pa_in", p1);
    app.make_product_admin("pa_out", p3);
    let b1 = app.insert_billing(p1, "monthly", "10", "EUR", None);
    std::fs::write(app.uploads.path().join("matrix.pdf"), b"%PDF-1.4 matrix").expect("file");
    let a1 = {
        use diesel::prelude::*;
        use portalops::db::schema::attachments;
        diesel::insert_into(attachments::table)
            .values((
                attachments::billing_record_id.eq(b1),
                attachments::original_name.eq("matrix.pdf"),
                attachments::stored_name.eq("matrix.pdf"),
                attachments::content_type.eq("application/pdf"),
                attachments::size_bytes.eq(15i64),
                attachments::sha256.eq("x"),
            ))
            .returning(attachments::id)
            .get_result(&mut app.conn())
            .expect("attachment")
    };
    let mut removable = std::collections::HashMap::new();
    for who in ACTORS {
        use diesel::prelude::*;
        use portalops::db::schema::attachments;
        let tag = format!("{who:?}").to_lowercase();
        let id: i64 = diesel::insert_into(attachments::table)
            .values((
                attachments::billing_record_id.eq(b1),
                attachments::original_name.eq(format!("{tag}.pdf")),
                attachments::stored_name.eq(format!("{tag}.pdf")),
                attachments::content_type.eq("application/pdf"),
                attachments::size_bytes.eq(15i64),
                attachments::sha256.eq("x"),
            ))
            .returning(attachments::id)
            .get_result(&mut app.conn())
            .expect("attachment");
        removable.insert(tag, id);
    }
    let (w1, t1) = {
        use diesel::prelude::*;
        use portalops::db::schema::{tasks, workflows};
        let w1: i64 = diesel::insert_into(workflows::table)
            .values((
                workflows::kind.eq("onboarding"),
                workflows::person_id.eq(person),
                workflows::effective_on
                    .eq(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date")),
            ))
            .returning(workflows::id)
            .get_result(&mut app.conn())
            .expect("workflow");
        let t1: i64 = diesel::insert_into(tasks::table)
            .values((
                tasks::workflow_id.eq(w1),
                tasks::kind.eq("grant"),
                tasks::product_id.eq(p1),
                tasks::due_on.eq(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date")),
            ))
            .returning(tasks::id)
            .get_result(&mut app.conn())
            .expect("task");
        (w1, t1)
    };
    let h1: i64 = {
        use diesel::prelude::*;
        use portalops::db::schema::handovers;
        diesel::insert_into(handovers::table)
            .values((
                handovers::workflow_id.eq(w1),
                handovers::kind.eq("billing_owner"),
                handovers::object_id.eq(b1),
                handovers::label.eq("Gmail"),
            ))
            .returning(handovers::id)
            .get_result(&mut app.conn())
            .expect("handover")
    };
    Fixture {
        w1,
        t1,
        h1,
        b1,
        a1,
        removable,
        s1,
        p1,
        p2,
        person,
        g1,
    }
}

async fn client_for(app: &TestApp, who: Who) -> Client {
    let c = app.client();
    let name = match who {
        Who::Admin => "admin",
        Who::SaIn => "sa_in",
        Who::SaOut => "sa_out",
        Who::PaIn => "pa_in",
        Who::PaOut => "pa_out",
        Who::Anon => return c,
    };
    assert_eq!(c.login(name, PASSWORD).await.status, 303);
    c
}

/// One row: method, path, form fields, and the status for each actor in ACTORS order.
type Row = (&'static str, String, Vec<(String, String)>, [u16; 6]);

#[rustfmt::skip]
fn rows(f: &Fixture, tag: &str) -> Vec<Row> {
    let (s, p, x) = (f.s1, f.p1, f.person);
    let kv = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let service_form = |name: &str| kv(&[("name", name), ("vendor", "V")]);
    let product_form = |name: &str| kv(&[("name", name), ("license_model", "per_seat")]);
    let person_form = |email: &str| kv(&[("full_name", "Pat Person"), ("email", email), ("role", "user"), ("employment_status", "active")]);
    let billing_form = |product: i64| {
        let product = product.to_string();
        kv(&[("product_id", &product), ("cycle", "monthly"), ("amount", "10"), ("currency", "EUR"), ("payment_method", "invoice")])
    };
    let onboard_email = format!("onboard-{tag}@example.com");
    let template_name = format!("Template {tag}");
    let none = Vec::new;
    let (new_service, new_product, new_email) = (format!("New {tag}"), format!("Prod {tag}"), format!("new-{tag}@example.com"));
    //                                                                                              Admin SaIn SaOut PaIn PaOut Anon
    vec![
        ("GET", "/".into(), none(),                                                                  [200, 200, 200, 200, 200, 303]),
        ("GET", "/inventory".into(), none(),                                                         [200, 200, 200, 200, 200, 303]),
        ("GET", "/inventory/services/new".into(), none(),                                            [200, 403, 403, 403, 403, 303]),
        ("POST", "/inventory/services".into(), service_form(&new_service),                           [303, 403, 403, 403, 403, 303]),
        ("GET", format!("/inventory/services/{s}"), none(),                                          [200, 200, 404, 200, 404, 303]),
        ("GET", "/inventory/services/999999".into(), none(),                                         [404, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/services/{s}/edit"), none(),                                     [200, 200, 404, 403, 404, 303]),
        ("POST", format!("/inventory/services/{s}"), service_form("Google Workspace"),               [303, 303, 404, 403, 404, 303]),
        ("POST", format!("/inventory/services/{s}/restore"), none(),                                 [303, 403, 404, 403, 404, 303]),
        ("POST", format!("/inventory/services/{s}/delete"), none(),                                  [303, 403, 404, 403, 404, 303]),
        ("POST", format!("/inventory/services/{s}/admins"), kv(&[("user_id", "1")]),                 [303, 403, 404, 403, 404, 303]),
        ("GET", format!("/inventory/services/{s}/products/new"), none(),                             [200, 200, 404, 403, 404, 303]),
        ("POST", format!("/inventory/services/{s}/products"), product_form(&new_product),            [303, 303, 404, 403, 404, 303]),
        ("GET", format!("/inventory/products/{p}"), none(),                                          [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{}", f.p2), none(),                                     [200, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/products/{p}/edit"), none(),                                     [200, 200, 404, 403, 404, 303]),
        ("POST", format!("/inventory/products/{p}"), product_form("Gmail"),                          [303, 303, 404, 403, 404, 303]),
        ("POST", format!("/inventory/products/{p}/restore"), none(),                                 [303, 303, 404, 403, 404, 303]),
        ("POST", format!("/inventory/products/{p}/admins"), kv(&[("user_id", "1")]),                 [303, 403, 404, 403, 404, 303]),
        // Pat already has Gmail: allowed actors get the validation message (422).
        ("POST", format!("/inventory/products/{p}/grants"), kv(&[("person", "pat@example.com")]),    [422, 422, 404, 422, 404, 303]),
        ("GET", format!("/inventory/products/{p}/grants/bulk"), none(),                              [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{}/grants/bulk", f.p2), none(),                         [200, 404, 404, 404, 404, 303]),
        // A bulk grant's preview: Pat holds Gmail, so the allowed see the refused line (422).
        ("POST", format!("/inventory/products/{p}/grants/bulk"), kv(&[("people", "pat@example.com")]), [422, 422, 404, 422, 404, 303]),
        ("POST", format!("/inventory/products/{}/grants/bulk", f.p2), kv(&[("people", "pat@example.com")]), [200, 404, 404, 404, 404, 303]),
        // A bulk revocation's first step (the confirming page) changes nothing.
        ("POST", format!("/inventory/products/{p}/grants/revoke"), kv(&[("grant", &f.g1.to_string())]), [200, 200, 404, 200, 404, 303]),
        ("POST", format!("/inventory/products/{}/grants/revoke", f.p2), kv(&[("grant", &f.g1.to_string())]), [200, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/products/{p}/usage"), none(),                                    [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{}/usage", f.p2), none(),                               [200, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/products/{p}/usage/999999"), none(),                             [404, 404, 404, 404, 404, 303]),
        ("POST", format!("/inventory/products/{p}/usage/999999/columns"), kv(&[("email_column", "email"), ("date_format", "auto")]), [404, 404, 404, 404, 404, 303]),
        ("POST", format!("/inventory/products/{p}/usage/999999/apply"), none(),                      [404, 404, 404, 404, 404, 303]),
        ("POST", format!("/inventory/products/{p}/usage/999999/discard"), none(),                    [404, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/products/{p}?inactive=30"), none(),                              [200, 200, 404, 200, 404, 303]),
        ("GET", "/payments/savings?inactive=30".into(), none(),                                      [200, 200, 200, 200, 200, 303]),
        ("GET", "/inventory/export.csv".into(), none(),                                              [200, 403, 403, 403, 403, 303]),
        ("GET", "/directory".into(), none(),                                                         [200, 200, 200, 200, 200, 303]),
        ("GET", "/directory/new".into(), none(),                                                     [200, 403, 403, 403, 403, 303]),
        ("POST", "/directory".into(), person_form(&new_email),                                       [303, 403, 403, 403, 403, 303]),
        ("GET", format!("/directory/{x}"), none(),                                                   [200, 200, 200, 200, 200, 303]),
        ("GET", "/directory/999999".into(), none(),                                                  [404, 404, 404, 404, 404, 303]),
        ("GET", format!("/directory/{x}/edit"), none(),                                              [200, 403, 403, 403, 403, 303]),
        ("POST", format!("/directory/{x}"), person_form("pat@example.com"),                          [303, 403, 403, 403, 403, 303]),
        // Jira is outside every administrator's scope here.
        ("POST", format!("/directory/{x}/grants"), kv(&[("product_id", &f.p2.to_string())]),        [303, 404, 404, 404, 404, 303]),
        ("GET", format!("/directory/{x}/grants/bulk"), none(),                                     [200, 200, 200, 200, 200, 303]),
        ("GET", "/directory/999999/grants/bulk".into(), none(),                                       [404, 404, 404, 404, 404, 303]),
        // A person page's batch preview: Jira (p2) is only the Admin's to grant, the others
        // see the line refused; Pat holds Gmail (p1) already, which those who run it are told.
        ("POST", format!("/directory/{x}/grants/bulk"), kv(&[("product", &f.p2.to_string())]),   [200, 422, 422, 422, 422, 303]),
        ("POST", format!("/directory/{x}/grants/bulk"), kv(&[("product", &p.to_string())]),       [200, 200, 422, 200, 422, 303]),
        ("GET", "/inventory/grants.csv".into(), none(),                                               [200, 200, 200, 200, 200, 303]),
        ("GET", format!("/inventory/services/{s}/grants.csv"), none(),                              [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{p}/grants.csv"), none(),                              [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{}/grants.csv", f.p2), none(),                         [200, 404, 404, 404, 404, 303]),
        ("GET", format!("/directory/{x}/grants.csv"), none(),                                       [200, 200, 200, 200, 200, 303]),
        ("GET", format!("/directory/{x}/history"), none(),                                         [200, 200, 200, 200, 200, 303]),
        ("GET", "/directory/999999/history".into(), none(),                                           [404, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/products/{p}/history"), none(),                                 [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/inventory/products/{}/history", f.p2), none(),                            [200, 404, 404, 404, 404, 303]),
        ("GET", format!("/inventory/services/{s}/history"), none(),                                 [200, 200, 404, 200, 404, 303]),
        ("GET", format!("/payments/{}/history", f.b1), none(),                                      [200, 200, 404, 200, 404, 303]),
        // The pickers answer within each actor's scope (person_grants checks what they hold).
        ("GET", "/pick/people?q=pat".into(), none(),                                                  [200, 200, 200, 200, 200, 303]),
        ("GET", "/pick/products?q=g".into(), none(),                                                  [200, 200, 200, 200, 200, 303]),
        ("GET", "/imports/template/grants.csv".into(), none(),                                        [200, 403, 403, 403, 403, 303]),
        // Pat has no login: the Admin is told so (a flash on Pat's page).
        ("POST", format!("/directory/{x}/invitation"), none(),                                       [303, 403, 403, 403, 403, 303]),
        ("POST", "/directory/999999/invitation".into(), none(),                                      [404, 403, 403, 403, 403, 303]),
        ("GET", "/directory/export.csv".into(), none(),                                              [200, 403, 403, 403, 403, 303]),
        ("GET", "/imports".into(), none(),                                                           [200, 403, 403, 403, 403, 303]),
        ("GET", "/imports/template/people.csv".into(), none(),                                       [200, 403, 403, 403, 403, 303]),
        ("GET", "/imports/999999".into(), none(),                                                    [404, 404, 404, 404, 404, 303]),
        ("POST", "/imports/999999/commit".into(), none(),                                            [404, 404, 404, 404, 404, 303]),
        ("GET", "/payments".into(), none(),                                                          [200, 200, 200, 200, 200, 303]),
        ("GET", "/payments/new".into(), none(),                                                      [200, 200, 200, 200, 200, 303]),
        ("POST", "/payments".into(), billing_form(p),                                                [303, 303, 422, 303, 422, 303]),
        ("GET", "/payments/print".into(), none(),                                                    [200, 200, 200, 200, 200, 303]),
        ("GET", "/payments/savings".into(), none(),                                                  [200, 200, 200, 200, 200, 303]),
        ("GET", "/payments/export.csv".into(), none(),                                               [200, 200, 200, 200, 200, 303]),
        ("GET", format!("/payments/{}", f.b1), none(),                                               [200, 200, 404, 200, 404, 303]),
        ("GET", "/payments/999999".into(), none(),                                                   [404, 404, 404, 404, 404, 303]),
        ("GET", format!("/payments/{}/edit", f.b1), none(),                                          [200, 200, 404, 200, 404, 303]),
        ("POST", format!("/payments/{}", f.b1), billing_form(p),                                     [303, 303, 404, 303, 404, 303]),
        ("POST", format!("/payments/{}/history", f.b1), kv(&[("paid_on", "2026-11-01"), ("amount", "10")]), [303, 303, 404, 303, 404, 303]),
        ("UPLOAD", format!("/payments/{}/attachments", f.b1), none(),                                [303, 303, 404, 303, 404, 303]),
        ("POST", format!("/attachments/{}/remove", f.removable[tag]), none(),                        [303, 303, 404, 303, 404, 303]),
        ("GET", format!("/attachments/{}", f.a1), none(),                                            [200, 200, 404, 200, 404, 303]),
        ("GET", "/workflows".into(), none(),                                                         [200, 403, 403, 403, 403, 303]),
        ("GET", "/workflows/onboard".into(), none(),                                                 [200, 403, 403, 403, 403, 303]),
        ("POST", "/workflows/onboard".into(), kv(&[("email", &onboard_email), ("full_name", "N"), ("start_date", "2030-01-01"), ("product_ids", &p.to_string())]), [303, 403, 403, 403, 403, 303]),
        ("GET", "/workflows/offboard".into(), none(),                                                [200, 403, 403, 403, 403, 303]),
        ("POST", "/workflows/offboard".into(), kv(&[("email", "nobody@example.com"), ("last_day", "2030-01-01")]), [422, 403, 403, 403, 403, 303]),
        ("GET", "/workflows/templates".into(), none(),                                               [200, 403, 403, 403, 403, 303]),
        ("POST", "/workflows/templates".into(), kv(&[("name", &template_name), ("product_ids", &p.to_string())]), [303, 403, 403, 403, 403, 303]),
        ("GET", format!("/workflows/{}", f.w1), none(),                                              [200, 403, 403, 403, 403, 303]),
        ("GET", "/workflows/999999".into(), none(),                                                  [404, 403, 403, 403, 403, 303]),
        ("GET", format!("/workflows/{}/report", f.w1), none(),                                       [404, 403, 403, 403, 403, 303]),
        ("POST", format!("/handovers/{}", f.h1), kv(&[("email", "nobody@example.com")]),          [303, 403, 403, 403, 403, 303]),
        ("POST", "/handovers/999999".into(), none(),                                                 [404, 403, 403, 403, 403, 303]),
        ("GET", "/tasks".into(), none(),                                                             [200, 200, 200, 200, 200, 303]),
        // Gmail has an active Product Administrator (pa_in): the task is theirs (and any Admin's).
        ("GET", format!("/tasks/{}", f.t1), none(),                                                  [200, 404, 404, 200, 404, 303]),
        ("POST", format!("/tasks/{}/not-needed", f.t1), none(),                                      [422, 404, 404, 422, 404, 303]),
        ("GET", "/notifications".into(), none(),                                                     [200, 200, 200, 200, 200, 303]),
        ("GET", "/calendar".into(), none(),                                                          [200, 200, 200, 200, 200, 303]),
        ("GET", "/calendar/feed/not-a-token.ics".into(), none(),                                     [404, 404, 404, 404, 404, 404]),
        // Emailed login links and "Forgot password": public, the same answer for everyone.
        ("GET", "/password/forgot".into(), none(),                                                   [200, 200, 200, 200, 200, 200]),
        ("POST", "/password/forgot".into(), kv(&[("who", "nobody@example.com")]),                  [200, 200, 200, 200, 200, 200]),
        ("GET", "/password/set/not-a-token".into(), none(),                                          [404, 404, 404, 404, 404, 404]),
        ("POST", "/password/set/not-a-token".into(), kv(&[("password", "x")]),                     [404, 404, 404, 404, 404, 404]),
        ("POST", "/account/calendar-token".into(), none(),                                           [200, 200, 200, 200, 200, 303]),
        ("GET", "/settings/currency".into(), none(),                                                 [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/currency".into(), kv(&[("currency", "EUR")]),                           [303, 403, 403, 403, 403, 303]),
        ("POST", "/settings/currency/rates".into(), kv(&[("csv", "USD,0.9,2026-01-01")]),          [303, 403, 403, 403, 403, 303]),
        ("GET", "/audit".into(), none(),                                                             [200, 403, 403, 403, 403, 303]),
        ("GET", "/settings/scheduler".into(), none(),                                                [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/scheduler/outbox/run".into(), none(),                                    [303, 403, 403, 403, 403, 303]),
        ("POST", "/settings/scheduler/nonsense/run".into(), none(),                                  [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/outbox/999999/retry".into(), none(),                                     [404, 403, 403, 403, 403, 303]),
        ("GET", "/settings/logins".into(), none(),                                                   [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/logins/unlock".into(), kv(&[("key", "ip:192.0.2.99")]),                  [404, 403, 403, 403, 403, 303]),
        ("GET", "/settings".into(), none(),                                                          [200, 403, 403, 403, 403, 303]),
        ("GET", "/account".into(), none(),                                                           [200, 200, 200, 200, 200, 303]),
        ("GET", "/account/tokens".into(), none(),                                                    [200, 200, 200, 200, 200, 303]),
        ("POST", "/account/tokens".into(), kv(&[("name", "matrix"), ("scope_people", "read")]),      [200, 200, 200, 200, 200, 303]),
        ("POST", "/account/tokens".into(), kv(&[("name", "")]),                                      [422, 422, 422, 422, 422, 303]),
        ("POST", "/account/tokens/999999/revoke".into(), none(),                                     [404, 404, 404, 404, 404, 303]),
        ("GET", "/settings/tokens".into(), none(),                                                   [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/tokens/999999/revoke".into(), none(),                                    [404, 403, 403, 403, 403, 303]),
        ("GET", "/settings/service-accounts".into(), none(),                                         [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts".into(), kv(&[("name", ""), ("role", "admin")]),       [422, 403, 403, 403, 403, 303]),
        ("GET", "/settings/service-accounts/999999".into(), none(),                                  [404, 403, 403, 403, 403, 303]),
        ("GET", "/settings/service-accounts/999999/edit".into(), none(),                             [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts/999999/edit".into(), kv(&[("name", "m"), ("role", "admin")]), [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts/999999/tokens".into(), kv(&[("name", "m"), ("scope_people", "read")]), [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts/999999/tokens/999999/revoke".into(), none(),            [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts/999999/disable".into(), none(),                         [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/service-accounts/999999/enable".into(), none(),                          [404, 403, 403, 403, 403, 303]),
        ("GET", "/settings/provisioning".into(), none(),                                             [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/provisioning/rules".into(), kv(&[("source", "group"), ("match_value", "")]), [422, 403, 403, 403, 403, 303]),
        ("POST", "/settings/provisioning/rules/999999/delete".into(), none(),                        [404, 403, 403, 403, 403, 303]),
        ("POST", "/settings/provisioning/delay".into(), kv(&[("delay_days", "x")]),                  [422, 403, 403, 403, 403, 303]),
        // SCIM takes an API token with the scim scope only: a session is no credential there
        // (tests/it/scim.rs checks the tokens).
        ("GET", "/scim/v2/Users".into(), none(),                                                     [401, 401, 401, 401, 401, 401]),
        ("POST", "/scim/v2/Users".into(), kv(&[("userName", "matrix")]),                            [401, 401, 401, 401, 401, 401]),
        // Single sign-on is public; without a provider configured (as here) it is not there
        // (with one: tests/it/sso.rs, `single_sign_on_routes_are_public`).
        ("GET", "/login/sso".into(), none(),                                                         [404, 404, 404, 404, 404, 404]),
        ("GET", "/login/sso/callback?state=x&code=y".into(), none(),                                 [404, 404, 404, 404, 404, 404]),
        ("GET", "/account/two-factor".into(), none(),                                                [200, 200, 200, 200, 200, 303]),
        ("POST", "/account/two-factor/start".into(), none(),                                         [303, 303, 303, 303, 303, 303]),
        ("POST", "/account/two-factor/confirm".into(), kv(&[("code", "000000")]),                    [422, 422, 422, 422, 422, 303]),
        ("POST", "/account/two-factor/recovery-codes".into(), kv(&[("current_password", "wrong")]),  [422, 422, 422, 422, 422, 303]),
        ("POST", "/account/two-factor/disable".into(), kv(&[("disable_password", "wrong")]),         [422, 422, 422, 422, 422, 303]),
        // No login waiting for its code: back to the password.
        ("GET", "/login/two-factor".into(), none(),                                                  [303, 303, 303, 303, 303, 303]),
        ("POST", "/login/two-factor".into(), kv(&[("code", "123456")]),                              [303, 303, 303, 303, 303, 303]),
        ("GET", "/settings/two-factor".into(), none(),                                               [200, 403, 403, 403, 403, 303]),
        ("POST", "/settings/two-factor".into(), kv(&[("policy", "nobody")]),                         [303, 403, 403, 403, 403, 303]),
        ("GET", format!("/directory/{x}/two-factor/reset"), none(),                                  [200, 403, 403, 403, 403, 303]),
        ("GET", "/directory/999999/two-factor/reset".into(), none(),                                 [404, 403, 403, 403, 403, 303]),
        ("POST", format!("/directory/{x}/two-factor/reset"), kv(&[("current_password", "wrong")]),   [422, 403, 403, 403, 403, 303]),
        ("POST", format!("/workflows/{}/cancel", f.w1), kv(&[("reason", "matrix")]),                [303, 403, 403, 403, 403, 303]),
        // Last: revoking changes state (later allowed actors see "already revoked", 303 too).
        ("POST", format!("/grants/{}/revoke", f.g1), kv(&[("return_to", "/")]),                     [303, 303, 404, 303, 404, 303]),
    ]
}

#[actix_web::test]
async fn every_route_answers_each_actor_as_the_rbac_guide_says() {
    let app = TestApp::spawn().await;
    let f = setup(&app);
    let mut failures = Vec::new();
    // Run actors in reverse so the Admin's state changes (grants, revokes) come last.
    for (i, who) in ACTORS.iter().enumerate().rev() {
        let c = client_for(&app, *who).await;
        let token_page = if *who == Who::Anon {
            "/login"
        } else {
            "/account"
        };
        let tag = format!("{who:?}").to_lowercase();
        for (method, path, fields, expected) in rows(&f, &tag) {
            let status = if method == "GET" {
                c.get(&path).await.status
            } else if method == "UPLOAD" {
                let token = c.get(token_page).await.csrf_token().expect("token");
                c.upload(&path, Some(&token), "m.pdf", b"%PDF-1.4 m")
                    .await
                    .status
            } else {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                c.submit(token_page, &path, &fields).await.status
            };
            if status != expected[i] {
                failures.push(format!(
                    "{who:?} {method} {path}: expected {}, got {status}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
}
