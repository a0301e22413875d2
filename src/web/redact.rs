//! What a log line may say about a request's target. Some URLs carry a secret (the personal
//! iCalendar feed's token is its path, as is an emailed login link's; the first-run setup
//! link's `?token=`); this is the one
//! function every log line naming a path goes through, so none of them can write one.
//! Query strings are never logged at all: besides tokens they hold search words.

use std::borrow::Cow;

/// Paths whose segment after the prefix is a secret (a route parameter `{token}`).
const SECRET_SEGMENT_AFTER: &[&str] = &["/calendar/feed/", "/password/set/"];

pub const REDACTED: &str = "[redacted]";

/// `path` as a log may show it: without its query string, secret segments replaced.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let after = rest.find('/').map_or("", |i| &rest[i..]);
            return Cow::Owned(format!("{prefix}{REDACTED}{after}"));
        }
    }
    Cow::Borrowed(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_are_replaced_and_queries_dropped() {
        assert_eq!(
            loggable_path("/calendar/feed/Zm9vYmFyYmF6.ics"),
            "/calendar/feed/[redacted]"
        );
        assert_eq!(
            loggable_path("/calendar/feed/abc/more"),
            "/calendar/feed/[redacted]/more"
        );
        assert_eq!(loggable_path("/setup?token=s3cret"), "/setup");
        assert_eq!(
            loggable_path("/imports?kind=people&csrf_token=abc"),
            "/imports"
        );
        assert_eq!(
            loggable_path("/password/set/c2VjcmV0LXRva2Vu"),
            "/password/set/[redacted]"
        );
        assert_eq!(loggable_path("/calendar"), "/calendar");
        assert_eq!(loggable_path("/payments/12"), "/payments/12");
    }

    /// The routes: every source file (each feature's `routes` lives next to its handlers).
    fn route_sources() -> String {
        fn walk(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).expect("src/ is readable") {
                let p = entry.expect("a directory entry").path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    out.push_str(&std::fs::read_to_string(&p).expect("a source file"));
                }
            }
        }
        let mut out = String::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut out,
        );
        out
    }

    /// A route added later with a secret in its path cannot be forgotten here: every route
    /// parameter named like a secret is covered by a prefix above.
    #[test]
    fn every_route_with_a_secret_parameter_is_redacted() {
        let routes = route_sources();
        let routes = routes.as_str();
        let re =
            regex_lite::Regex::new(r#""(/[^"]*)\{(token|secret|key)[^}]*\}[^"]*""#).expect("regex");
        let mut found = 0;
        for c in re.captures_iter(routes) {
            found += 1;
            let example = format!("{}not-a-real-secret", &c[1]);
            assert!(
                !loggable_path(&example).contains("not-a-real-secret"),
                "route {} logs its secret",
                &c[0]
            );
        }
        assert!(found >= 1, "the feed route was not found under src/");
    }
}
