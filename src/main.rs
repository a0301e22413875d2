//! The `portalops` command: `serve` (the default), `migrate`, `admin create`, `demo-data`,
//! `backup`, `restore`.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::Connection as _;

use portalops::audit::AuditEntry;
use portalops::authz::Role;
use portalops::config::Config;
use portalops::directory::commands::{insert_login_user, CreateError, NewLoginUser};
use portalops::startup;

#[derive(Parser)]
#[command(
    name = "portalops",
    version,
    about = "Self-hosted portal for running a company's SaaS estate"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with a demo company (10,000 people at scale 1) and print the
    /// demo accounts' password.
    DemoData {
        /// Multiplies every count: 0.1 for a small company, 2 for a large one.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Delete everything in the database first (people, inventory, payments, audit log,
        /// uploaded files). Without it, a database with anyone in it is refused.
        #[arg(long)]
        replace: bool,
    },
    /// Write one archive with a dump of the database, every uploaded file and a manifest of
    /// checksums and row counts. Safe while PortalOps serves (a snapshot, no lock).
    Backup {
        /// Where to write it (default: the data directory's `backups`).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Restore an archive into an empty database and upload directory, after checking every
    /// checksum; then apply the migrations newer than the archive. Stop PortalOps first.
    Restore {
        archive: std::path::PathBuf,
        /// Replace a database and upload directory that hold data (says what it replaced).
        #[arg(long)]
        force: bool,
    },
    /// Manage Admin accounts from the shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Long-lived API tokens for service scripts (docs/api.md, "API tokens").
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make an API token for a login or a service account and print it (once) on standard
    /// output. Audited.
    Create {
        /// The login (username) the token acts as; their role and scope still decide.
        #[arg(long, required_unless_present = "service", conflicts_with = "service")]
        user: Option<String>,
        /// The service account (by name, made on Settings → Service accounts) the token acts
        /// as, instead of a login; its role and scope still decide.
        #[arg(long)]
        service: Option<String>,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// `read`, or AREA:read / AREA:write (people, inventory, billing, workflows,
        /// audit), separated by spaces or commas.
        #[arg(long)]
        scopes: String,
        /// The last day it works (YYYY-MM-DD); no expiry without it.
        #[arg(long)]
        expires_on: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an Admin. Prompts for the password, or reads one line from standard input
    /// when it is not a terminal (for scripts).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Full name (defaults to the username).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a person's second factor and recovery codes (they lost their phone and there
    /// is no other Admin to reset it); they then log in with their password alone. Audited.
    ResetTwoFactor {
        #[arg(long)]
        username: String,
    },
}

fn main() -> ExitCode {
    portalops::sys::limit_malloc_arenas();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config.log_filter);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::serve(config),
        Command::Migrate => migrate(&config),
        Command::DemoData { scale, replace } => demo_data(&config, scale, replace),
        Command::Backup { out } => backup(&config, out),
        Command::Restore { archive, force } => restore(&config, &archive, force),
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    email,
                    name,
                },
        } => create_admin(&config, username, email, name),
        Command::Token {
            command:
                TokenCommand::Create {
                    user,
                    service,
                    name,
                    scopes,
                    expires_on,
                },
        } => {
            let owner = match (user, service) {
                (_, Some(service)) => TokenOwner::Service(service),
                (Some(user), None) => TokenOwner::Login(user),
                (None, None) => unreachable!("clap requires --user or --service"),
            };
            create_token(&config, &owner, &name, &scopes, expires_on.as_deref())
        }
        Command::Admin {
            command: AdminCommand::ResetTwoFactor { username },
        } => reset_two_factor(&config, &username),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portalops: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only: log files and journald get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn migrate(config: &Config) -> Result<(), String> {
    let (_db, url) = startup::open_database(config)?;
    let applied = startup::migrate(&url)?;
    println!("{} migration(s) applied", applied.len());
    Ok(())
}

fn backup(config: &Config, out: Option<std::path::PathBuf>) -> Result<(), String> {
    let (_db, url) = startup::open_database(config)?;
    let out = out.unwrap_or_else(|| config.data_dir.join("backups"));
    let done = portalops::backup::backup(&url, &config.upload_dir, &out)?;
    let rows: i64 = done.manifest.tables.values().sum();
    println!(
        "{}\n  {} rows in {} tables, {} uploaded files, migration {}",
        done.archive.display(),
        rows,
        done.manifest.tables.len(),
        done.manifest.uploads.len(),
        done.manifest.latest_migration
    );
    Ok(())
}

fn restore(config: &Config, archive: &std::path::Path, force: bool) -> Result<(), String> {
    let (_db, url) = startup::open_database(config)?;
    let done = portalops::backup::restore(
        archive,
        &url,
        &config.upload_dir,
        portalops::backup::RestoreOptions { force },
    )?;
    if !done.replaced.is_empty() {
        println!("replaced: {}", done.replaced);
    }
    let rows: i64 = done.manifest.tables.values().sum();
    println!(
        "restored {} rows and {} uploaded files from a backup of {} (PortalOps {}); {} newer migration(s) applied",
        rows,
        done.manifest.uploads.len(),
        done.manifest.created_at,
        done.manifest.portalops_version,
        done.migrations_applied.len()
    );
    Ok(())
}

