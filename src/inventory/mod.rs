//! The service inventory: services (e.g. Google Workspace), their products (Gmail, Drive),
//! who administers them, and the pages to list, view, create, edit, archive and delete them.

pub mod commands;
pub mod export;
pub mod model;
pub mod product_pages;
pub mod queries;
pub mod service_pages;
