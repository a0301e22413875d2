//! `portalops demo-data`: a realistic company for trying PortalOps and for the benchmark.
//!
//! Deterministic: every value derives from row numbers (no random generator), so two loads
//! at the same scale on the same day give the same estate; only the demo accounts' password
//! is random. Every table is filled with one set-based `INSERT … SELECT` (no row-by-row
//! round trips), all in one transaction: a failed load leaves the database empty.

use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use crate::error::AppError;

/// The default company; `scale` multiplies every count.
const PEOPLE: f64 = 10_000.0;
const SERVICES: f64 = 300.0;
const GRANTS_PER_PERSON: i64 = 10;
const WORKFLOWS: f64 = 5_000.0;
const AUDIT_ENTRIES: f64 = 200_000.0;

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Daniel", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko",
    "Liam", "Maya", "Nikolai", "Olivia", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dmitri", "Esther", "Felix",
    "Greta", "Hamid", "Irene", "Jakob", "Lena", "Marco", "Nadia", "Oscar",
];
const LAST: &[&str] = &[
    "Andersen",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksson",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Laurent",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Alvarez",
    "Brown",
    "Chen",
    "Dimitrov",
    "Evans",
    "Ferreira",
    "Gruber",
    "Horvat",
    "Ivanova",
    "Kim",
    "Lindqvist",
    "Murphy",
    "Nakamura",
    "Olsen",
    "Park",
    "Rahman",
    "Silva",
    "Thompson",
    "Vogel",
    "Wagner",
    "Young",
    "Zhang",
    "Costa",
    "Meyer",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "Legal",
    "Support",
    "Operations",
    "Product",
    "Design",
    "Data",
    "Security",
    "IT",
    "Procurement",
    "Facilities",
    "Research",
    "Customer Success",
    "Partnerships",
    "Communications",
    "Strategy",
    "Quality",
    "Logistics",
    "Platform",
    "Mobile",
    "Infrastructure",
    "Analytics",
    "Growth",
    "Brand",
    "Payroll",
    "Recruiting",
    "Learning",
    "Compliance",
    "Risk",
    "Treasury",
    "Tax",
    "Internal Audit",
    "Sales Engineering",
    "Field Marketing",
    "Developer Relations",
    "Office of the CEO",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Analyst",
    "Specialist",
    "Director",
    "Associate",
    "Lead",
    "Coordinator",
    "Consultant",
];
/// Service, vendor, category, products.
const CATALOGUE: &[(&str, &str, &str, &[&str])] = &[
    (
        "Google Workspace",
        "Google",
        "Productivity",
        &["Gmail", "Drive", "Calendar", "Meet", "Docs"],
    ),
    (
        "Atlassian",
        "Atlassian",
        "Engineering",
        &["Jira", "Confluence", "Bitbucket", "Opsgenie", "Trello"],
    ),
    (
        "Slack",
        "Salesforce",
        "Communication",
        &[
            "Slack Pro",
            "Slack Business+",
            "Huddles",
            "Workflow Builder",
            "Slack Connect",
        ],
    ),
    (
        "Microsoft 365",
        "Microsoft",
        "Productivity",
        &["Outlook", "Teams", "Excel", "Word", "OneDrive"],
    ),
    (
        "Salesforce",
        "Salesforce",
        "Sales",
        &[
            "Sales Cloud",
            "Service Cloud",
            "Marketing Cloud",
            "Tableau",
            "MuleSoft",
        ],
    ),
    (
        "GitHub",
        "Microsoft",
        "Engineering",
        &[
            "Enterprise",
            "Copilot",
            "Actions",
            "Advanced Security",
            "Codespaces",
        ],
    ),
    (
        "Figma",
        "Figma",
        "Design",
        &[
            "Figma Professional",
            "FigJam",
            "Dev Mode",
            "Organization",
            "Slides",
        ],
    ),
    (
        "Zoom",
        "Zoom",
        "Communication",
        &["Meetings", "Webinars", "Rooms", "Phone", "Events"],
    ),
    (
        "HubSpot",
        "HubSpot",
        "Marketing",
        &[
            "Marketing Hub",
            "Sales Hub",
            "Service Hub",
            "CMS Hub",
            "Operations Hub",
        ],
    ),
    (
        "Notion",
        "Notion",
        "Productivity",
        &["Plus", "Business", "AI", "Projects", "Wikis"],
    ),
    (
        "Adobe",
        "Adobe",
        "Design",
        &[
            "Creative Cloud",
            "Acrobat Pro",
            "Photoshop",
            "Illustrator",
            "Premiere Pro",
        ],
    ),
    (
        "Datadog",
        "Datadog",
        "Engineering",
        &["Infrastructure", "APM", "Logs", "Synthetics", "RUM"],
    ),
    (
        "Okta",
        "Okta",
        "Security",
        &[
            "Workforce Identity",
            "MFA",
            "Lifecycle Management",
            "Access Gateway",
            "Device Access",
        ],
    ),
    (
        "Workday",
        "Workday",
        "People",
        &["HCM", "Payroll", "Recruiting", "Learning", "Financials"],
    ),
    (
        "Zendesk",
        "Zendesk",
        "Support",
        &["Suite", "Support", "Guide", "Talk", "Sell"],
    ),
    (
        "AWS",
        "Amazon",
        "Infrastructure",
        &["EC2", "S3", "RDS", "CloudFront", "Lambda"],
    ),
    (
        "Dropbox",
        "Dropbox",
        "Productivity",
        &["Business", "Sign", "DocSend", "Replay", "Capture"],
    ),
    (
        "DocuSign",
        "DocuSign",
        "Legal",
        &["eSignature", "CLM", "Rooms", "Notary", "Insight"],
    ),
    (
        "Miro",
        "Miro",
        "Design",
        &[
            "Business",
            "Enterprise",
            "Templates",
            "Talktrack",
            "Intelligent Canvas",
        ],
    ),
    (
        "1Password",
        "AgileBits",
        "Security",
        &[
            "Business",
            "Teams",
            "Extended Access",
            "Secrets Automation",
            "Unlock",
        ],
    ),
];
const EDITIONS: &[&str] = &[
    "", " EU", " US", " APAC", " Sandbox", " Labs", " LATAM", " Nordics", " UK", " Canada",
    " India", " Japan", " Germany", " France", " Brazil",
];

