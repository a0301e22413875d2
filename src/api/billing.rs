//! Billing records: the payment register's list and record, adding and changing a record,
//! and its attachments (upload and download). The register's queries and the record
//! commands of the pages: the body becomes the same request (`BillingRecordChanges`, the
//! same checks: a full card number in any field is refused), scope and audit. Cards appear
//! only as brand, last four digits and expiry.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_number, wire_name, ApiResult, ApiUser, Json, Page, Problem};
use crate::authz::{authorize, Action};
use crate::domain::{
    AttachmentId, BillingCycle, BillingRecordId, BillingStatus, FieldErrors, PaymentMethod,
    ProductId,
};
use crate::payments::queries::{self, RegisterFilter, RegisterRow};
use crate::payments::requests::{BillingRecordChanges, BillingRecordFields, BillingRecordUpdate};
use crate::payments::{commands, money, uploads};
use crate::web::AppState;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Active,
    Cancelled,
    All,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    service_id: Option<i64>,
    product_id: Option<i64>,
    #[param(inline)]
    cycle: Option<BillingCycle>,
    /// ISO 4217 code, e.g. `EUR`.
    currency: Option<String>,
    #[param(inline)]
    method: Option<PaymentMethod>,
    /// Renewing in the next this many days.
    #[param(minimum = 0, maximum = 3660)]
    renewing_within: Option<i64>,
    /// Card expiring (or expired) within this many days.
    #[param(minimum = 0, maximum = 3660)]
    card_expiring_within: Option<i64>,
    /// `active` when absent.
    #[param(inline)]
    status: Option<StatusFilter>,
    /// The page (50 records each), from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
}

