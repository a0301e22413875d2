//! Two `portalops serve` processes on one PostgreSQL and one upload directory, behind a real
//! nginx running the shipped `deploy/nginx.conf` (TLS with a throwaway certificate): a
//! session made through one instance is served by the other, a record written through one
//! is read through the other, and with one instance killed the other carries on and no
//! acknowledged write is lost. HTTPS requests go through curl (the test client speaks
//! plain HTTP only).

use std::process::{Child, Command, Stdio};

use diesel::Connection as _;
use std::time::{Duration, Instant};

use crate::common::PASSWORD;
use crate::operations::{free_port, wait_healthy, Binary};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; a SIGKILLed master leaves them running
        // (they kept the test binary's output pipe open, so a wrapper such as `faketime`
        // never saw the run end). SIGKILL only if it has not gone in five seconds.
        let _ = portalops::sys::signal(self.0.id() as i32, libc::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_bin() -> &'static str {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is not installed: run scripts/test.sh, which installs it")
}

/// deploy/nginx.conf with this test's ports, certificate and cache directory.
fn site_config(dir: &std::path::Path, http: u16, https: u16, a: u16, b: u16) -> String {
    let shipped = include_str!("../../deploy/nginx.conf");
    let replacements = [
        (
            "server 127.0.0.1:8000 max_fails=1 fail_timeout=10s;",
            format!("server 127.0.0.1:{a} max_fails=1 fail_timeout=10s;"),
        ),
        (
            "# server 127.0.0.1:8001 max_fails=1 fail_timeout=10s;",
            format!("server 127.0.0.1:{b} max_fails=1 fail_timeout=10s;"),
        ),
        (
            "/var/cache/nginx/portalops",
            dir.join("cache").display().to_string(),
        ),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:80;", String::new()),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{https} ssl http2;"),
        ),
        ("listen [::]:443 ssl http2;", String::new()),
        (
            "/etc/ssl/portalops/fullchain.pem",
            dir.join("cert.pem").display().to_string(),
        ),
        (
            "/etc/ssl/portalops/privkey.pem",
            dir.join("key.pem").display().to_string(),
        ),
    ];
    let mut conf = shipped.to_string();
    for (from, to) in replacements {
        assert!(
            conf.contains(from),
            "deploy/nginx.conf no longer has {from:?}"
        );
        conf = conf.replace(from, &to);
    }
    conf
}

