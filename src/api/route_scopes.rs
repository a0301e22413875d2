//! Which scope an API token needs for each API route: every route, by method and path
//! pattern (as the OpenAPI document writes them), maps to an area and an access. The gate
//! in `api::mod` applies it to every request that carries an API token, before any handler;
//! a route missing here is refused to tokens (403), and a test fails for every operation of
//! the OpenAPI document that is missing here. Sessions and JWT access tokens are not
//! filtered: for them the owner's role and scope decide alone (`authz`), as they still do
//! behind a token.

use crate::domain::{ApiAccess, ApiArea, TokenScopes};

/// What a route needs from an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// No credential at all (login, refresh, the document itself): a token changes nothing.
    Public,
    /// The caller's own account, read (who am I, my notifications, my tokens): any token.
    OwnRead,
    /// The caller's own account, changed (notifications marked read): any token with a
    /// write scope, so a read-only token stays read-only.
    OwnWrite,
    /// Reading or changing one area.
    Area(ApiArea, ApiAccess),
    /// Never with a token: a login (JWT) only. Tokens cannot make, revoke or log out
    /// tokens, so a narrow token cannot widen itself.
    LoginOnly,
}

use ApiAccess::{Read, Write};
use ApiArea::{Audit, Billing, Inventory, People, Workflows};
use Need::{Area, LoginOnly, OwnRead, OwnWrite, Public};

/// Every API route: (method, path pattern, what a token needs).
#[rustfmt::skip]
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/api/v1/docs", Public),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/refresh", Public),
    ("POST", "/api/v1/auth/logout", LoginOnly),
    ("GET", "/api/v1/me", OwnRead),
    ("GET", "/api/v1/tokens", OwnRead),
    ("POST", "/api/v1/tokens", LoginOnly),
    ("DELETE", "/api/v1/tokens/{id}", LoginOnly),
    ("GET", "/api/v1/notifications", OwnRead),
    ("POST", "/api/v1/notifications/read", OwnWrite),
    ("POST", "/api/v1/notifications/{id}/read", OwnWrite),
    ("GET", "/api/v1/services", Area(Inventory, Read)),
    ("GET", "/api/v1/services/{id}", Area(Inventory, Read)),
    ("GET", "/api/v1/products/{id}", Area(Inventory, Read)),
    ("POST", "/api/v1/services/{id}/admins", Area(People, Write)),
    ("DELETE", "/api/v1/services/{id}/admins/{person_id}", Area(People, Write)),
    ("POST", "/api/v1/products/{id}/admins", Area(People, Write)),
    ("DELETE", "/api/v1/products/{id}/admins/{person_id}", Area(People, Write)),
    ("GET", "/api/v1/people", Area(People, Read)),
    ("GET", "/api/v1/people/{id}", Area(People, Read)),
    ("PUT", "/api/v1/people/{id}/role", Area(People, Write)),
    ("POST", "/api/v1/people/{id}/grants", Area(People, Write)),
    ("GET", "/api/v1/people/{id}/history", Area(People, Read)),
    ("GET", "/api/v1/products/{id}/history", Area(Inventory, Read)),
    ("POST", "/api/v1/grants", Area(People, Write)),
    ("POST", "/api/v1/grants/bulk-revoke", Area(People, Write)),
    ("POST", "/api/v1/products/{id}/grants/bulk", Area(People, Write)),
    ("GET", "/api/v1/grants/{id}", Area(People, Read)),
    ("POST", "/api/v1/grants/{id}/revoke", Area(People, Write)),
    ("GET", "/api/v1/audit", Area(Audit, Read)),
    ("GET", "/api/v1/workflows", Area(Workflows, Read)),
    ("POST", "/api/v1/workflows/onboarding", Area(Workflows, Write)),
    ("POST", "/api/v1/workflows/offboarding", Area(Workflows, Write)),
    ("GET", "/api/v1/workflows/{id}", Area(Workflows, Read)),
    ("POST", "/api/v1/workflows/{id}/cancel", Area(Workflows, Write)),
    ("GET", "/api/v1/templates", Area(Workflows, Read)),
    ("POST", "/api/v1/templates", Area(Workflows, Write)),
    ("GET", "/api/v1/templates/{id}", Area(Workflows, Read)),
    ("PUT", "/api/v1/templates/{id}", Area(Workflows, Write)),
    ("DELETE", "/api/v1/templates/{id}", Area(Workflows, Write)),
    ("GET", "/api/v1/tasks", Area(Workflows, Read)),
    ("GET", "/api/v1/tasks/{id}", Area(Workflows, Read)),
    ("POST", "/api/v1/tasks/{id}/complete", Area(Workflows, Write)),
    ("POST", "/api/v1/tasks/{id}/not-needed", Area(Workflows, Write)),
    ("GET", "/api/v1/billing-records", Area(Billing, Read)),
    ("POST", "/api/v1/billing-records", Area(Billing, Write)),
    ("GET", "/api/v1/billing-records/{id}", Area(Billing, Read)),
    ("PUT", "/api/v1/billing-records/{id}", Area(Billing, Write)),
    ("POST", "/api/v1/billing-records/{id}/attachments", Area(Billing, Write)),
    ("GET", "/api/v1/attachments/{id}", Area(Billing, Read)),
];

/// What the route `method` `pattern` needs: `None` when the pattern is not in the table at
/// all (refused to tokens); `Some(None)` when the pattern is known but not with this
/// method (the resource answers 405 without running a handler).
pub fn need(method: &str, pattern: &str) -> Option<Option<Need>> {
    let mut known = false;
    for (m, p, need) in ROUTES {
        if *p == pattern {
            known = true;
            if m.eq_ignore_ascii_case(method) {
                return Some(Some(*need));
            }
        }
    }
    known.then_some(None)
}

/// Whether `scopes` allow a route that needs `need`; the refusal names what is missing.
pub fn allows(scopes: &TokenScopes, need: Need) -> Result<(), String> {
    match need {
        Public | OwnRead => Ok(()),
        OwnWrite if !scopes.is_read_only() => Ok(()),
        OwnWrite => Err(
            "This API token is read-only: changing your own notifications needs a token with \
             any write scope."
                .into(),
        ),
        Area(area, access) if scopes.allows(area, access) => Ok(()),
        Area(area, access) => Err(format!(
            "This API token lacks the scope {area}:{access} (it has: {scopes})."
        )),
        LoginOnly => Err(
            "API tokens cannot do this: log in (POST /api/v1/auth/login) and use the access \
             token."
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
    }

    #[test]
    fn a_read_only_token_passes_reads_only() {
        let ro = TokenScopes::read_only();
        for (m, p, need) in ROUTES {
            let reads = matches!(need, Public | OwnRead | Area(_, Read));
            assert_eq!(allows(&ro, *need).is_ok(), reads, "{m} {p}");
            if *m != "GET" && *need != Public {
                assert!(allows(&ro, *need).is_err(), "{m} {p} is a write");
            }
        }
    }
}
