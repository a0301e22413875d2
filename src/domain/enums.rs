//! The states of things, as enums. Each is stored as the text its column has always held
//! (every such column has a `CHECK (… IN (…))` constraint, so the database already refuses
//! other values); reading a value this code does not know is an error, never a default.
//!
//! Why text and not PostgreSQL enums: the constraints already keep the data honest, a
//! backup restores into any schema version without `CREATE TYPE` ordering, and a new value
//! is one migration that swaps a constraint (an enum value cannot be added and used in the
//! same transaction before PostgreSQL 17).

/// Declares an enum stored as text: serde and OpenAPI use the same words as the database,
/// `label` is what people read, `ALL` is every value in the order a select box lists them.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:tt, $label:literal;)*
    }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// Every value, in the order a select box lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];
            /// (stored text, label) of every value, for select boxes.
            pub const OPTIONS: &'static [(&'static str, &'static str)] = &[$(($text, $label)),*];

            /// The text stored in the database and used on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// What people read.
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)*
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The label of a stored text, or "Unknown".
            pub fn label_of(text: &str) -> &'static str {
                Self::parse(text).map(Self::label).unwrap_or("Unknown")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                Self::parse(text).ok_or(UnknownValue { of: stringify!($name), text: text.into() })
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write as _;
                out.write_all(self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                Ok(text.parse::<Self>()?)
            }
        }
    };
}

/// A stored text that is none of an enum's values (a database edited by hand, or a value
/// from a newer version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub of: &'static str,
    pub text: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a known {}", self.text, self.of)
    }
}

impl std::error::Error for UnknownValue {}

text_enum! {
    /// What a person may do (docs/rbac.md).
    pub enum Role {
        /// Exists in the directory only; cannot log in.
        User = "user", "User (no login)";
        ProductAdmin = "product_admin", "Product Administrator";
        ServiceAdmin = "service_admin", "Service Administrator";
        Admin = "admin", "Admin";
    }
}

impl Role {
    /// Whether people with this role may log in at all.
    pub fn can_log_in(self) -> bool {
        self != Role::User
    }

    /// How much the role may do, for choosing the highest of several (a group mapping).
    pub fn rank(self) -> u8 {
        match self {
            Role::User => 0,
            Role::ProductAdmin => 1,
            Role::ServiceAdmin => 2,
            Role::Admin => 3,
        }
    }
}

text_enum! {
    /// How a usage export writes its dates (`usage_imports.date_format`): slashed dates
    /// are ambiguous, so the person uploading says which order they are in.
    pub enum DateFormat {
        Auto = "auto", "Automatic (2026-11-30, Nov 30 2026, unambiguous slashes)";
        Mdy = "mdy", "Month first (11/30/2026)";
        Dmy = "dmy", "Day first (30/11/2026, 30.11.2026)";
    }
}

text_enum! {
    /// Where a usage export stands (`usage_imports.status`).
    pub enum UsageImportStatus {
        Preview = "preview", "Dry run";
        Applied = "applied", "Applied";
        Discarded = "discarded", "Discarded";
    }
}

text_enum! {
    /// What a provisioning rule matches (`provisioning_rules.source`).
    pub enum RuleSource {
        Group = "group", "Identity-provider group";
        Department = "department", "Department";
    }
}

text_enum! {
    /// What an emailed login link is for (`login_links.purpose`): an invitation sets a new
    /// login's first password; a reset replaces a forgotten one.
    pub enum LinkPurpose {
        Invitation = "invitation", "Invitation";
        Reset = "reset", "Password reset";
    }
}

text_enum! {
    /// Who must log in with a second factor (Settings → Two-factor login; stored in
    /// `app_settings` under `two_factor_required`).
    pub enum TwoFactorPolicy {
        Nobody = "nobody", "Nobody (each person may still set it up)";
        Admins = "admins", "Admins";
        Everyone = "everyone", "Everyone with a login";
    }
}

impl TwoFactorPolicy {
    /// Whether people with `role` must have a second factor under this policy.
    pub fn requires(self, role: Role) -> bool {
        match self {
            TwoFactorPolicy::Nobody => false,
            TwoFactorPolicy::Admins => role == Role::Admin,
            TwoFactorPolicy::Everyone => role.can_log_in(),
        }
    }
}

text_enum! {
    /// Where a person is in their time at the company (`users.employment_status`).
    pub enum EmploymentStatus {
        Active = "active", "Active";
        Onboarding = "onboarding", "Onboarding";
        Offboarding = "offboarding", "Offboarding";
        Offboarded = "offboarded", "Offboarded";
    }
}

text_enum! {
    /// A service or product in use or archived (`services.status`, `products.status`).
    pub enum InventoryStatus {
        Active = "active", "Active";
        Archived = "archived", "Archived";
    }
}

impl InventoryStatus {
    pub fn is_archived(self) -> bool {
        self == Self::Archived
    }
}

text_enum! {
    /// How a product is licensed (`products.license_model`).
    pub enum LicenseModel {
        PerSeat = "per_seat", "Per seat";
        Flat = "flat", "Flat fee";
        Usage = "usage", "Usage-based";
    }
}