pub struct DemoOptions {
    /// Multiplies every count (0.01 for tests, 1 for the default company).
    pub scale: f64,
    /// Empty every table first (audit log included), in the same transaction as the load.
    /// Without it a database that has anyone in it is refused.
    pub replace: bool,
}

pub struct DemoSummary {
    /// The password of every demo login account (printed once).
    pub password: String,
    pub accounts: Vec<(String, &'static str)>,
    pub counts: Vec<(&'static str, i64)>,
    pub seconds: f64,
    /// Stored names of the uploads whose rows `replace` deleted: the caller removes the files.
    pub replaced_files: Vec<String>,
}

fn n(base: f64, scale: f64) -> i64 {
    ((base * scale).round() as i64).max(1)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, table: &str) -> Result<i64, AppError> {
    Ok(
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(conn)?
            .n,
    )
}

/// Loads the demo company into an empty database. Refuses (with the reason) when there is
/// already anyone in the directory, unless `replace` says to empty the database first:
/// demo data never mixes with real data. Replacing and loading commit together, so a failed
/// load leaves the previous data as it was.
pub fn load(conn: &mut PgConnection, opts: &DemoOptions) -> Result<DemoSummary, String> {
    if !(0.001..=10.0).contains(&opts.scale) {
        return Err("--scale must be between 0.001 and 10".into());
    }
    let started = Instant::now();
    let people_before = count(conn, "users").map_err(|e| e.to_string())?;
    if people_before > 0 && !opts.replace {
        return Err(format!(
            "the database already has {people_before} people: demo data goes only into an empty database (start with a fresh PORTALOPS_DATA_DIR or DATABASE_URL, or pass --replace to delete everything in it first)"
        ));
    }
    let password: String = crate::auth::random_token().chars().take(20).collect();
    let hash = crate::auth::password::hash(&password).map_err(|e| e.to_string())?;
    let (replaced_files, accounts) = conn
        .transaction(|conn| {
            let files = if opts.replace {
                empty_every_table(conn)?
            } else {
                Vec::new()
            };
            Ok((files, fill(conn, opts.scale, &hash)?))
        })
        .map_err(|e: AppError| e.to_string())?;
    // Outside the transaction: fresh statistics for the planner, and a visibility map so
    // that counts and lists are answered from indexes alone from the first request.
    diesel::sql_query("VACUUM ANALYZE")
        .execute(conn)
        .map_err(|e| e.to_string())?;
    let mut counts = Vec::new();
    for t in [
        "users",
        "services",
        "products",
        "access_grants",
        "billing_records",
        "workflows",
        "tasks",
        "audit_log",
    ] {
        counts.push((t, count(conn, t).map_err(|e| e.to_string())?));
    }
    Ok(DemoSummary {
        password,
        accounts,
        counts,
        seconds: started.elapsed().as_secs_f64(),
        replaced_files,
    })
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    tablename: String,
}

/// Empties every application table (not the migrations' bookkeeping) and restarts the ids,
/// so the demo company gets the same ids as on an empty database. The audit log's guards
/// against TRUNCATE are lifted for this statement only, inside the caller's transaction.
/// Returns the stored names of the uploaded files whose rows went with it.
fn empty_every_table(conn: &mut PgConnection) -> Result<Vec<String>, AppError> {
    use crate::db::schema::attachments;
    let files = attachments::table
        .select(attachments::stored_name)
        .load(conn)?;
    let tables: Vec<String> = diesel::sql_query(
        "SELECT tablename FROM pg_tables
          WHERE schemaname = current_schema() AND tablename NOT LIKE '\\_\\_%'
          ORDER BY tablename",
    )
    .load::<TableName>(conn)?
    .into_iter()
    .map(|t| format!("\"{}\"", t.tablename))
    .collect();
    // The audit log and what its entries are about (`audit_subjects`) refuse TRUNCATE.
    let guards = [
        ("audit_log", "audit_log_no_truncate"),
        ("audit_subjects", "audit_subjects_no_truncate"),
    ];
    for (table, guard) in guards {
        diesel::sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER {guard}")).execute(conn)?;
    }
    diesel::sql_query(format!(
        "TRUNCATE {} RESTART IDENTITY CASCADE",
        tables.join(", ")
    ))
    .execute(conn)?;
    for (table, guard) in guards {
        diesel::sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER {guard}")).execute(conn)?;
    }
    Ok(files)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

fn fill(
    conn: &mut PgConnection,
    scale: f64,
    hash: &str,
) -> Result<Vec<(String, &'static str)>, AppError> {
    let people = n(PEOPLE, scale);
    // People: names, departments and titles cycle through the lists; a few are leaving or gone.
    diesel::sql_query(
        "INSERT INTO users (full_name, email, department, job_title, employment_status, is_active, start_date, end_date)
         SELECT f || ' ' || l,
                lower(f || '.' || l || '.' || g) || '@demo.example',
                $3[1 + g % cardinality($3)],
                $4[1 + g % cardinality($4)],
                CASE WHEN g % 97 = 0 THEN 'offboarded' WHEN g % 211 = 0 THEN 'offboarding' ELSE 'active' END,
                g % 97 <> 0,
                current_date - (g % 3000),
                CASE WHEN g % 97 = 0 THEN current_date - (g % 300) WHEN g % 211 = 0 THEN current_date + 14 END
         FROM generate_series(1, $5::int) AS g,
              LATERAL (SELECT $1[1 + g % cardinality($1)] AS f, $2[1 + (g / cardinality($1)) % cardinality($2)] AS l) AS nm",
    )
    .bind::<Array<Text>, _>(strings(FIRST))
    .bind::<Array<Text>, _>(strings(LAST))
    .bind::<Array<Text>, _>(strings(DEPARTMENTS))
    .bind::<Array<Text>, _>(strings(TITLES))
    .bind::<BigInt, _>(people)
    .execute(conn)?;

    // Services: the catalogue, then regional editions of it; five products each.
    let services = n(SERVICES, scale).min((CATALOGUE.len() * EDITIONS.len()) as i64);
    let (mut names, mut vendors, mut categories) = (Vec::new(), Vec::new(), Vec::new());
    let (mut product_service, mut product_names, mut seats) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..services as usize {
        let (name, vendor, category, products) = CATALOGUE[i % CATALOGUE.len()];
        let edition = EDITIONS[i / CATALOGUE.len()];
        names.push(format!("{name}{edition}"));
        vendors.push(vendor.to_string());
        categories.push(category.to_string());
        for (j, p) in products.iter().enumerate() {
            product_service.push(format!("{name}{edition}"));
            product_names.push((*p).to_string());
            seats.push(((i * 7 + j * 13) % 40 * 25 + 25) as i64);
        }
    }
    diesel::sql_query(
        "INSERT INTO services (name, vendor, category, description)
         SELECT n, v, c, 'Demo data' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(n, v, c)",
    )
    .bind::<Array<Text>, _>(names)
    .bind::<Array<Text>, _>(vendors)
    .bind::<Array<Text>, _>(categories)
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO products (service_id, name, license_model, seats_purchased)
         SELECT s.id, t.p, 'per_seat', t.seats::int
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(s, p, seats)
         JOIN services s ON s.name = t.s",
    )
    .bind::<Array<Text>, _>(product_service)
    .bind::<Array<Text>, _>(product_names)
    .bind::<Array<BigInt>, _>(seats)
    .execute(conn)?;

    // Access: ten products per person, spread over the catalogue.
    diesel::sql_query(
        "INSERT INTO access_grants (user_id, product_id, granted_at, account_identifier)
         SELECT u.id, p.id, now() - ((u.rn * 13 + j * 7) % 900) * interval '1 day', u.email
         FROM (SELECT id, email, row_number() OVER (ORDER BY id)::int AS rn FROM users) AS u
         CROSS JOIN generate_series(0, $1::int - 1) AS j
         JOIN (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS pn FROM products) AS p
           ON p.pn = (u.rn * 7 + j * 151) % (SELECT count(*)::int FROM products)
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(GRANTS_PER_PERSON)
    .execute(conn)?;

    // Login accounts: two Admins, three Service and three Product Administrators.
    let mut accounts = Vec::new();
    for (i, (username, role)) in [
        ("admin1", "admin"),
        ("admin2", "admin"),
        ("service1", "service_admin"),
        ("service2", "service_admin"),
        ("service3", "service_admin"),
        ("product1", "product_admin"),
        ("product2", "product_admin"),
        ("product3", "product_admin"),
    ]
    .into_iter()
    .enumerate()
    {
        diesel::sql_query(
            "UPDATE users SET username = $1, password_hash = $2, role = $3
             WHERE id = (SELECT id FROM users WHERE employment_status = 'active' AND username IS NULL ORDER BY id OFFSET $4 LIMIT 1)",
        )
        .bind::<Text, _>(username)
        .bind::<Text, _>(hash)
        .bind::<Text, _>(role)
        .bind::<BigInt, _>(i as i64 * 3)
        .execute(conn)?;
        accounts.push((
            username.to_string(),
            match role {
                "admin" => "Admin",
                "service_admin" => "Service Administrator",
                _ => "Product Administrator",
            },
        ));
    }
    // Each Service Administrator runs every tenth service; each Product Administrator
    // every twentieth product.
    diesel::sql_query(
        "INSERT INTO service_admins (user_id, service_id)
         SELECT u.id, s.id FROM users u
         JOIN (SELECT id, row_number() OVER (ORDER BY id)::int AS rn FROM services) s
           ON s.rn % 10 = (substring(u.username from 8)::int - 1)
         WHERE u.role = 'service_admin'",
    )
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO product_admins (user_id, product_id)
         SELECT u.id, p.id FROM users u
         JOIN (SELECT id, row_number() OVER (ORDER BY id)::int AS rn FROM products) p
           ON p.rn % 20 = (substring(u.username from 8)::int - 1)
         WHERE u.role = 'product_admin'",
    )
    .execute(conn)?;

    // Billing: one record per product, several currencies and cycles, some cards expiring
    // soon, notice periods with their cancellation deadlines.
    diesel::sql_query(
        "INSERT INTO billing_records (product_id, reference, cycle, amount, currency, next_renewal_on,
             auto_renew, payment_method, card_brand, card_last4, card_exp_month, card_exp_year,
             card_expires_on, billing_owner_id, cost_center, notice_value, notice_unit,
             cancellation_deadline, renewal_anchor_day)
         SELECT p.id,
                'DEMO-' || lpad(p.pn::text, 5, '0'),
                (ARRAY['monthly', 'annual', 'quarterly', 'annual'])[1 + p.pn % 4],
                ((p.pn * 37) % 5000 + 10)::numeric,
                (ARRAY['EUR', 'EUR', 'USD', 'GBP', 'USD'])[1 + p.pn % 5],
                r.renew,
                p.pn % 3 <> 0,
                CASE WHEN p.pn % 4 = 0 THEN 'card' ELSE 'invoice' END,
                CASE WHEN p.pn % 4 = 0 THEN (ARRAY['Visa', 'Mastercard', 'Amex'])[1 + p.pn % 3] END,
                CASE WHEN p.pn % 4 = 0 THEN lpad(((p.pn * 7919) % 10000)::text, 4, '0') END,
                CASE WHEN p.pn % 4 = 0 THEN extract(month FROM c.exp)::smallint END,
                CASE WHEN p.pn % 4 = 0 THEN extract(year FROM c.exp)::smallint END,
                CASE WHEN p.pn % 4 = 0 THEN (date_trunc('month', c.exp) + interval '1 month - 1 day')::date END,
                (SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1),
                'CC-' || (100 + p.pn % 12),
                CASE WHEN p.pn % 2 = 0 THEN 30 END,
                CASE WHEN p.pn % 2 = 0 THEN 'days' END,
                CASE WHEN p.pn % 2 = 0 THEN r.renew - 30 END,
                extract(day FROM r.renew)::smallint
         FROM (SELECT id, row_number() OVER (ORDER BY id)::int AS pn FROM products) AS p,
              LATERAL (SELECT current_date + ((p.pn * 11) % 365)::int AS renew) AS r,
              LATERAL (SELECT current_date + ((p.pn * 17) % 400)::int AS exp) AS c",
    )
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO app_settings (key, value) VALUES ('reporting_currency', 'EUR')
         ON CONFLICT (key) DO NOTHING",
    )
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO exchange_rates (currency, rate, valid_from)
         VALUES ('USD', 0.9200, current_date - 365), ('GBP', 1.1700, current_date - 365)
         ON CONFLICT DO NOTHING",
    )
    .execute(conn)?;

    // Workflows: finished onboardings with their done tasks, and one open in ten.
    diesel::sql_query(
        "WITH w AS (
           INSERT INTO workflows (kind, person_id, status, effective_on, started_by, created_at, completed_at)
           SELECT CASE WHEN u.rn % 5 = 0 THEN 'offboarding' ELSE 'onboarding' END,
                  u.id,
                  CASE WHEN u.rn % 10 = 0 THEN 'open' ELSE 'completed' END,
                  current_date - (u.rn % 700)::int + 14,
                  (SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1),
                  now() - (u.rn % 700) * interval '1 day',
                  CASE WHEN u.rn % 10 <> 0 THEN now() - (u.rn % 700) * interval '1 day' + interval '2 days' END
           FROM (SELECT id, row_number() OVER (ORDER BY id)::int AS rn FROM users WHERE username IS NULL) AS u
           WHERE u.rn <= $1
           RETURNING id, status, effective_on, kind, person_id
         )
         INSERT INTO tasks (workflow_id, kind, product_id, grant_id, status, due_on, completed_at, note)
         SELECT w.id,
                CASE WHEN w.kind = 'onboarding' THEN 'grant' ELSE 'revoke' END,
                -- An offboarding revokes one of the person's grants; an onboarding grants
                -- some product.
                coalesce(g.product_id, p.id),
                g.id,
                CASE WHEN w.status = 'open' THEN 'open' ELSE 'done' END,
                w.effective_on,
                CASE WHEN w.status <> 'open' THEN now() END,
                ''
         FROM w
         JOIN (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS pn FROM products) AS p
           ON p.pn = w.id % (SELECT count(*)::int FROM products)
         LEFT JOIN LATERAL (
           SELECT ag.id, ag.product_id FROM access_grants ag
           WHERE ag.user_id = w.person_id AND w.kind = 'offboarding'
           ORDER BY ag.id LIMIT 1
         ) AS g ON true
         WHERE w.kind = 'onboarding' OR g.id IS NOT NULL",
    )
    .bind::<BigInt, _>(n(WORKFLOWS, scale))
    .execute(conn)?;

    // The audit trail of two years of administration.
    diesel::sql_query(
        "INSERT INTO audit_log (at, actor_id, actor_label, action, object_type, object_id, summary)
         SELECT now() - ($1::int - g) * interval '5 minutes',
                a.id, a.full_name,
                (ARRAY['grant.created', 'grant.revoked', 'billing.updated', 'person.updated', 'service.updated', 'task.completed'])[1 + g % 6],
                (ARRAY['access_grant', 'access_grant', 'billing_record', 'user', 'service', 'task'])[1 + g % 6],
                (g % 10000)::text,
                'Demo activity #' || g
         FROM generate_series(1, $1::int) AS g,
              LATERAL (SELECT id, full_name FROM users WHERE role = 'admin' ORDER BY id LIMIT 1) AS a",
    )
    .bind::<BigInt, _>(n(AUDIT_ENTRIES, scale))
    .execute(conn)?;
    Ok(accounts)
}
