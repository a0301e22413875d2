//! The audit log: written with every change in the same transaction, append-only, and
//! listed for Admins with filters and keyset pages.

use crate::common::{TestApp, PASSWORD};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use portalops::db::schema::{audit_log, users};

#[actix_web::test]
async fn the_change_and_its_audit_entry_commit_or_fail_together() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "product_admin").await;
    let hash_before: Option<String> = users::table
        .filter(users::username.eq("alice"))
        .select(users::password_hash)
        .first(&mut app.conn())
        .expect("user");
    // Make the audit insert for password changes fail inside the database.
    app.conn().batch_execute(
        "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.action = 'user.password_changed' THEN RAISE EXCEPTION 'audit unavailable'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_audit();",
    )
    .expect("install failing trigger");
    let new_pw = "another fine passphrase";
    let r = c
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_pw),
                ("new_password_confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("Something went wrong"));
    assert!(
        !r.body.contains("audit unavailable"),
        "internals stay in the log"
    );
    let hash_after: Option<String> = users::table
        .filter(users::username.eq("alice"))
        .select(users::password_hash)
        .first(&mut app.conn())
        .expect("user");
    assert_eq!(
        hash_before, hash_after,
        "the change was rolled back with its audit entry"
    );
    assert_eq!(app.client().login("alice", PASSWORD).await.status, 303);
}

#[actix_web::test]
async fn audit_entries_cannot_be_updated_or_deleted() {
    let app = TestApp::spawn().await;
    app.logged_in("alice", "admin").await;
    let mut conn = app.conn();
    let upd = diesel::update(audit_log::table)
        .set(audit_log::summary.eq("rewritten"))
        .execute(&mut conn);
    assert!(upd.is_err());
    let del = diesel::delete(audit_log::table).execute(&mut conn);
    assert!(del.is_err());
    let truncate = diesel::sql_query("TRUNCATE audit_log").execute(&mut conn);
    assert!(truncate.is_err());
    let n: i64 = audit_log::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert!(n >= 1);
}

#[actix_web::test]
async fn admins_filter_and_page_through_the_audit_log() {
    let app = TestApp::spawn().await;
    let c = app.logged_in("alice", "admin").await;
    // 120 failed logins by "mallory" give three pages of 50 for that actor.
    let mut conn = app.conn();
    for i in 0..120 {
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::actor_label.eq("mallory"),
                audit_log::action.eq("auth.login_failed"),
                audit_log::object_type.eq("user"),
                audit_log::summary.eq(format!("Failed login #{i}")),
            ))
            .execute(&mut conn)
            .expect("insert");
    }
    let has = |body: &str, n: u32| {
        regex_lite::Regex::new(&format!(r"Failed login #{n}\b"))
            .expect("re")
            .is_match(body)
    };
    let first = c.get("/audit?actor=mallory").await;
    assert_eq!(first.status, 200);
    assert!(has(&first.body, 119) && has(&first.body, 70));
    assert!(!has(&first.body, 69), "only 50 per page");
    let older = regex_lite::Regex::new(r#"href="(/audit\?before=\d+[^"]*)">Older"#).expect("re");
    let next = older.captures(&first.body).expect("older link")[1].replace("&amp;", "&");
    let second = c.get(&next).await;
    assert!(has(&second.body, 69) && has(&second.body, 20));
    assert!(!has(&second.body, 70) && !has(&second.body, 19));
    let third = c
        .get(&older.captures(&second.body).expect("older link")[1].replace("&amp;", "&"))
        .await;
    assert!(has(&third.body, 0) && has(&third.body, 19));
    assert!(
        older.captures(&third.body).is_none(),
        "no page after the last"
    );
    assert!(third.body.contains("← Newer</a>"));

    let by_action = c.get("/audit?action=auth.login&actor=alice").await;
    assert!(by_action.body.contains("Logged in"));
    assert!(!by_action.body.contains("mallory"));
    let bad_date = c.get("/audit?from=yesterday").await;
    assert_eq!(bad_date.status, 200);
    assert!(bad_date.body.contains("is not a date"));
    let today = portalops::clock::now().date_naive().to_string();
    let dated = c
        .get(&format!("/audit?from={today}&to={today}&actor=alice"))
        .await;
    assert!(dated.body.contains("Logged in"));
}
