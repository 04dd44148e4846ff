import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError, errorOf, tauriBackend as b, toCommandError } from "./backend";

describe("backend (over Tauri IPC)", () => {
  afterEach(() => clearMocks());

  it("sends each command with the contract's snake_case arguments", async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return null;
    });
    await b.importCommit(true);
    await b.answerPush("tx1", "approve", 42);
    await b.unenroll("dev-1", true);
    await b.enroll("tessera://enroll?x", null);
    await b.exportAccounts("/tmp/a.json", "aegis", null);
    await b.importPreview("/tmp/in.json", null, "pw");
    await b.updateAccount(7, { issuer: "I", name: "N", groups: ["g"], note: "", favourite: true });
    await b.moveAccount(7, -1);
    await b.qrLoginAnswer("h", false);
    await b.scanImageBytes([1, 2, 3]);
    await b.createVault(null);
    expect(seen).toEqual([
      ["import_commit", { keep_duplicates: true }],
      ["answer_push", { transaction_id: "tx1", decision: "approve", number: 42 }],
      ["unenroll", { device_id: "dev-1", local_only: true }],
      ["enroll", { link: "tessera://enroll?x", device_name: null }],
      ["export_accounts", { path: "/tmp/a.json", format: "aegis", password: null }],
      ["import_preview", { path: "/tmp/in.json", format: null, password: "pw" }],
      ["update_account", { id: 7, edit: { issuer: "I", name: "N", groups: ["g"], note: "", favourite: true } }],
      ["move_account", { id: 7, delta: -1 }],
      ["qr_login_answer", { handle: "h", approve: false }],
      ["scan_image_bytes", { bytes: [1, 2, 3] }],
      ["create_vault", { passphrase: null }],
    ]);
  });

  it("turns every rejection into a CommandError {code, message}", async () => {
    mockIPC((cmd) => {
      if (cmd === "unlock") throw { code: "wrong_passphrase", message: "Wrong passphrase." };
      throw "plain string";
    });
    const e1 = await b.unlock("x").catch((e) => e);
    expect(e1).toBeInstanceOf(BackendError);
    expect(errorOf(e1)).toEqual({ code: "wrong_passphrase", message: "Wrong passphrase." });
    const e2 = await b.status().catch((e) => e);
    expect(errorOf(e2)).toEqual({ code: "internal", message: "plain string" });
    expect(toCommandError(new Error("boom"))).toEqual({ code: "internal", message: "boom" });
  });

  it("delivers event payloads to the on* wrappers", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const gone = vi.fn();
    const un = await b.onPushGone(gone);
    await emit("tessera://push-gone", "tx9");
    expect(gone).toHaveBeenCalledWith("tx9");
    un();
  });
});
