//! [`crate::store::Store`] on PostgreSQL.

use std::sync::Arc;

use super::Pg;
use crate::config::LockoutConfig;
use crate::error::{Error, Result};
use crate::model::{
    AuditEvent, Authenticator, Factor, FailureRow, NewUser, Organization, TokenRecord, User,
    UserPatch, VerifyOutcome,
};
use crate::store::{AuditFilter, Done, NewOtp, OnSuccess, OtpCheck, Store, StoreStatus};

fn not_yet() -> Error {
    Error::Internal("PostgreSQL store: not implemented yet".into())
}

/// The server's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pg: Arc<Pg>,
}

impl PgStore {
    /// Over a connected (and migrated) pool.
    pub fn new(pg: Arc<Pg>) -> Self {
        PgStore { pg }
    }

    /// The pool.
    pub fn pg(&self) -> &Arc<Pg> {
        &self.pg
    }
}

#[allow(unused_variables)]
impl Store for PgStore {
    fn reseal(&self, reseal: crate::store::Reseal) -> Result<u64> {
        Err(not_yet())
    }

    fn status(&self) -> Result<StoreStatus> {
        Err(not_yet())
    }

    fn set_meta_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        Err(not_yet())
    }

    fn create_user(&self, user: NewUser, now: u64) -> Result<User> {
        Err(not_yet())
    }

    fn list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
        Err(not_yet())
    }

    fn get_user(&self, id: &str) -> Result<Option<User>> {
        Err(not_yet())
    }

    fn find_user_by_username(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        Err(not_yet())
    }

    fn update_user(&self, id: &str, patch: UserPatch, now: u64) -> Result<Option<User>> {
        Err(not_yet())
    }

    fn delete_user(&self, id: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn create_org(&self, name: &str, require_mfa: bool) -> Result<Organization> {
        Err(not_yet())
    }

    fn list_orgs(&self) -> Result<Vec<Organization>> {
        Err(not_yet())
    }

    fn update_org(
        &self,
        id: &str,
        name: Option<String>,
        require_mfa: Option<bool>,
    ) -> Result<Option<Organization>> {
        Err(not_yet())
    }

    fn org_requires_mfa(&self, user_id: &str) -> Result<bool> {
        Err(not_yet())
    }

    fn insert_token(&self, token: TokenRecord, hash: [u8; 32]) -> Result<()> {
        Err(not_yet())
    }

    fn find_token(&self, hash: [u8; 32]) -> Result<Option<TokenRecord>> {
        Err(not_yet())
    }

    fn list_management_tokens(&self) -> Result<Vec<TokenRecord>> {
        Err(not_yet())
    }

    fn revoke_token(&self, id: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn list_authenticators(&self, user_id: &str) -> Result<Vec<Authenticator>> {
        Err(not_yet())
    }

    fn create_otp(&self, new: NewOtp, now: u64) -> Result<()> {
        Err(not_yet())
    }

    fn create_authenticator(&self, authenticator: Authenticator, now: u64) -> Result<()> {
        Err(not_yet())
    }

    fn delete_authenticator(&self, user_id: &str, id: &str, now: u64) -> Result<Vec<String>> {
        Err(not_yet())
    }

    fn delete_all_authenticators(&self, user_id: &str, now: u64) -> Result<usize> {
        Err(not_yet())
    }

    fn replace_recovery_codes(
        &self,
        user_id: &str,
        new_id: String,
        hashes: Vec<[u8; 32]>,
        now: u64,
    ) -> Result<String> {
        Err(not_yet())
    }

    fn verify_otp(
        &self,
        user_id: &str,
        check: OtpCheck,
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
        done: Done<VerifyOutcome>,
    ) {
        done(Err(not_yet()));
    }

    fn verify_recovery_code(
        &self,
        user_id: &str,
        hash: [u8; 32],
        replacement: (String, Vec<[u8; 32]>, Vec<String>),
        policy: LockoutConfig,
        on_success: OnSuccess,
        now: u64,
    ) -> Result<VerifyOutcome> {
        Err(not_yet())
    }

    fn reserve_attempt(
        &self,
        user_id: &str,
        factor: Factor,
        policy: LockoutConfig,
        now: u64,
    ) -> Result<bool> {
        Err(not_yet())
    }

    fn reset_failures(&self, user_id: &str, factor: Factor) -> Result<()> {
        Err(not_yet())
    }

    fn failures(&self, user_id: &str) -> Result<Vec<(Factor, FailureRow)>> {
        Err(not_yet())
    }

    fn unlock(&self, user_id: &str, now: u64) -> Result<bool> {
        Err(not_yet())
    }

    fn audit(
        &self,
        user_id: Option<&str>,
        kind: &str,
        authenticator_id: Option<&str>,
        detail: &str,
        now: u64,
    ) -> Result<()> {
        Err(not_yet())
    }

    fn list_audit(
        &self,
        filter: AuditFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<AuditEvent>, u64)> {
        Err(not_yet())
    }
}
