//! The SCIM endpoints' handlers: thin, as every door's are — they read the request, run
//! `users`' or `groups`' queries and commands in `db::run`, and answer as SCIM does.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use serde_json::Value;

use super::resource::Resource;
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
        lead_days: state.config.task_lead_days,
    })
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
        &users::EXTENSIONS,
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

pub async fn list_groups(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    find(&state, Kind::Groups, query.into_inner()).await
}

fn id_of<R: Resource>(path: &str) -> ScimResult<i64> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ScimError::not_found(format!("There is no such {}.", R::NAME)))
}

/// `GET /{Users,Groups}/{id}`.
pub async fn get<R: Resource>(
    _caller: ScimCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> ScimResult<HttpResponse> {
    let id = id_of::<R>(&path)?;
    let base = super::base_url(&state);
    let found = crate::db::run(&state.pool, move |conn| R::load(conn, id, &base)).await?;
    Ok(respond(StatusCode::OK, &shape(found, &query)))
}

/// `POST /{Users,Groups}`.
pub async fn create<R: Resource>(
    caller: ScimCaller,
    state: web::Data<AppState>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    let input = R::input(&body.0)?;
    let env = env(&state)?;
    let actor = caller.0;
    let made = crate::db::run(&state.pool, move |conn| {
        Ok(R::create(conn, &actor, &input, &env).and_then(|id| Ok(R::load(conn, id, &env.base)?)))
    })
    .await??;
    Ok(respond(StatusCode::CREATED, &made))
}

/// `PUT /{Users,Groups}/{id}` (`ops` none), or `PATCH` (the operations applied to the
/// resource as it is, then saved the same way).
async fn change<R: Resource>(
    caller: ScimCaller,
    req: &HttpRequest,
    state: &AppState,
    path: &str,
    body: Value,
    patch: bool,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(req);
    let id = id_of::<R>(path)?;
    let (input, ops) = if patch {
        (None, Some(super::patch::operations(&body)?))
    } else {
        (Some(R::input(&body)?), None)
    };
    let env = env(state)?;
    let actor = caller.0;
    let changed = crate::db::run(&state.pool, move |conn| {
        Ok(super::resource::change::<R>(
            conn,
            &actor,
            id,
            input,
            ops,
            &env,
            &|v| check_if_match(wanted.as_deref(), v),
        ))
    })
    .await??;
    Ok(respond(StatusCode::OK, &changed))
}

pub async fn replace<R: Resource>(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    change::<R>(caller, &req, &state, &path, body.0, false).await
}

pub async fn patch<R: Resource>(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ScimJson,
) -> ScimResult<HttpResponse> {
    change::<R>(caller, &req, &state, &path, body.0, true).await
}

/// `DELETE /{Users,Groups}/{id}`.
pub async fn delete<R: Resource>(
    caller: ScimCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let wanted = super::if_match(&req);
    let id = id_of::<R>(&path)?;
    let env = env(&state)?;
    let actor = caller.0;
    crate::db::run(&state.pool, move |conn| {
        Ok(R::delete(conn, &actor, id, &env, &|v| {
            check_if_match(wanted.as_deref(), v)
        }))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
