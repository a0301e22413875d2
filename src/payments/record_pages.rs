//! Billing record pages: the form, a record's page with its attachments and payment
//! history, uploads and downloads.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::commands::{self, PaymentForm};
use super::model::{BillingForm, METHODS, STATUSES};
use super::money::{self, CURRENCIES, CYCLES};
use super::queries::{self, RegisterRow};
use super::uploads;
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{billing_records, payments, users};
use crate::error::AppResult;
use crate::inventory::queries::format_time;
use crate::web::forms::FieldErrors;
use crate::web::input::{unless_refused, Form};
use crate::web::respond::{after_command, html, redirect};
use crate::web::{AppState, PageCtx};

type Options = &'static [(&'static str, &'static str)];

#[derive(Template)]
#[template(path = "payments/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<i64>,
    form: BillingForm,
    errors: FieldErrors,
    products: Vec<(i64, String)>,
    currencies: Vec<&'static str>,
    cycles: Options,
    methods: Options,
    statuses: Options,
}

impl FormPage {
    fn product_selected(&self, id: &i64) -> bool {
        self.form.product_id == id.to_string()
    }
}

async fn render_form(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    form: BillingForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let products = crate::db::run(&state.pool, move |conn| {
        crate::directory::queries::grantable_products(conn, &a)
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let page = FormPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            if id.is_some() {
                "Edit billing record"
            } else {
                "New billing record"
            },
            "/payments",
        ),
        id,
        form,
        errors,
        products,
        currencies: CURRENCIES.iter().map(|(c, _)| *c).collect(),
        cycles: CYCLES,
        methods: METHODS,
        statuses: STATUSES,
    };
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct NewQuery {
    product_id: Option<i64>,
}

pub async fn new_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<NewQuery>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewPayments)?;
    let form = BillingForm {
        product_id: query.product_id.map(|p| p.to_string()).unwrap_or_default(),
        cycle: "annual".into(),
        currency: "EUR".into(),
        payment_method: "invoice".into(),
        auto_renew: Some("on".into()),
        status: "active".into(),
        ..Default::default()
    };
    render_form(&session, &state, &user.0, None, form, FieldErrors::new()).await
}

pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: Form<BillingForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let (form, values) = form.check(BillingForm::validate);
    let values = match values {
        Ok(v) => v,
        Err(errors) => return render_form(&session, &state, &actor, None, form, errors).await,
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_record(conn, &a, &values))
    })
    .await?;
    match after_command(
        &session,
        result,
        |id| ("Billing record added.".into(), format!("/payments/{id}")),
        "/payments",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &state, &actor, None, form, errors).await,
    }
}

pub struct AttachmentRow {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub sha256: String,
    pub uploaded: String,
    pub by: String,
}

pub struct PaymentRow {
    pub paid_on: NaiveDate,
    pub amount: String,
    pub invoice_ref: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "payments/record.html")]
