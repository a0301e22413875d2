//! Onboarding and offboarding: templates of products, workflows that generate one grant
//! or revoke task per product for the right administrators, task pages, progress, the
//! offboarding evidence report, and the notifications that go with them.
//!
//! `requests` are what the commands take (each door translates its input into them);
//! `commands`, `queries` and `templates` own the SQL; `pages`, `template_pages` and the
//! handover page render; `digests` are the daily task emails (run by `jobs`).

pub mod assign;
pub mod commands;
pub mod digests;
pub mod handover;
pub mod pages;
pub mod queries;
pub mod requests;
pub mod template_pages;
pub mod templates;

use actix_web::web as aw;

/// The workflow pages' routes (`/workflows…`, `/handovers/{id}`, `/tasks…`).
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/workflows", aw::get().to(pages::list))
        .route("/workflows/onboard", aw::get().to(pages::onboard_form))
        .route("/workflows/onboard", aw::post().to(pages::onboard))
        .route("/workflows/offboard", aw::get().to(pages::offboard_form))
        .route("/workflows/offboard", aw::post().to(pages::offboard))
        .route("/workflows/templates", aw::get().to(template_pages::list))
        .route(
            "/workflows/templates",
            aw::post().to(template_pages::create),
        )
        .route(
            "/workflows/templates/{id}",
            aw::get().to(template_pages::edit),
        )
        .route(
            "/workflows/templates/{id}",
            aw::post().to(template_pages::update),
        )
        .route(
            "/workflows/templates/{id}/delete",
            aw::post().to(template_pages::delete),
        )
        .route("/workflows/{id}", aw::get().to(pages::detail))
        .route("/workflows/{id}/cancel", aw::post().to(pages::cancel))
        .route("/workflows/{id}/report", aw::get().to(pages::report))
        .route("/handovers/{id}", aw::post().to(handover::submit))
        .route("/tasks", aw::get().to(pages::my_tasks))
        .route("/tasks/{id}", aw::get().to(pages::task))
        .route("/tasks/{id}/complete", aw::post().to(pages::complete))
        .route("/tasks/{id}/not-needed", aw::post().to(pages::not_needed));
}
