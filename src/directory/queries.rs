//! Directory reads. Everyone who can log in may look people up; grants are shown only
//! inside the actor's scope. A list page is four queries whatever the directory's size.
//! Detail queries take the actor and authorize; `find_person` is for commands, inside their
//! transaction, after they have.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{count_star, exists};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Deserialize;

use crate::authz::{authorize, Action, Actor, Role};
use crate::db::lower;
use crate::db::schema::{access_grants, product_admins, products, service_admins, services, users};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId, ServiceId};

use crate::db::contains_pattern;
use crate::error::AppError;
use crate::web::format::format_time;
use crate::web::pagination::PER_PAGE;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PeopleFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub role: String,
    /// Has an active grant on this product.
    pub product_id: Option<i64>,
    /// Has an active grant on a product whose "service product" name matches.
    #[serde(default)]
    pub access: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    pub page: Option<i64>,
}

pub struct PersonRow {
    pub id: PersonId,
    pub full_name: String,
    pub email: String,
    pub username: String,
    pub department: String,
    pub status: EmploymentStatus,
    pub role: Role,
    pub grants: i64,
}

/// A person as the list selects them (the grant count comes from a second query).
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
struct Listed {
    id: PersonId,
    full_name: String,
    email: String,
    username: Option<String>,
    department: Option<String>,
    employment_status: EmploymentStatus,
    role: Role,
}

pub struct PeopleList {
    pub rows: Vec<PersonRow>,
    pub total: i64,
    pub departments: Vec<String>,
}

/// The products whose grants the actor may see: `None` for all (Admins), else the ids
/// of their products (Product Administrators) or of their services' products.
pub fn product_scope(conn: &mut PgConnection, actor: &Actor) -> Result<Option<Vec<i64>>, AppError> {
    Ok(match actor.role {
        Role::Admin => None,
        Role::ServiceAdmin => Some(
            products::table
                .filter(products::service_id.eq_any(&actor.scope.services))
                .select(products::id)
                .load(conn)?,
        ),
        Role::ProductAdmin => Some(actor.scope.product_ids()),
        Role::User => Some(Vec::new()),
    })
}

fn filtered<'a>(f: &PeopleFilter, scope: &Option<Vec<i64>>) -> users::BoxedQuery<'a, Pg> {
    let mut q = users::table.into_boxed();
    // Every word somewhere in the name, email or username, in any order ("Chen Ada").
    for pat in crate::db::word_patterns(&f.q) {
        q = q.filter(
            users::full_name
                .ilike(pat.clone())
                .or(users::email.ilike(pat.clone()))
                .or(users::username.ilike(pat)),
        );
    }
    if !f.department.trim().is_empty() {
        q = q.filter(users::department.eq(f.department.trim().to_string()));
    }
    if !f.status.trim().is_empty() {
        q = q.filter(users::employment_status.eq(f.status.trim().to_string()));
    }
    if !f.role.trim().is_empty() {
        q = q.filter(users::role.eq(f.role.trim().to_string()));
    }
    // "Has access to": only through grants the actor may see.
    let mut access_ids: Option<Vec<i64>> = None;
    if let Some(pid) = f.product_id {
        access_ids = Some(vec![pid]);
    }
    let text = f.access.trim();
    let active = access_grants::table
        .filter(access_grants::user_id.eq(users::id))
        .filter(access_grants::revoked_at.is_null());
    if let Some(ids) = access_ids {
        let ids: Vec<i64> = match scope {
            Some(s) => ids.into_iter().filter(|i| s.contains(i)).collect(),
            None => ids,
        };
        q = q.filter(exists(active.filter(access_grants::product_id.eq_any(ids))));
    }
    if !text.is_empty() {
        let pat = contains_pattern(text);
        let matching = products::table
            .inner_join(services::table)
            .filter(
                products::name
                    .ilike(pat.clone())
                    .or(services::name.ilike(pat)),
            )
            .select(products::id);
        q = match scope {
            None => q.filter(exists(
                active.filter(access_grants::product_id.eq_any(matching)),
            )),
            Some(s) => q.filter(exists(
                active
                    .filter(access_grants::product_id.eq_any(matching))
                    .filter(access_grants::product_id.eq_any(s.clone())),
            )),
        };
    }
    q
}

pub fn list_people(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &PeopleFilter,
) -> Result<PeopleList, AppError> {
    list_people_page(conn, actor, f, f.page.unwrap_or(1), PER_PAGE)
}

