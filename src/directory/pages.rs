//! Directory pages: the people list, a person's page (their access), and the person form.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::commands;
use super::grants::{self, AfterGrant, GrantForm};
use super::model::PersonForm;
use super::queries::{self, PeopleFilter, PeopleList, Person, PersonDetail};
use super::requests::hash_if_given;
use crate::auth::current_user::CurrentUser;
use crate::auth::links::{self, LinkSettings, LoginState};
use crate::authz::{authorize, can, Action, Actor, Role};
use crate::domain::{EmploymentStatus, PersonId, ProductId};
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, html, run_command};
use crate::web::urls;
use crate::web::{AppState, PageCtx};

type Options = &'static [(&'static str, &'static str)];

#[derive(Template)]
#[template(path = "directory/list.html")]
struct ListPage {
    ctx: PageCtx,
    filter: PeopleFilter,
    list: PeopleList,
    pager: Pager,
    is_admin: bool,
    statuses: Options,
    roles: Options,
}

impl ListPage {
    fn role(&self, role: &Role) -> &'static str {
        role.label()
    }
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<PeopleFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDirectory)?;
    let filter = query.into_inner();
    let (f, a) = (filter.clone(), actor.clone());
    let cache = state.cache.clone();
    let list = crate::db::run(&state.pool, move |conn| {
        let mut list = queries::list_people(conn, &a, &f)?;
        list.departments =
            (*cache.get_or_compute(conn, "departments".into(), queries::departments)?).clone();
        Ok(list)
    })
    .await?;
    let product_id = filter.product_id.map(|p| p.to_string()).unwrap_or_default();
    let pager = Pager::new(
        "/directory",
        &[
            ("q", &filter.q),
            ("department", &filter.department),
            ("status", &filter.status),
            ("role", &filter.role),
            ("product_id", &product_id),
            ("access", &filter.access),
            ("sort", &filter.sort),
            ("dir", &filter.dir),
        ],
        filter.page.unwrap_or(1),
        list.total,
    );
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&actor), "Directory", "/directory"),
        is_admin: can(&actor, Action::ManagePeople),
        statuses: EmploymentStatus::OPTIONS,
        roles: Role::OPTIONS,
        filter,
        list,
        pager,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "directory/person.html")]
struct PersonPage {
    ctx: PageCtx,
    d: PersonDetail,
    is_admin: bool,
    grantable: std::sync::Arc<Vec<(i64, String)>>,
    grant: GrantForm,
    errors: FieldErrors,
    /// Admins: whether the person has a password, or was invited (never the link).
    login: Option<LoginState>,
    /// Admins: whether the person has a second factor on (what "Reset two-factor" removes).
    second_factor: bool,
    /// (userName, externalId) at the identity provider, for a person provisioned by SCIM.
    provisioned: Option<(String, Option<String>)>,
    /// Admins: the provider's groups the person is in, and what provisioning rules did.
    groups: Vec<String>,
    effects: Vec<EffectView>,
}

/// What a provisioning rule did, as the person page lists it.
struct EffectView {
    when: String,
    rule: String,
    effect: String,
    workflow: Option<i64>,
}

impl PersonPage {
    fn role(&self) -> &'static str {
        self.d.person.role.label()
    }
    fn selected(&self, id: &i64) -> bool {
        self.grant.product_id == Some(*id)
    }
}

async fn render_person(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: PersonId,
    grant: GrantForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    authorize(actor, Action::ViewDirectory)?;
    let a = actor.clone();
    let cache = state.cache.clone();
    let key = format!("grantable:{}", actor.cache_key());
    let settings = LinkSettings::from_state(state)?;
    let (d, grantable, login, second_factor, provisioned, groups, effects) =
        crate::db::run(&state.pool, move |conn| {
            let d = queries::person_detail(conn, &a, id)?;
            let grantable =
                cache.get_or_compute(conn, key, |conn| queries::grantable_products(conn, &a))?;
            let (login, second_factor, provisioned, groups, effects) =
                if can(&a, Action::ManagePeople) {
                    let facts = queries::sign_in_facts(conn, id)?;
                    (
                        Some(links::login_state(conn, &a, &settings, id)?),
                        facts.second_factor,
                        facts.provisioned,
                        facts.groups,
                        facts.effects,
                    )
                } else {
                    (None, false, None, Vec::new(), Vec::new())
                };
            Ok((
                d,
                grantable,
                login,
                second_factor,
                provisioned,
                groups,
                effects,
            ))
        })
        .await?;
    let effects = effects
        .into_iter()
        .map(|e| EffectView {
            when: crate::web::format::format_time(e.created_at),
            rule: e.rule_label,
            effect: e.effect,
            workflow: e.workflow_id,
        })
        .collect();
    let status = crate::web::forms::status(&errors);
    let page = PersonPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            d.person.full_name.clone(),
            "/directory",
        ),
        is_admin: can(actor, Action::ManagePeople),
        d,
        grantable,
        grant,
        errors,
        login,
        second_factor,
        provisioned,
        groups,
        effects,
    };
    html(status, page.render())
}

/// What the flash adds when saving a person emailed them an invitation: without an SMTP
/// server the email waits in the outbox, and the Admin is told so.
fn invitation_note(state: &AppState) -> &'static str {
    if state.config.mail.is_some() {
        "An invitation to choose a password was emailed."
    } else {
        "An invitation to choose a password is queued, but email is not configured \
         (PORTALOPS_SMTP_HOST)."
    }
}

