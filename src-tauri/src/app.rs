//! The app's state and everything the commands do, without Tauri: the vault session (lock,
//! unlock, idle), accounts and codes, scans, import and export. Tauri-facing side effects
//! (events, windows, the clipboard) go through [`Notifier`], so this is tested directly and
//! through the mock runtime alike. Device enrollment and pushes are in [`crate::device`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tessera_core::import::{self, Format, ImportReport};
use tessera_core::qr::{self, Payload};
use tessera_core::{Account, Algorithm, Clock, OtpType, Secret};
use tessera_vault::{KeySource, Passphrase, StoredAccount, Vault};
use zeroize::Zeroizing;

use crate::config::{write_atomically, Paths};
use crate::device::Live;
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::wire::{
    AccountEdit, AccountList, AccountView, AccountWarning, AddResult, AppStatus, CoreText,
    ExportFormatInfo, ExportResult, ImportEntry, ImportFormatInfo, ImportPreview, KeyKind, Locale,
    LockState, ManualAccount, ScanFound, ScanKind, ScanProblem, ScanResult, Settings, SkippedEntry,
    SortOrder,
};

/// Something the backend tells the UI (emitted as an event by the Tauri shell).
#[derive(Debug, Clone)]
pub enum Notice {
    /// The lock state changed.
    Status(Box<AppStatus>),
    /// The account list changed.
    Accounts,
    /// A push arrived.
    Push(Box<crate::wire::PushView>),
    /// A push is gone (answered, expired).
    PushGone(String),
}

/// Where notices go.
pub type Notifier = Arc<dyn Fn(Notice) + Send + Sync>;

/// An open vault and what lives only while it is open.
pub(crate) struct Session {
    pub(crate) vault: Vault,
    /// HOTP codes generated this session, by account id (HOTP has no "current" code).
    hotp_codes: HashMap<i64, String>,
    /// Decoded QR texts by handle, until the vault locks.
    scans: HashMap<String, String>,
    /// An import read and waiting for the user's review.
    pending_import: Option<ImportReport>,
    /// Devices, pushes and QR logins.
    pub(crate) live: Arc<Live>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.live.stop();
    }
}