/// One page of `limit` people (the API chooses its page size; the pages use `PER_PAGE`).
pub fn list_people_page(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &PeopleFilter,
    page_no: i64,
    limit: i64,
) -> Result<PeopleList, AppError> {
    let scope = product_scope(conn, actor)?;
    let total: i64 = filtered(f, &scope).count().get_result(conn)?;
    let desc = f.dir == "desc";
    let q = filtered(f, &scope);
    let q = match (f.sort.as_str(), desc) {
        ("email", false) => q.order((users::email.asc(), users::id.asc())),
        ("email", true) => q.order((users::email.desc(), users::id.desc())),
        ("department", false) => q.order((
            users::department.asc(),
            lower(users::full_name).asc(),
            users::id.asc(),
        )),
        ("department", true) => q.order((
            users::department.desc(),
            lower(users::full_name).asc(),
            users::id.asc(),
        )),
        ("status", false) => q.order((
            users::employment_status.asc(),
            lower(users::full_name).asc(),
            users::id.asc(),
        )),
        ("status", true) => q.order((
            users::employment_status.desc(),
            lower(users::full_name).asc(),
            users::id.asc(),
        )),
        ("start", false) => q.order((users::start_date.asc(), users::id.asc())),
        ("start", true) => q.order((users::start_date.desc(), users::id.desc())),
        (_, false) => q.order((lower(users::full_name).asc(), users::id.asc())),
        (_, true) => q.order((lower(users::full_name).desc(), users::id.desc())),
    };
    let page: Vec<Listed> = q
        .select(Listed::as_select())
        .limit(limit)
        .offset(crate::web::pagination::offset(page_no, limit))
        .load(conn)?;
    let ids: Vec<PersonId> = page.iter().map(|r| r.id).collect();
    let mut counts_q = access_grants::table
        .filter(access_grants::user_id.eq_any(ids))
        .filter(access_grants::revoked_at.is_null())
        .group_by(access_grants::user_id)
        .select((access_grants::user_id, count_star()))
        .into_boxed();
    if let Some(s) = &scope {
        counts_q = counts_q.filter(access_grants::product_id.eq_any(s.clone()));
    }
    let counts: HashMap<PersonId, i64> = counts_q
        .load::<(PersonId, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(PeopleList {
        rows: page
            .into_iter()
            .map(|r| PersonRow {
                grants: counts.get(&r.id).copied().unwrap_or(0),
                id: r.id,
                full_name: r.full_name,
                email: r.email,
                username: r.username.unwrap_or_default(),
                department: r.department.unwrap_or_default(),
                status: r.employment_status,
                role: r.role,
            })
            .collect(),
        total,
        departments: Vec::new(),
    })
}

/// Every department named in the directory, for the filter (the caller caches it: a
/// DISTINCT over every person was the directory list's most expensive statement).
pub fn departments(conn: &mut PgConnection) -> Result<Vec<String>, AppError> {
    Ok(users::table
        .filter(users::department.is_not_null())
        .select(users::department.assume_not_null())
        .distinct()
        .order(users::department.assume_not_null().asc())
        .load(conn)?)
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub struct Person {
    pub id: PersonId,
    pub full_name: String,
    pub email: String,
    pub username: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_id: Option<PersonId>,
    pub employment_status: EmploymentStatus,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// Person `id`, for a command that has authorized (or `NotFound`).
pub fn find_person(conn: &mut PgConnection, id: PersonId) -> Result<Person, AppError> {
    users::table
        .find(id)
        .select(Person::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// The email address of `p`'s manager, if they have one.
pub fn manager_email(conn: &mut PgConnection, p: &Person) -> Result<Option<String>, AppError> {
    Ok(match p.manager_id {
        Some(m) => users::table
            .find(m)
            .select(users::email)
            .first(conn)
            .optional()?,
        None => None,
    })
}

/// Person `id` as stored, with their manager's email: what the edit form starts from
/// (Admins only).
pub fn person_for_edit(
    conn: &mut PgConnection,
    actor: &Actor,
    id: PersonId,
) -> Result<(Person, Option<String>), AppError> {
    authorize(actor, Action::ManagePeople)?;
    let p = find_person(conn, id)?;
    let manager = manager_email(conn, &p)?;
    Ok((p, manager))
}

pub struct PersonGrant {
    pub id: GrantId,
    pub product_id: ProductId,
    pub service_name: String,
    pub product_name: String,
    pub granted_at: String,
    pub granted_by: String,
    pub account_identifier: String,
    pub note: String,
    pub revoked_at: String,
    pub revoked_by: String,
    pub revoke_note: String,
}

pub struct PersonDetail {
    pub person: Person,
    pub manager: Option<(PersonId, String)>,
    pub active: Vec<PersonGrant>,
    pub revoked: Vec<PersonGrant>,
    /// (id, name) of services this person runs, and of products (with their service).
    pub runs_services: Vec<(ServiceId, String)>,
    pub runs_products: Vec<(ProductId, String)>,
}

/// A person as a picker offers them.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct PersonPick {
    pub id: PersonId,
    pub full_name: String,
    pub email: String,
    pub department: Option<String>,
    pub employment_status: EmploymentStatus,
}

/// Up to `limit` people whose name or email holds every word of `q` (in any order), by
/// name; those who left only when `with_left`, and only `role`'s holders when given. Whoever
/// may look people up sees everyone.
pub fn pick_people(
    conn: &mut PgConnection,
    actor: &Actor,
    q: &str,
    role: Option<Role>,
    with_left: bool,
    limit: i64,
) -> Result<Vec<PersonPick>, AppError> {
    authorize(actor, Action::ViewDirectory)?;
    let mut query = users::table
        .select((
            users::id,
            users::full_name,
            users::email,
            users::department,
            users::employment_status,
        ))
        .order((lower(users::full_name).asc(), users::id.asc()))
        .limit(limit)
        .into_boxed();
    for pat in crate::db::word_patterns(q) {
        query = query.filter(
            users::full_name
                .ilike(pat.clone())
                .or(users::email.ilike(pat)),
        );
    }
    if let Some(role) = role {
        query = query.filter(users::role.eq(role));
    }
    if !with_left {
        query = query.filter(users::employment_status.ne(EmploymentStatus::Offboarded));
    }
    Ok(query.load(conn)?)
}

/// Person `id`'s full name (`NotFound` when there is nobody with that id).
pub fn person_name(conn: &mut PgConnection, id: PersonId) -> Result<String, AppError> {
    users::table
        .find(id)
        .select(users::full_name)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// Person `id` with their grants in the actor's scope and what they run (everyone who may
/// look people up sees everyone; which fields a page shows is the page's).
pub fn person_detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: PersonId,
) -> Result<PersonDetail, AppError> {
    authorize(actor, Action::ViewDirectory)?;
    let person = find_person(conn, id)?;
    let manager = match person.manager_id {
        Some(m) => users::table
            .find(m)
            .select((users::id, users::full_name))
            .first(conn)
            .optional()?,
        None => None,
    };
    let (mut active, mut revoked) = (Vec::new(), Vec::new());
    for (_, g) in scoped_grants(conn, actor, GrantsOf::Person(person.id))? {
        if g.revoked_at.is_empty() {
            active.push(g);
        } else {
            revoked.push(g);
        }
    }
    let runs_services = service_admins::table
        .inner_join(services::table)
        .filter(service_admins::user_id.eq(person.id))
        .select((services::id, services::name))
        .order(services::name.asc())
        .load(conn)?;
    let runs_products = product_admins::table
        .inner_join(products::table.inner_join(services::table))
        .filter(product_admins::user_id.eq(person.id))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
        ))
        .order((services::name.asc(), products::name.asc()))
        .load(conn)?;
    Ok(PersonDetail {
        person,
        manager,
        active,
        revoked,
        runs_services,
        runs_products,
    })
}

/// What the person page shows Admins about a person's sign-in, in one statement: whether
/// they have a second factor, and the identity provider's name and external id for them
/// when they are provisioned through SCIM (`scim_users`).
pub struct SignInFacts {
    pub second_factor: bool,
    pub provisioned: Option<(String, Option<String>)>,
    /// The identity provider's groups the person is a member of, by name.
    pub groups: Vec<String>,
    /// What provisioning rules did to the person, newest first (at most 20).
    pub effects: Vec<ProvisioningEffect>,
}

pub fn sign_in_facts(conn: &mut PgConnection, id: PersonId) -> Result<SignInFacts, AppError> {
    use crate::db::schema::{scim_users, user_totp};
    type Row = (
        bool,
        Option<String>,
        Option<String>,
        Option<Vec<String>>,
        Option<serde_json::Value>,
    );
    // The groups in the same statement: the person page has a query budget.
    let groups = diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>,
    >(
        "(SELECT array_agg(g.display_name ORDER BY lower(g.display_name)) \
         FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id \
         WHERE m.user_id = users.id)",
    );
    let effects = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>(
        "(SELECT json_agg(e ORDER BY e.created_at DESC, e.id DESC)::jsonb FROM ( \
           SELECT id, rule_label, effect, workflow_id, created_at FROM provisioning_effects \
           WHERE user_id = users.id ORDER BY created_at DESC, id DESC LIMIT 20) e)",
    );
    let (second_factor, user_name, external_id, groups, effects): Row = users::table
        .find(id)
        .left_join(scim_users::table)
        .select((
            exists(
                user_totp::table
                    .filter(user_totp::user_id.eq(id.get()))
                    .filter(user_totp::confirmed_at.is_not_null()),
            ),
            scim_users::user_name.nullable(),
            scim_users::external_id.nullable(),
            groups,
            effects,
        ))
        .first(conn)
        .optional()?
        .unwrap_or((false, None, None, None, None));
    Ok(SignInFacts {
        second_factor,
        provisioned: user_name.map(|u| (u, external_id)),
        groups: groups.unwrap_or_default(),
        effects: effects
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| AppError::Internal(format!("provisioning effects: {e}")))?
            .unwrap_or_default(),
    })
}

/// What a provisioning rule did to the person (`scim::rules` writes them).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProvisioningEffect {
    pub rule_label: String,
    pub effect: String,
    pub workflow_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

enum GrantsOf {
    Person(PersonId),
    Grant(GrantId),
}

/// A grant as `scoped_grants` selects it.
#[derive(Queryable)]
struct GrantRow {
    id: GrantId,
    product_id: ProductId,
    service_name: String,
    product_name: String,
    granted_at: DateTime<Utc>,
    granted_by: Option<String>,
    account_identifier: String,
    note: String,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    revoke_note: String,
    person_id: PersonId,
}

/// Grants (active and revoked) of a person, or one grant, in the actor's scope only, each
/// with its person's id.
fn scoped_grants(
    conn: &mut PgConnection,
    actor: &Actor,
    of: GrantsOf,
) -> Result<Vec<(PersonId, PersonGrant)>, AppError> {
    let (granter, revoker) = diesel::alias!(users as granter, users as revoker);
    let rows: Vec<GrantRow> = {
        let mut q = access_grants::table
            .inner_join(products::table.inner_join(services::table))
            .left_join(
                granter.on(granter
                    .field(users::id)
                    .nullable()
                    .eq(access_grants::granted_by)),
            )
            .left_join(
                revoker.on(revoker
                    .field(users::id)
                    .nullable()
                    .eq(access_grants::revoked_by)),
            )
            .order((
                services::name.asc(),
                products::name.asc(),
                access_grants::granted_at.desc(),
            ))
            .select((
                access_grants::id,
                products::id,
                services::name,
                products::name,
                access_grants::granted_at,
                granter.field(users::full_name).nullable(),
                access_grants::account_identifier,
                access_grants::note,
                access_grants::revoked_at,
                revoker.field(users::full_name).nullable(),
                access_grants::revoke_note,
                access_grants::user_id,
            ))
            .into_boxed();
        q = match of {
            GrantsOf::Person(id) => q.filter(access_grants::user_id.eq(id)),
            GrantsOf::Grant(id) => q.filter(access_grants::id.eq(id)),
        };
        if let Some(s) = product_scope(conn, actor)? {
            q = q.filter(access_grants::product_id.eq_any(s));
        }
        q.load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.person_id,
                PersonGrant {
                    id: r.id,
                    product_id: r.product_id,
                    service_name: r.service_name,
                    product_name: r.product_name,
                    granted_at: format_time(r.granted_at),
                    granted_by: r.granted_by.unwrap_or_else(|| "—".into()),
                    account_identifier: r.account_identifier,
                    note: r.note,
                    revoked_at: r.revoked_at.map(format_time).unwrap_or_default(),
                    revoked_by: r.revoked_by.unwrap_or_else(|| "—".into()),
                    revoke_note: r.revoke_note,
                },
            )
        })
        .collect())
}

