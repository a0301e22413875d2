//! The shape of the code, checked: the domain layer is a leaf, handlers hold no SQL, and no
//! two top-level modules import each other. Each rule that is not yet true everywhere has
//! its list of the places still in debt (docs/architecture.md, "Where a new thing goes"):
//! the list must be exactly right, so a new place in debt fails, and so does a place that
//! was paid off but is still listed (remove it from the list).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under src/, as (path relative to src/, text without its unit tests and
/// without comments).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let p = entry.expect("a directory entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a source file");
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => &text[..i],
                None => &text[..],
            };
            let code: String = text
                .lines()
                .map(|l| match l.find("//") {
                    Some(i) => &l[..i],
                    None => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            let rel = p
                .strip_prefix(src())
                .expect("a file under src/")
                .to_string_lossy()
                .into_owned();
            (rel, code)
        })
        .collect()
}

/// The top-level module a file belongs to: `payments/queries.rs` → `payments`,
/// `settings.rs` → `settings`.
fn top(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs")
}

/// The top-level modules a file's code names through `crate::…`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if rest.starts_with('{') {
            // use crate::{a::b, c};
            let end = rest.find('}').unwrap_or(rest.len());
            for part in rest[1..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_domain_layer_imports_nothing_above_it() {
    let mut offenders = Vec::new();
    for (rel, code) in sources() {
        if top(&rel) != "domain" {
            continue;
        }
        for used in uses(&code) {
            if used != "domain" {
                offenders.push(format!("{rel} uses crate::{used}"));
            }
        }
        for door in ["actix_web", "askama", "r2d2", "PgConnection"] {
            if code.contains(door) {
                offenders.push(format!("{rel} names {door}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the domain layer must stay a leaf: {offenders:#?}"
    );
}

/// Page and API handler files: they parse, call one command or query, and render. By name
/// (`pages.rs`, `*_pages.rs`, `api/*.rs`, the page modules at the top) or by content: any
/// file that defines a public async function and reads the application state (a handler).
fn is_handler_file(rel: &str, code: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    (rel.starts_with("api/") && !matches!(name, "mod.rs" | "openapi.rs" | "problem.rs"))
        || name == "pages.rs"
        || name.ends_with("_pages.rs")
        || matches!(
            rel,
            "dashboard.rs" | "settings.rs" | "account.rs" | "setup.rs"
        )
        || (code.contains("pub async fn") && code.contains("web::Data<AppState>"))
}

/// Handler files that still run SQL themselves (to be moved into their feature's
/// `queries`/`commands`; issue #16).
const HANDLERS_WITH_SQL: &[&str] = &[
    // `GET /healthz` runs `SELECT 1` itself: the probe of the database is its whole point.
    "health.rs",
    // Page handlers that still share a file with their SQL (to split into *_pages.rs).
    "payments/calendar.rs",
    "payments/savings.rs",
    "workflows/handover.rs",
];

#[test]
fn handlers_hold_no_sql() {
    let found: BTreeSet<String> = sources()
        .into_iter()
        .filter(|(rel, code)| {
            is_handler_file(rel, code) && (code.contains("diesel::") || code.contains("schema::"))
        })
        .map(|(rel, _)| rel)
        .collect();
    let listed: BTreeSet<String> = HANDLERS_WITH_SQL.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let paid: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty(),
        "handler files must not use Diesel or schema:: (move the SQL into the feature's \
         queries or commands): {new:?}"
    );
    assert!(
        paid.is_empty(),
        "these handler files hold no SQL any more: remove them from HANDLERS_WITH_SQL: {paid:?}"
    );
}

/// Pairs of top-level modules that still import each other (issue #16: each becomes one
/// direction, a hook, or a fact the caller acts on).
const MUTUAL_IMPORTS: &[(&str, &str)] = &[];

/// Top-level module → the top-level modules its files name.
fn top_level_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in sources() {
        let from = top(&rel).to_string();
        if from == "lib" || from == "main" {
            continue;
        }
        for to in uses(&code) {
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let graph = top_level_graph();
    let mut found = BTreeSet::new();
    for (a, tos) in &graph {
        for b in tos {
            if a < b && graph.get(b).is_some_and(|t| t.contains(a)) {
                found.insert((a.clone(), b.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = MUTUAL_IMPORTS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let paid: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty(),
        "these top-level modules now import each other (make one direction a hook or a \
         returned fact): {new:?}"
    );
    assert!(
        paid.is_empty(),
        "these pairs no longer import each other: remove them from MUTUAL_IMPORTS: {paid:?}"
    );
}

/// API files that still build a page's form or call a page module to reach a command
/// (issue #16: commands take typed requests; each door translates its own input).
const API_USING_PAGE_FORMS: &[&str] = &[];

#[test]
fn the_api_builds_no_page_form() {
    let found: BTreeSet<String> = sources()
        .into_iter()
        .filter(|(rel, code)| {
            rel.starts_with("api/")
                && (["pages::", "pages,", "pages}", "pages;"]
                    .iter()
                    .any(|p| code.contains(p))
                    || code
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word.ends_with("Form") && word.starts_with(char::is_uppercase)))
        })
        .map(|(rel, _)| rel)
        .collect();
    let listed: BTreeSet<String> = API_USING_PAGE_FORMS.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let paid: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty(),
        "API handlers must call commands with typed requests, not page forms: {new:?}"
    );
    assert!(
        paid.is_empty(),
        "these API files build no page form any more: remove them from \
         API_USING_PAGE_FORMS: {paid:?}"
    );
}

/// Cycles through more than two top-level modules still left (none: keep it so).
const CYCLES: &[&[&str]] = &[];

/// The strongly connected components of more than one module (Tarjan), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: BTreeSet<Vec<String>>,
    }
    fn visit<'g>(st: &mut State<'g>, v: &'g str) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        for w in st.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if st.stack.contains(&w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.stack.pop() {
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.found.insert(comp);
            }
        }
    }
    let mut st = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: BTreeSet::new(),
    };
    for v in graph.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.found
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let found = cycles(&top_level_graph());
    let listed: BTreeSet<Vec<String>> = CYCLES
        .iter()
        .map(|c| c.iter().map(|m| m.to_string()).collect())
        .collect();
    let new: Vec<_> = found.difference(&listed).collect();
    let paid: Vec<_> = listed.difference(&found).collect();
    assert!(
        new.is_empty(),
        "these top-level modules now form an import cycle: {new:?}"
    );
    assert!(
        paid.is_empty(),
        "these cycles are gone: remove them from CYCLES: {paid:?}"
    );
}