fn demo_data(config: &Config, scale: f64, replace: bool) -> Result<(), String> {
    let (_db, url) = startup::open_database(config)?;
    startup::migrate(&url)?;
    let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
    let summary =
        portalops::demo::load(&mut conn, &portalops::demo::DemoOptions { scale, replace })?;
    // The replaced attachments' rows are gone; so go their files.
    for name in &summary.replaced_files {
        if let Some(path) = portalops::payments::uploads::path_of(&config.upload_dir, name) {
            if let Err(e) = std::fs::remove_file(&path) {
                eprintln!("warning: could not remove {}: {e}", path.display());
            }
        }
    }
    println!("Demo company loaded in {:.1} s:", summary.seconds);
    for (table, n) in &summary.counts {
        println!("  {table:<16} {n:>9}");
    }
    println!(
        "Log in as any of these accounts with the password {}",
        summary.password
    );
    for (user, role) in &summary.accounts {
        println!("  {user:<10} {role}");
    }
    println!("(The password is shown only now; `portalops admin create` adds another Admin.)");
    Ok(())
}

fn reset_two_factor(config: &Config, username: &str) -> Result<(), String> {
    let (_db, url) = startup::open_database(config)?;
    startup::migrate(&url)?;
    let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
    match portalops::auth::two_factor::commands::reset_from_shell(&mut conn, username)
        .map_err(|e| e.to_string())?
    {
        None => Err(format!("no login has the username '{username}'")),
        Some((name, false)) => {
            println!("{name} has no second factor: nothing to reset.");
            Ok(())
        }
        Some((name, true)) => {
            println!(
                "The two-factor login of {name} was reset: they log in with their password alone."
            );
            Ok(())
        }
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Repeat password: ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// Whom `portalops token create` makes a token for.
enum TokenOwner {
    Login(String),
    Service(String),
}

fn create_token(
    config: &Config,
    owner: &TokenOwner,
    name: &str,
    scopes: &str,
    expires_on: Option<&str>,
) -> Result<(), String> {
    use portalops::auth::api_tokens::commands::{
        create_for_service_from_shell, create_from_shell, NewToken,
    };
    use portalops::error::CommandError;
    let clock = portalops::clock::Clock::new(config.timezone);
    let scopes = portalops::domain::TokenScopes::parse_words(scopes.split([' ', ',']));
    let request =
        NewToken::new(name, expires_on.unwrap_or(""), scopes, &clock).map_err(|errors| {
            errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
    let (_db, url) = startup::open_database(config)?;
    startup::migrate(&url)?;
    let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
    let (made, whom) = match owner {
        TokenOwner::Login(user) => (
            create_from_shell(&mut conn, user, request, &clock),
            user.clone(),
        ),
        TokenOwner::Service(name) => (
            create_for_service_from_shell(&mut conn, name, request, &clock),
            format!("the service account {name}"),
        ),
    };
    match made {
        Ok(made) => {
            eprintln!(
                "API token {} \"{}\" made for {whom} ({}); it is shown this once:",
                made.prefix, made.name, made.scopes
            );
            println!("{}", made.secret);
            Ok(())
        }
        Err(CommandError::Refused(m)) => Err(m),
        Err(CommandError::Invalid(errors)) => Err(errors
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; ")),
        Err(CommandError::Other(e)) => Err(e.to_string()),
    }
}

fn create_admin(
    config: &Config,
    username: String,
    email: String,
    name: Option<String>,
) -> Result<(), String> {
    let password = read_password()?;
    let mut user = NewLoginUser {
        full_name: name.unwrap_or_else(|| username.clone()),
        email,
        username,
        password_confirm: password.clone(),
        password,
    };
    if let Err(errors) = user.validate() {
        let fields = [
            "full_name",
            "email",
            "username",
            "password",
            "password_confirm",
        ];
        let msgs: Vec<String> = fields
            .iter()
            .filter(|f| !errors.get(f).is_empty())
            .map(|f| format!("{f}: {}", errors.get(f)))
            .collect();
        return Err(msgs.join("; "));
    }
    let hash = portalops::auth::password::hash(&user.password).map_err(|e| e.to_string())?;
    let (_db, url) = startup::open_database(config)?;
    startup::migrate(&url)?;
    let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
    let entry = AuditEntry::system("user.created", "user", None)
        .actor(None, "command line")
        .summary(format!(
            "Admin '{}' created with `portalops admin create`",
            user.username
        ));
    let result = conn.transaction(|conn| insert_login_user(conn, &user, &hash, Role::Admin, entry));
    match result {
        Ok(id) => {
            println!("Admin '{}' created (id {id}).", user.username);
            Ok(())
        }
        Err(CreateError::Invalid(errors)) => {
            Err(
                format!("{} {}", errors.get("email"), errors.get("username"))
                    .trim()
                    .to_string(),
            )
        }
        Err(CreateError::Other(e)) => Err(e.to_string()),
    }
}
