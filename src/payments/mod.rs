//! The payment register: billing records per product with masked card data, their
//! invoices and contracts, payment history, totals per currency, printable register,
//! CSV export and a cost chart.

pub mod calendar;
pub use crate::domain::card;
pub mod chart;
pub mod commands;
pub mod fx;
pub mod fx_pages;
pub mod model;
pub use crate::domain::money;
pub mod queries;
pub mod record_pages;
pub mod register_pages;
pub mod renewal;
pub mod requests;
pub mod savings;
pub mod uploads;

/// The register's routes, the record pages', the calendar's and the currency settings'
/// (`/account/calendar-token` stays with the account page, whose handler it is).
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/payments", web::get().to(register_pages::register))
        .route("/payments", web::post().to(record_pages::create))
        .route("/payments/new", web::get().to(record_pages::new_form))
        .route("/payments/savings", web::get().to(savings::page))
        .route("/payments/print", web::get().to(register_pages::print))
        .route(
            "/payments/export.csv",
            web::get().to(register_pages::export),
        )
        .route("/payments/{id}", web::get().to(record_pages::show))
        .route("/payments/{id}", web::post().to(record_pages::update))
        .route(
            "/payments/{id}/edit",
            web::get().to(record_pages::edit_form),
        )
        .route(
            "/payments/{id}/attachments",
            web::post().to(record_pages::upload),
        )
        .route(
            "/payments/{id}/history",
            web::post().to(record_pages::add_payment),
        )
        .route("/attachments/{id}", web::get().to(record_pages::download))
        .route(
            "/attachments/{id}/remove",
            web::post().to(record_pages::remove_attachment),
        )
        .route("/calendar", web::get().to(calendar::page))
        .route("/calendar/feed/{token}", web::get().to(calendar::feed))
        .route("/settings/currency", web::get().to(fx_pages::page))
        .route(
            "/settings/currency",
            web::post().to(fx_pages::set_reporting),
        )
        .route(
            "/settings/currency/rates",
            web::post().to(fx_pages::add_rates),
        );
}
