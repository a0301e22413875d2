//! Onboarding templates (Admins): the product sets an onboarding starts from, e.g. "Sales
//! starter kit". The queries and commands of `workflows::templates` (the page's too),
//! audited in their transactions.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json};
use crate::authz::{authorize, Action};
use crate::domain::{FieldErrors, ProductId, TemplateId};
use crate::error::CommandError;
use crate::web::AppState;
use crate::workflows::requests::TemplateChanges;
use crate::workflows::templates::{self, TemplateDetail};

#[derive(Serialize, utoipa::ToSchema)]
struct TemplateItem {
    id: i64,
    name: String,
    department: String,
    /// Who keeps it up to date.
    maintainer: String,
    products: i64,
}

/// Every onboarding template, by name.
#[utoipa::path(get, path = "/api/v1/templates", tag = "workflows", operation_id = "list_templates",
    responses((status = 200, description = "The templates", body = Vec<TemplateItem>)))]
pub async fn list(user: ApiUser, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let rows = crate::db::run(&state.pool, move |conn| templates::list(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|r| TemplateItem {
                id: r.id.get(),
                name: r.name,
                department: r.department,
                maintainer: r.maintainer,
                products: r.products,
            })
            .collect::<Vec<_>>(),
    ))
}

/// A template as stored, and as sent to add or save one.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 120)]
    name: String,
    /// The department it is meant for (a hint on the onboarding form).
    #[serde(default)]
    department: String,
    #[serde(default)]
    description: String,
    /// Who keeps it up to date, by email (empty: nobody).
    #[serde(default)]
    maintainer_email: String,
    /// The products it grants.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    product_ids: Vec<i64>,
}

impl From<TemplateDetail> for Template {
    fn from(t: TemplateDetail) -> Self {
        Self {
            name: t.name,
            department: t.department,
            description: t.description,
            maintainer_email: t.maintainer_email,
            product_ids: t.product_ids.into_iter().map(ProductId::get).collect(),
        }
    }
}

impl Template {
    /// The command's request (trimmed and deduplicated, as the page's).
    fn request(&self) -> Result<TemplateChanges, FieldErrors> {
        TemplateChanges::new(
            &self.name,
            &self.department,
            &self.description,
            &self.maintainer_email,
            &self.product_ids,
        )
    }
}

/// One template.
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "workflows", operation_id = "get_template",
    params(("id" = i64, Path, description = "The template's id")),
    responses((status = 200, description = "The template", body = Template)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = TemplateId(path.into_inner());
    let t = crate::db::run(&state.pool, move |conn| templates::detail(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(Template::from(t)))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Saved {
    id: i64,
}

/// Add a template.
#[utoipa::path(post, path = "/api/v1/templates", tag = "workflows", operation_id = "create_template",
    request_body = Template,
    responses((status = 201, description = "Added", body = Saved,
        headers(("Location" = String, description = "The template")))))]
pub async fn create(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<Template>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let request = body.into_inner().request().map_err(CommandError::Invalid)?;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(templates::save(conn, &actor, None, request))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/templates/{id}")))
        .json(Saved { id: id.get() }))
}

/// Save a template: every field as given.
#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "workflows", operation_id = "update_template",
    params(("id" = i64, Path, description = "The template's id")),
    request_body = Template,
    responses((status = 200, description = "Saved", body = Saved)))]
pub async fn update(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Template>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = TemplateId(path.into_inner());
    let request = body.into_inner().request().map_err(CommandError::Invalid)?;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(templates::save(conn, &actor, Some(id), request))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Saved { id: id.get() }))
}

/// Delete a template (onboardings started from it keep their tasks).
#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "workflows", operation_id = "delete_template",
    params(("id" = i64, Path, description = "The template's id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = TemplateId(path.into_inner());
    crate::db::run(&state.pool, move |conn| templates::remove(conn, &actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
