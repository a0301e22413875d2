//! Reading a SaaS admin console's user export (CSV) and matching it against the product's
//! grants, without the database: which columns hold the email, the last active date and
//! the licence tier (guessed from the headers the common consoles write, changed by the
//! person uploading), how a date is read, and each row's outcome — matched to a grant,
//! or not (with the reason) — plus the grant holders the export does not list.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::domain::{DateFormat, EmploymentStatus};

/// The inactivity filters offered, in days.
pub const INACTIVE_DAYS: &[i64] = &[30, 60, 90, 180];

/// `?inactive=N` as days, 1 to 3650 (anything else is no filter).
pub fn inactive_days(typed: Option<&str>) -> Option<i64> {
    typed
        .and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|n| (1..=3650).contains(n))
}

/// The export as read: its headers and its data rows with their line numbers.
#[derive(Debug, Clone)]
pub struct Export {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// At most this many data rows (a 10,000-person company's export is well under it).
pub const MAX_ROWS: usize = 100_000;

/// Reads the CSV (a BOM and surrounding spaces ignored, rows of any length).
pub fn read(text: &str) -> Result<Export, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("The file is not readable CSV: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err("The file has no header line (the first line names the columns).".into());
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("Line {line} is not readable CSV: {e}"))?;
        if record.iter().all(|c| c.is_empty()) {
            continue;
        }
        if record.iter().any(|c| c.contains('\0')) {
            return Err(format!(
                "Line {line} contains a NUL character, which text cannot hold."
            ));
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
        if rows.len() > MAX_ROWS {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows: split it and upload the parts."
            ));
        }
    }
    Ok(Export { headers, rows })
}

/// Which columns hold what (header names), and how dates are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub email: Option<String>,
    pub last_active: Option<String>,
    pub tier: Option<String>,
    pub date_format: DateFormat,
}

/// A header as compared: lower case, without bracketed notes ("[Required]", "(UTC)") and
/// with every run of other characters one space.
fn normalise(header: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in header.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = (depth - 1).max(0),
            c if depth > 0 => {
                let _ = c;
            }
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
        }
    }
    out.trim().to_string()
}

/// The headers the consoles write for each column (normalised), most specific first:
/// Google Workspace ("Email Address [Required]", "Last Sign In [READ ONLY]", "Licenses
/// [READ ONLY]"), Microsoft 365 ("User Principal Name", "Last Activity Date", "Assigned
/// Products"), Slack ("Email", "Last active (UTC)", "Account type"), Zoom ("Email", "Last
/// Login Time", "User Type"), GitHub ("email", "last_active", "role"), Atlassian
/// ("email", "Last active", "Product access"), and plain names.
const EMAIL_HEADERS: &[&str] = &[
    "email address",
    "email",
    "e mail",
    "mail",
    "primary email",
    "user email",
    "user principal name",
    "upn",
    "login email",
    "work email",
];
const LAST_ACTIVE_HEADERS: &[&str] = &[
    "last active",
    "last sign in",
    "last signin",
    "last login",
    "last login time",
    "last logged in",
    "last activity date",
    "last activity",
    "last seen",
    "last used",
    "last access",
    "last accessed",
];
const TIER_HEADERS: &[&str] = &[
    "licenses",
    "license",
    "licence",
    "licences",
    "assigned products",
    "license type",
    "licence type",
    "plan",
    "tier",
    "seat type",
    "account type",
    "user type",
    "product access",
    "role",
];

fn find(headers: &[String], wanted: &[&str]) -> Option<String> {
    let normal: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    for w in wanted {
        if let Some(i) = normal.iter().position(|h| h == w) {
            return Some(headers[i].clone());
        }
    }
    // "Last Sign In Date", "Email of user": a header that starts with one of the names.
    for w in wanted {
        if let Some(i) = normal.iter().position(|h| h.starts_with(&format!("{w} "))) {
            return Some(headers[i].clone());
        }
    }
    None
}

