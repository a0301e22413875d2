//! Id newtypes: one type per table, so a product id cannot be passed where a person's is
//! wanted. Each is an `i64` on the wire (serde and OpenAPI: an integer) and in the database
//! (`BIGINT`), and parses from a path segment.

/// Declares an id type over `i64` with its Diesel (`BigInt`), serde (a bare integer) and
/// OpenAPI (an integer) mappings.
macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::to_sql(
                    &self.0, out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::from_sql(bytes)
                    .map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <i64 as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

id_type! {
    /// A person in the directory (`users.id`), with or without a login.
    PersonId;
    /// A service (`services.id`).
    ServiceId;
    /// A product of a service (`products.id`).
    ProductId;
    /// A grant of access to a product (`access_grants.id`).
    GrantId;
    /// A billing record (`billing_records.id`).
    BillingRecordId;
    /// An invoice or contract file (`attachments.id`).
    AttachmentId;
    /// An onboarding or offboarding (`workflows.id`).
    WorkflowId;
    /// A task of a workflow (`tasks.id`).
    TaskId;
    /// An onboarding template (`onboarding_templates.id`).
    TemplateId;
    /// A handover of an offboarding (`handovers.id`).
    HandoverId;
    /// An in-app notification (`notifications.id`).
    NotificationId;
    /// A CSV import (`imports.id`).
    ImportId;
    /// An audit log entry (`audit_log.id`).
    AuditEntryId;
    /// A queued email (`email_outbox.id`).
    OutboxId;
    /// A long-lived API token (`api_tokens.id`).
    ApiTokenId;
    /// A service account, what scripts and provisioning act as (`service_accounts.id`).
    ServiceAccountId;
}
