//! Usage evidence (issue #18): a product's user export from its SaaS admin console (CSV:
//! email, last active date, optionally the licence tier) gives each grant a "last active"
//! — what the product page's and the savings page's "inactive for N days" filters and,
//! later, access reviews read. `evidence` reads and matches an export (no database),
//! `store` keeps imports and applies them, `pages` are the product's usage pages. The
//! import never calls out: the file is what the administrator downloaded.

pub mod evidence;
pub mod pages;
pub mod store;

use actix_web::web as aw;

/// The usage pages, under the product's.
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/inventory/products/{id}/usage", aw::get().to(pages::list))
        .route(
            "/inventory/products/{id}/usage",
            aw::post().to(pages::upload),
        )
        .route(
            "/inventory/products/{id}/usage/{iid}",
            aw::get().to(pages::show),
        )
        .route(
            "/inventory/products/{id}/usage/{iid}/columns",
            aw::post().to(pages::set_mapping),
        )
        .route(
            "/inventory/products/{id}/usage/{iid}/apply",
            aw::post().to(pages::apply),
        )
        .route(
            "/inventory/products/{id}/usage/{iid}/discard",
            aw::post().to(pages::discard),
        );
}