fn start_nginx(dir: &std::path::Path, site: &str) -> Nginx {
    let cert = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl");
    assert!(
        cert.status.success(),
        "{}",
        String::from_utf8_lossy(&cert.stderr)
    );
    for sub in ["cache", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("dir");
        // nginx's workers run as an unprivileged user when the master is root.
        std::fs::set_permissions(
            dir.join(sub),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .expect("chmod");
    }
    std::fs::write(dir.join("site.conf"), site).expect("site");
    let tmp = dir.join("tmp").display().to_string();
    let main = format!(
        "worker_processes 1;\npid {pid};\nerror_log {err} info;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log {access};\n  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n  \
         fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n  \
         include {site};\n}}\n",
        pid = dir.join("nginx.pid").display(),
        err = dir.join("error.log").display(),
        access = dir.join("access.log").display(),
        site = dir.join("site.conf").display(),
    );
    std::fs::write(dir.join("nginx.conf"), main).expect("main");
    let check = Command::new(nginx_bin())
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .expect("nginx -t");
    assert!(
        check.status.success(),
        "the shipped nginx configuration does not load:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(nginx_bin())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx");
    Nginx(child)
}

/// A curl with a cookie jar, over HTTPS with the throwaway certificate.
struct Curl {
    jar: std::path::PathBuf,
    base: String,
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Curl {
    fn request(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "--max-time", "20", "-D", "-"])
            .arg("-b")
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar);
        for (k, v) in form {
            cmd.arg("--data-urlencode").arg(format!("{k}={v}"));
        }
        let out = cmd
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = headers
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Reply {
            status,
            headers: headers.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }

    /// This jar's session cookie, as a `Cookie` header value.
    fn session_cookie(&self) -> String {
        let jar = std::fs::read_to_string(&self.jar).expect("cookie jar");
        jar.lines()
            .filter(|l| !l.starts_with('#') || l.starts_with("#HttpOnly_"))
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 7).then(|| format!("{}={}", f[5], f[6]))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn csrf(&self, path: &str) -> String {
        let page = self.request(path, &[]);
        let re = regex_lite::Regex::new(r#"name="csrf_token" value="([^"]+)""#).expect("re");
        re.captures(&page.body)
            .unwrap_or_else(|| panic!("no form at {path}: {} {}", page.status, page.body))[1]
            .to_string()
    }
}

fn requests_served(bin: &Binary, path: &str) -> usize {
    bin.log()
        .lines()
        .filter(|l| l.contains(&format!("path=\"{path}\"")) && l.contains("status=200"))
        .filter(|l| l.contains(" request "))
        .count()
}

#[actix_web::test]
async fn two_instances_behind_nginx_share_sessions_and_data_and_survive_losing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::common::empty_database();
    let uploads = dir.path().join("uploads");
    let (http, https) = (free_port(), free_port());
    let smtp = std::net::TcpListener::bind("127.0.0.1:0").expect("smtp");
    let smtp_port = smtp.local_addr().expect("addr").port();
    let inbox = crate::common::smtp::serve(smtp);
    let public = format!("https://127.0.0.1:{https}");

    let env = || -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", db.clone()),
            ("PORTALOPS_UPLOAD_DIR", uploads.display().to_string()),
            ("PORTALOPS_PUBLIC_URL", public.clone()),
            ("PORTALOPS_TRUSTED_PROXIES", "127.0.0.1".into()),
            (
                "PORTALOPS_JWT_SECRET",
                "shared-jwt-secret-for-both-instances-0123456789".into(),
            ),
            ("PORTALOPS_SESSION_KEY", "s".repeat(64)),
            (
                "PORTALOPS_ENCRYPTION_KEY",
                "shared-encryption-key-for-both-instances-01".into(),
            ),
            ("PORTALOPS_LOG", "info".into()),
            ("PORTALOPS_SCHEDULER", "false".into()),
            ("PORTALOPS_SMTP_HOST", "127.0.0.1".into()),
            ("PORTALOPS_SMTP_PORT", smtp_port.to_string()),
            ("PORTALOPS_SMTP_TLS", "none".into()),
        ]
    };
    let a = Binary::start_with(&dir.path().join("a"), &env());
    let b = Binary::start_with(&dir.path().join("b"), &env());
    let port_of = |base: String| -> u16 {
        base.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    };
    let a_port = port_of(wait_healthy(&a).await);
    let b_port = port_of(wait_healthy(&b).await);
    // Both started at once on an empty database: one migrated under the advisory lock while
    // the other waited; each migration is recorded once.
    let migrations: i64 = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations"),
        &mut diesel::PgConnection::establish(&db).expect("db"),
    )
    .map(|c: Count| c.n)
    .expect("migrations");
    let shipped = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
        &portalops::db::MIGRATIONS,
    )
    .expect("migrations")
    .len();
    assert_eq!(migrations, shipped as i64);
    let admin = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .args([
            "admin",
            "create",
            "--username",
            "ops",
            "--email",
            "ops@example.com",
        ])
        .env("DATABASE_URL", &db)
        .env("PORTALOPS_DATA_DIR", dir.path().join("admin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("admin create");
    {
        use std::io::Write as _;
        let mut admin = admin;
        writeln!(admin.stdin.take().expect("stdin"), "{PASSWORD}").expect("password");
        let out = admin.wait_with_output().expect("admin create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let _nginx = start_nginx(
        dir.path(),
        &site_config(dir.path(), http, https, a_port, b_port),
    );

    let web = Curl {
        jar: dir.path().join("cookies"),
        base: public.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while web.request("/healthz", &[]).status != 200 {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Plain HTTP is sent to HTTPS; HTTPS answers carry HSTS.
    let plain = Curl {
        jar: dir.path().join("plain-cookies"),
        base: format!("http://127.0.0.1:{http}"),
    }
    .request("/login", &[]);
    assert_eq!(plain.status, 301);
    assert!(
        plain.headers.contains("location: https://"),
        "{}",
        plain.headers
    );

    // Log in through nginx; the session is good on both instances.
    let token = web.csrf("/login");
    let login = web.request(
        "/login",
        &[
            ("csrf_token", &token),
            ("username", "ops"),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    );
    assert_eq!(login.status, 303, "{}", login.body);
    assert!(
        login.headers.contains("strict-transport-security"),
        "{}",
        login.headers
    );
    for _ in 0..6 {
        let r = web.request("/inventory", &[]);
        assert_eq!(r.status, 200, "{}", r.headers);
    }
    assert!(
        requests_served(&a, "/inventory") > 0,
        "instance a served none"
    );
    assert!(
        requests_served(&b, "/inventory") > 0,
        "instance b served none"
    );

    // Written through one, read through the other (round robin alternates).
    let mut created = Vec::new();
    for name in ["Zephyr One", "Zephyr Two"] {
        let token = web.csrf("/inventory/services/new");
        let r = web.request(
            "/inventory/services",
            &[
                ("csrf_token", &token),
                ("name", name),
                ("vendor", "Zephyr"),
                ("category", "Ops"),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.body);
        created.push(name);
    }
    for _ in 0..4 {
        let list = web.request("/inventory?q=zephyr", &[]);
        assert!(
            created.iter().all(|n| list.body.contains(n)),
            "{}",
            list.body
        );
    }

    // The static stylesheet is cached by nginx.
    let css = regex_lite::Regex::new(r#"/static/portalops\.css\?v=\d+"#)
        .expect("re")
        .find(&web.request("/login", &[]).body)
        .expect("stylesheet link")
        .as_str()
        .to_string();
    web.request(&css, &[]);
    let cached = web.request(&css, &[]);
    assert!(
        cached.headers.contains("x-cache-status: hit"),
        "{}",
        cached.headers
    );
    assert!(
        cached.headers.contains("max-age=31536000"),
        "{}",
        cached.headers
    );

    // A feed URL (its path is its secret) stays out of nginx's access log.
    let feed = web.request("/calendar/feed/not-a-real-feed-token.ics", &[]);
    assert_eq!(feed.status, 404);
    let access = std::fs::read_to_string(dir.path().join("access.log")).expect("access log");
    assert!(access.contains("/inventory"), "{access}");
    assert!(!access.contains("not-a-real-feed-token"), "{access}");

    // A reminder scan and an outbox drain started on both instances at the same moment
    // (Settings → Scheduler → Run now, sent to each instance directly) email once.
    diesel::connection::SimpleConnection::batch_execute(
        &mut diesel::PgConnection::establish(&db).expect("db"),
        "INSERT INTO services (name, vendor, category) VALUES ('Renewing', 'R', 'Ops');
             INSERT INTO products (service_id, name, license_model)
               SELECT id, 'Renewing Pro', 'flat' FROM services WHERE name = 'Renewing';
             INSERT INTO billing_records (product_id, cycle, amount, currency, payment_method, next_renewal_on)
               SELECT id, 'annual', 100, 'EUR', 'invoice', current_date + 7 FROM products WHERE name = 'Renewing Pro';",
    )
    .expect("a renewal in 7 days");
    let cookie = web.session_cookie();
    let direct = |port: u16, path: &str, form: &[(&str, String)]| -> u16 {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "30",
        ])
        .arg("-H")
        .arg(format!("Cookie: {cookie}"));
        for (k, v) in form {
            cmd.arg("--data-urlencode").arg(format!("{k}={v}"));
        }
        let out = cmd
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
    };
    let token = web.csrf("/settings/scheduler");
    for job in ["reminders", "outbox"] {
        let path = format!("/settings/scheduler/{job}/run");
        let both: Vec<u16> = std::thread::scope(|s| {
            let runs: Vec<_> = [a_port, b_port]
                .into_iter()
                .map(|port| {
                    let (path, token) = (path.clone(), token.clone());
                    let direct = &direct;
                    s.spawn(move || direct(port, &path, &[("csrf_token", token)]))
                })
                .collect();
            runs.into_iter().map(|r| r.join().expect("run")).collect()
        });
        assert_eq!(both, vec![303, 303], "{job} started on both instances");
    }
    // Whatever the skipped drain left, one more finishes.
    assert_eq!(
        direct(
            a_port,
            "/settings/scheduler/outbox/run",
            &[("csrf_token", token.clone())]
        ),
        303
    );
    let renewal_mails: Vec<_> = inbox
        .to("ops@example.com")
        .into_iter()
        .filter(|m| m.data.contains("Renewing"))
        .collect();
    assert_eq!(renewal_mails.len(), 1, "the renewal reminder went out once");

    // Kill instance a outright: the other carries on, sessions and writes included.
    let mut a = a;
    a.child.kill().expect("kill a");
    a.child.wait().expect("reap a");
    for _ in 0..4 {
        assert_eq!(web.request("/inventory", &[]).status, 200);
    }
    let token = web.csrf("/inventory/services/new");
    let r = web.request(
        "/inventory/services",
        &[
            ("csrf_token", &token),
            ("name", "Zephyr Three"),
            ("vendor", "Zephyr"),
            ("category", "Ops"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    created.push("Zephyr Three");
    let list = web.request("/inventory?q=zephyr", &[]);
    assert!(
        created.iter().all(|n| list.body.contains(n)),
        "{}",
        list.body
    );
    let mut conn = diesel::Connection::establish(&db).expect("db");
    let stored: i64 = diesel::RunQueryDsl::get_result(
        diesel::QueryDsl::count(diesel::QueryDsl::filter(
            portalops::db::schema::services::table,
            diesel::ExpressionMethods::eq(portalops::db::schema::services::vendor, "Zephyr"),
        )),
        &mut conn as &mut diesel::PgConnection,
    )
    .expect("count");
    assert_eq!(stored, 3, "every acknowledged write is in the database");
    drop(b);
}