/// The desktop app.
pub struct Desktop {
    pub(crate) paths: Paths,
    pub(crate) policy: Policy,
    pub(crate) clock: Arc<dyn Clock>,
    settings: Mutex<Settings>,
    /// The OS's preferred locales, read once at start ([`crate::locale::os_locales`]).
    os_locales: Vec<String>,
    session: Mutex<Option<Session>>,
    /// Unix seconds of the last user activity.
    last_activity: AtomicU64,
    next_handle: AtomicU64,
    pub(crate) notify: Notifier,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering from a poisoned one (a panicked holder left consistent data:
/// every write below is a single assignment or a vault transaction).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Desktop {
    /// Starts with the policy and settings at `paths`; nothing is unlocked.
    pub fn new(paths: Paths, clock: Arc<dyn Clock>, notify: Notifier) -> Desktop {
        let policy = Policy::load(&paths.policy);
        let settings = match paths.load_settings() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("using default settings: {e}");
                Settings::default()
            }
        };
        let settings = policy.clamp(settings);
        let now = clock.now_unix();
        Desktop {
            paths,
            policy,
            clock,
            settings: Mutex::new(settings),
            os_locales: crate::locale::os_locales(),
            session: Mutex::new(None),
            last_activity: AtomicU64::new(now),
            next_handle: AtomicU64::new(1),
            notify,
        }
    }

    // ---- lock state -------------------------------------------------------------------

    /// What the UI draws.
    pub fn status(&self) -> AppStatus {
        let unlocked = lock(&self.session).is_some();
        let (state, key_kind) = if unlocked {
            (LockState::Unlocked, self.key_kind())
        } else if Vault::exists(&self.paths.vault) {
            (LockState::Locked, self.key_kind())
        } else {
            (LockState::NoVault, None)
        };
        // One lock for both: a guard held across `self.locale()` would deadlock.
        let settings = lock(&self.settings).clone();
        AppStatus {
            state,
            key_kind,
            vault_path: self.paths.vault.display().to_string(),
            policy: self.policy.view().clone(),
            locale: crate::locale::resolve(settings.language, &self.os_locales),
            settings,
        }
    }

    /// The language the app shows (the setting, else the OS locale, else English).
    pub fn locale(&self) -> Locale {
        crate::locale::resolve(lock(&self.settings).language, &self.os_locales)
    }

    fn key_kind(&self) -> Option<KeyKind> {
        match Vault::key_source_of(&self.paths.vault).ok()? {
            "keyring" => Some(KeyKind::Keyring),
            _ => Some(KeyKind::Passphrase),
        }
    }

    /// Creates the vault (key in the OS keyring when `passphrase` is `None`) and opens it.
    pub fn create_vault(&self, passphrase: Option<String>) -> Result<AppStatus> {
        if Vault::exists(&self.paths.vault) {
            return Err(Error::VaultExists(self.paths.vault.display().to_string()));
        }
        if let Some(dir) = self.paths.vault.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io(format!("creating {}: {e}", dir.display())))?;
        }
        let source = key_source(passphrase)?;
        let vault = Vault::create(&self.paths.vault, &source, self.clock.clone())?;
        self.open_session(vault)?;
        Ok(self.status())
    }

    /// Opens the vault.
    pub fn unlock(&self, passphrase: Option<String>) -> Result<AppStatus> {
        if !Vault::exists(&self.paths.vault) {
            return Err(Error::NoVault);
        }
        if lock(&self.session).is_some() {
            return Ok(self.status());
        }
        let needs = Vault::key_source_of(&self.paths.vault)?;
        let source = match (needs, passphrase) {
            ("passphrase", None) => {
                return Err(Error::Invalid("enter the vault's passphrase".into()))
            }
            ("passphrase", Some(p)) => key_source(Some(p))?,
            _ => KeySource::Keyring,
        };
        let vault = Vault::open(&self.paths.vault, &source, self.clock.clone())?;
        self.open_session(vault)?;
        Ok(self.status())
    }

    fn open_session(&self, vault: Vault) -> Result<()> {
        let live = Live::new(self.notify.clone(), self.clock.clone());
        let mut session = Session {
            vault,
            hotp_codes: HashMap::new(),
            scans: HashMap::new(),
            pending_import: None,
            live,
        };
        crate::device::start(&mut session)?;
        *lock(&self.session) = Some(session);
        self.touch();
        Ok(())
    }

    /// Closes the vault: keys, codes, scans and pending imports leave memory.
    pub fn lock(&self) -> AppStatus {
        let was = lock(&self.session).take();
        drop(was);
        let status = self.status();
        (self.notify)(Notice::Status(Box::new(status.clone())));
        status
    }

    /// Records user activity (resets the idle timer).
    pub fn touch(&self) {
        self.last_activity
            .store(self.clock.now_unix(), Ordering::Relaxed);
    }

    /// Called every few seconds: locks after the idle time and expires pushes.
    pub fn tick(&self) {
        let mins = lock(&self.settings).auto_lock_mins;
        let idle = self
            .clock
            .now_unix()
            .saturating_sub(self.last_activity.load(Ordering::Relaxed));
        let unlocked = lock(&self.session).is_some();
        if unlocked && mins > 0 && idle >= u64::from(mins) * 60 {
            tracing::info!("locking after {idle} s idle");
            self.lock();
            return;
        }
        let _ = self.with_session(|s| {
            s.live.expire(&mut s.vault);
            Ok(())
        });
    }

    /// Runs `f` on the open session.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.session);
        match guard.as_mut() {
            Some(s) => f(s),
            None if Vault::exists(&self.paths.vault) => Err(Error::Locked),
            None => Err(Error::NoVault),
        }
    }

    // ---- settings ---------------------------------------------------------------------

    /// Saves new settings (refused when the policy forbids a value).
    pub fn set_settings(&self, settings: Settings) -> Result<AppStatus> {
        if settings.clipboard_clear_secs > 3600 {
            return Err(Error::Invalid(
                "the clipboard clear time must be at most 3600 seconds".into(),
            ));
        }
        if settings.auto_lock_mins > 24 * 60 {
            return Err(Error::Invalid(
                "auto-lock must be at most 1440 minutes (a day)".into(),
            ));
        }
        self.policy.check_settings(&settings)?;
        self.paths.save_settings(&settings)?;
        *lock(&self.settings) = settings;
        Ok(self.status())
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    // ---- accounts ---------------------------------------------------------------------

    /// Every account with its current code, in the chosen order.
    pub fn list_accounts(&self) -> Result<AccountList> {
        let now = self.clock.now_unix();
        let sort = lock(&self.settings).sort;
        self.with_session(|s| {
            let mut stored = s.vault.list()?;
            sort_accounts(&mut stored, sort);
            let accounts = stored
                .iter()
                .map(|a| view(a, now, s.hotp_codes.get(&a.id).cloned()))
                .collect();
            Ok(AccountList { now, accounts })
        })
    }

    /// Adds the account(s) an `otpauth://` or `otpauth-migration://` URI carries.
    pub fn add_uri(&self, text: &str) -> Result<AddResult> {
        self.touch();
        let text = text.trim();
        let lower = text.get(..20).unwrap_or(text).to_ascii_lowercase();
        if !lower.starts_with("otpauth") {
            return Err(Error::Invalid(
                "that is not an otpauth:// or otpauth-migration:// URI".into(),
            ));
        }
        let payload = qr::classify(text)?;
        self.add_payload(&payload)
    }

    fn add_payload(&self, payload: &Payload) -> Result<AddResult> {
        let mut warnings = Vec::new();
        let mut skipped = Vec::new();
        match payload {
            // The URI's warnings include a weak secret's (`weak_secret`).
            Payload::Account(p) => {
                let name = p.account.display_name();
                warnings.extend(p.warnings.iter().map(|w| AccountWarning {
                    name: name.clone(),
                    warning: CoreText::of(w),
                }));
            }
            Payload::Migration(b) => {
                skipped.extend(b.skipped.iter().map(|(name, why)| SkippedEntry {
                    name: name.clone(),
                    reason: CoreText::of(why),
                }));
            }
            Payload::Other(why) => return Err(Error::Invalid(why.clone())),
        }
        let accounts = qr::accounts(payload);
        let mut result = self.insert_new(&accounts, false)?;
        result.warnings.extend(warnings);
        result.skipped.extend(skipped);
        Ok(result)
    }

    /// Inserts accounts in one transaction, leaving out (and naming) the ones the vault has.
    fn insert_new(&self, accounts: &[Account], keep_duplicates: bool) -> Result<AddResult> {
        let result = self.with_session(|s| {
            let mut fresh = Vec::new();
            let mut duplicates = Vec::new();
            for a in accounts {
                if !keep_duplicates && !s.vault.duplicates_of(a)?.is_empty() {
                    duplicates.push(a.display_name());
                } else {
                    fresh.push(a.clone());
                }
            }
            let added = s.vault.insert_many(&fresh)?;
            Ok(AddResult {
                added,
                duplicates,
                warnings: Vec::new(),
                skipped: Vec::new(),
            })
        })?;
        if !result.added.is_empty() {
            (self.notify)(Notice::Accounts);
        }
        Ok(result)
    }

    /// Adds an account typed in field by field (the CLI's `add --issuer … --secret …` rules).
    pub fn add_manual(&self, input: ManualAccount) -> Result<AddResult> {
        self.touch();
        self.policy.check_manual_entry()?;
        let secret = Zeroizing::new(input.secret);
        if secret.trim().is_empty() {
            return Err(Error::Invalid("the secret is empty".into()));
        }
        let mut account = Account::totp(
            input.issuer.trim(),
            input.name.trim(),
            Secret::from_base32(&secret)?,
        );
        if let Some(t) = input.otp_type.as_deref().filter(|t| !t.is_empty()) {
            account.otp_type = t.parse::<OtpType>()?;
            if account.otp_type == OtpType::Steam {
                account.digits = tessera_core::otp::STEAM_DIGITS;
            }
        }
        if let Some(a) = input.algorithm.as_deref().filter(|a| !a.is_empty()) {
            account.algorithm = a.parse::<Algorithm>()?;
        }
        if let Some(d) = input.digits {
            account.digits = d;
        }
        if let Some(p) = input.period {
            account.period = p;
        }
        if let Some(c) = input.counter {
            account.counter = c;
        }
        account.validate()?;
        let weak = account.secret.is_weak().then(|| AccountWarning {
            name: account.display_name(),
            warning: CoreText::of(&tessera_core::uri::Warning::WeakSecret {
                bits: account.secret.bits(),
            }),
        });
        let mut result = self.insert_new(std::slice::from_ref(&account), false)?;
        if let Some(name) = result.duplicates.first() {
            return Err(Error::Invalid(format!("{name} is already in the vault")));
        }
        result.warnings.extend(weak);
        Ok(result)
    }

    /// Edits the labels of an account (never its secret or parameters).
    pub fn update_account(&self, id: i64, edit: AccountEdit) -> Result<()> {
        self.touch();
        self.with_session(|s| {
            let mut a = s.vault.get(id)?.account;
            a.issuer = edit.issuer.trim().to_owned();
            a.name = edit.name.trim().to_owned();
            a.groups = edit
                .groups
                .iter()
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .collect();
            a.note = edit.note;
            a.favourite = edit.favourite;
            s.vault.update(id, &a)?;
            Ok(())
        })?;
        (self.notify)(Notice::Accounts);
        Ok(())
    }

    /// Deletes an account.
    pub fn delete_account(&self, id: i64) -> Result<()> {
        self.touch();
        self.with_session(|s| {
            s.vault.remove(id)?;
            s.hotp_codes.remove(&id);
            Ok(())
        })?;
        (self.notify)(Notice::Accounts);
        Ok(())
    }

    /// Moves an account up (`delta < 0`) or down in the manual order.
    pub fn move_account(&self, id: i64, delta: i32) -> Result<()> {
        self.touch();
        self.with_session(|s| {
            let list = s.vault.list()?;
            let pos = list
                .iter()
                .position(|a| a.id == id)
                .ok_or_else(|| Error::NotFound(format!("no account with id {id}")))?;
            let target = if delta < 0 {
                pos.checked_sub(1)
            } else {
                pos.checked_add(1).filter(|t| *t < list.len())
            };
            let (Some(t), Some(me)) = (target, list.get(pos)) else {
                return Ok(());
            };
            let Some(other) = list.get(t) else {
                return Ok(());
            };
            if other.account.favourite != me.account.favourite {
                return Ok(()); // favourites stay above the rest
            }
            // Renumber densely so that swapping two neighbours always changes the order.
            for (i, a) in list.iter().enumerate() {
                let i = i64::try_from(i).unwrap_or(i64::MAX);
                let order = if a.id == me.id {
                    i64::try_from(t).unwrap_or(i64::MAX)
                } else if a.id == other.id {
                    i64::try_from(pos).unwrap_or(i64::MAX)
                } else {
                    i
                };
                if order != a.sort_order {
                    s.vault.set_sort_order(a.id, order)?;
                }
            }
            Ok(())
        })?;
        (self.notify)(Notice::Accounts);
        Ok(())
    }

    /// HOTP: advances the counter and returns the account with its new code.
    pub fn next_hotp(&self, id: i64) -> Result<AccountView> {
        self.touch();
        let now = self.clock.now_unix();
        self.with_session(|s| {
            let stored = s.vault.get(id)?;
            if stored.account.otp_type != OtpType::Hotp {
                return Err(Error::Invalid(format!(
                    "{} is not a counter-based (HOTP) account",
                    stored.account.display_name()
                )));
            }
            let code = s.vault.next_hotp(id)?;
            s.hotp_codes.insert(id, code.value.clone());
            let stored = s.vault.get(id)?;
            Ok(view(&stored, now, Some(code.value)))
        })
    }

    /// The code to copy for an account (HOTP: the one shown, or the next one), recording use.
    pub fn code_to_copy(&self, id: i64) -> Result<String> {
        self.touch();
        let shown = self.with_session(|s| {
            let stored = s.vault.get(id)?;
            match stored.account.otp_type {
                OtpType::Hotp => Ok(s.hotp_codes.get(&id).cloned()),
                _ => Ok(Some(s.vault.code(id)?.value)),
            }
        })?;
        match shown {
            Some(code) => {
                self.with_session(|s| Ok(s.vault.touch(id)?))?;
                Ok(code)
            }
            None => self
                .next_hotp(id)?
                .code
                .ok_or_else(|| Error::Internal("no HOTP code".into())),
        }
    }

    // ---- scanning ---------------------------------------------------------------------

    /// Classifies decoded QR texts and keeps them under handles for the user's choice.
    pub fn scanned(&self, source: String, texts: Vec<String>) -> Result<ScanResult> {
        self.touch();
        let enrolled = self.with_session(|s| Ok(s.live.origins()))?;
        let found = texts
            .into_iter()
            .map(|text| {
                let found = classify(&text, &self.policy, &enrolled);
                let handle = format!("scan-{}", self.next_handle.fetch_add(1, Ordering::Relaxed));
                (handle, text, found)
            })
            .collect::<Vec<_>>();
        self.with_session(|s| {
            s.scans.clear();
            Ok(ScanResult {
                source,
                found: found
                    .into_iter()
                    .map(|(handle, text, found)| {
                        s.scans.insert(handle.clone(), text);
                        ScanFound { handle, ..found }
                    })
                    .collect(),
            })
        })
    }

    /// Decodes an image file's bytes.
    pub fn scan_image_bytes(&self, source: String, bytes: &[u8]) -> Result<ScanResult> {
        let texts =
            qr::decode_image_bytes(bytes).map_err(|e| Error::Invalid(format!("{source}: {e}")))?;
        self.scanned(source, texts)
    }

    /// Decodes an image file.
    pub fn scan_image_file(&self, path: &Path) -> Result<ScanResult> {
        let bytes = read_bounded(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.scan_image_bytes(name, &bytes)
    }

    /// The text behind a scan handle, or the argument itself when it is a link.
    pub(crate) fn resolve(&self, handle_or_text: &str) -> Result<String> {
        let t = handle_or_text.trim();
        if t.contains("://") {
            return Ok(t.to_owned());
        }
        self.with_session(|s| {
            s.scans
                .get(t)
                .cloned()
                .ok_or_else(|| Error::NotFound("that scan result is gone; scan again".into()))
        })
    }

    /// Adds what a scan found (an account or a Google export).
    pub fn add_scanned(&self, handle: &str) -> Result<AddResult> {
        let text = Zeroizing::new(self.resolve(handle)?);
        let payload = qr::classify(&text)?;
        self.add_payload(&payload)
    }

    // ---- import / export --------------------------------------------------------------

    /// Every import format.
    pub fn import_formats() -> Vec<ImportFormatInfo> {
        Format::ALL
            .iter()
            .map(|f| ImportFormatInfo {
                id: f.as_str().to_owned(),
                description: f.description().to_owned(),
            })
            .collect()
    }

    /// Every export format.
    pub fn export_formats() -> Vec<ExportFormatInfo> {
        tessera_core::export::ExportFormat::ALL
            .iter()
            .map(|f| ExportFormatInfo {
                id: f.as_str().to_owned(),
                description: f.description().to_owned(),
                plaintext: f.is_plaintext(),
                needs_password: f.needs_password(),
                extension: f.extension().to_owned(),
            })
            .collect()
    }

    /// Reads an export file and keeps it for review; nothing is written.
    pub fn import_preview(
        &self,
        path: &Path,
        format: Option<&str>,
        password: Option<String>,
    ) -> Result<ImportPreview> {
        self.touch();
        let password = password.map(Zeroizing::new);
        let format = format
            .filter(|f| !f.is_empty() && *f != "auto")
            .map(str::parse::<Format>)
            .transpose()?;
        let bytes = Zeroizing::new(read_bounded(path)?);
        let report = import::import(&bytes, format, password.as_deref().map(String::as_str))?;
        self.with_session(|s| {
            let existing: Vec<Account> = s.vault.list()?.into_iter().map(|a| a.account).collect();
            let dups: std::collections::HashSet<usize> =
                import::find_duplicates(&existing, &report.accounts)
                    .into_iter()
                    .map(|(_, j)| j)
                    .collect();
            let preview = ImportPreview {
                format: report.format.as_str().to_owned(),
                entries: report
                    .accounts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| ImportEntry {
                        index: u32::try_from(i).unwrap_or(u32::MAX),
                        issuer: a.issuer.clone(),
                        name: a.name.clone(),
                        otp_type: a.otp_type.as_str().to_owned(),
                        duplicate: dups.contains(&i),
                    })
                    .collect(),
                skipped: report
                    .skipped
                    .iter()
                    .map(|k| SkippedEntry {
                        name: k.name.clone(),
                        reason: CoreText::of(&k.reason),
                    })
                    .collect(),
            };
            s.pending_import = Some(report);
            Ok(preview)
        })
    }

    /// Stores the pending import in one transaction (duplicates skipped unless kept).
    pub fn import_commit(&self, keep_duplicates: bool) -> Result<AddResult> {
        self.touch();
        let report = self.with_session(|s| {
            s.pending_import.take().ok_or_else(|| {
                Error::NotFound("there is no import to finish; choose a file".into())
            })
        })?;
        let mut result = self.insert_new(&report.accounts, keep_duplicates)?;
        result
            .skipped
            .extend(report.skipped.iter().map(|k| SkippedEntry {
                name: k.name.clone(),
                reason: CoreText::of(&k.reason),
            }));
        Ok(result)
    }

    /// Drops the pending import.
    pub fn import_cancel(&self) -> Result<()> {
        self.with_session(|s| {
            s.pending_import = None;
            Ok(())
        })
    }

    /// Writes every account to `path` in `format` (PNG series: `path-1.png`, `path-2.png`…).
    pub fn export_accounts(
        &self,
        path: &Path,
        format: &str,
        password: Option<String>,
    ) -> Result<ExportResult> {
        use tessera_core::export::{render, ExportFormat};
        self.touch();
        self.policy.check_export()?;
        let format = ExportFormat::parse(format)?;
        let password = password.map(Zeroizing::new);
        let accounts: Vec<Account> = self
            .with_session(|s| Ok(s.vault.list()?))?
            .into_iter()
            .map(|a| a.account)
            .collect();
        if accounts.is_empty() {
            return Err(Error::Invalid("the vault has no accounts to export".into()));
        }
        let pw = password.as_deref().map(String::as_str);
        let rendered = render(format, &accounts, pw)?;
        let targets: Vec<std::path::PathBuf> =
            if rendered.files.len() == 1 && format != ExportFormat::MigrationPng {
                vec![path.to_owned()]
            } else {
                let stem = path.to_string_lossy().trim_end_matches(".png").to_owned();
                (1..=rendered.files.len())
                    .map(|i| format!("{stem}-{i}.png").into())
                    .collect()
            };
        for (target, bytes) in targets.iter().zip(&rendered.files) {
            write_atomically(target, bytes)?;
        }
        let verified = match (format, pw, rendered.files.first()) {
            (ExportFormat::Backup, Some(pw), Some(bytes)) => {
                let check = tessera_core::backup::test_restore(bytes, pw, &accounts)?;
                Some(check.identical == accounts.len() && check.in_backup == accounts.len())
            }
            _ => None,
        };
        Ok(ExportResult {
            files: targets.iter().map(|p| p.display().to_string()).collect(),
            exported: u32::try_from(accounts.len() - rendered.skipped.len()).unwrap_or(u32::MAX),
            skipped: rendered
                .skipped
                .into_iter()
                .map(|k| SkippedEntry {
                    name: k.name,
                    reason: CoreText::of(&k.reason),
                })
                .collect(),
            verified,
        })
    }
}

