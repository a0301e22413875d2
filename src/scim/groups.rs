//! `/scim/v2/Groups`: the provider's groups and their members (provisioned users). Kept so
//! that providers which push groups (Okta, Entra ID) work, and for what group membership
//! starts: a member who joins or leaves a group is handed to `rules` (onboarding
//! templates, roles), in the same transaction. Every change audited with the token's owner
//! as the actor.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::discovery::GROUP_SCHEMA;
use super::filter::{self, Column};
use super::users::{bound, member, CountRow, Env, IdRow};
use super::{etag, ScimError, ScimResult};
use crate::audit::{self, AuditEntry};
use crate::authz::Actor;
use crate::db::schema::{scim_group_members, scim_groups, scim_users};
use crate::error::AppError;

/// A group as the provider sent it.
#[derive(Debug, Clone)]
pub struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    members: Vec<i64>,
}

impl GroupInput {
    pub(crate) fn from_json(body: &Value) -> ScimResult<Self> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::bad(Some("invalidSyntax"), "The body must be a JSON object.")
        })?;
        let display_name = member(obj, "displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::invalid("displayName is required."))?
            .to_string();
        if display_name.chars().count() > 200 || display_name.contains(['\r', '\n']) {
            return Err(ScimError::invalid(
                "displayName is one line of at most 200 characters.",
            ));
        }
        let external_id = match member(obj, "externalId") {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) if s.chars().count() <= 254 => Some(s.trim().to_string()),
            Some(_) => {
                return Err(ScimError::invalid(
                    "externalId is a string of at most 254 characters.",
                ))
            }
        };
        let mut members = Vec::new();
        match member(obj, "members") {
            None => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let value = item
                        .as_object()
                        .and_then(|m| member(m, "value"))
                        .and_then(|v| match v {
                            Value::String(s) => s.trim().parse::<i64>().ok(),
                            Value::Number(n) => n.as_i64(),
                            _ => None,
                        })
                        .ok_or_else(|| {
                            ScimError::invalid("Each member is an object whose value is a user id.")
                        })?;
                    if !members.contains(&value) {
                        members.push(value);
                    }
                }
            }
            Some(_) => return Err(ScimError::invalid("members must be a list.")),
        }
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_groups, check_for_backend(diesel::pg::Pg))]
struct GroupRow {
    id: i64,
    display_name: String,
    external_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

fn resources(conn: &mut PgConnection, ids: &[i64], base: &str) -> Result<Vec<Value>, AppError> {
    let rows: Vec<GroupRow> = scim_groups::table
        .filter(scim_groups::id.eq_any(ids))
        .select(GroupRow::as_select())
        .load(conn)?;
    let members: Vec<(i64, i64)> = scim_group_members::table
        .filter(scim_group_members::group_id.eq_any(ids))
        .order(scim_group_members::user_id.asc())
        .select((scim_group_members::group_id, scim_group_members::user_id))
        .load(conn)?;
    let mut out: Vec<(i64, Value)> = rows
        .into_iter()
        .map(|g| {
            let list: Vec<Value> = members
                .iter()
                .filter(|(gid, _)| *gid == g.id)
                .map(|(_, uid)| {
                    json!({"value": uid.to_string(), "$ref": format!("{base}/Users/{uid}"),
                           "type": "User"})
                })
                .collect();
            let mut v = json!({
                "schemas": [GROUP_SCHEMA],
                "id": g.id.to_string(),
                "displayName": g.display_name,
                "members": list,
                "meta": {
                    "resourceType": "Group",
                    "created": g.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "lastModified": g.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "location": format!("{base}/Groups/{}", g.id),
                    "version": etag(g.version),
                },
            });
            if let Some(x) = g.external_id {
                v["externalId"] = json!(x);
            }
            (g.id, v)
        })
        .collect();
    out.sort_by_key(|(id, _)| ids.iter().position(|i| i == id));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

pub(crate) fn resource(conn: &mut PgConnection, id: i64, base: &str) -> Result<Value, AppError> {
    resources(conn, &[id], base)?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

fn column(key: &str) -> Option<Column> {
    Some(match key {
        "id" => Column::ExactText("g.id::text"),
        "displayname" => Column::Text("g.display_name"),
        "externalid" => Column::ExactText("g.external_id"),
        "members" | "members.value" => Column::ExactText(
            "(SELECT string_agg(m.user_id::text, ',') FROM scim_group_members m WHERE m.group_id = g.id)",
        ),
        "meta.created" => Column::Time("g.created_at"),
        "meta.lastmodified" => Column::Time("g.updated_at"),
        _ => return None,
    })
}

/// The members must be provisioned users (an unknown one is the provider's mistake: 400).
fn check_members(conn: &mut PgConnection, members: &[i64]) -> Result<(), ScimError> {
    let known: Vec<i64> = scim_users::table
        .filter(scim_users::user_id.eq_any(members))
        .select(scim_users::user_id)
        .load(conn)
        .map_err(AppError::from)?;
    match members.iter().find(|m| !known.contains(m)) {
        Some(m) => Err(ScimError::invalid(format!(
            "members: {m} is not a provisioned user."
        ))),
        None => Ok(()),
    }
}

fn check_name(conn: &mut PgConnection, name: &str, except: i64) -> Result<(), ScimError> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        scim_groups::table
            .filter(crate::db::lower(scim_groups::display_name).eq(name.to_lowercase()))
            .filter(scim_groups::id.ne(except)),
    ))
    .get_result(conn)
    .map_err(AppError::from)?;
    if taken {
        return Err(ScimError::uniqueness(format!(
            "A group named {name:?} already exists."
        )));
    }
    Ok(())
}

