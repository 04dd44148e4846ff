//! `tessera-server`: reads the configuration and runs the server library. Nothing else.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera_core::SystemClock;
use tessera_server::auth::issue_token;
use tessera_server::model::TokenKind;
use tessera_server::Config;

/// Tessera's verification server: users, TOTP and recovery codes, an Auth0-shaped MFA API.
#[derive(Debug, Parser)]
#[command(name = "tessera-server", version)]
struct Cli {
    /// TOML configuration file (settings: see docs/server.md).
    #[arg(long, env = "TESSERA_SERVER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:7878).
    #[arg(long, global = true)]
    listen: Option<String>,
    /// SQLite database file (default: the user's data directory), or a PostgreSQL URL
    /// (postgres://…).
    #[arg(long, global = true)]
    database: Option<String>,
    /// Master key file (default: master.key beside the database).
    #[arg(long, global = true)]
    key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Administration commands that work on the database directly.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Management API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Users (e.g. the first administrator of the admin console, with no API call).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Copies the database to a new file, consistently, while the server runs (SQLite's online
    /// backup; with PostgreSQL, `pg_dump`). The master key is not in it: back that up once,
    /// separately.
    Backup {
        /// The backup file to create (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replaces the master key: re-seals every TOTP secret, the device identity and the OpenID
    /// Connect signing keys under the key in NEW (created, mode 0600, if missing) in one
    /// transaction. Stop every instance first; then give them the new key.
    RotateKey {
        /// The new key file.
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Replaces the database with a backup after checking it (with PostgreSQL, `pg_restore` in
    /// one transaction). Stop the server (every instance) first.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Creates a management token and prints it (once).
    Create {
        /// Comma-separated scopes, e.g. read:users,create:users.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates a user and prints its id. The password is read from standard input (its first
    /// line), or asked for without echo when standard input is a terminal.
    Create {
        /// The user name.
        #[arg(long)]
        username: String,
        /// An email address.
        #[arg(long)]
        email: Option<String>,
        /// Makes the user an administrator: a member of `console.admin_group`.
        #[arg(long)]
        admin: bool,
    },
}

/// A password from standard input: asked for without echo on a terminal, else its first line.
fn read_password() -> anyhow::Result<zeroize::Zeroizing<String>> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        eprint!("Password for the new user: ");
        std::io::stderr().flush()?;
        stty("-echo");
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    let pw = zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    tessera_server::api::users::check_password(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(pw)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!(
                "tessera-server: {}",
                msg.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::from(2)
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let text = match &cli.config {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("`--config` {}", p.display()))?,
        ),
        None => None,
    };
    let mut config = Config::load(text.as_deref(), std::env::vars())?;
    if let Some(l) = &cli.listen {
        config.listen = l.clone();
    }
    if let Some(d) = &cli.database {
        config.database = tessera_server::config::DatabaseConfig::from_text(d);
    }
    if let Some(k) = &cli.key_file {
        config.key_file = Some(k.clone());
    }
    config.validate()?;
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = load_config(&cli)?;
    match &cli.command {
        Some(Command::Admin {
            command:
                AdminCommand::Token {
                    command: TokenCommand::Create { scopes, name },
                },
        }) => {
            tessera_server::api::tokens::check_scopes(scopes)?;
            let store = tessera_server::open_store(&config)?;
            let now = tessera_core::Clock::now_unix(&SystemClock);
            let (secret, record, hash) =
                issue_token(TokenKind::Management, None, scopes.clone(), name, None, now)?;
            store.insert_token(record, hash)?;
            println!("{secret}");
            Ok(())
        }
        Some(Command::Admin {
            command:
                AdminCommand::User {
                    command:
                        UserCommand::Create {
                            username,
                            email,
                            admin,
                        },
                },
        }) => {
            let password = read_password()?;
            let hash = tessera_server::password::hash(&password)?;
            let groups = if *admin {
                vec![config.console.admin_group.clone()]
            } else {
                Vec::new()
            };
            let new = tessera_server::model::NewUser {
                username: username.clone(),
                email: email.clone(),
                phone: None,
                password_hash: Some(hash),
                organizations: Vec::new(),
                groups,
            };
            tessera_server::api::users::check_new_user(&new)?;
            let store = tessera_server::open_store(&config)?;
            let now = tessera_core::Clock::now_unix(&SystemClock);
            let user = store.create_user(new, now)?;
            println!("{}", user.user_id);
            if *admin {
                eprintln!(
                    "{} is an administrator (group `{}`): sign in at /admin, and set up a second factor first (the console needs one)",
                    user.username, config.console.admin_group
                );
            }
            Ok(())
        }
        Some(Command::Admin {
            command: AdminCommand::Backup { to },
        }) => {
            if let Some(url) = &config.database.url {
                let d = tessera_server::store::pg::backup::backup(url, to)?;
                println!(
                    "backed up the PostgreSQL database to {} (pg_dump, schema version {}); keep the master key apart",
                    to.display(),
                    d.schema_version
                );
                return Ok(());
            }
            let (db, _) = tessera_server::resolve_paths(&config)?;
            let c = tessera_server::store::backup::backup(&db, to)?;
            println!(
                "backed up {} to {} ({} pages, schema version {}); keep the master key file apart",
                db.display(),
                to.display(),
                c.pages,
                c.schema_version
            );
            Ok(())
        }
        Some(Command::Admin {
            command: AdminCommand::Restore { from },
        }) => {
            if let Some(url) = &config.database.url {
                let d = tessera_server::store::pg::backup::restore(url, from)?;
                println!(
                    "restored the PostgreSQL database from {} (pg_restore, schema version {}); start the instances",
                    from.display(),
                    d.schema_version
                );
                return Ok(());
            }
            let (db, _) = tessera_server::resolve_paths(&config)?;
            let newest = tessera_server::store::sqlite::schema_version();
            let c = tessera_server::store::backup::restore(&db, from, newest)?;
            println!(
                "restored {} from {} ({} pages, schema version {}); start the server",
                db.display(),
                from.display(),
                c.pages,
                c.schema_version
            );
            Ok(())
        }
        Some(Command::Admin {
            command: AdminCommand::RotateKey { new_key_file },
        }) => {
            let old = tessera_server::load_key(&config)?;
            let new = tessera_server::crypto::MasterKey::load_or_create(new_key_file)?;
            let store = tessera_server::open_store(&config)?;
            let n = store.reseal(Arc::new(move |sealed, context| {
                let plain = old.open(sealed, context)?;
                new.seal(&plain, context)
            }))?;
            println!(
                "re-sealed {n} secrets under {}; start every instance with it (key_file or {}) and keep the old key until a backup made after this one exists",
                new_key_file.display(),
                tessera_server::config::MASTER_KEY_ENV
            );
            Ok(())
        }
        None => serve(config),
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .map_err(|e| anyhow::anyhow!("`log`: {e}"))?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut config = config;
        let listener = tessera_server::bind(&mut config).await?;
        let addr = listener.local_addr()?;
        let scheme = if config.http.tls_cert.is_some() { "https" } else { "http" };
        let (state, first_token) = tessera_server::open(config, Arc::new(SystemClock))?;
        println!("tessera-server listening on {scheme}://{addr}");
        match first_token {
            Some(t) => println!(
                "First admin token (shown once; keep it safe, it has every management scope):\n{t}"
            ),
            None => println!(
                "Create a management token with: tessera-server admin token create --scopes read:users,create:users,..."
            ),
        }
        tessera_server::run(listener, state, shutdown_signal()).await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
