//! Provisioning rules (issue #18): what the identity provider's groups, departments, start
//! dates and deactivations start in PortalOps, set by an Admin on Settings → Provisioning,
//! over real HTTP (the SCIM requests a provider sends, the settings form) against the real
//! database. Every effect is audited with the provisioning token as the actor and shown on
//! the person's page.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::common::client::Client;
use crate::common::TestApp;
use crate::scim::{okta_user, parse, scim_error, setup, status_of, Scim, ENTERPRISE, PATCH};
use portalops::db::schema::{
    onboarding_templates, product_admins, service_admins, tasks, users, workflows,
};

const PAGE: &str = "/settings/provisioning";

/// An onboarding template with these products, made on its page.
async fn template(app: &TestApp, admin: &Client, name: &str, products: &[i64]) -> i64 {
    let ids: Vec<String> = products.iter().map(i64::to_string).collect();
    let mut fields = vec![("name", name)];
    fields.extend(ids.iter().map(|p| ("product_ids", p.as_str())));
    let r = admin
        .submit("/workflows/templates", "/workflows/templates", &fields)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    onboarding_templates::table
        .filter(onboarding_templates::name.eq(name))
        .select(onboarding_templates::id)
        .first(&mut app.conn())
        .expect("template")
}

async fn add_rule(admin: &Client, fields: &[(&str, &str)]) -> crate::common::client::Resp {
    admin
        .submit(PAGE, "/settings/provisioning/rules", fields)
        .await
}

fn grant_tasks(app: &TestApp, person: i64) -> Vec<(i64, String)> {
    tasks::table
        .inner_join(workflows::table)
        .filter(workflows::person_id.eq(person))
        .filter(tasks::kind.eq("grant"))
        .order(tasks::product_id.asc())
        .select((tasks::product_id, tasks::status))
        .load(&mut app.conn())
        .expect("tasks")
}

fn role_of(app: &TestApp, person: i64) -> String {
    users::table
        .find(person)
        .select(users::role)
        .first(&mut app.conn())
        .expect("role")
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_str().expect("id").parse().expect("numeric id")
}

