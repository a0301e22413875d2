//! The dashboard's figures, read from the features that own them: the estate or the
//! actor's products (`inventory`), people (`directory`), renewals, cards, deadlines and
//! spend (`payments`), the actor's own recent changes (`audit`). Everything is scoped to the
//! actor.

use diesel::PgConnection;

use crate::audit::queries::{recent_for_actor, AuditRow};
use crate::authz::{Actor, Role};
use crate::error::AppError;
use crate::inventory::queries::{estate_figures, products_run_by, ProductSeatUse};
use crate::payments::queries::{deadlines, spend, upcoming, CurrencyTotal, RegisterRow, Reporting};

/// Counts over the actor's scope (everything for Admins).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub services: i64,
    pub products: i64,
    pub people: i64,
    pub active_grants: i64,
    pub over_seats: i64,
}

/// Everything the dashboard shows.
#[derive(Clone)]
pub struct Dashboard {
    pub stats: Stats,
    /// The products a Service or Product Administrator runs (empty for Admins).
    pub mine: Vec<ProductSeatUse>,
    pub recent: Vec<AuditRow>,
    pub renewals: Vec<RegisterRow>,
    pub cards: Vec<RegisterRow>,
    /// Cancellation deadlines in the next 30 days: the decisions that cannot wait.
    pub deadlines: Vec<RegisterRow>,
    /// Yearly cost of the active records in scope, per currency, and converted.
    pub totals: Vec<CurrencyTotal>,
    pub reporting: Option<Reporting>,
}

/// The actor's dashboard.
pub fn dashboard(conn: &mut PgConnection, actor: &Actor) -> Result<Dashboard, AppError> {
    let (stats, mine) = if actor.is_admin() {
        let estate = estate_figures(conn, actor)?;
        let stats = Stats {
            services: estate.services,
            products: estate.products,
            people: crate::directory::queries::count_current_people(conn, actor)?,
            active_grants: estate.active_grants,
            over_seats: estate.over_seats,
        };
        (stats, Vec::new())
    } else {
        let mine = products_run_by(conn, actor)?;
        let mut services: Vec<&str> = mine
            .iter()
            .filter_map(|r| r.label.split(" → ").next())
            .collect();
        services.dedup();
        let services = if actor.role == Role::ServiceAdmin {
            actor.scope.services.len()
        } else {
            services.len()
        };
        let stats = Stats {
            services: services as i64,
            products: mine.len() as i64,
            people: 0,
            active_grants: mine.iter().map(|r| r.seats_used).sum(),
            over_seats: mine.iter().filter(|r| r.is_over()).count() as i64,
        };
        (stats, mine)
    };
    let (renewals, cards) = upcoming(conn, actor, 30)?;
    let recent = recent_for_actor(conn, actor.person()?, 5)?;
    let deadlines = deadlines(conn, actor, 30)?;
    let (totals, reporting) = spend(conn, actor)?;
    Ok(Dashboard {
        stats,
        mine,
        recent,
        renewals,
        cards,
        deadlines,
        totals,
        reporting,
    })
}
