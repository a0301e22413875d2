//! Register reads, filtered by scope and filters in SQL. A register page is a count, the
//! page of rows, and one query over the filtered set for the totals and the chart.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::dsl::{count_star, sum};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::card::masked;
use super::money;
use super::renewal::Notice;
use crate::authz::{Actor, Role};
use crate::db::schema::{attachments, billing_records, payments, products, services, users};
use crate::domain::{
    AttachmentId, BillingCycle, BillingRecordId, BillingStatus, NoticeUnit, PaymentMethod,
    ProductId,
};
use crate::error::AppError;
use crate::web::pagination::{Pager, PER_PAGE};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterFilter {
    pub service_id: Option<i64>,
    pub product_id: Option<i64>,
    #[serde(default)]
    pub cycle: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub method: String,
    pub renewing_within: Option<i64>,
    pub card_expiring_within: Option<i64>,
    /// "active" (default), "cancelled" or "all".
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    pub page: Option<i64>,
    /// Window of the register's "coming up" panels (30, 60 or 90 days); not a filter.
    pub upcoming: Option<i64>,
}

impl RegisterFilter {
    pub fn status_or_default(&self) -> &str {
        match self.status.as_str() {
            "cancelled" | "all" => &self.status,
            _ => "active",
        }
    }

    /// The filter as query parameters (for links, the print page and the CSV export).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        vec![
            ("service_id", opt(self.service_id)),
            ("product_id", opt(self.product_id)),
            ("cycle", self.cycle.clone()),
            ("currency", self.currency.clone()),
            ("method", self.method.clone()),
            ("renewing_within", opt(self.renewing_within)),
            ("card_expiring_within", opt(self.card_expiring_within)),
            ("status", self.status.clone()),
            ("sort", self.sort.clone()),
            ("dir", self.dir.clone()),
        ]
    }

    pub fn query_string(&self) -> String {
        self.params()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", crate::error::urlencode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

type Joined = diesel::dsl::LeftJoin<
    diesel::dsl::InnerJoin<
        billing_records::table,
        diesel::dsl::InnerJoin<products::table, services::table>,
    >,
    users::table,
>;
type Boxed<'a> = diesel::dsl::IntoBoxed<'a, Joined, Pg>;

/// Billing records the actor may see, with the filters applied.
pub(crate) fn filtered<'a>(actor: &Actor, f: &RegisterFilter) -> Boxed<'a> {
    let mut q = billing_records::table
        .inner_join(products::table.inner_join(services::table))
        .left_join(users::table)
        .into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => {
            q = q.filter(products::service_id.eq_any(actor.scope.services.clone()))
        }
        Role::ProductAdmin => q = q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::User => q = q.filter(billing_records::id.eq(-1)),
    }
    if let Some(s) = f.service_id {
        q = q.filter(products::service_id.eq(s));
    }
    if let Some(p) = f.product_id {
        q = q.filter(products::id.eq(p));
    }
    if !f.cycle.is_empty() {
        q = q.filter(billing_records::cycle.eq(f.cycle.clone()));
    }
    if !f.currency.is_empty() {
        q = q.filter(billing_records::currency.eq(f.currency.to_uppercase()));
    }
    if !f.method.is_empty() {
        q = q.filter(billing_records::payment_method.eq(f.method.clone()));
    }
    let today = actor.today;
    if let Some(n) = f.renewing_within {
        q = q.filter(billing_records::next_renewal_on.ge(today)).filter(
            billing_records::next_renewal_on.le(today + chrono::TimeDelta::days(n.clamp(0, 3660))),
        );
    }
    if let Some(n) = f.card_expiring_within {
        // Cards already expired are included: they need attention even more.
        q = q.filter(
            billing_records::card_expires_on.le(today + chrono::TimeDelta::days(n.clamp(0, 3660))),
        );
    }
    match f.status_or_default() {
        "all" => {}
        s => q = q.filter(billing_records::status.eq(s.to_string())),
    }
    q
}

