//! `/scim/v2/Users`: a SCIM user is a directory person linked to the provider
//! (`scim_users`). Created, replaced and patched through `directory::commands` (so the
//! directory's rules — lengths, card numbers, unique emails, the last Admin — hold), with
//! `active: false` or a DELETE starting the person's offboarding (last day today) and
//! `active: true` again cancelling it (or, once offboarded, making them active again).
//! Every change commits with its audit entries in one transaction, with the token's owner
//! (the service account) as the actor.
//!
//! Attribute names are case-insensitive, and `active` may come as a string (`"False"`, as
//! Entra ID sends it).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use super::filter::{self, Column};
use super::{etag, ScimError, ScimResult};
use crate::audit::{self, AuditEntry};
use crate::auth::links::LinkSettings;
use crate::authz::Actor;
use crate::db::schema::{scim_users, users, workflows};
use crate::directory::requests::{PersonChanges, PersonText};
use crate::domain::{EmploymentStatus, PersonId, WorkflowKind, WorkflowStatus};
use crate::error::{AppError, CommandError};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// PortalOps' own user extension: `startDate`, the first working day (a future one makes
/// the person "onboarding"), which neither the core schema nor the enterprise one has.
pub const PORTALOPS_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:portalops:2.0:User";
/// The user extensions, as this server spells them.
pub const EXTENSIONS: [&str; 2] = [ENTERPRISE_SCHEMA, PORTALOPS_SCHEMA];

/// The SCIM attribute a directory field's message is about.
pub fn attribute_of(field: &str) -> &str {
    match field {
        "full_name" => "name",
        "email" => "emails",
        "job_title" => "title",
        "department" => "department",
        "manager_email" => "manager",
        "employment_status" => "active",
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// What a provider sends.

/// A user as the provider sent it, read leniently (names in any case, `active` as a string)
/// and checked for what SCIM itself requires; the directory checks the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted: Option<String>,
    pub display_name: Option<String>,
    /// The email the directory keeps: the primary one, else the work one, else the first.
    pub email: Option<String>,
    pub active: bool,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_number: Option<String>,
    /// The manager's SCIM id.
    pub manager: Option<String>,
    /// The email list as sent (value, type, primary), kept to give back.
    pub emails: Option<Value>,
    /// `startDate` as sent (a date, or a date and time): checked to be one when read.
    pub start_date: Option<String>,
}

/// The day `sent` names in `zone`: `2027-01-04`, or a date and time (RFC 3339, as Entra's
/// `employeeHireDate` is) taken in the company's time zone.
pub fn start_day(sent: &str, zone: chrono_tz::Tz) -> Option<chrono::NaiveDate> {
    let sent = sent.trim();
    chrono::NaiveDate::parse_from_str(sent, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(sent)
                .ok()
                .map(|t| t.with_timezone(&zone).date_naive())
        })
}

/// `obj[name]`, the name compared ignoring case.
pub(crate) fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// A string attribute: `None` when absent, null or blank; a 400 when not a string.
fn text(obj: &Map<String, Value>, name: &str) -> ScimResult<Option<String>> {
    match member(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ScimError::invalid(format!("{name} must be a string."))),
    }
}

/// A boolean attribute, also as the strings `"true"`/`"false"` in any case (Entra ID).
pub(crate) fn boolean(value: &Value, name: &str) -> ScimResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid(format!("{name} must be true or false."))),
    }
}

fn check_len(name: &str, v: &Option<String>, max: usize) -> ScimResult<()> {
    match v {
        Some(s) if s.chars().count() > max => Err(ScimError::invalid(format!(
            "{name} is longer than {max} characters."
        ))),
        _ => Ok(()),
    }
}

