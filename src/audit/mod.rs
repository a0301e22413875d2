//! The audit log: one function, `record`, that every state change calls inside its own
//! transaction, and `queries`, what the Admin-only page (`audit_pages`, above `auth`) and the
//! API list. The table is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).

pub mod history;
pub mod queries;

use diesel::prelude::*;
use serde_json::Value;

use crate::authz::Actor;
use crate::db::schema::audit_log;
use crate::error::AppError;
use crate::telemetry::current_request_id;

/// One audit entry, built from the actor and the change.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    actor_id: Option<i64>,
    actor_label: String,
    action: String,
    object_type: String,
    object_id: Option<String>,
    summary: String,
    before: Option<Value>,
    after: Option<Value>,
    client_ip: Option<String>,
}

impl AuditEntry {
    /// An action taken by a logged-in user.
    pub fn by(actor: &Actor, action: &str, object_type: &str, object_id: Option<String>) -> Self {
        Self::system(action, object_type, object_id)
            .actor(actor.person_id(), actor.username.clone())
            .client_ip(actor.client_ip.as_deref())
    }

    /// An action with no logged-in actor (scheduler, first-run setup, failed logins).
    pub fn system(action: &str, object_type: &str, object_id: Option<String>) -> Self {
        Self {
            actor_id: None,
            actor_label: "system".into(),
            action: action.into(),
            object_type: object_type.into(),
            object_id,
            summary: String::new(),
            before: None,
            after: None,
            client_ip: None,
        }
    }

    pub fn actor(mut self, id: Option<i64>, label: impl Into<String>) -> Self {
        self.actor_id = id;
        self.actor_label = one_line(&label.into(), 200);
        self
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = one_line(&summary.into(), 1000);
        self
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(mask_secrets(value));
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(mask_secrets(value));
        self
    }

    pub fn client_ip(mut self, ip: Option<&str>) -> Self {
        self.client_ip = ip.map(str::to_string);
        self
    }
}

/// What someone typed as who they are (a login name, a provider's email), as the actor
/// label of an entry without a known actor: masked before it is cut to 100 characters, so
/// that no cut leaves part of a card number unmasked.
pub fn typed_label(typed: &str) -> String {
    crate::domain::card::mask(typed).chars().take(100).collect()
}

/// Writes `entry`. Call it on the same connection, inside the same transaction, as the
/// change it describes: both commit or neither does.
pub fn record(conn: &mut PgConnection, entry: AuditEntry) -> Result<i64, AppError> {
    let request_id = current_request_id();
    let id = diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(entry.actor_id),
            // The last line of the card-number policy: what the doors let through is
            // screened already; text recorded from elsewhere is masked here.
            audit_log::actor_label.eq(crate::domain::card::mask(&entry.actor_label).as_ref()),
            audit_log::action.eq(entry.action),
            audit_log::object_type.eq(entry.object_type),
            audit_log::object_id.eq(entry.object_id),
            audit_log::summary.eq(crate::domain::card::mask(&entry.summary).as_ref()),
            audit_log::before.eq(entry.before),
            audit_log::after.eq(entry.after),
            audit_log::client_ip.eq(entry.client_ip),
            audit_log::request_id.eq((request_id != "-").then_some(request_id)),
        ))
        .returning(audit_log::id)
        .get_result(conn)?;
    Ok(id)
}

/// Keys whose values never reach the audit log.
const SECRET_KEYS: &[&str] = &[
    "password",
    "token",
    "secret",
    "hash",
    "card_number",
    "cvv",
    "cvc",
];

fn mask_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k, Value::String("[redacted]".into()))
                    } else {
                        (k, mask_secrets(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask_secrets).collect()),
        Value::String(s) => Value::String(crate::domain::card::mask(&s).into_owned()),
        other => other,
    }
}

/// Control characters (a forged second line) become spaces; long text is cut.
fn one_line(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let v = serde_json::json!({"username": "a", "password_hash": "x", "nested": [{"refresh_token": "y"}]});
        let m = mask_secrets(v);
        assert_eq!(m["username"], "a");
        assert_eq!(m["password_hash"], "[redacted]");
        assert_eq!(m["nested"][0]["refresh_token"], "[redacted]");
    }

    #[test]
    fn labels_stay_on_one_line() {
        assert_eq!(
            one_line("bob\r\nadmin logged in", 100),
            "bob  admin logged in"
        );
    }
}
