// Demo mode (`npm run dev:demo`, `npm run build:demo`): the UI on the in-memory mock backend with
// sample data, for looking at it in a plain browser. Query parameters pick a scene:
// ?state=locked|no_vault  ?theme=light|dark  ?managed=1  ?hide=1  ?push=1  ?screen=add|devices|…
// ?many=1000 (a long list). Never part of the production build.
import { setBackend } from "./lib/backend";
import { account, createMockBackend } from "./lib/backend.mock";
import { app, type Screen } from "./lib/app.svelte";
import type { MockOptions } from "./lib/backend.mock";

export function installDemo(): void {
  const q = new URLSearchParams(location.search);
  const now = Math.floor(Date.now() / 1000);
  const accounts = [
    account({ issuer: "GitHub", name: "alice", groups: ["Work"], favourite: true, icon: "github" }),
    account({ issuer: "Google", name: "alice@gmail.com", groups: ["Personal"], icon: "google" }),
    account({ issuer: "Microsoft", name: "alice@contoso.com", groups: ["Work"], digits: 6 }),
    account({ issuer: "Amazon Web Services", name: "root", groups: ["Work"], digits: 6, weak: true }),
    account({ issuer: "Proton", name: "alice@proton.me", groups: ["Personal"], period: 30 }),
    account({ issuer: "Steam", name: "alice_gamer", otp_type: "steam", digits: 5, groups: ["Personal"] }),
    account({ issuer: "Cloudflare", name: "ops@example.com", groups: ["Work"], digits: 8 }),
    account({ issuer: "Bitwarden", name: "alice@example.com", groups: ["Personal"] }),
    account({ issuer: "Bank of Example", name: "12345678", otp_type: "hotp", counter: 4, groups: ["Personal"] }),
    account({ issuer: "Discord", name: "alice#4821", groups: ["Personal"] }),
    account({ issuer: "Tailscale", name: "alice@github", groups: ["Work"] }),
    account({ issuer: "Hetzner", name: "K0123456789", groups: ["Work"], period: 60 }),
  ];
  const many = Number(q.get("many") ?? 0);
  for (let i = 0; i < many; i++) accounts.push(account({ issuer: `Service ${i + 1}`, name: `user${i}@example.com`, groups: [i % 2 ? "Odd" : "Even"] }));
  const managed = q.get("managed") === "1";
  const opts: MockOptions = {
    state: (q.get("state") as MockOptions["state"]) ?? "locked",
    settings: {
      theme: (q.get("theme") as "light" | "dark" | null) ?? "system",
      hide_codes: q.get("hide") === "1",
      language: (q.get("lang") as "en" | "ja" | null) ?? "system",
    },
    osLocale: navigator.language,
    policy: managed
      ? {
          managed: true,
          organization: "Contoso Ltd",
          allowed_origins: ["https://id.contoso.com"],
          require_app_lock: true,
          max_auto_lock_mins: 15,
          disable_export: true,
          disable_manual_entry: true,
          error: q.get("policyError") ?? null,
        }
      : undefined,
    accounts,
    pushes:
      q.get("push") === "1"
        ? [
            {
              transaction_id: "tx-demo-1",
              device_id: "dev-1",
              server_origin: "https://id.example.com",
              user: "alice",
              application: "Example Cloud Console",
              origin: "https://console.example.com",
              ip: "203.0.113.42",
              location: "Berlin, Germany",
              user_agent: "Firefox 140 on Linux",
              requested_at: now - 8,
              expires_at: now + 110,
              number_choices: q.get("choices") === "1" ? [17, 42, 86] : [],
              device_network: q.get("network") === "different" ? "different" : "same",
              device_network_prefix: "198.51.100.0/24",
            },
          ]
        : [],
    enrollments: [
      {
        device_id: "dev-1",
        origin: "https://id.example.com",
        user: "alice",
        device_name: "Alice's laptop",
        algorithm: "ES256",
        server_fingerprint: "SHA256:7f3a91c20b4ed6a855e1c0f93b72aa10",
        connected: true,
      },
      {
        device_id: "dev-2",
        origin: "https://sso.old-corp.example",
        user: "a.smith",
        device_name: "Alice's laptop",
        algorithm: "EdDSA",
        server_fingerprint: "SHA256:0c51e7a2b39d44f18a6e2d90c7f3b815",
        connected: false,
      },
    ],
    history: [
      { transaction_id: "h1", kind: "push", application: "Example Cloud Console", origin: "https://console.example.com", ip: "203.0.113.42", location: "Berlin, Germany", outcome: "approved", at: now - 3600 },
      { transaction_id: "h2", kind: "qr_login", application: "Example Portal", origin: "https://portal.example.com", ip: "198.51.100.7", location: null, outcome: "denied", at: now - 86400 * 2 },
      { transaction_id: "h3", kind: "push", application: "Example Cloud Console", origin: "https://console.example.com", ip: "192.0.2.200", location: "Unknown", outcome: "not_me", at: now - 86400 * 5 },
    ],
    scan: {
      source: "2 monitors",
      found: [
        { kind: "account", label: "GitLab: alice@example.com", handle: "s1", problem: null },
        { kind: "qr_login", label: "Sign-in request from https://portal.example.com", handle: "s2", problem: null },
        { kind: "other", label: "https://example.com/docs", handle: "s3", problem: null },
      ],
    },
    importPreview: {
      format: "aegis",
      entries: [
        { index: 0, issuer: "GitLab", name: "alice", otp_type: "totp", duplicate: false },
        { index: 1, issuer: "GitHub", name: "alice", otp_type: "totp", duplicate: true },
        { index: 2, issuer: "Mastodon", name: "@alice@social.example", otp_type: "totp", duplicate: false },
      ],
      skipped: [{ name: "Yandex (alice)", reason: { code: "skip_yandex", params: {} } }],
    },
  };
  const mock = createMockBackend(opts);
  setBackend(mock);
  const screen = q.get("screen") as Screen | null;
  if (screen) {
    const unwatch = $effectRootLike(() => app.unlocked, () => (app.screen = screen));
    void unwatch;
  }
  (window as unknown as { tessera: unknown }).tessera = mock;
}

/** Runs `then` once `cond` holds (polls; demo only). */
function $effectRootLike(cond: () => boolean, then: () => void): () => void {
  const t = setInterval(() => {
    if (cond()) {
      clearInterval(t);
      then();
    }
  }, 20);
  return () => clearInterval(t);
}
