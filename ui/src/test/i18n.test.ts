// The app in Japanese: the main screens with no English left, switching language from
// Settings, the OS locale, and backend errors shown by their code.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import App from "../App.svelte";
import { app } from "../lib/app.svelte";
import type { EnrollmentView } from "../lib/bindings/EnrollmentView";
import type { HistoryEntry } from "../lib/bindings/HistoryEntry";
import type { CoreText } from "../lib/bindings/CoreText";
import type { PushView } from "../lib/bindings/PushView";
import codes from "../lib/bindings/core-codes.json";
import { i18n } from "../lib/i18n.svelte";
import { account, renderApp, useMock } from "./helpers";

const now = Math.floor(Date.now() / 1000);

/** What the screens show from data (names, origins, paths…), which stays as it is. */
const DATA = [
  "GitHub", "alice@example.com", "Proton Mail", "bob", "Work",
  "https://id.example.com", "https://console.example.com", "https://portal.example.com",
  "Example Console", "Example portal", "Firefox on Linux", "Firefox 140 on Linux", "Lyon, FR", "Berlin, Germany",
  "203.0.113.42", "203.0.113.0/24", "198.51.100.7", "198.51.100.0/24", "alice", "Laptop", "ES256", "SHA256:abcd",
  "/home/alice/.local/share/tessera/vault.db", "/etc/tessera/policy.json", "Contoso Ltd",
  "JBSW Y3DP EHPK 3PXP", // the example secret key in the manual form's placeholder
  "Deno (Mason)", "PUSH", "image", "color", "Old", "New", "MD5", "scrypt N", // entries and parameters of the core's texts
].sort((a, b) => b.length - a.length); // longest first: "alice" must not cut a path in two

/**
 * Words allowed in the Japanese UI: product and standard names, key caps, format names, and
 * the language picker's endonym "English".
 */
const ALLOWED = new Set(
  [
    "Tessera", "TOTP", "HOTP", "QR", "URL", "URI", "SHA", "Steam", "Guard", "Ctrl", "Alt", "Enter", "Space", "Esc",
    "Delete", "English", "Secret", "Service", "JSON", "CSV", "PNG", "HTML", "Aegis", "FAS", "andOTP", "Bitwarden",
    "FreeOTP", "Ente", "Auth", "Proton", "Authenticator", "Google", "Yandex", "mOTP",
  ].map((w) => w.toLowerCase()),
);

/** English words left on the page: text, and the labels people hear or hover. */
function englishLeft(root: HTMLElement = document.body): string[] {
  const texts = [root.textContent ?? ""];
  for (const el of root.querySelectorAll("*"))
    for (const attr of ["aria-label", "title", "placeholder", "alt"]) {
      const v = el.getAttribute(attr);
      if (v) texts.push(v);
    }
  const words: string[] = [];
  for (let text of texts) {
    for (const d of DATA) text = text.split(d).join(" ");
    text = text.replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, " "); // links and schemes: otpauth://…
    for (const w of text.match(/[A-Za-z]{3,}/g) ?? []) if (!ALLOWED.has(w.toLowerCase())) words.push(w);
  }
  return [...new Set(words)];
}

const push = (over: Partial<PushView> = {}): PushView => ({
  transaction_id: "tx-1",
  device_id: "dev-1",
  server_origin: "https://id.example.com",
  user: "alice",
  application: "Example Console",
  origin: "https://console.example.com",
  ip: "203.0.113.42",
  location: "Berlin, Germany",
  user_agent: "Firefox on Linux",
  requested_at: now - 120,
  expires_at: now + 90,
  number_choices: [],
  device_network: "different",
  device_network_prefix: "203.0.113.0/24",
  ...over,
});

const enrollment: EnrollmentView = {
  device_id: "dev-1",
  origin: "https://id.example.com",
  user: "alice",
  device_name: "Laptop",
  algorithm: "ES256",
  server_fingerprint: "SHA256:abcd",
  connected: false,
};

