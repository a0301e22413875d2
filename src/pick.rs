//! The pickers' JSON: a page of the people or the products matching what is typed, in the
//! user's scope, for the search-as-you-type fields (`static/js/picker.js`). Every word
//! typed must match, in any order ("Chen Ada"). Without script the fields work as plain
//! selects and email fields, so nothing here is needed to use a page.

use actix_web::http::header;
use actix_web::{web as aw, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::current_user::CurrentUser;
use crate::directory::queries;
use crate::domain::{EmploymentStatus, Role};
use crate::error::AppResult;
use crate::web::AppState;

/// At most this many matches in one answer.
pub const PAGE: i64 = 20;

pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/pick/people", aw::get().to(people))
        .route("/pick/products", aw::get().to(products));
}

#[derive(Debug, Deserialize)]
pub struct PickQuery {
    #[serde(default)]
    q: String,
    /// Only holders of this role (`service_admin`, …), for the administrator fields.
    #[serde(default)]
    role: String,
    /// People who left too (`1`).
    #[serde(default)]
    left: String,
}

impl PickQuery {
    /// What was typed, bounded.
    fn words(&self) -> String {
        self.q.chars().take(100).collect()
    }
}

/// One match: `value` is what a text field takes (an email address), `id` what a select
/// takes.
#[derive(Debug, Serialize)]
struct Item {
    id: i64,
    label: String,
    detail: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Picked {
    items: Vec<Item>,
    /// More match than were sent: type more to narrow them.
    more: bool,
}

fn answer(mut items: Vec<Item>) -> HttpResponse {
    let more = items.len() as i64 > PAGE;
    items.truncate(PAGE as usize);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Picked { items, more })
}

/// `GET /pick/people?q=`: people by name or email (not those who left, unless `left=1`).
pub async fn people(
    user: CurrentUser,
    state: aw::Data<AppState>,
    query: aw::Query<PickQuery>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let words = query.words();
    let role = Role::parse(query.role.trim());
    let with_left = query.left == "1";
    let found = crate::db::run(&state.pool, move |conn| {
        queries::pick_people(conn, &actor, &words, role, with_left, PAGE + 1)
    })
    .await?;
    let items = found
        .into_iter()
        .map(|p| {
            let mut detail = p.email.clone();
            if let Some(d) = p.department.filter(|d| !d.is_empty()) {
                detail.push_str(" · ");
                detail.push_str(&d);
            }
            if p.employment_status != EmploymentStatus::Active {
                detail.push_str(" · ");
                detail.push_str(p.employment_status.label());
            }
            Item {
                id: p.id.get(),
                label: p.full_name,
                detail,
                value: p.email,
            }
        })
        .collect();
    Ok(answer(items))
}

/// `GET /pick/products?q=`: the active products the user may grant, by "Service Product".
pub async fn products(
    user: CurrentUser,
    state: aw::Data<AppState>,
    query: aw::Query<PickQuery>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    // The box shows a chosen product as "Service → Product": the arrow is no word.
    let words = query.words().replace('→', " ");
    let found = crate::db::run(&state.pool, move |conn| {
        queries::pick_products(conn, &actor, &words, PAGE + 1)
    })
    .await?;
    let items = found
        .into_iter()
        .map(|(id, label)| Item {
            id,
            value: id.to_string(),
            label,
            detail: String::new(),
        })
        .collect();
    Ok(answer(items))
}
