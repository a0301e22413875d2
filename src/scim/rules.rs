//! Provisioning rules (Settings → Provisioning, Admins): what the identity provider's data
//! starts in PortalOps. A rule matches a SCIM group (its displayName) or a department (as
//! the provider sends it), ignoring case, and names an onboarding template — joining the
//! group, or arriving in the department, gives the person the template's grant tasks — and,
//! for a group, an administrator role with an optional scope, which the person keeps while
//! a rule's group holds them and loses (back to the role they had) when none does.
//!
//! Rules act on changes only (a user created, a department changed, a member added or
//! removed), never on a sync that repeats what is already so: a grant an administrator
//! revoked is not asked for again by the provider's next PUT. Each effect is written to
//! `provisioning_effects` (the person's page shows them) and to the audit log, with the
//! provisioning token as the actor, in the SCIM request's transaction.
//!
//! The default delay of a deactivation's last day is kept here too (`app_settings`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{ScimError, ScimResult};
use crate::audit::{self, AuditEntry};
use crate::auth::links::LinkSettings;
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{
    app_settings, onboarding_templates, product_admins, products, provisioning_effects,
    provisioning_rules, provisioning_scopes, scim_group_members, scim_groups, scim_users,
    service_admins, services, users,
};
use crate::domain::text::Line;
use crate::domain::{
    EmploymentStatus, FieldErrors, PersonId, ProductId, Role, RuleSource, ServiceId, TemplateId,
};
use crate::error::{AppError, CommandError};

/// `app_settings` key: days between a deactivation by the provider and the offboarding's
/// last day (0, the default: today).
pub const DELAY_SETTING: &str = "scim_offboarding_delay_days";
/// One rule per group or department (also `provisioning_rules_match_key`'s message).
const RULE_TAKEN: &str = "There is already a rule for this name: delete it first to change it.";
/// The longest delay an Admin may set.
pub const MAX_DELAY_DAYS: i64 = 90;

/// What the rules need besides the connection: the clock and links (a role that gives a
/// login emails an invitation), and the grant tasks' lead time.
#[derive(Debug, Clone, Copy)]
pub struct RuleEnv<'a> {
    pub links: &'a LinkSettings,
    pub lead_days: i64,
}

// ---------------------------------------------------------------------------------------
// The rules.

/// A rule as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = provisioning_rules, check_for_backend(diesel::pg::Pg))]
pub struct Rule {
    pub id: i64,
    pub source: RuleSource,
    pub match_value: String,
    pub template_id: Option<TemplateId>,
    pub role: Option<Role>,
    pub service_id: Option<ServiceId>,
    pub product_id: Option<ProductId>,
}

impl Rule {
    /// "group Engineering", "department Sales": what the person's page names the rule by.
    pub fn label(&self) -> String {
        match self.source {
            RuleSource::Group => format!("group “{}”", self.match_value),
            RuleSource::Department => format!("department “{}”", self.match_value),
        }
    }
}

/// A rule as the settings page lists it.
#[derive(Debug, Clone)]
pub struct RuleView {
    pub rule: Rule,
    pub template: Option<String>,
    pub scope: Option<String>,
    /// How many people the rule matches now (members of the group, people in the
    /// department).
    pub matches: i64,
}

/// A new rule, checked.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub source: RuleSource,
    pub match_value: Line<200>,
    pub template_id: Option<TemplateId>,
    pub role: Option<Role>,
    pub service_id: Option<ServiceId>,
    pub product_id: Option<ProductId>,
}

