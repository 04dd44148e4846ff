//! `tessera`: the command-line authenticator and, for testers, the device simulator.
//!
//! A thin shell: each subcommand (one file in `cmd/`) parses its arguments, calls the domain
//! crates (core, vault) and prints. Errors leave as one line on stderr and a non-zero exit:
//! 1 for anything that went wrong, 2 for a command line clap could not parse.

mod cmd;
mod context;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cmd::Command;
use crate::context::VaultOptions;

/// Tessera — an open authenticator: TOTP/HOTP/Steam codes from an encrypted local vault.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    vault: VaultOptions,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: print as clap formats them.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, like every other error: clap's first line without its own prefix.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!("tessera: error: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match cmd::run(cli.command, &cli.vault) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain on one line: "importing x.json: wrong password".
            eprintln!("tessera: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