/// A register line as stored, with its service, product and billing owner's names: the one
/// selection every register query loads.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = billing_records, check_for_backend(diesel::pg::Pg))]
pub struct RowData {
    pub id: BillingRecordId,
    pub product_id: ProductId,
    #[diesel(select_expression = services::name)]
    pub service_name: String,
    #[diesel(select_expression = products::name)]
    pub product_name: String,
    pub reference: String,
    pub cycle: BillingCycle,
    pub amount: Decimal,
    pub currency: String,
    pub next_renewal_on: Option<NaiveDate>,
    pub contract_end_on: Option<NaiveDate>,
    pub auto_renew: bool,
    pub payment_method: PaymentMethod,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub card_exp_month: Option<i16>,
    pub card_exp_year: Option<i16>,
    pub card_expires_on: Option<NaiveDate>,
    pub cancellation_deadline: Option<NaiveDate>,
    #[diesel(
        select_expression = users::full_name.nullable(),
        select_expression_type = diesel::dsl::Nullable<users::full_name>
    )]
    pub owner: Option<String>,
    pub cost_center: String,
    pub status: BillingStatus,
}

/// A register line, ready to display.
#[derive(Clone)]
pub struct RegisterRow {
    pub d: RowData,
    pub amount: String,
    pub yearly: String,
    pub cycle: &'static str,
    pub method: String,
    pub card_expired: bool,
    pub renewal_soon: bool,
    /// The cancellation deadline is within 30 days (or today).
    pub deadline_soon: bool,
}

impl RegisterRow {
    fn new(d: RowData, today: NaiveDate) -> Self {
        let method = if d.payment_method == PaymentMethod::Card {
            masked(
                d.card_brand.as_deref(),
                d.card_last4.as_deref(),
                d.card_exp_month,
                d.card_exp_year,
            )
        } else {
            d.payment_method.label().to_string()
        };
        Self {
            amount: money::format(d.amount, &d.currency),
            yearly: money::yearly(d.amount, d.cycle)
                .map(|y| money::format(y, &d.currency))
                .unwrap_or_else(|| "—".into()),
            cycle: d.cycle.label(),
            card_expired: d.card_expires_on.is_some_and(|e| e < today),
            renewal_soon: d
                .next_renewal_on
                .is_some_and(|r| r >= today && r <= today + chrono::TimeDelta::days(30)),
            deadline_soon: d
                .cancellation_deadline
                .is_some_and(|r| r >= today && r <= today + chrono::TimeDelta::days(30)),
            method,
            d,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.d.status == BillingStatus::Cancelled
    }
}

fn select_rows<'a>(
    q: Boxed<'a>,
) -> diesel::dsl::Select<Boxed<'a>, diesel::dsl::AsSelect<RowData, Pg>> {
    q.select(RowData::as_select())
}