struct RecordPage {
    ctx: PageCtx,
    r: RegisterRow,
    notes: String,
    notice: String,
    files: Vec<AttachmentRow>,
    history: Vec<PaymentRow>,
    max_mb: u64,
    payment: PaymentForm,
    errors: FieldErrors,
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

async fn render_record(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: i64,
    payment: PaymentForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (r, notes, notice, files, history) = crate::db::run(&state.pool, move |conn| {
        let r = queries::record(conn, &a, id)?;
        let (notes, nv, nu, min_term): (String, Option<i32>, Option<String>, Option<i32>) =
            billing_records::table
                .find(id)
                .select((
                    billing_records::notes,
                    billing_records::notice_value,
                    billing_records::notice_unit,
                    billing_records::minimum_term_months,
                ))
                .first(conn)?;
        let mut notice = super::renewal::Notice::from_parts(nv, nu.as_deref())
            .map(|n| format!("{} before renewal", n.describe()))
            .unwrap_or_else(|| "—".into());
        if let Some(m) = min_term {
            notice.push_str(&format!(" · minimum term {m} months"));
        }
        let files = queries::attachments_of(conn, id)?;
        let history: Vec<(NaiveDate, Decimal, String, String, Option<String>)> = payments::table
            .left_join(users::table.on(users::id.nullable().eq(payments::recorded_by)))
            .filter(payments::billing_record_id.eq(id))
            .select((
                payments::paid_on,
                payments::amount,
                payments::currency,
                payments::invoice_ref,
                users::full_name.nullable(),
            ))
            .order((payments::paid_on.desc(), payments::id.desc()))
            .load(conn)?;
        Ok((r, notes, notice, files, history))
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let page = RecordPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            format!("{} → {}", r.d.service_name, r.d.product_name),
            "/payments",
        ),
        notes,
        notice,
        files: files
            .into_iter()
            .map(|f| AttachmentRow {
                id: f.id,
                name: f.name,
                size: size_text(f.size_bytes),
                sha256: f.sha256.chars().take(16).collect(),
                uploaded: format_time(f.uploaded_at),
                by: f.uploaded_by.unwrap_or_default(),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|h| PaymentRow {
                paid_on: h.0,
                amount: money::format(h.1, &h.2),
                invoice_ref: h.3,
                by: h.4.unwrap_or_default(),
            })
            .collect(),
        max_mb: state.config.max_upload_bytes / 1024 / 1024,
        r,
        payment,
        errors,
    };
    html(status, page.render())
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewPayments)?;
    render_record(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        PaymentForm::default(),
        FieldErrors::new(),
    )
    .await
}

pub async fn edit_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let form = crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)?;
        let r = queries::record(conn, &a, id)?;
        let (notes, owner_email, notice_value, notice_unit, minimum_term): (
            String,
            Option<String>,
            Option<i32>,
            Option<String>,
            Option<i32>,
        ) = billing_records::table
            .left_join(users::table)
            .filter(billing_records::id.eq(id))
            .select((
                billing_records::notes,
                users::email.nullable(),
                billing_records::notice_value,
                billing_records::notice_unit,
                billing_records::minimum_term_months,
            ))
            .first(conn)?;
        let d = r.d;
        Ok(BillingForm {
            product_id: d.product_id.to_string(),
            reference: d.reference,
            cycle: d.cycle,
            amount: d.amount.normalize().to_string(),
            currency: d.currency,
            next_renewal_on: d.next_renewal_on.map(|x| x.to_string()).unwrap_or_default(),
            contract_end_on: d.contract_end_on.map(|x| x.to_string()).unwrap_or_default(),
            auto_renew: d.auto_renew.then(|| "on".into()),
            payment_method: d.payment_method,
            card_brand: d.card_brand.unwrap_or_default(),
            card_last4: d.card_last4.unwrap_or_default(),
            card_exp_month: d.card_exp_month.map(|m| m.to_string()).unwrap_or_default(),
            card_exp_year: d.card_exp_year.map(|y| y.to_string()).unwrap_or_default(),
            billing_owner_email: owner_email.unwrap_or_default(),
            cost_center: d.cost_center,
            notes,
            status: d.status,
            notice_value: notice_value.map(|n| n.to_string()).unwrap_or_default(),
            notice_unit: notice_unit.unwrap_or_else(|| "days".into()),
            minimum_term_months: minimum_term.map(|n| n.to_string()).unwrap_or_default(),
        })
    })
    .await?;
    render_form(
        &session,
        &state,
        &user.0,
        Some(id),
        form,
        FieldErrors::new(),
    )
    .await
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<BillingForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)
    })
    .await?;
    let (form, values) = form.check(BillingForm::validate);
    let values = match values {
        Ok(v) => v,
        Err(errors) => return render_form(&session, &state, &actor, Some(id), form, errors).await,
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_record(conn, &a, id, &values))
    })
    .await?;
    let back = format!("/payments/{id}");
    match after_command(
        &session,
        result,
        |_| ("Billing record saved.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &state, &actor, Some(id), form, errors).await,
    }
}

pub async fn upload(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)
    })
    .await?;
    let back = format!("/payments/{id}");
    let max = state.config.max_upload_bytes;
    let upload = crate::web::upload::read_file(payload, max, || {
        format!("Attachments are limited to {} MB.", max / 1024 / 1024)
    })
    .await?;
    let (name, data) = upload.unwrap_or_default();
    match uploads::attach(&state, &actor, id, &name, data).await? {
        Ok(_) => sess::flash(&session, FlashKind::Success, "File attached."),
        Err(refused) => sess::flash(&session, FlashKind::Error, refused.message()),
    }
    Ok(redirect(&back))
}

pub async fn download(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    uploads::download(&state, &user.0, path.into_inner()).await
}

pub async fn remove_attachment(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let record = crate::db::run(&state.pool, move |conn| {
        commands::remove_attachment(conn, &actor, id)
    })
    .await?;
    sess::flash(&session, FlashKind::Success, "Attachment removed.");
    Ok(redirect(&format!("/payments/{record}")))
}

pub async fn add_payment(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<PaymentForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let (mut form, refused) = form.into_parts();
    let (a, f) = (actor.clone(), form.clone());
    let result = unless_refused(
        refused,
        crate::db::run(&state.pool, move |conn| {
            Ok(commands::add_payment(conn, &a, id, &f))
        }),
    )
    .await?;
    let back = format!("/payments/{id}");
    match after_command(
        &session,
        result,
        |_| ("Payment recorded.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            for (field, value) in [
                ("paid_on", &mut form.paid_on),
                ("amount", &mut form.amount),
                ("invoice_ref", &mut form.invoice_ref),
            ] {
                if errors.get(field) == super::card::REFUSAL {
                    value.clear();
                }
            }
            render_record(&session, &state, &actor, id, form, errors).await
        }
    }
}
