//! Google Authenticator `otpauth-migration://` payloads (being built).
