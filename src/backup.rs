//! `portalops backup` and `portalops restore`: one archive (a tar file) holding a `pg_dump`
//! of the database in custom format, every uploaded file, and a manifest — PortalOps
//! version, latest migration, row counts per table, SHA-256 and size of the dump and of each
//! upload. Works on the embedded database and on an external `DATABASE_URL` alike, with the
//! PostgreSQL client tools matching the server.
//!
//! The dump runs on a snapshot exported from a read-only transaction, so the row counts in
//! the manifest are exactly those of the dump and the application's writes go on (pg_dump
//! takes no lock that blocks them). Uploads are copied after the dump: every file the dump
//! refers to exists by then (attachments are never deleted while referenced).
//!
//! A restore checks every checksum before it touches anything, refuses a target that holds
//! data unless forced (and then says what it replaces), replaces the schema and restores in
//! one transaction (a failure changes nothing),
//! compares the row counts with the manifest, and then runs the migrations the archive's
//! version did not have yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DUMP: &str = "database.dump";
const UPLOADS: &str = "uploads";
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub portalops_version: String,
    pub created_at: String,
    pub server_version: String,
    pub latest_migration: String,
    /// Rows per table, as of the dump's snapshot.
    pub tables: BTreeMap<String, i64>,
    pub database: FileEntry,
    pub uploads: Vec<FileEntry>,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub archive: PathBuf,
    pub manifest: Manifest,
}

/// Writes `portalops-backup-<UTC timestamp>.tar` into `out_dir` (created if missing) and
/// returns its path. The archive appears only when complete (written aside, then renamed).
pub fn backup(db_url: &str, upload_dir: &Path, out_dir: &Path) -> Result<BackupSummary, String> {
    let mut conn = connect(db_url)?;
    let major = server_major(&mut conn)?;
    let pg_dump = client_tool("pg_dump", major)?;
    fs::create_dir_all(out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let stamp = crate::clock::now().format("%Y%m%d-%H%M%S-%3f").to_string();
    let work = out_dir.join(format!(".portalops-backup-{stamp}"));
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let result = (|| {
        // One snapshot for the counts and the dump, held open while pg_dump reads it.
        diesel::sql_query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut conn)
            .map_err(db_error)?;
        let snapshot = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "pg_export_snapshot()",
        ))
        .get_result::<String>(&mut conn)
        .map_err(db_error)?;
        let tables = row_counts(&mut conn)?;
        let latest_migration = latest_migration(&mut conn)?;
        let server_version = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('server_version')",
        ))
        .get_result::<String>(&mut conn)
        .map_err(db_error)?;
        let dump_path = work.join(DUMP);
        let out = Command::new(&pg_dump)
            .arg("--format=custom")
            .arg(format!("--snapshot={snapshot}"))
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg(format!("--file={}", dump_path.display()))
            .arg(format!("--dbname={db_url}"))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", pg_dump.display()))?;
        diesel::sql_query("COMMIT")
            .execute(&mut conn)
            .map_err(db_error)?;
        if !out.status.success() {
            return Err(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let database = entry(DUMP, &dump_path)?;
        let uploads = upload_files(upload_dir)?
            .into_iter()
            .map(|(name, path)| {
                if !is_upload_name(&name) {
                    return Err(format!(
                        "cannot back up {}: PortalOps never names an upload so (a restore \
                         would refuse it); move it out of the upload directory",
                        path.display()
                    ));
                }
                entry(&name, &path)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = Manifest {
            format: FORMAT,
            portalops_version: env!("CARGO_PKG_VERSION").into(),
            created_at: crate::clock::now().to_rfc3339(),
            server_version,
            latest_migration,
            tables,
            database,
            uploads,
        };
        let archive = out_dir.join(format!("portalops-backup-{stamp}.tar"));
        let partial = archive.with_extension("tar.partial");
        write_archive(&partial, &manifest, &dump_path, upload_dir)?;
        fs::rename(&partial, &archive)
            .map_err(|e| format!("cannot name the archive {}: {e}", archive.display()))?;
        Ok(BackupSummary { archive, manifest })
    })();
    let _ = fs::remove_dir_all(&work);
    result
}

/// Deletes all but the newest `keep` archives `backup` wrote into `dir` (their names sort
/// by time); returns how many it deleted.
pub fn prune(dir: &Path, keep: usize) -> Result<usize, String> {
    let mut archives: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("portalops-backup-") && n.ends_with(".tar"))
        })
        .collect();
    archives.sort();
    let old = archives.len().saturating_sub(keep);
    for path in &archives[..old] {
        fs::remove_file(path).map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
    }
    Ok(old)
}

