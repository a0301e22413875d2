//! A product's bulk access pages: grant it to many people at once (a pasted list, shown
//! first as what would happen), and revoke many people's access with one reason (chosen on
//! the product's page, confirmed on a second page). Both run the directory's commands, so
//! each grant or revocation keeps the rules of one.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::current_user::CurrentUser;
use crate::authz::Actor;
use crate::directory::grants::{self, AfterGrant, BulkGrant, BulkPlan, BulkRevoke, RevokeChoice};
use crate::directory::requests::people_list;
use crate::domain::ProductId;
use crate::error::{AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{failure_back, html, redirect};
use crate::web::session::{flash, FlashKind};
use crate::web::{urls, AppState, PageCtx};

/// The bulk grant form, as typed.
#[derive(Debug, Clone, Default)]
pub struct BulkGrantForm {
    pub people: String,
    pub note: String,
    /// "preview" (the default), "confirm", or "drop" (preview without the refused lines).
    pub step: String,
    /// The list the preview showed (its fingerprint): a confirm of another list is shown again.
    pub previewed: String,
    /// The person acting accepts going over the purchased seats.
    pub over_seats: bool,
}

impl BulkGrantForm {
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "people" => f.people = v,
                "note" => f.note = v,
                "step" => f.step = v,
                "previewed" => f.previewed = v,
                "over_seats" => f.over_seats = !v.is_empty(),
                _ => {}
            }
        }
        f
    }
}

/// "1 person", "3 people".
fn people(n: usize) -> String {
    format!("{n} {}", if n == 1 { "person" } else { "people" })
}

/// The fingerprint of a list as the preview showed it.
fn fingerprint(people: &[String]) -> String {
    crate::web::forms::fingerprint(&people.join("\n").to_lowercase())
}

#[derive(Template)]
#[template(path = "inventory/bulk_grant.html")]
struct BulkGrantPage {
    ctx: PageCtx,
    product: ProductId,
    title: String,
    form: BulkGrantForm,
    errors: FieldErrors,
    plan: Option<BulkPlan>,
    fingerprint: String,
}

impl BulkGrantPage {
    fn refused_count(&self) -> usize {
        self.plan.as_ref().map_or(0, |p| p.refused().count())
    }
    fn granted_count(&self) -> usize {
        self.plan.as_ref().map_or(0, BulkPlan::granted)
    }
    fn seats_line(&self) -> String {
        let Some(p) = &self.plan else {
            return String::new();
        };
        let after = p.seats.used + p.granted() as i64;
        match p.seats.purchased {
            Some(bought) => {
                let free = (i64::from(bought) - p.seats.used).max(0);
                let refuse = if p.seats.refuse_over {
                    " The product refuses grants beyond its purchased seats."
                } else {
                    ""
                };
                format!(
                    "{free} of {bought} seats are free now; after this grant {after} of {bought} are in use.{refuse}"
                )
            }
            None => format!("{after} people will have access (no seat limit is recorded)."),
        }
    }
    fn seats_over(&self) -> i64 {
        self.plan.as_ref().map_or(0, BulkPlan::seats_over)
    }
}

/// The product's name for the page title (Grant scope on it, else 404).
async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    product: ProductId,
    form: BulkGrantForm,
    errors: FieldErrors,
    plan: Option<BulkPlan>,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let facts = crate::db::run(&state.pool, move |conn| {
        crate::authz::load_product(conn, &a, crate::authz::ObjectAction::Grant, product)
    })
    .await?;
    let title = format!(
        "Grant {} → {} to many people",
        facts.service_name, facts.name
    );
    let status = crate::web::forms::status(&errors);
    let fingerprint = fingerprint(&people_list(&form.people));
    let page = BulkGrantPage {
        ctx: PageCtx::new(session, Some(actor), &title, "/inventory"),
        product,
        title,
        form,
        errors,
        plan,
        fingerprint,
    };
    html(status, page.render())
}

/// `GET /inventory/products/{id}/grants/bulk`: the empty form.
pub async fn grant_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
) -> AppResult<HttpResponse> {
    let form = BulkGrantForm::default();
    render(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        form,
        FieldErrors::new(),
        None,
    )
    .await
}

