//! One `Config`, read from the environment and validated once at start-up.
//!
//! Every variable has a default (see README.md and `.env.example`); a bad value stops
//! start-up with one line naming the variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A value that must never be printed (JWT secret, session key).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A configuration problem, named by its variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Login throttling thresholds (the policy is in `auth::throttle`, documented in
/// docs/rbac.md, "Login throttling").
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failures per (username, client address) pair, and per known device, inside the window
    /// before that pair or device is locked.
    pub max_failures_per_user: i32,
    /// Failures per username from clients that are not its known devices, from any address,
    /// before such clients are locked out of it (known devices still get in).
    pub max_failures_per_account: i32,
    /// Failures per client address inside the window before the address is locked (known
    /// devices still get in).
    pub max_failures_per_ip: i32,
    /// The counting window, and how long a lock lasts.
    pub lockout: Duration,
    /// The delay before verifying the third attempt on a pair, device or username, doubled
    /// per further failure (at most 16 times this).
    pub delay_step: Duration,
}

/// The daily scheduled backup: where, when (local time), how many archives to keep.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub at: chrono::NaiveTime,
    pub keep: usize,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub upload_dir: PathBuf,
    pub jwt_secret: Option<Secret>,
    pub session_key: Option<Secret>,
    /// Encrypts secrets the database keeps (TOTP secrets), the same on every instance.
    pub encryption_key: Option<Secret>,
    pub public_url: String,
    pub cookie_secure: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a just-rotated refresh token still yields its successor (concurrent requests).
    pub refresh_grace: Duration,
    pub db_pool_size: u32,
    pub workers: usize,
    pub throttle: ThrottleConfig,
    pub log_filter: String,
    /// Take the client address from X-Forwarded-For / Forwarded (only behind a trusted proxy).
    /// Reverse proxies whose `X-Forwarded-For` is believed (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest attachment accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Onboarding tasks are due this many days before the start date.
    pub task_lead_days: i64,
    /// SMTP settings; `None` when no SMTP host is configured (in-app notifications only).
    pub mail: Option<MailConfig>,
    /// The time zone that decides "today" for reminders and due dates.
    pub timezone: chrono_tz::Tz,
    /// Local time of the daily reminder scans.
    pub reminder_time: chrono::NaiveTime,
    /// Daily scheduled backups, when `PORTALOPS_BACKUP_DIR` is set.
    pub backup: Option<BackupSchedule>,
    /// Days before a card expiry, renewal or contract end when reminders go out.
    pub reminder_days: Vec<i64>,
    /// Tasks due within this many days (or overdue) go in the daily digest.
    pub digest_days: i64,
    pub outbox_interval: Duration,
    /// After this many failed attempts an email is marked failed (Admins can retry it).
    pub outbox_max_attempts: i32,
    /// Run the scheduler thread (several instances may all run it: jobs take a lock).
    pub scheduler: bool,
    /// Single sign-on with OpenID Connect, when `PORTALOPS_OIDC_ISSUER` is set.
    pub sso: Option<SsoConfig>,
    /// Who may log in with a password (`PORTALOPS_PASSWORD_LOGIN`).
    pub password_login: PasswordLogin,
    /// How long an invitation link (set a first password) stays valid.
    pub invitation_ttl: Duration,
    /// How long a password-reset link stays valid.
    pub password_reset_ttl: Duration,
}

/// Single sign-on with an OpenID provider (docs/sso.md).
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// The issuer URL, exactly as the provider's discovery document names it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    /// The ID-token claim that lists the person's groups (e.g. `groups`).
    pub groups_claim: Option<String>,
    pub button_label: String,
    /// Create an unknown person (just in time) instead of refusing them.
    pub create_unknown: bool,
    /// Take the ID token's `email` as verified when the token has no `email_verified`
    /// claim at all (Microsoft Entra ID never sends one).
    pub trust_email: bool,
    /// Provider group → PortalOps role (and scope), in the order written; the highest role
    /// a person's groups give wins.
    pub group_roles: Vec<GroupRule>,
    /// How long the discovery document and keys are reused before being fetched again.
    pub discovery_ttl: Duration,
}

/// One entry of `PORTALOPS_OIDC_GROUP_ROLES`: `group=role`, or with a scope
/// `group=service_admin:<service name>` / `group=product_admin:<service name>/<product name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRule {
    pub group: String,
    pub role: crate::domain::Role,
    /// The service (Service Administrators) or "service/product" (Product Administrators)
    /// members of the group run.
    pub scope: Option<String>,
}

/// Whether local passwords log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordLogin {
    /// Everyone with a password (the default).
    On,
    /// Nobody: everyone signs in with the provider.
    Off,
    /// Only this (lower-case) username: the break-glass account.
    BreakGlass(String),
}

impl PasswordLogin {
    /// Whether `username` (lower case) may log in with a password.
    pub fn allows(&self, username: &str) -> bool {
        match self {
            PasswordLogin::On => true,
            PasswordLogin::Off => false,
            PasswordLogin::BreakGlass(name) => name == username,
        }
    }
}