fn write_archive(
    path: &Path,
    manifest: &Manifest,
    dump: &Path,
    upload_dir: &Path,
) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    // Password hashes and invoices: readable by the owner only.
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let mut tar = tar::Builder::new(file);
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| e.to_string())?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(crate::clock::now().timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, json.as_slice())
        .map_err(fail)?;
    tar.append_path_with_name(dump, DUMP).map_err(fail)?;
    for upload in &manifest.uploads {
        tar.append_path_with_name(
            upload_dir.join(&upload.name),
            format!("{UPLOADS}/{}", upload.name),
        )
        .map_err(fail)?;
    }
    let file = tar.into_inner().map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Restore options: `force` replaces a target that holds data.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    pub force: bool,
}

#[derive(Debug)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    /// What a forced restore replaced ("500 users, 3 files …"), empty otherwise.
    pub replaced: String,
    pub migrations_applied: Vec<String>,
}

/// Restores `archive` into the database at `db_url` and `upload_dir`. Nothing is changed
/// unless every checksum matches and the target is empty (or `force`).
pub fn restore(
    archive: &Path,
    db_url: &str,
    upload_dir: &Path,
    options: RestoreOptions,
) -> Result<RestoreSummary, String> {
    let staging = tempdir_beside(upload_dir)?;
    let result = restore_from(archive, db_url, upload_dir, options, &staging);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn restore_from(
    archive: &Path,
    db_url: &str,
    upload_dir: &Path,
    options: RestoreOptions,
    staging: &Path,
) -> Result<RestoreSummary, String> {
    let manifest = unpack_and_verify(archive, staging)?;
    let mut conn = connect(db_url)?;
    let major = server_major(&mut conn)?;
    let pg_restore = client_tool("pg_restore", major)?;
    let psql = client_tool("psql", major)?;

    let mut held: Vec<String> = row_counts(&mut conn)?
        .into_iter()
        .filter(|(table, n)| *n > 0 && table != MIGRATIONS_TABLE)
        .map(|(table, n)| format!("{n} {table}"))
        .collect();
    let files = upload_files(upload_dir)?;
    if !files.is_empty() {
        held.push(format!("{} files in {}", files.len(), upload_dir.display()));
    }
    let replaced = held.join(", ");
    if !held.is_empty() && !options.force {
        return Err(format!(
            "the target is not empty ({replaced}); nothing was restored. Restore into an empty \
             database and upload directory, or run `portalops restore --force` to replace them."
        ));
    }

    // The archive is whole and the target may be replaced. pg_restore turns the dump into
    // SQL, and psql runs emptying the schema and that SQL as one transaction: a restore that
    // fails anywhere leaves the target exactly as it was.
    let script = staging.join("restore.sql");
    let out = Command::new(&pg_restore)
        .args(["--no-owner", "--no-privileges", "--exit-on-error"])
        .arg(format!("--file={}", script.display()))
        .arg(staging.join(DUMP))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", pg_restore.display()))?;
    if !out.status.success() {
        return Err(format!(
            "pg_restore cannot read the dump; nothing was changed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let prepare = staging.join("prepare.sql");
    fs::write(
        &prepare,
        "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", prepare.display()))?;
    let out = Command::new(&psql)
        .args(["--no-psqlrc", "--quiet", "--single-transaction"])
        .args(["--set", "ON_ERROR_STOP=1"])
        .arg("--file")
        .arg(&prepare)
        .arg("--file")
        .arg(&script)
        .arg(format!("--dbname={db_url}"))
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", psql.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the restore failed and was rolled back; nothing was changed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let counts = row_counts(&mut conn)?;
    for (table, n) in &manifest.tables {
        let got = counts.get(table).copied().unwrap_or(-1);
        if got != *n {
            return Err(format!(
                "restored {table} has {got} rows, the archive's manifest says {n}"
            ));
        }
    }

    fs::create_dir_all(upload_dir)
        .map_err(|e| format!("cannot create {}: {e}", upload_dir.display()))?;
    for (_, path) in files {
        fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    for upload in &manifest.uploads {
        let to = upload_dir.join(&upload.name);
        fs::copy(staging.join(UPLOADS).join(&upload.name), &to)
            .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    // The restored database may be served with other secrets (a new data directory, a new
    // machine): the next instance records its own. Sessions from the backup survive only
    // if it has the old ones.
    diesel::sql_query("DELETE FROM app_settings WHERE key = $1")
        .bind::<diesel::sql_types::Text, _>(crate::db::SECRETS_FINGERPRINT)
        .execute(&mut conn)
        .map_err(db_error)?;
    drop(conn);
    let migrations_applied = crate::db::migrate_locked(db_url)?;
    Ok(RestoreSummary {
        manifest,
        replaced,
        migrations_applied,
    })
}

/// Unpacks the archive into `staging` and checks it against its manifest: the dump and every
/// upload present with the recorded size and SHA-256, nothing else, no path leaving the
/// archive.
fn unpack_and_verify(archive: &Path, staging: &Path) -> Result<Manifest, String> {
    let damaged = |why: String| format!("{} is not a usable backup: {why}", archive.display());
    let file =
        File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(file);
    let mut manifest: Option<Manifest> = None;
    let mut unpacked: Vec<String> = Vec::new();
    for item in tar.entries().map_err(|e| damaged(e.to_string()))? {
        let mut item = item.map_err(|e| damaged(e.to_string()))?;
        let name = item
            .path()
            .map_err(|e| damaged(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let safe = Path::new(&name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !safe || !item.header().entry_type().is_file() {
            return Err(damaged(format!("unexpected entry {name}")));
        }
        if name == MANIFEST {
            let mut json = String::new();
            item.read_to_string(&mut json)
                .map_err(|e| damaged(e.to_string()))?;
            manifest =
                Some(serde_json::from_str(&json).map_err(|e| damaged(format!("manifest: {e}")))?);
            continue;
        }
        let in_uploads = name
            .strip_prefix(&format!("{UPLOADS}/"))
            .is_some_and(is_upload_name);
        if name != DUMP && !in_uploads {
            return Err(damaged(format!("unexpected entry {name}")));
        }
        let to = staging.join(&name);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = File::create(&to).map_err(|e| e.to_string())?;
        std::io::copy(&mut item, &mut out).map_err(|e| damaged(e.to_string()))?;
        unpacked.push(name);
    }
    let manifest = manifest.ok_or_else(|| damaged("no manifest".into()))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "format {} is not one this version reads ({FORMAT})",
            manifest.format
        )));
    }
    let check = |expected: &FileEntry, name: String| -> Result<(), String> {
        let got = entry(&expected.name, &staging.join(&name))
            .map_err(|_| damaged(format!("{name} is missing")))?;
        if got != *expected {
            return Err(damaged(format!(
                "{name} does not match its checksum (the archive is damaged or was changed)"
            )));
        }
        Ok(())
    };
    // The manifest's names become paths in the upload directory: they obey the rules of the
    // archive's own entries, and name exactly the files the archive holds.
    if manifest.database.name != DUMP {
        return Err(damaged(format!(
            "the manifest names the dump {:?}",
            manifest.database.name
        )));
    }
    let mut expected = BTreeSet::from([DUMP.to_string()]);
    for upload in &manifest.uploads {
        if !is_upload_name(&upload.name) {
            return Err(damaged(format!(
                "the manifest names an upload {:?}, which is not a plain file name",
                upload.name
            )));
        }
        if !expected.insert(format!("{UPLOADS}/{}", upload.name)) {
            return Err(damaged(format!(
                "the manifest lists the upload {} twice",
                upload.name
            )));
        }
    }
    let held: BTreeSet<String> = unpacked.into_iter().collect();
    if let Some(extra) = held.difference(&expected).next() {
        return Err(damaged(format!("{extra} is not in the manifest")));
    }
    check(&manifest.database, DUMP.into())?;
    for upload in &manifest.uploads {
        check(upload, format!("{UPLOADS}/{}", upload.name))?;
    }
    Ok(manifest)
}

/// A file name directly in the (flat) upload directory: one normal path component, no
/// separator of any system, no NUL or other control character.
fn is_upload_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

fn tempdir_beside(dir: &Path) -> Result<PathBuf, String> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let path = parent.join(format!(
        ".portalops-restore-{}",
        crate::auth::random_token()
    ));
    fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    Ok(path)
}

fn connect(url: &str) -> Result<PgConnection, String> {
    PgConnection::establish(url).map_err(|e| format!("cannot connect to the database: {e}"))
}

fn db_error(e: diesel::result::Error) -> String {
    format!("database: {e}")
}

fn server_major(conn: &mut PgConnection) -> Result<u32, String> {
    let num: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "current_setting('server_version_num')",
    ))
    .get_result(conn)
    .map_err(db_error)?;
    num.parse::<u32>()
        .map(|n| n / 10_000)
        .map_err(|_| format!("unexpected server_version_num {num}"))
}

/// `pg_dump` / `pg_restore` of the server's major version (or newer): Debian's versioned
/// directory first, then `PATH`.
fn client_tool(name: &str, major: u32) -> Result<PathBuf, String> {
    let versioned = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin/{name}"));
    if versioned.is_file() {
        return Ok(versioned);
    }
    if let Ok(out) = Command::new(name).arg("--version").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text
            .split_whitespace()
            .last()
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<u32>().ok());
        if out.status.success() && version.is_some_and(|v| v >= major) {
            return Ok(PathBuf::from(name));
        }
    }
    Err(format!(
        "{name} for PostgreSQL {major} is not installed. Install the client tools of the \
         server's version, e.g. `apt-get install postgresql-client-{major}`, or put them on PATH."
    ))
}

