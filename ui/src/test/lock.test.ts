import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { app } from "../lib/app.svelte";
import { account, renderApp, rows } from "./helpers";

describe("first run", () => {
  it("refuses a passphrase whose confirmation differs", async () => {
    const mock = await renderApp({ state: "no_vault" });
    const user = userEvent.setup();
    await user.type(document.getElementById("new-passphrase")!, "longenough1");
    await user.type(document.getElementById("new-passphrase-confirm")!, "longenough2");
    await user.click(document.getElementById("create-vault")!);
    expect(screen.getByTestId("error")).toHaveTextContent(/do not match/i);
    expect(mock.callsTo("createVault")).toEqual([]);
  });

  it("creates a passphrase vault when both fields match, and a keyring vault with null", async () => {
    let mock = await renderApp({ state: "no_vault" });
    const user = userEvent.setup();
    await user.type(document.getElementById("new-passphrase")!, "correct horse");
    await user.type(document.getElementById("new-passphrase-confirm")!, "correct horse");
    await user.click(document.getElementById("create-vault")!);
    expect(mock.callsTo("createVault")).toEqual([["correct horse"]]);
    await waitFor(() => expect(document.getElementById("lock-now")).toBeInTheDocument());

    document.body.innerHTML = "";
    mock = await renderApp({ state: "no_vault" });
    await user.click(document.getElementById("create-keyring")!);
    expect(mock.callsTo("createVault")).toEqual([[null]]);
  });
});

describe("lock screen", () => {
  it("shows the backend's message on a wrong passphrase, then unlocks with the right one", async () => {
    const mock = await renderApp({ state: "locked", passphrase: "right one", accounts: [account({ issuer: "GitHub" })] });
    const user = userEvent.setup();
    await user.type(document.getElementById("passphrase")!, "wrong");
    await user.click(document.getElementById("unlock")!);
    expect(await screen.findByTestId("error")).toHaveTextContent("Wrong passphrase.");
    await user.type(document.getElementById("passphrase")!, "right one");
    await user.click(document.getElementById("unlock")!);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(mock.callsTo("unlock")).toEqual([["wrong"], ["right one"]]);
  });

  it("opens a keyring vault at launch, and after a lock unlocks it with one button", async () => {
    const mock = await renderApp({ state: "locked", keyKind: "keyring", accounts: [account({ issuer: "GitHub" })] });
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(mock.callsTo("unlock")).toEqual([[null]]);
    mock.data.status.state = "locked";
    mock.emit("tessera://status", structuredClone(mock.data.status));
    await waitFor(() => expect(document.getElementById("unlock")).toBeInTheDocument());
    expect(document.getElementById("passphrase")).toBeNull();
    expect(mock.callsTo("unlock")).toHaveLength(1);
    await fireEvent.click(document.getElementById("unlock")!);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(mock.callsTo("unlock")).toEqual([[null], [null]]);
  });

  it("drops every account from memory and the screen on a lock event", async () => {
    const mock = await renderApp({ accounts: [account({ issuer: "GitHub" }), account({ issuer: "Google" })] });
    expect(rows()).toHaveLength(2);
    mock.data.status.state = "locked";
    mock.emit("tessera://status", structuredClone(mock.data.status));
    await waitFor(() => expect(document.getElementById("passphrase")).toBeInTheDocument());
    expect(rows()).toHaveLength(0);
    expect(screen.queryAllByTestId("code")).toHaveLength(0);
    expect(app.accounts).toEqual([]);
  });

  it("locks on Ctrl+L and with the lock button", async () => {
    const mock = await renderApp({ accounts: [account()] });
    await fireEvent.keyDown(window, { key: "l", ctrlKey: true });
    await waitFor(() => expect(document.getElementById("unlock")).toBeInTheDocument());
    expect(mock.callsTo("lock")).toHaveLength(1);
  });
});