/// Totals of one currency: per cycle, and normalised to a month and a year.
#[derive(Clone)]
pub struct CurrencyTotal {
    pub currency: String,
    pub yearly_raw: Decimal,
    pub records: usize,
    pub per_cycle: Vec<(&'static str, String)>,
    pub monthly: String,
    pub yearly: String,
    pub one_off: String,
}

/// Yearly cost per label (service or cost center) in one currency, largest first.
#[derive(Clone)]
pub struct ChartSeries {
    pub currency: String,
    pub by_service: Vec<(String, Decimal)>,
    pub by_department: Vec<(String, Decimal)>,
}

/// The totals converted to the reporting currency.
#[derive(Clone)]
pub struct Reporting {
    pub currency: String,
    /// (currency, its yearly total converted or "no rate", the rate used and its date)
    pub lines: Vec<(String, String, String)>,
    pub yearly: String,
    pub monthly: String,
    pub missing: Vec<String>,
    /// Yearly cost by service, converted (services whose currency has no rate are left out).
    pub by_service: Vec<(String, Decimal)>,
}

#[derive(Clone)]
pub struct Register {
    pub reporting: Option<Reporting>,
    pub rows: Vec<RegisterRow>,
    pub total: i64,
    pub totals: Vec<CurrencyTotal>,
    pub charts: Vec<ChartSeries>,
    pub services: Vec<(i64, String)>,
    pub currencies: Vec<String>,
}

/// One group of filtered records: their currency, cycle, summed amount and number, and the
/// service and cost center when the charts need them (empty otherwise).
#[derive(Queryable)]
struct Group {
    currency: String,
    cycle: BillingCycle,
    amount: Option<Decimal>,
    records: i64,
    service: String,
    cost_center: String,
}

/// Totals and charts from the grouped records: exact decimals throughout (`money::yearly`
/// is a whole-number multiple, so a yearly figure of a sum is the sum of yearly figures).
fn summarize(groups: Vec<Group>) -> (Vec<CurrencyTotal>, Vec<ChartSeries>) {
    #[derive(Default)]
    struct Acc {
        records: usize,
        per_cycle: HashMap<BillingCycle, Decimal>,
        yearly: Decimal,
        one_off: Decimal,
        by_service: BTreeMap<String, Decimal>,
        by_department: BTreeMap<String, Decimal>,
    }
    let mut by_currency: BTreeMap<String, Acc> = BTreeMap::new();
    for Group {
        currency,
        cycle,
        amount,
        records,
        service,
        cost_center,
    } in groups
    {
        let amount = amount.unwrap_or_default();
        let acc = by_currency.entry(currency).or_default();
        acc.records += records as usize;
        *acc.per_cycle.entry(cycle).or_default() += amount;
        match money::yearly(amount, cycle) {
            Some(y) => {
                acc.yearly += y;
                if !service.is_empty() {
                    *acc.by_service.entry(service).or_default() += y;
                    let dept = if cost_center.is_empty() {
                        "(no cost center)".to_string()
                    } else {
                        cost_center
                    };
                    *acc.by_department.entry(dept).or_default() += y;
                }
            }
            None => acc.one_off += amount,
        }
    }
    let mut totals = Vec::new();
    let mut charts = Vec::new();
    for (currency, acc) in by_currency {
        let sorted = |m: BTreeMap<String, Decimal>| {
            let mut v: Vec<(String, Decimal)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        totals.push(CurrencyTotal {
            records: acc.records,
            per_cycle: BillingCycle::ALL
                .iter()
                .filter_map(|cycle| {
                    acc.per_cycle
                        .get(cycle)
                        .map(|a| (cycle.label(), money::format(*a, &currency)))
                })
                .collect(),
            monthly: money::format(acc.yearly / Decimal::from(12), &currency),
            yearly: money::format(acc.yearly, &currency),
            yearly_raw: acc.yearly,
            one_off: money::format(acc.one_off, &currency),
            currency: currency.clone(),
        });
        charts.push(ChartSeries {
            currency,
            by_service: sorted(acc.by_service),
            by_department: sorted(acc.by_department),
        });
    }
    (totals, charts)
}

/// The register: a page of rows, the totals and charts over every filtered row, and the
/// filter choices. `page = None` returns every row (print and export).
pub fn register(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &RegisterFilter,
    paged: bool,
) -> Result<Register, AppError> {
    let total: i64 = filtered(actor, f).count().get_result(conn)?;
    let desc = f.dir == "desc";
    let q = filtered(actor, f);
    let q = match (f.sort.as_str(), desc) {
        ("amount", false) => q.order((
            billing_records::currency.asc(),
            billing_records::amount.asc(),
            billing_records::id.asc(),
        )),
        ("amount", true) => q.order((
            billing_records::currency.asc(),
            billing_records::amount.desc(),
            billing_records::id.asc(),
        )),
        ("service", false) => q.order((
            services::name.asc(),
            products::name.asc(),
            billing_records::id.asc(),
        )),
        ("service", true) => q.order((
            services::name.desc(),
            products::name.desc(),
            billing_records::id.asc(),
        )),
        ("card", false) => q.order((
            billing_records::card_expires_on.asc().nulls_last(),
            billing_records::id.asc(),
        )),
        ("card", true) => q.order((
            billing_records::card_expires_on.desc().nulls_last(),
            billing_records::id.asc(),
        )),
        (_, true) => q.order((
            billing_records::next_renewal_on.desc().nulls_last(),
            billing_records::id.asc(),
        )),
        (_, false) => q.order((
            billing_records::next_renewal_on.asc().nulls_last(),
            billing_records::id.asc(),
        )),
    };
    let q = if paged {
        q.limit(PER_PAGE).offset(Pager::offset(f.page.unwrap_or(1)))
    } else {
        q
    };
    let rows: Vec<RowData> = select_rows(q).load(conn)?;
    let (totals, charts) = summarize_filtered(conn, actor, f, Breakdown::Charts)?;
    let mut sq = services::table
        .select((services::id, services::name))
        .order(services::name.asc())
        .into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => sq = sq.filter(services::id.eq_any(actor.scope.services.clone())),
        Role::ProductAdmin => {
            sq = sq.filter(services::id.eq_any(actor.scope.product_service_ids()))
        }
        Role::User => sq = sq.filter(services::id.eq(-1)),
    }
    let services = sq.load(conn)?;
    let currencies = billing_records::table
        .select(billing_records::currency)
        .distinct()
        .order(billing_records::currency.asc())
        .load(conn)?;
    let reporting = reporting(conn, &totals, &charts, actor.today)?;
    Ok(Register {
        reporting,
        rows: rows
            .into_iter()
            .map(|d| RegisterRow::new(d, actor.today))
            .collect(),
        total,
        totals,
        charts,
        services,
        currencies,
    })
}

/// What the totals are broken down by: the register's charts need service and cost center;
/// the dashboard's spend panel needs only currency and cycle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Breakdown {
    Charts,
    TotalsOnly,
}

