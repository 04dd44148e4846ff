// The app's shared state: lock status, the account list, pending pushes, the open QR-login
// request. Screens keep their own local state; everything here is dropped on lock.
import type { AccountView } from "./bindings/AccountView";
import type { AppStatus } from "./bindings/AppStatus";
import type { PushView } from "./bindings/PushView";
import type { QrLoginView } from "./bindings/QrLoginView";
import type { ScanResult } from "./bindings/ScanResult";
import type { Settings } from "./bindings/Settings";
import { backend, errorOf, type UnlistenFn } from "./backend";
import { clock } from "./clock.svelte";
import { errorText } from "./errors";
import { i18n, t } from "./i18n.svelte";
import { toasts } from "./toast.svelte";

export type Screen = "accounts" | "add" | "devices" | "history" | "transfer" | "settings";

/** The tabs; `label()` reads the current language. */
export const SCREENS: Array<{ id: Screen; label: () => string }> = [
  { id: "accounts", label: () => t("nav.accounts") },
  { id: "add", label: () => t("nav.add") },
  { id: "devices", label: () => t("nav.devices") },
  { id: "history", label: () => t("nav.history") },
  { id: "transfer", label: () => t("nav.transfer") },
  { id: "settings", label: () => t("nav.settings") },
];

export type ScanOrigin = "screen" | "file" | "clipboard" | "image";

/** A scan in progress or done, for the screen that started it. */
export interface ScanState {
  /** What was scanned, for the "nothing found" line. */
  origin?: ScanOrigin;
  busy: boolean;
  result: ScanResult | null;
  error: string | null;
}

const ACTIVITY_EVERY_MS = 5000;
/** A revealed code hides again after this long. */
const REVEAL_SECS = 20;

class AppState {
  status = $state.raw<AppStatus | null>(null);
  /** The backend could not be reached at start-up. */
  fatal = $state<string | null>(null);
  screen = $state<Screen>("accounts");
  accounts = $state.raw<AccountView[]>([]);
  accountsLoaded = $state(false);
  pushes = $state.raw<PushView[]>([]);
  qrLogin = $state.raw<QrLoginView | null>(null);
  /** Scan results shown on the Add screen (scans, drops and pastes land there). */
  addScan = $state.raw<ScanState>({ busy: false, result: null, error: null });
  /** Ids of hidden codes the user revealed, with the second they hide again. */
  revealed = $state.raw<Map<number, number>>(new Map());

  #refreshAt = Infinity;
  #loading: Promise<void> | null = null;
  #lastActivity = 0;
  #unlisten: UnlistenFn[] = [];

  get unlocked(): boolean {
    return this.status?.state === "unlocked";
  }

  get settings(): Settings | null {
    return this.status?.settings ?? null;
  }

  /** The approval window shows one push and never loads the accounts. */
  withAccounts = true;

