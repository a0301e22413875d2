//! "No full card number is ever stored" (SECURITY.md row 26, issue #15 item 1), as a
//! property over every door rather than a list of fields that goes stale:
//!
//! 1. the pages: an Admin's crawler starts at the dashboard, follows same-origin links and
//!    collects every `<form method="post">` it is shown; each text-like field of each form is
//!    sent a card number, in many shapes, with every other field as the page rendered it;
//! 2. the API: every POST/PUT/PATCH operation of the OpenAPI document with a JSON body, each
//!    string property in turn;
//! 3. the other doors: CSV imports (a cell, the file name), attachment names, the login's
//!    username (page and API);
//! 4. and then the whole database (`pg_dump --data-only --inserts`), the upload directory's
//!    file names and the captured server log hold none of the card numbers sent.
//!
//! Every failure is collected and reported at the end, so one run shows everything the
//! mechanism must still cover.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use portalops::payments::card::{contains_card_number, mask, REFUSAL};
use serde_json::{json, Value};

use crate::common::{Client, Resp, TestApp, PASSWORD};

use portalops::payments::card::SHAPES;

/// Different shapes each field is sent.
const SHAPES_PER_FIELD: usize = 2;
/// The crawler's bounds: pages in all, and pages per address pattern (`/directory/#`).
const MAX_PAGES: usize = 300;
const PAGES_PER_PATTERN: usize = 5;
/// Fewer forms than this means the crawler is broken, not that the property holds.
const MIN_FORMS: usize = 25;
const MIN_FORMS_WITH_TEXT: usize = 15;

/// The shapes, in turn, so that every one is used many times.
struct Rotation(usize);

impl Rotation {
    fn take(&mut self) -> &'static str {
        let s = SHAPES[self.0 % SHAPES.len()];
        self.0 += 1;
        s
    }
}

/// A shape as it can be read in a report (NBSP and friends escaped).
fn show(shape: &str) -> String {
    shape.escape_debug().to_string()
}

fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        out.push('…');
    }
    out
}

// ----------------------------------------------------------------------------------------
// The estate: at least one of everything a form can be shown for.

struct Estate {
    google: i64,
    gmail: i64,
    jira: i64,
    zoom: i64,
    pam: i64,
    ada: i64,
    billing: i64,
    template: i64,
    grant: i64,
    /// An onboarding (and one of its open tasks) kept for the API's operations.
    api_workflow: i64,
    api_task: i64,
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
}

async fn expect_redirect(r: Resp, what: &str) -> String {
    assert_eq!(r.status, 303, "seeding {what}: {}", excerpt(&r.body, 400));
    r.location()
}

async fn seed(app: &TestApp, root: &Client) -> Estate {
    use portalops::db::schema::{
        access_grants, billing_records, notifications, onboarding_templates, tasks,
    };
    let google = app.insert_service("Google Workspace");
    let atlassian = app.insert_service("Atlassian");
    let zoom_service = app.insert_service("Zoom");
    let gmail = app.insert_product(google, "Gmail", Some(50));
    let jira = app.insert_product(atlassian, "Jira", None);
    let zoom = app.insert_product(zoom_service, "Zoom Pro", Some(10));
    app.create_user("pam", PASSWORD, "product_admin");
    app.make_product_admin("pam", gmail);
    app.create_user("sam", PASSWORD, "service_admin");
    app.make_service_admin("sam", atlassian);
    let pam = app.user_id("pam");
    let sam = app.user_id("sam");
    let ada = app.insert_person("Ada Lovelace", "ada@example.com", "Engineering");
    app.insert_person("Bob Stone", "bob@example.com", "Sales");
    let grant = app.insert_grant(ada, gmail);
    app.insert_grant(ada, jira);
    app.insert_grant(sam, zoom);
    let billing = app.insert_billing(
        gmail,
        "monthly",
        "120",
        "EUR",
        Some(("Visa", "4242", 3, 2030)),
    );
    let jira_billing = app.insert_billing(jira, "annual", "1200", "USD", None);
    diesel::update(billing_records::table.find(jira_billing))
        .set(billing_records::billing_owner_id.eq(sam))
        .execute(&mut app.conn())
        .expect("billing owner");

    // An attachment and a payment, through the pages.
    let page = format!("/payments/{billing}");
    let token = root.get(&page).await.csrf_token().expect("token");
    let r = root
        .upload(
            &format!("{page}/attachments"),
            Some(&token),
            "invoice.pdf",
            &pdf(),
        )
        .await;
    expect_redirect(r, "an attachment").await;
    let r = root
        .submit(
            &page,
            &format!("{page}/history"),
            &[
                ("paid_on", "2026-11-01"),
                ("amount", "120"),
                ("invoice_ref", "INV-1"),
            ],
        )
        .await;
    expect_redirect(r, "a payment").await;

    // A template, two onboardings (one for the pages, one for the API) and an offboarding
    // with a handover (sam owns Jira's billing record and runs Atlassian).
    let g = gmail.to_string();
    let j = jira.to_string();
    let z = zoom.to_string();
    let r = root
        .submit(
            "/workflows/templates",
            "/workflows/templates",
            &[
                ("name", "Sales starter"),
                ("department", "Sales"),
                ("product_ids", &g),
            ],
        )
        .await;
    expect_redirect(r, "a template").await;
    let template = onboarding_templates::table
        .select(onboarding_templates::id)
        .first(&mut app.conn())
        .expect("template");
    for (email, name) in [
        ("nina@example.com", "Nina New"),
        ("omar@example.com", "Omar Odd"),
    ] {
        let r = root
            .submit(
                "/workflows/onboard",
                "/workflows/onboard",
                &[
                    ("email", email),
                    ("full_name", name),
                    ("start_date", "2030-01-15"),
                    ("department", "Sales"),
                    ("product_ids", &g),
                    ("product_ids", &j),
                    ("product_ids", &z),
                ],
            )
            .await;
        expect_redirect(r, "an onboarding").await;
    }
    let api_workflow = {
        use portalops::db::schema::{users, workflows};
        let omar: i64 = users::table
            .filter(users::email.eq("omar@example.com"))
            .select(users::id)
            .first(&mut app.conn())
            .expect("omar");
        workflows::table
            .filter(workflows::person_id.eq(omar))
            .select(workflows::id)
            .first::<i64>(&mut app.conn())
            .expect("omar's onboarding")
    };
    let api_task = tasks::table
        .filter(tasks::workflow_id.eq(api_workflow))
        .filter(tasks::status.eq("open"))
        .select(tasks::id)
        .first(&mut app.conn())
        .expect("an open task");
    let r = root
        .submit(
            "/workflows/offboard",
            "/workflows/offboard",
            &[("email", "sam@example.com"), ("last_day", "2030-06-30")],
        )
        .await;
    expect_redirect(r, "an offboarding").await;

    // A finished import (its page has a commit form) and a reporting currency.
    let token = root.get("/imports").await.csrf_token().expect("token");
    let r = root
        .upload(
            "/imports?kind=services",
            Some(&token),
            "services.csv",
            b"service_name,vendor,category,website,product_name,license_model,seats_purchased\nNotion,Notion Labs,Docs,,Notion Plus,per_seat,5\n",
        )
        .await;
    let import_page = expect_redirect(r, "an import").await;
    settled(root, &import_page).await;
    let r = root
        .submit(
            "/settings/currency",
            "/settings/currency/rates",
            &[("csv", "USD,0.92,2026-11-01")],
        )
        .await;
    assert!(r.status < 500, "seeding rates: {}", r.status);

    assert!(
        access_grants::table
            .count()
            .get_result::<i64>(&mut app.conn())
            .expect("n")
            > 0
    );
    assert!(
        notifications::table
            .count()
            .get_result::<i64>(&mut app.conn())
            .expect("n")
            > 0,
        "the onboardings notified someone"
    );
    Estate {
        google,
        gmail,
        jira,
        zoom,
        pam,
        ada,
        billing,
        template,
        grant,
        api_workflow,
        api_task,
    }
}

