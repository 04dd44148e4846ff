import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { EnrollmentView } from "../lib/bindings/EnrollmentView";
import { renderApp } from "./helpers";

const enrollment = (over: Partial<EnrollmentView> = {}): EnrollmentView => ({
  device_id: "dev-1",
  origin: "https://id.example.com",
  user: "alice",
  device_name: "Laptop",
  algorithm: "ES256",
  server_fingerprint: "SHA256:abcd",
  connected: true,
  ...over,
});

describe("header", () => {
  it("shows the organization banner, what it locks, and a refused policy prominently", async () => {
    await renderApp({
      policy: { managed: true, organization: "Contoso Ltd", disable_export: true, max_auto_lock_mins: 10, error: "line 3: unknown key" },
    });
    const banner = screen.getByTestId("managed");
    expect(banner).toHaveTextContent("Contoso Ltd");
    expect(banner).toHaveTextContent("Managed by your organization");
    expect(banner).toHaveTextContent("export is disabled");
    expect(banner).toHaveTextContent("auto-lock after at most 10 min");
    expect(screen.getByTestId("policy-error")).toHaveTextContent("line 3: unknown key");
  });

  it("has no banner when unmanaged", async () => {
    await renderApp();
    expect(screen.queryByTestId("managed")).toBeNull();
  });
});

describe("devices", () => {
  it("lists enrollments and unenrolls after confirmation", async () => {
    const mock = await renderApp({ enrollments: [enrollment()] });
    await fireEvent.click(document.getElementById("nav-devices")!);
    const r = await screen.findByTestId("enrollment");
    expect(r).toHaveTextContent("https://id.example.com");
    expect(r).toHaveTextContent("SHA256:abcd");
    await fireEvent.click(within(r).getByTestId("unenroll"));
    expect(mock.callsTo("unenroll")).toEqual([]);
    await fireEvent.click(screen.getByTestId("confirm-yes"));
    await waitFor(() => expect(mock.callsTo("unenroll")).toEqual([["dev-1", false]]));
    await waitFor(() => expect(screen.queryByTestId("enrollment")).toBeNull());
  });

  it("offers to forget locally when the server cannot be reached", async () => {
    const mock = await renderApp({ enrollments: [enrollment({ connected: false })] });
    await fireEvent.click(document.getElementById("nav-devices")!);
    await fireEvent.click(within(await screen.findByTestId("enrollment")).getByTestId("unenroll"));
    await fireEvent.click(screen.getByTestId("confirm-yes"));
    const forget = await screen.findByTestId("forget-local");
    await fireEvent.click(forget);
    await waitFor(() => expect(mock.callsTo("unenroll")).toEqual([["dev-1", false], ["dev-1", true]]));
  });

  it("enrolls from a scanned QR and from a pasted link with the device name", async () => {
    const mock = await renderApp({
      policy: { allowed_origins: ["https://id.example.com"] },
      scan: { source: "1 monitor", found: [{ kind: "enroll", label: "Enroll with https://id.example.com", handle: "h-en", problem: null }] },
    });
    await fireEvent.click(document.getElementById("nav-devices")!);
    expect(screen.getByTestId("allowed-origins")).toHaveTextContent("https://id.example.com");
    const user = userEvent.setup();
    await user.type(document.getElementById("device-name")!, "Work laptop");
    await user.click(document.getElementById("device-scan")!);
    const found = await screen.findByTestId("scan-found");
    expect(found.dataset.kind).toBe("enroll");
    await user.click(within(found).getByTestId("scan-use"));
    await waitFor(() => expect(mock.callsTo("enroll")).toEqual([["h-en", "Work laptop"]]));
    await user.type(document.getElementById("enroll-link")!, "tessera://enroll?t=abc");
    await user.click(document.getElementById("enroll-submit")!);
    await waitFor(() => expect(mock.callsTo("enroll")[1]).toEqual(["tessera://enroll?t=abc", "Work laptop"]));
  });

  it("opens the QR-login confirmation straight from 'Sign in with QR'", async () => {
    const mock = await renderApp({
      scan: { source: "1 monitor", found: [{ kind: "qr_login", label: "Sign-in request", handle: "h-q", problem: null }] },
    });
    await fireEvent.click(document.getElementById("nav-devices")!);
    await fireEvent.click(document.getElementById("qr-login-scan")!);
    await screen.findByTestId("qr-login");
    expect(mock.callsTo("qrLoginDetails")).toEqual([["h-q"]]);
    await fireEvent.click(document.getElementById("qr-deny")!);
    await waitFor(() => expect(mock.callsTo("qrLoginAnswer")).toEqual([["qr-1", false]]));
    expect(await screen.findByTestId("qr-result")).toHaveTextContent("Denied");
  });
});

describe("settings", () => {
  it("caps auto-lock by the policy, never offers 'never' under require_app_lock, and marks it managed", async () => {
    await renderApp({ policy: { managed: true, require_app_lock: true, max_auto_lock_mins: 15 }, settings: { auto_lock_mins: 5 } });
    await fireEvent.click(document.getElementById("nav-settings")!);
    const sel = document.getElementById("set-autolock") as HTMLSelectElement;
    const values = Array.from(sel.options).map((o) => Number(o.value));
    expect(values).not.toContain(0);
    expect(Math.max(...values)).toBe(15);
    expect(screen.getByTestId("managed-badge")).toBeInTheDocument();
  });

  it("offers 'never' when unmanaged and saves changes through set_settings", async () => {
    const mock = await renderApp();
    await fireEvent.click(document.getElementById("nav-settings")!);
    const sel = document.getElementById("set-autolock") as HTMLSelectElement;
    expect(Array.from(sel.options).map((o) => o.textContent)).toContain("Never");
    expect(screen.queryByTestId("managed-badge")).toBeNull();
    const user = userEvent.setup();
    await user.selectOptions(document.getElementById("set-clipboard")!, "45");
    await waitFor(() => expect(mock.callsTo("setSettings").at(-1)?.[0]).toMatchObject({ clipboard_clear_secs: 45 }));
    await user.click(screen.getByLabelText("Dark"));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("dark"));
    await user.click(screen.getByLabelText("System"));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBeUndefined());
  });
});

describe("history", () => {
  it("lists answered requests with their outcome", async () => {
    await renderApp({
      history: [{ transaction_id: "t", kind: "push", application: "Console", origin: "https://c.example", ip: "192.0.2.1", location: null, outcome: "not_me", at: 1_700_000_000 }],
    });
    await fireEvent.click(document.getElementById("nav-history")!);
    const e = await screen.findByTestId("history-entry");
    expect(e).toHaveTextContent("Console");
    expect(e).toHaveTextContent("Reported as not you");
  });
});