/// One grant (active or revoked) in the actor's scope, with its person's id; a grant outside
/// the scope is not found.
pub fn grant_in_scope(
    conn: &mut PgConnection,
    actor: &Actor,
    id: GrantId,
) -> Result<(PersonId, PersonGrant), AppError> {
    authorize(actor, Action::ViewDirectory)?;
    scoped_grants(conn, actor, GrantsOf::Grant(id))?
        .pop()
        .ok_or(AppError::NotFound)
}

/// Up to `limit` active products the actor may grant whose "Service Product" name holds
/// every word of `q` (in any order), as (id, "Service → Product"), by name.
pub fn pick_products(
    conn: &mut PgConnection,
    actor: &Actor,
    q: &str,
    limit: i64,
) -> Result<Vec<(i64, String)>, AppError> {
    grantable(conn, actor, q, Some(limit))
}

/// Active products the actor may grant, as (id, "Service → Product"), for a select.
pub fn grantable_products(
    conn: &mut PgConnection,
    actor: &Actor,
) -> Result<Vec<(i64, String)>, AppError> {
    grantable(conn, actor, "", None)
}

fn grantable(
    conn: &mut PgConnection,
    actor: &Actor,
    words: &str,
    limit: Option<i64>,
) -> Result<Vec<(i64, String)>, AppError> {
    let mut q = products::table
        .inner_join(services::table)
        .filter(products::status.eq("active"))
        .filter(services::status.eq("active"))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
        ))
        .order((lower(services::name).asc(), lower(products::name).asc()))
        .into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => {
            q = q.filter(products::service_id.eq_any(actor.scope.services.clone()))
        }
        Role::ProductAdmin => q = q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::User => return Ok(Vec::new()),
    }
    for pat in crate::db::word_patterns(words) {
        q = q.filter(services::name.concat(" ").concat(products::name).ilike(pat));
    }
    if let Some(n) = limit {
        q = q.limit(n);
    }
    Ok(q.load(conn)?)
}

