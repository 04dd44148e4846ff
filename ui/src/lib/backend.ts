// The typed face of the Rust backend: one function per command of docs/desktop.md, with
// the argument objects spelled exactly as the contract writes them (snake_case), one wrapper per
// event, and the few platform calls the UI needs (dialogs, window, drag and drop).
//
// Components never call `invoke` themselves; they use `backend`, a live binding that tests and the
// demo build replace with the in-memory mock (`setBackend(createMockBackend())`).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AccountEdit } from "./bindings/AccountEdit";
import type { AccountList } from "./bindings/AccountList";
import type { AccountView } from "./bindings/AccountView";
import type { AddResult } from "./bindings/AddResult";
import type { AppStatus } from "./bindings/AppStatus";
import type { CommandError } from "./bindings/CommandError";
import type { CoreText } from "./bindings/CoreText";
import type { CopyResult } from "./bindings/CopyResult";
import type { EnrollmentView } from "./bindings/EnrollmentView";
import type { ExportFormatInfo } from "./bindings/ExportFormatInfo";
import type { ExportResult } from "./bindings/ExportResult";
import type { HistoryEntry } from "./bindings/HistoryEntry";
import type { ImportFormatInfo } from "./bindings/ImportFormatInfo";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { ManualAccount } from "./bindings/ManualAccount";
import type { PushDecision } from "./bindings/PushDecision";
import type { PushView } from "./bindings/PushView";
import type { QrLoginView } from "./bindings/QrLoginView";
import type { ScanResult } from "./bindings/ScanResult";
import type { Settings } from "./bindings/Settings";
import { t } from "./i18n.svelte";

export type { UnlistenFn };

/** Event names, as `src-tauri/src/wire.rs` `events` defines them. */
export const EVENTS = {
  status: "tessera://status",
  accounts: "tessera://accounts",
  push: "tessera://push",
  pushGone: "tessera://push-gone",
  clipboardCleared: "tessera://clipboard-cleared",
} as const;

/** Everything the UI asks of the backend and the platform. */
export interface Backend {
  status(): Promise<AppStatus>;
  createVault(passphrase: string | null): Promise<AppStatus>;
  unlock(passphrase: string | null): Promise<AppStatus>;
  lock(): Promise<AppStatus>;
  activity(): Promise<void>;
  setSettings(settings: Settings): Promise<AppStatus>;
  listAccounts(): Promise<AccountList>;
  addUri(uri: string): Promise<AddResult>;
  addManual(account: ManualAccount): Promise<AddResult>;
  updateAccount(id: number, edit: AccountEdit): Promise<void>;
  deleteAccount(id: number): Promise<void>;
  moveAccount(id: number, delta: number): Promise<void>;
  nextHotp(id: number): Promise<AccountView>;
  copyCode(id: number): Promise<CopyResult>;
  scanScreen(): Promise<ScanResult>;
  scanImageFile(path: string): Promise<ScanResult>;
  scanImageBytes(bytes: number[]): Promise<ScanResult>;
  scanClipboard(): Promise<ScanResult>;
  addScanned(handle: string): Promise<AddResult>;
  importFormats(): Promise<ImportFormatInfo[]>;
  exportFormats(): Promise<ExportFormatInfo[]>;
  importPreview(path: string, format: string | null, password: string | null): Promise<ImportPreview>;
  importCommit(keepDuplicates: boolean): Promise<AddResult>;
  importCancel(): Promise<void>;
  exportAccounts(path: string, format: string, password: string | null): Promise<ExportResult>;
  enroll(link: string, deviceName: string | null): Promise<EnrollmentView>;
  listEnrollments(): Promise<EnrollmentView[]>;
  unenroll(deviceId: string, localOnly: boolean): Promise<void>;
  pendingPushes(): Promise<PushView[]>;
  answerPush(transactionId: string, decision: PushDecision, number: number | null): Promise<string>;
  pushHistory(): Promise<HistoryEntry[]>;
  qrLoginDetails(link: string): Promise<QrLoginView>;
  qrLoginAnswer(handle: string, approve: boolean): Promise<void>;

  onStatus(cb: (status: AppStatus) => void): Promise<UnlistenFn>;
  onAccounts(cb: () => void): Promise<UnlistenFn>;
  onPush(cb: (push: PushView) => void): Promise<UnlistenFn>;
  onPushGone(cb: (transactionId: string) => void): Promise<UnlistenFn>;
  onClipboardCleared(cb: () => void): Promise<UnlistenFn>;

  /** File → open dialog for an image to scan; `null` when cancelled. */
  pickImageFile(): Promise<string | null>;
  /** File → open dialog for an import file; `null` when cancelled. */
  pickImportFile(): Promise<string | null>;
  /** File → save dialog for an export; `null` when cancelled. */
  pickExportPath(defaultName: string, extension: string): Promise<string | null>;
  /** Paths of image files dropped onto the window. */
  onFileDrop(cb: (paths: string[]) => void): Promise<UnlistenFn>;
  /** Close the window this UI runs in (the approval windows close themselves). */
  closeWindow(): Promise<void>;
}

/** Turns whatever a rejected command gave into the contract's `{code, message, detail?}`. */
export function toCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message, detail } = e as { code: unknown; message: unknown; detail?: unknown };
    const out: CommandError = { code: String(code), message: String(message) };
    if (detail && typeof detail === "object" && typeof (detail as { code?: unknown }).code === "string") {
      const d = detail as { code: string; params?: unknown };
      out.detail = { code: d.code, params: d.params && typeof d.params === "object" ? (d.params as CoreText["params"]) : {} };
    }
    return out;
  }
  if (typeof e === "string") return { code: "internal", message: e };
  if (e instanceof Error) return { code: "internal", message: e.message };
  return { code: "internal", message: "Something went wrong." };
}

