//! Two-factor login with TOTP (RFC 6238): enrolment from My account (a QR code rendered on
//! the server as inline SVG, and the secret as text), one-time recovery codes stored
//! hashed, the secret stored encrypted (`crypto::aead`), the second step of the login with
//! single-use codes charged to the password's throttle, the Admins' policy of who must use
//! it, and an Admin's reset of someone's factor (never of a higher role). docs/rbac.md,
//! "Two-factor login".

pub mod admin_pages;
pub mod commands;
pub mod login;
pub mod pages;
pub mod queries;
pub mod totp;

use actix_web::web as aw;

pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/login/two-factor", aw::get().to(pages::code_form))
        .route("/login/two-factor", aw::post().to(pages::submit_code))
        .route("/account/two-factor", aw::get().to(pages::account))
        .route("/account/two-factor/start", aw::post().to(pages::start))
        .route("/account/two-factor/confirm", aw::post().to(pages::confirm))
        .route("/account/two-factor/disable", aw::post().to(pages::disable))
        .route(
            "/account/two-factor/recovery-codes",
            aw::post().to(pages::renew_codes),
        )
        .route(
            "/settings/two-factor",
            aw::get().to(admin_pages::policy_page),
        )
        .route(
            "/settings/two-factor",
            aw::post().to(admin_pages::set_policy),
        )
        .route(
            "/directory/{id}/two-factor/reset",
            aw::get().to(admin_pages::reset_form),
        )
        .route(
            "/directory/{id}/two-factor/reset",
            aw::post().to(admin_pages::reset),
        );
}