/// `POST /inventory/products/{id}/grants/bulk`: the preview, or (a confirm of the list
/// previewed) the grants.
pub async fn grant(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    body: Form<Vec<(String, String)>>,
    after: web::Data<dyn AfterGrant>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let product = path.into_inner();
    let (pairs, refused) = body.into_parts();
    let mut form = BulkGrantForm::parse(pairs);
    let mut errors = refused;
    for (field, value) in [("people", &mut form.people), ("note", &mut form.note)] {
        if errors.get(field) == crate::domain::card::REFUSAL {
            value.clear();
        }
    }
    let request = BulkGrant::new(product, &people_list(&form.people), &form.note);
    let request = match request {
        Ok(r) if errors.is_empty() => r,
        Ok(_) => return render(&session, &state, &actor, product, form, errors, None).await,
        Err(e) => {
            errors.merge(e);
            return render(&session, &state, &actor, product, form, errors, None).await;
        }
    };
    let list_previewed = form.previewed == fingerprint(&people_list(&form.people));
    if form.step == "confirm" && list_previewed {
        // The command plans again in its own transaction: no plan here first.
        let mut request = request;
        request.over_seats = form.over_seats;
        let check = request.clone();
        let a = actor.clone();
        let result = crate::db::run(&state.pool, move |conn| {
            Ok(grants::grant_many(conn, &a, request, after.get_ref()))
        })
        .await?;
        return match result {
            Ok(made) => {
                let text = format!("Access granted to {}.", people(made.len()));
                flash(&session, FlashKind::Success, &text);
                Ok(redirect(&urls::product(product)))
            }
            // Refused lines, the seats, or a change since the preview: the preview says what.
            Err(CommandError::Invalid(mut errors)) => {
                let plan = plan(&state, &actor, check).await?.ok();
                // A batch made at the same moment is caught by the database's unique rule
                // (keyed as one grant's `person`): the new plan names the lines it took.
                if let Some(p) = &plan {
                    errors.merge(p.errors());
                }
                render(&session, &state, &actor, product, form, errors, plan).await
            }
            Err(e) => failure_back(&session, e, &urls::product(product)),
        };
    }
    let mut plan = match plan(&state, &actor, request).await? {
        Ok(p) => p,
        Err(e) => return failure_back(&session, e, &urls::product(product)),
    };
    if form.step == "drop" {
        // The refused lines taken out, explicitly: what is left is the preview shown. (A
        // line's outcome does not depend on the lines after it, so no new plan is needed.)
        plan.batch = plan.batch.without_refused();
        let keep: Vec<&str> = plan
            .batch
            .rows
            .iter()
            .map(|r| r.line.given.as_str())
            .collect();
        form.people = keep.join("\n");
    }
    let mut errors = plan.errors();
    if form.step == "confirm" {
        errors.add(
            "people",
            "The list changed since its preview: check the preview below and confirm again.",
        );
    }
    render(&session, &state, &actor, product, form, errors, Some(plan)).await
}

/// What granting `request` would do (the preview).
async fn plan(
    state: &AppState,
    actor: &Actor,
    request: BulkGrant,
) -> AppResult<Result<BulkPlan, CommandError>> {
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        Ok(grants::plan_bulk_grant(conn, &a, &request))
    })
    .await
}

#[derive(Template)]
#[template(path = "inventory/bulk_revoke.html")]
struct BulkRevokePage {
    ctx: PageCtx,
    product: ProductId,
    title: String,
    chosen: Vec<RevokeChoice>,
    reason: String,
    errors: FieldErrors,
}

/// `POST /inventory/products/{id}/grants/revoke`: the grants chosen on the product's page,
/// shown with a reason to give (`step` absent), or revoked (`step=confirm`).
pub async fn revoke(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let product = path.into_inner();
    let (pairs, refused) = body.into_parts();
    let mut ids: Vec<i64> = Vec::new();
    let (mut reason, mut confirm) = (String::new(), false);
    for (k, v) in pairs {
        match k.as_str() {
            "grant" => ids.extend(v.parse::<i64>().ok()),
            "reason" => reason = v,
            "step" => confirm = v == "confirm",
            _ => {}
        }
    }
    let mut errors = refused;
    if errors.get("reason") == crate::domain::card::REFUSAL {
        reason.clear();
    }
    let request = BulkRevoke::new(&ids, &reason);
    if confirm && errors.is_empty() {
        if let Ok(req) = request.clone() {
            let a = actor.clone();
            let result = crate::db::run(&state.pool, move |conn| {
                Ok(grants::revoke_many(conn, &a, req))
            })
            .await?;
            match result {
                Ok(ended) => {
                    let text = format!("Access revoked for {}.", people(ended.len()));
                    flash(&session, FlashKind::Success, &text);
                    return Ok(redirect(&urls::product(product)));
                }
                Err(CommandError::Invalid(e)) => errors.merge(e),
                Err(e) => return failure_back(&session, e, &urls::product(product)),
            }
        }
    }
    if let Err(e) = request {
        if confirm || ids.is_empty() {
            errors.merge(e);
        }
    }
    let a = actor.clone();
    let chosen_ids = ids.clone();
    let (title, chosen) = crate::db::run(&state.pool, move |conn| {
        grants::revoke_choices(conn, &a, product, &chosen_ids)
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let page = BulkRevokePage {
        ctx: PageCtx::new(&session, Some(&actor), &title, "/inventory"),
        product,
        title,
        chosen,
        reason,
        errors,
    };
    html(status, page.render())
}
