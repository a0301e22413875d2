//! The directory as CSV: one row per person with their active access.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use diesel::prelude::*;

use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::db::schema::{access_grants, products, services, users};
use crate::error::AppResult;
use crate::web::csv_out::attachment;
use crate::web::AppState;

const HEADER: &[&str] = &[
    "full_name",
    "email",
    "username",
    "department",
    "job_title",
    "manager_email",
    "employment_status",
    "role",
    "start_date",
    "end_date",
    "access",
];

pub async fn directory_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let rows = crate::db::run(&state.pool, move |conn| {
        let people: Vec<(
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            String,
            String,
            Option<chrono::NaiveDate>,
            Option<chrono::NaiveDate>,
        )> = users::table
            .select((
                users::id,
                users::full_name,
                users::email,
                users::username,
                users::department,
                users::job_title,
                users::manager_id,
                users::employment_status,
                users::role,
                users::start_date,
                users::end_date,
            ))
            .order((crate::db::lower(users::full_name).asc(), users::id.asc()))
            .load(conn)?;
        let mut access: HashMap<i64, Vec<String>> = HashMap::new();
        let grants: Vec<(i64, String)> = access_grants::table
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
        let emails: HashMap<i64, String> = people.iter().map(|p| (p.0, p.2.clone())).collect();
        Ok(people
            .into_iter()
            .map(|p| {
                vec![
                    p.1,
                    p.2,
                    p.3.unwrap_or_default(),
                    p.4.unwrap_or_default(),
                    p.5.unwrap_or_default(),
                    p.6.and_then(|m| emails.get(&m).cloned())
                        .unwrap_or_default(),
                    p.7,
                    p.8,
                    p.9.map(|d| d.to_string()).unwrap_or_default(),
                    p.10.map(|d| d.to_string()).unwrap_or_default(),
                    access.remove(&p.0).unwrap_or_default().join("; "),
                ]
            })
            .collect::<Vec<_>>())
    })
    .await?;
    attachment("portalops-directory.csv", HEADER, rows)
}