/// Reads a file the user chose (an image, an export), refusing absurd sizes before reading.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    const MAX: u64 = 64 * 1024 * 1024;
    let io = |e: std::io::Error| Error::Io(format!("reading {}: {e}", path.display()));
    if std::fs::metadata(path).map_err(io)?.len() > MAX {
        return Err(Error::Invalid(format!(
            "{} is larger than 64 MiB",
            path.display()
        )));
    }
    std::fs::read(path).map_err(io)
}

fn key_source(passphrase: Option<String>) -> Result<KeySource> {
    match passphrase {
        None => Ok(KeySource::Keyring),
        Some(p) if p.is_empty() => Err(Error::Invalid("the passphrase is empty".into())),
        Some(p) => Ok(KeySource::Passphrase(Passphrase::new(p))),
    }
}

/// Orders the list; favourites stay first whatever the order.
fn sort_accounts(list: &mut [StoredAccount], sort: SortOrder) {
    let key = |a: &StoredAccount| (!a.account.favourite,);
    match sort {
        SortOrder::Manual => {} // the vault's own order: favourites, sort order, id
        SortOrder::Issuer => list.sort_by_cached_key(|a| {
            (
                key(a),
                a.account.issuer.to_lowercase(),
                a.account.name.to_lowercase(),
            )
        }),
        SortOrder::Name => list.sort_by_cached_key(|a| {
            (
                key(a),
                a.account.name.to_lowercase(),
                a.account.issuer.to_lowercase(),
            )
        }),
        SortOrder::Recent => list.sort_by_key(|a| (key(a), std::cmp::Reverse(a.last_used_at))),
    }
}