/// "Send invitation again" (Admins): a new invitation email; older ones stop working.
pub async fn resend_invitation(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = path.into_inner();
    let settings = LinkSettings::from_state(&state)?;
    let result = run_command(
        &state.pool,
        &actor,
        FieldErrors::new(),
        Ok(id),
        move |conn, a, id| links::resend_invitation(conn, &settings, a, id),
    )
    .await?;
    let back = urls::person(id);
    match after_command(
        &session,
        result,
        |email| {
            let msg = if state.config.mail.is_some() {
                format!("Invitation sent to {email}.")
            } else {
                format!("Invitation to {email} queued, but email is not configured (PORTALOPS_SMTP_HOST).")
            };
            (msg, back.clone())
        },
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(crate::web::respond::redirect(&back)),
    }
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    render_person(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        GrantForm::default(),
        FieldErrors::new(),
    )
    .await
}

/// Grants a product to this person (from their page).
pub async fn grant(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    form: Form<GrantForm>,
    after: web::Data<dyn AfterGrant>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let (mut form, refused) = form.into_parts();
    form.person = id.to_string();
    let back = urls::person(id);
    let Some(product_id) = form.product_id else {
        let mut errors = refused;
        errors.add("product_id", "Choose a product.");
        return render_person(&session, &state, &actor, id, form, errors).await;
    };
    let request = form.request(ProductId(product_id));
    let result = run_command(&state.pool, &actor, refused, request, move |conn, a, r| {
        grants::grant(conn, a, r, after.get_ref())
    })
    .await?;
    match after_command(
        &session,
        result,
        |_| ("Access granted.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(mut errors) => {
            // The person is fixed on this page: show a person error against the product.
            if !errors.get("person").is_empty() {
                errors.rename("person", "product_id");
            }
            form.clear_refused(&errors);
            render_person(&session, &state, &actor, id, form, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "directory/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<PersonId>,
    form: PersonForm,
    errors: FieldErrors,
    statuses: Options,
    roles: Options,
}

fn render_form(
    session: &Session,
    actor: &Actor,
    id: Option<PersonId>,
    mut form: PersonForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    form.password.clear();
    let status = crate::web::forms::status(&errors);
    let title = if id.is_some() {
        "Edit person"
    } else {
        "Add a person"
    };
    let page = FormPage {
        ctx: PageCtx::new(session, Some(actor), title, "/directory"),
        id,
        form,
        errors,
        statuses: EmploymentStatus::OPTIONS,
        roles: Role::OPTIONS,
    };
    html(status, page.render())
}

pub async fn new_form(user: CurrentUser, session: Session) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let form = PersonForm {
        role: "user".into(),
        employment_status: "active".into(),
        is_active: Some("on".into()),
        ..Default::default()
    };
    render_form(&session, &user.0, None, form, FieldErrors::new())
}

pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: Form<PersonForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let (form, values) = form.check(PersonForm::validate);
    let mut values = match values {
        Ok(v) => v,
        Err(errors) => return render_form(&session, &actor, None, form, errors),
    };
    hash_if_given(&state.hasher, &mut values.password).await?;
    let a = actor.clone();
    let settings = LinkSettings::from_state(&state)?;
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_person(conn, &a, values, &settings))
    })
    .await?;
    let note = invitation_note(&state);
    match after_command(
        &session,
        result,
        |saved| {
            let invited = if saved.invitation_sent { note } else { "" };
            (
                format!("{} added to the directory. {invited}", form.full_name)
                    .trim_end()
                    .to_string(),
                urls::person(saved.value),
            )
        },
        "/directory",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &actor, None, form, errors),
    }
}

fn form_of(p: &Person, manager_email: Option<String>) -> PersonForm {
    PersonForm {
        full_name: p.full_name.clone(),
        email: p.email.clone(),
        username: p.username.clone().unwrap_or_default(),
        role: p.role.as_str().into(),
        is_active: p.is_active.then(|| "on".into()),
        department: p.department.clone().unwrap_or_default(),
        job_title: p.job_title.clone().unwrap_or_default(),
        manager_email: manager_email.unwrap_or_default(),
        employment_status: p.employment_status.as_str().into(),
        start_date: p.start_date.map(|d| d.to_string()).unwrap_or_default(),
        end_date: p.end_date.map(|d| d.to_string()).unwrap_or_default(),
        password: String::new(),
    }
}

pub async fn edit_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let id = path.into_inner();
    let a = user.0.clone();
    let (p, manager_email) = crate::db::run(&state.pool, move |conn| {
        queries::person_for_edit(conn, &a, id)
    })
    .await?;
    render_form(
        &session,
        &user.0,
        Some(id),
        form_of(&p, manager_email),
        FieldErrors::new(),
    )
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    form: Form<PersonForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = path.into_inner();
    let (form, values) = form.check(PersonForm::validate);
    let mut values = match values {
        Ok(v) => v,
        Err(errors) => return render_form(&session, &actor, Some(id), form, errors),
    };
    hash_if_given(&state.hasher, &mut values.password).await?;
    let a = actor.clone();
    let settings = LinkSettings::from_state(&state)?;
    // A missing person is a 404 (the command's `NotFound`), not a form error.
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_person(conn, &a, id, values, &settings))
    })
    .await?;
    let back = urls::person(id);
    let note = invitation_note(&state);
    let saved = |s: &commands::Saved<()>| {
        let msg = if s.invitation_sent {
            format!("Saved. {note}")
        } else {
            "Saved.".to_string()
        };
        (msg, back.clone())
    };
    match after_command(&session, result, saved, &back)? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &actor, Some(id), form, errors),
    }
}