fn write_members(conn: &mut PgConnection, id: i64, members: &[i64]) -> Result<(), AppError> {
    diesel::delete(scim_group_members::table.filter(scim_group_members::group_id.eq(id)))
        .execute(conn)?;
    let rows: Vec<_> = members
        .iter()
        .map(|m| {
            (
                scim_group_members::group_id.eq(id),
                scim_group_members::user_id.eq(*m),
            )
        })
        .collect();
    diesel::insert_into(scim_group_members::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

/// Hands each member who joined or left to the rules; a rename is leaving the old name and
/// joining the new one.
fn members_changed(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &Env,
    before: Option<(&str, &[i64])>,
    after: Option<(&str, &[i64])>,
) -> ScimResult<()> {
    let (old_name, old) = before.unwrap_or(("", &[]));
    let (new_name, new) = after.unwrap_or(("", &[]));
    let renamed = !old_name.eq_ignore_ascii_case(new_name);
    let mut people: Vec<i64> = old.iter().chain(new.iter()).copied().collect();
    people.sort_unstable();
    people.dedup();
    let rules = super::rules::RuleEnv {
        links: &env.links,
        lead_days: env.lead_days,
    };
    for person in people {
        let (was, is) = (old.contains(&person), new.contains(&person));
        let joined: Vec<String> = (is && (!was || renamed))
            .then(|| new_name.to_string())
            .into_iter()
            .collect();
        let left: Vec<String> = (was && (!is || renamed))
            .then(|| old_name.to_string())
            .into_iter()
            .collect();
        if !joined.is_empty() || !left.is_empty() {
            super::rules::groups_changed(conn, actor, &rules, person, &joined, &left)?;
        }
    }
    Ok(())
}

pub(crate) fn create_group(
    conn: &mut PgConnection,
    actor: &Actor,
    g: &GroupInput,
    env: &Env,
) -> Result<i64, ScimError> {
    crate::db::transaction(conn, |conn| {
        check_name(conn, &g.display_name, 0)?;
        check_members(conn, &g.members)?;
        let id: i64 = diesel::insert_into(scim_groups::table)
            .values((
                scim_groups::display_name.eq(&g.display_name),
                scim_groups::external_id.eq(&g.external_id),
            ))
            .returning(scim_groups::id)
            .get_result(conn)
            .map_err(AppError::from)?;
        write_members(conn, id, &g.members)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "scim.group_created",
                "scim_group",
                Some(id.to_string()),
            )
            .summary(format!(
                "The identity provider made the group {:?} ({} member(s))",
                g.display_name,
                g.members.len()
            ))
            .after(json!({"displayName": g.display_name, "members": g.members})),
        )?;
        members_changed(conn, actor, env, None, Some((&g.display_name, &g.members)))?;
        Ok(id)
    })
}

