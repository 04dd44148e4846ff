//! Users, organizations, memberships and the meta table.

use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::Row;

use super::{audit_tx, conflict, int, page_bounds, uint};
use crate::error::{Error, Result};
use crate::model::{lines_from_column, lines_to_column, NewUser, Organization, User, UserPatch};

const USERNAME_TAKEN: &str = "`username` is already taken";
const ORG_NAME_TAKEN: &str = "`name` is already taken";

/// A user's columns with their organizations (byte order, as SQLite sorts them), so one
/// statement reads a user whole.
const USER_SELECT: &str = "SELECT u.id, u.username, u.email, u.phone, u.password_hash,
       u.mfa_prompt_skipped, u.created_at, u.updated_at, u.user_groups, u.sign_ins,
       u.last_sign_in_at, u.locale, u.blocked, u.blocked_at,
       ARRAY(SELECT m.org_id FROM memberships m WHERE m.user_id = u.id
             ORDER BY m.org_id COLLATE \"C\") AS orgs
  FROM users u";

fn user_from_row(r: &Row) -> Result<(User, Option<String>)> {
    let hash: Option<String> = r.try_get("password_hash")?;
    Ok((
        User {
            user_id: r.try_get("id")?,
            username: r.try_get("username")?,
            email: r.try_get("email")?,
            phone: r.try_get("phone")?,
            organizations: r.try_get("orgs")?,
            groups: lines_from_column(r.try_get("user_groups")?),
            mfa_prompt_skipped: r.try_get("mfa_prompt_skipped")?,
            has_password: hash.is_some(),
            locale: r.try_get("locale")?,
            sign_ins: uint(r.try_get("sign_ins")?),
            last_sign_in_at: r.try_get::<_, Option<i64>>("last_sign_in_at")?.map(uint),
            blocked: r.try_get("blocked")?,
            blocked_at: r.try_get::<_, Option<i64>>("blocked_at")?.map(uint),
            created_at: uint(r.try_get("created_at")?),
            updated_at: uint(r.try_get("updated_at")?),
        },
        hash,
    ))
}

fn org_from_row(r: &Row) -> Result<Organization> {
    Ok(Organization {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        require_mfa: r.try_get(2)?,
    })
}

/// A user and password hash by id.
pub(super) async fn get_user<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<(User, Option<String>)>> {
    let st = c
        .prepare_cached(&format!("{USER_SELECT} WHERE u.id = $1"))
        .await?;
    c.query_opt(&st, &[&id])
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

pub(super) async fn find_by_username(
    c: &Client,
    username: &str,
) -> Result<Option<(User, Option<String>)>> {
    let st = c
        .prepare_cached(&format!("{USER_SELECT} WHERE u.username = $1"))
        .await?;
    c.query_opt(&st, &[&username])
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

pub(super) async fn list_users(c: &Client, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let page_st = c
        .prepare_cached(&format!(
            "{USER_SELECT} ORDER BY u.created_at, u.id COLLATE \"C\" LIMIT $1 OFFSET $2"
        ))
        .await?;
    let count_st = c.prepare_cached("SELECT COUNT(*) FROM users").await?;
    let (rows, total) = futures_util::future::try_join(
        c.query(&page_st, &[&limit, &offset]),
        c.query_one(&count_st, &[]),
    )
    .await?;
    let users = rows
        .iter()
        .map(|r| user_from_row(r).map(|(u, _)| u))
        .collect::<Result<Vec<_>>>()?;
    Ok((users, uint(total.try_get(0)?)))
}

/// Matches of a user search (see the trait).
const SEARCH_WHERE: &str = "lower(u.username) LIKE $1 ESCAPE '!' \
     OR lower(COALESCE(u.email, '')) LIKE $1 ESCAPE '!' \
     OR lower(COALESCE(u.phone, '')) LIKE $1 ESCAPE '!' OR u.id = $2";

pub(super) async fn search_users(
    c: &Client,
    text: &str,
    page: u32,
    per_page: u32,
) -> Result<(Vec<User>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let pattern = crate::store::like_pattern(text);
    let page_st = c
        .prepare_cached(&format!(
            "{USER_SELECT} WHERE {SEARCH_WHERE} ORDER BY u.created_at, u.id COLLATE \"C\" LIMIT $3 OFFSET $4"
        ))
        .await?;
    let count_st = c
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM users u WHERE {SEARCH_WHERE}"
        ))
        .await?;
    let (rows, total) = futures_util::future::try_join(
        c.query(&page_st, &[&pattern, &text, &limit, &offset]),
        c.query_one(&count_st, &[&pattern, &text]),
    )
    .await?;
    let users = rows
        .iter()
        .map(|r| user_from_row(r).map(|(u, _)| u))
        .collect::<Result<Vec<_>>>()?;
    Ok((users, uint(total.try_get(0)?)))
}

/// Replaces a user's memberships; `NotFound` for an unknown organization.
async fn set_memberships(tx: &Transaction<'_>, user_id: &str, orgs: &[String]) -> Result<()> {
    tx.execute("DELETE FROM memberships WHERE user_id = $1", &[&user_id])
        .await?;
    if orgs.is_empty() {
        return Ok(());
    }
    let known: i64 = tx
        .query_one(
            "SELECT COUNT(DISTINCT id) FROM organizations WHERE id = ANY($1)",
            &[&orgs],
        )
        .await?
        .try_get(0)?;
    let mut wanted: Vec<&String> = orgs.iter().collect();
    wanted.sort();
    wanted.dedup();
    if usize::try_from(known).ok() != Some(wanted.len()) {
        return Err(Error::NotFound("organization"));
    }
    tx.execute(
        "INSERT INTO memberships(user_id, org_id) SELECT $1, unnest($2::text[])
         ON CONFLICT DO NOTHING",
        &[&user_id, &orgs],
    )
    .await?;
    Ok(())
}

pub(super) async fn create_user(
    c: &mut Client,
    id: String,
    user: NewUser,
    now: u64,
) -> Result<User> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO users(id, username, email, phone, password_hash, created_at, updated_at,
                           user_groups)
         VALUES($1, $2, $3, $4, $5, $6, $6, $7)",
        &[
            &id,
            &user.username,
            &user.email,
            &user.phone,
            &user.password_hash,
            &int(now),
            &lines_to_column(&user.groups),
        ],
    )
    .await
    .map_err(|e| conflict(e, USERNAME_TAKEN))?;
    set_memberships(&tx, &id, &user.organizations).await?;
    if user.email.is_some() {
        let email = user.email.as_deref();
        super::oob::sync_contact(&tx, &id, crate::oob::Contact::Email, email, now).await?;
    }
    if user.phone.is_some() {
        let phone = user.phone.as_deref();
        super::oob::sync_contact(&tx, &id, crate::oob::Contact::Phone, phone, now).await?;
    }
    let created = get_user(&tx, &id)
        .await?
        .map(|(u, _)| u)
        .ok_or(Error::NotFound("user"))?;
    tx.commit().await?;
    Ok(created)
}

