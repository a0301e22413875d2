//! A person's bulk access page: several products granted at once, or a colleague's access
//! copied, shown first as what would happen (what would be added, what they already have)
//! and granted only on a confirm of what the preview showed. It runs the directory's
//! command, so each grant keeps the rules of one.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::grant_batch::{self, PersonGrants, PersonPlan};
use super::grants::AfterGrant;
use super::queries;
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::domain::PersonId;
use crate::error::{AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{failure_back, html, redirect};
use crate::web::session::{flash, FlashKind};
use crate::web::{urls, AppState, PageCtx};

/// The form as typed.
#[derive(Debug, Clone, Default)]
pub struct PersonBulkForm {
    pub products: Vec<i64>,
    pub colleague: String,
    pub note: String,
    /// "preview" (the default) or "confirm".
    pub step: String,
    /// What the preview showed (its fingerprint): a confirm of another choice is shown again.
    pub previewed: String,
    pub over_seats: bool,
}

impl PersonBulkForm {
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "product" => f.products.extend(v.trim().parse::<i64>().ok()),
                "colleague" => f.colleague = v,
                "note" => f.note = v,
                "step" => f.step = v,
                "previewed" => f.previewed = v,
                "over_seats" => f.over_seats = !v.is_empty(),
                _ => {}
            }
        }
        f
    }

    /// The choice as the preview showed it.
    fn fingerprint(&self) -> String {
        let mut ids = self.products.clone();
        ids.sort_unstable();
        ids.dedup();
        let text = format!(
            "{ids:?}\n{}\n{}",
            self.colleague.trim().to_lowercase(),
            self.note.trim()
        );
        crate::web::forms::fingerprint(&text)
    }
}

#[derive(Template)]
#[template(path = "directory/bulk_grant.html")]
struct PersonBulkPage {
    ctx: PageCtx,
    person: PersonId,
    name: String,
    title: String,
    grantable: std::sync::Arc<Vec<(i64, String)>>,
    form: PersonBulkForm,
    errors: FieldErrors,
    plan: Option<PersonPlan>,
    fingerprint: String,
}

impl PersonBulkPage {
    fn chosen(&self, id: &i64) -> bool {
        self.form.products.contains(id)
    }
    fn to_grant(&self) -> usize {
        self.plan.as_ref().map_or(0, |p| p.batch.granted())
    }
    fn refused_count(&self) -> usize {
        self.plan.as_ref().map_or(0, |p| p.batch.refused().count())
    }
    /// "3 of 10 free", per product the batch grants (none for products not counted by seat).
    fn seats_of(&self, product: &crate::domain::ProductId) -> String {
        let Some(s) = self
            .plan
            .as_ref()
            .and_then(|p| p.batch.seats.iter().find(|s| s.product.id == *product))
        else {
            return String::new();
        };
        match (s.free(), s.seats.purchased) {
            (Some(free), Some(bought)) if s.over_by() > 0 => {
                format!("{free} of {bought} free: {} over", s.over_by())
            }
            (Some(free), Some(bought)) => format!("{free} of {bought} free"),
            _ => "not counted by seat".into(),
        }
    }
    fn over_count(&self) -> usize {
        self.plan
            .as_ref()
            .map_or(0, |p| p.batch.over_seats().count())
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    person: PersonId,
    form: PersonBulkForm,
    errors: FieldErrors,
    plan: Option<PersonPlan>,
) -> AppResult<HttpResponse> {
    authorize(actor, Action::ViewDirectory)?;
    let a = actor.clone();
    let cache = state.cache.clone();
    let key = format!("grantable:{}", actor.cache_key());
    let (name, grantable) = crate::db::run(&state.pool, move |conn| {
        let name = queries::person_name(conn, person)?;
        let grantable =
            cache.get_or_compute(conn, key, |conn| queries::grantable_products(conn, &a))?;
        Ok((name, grantable))
    })
    .await?;
    let title = format!("Grant access to {name}");
    let status = crate::web::forms::status(&errors);
    let fingerprint = form.fingerprint();
    let page = PersonBulkPage {
        ctx: PageCtx::new(session, Some(actor), &title, "/directory"),
        person,
        name,
        title,
        grantable,
        form,
        errors,
        plan,
        fingerprint,
    };
    html(status, page.render())
}

/// `GET /directory/{id}/grants/bulk`: the empty form (`?from=` fills the colleague).
pub async fn form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let form = PersonBulkForm {
        colleague: query.get("from").cloned().unwrap_or_default(),
        ..Default::default()
    };
    let errors = FieldErrors::new();
    render(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        form,
        errors,
        None,
    )
    .await
}

/// `POST /directory/{id}/grants/bulk`: the preview, or (a confirm of what was previewed)
/// the grants.
pub async fn submit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    body: Form<Vec<(String, String)>>,
    after: web::Data<dyn AfterGrant>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let person = path.into_inner();
    let (pairs, refused) = body.into_parts();
    let mut form = PersonBulkForm::parse(pairs);
    let mut errors = refused;
    for (field, value) in [("colleague", &mut form.colleague), ("note", &mut form.note)] {
        if errors.get(field) == crate::domain::card::REFUSAL {
            value.clear();
        }
    }
    let request = match PersonGrants::new(person, &form.products, &form.colleague, &form.note) {
        Ok(r) if errors.is_empty() => r,
        Ok(_) => return render(&session, &state, &actor, person, form, errors, None).await,
        Err(e) => {
            errors.merge(e);
            return render(&session, &state, &actor, person, form, errors, None).await;
        }
    };
    if form.step == "confirm" && form.previewed == form.fingerprint() {
        let mut request = request.clone();
        request.over_seats = form.over_seats;
        let a = actor.clone();
        let result = crate::db::run(&state.pool, move |conn| {
            Ok(grant_batch::grant_for_person(
                conn,
                &a,
                &request,
                after.get_ref(),
            ))
        })
        .await?;
        match result {
            Ok(made) => {
                let n = made.len();
                let text = format!(
                    "Access granted to {n} {}.",
                    if n == 1 { "product" } else { "products" }
                );
                flash(&session, FlashKind::Success, &text);
                return Ok(redirect(&urls::person(person)));
            }
            // Refused lines, the seats, or a change since the preview: a fresh preview says.
            Err(CommandError::Invalid(e)) => errors.merge(e),
            Err(e) => return failure_back(&session, e, &urls::person(person)),
        }
    } else if form.step == "confirm" {
        errors.add(
            "products",
            "The choice changed since its preview: check the preview below and confirm again.",
        );
    }
    let a = actor.clone();
    let planned = crate::db::run(&state.pool, move |conn| {
        Ok(grant_batch::plan_for_person(conn, &a, &request))
    })
    .await?;
    let plan = match planned {
        Ok(p) => p,
        Err(CommandError::Invalid(e)) => {
            errors.merge(e);
            return render(&session, &state, &actor, person, form, errors, None).await;
        }
        Err(e) => return failure_back(&session, e, &urls::person(person)),
    };
    errors.merge(plan.batch.errors("products", "products"));
    render(&session, &state, &actor, person, form, errors, Some(plan)).await
}