/// Waits for an import's background job, then returns its page.
async fn settled(c: &Client, page: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.get(page).await;
        assert_eq!(r.status, 200, "{page}");
        if !r.body.contains("This page refreshes by itself") {
            return r.body;
        }
        assert!(Instant::now() < deadline, "the import did not finish");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

// ----------------------------------------------------------------------------------------
// Just enough HTML: our own templates, well formed, attribute values escaped by askama.

fn decode(s: &str) -> String {
    let re =
        regex_lite::Regex::new(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos|nbsp);").expect("re");
    re.replace_all(s, |c: &regex_lite::Captures<'_>| {
        let e = &c[1];
        let ch = match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ => e[1..].parse().ok().and_then(char::from_u32),
        };
        ch.map(String::from).unwrap_or_else(|| c[0].to_string())
    })
    .into_owned()
}

fn attrs(tag: &str) -> BTreeMap<String, String> {
    let re = regex_lite::Regex::new(
        r#"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"#,
    )
    .expect("re");
    // Skip the tag name itself.
    let rest = tag
        .trim_start_matches('<')
        .split_once(char::is_whitespace)
        .map(|(_, r)| r)
        .unwrap_or("");
    re.captures_iter(rest)
        .map(|c| {
            let v = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))
                .map(|m| decode(m.as_str()))
                .unwrap_or_default();
            (c[1].to_ascii_lowercase(), v)
        })
        .collect()
}

#[derive(Clone, Debug)]
struct Control {
    name: String,
    /// The input's type (`text` when it has none), or `textarea` / `select`.
    kind: String,
    /// What a browser sends for it as rendered (none for an unchecked box).
    values: Vec<String>,
    /// A select's option values.
    options: Vec<String>,
}

impl Control {
    fn is_text(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "text" | "email" | "search" | "url" | "tel" | "textarea"
        )
    }
}

#[derive(Clone, Debug)]
struct Form {
    page: String,
    action: String,
    multipart: bool,
    controls: Vec<Control>,
}

