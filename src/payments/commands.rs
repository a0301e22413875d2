//! Register writes: authorize on the product → change + audit (card fields only ever
//! masked) in one transaction. The requests (`requests`) were checked when they were made.

use chrono::{Datelike as _, NaiveDate};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use super::card::masked;
use super::renewal::{cancellation_deadline, Notice};
use super::requests::{BillingRecordChanges, BillingRecordUpdate, NewPayment, CHOOSE_PRODUCT};
use crate::audit::{self, AuditEntry};
use crate::authz::{load_product, Actor, ObjectAction};
use crate::db::lower;
use crate::db::schema::{attachments, billing_records, payments, users};
use crate::domain::{
    AttachmentId, BillingCycle, BillingRecordId, BillingStatus, NoticeUnit, PaymentMethod,
    PersonId, ProductId,
};
use crate::error::{invalid, AppError, CommandError};

fn authorize_product(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: ProductId,
) -> Result<(), CommandError> {
    match load_product(conn, actor, ObjectAction::Billing, product_id) {
        Ok(_) => Ok(()),
        Err(AppError::NotFound) => Err(invalid("product_id", CHOOSE_PRODUCT)),
        Err(other) => Err(CommandError::Other(other)),
    }
}

/// The record's product, authorized for `actor` (404 outside their scope).
pub fn authorize_record(
    conn: &mut PgConnection,
    actor: &Actor,
    record_id: BillingRecordId,
) -> Result<ProductId, AppError> {
    let product_id: ProductId = billing_records::table
        .find(record_id)
        .select(billing_records::product_id)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    load_product(conn, actor, ObjectAction::Billing, product_id)?;
    Ok(product_id)
}

fn owner_id(
    conn: &mut PgConnection,
    email: &Option<String>,
) -> Result<Option<PersonId>, CommandError> {
    match email {
        None => Ok(None),
        Some(e) => users::table
            .filter(lower(users::email).eq(e))
            .select(users::id)
            .first(conn)
            .optional()?
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    "billing_owner_email",
                    "Nobody in the directory has this email address.",
                )
            }),
    }
}

/// What the audit log keeps of a record: the card only masked.
#[derive(Queryable, Selectable)]
#[diesel(table_name = billing_records, check_for_backend(diesel::pg::Pg))]
struct AuditedRecord {
    product_id: ProductId,
    reference: String,
    cycle: BillingCycle,
    amount: Decimal,
    currency: String,
    next_renewal_on: Option<NaiveDate>,
    contract_end_on: Option<NaiveDate>,
    auto_renew: bool,
    payment_method: PaymentMethod,
    card_brand: Option<String>,
    card_last4: Option<String>,
    card_exp_month: Option<i16>,
    card_exp_year: Option<i16>,
    billing_owner_id: Option<PersonId>,
    cost_center: String,
    notes: String,
    status: BillingStatus,
}

fn record_json(
    conn: &mut PgConnection,
    id: BillingRecordId,
) -> Result<serde_json::Value, AppError> {
    let r: AuditedRecord = billing_records::table
        .find(id)
        .select(AuditedRecord::as_select())
        .first(conn)?;
    Ok(json!({
        "product_id": r.product_id, "reference": r.reference, "cycle": r.cycle,
        "amount": r.amount.to_string(), "currency": r.currency,
        "next_renewal_on": r.next_renewal_on, "contract_end_on": r.contract_end_on,
        "auto_renew": r.auto_renew, "payment_method": r.payment_method,
        "card": masked(r.card_brand.as_deref(), r.card_last4.as_deref(), r.card_exp_month, r.card_exp_year),
        "billing_owner_id": r.billing_owner_id, "cost_center": r.cost_center, "notes": r.notes,
        "status": r.status,
    }))
}