/// A card, masked: never more than the brand, the last four digits and the expiry.
#[derive(Serialize, utoipa::ToSchema)]
struct MaskedCard {
    brand: String,
    last4: String,
    exp_month: i16,
    exp_year: i16,
    expired: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BillingRecord {
    id: i64,
    product_id: i64,
    service: String,
    product: String,
    reference: String,
    cycle: BillingCycle,
    /// Exact decimal with the currency's minor units, as a string (e.g. `"1234.50"`).
    amount: String,
    currency: String,
    /// The amount per year (exact decimal), absent for one-off payments.
    yearly: Option<String>,
    next_renewal_on: Option<chrono::NaiveDate>,
    contract_end_on: Option<chrono::NaiveDate>,
    /// The last day to cancel before the next renewal, from the notice period.
    cancellation_deadline: Option<chrono::NaiveDate>,
    auto_renew: bool,
    payment_method: PaymentMethod,
    card: Option<MaskedCard>,
    /// The billing owner's name.
    owner: Option<String>,
    cost_center: String,
    status: BillingStatus,
}

impl From<RegisterRow> for BillingRecord {
    fn from(r: RegisterRow) -> Self {
        let d = r.d;
        let card = match (
            d.card_brand,
            d.card_last4,
            d.card_exp_month,
            d.card_exp_year,
        ) {
            (Some(brand), Some(last4), Some(exp_month), Some(exp_year)) => Some(MaskedCard {
                brand,
                last4,
                exp_month,
                exp_year,
                expired: r.card_expired,
            }),
            _ => None,
        };
        Self {
            id: d.id.get(),
            product_id: d.product_id.get(),
            service: d.service_name,
            product: d.product_name,
            reference: d.reference,
            yearly: money::yearly(d.amount, d.cycle).map(|y| money::plain(y, &d.currency)),
            cycle: d.cycle,
            amount: money::plain(d.amount, &d.currency),
            currency: d.currency,
            next_renewal_on: d.next_renewal_on,
            contract_end_on: d.contract_end_on,
            cancellation_deadline: d.cancellation_deadline,
            auto_renew: d.auto_renew,
            payment_method: d.payment_method,
            card,
            owner: d.owner,
            cost_center: d.cost_center,
            status: d.status,
        }
    }
}

/// The payment register: the billing records in the caller's scope, filtered like the page,
/// ordered by service and product.
#[utoipa::path(get, path = "/api/v1/billing-records", tag = "billing", operation_id = "list_billing_records",
    params(RegisterQuery),
    responses((status = 200, description = "One page of records", body = Page<BillingRecord>)))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<RegisterQuery>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let q = query.into_inner();
    let page = page_number(q.page)?;
    for (name, days) in [
        ("renewing_within", q.renewing_within),
        ("card_expiring_within", q.card_expiring_within),
    ] {
        if days.is_some_and(|d| !(0..=3660).contains(&d)) {
            return Err(Problem::invalid(
                name,
                "Use a number of days from 0 to 3660.",
            ));
        }
    }
    let filter = RegisterFilter {
        service_id: q.service_id,
        product_id: q.product_id,
        cycle: q.cycle.map(|c| c.as_str().into()).unwrap_or_default(),
        currency: q.currency.unwrap_or_default().trim().to_uppercase(),
        method: q.method.map(|m| m.as_str().into()).unwrap_or_default(),
        renewing_within: q.renewing_within,
        card_expiring_within: q.card_expiring_within,
        status: q.status.map(wire_name).unwrap_or_default(),
        page: Some(page),
        ..Default::default()
    };
    let register = crate::db::run(&state.pool, move |conn| {
        queries::register(conn, &actor, &filter, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: register.rows.into_iter().map(BillingRecord::from).collect(),
        page,
        limit: crate::web::pagination::PER_PAGE,
        total: register.total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Attachment {
    id: i64,
    name: String,
    size_bytes: i64,
    sha256: String,
    uploaded_at: chrono::DateTime<chrono::Utc>,
    uploaded_by: Option<String>,
    /// Where to download it.
    href: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BillingRecordDetail {
    #[serde(flatten)]
    record: BillingRecord,
    notes: String,
    attachments: Vec<Attachment>,
}

/// One billing record with its notes and attachments.
#[utoipa::path(get, path = "/api/v1/billing-records/{id}", tag = "billing", operation_id = "get_billing_record",
    params(("id" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "The record", body = BillingRecordDetail)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let id = BillingRecordId(path.into_inner());
    Ok(HttpResponse::Ok().json(detail(&state, actor, id).await?))
}

async fn detail(
    state: &AppState,
    actor: crate::authz::Actor,
    id: BillingRecordId,
) -> Result<BillingRecordDetail, Problem> {
    let d = crate::db::run(&state.pool, move |conn| {
        queries::record_detail(conn, &actor, id)
    })
    .await?;
    Ok(BillingRecordDetail {
        record: d.row.into(),
        notes: d.notes,
        attachments: d
            .attachments
            .into_iter()
            .map(|f| Attachment {
                href: format!("/api/v1/attachments/{}", f.id),
                id: f.id.get(),
                name: f.name,
                size_bytes: f.size_bytes,
                sha256: f.sha256,
                uploaded_at: f.uploaded_at,
                uploaded_by: f.uploaded_by,
            })
            .collect(),
    })
}

/// A billing record to add or save. Cards: brand, last four digits and expiry only — a full
/// card number anywhere is refused (422) and stored nowhere.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct BillingInput {
    #[schema(required = true)]
    product_id: Option<i64>,
    /// The vendor's contract or customer number.
    #[serde(default)]
    reference: String,
    #[schema(required = true)]
    cycle: Option<BillingCycle>,
    /// Exact decimal, e.g. `"1234.50"` (a JSON number is taken too).
    #[schema(required = true, value_type = String, pattern = r"^\d{1,12}(\.\d{1,4})?$")]
    amount: Option<serde_json::Value>,
    /// ISO 4217 code, e.g. `EUR`.
    #[serde(default)]
    #[schema(required = true, pattern = "^[A-Za-z]{3}$")]
    currency: String,
    #[schema(value_type = Option<chrono::NaiveDate>)]
    next_renewal_on: Option<String>,
    #[schema(value_type = Option<chrono::NaiveDate>)]
    contract_end_on: Option<String>,
    #[serde(default)]
    auto_renew: bool,
    #[schema(required = true)]
    payment_method: Option<PaymentMethod>,
    /// Card payments: e.g. `Visa`.
    #[serde(default)]
    card_brand: String,
    /// Card payments: the last four digits.
    #[serde(default)]
    #[schema(pattern = r"^(\d{4})?$")]
    card_last4: String,
    #[schema(minimum = 1, maximum = 12)]
    card_exp_month: Option<i64>,
    #[schema(minimum = 2000, maximum = 2100)]
    card_exp_year: Option<i64>,
    /// The billing owner, by email (a person in the directory).
    #[serde(default)]
    billing_owner_email: String,
    #[serde(default)]
    cost_center: String,
    #[serde(default)]
    notes: String,
    /// `active` when absent.
    status: Option<BillingStatus>,
    /// Notice period before renewal: a number of `notice_unit`s.
    #[schema(minimum = 1)]
    notice_value: Option<i64>,
    /// `days` or `months`.
    #[serde(default)]
    notice_unit: String,
    #[schema(minimum = 1)]
    minimum_term_months: Option<i64>,
}

impl BillingInput {
    /// The request, checked as every door's is. Numbers are handed over as the text a
    /// person would type, so that both doors get the same messages.
    fn changes(self) -> Result<BillingRecordChanges, FieldErrors> {
        let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let amount = match self.amount {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let (exp_month, exp_year) = (text(self.card_exp_month), text(self.card_exp_year));
        let (notice_value, minimum_term) =
            (text(self.notice_value), text(self.minimum_term_months));
        BillingRecordChanges::new(BillingRecordFields {
            product_id: self.product_id.map(ProductId),
            reference: &self.reference,
            cycle: self.cycle,
            amount: &amount,
            currency: &self.currency,
            next_renewal_on: self.next_renewal_on.as_deref().unwrap_or_default(),
            contract_end_on: self.contract_end_on.as_deref().unwrap_or_default(),
            auto_renew: self.auto_renew,
            payment_method: self.payment_method,
            card_brand: &self.card_brand,
            card_last4: &self.card_last4,
            card_exp_month: &exp_month,
            card_exp_year: &exp_year,
            billing_owner_email: &self.billing_owner_email,
            cost_center: &self.cost_center,
            notes: &self.notes,
            status: Some(self.status.unwrap_or(BillingStatus::Active)),
            notice_value: &notice_value,
            notice_unit: &self.notice_unit,
            minimum_term_months: &minimum_term,
        })
    }
}

/// The record exists and is in the caller's scope for billing changes (404 otherwise),
/// decided before the body is read.
async fn may_change_record(
    state: &AppState,
    actor: &crate::authz::Actor,
    id: BillingRecordId,
) -> Result<(), Problem> {
    authorize(actor, Action::ViewPayments)?;
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)
    })
    .await?;
    Ok(())
}

fn invalid(errors: FieldErrors) -> Problem {
    crate::error::CommandError::Invalid(errors).into()
}

/// Add a billing record (Admins, and administrators of the product's service or product).
#[utoipa::path(post, path = "/api/v1/billing-records", tag = "billing", operation_id = "create_billing_record",
    request_body = BillingInput,
    responses((status = 201, description = "Added", body = BillingRecordDetail,
        headers(("Location" = String, description = "The new record")))))]