fn parse_forms(body: &str, page: &str) -> Vec<Form> {
    let form_re = regex_lite::Regex::new(r"(?is)(<form\b[^>]*>)(.*?)</form>").expect("re");
    let control_re = regex_lite::Regex::new(
        r"(?is)<input\b[^>]*>|(<textarea\b[^>]*>)(.*?)</textarea>|(<select\b[^>]*>)(.*?)</select>",
    )
    .expect("re");
    let option_re = regex_lite::Regex::new(r"(?is)<option\b[^>]*>").expect("re");
    let mut forms = Vec::new();
    for f in form_re.captures_iter(body) {
        let a = attrs(&f[1]);
        if !a
            .get("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"))
        {
            continue;
        }
        let action = a
            .get("action")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| page.to_string());
        let multipart = a
            .get("enctype")
            .is_some_and(|e| e.eq_ignore_ascii_case("multipart/form-data"));
        let mut controls = Vec::new();
        for c in control_re.captures_iter(&f[2]) {
            if let Some(open) = c.get(1) {
                let t = attrs(open.as_str());
                let Some(name) = t.get("name").cloned() else {
                    continue;
                };
                let text = c.get(2).map(|m| m.as_str()).unwrap_or("");
                // A browser drops one newline right after the opening tag.
                let text = text.strip_prefix('\n').unwrap_or(text);
                controls.push(Control {
                    name,
                    kind: "textarea".into(),
                    values: vec![decode(text)],
                    options: vec![],
                });
            } else if let Some(open) = c.get(3) {
                let t = attrs(open.as_str());
                let Some(name) = t.get("name").cloned() else {
                    continue;
                };
                let multiple = t.contains_key("multiple");
                let mut options = Vec::new();
                let mut selected = Vec::new();
                for o in option_re.find_iter(c.get(4).map(|m| m.as_str()).unwrap_or("")) {
                    let oa = attrs(o.as_str());
                    let v = oa.get("value").cloned().unwrap_or_default();
                    if oa.contains_key("selected") {
                        selected.push(v.clone());
                    }
                    options.push(v);
                }
                if selected.is_empty() && !multiple {
                    selected.extend(options.first().cloned());
                }
                if !multiple {
                    selected.truncate(1);
                }
                controls.push(Control {
                    name,
                    kind: "select".into(),
                    values: selected,
                    options,
                });
            } else {
                let t = attrs(&c[0]);
                let Some(name) = t.get("name").cloned() else {
                    continue;
                };
                let kind = t
                    .get("type")
                    .map(|k| k.to_ascii_lowercase())
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "text".into());
                let value = t.get("value").cloned().unwrap_or_default();
                let values = match kind.as_str() {
                    "checkbox" | "radio" => {
                        if t.contains_key("checked") {
                            vec![if t.contains_key("value") {
                                value
                            } else {
                                "on".into()
                            }]
                        } else {
                            vec![]
                        }
                    }
                    "submit" | "button" | "reset" | "image" => continue,
                    "file" => vec![],
                    _ => vec![value],
                };
                controls.push(Control {
                    name,
                    kind,
                    values,
                    options: vec![],
                });
            }
        }
        forms.push(Form {
            page: page.to_string(),
            action,
            multipart,
            controls,
        });
    }
    forms
}

/// `/directory/12/edit?x=1&y=2` → `/directory/#/edit?x&y`: one pattern per kind of page.
fn pattern(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut p: String = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "#"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if !query.is_empty() {
        let mut keys: Vec<&str> = query
            .split('&')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        p.push('?');
        p.push_str(&keys.join("&"));
    }
    p
}

fn followable(href: &str) -> Option<String> {
    let href = decode(href);
    let href = href.split('#').next().unwrap_or("").to_string();
    if !href.starts_with('/') || href.starts_with("//") {
        return None;
    }
    let path = href.split('?').next().unwrap_or("");
    let skip = [
        "/logout",
        "/static/",
        "/api/",
        "/attachments/",
        "/calendar/feed",
        "/imports/template",
    ];
    if skip.iter().any(|s| path.starts_with(s))
        || ["export", "download", "feed"]
            .iter()
            .any(|w| path.contains(w))
        || [".csv", ".ics", ".pdf", ".json", ".png", ".jpg"]
            .iter()
            .any(|e| path.ends_with(e))
    {
        return None;
    }
    Some(href)
}

struct Crawl {
    pages: usize,
    forms_seen: usize,
    /// One form of each kind (its action's pattern and its field names), first seen first.
    forms: BTreeMap<String, Form>,
}

