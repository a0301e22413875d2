//! Authorization: "may this user do this action on this object", answered in one place,
//! deny by default. The `Actor` is loaded from the database on every request (see
//! `auth::current_user`), so role changes and deactivation apply at the very next request.
//! docs/rbac.md lists every action, who may do it and where the check lives.

use diesel::prelude::*;

use crate::db::schema::{products, services};
use crate::domain::{InventoryStatus, ProductId, ServiceAccountId, ServiceId};
use crate::error::AppError;

pub use crate::domain::Role;

/// What part of the inventory an actor runs, loaded from the database on every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Services the actor runs as a Service Administrator.
    pub services: Vec<i64>,
    /// Products the actor runs as a Product Administrator, with each product's service.
    pub products: Vec<(i64, i64)>,
}

impl Scope {
    pub fn product_ids(&self) -> Vec<i64> {
        self.products.iter().map(|(p, _)| *p).collect()
    }

    /// Services visible through the actor's products.
    pub fn product_service_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.products.iter().map(|(_, s)| *s).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Who is acting: a person with a login (a session, a JWT or one of their API tokens), or a
/// service account (only ever through one of its API tokens; `auth::service_accounts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A person of the directory (`users.id`).
    Person(i64),
    Service(ServiceAccountId),
}

/// Who is making this request, as the database says now.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    /// The login name; for a service account, `service: <name>` (what the audit log shows).
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub session_id: i64,
    pub client_ip: Option<String>,
    pub scope: Scope,
    /// Unread notifications, for the badge in the navigation.
    pub unread: i64,
    /// Today in the configured time zone, from the application's clock when the request was
    /// authenticated: what commands count due dates and last days from (tests fix the clock).
    pub today: chrono::NaiveDate,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The person acting, or `None` for a service account: what the `…_by` columns record
    /// (the audit entry names the service account).
    pub fn person_id(&self) -> Option<i64> {
        match self.principal {
            Principal::Person(id) => Some(id),
            Principal::Service(_) => None,
        }
    }

    /// The person acting, for what only a person has (a password, a second factor,
    /// notifications, tasks of their own): a service account is refused (403).
    pub fn person(&self) -> Result<i64, AppError> {
        self.person_id().ok_or(AppError::Forbidden)
    }

    pub fn is_service(&self) -> bool {
        matches!(self.principal, Principal::Service(_))
    }

    /// Everything about the actor that decides what a page may show (who, role, scope), for
    /// the keys of results computed for them (`db::snapshot_cache`): a changed scope is a
    /// different key even before any other commit.
    pub fn cache_key(&self) -> String {
        format!(
            "{:?}:{:?}:{:?}:{:?}",
            self.principal, self.role, self.scope.services, self.scope.products
        )
    }
}

/// Everything a user can ask to do. Object-scoped actions carry the object's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewDashboard,
    ChangeOwnPassword,
    ViewAuditLog,
    ManageSettings,
    /// See the inventory list (filtered to the actor's scope).
    ViewInventory,
    /// Look people up in the directory (non-Admins see fewer fields and only their grants).
    ViewDirectory,
    /// See the payment register (filtered to the actor's scope).
    ViewPayments,
    /// Create, archive, restore or delete services.
    ManageServices,
    /// Create and edit people, their roles, logins and scopes.
    ManagePeople,
    /// Create, list and revoke one's own API tokens (which only narrow one's own rights).
    ManageOwnApiTokens,
    /// See everyone's API tokens and revoke any of them.
    ManageAllApiTokens,
    /// Make, change and disable service accounts, and make and revoke their tokens.
    ManageServiceAccounts,
    /// Set up, turn off and renew the recovery codes of one's own second factor.
    ManageOwnTwoFactor,
    /// Remove someone else's second factor (a lost phone): Admins, with their own password,
    /// and never for a person of a higher role than their own.
    ResetSecondFactor {
        target: Role,
    },
}

