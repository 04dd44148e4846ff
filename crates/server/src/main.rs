//! `tessera-server`: reads configuration, opens the database, serves. Everything else is the
//! library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tessera_core::SystemClock;
use tessera_server::config::Config;
use tessera_server::AppState;

/// Tessera's verification server.
#[derive(Debug, Parser)]
#[command(name = "tessera-server", version, about)]
struct Cli {
    /// TOML configuration file (see docs/server.md).
    #[arg(long, env = "TESSERA_SERVER_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7878].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// SQLite database file [default: in the user's data dir].
    #[arg(long, value_name = "FILE")]
    database: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Token management.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an admin token and print it (once).
    Create {
        /// Comma-separated scopes: admin, read:users, write:users, read:logs, manage:mfa,
        /// manage:tokens, verify:otp.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-server: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn settings(cli: &Cli) -> Result<tessera_server::config::Settings, String> {
    let mut config = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Config::default(),
    };
    config
        .apply_env(std::env::vars())
        .map_err(|e| e.to_string())?;
    if let Some(l) = &cli.listen {
        config.listen = l.clone();
    }
    if let Some(d) = &cli.database {
        config.database = Some(d.clone());
    }
    config.check().map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    let settings = settings(&cli)?;
    let state = AppState::open(settings, Arc::new(SystemClock))?;
    if let Some(Command::Admin {
        command:
            AdminCommand::Token {
                command: TokenCommand::Create { scopes },
            },
    }) = &cli.command
    {
        for s in scopes {
            if !tessera_server::auth::MANAGEMENT_SCOPES.contains(&s.as_str()) {
                return Err(format!("unknown scope `{s}`"));
            }
        }
        let token = state
            .create_admin_token(scopes)
            .map_err(|e| e.to_string())?;
        println!("{token}");
        return Ok(());
    }

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| "tessera_server=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let addr = state.settings().listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listening on {addr}: {e}"))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        println!("tessera-server listening on {url}");
        match state.first_start_token().map_err(|e| e.to_string())? {
            Some(token) => {
                println!("First start: your admin token (shown once, keep it safe):");
                println!("  {token}");
            }
            None => println!(
                "Admin tokens: `tessera-server admin token create --scopes admin` prints a new one."
            ),
        }
        println!("API description: {url}/openapi.json");
        tessera_server::run(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
    })
}