pub(super) async fn update_user(
    c: &mut Client,
    id: &str,
    patch: UserPatch,
    now: u64,
) -> Result<Option<User>> {
    let tx = c.transaction().await?;
    if !super::lock_user(&tx, id).await? {
        return Ok(None);
    }
    if let Some(u) = &patch.username {
        tx.execute("UPDATE users SET username = $2 WHERE id = $1", &[&id, u])
            .await
            .map_err(|e| conflict(e, USERNAME_TAKEN))?;
    }
    if let Some(e) = &patch.email {
        tx.execute("UPDATE users SET email = $2 WHERE id = $1", &[&id, e])
            .await?;
        super::oob::sync_contact(&tx, id, crate::oob::Contact::Email, e.as_deref(), now).await?;
    }
    if let Some(p) = &patch.phone {
        tx.execute("UPDATE users SET phone = $2 WHERE id = $1", &[&id, p])
            .await?;
        super::oob::sync_contact(&tx, id, crate::oob::Contact::Phone, p.as_deref(), now).await?;
    }
    if let Some(h) = &patch.password_hash {
        tx.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&id, h],
        )
        .await?;
    }
    if let Some(s) = patch.mfa_prompt_skipped {
        tx.execute(
            "UPDATE users SET mfa_prompt_skipped = $2 WHERE id = $1",
            &[&id, &s],
        )
        .await?;
        if !s {
            audit_tx(&tx, now, Some(id), "mfa_prompt_reset", None, "").await?;
        }
    }
    if let Some(l) = &patch.locale {
        tx.execute("UPDATE users SET locale = $2 WHERE id = $1", &[&id, l])
            .await?;
    }
    if let Some(b) = patch.blocked {
        set_blocked(&tx, id, b, now).await?;
    }
    if let Some(orgs) = &patch.organizations {
        set_memberships(&tx, id, orgs).await?;
    }
    if let Some(groups) = &patch.groups {
        tx.execute(
            "UPDATE users SET user_groups = $2 WHERE id = $1",
            &[&id, &lines_to_column(groups)],
        )
        .await?;
    }
    tx.execute(
        "UPDATE users SET updated_at = $2 WHERE id = $1",
        &[&id, &int(now)],
    )
    .await?;
    let user = get_user(&tx, id).await?.map(|(u, _)| u);
    tx.commit().await?;
    Ok(user)
}

