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
    // Load balancers probe with HEAD as often as with GET.
    let head = c.api("HEAD", "/healthz", None, None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

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

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `portalops serve` as a child process, its output in a log file.
pub(crate) struct Binary {
    pub(crate) child: Child,
    log: std::path::PathBuf,
}

impl Binary {
    fn start(data: &std::path::Path) -> Self {
        Self::start_with(data, &[])
    }

    /// With `env` on top (e.g. a `DATABASE_URL` shared with other instances). It listens
    /// on a port the kernel picks (no race with other tests for a "free" one); `wait_healthy`
    /// reads it from the log.
    pub(crate) fn start_with(data: &std::path::Path, env: &[(&str, String)]) -> Self {
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = data.with_extension(format!("{n}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portalops"));
        cmd.arg("serve")
            .env("PORTALOPS_DATA_DIR", data)
            .env("PORTALOPS_BIND", "127.0.0.1:0")
            .env_remove("DATABASE_URL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(out.try_clone().expect("clone"))
            .stderr(out)
            .spawn()
            .expect("spawn portalops");
        Self { child, log }
    }

    pub(crate) fn log(&self) -> String {
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

/// Waits until the binary listens and answers `/healthz`; returns its base URL.
pub(crate) async fn wait_healthy(bin: &Binary) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let listening =
        regex_lite::Regex::new(r"PortalOps listening addr=(127\.0\.0\.1:\d+)").expect("re");
    loop {
        let log = bin.log();
        if let Some(addr) = listening.captures(&log).map(|c| c[1].to_string()) {
            let base = format!("http://{addr}");
            let probe = crate::common::Client::new(&base);
            if probe
                .try_get("/healthz")
                .await
                .is_some_and(|r| r.status == 200)
            {
                return base;
            }
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
    let bin = Binary::start(&data);
    let base = wait_healthy(&bin).await;
    let c = crate::common::Client::new(&base);

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
    let bin = Binary::start(&data);
    let base = wait_healthy(&bin).await;
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

    // `portalops backup` while it serves (attached to the running embedded cluster), then
    // `portalops restore` into a new data directory, which then serves the same accounts.
    let backups = dir.path().join("backups");
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("backup")
        .arg("--out")
        .arg(&backups)
        .env("PORTALOPS_DATA_DIR", &data)
        .output()
        .expect("backup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("archive path")
        .trim()
        .to_string();
    assert!(archive.ends_with(".tar"), "{archive}");
    assert!(bin.terminate().success());

    let restored = dir.path().join("restored");
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("restore")
        .arg(&archive)
        .env("PORTALOPS_DATA_DIR", &restored)
        .output()
        .expect("restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored"));
    let again = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("restore")
        .arg(&archive)
        .env("PORTALOPS_DATA_DIR", &restored)
        .output()
        .expect("second restore");
    assert!(
        !again.status.success(),
        "a second restore onto data is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let bin = Binary::start(&restored);
    let base = wait_healthy(&bin).await;
    assert_eq!(
        crate::common::Client::new(&base)
            .login("second", PASSWORD)
            .await
            .status,
        303,
        "the restored data directory serves the same accounts"
    );
    assert!(bin.terminate().success());
}

/// Removes a cluster kept outside its data directory when the test ends, however it ends.
struct RemoveOnDrop(Vec<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for dir in self.0.drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Root who clones into /root (mode 0700) and runs the README's command: PostgreSQL runs as
/// `postgres`, which cannot enter /root, so the cluster lives in a private directory of its
/// own; /root's permissions stay as they were. Tests run as root here and in CI; as an
/// ordinary user the cluster stays in the data directory, as before.
#[actix_web::test]
async fn a_data_directory_under_a_private_home_serves_without_loosening_the_home() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let before = std::fs::metadata(home.path()).expect("stat");
    let data = home.path().join("portalops").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let root = portalops::sys::euid() == 0;
    let mut cleanup = RemoveOnDrop(Vec::new());

    // Started from the clone (inside the home), as `./scripts/run.sh` does.
    let log = home.path().join("first-start.log");
    let out = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("serve")
        .current_dir(home.path().join("portalops"))
        .env("PORTALOPS_DATA_DIR", "data")
        .env("PORTALOPS_BIND", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("spawn portalops");
    let bin = Binary { child, log };
    let base = wait_healthy(&bin).await;
    let location = data.join(portalops::db::embedded::LOCATION_FILE);
    let pgdata = if root {
        let recorded = std::fs::read_to_string(&location).expect("the cluster's place is recorded");
        let pgdata = std::path::PathBuf::from(recorded.trim());
        cleanup
            .0
            .extend(pgdata.parent().map(std::path::Path::to_path_buf));
        assert!(
            pgdata.starts_with(portalops::db::embedded::ROOT_CLUSTERS_DIR),
            "{}",
            pgdata.display()
        );
        let postgres_uid = std::fs::read_to_string("/etc/passwd")
            .expect("passwd")
            .lines()
            .find_map(|l| {
                l.strip_prefix("postgres:")?
                    .split(':')
                    .nth(1)?
                    .parse::<u32>()
                    .ok()
            })
            .expect("postgres user");
        for dir in [&pgdata, &pgdata.parent().expect("parent").to_path_buf()] {
            let m = std::fs::metadata(dir).expect("stat cluster dir");
            assert_eq!(m.uid(), postgres_uid, "{}", dir.display());
            assert_eq!(m.mode() & 0o7777, 0o700, "{} is private", dir.display());
        }
        pgdata
    } else {
        assert!(!location.exists());
        data.join("postgres")
    };
    assert!(pgdata.join("PG_VERSION").exists());

    // A command while it serves attaches to the running cluster, wherever it lives.
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("backup")
        .arg("--out")
        .arg(home.path().join("backups"))
        .env("PORTALOPS_DATA_DIR", &data)
        .output()
        .expect("backup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        crate::common::Client::new(&base)
            .get("/healthz")
            .await
            .status,
        200
    );
    assert!(bin.terminate().success());
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "the embedded PostgreSQL was stopped on shutdown"
    );

    // A later start finds the same cluster (the first Admin's setup is still pending: no
    // second cluster was made).
    let bin = Binary::start(&data);
    wait_healthy(&bin).await;
    assert!(
        bin.log().contains(&pgdata.display().to_string()),
        "{}",
        bin.log()
    );
    assert!(bin.terminate().success());

    // `portalops restore` into a new data directory under the same private home.
    let archive = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("archive path")
        .trim()
        .to_string();
    let restored = home.path().join("portalops").join("restored");
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("restore")
        .arg(&archive)
        .env("PORTALOPS_DATA_DIR", &restored)
        .output()
        .expect("restore");
    if let Ok(recorded) =
        std::fs::read_to_string(restored.join(portalops::db::embedded::LOCATION_FILE))
    {
        cleanup.0.extend(
            std::path::Path::new(recorded.trim())
                .parent()
                .map(std::path::Path::to_path_buf),
        );
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored"));

    // A recorded cluster that has gone is not silently replaced by an empty one.
    let orphan = home.path().join("portalops").join("orphan");
    std::fs::create_dir_all(&orphan).expect("orphan dir");
    std::fs::write(
        orphan.join(portalops::db::embedded::LOCATION_FILE),
        format!(
            "{}/gone/postgres\n",
            portalops::db::embedded::ROOT_CLUSTERS_DIR
        ),
    )
    .expect("record");
    let out = Command::new(env!("CARGO_BIN_EXE_portalops"))
        .arg("backup")
        .arg("--out")
        .arg(home.path().join("orphan-backups"))
        .env("PORTALOPS_DATA_DIR", &orphan)
        .output()
        .expect("backup");
    if root {
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("holds no PostgreSQL cluster any more"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!orphan.join("postgres").exists());
    } else {
        // Not root: the cluster is always `<data>/postgres`; the record means nothing.
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let after = std::fs::metadata(home.path()).expect("stat");
    assert_eq!(
        after.mode() & 0o7777,
        0o700,
        "the home directory stays private"
    );
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
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

/// Every table's content as one hash (rows as text, sorted), and its row count; `filter`
/// narrows one table (`id <= n`).
fn table_digest(conn: &mut diesel::PgConnection, table: &str, filter: &str) -> (i64, String) {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        md5: String,
    }
    let d: Digest = diesel::sql_query(format!(
        "SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS md5
         FROM public.\"{table}\" AS t {filter}"
    ))
    .get_result(conn)
    .expect("digest");
    (d.n, d.md5)
}

/// A backup taken while the app writes restores to exactly the database of its snapshot
/// and the same upload bytes; a damaged archive and a target holding data are refused with
/// nothing changed; an archive from an older version gets the newer migrations.
#[actix_web::test]
async fn a_backup_taken_while_writing_restores_identically_and_damage_is_refused() {
    use diesel::prelude::*;
    use portalops::backup::{backup, restore, RestoreOptions};
    use portalops::db::schema::notifications;

    let app = TestApp::spawn().await;
    let demo = portalops::demo::load(
        &mut app.conn(),
        &portalops::demo::DemoOptions {
            scale: 0.02,
            replace: false,
        },
    )
    .expect("demo data");
    // Two uploads through the API, so the files and their rows exist.
    let c = app.client();
    let r = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "admin1", "password": demo.password})),
        )
        .await;
    let token = serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let pdf = b"%PDF-1.4\n% invoice 1\n".to_vec();
    let png = b"\x89PNG\r\n\x1a\n fake image".to_vec();
    for (name, bytes) in [("a.pdf", &pdf), ("b.png", &png)] {
        let r = c
            .api_upload("/api/v1/billing-records/1/attachments", &token, name, bytes)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // A writer keeps adding rows while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, url) = (stop.clone(), app.db_url.clone());
        std::thread::spawn(move || {
            let mut conn = diesel::PgConnection::establish(&url).expect("writer");
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                diesel::insert_into(notifications::table)
                    .values((
                        notifications::user_id.eq(1_i64),
                        notifications::kind.eq("test.write"),
                        notifications::title.eq(format!("write {n}")),
                        notifications::link.eq("/"),
                    ))
                    .execute(&mut conn)
                    .expect("write");
                n += 1;
            }
            n
        })
    };
    let out = tempfile::tempdir().expect("out");
    let url = app.db_url.clone();
    let uploads = app.uploads.path().to_path_buf();
    let outdir = out.path().to_path_buf();
    let done = actix_web::rt::task::spawn_blocking(move || backup(&url, &uploads, &outdir))
        .await
        .expect("join")
        .expect("backup");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().expect("writer");
    assert!(writes > 0);
    assert_eq!(done.manifest.uploads.len(), 2);
    assert!(done.manifest.tables["users"] > 100);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&done.archive)
            .expect("archive")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "owner-only archive");

    // Restore into a fresh (migrated, empty) database and upload directory.
    let target = crate::common::fresh_database();
    let target_uploads = tempfile::tempdir().expect("uploads");
    let summary = restore(
        &done.archive,
        &target,
        target_uploads.path(),
        RestoreOptions::default(),
    )
    .expect("restore");
    assert!(summary.replaced.is_empty());
    let mut source = app.conn();
    let mut restored = diesel::PgConnection::establish(&target).expect("target");
    let restored_writes: i64 = notifications::table
        .filter(notifications::kind.eq("test.write"))
        .count()
        .get_result(&mut restored)
        .expect("count");
    let max_id: Option<i64> = notifications::table
        .select(diesel::dsl::max(notifications::id))
        .first(&mut restored)
        .expect("max");
    for (table, rows) in &done.manifest.tables {
        let filter = if table == "notifications" {
            format!("WHERE id <= {}", max_id.unwrap_or(0))
        } else {
            String::new()
        };
        let want = table_digest(&mut source, table, &filter);
        let got = table_digest(&mut restored, table, "");
        assert_eq!(got.0, *rows, "{table}: the manifest's count");
        assert_eq!(got, want, "{table}: identical content");
    }
    assert!(restored_writes <= writes as i64);
    for file in &done.manifest.uploads {
        let a = std::fs::read(app.uploads.path().join(&file.name)).expect("source file");
        let b = std::fs::read(target_uploads.path().join(&file.name)).expect("restored file");
        assert_eq!(a, b, "{}", file.name);
    }
    drop(restored);

    // A target holding data is refused, and nothing changes.
    let before = table_digest(&mut source, "users", "");
    let err = restore(
        &done.archive,
        &app.db_url,
        app.uploads.path(),
        RestoreOptions::default(),
    )
    .expect_err("refused");
    assert!(
        err.contains("not empty") && err.contains("users") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(table_digest(&mut source, "users", ""), before);

    // A damaged archive (one byte of the dump changed) is refused before anything is touched.
    let damaged = out.path().join("damaged.tar");
    {
        let mut input = tar::Archive::new(std::fs::File::open(&done.archive).expect("open"));
        let mut output = tar::Builder::new(std::fs::File::create(&damaged).expect("create"));
        for entry in input.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("read");
            let name = entry.path().expect("path").into_owned();
            if name.to_str() == Some("database.dump") {
                let mid = data.len() / 2;
                data[mid] ^= 0xff;
            }
            let mut header = entry.header().clone();
            output
                .append_data(&mut header, &name, data.as_slice())
                .expect("append");
        }
        output.finish().expect("finish");
    }
    let empty = crate::common::fresh_database();
    let empty_uploads = tempfile::tempdir().expect("uploads");
    let err = restore(
        &damaged,
        &empty,
        empty_uploads.path(),
        RestoreOptions::default(),
    )
    .expect_err("damage refused");
    assert!(
        err.contains("database.dump does not match its checksum"),
        "{err}"
    );
    let mut untouched = diesel::PgConnection::establish(&empty).expect("empty");
    assert_eq!(table_digest(&mut untouched, "users", "").0, 0);
    assert!(std::fs::read_dir(empty_uploads.path())
        .expect("dir")
        .next()
        .is_none());

    // Forced, it replaces the data and says what it replaced.
    let forced = restore(
        &done.archive,
        &target,
        target_uploads.path(),
        RestoreOptions { force: true },
    )
    .expect("forced restore");
    assert!(
        forced.replaced.contains("users") && forced.replaced.contains("2 files"),
        "{}",
        forced.replaced
    );

    // A forced restore that fails half-way is rolled back: the target keeps its data. (The
    // archive's dump creates a schema the target already has.)
    let clashing = crate::common::fresh_database();
    diesel::connection::SimpleConnection::batch_execute(
        &mut diesel::PgConnection::establish(&clashing).expect("clashing"),
        "CREATE SCHEMA extra; CREATE TABLE extra.t (x int);",
    )
    .expect("extra schema");
    let clash_backup = backup(&clashing, empty_uploads.path(), out.path()).expect("backup");
    diesel::connection::SimpleConnection::batch_execute(
        &mut diesel::PgConnection::establish(&target).expect("target"),
        "CREATE SCHEMA extra;",
    )
    .expect("the same schema in the target");
    let mut kept = diesel::PgConnection::establish(&target).expect("target");
    let before = table_digest(&mut kept, "users", "");
    assert!(before.0 > 0);
    let err = restore(
        &clash_backup.archive,
        &target,
        target_uploads.path(),
        RestoreOptions { force: true },
    )
    .expect_err("the clash fails the restore");
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(
        table_digest(&mut kept, "users", ""),
        before,
        "nothing changed"
    );

    // An archive of an older schema gets the newer migrations after the restore.
    let older = crate::common::fresh_database();
    let mut conn = diesel::PgConnection::establish(&older).expect("older");
    diesel_migrations::MigrationHarness::revert_last_migration(
        &mut conn,
        portalops::db::MIGRATIONS,
    )
    .expect("revert the newest migration");
    drop(conn);
    let empty_dir = tempfile::tempdir().expect("no uploads");
    let old_backup = backup(&older, empty_dir.path(), out.path()).expect("older backup");
    assert_ne!(
        old_backup.manifest.latest_migration,
        done.manifest.latest_migration
    );
    let fresh = crate::common::fresh_database();
    let fresh_uploads = tempfile::tempdir().expect("uploads");
    let upgraded = restore(
        &old_backup.archive,
        &fresh,
        fresh_uploads.path(),
        RestoreOptions::default(),
    )
    .expect("restore older");
    assert_eq!(
        upgraded.migrations_applied.len(),
        1,
        "{:?}",
        upgraded.migrations_applied
    );
}

/// Secrets in URLs never reach the request log: the personal iCalendar feed's token (its
/// path) and the first-run setup token (its query) are logged redacted, in the log of the
/// real binary, while their requests are logged.
#[actix_web::test]
async fn the_request_log_shows_no_feed_or_setup_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = Binary::start(&dir.path().join("data"));
    let base = wait_healthy(&bin).await;
    let c = crate::common::Client::new(&base);
    let banner = bin.log();
    let setup_token = regex_lite::Regex::new(r"/setup\?token=([A-Za-z0-9_-]+)")
        .expect("re")
        .captures(&banner)
        .unwrap_or_else(|| panic!("no setup URL in:\n{banner}"))[1]
        .to_string();
    let setup = format!("/setup?token={setup_token}");
    assert_eq!(c.get(&setup).await.status, 200);
    let created = c
        .submit(
            &setup,
            "/setup",
            &[
                ("token", &setup_token),
                ("full_name", "First Admin"),
                ("email", "first@example.com"),
                ("username", "first"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(c.login("first", PASSWORD).await.status, 303);
    let page = c.submit("/account", "/account/calendar-token", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let feed_token = regex_lite::Regex::new(r"/calendar/feed/([A-Za-z0-9_-]+)\.ics")
        .expect("re")
        .captures(&page.body)
        .unwrap_or_else(|| panic!("no feed link in:\n{}", page.body))[1]
        .to_string();
    let feed = c.get(&format!("/calendar/feed/{feed_token}.ics")).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(feed.body.contains("BEGIN:VCALENDAR"));
    let unknown = c.get("/calendar/feed/not-the-token-0123456789.ics").await;
    assert_eq!(unknown.status, 404);

    let log = bin.log();
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" request ")).collect();
    let logged = |path: &str, status: u16| {
        requests.iter().any(|l| {
            l.contains(&format!("path={path:?}")) && l.contains(&format!("status={status}"))
        })
    };
    assert!(logged("/calendar/feed/[redacted]", 200), "{log}");
    assert!(logged("/calendar/feed/[redacted]", 404), "{log}");
    assert!(logged("/setup", 200) && logged("/setup", 303), "{log}");
    assert!(
        !log.contains(&feed_token),
        "the feed token is in the log:\n{log}"
    );
    assert!(!log.contains("not-the-token-0123456789"), "{log}");
    // The setup token is printed once, on purpose: the console's first-run banner.
    assert_eq!(log.matches(&setup_token).count(), 1, "{log}");
    assert!(requests.iter().all(|l| !l.contains(&setup_token)), "{log}");
}

/// The names in an archive's manifest become paths in the upload directory, so they obey
/// the rules of the archive's entries: one leaving the directory (`../database.dump`, with
/// every checksum valid: it names the archive's own dump), an absolute path, a path with a
/// separator or a NUL is refused, and nothing is written anywhere.
#[test]
fn a_manifest_naming_files_outside_the_upload_directory_is_refused() {
    use portalops::backup::{backup, restore, Manifest, RestoreOptions};

    let source = crate::common::fresh_database();
    let work = tempfile::tempdir().expect("work");
    let source_uploads = work.path().join("source-uploads");
    std::fs::create_dir(&source_uploads).expect("uploads");
    std::fs::write(source_uploads.join("invoice.pdf"), b"%PDF-1.4 kept").expect("upload");
    let done = backup(&source, &source_uploads, work.path()).expect("backup");

    // A crafted archive: the real manifest with one more upload named `name`, whose size and
    // checksum are those of the file it resolves to, plus one more upload entry so that the
    // archive holds as many files as the manifest lists.
    let craft = |name: &str, n: usize| -> std::path::PathBuf {
        let mut input = tar::Archive::new(std::fs::File::open(&done.archive).expect("open"));
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for entry in input.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("read");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            entries.push((path, data));
        }
        let (_, json) = entries
            .iter()
            .find(|(p, _)| p == "manifest.json")
            .expect("manifest");
        let mut manifest: Manifest = serde_json::from_slice(json).expect("manifest json");
        let mut forged = manifest.database.clone();
        forged.name = name.to_string();
        manifest.uploads.push(forged);
        let json = serde_json::to_vec(&manifest).expect("json");
        entries.retain(|(p, _)| p != "manifest.json");
        entries.insert(0, ("manifest.json".into(), json));
        entries.push(("uploads/decoy.pdf".into(), b"%PDF-1.4 decoy".to_vec()));
        let path = work.path().join(format!("crafted-{n}.tar"));
        let mut output = tar::Builder::new(std::fs::File::create(&path).expect("create"));
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o600);
            header.set_cksum();
            output
                .append_data(&mut header, &name, data.as_slice())
                .expect("append");
        }
        output.finish().expect("finish");
        path
    };

    let target = crate::common::fresh_database();
    let place = tempfile::tempdir().expect("target place");
    let target_uploads = place.path().join("uploads");
    let outside = place.path().join("elsewhere");
    let absolute = outside.join("database.dump");
    let names = [
        "../database.dump".to_string(),
        absolute.display().to_string(),
        "../elsewhere/database.dump".to_string(),
        "sub/database.dump".to_string(),
        "..".to_string(),
        "a\\..\\b".to_string(),
        "x\0y".to_string(),
    ];
    for (n, name) in names.iter().enumerate() {
        let archive = craft(name, n);
        let err = restore(
            &archive,
            &target,
            &target_uploads,
            RestoreOptions::default(),
        )
        .expect_err("a manifest name leaving the upload directory is refused");
        assert!(
            err.contains("is not a usable backup") && err.contains("not a plain file name"),
            "{name:?}: {err}"
        );
        let mut conn = diesel::PgConnection::establish(&target).expect("target");
        assert_eq!(
            table_digest(&mut conn, "users", "").0,
            0,
            "{name:?}: the database was not touched"
        );
        let written: Vec<_> = walkdir(place.path());
        assert!(written.is_empty(), "{name:?}: wrote {written:?}");
    }
    // The archive itself restores.
    restore(
        &done.archive,
        &target,
        &target_uploads,
        RestoreOptions::default(),
    )
    .expect("the real archive restores");
    assert_eq!(
        walkdir(place.path()),
        vec![target_uploads.join("invoice.pdf")]
    );
}

