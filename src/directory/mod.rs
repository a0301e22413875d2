//! The user directory: people, whether or not they can log in, with their roles, and their
//! access to products (grants). Requests (`requests`) are what the commands take; each door
//! (the pages here, the API, the people CSV import) builds them from its own input.

pub mod bulk_pages;
pub mod commands;
pub mod export;
pub mod grant_batch;
pub mod grant_rows;
pub mod grants;
pub mod model;
pub mod pages;
pub mod queries;
pub mod requests;

use actix_web::web as aw;

/// The directory's pages (the export first: `/directory/{id}` would take its path).
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/directory/export.csv", aw::get().to(export::directory_csv))
        .route("/directory", aw::get().to(pages::list))
        .route("/directory", aw::post().to(pages::create))
        .route("/directory/new", aw::get().to(pages::new_form))
        .route("/directory/{id}", aw::get().to(pages::show))
        .route("/directory/{id}", aw::post().to(pages::update))
        .route("/directory/{id}/edit", aw::get().to(pages::edit_form))
        .route("/directory/{id}/grants", aw::post().to(pages::grant))
        .route(
            "/directory/{id}/grants.csv",
            aw::get().to(export::person_grants_csv),
        )
        .route(
            "/directory/{id}/grants/bulk",
            aw::get().to(bulk_pages::form),
        )
        .route(
            "/directory/{id}/grants/bulk",
            aw::post().to(bulk_pages::submit),
        )
        .route(
            "/directory/{id}/invitation",
            aw::post().to(pages::resend_invitation),
        );
}
