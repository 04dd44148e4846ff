//! tessera-vault: the local encrypted store (being built).