pub async fn create(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<BillingInput>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let values = body.into_inner().changes().map_err(invalid)?;
    let a = actor.clone();
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_record(conn, &a, values))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/billing-records/{id}")))
        .json(detail(&state, actor, id).await?))
}

/// Save a billing record: every field as given (absent optional fields are emptied).
#[utoipa::path(put, path = "/api/v1/billing-records/{id}", tag = "billing", operation_id = "update_billing_record",
    params(("id" = i64, Path, description = "The record's id")),
    request_body = BillingInput,
    responses((status = 200, description = "Saved", body = BillingRecordDetail)))]
pub async fn update(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<BillingInput>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = BillingRecordId(path.into_inner());
    may_change_record(&state, &actor, id).await?;
    let changes = body.into_inner().changes().map_err(invalid)?;
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_record(
            conn,
            &a,
            BillingRecordUpdate { id, changes },
        ))
    })
    .await??;
    Ok(HttpResponse::Ok().json(detail(&state, actor, id).await?))
}

/// The multipart form of an upload: one part named `file` (documentation only).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Upload {
    /// A PDF, PNG or JPEG (the type is read from the content, not the name).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Attached {
    id: i64,
    href: String,
}

/// Attach an invoice or contract (PDF, PNG or JPEG, up to the configured size) to a record.
#[utoipa::path(post, path = "/api/v1/billing-records/{id}/attachments", tag = "billing", operation_id = "attach_file",
    params(("id" = i64, Path, description = "The record's id")),
    request_body(content = Upload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Attached", body = Attached,
            headers(("Location" = String, description = "The download"))),
        (status = 413, description = "Larger than the configured limit", body = super::problem::Body, content_type = "application/problem+json"),
        (status = 415, description = "Not a PDF, PNG or JPEG", body = super::problem::Body, content_type = "application/problem+json")))]
pub async fn attach(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    payload: Multipart,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = BillingRecordId(path.into_inner());
    may_change_record(&state, &actor, id).await?;
    let max = state.config.max_upload_bytes;
    let (name, data) = crate::web::upload::read_file(payload, max, || {
        format!("Attachments are limited to {} MB.", max / 1024 / 1024)
    })
    .await?
    .unwrap_or_default();
    match uploads::attach(&state, &actor, id, &name, data).await? {
        Ok(attachment) => {
            let href = format!("/api/v1/attachments/{attachment}");
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, href.clone()))
                .json(Attached {
                    id: attachment.get(),
                    href,
                }))
        }
        Err(uploads::Refused::Empty) => {
            Err(Problem::invalid("file", uploads::Refused::Empty.message()))
        }
        Err(refused) => Err(Problem::unsupported_media_type(refused.message())),
    }
}

/// Download an attachment, as it was uploaded.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "billing", operation_id = "download_attachment",
    params(("id" = i64, Path, description = "The attachment's id")),
    responses((status = 200, description = "The file", content(
        ("application/pdf"), ("image/png"), ("image/jpeg")),
        headers(("Content-Disposition" = String, description = "attachment; filename=…")))))]
pub async fn download(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    authorize(&user.0, Action::ViewPayments)?;
    Ok(uploads::download(&state, &user.0, AttachmentId(path.into_inner())).await?)
}