const history: HistoryEntry[] = [
  { transaction_id: "tx-0", kind: "push", application: "Example Console", origin: "https://console.example.com", ip: "203.0.113.42", location: "Berlin, Germany", outcome: "approved", at: now - 3600 },
  { transaction_id: "tx-9", kind: "qr_login", application: "Example portal", origin: "https://portal.example.com", ip: "198.51.100.7", location: null, outcome: "not_me", at: now - 30 },
];

const accounts = () => [
  account({ issuer: "GitHub", name: "alice@example.com", favourite: true, groups: ["Work"] }),
  account({ issuer: "Proton Mail", name: "bob", otp_type: "hotp", code: null, next_code: null, valid_until: null, weak: true }),
];

async function tab(id: string) {
  await fireEvent.click(document.getElementById(`nav-${id}`)!);
}

describe("the app in Japanese", () => {
  it("shows the main screens with no English left", async () => {
    await renderApp({
      settings: { language: "ja" },
      accounts: accounts(),
      pushes: [push()],
      enrollments: [enrollment],
      history,
      policy: { managed: true, organization: "Contoso Ltd", disable_export: true, max_auto_lock_mins: 10, allowed_origins: ["https://id.example.com"] },
      // As the backend words them: English labels and problems, with the parts the UI words itself.
      scan: {
        source: "1 monitor",
        found: [
          { kind: "enroll", label: "Enroll this device with https://id.example.com as alice", handle: "h1", problem: null, origin: "https://id.example.com", user: "alice" },
          { kind: "qr_login", label: "Sign-in request from https://portal.example.com", handle: "h2", problem: "this device is not enrolled with https://portal.example.com: a sign-in QR from a server you have not enrolled with is refused", origin: "https://portal.example.com", problem_kind: "not_enrolled" },
          { kind: "migration", label: "3 accounts from Google Authenticator", handle: "h3", problem: null, count: 3 },
          { kind: "other", label: "A https link to example.com", handle: "h4", problem: "not an authenticator code", origin: "https://example.com", problem_kind: "not_ours" },
          { kind: "account", label: "An authenticator code", handle: "h5", problem: "the secret is not valid base32", problem_kind: "invalid" },
        ],
      },
    });
    expect(document.documentElement.lang).toBe("ja");
    await screen.findByTestId("approval");
    // The organization banner's details and the settings' shortcuts are read too.
    for (const d of document.querySelectorAll("details")) d.open = true;
    const seen: Record<string, string[]> = { accounts: englishLeft() };
    expect(document.body).toHaveTextContent("アカウント");

    // An open dialog: edit an account.
    await fireEvent.keyDown(screen.getAllByTestId("account")[0]!, { key: "F2" });
    seen.edit = englishLeft(screen.getByTestId("edit-dialog"));
    await fireEvent.keyDown(screen.getByTestId("edit-dialog"), { key: "Escape" });

    for (const id of ["add", "devices", "history", "transfer", "settings"]) {
      await tab(id);
      if (id === "devices") {
        await screen.findByTestId("enrollment");
        await fireEvent.click(document.getElementById("device-scan")!);
        expect(await screen.findAllByTestId("scan-found")).toHaveLength(5);
      }
      if (id === "history") await screen.findAllByTestId("history-entry");
      for (const d of document.querySelectorAll("details")) d.open = true;
      seen[id] = englishLeft();
    }
    await tab("devices");
    await fireEvent.click(within(await screen.findByTestId("enrollment")).getByTestId("unenroll"));
    seen.unenroll = englishLeft(screen.getByTestId("unenroll-dialog"));

    expect(seen).toEqual({ accounts: [], edit: [], add: [], devices: [], history: [], transfer: [], settings: [], unenroll: [] });
  });

  it("shows the first run, the lock screen and a QR sign-in in Japanese", async () => {
    useMock({ state: "no_vault", settings: { language: "ja" } });
    const first = render(App);
    await screen.findByText("Tessera へようこそ");
    expect(englishLeft()).toEqual([]);
    first.unmount();

    await renderApp({ state: "locked", settings: { language: "ja" }, policy: { managed: true, organization: "Contoso Ltd" } });
    await screen.findByText("Tessera はロックされています");
    expect(englishLeft()).toEqual([]);
    const user = userEvent.setup();
    await user.type(document.getElementById("passphrase")!, "wrong");
    await user.click(document.getElementById("unlock")!);
    // The backend's English message stays in its logs; the person reads the code's text.
    expect(await screen.findByTestId("error")).toHaveTextContent("パスフレーズが正しくありません。");
  });

  it("shows a QR sign-in request in Japanese", async () => {
    await renderApp({ settings: { language: "ja" } });
    await app.openQrLogin("tessera://qr-login?x");
    const card = await screen.findByTestId("qr-login");
    expect(card).toHaveTextContent("QR コードでサインイン");
    expect(englishLeft(card)).toEqual([]);
  });
});

