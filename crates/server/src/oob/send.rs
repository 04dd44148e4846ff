//! Sending: email through SMTP (lettre), SMS and voice through an HTTP provider or a local
//! program. Errors name the channel and the reason class, never the message (which holds the
//! code) or the address.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::AsyncWriteExt;

use super::config::{EmailConfig, PhoneConfig, Provider, SmtpTls};
use super::messages::Email;
use crate::config::bad;
use crate::error::{Error, Result};

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The SMTP client.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    /// A client for `[email]` (which must be enabled).
    pub fn new(cfg: &EmailConfig) -> Result<Mailer> {
        let host = cfg.smtp_host.as_str();
        let mut tls = TlsParameters::builder(host.to_owned());
        if let Some(path) = &cfg.smtp_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| bad("email.smtp_ca_file", format!("{}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|_| bad("email.smtp_ca_file", "is not a PEM certificate"))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = || {
            tls.clone()
                .build_rustls()
                .map_err(|e| bad("email.smtp_host", format!("TLS settings: {e}")))
        };
        let mode = match cfg.smtp_tls {
            SmtpTls::Starttls => Tls::Required(tls()?),
            SmtpTls::Tls => Tls::Wrapper(tls()?),
            SmtpTls::None => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.smtp_port)
            .tls(mode)
            .timeout(Some(TIMEOUT));
        if !cfg.smtp_username.is_empty() {
            b = b.credentials(Credentials::new(
                cfg.smtp_username.clone(),
                cfg.smtp_password.0.clone(),
            ));
        }
        let from = cfg
            .from
            .parse::<Mailbox>()
            .map_err(|_| bad("email.from", "must be an address"))?;
        Ok(Mailer {
            transport: b.build(),
            from,
        })
    }

    /// Sends `mail` to `to`.
    pub async fn send(&self, to: &str, mail: &Email) -> Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| Error::InvalidRequest("the email address is not valid".into()))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|_| Error::Internal("an email could not be built".into()))?;
        self.transport.send(message).await.map_err(|e| {
            // lettre's error names the stage (connection, TLS, authentication, a refusal
            // code), never the message.
            tracing::warn!(error = %e, "email: sending failed");
            Error::Unavailable("email could not be sent; try again later".into())
        })?;
        Ok(())
    }
}

/// An SMS or voice sender.
#[derive(Debug)]
pub struct PhoneSender {
    channel: &'static str,
    cfg: PhoneConfig,
    http: Option<reqwest::Client>,
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1)].to_owned()
}

fn form_escape(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|x| x[1..].to_owned())
        .unwrap_or_default()
}

impl PhoneSender {
    /// A sender for `[sms]` or `[voice]` (which must be enabled).
    pub fn new(channel: &'static str, cfg: &PhoneConfig) -> Result<PhoneSender> {
        let http = match cfg.provider {
            Provider::Http => Some(
                reqwest::Client::builder()
                    .timeout(TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| bad(&format!("{channel}.http_url"), e))?,
            ),
            _ => None,
        };
        Ok(PhoneSender {
            channel,
            cfg: cfg.clone(),
            http,
        })
    }

    fn unavailable(&self) -> Error {
        Error::Unavailable(format!(
            "the {} could not be sent; try again later",
            if self.channel == "sms" {
                "text message"
            } else {
                "voice call"
            }
        ))
    }

    /// Sends `text` (which holds `code`) to the number `to`.
    pub async fn send(&self, to: &str, text: &str, code: &str) -> Result<()> {
        match self.cfg.provider {
            Provider::None => Err(self.unavailable()),
            Provider::Http => self.send_http(to, text, code).await,
            Provider::Command => self.send_command(to, text).await,
        }
    }

    async fn send_http(&self, to: &str, text: &str, code: &str) -> Result<()> {
        let json = self.cfg.http_content_type == "application/json";
        let esc = |s: &str| if json { json_escape(s) } else { form_escape(s) };
        let body = self
            .cfg
            .http_body
            .replace("{to}", &esc(to))
            .replace("{channel}", &esc(self.channel))
            .replace("{code}", &esc(code))
            .replace("{text}", &esc(text));
        let Some(client) = &self.http else {
            return Err(self.unavailable());
        };
        let mut req = client
            .post(&self.cfg.http_url)
            .header(reqwest::header::CONTENT_TYPE, &self.cfg.http_content_type)
            .body(body);
        if !self.cfg.http_username.is_empty() {
            req = req.basic_auth(&self.cfg.http_username, Some(&self.cfg.http_password.0));
        } else if !self.cfg.http_password.0.is_empty() {
            req = req.bearer_auth(&self.cfg.http_password.0);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                tracing::warn!(
                    channel = self.channel,
                    status = r.status().as_u16(),
                    "provider refused the message"
                );
                Err(self.unavailable())
            }
            Err(e) => {
                tracing::warn!(channel = self.channel, error = %e.without_url(), "provider unreachable");
                Err(self.unavailable())
            }
        }
    }

    async fn send_command(&self, to: &str, text: &str) -> Result<()> {
        let Some((program, rest)) = self.cfg.command.split_first() else {
            return Err(self.unavailable());
        };
        let args: Vec<String> = rest
            .iter()
            .map(|a| a.replace("{to}", to).replace("{channel}", self.channel))
            .collect();
        let mut child = tokio::process::Command::new(program)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                tracing::warn!(channel = self.channel, error = %e, "provider command did not start");
                self.unavailable()
            })?;
        let run = async {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(text.as_bytes()).await?;
                stdin.write_all(b"\n").await?;
            }
            child.wait().await
        };
        match tokio::time::timeout(TIMEOUT, run).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => {
                tracing::warn!(channel = self.channel, status = ?status.code(), "provider command failed");
                Err(self.unavailable())
            }
            Ok(Err(e)) => {
                tracing::warn!(channel = self.channel, error = %e, "provider command failed");
                Err(self.unavailable())
            }
            Err(_) => {
                tracing::warn!(channel = self.channel, "provider command timed out");
                Err(self.unavailable())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_values_are_escaped_for_the_content_type() {
        assert_eq!(json_escape("a\"b\n"), "a\\\"b\\n");
        assert_eq!(form_escape("+81 90&x=1"), "%2B81+90%26x%3D1");
    }
}
