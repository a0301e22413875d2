//! Register writes: validate → authorize on the product → change + audit (card fields
//! only ever masked) in one transaction.

use chrono::{Datelike as _, NaiveDate};

use super::renewal::{cancellation_deadline, Notice};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use super::card::masked;
use super::model::BillingValues;
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize_on, Actor, ObjectAction};
use crate::db::lower;
use crate::db::schema::{attachments, billing_records, payments, users};
use crate::error::{invalid, AppError, CommandError};
use crate::inventory::commands::product_object;
use crate::inventory::queries::find_product;

fn authorize_product(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
) -> Result<(), CommandError> {
    let product = find_product(conn, product_id)
        .map_err(|_| invalid("product_id", "Choose the product this record pays for."))?;
    authorize_on(actor, ObjectAction::Billing, product_object(&product)).map_err(|e| match e {
        AppError::NotFound => invalid("product_id", "Choose the product this record pays for."),
        other => CommandError::Other(other),
    })
}

/// The record's product, authorized for `actor` (404 outside their scope).
pub fn authorize_record(
    conn: &mut PgConnection,
    actor: &Actor,
    record_id: i64,
) -> Result<i64, AppError> {
    let product_id: i64 = billing_records::table
        .find(record_id)
        .select(billing_records::product_id)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let product = find_product(conn, product_id)?;
    authorize_on(actor, ObjectAction::Billing, product_object(&product))?;
    Ok(product_id)
}

fn owner_id(conn: &mut PgConnection, email: &Option<String>) -> Result<Option<i64>, CommandError> {
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
fn record_json(conn: &mut PgConnection, id: i64) -> Result<serde_json::Value, AppError> {
    let r: (
        i64,
        String,
        String,
        Decimal,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        bool,
        String,
        Option<String>,
        Option<String>,
        Option<i16>,
        Option<i16>,
        Option<i64>,
        String,
        String,
        String,
    ) = billing_records::table
        .find(id)
        .select((
            billing_records::product_id,
            billing_records::reference,
            billing_records::cycle,
            billing_records::amount,
            billing_records::currency,
            billing_records::next_renewal_on,
            billing_records::contract_end_on,
            billing_records::auto_renew,
            billing_records::payment_method,
            billing_records::card_brand,
            billing_records::card_last4,
            billing_records::card_exp_month,
            billing_records::card_exp_year,
            billing_records::billing_owner_id,
            billing_records::cost_center,
            billing_records::notes,
            billing_records::status,
        ))
        .first(conn)?;
    Ok(json!({
        "product_id": r.0, "reference": r.1, "cycle": r.2, "amount": r.3.to_string(), "currency": r.4,
        "next_renewal_on": r.5, "contract_end_on": r.6, "auto_renew": r.7, "payment_method": r.8,
        "card": masked(r.9.as_deref(), r.10.as_deref(), r.11, r.12),
        "billing_owner_id": r.13, "cost_center": r.14, "notes": r.15, "status": r.16,
    }))
}

fn notice_value(v: &BillingValues) -> Option<i32> {
    v.notice.map(|n| match n {
        Notice::Days(d) | Notice::Months(d) => d as i32,
    })
}

fn notice_unit(v: &BillingValues) -> Option<&'static str> {
    v.notice.map(|n| match n {
        Notice::Days(_) => "days",
        Notice::Months(_) => "months",
    })
}

fn deadline(v: &BillingValues) -> Option<NaiveDate> {
    cancellation_deadline(v.next_renewal_on, v.contract_end_on, v.auto_renew, v.notice)
}