impl NewRule {
    /// Every error at once: what it matches, that it does something, and that a scope
    /// goes with its role.
    pub fn new(
        source: &str,
        match_value: &str,
        template: &str,
        role: &str,
        service: &str,
        product: &str,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let source = RuleSource::parse(source);
        if source.is_none() {
            e.add(
                "source",
                "Choose what the rule matches: a group or a department.",
            );
        }
        let match_value = match Line::<200>::required(match_value) {
            Ok(v) => Some(v),
            Err(m) => {
                e.add("match_value", m.message("The group or department name"));
                None
            }
        };
        let id = |text: &str| text.trim().parse::<i64>().ok().filter(|n| *n > 0);
        let template_id = id(template).map(TemplateId);
        if !template.trim().is_empty() && template_id.is_none() {
            e.add("template_id", "Choose a template from the list.");
        }
        let role = match role.trim() {
            "" => None,
            r => match Role::parse(r).filter(|r| *r != Role::User) {
                Some(r) => Some(r),
                None => {
                    e.add("role", "Choose a role from the list.");
                    None
                }
            },
        };
        if role.is_some() && source == Some(RuleSource::Department) {
            e.add(
                "role",
                "Only a group may give a role: departments are free text the provider sends.",
            );
        }
        if template_id.is_none() && role.is_none() && template.trim().is_empty() && e.is_empty() {
            e.add(
                "template_id",
                "Choose a template, a role, or both: a rule that does nothing is not kept.",
            );
        }
        let service_id = id(service).map(ServiceId);
        let product_id = id(product).map(ProductId);
        if service_id.is_some() && role != Some(Role::ServiceAdmin) {
            e.add(
                "service_id",
                "A service scope goes with the Service Administrator role.",
            );
        }
        if product_id.is_some() && role != Some(Role::ProductAdmin) {
            e.add(
                "product_id",
                "A product scope goes with the Product Administrator role.",
            );
        }
        match (source, match_value, e.is_empty()) {
            (Some(source), Some(match_value), true) => Ok(Self {
                source,
                match_value,
                template_id,
                role,
                service_id,
                product_id,
            }),
            _ => Err(e),
        }
    }
}

/// Every rule, by what it matches, with what it names.
pub fn list(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<RuleView>, AppError> {
    authorize(actor, Action::ManageSettings)?;
    let rules: Vec<(Rule, Option<String>)> = provisioning_rules::table
        .left_join(onboarding_templates::table)
        .order((
            provisioning_rules::source.asc(),
            crate::db::lower(provisioning_rules::match_value).asc(),
        ))
        .select((Rule::as_select(), onboarding_templates::name.nullable()))
        .load(conn)?;
    let groups: Vec<(String, i64)> = scim_groups::table
        .left_join(scim_group_members::table)
        .group_by(scim_groups::id)
        .select((
            scim_groups::display_name,
            diesel::dsl::count(scim_group_members::user_id.nullable()),
        ))
        .load(conn)?;
    let departments: Vec<String> = rules
        .iter()
        .filter(|(r, _)| r.source == RuleSource::Department)
        .map(|(r, _)| r.match_value.to_lowercase())
        .collect();
    // The matching people's departments (few rules, each one department: counted here).
    let in_department: Vec<Option<String>> = users::table
        .filter(crate::db::lower_nullable(users::department).eq_any(&departments))
        .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
        .select(crate::db::lower_nullable(users::department))
        .load(conn)?;
    let mut out = Vec::with_capacity(rules.len());
    for (rule, template) in rules {
        let key = rule.match_value.to_lowercase();
        let matches = match rule.source {
            RuleSource::Group => groups
                .iter()
                .find(|(g, _)| g.to_lowercase() == key)
                .map_or(0, |(_, n)| *n),
            RuleSource::Department => in_department
                .iter()
                .filter(|d| d.as_deref() == Some(key.as_str()))
                .count() as i64,
        };
        let scope = scope_label(conn, &rule)?;
        out.push(RuleView {
            rule,
            template,
            scope,
            matches,
        });
    }
    Ok(out)
}

fn scope_label(conn: &mut PgConnection, rule: &Rule) -> Result<Option<String>, AppError> {
    Ok(match (rule.service_id, rule.product_id) {
        (Some(s), _) => services::table
            .find(s)
            .select(services::name)
            .first(conn)
            .optional()?,
        (_, Some(p)) => products::table
            .inner_join(services::table)
            .filter(products::id.eq(p))
            .select(services::name.concat(" → ").concat(products::name))
            .first(conn)
            .optional()?,
        _ => None,
    })
}

/// What the rule form offers: templates, services, products (with their service), the
/// groups the provider has sent and the departments in the directory.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub templates: Vec<(i64, String)>,
    pub services: Vec<(i64, String)>,
    pub products: Vec<(i64, String)>,
    pub groups: Vec<String>,
    pub departments: Vec<String>,
}

