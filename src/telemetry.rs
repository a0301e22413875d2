//! What is known about the request being handled, for logs and error pages: its id and the
//! number of SQL statements it ran. Set by the outer frame (`web::request_log`), added to by
//! `db::run`, read by `error` for the id an error page shows. Below `db`, `error` and `web`,
//! so none of them imports another for it.

use std::cell::Cell;
use std::future::Future;

/// The request being handled.
struct RequestInfo {
    id: String,
    queries: Cell<u32>,
}

tokio::task_local! {
    static REQUEST: RequestInfo;
}

/// Runs `fut` as the request `id`; returns its output and the SQL statements it ran.
pub async fn in_request<F: Future>(id: String, fut: F) -> (F::Output, u32) {
    let info = RequestInfo {
        id,
        queries: Cell::new(0),
    };
    REQUEST
        .scope(info, async move {
            let out = fut.await;
            (out, REQUEST.with(|r| r.queries.get()))
        })
        .await
}

/// The id of the request being handled, or "-" outside a request.
pub fn current_request_id() -> String {
    REQUEST
        .try_with(|r| r.id.clone())
        .unwrap_or_else(|_| "-".into())
}

/// Adds to the number of SQL statements the current request ran.
pub fn add_queries(n: u32) {
    let _ = REQUEST.try_with(|r| r.queries.set(r.queries.get() + n));
}
