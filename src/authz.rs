//! Authorization: "may this user do this action on this object", answered in one place,
//! deny by default. The `Actor` is loaded from the database on every request (see
//! `auth::current_user`), so role changes and deactivation apply at the very next request.
//! docs/rbac.md lists every action, who may do it and where the check lives.

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    ServiceAdmin,
    ProductAdmin,
    /// Exists in the directory only; cannot log in.
    User,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "service_admin" => Some(Role::ServiceAdmin),
            "product_admin" => Some(Role::ProductAdmin),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ServiceAdmin => "service_admin",
            Role::ProductAdmin => "product_admin",
            Role::User => "user",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::ServiceAdmin => "Service Administrator",
            Role::ProductAdmin => "Product Administrator",
            Role::User => "User (no login)",
        }
    }

    /// Whether people with this role may log in at all.
    pub fn can_log_in(self) -> bool {
        self != Role::User
    }
}

/// The logged-in user making this request, as the database says now.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub session_id: i64,
    pub client_ip: Option<String>,
}

/// Everything a user can ask to do. Object-scoped actions carry the object's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewDashboard,
    ChangeOwnPassword,
    ViewAuditLog,
    ManageSettings,
}

/// Decides whether `actor` may perform `action`. Role-level refusals answer 403; later,
/// object-scoped refusals answer 404 so that out-of-scope objects are not confirmed to exist.
pub fn authorize(actor: &Actor, action: Action) -> Result<(), AppError> {
    let allowed = match action {
        Action::ViewDashboard | Action::ChangeOwnPassword => actor.role.can_log_in(),
        Action::ViewAuditLog | Action::ManageSettings => actor.role == Role::Admin,
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
            id: 1,
            username: "u".into(),
            full_name: "U".into(),
            role,
            session_id: 1,
            client_ip: None,
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
}