/// The list row of an account at `now`.
pub(crate) fn view(a: &StoredAccount, now: u64, hotp_code: Option<String>) -> AccountView {
    let acc = &a.account;
    let (code, next_code, valid_until) = match acc.otp_type {
        OtpType::Hotp => (hotp_code, None, None),
        _ => match acc.code_at(now) {
            Ok(c) => {
                let next = c
                    .valid_until
                    .and_then(|t| acc.code_at(t).ok())
                    .map(|n| n.value);
                (Some(c.value), next, c.valid_until)
            }
            Err(_) => (None, None, None),
        },
    };
    AccountView {
        id: a.id,
        issuer: acc.issuer.clone(),
        name: acc.name.clone(),
        otp_type: acc.otp_type.as_str().to_owned(),
        algorithm: acc.algorithm.as_str().to_owned(),
        digits: acc.digits,
        period: acc.period,
        counter: acc.counter,
        groups: acc.groups.clone(),
        note: acc.note.clone(),
        favourite: acc.favourite,
        icon: acc.icon.clone().or_else(|| icon_slug(&acc.issuer)),
        code,
        next_code,
        valid_until,
        last_used_at: a.last_used_at,
        weak: acc.secret.is_weak(),
    }
}

/// "Example Co." → "exampleco": the key into the UI's bundled icon set.
fn icon_slug(issuer: &str) -> Option<String> {
    let slug: String = issuer
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (!slug.is_empty()).then_some(slug)
}