pub fn choices(conn: &mut PgConnection, actor: &Actor) -> Result<Choices, AppError> {
    authorize(actor, Action::ManageSettings)?;
    Ok(Choices {
        templates: onboarding_templates::table
            .order(onboarding_templates::name.asc())
            .select((onboarding_templates::id, onboarding_templates::name))
            .load(conn)?,
        services: services::table
            .order(services::name.asc())
            .select((services::id, services::name))
            .load(conn)?,
        products: products::table
            .inner_join(services::table)
            .order((services::name.asc(), products::name.asc()))
            .select((
                products::id,
                services::name.concat(" → ").concat(products::name),
            ))
            .load(conn)?,
        groups: scim_groups::table
            .order(scim_groups::display_name.asc())
            .select(scim_groups::display_name)
            .limit(500)
            .load(conn)?,
        departments: users::table
            .filter(users::department.is_not_null())
            .select(users::department.assume_not_null())
            .distinct()
            .order(users::department.assume_not_null().asc())
            .limit(500)
            .load(conn)?,
    })
}

/// Adds a rule; one per group or department (the second is refused, naming the first).
/// A rule acts on changes from now on; people already in the group are not changed.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    rule: NewRule,
    now: DateTime<Utc>,
) -> Result<i64, CommandError> {
    authorize(actor, Action::ManageSettings)?;
    crate::db::transaction(conn, |conn| {
        let exists: bool = diesel::select(diesel::dsl::exists(
            provisioning_rules::table
                .filter(provisioning_rules::source.eq(rule.source))
                .filter(
                    crate::db::lower(provisioning_rules::match_value)
                        .eq(rule.match_value.as_str().to_lowercase()),
                ),
        ))
        .get_result(conn)?;
        if exists {
            return Err(crate::error::invalid("match_value", RULE_TAKEN));
        }
        if let Some(t) = rule.template_id {
            let known: bool =
                diesel::select(diesel::dsl::exists(onboarding_templates::table.find(t)))
                    .get_result(conn)?;
            if !known {
                return Err(crate::error::invalid(
                    "template_id",
                    "That template does not exist any more.",
                ));
            }
        }
        let id: i64 = diesel::insert_into(provisioning_rules::table)
            .values((
                provisioning_rules::source.eq(rule.source),
                provisioning_rules::match_value.eq(rule.match_value.as_str()),
                provisioning_rules::template_id.eq(rule.template_id),
                provisioning_rules::role.eq(rule.role),
                provisioning_rules::service_id.eq(rule.service_id),
                provisioning_rules::product_id.eq(rule.product_id),
                provisioning_rules::created_at.eq(now),
                provisioning_rules::created_by.eq(actor.person_id()),
            ))
            .returning(provisioning_rules::id)
            .get_result(conn)?;
        let stored: Rule = provisioning_rules::table
            .find(id)
            .select(Rule::as_select())
            .first(conn)?;
        let scope = scope_label(conn, &stored)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "provisioning.rule_created",
                "provisioning_rule",
                Some(id.to_string()),
            )
            .summary(format!("Provisioning rule for the {}", stored.label()))
            .after(json!({
                "source": stored.source, "match": stored.match_value,
                "template_id": stored.template_id, "role": stored.role, "scope": scope,
            })),
        )?;
        Ok(id)
    })
}

