//! JSON parsing for untrusted exports: a depth check before parsing, typed errors after it
//! (truncated, trailing garbage, malformed), and messages that never echo the content.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::{Format, InteropError, Result, MAX_JSON_DEPTH};

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`], scanning without parsing (so a
/// pathological file costs one pass and no recursion).
pub(crate) fn check_depth(bytes: &[u8]) -> Result<()> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(InteropError::TooDeep {
                        max: MAX_JSON_DEPTH,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses one JSON value of type `T` from `bytes`, refusing trailing non-whitespace.
pub(crate) fn parse<T: DeserializeOwned>(format: Format, bytes: &[u8]) -> Result<T> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    check_depth(bytes)?;
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    let value = match stream.next() {
        None => {
            return Err(InteropError::Truncated {
                what: "the file is empty".into(),
            })
        }
        Some(Err(e)) => return Err(classify(format, &e)),
        Some(Ok(v)) => v,
    };
    let offset = stream.byte_offset();
    let rest = bytes.get(offset..).unwrap_or_default();
    if rest.iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(InteropError::TrailingGarbage { offset });
    }
    Ok(value)
}

/// Converts an already parsed value into `T` (for formats detected from a `Value`).
pub(crate) fn from_value<T: DeserializeOwned>(
    format: Format,
    value: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(value).map_err(|e| classify(format, &e))
}

/// A serde_json error as ours. serde_json's data errors can quote a value ("invalid type:
/// string \"JBSW…\""), which may be a secret: only "missing field" messages, which quote a
/// field name, are passed on.
pub(crate) fn classify(format: Format, e: &serde_json::Error) -> InteropError {
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Eof => InteropError::Truncated {
            what: format!("the JSON ends early ({at})"),
        },
        Category::Syntax => InteropError::malformed(format, format!("JSON syntax error at {at}")),
        Category::Data => {
            let msg = e.to_string();
            let reason = if msg.starts_with("missing field") {
                msg
            } else {
                format!("unexpected value or type at {at}")
            };
            InteropError::malformed(format, reason)
        }
        Category::Io => InteropError::malformed(format, "read error"),
    }
}