impl UserInput {
    pub fn from_json(body: &Value) -> ScimResult<Self> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::bad(Some("invalidSyntax"), "The body must be a JSON object.")
        })?;
        let user_name =
            text(obj, "userName")?.ok_or_else(|| ScimError::invalid("userName is required."))?;
        let name = match member(obj, "name") {
            None => None,
            Some(Value::Object(n)) => Some(n),
            Some(_) => return Err(ScimError::invalid("name must be an object.")),
        };
        let (given_name, family_name, formatted) = match name {
            Some(n) => (
                text(n, "givenName")?,
                text(n, "familyName")?,
                text(n, "formatted")?,
            ),
            None => (None, None, None),
        };
        let mut kept = None;
        let email = match member(obj, "emails") {
            None => None,
            Some(Value::Array(items)) => {
                let mut emails = Vec::new();
                let mut list = Vec::new();
                for item in items {
                    let Some(e) = item.as_object() else {
                        return Err(ScimError::invalid("Each of emails must be an object."));
                    };
                    let primary = match member(e, "primary") {
                        Some(v) => boolean(v, "emails.primary")?,
                        None => false,
                    };
                    let kind = text(e, "type")?.map(|t| t.to_ascii_lowercase());
                    if let Some(value) = text(e, "value")? {
                        check_len("emails.value", &Some(value.clone()), 254)?;
                        check_len("emails.type", &kind, 50)?;
                        let mut one = json!({"value": value});
                        if let Some(k) = text(e, "type")? {
                            one["type"] = json!(k);
                        }
                        if member(e, "primary").is_some() {
                            one["primary"] = json!(primary);
                        }
                        list.push(one);
                        emails.push((primary, kind.as_deref() == Some("work"), value));
                    }
                }
                if list.len() > 20 {
                    return Err(ScimError::invalid("At most 20 emails."));
                }
                kept = (!list.is_empty()).then_some(Value::Array(list));
                emails
                    .iter()
                    .find(|(p, _, _)| *p)
                    .or_else(|| emails.iter().find(|(_, w, _)| *w))
                    .or_else(|| emails.first())
                    .map(|(_, _, v)| v.clone())
            }
            Some(_) => return Err(ScimError::invalid("emails must be a list.")),
        };
        let active = match member(obj, "active") {
            None => true,
            Some(v) => boolean(v, "active")?,
        };
        let enterprise = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
            .and_then(|(_, v)| v.as_object());
        let (department, employee_number, manager) = match enterprise {
            None => (None, None, None),
            Some(ext) => {
                let manager = match member(ext, "manager") {
                    None => None,
                    Some(Value::Object(m)) => text(m, "value")?,
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    Some(Value::String(_)) => None,
                    Some(_) => {
                        return Err(ScimError::invalid(
                            "manager must be an object with a value.",
                        ))
                    }
                };
                (
                    text(ext, "department")?,
                    text(ext, "employeeNumber")?,
                    manager,
                )
            }
        };
        let portalops = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(PORTALOPS_SCHEMA))
            .map(|(_, v)| v);
        let start_date = match portalops {
            None | Some(Value::Null) => None,
            Some(Value::Object(ext)) => text(ext, "startDate")?,
            Some(_) => return Err(ScimError::invalid("The PortalOps extension is an object.")),
        };
        if let Some(d) = &start_date {
            if d.chars().count() > 64 || start_day(d, chrono_tz::UTC).is_none() {
                return Err(ScimError::invalid(format!(
                    "startDate {d:?} is not a date (2027-01-04) or a date and time \
                     (2027-01-04T09:00:00Z)."
                )));
            }
        }
        let input = Self {
            start_date,
            user_name,
            external_id: text(obj, "externalId")?,
            given_name,
            family_name,
            formatted,
            display_name: text(obj, "displayName")?,
            email,
            active,
            title: text(obj, "title")?,
            department,
            employee_number,
            manager,
            emails: kept,
        };
        check_len("userName", &Some(input.user_name.clone()), 254)?;
        check_len("externalId", &input.external_id, 254)?;
        check_len("name.givenName", &input.given_name, 200)?;
        check_len("name.familyName", &input.family_name, 200)?;
        check_len("displayName", &input.display_name, 200)?;
        check_len("employeeNumber", &input.employee_number, 100)?;
        Ok(input)
    }

    /// The directory's full name: the formatted name, else given and family, else the
    /// display name, else the user name.
    fn full_name(&self) -> String {
        if let Some(f) = &self.formatted {
            return f.clone();
        }
        let parts: Vec<&str> = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
        self.display_name
            .clone()
            .unwrap_or_else(|| self.user_name.clone())
    }

    /// The directory's email: the one chosen from `emails`, else `userName` when it is an
    /// address.
    fn directory_email(&self) -> ScimResult<String> {
        let email = self
            .email
            .clone()
            .or_else(|| self.user_name.contains('@').then(|| self.user_name.clone()))
            .ok_or_else(|| {
                ScimError::invalid(
                    "emails: the directory needs an email address (send a work email, or a \
                     userName that is one).",
                )
            })?;
        Ok(email.to_lowercase())
    }
}

