//! Typing profiles (signin/typing.rs): one sealed blob per user.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::store::TypingUpdate;

pub(super) fn profile(c: &Connection, user_id: &str) -> Result<Option<Vec<u8>>> {
    Ok(
        c.prepare_cached("SELECT profile_sealed FROM typing_profiles WHERE user_id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?,
    )
}

/// Runs on the writer, inside its transaction: the read and the write cannot interleave with
/// another update.
pub(super) fn update(c: &Connection, user_id: &str, update: TypingUpdate, now: u64) -> Result<()> {
    let exists = c
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .query_row([user_id], |_| Ok(()))
        .optional()?
        .is_some();
    if !exists {
        return Ok(());
    }
    let stored = profile(c, user_id)?;
    let fresh = update(stored.as_deref())?;
    c.prepare_cached(
        "INSERT INTO typing_profiles(user_id, profile_sealed, updated_at) VALUES(?1, ?2, ?3)
         ON CONFLICT(user_id) DO UPDATE SET profile_sealed = excluded.profile_sealed,
           updated_at = excluded.updated_at",
    )?
    .execute(params![user_id, fresh, now])?;
    Ok(())
}

/// Every sealed profile, for the master-key rotation.
pub(super) fn reseal(c: &Connection, reseal: &crate::store::Reseal) -> Result<u64> {
    let rows: Vec<(String, Vec<u8>)> = c
        .prepare("SELECT user_id, profile_sealed FROM typing_profiles")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut n = 0u64;
    for (user_id, sealed) in rows {
        let fresh = reseal(&sealed, &crate::store::typing_profile_context(&user_id))?;
        c.execute(
            "UPDATE typing_profiles SET profile_sealed = ?1 WHERE user_id = ?2",
            params![fresh, user_id],
        )?;
        n += 1;
    }
    Ok(n)
}
