//! Authentication: password hashing and policy, JWT access tokens and rotating refresh
//! tokens kept in the session cookie, CSRF protection, login throttling (with known devices,
//! untrusted-proxy warnings and the Admins' unlock page), emailed login links (invitations
//! and password resets), two-factor login (TOTP), and the login, logout and first-run
//! pages.

pub mod api_token_pages;
pub mod api_tokens;
pub mod commands;
pub mod current_user;
pub mod forwarding;
pub mod known_device;
pub mod link_pages;
pub mod links;
pub mod lock_pages;
pub mod locks;
pub mod pages;
pub mod service_account_pages;
pub mod service_accounts;
pub mod throttle;
pub mod tokens;
pub mod two_factor;

pub use crate::crypto::{constant_time_eq, password, random_bytes, random_token, sha256};
pub use crate::web::{csrf, session};

use actix_web::web as aw;

/// Login and logout, "Forgot password" and the emailed links' page (public), Settings →
/// Login locks (Admins), and the API token pages (My account → API tokens; Settings → API
/// tokens for Admins).
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/account/tokens", aw::get().to(api_token_pages::own))
        .route("/account/tokens", aw::post().to(api_token_pages::create))
        .route(
            "/account/tokens/{id}/revoke",
            aw::post().to(api_token_pages::revoke_own),
        )
        .route("/settings/tokens", aw::get().to(api_token_pages::all))
        .route(
            "/settings/service-accounts",
            aw::get().to(service_account_pages::list),
        )
        .route(
            "/settings/service-accounts",
            aw::post().to(service_account_pages::create),
        )
        .route(
            "/settings/service-accounts/{id}",
            aw::get().to(service_account_pages::show),
        )
        .route(
            "/settings/service-accounts/{id}/edit",
            aw::get().to(service_account_pages::edit),
        )
        .route(
            "/settings/service-accounts/{id}/edit",
            aw::post().to(service_account_pages::update),
        )
        .route(
            "/settings/service-accounts/{id}/tokens",
            aw::post().to(service_account_pages::create_token),
        )
        .route(
            "/settings/service-accounts/{id}/tokens/{tid}/revoke",
            aw::post().to(service_account_pages::revoke_token),
        )
        .route(
            "/settings/service-accounts/{id}/disable",
            aw::post().to(service_account_pages::disable),
        )
        .route(
            "/settings/service-accounts/{id}/enable",
            aw::post().to(service_account_pages::enable),
        )
        .route(
            "/settings/tokens/{id}/revoke",
            aw::post().to(api_token_pages::revoke_any),
        );
    cfg.route("/login", aw::get().to(pages::login_form))
        .route("/password/forgot", aw::get().to(link_pages::forgot_form))
        .route("/password/forgot", aw::post().to(link_pages::forgot))
        .route("/password/set/{token}", aw::get().to(link_pages::set_form))
        .route("/password/set/{token}", aw::post().to(link_pages::set))
        .route("/login", aw::post().to(pages::login))
        .route("/logout", aw::post().to(pages::logout))
        .route("/settings/logins", aw::get().to(lock_pages::page))
        .route("/settings/logins/unlock", aw::post().to(lock_pages::unlock))
        .configure(two_factor::routes);
}