/// The columns the headers suggest.
pub fn guess(headers: &[String]) -> Mapping {
    Mapping {
        email: find(headers, EMAIL_HEADERS),
        last_active: find(headers, LAST_ACTIVE_HEADERS),
        tier: find(headers, TIER_HEADERS),
        date_format: DateFormat::Auto,
    }
}

/// What a "last active" cell says: a day, never, or not a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Day {
    On(NaiveDate),
    Never,
}

/// Reads a "last active" cell: ISO dates and times (with or without a zone), RFC 2822,
/// "Nov 30, 2026", "30 Nov 2026", and slashed or dotted dates in the chosen order (in
/// `Auto`, only when they are unambiguous). Blank, "never" and the like are `Never`.
pub fn parse_day(cell: &str, format: DateFormat) -> Result<Day, String> {
    let t = cell.trim();
    let lower = t.to_lowercase();
    if t.is_empty()
        || matches!(
            lower.as_str(),
            "never" | "-" | "—" | "n/a" | "na" | "none" | "never logged in" | "never signed in"
        )
    {
        return Ok(Day::Never);
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Day::On(d));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(Day::On(d.naive_local().date()));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Ok(Day::On(d.naive_local().date()));
    }
    // Only the date part counts from here on: "2026-11-30 09:12:00", "11/30/2026 9:12 AM".
    let date_part = t
        .split(['T', ' '])
        .next()
        .unwrap_or(t)
        .trim_end_matches(',');
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(Day::On(d.date()));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(date_part, "%Y/%m/%d") {
        return Ok(Day::On(d));
    }
    for f in [
        "%b %d, %Y",
        "%B %d, %Y",
        "%d %b %Y",
        "%d %B %Y",
        "%a, %d %b %Y",
    ] {
        let head: String = t.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        for candidate in [t, head.as_str()] {
            if let Ok(d) = NaiveDate::parse_from_str(candidate, f) {
                return Ok(Day::On(d));
            }
        }
        let three: String = t.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        if let Ok(d) = NaiveDate::parse_from_str(&three, f) {
            return Ok(Day::On(d));
        }
    }
    let parts: Vec<&str> = date_part.split(['/', '.', '-']).collect();
    if let [a, b, y] = parts[..] {
        if let (Ok(a), Ok(b), Ok(y)) = (a.parse::<u32>(), b.parse::<u32>(), y.parse::<i32>()) {
            let y = if y < 100 { 2000 + y } else { y };
            let (month, day) = match format {
                DateFormat::Mdy => (a, b),
                DateFormat::Dmy => (b, a),
                DateFormat::Auto if a > 12 && b <= 12 => (b, a),
                DateFormat::Auto if b > 12 && a <= 12 => (a, b),
                DateFormat::Auto if a == b => (a, b),
                DateFormat::Auto => {
                    return Err(format!(
                        "“{t}” could be day/month or month/day: choose the date format."
                    ))
                }
            };
            if let Some(d) = NaiveDate::from_ymd_opt(y, month, day) {
                return Ok(Day::On(d));
            }
        }
    }
    Err(format!("“{t}” is not a date this import can read."))
}

/// A directory person as matching needs them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: EmploymentStatus,
    pub end_date: Option<NaiveDate>,
}

/// An active grant of the product.
#[derive(Debug, Clone)]
pub struct Holder {
    pub grant_id: i64,
    pub person_id: i64,
    /// The account in the tool, when the grant records one ("ada.l", "ada@old.example").
    pub account: Option<String>,
}

/// What the database knows, keyed for matching (all keys lower case).
#[derive(Debug, Default)]
pub struct Directory {
    pub people: HashMap<i64, Person>,
    /// Directory email → person.
    pub by_email: HashMap<String, i64>,
    /// Other emails the identity provider sent for a person (aliases) → person.
    pub by_alias: HashMap<String, i64>,
    pub holders: Vec<Holder>,
}

/// How a row was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Account,
    Email,
    Alias,
}

