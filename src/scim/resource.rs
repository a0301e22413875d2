//! What the SCIM handlers do alike for users and groups (`scim::handlers` is generic over
//! `Resource`): read a body, load one, make, replace, delete. `users` and `groups` hold the
//! queries and commands.

use diesel::PgConnection;
use serde_json::Value;

use super::patch::Operation;
use super::{groups, users, ScimResult};
use crate::authz::Actor;
use crate::error::AppError;

/// What the handlers do alike for users and groups: read a body, load one, make, replace,
/// delete (`users` and `groups` hold the queries and commands).
pub trait Resource: 'static {
    /// "user" or "group", for the 404's sentence.
    const NAME: &'static str;
    type Input: Send + 'static;
    fn input(body: &Value) -> ScimResult<Self::Input>;
    fn load(conn: &mut PgConnection, id: i64, base: &str) -> Result<Value, AppError>;
    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: &Self::Input,
        env: &users::Env,
    ) -> ScimResult<i64>;
    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        input: &Self::Input,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()>;
    fn delete(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()>;
    /// What a PATCH that removed an attribute the resource cannot be without leaves:
    /// nothing by default.
    fn after_patch(_current: &Value, _patched: &mut Value) {}
}

/// The `/Users` endpoints.
pub struct Users;
/// The `/Groups` endpoints.
pub struct Groups;

impl Resource for Users {
    const NAME: &'static str = "user";
    type Input = users::UserInput;
    fn input(body: &Value) -> ScimResult<Self::Input> {
        users::UserInput::from_json(body)
    }
    fn load(conn: &mut PgConnection, id: i64, base: &str) -> Result<Value, AppError> {
        users::resource(conn, id, base)
    }
    /// A user is active or not: removing `active` leaves it as it was (read as `true` it
    /// would reactivate a leaver without anyone asking).
    fn after_patch(current: &Value, patched: &mut Value) {
        let has = |v: &Value| {
            v.as_object()
                .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("active")))
        };
        if !has(patched) {
            if let (Some(active), Some(obj)) = (current.get("active"), patched.as_object_mut()) {
                obj.insert("active".into(), active.clone());
            }
        }
    }
    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: &Self::Input,
        env: &users::Env,
    ) -> ScimResult<i64> {
        users::create_user(conn, actor, input, env)
    }
    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        input: &Self::Input,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()> {
        users::replace_user(conn, actor, id, input, env, if_match)
    }
    fn delete(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()> {
        users::delete_user(conn, actor, id, env, if_match)
    }
}

impl Resource for Groups {
    const NAME: &'static str = "group";
    type Input = groups::GroupInput;
    fn input(body: &Value) -> ScimResult<Self::Input> {
        groups::GroupInput::from_json(body)
    }
    fn load(conn: &mut PgConnection, id: i64, base: &str) -> Result<Value, AppError> {
        groups::resource(conn, id, base)
    }
    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: &Self::Input,
        env: &users::Env,
    ) -> ScimResult<i64> {
        groups::create_group(conn, actor, input, env)
    }
    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        input: &Self::Input,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()> {
        groups::replace_group(conn, actor, id, input, env, if_match)
    }
    fn delete(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        env: &users::Env,
        if_match: &dyn Fn(&str) -> ScimResult<()>,
    ) -> ScimResult<()> {
        groups::delete_group(conn, actor, id, env, if_match)
    }
}

/// A PUT (`input`) or a PATCH (`ops`, applied to the resource as it is and then saved like
/// a PUT); the resource as it is afterwards.
pub fn change<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    input: Option<R::Input>,
    ops: Option<Vec<Operation>>,
    env: &users::Env,
    if_match: &dyn Fn(&str) -> ScimResult<()>,
) -> ScimResult<Value> {
    let input = match input {
        Some(input) => input,
        None => {
            let current = R::load(conn, id, &env.base)?;
            let mut patched = super::patch::apply(current.clone(), &ops.unwrap_or_default())?;
            R::after_patch(&current, &mut patched);
            R::input(&patched)?
        }
    };
    R::replace(conn, actor, id, &input, env, if_match)?;
    Ok(R::load(conn, id, &env.base)?)
}