impl Action {
    /// What only a person may do, never a service account whatever its role: one's own
    /// password, second factor and dashboard, and anything about credentials (so a token
    /// can never make or widen a credential).
    fn needs_person(self) -> bool {
        match self {
            Action::ViewDashboard
            | Action::ChangeOwnPassword
            | Action::ManageOwnApiTokens
            | Action::ManageOwnTwoFactor
            | Action::ResetSecondFactor { .. }
            | Action::ManageAllApiTokens
            | Action::ManageServiceAccounts
            | Action::ManageSettings => true,
            Action::ViewAuditLog
            | Action::ViewInventory
            | Action::ViewDirectory
            | Action::ViewPayments
            | Action::ManageServices
            | Action::ManagePeople => false,
        }
    }
}

/// Roles in order of power: nobody acts on the second factor of a higher one.
fn rank(role: Role) -> u8 {
    match role {
        Role::User => 0,
        Role::ProductAdmin => 1,
        Role::ServiceAdmin => 2,
        Role::Admin => 3,
    }
}

/// Something done to one inventory object. Outside the actor's scope the object is
/// invisible (404); inside it but not allowed, 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectAction {
    View,
    /// Edit the service's details, or create, edit and archive its products.
    Edit,
    /// Grant or revoke access to the product.
    Grant,
    /// See and edit the product's billing records, invoices and payments.
    Billing,
}

/// An inventory object, with what scope checks need to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Service(i64),
    Product { id: i64, service_id: i64 },
}

/// What deciding an action on a product needs, and what callers name it by.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct ProductFacts {
    pub id: ProductId,
    pub service_id: ServiceId,
    pub name: String,
    pub status: InventoryStatus,
    #[diesel(select_expression = services::name)]
    pub service_name: String,
}

impl ProductFacts {
    pub fn object(&self) -> Object {
        Object::Product {
            id: self.id.get(),
            service_id: self.service_id.get(),
        }
    }
}

