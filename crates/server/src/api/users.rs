//! `/api/v2/users`: create, list (paged), get, update, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{double_option, JsonBody, Paging, QueryParams};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::model::{NewUser, User, UserPatch};
use crate::{password, AppState};

/// Body of `POST /api/v2/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    organizations: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Body of `PATCH /api/v2/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    username: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    phone: Option<Option<String>>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    organizations: Option<Vec<String>>,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    mfa_prompt_skipped: Option<bool>,
    /// `en`, `ja`, or null for the browser's language.
    #[serde(default, deserialize_with = "double_option")]
    locale: Option<Option<String>>,
    /// Lock (`true`: the user's sessions, tokens and pending challenges end at once) or
    /// unlock the account.
    #[serde(default)]
    blocked: Option<bool>,
}

/// A language the pages and messages speak (`en`, `ja`).
pub fn check_locale(l: &str) -> Result<String> {
    match crate::i18n::Locale::parse(l) {
        Some(loc) if l.len() <= 16 => Ok(loc.tag().to_owned()),
        _ => Err(Error::InvalidRequest(
            "`locale`: must be one of en, ja (or null)".into(),
        )),
    }
}

/// A page of users.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserPage {
    /// The users.
    pub users: Vec<User>,
    /// All users.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

/// At most 50 groups, each 1–64 characters without control characters; sorted, duplicates
/// dropped.
fn check_groups(mut groups: Vec<String>) -> Result<Vec<String>> {
    if groups.len() > 50
        || groups
            .iter()
            .any(|g| g.is_empty() || g.chars().count() > 64 || g.chars().any(char::is_control))
    {
        return Err(Error::InvalidRequest(
            "`groups`: at most 50 names of 1–64 printable characters".into(),
        ));
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// The checks of `POST /api/v2/users` on a new user's fields (the command line's user
/// creation uses them too).
pub fn check_new_user(user: &NewUser) -> Result<()> {
    check_username(&user.username)?;
    if let Some(e) = &user.email {
        check_email(e)?;
    }
    if let Some(p) = &user.phone {
        check_phone(p)?;
    }
    check_groups(user.groups.clone()).map(drop)
}

pub(crate) fn check_username(u: &str) -> Result<()> {
    if u.is_empty() || u.chars().count() > 128 || u.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "`username` must be 1–128 printable characters".into(),
        ));
    }
    Ok(())
}

pub(crate) fn check_email(e: &str) -> Result<()> {
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "`email` is not an email address".into(),
        ))
    }
}

pub(crate) fn check_phone(p: &str) -> Result<()> {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let ok = (5..=20).contains(&digits)
        && p.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "`phone` is not a phone number".into(),
        ))
    }
}

pub fn check_password(p: &str) -> Result<()> {
    // NIST SP 800-63B: at least 8 characters, allow long passphrases.
    let n = p.chars().count();
    if !(8..=256).contains(&n) {
        return Err(Error::InvalidRequest(
            "`password` must be 8–256 characters".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn hash_password(pw: String) -> Result<String> {
    let pw = zeroize::Zeroizing::new(pw);
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// `POST /api/v2/users` (create:users) → 201 user.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<User>)> {
    caller.management("create:users")?;
    check_username(&body.username)?;
    if let Some(e) = &body.email {
        check_email(e)?;
    }
    if let Some(p) = &body.phone {
        check_phone(p)?;
    }
    let password_hash = match body.password {
        Some(pw) => {
            check_password(&pw)?;
            Some(hash_password(pw).await?)
        }
        None => None,
    };
    let new = NewUser {
        username: body.username,
        email: body.email,
        phone: body.phone,
        password_hash,
        organizations: body.organizations,
        groups: check_groups(body.groups)?,
    };
    let now = state.now();
    let user = state.db(move |s| s.create_user(new, now)).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Query of `GET /api/v2/users`: paging and an optional search text.
#[derive(Debug, Deserialize)]
pub struct UserQuery {
    /// 1-based page.
    #[serde(default = "one")]
    page: u32,
    /// Items per page, 1–100.
    #[serde(default = "fifty")]
    per_page: u32,
    /// Only users whose user name, email or phone contains this (or whose id it is).
    #[serde(default)]
    q: Option<String>,
}

fn one() -> u32 {
    1
}

fn fifty() -> u32 {
    50
}

/// `GET /api/v2/users?page=&per_page=&q=` (read:users); `total` counts the matches.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<UserQuery>,
) -> Result<Json<UserPage>> {
    caller.management("read:users")?;
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
    };
    paging.check()?;
    let (page, per_page) = (paging.page, paging.per_page);
    let text = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if text.as_ref().is_some_and(|q| q.chars().count() > 128) {
        return Err(Error::InvalidRequest("`q`: at most 128 characters".into()));
    }
    let (users, total) = state
        .db(move |s| match &text {
            Some(q) => s.search_users(q, page, per_page),
            None => s.list_users(page, per_page),
        })
        .await?;
    Ok(Json(UserPage {
        users,
        total,
        page,
        per_page,
    }))
}

/// `GET /api/v2/users/{id}` (read:users).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>> {
    caller.management("read:users")?;
    Ok(Json(crate::factors::user(&state, &id).await?))
}

/// `PATCH /api/v2/users/{id}` (update:users).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<User>> {
    caller.management("update:users")?;
    // From the console, an administrator cannot lock themselves out (their session would end).
    if body.blocked == Some(true) && caller.0.name == format!("console:{id}") {
        return Err(Error::Conflict(
            "you cannot lock your own account from the console".into(),
        ));
    }
    if let Some(u) = &body.username {
        check_username(u)?;
    }
    if let Some(Some(e)) = &body.email {
        check_email(e)?;
    }
    if let Some(Some(p)) = &body.phone {
        check_phone(p)?;
    }
    let password_hash = match body.password {
        Some(pw) => {
            check_password(&pw)?;
            Some(hash_password(pw).await?)
        }
        None => None,
    };
    let patch = UserPatch {
        username: body.username,
        email: body.email,
        phone: body.phone,
        password_hash,
        organizations: body.organizations,
        groups: body.groups.map(check_groups).transpose()?,
        mfa_prompt_skipped: body.mfa_prompt_skipped,
        locale: match body.locale {
            Some(Some(l)) => Some(Some(check_locale(&l)?)),
            other => other,
        },
        blocked: body.blocked,
    };
    let now = state.now();
    let user = state.db(move |s| s.update_user(&id, patch, now)).await?;
    user.map(Json).ok_or(Error::NotFound("user"))
}

/// `DELETE /api/v2/users/{id}` (delete:users) → 204.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.management("delete:users")?;
    let now = state.now();
    if state.db(move |s| s.delete_user(&id, now)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("user"))
    }
}