/// Locks or unlocks a user (a no-op when already so). Locking ends, in the caller's
/// transaction, everything the user holds: live sessions, tokens, unredeemed authorization
/// codes, unused codes sent by email/SMS/voice, passkey ceremonies and pending pushes.
async fn set_blocked(tx: &Transaction<'_>, id: &str, blocked: bool, now: u64) -> Result<()> {
    let at = blocked.then_some(int(now));
    let n = tx
        .execute(
            "UPDATE users SET blocked = $2, blocked_at = $3 WHERE id = $1 AND blocked <> $2",
            &[&id, &blocked, &at],
        )
        .await?;
    if n == 0 {
        return Ok(());
    }
    if !blocked {
        audit_tx(tx, now, Some(id), "user.unblocked", None, "").await?;
        return Ok(());
    }
    let now_i = int(now);
    let sessions = tx
        .execute(
            "UPDATE sessions SET revoked_at = $2
              WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
            &[&id, &now_i],
        )
        .await?;
    let tokens = tx
        .execute(
            "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&id, &now_i],
        )
        .await?;
    tx.execute(
        "DELETE FROM oidc_codes WHERE user_id = $1 AND used_at IS NULL",
        &[&id],
    )
    .await?;
    tx.execute(
        "UPDATE oob_codes SET voided = TRUE WHERE user_id = $1 AND used_at IS NULL AND NOT voided",
        &[&id],
    )
    .await?;
    tx.execute("DELETE FROM passkey_ceremonies WHERE user_id = $1", &[&id])
        .await?;
    let pushes = tx
        .execute(
            "UPDATE device_push SET state = 'denied', reason = 'user_blocked', decided_at = $2
              WHERE user_id = $1 AND state = 'pending'",
            &[&id, &now_i],
        )
        .await?;
    audit_tx(
        tx,
        now,
        Some(id),
        "user.blocked",
        None,
        &format!("sessions={sessions} tokens={tokens} pushes={pushes}"),
    )
    .await?;
    Ok(())
}

pub(super) async fn delete_user(c: &mut Client, id: &str, now: u64) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx
        .execute("DELETE FROM users WHERE id = $1", &[&id])
        .await?;
    if n > 0 {
        audit_tx(&tx, now, Some(id), "user_delete", None, "").await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn create_org(c: &Client, org: Organization) -> Result<Organization> {
    c.execute(
        "INSERT INTO organizations(id, name, require_mfa) VALUES($1, $2, $3)",
        &[&org.id, &org.name, &org.require_mfa],
    )
    .await
    .map_err(|e| conflict(e, ORG_NAME_TAKEN))?;
    Ok(org)
}

pub(super) async fn list_orgs(c: &Client) -> Result<Vec<Organization>> {
    let st = c
        .prepare_cached(
            "SELECT id, name, require_mfa FROM organizations ORDER BY name COLLATE \"C\"",
        )
        .await?;
    c.query(&st, &[]).await?.iter().map(org_from_row).collect()
}

pub(super) async fn update_org(
    c: &mut Client,
    id: &str,
    name: Option<String>,
    require_mfa: Option<bool>,
) -> Result<Option<Organization>> {
    let tx = c.transaction().await?;
    if let Some(n) = &name {
        tx.execute(
            "UPDATE organizations SET name = $2 WHERE id = $1",
            &[&id, n],
        )
        .await
        .map_err(|e| conflict(e, ORG_NAME_TAKEN))?;
    }
    if let Some(r) = require_mfa {
        tx.execute(
            "UPDATE organizations SET require_mfa = $2 WHERE id = $1",
            &[&id, &r],
        )
        .await?;
    }
    let org = tx
        .query_opt(
            "SELECT id, name, require_mfa FROM organizations WHERE id = $1",
            &[&id],
        )
        .await?
        .as_ref()
        .map(org_from_row)
        .transpose()?;
    tx.commit().await?;
    Ok(org)
}

pub(super) async fn org_requires_mfa(c: &Client, user_id: &str) -> Result<bool> {
    let st = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM memberships m JOIN organizations o ON o.id = m.org_id
             WHERE m.user_id = $1 AND o.require_mfa)",
        )
        .await?;
    Ok(c.query_one(&st, &[&user_id]).await?.try_get(0)?)
}

pub(super) async fn set_meta_if_absent(c: &Client, key: &str, value: &str) -> Result<bool> {
    let n = c
        .execute(
            "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT DO NOTHING",
            &[&key, &value],
        )
        .await?;
    Ok(n == 1)
}
