//! The Tauri commands: adapters that take the UI's arguments, call one [`Desktop`] method and
//! return its result (errors as `{code, message}`). The contract is docs/desktop.md ("The IPC contract").
//!
//! Every command is `async`, so none runs on the UI thread; the slow ones (Argon2id unlock,
//! screen capture, import with a KDF) also move to a blocking thread.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::{AppHandle, Emitter, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::app::Desktop;
use crate::error::{Error, Result};
use crate::wire::{
    events, AccountEdit, AccountList, AccountView, AddResult, AppStatus, CopyResult,
    EnrollmentView, ExportFormatInfo, ExportResult, HistoryEntry, ImportFormatInfo, ImportPreview,
    ManualAccount, PushDecision, PushView, QrLoginView, ScanResult, Settings,
};

type D<'a> = State<'a, Arc<Desktop>>;

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a background task failed: {e}")))?
}

#[tauri::command(rename_all = "snake_case")]
pub async fn status(d: D<'_>) -> Result<AppStatus> {
    Ok(d.status())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_vault(d: D<'_>, passphrase: Option<String>) -> Result<AppStatus> {
    let d = d.inner().clone();
    blocking(move || d.create_vault(passphrase)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unlock(d: D<'_>, passphrase: Option<String>) -> Result<AppStatus> {
    let d = d.inner().clone();
    blocking(move || d.unlock(passphrase)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn lock(d: D<'_>) -> Result<AppStatus> {
    Ok(d.lock())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn activity(d: D<'_>) -> Result<()> {
    d.touch();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    d: D<'_>,
    settings: Settings,
) -> Result<AppStatus> {
    let status = d.set_settings(settings)?;
    // The tray menu is the shell's own text: it follows a language change at once.
    crate::relabel_tray(&app, status.locale);
    Ok(status)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_accounts(d: D<'_>) -> Result<AccountList> {
    d.list_accounts()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_uri(d: D<'_>, uri: String) -> Result<AddResult> {
    d.add_uri(&uri)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_manual(d: D<'_>, account: ManualAccount) -> Result<AddResult> {
    d.add_manual(account)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn update_account(d: D<'_>, id: i64, edit: AccountEdit) -> Result<()> {
    d.update_account(id, edit)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete_account(d: D<'_>, id: i64) -> Result<()> {
    d.delete_account(id)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn move_account(d: D<'_>, id: i64, delta: i32) -> Result<()> {
    d.move_account(id, delta)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn next_hotp(d: D<'_>, id: i64) -> Result<AccountView> {
    d.next_hotp(id)
}

/// Copies a code and clears the clipboard after the configured time — only if it still holds
/// that code (the user may have copied something else meanwhile).
#[tauri::command(rename_all = "snake_case")]
pub async fn copy_code<R: Runtime>(app: AppHandle<R>, d: D<'_>, id: i64) -> Result<CopyResult> {
    let code = d.code_to_copy(id)?;
    app.clipboard()
        .write_text(code.clone())
        .map_err(|e| Error::Io(format!("cannot write the clipboard: {e}")))?;
    let secs = d.settings().clipboard_clear_secs;
    if secs > 0 {
        let copied = code.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(u64::from(secs))).await;
            let clip = app.clipboard();
            if clip.read_text().ok().as_deref() == Some(copied.as_str()) {
                let _ = clip.clear();
                let _ = app.emit(events::CLIPBOARD_CLEARED, ());
            }
        });
    }
    Ok(CopyResult {
        code,
        clear_after_secs: secs,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn scan_screen(d: D<'_>) -> Result<ScanResult> {
    let (source, texts) = blocking(crate::scan::scan_screens).await?;
    d.scanned(source, texts)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn scan_image_file(d: D<'_>, path: PathBuf) -> Result<ScanResult> {
    let d = d.inner().clone();
    blocking(move || d.scan_image_file(&path)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn scan_image_bytes(d: D<'_>, bytes: Vec<u8>) -> Result<ScanResult> {
    let d = d.inner().clone();
    blocking(move || d.scan_image_bytes("the image".into(), &bytes)).await
}

/// Reads an image (or, failing that, text holding a link) from the clipboard.
#[tauri::command(rename_all = "snake_case")]
pub async fn scan_clipboard<R: Runtime>(app: AppHandle<R>, d: D<'_>) -> Result<ScanResult> {
    let clip = app.clipboard();
    if let Ok(img) = clip.read_image() {
        let (w, h, rgba) = (img.width(), img.height(), img.rgba().to_vec());
        let texts = blocking(move || Ok(tessera_core::qr::decode_rgba(w, h, &rgba)?)).await?;
        return d.scanned("the clipboard image".into(), texts);
    }
    match clip.read_text() {
        Ok(text) if text.contains("://") => {
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(100)
                .map(str::to_owned)
                .collect();
            d.scanned("the clipboard".into(), lines)
        }
        _ => Err(Error::Scan(
            "the clipboard holds no image and no otpauth:// or tessera:// link".into(),
        )),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_scanned(d: D<'_>, handle: String) -> Result<AddResult> {
    d.add_scanned(&handle)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn import_formats() -> Result<Vec<ImportFormatInfo>> {
    Ok(Desktop::import_formats())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_formats() -> Result<Vec<ExportFormatInfo>> {
    Ok(Desktop::export_formats())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn import_preview(
    d: D<'_>,
    path: PathBuf,
    format: Option<String>,
    password: Option<String>,
) -> Result<ImportPreview> {
    let d = d.inner().clone();
    blocking(move || d.import_preview(&path, format.as_deref(), password)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn import_commit(d: D<'_>, keep_duplicates: bool) -> Result<AddResult> {
    d.import_commit(keep_duplicates)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn import_cancel(d: D<'_>) -> Result<()> {
    d.import_cancel()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_accounts(
    d: D<'_>,
    path: PathBuf,
    format: String,
    password: Option<String>,
) -> Result<ExportResult> {
    let d = d.inner().clone();
    blocking(move || d.export_accounts(&path, &format, password)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn enroll(d: D<'_>, link: String, device_name: Option<String>) -> Result<EnrollmentView> {
    d.enroll(&link, device_name).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_enrollments(d: D<'_>) -> Result<Vec<EnrollmentView>> {
    d.list_enrollments()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unenroll(d: D<'_>, device_id: String, local_only: bool) -> Result<()> {
    d.unenroll(&device_id, local_only).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn pending_pushes(d: D<'_>) -> Result<Vec<PushView>> {
    d.pending_pushes()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn answer_push(
    d: D<'_>,
    transaction_id: String,
    decision: PushDecision,
    number: Option<u32>,
) -> Result<String> {
    d.answer_push(&transaction_id, decision, number).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn push_history(d: D<'_>) -> Result<Vec<HistoryEntry>> {
    d.push_history()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn qr_login_details(d: D<'_>, link: String) -> Result<QrLoginView> {
    d.qr_login_details(&link).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn qr_login_answer(d: D<'_>, handle: String, approve: bool) -> Result<()> {
    d.qr_login_answer(&handle, approve).await
}