// ---------------------------------------------------------------------------------------
// What is stored.

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_users, check_for_backend(diesel::pg::Pg))]
struct ScimRow {
    user_id: i64,
    user_name: String,
    external_id: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    formatted_name: Option<String>,
    display_name: Option<String>,
    employee_number: Option<String>,
    emails: Option<Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    start_date_sent: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct PersonPart {
    email: String,
    job_title: Option<String>,
    department: Option<String>,
    manager_id: Option<i64>,
    employment_status: EmploymentStatus,
}

/// Whether the provider sees a person as active: not leaving, not left.
fn is_active(status: EmploymentStatus) -> bool {
    !matches!(
        status,
        EmploymentStatus::Offboarding | EmploymentStatus::Offboarded
    )
}

/// The linked users with these ids, as SCIM resources, in the order of `ids`.
fn resources(conn: &mut PgConnection, ids: &[i64], base: &str) -> Result<Vec<Value>, AppError> {
    if ids.is_empty() {
        // The provider's lookup before a create usually finds nobody.
        return Ok(Vec::new());
    }
    let rows: Vec<(ScimRow, PersonPart)> = scim_users::table
        .inner_join(users::table)
        .filter(scim_users::user_id.eq_any(ids))
        .select((ScimRow::as_select(), PersonPart::as_select()))
        .load(conn)?;
    let managers: Vec<i64> = rows.iter().filter_map(|(_, p)| p.manager_id).collect();
    // A manager is shown when they are provisioned too (their id is a SCIM id).
    let linked_managers: Vec<i64> = if managers.is_empty() {
        Vec::new()
    } else {
        scim_users::table
            .filter(scim_users::user_id.eq_any(&managers))
            .select(scim_users::user_id)
            .load(conn)?
    };
    let mut out: Vec<(i64, Value)> = rows
        .into_iter()
        .map(|(s, p)| {
            let manager = p.manager_id.filter(|m| linked_managers.contains(m));
            (s.user_id, representation(&s, &p, manager, base))
        })
        .collect();
    out.sort_by_key(|(id, _)| ids.iter().position(|i| i == id));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

fn representation(s: &ScimRow, p: &PersonPart, manager: Option<i64>, base: &str) -> Value {
    let mut user = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": s.user_id.to_string(),
        "userName": s.user_name,
        "emails": emails_of(s.emails.as_ref(), &p.email),
        "active": is_active(p.employment_status),
        "meta": {
            "resourceType": "User",
            "created": s.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": s.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/Users/{}", s.user_id),
            "version": etag(s.version),
        },
    });
    if let Some(x) = &s.external_id {
        user["externalId"] = json!(x);
    }
    if let Some(d) = &s.display_name {
        user["displayName"] = json!(d);
    }
    // The name parts the provider set (the directory's full name is made from them).
    let mut name = Map::new();
    for (key, part) in [
        ("formatted", &s.formatted_name),
        ("givenName", &s.given_name),
        ("familyName", &s.family_name),
    ] {
        if let Some(v) = part {
            name.insert(key.into(), json!(v));
        }
    }
    if !name.is_empty() {
        user["name"] = Value::Object(name);
    }
    if let Some(t) = &p.job_title {
        user["title"] = json!(t);
    }
    let mut ext = Map::new();
    if let Some(d) = &p.department {
        ext.insert("department".into(), json!(d));
    }
    if let Some(n) = &s.employee_number {
        ext.insert("employeeNumber".into(), json!(n));
    }
    if let Some(id) = manager {
        ext.insert(
            "manager".into(),
            json!({"value": id.to_string(), "$ref": format!("{base}/Users/{id}"), }),
        );
    }
    if !ext.is_empty() {
        user[ENTERPRISE_SCHEMA] = Value::Object(ext);
    }
    if let Some(d) = &s.start_date_sent {
        user[PORTALOPS_SCHEMA] = json!({ "startDate": d });
        user["schemas"] = json!([USER_SCHEMA, ENTERPRISE_SCHEMA, PORTALOPS_SCHEMA]);
    }
    user
}

/// The email list to give back: as the provider sent it while it still holds the
/// directory's email; else (the email was changed in PortalOps since) the directory's email
/// first, as the primary one.
fn emails_of(sent: Option<&Value>, email: &str) -> Value {
    let mut list: Vec<Value> = sent.and_then(Value::as_array).cloned().unwrap_or_default();
    let holds = list.iter().any(|e| {
        e["value"]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(email))
    });
    if !holds {
        for e in list.iter_mut() {
            e["primary"] = json!(false);
        }
        list.insert(0, json!({"value": email, "type": "work", "primary": true}));
    }
    Value::Array(list)
}