/// What a QR text is, a label for it, and why it cannot be used (if so); `handle` is left empty
/// for the caller.
fn classify(text: &str, policy: &Policy, enrolled: &[String]) -> ScanFound {
    use tessera_core::device::{EnrollLink, QrLoginLink};
    let found = |kind, label: String, problem: Option<(ScanProblem, String)>| {
        let (problem_kind, problem) = problem.unzip();
        ScanFound {
            kind,
            label,
            handle: String::new(),
            problem,
            origin: None,
            user: None,
            count: None,
            problem_kind,
        }
    };
    let lower = text.get(..20).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("tessera://enroll") {
        return match EnrollLink::parse(text) {
            Ok(l) => {
                let problem = policy
                    .check_origin(&l.origin)
                    .err()
                    .map(|e| (ScanProblem::NotAllowed, e.to_string()));
                ScanFound {
                    origin: Some(l.origin.clone()),
                    user: Some(l.user.clone()),
                    ..found(
                        ScanKind::Enroll,
                        format!("Enroll this device with {} as {}", l.origin, l.user),
                        problem,
                    )
                }
            }
            Err(e) => found(
                ScanKind::Enroll,
                "An enrollment code".into(),
                Some((ScanProblem::Invalid, e.to_string())),
            ),
        };
    }
    if lower.starts_with("tessera://qr-login") {
        return match QrLoginLink::parse(text) {
            Ok(l) => {
                let problem = (!enrolled.contains(&l.origin)).then(|| {
                    (
                        ScanProblem::NotEnrolled,
                        format!(
                            "this device is not enrolled with {}: a sign-in QR from a server you have not enrolled with is refused",
                            l.origin
                        ),
                    )
                });
                ScanFound {
                    origin: Some(l.origin.clone()),
                    ..found(
                        ScanKind::QrLogin,
                        format!("Sign-in request from {}", l.origin),
                        problem,
                    )
                }
            }
            Err(e) => found(
                ScanKind::QrLogin,
                "A sign-in code".into(),
                Some((ScanProblem::Invalid, e.to_string())),
            ),
        };
    }
    match qr::classify(text) {
        Ok(Payload::Account(p)) => found(ScanKind::Account, p.account.display_name(), None),
        Ok(Payload::Migration(b)) => {
            let n = b.accounts.len();
            let label = match n {
                1 => "1 account from Google Authenticator".to_owned(),
                n => format!("{n} accounts from Google Authenticator"),
            };
            let problem = (n == 0).then(|| {
                (
                    ScanProblem::Empty,
                    "it carries no account Tessera can use".to_owned(),
                )
            });
            ScanFound {
                count: u32::try_from(n).ok(),
                ..found(ScanKind::Migration, label, problem)
            }
        }
        Ok(Payload::Other(why)) => {
            let (label, link) = other_label(text);
            ScanFound {
                origin: link,
                ..found(ScanKind::Other, label, Some((ScanProblem::NotOurs, why)))
            }
        }
        Err(e) => {
            let kind = if lower.starts_with("otpauth-migration") {
                ScanKind::Migration
            } else {
                ScanKind::Account
            };
            found(
                kind,
                "An authenticator code".into(),
                Some((ScanProblem::Invalid, e.to_string())),
            )
        }
    }
}