/// How to send email.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTls {
    None,
    StartTls,
    Tls,
}

pub const ENV_VARS: &[(&str, &str, &str)] = &[
    (
        "PORTALOPS_BIND",
        "127.0.0.1:8000",
        "address and port to listen on (the container uses 0.0.0.0:8000)",
    ),
    (
        "DATABASE_URL",
        "(unset: embedded PostgreSQL under <data>/postgres)",
        "PostgreSQL connection URL",
    ),
    (
        "PORTALOPS_DATA_DIR",
        "./data",
        "data directory: embedded database, generated secrets",
    ),
    (
        "PORTALOPS_UPLOAD_DIR",
        "<data>/uploads",
        "where uploaded files are stored",
    ),
    (
        "PORTALOPS_JWT_SECRET",
        "(generated into <data>/secrets/jwt_secret)",
        "HS256 signing secret, at least 32 bytes",
    ),
    (
        "PORTALOPS_SESSION_KEY",
        "(generated into <data>/secrets/session_key)",
        "cookie encryption key, at least 64 bytes, the same on every instance",
    ),
    (
        "PORTALOPS_ENCRYPTION_KEY",
        "(generated into <data>/secrets/encryption_key)",
        "encrypts two-factor (TOTP) secrets in the database, at least 32 bytes, the same on every instance; keep it with the backups",
    ),
    (
        "PORTALOPS_PUBLIC_URL",
        "http://<bind>",
        "public base URL used in links in emails",
    ),
    (
        "PORTALOPS_COOKIE_SECURE",
        "true",
        "mark the session cookie Secure; set false only for plain-http local use",
    ),
    (
        "PORTALOPS_ACCESS_TOKEN_TTL",
        "900",
        "access token lifetime in seconds",
    ),
    (
        "PORTALOPS_REFRESH_TOKEN_TTL",
        "1209600",
        "refresh token (session) lifetime in seconds, absolute",
    ),
    (
        "PORTALOPS_REFRESH_GRACE",
        "10",
        "seconds in which a just-rotated refresh token still yields its successor (parallel requests)",
    ),
    (
        "PORTALOPS_MAX_UPLOAD_MB",
        "10",
        "largest invoice or contract attachment accepted, in MB",
    ),
    (
        "PORTALOPS_TASK_LEAD_DAYS",
        "0",
        "onboarding tasks are due this many days before the start date",
    ),
    ("PORTALOPS_SMTP_HOST", "(unset: no email, in-app notifications only)", "SMTP server for reminder emails"),
    ("PORTALOPS_SMTP_PORT", "587", "SMTP port"),
    ("PORTALOPS_SMTP_TLS", "starttls", "none, starttls or tls"),
    ("PORTALOPS_SMTP_USERNAME", "(unset)", "SMTP login, if the server needs one"),
    ("PORTALOPS_SMTP_PASSWORD", "(unset)", "SMTP password"),
    ("PORTALOPS_MAIL_FROM", "portalops@localhost", "From address of reminder emails"),
    ("PORTALOPS_TIMEZONE", "UTC", "IANA time zone deciding \"today\" (e.g. Europe/Berlin)"),
    ("PORTALOPS_REMINDER_TIME", "08:00", "local time of the daily reminder scans"),
    ("PORTALOPS_REMINDER_DAYS", "30,7,1", "days before a card expiry, renewal or contract end to remind"),
    ("PORTALOPS_DIGEST_DAYS", "3", "tasks due within this many days (or overdue) go in the daily digest"),
    ("PORTALOPS_OUTBOX_INTERVAL", "60", "seconds between outbox drains"),
    ("PORTALOPS_OUTBOX_MAX_ATTEMPTS", "8", "failed sends before an email is marked failed"),
    ("PORTALOPS_SCHEDULER", "true", "run the scheduled jobs in this process"),
    ("PORTALOPS_BACKUP_DIR", "(unset: no scheduled backups)", "where the daily scheduled backup writes its archive"),
    ("PORTALOPS_BACKUP_TIME", "02:00", "local time of the daily scheduled backup"),
    ("PORTALOPS_BACKUP_KEEP", "7", "scheduled backup archives kept in PORTALOPS_BACKUP_DIR (older ones are deleted)"),
    (
        "PORTALOPS_DB_POOL_SIZE",
        "(2 × cores, at least 4)",
        "database connections per instance; each worker runs at most its share of them at once",
    ),
    (
        "PORTALOPS_WORKERS",
        "(number of cores)",
        "HTTP worker threads",
    ),
    (
        "PORTALOPS_LOGIN_MAX_FAILURES",
        "5",
        "failed logins per username from one client address (or one known device) before that pair is locked",
    ),
    (
        "PORTALOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        "20",
        "failed logins per username from all clients that are not its known devices before they are locked out of it (its known devices still log in)",
    ),
    (
        "PORTALOPS_LOGIN_MAX_FAILURES_PER_IP",
        "30",
        "failed logins per client address, any username, before the address is locked (known devices still log in)",
    ),
    (
        "PORTALOPS_LOGIN_LOCKOUT",
        "900",
        "lockout length and counting window, in seconds",
    ),
    (
        "PORTALOPS_LOGIN_DELAY_MS",
        "250",
        "delay before verifying the 3rd attempt on a username, doubled per further failure (at most 16 times), in milliseconds",
    ),
    (
        "PORTALOPS_TRUSTED_PROXIES",
        "(none)",
        "addresses or networks of your reverse proxies, comma-separated (e.g. 127.0.0.1, 10.0.0.0/8): only their X-Forwarded-For names the client",
    ),
    (
        "PORTALOPS_INVITATION_TTL",
        "604800",
        "seconds an invitation link (set a first password) stays valid; usable once",
    ),
    (
        "PORTALOPS_PASSWORD_RESET_TTL",
        "3600",
        "seconds a password-reset link stays valid; usable once",
    ),
    (
        "PORTALOPS_LOG",
        "info",
        "log filter (tracing EnvFilter syntax)",
    ),
    ("PORTALOPS_OIDC_ISSUER", "(unset: no single sign-on)", "OpenID provider's issuer URL; discovery at <issuer>/.well-known/openid-configuration (docs/sso.md)"),
    ("PORTALOPS_OIDC_CLIENT_ID", "(required with an issuer)", "client id registered at the provider; redirect URI <public URL>/login/sso/callback"),
    ("PORTALOPS_OIDC_CLIENT_SECRET", "(required with an issuer)", "client secret (or PORTALOPS_OIDC_CLIENT_SECRET_FILE: a file holding it)"),
    ("PORTALOPS_OIDC_SCOPES", "openid email profile", "scopes asked for (openid is always included)"),
    ("PORTALOPS_OIDC_GROUPS_CLAIM", "(unset: groups not read)", "ID-token claim listing the person's groups, e.g. groups"),
    ("PORTALOPS_OIDC_GROUP_ROLES", "(unset: roles kept as set in PortalOps)", "group=role pairs, comma-separated (roles admin, service_admin, product_admin, user; with a scope service_admin:<service> or product_admin:<service>/<product>), applied at each login"),
    ("PORTALOPS_OIDC_BUTTON_LABEL", "Sign in with SSO", "label of the login page's single sign-on button"),
    ("PORTALOPS_OIDC_CREATE_UNKNOWN", "false", "create a person unknown to the directory at their first login (just in time) instead of refusing them"),
    ("PORTALOPS_OIDC_TRUST_EMAIL", "false", "treat the ID token's email as verified when the provider sends no email_verified (Microsoft Entra ID with a single-tenant issuer; docs/sso.md); an explicit email_verified: false is still refused"),
    ("PORTALOPS_OIDC_DISCOVERY_TTL", "3600", "seconds the provider's discovery document and keys are reused (an unknown key id fetches the keys again at once)"),
    ("PORTALOPS_PASSWORD_LOGIN", "on", "on, off, or a break-glass username: with off only single sign-on logs in; with a username only that account also logs in with its password"),
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests can supply their own variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());

        let bind: SocketAddr = match var("PORTALOPS_BIND") {
            Some(v) => v.trim().parse().map_err(|_| {
                ConfigError::new(
                    "PORTALOPS_BIND",
                    format!("'{v}' is not an address like 127.0.0.1:8000"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
        };
        let database_url = var("DATABASE_URL");
        if let Some(url) = &database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "must start with postgres:// or postgresql://",
                ));
            }
        }
        let data_dir = PathBuf::from(var("PORTALOPS_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let upload_dir = var("PORTALOPS_UPLOAD_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("uploads"));
        let jwt_secret = var("PORTALOPS_JWT_SECRET")
            .map(|s| check_secret("PORTALOPS_JWT_SECRET", s, 32))
            .transpose()?;
        let session_key = var("PORTALOPS_SESSION_KEY")
            .map(|s| check_secret("PORTALOPS_SESSION_KEY", s, 64))
            .transpose()?;
        let encryption_key = var("PORTALOPS_ENCRYPTION_KEY")
            .map(|s| check_secret("PORTALOPS_ENCRYPTION_KEY", s, 32))
            .transpose()?;
        let public_url = match var("PORTALOPS_PUBLIC_URL") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                u.trim_end_matches('/').to_string()
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "PORTALOPS_PUBLIC_URL",
                    "must start with http:// or https://",
                ))
            }
            None => format!("http://{bind}"),
        };
        let cookie_secure = parse_bool(
            "PORTALOPS_COOKIE_SECURE",
            var("PORTALOPS_COOKIE_SECURE"),
            true,
        )?;
        let secs = |name: &'static str, default: u64, min: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(parse_num(
                name,
                var(name),
                default,
                min,
            )?))
        };
        let access_token_ttl = secs("PORTALOPS_ACCESS_TOKEN_TTL", 900, 1)?;
        let refresh_token_ttl = secs("PORTALOPS_REFRESH_TOKEN_TTL", 14 * 24 * 3600, 60)?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // Two connections per core: on 2 cores a pool of 16 let 16 PostgreSQL backends and
        // their threads fight for the CPU, and p99 at 32 connections was 2–4× that of a pool
        // of 4 for the same throughput (docs/performance.md).
        let db_pool_size = parse_num(
            "PORTALOPS_DB_POOL_SIZE",
            var("PORTALOPS_DB_POOL_SIZE"),
            (2 * cores as u64).max(4),
            2,
        )? as u32;
        let workers = parse_num(
            "PORTALOPS_WORKERS",
            var("PORTALOPS_WORKERS"),
            cores as u64,
            1,
        )? as usize;
        let throttle = ThrottleConfig {
            max_failures_per_user: parse_num(
                "PORTALOPS_LOGIN_MAX_FAILURES",
                var("PORTALOPS_LOGIN_MAX_FAILURES"),
                5,
                1,
            )? as i32,
            max_failures_per_account: parse_num(
                "PORTALOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                var("PORTALOPS_LOGIN_MAX_FAILURES_PER_ACCOUNT"),
                20,
                1,
            )? as i32,
            max_failures_per_ip: parse_num(
                "PORTALOPS_LOGIN_MAX_FAILURES_PER_IP",
                var("PORTALOPS_LOGIN_MAX_FAILURES_PER_IP"),
                30,
                1,
            )? as i32,
            lockout: secs("PORTALOPS_LOGIN_LOCKOUT", 900, 1)?,
            delay_step: Duration::from_millis(parse_num(
                "PORTALOPS_LOGIN_DELAY_MS",
                var("PORTALOPS_LOGIN_DELAY_MS"),
                250,
                0,
            )?),
        };
        let log_filter = var("PORTALOPS_LOG").unwrap_or_else(|| "info".into());
        let max_upload_bytes = parse_num(
            "PORTALOPS_MAX_UPLOAD_MB",
            var("PORTALOPS_MAX_UPLOAD_MB"),
            10,
            1,
        )? * 1024
            * 1024;
        let task_lead_days = parse_num(
            "PORTALOPS_TASK_LEAD_DAYS",
            var("PORTALOPS_TASK_LEAD_DAYS"),
            0,
            0,
        )?
        .min(365) as i64;
        let mail = match var("PORTALOPS_SMTP_HOST") {
            None => None,
            Some(host) => Some(MailConfig {
                host: host.trim().to_string(),
                port: parse_num("PORTALOPS_SMTP_PORT", var("PORTALOPS_SMTP_PORT"), 587, 1)?
                    .min(65535) as u16,
                tls: match var("PORTALOPS_SMTP_TLS").as_deref().map(str::trim) {
                    None | Some("starttls") => MailTls::StartTls,
                    Some("tls") => MailTls::Tls,
                    Some("none") => MailTls::None,
                    Some(other) => {
                        return Err(ConfigError::new(
                            "PORTALOPS_SMTP_TLS",
                            format!("'{other}' is not none, starttls or tls"),
                        ))
                    }
                },
                username: var("PORTALOPS_SMTP_USERNAME"),
                password: var("PORTALOPS_SMTP_PASSWORD").map(|p| Secret::new(p.into_bytes())),
                from: var("PORTALOPS_MAIL_FROM").unwrap_or_else(|| "portalops@localhost".into()),
            }),
        };
        let timezone: chrono_tz::Tz = match var("PORTALOPS_TIMEZONE") {
            None => chrono_tz::UTC,
            Some(tz) => tz.trim().parse().map_err(|_| {
                ConfigError::new(
                    "PORTALOPS_TIMEZONE",
                    format!("'{tz}' is not an IANA time zone like Europe/Berlin"),
                )
            })?,
        };
        let time_of_day = |name: &'static str, default: u32| match var(name) {
            None => Ok(chrono::NaiveTime::from_hms_opt(default, 0, 0).unwrap_or_default()),
            Some(t) => chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| ConfigError::new(name, format!("'{t}' is not a time like 08:00"))),
        };
        let reminder_time = time_of_day("PORTALOPS_REMINDER_TIME", 8)?;
        let backup = match var("PORTALOPS_BACKUP_DIR") {
            None => None,
            Some(dir) => Some(BackupSchedule {
                dir: PathBuf::from(dir.trim()),
                at: time_of_day("PORTALOPS_BACKUP_TIME", 2)?,
                keep: parse_num("PORTALOPS_BACKUP_KEEP", var("PORTALOPS_BACKUP_KEEP"), 7, 1)?
                    .min(1000) as usize,
            }),
        };
        let reminder_days = match var("PORTALOPS_REMINDER_DAYS") {
            None => vec![30, 7, 1],
            Some(list) => {
                let mut days = Vec::new();
                for part in list.split(',') {
                    match part.trim().parse::<i64>() {
                        Ok(d) if (0..=365).contains(&d) => days.push(d),
                        _ => {
                            return Err(ConfigError::new(
                                "PORTALOPS_REMINDER_DAYS",
                                format!("'{list}' is not a list of days like 30,7,1"),
                            ))
                        }
                    }
                }
                days.sort_unstable_by(|a, b| b.cmp(a));
                days.dedup();
                days
            }
        };
        let digest_days =
            parse_num("PORTALOPS_DIGEST_DAYS", var("PORTALOPS_DIGEST_DAYS"), 3, 0)?.min(365) as i64;
        let outbox_interval = secs("PORTALOPS_OUTBOX_INTERVAL", 60, 1)?;
        let outbox_max_attempts = parse_num(
            "PORTALOPS_OUTBOX_MAX_ATTEMPTS",
            var("PORTALOPS_OUTBOX_MAX_ATTEMPTS"),
            8,
            1,
        )?
        .min(100) as i32;
        let scheduler = parse_bool("PORTALOPS_SCHEDULER", var("PORTALOPS_SCHEDULER"), true)?;
        if var("PORTALOPS_TRUST_PROXY").is_some() {
            return Err(ConfigError::new(
                "PORTALOPS_TRUST_PROXY",
                "is replaced by PORTALOPS_TRUSTED_PROXIES: list your reverse proxies' addresses",
            ));
        }
        let trusted_proxies = parse_networks(
            "PORTALOPS_TRUSTED_PROXIES",
            var("PORTALOPS_TRUSTED_PROXIES"),
        )?;

        let sso = sso_config(&var)?;
        let password_login = match var("PORTALOPS_PASSWORD_LOGIN").map(|v| v.trim().to_lowercase())
        {
            None => PasswordLogin::On,
            Some(v) if matches!(v.as_str(), "on" | "true" | "yes" | "1") => PasswordLogin::On,
            Some(v) if matches!(v.as_str(), "off" | "false" | "no" | "0") => PasswordLogin::Off,
            // A username as the directory allows them (3–64 of a-z 0-9 . _ -).
            Some(v)
                if (3..=64).contains(&v.len())
                    && v.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                    }) =>
            {
                PasswordLogin::BreakGlass(v)
            }
            Some(v) => {
                return Err(ConfigError::new(
                    "PORTALOPS_PASSWORD_LOGIN",
                    format!("'{v}' is not on, off or a username (the break-glass account)"),
                ))
            }
        };
        if password_login != PasswordLogin::On && sso.is_none() {
            return Err(ConfigError::new(
                "PORTALOPS_PASSWORD_LOGIN",
                "password login can only be switched off with single sign-on configured (PORTALOPS_OIDC_ISSUER)",
            ));
        }

        Ok(Self {
            bind,
            database_url,
            data_dir,
            upload_dir,
            jwt_secret,
            session_key,
            encryption_key,
            public_url,
            cookie_secure,
            access_token_ttl,
            refresh_token_ttl,
            refresh_grace: secs("PORTALOPS_REFRESH_GRACE", 10, 0)?,
            db_pool_size,
            workers,
            throttle,
            log_filter,
            trusted_proxies,
            max_upload_bytes,
            task_lead_days,
            mail,
            timezone,
            reminder_time,
            backup,
            reminder_days,
            digest_days,
            outbox_interval,
            outbox_max_attempts,
            scheduler,
            sso,
            password_login,
            invitation_ttl: secs("PORTALOPS_INVITATION_TTL", 7 * 24 * 3600, 60)?,
            password_reset_ttl: secs("PORTALOPS_PASSWORD_RESET_TTL", 3600, 60)?,
        })
    }

    /// The JWT secret and session key: from the environment, or generated once into the
    /// data directory (mode 0600) with a warning.
    /// Fills in the secrets not set in the environment from `<data>/secrets` (generated on
    /// first start). Returns whether any came from there rather than from the environment.
    pub fn resolve_secrets(&mut self) -> Result<bool, ConfigError> {
        let from_files = self.jwt_secret.is_none()
            || self.session_key.is_none()
            || self.encryption_key.is_none();
        if self.jwt_secret.is_none() {
            self.jwt_secret = Some(load_or_generate(
                &self.data_dir,
                "jwt_secret",
                "PORTALOPS_JWT_SECRET",
                48,
            )?);
        }
        if self.session_key.is_none() {
            self.session_key = Some(load_or_generate(
                &self.data_dir,
                "session_key",
                "PORTALOPS_SESSION_KEY",
                64,
            )?);
        }
        if self.encryption_key.is_none() {
            self.encryption_key = Some(load_or_generate(
                &self.data_dir,
                "encryption_key",
                "PORTALOPS_ENCRYPTION_KEY",
                32,
            )?);
        }
        Ok(from_files)
    }
}