impl How {
    pub fn label(self) -> &'static str {
        match self {
            How::Account => "account on the grant",
            How::Email => "email",
            How::Alias => "another email of theirs",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Matched {
    pub line: usize,
    pub grant_id: i64,
    pub person_id: i64,
    pub how: How,
    pub day: Option<NaiveDate>,
    pub tier: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Unmatched {
    pub line: usize,
    pub key: String,
    pub person_id: Option<i64>,
    pub reason: String,
}

/// What matching found.
#[derive(Debug, Default)]
pub struct DryRun {
    pub rows: usize,
    pub matched: Vec<Matched>,
    pub unmatched: Vec<Unmatched>,
    /// Grant holders the export does not list: (grant, person).
    pub absent: Vec<(i64, i64)>,
}

/// Matches every row: by the directory email, then the account recorded on a grant, then
/// another email of the person's; a person found without a grant here, someone who left,
/// a repeated person and an unreadable date are each a row not matched, with the reason.
pub fn match_rows(export: &Export, mapping: &Mapping, dir: &Directory) -> Result<DryRun, String> {
    let column = |name: &Option<String>| -> Option<usize> {
        name.as_ref()
            .and_then(|n| export.headers.iter().position(|h| h == n))
    };
    let Some(email_col) = column(&mapping.email) else {
        return Err("Choose the column that holds each user's email or account.".into());
    };
    let day_col = column(&mapping.last_active);
    let tier_col = column(&mapping.tier);
    let by_account: HashMap<String, &Holder> = dir
        .holders
        .iter()
        .filter_map(|h| h.account.as_ref().map(|a| (a.trim().to_lowercase(), h)))
        .collect();
    let by_person: HashMap<i64, &Holder> = dir.holders.iter().map(|h| (h.person_id, h)).collect();
    let mut out = DryRun {
        rows: export.rows.len(),
        ..DryRun::default()
    };
    // Grant → index in `matched`, for a person listed twice.
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for (line, cells) in &export.rows {
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
        };
        let Some(key) = cell(Some(email_col)) else {
            out.unmatched.push(Unmatched {
                line: *line,
                key: String::new(),
                person_id: None,
                reason: "No email or account in this row.".into(),
            });
            continue;
        };
        let lower = key.to_lowercase();
        let day = match day_col.map(|_| parse_day(cell(day_col).unwrap_or(""), mapping.date_format))
        {
            None => None,
            Some(Ok(Day::On(d))) => Some(d),
            Some(Ok(Day::Never)) => None,
            Some(Err(reason)) => {
                out.unmatched.push(Unmatched {
                    line: *line,
                    key: key.to_string(),
                    person_id: None,
                    reason,
                });
                continue;
            }
        };
        let found: Option<(&Holder, How)> = dir
            .by_email
            .get(&lower)
            .and_then(|p| by_person.get(p))
            .map(|h| (*h, How::Email))
            .or_else(|| by_account.get(&lower).map(|h| (*h, How::Account)))
            .or_else(|| {
                dir.by_alias
                    .get(&lower)
                    .and_then(|p| by_person.get(p))
                    .map(|h| (*h, How::Alias))
            });
        let Some((holder, how)) = found else {
            let person = dir
                .by_email
                .get(&lower)
                .or_else(|| dir.by_alias.get(&lower))
                .and_then(|p| dir.people.get(p));
            let reason = match person {
                None => "Nobody in the directory has this email, and no grant records it as \
                         the account."
                    .to_string(),
                Some(p) if p.status == EmploymentStatus::Offboarded => format!(
                    "{} left{}: their account in the tool is still there.",
                    p.name,
                    p.end_date.map(|d| format!(" on {d}")).unwrap_or_default()
                ),
                Some(p) => format!(
                    "{} is in the directory but PortalOps records no access to this product \
                     for them.",
                    p.name
                ),
            };
            out.unmatched.push(Unmatched {
                line: *line,
                key: key.to_string(),
                person_id: person.map(|p| p.id),
                reason,
            });
            continue;
        };
        let tier = cell(tier_col).map(|t| t.chars().take(200).collect::<String>());
        if let Some(&at) = seen.get(&holder.grant_id) {
            let first = &mut out.matched[at];
            let first_line = first.line;
            // The most recent activity counts.
            if day > first.day {
                first.day = day;
            }
            out.unmatched.push(Unmatched {
                line: *line,
                key: key.to_string(),
                person_id: Some(holder.person_id),
                reason: format!(
                    "The same person as on line {first_line}: counted once, with the latest \
                     date."
                ),
            });
            continue;
        }
        seen.insert(holder.grant_id, out.matched.len());
        out.matched.push(Matched {
            line: *line,
            grant_id: holder.grant_id,
            person_id: holder.person_id,
            how,
            day,
            tier,
        });
    }
    out.absent = dir
        .holders
        .iter()
        .filter(|h| !seen.contains_key(&h.grant_id))
        .map(|h| (h.grant_id, h.person_id))
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::On(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn the_consoles_headers_are_recognised() {
        let google: Vec<String> = [
            "First Name [Required]",
            "Email Address [Required]",
            "Last Sign In [READ ONLY]",
            "Licenses [READ ONLY]",
        ]
        .map(String::from)
        .to_vec();
        let m = guess(&google);
        assert_eq!(m.email.as_deref(), Some("Email Address [Required]"));
        assert_eq!(m.last_active.as_deref(), Some("Last Sign In [READ ONLY]"));
        assert_eq!(m.tier.as_deref(), Some("Licenses [READ ONLY]"));
        let m365: Vec<String> = [
            "Display Name",
            "User Principal Name",
            "Last Activity Date",
            "Assigned Products",
        ]
        .map(String::from)
        .to_vec();
        let m = guess(&m365);
        assert_eq!(m.email.as_deref(), Some("User Principal Name"));
        assert_eq!(m.last_active.as_deref(), Some("Last Activity Date"));
        let slack: Vec<String> = ["Name", "Email", "Account type", "Last active (UTC)"]
            .map(String::from)
            .to_vec();
        let m = guess(&slack);
        assert_eq!(m.last_active.as_deref(), Some("Last active (UTC)"));
        assert_eq!(m.tier.as_deref(), Some("Account type"));
        let none: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(guess(&none).email, None);
    }

    #[test]
    fn dates_are_read_in_every_shape_the_consoles_write() {
        let auto = DateFormat::Auto;
        for (cell, want) in [
            ("2026-11-30", "2026-11-30"),
            ("2026-11-30T23:10:00Z", "2026-11-30"),
            ("2026-11-30T09:10:00.123+01:00", "2026-11-30"),
            ("2026-11-30 09:12:00", "2026-11-30"),
            ("2026/11/30", "2026/11/30"),
            ("Nov 30, 2026", "2026-11-30"),
            ("30 Nov 2026", "2026-11-30"),
            ("Mon, 30 Nov 2026 09:00:00 +0000", "2026-11-30"),
            ("11/30/2026", "2026-11-30"),
            ("30/11/2026", "2026-11-30"),
            ("30.11.2026", "2026-11-30"),
            ("11/30/2026 9:12 AM", "2026-11-30"),
        ] {
            let want = want.replace('/', "-");
            assert_eq!(parse_day(cell, auto), Ok(day(&want)), "{cell}");
        }
        for never in ["", " ", "Never", "never logged in", "-", "N/A"] {
            assert_eq!(parse_day(never, auto), Ok(Day::Never), "{never:?}");
        }
        let ambiguous = parse_day("01/02/2026", auto).unwrap_err();
        assert!(ambiguous.contains("choose the date format"), "{ambiguous}");
        assert_eq!(
            parse_day("01/02/2026", DateFormat::Mdy),
            Ok(day("2026-01-02"))
        );
        assert_eq!(
            parse_day("01/02/2026", DateFormat::Dmy),
            Ok(day("2026-02-01"))
        );
        assert!(parse_day("yesterday", auto).is_err());
        assert!(parse_day("31/02/2026", auto).is_err());
    }

    fn directory() -> Directory {
        let mut d = Directory::default();
        for (id, name, email, status) in [
            (1, "Ada", "ada@example.com", EmploymentStatus::Active),
            (2, "Bob", "bob@example.com", EmploymentStatus::Active),
            (3, "Cy", "cy@example.com", EmploymentStatus::Offboarded),
            (4, "Di", "di@example.com", EmploymentStatus::Active),
            (5, "Ed", "ed@example.com", EmploymentStatus::Active),
        ] {
            d.people.insert(
                id,
                Person {
                    id,
                    name: name.into(),
                    email: email.into(),
                    status,
                    end_date: NaiveDate::from_ymd_opt(2026, 10, 1).filter(|_| id == 3),
                },
            );
            d.by_email.insert(email.into(), id);
        }
        d.by_alias.insert("robert@old.example".into(), 2);
        d.holders = vec![
            Holder {
                grant_id: 10,
                person_id: 1,
                account: None,
            },
            Holder {
                grant_id: 20,
                person_id: 2,
                account: None,
            },
            Holder {
                grant_id: 40,
                person_id: 4,
                account: Some("DiGit".into()),
            },
            Holder {
                grant_id: 50,
                person_id: 5,
                account: None,
            },
        ];
        d
    }

    #[test]
    fn rows_match_by_account_email_and_alias_and_say_why_not() {
        let export = read(
            "\u{feff}Email,Last active\n\
             ADA@Example.com,2026-11-20\n\
             robert@old.example,Never\n\
             digit,2026-11-01\n\
             cy@example.com,2026-09-01\n\
             eve@example.com,2026-11-01\n\
             ed@example.com,\n\
             ada@example.com,2026-11-29\n\
             ,2026-11-01\n\
             ed@example.com,someday\n\
             ,\n",
        )
        .unwrap();
        let mapping = guess(&export.headers);
        let d = directory();
        let mut d = d;
        d.holders.retain(|h| h.grant_id != 50);
        d.holders.push(Holder {
            grant_id: 60,
            person_id: 5,
            account: None,
        });
        let run = match_rows(&export, &mapping, &d).unwrap();
        assert_eq!(run.rows, 9, "the blank line is skipped");
        let matched: Vec<(i64, How, Option<String>)> = run
            .matched
            .iter()
            .map(|m| (m.grant_id, m.how, m.day.map(|d| d.to_string())))
            .collect();
        assert_eq!(
            matched,
            [
                (10, How::Email, Some("2026-11-29".into())),
                (20, How::Alias, None),
                (40, How::Account, Some("2026-11-01".into())),
                (60, How::Email, None),
            ]
        );
        let reasons: Vec<(usize, &str)> = run
            .unmatched
            .iter()
            .map(|u| (u.line, u.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(
            reasons[0].1.starts_with("Cy left on 2026-10-01"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].1.starts_with("Nobody in the directory"),
            "{reasons:?}"
        );
        assert!(
            reasons[2].1.starts_with("The same person as on line 2"),
            "{reasons:?}"
        );
        assert!(reasons[3].1.starts_with("No email"), "{reasons:?}");
        assert!(reasons[4].1.contains("not a date"), "{reasons:?}");
        assert!(run.absent.is_empty(), "{:?}", run.absent);

        // Bob is in the export under nothing PortalOps knows: absent, and he is someone
        // with no grant when found by email only.
        let export = read("email\nbob@example.com\n").unwrap();
        let mut d = directory();
        d.holders.retain(|h| h.person_id != 2);
        let run = match_rows(&export, &guess(&export.headers), &d).unwrap();
        assert!(run.unmatched[0].reason.contains("records no access"));
        assert_eq!(run.absent.len(), 3);
        assert!(match_rows(
            &export,
            &Mapping {
                email: None,
                ..guess(&export.headers)
            },
            &d
        )
        .is_err());
    }
}
