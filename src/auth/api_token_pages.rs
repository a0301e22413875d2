//! My account → API tokens (`/account/tokens`: one's own, made and revoked here, the secret
//! shown once right after it is made) and Settings → API tokens (`/settings/tokens`, Admins:
//! everyone's, with revoke). Thin: the commands and queries are in `api_tokens`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::api_tokens::commands::{self, NewToken};
use super::api_tokens::queries::{self, TokenRow, TokenState};
use super::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::domain::{ApiAccess, ApiArea, ApiTokenId, TokenScopes};
use crate::error::AppResult;
use crate::web::format::format_time;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{after_command, html};
use crate::web::{AppState, PageCtx};

/// The form to make a token, as typed (kept when it is shown again with errors).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub scope_people: String,
    #[serde(default)]
    pub scope_inventory: String,
    #[serde(default)]
    pub scope_billing: String,
    #[serde(default)]
    pub scope_workflows: String,
    #[serde(default)]
    pub scope_audit: String,
    #[serde(default)]
    pub scope_scim: String,
}

impl TokenForm {
    /// The scope selects, each with what is chosen.
    pub(crate) fn areas(&self) -> Vec<AreaChoice> {
        ApiArea::ALL
            .iter()
            .map(|area| AreaChoice {
                field: format!("scope_{area}"),
                label: area.label(),
                chosen: self.chosen(*area).to_string(),
            })
            .collect()
    }

    /// The chosen access of `area` ("", "read" or "write").
    fn chosen(&self, area: ApiArea) -> &str {
        match area {
            ApiArea::People => &self.scope_people,
            ApiArea::Inventory => &self.scope_inventory,
            ApiArea::Billing => &self.scope_billing,
            ApiArea::Workflows => &self.scope_workflows,
            ApiArea::Audit => &self.scope_audit,
            ApiArea::Scim => &self.scope_scim,
        }
    }

    pub(crate) fn request(&self, clock: &crate::clock::Clock) -> Result<NewToken, FieldErrors> {
        let pairs = ApiArea::ALL
            .iter()
            .filter_map(|area| ApiAccess::parse(self.chosen(*area)).map(|x| (*area, x)));
        NewToken::new(
            &self.name,
            &self.expires_on,
            TokenScopes::from_pairs(pairs),
            clock,
        )
    }
}

/// One token as the lists show it.
pub struct TokenView {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub state: &'static str,
    pub active: bool,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

impl TokenView {
    pub(crate) fn new(t: TokenRow, owner: String, now: chrono::DateTime<chrono::Utc>) -> Self {
        let state = t.state(now);
        Self {
            id: t.id.get(),
            owner,
            state: state.label(),
            active: state == TokenState::Active,
            created: format_time(t.created_at),
            expires: t
                .expires_at
                .map(format_time)
                .unwrap_or_else(|| "never".into()),
            last_used: match (t.last_used_at, t.last_used_ip) {
                (None, _) => "never".into(),
                (Some(at), None) => format_time(at),
                (Some(at), Some(ip)) => format!("{} from {ip}", format_time(at)),
            },
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes,
        }
    }
}

/// A scope select of the form: (field, label, chosen).
pub struct AreaChoice {
    pub field: String,
    pub label: &'static str,
    pub chosen: String,
}

/// A token just made, shown this once.
pub struct Made {
    pub secret: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "account/tokens.html")]
struct OwnPage {
    ctx: PageCtx,
    rows: Vec<TokenView>,
    form: TokenForm,
    areas: Vec<AreaChoice>,
    errors: FieldErrors,
    made: Option<Made>,
    today: String,
    /// Where the table's revoke buttons post to (`<prefix>/<id>/revoke`).
    revoke_prefix: &'static str,
}

async fn render_own(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    form: TokenForm,
    errors: FieldErrors,
    made: Option<Made>,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let rows = crate::db::run(&state.pool, move |conn| queries::own(conn, &a)).await?;
    let now = state.clock.now();
    let areas = form.areas();
    let status = crate::web::forms::status(&errors);
    let page = OwnPage {
        ctx: PageCtx::new(session, Some(actor), "API tokens", "/account"),
        rows: rows
            .into_iter()
            .map(|t| TokenView::new(t, String::new(), now))
            .collect(),
        form,
        areas,
        errors,
        made,
        today: state.clock.today().to_string(),
        revoke_prefix: "/account/tokens",
    };
    html(status, page.render())
}

/// My account → API tokens.
pub async fn own(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageOwnApiTokens)?;
    render_own(
        &session,
        &state,
        &user.0,
        TokenForm::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

/// Makes a token and shows its secret once, on this answer only.
pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: Form<TokenForm>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageOwnApiTokens)?;
    let (form, request) = form.check(|f| f.request(&state.clock));
    let now = state.clock.now();
    let result = crate::web::respond::run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        request,
        move |conn, actor, request| commands::create(conn, actor, request, now),
    )
    .await?;
    match result {
        Ok(made) => {
            let made = Made {
                secret: made.secret,
                name: made.name,
            };
            render_own(
                &session,
                &state,
                &user.0,
                TokenForm::default(),
                FieldErrors::new(),
                Some(made),
            )
            .await
        }
        Err(crate::error::CommandError::Invalid(errors)) => {
            render_own(&session, &state, &user.0, form, errors, None).await
        }
        Err(crate::error::CommandError::Refused(m)) => Err(crate::error::AppError::BadRequest(m)),
        Err(crate::error::CommandError::Other(e)) => Err(e),
    }
}

pub(crate) async fn revoke(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    id: i64,
    back: &str,
) -> AppResult<HttpResponse> {
    let id = ApiTokenId(id);
    let now = state.clock.now();
    let actor = user.0.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::revoke(conn, &actor, id, now))
    })
    .await?;
    let back_to = back.to_string();
    match after_command(
        &session,
        result,
        |_| {
            (
                "API token revoked: it stops working at once.".into(),
                back_to,
            )
        },
        back,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(crate::web::respond::redirect(back)),
    }
}

/// Revokes one of one's own tokens (an Admin: anyone's).
pub async fn revoke_own(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageOwnApiTokens)?;
    revoke(user, session, state, path.into_inner(), "/account/tokens").await
}

#[derive(Template)]
#[template(path = "settings_tokens.html")]
struct AllPage {
    ctx: PageCtx,
    rows: Vec<TokenView>,
}

/// Settings → API tokens (Admins): everyone's tokens.
pub async fn all(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageAllApiTokens)?;
    let a = user.0.clone();
    let rows = crate::db::run(&state.pool, move |conn| queries::everyone(conn, &a)).await?;
    let now = state.clock.now();
    let page = AllPage {
        ctx: PageCtx::new(&session, Some(&user.0), "API tokens", "/settings"),
        rows: rows
            .into_iter()
            .map(|o| TokenView::new(o.token, o.owner, now))
            .collect(),
    };
    html(StatusCode::OK, page.render())
}

/// Revokes anyone's token (Admins).
pub async fn revoke_any(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageAllApiTokens)?;
    revoke(user, session, state, path.into_inner(), "/settings/tokens").await
}
