//! `tessera device …`: the testers' device simulator (DC-3). The device keys and enrollments
//! live in the vault as sealed items of kind `device`; the protocol is tessera-client's.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use tessera_client::{Device, DeviceEvent, EnrollOptions, Enrollment, KeyStore, SubscribeOptions};
use tessera_core::device::wire::{PushChallenge, PushContext};
use tessera_core::device::{Decision, DeviceNetwork, EnrollLink, QrLoginLink, SignatureAlgorithm};
use tessera_vault::Vault;
use zeroize::Zeroizing;

use crate::context::VaultOptions;
use crate::output::print_json;

const KIND: &str = "device";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Enroll this simulated device with a server from its `tessera://enroll?…` link or QR code.
    Enroll {
        /// The enrollment link.
        #[arg(required_unless_present = "qr", conflicts_with = "qr")]
        link: Option<String>,
        /// An image holding the enrollment QR code.
        #[arg(long, value_name = "IMAGE")]
        qr: Option<PathBuf>,
        /// The device name the server shows.
        #[arg(long, default_value = "tessera CLI")]
        name: String,
        /// Signature algorithm: ES256 or EdDSA (default: the server's preference).
        #[arg(long)]
        algorithm: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the enrollments of this device.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unenroll from the server and forget the key.
    Remove {
        /// The device id (see `device list`).
        id: String,
        /// Forget the key without telling the server (it may be unreachable).
        #[arg(long)]
        local_only: bool,
    },
    /// Answer push challenges as they arrive.
    Watch {
        #[command(flatten)]
        pick: Pick,
        /// Approve every challenge (with --number).
        #[arg(long, conflicts_with_all = ["deny", "not_me", "prompt"], requires = "number")]
        approve: bool,
        /// Deny every challenge.
        #[arg(long, conflicts_with_all = ["not_me", "prompt"])]
        deny: bool,
        /// Answer "this wasn't me" to every challenge.
        #[arg(long, conflicts_with = "prompt")]
        not_me: bool,
        /// The number to enter (as read on the sign-in screen).
        #[arg(long)]
        number: Option<u32>,
        /// Ask on the terminal for each challenge.
        #[arg(long)]
        prompt: bool,
        /// Stop after this many challenges.
        #[arg(long)]
        count: Option<usize>,
        /// Stop when no challenge arrives for this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// Poll instead of keeping an event stream open.
        #[arg(long)]
        poll: bool,
        /// One JSON event per line.
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending challenge by transaction id.
    Approve {
        /// The transaction id (base64url: it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        tx: String,
        /// The number shown on the sign-in screen.
        #[arg(long)]
        number: u32,
        #[command(flatten)]
        pick: Pick,
    },
    /// Deny a pending challenge by transaction id.
    Deny {
        /// The transaction id (base64url: it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        tx: String,
        /// Report it as "this wasn't me" (pauses pushes and is audited).
        #[arg(long)]
        not_me: bool,
        #[command(flatten)]
        pick: Pick,
    },
    /// Approve (or deny) a QR login from its `tessera://qr-login?…` link or QR code.
    QrLogin {
        /// The QR-login link.
        #[arg(required_unless_present = "qr", conflicts_with = "qr")]
        link: Option<String>,
        /// An image holding the QR code (e.g. a screenshot of the sign-in page).
        #[arg(long, value_name = "IMAGE")]
        qr: Option<PathBuf>,
        /// Deny instead of approving.
        #[arg(long)]
        deny: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which enrollment to act as.
#[derive(Debug, Clone, clap::Args)]
pub struct Pick {
    /// The device id, when this device is enrolled with several servers.
    #[arg(long = "device", value_name = "ID")]
    pub device: Option<String>,
}

/// The vault as a [`KeyStore`].
struct VaultKeys<'a>(&'a mut Vault);

fn storage(e: tessera_vault::Error) -> tessera_client::Error {
    tessera_client::Error::Storage(e.to_string())
}

impl KeyStore for VaultKeys<'_> {
    fn put(&mut self, id: &str, bytes: &[u8]) -> tessera_client::Result<()> {
        self.0.put_item(KIND, id, bytes).map_err(storage)
    }
    fn get(&self, id: &str) -> tessera_client::Result<Option<Zeroizing<Vec<u8>>>> {
        self.0.get_item(KIND, id).map_err(storage)
    }
    fn ids(&self) -> tessera_client::Result<Vec<String>> {
        Ok(self
            .0
            .list_items(KIND)
            .map_err(storage)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    fn delete(&mut self, id: &str) -> tessera_client::Result<bool> {
        self.0.delete_item(KIND, id).map_err(storage)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn read_link(link: Option<String>, qr: Option<PathBuf>, scheme: &str) -> Result<String> {
    if let Some(l) = link {
        return Ok(l.trim().to_owned());
    }
    let path = qr.ok_or_else(|| anyhow!("give a link or --qr IMAGE"))?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let texts = tessera_core::qr::decode_image_bytes(&bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    texts
        .into_iter()
        .find(|t| t.to_ascii_lowercase().starts_with(scheme))
        .ok_or_else(|| anyhow!("no {scheme} QR code found in {}", path.display()))
}

fn enrollments(vault: &mut Vault) -> Result<Vec<Enrollment>> {
    let store = VaultKeys(vault);
    let mut out = Vec::new();
    for id in store.ids()? {
        if let Some(e) = store.load(&id)? {
            out.push(e);
        }
    }
    Ok(out)
}

fn pick(vault: &mut Vault, wanted: Option<&str>) -> Result<Device> {
    let mut all = enrollments(vault)?;
    let chosen = match wanted {
        Some(id) => {
            let i = all.iter().position(|e| e.device_id == id).ok_or_else(|| {
                anyhow!("no enrollment with device id `{id}` (see `tessera device list`)")
            })?;
            all.swap_remove(i)
        }
        None => match all.len() {
            0 => {
                bail!("this device is not enrolled with any server: `tessera device enroll <link>`")
            }
            1 => all.swap_remove(0),
            n => bail!("this device has {n} enrollments; choose one with --device ID"),
        },
    };
    Ok(Device::from_enrollment(chosen)?)
}

fn challenge_json(c: &PushChallenge) -> serde_json::Value {
    json!({
        "event": "challenge",
        "transaction_id": c.transaction_id,
        "origin": c.origin,
        "application": c.context.application,
        "requester_origin": c.context.origin,
        "ip": c.context.ip,
        "location": c.context.location,
        "user_agent": c.context.user_agent,
        "device_network": c.context.device_network,
        "device_network_prefix": c.context.device_network_prefix,
        "expires_at": c.expires_at,
        "number_choices": c.number_choices,
    })
}

/// One line on how the requester's network compares with this device's, as the server told.
fn network_line(c: &PushContext) -> String {
    match c.device_network {
        DeviceNetwork::Same => format!(
            "  same network as this device ({})",
            c.device_network_prefix
        ),
        DeviceNetwork::Different => format!(
            "  WARNING: this request comes from a different network ({}) than this device ({})",
            c.ip, c.device_network_prefix
        ),
        DeviceNetwork::Unknown => {
            "  the server could not compare the request's network with this device's".to_owned()
        }
    }
}

pub fn run(args: Args, opts: &VaultOptions) -> Result<()> {
    match args.command {
        Command::Enroll {
            link,
            qr,
            name,
            algorithm,
            json,
        } => {
            let text = read_link(link, qr, "tessera://enroll")?;
            let link = EnrollLink::parse(&text).context("reading the enrollment link")?;
            let algorithm = match algorithm.as_deref().map(str::to_ascii_uppercase).as_deref() {
                None => None,
                Some("ES256") => Some(SignatureAlgorithm::Es256),
                Some("EDDSA" | "ED25519") => Some(SignatureAlgorithm::Ed25519),
                Some(other) => bail!("unknown algorithm `{other}` (use ES256 or EdDSA)"),
            };
            let mut vault = opts.open_or_create()?;
            let options = EnrollOptions {
                device_name: name,
                algorithm,
                ..EnrollOptions::default()
            };
            let device = runtime()?.block_on(Device::enroll(&link, &options))?;
            let e = device.enrollment();
            VaultKeys(&mut vault).save(e)?;
            if json {
                print_json(&json!({
                    "device_id": e.device_id, "origin": e.origin, "user": e.user,
                    "algorithm": e.key.algorithm().as_str(),
                    "server_key": e.server_fingerprint(),
                    "paired_totp": e.otp_uri.is_some(),
                }))?;
            } else {
                println!(
                    "enrolled {} with {} as {} ({})",
                    e.device_id,
                    e.origin,
                    e.user,
                    e.key.algorithm().as_str()
                );
            }
            // Enrolling push also provisions a paired TOTP (A0-4): keep it with the accounts.
            if let Some(uri) = &e.otp_uri {
                let account = tessera_core::uri::parse(uri)?;
                if vault.duplicates_of(&account)?.is_empty() {
                    let id = vault.insert(&account)?;
                    if !json {
                        println!("added the paired TOTP as #{id} {}", account.display_name());
                    }
                }
            }
            Ok(())
        }
        Command::List { json } => {
            let mut vault = opts.open()?;
            let all = enrollments(&mut vault)?;
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|e| {
                        json!({
                            "device_id": e.device_id, "origin": e.origin, "user": e.user,
                            "device_name": e.device_name, "algorithm": e.key.algorithm().as_str(),
                            "server_key": e.server_fingerprint(),
                        })
                    })
                    .collect();
                return print_json(&v);
            }
            if all.is_empty() {
                println!("not enrolled with any server");
            }
            for e in all {
                println!(
                    "{}  {}  {}  {}",
                    e.device_id,
                    e.origin,
                    e.user,
                    e.key.algorithm().as_str()
                );
            }
            Ok(())
        }
        Command::Remove { id, local_only } => {
            let mut vault = opts.open()?;
            let device = pick(&mut vault, Some(&id))?;
            if !local_only {
                runtime()?
                    .block_on(device.unenroll())
                    .context("unenrolling at the server (use --local-only if it is gone)")?;
            }
            VaultKeys(&mut vault).delete(&id)?;
            println!("removed {id}");
            Ok(())
        }
        Command::Approve {
            tx,
            number,
            pick: p,
        } => answer_one(opts, &p, &tx, Decision::Approve, Some(number)),
        Command::Deny {
            tx,
            not_me,
            pick: p,
        } => answer_one(
            opts,
            &p,
            &tx,
            if not_me {
                Decision::NotMe
            } else {
                Decision::Deny
            },
            None,
        ),
        Command::QrLogin {
            link,
            qr,
            deny,
            json,
        } => {
            let text = read_link(link, qr, "tessera://qr-login")?;
            let link = QrLoginLink::parse(&text).context("reading the QR-login link")?;
            let mut vault = opts.open()?;
            let all = enrollments(&mut vault)?;
            let e = all
                .into_iter()
                .find(|e| e.origin == link.origin)
                .ok_or_else(|| anyhow!("this device is not enrolled with {}", link.origin))?;
            let device = Device::from_enrollment(e)?;
            let decision = if deny {
                Decision::Deny
            } else {
                Decision::Approve
            };
            let details = runtime()?.block_on(async {
                let d = device.qr_details(&link).await?;
                device.qr_answer(&d, decision).await?;
                Ok::<_, tessera_client::Error>(d)
            })?;
            if json {
                print_json(&json!({
                    "lsi": details.lsi, "origin": details.origin,
                    "requester_origin": details.context.origin, "ip": details.context.ip,
                    "location": details.context.location, "decision": decision_str(decision),
                    "device_network": details.context.device_network,
                    "device_network_prefix": details.context.device_network_prefix,
                }))
            } else {
                println!(
                    "{} QR login for {} (from {} {})",
                    if deny { "denied" } else { "approved" },
                    details.context.origin,
                    details.context.ip,
                    details.context.location
                );
                println!("{}", network_line(&details.context));
                Ok(())
            }
        }
        Command::Watch {
            pick: p,
            approve,
            deny,
            not_me,
            number,
            prompt,
            count,
            timeout,
            poll,
            json,
        } => {
            let mut vault = opts.open()?;
            let device = pick(&mut vault, p.device.as_deref())?;
            drop(vault);
            let policy = if prompt {
                Policy::Prompt
            } else if deny {
                Policy::Fixed(Decision::Deny, None)
            } else if not_me {
                Policy::Fixed(Decision::NotMe, None)
            } else if approve || number.is_some() {
                Policy::Fixed(Decision::Approve, number)
            } else {
                Policy::Report
            };
            runtime()?.block_on(watch(device, policy, count, timeout, poll, json))
        }
    }
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approve",
        Decision::Deny => "deny",
        Decision::NotMe => "not_me",
    }
}

fn answer_one(
    opts: &VaultOptions,
    p: &Pick,
    tx: &str,
    decision: Decision,
    number: Option<u32>,
) -> Result<()> {
    let mut vault = opts.open()?;
    let device = pick(&mut vault, p.device.as_deref())?;
    let status = runtime()?.block_on(async {
        let pending = device.challenges().await?;
        let c = pending.into_iter().find(|c| c.transaction_id == tx).ok_or(
            tessera_client::Error::Invalid("no pending challenge with that transaction id".into()),
        )?;
        device.answer(&c, decision, number).await
    })?;
    print_json(&status)
}

enum Policy {
    /// Print challenges, answer nothing.
    Report,
    /// Answer every challenge the same way.
    Fixed(Decision, Option<u32>),
    /// Ask on the terminal.
    Prompt,
}

async fn watch(
    device: Device,
    policy: Policy,
    count: Option<usize>,
    timeout: Option<u64>,
    poll: bool,
    json: bool,
) -> Result<()> {
    let mut sub = device.subscribe(SubscribeOptions {
        poll_only: poll,
        ..SubscribeOptions::default()
    });
    let mut seen = 0usize;
    loop {
        let event = match timeout {
            Some(secs) => {
                match tokio::time::timeout(Duration::from_secs(secs), sub.next_event()).await {
                    Ok(e) => e,
                    Err(_) => {
                        if json {
                            print_json(&json!({"event": "timeout"}))?;
                        }
                        return Ok(());
                    }
                }
            }
            None => sub.next_event().await,
        };
        let Some(event) = event else {
            bail!("the challenge receiver stopped");
        };
        let c = match event {
            DeviceEvent::Connected => {
                if json {
                    print_json(&json!({"event": "connected"}))?;
                } else {
                    eprintln!("tessera: connected, waiting for challenges");
                }
                continue;
            }
            DeviceEvent::Disconnected(why) => {
                if json {
                    print_json(&json!({"event": "disconnected", "reason": why}))?;
                } else {
                    eprintln!("tessera: disconnected ({why}); reconnecting");
                }
                continue;
            }
            DeviceEvent::Challenge(c) => *c,
        };
        if json {
            print_json(&challenge_json(&c))?;
        } else {
            println!(
                "push {}: {} at {} from {} {} ({})",
                c.transaction_id,
                c.context.application,
                c.context.origin,
                c.context.ip,
                c.context.location,
                c.context.user_agent
            );
            println!("{}", network_line(&c.context));
        }
        let answer = match &policy {
            Policy::Report => None,
            Policy::Fixed(d, n) => Some((*d, *n)),
            Policy::Prompt => Some(ask(&c)?),
        };
        if let Some((decision, number)) = answer {
            match device.answer(&c, decision, number).await {
                Ok(status) => {
                    if json {
                        print_json(
                            &json!({"event": "answered", "transaction_id": c.transaction_id,
                            "decision": decision_str(decision), "status": status}),
                        )?;
                    } else {
                        println!("answered {}: {:?}", decision_str(decision), status.state);
                    }
                }
                Err(e) => {
                    if json {
                        print_json(
                            &json!({"event": "error", "transaction_id": c.transaction_id,
                            "error": e.to_string()}),
                        )?;
                    } else {
                        eprintln!("tessera: answering {} failed: {e}", c.transaction_id);
                    }
                }
            }
        }
        seen += 1;
        if count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
    }
}

fn ask(c: &PushChallenge) -> Result<(Decision, Option<u32>)> {
    let mut err = std::io::stderr();
    writeln!(
        err,
        "Sign-in to {} ({}) from {} {}. Type the number shown on the sign-in screen to approve, \
         `d` to deny, `n` for \"this wasn't me\":",
        c.context.application, c.context.origin, c.context.ip, c.context.location
    )?;
    if !c.number_choices.is_empty() {
        writeln!(err, "choices: {:?}", c.number_choices)?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let t = line.trim();
    Ok(match t {
        "d" | "deny" => (Decision::Deny, None),
        "n" | "not-me" => (Decision::NotMe, None),
        _ => (
            Decision::Approve,
            Some(t.parse().map_err(|_| anyhow!("`{t}` is not a number"))?),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(network: DeviceNetwork) -> PushChallenge {
        PushChallenge {
            transaction_id: "tx".into(),
            nonce: "n".into(),
            origin: "http://127.0.0.1:8377".into(),
            context: PushContext {
                ip: "203.0.113.7".into(),
                device_network: network,
                device_network_prefix: "198.51.100.0/24".into(),
                ..PushContext::default()
            },
            expires_at: 1,
            number_choices: vec![],
            server_signature: String::new(),
        }
    }

    #[test]
    fn watch_shows_the_network_comparison() {
        let c = challenge(DeviceNetwork::Different);
        let v = challenge_json(&c);
        assert_eq!(v["device_network"], "different");
        assert_eq!(v["device_network_prefix"], "198.51.100.0/24");
        assert_eq!(
            network_line(&c.context),
            "  WARNING: this request comes from a different network (203.0.113.7) than this \
             device (198.51.100.0/24)"
        );
        assert!(network_line(&challenge(DeviceNetwork::Same).context).contains("same network"));
        assert!(
            network_line(&challenge(DeviceNetwork::Unknown).context).contains("could not compare")
        );
    }
}
