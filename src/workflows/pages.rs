//! Workflow pages: the list (Admins), starting an onboarding or offboarding, a workflow's
//! page with progress and cancel, the offboarding report, "my tasks" and a task's page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands;
use super::queries::{
    self, ReportRow, TaskFilter, TaskRow, WorkflowDetail, WorkflowFilter, WorkflowRow,
};
use super::requests::{Cancellation, NewOffboarding, NewOnboarding, TaskCompletion};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::domain::{TaskId, TemplateId, WorkflowId};
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::input::{unless_refused, Form};
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, after_inline_command, html, run_command};
use crate::web::urls;
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "workflows/list.html")]
struct ListPage {
    ctx: PageCtx,
    f: WorkflowFilter,
    rows: Vec<WorkflowRow>,
    pager: Pager,
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<WorkflowFilter>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let f = query.into_inner();
    let f2 = f.clone();
    let a = user.0.clone();
    let (rows, total) =
        crate::db::run(&state.pool, move |conn| queries::list(conn, &a, &f2)).await?;
    let pager = Pager::new(
        "/workflows",
        &[("kind", &f.kind), ("status", &f.status)],
        f.page.unwrap_or(1),
        total,
    );
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Workflows", "/workflows"),
        f,
        rows,
        pager,
    };
    html(StatusCode::OK, page.render())
}

/// The onboarding form as typed (the API has its own body).
#[derive(Debug, Clone, Default)]
pub struct OnboardForm {
    pub email: String,
    pub full_name: String,
    pub department: String,
    pub job_title: String,
    /// The first working day, YYYY-MM-DD.
    pub start_date: String,
    pub template_id: Option<i64>,
    /// Products chosen (the template's are pre-selected on the form).
    pub product_ids: Vec<i64>,
}