/** One text of each code tessera-core can produce (bindings/core-codes.json), with sample parameters. */
function coreSamples(prefix: "skip_" | "other"): CoreText[] {
  const SAMPLE: Record<string, string | number | string[]> = {
    bits: 80, kind: "PUSH", algorithm: "MD5", field: "digits", value: 3, period: 60, digits: 7,
    label: "Old", parameter: "New", names: ["image", "color"], entry: "Deno (Mason)", name: "Deno (Mason)",
    len: 10, max: 5, offset: 12, version: "4", format: "aegis", param: "scrypt N",
  };
  for (const params of Object.values(codes as Record<string, string[]>))
    for (const p of params) expect(SAMPLE, `a sample value for the parameter ${p}`).toHaveProperty(p);
  return Object.entries(codes as Record<string, string[]>)
    .filter(([code]) => code.startsWith("skip_") === (prefix === "skip_"))
    .map(([code, params]) => ({ code, params: Object.fromEntries(params.map((p) => [p, SAMPLE[p]!])) }));
}

describe("the texts of tessera-core in Japanese", () => {
  // Warnings and errors are shown here as an add's warnings: the same coreText() words them.
  it("words every skip reason, warning and error detail, with no English left", async () => {
    const skips = coreSamples("skip_");
    const warnings = coreSamples("other");
    expect(skips.length + warnings.length).toBe(Object.keys(codes).length);
    const mock = await renderApp({
      settings: { language: "ja" },
      importPreview: { format: "aegis", entries: [], skipped: skips.map((reason) => ({ name: "Deno (Mason)", reason })) },
    });
    await tab("transfer");
    const user = userEvent.setup();
    await user.click(document.getElementById("import-choose")!);
    await user.click(document.getElementById("import-preview")!);
    const skipped = await screen.findByTestId("import-skipped");
    expect(skipped.querySelectorAll("li")).toHaveLength(skips.length);
    expect(englishLeft(skipped)).toEqual([]);
    expect(skipped.textContent).not.toContain("{{");
    expect(skipped).toHaveTextContent("種類「PUSH」には対応していません。");
    expect(skipped).toHaveTextContent("桁数の値（3）が Google Authenticator の形式で定義されていません。");

    mock.addUri = async () => ({
      added: [1],
      duplicates: [],
      warnings: warnings.map((warning) => ({ name: "Deno (Mason)", warning })),
      skipped: [],
    });
    await tab("add");
    await user.type(document.getElementById("uri-input")!, "otpauth://totp/Deno:Mason?secret=JBSWY3DPEHPK3PXP");
    await user.click(document.getElementById("uri-submit")!);
    const result = await screen.findByTestId("add-result");
    expect(screen.getAllByTestId("warning")).toHaveLength(warnings.length);
    expect(englishLeft(result)).toEqual([]);
    expect(result.textContent).not.toContain("{{");
    expect(result).toHaveTextContent("Deno (Mason)：シークレットが 80 ビットしかありません");
    expect(result).toHaveTextContent("image、color");
  });
});

