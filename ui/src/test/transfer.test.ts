import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { account, renderApp } from "./helpers";

async function openTransfer() {
  await fireEvent.click(document.getElementById("nav-transfer")!);
  await waitFor(() => expect((document.getElementById("export-format") as HTMLSelectElement).options.length).toBeGreaterThan(0));
}

describe("export", () => {
  it("needs the plaintext warning confirmed before export_accounts is called", async () => {
    const mock = await renderApp();
    await openTransfer();
    const user = userEvent.setup();
    await user.selectOptions(document.getElementById("export-format")!, "aegis");
    expect(screen.getByTestId("plaintext-warning")).toHaveTextContent("will not be encrypted");
    const submit = document.getElementById("export-submit")!;
    expect(submit).toBeDisabled();
    await user.click(submit);
    expect(mock.callsTo("exportAccounts")).toEqual([]);
    await user.click(document.getElementById("export-plaintext-ok")!);
    await user.click(submit);
    await waitFor(() => expect(mock.callsTo("exportAccounts")).toEqual([["/home/alice/Documents/tessera-backup.tessera", "aegis", null]]));
    expect(await screen.findByTestId("export-result")).toHaveTextContent("/home/alice/Documents/tessera-backup.tessera");
  });

  it("asks for a matching password for encrypted formats and shows the verification", async () => {
    const mock = await renderApp();
    await openTransfer();
    const user = userEvent.setup();
    expect((document.getElementById("export-format") as HTMLSelectElement).value).toBe("backup");
    expect(screen.queryByTestId("plaintext-warning")).toBeNull();
    await user.type(document.getElementById("export-password")!, "s3cret-pw");
    await user.type(document.getElementById("export-password-confirm")!, "s3cret-px");
    expect(document.getElementById("export-submit")).toBeDisabled();
    await user.clear(document.getElementById("export-password-confirm")!);
    await user.type(document.getElementById("export-password-confirm")!, "s3cret-pw");
    await user.click(document.getElementById("export-submit")!);
    await waitFor(() => expect(mock.callsTo("exportAccounts")[0]).toEqual([expect.any(String), "backup", "s3cret-pw"]));
    expect(await screen.findByTestId("export-result")).toHaveTextContent("verified");
  });

  it("names what Google's format cannot carry, in the current language", async () => {
    await renderApp({
      settings: { language: "ja" },
      accounts: [account({ issuer: "Boeing", name: "Sophia", otp_type: "steam", digits: 5 }), account({ issuer: "SPDX", name: "James", period: 20 }), account()],
    });
    await openTransfer();
    const user = userEvent.setup();
    await user.selectOptions(document.getElementById("export-format")!, "migration");
    await user.click(document.getElementById("export-plaintext-ok")!);
    await user.click(document.getElementById("export-submit")!);
    expect(await screen.findByTestId("export-result")).toHaveTextContent("1件のアカウントをエクスポートしました");
    const result = screen.getByTestId("export-skipped");
    expect(result).toHaveTextContent("Boeing (Sophia): Google Authenticator は Steam のコードを扱えません。");
    expect(result).toHaveTextContent("SPDX (James): Google Authenticator が扱えるのは 30 秒ごとに変わるコードだけです（このアカウントは 20 秒）。");
  });

  it("is hidden with a note when the policy disables export", async () => {
    await renderApp({ policy: { managed: true, disable_export: true } });
    await fireEvent.click(document.getElementById("nav-transfer")!);
    expect(await screen.findByTestId("export-disabled")).toBeInTheDocument();
    expect(document.getElementById("export-submit")).toBeNull();
  });
});

describe("import", () => {
  it("previews with duplicates flagged and skipped entries named, then commits the choice", async () => {
    const mock = await renderApp({
      importPreview: {
        format: "aegis",
        entries: [
          { index: 0, issuer: "GitLab", name: "alice", otp_type: "totp", duplicate: false },
          { index: 1, issuer: "GitHub", name: "alice", otp_type: "totp", duplicate: true },
        ],
        skipped: [
          { name: "Deno (Mason)", reason: { code: "skip_yandex", params: {} } },
          { name: "SPDX (James)", reason: { code: "skip_unsupported_type", params: { kind: "PUSH" } } },
        ],
      },
    });
    await fireEvent.click(document.getElementById("nav-transfer")!);
    const user = userEvent.setup();
    await user.click(document.getElementById("import-choose")!);
    await waitFor(() => expect(screen.getByTestId("import-file")).toHaveTextContent("aegis-export.json"));
    await user.selectOptions(document.getElementById("import-format")!, "2fas");
    await user.type(document.getElementById("import-password")!, "pw");
    await user.click(document.getElementById("import-preview")!);
    await waitFor(() => expect(screen.getAllByTestId("import-entry")).toHaveLength(2));
    expect(mock.callsTo("importPreview")).toEqual([["/home/alice/Downloads/aegis-export.json", "2fas", "pw"]]);
    const [a, b] = screen.getAllByTestId("import-entry");
    expect(a!.dataset.duplicate).toBe("false");
    expect(b!.dataset.duplicate).toBe("true");
    expect(b).toHaveTextContent("already in vault");
    expect(screen.getByTestId("import-skipped")).toHaveTextContent(
      "2 entries cannot be imported: Deno (Mason): Yandex codes are not supported.SPDX (James): Its type “PUSH” is not supported.",
    );
    expect(document.getElementById("import-commit")).toHaveTextContent("Import 1 account");
    await user.click(screen.getByTestId("keep-duplicates"));
    expect(document.getElementById("import-commit")).toHaveTextContent("Import 2 accounts");
    await user.click(screen.getByTestId("skip-duplicates"));
    await user.click(document.getElementById("import-commit")!);
    expect(mock.callsTo("importCommit")).toEqual([[false]]);
    expect(await screen.findByTestId("add-result")).toHaveTextContent("Account added. Already in the vault, not added again: GitHub: alice");
    expect(screen.getByTestId("add-skipped")).toHaveTextContent("2 entries were not added: Deno (Mason): Yandex codes are not supported.");
  });
});
