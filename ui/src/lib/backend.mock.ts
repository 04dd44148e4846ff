// An in-memory stand-in for the Rust backend: component tests install it with `setBackend`, and
// the demo build (`vite --mode demo`) uses it so the UI can be looked at in a plain browser.
// It keeps just enough state to behave plausibly; it computes no real OTP codes.
import type { AccountList } from "./bindings/AccountList";
import type { AccountView } from "./bindings/AccountView";
import type { AddResult } from "./bindings/AddResult";
import type { AppStatus } from "./bindings/AppStatus";
import type { CommandError } from "./bindings/CommandError";
import type { EnrollmentView } from "./bindings/EnrollmentView";
import type { ExportFormatInfo } from "./bindings/ExportFormatInfo";
import type { HistoryEntry } from "./bindings/HistoryEntry";
import type { ImportFormatInfo } from "./bindings/ImportFormatInfo";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { PolicyView } from "./bindings/PolicyView";
import type { PushView } from "./bindings/PushView";
import type { QrLoginView } from "./bindings/QrLoginView";
import type { ScanResult } from "./bindings/ScanResult";
import type { Settings } from "./bindings/Settings";
import type { Locale } from "./bindings/Locale";
import { BackendError, EVENTS, type Backend, type UnlistenFn } from "./backend";
import { guess } from "./i18n.svelte";

type Listener = (payload: unknown) => void;

export interface MockOptions {
  state?: AppStatus["state"];
  keyKind?: AppStatus["key_kind"];
  policy?: Partial<PolicyView>;
  settings?: Partial<Settings>;
  accounts?: AccountView[];
  pushes?: PushView[];
  enrollments?: EnrollmentView[];
  history?: HistoryEntry[];
  /** What the next scans find (screen, file, bytes, clipboard); default: nothing. */
  scan?: ScanResult;
  importPreview?: ImportPreview;
  qrLogin?: QrLoginView;
  /** The passphrase `unlock` accepts. */
  passphrase?: string;
  /** Unix seconds; defaults to the real clock. */
  now?: () => number;
  /** The OS locale the backend would read (BCP 47); default `en-US`. */
  osLocale?: string;
}

export interface MockBackend extends Backend {
  /** Every call, in order: `[method, ...args]`. */
  calls: Array<[string, ...unknown[]]>;
  /** The args of every call to one method. */
  callsTo(method: keyof Backend): unknown[][];
  /** Fires a backend event as Tauri would. */
  emit(event: string, payload: unknown): void;
  /** Fires dropped file paths. */
  drop(paths: string[]): void;
  /** Mutable state, for tests to inspect or change. */
  data: {
    status: AppStatus;
    accounts: AccountView[];
    pushes: PushView[];
    enrollments: EnrollmentView[];
    history: HistoryEntry[];
    scan: ScanResult;
    importPreview: ImportPreview;
    qrLogin: QrLoginView;
    /** Paths the dialogs "choose" (null = cancelled). */
    pickedImage: string | null;
    pickedImport: string | null;
    pickedExport: string | null;
  };
}

export const defaultPolicy: PolicyView = {
  managed: false,
  path: "/etc/tessera/policy.json",
  organization: null,
  allowed_origins: [],
  require_app_lock: false,
  max_auto_lock_mins: null,
  disable_export: false,
  disable_manual_entry: false,
  language: null,
  error: null,
};

export const defaultSettings: Settings = {
  clipboard_clear_secs: 30,
  auto_lock_mins: 5,
  hide_codes: false,
  theme: "system",
  sort: "manual",
  language: "system",
};

let nextId = 1;

/** An account with sensible defaults (TOTP, SHA1, 6 digits, 30 s). */
export function account(over: Partial<AccountView> = {}): AccountView {
  return {
    id: nextId++,
    issuer: "Example",
    name: "user@example.com",
    otp_type: "totp",
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    counter: 0,
    groups: [],
    note: "",
    favourite: false,
    icon: null,
    code: null,
    next_code: null,
    valid_until: null,
    last_used_at: null,
    weak: false,
    ...over,
  };
}

