//! The email, SMS and voice factors (docs/factors.md): one code (and, by email, a magic link)
//! per send, sealed at rest, usable once, void after `retries` wrong tries, its lifetime, a
//! resend, or a change of the address or number it went to; sends limited per user and per
//! destination. The hosted sign-in and the self-service recovery pages use [`send_code`] and
//! [`redeem`].

pub mod config;
pub mod messages;
pub mod notify;
pub mod send;

use data_encoding::BASE64URL_NOPAD;
use zeroize::Zeroizing;

use self::config::{CodeSettings, EmailUse};
use self::messages::{Locale, Purpose};
use self::send::{Mailer, PhoneSender};
use crate::crypto::{ct_eq, random_bytes, sha256};
use crate::error::{Error, Result};
use crate::model::{Authenticator, AuthenticatorKind, User};
use crate::store::oob::{Issued, OobCodeRow, OobLookup, OobRedeemed, SendLimits};
use crate::AppState;

/// A contact in the user's profile that is also a factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// The primary email address: the email authenticator.
    Email,
    /// The phone number: the SMS and voice authenticators (one pair, deleted together).
    Phone,
}

impl Contact {
    /// The authenticators' `oob_channel`s.
    pub fn channels(self) -> &'static [&'static str] {
        match self {
            Contact::Email => &["email"],
            Contact::Phone => &["sms", "voice"],
        }
    }
}

/// A channel codes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Email (code and magic link).
    Email,
    /// SMS.
    Sms,
    /// A voice call.
    Voice,
}

impl Channel {
    /// The name (`oob_channel`, the policy's method).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }

    /// From an `oob_channel`.
    pub fn of_name(name: &str) -> Option<Channel> {
        match name {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "voice" => Some(Channel::Voice),
            _ => None,
        }
    }

    /// The policy's method.
    pub fn method(self) -> crate::policy::model::Method {
        use crate::policy::model::Method;
        match self {
            Channel::Email => Method::Email,
            Channel::Sms => Method::Sms,
            Channel::Voice => Method::Voice,
        }
    }

    /// From a policy method.
    pub fn of(method: crate::policy::model::Method) -> Option<Channel> {
        use crate::policy::model::Method;
        match method {
            Method::Email => Some(Channel::Email),
            Method::Sms => Some(Channel::Sms),
            Method::Voice => Some(Channel::Voice),
            _ => None,
        }
    }

    /// Its code settings.
    pub fn settings(self, cfg: &crate::config::Config) -> CodeSettings {
        match self {
            Channel::Email => cfg.email.code(),
            Channel::Sms => cfg.sms.code(),
            Channel::Voice => cfg.voice.code(),
        }
    }

    /// Whether the server can send through it.
    pub fn enabled(self, cfg: &crate::config::Config) -> bool {
        match self {
            Channel::Email => cfg.email.enabled(),
            Channel::Sms => cfg.sms.enabled(),
            Channel::Voice => cfg.voice.enabled(),
        }
    }

    /// Whether it may prove a sign-in (email may be limited to recovery, EM-3).
    pub fn for_sign_in(self, cfg: &crate::config::Config) -> bool {
        self.enabled(cfg)
            && !(self == Channel::Email && cfg.email.use_for == EmailUse::RecoveryOnly)
    }
}

/// The senders the configuration turns on.
#[derive(Debug, Default)]
pub struct Senders {
    mailer: Option<Mailer>,
    sms: Option<PhoneSender>,
    voice: Option<PhoneSender>,
}

impl Senders {
    /// From `[email]`, `[sms]`, `[voice]`.
    pub fn new(cfg: &crate::config::Config) -> Result<Senders> {
        Ok(Senders {
            mailer: cfg
                .email
                .enabled()
                .then(|| Mailer::new(&cfg.email))
                .transpose()?,
            sms: cfg
                .sms
                .enabled()
                .then(|| PhoneSender::new("sms", &cfg.sms))
                .transpose()?,
            voice: cfg
                .voice
                .enabled()
                .then(|| PhoneSender::new("voice", &cfg.voice))
                .transpose()?,
        })
    }