/// A person as the CSV export selects them.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
struct Exported {
    id: PersonId,
    full_name: String,
    email: String,
    username: Option<String>,
    department: Option<String>,
    job_title: Option<String>,
    manager_id: Option<PersonId>,
    employment_status: EmploymentStatus,
    role: Role,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
}

/// The whole directory as the CSV export's rows (in `export::HEADER`'s order), each with
/// its active access (Admins only).
pub fn export_rows(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<Vec<String>>, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let people: Vec<Exported> = users::table
        .select(Exported::as_select())
        .order((lower(users::full_name).asc(), users::id.asc()))
        .load(conn)?;
    let mut access: HashMap<PersonId, Vec<String>> = HashMap::new();
    let grants: Vec<(PersonId, String)> = access_grants::table
        .inner_join(products::table.inner_join(services::table))
        .filter(access_grants::revoked_at.is_null())
        .select((
            access_grants::user_id,
            services::name.concat(" → ").concat(products::name),
        ))
        .order((
            access_grants::user_id.asc(),
            services::name.asc(),
            products::name.asc(),
        ))
        .load(conn)?;
    for (uid, label) in grants {
        access.entry(uid).or_default().push(label);
    }
    let emails: HashMap<PersonId, String> =
        people.iter().map(|p| (p.id, p.email.clone())).collect();
    Ok(people
        .into_iter()
        .map(|p| {
            vec![
                p.full_name,
                p.email,
                p.username.unwrap_or_default(),
                p.department.unwrap_or_default(),
                p.job_title.unwrap_or_default(),
                p.manager_id
                    .and_then(|m| emails.get(&m).cloned())
                    .unwrap_or_default(),
                p.employment_status.as_str().to_string(),
                p.role.as_str().to_string(),
                p.start_date.map(|d| d.to_string()).unwrap_or_default(),
                p.end_date.map(|d| d.to_string()).unwrap_or_default(),
                access.remove(&p.id).unwrap_or_default().join("; "),
            ]
        })
        .collect())
}

/// How many people are not offboarded (the Admin dashboard).
pub fn count_current_people(conn: &mut PgConnection, actor: &Actor) -> Result<i64, AppError> {
    authorize(actor, Action::ManagePeople)?;
    Ok(users::table
        .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
        .select(count_star())
        .get_result(conn)?)
}

/// The signed-in person's own details (My account).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub struct OwnProfile {
    pub full_name: String,
    pub email: String,
    #[diesel(select_expression = users::calendar_token_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::calendar_token_hash>)]
    pub has_feed: bool,
}

/// The actor's own profile: everyone may read their own.
pub fn own_profile(conn: &mut PgConnection, actor: &Actor) -> Result<OwnProfile, AppError> {
    Ok(users::table
        .find(actor.person()?)
        .select(OwnProfile::as_select())
        .first(conn)?)
}