/** A deterministic fake code (not an OTP) for an account at a time step. */
export function fakeCode(id: number, step: number, digits: number): string {
  let h = (id * 2654435761 + step * 40503) >>> 0;
  let out = "";
  for (let i = 0; i < digits; i++) {
    h = (h * 1103515245 + 12345) >>> 0;
    out += String((h >>> 16) % 10);
  }
  return out;
}

// As tessera-core's import and export formats name them (ids and descriptions).
export const importFormats: ImportFormatInfo[] = [
  { id: "aegis", description: "Aegis (JSON, plain or encrypted)" },
  { id: "2fas", description: "2FAS (.2fas, plain or encrypted)" },
  { id: "andotp", description: "andOTP (JSON or encrypted)" },
  { id: "bitwarden-json", description: "Bitwarden (JSON)" },
  { id: "google-migration", description: "Google Authenticator (otpauth-migration://)" },
  { id: "uri-list", description: "otpauth:// URI list" },
  { id: "tessera-backup", description: "Tessera encrypted backup" },
];

export const exportFormats: ExportFormatInfo[] = [
  { id: "backup", description: "Tessera encrypted backup", plaintext: false, needs_password: true, extension: "tessera" },
  { id: "aegis-encrypted", description: "Aegis JSON, encrypted", plaintext: false, needs_password: true, extension: "json" },
  { id: "aegis", description: "Aegis JSON (plaintext)", plaintext: true, needs_password: false, extension: "json" },
  { id: "uri-list", description: "otpauth:// URI list (plaintext)", plaintext: true, needs_password: false, extension: "txt" },
  { id: "migration", description: "Google Authenticator migration URIs (plaintext)", plaintext: true, needs_password: false, extension: "txt" },
];

