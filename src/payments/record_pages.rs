//! Billing record pages: the form, a record's page with its attachments and payment
//! history, uploads and downloads.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::commands;
use super::model::{BillingForm, PaymentForm};
use super::money::{self, CURRENCIES};
use super::queries::{self, RegisterRow};
use super::requests::{BillingRecordUpdate, NewPayment};
use super::uploads;
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::domain::{AttachmentId, BillingCycle, BillingRecordId, BillingStatus, PaymentMethod};
use crate::error::AppResult;
use crate::web::format::format_time;
use crate::web::forms::FieldErrors;
use crate::web::input::{unless_refused, Form};
use crate::web::respond::{after_command, html, redirect};
use crate::web::urls;
use crate::web::{AppState, PageCtx};

type Options = &'static [(&'static str, &'static str)];

#[derive(Template)]
#[template(path = "payments/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<BillingRecordId>,
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
    id: Option<BillingRecordId>,
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
        cycles: BillingCycle::OPTIONS,
        methods: PaymentMethod::OPTIONS,
        statuses: BillingStatus::OPTIONS,
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
        cycle: BillingCycle::Annual.as_str().into(),
        currency: "EUR".into(),
        payment_method: PaymentMethod::Invoice.as_str().into(),
        auto_renew: Some("on".into()),
        status: BillingStatus::Active.as_str().into(),
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
        Ok(commands::create_record(conn, &a, values))
    })
    .await?;
    match after_command(
        &session,
        result,
        |id| ("Billing record added.".into(), urls::billing_record(id)),
        "/payments",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &state, &actor, None, form, errors).await,
    }
}

pub struct AttachmentRow {
    pub id: AttachmentId,
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
    id: BillingRecordId,
    payment: PaymentForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let detail = crate::db::run(&state.pool, move |conn| {
        queries::record_detail(conn, &a, id)
    })
    .await?;
    let mut notice = detail
        .notice()
        .map(|n| format!("{} before renewal", n.describe()))
        .unwrap_or_else(|| "—".into());
    if let Some(m) = detail.minimum_term_months {
        notice.push_str(&format!(" · minimum term {m} months"));
    }
    let (r, notes, files, history) = (detail.row, detail.notes, detail.attachments, detail.history);
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
                paid_on: h.paid_on,
                amount: money::format(h.amount, &h.currency),
                invoice_ref: h.invoice_ref,
                by: h.recorded_by.unwrap_or_default(),
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
    path: web::Path<BillingRecordId>,
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
    path: web::Path<BillingRecordId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let detail = crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)?;
        queries::record_detail(conn, &a, id)
    })
    .await?;
    let d = detail.row.d;
    let form = BillingForm {
        product_id: d.product_id.to_string(),
        reference: d.reference,
        cycle: d.cycle.as_str().into(),
        amount: d.amount.normalize().to_string(),
        currency: d.currency,
        next_renewal_on: d.next_renewal_on.map(|x| x.to_string()).unwrap_or_default(),
        contract_end_on: d.contract_end_on.map(|x| x.to_string()).unwrap_or_default(),
        auto_renew: d.auto_renew.then(|| "on".into()),
        payment_method: d.payment_method.as_str().into(),
        card_brand: d.card_brand.unwrap_or_default(),
        card_last4: d.card_last4.unwrap_or_default(),
        card_exp_month: d.card_exp_month.map(|m| m.to_string()).unwrap_or_default(),
        card_exp_year: d.card_exp_year.map(|y| y.to_string()).unwrap_or_default(),
        billing_owner_email: detail.owner_email.unwrap_or_default(),
        cost_center: d.cost_center,
        notes: detail.notes,
        status: d.status.as_str().into(),
        notice_value: detail
            .notice_value
            .map(|n| n.to_string())
            .unwrap_or_default(),
        notice_unit: detail.notice_unit.map_or("days", |u| u.as_str()).into(),
        minimum_term_months: detail
            .minimum_term_months
            .map(|n| n.to_string())
            .unwrap_or_default(),
    };
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
    path: web::Path<BillingRecordId>,
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
        Ok(commands::update_record(
            conn,
            &a,
            BillingRecordUpdate {
                id,
                changes: values,
            },
        ))
    })
    .await?;
    let back = urls::billing_record(id);
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
    path: web::Path<BillingRecordId>,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::authorize_record(conn, &a, id)
    })
    .await?;
    let back = urls::billing_record(id);
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
    path: web::Path<AttachmentId>,
) -> AppResult<HttpResponse> {
    uploads::download(&state, &user.0, path.into_inner()).await
}

pub async fn remove_attachment(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<AttachmentId>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let record = crate::db::run(&state.pool, move |conn| {
        commands::remove_attachment(conn, &actor, id)
    })
    .await?;
    sess::flash(&session, FlashKind::Success, "Attachment removed.");
    Ok(redirect(&urls::billing_record(record)))
}

pub async fn add_payment(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<BillingRecordId>,
    form: Form<PaymentForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let (mut form, refused) = form.into_parts();
    let a = actor.clone();
    let payment = NewPayment {
        record_id: id,
        paid_on: form.paid_on.clone(),
        amount: form.amount.clone(),
        invoice_ref: form.invoice_ref.clone(),
    };
    let result = unless_refused(
        refused,
        crate::db::run(&state.pool, move |conn| {
            Ok(commands::add_payment(conn, &a, payment))
        }),
    )
    .await?;
    let back = urls::billing_record(id);
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