/// The one entry that loads a product for an action: 404 when it does not exist or is
/// outside `actor`'s scope, 403 inside it when the action is not theirs (`authorize_on`).
/// Every feature that acts on a product (grants, billing records) asks here, so none needs
/// inventory to decide.
pub fn load_product(
    conn: &mut PgConnection,
    actor: &Actor,
    action: ObjectAction,
    id: ProductId,
) -> Result<ProductFacts, AppError> {
    let product = products::table
        .inner_join(services::table)
        .filter(products::id.eq(id))
        .select(ProductFacts::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    authorize_on(actor, action, product.object())?;
    Ok(product)
}

/// Decides an action on one object from the actor's scope.
pub fn authorize_on(actor: &Actor, action: ObjectAction, object: Object) -> Result<(), AppError> {
    let sc = &actor.scope;
    let (visible, editable, grantable) = match (actor.role, object) {
        (Role::Admin, _) => (true, true, true),
        (Role::ServiceAdmin, Object::Service(s))
        | (Role::ServiceAdmin, Object::Product { service_id: s, .. }) => {
            let mine = sc.services.contains(&s);
            (mine, mine, mine)
        }
        (Role::ProductAdmin, Object::Service(s)) => {
            (sc.products.iter().any(|(_, ps)| *ps == s), false, false)
        }
        (Role::ProductAdmin, Object::Product { id, .. }) => {
            let mine = sc.products.iter().any(|(p, _)| *p == id);
            (mine, false, mine)
        }
        (Role::User, _) => (false, false, false),
    };
    if !visible {
        return Err(AppError::NotFound);
    }
    let allowed = match action {
        ObjectAction::View => true,
        ObjectAction::Edit => editable,
        // Billing follows the same scope as access: what an administrator runs.
        ObjectAction::Grant | ObjectAction::Billing => grantable,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Decides whether `actor` may perform `action`. Role-level refusals answer 403; later,
/// object-scoped refusals answer 404 so that out-of-scope objects are not confirmed to exist.
pub fn authorize(actor: &Actor, action: Action) -> Result<(), AppError> {
    if actor.is_service() && action.needs_person() {
        return Err(AppError::Forbidden);
    }
    let allowed = match action {
        Action::ViewDashboard
        | Action::ChangeOwnPassword
        | Action::ManageOwnApiTokens
        | Action::ManageOwnTwoFactor => actor.role.can_log_in(),
        Action::ResetSecondFactor { target } => {
            actor.role == Role::Admin && rank(target) <= rank(actor.role)
        }
        Action::ViewInventory | Action::ViewDirectory | Action::ViewPayments => {
            actor.role.can_log_in()
        }
        Action::ViewAuditLog
        | Action::ManageSettings
        | Action::ManageServices
        | Action::ManagePeople
        | Action::ManageAllApiTokens
        | Action::ManageServiceAccounts => actor.role == Role::Admin,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Navigation entries the actor may use (the pages also check: hiding is not enforcing).
pub fn can(actor: &Actor, action: Action) -> bool {
    authorize(actor, action).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            principal: Principal::Person(1),
            username: "u".into(),
            full_name: "U".into(),
            role,
            session_id: 1,
            client_ip: None,
            scope: Scope {
                services: vec![10],
                products: vec![(20, 11)],
            },
            unread: 0,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        }
    }

    #[test]
    fn matrix() {
        use Action::*;
        use Role::*;
        let table: &[(Action, &[Role])] = &[
            (ViewDashboard, &[Admin, ServiceAdmin, ProductAdmin]),
            (ChangeOwnPassword, &[Admin, ServiceAdmin, ProductAdmin]),
            (ViewAuditLog, &[Admin]),
            (ManageSettings, &[Admin]),
            (ViewInventory, &[Admin, ServiceAdmin, ProductAdmin]),
            (ViewDirectory, &[Admin, ServiceAdmin, ProductAdmin]),
            (ViewPayments, &[Admin, ServiceAdmin, ProductAdmin]),
            (ManageServices, &[Admin]),
            (ManagePeople, &[Admin]),
            (ManageOwnApiTokens, &[Admin, ServiceAdmin, ProductAdmin]),
            (ManageAllApiTokens, &[Admin]),
            (ManageOwnTwoFactor, &[Admin, ServiceAdmin, ProductAdmin]),
            (ResetSecondFactor { target: Admin }, &[Admin]),
            (
                ResetSecondFactor {
                    target: ServiceAdmin,
                },
                &[Admin],
            ),
            (ResetSecondFactor { target: User }, &[Admin]),
        ];
        for (action, allowed) in table {
            for role in [Admin, ServiceAdmin, ProductAdmin, User] {
                assert_eq!(
                    authorize(&actor(role), *action).is_ok(),
                    allowed.contains(&role),
                    "{role:?} {action:?}"
                );
            }
        }
    }

    /// Nobody resets the second factor of a higher role: a role's rank bounds the targets,
    /// for every pair of roles.
    #[test]
    fn no_role_resets_the_second_factor_of_a_higher_one() {
        for actor_role in Role::ALL {
            for target in Role::ALL {
                let allowed = authorize(
                    &actor(*actor_role),
                    Action::ResetSecondFactor { target: *target },
                )
                .is_ok();
                if rank(*target) > rank(*actor_role) {
                    assert!(!allowed, "{actor_role:?} must not reset {target:?}");
                }
                assert_eq!(
                    allowed,
                    *actor_role == Role::Admin,
                    "{actor_role:?} → {target:?}"
                );
            }
        }
    }

    #[test]
    fn object_matrix() {
        use ObjectAction::*;
        use Role::*;
        // The actor runs service 10 (as SA) or product 20 of service 11 (as PA).
        let own_service = Object::Service(10);
        let product_service = Object::Service(11);
        let other_service = Object::Service(12);
        let own_product = Object::Product {
            id: 20,
            service_id: 11,
        };
        let product_in_own_service = Object::Product {
            id: 30,
            service_id: 10,
        };
        let sibling_product = Object::Product {
            id: 21,
            service_id: 11,
        };
        let status = |role, action, object| match authorize_on(&actor(role), action, object) {
            Ok(()) => 200,
            Err(AppError::Forbidden) => 403,
            Err(AppError::NotFound) => 404,
            Err(e) => panic!("{e}"),
        };
        let table = [
            (Admin, Edit, other_service, 200),
            (Admin, Grant, sibling_product, 200),
            (ServiceAdmin, Edit, own_service, 200),
            (ServiceAdmin, Grant, product_in_own_service, 200),
            (ServiceAdmin, View, other_service, 404),
            (ServiceAdmin, Grant, own_product, 404),
            (ProductAdmin, View, product_service, 200),
            (ProductAdmin, Edit, product_service, 403),
            (ProductAdmin, Grant, own_product, 200),
            (ProductAdmin, Edit, own_product, 403),
            (ProductAdmin, View, sibling_product, 404),
            (ProductAdmin, View, own_service, 404),
            (User, View, own_service, 404),
        ];
        for (role, action, object, expected) in table {
            assert_eq!(
                status(role, action, object),
                expected,
                "{role:?} {action:?} {object:?}"
            );
        }
    }
}

/// Something done to one task of a workflow (docs/rbac.md, "Tasks"). Answered from what the
/// database says about the task now (`TaskFacts`, loaded by `workflows::queries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    /// See the task's page.
    View,
    /// Close it: mark it done (which grants or revokes the access) or not needed.
    Close,
}

/// What deciding a task action needs to know about the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskFacts {
    /// The person the task's workflow is about.
    pub person_id: i64,
    /// Whether the actor is one of the task's assignees now (`workflows::assign`: the
    /// product's administrators, else its service's, else the Admins; never the person).
    pub assigned_to_actor: bool,
    pub open: bool,
    /// Who closed it, once closed.
    pub completed_by: Option<i64>,
}

/// Decides a task action. Outside the task's scope (not an assignee, not an Admin; for a
/// closed task, not whoever closed it) the task is invisible (404). An Admin who is the
/// task's person sees it but may not close it (403: another administrator completes it).
pub fn authorize_task(actor: &Actor, action: TaskAction, task: &TaskFacts) -> Result<(), AppError> {
    let me = actor.person_id();
    let assignee = me != Some(task.person_id) && task.assigned_to_actor;
    let visible = actor.is_admin()
        || (task.open && assignee)
        || (!task.open && me.is_some() && task.completed_by == me);
    let may_close = me != Some(task.person_id) && (actor.is_admin() || assignee);
    match action {
        TaskAction::View if visible => Ok(()),
        TaskAction::Close if may_close => Ok(()),
        TaskAction::Close if actor.is_admin() => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod task_tests {
    use super::*;

    fn actor(id: i64, role: Role) -> Actor {
        Actor {
            principal: Principal::Person(id),
            username: "u".into(),
            full_name: "U".into(),
            role,
            session_id: 1,
            client_ip: None,
            scope: Scope::default(),
            unread: 0,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        }
    }

    #[test]
    fn task_matrix() {
        use TaskAction::*;
        let status = |a: &Actor, action, t: &TaskFacts| match authorize_task(a, action, t) {
            Ok(()) => 200,
            Err(AppError::Forbidden) => 403,
            Err(AppError::NotFound) => 404,
            Err(e) => panic!("{e}"),
        };
        let open = |assigned| TaskFacts {
            person_id: 9,
            assigned_to_actor: assigned,
            open: true,
            completed_by: None,
        };
        let closed_by = |who| TaskFacts {
            open: false,
            completed_by: Some(who),
            ..open(false)
        };
        let pa = actor(1, Role::ProductAdmin);
        let admin = actor(2, Role::Admin);
        let admin_leaving = actor(9, Role::Admin);
        assert_eq!(status(&pa, Close, &open(true)), 200);
        assert_eq!(status(&pa, View, &open(true)), 200);
        assert_eq!(status(&pa, Close, &open(false)), 404);
        assert_eq!(status(&pa, View, &open(false)), 404);
        assert_eq!(status(&pa, View, &closed_by(1)), 200);
        assert_eq!(status(&pa, View, &closed_by(2)), 404);
        assert_eq!(status(&admin, Close, &open(false)), 200);
        assert_eq!(status(&admin, View, &closed_by(1)), 200);
        assert_eq!(status(&admin_leaving, View, &open(false)), 200);
        assert_eq!(status(&admin_leaving, Close, &open(false)), 403);
    }
}