pub fn create_record(
    conn: &mut PgConnection,
    actor: &Actor,
    v: &BillingValues,
) -> Result<i64, CommandError> {
    conn.transaction(|conn| {
        authorize_product(conn, actor, v.product_id)?;
        let owner = owner_id(conn, &v.billing_owner_email)?;
        let card = v.card.as_ref();
        let id: i64 = diesel::insert_into(billing_records::table)
            .values((
                billing_records::product_id.eq(v.product_id),
                billing_records::reference.eq(&v.reference),
                billing_records::cycle.eq(&v.cycle),
                billing_records::amount.eq(v.amount),
                billing_records::currency.eq(&v.currency),
                billing_records::next_renewal_on.eq(v.next_renewal_on),
                billing_records::contract_end_on.eq(v.contract_end_on),
                billing_records::auto_renew.eq(v.auto_renew),
                billing_records::payment_method.eq(&v.payment_method),
                billing_records::card_brand.eq(card.map(|c| c.brand.clone())),
                billing_records::card_last4.eq(card.map(|c| c.last4.clone())),
                billing_records::card_exp_month.eq(card.map(|c| c.exp_month)),
                billing_records::card_exp_year.eq(card.map(|c| c.exp_year)),
                billing_records::card_expires_on.eq(card.map(|c| c.expires_on)),
                billing_records::billing_owner_id.eq(owner),
                billing_records::cost_center.eq(&v.cost_center),
                billing_records::notes.eq(&v.notes),
                billing_records::status.eq(&v.status),
                billing_records::notice_value.eq(notice_value(v)),
                billing_records::notice_unit.eq(notice_unit(v)),
                billing_records::minimum_term_months.eq(v.minimum_term_months),
                billing_records::cancellation_deadline.eq(deadline(v)),
                billing_records::renewal_anchor_day.eq(v.next_renewal_on.map(|d| d.day() as i16)),
            ))
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
    id: i64,
    v: &BillingValues,
) -> Result<(), CommandError> {
    conn.transaction(|conn| {
        authorize_record(conn, actor, id)?;
        authorize_product(conn, actor, v.product_id)?;
        let owner = owner_id(conn, &v.billing_owner_email)?;
        let before = record_json(conn, id)?;
        let card = v.card.as_ref();
        diesel::update(billing_records::table.find(id))
            .set((
                billing_records::product_id.eq(v.product_id),
                billing_records::reference.eq(&v.reference),
                billing_records::cycle.eq(&v.cycle),
                billing_records::amount.eq(v.amount),
                billing_records::currency.eq(&v.currency),
                billing_records::next_renewal_on.eq(v.next_renewal_on),
                billing_records::contract_end_on.eq(v.contract_end_on),
                billing_records::auto_renew.eq(v.auto_renew),
                billing_records::payment_method.eq(&v.payment_method),
                billing_records::card_brand.eq(card.map(|c| c.brand.clone())),
                billing_records::card_last4.eq(card.map(|c| c.last4.clone())),
                billing_records::card_exp_month.eq(card.map(|c| c.exp_month)),
                billing_records::card_exp_year.eq(card.map(|c| c.exp_year)),
                billing_records::card_expires_on.eq(card.map(|c| c.expires_on)),
                billing_records::billing_owner_id.eq(owner),
                billing_records::cost_center.eq(&v.cost_center),
                billing_records::notes.eq(&v.notes),
                billing_records::status.eq(&v.status),
                billing_records::updated_at.eq(crate::clock::now()),
                billing_records::notice_value.eq(notice_value(v)),
                billing_records::notice_unit.eq(notice_unit(v)),
                billing_records::minimum_term_months.eq(v.minimum_term_months),
                billing_records::cancellation_deadline.eq(deadline(v)),
                billing_records::renewal_anchor_day.eq(v.next_renewal_on.map(|d| d.day() as i16)),
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
    record_id: i64,
    original_name: &str,
    stored: &super::uploads::Stored,
) -> Result<i64, AppError> {
    conn.transaction(|conn| {
        authorize_record(conn, actor, record_id)?;
        let id: i64 = diesel::insert_into(attachments::table)
            .values((
                attachments::billing_record_id.eq(record_id),
                attachments::original_name.eq(original_name),
                attachments::stored_name.eq(&stored.stored_name),
                attachments::content_type.eq(stored.content_type),
                attachments::size_bytes.eq(stored.size),
                attachments::sha256.eq(&stored.sha256),
                attachments::uploaded_by.eq(actor.id),
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

/// The record an attachment belongs to, if the actor may see it; removed files are gone.
pub fn attachment_for_download(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<(String, String, String), AppError> {
    let row: Option<(i64, String, String, String)> = attachments::table
        .find(id)
        .filter(attachments::removed_at.is_null())
        .select((
            attachments::billing_record_id,
            attachments::original_name,
            attachments::stored_name,
            attachments::content_type,
        ))
        .first(conn)
        .optional()?;
    let (record_id, original, stored, content_type) = row.ok_or(AppError::NotFound)?;
    authorize_record(conn, actor, record_id)?;
    Ok((original, stored, content_type))
}

/// Marks an attachment removed (it is not served afterwards); returns its record.
pub fn remove_attachment(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<i64, AppError> {
    conn.transaction(|conn| {
        let (record_id, name): (i64, String) = attachments::table
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
                attachments::removed_by.eq(actor.id),
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

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    pub paid_on: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub invoice_ref: String,
}

/// Adds a line to a record's payment history (in the record's currency).
pub fn add_payment(
    conn: &mut PgConnection,
    actor: &Actor,
    record_id: i64,
    form: &PaymentForm,
) -> Result<i64, CommandError> {
    for (field, value) in [
        ("paid_on", &form.paid_on),
        ("amount", &form.amount),
        ("invoice_ref", &form.invoice_ref),
    ] {
        if super::card::contains_card_number(value) {
            return Err(invalid(field, super::card::REFUSAL));
        }
    }
    conn.transaction(|conn| {
        authorize_record(conn, actor, record_id)?;
        let currency: String = billing_records::table
            .find(record_id)
            .select(billing_records::currency)
            .first(conn)?;
        let paid_on = crate::web::forms::parse_date(&form.paid_on).map_err(|m| invalid("paid_on", &m))?;
        let amount = super::money::parse_amount(&form.amount, &currency).map_err(|m| invalid("amount", &m))?;
        let invoice_ref = form.invoice_ref.trim();
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
                payments::recorded_by.eq(actor.id),
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