export function createMockBackend(opts: MockOptions = {}): MockBackend {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const listeners = new Map<string, Set<Listener>>();
  const status: AppStatus = {
    state: opts.state ?? "unlocked",
    key_kind: opts.keyKind === undefined ? (opts.state === "no_vault" ? null : "passphrase") : opts.keyKind,
    vault_path: "/home/alice/.local/share/tessera/vault.db",
    policy: { ...defaultPolicy, ...opts.policy },
    settings: { ...defaultSettings, ...opts.settings },
    locale: "en",
  };
  const osLocale = opts.osLocale ?? "en-US";
  // As src-tauri/src/locale.rs resolves it: the setting, else the OS locale, else English.
  const resolve = (): Locale => {
    if (status.policy.language) status.settings.language = status.policy.language;
    const l = status.settings.language;
    return l === "system" ? guess([osLocale]) : l;
  };
  status.locale = resolve();
  const data: MockBackend["data"] = {
    status,
    accounts: opts.accounts ?? [],
    pushes: opts.pushes ?? [],
    enrollments: opts.enrollments ?? [],
    history: opts.history ?? [],
    scan: opts.scan ?? { source: "1 monitor", found: [] },
    importPreview: opts.importPreview ?? { format: "aegis", entries: [], skipped: [] },
    qrLogin: opts.qrLogin ?? {
      handle: "qr-1",
      server_origin: "https://id.example.com",
      user: "alice",
      application: "Example portal",
      origin: "https://portal.example.com",
      ip: "198.51.100.7",
      location: "Lyon, FR",
      user_agent: "Firefox 140 on Linux",
      expires_at: now() + 120,
      device_network: "same",
      device_network_prefix: "198.51.100.0/24",
    },
    pickedImage: "/home/alice/Pictures/qr.png",
    pickedImport: "/home/alice/Downloads/aegis-export.json",
    pickedExport: "/home/alice/Documents/tessera-backup.tessera",
  };
  const passphrase = opts.passphrase ?? "correct horse";

  const fail = (code: string, message: string): never => {
    throw new BackendError({ code, message } satisfies CommandError);
  };
  const needUnlocked = () => {
    if (status.state !== "unlocked") fail("locked", "The vault is locked.");
  };
  const find = (id: number) => data.accounts.find((a) => a.id === id) ?? fail("not_found", "No such account.");
  const withCodes = (a: AccountView, t: number): AccountView => {
    if (a.otp_type === "hotp") return { ...a };
    const step = Math.floor(t / a.period);
    const digits = a.otp_type === "steam" ? 5 : a.digits;
    const steam = (s: string) => s.replace(/\d/g, (d) => "BCDFGHJKMN"[Number(d)] ?? d);
    const code = fakeCode(a.id, step, digits);
    const next = fakeCode(a.id, step + 1, digits);
    return {
      ...a,
      code: a.otp_type === "steam" ? steam(code) : code,
      next_code: a.otp_type === "steam" ? steam(next) : next,
      valid_until: (step + 1) * a.period,
    };
  };
  const emit = (event: string, payload: unknown) => {
    for (const l of listeners.get(event) ?? []) l(payload);
  };
  const on = (event: string, cb: Listener): Promise<UnlistenFn> => {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event)!.add(cb);
    return Promise.resolve(() => listeners.get(event)?.delete(cb));
  };
  const added = (n: number): AddResult => ({ added: Array.from({ length: n }, () => nextId++), duplicates: [], warnings: [], skipped: [] });

  const impl: Backend = {
    async status() {
      return structuredClone(status);
    },
    async createVault(p) {
      if (status.state !== "no_vault") fail("invalid", "A vault already exists.");
      status.state = "unlocked";
      status.key_kind = p === null ? "keyring" : "passphrase";
      return structuredClone(status);
    },
    async unlock(p) {
      if (status.key_kind === "passphrase" && p !== passphrase) fail("wrong_passphrase", "Wrong passphrase.");
      status.state = "unlocked";
      return structuredClone(status);
    },
    async lock() {
      status.state = "locked";
      const s = structuredClone(status);
      emit(EVENTS.status, s);
      return s;
    },
    async activity() {},
    async setSettings(settings) {
      const max = status.policy.max_auto_lock_mins;
      if (max !== null && (settings.auto_lock_mins === 0 || settings.auto_lock_mins > max))
        fail("policy", `Your organization allows at most ${max} minutes.`);
      if (status.policy.require_app_lock && settings.auto_lock_mins === 0)
        fail("policy", "Your organization requires the app to lock.");
      if (status.policy.language && settings.language !== status.policy.language)
        fail("policy", "The language is set by your organization's policy.");
      status.settings = { ...settings };
      status.locale = resolve();
      return structuredClone(status);
    },
    async listAccounts(): Promise<AccountList> {
      needUnlocked();
      const t = now();
      const list = data.accounts.map((a) => withCodes(a, t));
      const key = (a: AccountView) => {
        switch (status.settings.sort) {
          case "issuer":
            return `${a.issuer}\u0000${a.name}`.toLowerCase();
          case "name":
            return a.name.toLowerCase();
          default:
            return "";
        }
      };
      list.sort((a, b) => {
        if (a.favourite !== b.favourite) return a.favourite ? -1 : 1;
        if (status.settings.sort === "recent") return (b.last_used_at ?? 0) - (a.last_used_at ?? 0);
        return key(a).localeCompare(key(b));
      });
      return { now: t, accounts: list };
    },
    async addUri(uri) {
      needUnlocked();
      if (!/^otpauth(-migration)?:\/\//.test(uri)) fail("invalid", "That is not an otpauth:// link.");
      const label = decodeURIComponent(uri.replace(/^otpauth:\/\/[a-z]+\//, "").split("?")[0] ?? "");
      const [issuer, name] = label.includes(":") ? label.split(":", 2) : ["", label];
      data.accounts.push(account({ issuer: issuer ?? "", name: name ?? label }));
      emit(EVENTS.accounts, null);
      return { added: [data.accounts.at(-1)!.id], duplicates: [], warnings: [], skipped: [] };
    },
    async addManual(a) {
      needUnlocked();
      if (status.policy.disable_manual_entry) fail("policy", "Manual entry is disabled by your organization.");
      if (!/^[A-Z2-7 =]+$/i.test(a.secret)) fail("invalid", "The secret is not valid Base32.");
      const acc = account({
        issuer: a.issuer,
        name: a.name,
        otp_type: a.otp_type ?? "totp",
        algorithm: a.algorithm ?? "SHA1",
        digits: a.digits ?? 6,
        period: a.period ?? 30,
        counter: a.counter ?? 0,
      });
      data.accounts.push(acc);
      emit(EVENTS.accounts, null);
      // As the backend: a secret under 128 bits (26 base32 characters) is added, with a warning.
      const chars = a.secret.replace(/[ =]/g, "").length;
      const warnings =
        chars < 26
          ? [{ name: a.issuer && a.name ? `${a.issuer} (${a.name})` : a.issuer || a.name, warning: { code: "weak_secret", params: { bits: Math.floor((chars * 5) / 8) * 8 } } }]
          : [];
      return { added: [acc.id], duplicates: [], warnings, skipped: [] };
    },
    async updateAccount(id, edit) {
      needUnlocked();
      Object.assign(find(id), edit);
      emit(EVENTS.accounts, null);
    },
    async deleteAccount(id) {
      needUnlocked();
      data.accounts = data.accounts.filter((a) => a.id !== id);
      emit(EVENTS.accounts, null);
    },
    async moveAccount(id, delta) {
      needUnlocked();
      const i = data.accounts.findIndex((a) => a.id === id);
      const j = i + delta;
      if (i < 0 || j < 0 || j >= data.accounts.length) return;
      const [a] = data.accounts.splice(i, 1);
      data.accounts.splice(j, 0, a!);
      emit(EVENTS.accounts, null);
    },
    async nextHotp(id) {
      needUnlocked();
      const a = find(id);
      a.code = fakeCode(a.id, a.counter, a.digits);
      a.counter += 1;
      a.last_used_at = now();
      return { ...a };
    },
    async copyCode(id) {
      needUnlocked();
      const a = find(id);
      a.last_used_at = now();
      const code = withCodes(a, now()).code ?? a.code ?? "";
      return { code, clear_after_secs: status.settings.clipboard_clear_secs };
    },
    async scanScreen() {
      needUnlocked();
      return structuredClone(data.scan);
    },
    async scanImageFile(path) {
      needUnlocked();
      return { ...structuredClone(data.scan), source: path.split("/").pop() ?? path };
    },
    async scanImageBytes() {
      needUnlocked();
      return { ...structuredClone(data.scan), source: "the pasted image" };
    },
    async scanClipboard() {
      needUnlocked();
      return { ...structuredClone(data.scan), source: "the clipboard" };
    },
    async addScanned(handle) {
      needUnlocked();
      const f = data.scan.found.find((x) => x.handle === handle) ?? fail("not_found", "That scan has expired.");
      if (f.kind === "migration") return added(3);
      data.accounts.push(account({ issuer: f.label.split(":")[0] ?? "", name: f.label.split(": ")[1] ?? "" }));
      emit(EVENTS.accounts, null);
      return { added: [data.accounts.at(-1)!.id], duplicates: [], warnings: [], skipped: [] };
    },
    async importFormats() {
      return importFormats;
    },
    async exportFormats() {
      return exportFormats;
    },
    async importPreview() {
      needUnlocked();
      return structuredClone(data.importPreview);
    },
    async importCommit(keep) {
      needUnlocked();
      const e = data.importPreview.entries;
      const n = keep ? e.length : e.filter((x) => !x.duplicate).length;
      emit(EVENTS.accounts, null);
      return {
        ...added(n),
        duplicates: keep ? [] : e.filter((x) => x.duplicate).map((x) => `${x.issuer}: ${x.name}`),
        skipped: structuredClone(data.importPreview.skipped),
      };
    },
    async importCancel() {},
    async exportAccounts(path, format) {
      needUnlocked();
      if (status.policy.disable_export) fail("policy", "Export is disabled by your organization.");
      const f = exportFormats.find((x) => x.id === format);
      // As tessera-core: Google's formats leave out Steam codes and periods other than 30 s.
      const skipped = format.startsWith("migration")
        ? data.accounts.flatMap((a) => {
            const name = a.issuer && a.name ? `${a.issuer} (${a.name})` : a.issuer || a.name;
            if (a.otp_type === "steam") return [{ name, reason: { code: "skip_google_steam", params: {} } }];
            if (a.otp_type === "totp" && a.period !== 30)
              return [{ name, reason: { code: "skip_google_period", params: { period: a.period } } }];
            return [];
          })
        : [];
      return {
        files: [path],
        exported: data.accounts.length - skipped.length,
        skipped,
        verified: f?.id === "backup" ? true : null,
      };
    },
    async enroll(link, deviceName) {
      needUnlocked();
      if (!link) fail("invalid", "Paste a tessera://enroll link.");
      const e: EnrollmentView = {
        device_id: `dev-${data.enrollments.length + 1}`,
        origin: "https://id.example.com",
        user: "alice",
        device_name: deviceName ?? "Alice's laptop",
        algorithm: "ES256",
        server_fingerprint: "SHA256:7f3a 91c2 0b4e d6a8 55e1 c0f9 3b72 aa10",
        connected: true,
      };
      data.enrollments.push(e);
      return e;
    },
    async listEnrollments() {
      needUnlocked();
      return structuredClone(data.enrollments);
    },
    async unenroll(deviceId, localOnly) {
      needUnlocked();
      const e = data.enrollments.find((x) => x.device_id === deviceId) ?? fail("not_found", "Not enrolled.");
      if (!e.connected && !localOnly) fail("network", `Cannot reach ${e.origin}.`);
      data.enrollments = data.enrollments.filter((x) => x.device_id !== deviceId);
    },
    async pendingPushes() {
      needUnlocked();
      return structuredClone(data.pushes);
    },
    async answerPush(tx, decision) {
      needUnlocked();
      const p = data.pushes.find((x) => x.transaction_id === tx) ?? fail("not_found", "That request is gone.");
      if (p.expires_at <= now()) fail("expired", "The request has expired.");
      data.pushes = data.pushes.filter((x) => x.transaction_id !== tx);
      const outcome = decision === "approve" ? "approved" : decision === "deny" ? "denied" : "not_me";
      data.history.unshift({
        transaction_id: tx,
        kind: "push",
        application: p.application,
        origin: p.origin,
        ip: p.ip,
        location: p.location,
        outcome,
        at: now(),
      });
      return outcome;
    },
    async pushHistory() {
      needUnlocked();
      return structuredClone(data.history);
    },
    async qrLoginDetails() {
      needUnlocked();
      return structuredClone(data.qrLogin);
    },
    async qrLoginAnswer() {
      needUnlocked();
    },

    onStatus: (cb) => on(EVENTS.status, cb as Listener),
    onAccounts: (cb) => on(EVENTS.accounts, () => cb()),
    onPush: (cb) => on(EVENTS.push, cb as Listener),
    onPushGone: (cb) => on(EVENTS.pushGone, cb as Listener),
    onClipboardCleared: (cb) => on(EVENTS.clipboardCleared, () => cb()),

    async pickImageFile() {
      return data.pickedImage;
    },
    async pickImportFile() {
      return data.pickedImport;
    },
    async pickExportPath() {
      return data.pickedExport;
    },
    onFileDrop: (cb) => on("mock://drop", cb as Listener),
    async closeWindow() {},
  };

  const calls: MockBackend["calls"] = [];
  const recorded = {} as Backend;
  for (const [name, fn] of Object.entries(impl) as Array<[keyof Backend, (...a: unknown[]) => unknown]>) {
    (recorded as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push([name, ...args]);
      return fn(...args);
    };
  }
  return {
    ...recorded,
    calls,
    callsTo: (method) => calls.filter((c) => c[0] === method).map((c) => c.slice(1)),
    emit,
    drop: (paths) => emit("mock://drop", paths),
    data,
  };
}
