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
pub mod money;
pub mod queries;
pub mod record_pages;
pub mod register_pages;
pub mod renewal;
pub mod savings;
pub mod uploads;
