//! The register pages: the list with filters, totals, upcoming renewals and expiring
//! cards, and the cost chart; the printable register; and the CSV export.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use std::sync::Arc;

use super::chart::{chart, Chart};
use super::queries::{self, Register, RegisterFilter, RegisterRow};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor, Role};
use crate::domain::{BillingCycle, PaymentMethod};
use crate::error::AppResult;
use crate::web::csv_out::attachment;
use crate::web::pagination::Pager;
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

type Options = &'static [(&'static str, &'static str)];

#[derive(Template)]
#[template(path = "payments/register.html")]
struct RegisterPage {
    ctx: PageCtx,
    f: RegisterFilter,
    reg: Register,
    pager: Pager,
    charts: Vec<Chart>,
    renewals: Vec<RegisterRow>,
    cards: Vec<RegisterRow>,
    window: i64,
    query: String,
    cycles: Options,
    methods: Options,
    can_add: bool,
}

impl RegisterPage {
    fn service_selected(&self, id: &i64) -> bool {
        self.f.service_id == Some(*id)
    }
}

fn charts_of(reg: &Register) -> Vec<Chart> {
    let converted = reg
        .reporting
        .iter()
        .filter(|_| reg.charts.len() > 1)
        .map(|r| {
            chart(
                &format!("Yearly cost by service, converted to {}", r.currency),
                &r.currency,
                &r.by_service,
            )
        });
    converted
        .chain(reg.charts.iter().flat_map(|s| {
            [
                chart("Yearly cost by service", &s.currency, &s.by_service),
                chart("Yearly cost by cost center", &s.currency, &s.by_department),
            ]
        }))
        .collect()
}

pub async fn register(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<RegisterFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let filter = query.into_inner();
    let window = match filter.upcoming {
        Some(60) => 60,
        Some(90) => 90,
        _ => 30,
    };
    let (f, a) = (filter.clone(), actor.clone());
    let cache = state.cache.clone();
    let key = format!(
        "register:{}:{}:{window}:{filter:?}",
        actor.cache_key(),
        actor.today
    );
    let (reg, (renewals, cards)) = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| {
            Ok((
                queries::register(conn, &a, &f, true)?,
                queries::upcoming(conn, &a, window)?,
            ))
        })
    })
    .await
    .map(Arc::unwrap_or_clone)?;
    let params: Vec<(&str, String)> = filter.params();
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pager = Pager::new("/payments", &borrowed, filter.page.unwrap_or(1), reg.total);
    let page = RegisterPage {
        ctx: PageCtx::new(&session, Some(&actor), "Payments", "/payments"),
        charts: charts_of(&reg),
        query: filter.query_string(),
        can_add: actor.role != Role::User,
        cycles: BillingCycle::OPTIONS,
        methods: PaymentMethod::OPTIONS,
        f: filter,
        reg,
        pager,
        renewals,
        cards,
        window,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "payments/print.html")]
struct PrintPage {
    title: String,
    generated: String,
    by: String,
    filters: Vec<(String, String)>,
    reg: Arc<Register>,
    charts: Vec<Chart>,
}

/// The filters in words, for the printed page's header.
fn describe(f: &RegisterFilter, reg: &Register) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(id) = f.service_id {
        let name = reg
            .services
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        out.push(("Service".into(), name));
    }
    if !f.cycle.is_empty() {
        out.push(("Cycle".into(), BillingCycle::label_of(&f.cycle).into()));
    }
    if !f.currency.is_empty() {
        out.push(("Currency".into(), f.currency.to_uppercase()));
    }
    if !f.method.is_empty() {
        out.push((
            "Payment method".into(),
            PaymentMethod::label_of(&f.method).into(),
        ));
    }
    if let Some(n) = f.renewing_within {
        out.push(("Renewing within".into(), format!("{n} days")));
    }
    if let Some(n) = f.card_expiring_within {
        out.push(("Card expiring within".into(), format!("{n} days")));
    }
    out.push(("Status".into(), f.status_or_default().to_string()));
    out
}

async fn load_all(
    state: &AppState,
    actor: &Actor,
    filter: &RegisterFilter,
) -> AppResult<Arc<Register>> {
    let (f, a) = (filter.clone(), actor.clone());
    let cache = state.cache.clone();
    let key = format!(
        "register-all:{}:{}:{filter:?}",
        actor.cache_key(),
        actor.today
    );
    crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| queries::register(conn, &a, &f, false))
    })
    .await
}

/// The register built for paper: every filtered row, totals, chart, who printed it when.
pub async fn print(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<RegisterFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let filter = query.into_inner();
    let reg = load_all(&state, &actor, &filter).await?;
    let title = match filter
        .service_id
        .and_then(|id| reg.services.iter().find(|(s, _)| *s == id))
    {
        Some((_, name)) => format!("Payment register: {name}"),
        None => "Payment register".to_string(),
    };
    let page = PrintPage {
        title,
        generated: crate::clock::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        by: actor.full_name.clone(),
        filters: describe(&filter, &reg),
        charts: charts_of(&reg),
        reg,
    };
    html(StatusCode::OK, page.render())
}

/// The register as CSV, with the same filters (cards masked).
pub async fn export(
    user: CurrentUser,
    state: web::Data<AppState>,
    query: web::Query<RegisterFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let reg = load_all(&state, &actor, &query.into_inner()).await?;
    let header = [
        "service",
        "product",
        "reference",
        "cycle",
        "amount",
        "currency",
        "yearly_cost",
        "next_renewal",
        "contract_end",
        "auto_renew",
        "payment_method",
        "billing_owner",
        "cost_center",
        "status",
    ];
    let rows = reg.rows.iter().cloned().map(|r| {
        let yearly = super::money::yearly(r.d.amount, r.d.cycle)
            .map(|y| y.round_dp(4).normalize().to_string());
        vec![
            r.d.service_name,
            r.d.product_name,
            r.d.reference,
            r.d.cycle.as_str().into(),
            r.d.amount.normalize().to_string(),
            r.d.currency,
            yearly.unwrap_or_default(),
            r.d.next_renewal_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            r.d.contract_end_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            if r.d.auto_renew {
                "yes".into()
            } else {
                "no".into()
            },
            r.method,
            r.d.owner.unwrap_or_default(),
            r.d.cost_center,
            r.d.status.as_str().into(),
        ]
    });
    attachment("portalops-payment-register.csv", &header, rows)
}
