//! Single sign-on with OpenID Connect (docs/sso.md): the login button's flow at the
//! configured provider, linking the provider's identities to directory people, and the
//! group mapping applied at each login.

pub mod commands;
pub mod flow;
pub mod pages;
pub mod provider;

pub use provider::Provider;

use actix_web::web as aw;

/// `GET /login/sso` (start) and `GET /login/sso/callback` (the provider's answer); public.
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/login/sso", aw::get().to(pages::start))
        .route("/login/sso/callback", aw::get().to(pages::callback));
}