impl OnboardForm {
    pub fn request(&self) -> Result<NewOnboarding, FieldErrors> {
        NewOnboarding::new(
            &self.email,
            &self.full_name,
            &self.department,
            &self.job_title,
            &self.start_date,
            self.template_id,
            &self.product_ids,
        )
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OffboardForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub last_day: String,
    /// Checkbox: disable the login now rather than after the last day.
    pub disable_now: Option<String>,
}

impl OffboardForm {
    pub fn request(&self) -> Result<NewOffboarding, FieldErrors> {
        NewOffboarding::new(&self.email, &self.last_day, self.disable_now.is_some())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    pub account_identifier: String,
    #[serde(default)]
    pub note: String,
    /// "Grant anyway", over the purchased seats.
    #[serde(default)]
    pub over_seats: Option<String>,
}

impl CompleteForm {
    fn over_seats_ticked(&self) -> bool {
        self.over_seats.as_deref().is_some_and(|v| !v.is_empty())
    }
}

#[derive(Template)]
#[template(path = "workflows/onboard.html")]
struct OnboardPage {
    ctx: PageCtx,
    form: OnboardForm,
    errors: FieldErrors,
    templates: Vec<(TemplateId, String)>,
    products: Vec<(i64, String)>,
}

impl OnboardPage {
    fn chosen(&self, id: &i64) -> bool {
        self.form.product_ids.contains(id)
    }
    fn template_chosen(&self, id: &TemplateId) -> bool {
        self.form.template_id == Some(id.get())
    }
}

async fn render_onboard(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    form: OnboardForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let queries::OnboardingChoices {
        templates,
        products,
    } = crate::db::run(&state.pool, move |conn| {
        queries::onboarding_choices(conn, &a)
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let page = OnboardPage {
        ctx: PageCtx::new(session, Some(actor), "Start an onboarding", "/workflows"),
        form,
        errors,
        templates,
        products,
    };
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct OnboardQuery {
    template_id: Option<i64>,
    #[serde(default)]
    email: String,
}

/// The form; `?template_id=` pre-selects the template's products.
pub async fn onboard_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<OnboardQuery>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let q = query.into_inner();
    let (a, email, template) = (
        user.0.clone(),
        q.email.clone(),
        q.template_id.map(TemplateId),
    );
    let d = crate::db::run(&state.pool, move |conn| {
        queries::onboarding_defaults(conn, &a, template, &email)
    })
    .await?;
    let form = OnboardForm {
        email: q.email,
        full_name: d.full_name,
        department: d.department,
        job_title: d.job_title,
        template_id: q.template_id,
        product_ids: d.product_ids.into_iter().map(i64::from).collect(),
        ..Default::default()
    };
    render_onboard(&session, &state, &user.0, form, FieldErrors::new()).await
}

/// Parses the form by hand: `product_ids` repeats, which `web::Form` cannot read.
fn parse_onboard(pairs: Vec<(String, String)>) -> OnboardForm {
    let mut f = OnboardForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "email" => f.email = v,
            "full_name" => f.full_name = v,
            "department" => f.department = v,
            "job_title" => f.job_title = v,
            "start_date" => f.start_date = v,
            "template_id" => f.template_id = v.parse().ok(),
            "product_ids" => {
                if let Ok(id) = v.parse() {
                    f.product_ids.push(id);
                }
            }
            _ => {}
        }
    }
    f
}

pub async fn onboard(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let (pairs, refused) = body.into_parts();
    let form = parse_onboard(pairs);
    let lead = state.config.task_lead_days;
    let result = run_command(
        &state.pool,
        &actor,
        refused,
        form.request(),
        move |conn, a, r| commands::start_onboarding(conn, a, r, lead),
    )
    .await?;
    match after_command(
        &session,
        result,
        |id| ("Onboarding started.".into(), urls::workflow(id)),
        "/workflows",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_onboard(&session, &state, &actor, form, errors).await,
    }
}

#[derive(Template)]
#[template(path = "workflows/offboard.html")]
struct OffboardPage {
    ctx: PageCtx,
    form: OffboardForm,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct EmailQuery {
    #[serde(default)]
    email: String,
}

pub async fn offboard_form(
    user: CurrentUser,
    session: Session,
    query: web::Query<EmailQuery>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let page = OffboardPage {
        ctx: PageCtx::new(
            &session,
            Some(&user.0),
            "Start an offboarding",
            "/workflows",
        ),
        form: OffboardForm {
            email: query.into_inner().email,
            ..Default::default()
        },
        errors: FieldErrors::new(),
    };
    html(StatusCode::OK, page.render())
}

pub async fn offboard(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: Form<OffboardForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let (form, refused) = form.into_parts();
    let request = form.request();
    let result = run_command(
        &state.pool,
        &actor,
        refused,
        request,
        commands::start_offboarding,
    )
    .await?;
    match after_command(
        &session,
        result,
        |id| ("Offboarding started.".into(), urls::workflow(id)),
        "/workflows",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            let page = OffboardPage {
                ctx: PageCtx::new(&session, Some(&actor), "Start an offboarding", "/workflows"),
                form,
                errors,
            };
            html(StatusCode::UNPROCESSABLE_ENTITY, page.render())
        }
    }
}

#[derive(Template)]
#[template(path = "workflows/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    d: WorkflowDetail,
}

pub async fn detail(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let (a, id) = (user.0.clone(), WorkflowId(path.into_inner()));
    let d = crate::db::run(&state.pool, move |conn| queries::detail(conn, &a, id)).await?;
    let title = d.title();
    let page = DetailPage {
        ctx: PageCtx::new(&session, Some(&user.0), title, "/workflows"),
        d,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub async fn cancel(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ReasonForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = WorkflowId(path.into_inner());
    let (form, refused) = form.into_parts();
    let request = Cancellation::new(&form.reason);
    let result = run_command(&state.pool, &actor, refused, request, move |conn, a, r| {
        commands::cancel(conn, a, id, r)
    })
    .await?;
    let back = urls::workflow(id);
    after_inline_command(
        &session,
        result,
        |_| ("Workflow cancelled.".into(), back.clone()),
        &back,
        "reason",
    )
}

#[derive(Template)]
#[template(path = "workflows/report.html")]
struct ReportPage {
    d: WorkflowDetail,
    rows: Vec<ReportRow>,
    generated: String,
    by: String,
}

/// Evidence for an auditor: every access the person had, when and by whom it was revoked.
pub async fn report(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let (a, id) = (user.0.clone(), WorkflowId(path.into_inner()));
    let (d, rows) = crate::db::run(&state.pool, move |conn| {
        queries::offboarding_report(conn, &a, id)
    })
    .await?;
    let page = ReportPage {
        d,
        rows,
        generated: crate::clock::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        by: user.0.full_name.clone(),
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "workflows/tasks.html")]
struct TasksPage {
    ctx: PageCtx,
    f: TaskFilter,
    rows: Vec<TaskRow>,
}

pub async fn my_tasks(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<TaskFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDashboard)?;
    let f = query.into_inner();
    let (a, f2) = (actor.clone(), f.clone());
    let cache = state.cache.clone();
    let key = format!("tasks:{}:{}:{f:?}", actor.cache_key(), actor.today);
    let rows = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| queries::my_tasks(conn, &a, &f2))
    })
    .await
    .map(std::sync::Arc::unwrap_or_clone)?;
    let page = TasksPage {
        ctx: PageCtx::new(&session, Some(&actor), "My tasks", "/tasks"),
        f,
        rows,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "workflows/task.html")]