    /// Sends an email.
    pub async fn email(&self, to: &str, mail: &messages::Email) -> Result<()> {
        match &self.mailer {
            Some(m) => m.send(to, mail).await,
            None => Err(Error::Unavailable("email is not configured".into())),
        }
    }

    /// Sends a text by SMS or voice.
    pub async fn phone(&self, channel: Channel, to: &str, text: &str, code: &str) -> Result<()> {
        let s = match channel {
            Channel::Sms => &self.sms,
            Channel::Voice => &self.voice,
            Channel::Email => &None,
        };
        match s {
            Some(s) => s.send(to, text, code).await,
            None => Err(Error::Unavailable(format!(
                "{} is not configured",
                channel.as_str()
            ))),
        }
    }
}

/// A fresh code: `code_length` characters of the charset, uniformly from the CSPRNG
/// (rejection sampling, so no character is likelier than another).
pub fn generate_code(settings: &CodeSettings) -> Result<Zeroizing<String>> {
    let alphabet = settings.code_charset.alphabet();
    let n = alphabet.len();
    let limit = 256 - 256 % n;
    let mut out = Zeroizing::new(String::with_capacity(settings.code_length as usize));
    while out.len() < settings.code_length as usize {
        let bytes = Zeroizing::new(random_bytes::<32>()?);
        for &b in bytes.iter() {
            if (b as usize) < limit && out.len() < settings.code_length as usize {
                if let Some(&c) = alphabet.get(b as usize % n) {
                    out.push(c as char);
                }
            }
        }
    }
    Ok(out)
}

/// A typed code in its canonical form (spaces and hyphens dropped, letters upper-cased), or
/// the error naming what is wrong with it (nothing is consumed for a code that cannot be one).
pub fn normalize_code(typed: &str, settings: &CodeSettings) -> Result<Zeroizing<String>> {
    let code: Zeroizing<String> = Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let alphabet = settings.code_charset.alphabet();
    let what = match settings.code_charset {
        config::Charset::Digits => "digits",
        config::Charset::Letters => "letters",
        config::Charset::Alphanumeric => "letters and digits",
    };
    if code.chars().count() != settings.code_length as usize
        || !code.bytes().all(|b| alphabet.contains(&b))
    {
        return Err(Error::InvalidRequest(format!(
            "`code`: must be {} {what}",
            settings.code_length
        )));
    }
    Ok(code)
}

/// Whether `address` may receive codes (IBM-6): its domain matches an allowed pattern (when
/// there are any) and no denied one.
pub fn domain_allowed(cfg: &config::EmailConfig, address: &str) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    let matches = |re: &String| {
        regex::RegexBuilder::new(&format!("^(?:{re})$"))
            .case_insensitive(true)
            .build()
            .is_ok_and(|r| r.is_match(&domain))
    };
    (cfg.allowed_domains.is_empty() || cfg.allowed_domains.iter().any(matches))
        && !cfg.denied_domains.iter().any(matches)
}

/// The user's authenticator for `channel`, if active.
pub fn authenticator_for(list: &[Authenticator], channel: Channel) -> Option<&Authenticator> {
    list.iter().find(|a| {
        a.active
            && a.kind == AuthenticatorKind::Oob
            && a.oob_channel.as_deref() == Some(channel.as_str())
    })
}

/// One send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// To whom.
    pub user: User,
    /// Through which of their authenticators.
    pub authenticator: Authenticator,
    /// The channel.
    pub channel: Channel,
    /// Why.
    pub purpose: Purpose,
    /// The sign-in (or recovery) flow that asked: its id.
    pub flow_id: Option<String>,
    /// The language of the request (its browser's); the user's saved choice wins.
    pub locale: Locale,
}

/// What a send came to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sent {
    /// `email`, `sms` or `voice`.
    pub channel: String,
    /// The destination, masked.
    pub to: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// Characters in the code.
    pub code_length: u32,
    /// `digits`, `letters` or `alphanumeric`.
    pub code_charset: config::Charset,
}

