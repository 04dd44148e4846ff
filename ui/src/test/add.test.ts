import { fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderApp } from "./helpers";

async function openAdd() {
  await fireEvent.click(document.getElementById("nav-add")!);
}

describe("add screen", () => {
  it("hides manual entry, with an explanation, when the policy disables it", async () => {
    await renderApp({ policy: { managed: true, organization: "Contoso", disable_manual_entry: true } });
    await openAdd();
    expect(document.getElementById("manual-secret")).toBeNull();
    expect(screen.getByTestId("manual-disabled")).toHaveTextContent("Contoso has turned off typing secrets");
    // Scanning is still there.
    expect(document.getElementById("add-scan-screen")).toBeInTheDocument();
  });

  it("sends the manual form to add_manual and shows the warnings", async () => {
    const mock = await renderApp();
    await openAdd();
    const user = userEvent.setup();
    await user.type(document.getElementById("manual-issuer")!, "Example");
    await user.type(document.getElementById("manual-name")!, "bob");
    await user.type(document.getElementById("manual-secret")!, "JBSWY3DPEHPK3PXP");
    await user.selectOptions(document.getElementById("manual-digits")!, "8");
    await user.click(document.getElementById("manual-submit")!);
    expect(mock.callsTo("addManual")).toEqual([
      [{ issuer: "Example", name: "bob", secret: "JBSWY3DPEHPK3PXP", otp_type: "totp", algorithm: "SHA1", digits: 8, period: 30, counter: null }],
    ]);
    expect(await screen.findByTestId("add-result")).toHaveTextContent("Account added.");
    // The core's coded warning, worded by the catalogue with its parameter.
    expect(screen.getByTestId("warning")).toHaveTextContent("Example (bob): The secret has only 80 bits; RFC 4226 asks for at least 128.");
  });

  it("says so when a screen scan finds nothing", async () => {
    await renderApp();
    await openAdd();
    await fireEvent.click(document.getElementById("add-scan-screen")!);
    expect(await screen.findByTestId("scan-none")).toHaveTextContent("No QR code found on the screen");
  });

  it("lets the user pick among several finds: account → add_scanned, qr_login → confirmation → answer", async () => {
    const mock = await renderApp({
      scan: {
        source: "2 monitors",
        found: [
          { kind: "account", label: "GitLab: alice", handle: "h-acc", problem: null },
          { kind: "qr_login", label: "Sign-in request from https://portal.example.com", handle: "h-qr", problem: null },
          { kind: "other", label: "https://example.com", handle: "h-other", problem: null },
          { kind: "account", label: "Broken: x", handle: "h-bad", problem: "Unsupported algorithm MD5" },
        ],
      },
    });
    await openAdd();
    await fireEvent.click(document.getElementById("add-scan-screen")!);
    const finds = await screen.findAllByTestId("scan-found");
    expect(finds.map((f) => f.dataset.kind)).toEqual(["account", "qr_login", "other", "account"]);
    expect(within(finds[2]!).queryByTestId("scan-use")).toBeNull();
    expect(within(finds[3]!).queryByTestId("scan-use")).toBeNull();
    expect(finds[3]).toHaveTextContent("Unsupported algorithm MD5");
    expect(mock.callsTo("addScanned")).toEqual([]);

    await fireEvent.click(within(finds[0]!).getByTestId("scan-use"));
    await waitFor(() => expect(mock.callsTo("addScanned")).toEqual([["h-acc"]]));
    expect(await screen.findByTestId("add-result")).toHaveTextContent("Account added.");

    await fireEvent.click(within(screen.getAllByTestId("scan-found")[1]!).getByTestId("scan-use"));
    const card = await screen.findByTestId("qr-login");
    expect(mock.callsTo("qrLoginDetails")).toEqual([["h-qr"]]);
    expect(card).toHaveTextContent("Example portal");
    expect(card).toHaveTextContent("198.51.100.7");
    await fireEvent.click(document.getElementById("qr-approve")!);
    await waitFor(() => expect(mock.callsTo("qrLoginAnswer")).toEqual([["qr-1", true]]));
    expect(await screen.findByTestId("qr-result")).toHaveTextContent("Signed in");
  });

  it("adds a pasted otpauth link and shows duplicates the backend reports", async () => {
    const mock = await renderApp();
    mock.addUri = async () => ({ added: [], duplicates: ["GitHub: alice"], warnings: [], skipped: [] });
    await openAdd();
    const user = userEvent.setup();
    await user.type(document.getElementById("uri-input")!, "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP");
    await user.click(document.getElementById("uri-submit")!);
    expect(await screen.findByTestId("duplicates")).toHaveTextContent("GitHub: alice");
  });

  it("scans a dropped image file and a pasted image", async () => {
    const mock = await renderApp();
    mock.drop(["/home/a/notes.txt", "/home/a/qr.png"]);
    await waitFor(() => expect(mock.callsTo("scanImageFile")).toEqual([["/home/a/qr.png"]]));
    expect(document.getElementById("nav-add")).toHaveAttribute("aria-selected", "true");

    const file = new File([new Uint8Array([137, 80, 78, 71])], "x.png", { type: "image/png" });
    const ev = new Event("paste", { bubbles: true, cancelable: true }) as ClipboardEvent;
    Object.defineProperty(ev, "clipboardData", { value: { files: [file] } });
    window.dispatchEvent(ev);
    await waitFor(() => expect(mock.callsTo("scanImageBytes")).toEqual([[[137, 80, 78, 71]]]));
  });
});