/// The columns a record's changes write, on insert and on update alike (an absent value
/// is written as NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = billing_records, treat_none_as_null = true)]
struct RecordColumns<'a> {
    product_id: ProductId,
    reference: &'a str,
    cycle: BillingCycle,
    amount: Decimal,
    currency: &'a str,
    next_renewal_on: Option<NaiveDate>,
    contract_end_on: Option<NaiveDate>,
    auto_renew: bool,
    payment_method: PaymentMethod,
    card_brand: Option<&'a str>,
    card_last4: Option<&'a str>,
    card_exp_month: Option<i16>,
    card_exp_year: Option<i16>,
    card_expires_on: Option<NaiveDate>,
    billing_owner_id: Option<PersonId>,
    cost_center: &'a str,
    notes: &'a str,
    status: BillingStatus,
    notice_value: Option<i32>,
    notice_unit: Option<NoticeUnit>,
    minimum_term_months: Option<i32>,
    cancellation_deadline: Option<NaiveDate>,
    renewal_anchor_day: Option<i16>,
}

impl<'a> RecordColumns<'a> {
    fn new(v: &'a BillingRecordChanges, owner: Option<PersonId>) -> Self {
        let card = v.card.as_ref();
        Self {
            product_id: v.product_id,
            reference: v.reference.as_str(),
            cycle: v.cycle,
            amount: v.amount,
            currency: &v.currency,
            next_renewal_on: v.next_renewal_on,
            contract_end_on: v.contract_end_on,
            auto_renew: v.auto_renew,
            payment_method: v.payment_method,
            card_brand: card.map(|c| c.brand.as_str()),
            card_last4: card.map(|c| c.last4.as_str()),
            card_exp_month: card.map(|c| c.exp_month),
            card_exp_year: card.map(|c| c.exp_year),
            card_expires_on: card.map(|c| c.expires_on),
            billing_owner_id: owner,
            cost_center: v.cost_center.as_str(),
            notes: v.notes.as_str(),
            status: v.status,
            notice_value: v.notice.map(Notice::value),
            notice_unit: v.notice.map(Notice::unit),
            minimum_term_months: v.minimum_term_months,
            cancellation_deadline: cancellation_deadline(
                v.next_renewal_on,
                v.contract_end_on,
                v.auto_renew,
                v.notice,
            ),
            renewal_anchor_day: v.next_renewal_on.map(|d| d.day() as i16),
        }
    }
}

pub fn create_record(
    conn: &mut PgConnection,
    actor: &Actor,
    v: BillingRecordChanges,
) -> Result<BillingRecordId, CommandError> {
    conn.transaction(|conn| {
        authorize_product(conn, actor, v.product_id)?;
        let owner = owner_id(conn, &v.billing_owner_email)?;
        let id: BillingRecordId = diesel::insert_into(billing_records::table)
            .values(RecordColumns::new(&v, owner))
            .returning(billing_records::id)
            .get_result(conn)?;
        let after = record_json(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "billing.created",
                "billing_record",
                Some(id.to_string()),
            )
            .summary(format!(
                "Added a billing record of {} {} ({})",
                v.amount, v.currency, v.cycle
            ))
            .after(after),
        )?;
        Ok(id)
    })
}

pub fn update_record(
    conn: &mut PgConnection,
    actor: &Actor,
    request: BillingRecordUpdate,
) -> Result<(), CommandError> {
    let BillingRecordUpdate { id, changes: v } = request;
    conn.transaction(|conn| {
        authorize_record(conn, actor, id)?;
        authorize_product(conn, actor, v.product_id)?;
        let owner = owner_id(conn, &v.billing_owner_email)?;
        let before = record_json(conn, id)?;
        diesel::update(billing_records::table.find(id))
            .set((
                RecordColumns::new(&v, owner),
                billing_records::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let after = record_json(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "billing.updated",
                "billing_record",
                Some(id.to_string()),
            )
            .summary(format!("Edited billing record #{id}"))
            .before(before)
            .after(after),
        )?;
        Ok(())
    })
}

/// Records an uploaded file (already stored under its generated name) on a record.
pub fn add_attachment(
    conn: &mut PgConnection,
    actor: &Actor,
    record_id: BillingRecordId,
    original_name: &str,
    stored: &super::uploads::Stored,
) -> Result<AttachmentId, AppError> {
    conn.transaction(|conn| {
        authorize_record(conn, actor, record_id)?;
        let id: AttachmentId = diesel::insert_into(attachments::table)
            .values((
                attachments::billing_record_id.eq(record_id),
                attachments::original_name.eq(original_name),
                attachments::stored_name.eq(&stored.stored_name),
                attachments::content_type.eq(stored.content_type),
                attachments::size_bytes.eq(stored.size),
                attachments::sha256.eq(&stored.sha256),
                attachments::uploaded_by.eq(actor.person_id()),
            ))
            .returning(attachments::id)
            .get_result(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "attachment.added", "attachment", Some(id.to_string()))
                .summary(format!("Attached '{original_name}' to billing record #{record_id}"))
                .after(json!({"billing_record_id": record_id, "name": original_name,
                              "content_type": stored.content_type, "size_bytes": stored.size, "sha256": stored.sha256})),
        )?;
        Ok(id)
    })
}

