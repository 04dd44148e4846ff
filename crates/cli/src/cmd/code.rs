use anyhow::Result;
use tessera_core::{Clock, OtpType, SystemClock};

use crate::cmd::resolve;
use crate::context::VaultOptions;
use crate::output::{print_json, CodeJson};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which account: an id, `issuer:name`, or text matching one account.
    pub query: String,
    /// Compute the code for this instant (Unix seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
    /// Print JSON (see docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    let mut vault = opts.open()?;
    let stored = resolve(&vault, &args.query)?;
    let at = args.at.unwrap_or_else(|| SystemClock.now_unix());
    let (code, counter) = if stored.account.otp_type == OtpType::Hotp {
        // Showing an HOTP code uses it up: advance the counter atomically first.
        let counter = stored.account.counter;
        (vault.next_hotp(stored.id)?, Some(counter))
    } else {
        let code = stored.account.code_at(at)?;
        vault.touch(stored.id)?;
        (code, None)
    };
    if args.json {
        print_json(&CodeJson::new(
            stored.id,
            &stored.account,
            &code,
            at,
            counter,
        ))
    } else {
        println!("{}", code.value);
        Ok(())
    }
}
