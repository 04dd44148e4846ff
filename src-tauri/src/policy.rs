//! Managed mode (DC-3): a policy file an administrator deploys.
//!
//! | OS | path |
//! | --- | --- |
//! | Linux | `/etc/tessera/policy.json` |
//! | macOS | `/Library/Application Support/Tessera/policy.json` |
//! | Windows | `%ProgramData%\Tessera\policy.json` |
//!
//! ```json
//! { "version": 1, "organization": "Example Corp",
//!   "allowed_origins": ["https://auth.example.com"],
//!   "require_app_lock": true, "max_auto_lock_mins": 5,
//!   "disable_export": true, "disable_manual_entry": true, "language": "ja" }
//! ```
//!
//! Every field but `version` is optional. An invalid file (unreadable, not JSON, an unknown
//! field, a value out of range, a malformed origin) is never ignored: the app reports the
//! error and runs **fail-closed** — export, manual entry and enrollment are refused, the app
//! lock is required with at most [`FAIL_CLOSED_AUTO_LOCK_MINS`] — until the file is fixed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::wire::{Language, Locale, PolicyView, Settings};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 64 * 1024;
/// Auto-lock cap while the policy is invalid.
pub const FAIL_CLOSED_AUTO_LOCK_MINS: u32 = 5;
/// Longest auto-lock a policy may allow (a day).
const MAX_AUTO_LOCK_MINS: u32 = 24 * 60;

/// The OS's policy location.
pub fn default_path() -> PathBuf {
    if cfg!(target_os = "windows") {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(base).join("Tessera").join("policy.json")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Tessera/policy.json")
    } else {
        PathBuf::from("/etc/tessera/policy.json")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    require_app_lock: bool,
    #[serde(default)]
    max_auto_lock_mins: Option<u32>,
    #[serde(default)]
    disable_export: bool,
    #[serde(default)]
    disable_manual_entry: bool,
    #[serde(default)]
    language: Option<Locale>,
}

/// The policy in force.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    view: PolicyView,
}

impl Policy {
    /// No policy: nothing is managed.
    pub fn unmanaged(path: &Path) -> Policy {
        Policy {
            view: PolicyView {
                path: path.display().to_string(),
                ..PolicyView::default()
            },
        }
    }

    /// Reads the policy at `path`. A missing file means unmanaged; anything wrong with an
    /// existing file gives the fail-closed policy carrying the error.
    pub fn load(path: &Path) -> Policy {
        match read(path) {
            Ok(None) => Policy::unmanaged(path),
            Ok(Some(view)) => Policy { view },
            Err(why) => Policy::fail_closed(path, why),
        }
    }

    fn fail_closed(path: &Path, why: String) -> Policy {
        tracing::error!("managed policy {} refused: {why}", path.display());
        Policy {
            view: PolicyView {
                managed: true,
                path: path.display().to_string(),
                organization: None,
                allowed_origins: Vec::new(),
                require_app_lock: true,
                max_auto_lock_mins: Some(FAIL_CLOSED_AUTO_LOCK_MINS),
                disable_export: true,
                disable_manual_entry: true,
                // The language is no security setting: a broken file leaves it to the user.
                language: None,
                error: Some(format!(
                    "the policy file {} is invalid: {why}",
                    path.display()
                )),
            },
        }
    }

    /// What the UI shows.
    pub fn view(&self) -> &PolicyView {
        &self.view
    }

    /// Refuses export when the policy disables it.
    pub fn check_export(&self) -> Result<()> {
        if self.view.disable_export {
            return Err(Error::Policy(self.because("export is disabled")));
        }
        Ok(())
    }

    /// Refuses manual entry when the policy disables it.
    pub fn check_manual_entry(&self) -> Result<()> {
        if self.view.disable_manual_entry {
            return Err(Error::Policy(self.because("manual entry is disabled")));
        }
        Ok(())
    }