/// Every file under `dir`, recursively.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let path = e.expect("entry").path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Instances on one database must share their secrets: one that generated its own, which
/// differ, is refused at start-up with what to do; secrets set in the environment that
/// differ are a deliberate rotation and are accepted.
#[test]
fn instances_sharing_a_database_must_share_their_secrets() {
    use portalops::startup::check_shared_secrets;
    let url = crate::common::fresh_database();
    let mut conn = diesel::PgConnection::establish(&url).expect("connect");
    let first = crate::common::test_config(&[]);
    check_shared_secrets(&mut conn, &first, true).expect("the first instance records them");
    check_shared_secrets(&mut conn, &first, true).expect("the same secrets again");

    let other = crate::common::test_config(&[(
        "PORTALOPS_JWT_SECRET",
        "a-different-secret-that-is-long-enough-0123456789",
    )]);
    let err = check_shared_secrets(&mut conn, &other, true)
        .expect_err("generated secrets that differ are refused");
    assert!(
        err.contains("PORTALOPS_JWT_SECRET") && err.contains("shared with another PortalOps"),
        "{err}"
    );
    check_shared_secrets(&mut conn, &other, false).expect("a rotation set in the environment");
    assert!(
        check_shared_secrets(&mut conn, &first, true).is_err(),
        "the old ones are gone"
    );
}