/// Deletes a rule; what it did stays (grants, tasks, roles, and its effects on people's
/// pages), and a role it gave stays until an Admin changes it.
pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<String, CommandError> {
    authorize(actor, Action::ManageSettings)?;
    crate::db::transaction(conn, |conn| {
        let rule: Rule = provisioning_rules::table
            .find(id)
            .select(Rule::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        diesel::delete(provisioning_rules::table.find(id)).execute(conn)?;
        let label = rule.label();
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "provisioning.rule_deleted",
                "provisioning_rule",
                Some(id.to_string()),
            )
            .summary(format!("Deleted the provisioning rule for the {label}"))
            .before(json!({
                "source": rule.source, "match": rule.match_value,
                "template_id": rule.template_id, "role": rule.role,
            })),
        )?;
        Ok(label)
    })
}

/// The deactivation delay in days (0 when never set).
pub fn delay_days(conn: &mut PgConnection) -> Result<i64, AppError> {
    let v: Option<String> = app_settings::table
        .filter(app_settings::key.eq(DELAY_SETTING))
        .select(app_settings::value)
        .first(conn)
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The delay typed in the settings form: whole days, 0 to `MAX_DELAY_DAYS`.
pub fn parse_delay(typed: &str) -> Result<i64, FieldErrors> {
    let mut e = FieldErrors::new();
    match typed.trim().parse::<i64>() {
        Ok(n) if (0..=MAX_DELAY_DAYS).contains(&n) => return Ok(n),
        _ => e.add(
            "delay_days",
            format!("Enter a whole number of days from 0 to {MAX_DELAY_DAYS}."),
        ),
    }
    Err(e)
}

/// Sets the deactivation delay, audited.
pub fn set_delay(conn: &mut PgConnection, actor: &Actor, days: i64) -> Result<(), CommandError> {
    authorize(actor, Action::ManageSettings)?;
    crate::db::transaction(conn, |conn| {
        let before = delay_days(conn)?;
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::key.eq(DELAY_SETTING),
                app_settings::value.eq(days.to_string()),
            ))
            .on_conflict(app_settings::key)
            .do_update()
            .set(app_settings::value.eq(days.to_string()))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "settings.scim_offboarding_delay", "settings", None)
                .summary(format!(
                    "A person the identity provider deactivates has their last day {}",
                    delay_words(days)
                ))
                .before(json!({ "delay_days": before }))
                .after(json!({ "delay_days": days })),
        )?;
        Ok(())
    })
}

/// "today", "1 day later", "14 days later".
pub fn delay_words(days: i64) -> String {
    match days {
        0 => "the same day".into(),
        1 => "1 day later".into(),
        n => format!("{n} days later"),
    }
}

// ---------------------------------------------------------------------------------------
// What the rules do.

