//! The SCIM endpoints' handlers: thin, as every door's are — they read the request, run
//! `users`' or `groups`' queries and commands in `db::run`, and answer as SCIM does.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use serde_json::Value;

use super::{
    check_if_match, groups, list_response, projection, respond, users, ListQuery, ScimCaller,
    ScimError, ScimJson, ScimResult,
};
use crate::auth::links::LinkSettings;
use crate::web::AppState;

fn env(state: &AppState) -> Result<users::Env, ScimError> {
    Ok(users::Env {
        links: LinkSettings::from_state(state)?,
        base: super::base_url(state),
    })
}

fn user_id(path: &str) -> ScimResult<i64> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ScimError::not_found("There is no such user."))
}

/// `GET /Users`: a filtered page.
/// Which resources a list or search asks for.
#[derive(Clone, Copy)]
enum Kind {
    Users,
    Groups,
}

/// A list (`GET /Users`) or a search (`POST /Users/.search`): a filtered page, each
/// resource holding the attributes asked for.
async fn find(state: &AppState, kind: Kind, query: ListQuery) -> ScimResult<HttpResponse> {
    let paging = query.paging()?;
    let base = super::base_url(state);
    let filter_text = query.filter.clone();
    let (found, total) = crate::db::run(&state.pool, move |conn| match kind {
        Kind::Users => users::search(conn, filter_text.as_deref(), paging, &base),
        Kind::Groups => groups::search(conn, filter_text.as_deref(), paging, &base),
    })
    .await??;
    let found = found.into_iter().map(|r| shape(r, &query)).collect();
    Ok(list_response(found, total, paging))
}

/// `resource` with the attributes `query` asks for.
fn shape(resource: Value, query: &ListQuery) -> Value {
    projection::project(
        resource,
        &projection::names(query.attributes.as_deref()),
        &projection::names(query.excluded_attributes.as_deref()),
        &[users::ENTERPRISE_SCHEMA],
    )
}

/// A SearchRequest body (RFC 7644 §3.4.3) as the query of a list.
fn search_query(body: &Value) -> ScimResult<ListQuery> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad(Some("invalidSyntax"), "The body must be a JSON object."))?;
    let text = |name: &str| -> Option<String> {
        match users::member(obj, name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        }
    };
    Ok(ListQuery {
        filter: text("filter"),
        start_index: text("startIndex"),
        count: text("count"),
        sort_by: text("sortBy"),
        attributes: text("attributes"),
        excluded_attributes: text("excludedAttributes"),
    })
}

pub async fn list(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    find(&state, Kind::Users, query.into_inner()).await
}

pub async fn search(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    find(&state, Kind::Users, search_query(&body.0)?).await
}

/// `POST /.search`: users, then groups, each kind kept to what the filter can say of it
/// (a filter on `userName` finds no group); paged over both.
pub async fn search_all(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let query = search_query(&body.0)?;
    let paging = query.paging()?;
    let base = super::base_url(&state);
    let filter_text = query.filter.clone();
    let (found, total) = crate::db::run(&state.pool, move |conn| {
        let everything = super::Paging {
            offset: 0,
            count: super::MAX_COUNT * 10,
        };
        let f = filter_text.as_deref();
        let u = users::search(conn, f, everything, &base)?;
        let g = groups::search(conn, f, everything, &base)?;
        Ok(match (u, g) {
            (Err(e), Err(_)) => Err(e),
            (u, g) => {
                let mut all = u.map(|(r, _)| r).unwrap_or_default();
                all.extend(g.map(|(r, _)| r).unwrap_or_default());
                let total = all.len() as i64;
                let page = all
                    .into_iter()
                    .skip(paging.offset as usize)
                    .take(paging.count as usize)
                    .collect::<Vec<_>>();
                Ok((page, total))
            }
        })
    })
    .await??;
    let found = found.into_iter().map(|r| shape(r, &query)).collect();
    Ok(list_response(found, total, paging))
}

pub async fn search_groups(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    find(&state, Kind::Groups, search_query(&body.0)?).await
}

pub async fn get(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    let id = user_id(&path)?;
    let base = super::base_url(&state);
    let user = crate::db::run(&state.pool, move |conn| users::resource(conn, id, &base)).await?;
    Ok(respond(StatusCode::OK, &shape(user, &query)))
}