/// Totals (and chart series) over every record the filter matches, not just one page,
/// summed in SQL: a few dozen groups cross the wire instead of every record.
fn summarize_filtered(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &RegisterFilter,
    breakdown: Breakdown,
) -> Result<(Vec<CurrencyTotal>, Vec<ChartSeries>), AppError> {
    use billing_records::{amount, cost_center, currency, cycle};
    // Diesel cannot group a boxed query, so the filter picks the records in a subquery.
    let matching = filtered(actor, f).select(billing_records::id);
    let q = billing_records::table
        .inner_join(products::table.inner_join(services::table))
        .filter(billing_records::id.eq_any(matching));
    let groups: Vec<Group> = match breakdown {
        Breakdown::Charts => q
            .group_by((currency, cycle, services::name, cost_center))
            .select((
                currency,
                cycle,
                sum(amount),
                count_star(),
                services::name,
                cost_center,
            ))
            .load(conn)?,
        Breakdown::TotalsOnly => q
            .group_by((currency, cycle))
            .select((
                currency,
                cycle,
                sum(amount),
                count_star(),
                "".into_sql::<Text>(),
                "".into_sql::<Text>(),
            ))
            .load(conn)?,
    };
    Ok(summarize(groups))
}

/// The totals converted to the reporting currency (None while no reporting currency is set).
pub fn reporting(
    conn: &mut PgConnection,
    totals: &[CurrencyTotal],
    charts: &[ChartSeries],
    today: NaiveDate,
) -> Result<Option<Reporting>, AppError> {
    Ok(match super::fx::reporting_currency(conn)? {
        None => None,
        Some(to) => {
            let rates = super::fx::rates_on(conn, today)?;
            let mut lines = Vec::new();
            let mut total = Decimal::ZERO;
            let mut missing = Vec::new();
            for t in totals {
                match super::fx::convert(t.yearly_raw, &t.currency, &to, &rates) {
                    super::fx::Converted::Same => {
                        total += t.yearly_raw;
                        lines.push((
                            t.currency.clone(),
                            money::format(t.yearly_raw, &to),
                            "—".into(),
                        ));
                    }
                    super::fx::Converted::At {
                        amount,
                        rate,
                        since,
                    } => {
                        total += amount;
                        lines.push((
                            t.currency.clone(),
                            money::format(amount, &to),
                            format!("{} (since {since})", rate.normalize()),
                        ));
                    }
                    super::fx::Converted::NoRate => {
                        missing.push(t.currency.clone());
                        lines.push((t.currency.clone(), "no rate".into(), "missing".into()));
                    }
                }
            }
            let mut by_service: BTreeMap<String, Decimal> = BTreeMap::new();
            for c in charts {
                let factor = if c.currency == to {
                    Some(Decimal::ONE)
                } else {
                    rates.get(&c.currency).map(|r| r.0)
                };
                if let Some(f) = factor {
                    for (name, v) in &c.by_service {
                        *by_service.entry(name.clone()).or_default() += *v * f;
                    }
                }
            }
            let mut by_service: Vec<(String, Decimal)> = by_service.into_iter().collect();
            by_service.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Some(Reporting {
                yearly: money::format(total, &to),
                monthly: money::format(total / Decimal::from(12), &to),
                currency: to,
                lines,
                missing,
                by_service,
            })
        }
    })
}