/// The `PORTALOPS_OIDC_*` variables: all of them, or none but defaults.
fn sso_config(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<SsoConfig>, ConfigError> {
    let Some(issuer) = var("PORTALOPS_OIDC_ISSUER").map(|v| v.trim().to_string()) else {
        for name in [
            "PORTALOPS_OIDC_CLIENT_ID",
            "PORTALOPS_OIDC_CLIENT_SECRET",
            "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
            "PORTALOPS_OIDC_GROUP_ROLES",
        ] {
            if var(name).is_some() {
                return Err(ConfigError::new(
                    name,
                    "is set but PORTALOPS_OIDC_ISSUER is not: set the provider's issuer URL too",
                ));
            }
        }
        return Ok(None);
    };
    let local = issuer.starts_with("http://127.0.0.1")
        || issuer.starts_with("http://localhost")
        || issuer.starts_with("http://[::1]");
    if !(issuer.starts_with("https://") || local)
        || issuer.len() < 10
        || issuer.contains(char::is_whitespace)
    {
        return Err(ConfigError::new(
            "PORTALOPS_OIDC_ISSUER",
            format!("'{issuer}' is not an https:// URL (plain http only on localhost)"),
        ));
    }
    let client_id = var("PORTALOPS_OIDC_CLIENT_ID")
        .map(|v| v.trim().to_string())
        .ok_or_else(|| {
            ConfigError::new(
                "PORTALOPS_OIDC_CLIENT_ID",
                "is required with PORTALOPS_OIDC_ISSUER",
            )
        })?;
    let client_secret = match (
        var("PORTALOPS_OIDC_CLIENT_SECRET"),
        var("PORTALOPS_OIDC_CLIENT_SECRET_FILE"),
    ) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
                "set either PORTALOPS_OIDC_CLIENT_SECRET or PORTALOPS_OIDC_CLIENT_SECRET_FILE, not both",
            ))
        }
        (Some(s), None) => s.trim().to_string(),
        (None, Some(path)) => std::fs::read_to_string(path.trim())
            .map_err(|e| {
                ConfigError::new(
                    "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
                    format!("cannot read {}: {e}", path.trim()),
                )
            })?
            .trim()
            .to_string(),
        (None, None) => {
            return Err(ConfigError::new(
                "PORTALOPS_OIDC_CLIENT_SECRET",
                "is required with PORTALOPS_OIDC_ISSUER (or PORTALOPS_OIDC_CLIENT_SECRET_FILE)",
            ))
        }
    };
    if client_secret.is_empty() {
        return Err(ConfigError::new(
            "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
            "the client secret file is empty",
        ));
    }
    let mut scopes: Vec<String> = var("PORTALOPS_OIDC_SCOPES")
        .unwrap_or_else(|| "openid email profile".into())
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let groups_claim = var("PORTALOPS_OIDC_GROUPS_CLAIM").map(|v| v.trim().to_string());
    let mut group_roles = Vec::new();
    if let Some(list) = var("PORTALOPS_OIDC_GROUP_ROLES") {
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let rule = pair.split_once('=').and_then(|(g, r)| {
                let (role, scope) = match r.split_once(':') {
                    Some((role, scope)) => (role, Some(scope.trim().to_string())),
                    None => (r, None),
                };
                let role = crate::domain::Role::parse(role.trim())?;
                let scope_fits = match (&scope, role) {
                    (None, _) => true,
                    (Some(s), crate::domain::Role::ServiceAdmin) => !s.is_empty(),
                    (Some(s), crate::domain::Role::ProductAdmin) => s
                        .split_once('/')
                        .is_some_and(|(a, b)| !a.trim().is_empty() && !b.trim().is_empty()),
                    (Some(_), _) => false,
                };
                (!g.trim().is_empty() && scope_fits).then(|| GroupRule {
                    group: g.trim().to_string(),
                    role,
                    scope,
                })
            });
            let Some(rule) = rule else {
                return Err(ConfigError::new(
                    "PORTALOPS_OIDC_GROUP_ROLES",
                    format!("'{pair}' is not group=role (admin, service_admin, product_admin or user), group=service_admin:<service> or group=product_admin:<service>/<product>"),
                ));
            };
            group_roles.push(rule);
        }
        if groups_claim.is_none() && !group_roles.is_empty() {
            return Err(ConfigError::new(
                "PORTALOPS_OIDC_GROUPS_CLAIM",
                "is required with PORTALOPS_OIDC_GROUP_ROLES: name the claim that lists groups",
            ));
        }
    }
    let trust_email = parse_bool(
        "PORTALOPS_OIDC_TRUST_EMAIL",
        var("PORTALOPS_OIDC_TRUST_EMAIL"),
        false,
    )?;
    // Entra's multi-tenant endpoints let any tenant's account claim any address.
    let shared_tenant = ["/common/", "/organizations/", "/consumers/"]
        .iter()
        .any(|t| issuer.contains("login.microsoftonline.com") && issuer.contains(t));
    if trust_email && shared_tenant {
        return Err(ConfigError::new(
            "PORTALOPS_OIDC_TRUST_EMAIL",
            "needs an issuer that names your tenant (https://login.microsoftonline.com/<tenant id>/v2.0), not a multi-tenant endpoint",
        ));
    }
    Ok(Some(SsoConfig {
        issuer,
        client_id,
        client_secret: Secret::new(client_secret.into_bytes()),
        scopes,
        groups_claim,
        button_label: var("PORTALOPS_OIDC_BUTTON_LABEL")
            .map(|v| v.trim().chars().take(60).collect())
            .unwrap_or_else(|| "Sign in with SSO".into()),
        create_unknown: parse_bool(
            "PORTALOPS_OIDC_CREATE_UNKNOWN",
            var("PORTALOPS_OIDC_CREATE_UNKNOWN"),
            false,
        )?,
        trust_email,
        group_roles,
        discovery_ttl: Duration::from_secs(parse_num(
            "PORTALOPS_OIDC_DISCOVERY_TTL",
            var("PORTALOPS_OIDC_DISCOVERY_TTL"),
            3600,
            0,
        )?),
    }))
}