pub async fn create(
    caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let input = users::UserInput::from_json(&body.0)?;
    let env = env(&state)?;
    let actor = caller.0;
    let user = crate::db::run(&state.pool, move |conn| {
        Ok(users::create_user(conn, &actor, &input, &env)
            .and_then(|id| Ok(users::resource(conn, id, &env.base)?)))
    })
    .await??;
    Ok(respond(StatusCode::CREATED, &user))
}

pub async fn replace(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = user_id(&path)?;
    let input = users::UserInput::from_json(&body.0)?;
    let env = env(&state)?;
    let actor = caller.0;
    let user = crate::db::run(&state.pool, move |conn| {
        Ok(users::replace_user(conn, &actor, id, &input, &env, &|v| {
            check_if_match(wanted.as_deref(), v)
        })
        .and_then(|()| Ok(users::resource(conn, id, &env.base)?)))
    })
    .await??;
    Ok(respond(StatusCode::OK, &user))
}

pub async fn patch(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = user_id(&path)?;
    let ops = super::patch::operations(&body.0)?;
    let env = env(&state)?;
    let actor = caller.0;
    let user = crate::db::run(&state.pool, move |conn| {
        let current = match users::resource(conn, id, &env.base) {
            Ok(v) => v,
            Err(e) => return Ok(Err(ScimError::from(e))),
        };
        let patched = match super::patch::apply(current, &ops) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        Ok(users::UserInput::from_json(&patched).and_then(|input| {
            users::replace_user(conn, &actor, id, &input, &env, &|v| {
                check_if_match(wanted.as_deref(), v)
            })?;
            Ok(users::resource(conn, id, &env.base)?)
        }))
    })
    .await??;
    Ok(respond(StatusCode::OK, &user))
}

pub async fn delete(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = user_id(&path)?;
    let env = env(&state)?;
    let actor = caller.0;
    crate::db::run(&state.pool, move |conn| {
        Ok(users::delete_user(conn, &actor, id, &env, &|v| {
            check_if_match(wanted.as_deref(), v)
        }))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

fn group_id(path: &str) -> ScimResult<i64> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ScimError::not_found("There is no such group."))
}

pub async fn list_groups(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    find(&state, Kind::Groups, query.into_inner()).await
}

pub async fn get_group(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    let id = group_id(&path)?;
    let base = super::base_url(&state);
    let g = crate::db::run(&state.pool, move |conn| groups::resource(conn, id, &base)).await?;
    Ok(respond(StatusCode::OK, &shape(g, &query)))
}

pub async fn create_group(
    caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let input = groups::GroupInput::from_json(&body.0)?;
    let base = super::base_url(&state);
    let actor = caller.0;
    let g = crate::db::run(&state.pool, move |conn| {
        Ok(groups::create_group(conn, &actor, &input)
            .and_then(|id| Ok(groups::resource(conn, id, &base)?)))
    })
    .await??;
    Ok(respond(StatusCode::CREATED, &g))
}

pub async fn replace_group(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = group_id(&path)?;
    let input = groups::GroupInput::from_json(&body.0)?;
    let base = super::base_url(&state);
    let actor = caller.0;
    let g = crate::db::run(&state.pool, move |conn| {
        Ok(groups::replace_group(conn, &actor, id, &input, &|v| {
            check_if_match(wanted.as_deref(), v)
        })
        .and_then(|()| Ok(groups::resource(conn, id, &base)?)))
    })
    .await??;
    Ok(respond(StatusCode::OK, &g))
}

pub async fn patch_group(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = group_id(&path)?;
    let ops = super::patch::operations(&body.0)?;
    let base = super::base_url(&state);
    let actor = caller.0;
    let g = crate::db::run(&state.pool, move |conn| {
        let current = match groups::resource(conn, id, &base) {
            Ok(v) => v,
            Err(e) => return Ok(Err(ScimError::from(e))),
        };
        Ok(super::patch::apply(current, &ops)
            .and_then(|patched| groups::GroupInput::from_json(&patched))
            .and_then(|input| {
                groups::replace_group(conn, &actor, id, &input, &|v| {
                    check_if_match(wanted.as_deref(), v)
                })?;
                Ok(groups::resource(conn, id, &base)?)
            }))
    })
    .await??;
    Ok(respond(StatusCode::OK, &g))
}

pub async fn delete_group(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = group_id(&path)?;
    let actor = caller.0;
    crate::db::run(&state.pool, move |conn| {
        Ok(groups::delete_group(conn, &actor, id, &|v| {
            check_if_match(wanted.as_deref(), v)
        }))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
