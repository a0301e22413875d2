//! Page-number pagination for sortable lists: the page and size go to SQL as
//! LIMIT/OFFSET; links keep the list's filters.

use crate::error::urlencode;

pub const PER_PAGE: i64 = 50;

/// The highest page number a list goes to: past it the offset would overflow, and nobody
/// pages through fifty million rows. A larger number shows this page (empty) instead.
pub const MAX_PAGE: i64 = 1_000_000;

/// The SQL offset of 1-based `page` with `per_page` rows each (page clamped to 1..=MAX_PAGE).
pub fn offset(page: i64, per_page: i64) -> i64 {
    (page.clamp(1, MAX_PAGE) - 1) * per_page
}

#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub total: i64,
    pub per_page: i64,
    path: String,
    /// The list's non-empty query parameters, without `page`.
    params: Vec<(String, String)>,
}

impl Pager {
    /// `page` is 1-based; a page past the end simply shows no rows.
    pub fn new(path: &str, params: &[(&str, &str)], page: i64, total: i64) -> Self {
        Self {
            page: page.clamp(1, MAX_PAGE),
            total,
            per_page: PER_PAGE,
            path: path.to_string(),
            params: params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn offset(page: i64) -> i64 {
        offset(page, PER_PAGE)
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn first_item(&self) -> i64 {
        if self.total == 0 {
            0
        } else {
            (self.page - 1) * self.per_page + 1
        }
    }

    pub fn last_item(&self) -> i64 {
        (self.page * self.per_page).min(self.total)
    }

    fn href(&self, replace: &[(&str, String)]) -> String {
        let mut parts: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| !replace.iter().any(|(r, _)| r == k))
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        parts.extend(replace.iter().map(|(k, v)| format!("{k}={}", urlencode(v))));
        format!("{}?{}", self.path, parts.join("&"))
    }

    /// A page number beyond the last page (typed into the address, or the list shrank).
    pub fn past_end(&self) -> bool {
        self.page > self.pages()
    }

    pub fn prev_href(&self) -> String {
        if self.past_end() {
            // Back to the last page that has rows, not to the page before a made-up one.
            self.href(&[("page", self.pages().to_string())])
        } else if self.page > 1 {
            self.href(&[("page", (self.page - 1).to_string())])
        } else {
            String::new()
        }
    }

    pub fn next_href(&self) -> String {
        if self.page < self.pages() {
            self.href(&[("page", (self.page + 1).to_string())])
        } else {
            String::new()
        }
    }

    /// The same list sorted by `key` from page 1 (toggling the direction when it is
    /// already sorted by `key`).
    pub fn sort_href(&self, key: &str) -> String {
        let current = self
            .params
            .iter()
            .find(|(k, _)| k == "sort")
            .map(|(_, v)| v.as_str());
        let dir = self
            .params
            .iter()
            .find(|(k, _)| k == "dir")
            .map(|(_, v)| v.as_str());
        let new_dir = if current == Some(key) && dir != Some("desc") {
            "desc"
        } else {
            "asc"
        };
        let mut p = self.clone();
        p.params.retain(|(k, _)| k != "sort" && k != "dir");
        p.href(&[("sort", key.to_string()), ("dir", new_dir.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_filters() {
        let p = Pager::new(
            "/directory",
            &[("q", "ann lee"), ("status", ""), ("sort", "email")],
            2,
            120,
        );
        assert_eq!(p.pages(), 3);
        assert_eq!(p.prev_href(), "/directory?q=ann%20lee&sort=email&page=1");
        assert_eq!(p.next_href(), "/directory?q=ann%20lee&sort=email&page=3");
        assert_eq!((p.first_item(), p.last_item()), (51, 100));
        assert_eq!(
            p.sort_href("email"),
            "/directory?q=ann%20lee&sort=email&dir=desc"
        );
        assert_eq!(
            p.sort_href("name"),
            "/directory?q=ann%20lee&sort=name&dir=asc"
        );
        let last = Pager::new("/x", &[], 3, 120);
        assert_eq!(last.next_href(), "");
    }

    #[test]
    fn a_page_past_the_end_leads_back_to_the_last_one() {
        let p = Pager::new("/x", &[("q", "a")], 99_999_999_999, 120);
        assert_eq!(p.page, MAX_PAGE);
        assert!(p.past_end());
        assert_eq!(p.prev_href(), "/x?q=a&page=3");
        assert_eq!(p.next_href(), "");
        assert_eq!(offset(i64::MAX, 200), (MAX_PAGE - 1) * 200);
        assert!(!Pager::new("/x", &[], 3, 120).past_end());
        assert!(
            !Pager::new("/x", &[], 1, 0).past_end(),
            "an empty list is on its page 1"
        );
    }
}
