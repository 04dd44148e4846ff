//! Typing profiles (signin/typing.rs): one sealed blob per user.

use deadpool_postgres::{Client, Transaction};

use super::{int, lock_user};
use crate::error::Result;
use crate::store::TypingUpdate;

pub(super) async fn profile(c: &Client, user_id: &str) -> Result<Option<Vec<u8>>> {
    let st = c
        .prepare_cached("SELECT profile_sealed FROM typing_profiles WHERE user_id = $1")
        .await?;
    Ok(c.query_opt(&st, &[&user_id])
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// Under the user's row lock: two sign-ins finishing at once update one after the other.
pub(super) async fn update(
    c: &mut Client,
    user_id: &str,
    update: TypingUpdate,
    now: u64,
) -> Result<()> {
    let tx = c.transaction().await?;
    if !lock_user(&tx, user_id).await? {
        return Ok(());
    }
    let stored: Option<Vec<u8>> = tx
        .query_opt(
            "SELECT profile_sealed FROM typing_profiles WHERE user_id = $1",
            &[&user_id],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let fresh = update(stored.as_deref())?;
    tx.execute(
        "INSERT INTO typing_profiles(user_id, profile_sealed, updated_at) VALUES($1, $2, $3)
         ON CONFLICT(user_id) DO UPDATE SET profile_sealed = excluded.profile_sealed,
           updated_at = excluded.updated_at",
        &[&user_id, &fresh, &int(now)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every sealed profile, inside the master-key rotation's transaction.
pub(super) async fn reseal(tx: &Transaction<'_>, reseal: &crate::store::Reseal) -> Result<u64> {
    let rows = tx
        .query(
            "SELECT user_id, profile_sealed FROM typing_profiles FOR UPDATE",
            &[],
        )
        .await?;
    let mut n = 0u64;
    for r in rows {
        let user_id: String = r.try_get(0)?;
        let sealed: Vec<u8> = r.try_get(1)?;
        let fresh = reseal(&sealed, &crate::store::typing_profile_context(&user_id))?;
        tx.execute(
            "UPDATE typing_profiles SET profile_sealed = $1 WHERE user_id = $2",
            &[&fresh, &user_id],
        )
        .await?;
        n += 1;
    }
    Ok(n)
}