/// One linked user as a resource (404 when there is none).
pub fn resource(conn: &mut PgConnection, id: i64, base: &str) -> Result<Value, AppError> {
    resources(conn, &[id], base)?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// The columns a filter may compare, by `AttrPath::key`.
fn column(key: &str) -> Option<Column> {
    Some(match key {
        "id" => Column::ExactText("s.user_id::text"),
        "username" => Column::Text("s.user_name"),
        "externalid" => Column::ExactText("s.external_id"),
        "displayname" => Column::Text("COALESCE(s.display_name, u.full_name)"),
        "name.formatted" => Column::Text("u.full_name"),
        "name.givenname" => Column::Text("s.given_name"),
        "name.familyname" => Column::Text("s.family_name"),
        "emails" | "emails.value" => Column::Text("u.email"),
        "emails.type" => Column::Text("'work'"),
        "title" => Column::Text("u.job_title"),
        "department" => Column::Text("u.department"),
        "employeenumber" => Column::Text("s.employee_number"),
        "manager" | "manager.value" => Column::ExactText("u.manager_id::text"),
        "active" => Column::Bool("(u.employment_status NOT IN ('offboarding', 'offboarded'))"),
        "meta.created" => Column::Time("s.created_at"),
        "meta.lastmodified" => Column::Time("s.updated_at"),
        _ => return None,
    })
}

#[derive(QueryableByName)]
pub(crate) struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) id: i64,
}

#[derive(QueryableByName)]
pub(crate) struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) total: i64,
}

/// Runs `sql` (`SELECT … WHERE <filter>`) with the filter's binds.
pub(crate) fn bound(
    sql: String,
    binds: &[filter::Bind],
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>
{
    let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
    for b in binds {
        q = match b {
            filter::Bind::Text(s) => q.bind::<diesel::sql_types::Text, _>(s.clone()),
            filter::Bind::Time(t) => q.bind::<diesel::sql_types::Timestamptz, _>(*t),
        };
    }
    q
}

/// The linked users matching `filter` (all without one), a page of them by id, and how
/// many match.
pub(crate) fn search(
    conn: &mut PgConnection,
    filter_text: Option<&str>,
    paging: super::Paging,
    base: &str,
) -> Result<Result<(Vec<Value>, i64), ScimError>, AppError> {
    let parsed = match filter_text.map(str::trim).filter(|f| !f.is_empty()) {
        None => None,
        Some(text) => match filter::parse(text) {
            Ok(f) => Some(f),
            Err(e) => return Ok(Err(ScimError::bad(Some("invalidFilter"), e.0))),
        },
    };
    // The lookup a provider makes before every create (`userName eq "…"`): a typed,
    // prepared statement. The general path's SQL is built per filter, so PostgreSQL plans
    // it on every request (0.2–0.5 ms, several times its execution).
    if let Some(filter::Filter::Compare(path, filter::Op::Eq, filter::Value::Str(v))) = &parsed {
        if path.uri.is_none() && path.key() == "username" {
            let found: Vec<i64> = scim_users::table
                .filter(crate::db::lower(scim_users::user_name).eq(v.to_lowercase()))
                .select(scim_users::user_id)
                .load(conn)?;
            let total = found.len() as i64;
            let page: Vec<i64> = found
                .into_iter()
                .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
                .take(usize::try_from(paging.count).unwrap_or(0))
                .collect();
            return Ok(Ok((resources(conn, &page, base)?, total)));
        }
    }
    let clause = match &parsed {
        None => filter::Sql {
            text: "TRUE".into(),
            binds: Vec::new(),
        },
        Some(f) => match filter::sql(f, &column) {
            Ok(sql) => sql,
            Err(e) => return Ok(Err(ScimError::bad(Some("invalidFilter"), e.0))),
        },
    };
    let from = "FROM scim_users s JOIN users u ON u.id = s.user_id";
    let ids: Vec<i64> = bound(
        format!(
            "SELECT s.user_id AS id {from} WHERE {} ORDER BY s.user_id OFFSET {} LIMIT {}",
            clause.text, paging.offset, paging.count
        ),
        &clause.binds,
    )
    .load::<IdRow>(conn)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    // A first page that is not full holds them all (a provider's lookup by userName): no
    // count needed.
    let total = if paging.offset == 0 && (ids.len() as i64) < paging.count {
        ids.len() as i64
    } else {
        bound(
            format!("SELECT count(*) AS total {from} WHERE {}", clause.text),
            &clause.binds,
        )
        .get_result::<CountRow>(conn)?
        .total
    };
    Ok(Ok((resources(conn, &ids, base)?, total)))
}

// ---------------------------------------------------------------------------------------
// Changes.

/// What a create or a change does to the person besides their fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    None,
    Deactivate,
    Reactivate,
}