#[actix_web::test]
async fn the_rule_form_shows_every_error_at_once_and_keeps_what_was_typed() {
    let (app, admin, _token) = setup().await;
    let svc = app.insert_service("GitHub");
    let page = admin.get(PAGE).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("There are no rules yet."));

    let s = svc.to_string();
    let r = add_rule(
        &admin,
        &[
            ("source", "department"),
            ("match_value", "Engineering 4111 1111 1111 1111"),
            ("template_id", ""),
            ("role", "admin"),
            ("service_id", &s),
            ("product_id", ""),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // The card number is refused at the door and the other errors are shown with it.
    assert!(!r.body.contains("4111 1111 1111 1111"), "{}", r.body);
    for message in [
        "Only a group may give a role",
        "A service scope goes with the Service Administrator role.",
    ] {
        assert!(r.body.contains(message), "{message}: {}", r.body);
    }
    let r = add_rule(
        &admin,
        &[("source", "group"), ("match_value", "Engineering")],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("a rule that does nothing is not kept"));
    assert!(r.body.contains("value=\"Engineering\""), "typed text kept");
    assert_eq!(app.count("provisioning_rules"), 0);

    let r = add_rule(
        &admin,
        &[
            ("source", "group"),
            ("match_value", "Engineering"),
            ("role", "service_admin"),
            ("service_id", &s),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // One rule per group, whatever the case.
    let r = add_rule(
        &admin,
        &[
            ("source", "group"),
            ("match_value", "ENGINEERING"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("There is already a rule for this name"));
    assert_eq!(app.count("provisioning_rules"), 1);
    let page = admin.get(PAGE).await;
    assert!(
        page.body.contains("Service Administrator of GitHub"),
        "{}",
        page.body
    );

    // Only Admins: a Service Administrator is refused the page and the form.
    app.create_user("sam", crate::common::PASSWORD, "service_admin");
    let sam = app.client();
    assert_eq!(sam.login("sam", crate::common::PASSWORD).await.status, 303);
    assert_eq!(sam.get(PAGE).await.status, 403);
    let id: i64 = {
        use portalops::db::schema::provisioning_rules;
        provisioning_rules::table
            .select(provisioning_rules::id)
            .first(&mut app.conn())
            .expect("rule")
    };
    let r = admin
        .submit(
            PAGE,
            &format!("/settings/provisioning/rules/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(app.count("provisioning_rules"), 0);
    assert!(app
        .audit_actions()
        .contains(&"provisioning.rule_deleted".to_string()));
}

#[actix_web::test]
async fn joining_a_group_starts_its_template_and_gives_its_role_while_the_group_holds_the_person() {
    let (app, admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let github = app.insert_service("GitHub");
    let repo = app.insert_product(github, "Enterprise", None);
    let slack = app.insert_service("Slack");
    let chat = app.insert_product(slack, "Pro", None);
    let engineer = template(&app, &admin, "Engineer", &[repo, chat]).await;
    let t = engineer.to_string();
    let g = github.to_string();
    let r = add_rule(
        &admin,
        &[
            ("source", "group"),
            ("match_value", "engineering"),
            ("template_id", &t),
            ("role", "service_admin"),
            ("service_id", &g),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Ada already has Slack: her onboarding asks only for GitHub.
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("ada@example.com", "Ada", "Lovelace")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ada = id_of(&parse(&r));
    app.insert_grant(ada, chat);
    let r = scim
        .call(
            "POST",
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering", "members": [{"value": ada.to_string()}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let group = id_of(&parse(&r));
    assert_eq!(grant_tasks(&app, ada), [(repo, "open".to_string())]);
    assert_eq!(role_of(&app, ada), "service_admin");
    let scoped: i64 = service_admins::table
        .filter(service_admins::user_id.eq(ada))
        .filter(service_admins::service_id.eq(github))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(scoped, 1);
    // A mover stays active; the workflow is an onboarding of the template.
    assert_eq!(status_of(&app, "ada@example.com"), "active");
    let (kind, template_id, started_by): (String, Option<i64>, Option<i64>) = workflows::table
        .filter(workflows::person_id.eq(ada))
        .select((
            workflows::kind,
            workflows::template_id,
            workflows::started_by,
        ))
        .first(&mut app.conn())
        .expect("workflow");
    assert_eq!(
        (kind.as_str(), template_id, started_by),
        ("onboarding", Some(engineer), None)
    );

    // What the provider sends again changes nothing: no second task, no second effect.
    let r = scim
        .call(
            "PUT",
            &format!("/Groups/{group}"),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering", "members": [{"value": ada.to_string()}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(grant_tasks(&app, ada).len(), 1);
    // The template, the role and the scope: three effects.
    assert_eq!(app.count("provisioning_effects"), 3);

    // Every effect on her page, and in the audit log as the provisioning token.
    let page = admin.get(&format!("/directory/{ada}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("id=\"provisioning-effects\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Provider groups"), "{}", page.body);
    assert!(
        page.body
            .contains("onboarding started from template “Engineer”"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Service Administrator (was User (no login))"),
        "{}",
        page.body
    );
    let actors: Vec<String> = {
        use portalops::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("provisioning.rule_applied"))
            .select(audit_log::actor_label)
            .load(&mut app.conn())
            .expect("audit")
    };
    assert_eq!(actors, ["service: Okta"; 3]);
    // The role gives her a login: she is invited to choose a password.
    let invited: Vec<String> = app
        .queued_emails()
        .into_iter()
        .map(|(to, subject, _)| format!("{to}: {subject}"))
        .collect();
    assert_eq!(invited, ["ada@example.com: Okta invited you to PortalOps"]);

    // Leaving the group (Entra's removal by value): the role and the rule's scope go, the
    // grant task stays (revoking is an administrator's decision).
    let r = scim
        .call(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": ada.to_string()}]}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_of(&app, ada), "user");
    let scoped: i64 = service_admins::table
        .filter(service_admins::user_id.eq(ada))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(scoped, 0);
    assert_eq!(grant_tasks(&app, ada).len(), 1);

    // Someone who was a Product Administrator before goes back to that role (the product
    // scopes the raise dropped are not given back: an Admin assigns them again).
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("bob@example.com", "Bob", "Builder")),
        )
        .await;
    let bob = id_of(&parse(&r));
    diesel::update(users::table.find(bob))
        .set((users::role.eq("product_admin"), users::username.eq("bob")))
        .execute(&mut app.conn())
        .expect("role");
    diesel::insert_into(product_admins::table)
        .values((
            product_admins::user_id.eq(bob),
            product_admins::product_id.eq(chat),
        ))
        .execute(&mut app.conn())
        .expect("scope");
    let add = |who: i64| {
        json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": who.to_string()}]}]})
    };
    let remove = |who: i64| {
        json!({"schemas": [PATCH], "Operations": [
            {"op": "remove", "path": format!("members[value eq \"{who}\"]")}]})
    };
    let r = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(add(bob)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_of(&app, bob), "service_admin");
    assert_eq!(app.queued_emails().len(), 2, "Bob is invited too");
    let r = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(remove(bob)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_of(&app, bob), "product_admin");

    // An Admin's own change wins: made Admin by hand, leaving the group does not demote.
    let r = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(add(bob)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    diesel::update(users::table.find(bob))
        .set(users::role.eq("admin"))
        .execute(&mut app.conn())
        .expect("role");
    let r = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(remove(bob)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(role_of(&app, bob), "admin");
}

#[actix_web::test]
async fn a_department_rule_and_a_future_start_date_make_an_onboarding_with_its_tasks() {
    let (app, admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    let crm = app.insert_service("Salesforce");
    let seat = app.insert_product(crm, "Sales Cloud", None);
    let sales = template(&app, &admin, "Sales starter", &[seat]).await;
    let t = sales.to_string();
    let r = add_rule(
        &admin,
        &[
            ("source", "department"),
            ("match_value", "Sales"),
            ("template_id", &t),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let today = app.state.clock.today();
    let start = today + chrono::TimeDelta::days(30);
    let portalops = "urn:ietf:params:scim:schemas:extension:portalops:2.0:User";

    // A start date that is not one: a SCIM error, nothing made.
    let mut u = okta_user("sam@example.com", "Sam", "Seller");
    u[portalops] = json!({"startDate": "next monday"});
    let (kind, detail) = scim_error(&scim.call("POST", "/Users", Some(u)).await, 400);
    assert_eq!(kind.as_deref(), Some("invalidValue"));
    assert!(detail.contains("startDate"), "{detail}");
    assert_eq!(app.count("scim_users"), 0);

    // Entra's employeeHireDate shape: a date and time.
    let mut u = okta_user("sam@example.com", "Sam", "Seller");
    u[ENTERPRISE] = json!({"department": "SALES"});
    let sent = format!("{start}T09:00:00Z");
    u[portalops] = json!({ "startDate": sent });
    let r = scim.call("POST", "/Users", Some(u)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = parse(&r);
    assert_eq!(
        created[portalops]["startDate"],
        sent.as_str(),
        "given back as sent"
    );
    let sam = id_of(&created);
    assert_eq!(status_of(&app, "sam@example.com"), "onboarding");
    let (effective, due): (chrono::NaiveDate, chrono::NaiveDate) = workflows::table
        .inner_join(tasks::table)
        .filter(workflows::person_id.eq(sam))
        .select((workflows::effective_on, tasks::due_on))
        .first(&mut app.conn())
        .expect("onboarding");
    assert_eq!(effective, start);
    assert_eq!(
        due,
        start - chrono::TimeDelta::days(app.state.config.task_lead_days)
    );
    let stored: Option<chrono::NaiveDate> = users::table
        .find(sam)
        .select(users::start_date)
        .first(&mut app.conn())
        .expect("start");
    assert_eq!(stored, Some(start));
    // Still onboarding for the provider: active.
    assert_eq!(created["active"], true);

    // A move into the department later: a person already there gets nothing twice, a
    // person moving in gets the tasks.
    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("max@example.com", "Max", "Mover")),
        )
        .await;
    let max = id_of(&parse(&r));
    assert!(grant_tasks(&app, max).is_empty());
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{max}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(grant_tasks(&app, max), [(seat, "open".to_string())]);
    assert_eq!(status_of(&app, "max@example.com"), "active");
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{max}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "path": "title", "value": "Account executive"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(grant_tasks(&app, max).len(), 1);
}

#[actix_web::test]
async fn the_deactivation_delay_sets_the_last_day_and_the_last_admin_s_refusal_tells_the_admins() {
    let (app, admin, token) = setup().await;
    let scim = Scim {
        c: app.client(),
        token: &token,
    };
    for typed in ["abc", "-1", "91", "2.5"] {
        let r = admin
            .submit(
                PAGE,
                "/settings/provisioning/delay",
                &[("delay_days", typed)],
            )
            .await;
        assert_eq!(r.status, 422, "{typed}: {}", r.body);
        assert!(
            r.body
                .contains("Enter a whole number of days from 0 to 90."),
            "{}",
            r.body
        );
        assert!(r.body.contains(&format!("value=\"{typed}\"")), "kept");
    }
    let r = admin
        .submit(
            PAGE,
            "/settings/provisioning/delay",
            &[("delay_days", "14")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(admin.get(PAGE).await.body.contains("14 days later"));

    let r = scim
        .call(
            "POST",
            "/Users",
            Some(okta_user("lea@example.com", "Lea", "Leaver")),
        )
        .await;
    let lea = id_of(&parse(&r));
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{lea}"),
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (end, active): (Option<chrono::NaiveDate>, bool) = users::table
        .find(lea)
        .select((users::end_date, users::is_active))
        .first(&mut app.conn())
        .expect("person");
    assert_eq!(
        end,
        Some(app.state.clock.today() + chrono::TimeDelta::days(14))
    );
    assert!(!active, "the login ends at once");
    // Removing `active` is not reactivating: she stays a leaver.
    let r = scim
        .call(
            "PATCH",
            &format!("/Users/{lea}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "active"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(parse(&r)["active"], false);
    // (She held no access, so her offboarding completed at once.)
    assert_eq!(status_of(&app, "lea@example.com"), "offboarded");

    // The last Admin: refused, and every Admin told once however often the provider tries.
    let ops = crate::scim::provision_the_admin(&app, &scim).await;
    for _ in 0..3 {
        let r = scim.call("DELETE", &format!("/Users/{ops}"), None).await;
        let (kind, detail) = scim_error(&r, 400);
        assert_eq!(kind.as_deref(), Some("mutability"));
        assert!(detail.contains("last active Admin"), "{detail}");
    }
    assert_eq!(status_of(&app, "ops@example.com"), "active");
    let told: Vec<(i64, String)> = {
        use portalops::db::schema::notifications;
        notifications::table
            .filter(notifications::kind.eq("scim.last_admin"))
            .select((notifications::user_id, notifications::title))
            .load(&mut app.conn())
            .expect("notifications")
    };
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, ops);
    let emails: Vec<_> = app
        .queued_emails()
        .into_iter()
        .filter(|(to, subject, _)| to == "ops@example.com" && subject.contains("last Admin"))
        .collect();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(emails[0].2.contains(&format!("/directory/{ops}")));
}
