//! Onboarding templates (Admins): named bundles of products, optionally for a department.
//! Their reads and writes, for the template page and the API alike; each write is audited
//! in its transaction.

use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::json;

use super::requests::TemplateChanges;
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{onboarding_templates, products, template_products, users};
use crate::domain::{EmploymentStatus, PersonId, ProductId, TemplateId};
use crate::error::{invalid, AppError, CommandError};

/// A template in the list.
pub struct TemplateRow {
    pub id: TemplateId,
    pub name: String,
    pub department: String,
    pub maintainer: String,
    pub products: i64,
}

/// Every onboarding template, by name, with its maintainer and number of products (Admins).
pub fn list(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<TemplateRow>, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let rows: Vec<(TemplateId, String, String, Option<String>)> = onboarding_templates::table
        .left_join(users::table.on(users::id.nullable().eq(onboarding_templates::maintainer_id)))
        .select((
            onboarding_templates::id,
            onboarding_templates::name,
            onboarding_templates::department,
            users::full_name.nullable(),
        ))
        .order(onboarding_templates::name.asc())
        .load(conn)?;
    let counts: std::collections::HashMap<TemplateId, i64> = template_products::table
        .group_by(template_products::template_id)
        .select((template_products::template_id, count_star()))
        .load::<(TemplateId, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, name, department, maintainer)| TemplateRow {
            products: counts.get(&id).copied().unwrap_or(0),
            id,
            name,
            department,
            maintainer: maintainer.unwrap_or_default(),
        })
        .collect())
}

/// Every template's id and name, by name (for the onboarding form).
pub fn names(conn: &mut PgConnection) -> Result<Vec<(TemplateId, String)>, AppError> {
    Ok(onboarding_templates::table
        .select((onboarding_templates::id, onboarding_templates::name))
        .order(onboarding_templates::name.asc())
        .load(conn)?)
}

/// The products of template `id`, by id.
pub fn product_ids(conn: &mut PgConnection, id: TemplateId) -> Result<Vec<ProductId>, AppError> {
    Ok(template_products::table
        .filter(template_products::template_id.eq(id))
        .select(template_products::product_id)
        .order(template_products::product_id.asc())
        .load(conn)?)
}

/// One template as stored: what an edit starts from.
pub struct TemplateDetail {
    pub name: String,
    pub department: String,
    pub description: String,
    /// The maintainer's email ("" for nobody).
    pub maintainer_email: String,
    pub product_ids: Vec<ProductId>,
}

/// Template `id` (Admins; 404 when there is none).
pub fn detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: TemplateId,
) -> Result<TemplateDetail, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let (name, department, description, maintainer_email): (
        String,
        String,
        String,
        Option<String>,
    ) = onboarding_templates::table
        .left_join(users::table.on(users::id.nullable().eq(onboarding_templates::maintainer_id)))
        .filter(onboarding_templates::id.eq(id))
        .select((
            onboarding_templates::name,
            onboarding_templates::department,
            onboarding_templates::description,
            users::email.nullable(),
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    Ok(TemplateDetail {
        name,
        department,
        description,
        maintainer_email: maintainer_email.unwrap_or_default(),
        product_ids: product_ids(conn, id)?,
    })
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = onboarding_templates, treat_none_as_null = true)]
struct TemplateValues<'a> {
    name: &'a str,
    department: &'a str,
    description: &'a str,
    maintainer_id: Option<PersonId>,
}

/// Adds (`id` None) or saves an onboarding template, audited in the same transaction.
pub fn save(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Option<TemplateId>,
    f: TemplateChanges,
) -> Result<TemplateId, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let taken: bool = diesel::select(diesel::dsl::exists(
            onboarding_templates::table
                .filter(
                    crate::db::lower(onboarding_templates::name)
                        .eq(crate::db::lower(f.name.as_str())),
                )
                .filter(onboarding_templates::id.ne(id.unwrap_or(TemplateId(-1)))),
        ))
        .get_result(conn)?;
        if taken {
            return Err(invalid("name", "A template with this name already exists."));
        }
        let known: i64 = products::table
            .filter(products::id.eq_any(&f.products))
            .select(count_star())
            .get_result(conn)?;
        if known != f.products.len() as i64 {
            return Err(invalid("product_ids", "Choose products that exist."));
        }
        let maintainer: Option<PersonId> = match &f.maintainer_email {
            None => None,
            Some(email) => {
                let found: Option<(PersonId, EmploymentStatus)> = users::table
                    .filter(crate::db::lower(users::email).eq(email))
                    .select((users::id, users::employment_status))
                    .first(conn)
                    .optional()?;
                match found {
                    None => {
                        return Err(invalid(
                            "maintainer_email",
                            "Nobody in the directory has this email address.",
                        ))
                    }
                    Some((_, EmploymentStatus::Offboarded)) => {
                        return Err(invalid(
                            "maintainer_email",
                            "This person has left: choose someone staying.",
                        ))
                    }
                    Some((uid, _)) => Some(uid),
                }
            }
        };
        let values = TemplateValues {
            name: f.name.as_str(),
            department: f.department.as_str(),
            description: f.description.as_str(),
            maintainer_id: maintainer,
        };
        let id = match id {
            Some(id) => {
                let found = diesel::update(onboarding_templates::table.find(id))
                    .set((
                        &values,
                        onboarding_templates::updated_at.eq(crate::clock::now()),
                    ))
                    .execute(conn)?;
                if found == 0 {
                    return Err(AppError::NotFound.into());
                }
                diesel::delete(
                    template_products::table.filter(template_products::template_id.eq(id)),
                )
                .execute(conn)?;
                id
            }
            None => diesel::insert_into(onboarding_templates::table)
                .values(&values)
                .returning(onboarding_templates::id)
                .get_result(conn)?,
        };
        let rows: Vec<_> = f
            .products
            .iter()
            .map(|p| {
                (
                    template_products::template_id.eq(id),
                    template_products::product_id.eq(*p),
                )
            })
            .collect();
        diesel::insert_into(template_products::table)
            .values(rows)
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "template.saved",
                "onboarding_template",
                Some(id.to_string()),
            )
            .summary(format!(
                "Saved onboarding template '{}' ({} products)",
                f.name,
                f.products.len()
            ))
            .after(json!({"name": f.name, "department": f.department, "maintainer_id": maintainer, "products": f.products})),
        )?;
        Ok(id)
    })
}

/// Deletes template `id` (audited in the same transaction).
pub fn remove(conn: &mut PgConnection, actor: &Actor, id: TemplateId) -> Result<(), AppError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let name: String = onboarding_templates::table
            .find(id)
            .select(onboarding_templates::name)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        diesel::delete(onboarding_templates::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "template.deleted",
                "onboarding_template",
                Some(id.to_string()),
            )
            .summary(format!("Deleted onboarding template '{name}'")),
        )?;
        Ok(())
    })
}
