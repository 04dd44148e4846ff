//! Where things live, and the user's settings file.
//!
//! | what | default (Linux) | override |
//! | --- | --- | --- |
//! | vault | `~/.local/share/tessera/vault.sqlite3` (shared with the CLI) | `TESSERA_VAULT` |
//! | settings | `~/.config/tessera/settings.json` | `TESSERA_CONFIG_DIR` (a directory) |
//! | policy | [`crate::policy::default_path`] (`/etc/tessera/policy.json`) | `TESSERA_POLICY` |

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::wire::Settings;

/// Largest settings file we read (it is a handful of fields).
const MAX_SETTINGS_BYTES: u64 = 64 * 1024;

/// The app's files.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The vault file.
    pub vault: PathBuf,
    /// The directory holding `settings.json`.
    pub config_dir: PathBuf,
    /// The managed policy file.
    pub policy: PathBuf,
}

impl Paths {
    /// From the environment, falling back to the OS's usual places.
    pub fn from_env() -> Result<Paths> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let vault = match var("TESSERA_VAULT") {
            Some(p) => p,
            None => tessera_vault::default_path().map_err(Error::from)?,
        };
        let config_dir = match var("TESSERA_CONFIG_DIR") {
            Some(p) => p,
            None => directories::ProjectDirs::from("", "", "tessera")
                .map(|d| d.config_dir().to_owned())
                .ok_or_else(|| Error::Io("cannot find the user's config directory".into()))?,
        };
        let policy = var("TESSERA_POLICY").unwrap_or_else(crate::policy::default_path);
        Ok(Paths {
            vault,
            config_dir,
            policy,
        })
    }

    /// Everything under one directory (tests, benchmarks).
    pub fn under(dir: &Path) -> Paths {
        Paths {
            vault: dir.join("vault.sqlite3"),
            config_dir: dir.join("config"),
            policy: dir.join("policy.json"),
        }
    }

    fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.json")
    }

    /// Reads the settings. A missing file gives the defaults; an unreadable or invalid one is
    /// an error naming the problem (the caller shows it and uses the defaults, and the file is
    /// left alone until the user saves new settings).
    pub fn load_settings(&self) -> Result<Settings> {
        let path = self.settings_file();
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(Error::Io(format!("reading {}: {e}", path.display()))),
        };
        if meta.len() > MAX_SETTINGS_BYTES {
            return Err(Error::Invalid(format!(
                "{} is larger than {MAX_SETTINGS_BYTES} bytes",
                path.display()
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::Io(format!("reading {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{} is not valid: {e}", path.display())))
    }

    /// Writes the settings completely or not at all (temporary file, fsync, rename).
    pub fn save_settings(&self, settings: &Settings) -> Result<()> {
        let path = self.settings_file();
        std::fs::create_dir_all(&self.config_dir)
            .map_err(|e| Error::Io(format!("creating {}: {e}", self.config_dir.display())))?;
        let bytes = serde_json::to_vec_pretty(settings)
            .map_err(|e| Error::Internal(format!("encoding settings: {e}")))?;
        write_atomically(&path, &bytes)
    }
}

/// Writes a private file (mode 0600) completely or not at all, replacing what was there.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    tessera_vault::write_private(path, bytes, true).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        assert_eq!(paths.load_settings().unwrap(), Settings::default());
        let s = Settings {
            clipboard_clear_secs: 10,
            hide_codes: true,
            ..Settings::default()
        };
        paths.save_settings(&s).unwrap();
        assert_eq!(paths.load_settings().unwrap(), s);
        std::fs::write(paths.settings_file(), br#"{"clipboard_clear_secs": "x"}"#).unwrap();
        let e = paths.load_settings().unwrap_err();
        assert!(e.to_string().contains("settings.json is not valid"), "{e}");
        std::fs::write(paths.settings_file(), br#"{"colour": "red"}"#).unwrap();
        assert!(paths
            .load_settings()
            .unwrap_err()
            .to_string()
            .contains("colour"));
    }
}
