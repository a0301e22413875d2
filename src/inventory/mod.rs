//! The service inventory: services (e.g. Google Workspace), their products (Gmail, Drive),
//! who administers them, and the pages to list, view, create, edit, archive and delete them.
//! `requests` holds what the commands take; `model` the page forms that translate into it.

use actix_web::web as aw;

use crate::directory::export as grants_csv;

pub mod bulk_pages;
pub mod commands;
pub mod export;
pub mod model;
pub mod product_pages;
pub mod queries;
pub mod requests;
pub mod service_pages;

/// The inventory's pages (and the grant routes its product pages answer).
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/inventory", aw::get().to(service_pages::list))
        .route(
            "/inventory/services/new",
            aw::get().to(service_pages::new_form),
        )
        .route("/inventory/services", aw::post().to(service_pages::create))
        .route(
            "/inventory/services/{id}",
            aw::get().to(service_pages::show),
        )
        .route(
            "/inventory/services/{id}",
            aw::post().to(service_pages::update),
        )
        .route(
            "/inventory/services/{id}/edit",
            aw::get().to(service_pages::edit_form),
        )
        .route(
            "/inventory/services/{id}/admins",
            aw::post().to(service_pages::add_admin),
        )
        .route(
            "/inventory/services/{id}/admins/{uid}/remove",
            aw::post().to(service_pages::remove_admin),
        )
        .route(
            "/inventory/services/{id}/products/new",
            aw::get().to(product_pages::new_form),
        )
        .route(
            "/inventory/services/{id}/products",
            aw::post().to(product_pages::create),
        )
        .route(
            "/inventory/services/{id}/{op:archive|restore|delete}",
            aw::post().to(service_pages::lifecycle),
        )
        .route(
            "/inventory/products/{id}",
            aw::get().to(product_pages::show),
        )
        .route(
            "/inventory/products/{id}",
            aw::post().to(product_pages::update),
        )
        .route(
            "/inventory/products/{id}/edit",
            aw::get().to(product_pages::edit_form),
        )
        .route(
            "/inventory/products/{id}/admins",
            aw::post().to(product_pages::add_admin),
        )
        .route(
            "/inventory/products/{id}/admins/{uid}/remove",
            aw::post().to(product_pages::remove_admin),
        )
        .route(
            "/inventory/products/{id}/grants",
            aw::post().to(product_pages::grant),
        )
        .route(
            "/inventory/products/{id}/grants/bulk",
            aw::get().to(bulk_pages::grant_form),
        )
        .route(
            "/inventory/products/{id}/grants/bulk",
            aw::post().to(bulk_pages::grant),
        )
        .route(
            "/inventory/products/{id}/grants/revoke",
            aw::post().to(bulk_pages::revoke),
        )
        .route(
            "/inventory/products/{id}/{op:archive|restore|delete}",
            aw::post().to(product_pages::lifecycle),
        )
        .route("/grants/{id}/revoke", aw::post().to(product_pages::revoke))
        .route("/inventory/export.csv", aw::get().to(export::inventory_csv))
        .route(
            "/inventory/grants.csv",
            aw::get().to(grants_csv::all_grants_csv),
        )
        .route(
            "/inventory/services/{id}/grants.csv",
            aw::get().to(grants_csv::service_grants_csv),
        )
        .route(
            "/inventory/products/{id}/grants.csv",
            aw::get().to(grants_csv::product_grants_csv),
        );
}