/// Writes one effect, on the person's page and in the audit log.
fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    rule: &Rule,
    effect: &str,
    workflow: Option<i64>,
) -> Result<(), AppError> {
    let label = rule.label();
    diesel::insert_into(provisioning_effects::table)
        .values((
            provisioning_effects::user_id.eq(person),
            provisioning_effects::rule_id.eq(rule.id),
            provisioning_effects::rule_label.eq(&label),
            provisioning_effects::effect.eq(effect),
            provisioning_effects::workflow_id.eq(workflow),
            provisioning_effects::created_at.eq(env.links.now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        AuditEntry::by(
            actor,
            "provisioning.rule_applied",
            "user",
            Some(person.to_string()),
        )
        .summary(format!("Rule for the {label}: {effect}"))
        .after(json!({"rule_id": rule.id, "workflow_id": workflow})),
    )?;
    Ok(())
}

/// The facts about a person the rules decide on.
#[derive(Queryable)]
struct Facts {
    role: Role,
    status: EmploymentStatus,
    start_date: Option<NaiveDate>,
    role_before_rules: Option<Role>,
    role_from_rules: Option<Role>,
}

fn facts(conn: &mut PgConnection, person: i64) -> Result<Facts, AppError> {
    Ok(users::table
        .inner_join(scim_users::table)
        .filter(users::id.eq(person))
        .select((
            users::role,
            users::employment_status,
            users::start_date,
            scim_users::role_before_rules,
            scim_users::role_from_rules,
        ))
        .first(conn)?)
}

fn rules_for(
    conn: &mut PgConnection,
    source: RuleSource,
    names: &[String],
) -> Result<Vec<Rule>, AppError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    Ok(provisioning_rules::table
        .filter(provisioning_rules::source.eq(source))
        .filter(crate::db::lower(provisioning_rules::match_value).eq_any(lower))
        .order(provisioning_rules::id.asc())
        .select(Rule::as_select())
        .load(conn)?)
}

/// The group rules of the groups `person` is a member of now.
fn current_group_rules(conn: &mut PgConnection, person: i64) -> Result<Vec<Rule>, AppError> {
    let names: Vec<String> = scim_group_members::table
        .inner_join(scim_groups::table)
        .filter(scim_group_members::user_id.eq(person))
        .select(scim_groups::display_name)
        .load(conn)?;
    rules_for(conn, RuleSource::Group, &names)
}

/// Someone the rules may still give things to: not leaving, not left.
fn staying(status: EmploymentStatus) -> bool {
    matches!(
        status,
        EmploymentStatus::Active | EmploymentStatus::Onboarding
    )
}

/// The template's grant tasks for the person (added to their open onboarding, else a new
/// one effective on their start date, or today when that is past).
fn apply_template(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    rule: &Rule,
    template: TemplateId,
) -> ScimResult<()> {
    let f = facts(conn, person)?;
    let name: String = onboarding_templates::table
        .find(template)
        .select(onboarding_templates::name)
        .first(conn)
        .map_err(AppError::from)?;
    if !staying(f.status) {
        return Ok(record(
            conn,
            actor,
            env,
            person,
            rule,
            &format!("template “{name}” not applied: the person is leaving or has left"),
            None,
        )?);
    }
    let on = f
        .start_date
        .filter(|d| *d > env.links.today)
        .unwrap_or(env.links.today);
    let done = crate::workflows::commands::provision_grants(
        conn,
        actor,
        PersonId(person),
        template,
        on,
        env.lead_days,
    )
    .map_err(ScimError::from)?;
    let effect = match (done.workflow, done.started) {
        (None, _) => format!(
            "template “{name}”: nothing to add, every product of it is granted or has an \
             open grant task"
        ),
        (Some(_), true) => format!(
            "onboarding started from template “{name}”, effective {on}: {} grant task(s)",
            done.tasks
        ),
        (Some(_), false) => format!(
            "template “{name}”: {} grant task(s) added to the open onboarding",
            done.tasks
        ),
    };
    Ok(record(
        conn,
        actor,
        env,
        person,
        rule,
        &effect,
        done.workflow.map(|w| w.get()),
    )?)
}

/// A person's department was set (a new user, or a changed department): the rule for the
/// new department, if there is one, gives its template's grant tasks.
pub(crate) fn department_set(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    department: &str,
) -> ScimResult<()> {
    for rule in rules_for(conn, RuleSource::Department, &[department.to_string()])? {
        if let Some(t) = rule.template_id {
            apply_template(conn, actor, env, person, &rule, t)?;
        }
    }
    Ok(())
}

/// A person joined the groups named `joined` and left those named `left` (the membership
/// is already written): templates of the joined groups' rules, then the role and the
/// scopes the person's groups give now.
pub(crate) fn groups_changed(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    joined: &[String],
    left: &[String],
) -> ScimResult<()> {
    let joined_rules = rules_for(conn, RuleSource::Group, joined)?;
    let left_rules = rules_for(conn, RuleSource::Group, left)?;
    for rule in &joined_rules {
        if let Some(t) = rule.template_id {
            apply_template(conn, actor, env, person, rule, t)?;
        }
    }
    if joined_rules
        .iter()
        .chain(left_rules.iter())
        .any(|r| r.role.is_some())
    {
        sync_role(
            conn,
            actor,
            env,
            person,
            joined_rules.iter().chain(left_rules.iter()),
        )?;
    }
    Ok(())
}

/// Sets the role (and the scopes) the person's groups give: the highest role of their
/// groups' rules when it is above theirs; back to the role they had before the rules
/// raised it when no rule's group holds them any more. A change the directory refuses
/// (the last Admin) is recorded as not applied.
fn sync_role<'a>(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    changed: impl Iterator<Item = &'a Rule>,
) -> ScimResult<()> {
    let changed: Vec<&Rule> = changed.filter(|r| r.role.is_some()).collect();
    let Some(cause) = changed.first().copied() else {
        return Ok(());
    };
    let f = facts(conn, person)?;
    let now_rules = current_group_rules(conn, person)?;
    let target = now_rules
        .iter()
        .filter_map(|r| r.role.map(|role| (role, r)))
        .max_by_key(|(role, _)| role.rank());
    // The rules' role still in force (not changed by an Admin since): theirs to lower.
    let ruled = f.role_from_rules == Some(f.role) && f.role_before_rules.is_some();
    let baseline = if ruled { f.role_before_rules } else { None };
    if !ruled && (f.role_before_rules.is_some() || f.role_from_rules.is_some()) {
        set_ruled(conn, person, None, None)?;
    }
    match target {
        Some((t, rule)) if t.rank() > f.role.rank() && staying(f.status) => {
            let before = baseline.unwrap_or(f.role);
            change_role(conn, actor, env, person, t, before, rule, f.role)?;
        }
        Some((t, rule)) if ruled && t.rank() < f.role.rank() => {
            let before = baseline.unwrap_or(Role::User);
            let to = std::cmp::max_by_key(before, t, |r| r.rank());
            change_role(conn, actor, env, person, to, before, rule, f.role)?;
        }
        None if ruled => {
            let before = baseline.unwrap_or(Role::User);
            if change_role(conn, actor, env, person, before, before, cause, f.role)? {
                set_ruled(conn, person, None, None)?;
            }
        }
        _ => {}
    }
    sync_scopes(conn, actor, env, person, &now_rules, &changed)?;
    Ok(())
}