/** A rejection as an `Error` that is also a `CommandError` (so `catch (e)` can read `e.code`). */
export class BackendError extends Error implements CommandError {
  code: string;
  detail?: CoreText;
  constructor(err: CommandError) {
    super(err.message);
    this.name = "BackendError";
    this.code = err.code;
    if (err.detail) this.detail = err.detail;
  }
}

/** Normalises any thrown value into a `CommandError`. */
export function errorOf(e: unknown): CommandError {
  if (!(e instanceof BackendError)) return toCommandError(e);
  return e.detail ? { code: e.code, message: e.message, detail: e.detail } : { code: e.code, message: e.message };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw new BackendError(toCommandError(e));
  }
}

function on<T>(event: string, cb: (payload: T) => void): Promise<UnlistenFn> {
  return listen<T>(event, (e) => cb(e.payload));
}

/** The real backend, over Tauri's IPC. */
export const tauriBackend: Backend = {
  status: () => call("status"),
  createVault: (passphrase) => call("create_vault", { passphrase }),
  unlock: (passphrase) => call("unlock", { passphrase }),
  lock: () => call("lock"),
  activity: () => call("activity"),
  setSettings: (settings) => call("set_settings", { settings }),
  listAccounts: () => call("list_accounts"),
  addUri: (uri) => call("add_uri", { uri }),
  addManual: (account) => call("add_manual", { account }),
  updateAccount: (id, edit) => call("update_account", { id, edit }),
  deleteAccount: (id) => call("delete_account", { id }),
  moveAccount: (id, delta) => call("move_account", { id, delta }),
  nextHotp: (id) => call("next_hotp", { id }),
  copyCode: (id) => call("copy_code", { id }),
  scanScreen: () => call("scan_screen"),
  scanImageFile: (path) => call("scan_image_file", { path }),
  scanImageBytes: (bytes) => call("scan_image_bytes", { bytes }),
  scanClipboard: () => call("scan_clipboard"),
  addScanned: (handle) => call("add_scanned", { handle }),
  importFormats: () => call("import_formats"),
  exportFormats: () => call("export_formats"),
  importPreview: (path, format, password) => call("import_preview", { path, format, password }),
  importCommit: (keep_duplicates) => call("import_commit", { keep_duplicates }),
  importCancel: () => call("import_cancel"),
  exportAccounts: (path, format, password) => call("export_accounts", { path, format, password }),
  enroll: (link, device_name) => call("enroll", { link, device_name }),
  listEnrollments: () => call("list_enrollments"),
  unenroll: (device_id, local_only) => call("unenroll", { device_id, local_only }),
  pendingPushes: () => call("pending_pushes"),
  answerPush: (transaction_id, decision, number) =>
    call("answer_push", { transaction_id, decision, number }),
  pushHistory: () => call("push_history"),
  qrLoginDetails: (link) => call("qr_login_details", { link }),
  qrLoginAnswer: (handle, approve) => call("qr_login_answer", { handle, approve }),

  onStatus: (cb) => on(EVENTS.status, cb),
  onAccounts: (cb) => on(EVENTS.accounts, () => cb()),
  onPush: (cb) => on(EVENTS.push, cb),
  onPushGone: (cb) => on(EVENTS.pushGone, cb),
  onClipboardCleared: (cb) => on(EVENTS.clipboardCleared, () => cb()),

  async pickImageFile() {
    const { open } = await import("@tauri-apps/plugin-dialog");
    const path = await open({
      title: t("dialogs.openImage"),
      multiple: false,
      directory: false,
      filters: [{ name: t("dialogs.images"), extensions: ["png", "jpg", "jpeg", "gif", "bmp", "webp"] }],
    });
    return typeof path === "string" ? path : null;
  },
  async pickImportFile() {
    const { open } = await import("@tauri-apps/plugin-dialog");
    const path = await open({ title: t("dialogs.chooseImport"), multiple: false, directory: false });
    return typeof path === "string" ? path : null;
  },
  async pickExportPath(defaultName, extension) {
    const { save } = await import("@tauri-apps/plugin-dialog");
    const ext = extension.replace(/^\./, "");
    const path = await save({
      title: t("dialogs.exportAccounts"),
      defaultPath: defaultName,
      filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }] : undefined,
    });
    return path ?? null;
  },
  async onFileDrop(cb) {
    const { getCurrentWebview } = await import("@tauri-apps/api/webview");
    return getCurrentWebview().onDragDropEvent((e) => {
      if (e.payload.type === "drop") cb(e.payload.paths);
    });
  },
  async closeWindow() {
    const { getCurrentWindow } = await import("@tauri-apps/api/window");
    await getCurrentWindow().close();
  },
};

/**
 * The backend every component calls. A live binding: `setBackend` swaps it (tests, demo build).
 */
export let backend: Backend = tauriBackend;

export function setBackend(b: Backend): void {
  backend = b;
}

/** Whether we run inside a Tauri webview (false in a plain browser or jsdom). */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** Keeps a listener until the returned cleanup runs (for `onMount`), even if it registers late. */
export function hold(p: Promise<UnlistenFn>): () => void {
  let un: UnlistenFn | null = null;
  let gone = false;
  p.then((u) => (gone ? u() : (un = u))).catch(() => {});
  return () => {
    gone = true;
    un?.();
  };
}
