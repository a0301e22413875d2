//! The embedded PostgreSQL: with no DATABASE_URL, PortalOps runs its own cluster under
//! `<data>/postgres`, listening only on a unix socket, and stops it on shutdown.
//!
//! Also used by the test harness (one throwaway cluster per test binary).
//! Pitfalls handled here (see shared PITFALLS.md): PostgreSQL refuses to run as root, so as
//! root the server runs as the `postgres` system user — and when that user cannot reach the
//! data directory (under root's mode-0700 home, say), the cluster is kept in a private
//! directory of its own under /var/lib/portalops instead, recorded in the data directory,
//! rather than loosening the directories above it; socket paths over ~100 bytes fall back
//! to a short directory under /tmp; a stale `postmaster.pid` after a crash is left for
//! PostgreSQL itself to judge; a cluster that is already running (a second PortalOps command
//! on the same data directory) is reused, not started twice.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

use crate::sys;

pub const DATABASE_NAME: &str = "portalops";
/// Where clusters live, as root, for data directories the server user cannot reach.
pub const ROOT_CLUSTERS_DIR: &str = "/var/lib/portalops";
/// The file in the data directory that records a cluster kept outside it.
pub const LOCATION_FILE: &str = "postgres.location";
const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries found (looked in PATH, `pg_config --bindir` and \
         /usr/lib/postgresql/*/bin). Either install PostgreSQL (e.g. `apt-get install postgresql`) \
         or set DATABASE_URL to use an existing server"
    )]
    NoBinaries,
    #[error(
        "running as root, but PostgreSQL refuses to run as root and there is no 'postgres' system \
         user to run it as. Run PortalOps as an ordinary user, create a 'postgres' user, or set DATABASE_URL"
    )]
    NoServerUser,
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// Trade durability for speed (fsync off): for throwaway test clusters only.
    pub ephemeral: bool,
}

/// A running embedded cluster. Dropping it stops the server if this process started it.
pub struct EmbeddedPostgres {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    child: Option<Child>,
}

/// The unprivileged account the server runs as when PortalOps runs as root.
#[derive(Debug, Clone, Copy)]
struct ServerUser {
    uid: u32,
    gid: u32,
}

/// Where a data directory's cluster lives.
#[derive(Debug)]
struct ClusterPlace {
    pgdata: PathBuf,
    /// Outside the data directory (root, data directory out of the server user's reach).
    outside: bool,
}

impl ClusterPlace {
    /// `<data>/postgres`, unless PortalOps runs as root and the server user cannot reach the
    /// data directory: then the cluster recorded in `<data>/postgres.location`, or a new one
    /// in `/var/lib/portalops/<hash of the data directory>/postgres` (the server user's own,
    /// mode 0700). A cluster already in `<data>/postgres` is always used where it is.
    fn for_data_dir(
        bin: &Path,
        data_dir: &Path,
        user: Option<ServerUser>,
    ) -> Result<Self, EmbeddedError> {
        let inside = Self {
            pgdata: data_dir.join("postgres"),
            outside: false,
        };
        let Some(user) = user else {
            return Ok(inside);
        };
        if inside.pgdata.join("PG_VERSION").exists() {
            return Ok(inside);
        }
        if let Some(recorded) = recorded_cluster(data_dir) {
            if !recorded.join("PG_VERSION").exists() {
                return Err(fail(format!(
                    "{} records the database at {}, which holds no PostgreSQL cluster any more; \
                     restore a backup (`portalops restore`) after removing that file, or remove \
                     it to start with an empty database",
                    data_dir.join(LOCATION_FILE).display(),
                    recorded.display()
                )));
            }
            return Ok(Self {
                pgdata: recorded,
                outside: true,
            });
        }
        let Some(blocking) = unreachable_ancestor(bin, data_dir, user) else {
            return Ok(inside);
        };
        let pgdata = outside_cluster_dir(data_dir);
        tracing::info!(
            blocked_by = %blocking.display(),
            pgdata = %pgdata.display(),
            "running as root: PostgreSQL runs as 'postgres', which cannot reach the data directory; \
             keeping the cluster in a private directory of its own"
        );
        let base = pgdata.parent().unwrap_or(Path::new(ROOT_CLUSTERS_DIR));
        let root = Path::new(ROOT_CLUSTERS_DIR);
        let prepared = (if root.is_dir() {
            Ok(())
        } else {
            // Root's, and traversable: the server user must pass through it.
            fs::create_dir_all(root)
                .and_then(|()| fs::set_permissions(root, fs::Permissions::from_mode(0o755)))
        })
        .map_err(|e| e.to_string())
        .and_then(|()| make_private_dir(base, Some(user)).map_err(|e| e.to_string()));
        if let Err(e) = prepared {
            return Err(fail(format!(
                "PostgreSQL runs as 'postgres' (it refuses root), which cannot reach {} \
                 (blocked at {}), and {ROOT_CLUSTERS_DIR} cannot be prepared ({e}): run PortalOps \
                 as an ordinary user, set PORTALOPS_DATA_DIR to a directory 'postgres' can reach, \
                 or set DATABASE_URL",
                data_dir.display(),
                blocking.display()
            )));
        }
        Ok(Self {
            pgdata,
            outside: true,
        })
    }

    /// Records an outside cluster in the data directory, so later commands find it.
    fn record(&self, data_dir: &Path) -> Result<(), EmbeddedError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = data_dir.join(LOCATION_FILE);
        let tmp = data_dir.join(format!("{LOCATION_FILE}.tmp"));
        let err = |e: std::io::Error| fail(format!("cannot write {}: {e}", path.display()));
        let mut f = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        writeln!(f, "{}", self.pgdata.display()).map_err(err)?;
        f.sync_all().map_err(err)?;
        fs::rename(&tmp, &path).map_err(err)
    }

    /// `<cluster's directory>/run` for an outside cluster (short, and the server user's);
    /// else `<data>/run` or its short fallback.
    fn socket_dir(&self, data_dir: &Path) -> PathBuf {
        match (self.outside, self.pgdata.parent()) {
            (true, Some(base)) => base.join("run"),
            _ => socket_dir_for(data_dir),
        }
    }
}

/// The cluster directory recorded in `<data>/postgres.location`, if any.
fn recorded_cluster(data_dir: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(data_dir.join(LOCATION_FILE)).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| PathBuf::from(line))
}

/// Where the embedded cluster of `data_dir` lives (or will): the recorded location, else
/// `<data>/postgres`. For display (Settings).
pub fn cluster_dir(data_dir: &Path) -> PathBuf {
    recorded_cluster(data_dir).unwrap_or_else(|| data_dir.join("postgres"))
}

/// `/var/lib/portalops/<first 12 hex digits of SHA-256(data directory)>/postgres`.
fn outside_cluster_dir(data_dir: &Path) -> PathBuf {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Path::new(ROOT_CLUSTERS_DIR).join(short).join("postgres")
}

/// The first directory above `data_dir` (its parent and up) that `user` cannot enter, by
/// asking the kernel as that user (so groups, ACLs and mount options count); `None` when
/// the server user can reach `data_dir`'s parent. The data directory itself is PortalOps's
/// to open up for the cluster inside it, as it always has.
fn unreachable_ancestor(bin: &Path, data_dir: &Path, user: ServerUser) -> Option<PathBuf> {
    let parent = data_dir.parent()?;
    if can_enter(bin, parent, user) {
        return None;
    }
    let mut ancestors: Vec<&Path> = parent.ancestors().collect();
    ancestors.reverse();
    ancestors
        .into_iter()
        .find(|dir| !can_enter(bin, dir, user))
        .map(Path::to_path_buf)
}

/// Whether `user` can make `dir` its working directory (`postgres --version` started there).
fn can_enter(bin: &Path, dir: &Path, user: ServerUser) -> bool {
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    as_server_user(&mut cmd, Some(user));
    // After the change of user: the child enters `dir` as the server user, or fails to start.
    cmd.current_dir(dir);
    cmd.status().is_ok_and(|s| s.success())
}

impl EmbeddedPostgres {
    /// Creates (first time) and starts the cluster under `data_dir/postgres`, or attaches to
    /// the one already running there, and makes sure the application database exists.
    pub fn start(data_dir: &Path, options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let server_user = if sys::euid() == 0 {
            Some(lookup_user(SUPERUSER).ok_or(EmbeddedError::NoServerUser)?)
        } else {
            None
        };
        fs::create_dir_all(data_dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", data_dir.display())))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(|e| fail(format!("cannot resolve {}: {e}", data_dir.display())))?;
        let place = ClusterPlace::for_data_dir(&bin, &data_dir, server_user)?;
        let pgdata = place.pgdata.clone();

        if !pgdata.join("PG_VERSION").exists() {
            initdb(&bin, &pgdata, server_user, options, place.outside)?;
        }
        if place.outside && recorded_cluster(&data_dir).is_none() {
            place.record(&data_dir)?;
        }

        if let Some(socket_dir) = running_socket_dir(&pgdata) {
            let pg = Self {
                pgdata: pgdata.clone(),
                socket_dir,
                child: None,
            };
            if pg.wait_ready(Duration::from_secs(5), &mut None).is_ok() {
                tracing::info!(pgdata = %pgdata.display(), "embedded PostgreSQL already running: using it");
                pg.ensure_database()?;
                return Ok(pg);
            }
        }

        let socket_dir = place.socket_dir(&data_dir);
        make_private_dir(&socket_dir, server_user)?;
        let log_path = data_dir.join("postgres.log");
        let child = spawn_server(&bin, &pgdata, &socket_dir, &log_path, server_user, options)?;
        let mut pg = Self {
            pgdata,
            socket_dir,
            child: Some(child),
        };
        let mut child_ref = pg.child.take();
        let ready = pg.wait_ready(Duration::from_secs(60), &mut child_ref);
        pg.child = child_ref;
        if let Err(e) = ready {
            let tail = log_tail(&log_path);
            pg.stop();
            return Err(fail(format!(
                "embedded PostgreSQL did not start: {e}\n{tail}"
            )));
        }
        tracing::info!(pgdata = %pg.pgdata.display(), socket_dir = %pg.socket_dir.display(), "embedded PostgreSQL started");
        pg.ensure_database()?;
        Ok(pg)
    }

    /// The connection URL for `database` on this cluster (unix socket only).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{database}?host={}&port={PORT}",
            percent_encode_path(&self.socket_dir)
        )
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// True when this process started the server (and so will stop it).
    pub fn owns_server(&self) -> bool {
        self.child.is_some()
    }

    /// Fast shutdown: open transactions are rolled back, data is flushed, the server exits.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as i32;
        if sys::signal(pid, sys::SIGINT).is_ok() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    tracing::info!("embedded PostgreSQL stopped");
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            tracing::warn!("embedded PostgreSQL did not stop within 30 s: sending SIGQUIT");
            let _ = sys::signal(pid, sys::SIGQUIT);
        }
        let _ = child.wait();
    }

    fn wait_ready(&self, timeout: Duration, child: &mut Option<Child>) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let url = self.url(SUPERUSER);
        loop {
            if let Some(c) = child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    child.take();
                    return Err(format!("server exited with {status}"));
                }
            }
            match PgConnection::establish(&url) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn ensure_database(&self) -> Result<(), EmbeddedError> {
        create_database_if_missing(&self.url(SUPERUSER), DATABASE_NAME, None)
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `CREATE DATABASE name [TEMPLATE template]` unless it exists. `url` points at any database.
pub fn create_database_if_missing(
    url: &str,
    name: &str,
    template: Option<&str>,
) -> Result<(), EmbeddedError> {
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    if !is_identifier(name) || template.is_some_and(|t| !is_identifier(t)) {
        return Err(fail(format!("invalid database name '{name}'")));
    }
    let mut conn =
        PgConnection::establish(url).map_err(|e| fail(format!("cannot connect: {e}")))?;
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result::<Exists>(&mut conn)
            .map_err(|e| fail(e.to_string()))?;
    if !exists.exists {
        // Identifiers cannot be bound as parameters; `is_identifier` restricts them above.
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'"),
        };
        diesel::sql_query(sql)
            .execute(&mut conn)
            .map_err(|e| fail(format!("cannot create database {name}: {e}")))?;
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() < 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn fail(msg: impl Into<String>) -> EmbeddedError {
    EmbeddedError::Failed(msg.into())
}

/// PATH first, then `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
            return Some(dir);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_server(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

fn lookup_user(name: &str) -> Option<ServerUser> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _ = f.next();
        Some(ServerUser {
            uid: f.next()?.parse().ok()?,
            gid: f.next()?.parse().ok()?,
        })
    })
}

fn as_server_user(cmd: &mut Command, user: Option<ServerUser>) {
    use std::os::unix::process::CommandExt as _;
    if let Some(u) = user {
        // Root's working directory (root's home, say) may be out of the server user's reach.
        cmd.uid(u.uid).gid(u.gid).current_dir("/");
    }
}

fn make_private_dir(dir: &Path, user: Option<ServerUser>) -> Result<(), EmbeddedError> {
    let err = |e: std::io::Error| fail(format!("cannot prepare {}: {e}", dir.display()));
    fs::create_dir_all(dir).map_err(err)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err)?;
    if let Some(u) = user {
        std::os::unix::fs::chown(dir, Some(u.uid), Some(u.gid)).map_err(err)?;
    }
    Ok(())
}

fn initdb(
    bin: &Path,
    pgdata: &Path,
    user: Option<ServerUser>,
    options: &EmbeddedOptions,
    outside: bool,
) -> Result<(), EmbeddedError> {
    if pgdata.exists()
        && fs::read_dir(pgdata)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(fail(format!(
            "{} exists but holds no PostgreSQL cluster (no PG_VERSION); refusing to touch it",
            pgdata.display()
        )));
    }
    if let Some(parent) = pgdata.parent().filter(|_| !outside) {
        // The server user must be able to reach its data directory. (An outside cluster's
        // parent is already the server user's own.)
        if user.is_some() {
            let _ = fs::set_permissions(parent, fs::Permissions::from_mode(0o755));
        }
    }
    make_private_dir(pgdata, user)?;
    tracing::info!(pgdata = %pgdata.display(), "creating embedded PostgreSQL cluster (first start)");
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(pgdata)
        .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"])
        .stdin(Stdio::null());
    if options.ephemeral {
        cmd.arg("--no-sync");
    }
    as_server_user(&mut cmd, user);
    let out = cmd
        .output()
        .map_err(|e| fail(format!("cannot run initdb: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// The socket directory recorded by a live postmaster, if one is running on `pgdata`.
fn running_socket_dir(pgdata: &Path) -> Option<PathBuf> {
    let pid_file = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let mut lines = pid_file.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    if pid <= 0 || sys::signal(pid, 0).is_err() {
        return None;
    }
    let socket_dir = lines.nth(3)?.trim();
    (!socket_dir.is_empty()).then(|| PathBuf::from(socket_dir))
}

/// `<data>/run` unless the socket path would pass the ~107-byte `sun_path` limit; then a
/// short directory under /tmp named after the data directory.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    let socket_len = preferred.as_os_str().len() + "/.s.PGSQL.5432".len();
    if socket_len < 100 {
        return preferred;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let fallback = std::env::temp_dir().join(format!("portalops-{short}"));
    tracing::info!(socket_dir = %fallback.display(), "data directory path too long for a unix socket: using a short socket directory");
    fallback
}

fn spawn_server(
    bin: &Path,
    pgdata: &Path,
    socket_dir: &Path,
    log_path: &Path,
    user: Option<ServerUser>,
    options: &EmbeddedOptions,
) -> Result<Child, EmbeddedError> {
    use std::os::unix::process::CommandExt as _;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", log_path.display())))?;
    let log_err = log.try_clone().map_err(|e| fail(e.to_string()))?;
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(pgdata)
        .arg("-p")
        .arg(PORT.to_string())
        .args(["-c", "listen_addresses="])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", socket_dir.display()))
        .args([
            "-c",
            "unix_socket_permissions=0700",
            "-c",
            "max_connections=200",
            // Statistics caught up within seconds of a bulk load (an identity provider's
            // first sync, an import): PostgreSQL keeps a prepared statement's plan until
            // they change, and a plan made while a table was nearly empty scans it whole.
            // At the default minute, provisioning 10,000 users one at a time spent most of
            // its time in such scans (docs/performance.md).
            "-c",
            "autovacuum_naptime=10s",
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: Ctrl-C in the terminal reaches PortalOps, which drains its
        // requests first and then stops the database.
        .process_group(0);
    if options.ephemeral {
        cmd.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            // Keep a throwaway cluster's disk use small: WAL is recycled at 64 MB.
            "-c",
            "max_wal_size=64MB",
            "-c",
            "min_wal_size=32MB",
        ]);
    }
    as_server_user(&mut cmd, user);
    sys::die_with_parent(&mut cmd);
    spawn_on_keeper_thread(cmd).map_err(|e| fail(format!("cannot start postgres: {e}")))
}

/// The parent-death signal fires when the *thread* that spawned the child exits, so servers
/// are spawned from one thread that lives as long as the process.
fn spawn_on_keeper_thread(cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static KEEPER: std::sync::OnceLock<std::sync::Mutex<mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pg-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The channel is never closed (the sender lives in a static): park forever.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn pg-keeper thread");
        std::sync::Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper
        .lock()
        .map_err(|_| std::io::Error::other("pg-keeper lock poisoned"))?
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("pg-keeper thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("pg-keeper thread is gone"))?
}

fn log_tail(path: &Path) -> String {
    let Ok(mut f) = fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(2000)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    format!("last lines of {}:\n{s}", path.display())
}

fn percent_encode_path(p: &Path) -> String {
    let mut out = String::new();
    for b in p.as_os_str().as_encoded_bytes() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(*b as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_dirs_get_a_short_socket_dir() {
        let short = socket_dir_for(Path::new("/srv/portalops/data"));
        assert_eq!(short, PathBuf::from("/srv/portalops/data/run"));
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        let dir = socket_dir_for(&long);
        assert!(dir.as_os_str().len() + 14 < 100, "{}", dir.display());
        assert_eq!(
            dir,
            socket_dir_for(&long),
            "stable for the same data directory"
        );
    }

    #[test]
    fn clusters_kept_outside_are_named_after_their_data_directory() {
        let a = outside_cluster_dir(Path::new("/root/portalops/data"));
        let b = outside_cluster_dir(Path::new("/root/other/data"));
        assert!(
            a.starts_with(ROOT_CLUSTERS_DIR) && a.ends_with("postgres"),
            "{}",
            a.display()
        );
        assert_eq!(a, outside_cluster_dir(Path::new("/root/portalops/data")));
        assert_ne!(a, b);
        let place = ClusterPlace {
            pgdata: a.clone(),
            outside: true,
        };
        let socket = place.socket_dir(Path::new("/root/portalops/data"));
        assert_eq!(socket, a.parent().expect("parent").join("run"));
        assert!(socket.as_os_str().len() + "/.s.PGSQL.5432".len() < 100);
    }

    #[test]
    fn socket_paths_are_percent_encoded_in_urls() {
        assert_eq!(percent_encode_path(Path::new("/tmp/a b")), "/tmp/a%20b");
    }

    #[test]
    fn identifiers_are_restricted() {
        assert!(is_identifier("portalops_t12"));
        assert!(!is_identifier("x\"; DROP"));
    }
}