/// A person's directory fields as `input` sets them, the rest (role, login, dates) as they
/// are: checked by the directory's own rules.
fn changes(
    conn: &mut PgConnection,
    input: &UserInput,
    current: Option<&crate::directory::queries::Person>,
    status: EmploymentStatus,
    start_day: Option<chrono::NaiveDate>,
) -> Result<PersonChanges, ScimError> {
    let email = input.directory_email()?;
    let manager_email = match &input.manager {
        None => String::new(),
        Some(m) => {
            let id: i64 = m
                .parse()
                .map_err(|_| ScimError::invalid(format!("manager {m:?} is not a user id.")))?;
            scim_users::table
                .inner_join(users::table)
                .filter(scim_users::user_id.eq(id))
                .select(users::email)
                .first::<String>(conn)
                .optional()
                .map_err(AppError::from)?
                .ok_or_else(|| {
                    ScimError::invalid(format!("manager {m:?} is not a provisioned user."))
                })?
        }
    };
    let full_name = input.full_name();
    let role = current.map_or("user", |p| p.role.as_str());
    let username = current.and_then(|p| p.username.clone()).unwrap_or_default();
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let (start, end) = (
        date(start_day.or_else(|| current.and_then(|p| p.start_date))),
        date(current.and_then(|p| p.end_date)),
    );
    let text = PersonText {
        full_name: &full_name,
        email: &email,
        username: &username,
        role,
        is_active: current.is_none_or(|p| p.is_active),
        department: input.department.as_deref().unwrap_or(""),
        job_title: input.title.as_deref().unwrap_or(""),
        manager_email: &manager_email,
        employment_status: status.as_str(),
        start_date: &start,
        end_date: &end,
        password: "",
    };
    PersonChanges::parse(&text).map_err(|f| CommandError::Invalid(f).into())
}

/// The provider's userName or externalId already belongs to another linked user: 409.
fn check_unique(
    conn: &mut PgConnection,
    input: &UserInput,
    except: Option<i64>,
) -> Result<(), ScimError> {
    let except = except.unwrap_or(0);
    let (name_taken, id_taken): (bool, bool) = diesel::select((
        diesel::dsl::exists(user_name_taken(input.user_name.to_lowercase(), except)),
        diesel::dsl::exists(external_id_taken(
            input.external_id.clone().unwrap_or_default(),
            except,
        )),
    ))
    .get_result(conn)
    .map_err(AppError::from)?;
    refuse_taken(input, name_taken, id_taken)
}

/// Linked users other than `except` with this userName (lowercased: it ignores case). Not
/// boxed, so that its statement is prepared once per connection.
#[diesel::dsl::auto_type(no_type_alias)]
fn user_name_taken(lowered: String, except: i64) -> _ {
    scim_users::table
        .filter(crate::db::lower(scim_users::user_name).eq(lowered))
        .filter(scim_users::user_id.ne(except))
}

/// Linked users other than `except` with this externalId ("" when there is none: never
/// stored, as an absent one is NULL).
#[diesel::dsl::auto_type(no_type_alias)]
fn external_id_taken(external_id: String, except: i64) -> _ {
    scim_users::table
        .filter(scim_users::external_id.eq(external_id))
        .filter(scim_users::user_id.ne(except))
}

/// The 409 for a userName or an externalId that is taken.
fn refuse_taken(input: &UserInput, name_taken: bool, id_taken: bool) -> Result<(), ScimError> {
    if name_taken {
        return Err(ScimError::uniqueness(format!(
            "userName {:?} is already provisioned.",
            input.user_name
        )));
    }
    match &input.external_id {
        Some(x) if id_taken => Err(ScimError::uniqueness(format!(
            "externalId {x:?} is already provisioned."
        ))),
        _ => Ok(()),
    }
}

/// Context every change needs.
pub struct Env {
    pub links: LinkSettings,
    pub base: String,
    /// Grant tasks are due this many days before the start date.
    pub lead_days: i64,
}