/// A stored file, as `attachment_for_download` finds it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
struct StoredFile {
    billing_record_id: BillingRecordId,
    original_name: String,
    stored_name: String,
    content_type: String,
}

/// The record an attachment belongs to, if the actor may see it; removed files are gone.
/// (original name, stored name, content type)
pub fn attachment_for_download(
    conn: &mut PgConnection,
    actor: &Actor,
    id: AttachmentId,
) -> Result<(String, String, String), AppError> {
    let file: StoredFile = attachments::table
        .find(id)
        .filter(attachments::removed_at.is_null())
        .select(StoredFile::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    authorize_record(conn, actor, file.billing_record_id)?;
    Ok((file.original_name, file.stored_name, file.content_type))
}

/// Marks an attachment removed (it is not served afterwards); returns its record.
pub fn remove_attachment(
    conn: &mut PgConnection,
    actor: &Actor,
    id: AttachmentId,
) -> Result<BillingRecordId, AppError> {
    conn.transaction(|conn| {
        let (record_id, name): (BillingRecordId, String) = attachments::table
            .find(id)
            .filter(attachments::removed_at.is_null())
            .select((attachments::billing_record_id, attachments::original_name))
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        authorize_record(conn, actor, record_id)?;
        diesel::update(attachments::table.find(id))
            .set((
                attachments::removed_at.eq(crate::clock::now()),
                attachments::removed_by.eq(actor.person_id()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "attachment.removed",
                "attachment",
                Some(id.to_string()),
            )
            .summary(format!("Removed '{name}' from billing record #{record_id}"))
            .before(json!({"billing_record_id": record_id, "name": name})),
        )?;
        Ok(record_id)
    })
}

/// Adds a line to a record's payment history (in the record's currency).
pub fn add_payment(
    conn: &mut PgConnection,
    actor: &Actor,
    p: NewPayment,
) -> Result<i64, CommandError> {
    for (field, value) in [
        ("paid_on", &p.paid_on),
        ("amount", &p.amount),
        ("invoice_ref", &p.invoice_ref),
    ] {
        if super::card::contains_card_number(value) {
            return Err(invalid(field, super::card::REFUSAL));
        }
    }
    let record_id = p.record_id;
    conn.transaction(|conn| {
        authorize_record(conn, actor, record_id)?;
        let currency: String = billing_records::table
            .find(record_id)
            .select(billing_records::currency)
            .first(conn)?;
        let paid_on = crate::web::forms::parse_date(&p.paid_on).map_err(|m| invalid("paid_on", &m))?;
        let amount = super::money::parse_amount(&p.amount, &currency).map_err(|m| invalid("amount", &m))?;
        let invoice_ref = p.invoice_ref.trim();
        if invoice_ref.chars().count() > 200 {
            return Err(invalid("invoice_ref", "At most 200 characters."));
        }
        let id: i64 = diesel::insert_into(payments::table)
            .values((
                payments::billing_record_id.eq(record_id),
                payments::paid_on.eq(paid_on),
                payments::amount.eq(amount),
                payments::currency.eq(&currency),
                payments::invoice_ref.eq(invoice_ref),
                payments::recorded_by.eq(actor.person_id()),
            ))
            .returning(payments::id)
            .get_result(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "payment.recorded", "billing_record", Some(record_id.to_string()))
                .summary(format!("Recorded a payment of {amount} {currency} on {paid_on}"))
                .after(json!({"paid_on": paid_on, "amount": amount.to_string(), "currency": currency, "invoice_ref": invoice_ref})),
        )?;
        Ok(id)
    })
}
