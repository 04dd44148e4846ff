//! `tessera device …`: the testers' device simulator (DC-3). Enrolls with a Tessera server from
//! its enrollment QR, keeps the device keys sealed in the vault (`device` items), answers pushes
//! as they arrive and approves QR logins. Built on tessera-client.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use tessera_client::{Device, DeviceEvent, EnrollOptions, Enrollment, SubscribeOptions};
use tessera_core::device::wire::PushChallenge;
use tessera_core::device::{Decision, EnrollLink, QrLoginLink, SignatureAlgorithm};
use tessera_vault::Vault;
use zeroize::Zeroizing;

use crate::context::VaultOptions;
use crate::output::print_json;

/// The vault item kind holding device enrollments.
const KIND: &str = "device";

/// `tessera device …`
#[derive(Debug, Args)]
pub struct DeviceArgs {
    #[command(subcommand)]
    pub command: DeviceCommand,
}

/// The simulator's subcommands.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Enroll this simulated device with a server, from its tessera://enroll link or QR image.
    Enroll {
        /// The `tessera://enroll?…` link.
        #[arg(required_unless_present = "qr", conflicts_with = "qr")]
        uri: Option<String>,
        /// An image file with the enrollment QR code.
        #[arg(long, value_name = "IMAGE")]
        qr: Option<PathBuf>,
        /// The device name the server shows.
        #[arg(long, default_value = "tessera CLI")]
        name: String,
        /// Signature algorithm (default: the server's preference).
        #[arg(long, value_parser = ["ES256", "EdDSA"])]
        alg: Option<String>,
        /// Do not add the paired TOTP account to the vault.
        #[arg(long)]
        no_totp: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the enrolled devices (never their keys).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an enrolled device: from the server, then from the vault.
    Remove {
        /// The device id (see `tessera device list`).
        id: String,
        /// Only forget it locally (the server is unreachable or already removed it).
        #[arg(long)]
        local_only: bool,
    },
    /// Receive pushes as they arrive and answer them.
    Watch {
        /// Only this device (default: every enrolled device).
        #[arg(long)]
        device: Option<String>,
        /// Approve each push (needs --number, the number shown on the sign-in screen).
        #[arg(long, requires = "number", conflicts_with_all = ["deny", "not_me", "prompt"])]
        approve: bool,
        /// Deny each push.
        #[arg(long, conflicts_with_all = ["not_me", "prompt", "number"])]
        deny: bool,
        /// Answer each push with "this wasn't me".
        #[arg(long, conflicts_with_all = ["prompt", "number"])]
        not_me: bool,
        /// Approve each push with this number.
        #[arg(long, value_name = "N")]
        number: Option<u32>,
        /// Ask on the terminal for each push.
        #[arg(long)]
        prompt: bool,
        /// Stop after this many pushes.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Poll instead of holding an event stream open.
        #[arg(long)]
        poll: bool,
        /// One JSON object per event on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Approve one pending push by its transaction id.
    Approve {
        /// The transaction id.
        tx: String,
        /// The number shown on the sign-in screen.
        #[arg(long, value_name = "N")]
        number: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deny one pending push by its transaction id.
    Deny {
        /// The transaction id.
        tx: String,
        /// Report "this wasn't me" (pauses pushes to the user).
        #[arg(long)]
        not_me: bool,
        /// Accepted for symmetry with `approve`; not needed to deny.
        #[arg(long, value_name = "N")]
        number: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve (or deny) a QR login shown by a browser.
    QrLogin {
        /// The `tessera://qr-login?…` link.
        #[arg(required_unless_present = "qr", conflicts_with = "qr")]
        uri: Option<String>,
        /// An image file with the QR code.
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

/// Runs `tessera device …`.
pub fn run(args: DeviceArgs, opts: &VaultOptions) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        DeviceCommand::Enroll {
            uri,
            qr,
            name,
            alg,
            no_totp,
            json,
        } => {
            let text = link_text(uri, qr, "tessera://enroll")?;
            let link = EnrollLink::parse(&text).context("reading the enrollment link")?;
            let algorithm = alg.map(|a| a.parse::<SignatureAlgorithm>()).transpose()?;
            let mut vault = opts.open_or_create()?;
            let device = rt
                .block_on(Device::enroll(
                    &link,
                    &EnrollOptions {
                        device_name: name,
                        platform: "tessera-cli".into(),
                        algorithm,
                        user_verification: false,
                    },
                ))
                .context("enrolling")?;
            let e = device.enrollment();
            vault.put_item(KIND, &e.device_id, &e.to_bytes()?)?;
            let mut totp_id = None;
            if let (Some(uri), false) = (&e.otp_uri, no_totp) {
                let account = tessera_core::uri::parse(uri).context("the paired TOTP")?;
                totp_id = Some(vault.insert(&account)?);
            }
            let row = Row::of(e);
            if json {
                print_json(&serde_json::json!({ "device": row, "totp_account": totp_id }))?;
            } else {
                println!(
                    "enrolled {} for {} at {} ({})",
                    row.device_id, row.user, row.origin, row.algorithm
                );
                if let Some(id) = totp_id {
                    println!("added the paired TOTP account #{id}");
                }
            }
            Ok(())
        }
        DeviceCommand::List { json } => {
            let vault = opts.open()?;
            let rows: Vec<Row> = load_all(&vault)?.iter().map(Row::of).collect();
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                println!("no enrolled devices (tessera device enroll <link>)");
            } else {
                for r in rows {
                    println!(
                        "{}  {}  {}  {}  {}",
                        r.device_id, r.user, r.origin, r.name, r.algorithm
                    );
                }
            }
            Ok(())
        }
        DeviceCommand::Remove { id, local_only } => {
            let mut vault = opts.open()?;
            let e = load(&vault, &id)?;
            if !local_only {
                let device = Device::from_enrollment(e)?;
                rt.block_on(device.unenroll())
                    .context("removing the device from the server (--local-only to skip)")?;
            }
            vault.delete_item(KIND, &id)?;
            println!("removed {id}");
            Ok(())
        }
        DeviceCommand::Watch {
            device,
            approve: _,
            deny,
            not_me,
            number,
            prompt,
            count,
            timeout,
            poll,
            json,
        } => {
            let vault = opts.open()?;
            let mut enrollments = load_all(&vault)?;
            if let Some(id) = &device {
                enrollments.retain(|e| &e.device_id == id);
            }
            if enrollments.is_empty() {
                bail!("no enrolled device to watch (tessera device enroll <link>)");
            }
            let policy = if let Some(n) = number {
                Policy::Approve(n)
            } else if deny {
                Policy::Fixed(Decision::Deny)
            } else if not_me {
                Policy::Fixed(Decision::NotMe)
            } else if prompt {
                Policy::Prompt
            } else {
                Policy::Show
            };
            let devices = enrollments
                .into_iter()
                .map(Device::from_enrollment)
                .collect::<tessera_client::Result<Vec<_>>>()?;
            let work = watch(devices, policy, count, poll, json);
            match timeout {
                Some(secs) => rt
                    .block_on(async { tokio::time::timeout(Duration::from_secs(secs), work).await })
                    .unwrap_or(Ok(())),
                None => rt.block_on(work),
            }
        }
        DeviceCommand::Approve { tx, number, json } => {
            answer_one(&rt, opts, &tx, Decision::Approve, Some(number), json)
        }
        DeviceCommand::Deny {
            tx, not_me, json, ..
        } => {
            let d = if not_me {
                Decision::NotMe
            } else {
                Decision::Deny
            };
            answer_one(&rt, opts, &tx, d, None, json)
        }
        DeviceCommand::QrLogin {
            uri,
            qr,
            deny,
            json,
        } => {
            let text = link_text(uri, qr, "tessera://qr-login")?;
            let link = QrLoginLink::parse(&text).context("reading the QR-login link")?;
            let vault = opts.open()?;
            let enrollment = load_all(&vault)?
                .into_iter()
                .find(|e| e.origin == link.origin && e.server_fingerprint() == link.server_key)
                .with_context(|| {
                    format!(
                        "no device enrolled with {} and this server key: refusing the QR code",
                        link.origin
                    )
                })?;
            let device = Device::from_enrollment(enrollment)?;
            let decision = if deny {
                Decision::Deny
            } else {
                Decision::Approve
            };
            let details = rt.block_on(async {
                let d = device.qr_details(&link).await?;
                device.qr_answer(&d, decision).await?;
                Ok::<_, tessera_client::Error>(d)
            })?;
            if json {
                print_json(&serde_json::json!({
                    "lsi": details.lsi, "decision": decision, "requester": details.context,
                }))?;
            } else {
                println!(
                    "{} QR login from {} ({}, {})",
                    if deny { "denied" } else { "approved" },
                    details.context.ip,
                    details.context.user_agent,
                    if details.context.location.is_empty() {
                        "location unknown"
                    } else {
                        &details.context.location
                    }
                );
            }
            Ok(())
        }
    }
}

/// A device as listed.
#[derive(Debug, Serialize)]
struct Row {
    device_id: String,
    user: String,
    origin: String,
    name: String,
    algorithm: String,
    server_key: String,
}

impl Row {
    fn of(e: &Enrollment) -> Row {
        Row {
            device_id: e.device_id.clone(),
            user: e.user.clone(),
            origin: e.origin.clone(),
            name: e.device_name.clone(),
            algorithm: e.key.algorithm().to_string(),
            server_key: e.server_fingerprint(),
        }
    }
}

fn link_text(uri: Option<String>, qr: Option<PathBuf>, prefix: &str) -> Result<String> {
    if let Some(u) = uri {
        return Ok(u);
    }
    let Some(path) = qr else {
        bail!("give a link or --qr IMAGE");
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let texts = tessera_core::qr::decode_image_bytes(&bytes)
        .with_context(|| format!("reading QR codes in {}", path.display()))?;
    texts
        .into_iter()
        .find(|t| t.starts_with(prefix))
        .with_context(|| format!("no {prefix} QR code in {}", path.display()))
}

fn load(vault: &Vault, id: &str) -> Result<Enrollment> {
    let bytes: Zeroizing<Vec<u8>> = vault
        .get_item(KIND, id)?
        .with_context(|| format!("no enrolled device `{id}` (see `tessera device list`)"))?;
    Ok(Enrollment::from_bytes(&bytes)?)
}

fn load_all(vault: &Vault) -> Result<Vec<Enrollment>> {
    vault
        .list_items(KIND)?
        .iter()
        .map(|(_, b)| Enrollment::from_bytes(b).map_err(anyhow::Error::from))
        .collect()
}

fn answer_one(
    rt: &tokio::runtime::Runtime,
    opts: &VaultOptions,
    tx: &str,
    decision: Decision,
    number: Option<u32>,
    json: bool,
) -> Result<()> {
    let vault = opts.open()?;
    let devices = load_all(&vault)?
        .into_iter()
        .map(Device::from_enrollment)
        .collect::<tessera_client::Result<Vec<_>>>()?;
    let status = rt.block_on(async {
        for d in &devices {
            let pending = d.challenges().await?;
            if let Some(c) = pending.iter().find(|c| c.transaction_id == tx) {
                return Ok(Some(d.answer(c, decision, number).await?));
            }
        }
        Ok::<_, tessera_client::Error>(None)
    })?;
    let Some(status) = status else {
        bail!("no pending push `{tx}` for any enrolled device");
    };
    if json {
        print_json(&status)?;
    } else {
        println!(
            "{}: {}{}",
            status.transaction_id,
            status.state.as_str(),
            status.reason.map(|r| format!(" ({r})")).unwrap_or_default()
        );
    }
    Ok(())
}

enum Policy {
    Show,
    Approve(u32),
    Fixed(Decision),
    Prompt,
}

#[derive(Serialize)]
struct ChallengeEvent<'a> {
    event: &'static str,
    device: &'a str,
    transaction_id: &'a str,
    application: &'a str,
    origin: &'a str,
    ip: &'a str,
    location: &'a str,
    user_agent: &'a str,
    expires_at: u64,
    number_choices: &'a [u32],
}

fn ask(c: &PushChallenge) -> Result<(Decision, Option<u32>)> {
    eprint!(
        "Sign-in to {} from {} ({}). Number shown (empty: deny, x: this wasn't me): ",
        c.context.application, c.context.ip, c.context.location
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    Ok(match line {
        "" => (Decision::Deny, None),
        "x" | "X" => (Decision::NotMe, None),
        n => (
            Decision::Approve,
            Some(n.parse().context("the number is two digits")?),
        ),
    })
}

async fn watch(
    devices: Vec<Device>,
    policy: Policy,
    count: Option<u64>,
    poll: bool,
    json: bool,
) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, DeviceEvent)>(64);
    let mut subs = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let mut sub = d.subscribe(SubscribeOptions {
            poll_only: poll,
            ..SubscribeOptions::default()
        });
        let tx = tx.clone();
        subs.push(tokio::spawn(async move {
            while let Some(ev) = sub.next_event().await {
                if tx.send((i, ev)).await.is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut answered = 0u64;
    while let Some((i, ev)) = rx.recv().await {
        let Some(device) = devices.get(i) else {
            continue;
        };
        let c = match ev {
            DeviceEvent::Challenge(c) => *c,
            DeviceEvent::Connected => {
                if json {
                    print_json(&serde_json::json!({"event": "connected", "device": device.id()}))?;
                } else {
                    eprintln!("tessera: {} connected", device.id());
                }
                continue;
            }
            DeviceEvent::Disconnected(why) => {
                if json {
                    print_json(
                        &serde_json::json!({"event": "disconnected", "device": device.id(), "reason": why}),
                    )?;
                } else {
                    eprintln!(
                        "tessera: {} disconnected ({why}); reconnecting",
                        device.id()
                    );
                }
                continue;
            }
        };
        let ctx = &c.context;
        if json {
            print_json(&ChallengeEvent {
                event: "challenge",
                device: device.id(),
                transaction_id: &c.transaction_id,
                application: &ctx.application,
                origin: &ctx.origin,
                ip: &ctx.ip,
                location: &ctx.location,
                user_agent: &ctx.user_agent,
                expires_at: c.expires_at,
                number_choices: &c.number_choices,
            })?;
        } else {
            println!(
                "push {} for {}: {} ({}) from {} {}",
                c.transaction_id,
                device.enrollment().user,
                ctx.application,
                ctx.origin,
                ctx.ip,
                ctx.location
            );
        }
        let (decision, number) = match &policy {
            Policy::Show => {
                answered += 1;
                if count.is_some_and(|n| answered >= n) {
                    break;
                }
                continue;
            }
            Policy::Approve(n) => (Decision::Approve, Some(*n)),
            Policy::Fixed(d) => (*d, None),
            Policy::Prompt => ask(&c)?,
        };
        match device.answer(&c, decision, number).await {
            Ok(st) => {
                if json {
                    print_json(
                        &serde_json::json!({"event": "answered", "transaction_id": st.transaction_id, "decision": decision, "state": st.state, "reason": st.reason}),
                    )?;
                } else {
                    println!("  {} → {}", decision.as_str(), st.state.as_str());
                }
            }
            Err(e) => {
                if json {
                    print_json(
                        &serde_json::json!({"event": "error", "transaction_id": c.transaction_id, "error": e.to_string()}),
                    )?;
                } else {
                    eprintln!("tessera: warning: answering {}: {e}", c.transaction_id);
                }
            }
        }
        answered += 1;
        if count.is_some_and(|n| answered >= n) {
            break;
        }
    }
    for s in subs {
        s.abort();
    }
    Ok(())
}