async fn crawl(c: &Client) -> Crawl {
    let href_re = regex_lite::Regex::new(r#"href="([^"]*)""#).expect("re");
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut seen = BTreeSet::from(["/".to_string()]);
    let mut per_pattern: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Crawl {
        pages: 0,
        forms_seen: 0,
        forms: BTreeMap::new(),
    };
    while let Some(url) = queue.pop_front() {
        if out.pages >= MAX_PAGES {
            break;
        }
        let r = c.get(&url).await;
        let html = r
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"));
        if r.status != 200 || !html {
            continue;
        }
        out.pages += 1;
        for form in parse_forms(&r.body, &url) {
            out.forms_seen += 1;
            let mut names: Vec<&str> = form.controls.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            let key = format!("{} [{}]", pattern(&form.action), names.join(","));
            out.forms.entry(key).or_insert(form);
        }
        for h in href_re.captures_iter(&r.body) {
            let Some(link) = followable(&h[1]) else {
                continue;
            };
            if seen.contains(&link) {
                continue;
            }
            let n = per_pattern.entry(pattern(&link)).or_default();
            if *n >= PAGES_PER_PATTERN {
                continue;
            }
            *n += 1;
            seen.insert(link.clone());
            queue.push_back(link);
        }
    }
    out
}

// ----------------------------------------------------------------------------------------
// Plausible values for the fields that are not under test, when the form asks for them.

struct Filler {
    n: usize,
}

impl Filler {
    fn unique(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    /// A value for `name` (of `kind`), a different one on the second `round`.
    fn value(&mut self, name: &str, kind: &str, options: &[String], round: usize) -> Vec<String> {
        let n = self.unique();
        let existing = "ada@example.com".to_string();
        let new = format!("prop{n}@example.com");
        let v = match kind {
            "select" => {
                let real: Vec<&String> = options.iter().filter(|o| !o.is_empty()).collect();
                return real
                    .get(round.min(real.len().saturating_sub(1)))
                    .map(|s| vec![s.to_string()])
                    .unwrap_or_default();
            }
            "checkbox" | "radio" => "on".into(),
            "date" => if round == 0 {
                "2030-06-30"
            } else {
                "2026-11-01"
            }
            .into(),
            _ if kind == "email" || name.contains("email") || name == "person" => {
                if (name == "email") == (round == 0) {
                    new
                } else {
                    existing
                }
            }
            "url" => "https://example.com".into(),
            _ if name.contains("website") || name.contains("url") => "https://example.com".into(),
            _ if name.contains("amount") => "12.50".into(),
            _ if name.contains("last4") => "4242".into(),
            _ if name.contains("year") => "2030".into(),
            _ if name.contains("month") => "12".into(),
            _ if name.contains("seats") || name.contains("value") || name.contains("term") => {
                "10".into()
            }
            _ if name.contains("currency") => "EUR".into(),
            _ if name == "csv" => "USD,0.92,2026-11-01".into(),
            _ if name == "username" => format!("propuser{n}"),
            _ => format!("Prop {name} {n}"),
        };
        vec![v]
    }
}

/// The fields a re-rendered form marks as wrong (`id="<name>-error"`).
fn fields_in_error(body: &str) -> BTreeSet<String> {
    let re =
        regex_lite::Regex::new(r#"(?:id|aria-describedby)="([A-Za-z0-9_]+)-error""#).expect("re");
    let marked = regex_lite::Regex::new(
        r#"(?s)<div class="field[^"]*has-error[^"]*">.*?name="([A-Za-z0-9_]+)""#,
    )
    .expect("re");
    re.captures_iter(body)
        .chain(marked.captures_iter(body))
        .map(|c| c[1].to_string())
        .collect()
}

/// The message shown for `field`, if the page shows one.
fn error_of(body: &str, field: &str) -> Option<String> {
    let re = regex_lite::Regex::new(&format!(r#"(?s)id="{field}-error">(.*?)</p>"#)).ok()?;
    re.captures(body).map(|c| decode(&c[1]))
}

fn multipart_body(pairs: &[(String, String)], files: &[String]) -> (String, Vec<u8>) {
    let boundary = "----portalops-cards-boundary";
    let mut body = Vec::new();
    for (k, v) in pairs {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for f in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{f}\"; filename=\"prop.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&pdf());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn send_form(c: &Client, form: &Form, overrides: &BTreeMap<String, Vec<String>>) -> Resp {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut done = BTreeSet::new();
    let mut files = Vec::new();
    for ctl in &form.controls {
        if ctl.kind == "file" {
            files.push(ctl.name.clone());
            continue;
        }
        if let Some(v) = overrides.get(&ctl.name) {
            if done.insert(ctl.name.clone()) {
                pairs.extend(v.iter().map(|v| (ctl.name.clone(), v.clone())));
            }
            continue;
        }
        pairs.extend(ctl.values.iter().map(|v| (ctl.name.clone(), v.clone())));
    }
    if form.multipart {
        let (ct, body) = multipart_body(&pairs, &files);
        c.post_body(&form.action, &ct, body, &[]).await
    } else {
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        c.post_raw(&form.action, &refs, &[]).await
    }
}

#[derive(Default)]
struct Report {
    failures: Vec<String>,
    notes: Vec<String>,
    /// Tries refused with the card message (pages, API).
    refused: usize,
}

impl Report {
    fn fail(&mut self, line: String) {
        self.failures.push(line);
    }
}

/// Tries per field: a form names one missing field at a time, so filling them takes several.
const ROUNDS: usize = 6;

/// Sends `shape` in `field` of `form` (filling the fields the form then asks for)
/// and records what became of it.
async fn try_field(
    c: &Client,
    form: &Form,
    field: &Control,
    shape: &str,
    fill: &mut Filler,
    report: &mut Report,
) {
    let mut overrides: BTreeMap<String, Vec<String>> = BTreeMap::new();
    overrides.insert(field.name.clone(), vec![shape.to_string()]);
    let what = format!(
        "POST {} field `{}` shape \"{}\" (form on {})",
        form.action,
        field.name,
        show(shape),
        form.page
    );
    for round in 0..ROUNDS {
        let r = send_form(c, form, &overrides).await;
        if std::env::var("CARDS_DEBUG").is_ok_and(|d| form.action.contains(&d)) {
            eprintln!(
                "DEBUG {what} round {round} → {} overrides {overrides:?} errors {:?}\n{}",
                r.status,
                fields_in_error(&r.body),
                excerpt(&r.body, 30000)
            );
        }
        if (400..500).contains(&r.status) && r.body.contains(REFUSAL) {
            report.refused += 1;
            return;
        }
        match r.status {
            200..=299 => report.fail(format!("{what} → {}: accepted", r.status)),
            300..=399 => {
                let location = r.location();
                let next = c.get(&location).await;
                if next.body.contains(REFUSAL) {
                    // A one-field form inside another page (a reason, a handover's email,
                    // the rates box) answers with that page and the refusal as its message;
                    // what matters here is that it is refused, said, and not stored (the dump
                    // below checks the last).
                    report.refused += 1;
                } else {
                    report.fail(format!("{what} → {} to {location}: accepted", r.status));
                }
            }
            422 => {
                let wrong: Vec<String> = fields_in_error(&r.body)
                    .into_iter()
                    .filter(|f| *f != field.name)
                    .collect();
                if round + 1 < ROUNDS && !wrong.is_empty() {
                    for f in &wrong {
                        if let Some(ctl) = form.controls.iter().find(|c| c.name == *f) {
                            overrides.insert(
                                f.clone(),
                                fill.value(f, &ctl.kind, &ctl.options, round / 3),
                            );
                        }
                    }
                    continue;
                }
                let own = error_of(&r.body, &field.name)
                    .map(|m| format!("its message: \"{}\"", excerpt(&m, 100)))
                    .unwrap_or_else(|| format!("errors shown on {:?}", fields_in_error(&r.body)));
                report.fail(format!("{what} → 422 without the refusal; {own}"));
            }
            400 if round + 1 < ROUNDS
                && form.controls.iter().any(|c| {
                    c.kind == "select"
                        && !overrides.contains_key(&c.name)
                        && c.values.iter().all(String::is_empty)
                }) =>
            {
                // The form could not be read: a user would have chosen in the empty selects.
                for ctl in form
                    .controls
                    .iter()
                    .filter(|c| c.kind == "select" && c.values.iter().all(String::is_empty))
                {
                    overrides.insert(
                        ctl.name.clone(),
                        fill.value(&ctl.name, "select", &ctl.options, 0),
                    );
                }
                continue;
            }
            // Not the handler refusing the request: the session, the CSRF token or the
            // object as crawled is wrong, and the field was never checked.
            401 | 403 | 404 => report.fail(format!(
                "{what} → {} (never reached the handler: stale form or session?)",
                r.status
            )),
            400..=499 => report
                .notes
                .push(format!("{what} → {} (the whole request refused)", r.status)),
            _ => report.fail(format!("{what} → {}: {}", r.status, excerpt(&r.body, 200))),
        }
        return;
    }
}

// ----------------------------------------------------------------------------------------
// The API: bodies from the OpenAPI document's schemas.

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let mut at = doc;
        for part in r.trim_start_matches("#/").split('/') {
            at = &at[part];
        }
        s = at;
    }
    // `allOf: [ {$ref} ]` / `oneOf: [ {…}, {type: null} ]` as utoipa writes nullable refs.
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            if let Some(first) = list.iter().find(|x| x.get("type") != Some(&json!("null"))) {
                return resolve(doc, first);
            }
        }
    }
    s
}

fn types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

struct Ids<'a> {
    e: &'a Estate,
    n: usize,
}

impl Ids<'_> {
    fn for_name(&self, name: &str) -> i64 {
        match name {
            n if n.contains("service") => self.e.google,
            n if n.contains("template") => self.e.template,
            n if n.contains("billing") && !n.contains("owner") => self.e.billing,
            n if n.contains("person")
                || n.contains("user")
                || n.contains("owner")
                || n.contains("manager") =>
            {
                self.e.ada
            }
            n if n.contains("grant") => self.e.grant,
            n if n.contains("workflow") => self.e.api_workflow,
            n if n.contains("task") => self.e.api_task,
            _ => self.e.gmail,
        }
    }

    /// The object a path's `{id}` names: by the collection before it.
    fn for_collection(&self, collection: &str) -> i64 {
        match collection {
            "services" => self.e.google,
            "products" => self.e.gmail,
            "people" => self.e.pam,
            "workflows" => self.e.api_workflow,
            "billing-records" => self.e.billing,
            "templates" => self.e.template,
            "tasks" => self.e.api_task,
            "grants" => self.e.grant,
            _ => self.e.jira,
        }
    }

    fn value(&mut self, doc: &Value, name: &str, schema: &Value, round: usize) -> Value {
        let s = resolve(doc, schema);
        if let Some(options) = s.get("enum").and_then(Value::as_array) {
            let real: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
            return real
                .get(round.min(real.len().saturating_sub(1)))
                .map(|v| (*v).clone())
                .unwrap_or(Value::Null);
        }
        let t = types(s);
        let has = |x: &str| t.iter().any(|y| y == x);
        self.n += 1;
        let n = self.n;
        if has("integer") || has("number") {
            return if name.ends_with("_id") || name == "id" {
                json!(self.for_name(name))
            } else if name.contains("year") {
                json!(2030)
            } else if name.contains("month") {
                json!(12)
            } else {
                json!(10)
            };
        }
        if has("boolean") {
            return json!(false);
        }
        if has("array") {
            if name.ends_with("_ids") {
                return json!([self.e.gmail, self.e.zoom]);
            }
            let item = s.get("items").cloned().unwrap_or(json!({"type": "string"}));
            return json!([self.value(doc, name.trim_end_matches('s'), &item, round)]);
        }
        if has("object") || s.get("properties").is_some() {
            return self.body(doc, s, round);
        }
        let format = s.get("format").and_then(Value::as_str).unwrap_or("");
        let v = match () {
            _ if format == "date"
                || name.ends_with("_on")
                || name.ends_with("date")
                || name == "last_day" =>
            {
                if round == 0 {
                    "2030-06-30".to_string()
                } else {
                    "2026-11-01".to_string()
                }
            }
            _ if format == "email" || name.contains("email") || name == "person" => {
                if (name == "email") == (round == 0) {
                    format!("api{n}@example.com")
                } else {
                    "ada@example.com".into()
                }
            }
            _ if name.contains("amount") => "12.50".into(),
            _ if name.contains("currency") => "EUR".into(),
            _ if name.contains("last4") => "4242".into(),
            _ if name.contains("website") || format == "uri" => "https://example.com".into(),
            _ => format!("Api {name} {n}"),
        };
        json!(v)
    }

    /// An object with its required properties.
    fn body(&mut self, doc: &Value, schema: &Value, round: usize) -> Value {
        let s = resolve(doc, schema);
        let mut out = serde_json::Map::new();
        let required: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, p) in props {
                if required.contains(&k.as_str()) {
                    out.insert(k.clone(), self.value(doc, k, p, round));
                }
            }
        }
        Value::Object(out)
    }
}