describe("choosing the language", () => {
  it("follows the OS locale when the setting is System", async () => {
    await renderApp({ osLocale: "ja-JP" });
    expect(i18n.locale).toBe("ja");
    expect(document.getElementById("nav-settings")).toHaveTextContent("設定");
  });

  it("is English for an OS locale it has no translation for", async () => {
    await renderApp({ osLocale: "fr-FR" });
    expect(i18n.locale).toBe("en");
    expect(document.documentElement.lang).toBe("en");
  });

  it("switches from Settings at once, and saves the choice", async () => {
    const mock = await renderApp({ accounts: accounts() });
    await tab("settings");
    const select = document.getElementById("set-language") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["System (English)", "English", "日本語"]);
    const user = userEvent.setup();
    await user.selectOptions(select, "ja");
    await waitFor(() => expect(document.getElementById("nav-accounts")).toHaveTextContent("アカウント"));
    expect(mock.callsTo("setSettings").at(-1)![0]).toMatchObject({ language: "ja" });
    expect(document.documentElement.lang).toBe("ja");
    expect(screen.getByText("言語")).toBeInTheDocument();
    await user.selectOptions(document.getElementById("set-language")!, "system");
    await waitFor(() => expect(document.getElementById("nav-accounts")).toHaveTextContent("Accounts"));
  });

  it("is locked when the policy sets the language", async () => {
    await renderApp({ policy: { managed: true, language: "ja" } });
    expect(i18n.locale).toBe("ja");
    await tab("settings");
    expect(document.getElementById("set-language")).toBeDisabled();
    expect(screen.getAllByTestId("managed-badge").length).toBeGreaterThan(0);
  });
});

describe("errors from the backend", () => {
  it("show the backend's message in English, and the code's text in Japanese", async () => {
    await renderApp({ state: "locked" });
    const user = userEvent.setup();
    await user.type(document.getElementById("passphrase")!, "wrong");
    await user.click(document.getElementById("unlock")!);
    expect(await screen.findByTestId("error")).toHaveTextContent("Wrong passphrase.");
  });

  it("word tessera-core's errors by their detail's code in Japanese, the generic text for a detail it does not know", async () => {
    const mock = await renderApp({ settings: { language: "ja" }, importPreview: { format: "aegis", entries: [], skipped: [] } });
    const fail = (detail: CoreText) => () =>
      Promise.reject({ code: "invalid", message: "this aegis export is encrypted: a password is required", detail });
    mock.importPreview = fail({ code: "import_password_required", params: { format: "aegis" } });
    await tab("transfer");
    const user = userEvent.setup();
    await user.click(document.getElementById("import-choose")!);
    await user.click(document.getElementById("import-preview")!);
    expect(await screen.findByTestId("error")).toHaveTextContent(
      "このAegis（JSON、暗号化あり・なし）のエクスポートは暗号化されています。パスワードを入力してください。",
    );
    mock.importPreview = fail({ code: "import_from_the_future", params: {} });
    await user.click(document.getElementById("import-preview")!);
    await waitFor(() => expect(screen.getByTestId("error")).toHaveTextContent("入力内容が正しくありません"));
    expect(screen.getByTestId("error")).not.toHaveTextContent("import_from_the_future");
  });

  it("fall back to the backend's message for a code without a text", async () => {
    const mock = await renderApp({ settings: { language: "ja" }, accounts: accounts() });
    mock.copyCode = () => Promise.reject({ code: "brand_new", message: "a new kind of failure" });
    await fireEvent.click(within(screen.getAllByTestId("account")[0]!).getByTestId("copy"));
    expect(await screen.findByTestId("toast")).toHaveTextContent("a new kind of failure");
  });
});
