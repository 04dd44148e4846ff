//! tessera-desktop: the Tauri shell of Tessera's desktop authenticator.
//!
//! It owns the app's state ([`app::Desktop`]: the open vault, settings, policy, scans, pending
//! imports; [`device`]: enrollments, push channels, approvals, QR login), the commands the UI
//! calls ([`commands`], thin adapters) and the desktop integration (windows, tray, single
//! instance, notifications, clipboard). Everything an authenticator computes lives in the
//! crates below it — tessera-core, tessera-vault, tessera-client — and nothing depends on
//! this crate. The IPC contract and the wire types: docs/desktop.md, [`wire`].

pub mod app;
pub mod commands;
pub mod config;
pub mod device;
pub mod error;
pub mod locale;
pub mod policy;
pub mod scan;
pub mod texts;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_notification::NotificationExt;

use app::{Desktop, Notice, Notifier};
use config::Paths;
use texts::Text;
use wire::{events, Locale, PushView};

/// How often the idle lock and push expiry are checked.
const TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Registers the state and every command on a builder (the real app and the mock-runtime
/// tests share this). `desktop_shell` adds the tray icon (not under the mock runtime).
///
/// The state is managed at once (commands work before the event loop starts, as under the
/// mock runtime); events reach the UI from the moment the app is set up.
pub fn register<R: Runtime>(
    builder: tauri::Builder<R>,
    paths: Paths,
    desktop_shell: bool,
) -> tauri::Builder<R> {
    let handle: Arc<OnceLock<AppHandle<R>>> = Arc::new(OnceLock::new());
    let desktop = Arc::new(Desktop::new(
        paths,
        Arc::new(tessera_core::SystemClock),
        notifier(handle.clone()),
    ));
    start_ticker(&desktop);
    builder
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(desktop)
        .setup(move |app| {
            let _ = handle.set(app.handle().clone());
            if desktop_shell {
                if let Err(e) = tray(app) {
                    // No tray host (e.g. GNOME without the AppIndicator extension): the
                    // window has the same actions.
                    tracing::info!("no tray icon: {e}");
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::create_vault,
            commands::unlock,
            commands::lock,
            commands::activity,
            commands::set_settings,
            commands::list_accounts,
            commands::add_uri,
            commands::add_manual,
            commands::update_account,
            commands::delete_account,
            commands::move_account,
            commands::next_hotp,
            commands::copy_code,
            commands::scan_screen,
            commands::scan_image_file,
            commands::scan_image_bytes,
            commands::scan_clipboard,
            commands::add_scanned,
            commands::import_formats,
            commands::export_formats,
            commands::import_preview,
            commands::import_commit,
            commands::import_cancel,
            commands::export_accounts,
            commands::enroll,
            commands::list_enrollments,
            commands::unenroll,
            commands::pending_pushes,
            commands::answer_push,
            commands::push_history,
            commands::qr_login_details,
            commands::qr_login_answer,
        ])
}

/// Checks the idle lock and push expiry every second, for as long as the app lives.
fn start_ticker(desktop: &Arc<Desktop>) {
    let weak = Arc::downgrade(desktop);
    tauri::async_runtime::spawn(async move {
        let mut ticker = tokio::time::interval(TICK);
        loop {
            ticker.tick().await;
            let Some(d) = weak.upgrade() else { break };
            d.tick();
        }
    });
}

/// Turns backend notices into events, approval windows and OS notifications.
fn notifier<R: Runtime>(handle: Arc<OnceLock<AppHandle<R>>>) -> Notifier {
    Arc::new(move |notice| {
        let Some(app) = handle.get() else { return };
        let sent = match &notice {
            Notice::Status(s) => app.emit(events::STATUS, s),
            Notice::Accounts => app.emit(events::ACCOUNTS, ()),
            Notice::Push(p) => {
                show_push(app, p);
                app.emit(events::PUSH, p)
            }
            Notice::PushGone(tx) => app.emit(events::PUSH_GONE, tx),
        };
        if let Err(e) = sent {
            tracing::warn!("could not send an event to the UI: {e}");
        }
    })
}

/// A push: an OS notification, and a focused approval window on top.
fn show_push<R: Runtime>(app: &AppHandle<R>, p: &PushView) {
    static N: AtomicU64 = AtomicU64::new(1);
    let locale = locale_of(app);
    let body = texts::push_body(
        locale,
        &p.application,
        &p.origin,
        p.location.as_deref().unwrap_or(&p.ip),
    );
    if let Err(e) = app
        .notification()
        .builder()
        .title(texts::text(locale, Text::PushTitle))
        .body(body)
        .show()
    {
        tracing::info!("no OS notification ({e}); the approval window still opens");
    }
    let label = format!("approval-{}", N.fetch_add(1, Ordering::Relaxed));
    let url = WebviewUrl::App(format!("index.html#approve={}", p.transaction_id).into());
    let built = WebviewWindowBuilder::new(app, &label, url)
        .title(texts::text(locale, Text::ApprovalWindowTitle))
        .inner_size(420.0, 600.0)
        .resizable(false)
        .always_on_top(true)
        .focused(true)
        .center()
        .build();
    match built {
        Ok(w) => {
            let _ = w.set_focus();
        }
        Err(e) => tracing::warn!("could not open the approval window: {e}"),
    }
}

fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The language the app shows now (English before the state exists).
fn locale_of<R: Runtime>(app: &AppHandle<R>) -> Locale {
    app.try_state::<Arc<Desktop>>()
        .map_or(Locale::En, |d| d.locale())
}

/// The tray menu in `locale`.
fn tray_menu<R: Runtime, M: Manager<R>>(app: &M, locale: Locale) -> tauri::Result<Menu<R>> {
    let item =
        |id: &str, t: Text| MenuItem::with_id(app, id, texts::text(locale, t), true, None::<&str>);
    let show = item("show", Text::TrayShow)?;
    let lock = item("lock", Text::TrayLock)?;
    let quit = item("quit", Text::TrayQuit)?;
    Menu::with_items(app, &[&show, &lock, &quit])
}

/// Rebuilds the tray menu in a new language (no tray: nothing to do).
pub(crate) fn relabel_tray<R: Runtime>(app: &AppHandle<R>, locale: Locale) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match tray_menu(app, locale) {
        Ok(menu) => {
            if let Err(e) = tray.set_menu(Some(menu)) {
                tracing::warn!("could not relabel the tray menu: {e}");
            }
        }
        Err(e) => tracing::warn!("could not build the tray menu: {e}"),
    }
}

const TRAY_ID: &str = "tessera";

fn tray<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    let menu = tray_menu(app, locale_of(app.handle()))?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Tessera")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_main(app),
            "lock" => {
                if let Some(d) = app.try_state::<Arc<Desktop>>() {
                    d.lock();
                }
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Runs the desktop app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tessera-desktop: {e}");
            std::process::exit(2);
        }
    };
    let builder = tauri::Builder::default()
        // First: a second launch focuses the running app instead of opening another vault.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main(app)
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init());
    let result = register(builder, paths, true).run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("tessera-desktop: {e}");
        std::process::exit(1);
    }
}