struct ApiOp {
    method: String,
    path: String,
    concrete: String,
    schema: Value,
}

fn api_operations(doc: &Value, ids: &Ids<'_>, report: &mut Report) -> Vec<ApiOp> {
    let mut ops = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return ops;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !["post", "put", "patch"].contains(&method.as_str()) {
                continue;
            }
            if op.get("security").is_none() {
                report.notes.push(format!(
                    "{} {path}: public (the login door is tried below)",
                    method.to_uppercase()
                ));
                continue;
            }
            let Some(schema) = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .and_then(|c| c.iter().find(|(k, _)| k.starts_with("application/json")))
                .map(|(_, v)| v["schema"].clone())
            else {
                report
                    .notes
                    .push(format!("{} {path}: no JSON body", method.to_uppercase()));
                continue;
            };
            let segments: Vec<&str> = path.split('/').collect();
            let concrete = segments
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if s.starts_with('{') {
                        let id = if *s == "{id}" && i > 0 {
                            ids.for_collection(segments[i - 1])
                        } else {
                            ids.for_name(s.trim_matches(|c| c == '{' || c == '}'))
                        };
                        id.to_string()
                    } else {
                        s.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            ops.push(ApiOp {
                method: method.to_uppercase(),
                path: path.clone(),
                concrete,
                schema,
            });
        }
    }
    ops
}