impl Env {
    fn rules(&self) -> super::rules::RuleEnv<'_> {
        super::rules::RuleEnv {
            links: &self.links,
            lead_days: self.lead_days,
        }
    }

    /// The day `input`'s `startDate` names, in the company's time zone.
    fn start_day(&self, input: &UserInput) -> Option<chrono::NaiveDate> {
        input
            .start_date
            .as_deref()
            .and_then(|d| start_day(d, self.links.timezone))
    }
}

/// `run`, and when it was refused for deactivating the last active Admin, the Admins told
/// (after its transaction rolled back).
fn telling_admins<T>(
    conn: &mut PgConnection,
    env: &Env,
    run: impl FnOnce(&mut PgConnection) -> Result<T, ScimError>,
) -> Result<T, ScimError> {
    let result = run(conn);
    if let Err(ScimError {
        last_admin: Some(person),
        ..
    }) = &result
    {
        let public = env.links.public_url.trim_end_matches('/').to_string();
        if let Err(e) =
            super::rules::alert_last_admin(conn, *person, env.links.today, env.links.now, &public)
        {
            tracing::error!(error = %e, person, "could not tell the Admins about the last Admin");
        }
    }
    result
}

/// A failed change as the SCIM answer.
fn scim_error(e: CommandError) -> ScimError {
    e.into()
}

/// Creates the user: links the directory person with the same email when there is one not
/// yet linked, else adds a person. Returns the user's id.
pub(crate) fn create_user(
    conn: &mut PgConnection,
    actor: &Actor,
    input: &UserInput,
    env: &Env,
) -> Result<i64, ScimError> {
    telling_admins(conn, env, |conn| create_user_now(conn, actor, input, env))
}

fn create_user_now(
    conn: &mut PgConnection,
    actor: &Actor,
    input: &UserInput,
    env: &Env,
) -> Result<i64, ScimError> {
    let start = env.start_day(input);
    crate::db::transaction(conn, |conn| {
        let email = input.directory_email()?;
        // Both uniqueness rules and the directory's person with this email, in one statement.
        let (name_taken, id_taken, existing): (bool, bool, Option<i64>) = diesel::select((
            diesel::dsl::exists(user_name_taken(input.user_name.to_lowercase(), 0)),
            diesel::dsl::exists(external_id_taken(
                input.external_id.clone().unwrap_or_default(),
                0,
            )),
            users::table
                .filter(crate::db::lower(users::email).eq(&email))
                .select(users::id)
                .single_value(),
        ))
        .get_result(conn)
        .map_err(AppError::from)?;
        refuse_taken(input, name_taken, id_taken)?;
        let (id, adopted) = match existing {
            Some(id) => {
                let linked: bool = diesel::select(diesel::dsl::exists(
                    scim_users::table.filter(scim_users::user_id.eq(id)),
                ))
                .get_result(conn)
                .map_err(AppError::from)?;
                if linked {
                    return Err(ScimError::uniqueness(format!(
                        "{email} is already provisioned under another userName."
                    )));
                }
                let person = crate::directory::queries::find_person(conn, PersonId(id))?;
                let v = changes(conn, input, Some(&person), person.employment_status, start)?;
                crate::directory::commands::update_person(conn, actor, PersonId(id), v, &env.links)
                    .map_err(scim_error)?;
                (id, true)
            }
            None => {
                // Someone created inactive never worked here: left, with nothing to revoke;
                // someone who starts later is onboarding until then.
                let status = match (input.active, start) {
                    (false, _) => EmploymentStatus::Offboarded,
                    (true, Some(day)) if day > env.links.today => EmploymentStatus::Onboarding,
                    (true, _) => EmploymentStatus::Active,
                };
                let v = changes(conn, input, None, status, start)?;
                let saved =
                    crate::directory::commands::create_person_within(conn, actor, &v, &env.links)
                        .map_err(scim_error)?;
                (saved.value.get(), false)
            }
        };
        let now = crate::clock::now();
        diesel::insert_into(scim_users::table)
            .values((
                scim_users::user_id.eq(id),
                scim_users::user_name.eq(&input.user_name),
                scim_users::external_id.eq(&input.external_id),
                scim_users::given_name.eq(&input.given_name),
                scim_users::family_name.eq(&input.family_name),
                scim_users::formatted_name.eq(&input.formatted),
                scim_users::display_name.eq(&input.display_name),
                scim_users::employee_number.eq(&input.employee_number),
                scim_users::emails.eq(&input.emails),
                scim_users::start_date_sent.eq(&input.start_date),
                scim_users::created_at.eq(now),
                scim_users::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(AppError::from)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "scim.user_created", "user", Some(id.to_string()))
                .summary(if adopted {
                    format!(
                        "Linked {email} in the directory to the identity provider's user {:?}",
                        input.user_name
                    )
                } else {
                    format!(
                        "Provisioned {email} from the identity provider (user {:?})",
                        input.user_name
                    )
                })
                .after(json!({
                    "userName": input.user_name,
                    "externalId": input.external_id,
                    "active": input.active,
                })),
        )?;
        if adopted && !input.active {
            transition(conn, actor, id, Transition::Deactivate, env)?;
        }
        if let (true, Some(d)) = (input.active, &input.department) {
            super::rules::department_set(conn, actor, &env.rules(), id, d)?;
        }
        Ok(id)
    })
}

