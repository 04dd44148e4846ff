//! Texts tessera-core words for people, as typed codes with parameters.
//!
//! What the core tells about an input — a [`crate::uri::Warning`] about a Key URI, a
//! [`crate::import::SkipReason`] for an entry of another app's export that cannot be carried,
//! and its errors ([`crate::Error`], [`crate::import::InteropError`]) — is an enum. Each has a stable [`Coded::code`] (`weak_secret`, `unsupported_type`…) and named
//! [`Coded::params`] (`bits`, `kind`…), and serialises as `{"code": …, "params": {…}}`: the
//! desktop app words the code in the user's language (`core.<code>` in its catalogues) with the
//! parameters filled in. Its `Display` is the English text the CLI prints.
//!
//! [`catalogue`] lists every code the core can produce with its parameter names; a unit test
//! keeps `ui/src/lib/bindings/core-codes.json` equal to it, and the UI's tests check that both
//! languages have a text for each code, using exactly those parameters.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Map, Value};

/// A text's parameters, by name.
pub type Params = Map<String, Value>;

/// Something worded for people by a stable code and named parameters.
pub trait Coded: fmt::Display {
    /// The stable code (snake_case), e.g. `weak_secret`.
    fn code(&self) -> &'static str;
    /// The parameters the text names (never a secret).
    fn params(&self) -> Params;
}

/// Serialises a [`Coded`] value as `{"code": …, "params": {…}}`.
pub fn serialize<T: Coded + ?Sized, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct("Coded", 2)?;
    st.serialize_field("code", value.code())?;
    st.serialize_field("params", &value.params())?;
    st.end()
}

/// Builds [`Params`] from `(name, value)` pairs.
pub(crate) fn params<const N: usize>(pairs: [(&str, Value); N]) -> Params {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Every code the core produces, with the names of its parameters (sorted). Built from one
/// sample of each variant ([`crate::uri::Warning::samples`],
/// [`crate::import::SkipReason::samples`], [`crate::Error::samples`],
/// [`crate::import::InteropError::samples`]; a test beside each fails to compile when a variant
/// is added without being matched).
pub fn catalogue() -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for (code, params) in all_samples() {
        let mut names: Vec<String> = params.keys().cloned().collect();
        names.sort();
        out.insert(code, names);
    }
    out
}

/// `(code, params)` of every sample: warnings, skip reasons, domain and import errors.
fn all_samples() -> Vec<(&'static str, Params)> {
    fn of<T: Coded>(items: Vec<T>) -> Vec<(&'static str, Params)> {
        items.iter().map(|t| (t.code(), t.params())).collect()
    }
    let mut out = of(crate::uri::Warning::samples());
    out.extend(of(crate::import::SkipReason::samples()));
    out.extend(of(crate::Error::samples()));
    out.extend(of(crate::import::InteropError::samples()));
    out
}

impl Serialize for crate::uri::Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self, s)
    }
}

impl Serialize for crate::import::SkipReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self, s)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn codes_file() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings/core-codes.json")
    }

    fn render() -> String {
        let mut text = serde_json::to_string_pretty(&catalogue()).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The UI's list of codes is this crate's. `TESSERA_WRITE_BINDINGS=1 cargo test -p
    /// tessera-core notice` rewrites it (as the desktop crate's bindings test does its files).
    #[test]
    fn the_ui_code_list_is_current() {
        let text = render();
        if std::env::var_os("TESSERA_WRITE_BINDINGS").is_some() {
            std::fs::write(codes_file(), &text).unwrap();
        }
        let committed = std::fs::read_to_string(codes_file()).unwrap_or_default();
        assert!(
            committed == text,
            "ui/src/lib/bindings/core-codes.json is out of date: run \
             TESSERA_WRITE_BINDINGS=1 cargo test -p tessera-core notice and commit"
        );
    }

    #[test]
    fn codes_are_unique_snake_case_and_serialise_with_their_params() {
        let warnings = crate::uri::Warning::samples();
        let skips = crate::import::SkipReason::samples();
        let values: Vec<(&'static str, Value)> = warnings
            .iter()
            .map(|w| (w.code(), serde_json::to_value(w).unwrap()))
            .chain(
                skips
                    .iter()
                    .map(|s| (s.code(), serde_json::to_value(s).unwrap())),
            )
            .collect();
        for (code, v) in values {
            assert_eq!(v["code"], code);
            assert!(v["params"].is_object(), "{v}");
        }
        // Codes are unique but for `Domain`, which is its inner error's.
        let mut seen = std::collections::HashMap::new();
        let samples = all_samples();
        for (code, params) in &samples {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            let names: Vec<&String> = params.keys().collect();
            if let Some(before) = seen.insert(*code, names.clone()) {
                assert_eq!(before, names, "{code} has two sets of parameters");
            }
        }
        assert_eq!(samples.len(), seen.len() + 1, "only Domain repeats a code");
        let v = serde_json::to_value(crate::uri::Warning::WeakSecret { bits: 80 }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": "weak_secret", "params": {"bits": 80}})
        );
        assert_eq!(catalogue()["weak_secret"], vec!["bits".to_owned()]);
    }
}