/// The yearly totals of every active record in scope, per currency and converted: the
/// dashboard's spend panel.
pub fn spend(
    conn: &mut PgConnection,
    actor: &Actor,
) -> Result<(Vec<CurrencyTotal>, Option<Reporting>), AppError> {
    let (totals, charts) = summarize_filtered(
        conn,
        actor,
        &RegisterFilter::default(),
        Breakdown::TotalsOnly,
    )?;
    let reporting = reporting(conn, &totals, &charts, actor.today)?;
    Ok((totals, reporting))
}

/// Active cancellation deadlines in the next `days`.
pub fn deadlines(
    conn: &mut PgConnection,
    actor: &Actor,
    days: i64,
) -> Result<Vec<RegisterRow>, AppError> {
    let today = actor.today;
    let rows: Vec<RowData> = select_rows(
        filtered(actor, &RegisterFilter::default())
            .filter(billing_records::cancellation_deadline.ge(today))
            .filter(
                billing_records::cancellation_deadline.le(today + chrono::TimeDelta::days(days)),
            )
            .order((
                billing_records::cancellation_deadline.asc(),
                billing_records::id.asc(),
            ))
            .limit(20),
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|d| RegisterRow::new(d, actor.today))
        .collect())
}

/// Active renewals and card expiries in the next `days` (cards already expired included),
/// for the register and the dashboard.
pub fn upcoming(
    conn: &mut PgConnection,
    actor: &Actor,
    days: i64,
) -> Result<(Vec<RegisterRow>, Vec<RegisterRow>), AppError> {
    let renewals = RegisterFilter {
        renewing_within: Some(days),
        ..Default::default()
    };
    let cards = RegisterFilter {
        card_expiring_within: Some(days),
        sort: "card".into(),
        ..Default::default()
    };
    let r: Vec<RowData> = select_rows(
        filtered(actor, &renewals)
            .order((
                billing_records::next_renewal_on.asc(),
                billing_records::id.asc(),
            ))
            .limit(20),
    )
    .load(conn)?;
    let c: Vec<RowData> = select_rows(
        filtered(actor, &cards)
            .order((
                billing_records::card_expires_on.asc(),
                billing_records::id.asc(),
            ))
            .limit(20),
    )
    .load(conn)?;
    Ok((
        r.into_iter()
            .map(|d| RegisterRow::new(d, actor.today))
            .collect(),
        c.into_iter()
            .map(|d| RegisterRow::new(d, actor.today))
            .collect(),
    ))
}

/// One record (if the actor may see it), displayed; `NotFound` outside the actor's scope
/// (billing follows the scope of access: `authz::authorize_on`).
pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    id: BillingRecordId,
) -> Result<RegisterRow, AppError> {
    let f = RegisterFilter {
        status: "all".into(),
        ..Default::default()
    };
    let row: Option<RowData> = select_rows(filtered(actor, &f).filter(billing_records::id.eq(id)))
        .first(conn)
        .optional()?;
    row.map(|d| RegisterRow::new(d, actor.today))
        .ok_or(AppError::NotFound)
}

