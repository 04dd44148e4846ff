//! [`crate::device::DeviceStore`] on PostgreSQL.

use std::sync::Arc;

use super::Pg;
use crate::device::error::{DeviceError, Result};
use crate::device::network::NetworkCheck;
use crate::device::store::{
    AuditRecord, DeviceRecord, DeviceStore, EnrollOffer, PushDecision, PushRecord, QrSession,
    QrState,
};

fn not_yet() -> DeviceError {
    DeviceError::Internal("PostgreSQL device store: not implemented yet".into())
}

/// The device factor's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgDeviceStore {
    pg: Arc<Pg>,
}

impl PgDeviceStore {
    /// Over a connected (and migrated) pool.
    pub fn new(pg: Arc<Pg>) -> Self {
        PgDeviceStore { pg }
    }

    /// The pool.
    pub fn pg(&self) -> &Arc<Pg> {
        &self.pg
    }
}

#[allow(unused_variables)]
impl DeviceStore for PgDeviceStore {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Err(not_yet())
    }

    fn meta_set_if_absent(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        Err(not_yet())
    }

    fn insert_offer(&self, offer: &EnrollOffer, code_hash: [u8; 32]) -> Result<()> {
        Err(not_yet())
    }

    fn begin_enrollment(
        &self,
        code_hash: [u8; 32],
        enrollment_id: &str,
        challenge: &str,
        now: u64,
    ) -> Result<Option<EnrollOffer>> {
        Err(not_yet())
    }

    fn find_enrollment(&self, enrollment_id: &str, now: u64) -> Result<Option<EnrollOffer>> {
        Err(not_yet())
    }

    fn finish_enrollment(
        &self,
        enrollment_id: &str,
        device: &DeviceRecord,
        now: u64,
    ) -> Result<bool> {
        Err(not_yet())
    }

    fn device(&self, id: &str) -> Result<Option<DeviceRecord>> {
        Err(not_yet())
    }

    fn devices_of(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        Err(not_yet())
    }

    fn delete_device(&self, id: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn set_last_ip(&self, device_id: &str, ip: &str) -> Result<()> {
        Err(not_yet())
    }

    fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool> {
        Err(not_yet())
    }

    fn insert_push(&self, push: &PushRecord) -> Result<()> {
        Err(not_yet())
    }

    fn count_pushes_since(&self, user_id: &str, since: u64) -> Result<u64> {
        Err(not_yet())
    }

    fn push(&self, transaction_id: &str) -> Result<Option<PushRecord>> {
        Err(not_yet())
    }

    fn pending_pushes(&self, user_id: &str, now: u64) -> Result<Vec<PushRecord>> {
        Err(not_yet())
    }

    fn count_pending_pushes(&self, now: u64) -> Result<u64> {
        Err(not_yet())
    }

    fn decide_push(&self, decision: &PushDecision<'_>) -> Result<bool> {
        Err(not_yet())
    }

    fn synchronous(&self) -> Result<i64> {
        Err(not_yet())
    }

    fn consume_push(&self, transaction_id: &str, user_id: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn paused_until(&self, user_id: &str, now: u64) -> Result<Option<u64>> {
        Err(not_yet())
    }

    fn insert_qr(&self, session: &QrSession) -> Result<()> {
        Err(not_yet())
    }

    fn qr(&self, lsi: &str) -> Result<Option<QrSession>> {
        Err(not_yet())
    }

    fn qr_device_network(
        &self,
        lsi: &str,
        device_id: &str,
        check: &NetworkCheck,
    ) -> Result<Option<NetworkCheck>> {
        Err(not_yet())
    }

    fn decide_qr(
        &self,
        lsi: &str,
        state: QrState,
        user_id: Option<&str>,
        device_id: Option<&str>,
        now: u64,
    ) -> Result<bool> {
        Err(not_yet())
    }

    fn redeem_qr(&self, lsi: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        device_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        Err(not_yet())
    }

    fn audit_log(&self, user_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>> {
        Err(not_yet())
    }
}
