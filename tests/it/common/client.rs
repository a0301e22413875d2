//! A small cookie-keeping HTTP client over awc that does not follow redirects and reads
//! the CSRF token out of the forms it is shown, as a browser would submit them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use awc::http::header::{HeaderMap, COOKIE, SET_COOKIE};

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn location(&self) -> String {
        self.header("location").unwrap_or_default()
    }

    /// The value of the first hidden `csrf_token` field on the page.
    pub fn csrf_token(&self) -> Option<String> {
        let re = regex_lite::Regex::new(r#"name="csrf_token" value="([^"]+)""#).expect("regex");
        re.captures(&self.body).map(|c| c[1].to_string())
    }
}

#[derive(Clone)]
pub struct Client {
    base: String,
    http: awc::Client,
    cookies: Rc<RefCell<BTreeMap<String, String>>>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = awc::Client::builder()
            .disable_redirects()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        Self {
            base: base.to_string(),
            http,
            cookies: Rc::default(),
        }
    }

    /// The cookie jar as `name=value; …`, to save and replay later.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn set_cookie_header(&self, saved: &str) {
        let mut jar = self.cookies.borrow_mut();
        jar.clear();
        for part in saved.split("; ").filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once('=') {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }

    fn remember(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.borrow_mut();
        for v in headers.get_all(SET_COOKIE) {
            let Ok(s) = v.to_str() else { continue };
            let first = s.split(';').next().unwrap_or_default();
            if let Some((name, value)) = first.split_once('=') {
                let removed = s.contains("Max-Age=0") || value.is_empty();
                if removed {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
    }

    async fn send(&self, req: awc::ClientRequest, body: Option<String>) -> Resp {
        let mut req = req;
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            req = req.insert_header((COOKIE, cookies));
        }
        let mut res = match body {
            Some(b) => req
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .send_body(b)
                .await
                .expect("request"),
            None => req.send().await.expect("request"),
        };
        let headers = res.headers().clone();
        self.remember(&headers);
        let bytes = res.body().limit(10 * 1024 * 1024).await.expect("body");
        Resp {
            status: res.status().as_u16(),
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A GET that reports a connection failure as `None` (for polling a starting server).
    pub async fn try_get(&self, path: &str) -> Option<Resp> {
        let mut res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .ok()?;
        let body = res.body().await.ok()?;
        Some(Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// An API call: optional JSON body and bearer token, and no cookies (cookies never
    /// authenticate the API).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Resp {
        self.api_with_headers(method, path, bearer, body, &[]).await
    }

    /// `api` with extra request headers (e.g. a forged `X-Forwarded-For`).
    pub async fn api_with_headers(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let typed = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        let mut all = headers.to_vec();
        if body.is_some() && !typed {
            all.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string());
        self.raw(method, path, bearer, body.as_deref(), &all).await
    }

    /// A request with exactly this body (any text, JSON or not) and these headers.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = bearer {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut res = match body {
            Some(b) => req.send_body(b.to_string()).await.expect("request"),
            None => req.send().await.expect("request"),
        };
        let bytes = res.body().limit(10 * 1024 * 1024).await.expect("body");
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Uploads `content` as the multipart part `file` with a bearer token (no cookies).
    pub async fn api_upload(
        &self,
        path: &str,
        bearer: &str,
        filename: &str,
        content: &[u8],
    ) -> Resp {
        let (content_type, body) = multipart_file(filename, content);
        let mut res = self
            .http
            .post(format!("{}{path}", self.base))
            .insert_header(("authorization", format!("Bearer {bearer}")))
            .insert_header(("content-type", content_type))
            .send_body(body)
            .await
            .expect("upload");
        let bytes = res.body().limit(10 * 1024 * 1024).await.expect("body");
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(format!("{}{path}", self.base)), None)
            .await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        extra_headers: &[(&str, &str)],
    ) -> Resp {
        let body = serde_urlencoded::to_string(fields).expect("encode");
        let mut req = self.http.post(format!("{}{path}", self.base));
        for (k, v) in extra_headers {
            req = req.insert_header((*k, *v));
        }
        self.send(req, Some(body)).await
    }

    /// Opens `form_page`, takes its CSRF token, and posts `fields` with it to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
        let page = self.get(form_page).await;
        let token = page.csrf_token().unwrap_or_else(|| {
            panic!(
                "no CSRF token on {form_page} (status {}): {}",
                page.status, page.body
            )
        });
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all, &[]).await
    }

    /// Uploads `content` as the `file` field of a multipart form to `path`, as a browser's
    /// file upload would: the form's hidden `csrf_token` (when given) is the first part.
    pub async fn upload(
        &self,
        path: &str,
        csrf_token: Option<&str>,
        filename: &str,
        content: &[u8],
    ) -> Resp {
        let (content_type, body) = multipart_form(csrf_token, filename, content);
        self.post_body(path, &content_type, body, &[]).await
    }

    /// Posts `body` as it is, with the session's cookies and these headers.
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        extra_headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.post(format!("{}{path}", self.base));
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            req = req.insert_header((COOKIE, cookies));
        }
        for (k, v) in extra_headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = req
            .insert_header(("content-type", content_type))
            .send_body(body)
            .await
            .expect("upload");
        let headers = res.headers().clone();
        self.remember(&headers);
        let bytes = res.body().limit(10 * 1024 * 1024).await.expect("body");
        Resp {
            status: res.status().as_u16(),
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    pub async fn logout(&self) -> Resp {
        self.submit("/account", "/logout", &[]).await
    }
}

/// A multipart body with one part, `file`: its content type and bytes.
fn multipart_file(filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    multipart_form(None, filename, content)
}

/// A multipart body: a `csrf_token` part when given, then the `file` part.
pub fn multipart_form(
    csrf_token: Option<&str>,
    filename: &str,
    content: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----portalops-test-boundary";
    let mut body = Vec::new();
    if let Some(token) = csrf_token {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
