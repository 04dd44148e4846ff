import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderApp } from "./helpers";

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
        skipped: [{ name: "Yubikey slot", reason: "not an OTP account" }],
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
    expect(screen.getByTestId("import-skipped")).toHaveTextContent("Yubikey slot: not an OTP account");
    expect(document.getElementById("import-commit")).toHaveTextContent("Import 1 account");
    await user.click(screen.getByTestId("keep-duplicates"));
    expect(document.getElementById("import-commit")).toHaveTextContent("Import 2 accounts");
    await user.click(screen.getByTestId("skip-duplicates"));
    await user.click(document.getElementById("import-commit")!);
    expect(mock.callsTo("importCommit")).toEqual([[false]]);
    expect(await screen.findByTestId("add-result")).toHaveTextContent("Account added. Already in the vault, not added again: GitHub: alice");
  });
});