/// Replaces the user's attributes with `input` (PUT, and PATCH after its operations).
pub(crate) fn replace_user(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    input: &UserInput,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    telling_admins(conn, env, |conn| {
        replace_user_now(conn, actor, id, input, env, if_match)
    })
}

fn replace_user_now(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    input: &UserInput,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    let start = env.start_day(input);
    crate::db::transaction(conn, |conn| {
        let version: i64 = scim_users::table
            .find(id)
            .select(scim_users::version)
            .for_update()
            .first(conn)
            .optional()
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound)?;
        if_match(&etag(version))?;
        check_unique(conn, input, Some(id))?;
        let person = crate::directory::queries::find_person(conn, PersonId(id))?;
        let was_active = is_active(person.employment_status);
        let v = changes(conn, input, Some(&person), person.employment_status, start)?;
        let new_department = v
            .department
            .as_ref()
            .map(|d| d.as_str().to_string())
            .filter(|d| {
                person
                    .department
                    .as_deref()
                    .is_none_or(|before| !before.eq_ignore_ascii_case(d))
            });
        let unchanged = v.start_date == person.start_date
            && v.full_name.as_str() == person.full_name
            && v.email.as_str() == person.email
            && v.department.as_ref().map(|d| d.as_str()) == person.department.as_deref()
            && v.job_title.as_ref().map(|d| d.as_str()) == person.job_title.as_deref()
            && person.manager_id.map(|m| m.to_string()) == input.manager;
        if !unchanged {
            crate::directory::commands::update_person(conn, actor, PersonId(id), v, &env.links)
                .map_err(scim_error)?;
        }
        diesel::update(scim_users::table.find(id))
            .set((
                scim_users::user_name.eq(&input.user_name),
                scim_users::external_id.eq(&input.external_id),
                scim_users::given_name.eq(&input.given_name),
                scim_users::family_name.eq(&input.family_name),
                scim_users::formatted_name.eq(&input.formatted),
                scim_users::display_name.eq(&input.display_name),
                scim_users::employee_number.eq(&input.employee_number),
                scim_users::emails.eq(&input.emails),
                scim_users::start_date_sent.eq(&input.start_date),
                scim_users::updated_at.eq(crate::clock::now()),
                scim_users::version.eq(version + 1),
            ))
            .execute(conn)
            .map_err(AppError::from)?;
        let step = match (was_active, input.active) {
            (true, false) => Transition::Deactivate,
            (false, true) => Transition::Reactivate,
            _ => Transition::None,
        };
        transition(conn, actor, id, step, env)?;
        if let (true, Some(d)) = (input.active, new_department) {
            super::rules::department_set(conn, actor, &env.rules(), id, &d)?;
        }
        Ok(())
    })
}