pub(crate) fn replace_group(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    g: &GroupInput,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    crate::db::transaction(conn, |conn| {
        let (version, before_name): (i64, String) = scim_groups::table
            .find(id)
            .select((scim_groups::version, scim_groups::display_name))
            .for_update()
            .first(conn)
            .optional()
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound)?;
        if_match(&etag(version))?;
        check_name(conn, &g.display_name, id)?;
        check_members(conn, &g.members)?;
        let before: Vec<i64> = scim_group_members::table
            .filter(scim_group_members::group_id.eq(id))
            .order(scim_group_members::user_id.asc())
            .select(scim_group_members::user_id)
            .load(conn)
            .map_err(AppError::from)?;
        diesel::update(scim_groups::table.find(id))
            .set((
                scim_groups::display_name.eq(&g.display_name),
                scim_groups::external_id.eq(&g.external_id),
                scim_groups::updated_at.eq(crate::clock::now()),
                scim_groups::version.eq(version + 1),
            ))
            .execute(conn)
            .map_err(AppError::from)?;
        write_members(conn, id, &g.members)?;
        let added: Vec<i64> = g
            .members
            .iter()
            .filter(|m| !before.contains(m))
            .copied()
            .collect();
        let removed: Vec<i64> = before
            .iter()
            .filter(|m| !g.members.contains(m))
            .copied()
            .collect();
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "scim.group_updated",
                "scim_group",
                Some(id.to_string()),
            )
            .summary(format!(
                "The identity provider changed the group {:?}: {} member(s) added, {} removed",
                g.display_name,
                added.len(),
                removed.len()
            ))
            .before(json!({"displayName": before_name, "members": before}))
            .after(json!({"displayName": g.display_name, "members": g.members})),
        )?;
        members_changed(
            conn,
            actor,
            env,
            Some((&before_name, &before)),
            Some((&g.display_name, &g.members)),
        )?;
        Ok(())
    })
}

pub(crate) fn delete_group(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    crate::db::transaction(conn, |conn| {
        let (version, name): (i64, String) = scim_groups::table
            .find(id)
            .select((scim_groups::version, scim_groups::display_name))
            .for_update()
            .first(conn)
            .optional()
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound)?;
        if_match(&etag(version))?;
        let members: Vec<i64> = scim_group_members::table
            .filter(scim_group_members::group_id.eq(id))
            .select(scim_group_members::user_id)
            .load(conn)
            .map_err(AppError::from)?;
        diesel::delete(scim_groups::table.find(id))
            .execute(conn)
            .map_err(AppError::from)?;
        members_changed(conn, actor, env, Some((&name, &members)), None)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "scim.group_deleted",
                "scim_group",
                Some(id.to_string()),
            )
            .summary(format!("The identity provider deleted the group {name:?}")),
        )?;
        Ok(())
    })
}

/// The groups matching `filter` (all without one), a page of them by id, and how many
/// match.
pub(crate) fn search(
    conn: &mut PgConnection,
    filter_text: Option<&str>,
    paging: super::Paging,
    base: &str,
) -> Result<Result<(Vec<Value>, i64), ScimError>, AppError> {
    let clause = match filter_text.map(str::trim).filter(|f| !f.is_empty()) {
        None => filter::Sql {
            text: "TRUE".into(),
            binds: Vec::new(),
        },
        Some(text) => match filter::parse(text).and_then(|f| filter::sql(&f, &column)) {
            Ok(sql) => sql,
            Err(e) => return Ok(Err(ScimError::bad(Some("invalidFilter"), e.0))),
        },
    };
    let total = bound(
        format!(
            "SELECT count(*) AS total FROM scim_groups g WHERE {}",
            clause.text
        ),
        &clause.binds,
    )
    .get_result::<CountRow>(conn)?
    .total;
    let ids: Vec<i64> = bound(
        format!(
            "SELECT g.id AS id FROM scim_groups g WHERE {} ORDER BY g.id OFFSET {} LIMIT {}",
            clause.text, paging.offset, paging.count
        ),
        &clause.binds,
    )
    .load::<IdRow>(conn)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    Ok(Ok((resources(conn, &ids, base)?, total)))
}