fn string_properties(doc: &Value, schema: &Value) -> Vec<String> {
    let s = resolve(doc, schema);
    s.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                // A password is a secret that is hashed, never stored or shown: not free text.
                .filter(|(k, _)| !k.contains("password"))
                .filter(|(_, p)| {
                    let p = resolve(doc, p);
                    types(p).iter().any(|t| t == "string")
                        || p.get("enum")
                            .and_then(Value::as_array)
                            .is_some_and(|e| e.iter().any(Value::is_string))
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Sends `shape` in `prop` of `op`'s body, as `caller` (client and bearer token), and
/// records what became of it.
async fn try_property(
    (c, token): (&Client, &str),
    doc: &Value,
    op: &ApiOp,
    prop: &str,
    shape: &str,
    ids: &mut Ids<'_>,
    report: &mut Report,
) {
    let what = format!(
        "{} {} property `{prop}` shape \"{}\"",
        op.method,
        op.path,
        show(shape)
    );
    let mut body = ids.body(doc, &op.schema, 0);
    for round in 0..ROUNDS {
        body[prop] = json!(shape);
        let r = c
            .api(&op.method, &op.concrete, Some(token), Some(body.clone()))
            .await;
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let errors = v.get("errors").and_then(Value::as_object);
        let named = errors.and_then(|e| e.get(prop)).and_then(Value::as_str);
        match (r.status, named) {
            (400..=499, Some(m)) if m.contains(REFUSAL) => report.refused += 1,
            (200..=299, _) => report.fail(format!("{what} → {}: accepted", r.status)),
            (400..=499, Some(m)) => report.fail(format!(
                "{what} → {}: named, but \"{}\"",
                r.status,
                excerpt(m, 100)
            )),
            (422, None) if round + 1 < ROUNDS && errors.is_some_and(|e| !e.is_empty()) => {
                // The body as built was wrong elsewhere (one field at a time, as the form
                // says): a value for a field left out, another value for one sent.
                let s = resolve(doc, &op.schema).clone();
                for k in errors
                    .map(|e| e.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if let Some(p) = s.pointer(&format!("/properties/{k}")) {
                        let round = usize::from(body.get(&k).is_some());
                        body[k.as_str()] = ids.value(doc, &k, p, round);
                    }
                }
                continue;
            }
            (400..=499, None) => report.fail(format!(
                "{what} → {} without the property named: {}",
                r.status,
                excerpt(&r.body, 160)
            )),
            _ => report.fail(format!("{what} → {}: {}", r.status, excerpt(&r.body, 200))),
        }
        return;
    }
}

// ----------------------------------------------------------------------------------------
// What is left behind.

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The ASCII digits of `text`, reading the scripts the shapes use.
fn ascii_digits(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let cp = c as u32;
            [0x30, 0x660, 0xFF10, 0x1D7CE]
                .iter()
                .find(|&&z| (z..z + 10).contains(&cp))
                .and_then(|&z| char::from_digit(cp - z, 10))
        })
        .collect()
}

/// The card numbers the shapes hold, as plain ASCII digits (every Luhn-valid window of 13–19).
fn card_numbers() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for shape in SHAPES {
        let d: Vec<u8> = ascii_digits(shape).bytes().map(|b| b - b'0').collect();
        for start in 0..d.len() {
            for len in 13..=19 {
                if start + len <= d.len() && luhn(&d[start..start + len]) {
                    out.insert(
                        d[start..start + len]
                            .iter()
                            .map(|x| char::from(b'0' + x))
                            .collect(),
                    );
                }
            }
        }
    }
    out
}

/// `text` with the digits of the shapes' scripts read as ASCII and the separators people
/// type between groups removed: a card number sent in any shape reads as its plain digits.
fn squashed(text: &str) -> String {
    text.chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '/' | '_')))
        .map(|c| ascii_digits(&c.to_string()).chars().next().unwrap_or(c))
        .collect()
}

/// Whether `line` holds one of the card numbers the test sent (in whatever shape).
fn holds_a_sent_number(line: &str, numbers: &BTreeSet<String>) -> bool {
    let s = squashed(line);
    numbers.iter().any(|n| s.contains(n.as_str()))
}

/// How a line that holds a card number is reported: masked where the detector finds it.
fn reported(line: &str) -> String {
    let masked = mask(line);
    if masked.contains(portalops::payments::card::MASK) {
        excerpt(&masked, 200)
    } else {
        format!(
            "{} [a sent number, missed by the detector]",
            excerpt(line, 200)
        )
    }
}

pub(crate) fn pg_dump(db_url: &str) -> String {
    let bin = ["/usr/lib/postgresql/15/bin/pg_dump", "pg_dump"]
        .into_iter()
        .find(|b| !b.starts_with('/') || std::path::Path::new(b).is_file())
        .expect("pg_dump");
    let out = std::process::Command::new(bin)
        .args(["--data-only", "--inserts", "--no-owner", "--dbname", db_url])
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn file_names(dir: &std::path::Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push(e.file_name().to_string_lossy().into_owned());
        if e.path().is_dir() {
            file_names(&e.path(), out);
        }
    }
}

// ----------------------------------------------------------------------------------------