/// Deactivation starts the person's offboarding (last day today, the login ends now);
/// reactivation cancels an open one, or makes an offboarded person active again.
fn transition(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    step: Transition,
    env: &Env,
) -> Result<(), ScimError> {
    let person = crate::directory::queries::find_person(conn, PersonId(id))?;
    match step {
        Transition::None => Ok(()),
        Transition::Deactivate => {
            let delay = super::rules::delay_days(conn)?;
            let request = crate::workflows::requests::NewOffboarding {
                email: person.email.clone(),
                last_day: env.links.today + chrono::TimeDelta::days(delay),
                disable_login_now: true,
            };
            crate::workflows::commands::start_offboarding(conn, actor, request)
                .map(|_| ())
                .map_err(|e| match e {
                    CommandError::Refused(m) if person.role == crate::domain::Role::Admin => {
                        let mut e = ScimError::bad(Some("mutability"), m);
                        e.last_admin = Some(id);
                        e
                    }
                    CommandError::Invalid(fields) => ScimError::bad(
                        Some("mutability"),
                        format!(
                            "The person cannot be deactivated: {}",
                            fields
                                .iter()
                                .map(|(_, m)| m.to_string())
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    ),
                    other => scim_error(other),
                })
        }
        Transition::Reactivate => {
            let open: Option<crate::domain::WorkflowId> = workflows::table
                .filter(workflows::person_id.eq(id))
                .filter(workflows::kind.eq(WorkflowKind::Offboarding))
                .filter(workflows::status.eq(WorkflowStatus::Open))
                .select(workflows::id)
                .first(conn)
                .optional()
                .map_err(AppError::from)?;
            match open {
                Some(w) => {
                    let reason = crate::workflows::requests::Cancellation::new(
                        "Reactivated by the identity provider",
                    )
                    .map_err(CommandError::Invalid)
                    .map_err(scim_error)?;
                    crate::workflows::commands::cancel(conn, actor, w, reason).map_err(scim_error)
                }
                None => {
                    let input_status = EmploymentStatus::Active;
                    let mut v = crate::directory::requests::PersonChanges::parse(&PersonText {
                        full_name: &person.full_name,
                        email: &person.email,
                        username: person.username.as_deref().unwrap_or(""),
                        role: person.role.as_str(),
                        is_active: person.is_active,
                        department: person.department.as_deref().unwrap_or(""),
                        job_title: person.job_title.as_deref().unwrap_or(""),
                        manager_email: "",
                        employment_status: input_status.as_str(),
                        start_date: "",
                        end_date: "",
                        password: "",
                    })
                    .map_err(CommandError::Invalid)
                    .map_err(scim_error)?;
                    v.manager_email = crate::directory::queries::manager_email(conn, &person)?
                        .and_then(|m| crate::domain::text::Line::parse(&m).ok());
                    v.start_date = person.start_date;
                    crate::directory::commands::update_person(
                        conn,
                        actor,
                        PersonId(id),
                        v,
                        &env.links,
                    )
                    .map(|_| ())
                    .map_err(scim_error)
                }
            }
        }
    }
}

/// Deletes the user: deactivates the person (their offboarding starts) and removes the
/// link, so the provider's id answers 404 from now on; the person stays in the directory.
pub(crate) fn delete_user(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    telling_admins(conn, env, |conn| {
        delete_user_now(conn, actor, id, env, if_match)
    })
}

fn delete_user_now(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    env: &Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> Result<(), ScimError> {
    crate::db::transaction(conn, |conn| {
        let (version, user_name): (i64, String) = scim_users::table
            .find(id)
            .select((scim_users::version, scim_users::user_name))
            .for_update()
            .first(conn)
            .optional()
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound)?;
        if_match(&etag(version))?;
        let person = crate::directory::queries::find_person(conn, PersonId(id))?;
        if is_active(person.employment_status) {
            transition(conn, actor, id, Transition::Deactivate, env)?;
        }
        diesel::delete(scim_users::table.find(id))
            .execute(conn)
            .map_err(AppError::from)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "scim.user_deleted", "user", Some(id.to_string())).summary(
                format!(
                    "The identity provider deleted its user {user_name:?} ({}): unlinked, the \
                     person stays in the directory",
                    person.email
                ),
            ),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_s_shapes_are_read() {
        let u = UserInput::from_json(&json!({
            "schemas": [USER_SCHEMA],
            "UserName": "ada@example.com",
            "active": "False",
            "emails": [{"type": "work", "value": "Ada@Example.com", "primary": "true"}],
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            ENTERPRISE_SCHEMA: {"department": "Research", "manager": "17"},
        }))
        .expect("valid");
        assert!(!u.active);
        assert_eq!(u.email.as_deref(), Some("Ada@Example.com"));
        assert_eq!(u.full_name(), "Ada Lovelace");
        assert_eq!(u.department.as_deref(), Some("Research"));
        assert_eq!(u.manager.as_deref(), Some("17"));
        assert_eq!(u.directory_email().unwrap(), "ada@example.com");
    }

    #[test]
    fn what_scim_requires_is_checked() {
        for bad in [
            json!({}),
            json!({"userName": " "}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "emails": "a@b.c"}),
            json!({"userName": "a", "name": "Ada"}),
            json!({"userName": "x".repeat(255)}),
        ] {
            assert!(UserInput::from_json(&bad).is_err(), "{bad}");
        }
        let u = UserInput::from_json(&json!({"userName": "jdoe"})).expect("valid");
        assert!(u.directory_email().is_err(), "no email anywhere");
    }
}
