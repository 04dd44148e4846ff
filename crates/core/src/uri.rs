//! `otpauth://` Key URIs (being built).