/// A harmless label for a QR code that is not ours: its scheme and host, never the rest; and
/// that `scheme://host` alone.
fn other_label(text: &str) -> (String, Option<String>) {
    match text.split_once("://") {
        Some((scheme, rest)) if scheme.len() <= 16 => {
            let host: String = rest
                .chars()
                .take_while(|c| !"/?#".contains(*c))
                .take(64)
                .collect();
            (
                format!("A {scheme} link to {host}"),
                Some(format!("{scheme}://{host}")),
            )
        }
        _ => ("Text that is not an authenticator code".into(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::ManualClock;

    fn desktop(dir: &Path, clock: Arc<ManualClock>) -> (Desktop, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let notify: Notifier = Arc::new(move |n| {
            let name = match n {
                Notice::Status(s) => format!("status:{:?}", s.state),
                Notice::Accounts => "accounts".into(),
                Notice::Push(_) => "push".into(),
                Notice::PushGone(_) => "push-gone".into(),
            };
            lock(&log).push(name);
        });
        (Desktop::new(Paths::under(dir), clock, notify), seen)
    }

    #[test]
    fn locks_after_the_idle_time_and_activity_postpones_it() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let (d, seen) = desktop(dir.path(), clock.clone());
        d.create_vault(Some("pw".into())).unwrap();
        assert_eq!(d.settings().auto_lock_mins, 5);
        clock.advance(299);
        d.tick();
        assert_eq!(d.status().state, LockState::Unlocked);
        d.touch(); // the user did something
        clock.advance(299);
        d.tick();
        assert_eq!(
            d.status().state,
            LockState::Unlocked,
            "activity restarted the timer"
        );
        clock.advance(1);
        d.tick();
        assert_eq!(d.status().state, LockState::Locked);
        assert!(
            lock(&seen).contains(&"status:Locked".to_owned()),
            "the UI was told"
        );
        assert!(matches!(d.list_accounts(), Err(Error::Locked)));
    }

    #[test]
    fn auto_lock_zero_never_locks() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let (d, _) = desktop(dir.path(), clock.clone());
        d.create_vault(Some("pw".into())).unwrap();
        let s = Settings {
            auto_lock_mins: 0,
            ..d.settings()
        };
        d.set_settings(s).unwrap();
        clock.advance(10 * 24 * 3600);
        d.tick();
        assert_eq!(d.status().state, LockState::Unlocked);
    }

    #[test]
    fn codes_follow_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        // RFC 6238's SHA-1 vector at T = 59: 94287082 (8 digits).
        let clock = Arc::new(ManualClock::new(59));
        let (d, _) = desktop(dir.path(), clock.clone());
        d.create_vault(Some("pw".into())).unwrap();
        d.add_uri("otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8")
            .unwrap();
        let list = d.list_accounts().unwrap();
        let a = &list.accounts[0];
        assert_eq!(a.code.as_deref(), Some("94287082"));
        assert_eq!(a.valid_until, Some(60));
        clock.set(1_111_111_109);
        let a = &d.list_accounts().unwrap().accounts[0];
        assert_eq!(a.code.as_deref(), Some("07081804"));
    }
}
