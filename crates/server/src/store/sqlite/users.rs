//! Users, organizations, memberships and the meta table.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{audit_tx, is_unique_violation, page_bounds};
use crate::error::{Error, Result};
use crate::model::{lines_from_column, lines_to_column, NewUser, Organization, User, UserPatch};

fn user_from_row(conn: &Connection, r: &Row<'_>) -> rusqlite::Result<(User, Option<String>)> {
    let id: String = r.get("id")?;
    let hash: Option<String> = r.get("password_hash")?;
    let organizations = memberships(conn, &id)?;
    Ok((
        User {
            user_id: id,
            username: r.get("username")?,
            email: r.get("email")?,
            phone: r.get("phone")?,
            organizations,
            groups: lines_from_column(&r.get::<_, String>("user_groups")?),
            mfa_prompt_skipped: r.get("mfa_prompt_skipped")?,
            has_password: hash.is_some(),
            locale: r.get("locale")?,
            sign_ins: r.get("sign_ins")?,
            last_sign_in_at: r.get("last_sign_in_at")?,
            blocked: r.get("blocked")?,
            blocked_at: r.get("blocked_at")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        },
        hash,
    ))
}

fn memberships(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT org_id FROM memberships WHERE user_id=?1 ORDER BY org_id")?;
    let rows = st.query_map([user_id], |r| r.get(0))?;
    rows.collect()
}

pub(super) fn get_user_tx(conn: &Connection, id: &str) -> Result<Option<(User, Option<String>)>> {
    let mut st = conn.prepare_cached("SELECT * FROM users WHERE id=?1")?;
    Ok(st.query_row([id], |r| user_from_row(conn, r)).optional()?)
}

fn set_memberships(conn: &Connection, user_id: &str, orgs: &[String]) -> Result<()> {
    conn.execute("DELETE FROM memberships WHERE user_id=?1", [user_id])?;
    for org in orgs {
        let exists: bool = conn
            .query_row("SELECT 1 FROM organizations WHERE id=?1", [org], |_| {
                Ok(true)
            })
            .optional()?
            .unwrap_or(false);
        if !exists {
            return Err(Error::NotFound("organization"));
        }
        conn.execute(
            "INSERT OR IGNORE INTO memberships(user_id, org_id) VALUES(?1, ?2)",
            params![user_id, org],
        )?;
    }
    Ok(())
}

pub(super) fn set_meta_if_absent(c: &Connection, k: &str, v: &str) -> Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES(?1, ?2)",
        params![k, v],
    )? == 1)
}

pub(super) fn create_user(c: &Connection, id: &str, user: NewUser, now: u64) -> Result<User> {
    c.execute(
        "INSERT INTO users(id,username,email,phone,password_hash,created_at,updated_at,user_groups)
         VALUES(?1,?2,?3,?4,?5,?6,?6,?7)",
        params![
            id,
            user.username,
            user.email,
            user.phone,
            user.password_hash,
            now,
            lines_to_column(&user.groups)
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict("`username` is already taken".into())
        } else {
            e.into()
        }
    })?;
    set_memberships(c, id, &user.organizations)?;
    if user.email.is_some() {
        super::oob::sync_contact(
            c,
            id,
            crate::oob::Contact::Email,
            user.email.as_deref(),
            now,
        )?;
    }
    if user.phone.is_some() {
        super::oob::sync_contact(
            c,
            id,
            crate::oob::Contact::Phone,
            user.phone.as_deref(),
            now,
        )?;
    }
    get_user_tx(c, id)?
        .map(|(u, _)| u)
        .ok_or(Error::NotFound("user"))
}