#[actix_web::test]
async fn no_door_lets_a_full_card_number_in_and_nothing_stored_holds_one() {
    let started = Instant::now();
    let logs = crate::common::logs::capture();
    let app = TestApp::spawn().await;
    let root = app.logged_in("root", "admin").await;
    let estate = seed(&app, &root).await;
    let token = {
        let r = app
            .client()
            .api(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "root", "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str::<Value>(&r.body).expect("json")["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let seeded = started.elapsed();
    let mut report = Report::default();
    let mut shapes = Rotation(0);
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    let mut summary = String::new();

    // 1a. The pages, discovered first: every kind of form is there before anything changes.
    let found = crawl(&root).await;

    // 2. The API (before the pages' forms are sent: its workflow and task are still open).
    let api = app.client();
    let doc: Value = {
        let r = api.api("GET", "/api/v1/openapi.json", None, None).await;
        assert_eq!(r.status, 200);
        serde_json::from_str(&r.body).expect("openapi")
    };
    let mut ids = Ids { e: &estate, n: 0 };
    let ops = api_operations(&doc, &ids, &mut report);
    let mut api_props = 0;
    for op in &ops {
        let props = string_properties(&doc, &op.schema);
        if props.is_empty() {
            report
                .notes
                .push(format!("{} {}: no string property", op.method, op.path));
        }
        for prop in props {
            api_props += 1;
            for _ in 0..SHAPES_PER_FIELD {
                let shape = shapes.take();
                *used.entry(shape).or_default() += 1;
                try_property(
                    (&api, &token),
                    &doc,
                    op,
                    &prop,
                    shape,
                    &mut ids,
                    &mut report,
                )
                .await;
            }
        }
    }
    let _ = writeln!(
        summary,
        "API: {} write operations with a JSON body, {api_props} string properties",
        ops.len()
    );
    assert!(
        ops.len() >= 10,
        "only {} API write operations found",
        ops.len()
    );

    // 1b. The pages' forms, each text field in turn.
    let with_text: Vec<&Form> = found
        .forms
        .values()
        .filter(|f| f.controls.iter().any(Control::is_text))
        .collect();
    let mut fill = Filler { n: 0 };
    let mut fields_tried = 0;
    for form in &with_text {
        let mut names = BTreeSet::new();
        for field in form.controls.iter().filter(|c| c.is_text()) {
            if !names.insert(field.name.clone()) {
                continue;
            }
            fields_tried += 1;
            for _ in 0..SHAPES_PER_FIELD {
                let shape = shapes.take();
                *used.entry(shape).or_default() += 1;
                try_field(&root, form, field, shape, &mut fill, &mut report).await;
            }
        }
    }
    let _ = writeln!(
        summary,
        "pages: {} crawled, {} forms seen, {} kinds of form, {} with text fields, {fields_tried} fields tried",
        found.pages,
        found.forms_seen,
        found.forms.len(),
        with_text.len()
    );
    for (key, form) in &found.forms {
        let text: Vec<&str> = form
            .controls
            .iter()
            .filter(|c| c.is_text())
            .map(|c| c.name.as_str())
            .collect();
        let _ = writeln!(summary, "  {key} text: {text:?}");
    }
    assert!(
        found.forms.len() >= MIN_FORMS && with_text.len() >= MIN_FORMS_WITH_TEXT,
        "the crawler found too few forms to prove anything:\n{summary}"
    );

    // 3. The other doors.
    // CSV imports: a card number in a cell, and in the file's name.
    let imports = [
        (
            "people",
            "people.csv",
            "full_name,email,department,manager_email,employment_status,start_date\n\
             Card Holder,holder@example.com,Finance 4242 4242 4242 4242,,,\n\
             ４２４２４２４２４２４２４２４２,holder2@example.com,Sales,,,\n",
        ),
        (
            "services",
            "services.csv",
            "service_name,vendor,category,website,product_name,license_model,seats_purchased\n\
             Cardio,Vendor 5555555555554444,Productivity,,Cardio Pro,per_seat,10\n\
             Other,Other Inc,Docs,,card 378282246310005,per_seat,1\n",
        ),
        (
            "services",
            "statement 4242-4242-4242-4242.csv",
            "service_name,vendor,category\nPlain,Plain Inc,Docs\n",
        ),
    ];
    for (kind, name, csv) in imports {
        let what = format!("import of {kind} \"{}\"", show(name));
        let csrf = root.get("/imports").await.csrf_token().expect("token");
        let r = root
            .upload(
                &format!("/imports?kind={kind}"),
                Some(&csrf),
                name,
                csv.as_bytes(),
            )
            .await;
        match r.status {
            400..=499 => {}
            303 => {
                let page = r.location();
                let body = settled(&root, &page).await;
                if body.contains("Import now") && !contains_card_number(name) {
                    report.fail(format!("{what}: accepted for import (a commit is offered)"));
                    let r = root.submit(&page, &format!("{page}/commit"), &[]).await;
                    if r.status == 303 {
                        settled(&root, &page).await;
                    }
                } else if !body.contains(REFUSAL) && !contains_card_number(name) {
                    report.fail(format!("{what}: rows refused, but not with the refusal"));
                }
            }
            s => report.fail(format!("{what} → {s}: {}", excerpt(&r.body, 200))),
        }
    }
    {
        use portalops::db::schema::imports;
        let kept: Vec<(i64, String, String)> = imports::table
            .select((imports::id, imports::filename, imports::csv_data))
            .load(&mut app.conn())
            .expect("imports");
        for (id, filename, data) in kept {
            if contains_card_number(&filename) {
                report.fail(format!(
                    "imports #{id}: the file name kept: \"{}\"",
                    mask(&filename)
                ));
            }
            if contains_card_number(&data) {
                report.fail(format!(
                    "imports #{id}: the raw CSV kept with a card number in it"
                ));
            }
        }
    }
    // Attachment names, on the page and through the API.
    let before = app.count("attachments");
    let page = format!("/payments/{}", estate.billing);
    for shape in [SHAPES[1], SHAPES[7], SHAPES[10]] {
        let name = format!("invoice {shape}.pdf");
        let csrf = root.get(&page).await.csrf_token().expect("token");
        let r = root
            .upload(&format!("{page}/attachments"), Some(&csrf), &name, &pdf())
            .await;
        if r.status >= 500 {
            report.fail(format!(
                "attachment \"{}\" on the page → {}",
                show(&name),
                r.status
            ));
        } else if !(400..500).contains(&r.status) {
            let shown = root.get(&page).await;
            if !shown.body.contains(REFUSAL) {
                report.fail(format!(
                    "attachment \"{}\" on the page → {}, no refusal shown",
                    show(&name),
                    r.status
                ));
            }
        }
        let r = api
            .api_upload(
                &format!("/api/v1/billing-records/{}/attachments", estate.billing),
                &token,
                &name,
                &pdf(),
            )
            .await;
        if !(400..500).contains(&r.status) {
            report.fail(format!(
                "attachment \"{}\" through the API → {}",
                show(&name),
                r.status
            ));
        }
    }
    {
        use portalops::db::schema::attachments;
        let names: Vec<String> = attachments::table
            .select(attachments::original_name)
            .load(&mut app.conn())
            .expect("attachments");
        let carded = names.iter().filter(|n| contains_card_number(n)).count();
        if carded > 0 {
            report.fail(format!(
                "attachments: {carded} of {} stored names hold a card number ({} were there before the tries)",
                names.len(),
                before
            ));
        }
    }
    // Logins with a card number as the username.
    for shape in [SHAPES[0], SHAPES[5], SHAPES[15]] {
        let c = app.client();
        let r = c.login(shape, "not the password at all").await;
        if r.status < 400 || r.status >= 500 {
            report.fail(format!("page login as \"{}\" → {}", show(shape), r.status));
        }
        let r = c
            .api(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": shape, "password": "not it"})),
            )
            .await;
        if r.status < 400 || r.status >= 500 {
            report.fail(format!("API login as \"{}\" → {}", show(shape), r.status));
        }
    }

    // 4. What is left behind.
    let numbers = card_numbers();
    let dump = pg_dump(&app.db_url);
    // Per table: what the detector finds (the schema's migration versions are Luhn-valid
    // by chance, and no input reaches them) and the numbers sent, in any shape.
    let mut per_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let insert_re = regex_lite::Regex::new(r"^INSERT INTO (?:public\.)?([A-Za-z_]+)").expect("re");
    let hashes_re = regex_lite::Regex::new(r"'\\x[0-9a-f]*'|\b[0-9a-f]{64}\b").expect("re");
    let mut table = String::from("?");
    for line in dump.lines() {
        if let Some(c) = insert_re.captures(line) {
            table = c[1].to_string();
        }
        if table == "__diesel_schema_migrations" {
            continue;
        }
        // Hashes and other bytes (bytea as '\x…' hex, SHA-256 digests as 64 hex digits)
        // are no text anyone typed; their hex digits pass the Luhn check by chance.
        let line = &*hashes_re.replace_all(line, "'<bytes>'");
        if contains_card_number(line) || holds_a_sent_number(line, &numbers) {
            per_table
                .entry(table.clone())
                .or_default()
                .push(reported(line));
        }
    }
    let action_re =
        regex_lite::Regex::new(r"^INSERT INTO public\.audit_log VALUES \(\d+, '[^']*', (?:\d+|NULL), (?:'[^']*'|NULL), '([^']+)'")
            .expect("re");
    let actions: BTreeSet<String> = dump
        .lines()
        .filter(|l| contains_card_number(l) || holds_a_sent_number(l, &numbers))
        .filter_map(|l| action_re.captures(l).map(|c| c[1].to_string()))
        .collect();
    if !actions.is_empty() {
        let _ = writeln!(
            summary,
            "audit entries holding a card number, by action: {actions:?}"
        );
    }
    for (table, lines) in &per_table {
        report.fail(format!(
            "database: {} line(s) of {table} hold a card number, e.g.\n      {}",
            lines.len(),
            lines
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n      ")
        ));
    }
    let mut names = Vec::new();
    file_names(app.uploads.path(), &mut names);
    for n in names
        .iter()
        .filter(|n| contains_card_number(n) || holds_a_sent_number(n, &numbers))
    {
        report.fail(format!("upload directory: a file named \"{}\"", mask(n)));
    }
    // The log holds timings with many decimals (Luhn-valid by chance): only the numbers
    // sent are looked for there.
    if logs.installed() {
        let log = logs.text();
        let lines: Vec<String> = log
            .lines()
            .filter(|l| holds_a_sent_number(l, &numbers))
            .map(reported)
            .collect();
        if !lines.is_empty() {
            report.fail(format!(
                "server log: {} line(s) hold a card number, e.g.\n      {}",
                lines.len(),
                lines
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n      ")
            ));
        }
        let _ = writeln!(summary, "server log: {} KB captured", log.len() / 1024);
    } else {
        report
            .notes
            .push("server log: another subscriber was installed first, not checked".into());
    }

    let rarest = SHAPES
        .iter()
        .map(|s| used.get(s).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    let _ = writeln!(
        summary,
        "shapes: {} sent {}–{} times each; database dump {} KB; seeded in {:.1}s, all in {:.1}s",
        SHAPES.len(),
        rarest,
        used.values().max().copied().unwrap_or(0),
        dump.len() / 1024,
        seeded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        summary,
        "refused with the card message: {} tries; failures: {}",
        report.refused,
        report.failures.len()
    );
    println!("{summary}");
    for n in &report.notes {
        println!("note: {n}");
    }
    assert!(rarest >= 3, "every shape is sent many times:\n{summary}");
    assert!(
        report.failures.is_empty(),
        "{} ways a full card number gets in or stays:\n  {}\n\n{summary}",
        report.failures.len(),
        report.failures.join("\n  ")
    );
}
