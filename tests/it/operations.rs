//! Operations: health checks, the real binary's start-up, first-run URL, shell commands
//! against a running instance, graceful shutdown, and data surviving a restart.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestApp, PASSWORD};
use diesel::prelude::*;
use portalops::db::embedded::{create_database_if_missing, EmbeddedOptions, EmbeddedPostgres};

#[actix_web::test]
async fn healthz_answers_200_when_the_database_answers_and_503_when_it_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pg =
        EmbeddedPostgres::start(dir.path(), &EmbeddedOptions { ephemeral: true }).expect("start");
    create_database_if_missing(&pg.url("postgres"), "health", None).expect("db");
    let url = pg.url("health");
    portalops::db::migrate(&mut PgConnection::establish(&url).expect("connect")).expect("migrate");
    let app = TestApp::spawn_on(url, &[]).await;
    let c = app.client();
    let up = c.get("/healthz").await;
    assert_eq!(up.status, 200);
    assert!(up.body.contains(r#""database":"ok""#));

    pg.stop();
    let down = c.get("/healthz").await;
    assert_eq!(down.status, 503);
    assert!(down.body.contains("unreachable"));

    let _pg =
        EmbeddedPostgres::start(dir.path(), &EmbeddedOptions { ephemeral: true }).expect("restart");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if c.get("/healthz").await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the pool did not recover");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Binary {
    child: Child,
    log: std::path::PathBuf,
}

impl Binary {
    fn start(data: &std::path::Path, port: u16) -> Self {
        let log = data.with_extension(format!("{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_portalops"))
            .arg("serve")
            .env("PORTALOPS_DATA_DIR", data)
            .env("PORTALOPS_BIND", format!("127.0.0.1:{port}"))
            .env_remove("DATABASE_URL")
            .stdout(out.try_clone().expect("clone"))
            .stderr(out)
            .spawn()
            .expect("spawn portalops");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "portalops did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn wait_healthy(c: &crate::common::Client, bin: &Binary) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if c.try_get("/healthz").await.is_some_and(|r| r.status == 200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "portalops did not become healthy:\n{}",
            bin.log()
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn the_binary_runs_embedded_postgres_prints_a_setup_url_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let bin = Binary::start(&data, port);
    let c = crate::common::Client::new(&base);
    let c_probe = crate::common::Client::new(&base);
    wait_healthy(&c_probe, &bin).await;

    // First run: a one-time setup URL on the console.
    let log = bin.log();
    let url_re = regex_lite::Regex::new(r"(/setup\?token=[A-Za-z0-9_-]+)").expect("re");
    let setup = url_re
        .captures(&log)
        .unwrap_or_else(|| panic!("no setup URL in:\n{log}"))[1]
        .to_string();
    let created = c
        .submit(
            &setup,
            "/setup",
            &[
                ("token", setup.trim_start_matches("/setup?token=")),
                ("full_name", "First Admin"),
                ("email", "first@example.com"),
                ("username", "first"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);

    // A shell command while the server runs uses the running cluster.
    let mut admin = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .args([
            "admin",
            "create",
            "--username",
            "second",
            "--email",
            "second@example.com",
            "--name",
            "Second Admin",
        ])
        .env("PORTALOPS_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("admin create");
    writeln!(admin.stdin.take().expect("stdin"), "{PASSWORD}").expect("write password");
    let out = admin.wait_with_output().expect("admin create output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Admin 'second' created"));

    let status = bin.terminate();
    assert!(status.success(), "clean exit on SIGTERM");
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "the embedded PostgreSQL was stopped on shutdown"
    );

    // Second start: same data, no setup URL, both admins log in.
    let bin = Binary::start(&data, port);
    wait_healthy(&c_probe, &bin).await;
    assert!(
        !bin.log().contains("/setup?token="),
        "no setup URL once an Admin exists"
    );
    assert_eq!(
        crate::common::Client::new(&base)
            .login("first", PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(
        crate::common::Client::new(&base)
            .login("second", PASSWORD)
            .await
            .status,
        303
    );
    assert!(bin.terminate().success());
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .env("PORTALOPS_BIND", "not-an-address")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("PORTALOPS_BIND"));
}
