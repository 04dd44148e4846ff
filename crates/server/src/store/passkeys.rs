//! What the store keeps of passkeys ([`crate::passkey`]): one row per credential beside its
//! authenticator row, and the pending registration ceremonies of the self-service API.

/// A passkey credential as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    /// The authenticator (`passkey|dev_…`).
    pub authenticator_id: String,
    /// Owner.
    pub user_id: String,
    /// The credential id the authenticator chose (unique).
    pub credential_id: Vec<u8>,
    /// The WebAuthn user handle the credential was created for (16 random bytes per user).
    pub user_handle: Vec<u8>,
    /// The credential (public key, flags, counter) as webauthn-rs serialises it, sealed under
    /// the master key with [`credential_context`].
    pub credential_sealed: Vec<u8>,
    /// The last signature counter accepted.
    pub counter: u32,
    /// The authenticator said the credential may be backed up (synced): not device-bound.
    pub backup_eligible: bool,
    /// The authenticator said it is backed up, as of the last use.
    pub backup_state: bool,
    /// The user was verified (PIN, biometric) at registration and at the last use.
    pub user_verified: bool,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last accepted assertion.
    pub last_used_at: Option<u64>,
}

impl std::fmt::Debug for PasskeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRow")
            .field("authenticator_id", &self.authenticator_id)
            .field("user_id", &self.user_id)
            .field("counter", &self.counter)
            .field("backup_eligible", &self.backup_eligible)
            .field("user_verified", &self.user_verified)
            .finish_non_exhaustive()
    }
}

/// What an accepted assertion writes.
#[derive(Debug, Clone)]
pub struct PasskeyUse {
    /// The new signature counter.
    pub counter: u32,
    /// The credential re-sealed with its new counter and flags.
    pub credential_sealed: Vec<u8>,
    /// The backup state the assertion reported.
    pub backup_state: bool,
    /// Whether the assertion verified the user.
    pub user_verified: bool,
    /// Unix seconds.
    pub now: u64,
}

/// A pending ceremony (registration through the self-service API): webauthn-rs's state,
/// bound to a user, stored under the SHA-256 of its id and taken once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// SHA-256 of the ceremony id.
    pub id_hash: [u8; 32],
    /// The user it was started for.
    pub user_id: String,
    /// `registration`.
    pub kind: String,
    /// The state, JSON.
    pub state: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds; refused from then on.
    pub expires_at: u64,
}

/// The sealing context of a passkey credential: bound to its authenticator id.
pub fn credential_context(authenticator_id: &str) -> Vec<u8> {
    format!("tessera-server/passkey/{authenticator_id}").into_bytes()
}