  /** Loads the status and subscribes to the backend's events. */
  async init(opts: { withAccounts?: boolean } = {}): Promise<void> {
    this.withAccounts = opts.withAccounts ?? true;
    this.#unlisten.push(
      await backend.onStatus((s) => this.applyStatus(s)),
      await backend.onAccounts(() => void this.reloadAccounts()),
      await backend.onPush((p) => this.addPush(p)),
      await backend.onPushGone((tx) => this.removePush(tx)),
      await backend.onClipboardCleared(() => toasts.show(t("toast.clipboardCleared"))),
    );
    this.#unlisten.push(clock.subscribe((s) => this.onTick(s)));
    let s: AppStatus;
    try {
      s = await backend.status();
    } catch (e) {
      this.fatal = errorText(e);
      return;
    }
    // A keyring vault opens at launch with the login session's keyring, as a passphrase-less
    // vault should; after an idle or manual lock it waits for the Unlock button.
    if (s.state === "locked" && s.key_kind === "keyring" && this.withAccounts) {
      try {
        s = await backend.unlock(null);
      } catch (e) {
        toasts.show(errorText(e), "error");
      }
    }
    this.applyStatus(s);
  }

  dispose(): void {
    for (const u of this.#unlisten) u();
    this.#unlisten = [];
  }

  /** Back to the start (tests mount the app many times in one module). */
  reset(): void {
    this.dispose();
    this.wipe();
    this.status = null;
    this.fatal = null;
    this.#lastActivity = 0;
  }

  /** Takes a new status; leaving the unlocked state drops every account from memory. */
  applyStatus(s: AppStatus): void {
    const was = this.unlocked;
    i18n.set(s.locale);
    this.status = s;
    if (s.state !== "unlocked") {
      this.wipe();
    } else if (!was && this.withAccounts) {
      void this.reloadAccounts();
      void this.loadPushes();
    }
  }

  /** Forgets everything the vault showed (called on lock). */
  wipe(): void {
    this.accounts = [];
    this.accountsLoaded = false;
    this.pushes = [];
    this.qrLogin = null;
    this.addScan = { busy: false, result: null, error: null };
    this.revealed = new Map();
    this.#refreshAt = Infinity;
    this.screen = "accounts";
    toasts.clear();
  }

  reloadAccounts(): Promise<void> {
    if (!this.unlocked || !this.withAccounts) return Promise.resolve();
    // Coalesce: an event arriving during a load triggers one more load afterwards.
    const run = async () => {
      try {
        const list = await backend.listAccounts();
        if (!this.unlocked) return;
        clock.calibrate(list.now);
        this.accounts = list.accounts;
        this.accountsLoaded = true;
        let min = Infinity;
        for (const a of list.accounts) if (a.valid_until !== null && a.valid_until < min) min = a.valid_until;
        this.#refreshAt = min;
      } catch (e) {
        const err = errorOf(e);
        if (err.code !== "locked") toasts.show(errorText(err), "error");
      }
    };
    const p = (this.#loading ?? Promise.resolve()).then(run);
    this.#loading = p.finally(() => {
      if (this.#loading === p) this.#loading = null;
    });
    return p;
  }

  onTick(second: number): void {
    if (second >= this.#refreshAt) {
      this.#refreshAt = Infinity;
      void this.reloadAccounts();
    }
    if (this.revealed.size) {
      const keep = new Map([...this.revealed].filter(([, until]) => until > second));
      if (keep.size !== this.revealed.size) this.revealed = keep;
    }
  }

  /** Replaces one account in place (HOTP: the new code from `next_hotp`). */
  replaceAccount(view: AccountView): void {
    this.accounts = this.accounts.map((a) => (a.id === view.id ? view : a));
  }

  reveal(id: number, on: boolean): void {
    const m = new Map(this.revealed);
    if (on) m.set(id, clock.second + REVEAL_SECS);
    else m.delete(id);
    this.revealed = m;
  }

  async loadPushes(): Promise<void> {
    try {
      const list = await backend.pendingPushes();
      if (this.unlocked) this.pushes = list;
    } catch {
      // Not fatal: the list fills as pushes arrive.
    }
  }

  addPush(p: PushView): void {
    if (!this.unlocked || !this.withAccounts) return;
    this.pushes = [...this.pushes.filter((x) => x.transaction_id !== p.transaction_id), p];
  }

  removePush(tx: string): void {
    this.pushes = this.pushes.filter((x) => x.transaction_id !== tx);
  }

  async lockNow(): Promise<void> {
    // Drop first: nothing secret stays on screen even if the call is slow.
    this.wipe();
    try {
      this.applyStatus(await backend.lock());
    } catch (e) {
      toasts.show(errorText(e), "error");
    }
  }

  /** Saves settings; the backend caps them by the policy and answers with the new status. */
  async saveSettings(change: Partial<Settings>): Promise<boolean> {
    if (!this.status) return false;
    const next = { ...this.status.settings, ...change };
    try {
      const s = await backend.setSettings(next);
      const resort = s.settings.sort !== this.status.settings.sort;
      i18n.set(s.locale);
      this.status = s;
      if (resort) void this.reloadAccounts();
      return true;
    } catch (e) {
      toasts.show(errorText(e), "error");
      return false;
    }
  }

  /** Resets the backend's idle timer, at most once per 5 s. */
  activity(): void {
    if (!this.unlocked) return;
    const t = Date.now();
    if (t - this.#lastActivity < ACTIVITY_EVERY_MS) return;
    this.#lastActivity = t;
    backend.activity().catch(() => {});
  }

  /** Opens the QR-login confirmation for a scan handle or a pasted link. */
  async openQrLogin(link: string): Promise<boolean> {
    try {
      this.qrLogin = await backend.qrLoginDetails(link);
      return true;
    } catch (e) {
      toasts.show(errorText(e), "error");
      return false;
    }
  }

  /** Runs a scan for the Add screen (drops and pastes switch to it). */
  async scanForAdd(origin: ScanOrigin, run: () => Promise<ScanResult>): Promise<void> {
    this.screen = "add";
    this.addScan = await runScan(origin, run, (s) => (this.addScan = s));
  }
}

export const app = new AppState();

/** Runs one scan, reporting "busy" first; never throws (the error lands in the state). */
export async function runScan(
  origin: ScanOrigin,
  run: () => Promise<ScanResult>,
  progress: (s: ScanState) => void,
): Promise<ScanState> {
  progress({ origin, busy: true, result: null, error: null });
  try {
    return { origin, busy: false, result: await run(), error: null };
  } catch (e) {
    return { origin, busy: false, result: null, error: errorText(e) };
  }
}
