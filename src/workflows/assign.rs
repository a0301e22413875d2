//! Who a task is for, derived when read: the product's active Product Administrators; if
//! it has none, its service's active Service Administrators; if none, the Admins. A task
//! therefore falls back to the next in line as soon as an assignee loses their role.

use diesel::prelude::*;

use crate::authz::{Actor, Role};
use crate::db::schema::{product_admins, products, service_admins, tasks, users};
use crate::error::AppError;

fn active(
    role: Role,
) -> impl Fn(users::BoxedQuery<'static, diesel::pg::Pg>) -> users::BoxedQuery<'static, diesel::pg::Pg>
{
    move |q| {
        q.filter(users::role.eq(role.as_str()))
            .filter(users::is_active.eq(true))
            .filter(users::employment_status.ne("offboarded"))
    }
}

/// The people a task on `product_id` is assigned to, and the level that holds it.
pub fn assignees(conn: &mut PgConnection, product_id: i64) -> Result<(Vec<i64>, Role), AppError> {
    let pas: Vec<i64> = active(Role::ProductAdmin)(users::table.into_boxed())
        .filter(
            users::id.eq_any(
                product_admins::table
                    .filter(product_admins::product_id.eq(product_id))
                    .select(product_admins::user_id),
            ),
        )
        .select(users::id)
        .load(conn)?;
    if !pas.is_empty() {
        return Ok((pas, Role::ProductAdmin));
    }
    let service_id: i64 = products::table
        .find(product_id)
        .select(products::service_id)
        .first(conn)?;
    let sas: Vec<i64> = active(Role::ServiceAdmin)(users::table.into_boxed())
        .filter(
            users::id.eq_any(
                service_admins::table
                    .filter(service_admins::service_id.eq(service_id))
                    .select(service_admins::user_id),
            ),
        )
        .select(users::id)
        .load(conn)?;
    if !sas.is_empty() {
        return Ok((sas, Role::ServiceAdmin));
    }
    let admins: Vec<i64> = active(Role::Admin)(users::table.into_boxed())
        .select(users::id)
        .load(conn)?;
    Ok((admins, Role::Admin))
}

/// Whether `actor` may complete a task on `product_id`: an assignee, or any Admin.
pub fn may_complete(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
) -> Result<bool, AppError> {
    if actor.is_admin() {
        return Ok(true);
    }
    Ok(assignees(conn, product_id)?.0.contains(&actor.id))
}

/// Open tasks assigned to `actor`, as a filter on `tasks ⋈ products` (boxed), in SQL.
pub fn mine<'a>(
    actor: &Actor,
    q: diesel::dsl::IntoBoxed<
        'a,
        diesel::dsl::InnerJoin<tasks::table, products::table>,
        diesel::pg::Pg,
    >,
) -> diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<tasks::table, products::table>, diesel::pg::Pg>
{
    // Uncorrelated sets (products with an active PA, services with an active SA), which
    // PostgreSQL hashes once: as correlated NOT EXISTS per task, a misestimated nested loop
    // cost 7 ms for 500 open tasks.
    let products_with_pa = product_admins::table
        .inner_join(users::table)
        .filter(users::role.eq("product_admin"))
        .filter(users::is_active.eq(true))
        .filter(users::employment_status.ne("offboarded"))
        .select(product_admins::product_id);
    let services_with_sa = service_admins::table
        .inner_join(users::table)
        .filter(users::role.eq("service_admin"))
        .filter(users::is_active.eq(true))
        .filter(users::employment_status.ne("offboarded"))
        .select(service_admins::service_id);
    let active_pa = products::id.eq_any(products_with_pa);
    let active_sa = products::service_id.eq_any(services_with_sa);
    match actor.role {
        Role::ProductAdmin => q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::ServiceAdmin => q
            .filter(products::service_id.eq_any(actor.scope.services.clone()))
            .filter(diesel::dsl::not(active_pa)),
        Role::Admin => q
            .filter(diesel::dsl::not(active_pa))
            .filter(diesel::dsl::not(active_sa)),
        Role::User => q.filter(tasks::id.eq(-1)),
    }
}