/// The scheduled backup runs through the scheduler's job runner (advisory lock, recorded
/// run), keeps the newest N archives, and emails the Admins when it fails.
#[actix_web::test]
async fn scheduled_backups_keep_the_newest_and_report_a_failure_to_the_admins() {
    use diesel::prelude::*;
    use portalops::db::schema::job_runs;
    use portalops::jobs::{run_job, BACKUP};

    let dir = tempfile::tempdir().expect("backups");
    let target = dir.path().join("daily");
    let target_text = target.display().to_string();
    let app = TestApp::spawn_with(&[
        ("PORTALOPS_BACKUP_DIR", target_text.as_str()),
        ("PORTALOPS_BACKUP_KEEP", "2"),
    ])
    .await;
    app.create_user("boss", PASSWORD, "admin");
    let mut state = app.state.clone();
    state.db_url = Some(app.db_url.as_str().into());
    for _ in 0..3 {
        let s = state.clone();
        let text = actix_web::rt::task::spawn_blocking(move || run_job(&s, BACKUP))
            .await
            .expect("join")
            .expect("backup run");
        assert!(text.contains("portalops-backup-"), "{text}");
    }
    let archives: Vec<_> = std::fs::read_dir(&target)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tar"))
        .collect();
    assert_eq!(archives.len(), 2, "the newest two are kept");
    let (ok, result): (bool, String) = job_runs::table
        .filter(job_runs::job.eq(BACKUP))
        .select((job_runs::last_ok, job_runs::last_result))
        .first(&mut app.conn())
        .expect("recorded run");
    assert!(
        ok && result.contains("1 older archive(s) deleted"),
        "{result}"
    );

    // Where no directory can be made, the run fails, is recorded, and the Admins hear of it.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("file");
    let mut config = (*app.state.config).clone();
    if let Some(b) = config.backup.as_mut() {
        b.dir = blocker.join("daily");
    }
    state.config = std::sync::Arc::new(config);
    let s = state.clone();
    let failed = actix_web::rt::task::spawn_blocking(move || run_job(&s, BACKUP))
        .await
        .expect("join");
    assert!(failed.is_err());
    let (ok, result): (bool, String) = job_runs::table
        .filter(job_runs::job.eq(BACKUP))
        .select((job_runs::last_ok, job_runs::last_result))
        .first(&mut app.conn())
        .expect("recorded run");
    assert!(!ok && result.contains("backup failed"), "{result}");
    let mails = app.queued_emails();
    assert!(
        mails
            .iter()
            .any(|(to, subject, _)| to == "boss@example.com" && subject.contains("backup failed")),
        "{mails:?}"
    );
}