/// Rows per table of the public schema, in one statement.
fn row_counts(conn: &mut PgConnection) -> Result<BTreeMap<String, i64>, String> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .load(conn)
    .map_err(db_error)?;
    if tables.is_empty() {
        return Ok(BTreeMap::new());
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // Table names come from the catalog, quoted as identifiers.
    let sql = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{0}'::text AS name, count(*) AS n FROM public.\"{0}\"",
                t.table_name.replace('"', "\"\"").replace('\'', "''")
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let counts: Vec<Count> = diesel::sql_query(sql).load(conn).map_err(db_error)?;
    Ok(counts.into_iter().map(|c| (c.name, c.n)).collect())
}

fn latest_migration(conn: &mut PgConnection) -> Result<String, String> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "coalesce((SELECT max(version) FROM __diesel_schema_migrations), '')",
    ))
    .get_result(conn)
    .map_err(db_error)
}

/// The regular files directly in the upload directory (it is flat), by name.
fn upload_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if e.file_type().is_ok_and(|t| t.is_file()) {
            files.push((e.file_name().to_string_lossy().into_owned(), e.path()));
        }
    }
    files.sort();
    Ok(files)
}

fn entry(name: &str, path: &Path) -> Result<FileEntry, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        name: name.to_string(),
        bytes,
        sha256: format!("{:x}", hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_client_tools_are_named_with_the_package_to_install() {
        let err = client_tool("pg_dump", 99).expect_err("no PostgreSQL 99 tools here");
        assert!(err.contains("pg_dump for PostgreSQL 99"), "{err}");
        assert!(err.contains("postgresql-client-99"), "{err}");
    }

    #[test]
    fn upload_names_are_single_plain_file_names() {
        for ok in ["3f9a_b-c.pdf", "invoice.pdf", ".hidden", "a..b"] {
            assert!(is_upload_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "x\0y",
            "x\ny",
            "./x",
        ] {
            assert!(!is_upload_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn prune_keeps_the_newest_archives_only() {
        let dir = std::env::temp_dir().join(format!("portalops-prune-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        for stamp in [
            "20261101-020000-000",
            "20261102-020000-000",
            "20261103-020000-000",
        ] {
            fs::write(dir.join(format!("portalops-backup-{stamp}.tar")), b"x").expect("file");
        }
        fs::write(dir.join("notes.txt"), b"kept").expect("other file");
        assert_eq!(prune(&dir, 2).expect("prune"), 1);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "notes.txt",
                "portalops-backup-20261102-020000-000.tar",
                "portalops-backup-20261103-020000-000.tar"
            ]
        );
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
