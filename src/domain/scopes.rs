//! The scopes of an API token: per area of the API (people, inventory, billing, workflows,
//! audit), read or read-and-write. Scopes only narrow: the owner's role and scope still decide
//! everything (`authz`), and a token is a second filter in front of them (`api::route_scopes`
//! says which area and access each API route needs).
//!
//! Written as space-separated words, `people:write billing:read`; `read` alone is shorthand
//! for every area read-only. The stored form is always the explicit, canonical list.

use super::enums::UnknownValue;

text_enum! {
    /// A part of the API a token may be given.
    pub enum ApiArea {
        People = "people", "People, roles and grants";
        Inventory = "inventory", "Inventory (services and products)";
        Billing = "billing", "Billing records and attachments";
        Workflows = "workflows", "Workflows, templates and tasks";
        Audit = "audit", "Audit log";
        /// The SCIM 2.0 service (`/scim/v2`) an identity provider provisions people with:
        /// never combined with another area, and needed by every SCIM request.
        Scim = "scim", "SCIM provisioning (an identity provider; alone)";
    }
}

text_enum! {
    /// How much of an area: reading, or reading and changing.
    pub enum ApiAccess {
        Read = "read", "Read";
        Write = "write", "Read and write";
    }
}

/// What a token may do: at most one access per area, in `ApiArea::ALL` order, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScopes(Vec<(ApiArea, ApiAccess)>);

/// Why a list of scopes was refused (the message is for the person who typed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError(pub String);

impl TokenScopes {
    /// Read-only on every area of the REST API (not SCIM, which stands alone).
    pub fn read_only() -> Self {
        Self(
            ApiArea::ALL
                .iter()
                .filter(|a| **a != ApiArea::Scim)
                .map(|a| (*a, ApiAccess::Read))
                .collect(),
        )
    }

    /// From (area, access) pairs; an area named twice keeps the wider access.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (ApiArea, ApiAccess)>,
    ) -> Result<Self, ScopeError> {
        let mut chosen: Vec<Option<ApiAccess>> = vec![None; ApiArea::ALL.len()];
        for (area, access) in pairs {
            let i = ApiArea::ALL.iter().position(|a| *a == area).unwrap_or(0);
            chosen[i] = match (chosen[i], access) {
                (Some(ApiAccess::Write), _) | (_, ApiAccess::Write) => Some(ApiAccess::Write),
                _ => Some(ApiAccess::Read),
            };
        }
        let scopes: Vec<_> = ApiArea::ALL
            .iter()
            .zip(chosen)
            .filter_map(|(area, access)| access.map(|a| (*area, a)))
            .collect();
        if scopes.is_empty() {
            return Err(ScopeError("Choose at least one scope.".into()));
        }
        if scopes.len() > 1 && scopes.iter().any(|(a, _)| *a == ApiArea::Scim) {
            return Err(ScopeError(
                "A SCIM provisioning token has the scim scope alone: make another token for \
                 the REST API."
                    .into(),
            ));
        }
        Ok(Self(scopes))
    }

    /// From words such as `people:write`, `billing:read` or `read` (every area read-only).
    pub fn parse_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopeError> {
        let mut pairs = Vec::new();
        for word in words {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            if word == "read" {
                pairs.extend(Self::read_only().0);
                continue;
            }
            let parsed = word.split_once(':').and_then(|(area, access)| {
                Some((ApiArea::parse(area)?, ApiAccess::parse(access)?))
            });
            match parsed {
                Some(pair) => pairs.push(pair),
                None => {
                    return Err(ScopeError(format!(
                        "{:?} is not a scope: use `read`, or AREA:read or AREA:write where AREA is one of {}.",
                        word.chars().take(40).collect::<String>(),
                        ApiArea::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
        Self::from_pairs(pairs)
    }

    /// The access given on `area`, if any.
    pub fn access(&self, area: ApiArea) -> Option<ApiAccess> {
        self.0.iter().find(|(a, _)| *a == area).map(|(_, x)| *x)
    }

    /// Whether the token may do `access` on `area` (write includes read).
    pub fn allows(&self, area: ApiArea, access: ApiAccess) -> bool {
        matches!(
            (self.access(area), access),
            (Some(ApiAccess::Write), _) | (Some(ApiAccess::Read), ApiAccess::Read)
        )
    }

    /// Whether no area is writable.
    pub fn is_read_only(&self) -> bool {
        self.0.iter().all(|(_, x)| *x == ApiAccess::Read)
    }

    /// The scope words, canonical (`people:write billing:read`).
    pub fn words(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(area, access)| format!("{area}:{access}"))
            .collect()
    }
}

impl std::fmt::Display for TokenScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words().join(" "))
    }
}

impl std::str::FromStr for TokenScopes {
    type Err = UnknownValue;

    /// The stored form.
    fn from_str(text: &str) -> Result<Self, UnknownValue> {
        Self::parse_words(text.split_whitespace()).map_err(|_| UnknownValue {
            of: "TokenScopes",
            text: text.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_to_a_canonical_list_and_write_includes_read() {
        let s =
            TokenScopes::parse_words(["billing:read", "people:write", "billing:write"]).unwrap();
        assert_eq!(s.to_string(), "people:write billing:write");
        assert!(s.allows(ApiArea::People, ApiAccess::Read));
        assert!(s.allows(ApiArea::Billing, ApiAccess::Write));
        assert!(!s.allows(ApiArea::Inventory, ApiAccess::Read));
        assert!(!s.is_read_only());
        let r = TokenScopes::parse_words(["read"]).unwrap();
        assert!(r.is_read_only());
        for area in ApiArea::ALL.iter().filter(|a| **a != ApiArea::Scim) {
            assert!(r.allows(*area, ApiAccess::Read));
            assert!(!r.allows(*area, ApiAccess::Write));
        }
        assert_eq!(r.to_string().parse::<TokenScopes>().unwrap(), r);
    }

    #[test]
    fn the_scim_scope_stands_alone() {
        let s = TokenScopes::parse_words(["scim:write"]).unwrap();
        assert!(s.allows(ApiArea::Scim, ApiAccess::Write));
        assert!(!s.allows(ApiArea::People, ApiAccess::Read));
        assert!(!TokenScopes::read_only().allows(ApiArea::Scim, ApiAccess::Read));
        for mixed in [["scim:write", "people:read"], ["read", "scim:read"]] {
            let e = TokenScopes::parse_words(mixed).unwrap_err();
            assert!(e.0.contains("alone"), "{e:?}");
        }
    }

    #[test]
    fn nothing_or_an_unknown_word_is_refused() {
        assert!(TokenScopes::parse_words([]).is_err());
        assert!(TokenScopes::parse_words([" "]).is_err());
        for bad in [
            "write",
            "people",
            "people:admin",
            "payments:read",
            "people:write:x",
        ] {
            assert!(TokenScopes::parse_words([bad]).is_err(), "{bad}");
        }
    }
}
