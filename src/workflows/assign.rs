//! Who a task is for, derived when read, by one rule: the product's active Product
//! Administrators; if it has none, its service's active Service Administrators; if none, the
//! Admins — and never the person the task's workflow is about (a leaver who runs the product
//! does not revoke their own access; the task goes to the next in line, down to the other
//! Admins). A task therefore falls back as soon as an assignee loses their role.
//!
//! Every place that needs assignees asks here: the task's notification, the task pages, the
//! facts their authorization is decided on (`queries::task_facts` for
//! `authz::authorize_task`), "My tasks" (pages and API), and the reminder digests.

use diesel::prelude::*;

use crate::authz::{Actor, Role};
use crate::db::schema::{product_admins, products, service_admins, tasks, users, workflows};
use crate::error::AppError;

/// People who may hold a task at `role`'s level on a workflow about `person_id`.
fn eligible(
    role: Role,
    person_id: i64,
) -> users::BoxedQuery<'static, diesel::pg::Pg, diesel::sql_types::BigInt> {
    users::table
        .filter(users::role.eq(role.as_str()))
        .filter(users::is_active.eq(true))
        .filter(users::employment_status.ne("offboarded"))
        .filter(users::id.ne(person_id))
        .select(users::id)
        .into_boxed()
}

/// The people a task on `product_id`, in a workflow about `person_id`, is assigned to, and
/// the level that holds it.
pub fn assignees(
    conn: &mut PgConnection,
    product_id: i64,
    person_id: i64,
) -> Result<(Vec<i64>, Role), AppError> {
    let pas: Vec<i64> = eligible(Role::ProductAdmin, person_id)
        .filter(
            users::id.eq_any(
                product_admins::table
                    .filter(product_admins::product_id.eq(product_id))
                    .select(product_admins::user_id),
            ),
        )
        .load(conn)?;
    if !pas.is_empty() {
        return Ok((pas, Role::ProductAdmin));
    }
    let service_id: i64 = products::table
        .find(product_id)
        .select(products::service_id)
        .first(conn)?;
    let sas: Vec<i64> = eligible(Role::ServiceAdmin, person_id)
        .filter(
            users::id.eq_any(
                service_admins::table
                    .filter(service_admins::service_id.eq(service_id))
                    .select(service_admins::user_id),
            ),
        )
        .load(conn)?;
    if !sas.is_empty() {
        return Ok((sas, Role::ServiceAdmin));
    }
    let admins: Vec<i64> = eligible(Role::Admin, person_id).load(conn)?;
    Ok((admins, Role::Admin))
}

/// Open tasks assigned to `actor`, as a filter on `tasks ⋈ products` (boxed), in SQL: the
/// same rule as `assignees`.
pub fn mine<'a>(
    actor: &Actor,
    q: diesel::dsl::IntoBoxed<
        'a,
        diesel::dsl::InnerJoin<tasks::table, products::table>,
        diesel::pg::Pg,
    >,
) -> diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<tasks::table, products::table>, diesel::pg::Pg>
{
    // Uncorrelated sets of open tasks held at the PA or SA level (an eligible administrator
    // other than the workflow's person exists), which PostgreSQL hashes once: as correlated
    // NOT EXISTS per task, a misestimated nested loop cost 7 ms for 500 open tasks. Written
    // as SQL because Diesel takes a subquery over the outer query's tables for a correlated
    // one. Constant text, no values.
    let held_by_pa = diesel::dsl::sql::<diesel::sql_types::Bool>(
        "tasks.id IN (SELECT t.id FROM tasks t \
           JOIN workflows w ON w.id = t.workflow_id \
           JOIN product_admins pa ON pa.product_id = t.product_id \
           JOIN users u ON u.id = pa.user_id \
          WHERE t.status = 'open' AND u.role = 'product_admin' AND u.is_active \
            AND u.employment_status <> 'offboarded' AND u.id <> w.person_id)",
    );
    let held_by_sa = diesel::dsl::sql::<diesel::sql_types::Bool>(
        "tasks.id IN (SELECT t.id FROM tasks t \
           JOIN workflows w ON w.id = t.workflow_id \
           JOIN products p ON p.id = t.product_id \
           JOIN service_admins sa ON sa.service_id = p.service_id \
           JOIN users u ON u.id = sa.user_id \
          WHERE t.status = 'open' AND u.role = 'service_admin' AND u.is_active \
            AND u.employment_status <> 'offboarded' AND u.id <> w.person_id)",
    );
    let own_workflows = workflows::table
        .filter(workflows::person_id.nullable().eq(actor.person_id()))
        .select(workflows::id);
    let q = q.filter(diesel::dsl::not(tasks::workflow_id.eq_any(own_workflows)));
    match actor.role {
        Role::ProductAdmin => q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::ServiceAdmin => q
            .filter(products::service_id.eq_any(actor.scope.services.clone()))
            .filter(diesel::dsl::not(held_by_pa)),
        Role::Admin => q
            .filter(diesel::dsl::not(held_by_pa))
            .filter(diesel::dsl::not(held_by_sa)),
        Role::User => q.filter(tasks::id.eq(-1)),
    }
}