/// A file attached to a billing record.
#[derive(Queryable, Selectable)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
pub struct Attachment {
    pub id: AttachmentId,
    #[diesel(column_name = original_name)]
    pub name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
    #[diesel(
        select_expression = users::full_name.nullable(),
        select_expression_type = diesel::dsl::Nullable<users::full_name>
    )]
    pub uploaded_by: Option<String>,
}

/// The record's attachments, newest first (the caller has authorized the record).
fn attachments_of(
    conn: &mut PgConnection,
    record_id: BillingRecordId,
) -> Result<Vec<Attachment>, AppError> {
    Ok(attachments::table
        .left_join(users::table.on(users::id.nullable().eq(attachments::uploaded_by)))
        .filter(attachments::billing_record_id.eq(record_id))
        .filter(attachments::removed_at.is_null())
        .select(Attachment::as_select())
        .order(attachments::id.desc())
        .load(conn)?)
}

/// A line of a record's payment history.
#[derive(Queryable, Selectable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub struct PaymentLine {
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub invoice_ref: String,
    #[diesel(
        select_expression = users::full_name.nullable(),
        select_expression_type = diesel::dsl::Nullable<users::full_name>
    )]
    pub recorded_by: Option<String>,
}

/// What a record's page, its form and the API show beyond its register line.
#[derive(Queryable, Selectable)]
#[diesel(table_name = billing_records, check_for_backend(diesel::pg::Pg))]
struct RecordExtras {
    notes: String,
    #[diesel(
        select_expression = users::email.nullable(),
        select_expression_type = diesel::dsl::Nullable<users::email>
    )]
    owner_email: Option<String>,
    notice_value: Option<i32>,
    notice_unit: Option<NoticeUnit>,
    minimum_term_months: Option<i32>,
}

/// One record with everything its page shows: notes, notice period, attachments and
/// payment history (newest first).
pub struct RecordDetail {
    pub row: RegisterRow,
    pub notes: String,
    pub owner_email: Option<String>,
    pub notice_value: Option<i32>,
    pub notice_unit: Option<NoticeUnit>,
    pub minimum_term_months: Option<i32>,
    pub attachments: Vec<Attachment>,
    pub history: Vec<PaymentLine>,
}

impl RecordDetail {
    pub fn notice(&self) -> Option<Notice> {
        Notice::from_parts(self.notice_value, self.notice_unit)
    }
}

/// One record in full, if the actor may see it (`NotFound` otherwise, as `record`).
pub fn record_detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: BillingRecordId,
) -> Result<RecordDetail, AppError> {
    let row = record(conn, actor, id)?;
    let x: RecordExtras = billing_records::table
        .left_join(users::table)
        .filter(billing_records::id.eq(id))
        .select(RecordExtras::as_select())
        .first(conn)?;
    let attachments = attachments_of(conn, id)?;
    let history = payments::table
        .left_join(users::table.on(users::id.nullable().eq(payments::recorded_by)))
        .filter(payments::billing_record_id.eq(id))
        .select(PaymentLine::as_select())
        .order((payments::paid_on.desc(), payments::id.desc()))
        .load(conn)?;
    Ok(RecordDetail {
        row,
        notes: x.notes,
        owner_email: x.owner_email,
        notice_value: x.notice_value,
        notice_unit: x.notice_unit,
        minimum_term_months: x.minimum_term_months,
        attachments,
        history,
    })
}

/// A product's billing records (all statuses), for its page.
pub fn records_of_product(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
) -> Result<Vec<RegisterRow>, AppError> {
    let f = RegisterFilter {
        product_id: Some(product_id),
        status: "all".into(),
        ..Default::default()
    };
    let rows: Vec<RowData> = select_rows(
        filtered(actor, &f)
            .order(billing_records::id.asc())
            .limit(100),
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|d| RegisterRow::new(d, actor.today))
        .collect())
}