fn check_secret(var: &'static str, value: String, min_len: usize) -> Result<Secret, ConfigError> {
    if value.len() < min_len {
        return Err(ConfigError::new(
            var,
            format!("must be at least {min_len} bytes long"),
        ));
    }
    Ok(Secret::new(value.into_bytes()))
}

/// "127.0.0.1, 10.0.0.0/8, ::1": addresses (as single-host networks) and networks.
fn parse_networks(
    var: &'static str,
    value: Option<String>,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    value
        .unwrap_or_default()
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::new(
                        var,
                        format!("'{s}' is not an address or network like 10.0.0.0/8"),
                    )
                })
        })
        .collect()
}

fn parse_bool(
    var: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::new(var, format!("'{v}' is not true or false"))),
    }
}

fn parse_num(
    var: &'static str,
    value: Option<String>,
    default: u64,
    min: u64,
) -> Result<u64, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    match v.trim().parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(ConfigError::new(
            var,
            format!("'{v}' is not a whole number of at least {min}"),
        )),
    }
}

fn load_or_generate(
    data_dir: &Path,
    file: &str,
    var: &'static str,
    len: usize,
) -> Result<Secret, ConfigError> {
    use base64::Engine as _;
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};

    let dir = data_dir.join("secrets");
    let path = dir.join(file);
    let io_err =
        |e: std::io::Error| ConfigError::new(var, format!("cannot use {}: {e}", path.display()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| {
                ConfigError::new(
                    var,
                    format!("{} is corrupt; delete it to regenerate", path.display()),
                )
            })?;
        return Ok(Secret::new(bytes));
    }
    std::fs::create_dir_all(&dir).map_err(io_err)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err)?;
    let bytes = crate::crypto::random_bytes(len);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_err)?;
    f.write_all(
        base64::engine::general_purpose::STANDARD
            .encode(&bytes)
            .as_bytes(),
    )
    .map_err(io_err)?;
    tracing::warn!(
        variable = var,
        path = %path.display(),
        "secret not configured: generated one and stored it in the data directory; set {var} to share it between instances"
    );
    Ok(Secret::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_are_documented_values() {
        let c = cfg(&[]).expect("defaults are valid");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert!(c.cookie_secure);
        assert_eq!(c.upload_dir, PathBuf::from("./data/uploads"));
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.public_url, "http://127.0.0.1:8000");
        assert_eq!(c.invitation_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(c.password_reset_ttl, Duration::from_secs(3600));
        let e = cfg(&[("PORTALOPS_PASSWORD_RESET_TTL", "10")]).unwrap_err();
        assert_eq!(e.var, "PORTALOPS_PASSWORD_RESET_TTL");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let e = cfg(&[("PORTALOPS_BIND", "nonsense")]).unwrap_err();
        assert_eq!(e.var, "PORTALOPS_BIND");
        let e = cfg(&[("PORTALOPS_COOKIE_SECURE", "maybe")]).unwrap_err();
        assert_eq!(e.var, "PORTALOPS_COOKIE_SECURE");
        let e = cfg(&[("PORTALOPS_SESSION_KEY", "short")]).unwrap_err();
        assert_eq!(e.var, "PORTALOPS_SESSION_KEY");
        let e = cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        assert!(e
            .to_string()
            .starts_with("configuration error: DATABASE_URL"));
    }

    const SSO: &[(&str, &str)] = &[
        (
            "PORTALOPS_OIDC_ISSUER",
            "https://id.example.com/realms/staff",
        ),
        ("PORTALOPS_OIDC_CLIENT_ID", "portalops"),
        ("PORTALOPS_OIDC_CLIENT_SECRET", "s3cret"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = SSO.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn single_sign_on_is_off_without_an_issuer_and_has_documented_defaults() {
        let c = cfg(&[]).expect("defaults");
        assert!(c.sso.is_none());
        assert_eq!(c.password_login, PasswordLogin::On);
        let s = cfg(SSO).expect("valid").sso.expect("configured");
        assert_eq!(s.scopes, ["openid", "email", "profile"]);
        assert_eq!(s.button_label, "Sign in with SSO");
        assert!(!s.create_unknown);
        assert!(s.group_roles.is_empty());
        assert!(
            !format!("{s:?}").contains("s3cret"),
            "the secret never prints"
        );
    }

    #[test]
    fn group_roles_and_password_login_parse() {
        let c = cfg(&with(&[
            ("PORTALOPS_OIDC_GROUPS_CLAIM", "groups"),
            (
                "PORTALOPS_OIDC_GROUP_ROLES",
                "portal-admins=admin, it=service_admin, gws=service_admin:Google Workspace, mail=product_admin:Google Workspace/Gmail",
            ),
            ("PORTALOPS_PASSWORD_LOGIN", "rescue"),
            ("PORTALOPS_OIDC_SCOPES", "email groups"),
        ]))
        .expect("valid");
        let s = c.sso.expect("sso");
        let rule = |g: &str, role, scope: Option<&str>| GroupRule {
            group: g.into(),
            role,
            scope: scope.map(str::to_string),
        };
        assert_eq!(
            s.group_roles,
            [
                rule("portal-admins", crate::domain::Role::Admin, None),
                rule("it", crate::domain::Role::ServiceAdmin, None),
                rule(
                    "gws",
                    crate::domain::Role::ServiceAdmin,
                    Some("Google Workspace")
                ),
                rule(
                    "mail",
                    crate::domain::Role::ProductAdmin,
                    Some("Google Workspace/Gmail")
                ),
            ]
        );
        assert_eq!(s.scopes, ["openid", "email", "groups"]);
        assert_eq!(c.password_login, PasswordLogin::BreakGlass("rescue".into()));
        assert!(c.password_login.allows("rescue") && !c.password_login.allows("alice"));
        assert!(!PasswordLogin::Off.allows("rescue") && PasswordLogin::On.allows("alice"));
    }

    #[test]
    fn bad_single_sign_on_settings_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("PORTALOPS_OIDC_CLIENT_ID", "x")],
                "PORTALOPS_OIDC_CLIENT_ID",
            ),
            (
                &[("PORTALOPS_OIDC_ISSUER", "http://id.example.com")],
                "PORTALOPS_OIDC_ISSUER",
            ),
            (
                &[("PORTALOPS_OIDC_ISSUER", "https://id.example.com")],
                "PORTALOPS_OIDC_CLIENT_ID",
            ),
            (
                &[
                    ("PORTALOPS_OIDC_ISSUER", "https://id.example.com"),
                    ("PORTALOPS_OIDC_CLIENT_ID", "x"),
                ],
                "PORTALOPS_OIDC_CLIENT_SECRET",
            ),
            (
                &[("PORTALOPS_PASSWORD_LOGIN", "off")],
                "PORTALOPS_PASSWORD_LOGIN",
            ),
        ];
        for (vars, expected) in cases {
            assert_eq!(cfg(vars).unwrap_err().var, *expected, "{vars:?}");
        }
        let bad: &[(&'static str, &'static str, &str)] = &[
            (
                "PORTALOPS_OIDC_GROUP_ROLES",
                "admins=root",
                "PORTALOPS_OIDC_GROUP_ROLES",
            ),
            (
                "PORTALOPS_OIDC_GROUP_ROLES",
                "admins=admin",
                "PORTALOPS_OIDC_GROUPS_CLAIM",
            ),
            (
                "PORTALOPS_OIDC_CREATE_UNKNOWN",
                "perhaps",
                "PORTALOPS_OIDC_CREATE_UNKNOWN",
            ),
            (
                "PORTALOPS_PASSWORD_LOGIN",
                "Not A Name!",
                "PORTALOPS_PASSWORD_LOGIN",
            ),
            (
                "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
                "/nonexistent/secret",
                "PORTALOPS_OIDC_CLIENT_SECRET_FILE",
            ),
        ];
        for (name, value, expected) in bad {
            assert_eq!(
                cfg(&with(&[(name, value)])).unwrap_err().var,
                *expected,
                "{name}={value}"
            );
        }
        // Trusting emails needs a tenant of one's own at Entra.
        let common = [
            (
                "PORTALOPS_OIDC_ISSUER",
                "https://login.microsoftonline.com/common/v2.0",
            ),
            ("PORTALOPS_OIDC_CLIENT_ID", "x"),
            ("PORTALOPS_OIDC_CLIENT_SECRET", "y"),
            ("PORTALOPS_OIDC_TRUST_EMAIL", "true"),
        ];
        assert_eq!(cfg(&common).unwrap_err().var, "PORTALOPS_OIDC_TRUST_EMAIL");
        let tenant = [
            (
                "PORTALOPS_OIDC_ISSUER",
                "https://login.microsoftonline.com/8f0e-tenant/v2.0",
            ),
            ("PORTALOPS_OIDC_CLIENT_ID", "x"),
            ("PORTALOPS_OIDC_CLIENT_SECRET", "y"),
            ("PORTALOPS_OIDC_TRUST_EMAIL", "true"),
        ];
        let sso = cfg(&tenant).expect("valid").sso.expect("sso");
        assert!(sso.trust_email);
    }
}