text_enum! {
    /// How often a billing record is paid (`billing_records.cycle`).
    pub enum BillingCycle {
        Monthly = "monthly", "Monthly";
        Quarterly = "quarterly", "Quarterly";
        Annual = "annual", "Annual";
        OneOff = "one_off", "One-off";
        /// Amounts are entered as a monthly estimate.
        Usage = "usage", "Usage-based (monthly estimate)";
    }
}

impl BillingCycle {
    /// Months one cycle covers; `None` for one-off payments (not recurring). Usage-based
    /// amounts are entered as a monthly estimate.
    pub fn months(self) -> Option<u32> {
        match self {
            Self::Monthly | Self::Usage => Some(1),
            Self::Quarterly => Some(3),
            Self::Annual => Some(12),
            Self::OneOff => None,
        }
    }
}

text_enum! {
    /// How a billing record is paid (`billing_records.payment_method`).
    pub enum PaymentMethod {
        Card = "card", "Card";
        Invoice = "invoice", "Invoice";
        BankTransfer = "bank_transfer", "Bank transfer";
        Other = "other", "Other";
    }
}

text_enum! {
    /// A billing record still paid, or cancelled (`billing_records.status`).
    pub enum BillingStatus {
        Active = "active", "Active";
        Cancelled = "cancelled", "Cancelled";
    }
}

text_enum! {
    /// The unit of a notice period (`billing_records.notice_unit`).
    pub enum NoticeUnit {
        Days = "days", "days";
        Months = "months", "months";
    }
}

text_enum! {
    /// Joining or leaving (`workflows.kind`).
    pub enum WorkflowKind {
        Onboarding = "onboarding", "Onboarding";
        Offboarding = "offboarding", "Offboarding";
    }
}

text_enum! {
    /// Where a workflow stands (`workflows.status`).
    pub enum WorkflowStatus {
        Open = "open", "Open";
        Completed = "completed", "Completed";
        Cancelled = "cancelled", "Cancelled";
    }
}

text_enum! {
    /// What a task asks for (`tasks.kind`).
    pub enum TaskKind {
        Grant = "grant", "Grant access";
        Revoke = "revoke", "Revoke access";
    }
}

text_enum! {
    /// Where a task stands (`tasks.status`).
    pub enum TaskStatus {
        Open = "open", "Open";
        Done = "done", "Done";
        NotNeeded = "not_needed", "Not needed";
        Cancelled = "cancelled", "Cancelled";
    }
}

text_enum! {
    /// What a leaver hands over (`handovers.kind`).
    pub enum HandoverKind {
        ServiceAdmin = "service_admin", "Service Administrator of";
        ProductAdmin = "product_admin", "Product Administrator of";
        BillingOwner = "billing_owner", "Billing owner of";
        Template = "template", "Maintainer of the onboarding template";
    }
}

text_enum! {
    /// Where a handover stands (`handovers.status`).
    pub enum HandoverStatus {
        Open = "open", "Open";
        Done = "done", "Done";
        Cancelled = "cancelled", "Cancelled";
    }
}

text_enum! {
    /// What a CSV import brings in (`imports.kind`).
    pub enum ImportKind {
        People = "people", "People";
        Services = "services", "Services and products";
        Grants = "grants", "Access grants";
    }
}

text_enum! {
    /// Where a CSV import stands (`imports.status`).
    pub enum ImportStatus {
        Validating = "validating", "Checking";
        Preview = "preview", "Ready to import";
        Committing = "committing", "Importing";
        Done = "done", "Imported";
        Failed = "failed", "Failed";
    }
}

impl ImportStatus {
    /// Whether the background job is still working on it.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Validating | Self::Committing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
            assert_eq!(r.to_string(), r.as_str());
        }
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(*s));
        }
        assert_eq!(BillingCycle::OPTIONS.len(), BillingCycle::ALL.len());
    }

    #[test]
    fn an_unknown_text_is_an_error_not_a_default() {
        let e = "superuser".parse::<Role>().unwrap_err();
        assert_eq!(e.to_string(), "\"superuser\" is not a known Role");
        assert_eq!(Role::label_of("superuser"), "Unknown");
    }

    #[test]
    fn serde_uses_the_stored_words() {
        assert_eq!(
            serde_json::to_string(&BillingCycle::OneOff).unwrap(),
            "\"one_off\""
        );
        let m: PaymentMethod = serde_json::from_str("\"bank_transfer\"").unwrap();
        assert_eq!(m, PaymentMethod::BankTransfer);
    }

    #[test]
    fn the_openapi_schema_lists_the_stored_words() {
        // The words reach utoipa's derive as plain tokens (`tt`): a `literal` fragment arrives
        // wrapped, and the derive then ignored the rename and listed the variant names.
        let schema = serde_json::to_value(<BillingCycle as utoipa::PartialSchema>::schema())
            .expect("schema");
        assert_eq!(
            schema["enum"],
            serde_json::json!(["monthly", "quarterly", "annual", "one_off", "usage"])
        );
    }
}
