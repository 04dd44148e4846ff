//! Tessera's encrypted backup format (being built).