    /// Refuses servers the policy does not list (and every server while it is invalid).
    pub fn check_origin(&self, origin: &str) -> Result<()> {
        if self.view.error.is_some() {
            return Err(Error::Policy(
                "enrollment is disabled until the invalid policy file is fixed".into(),
            ));
        }
        if self.view.allowed_origins.is_empty()
            || self.view.allowed_origins.iter().any(|o| o == origin)
        {
            return Ok(());
        }
        Err(Error::Policy(format!(
            "{origin} is not a server your organization allows (allowed: {})",
            self.view.allowed_origins.join(", ")
        )))
    }

    /// Caps the settings to the policy (used when loading a settings file).
    pub fn clamp(&self, mut s: Settings) -> Settings {
        if let Some(max) = self.view.max_auto_lock_mins {
            if s.auto_lock_mins == 0 || s.auto_lock_mins > max {
                s.auto_lock_mins = max;
            }
        }
        if self.view.require_app_lock && s.auto_lock_mins == 0 {
            s.auto_lock_mins = FAIL_CLOSED_AUTO_LOCK_MINS;
        }
        if let Some(l) = self.view.language {
            s.language = l.into();
        }
        s
    }

    /// Refuses settings the policy forbids (what the user asks for explicitly).
    pub fn check_settings(&self, s: &Settings) -> Result<()> {
        if self.view.require_app_lock && s.auto_lock_mins == 0 {
            return Err(Error::Policy(
                self.because("the app lock cannot be turned off"),
            ));
        }
        if let Some(max) = self.view.max_auto_lock_mins {
            if s.auto_lock_mins == 0 || s.auto_lock_mins > max {
                return Err(Error::Policy(
                    self.because(&format!("auto-lock can be at most {max} minutes")),
                ));
            }
        }
        if let Some(l) = self.view.language {
            if s.language != Language::from(l) {
                return Err(Error::Policy(self.because("the language is set")));
            }
        }
        Ok(())
    }

    fn because(&self, what: &str) -> String {
        match &self.view.organization {
            Some(org) => format!("{what} by {org}'s policy"),
            None => format!("{what} by your organization's policy"),
        }
    }
}