pub(super) fn list_users(c: &Connection, page: u32, per_page: u32) -> Result<(Vec<User>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let total: u64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
    let mut st =
        c.prepare_cached("SELECT * FROM users ORDER BY created_at, id LIMIT ?1 OFFSET ?2")?;
    let users = st
        .query_map(params![limit, offset], |r| {
            user_from_row(c, r).map(|(u, _)| u)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((users, total))
}

/// Matches of a user search (see the trait): user name, email or phone contain the text, or
/// the id is it.
const SEARCH_WHERE: &str = "lower(username) LIKE ?1 ESCAPE '!' OR lower(COALESCE(email, '')) \
     LIKE ?1 ESCAPE '!' OR lower(COALESCE(phone, '')) LIKE ?1 ESCAPE '!' OR id = ?2";

pub(super) fn search_users(
    c: &Connection,
    text: &str,
    page: u32,
    per_page: u32,
) -> Result<(Vec<User>, u64)> {
    let (limit, offset) = page_bounds(page, per_page);
    let pattern = crate::store::like_pattern(text);
    let total: u64 = c.query_row(
        &format!("SELECT COUNT(*) FROM users WHERE {SEARCH_WHERE}"),
        params![pattern, text],
        |r| r.get(0),
    )?;
    let mut st = c.prepare_cached(&format!(
        "SELECT * FROM users WHERE {SEARCH_WHERE} ORDER BY created_at, id LIMIT ?3 OFFSET ?4"
    ))?;
    let users = st
        .query_map(params![pattern, text, limit, offset], |r| {
            user_from_row(c, r).map(|(u, _)| u)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((users, total))
}

pub(super) fn find_by_username(
    c: &Connection,
    username: &str,
) -> Result<Option<(User, Option<String>)>> {
    let mut st = c.prepare_cached("SELECT * FROM users WHERE username=?1")?;
    Ok(st
        .query_row([username], |r| user_from_row(c, r))
        .optional()?)
}

pub(super) fn update_user(
    c: &Connection,
    id: &str,
    patch: UserPatch,
    now: u64,
) -> Result<Option<User>> {
    if get_user_tx(c, id)?.is_none() {
        return Ok(None);
    }
    let conflict = |e: rusqlite::Error| {
        if is_unique_violation(&e) {
            Error::Conflict("`username` is already taken".into())
        } else {
            Error::from(e)
        }
    };
    if let Some(u) = &patch.username {
        c.execute("UPDATE users SET username=?2 WHERE id=?1", params![id, u])
            .map_err(conflict)?;
    }
    if let Some(e) = &patch.email {
        c.execute("UPDATE users SET email=?2 WHERE id=?1", params![id, e])?;
        super::oob::sync_contact(c, id, crate::oob::Contact::Email, e.as_deref(), now)?;
    }
    if let Some(p) = &patch.phone {
        c.execute("UPDATE users SET phone=?2 WHERE id=?1", params![id, p])?;
        super::oob::sync_contact(c, id, crate::oob::Contact::Phone, p.as_deref(), now)?;
    }
    if let Some(h) = &patch.password_hash {
        c.execute(
            "UPDATE users SET password_hash=?2 WHERE id=?1",
            params![id, h],
        )?;
    }
    if let Some(s) = patch.mfa_prompt_skipped {
        c.execute(
            "UPDATE users SET mfa_prompt_skipped=?2 WHERE id=?1",
            params![id, s],
        )?;
        if !s {
            audit_tx(c, now, Some(id), "mfa_prompt_reset", None, "")?;
        }
    }
    if let Some(l) = &patch.locale {
        c.execute("UPDATE users SET locale=?2 WHERE id=?1", params![id, l])?;
    }
    if let Some(b) = patch.blocked {
        set_blocked(c, id, b, now)?;
    }
    if let Some(orgs) = &patch.organizations {
        set_memberships(c, id, orgs)?;
    }
    if let Some(groups) = &patch.groups {
        c.execute(
            "UPDATE users SET user_groups=?2 WHERE id=?1",
            params![id, lines_to_column(groups)],
        )?;
    }
    c.execute(
        "UPDATE users SET updated_at=?2 WHERE id=?1",
        params![id, now],
    )?;
    Ok(get_user_tx(c, id)?.map(|(u, _)| u))
}

/// Locks or unlocks a user (a no-op when already so). Locking ends, in the caller's
/// transaction, everything the user holds: live sessions, tokens, unredeemed authorization
/// codes, unused codes sent by email/SMS/voice, passkey ceremonies and pending pushes.
fn set_blocked(c: &Connection, id: &str, blocked: bool, now: u64) -> Result<()> {
    let n = c.execute(
        "UPDATE users SET blocked=?2, blocked_at=?3 WHERE id=?1 AND blocked<>?2",
        params![id, blocked, blocked.then_some(now)],
    )?;
    if n == 0 {
        return Ok(());
    }
    if !blocked {
        audit_tx(c, now, Some(id), "user.unblocked", None, "")?;
        return Ok(());
    }
    let sessions = c.execute(
        "UPDATE sessions SET revoked_at=?2 WHERE user_id=?1 AND revoked_at IS NULL AND expires_at>?2",
        params![id, now],
    )?;
    let tokens = c.execute(
        "UPDATE tokens SET revoked_at=?2 WHERE user_id=?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    c.execute(
        "DELETE FROM oidc_codes WHERE user_id=?1 AND used_at IS NULL",
        [id],
    )?;
    c.execute(
        "UPDATE oob_codes SET voided=1 WHERE user_id=?1 AND used_at IS NULL AND voided=0",
        [id],
    )?;
    c.execute("DELETE FROM passkey_ceremonies WHERE user_id=?1", [id])?;
    let pushes = c.execute(
        "UPDATE device_push SET state='denied', reason='user_blocked', decided_at=?2
          WHERE user_id=?1 AND state='pending'",
        params![id, now],
    )?;
    audit_tx(
        c,
        now,
        Some(id),
        "user.blocked",
        None,
        &format!("sessions={sessions} tokens={tokens} pushes={pushes}"),
    )?;
    Ok(())
}

pub(super) fn delete_user(c: &Connection, id: &str, now: u64) -> Result<bool> {
    let n = c.execute("DELETE FROM users WHERE id=?1", [id])?;
    if n > 0 {
        audit_tx(c, now, Some(id), "user_delete", None, "")?;
    }
    Ok(n > 0)
}

pub(super) fn create_org(c: &Connection, org: Organization) -> Result<Organization> {
    c.execute(
        "INSERT INTO organizations(id, name, require_mfa) VALUES(?1,?2,?3)",
        params![org.id, org.name, org.require_mfa],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict("`name` is already taken".into())
        } else {
            e.into()
        }
    })?;
    Ok(org)
}

pub(super) fn list_orgs(c: &Connection) -> Result<Vec<Organization>> {
    let mut st =
        c.prepare_cached("SELECT id, name, require_mfa FROM organizations ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok(Organization {
            id: r.get(0)?,
            name: r.get(1)?,
            require_mfa: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn update_org(
    c: &Connection,
    id: &str,
    name: Option<String>,
    require_mfa: Option<bool>,
) -> Result<Option<Organization>> {
    if let Some(n) = &name {
        c.execute(
            "UPDATE organizations SET name=?2 WHERE id=?1",
            params![id, n],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict("`name` is already taken".into())
            } else {
                Error::from(e)
            }
        })?;
    }
    if let Some(r) = require_mfa {
        c.execute(
            "UPDATE organizations SET require_mfa=?2 WHERE id=?1",
            params![id, r],
        )?;
    }
    Ok(c.query_row(
        "SELECT id, name, require_mfa FROM organizations WHERE id=?1",
        [id],
        |r| {
            Ok(Organization {
                id: r.get(0)?,
                name: r.get(1)?,
                require_mfa: r.get(2)?,
            })
        },
    )
    .optional()?)
}

pub(super) fn org_requires_mfa(c: &Connection, user_id: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM memberships m JOIN organizations o ON o.id=m.org_id
         WHERE m.user_id=?1 AND o.require_mfa)",
        [user_id],
        |r| r.get(0),
    )?)
}
