//! tessera-server: the verification server (being built).