fn read(path: &Path) -> std::result::Result<Option<PolicyView>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it ({e})")),
    };
    if meta.len() > MAX_POLICY_BYTES {
        return Err(format!("it is larger than {MAX_POLICY_BYTES} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it ({e})"))?;
    let file: PolicyFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if file.version != 1 {
        return Err(format!(
            "`version` is {}; this Tessera reads version 1",
            file.version
        ));
    }
    let organization = match file.organization.map(|o| o.trim().to_owned()) {
        Some(o) if o.is_empty() => return Err("`organization` is empty".into()),
        Some(o) if o.chars().count() > 100 => {
            return Err("`organization` is longer than 100 characters".into())
        }
        Some(o) if o.chars().any(char::is_control) => {
            return Err("`organization` contains control characters".into())
        }
        other => other,
    };
    let mut allowed_origins = Vec::new();
    for o in file.allowed_origins {
        let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
        tessera_core::device::link::check_origin(&o)
            .map_err(|e| format!("`allowed_origins`: `{o}`: {e}"))?;
        allowed_origins.push(o);
    }
    if let Some(m) = file.max_auto_lock_mins {
        if m == 0 || m > MAX_AUTO_LOCK_MINS {
            return Err(format!(
                "`max_auto_lock_mins` is {m}; it must be 1–{MAX_AUTO_LOCK_MINS}"
            ));
        }
    }
    Ok(Some(PolicyView {
        managed: true,
        path: path.display().to_string(),
        organization,
        allowed_origins,
        require_app_lock: file.require_app_lock || file.max_auto_lock_mins.is_some(),
        max_auto_lock_mins: file.max_auto_lock_mins,
        disable_export: file.disable_export,
        disable_manual_entry: file.disable_manual_entry,
        language: file.language,
        error: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Policy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, text).unwrap();
        Policy::load(&path)
    }

    #[test]
    fn missing_file_is_unmanaged() {
        let p = Policy::load(Path::new("/nonexistent/tessera/policy.json"));
        assert!(!p.view().managed);
        p.check_export().unwrap();
        p.check_manual_entry().unwrap();
        p.check_origin("https://any.example").unwrap();
    }

    #[test]
    fn a_valid_policy_restricts_what_it_names() {
        let p = load(
            r#"{"version":1,"organization":"Example Corp","allowed_origins":["https://Auth.Example.com/"],
                "max_auto_lock_mins":10,"disable_export":true}"#,
        );
        let v = p.view();
        assert!(v.managed && v.error.is_none());
        assert_eq!(v.allowed_origins, ["https://auth.example.com"]);
        assert!(v.require_app_lock, "a cap on auto-lock implies the lock");
        let e = p.check_export().unwrap_err();
        assert_eq!(e.code(), "policy");
        assert!(e.to_string().contains("Example Corp"), "{e}");
        p.check_manual_entry().unwrap();
        p.check_origin("https://auth.example.com").unwrap();
        assert!(p.check_origin("https://evil.example").is_err());
        let s = Settings {
            auto_lock_mins: 0,
            ..Settings::default()
        };
        assert!(p.check_settings(&s).is_err());
        assert_eq!(p.clamp(s).auto_lock_mins, 10);
        let s = Settings {
            auto_lock_mins: 60,
            ..Settings::default()
        };
        assert!(p.check_settings(&s).is_err());
        assert_eq!(p.clamp(s).auto_lock_mins, 10);
        assert_eq!(v.language, None);
        let s = Settings {
            language: Language::Ja,
            auto_lock_mins: 5,
            ..Settings::default()
        };
        p.check_settings(&s).unwrap();
    }

    #[test]
    fn a_policy_language_locks_the_setting() {
        let p = load(r#"{"version":1,"language":"ja"}"#);
        assert_eq!(p.view().language, Some(Locale::Ja));
        assert!(p.view().error.is_none());
        let s = Settings {
            language: Language::En,
            ..Settings::default()
        };
        assert_eq!(p.check_settings(&s).unwrap_err().code(), "policy");
        assert_eq!(p.clamp(s).language, Language::Ja);
        let s = Settings {
            language: Language::Ja,
            ..Settings::default()
        };
        p.check_settings(&s).unwrap();
        let bad = load(r#"{"version":1,"language":"fr"}"#);
        assert!(bad
            .view()
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("unknown variant"));
        assert_eq!(
            bad.view().language,
            None,
            "a broken file does not pick a language"
        );
    }

    #[test]
    fn invalid_policies_fail_closed_and_say_why() {
        for (text, says) in [
            ("{not json", "key must be a string"),
            (r#"{"version":2}"#, "`version` is 2"),
            (
                r#"{"version":1,"disable_exports":true}"#,
                "unknown field `disable_exports`",
            ),
            (
                r#"{"version":1,"allowed_origins":["http://evil.example"]}"#,
                "allowed_origins",
            ),
            (
                r#"{"version":1,"max_auto_lock_mins":0}"#,
                "max_auto_lock_mins",
            ),
            (
                r#"{"version":1,"organization":"  "}"#,
                "`organization` is empty",
            ),
            (r#"{"version":1,"disable_export":"yes"}"#, "invalid type"),
        ] {
            let p = load(text);
            let v = p.view();
            let err = v.error.as_deref().unwrap_or_default();
            assert!(v.managed, "{text}");
            assert!(err.contains(says), "{text}: {err}");
            assert!(v.disable_export && v.disable_manual_entry && v.require_app_lock);
            assert!(p.check_origin("https://any.example").is_err());
            assert!(p.check_export().is_err());
        }
    }
}