/// The SHA-256 a flow id is stored under (the sign-in's own hashing).
pub fn flow_hash(flow_id: &str) -> [u8; 32] {
    sha256(flow_id.as_bytes())
}

/// Sends a code (and by email a magic link): stored first (the send limits, the resend that
/// voids the previous code), then delivered. `Err(RateLimited)` when a limit is reached.
pub async fn send_code(state: &AppState, req: SendRequest) -> Result<Sent> {
    let cfg = state.config();
    if !req.channel.enabled(&cfg) {
        return Err(Error::InvalidRequest(format!(
            "`method`: {} is not configured on this server",
            req.channel.as_str()
        )));
    }
    let to = req.authenticator.name.clone();
    if req.channel == Channel::Email && !domain_allowed(&cfg.email, &to) {
        return Err(Error::InvalidRequest(
            "this email address's domain may not receive codes".into(),
        ));
    }
    let settings = req.channel.settings(&cfg);
    let code = generate_code(&settings)?;
    let token = random_bytes::<32>()?;
    let id_hash = sha256(&token);
    let now = state.now();
    let expires_at = now + u64::from(settings.lifetime_minutes) * 60;
    let key = state.key();
    let row = OobCodeRow {
        id_hash,
        user_id: req.user.user_id.clone(),
        authenticator_id: req.authenticator.id.clone(),
        channel: req.channel.as_str().to_owned(),
        purpose: req.purpose.as_str().to_owned(),
        destination_hash: sha256(to.as_bytes()),
        flow_hash: req.flow_id.as_deref().map(flow_hash),
        flow_sealed: req
            .flow_id
            .as_deref()
            .map(|f| key.seal(f.as_bytes(), &id_hash))
            .transpose()?,
        code_sealed: key.seal(code.as_bytes(), &id_hash)?,
        attempts_left: settings.retries,
        created_at: now,
        expires_at,
        used_at: None,
        voided: false,
    };
    let l = &cfg.send_limits;
    let limits = SendLimits {
        window_secs: u64::from(l.window_minutes) * 60,
        per_user: l.per_user,
        per_destination: l.per_destination,
    };
    match state.db(move |s| s.issue_oob_code(row, limits)).await? {
        Issued::Stored => {}
        Issued::Limited { .. } => {
            return Err(Error::RateLimited(
                "too many codes were sent; wait a few minutes and try again",
            ))
        }
    }
    let senders = state.senders();
    let locale = req
        .user
        .locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(req.locale);
    match req.channel {
        Channel::Email => {
            let link = format!(
                "{}/signin/link/{}",
                crate::oidc::issuer(state),
                BASE64URL_NOPAD.encode(&token)
            );
            let mail = messages::code_email(
                locale,
                req.purpose,
                &req.user.username,
                &code,
                Some(&link),
                settings.lifetime_minutes,
            );
            senders.email(&to, &mail).await?;
        }
        Channel::Sms => {
            let text = messages::code_sms(locale, &code, settings.lifetime_minutes);
            senders.phone(Channel::Sms, &to, &text, &code).await?;
        }
        Channel::Voice => {
            let text = messages::code_voice(locale, &code);
            senders.phone(Channel::Voice, &to, &text, &code).await?;
        }
    }
    Ok(Sent {
        channel: req.channel.as_str().to_owned(),
        to: mask_destination(&to),
        expires_at,
        code_length: settings.code_length,
        code_charset: settings.code_charset,
    })
}

/// `al***@example.com`, `+81******78`: enough to recognise, not to learn.
pub fn mask_destination(to: &str) -> String {
    if let Some((local, domain)) = to.split_once('@') {
        let keep: String = local.chars().take(2).collect();
        return format!("{keep}***@{domain}");
    }
    let chars: Vec<char> = to.chars().collect();
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 3 || i + 2 >= n { *c } else { '*' })
        .collect()
}

/// The SHA-256 of a magic link's token, or `None` when the text cannot be one.
pub fn link_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = BASE64URL_NOPAD.decode(token.as_bytes()).ok()?;
    (bytes.len() == 32).then(|| sha256(&bytes))
}