/// Remembers the role the rules gave and the one before it (both `None`: the rules hold
/// no role of the person's).
fn set_ruled(
    conn: &mut PgConnection,
    person: i64,
    before: Option<Role>,
    given: Option<Role>,
) -> Result<(), AppError> {
    diesel::update(scim_users::table.find(person))
        .set((
            scim_users::role_before_rules.eq(before),
            scim_users::role_from_rules.eq(given),
        ))
        .execute(conn)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    role: Role,
    before: Role,
    rule: &Rule,
    was: Role,
) -> ScimResult<bool> {
    let username: Option<String> = users::table
        .find(person)
        .select(users::username)
        .first(conn)
        .map_err(AppError::from)?;
    let username = match (role.can_log_in(), username) {
        (true, None) => {
            let email: String = users::table
                .find(person)
                .select(users::email)
                .first(conn)
                .map_err(AppError::from)?;
            Some(crate::sso::commands::free_username(conn, &email)?)
        }
        _ => None,
    };
    let change =
        crate::directory::requests::RoleChange::new(Some(role), username.as_deref(), None, None)
            .map_err(|e| ScimError::from(CommandError::Invalid(e)))?;
    // A savepoint: a refused change (the last Admin) leaves the rest of the request whole.
    let result = conn.transaction(|conn| {
        crate::directory::commands::change_role(conn, actor, PersonId(person), change, env.links)
            .map_err(RoleFailure::from)
    });
    match result {
        Ok(_) => {
            set_ruled(conn, person, Some(before), Some(role))?;
            record(
                conn,
                actor,
                env,
                person,
                rule,
                &format!("role {} (was {})", role.label(), was.label()),
                None,
            )?;
            Ok(true)
        }
        Err(RoleFailure(CommandError::Other(e))) => Err(e.into()),
        Err(RoleFailure(CommandError::Refused(m))) => {
            record(
                conn,
                actor,
                env,
                person,
                rule,
                &format!("role {} not applied: {m}", role.label()),
                None,
            )?;
            Ok(false)
        }
        Err(RoleFailure(CommandError::Invalid(e))) => {
            let why = e
                .iter()
                .map(|(_, m)| m.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            record(
                conn,
                actor,
                env,
                person,
                rule,
                &format!("role {} not applied: {why}", role.label()),
                None,
            )?;
            Ok(false)
        }
    }
}

/// A command error carried out of a savepoint (which needs an error from diesel's).
struct RoleFailure(CommandError);

impl From<CommandError> for RoleFailure {
    fn from(e: CommandError) -> Self {
        Self(e)
    }
}

impl From<diesel::result::Error> for RoleFailure {
    fn from(e: diesel::result::Error) -> Self {
        Self(CommandError::Other(e.into()))
    }
}

/// The scopes the rules of the person's groups give, for the role they have now: those
/// missing are added (and remembered as the rules'); those the rules added that no rule
/// of theirs gives any more are removed.
fn sync_scopes(
    conn: &mut PgConnection,
    actor: &Actor,
    env: &RuleEnv<'_>,
    person: i64,
    now_rules: &[Rule],
    changed: &[&Rule],
) -> ScimResult<()> {
    let role: Role = users::table
        .find(person)
        .select(users::role)
        .first(conn)
        .map_err(AppError::from)?;
    let wanted: Vec<&Rule> = now_rules
        .iter()
        .filter(|r| r.role == Some(role) && (r.service_id.is_some() || r.product_id.is_some()))
        .collect();
    // Added by rules earlier, no longer given by one.
    let held: Vec<(i64, Option<ServiceId>, Option<ProductId>)> = provisioning_scopes::table
        .filter(provisioning_scopes::user_id.eq(person))
        .select((
            provisioning_scopes::rule_id,
            provisioning_scopes::service_id,
            provisioning_scopes::product_id,
        ))
        .load(conn)
        .map_err(AppError::from)?;
    for (rule_id, service, product) in &held {
        let still = wanted
            .iter()
            .any(|r| r.service_id == *service && r.product_id == *product);
        if still {
            continue;
        }
        diesel::delete(
            provisioning_scopes::table
                .filter(provisioning_scopes::user_id.eq(person))
                .filter(provisioning_scopes::rule_id.eq(rule_id)),
        )
        .execute(conn)
        .map_err(AppError::from)?;
        let removed = match (service, product) {
            (Some(s), _) => diesel::delete(
                service_admins::table
                    .filter(service_admins::user_id.eq(person))
                    .filter(service_admins::service_id.eq(s)),
            )
            .execute(conn),
            (_, Some(p)) => diesel::delete(
                product_admins::table
                    .filter(product_admins::user_id.eq(person))
                    .filter(product_admins::product_id.eq(p)),
            )
            .execute(conn),
            _ => Ok(0),
        }
        .map_err(AppError::from)?;
        if let (true, Some(rule)) = (removed > 0, changed.iter().find(|r| r.id == *rule_id)) {
            let what = scope_label(conn, rule)?.unwrap_or_default();
            record(
                conn,
                actor,
                env,
                person,
                rule,
                &format!("scope {what} removed"),
                None,
            )?;
        }
    }
    for rule in wanted {
        let added = match (rule.service_id, rule.product_id) {
            (Some(s), _) => diesel::insert_into(service_admins::table)
                .values((
                    service_admins::user_id.eq(person),
                    service_admins::service_id.eq(s),
                ))
                .on_conflict_do_nothing()
                .execute(conn),
            (_, Some(p)) => diesel::insert_into(product_admins::table)
                .values((
                    product_admins::user_id.eq(person),
                    product_admins::product_id.eq(p),
                ))
                .on_conflict_do_nothing()
                .execute(conn),
            _ => Ok(0),
        }
        .map_err(AppError::from)?;
        if added > 0 {
            diesel::insert_into(provisioning_scopes::table)
                .values((
                    provisioning_scopes::user_id.eq(person),
                    provisioning_scopes::rule_id.eq(rule.id),
                    provisioning_scopes::service_id.eq(rule.service_id),
                    provisioning_scopes::product_id.eq(rule.product_id),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .map_err(AppError::from)?;
            let what = scope_label(conn, rule)?.unwrap_or_default();
            record(
                conn,
                actor,
                env,
                person,
                rule,
                &format!("{} of {what}", role.label()),
                None,
            )?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The last Admin.

/// The provider tried to deactivate the last active Admin and was refused: every active
/// Admin is told, in the app and by email — once a day per person, however often the
/// provider retries. Its own transaction (the refused one rolled back).
pub(crate) fn alert_last_admin(
    conn: &mut PgConnection,
    person: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
    public_url: &str,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        let key = format!("scim-last-admin:{person}:{today}");
        if !crate::notify::reminders::claim(conn, &[key])? {
            return Ok(());
        }
        let name: String = users::table
            .find(person)
            .select(users::full_name)
            .first(conn)?;
        let admins: Vec<(i64, String)> = users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::is_active.eq(true))
            .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
            .select((users::id, users::email))
            .load(conn)?;
        let link = crate::web::urls::person(PersonId(person));
        let title = format!(
            "The identity provider tried to deactivate {name}, the last active Admin: refused"
        );
        let ids: Vec<i64> = admins.iter().map(|(id, _)| *id).collect();
        crate::notify::notify(conn, &ids, "scim.last_admin", &title, &link)?;
        let text = format!(
            "The identity provider (SCIM) deactivated {name}, who is the last active Admin of \
             PortalOps. PortalOps refused it, so that someone can still run it, and the \
             provider was told so; it will keep retrying.\n\nMake someone else an Admin, \
             then the provider's next attempt goes through:\n{public_url}{link}\n"
        );
        let html = format!(
            "<p>{}</p>",
            crate::web::respond::html_escape(&text).replace('\n', "<br>")
        );
        for (_, email) in &admins {
            crate::notify::outbox::enqueue(
                conn,
                now,
                email,
                "PortalOps: the last Admin was not deactivated",
                &text,
                &html,
                None,
            )?;
        }
        audit::record(
            conn,
            AuditEntry::system("scim.last_admin_refused", "user", Some(person.to_string()))
                .summary(format!(
                    "The identity provider's deactivation of {name}, the last active Admin, \
                     was refused; {} Admin(s) told",
                    admins.len()
                )),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_names_what_it_matches_and_does_something() {
        let e = NewRule::new("", " ", "", "", "", "").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["source", "match_value"]);
        let e = NewRule::new("group", "Eng", "", "", "", "").unwrap_err();
        assert_eq!(e.iter().next().unwrap().0, "template_id");
        let e = NewRule::new("department", "Eng", "", "admin", "3", "").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["role", "service_id"]);
        let r = NewRule::new("group", " Eng ", "4", "service_admin", "3", "").unwrap();
        assert_eq!(r.match_value.as_str(), "Eng");
        assert_eq!(r.template_id, Some(TemplateId(4)));
        assert_eq!(r.service_id, Some(ServiceId(3)));
        assert!(NewRule::new("group", "Eng", "x", "", "", "").is_err());
        assert!(NewRule::new("group", "Eng", "", "user", "", "").is_err());
    }

    #[test]
    fn the_delay_is_whole_days_up_to_the_maximum() {
        assert_eq!(parse_delay(" 14 ").unwrap(), 14);
        assert_eq!(parse_delay("0").unwrap(), 0);
        assert!(parse_delay("-1").is_err());
        assert!(parse_delay("91").is_err());
        assert!(parse_delay("1.5").is_err());
        assert!(parse_delay("").is_err());
    }
}