struct TaskPage {
    ctx: PageCtx,
    t: TaskRow,
    form: CompleteForm,
    errors: FieldErrors,
    /// The product's seats now.
    seats: crate::domain::Seats,
}

impl TaskPage {
    /// "3 of 20 seats are free." for a grant task (none when not counted by seat).
    fn free_seats(&self) -> Option<String> {
        self.seats.free_line()
    }
}

async fn render_task(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: TaskId,
    form: CompleteForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (t, seats) = crate::db::run(&state.pool, move |conn| {
        let t = queries::task(conn, &a, id)?;
        let seats = crate::directory::grants::seats_of(conn, t.product_id)?;
        Ok((t, seats))
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let title = format!("{} {} for {}", t.verb(), t.product, t.person);
    let page = TaskPage {
        ctx: PageCtx::new(session, Some(actor), title, "/tasks"),
        t,
        form,
        errors,
        seats,
    };
    html(status, page.render())
}

pub async fn task(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    render_task(
        &session,
        &state,
        &user.0,
        TaskId(path.into_inner()),
        CompleteForm::default(),
        FieldErrors::new(),
    )
    .await
}

pub async fn complete(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<CompleteForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = TaskId(path.into_inner());
    let (mut form, refused) = form.into_parts();
    let a = actor.clone();
    let over = form.over_seats_ticked();
    let request = TaskCompletion::done(&form.account_identifier, &form.note)
        .map(|c| c.confirming_seats(over));
    let result = unless_refused(
        refused,
        crate::db::run(&state.pool, move |conn| {
            Ok(commands::close_task(conn, &a, id, request))
        }),
    )
    .await?;
    let back = urls::task(id);
    match after_command(
        &session,
        result,
        |_| ("Task done.".into(), "/tasks".into()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            for (field, value) in [
                ("account_identifier", &mut form.account_identifier),
                ("note", &mut form.note),
            ] {
                if errors.get(field) == crate::domain::card::REFUSAL {
                    value.clear();
                }
            }
            render_task(&session, &state, &actor, id, form, errors).await
        }
    }
}

pub async fn not_needed(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ReasonForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = TaskId(path.into_inner());
    let (form, refused) = form.into_parts();
    let request = TaskCompletion::not_needed(&form.reason);
    let a = actor.clone();
    let result = unless_refused(
        refused,
        crate::db::run(&state.pool, move |conn| {
            Ok(commands::close_task(conn, &a, id, request))
        }),
    )
    .await?;
    let back = urls::task(id);
    match after_command(
        &session,
        result,
        |_| ("Task closed as not needed.".into(), "/tasks".into()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            render_task(
                &session,
                &state,
                &actor,
                id,
                CompleteForm::default(),
                errors,
            )
            .await
        }
    }
}