/// Redeems a typed code (`Some`) or a link (`None`).
pub async fn redeem(
    state: &AppState,
    lookup: OobLookup,
    typed: Option<Zeroizing<String>>,
) -> Result<OobRedeemed> {
    let key = std::sync::Arc::clone(state.key_arc());
    let check: Option<crate::store::oob::OobCheck> = typed.map(|code| {
        Box::new(move |row: &OobCodeRow| {
            let stored = key.open(&row.code_sealed, &row.id_hash)?;
            Ok(ct_eq(&stored, code.as_bytes()))
        }) as crate::store::oob::OobCheck
    });
    let policy = state.config().lockout.clone();
    let now = state.now();
    state
        .db(move |s| s.redeem_oob_code(lookup, check, policy, now))
        .await
}

/// The flow id sealed in a code row.
pub fn flow_of(state: &AppState, row: &OobCodeRow) -> Option<String> {
    let sealed = row.flow_sealed.as_ref()?;
    let id = state.key().open(sealed, &row.id_hash).ok()?;
    String::from_utf8(id.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::config::{Charset, EmailConfig};
    use super::*;

    fn settings(len: u32, cs: Charset) -> CodeSettings {
        CodeSettings {
            lifetime_minutes: 5,
            code_length: len,
            code_charset: cs,
            retries: 3,
        }
    }

    #[test]
    fn codes_have_the_length_and_characters_asked_for_and_vary() {
        for (len, cs) in [
            (6, Charset::Digits),
            (1, Charset::Letters),
            (20, Charset::Alphanumeric),
        ] {
            let s = settings(len, cs);
            let a = generate_code(&s).unwrap();
            assert_eq!(a.len(), len as usize);
            assert!(a.bytes().all(|b| cs.alphabet().contains(&b)));
            assert_eq!(*normalize_code(&a, &s).unwrap(), *a);
        }
        let s = settings(20, Charset::Digits);
        assert_ne!(*generate_code(&s).unwrap(), *generate_code(&s).unwrap());
    }

    #[test]
    fn every_digit_is_about_as_likely() {
        let s = settings(20, Charset::Digits);
        let mut counts = [0u32; 10];
        for _ in 0..500 {
            for b in generate_code(&s).unwrap().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 10 000 digits: each near 1000 (a modulo bias of 256 % 10 would show as ~+2.5%
        // on 0–5, well inside this; the bound catches a broken generator).
        assert!(counts.iter().all(|c| (850..1150).contains(c)), "{counts:?}");
    }

    #[test]
    fn a_code_of_the_wrong_length_or_characters_is_named_as_such() {
        let s = settings(6, Charset::Digits);
        assert_eq!(*normalize_code(" 123-456 ", &s).unwrap(), "123456");
        let e = normalize_code("12345", &s).unwrap_err().to_string();
        assert!(e.contains("must be 6 digits"), "{e}");
        assert!(normalize_code("12345a", &s).is_err());
        let l = settings(4, Charset::Letters);
        assert_eq!(*normalize_code("abcd", &l).unwrap(), "ABCD");
        assert!(normalize_code("ABC1", &l).is_err());
    }

    #[test]
    fn recipient_domains_are_allowed_and_denied_by_whole_domain_patterns() {
        let mut c = EmailConfig::default();
        assert!(domain_allowed(&c, "a@example.com"));
        assert!(!domain_allowed(&c, "no-at-sign"));
        c.allowed_domains = vec![r"example\.com".into(), r".*\.example\.org".into()];
        assert!(domain_allowed(&c, "a@EXAMPLE.com"));
        assert!(domain_allowed(&c, "a@mail.example.org"));
        assert!(!domain_allowed(&c, "a@example.com.evil.net"));
        assert!(!domain_allowed(&c, "a@example.org"));
        c.denied_domains = vec![r"mail\.example\.org".into()];
        assert!(!domain_allowed(&c, "a@mail.example.org"));
    }

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask_destination("alice@example.com"), "al***@example.com");
        assert_eq!(mask_destination("+819012345678"), "+81********78");
    }
}
