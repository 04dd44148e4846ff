import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import App from "../App.svelte";
import QrLoginCard from "../components/QrLoginCard.svelte";
import type { PushView } from "../lib/bindings/PushView";
import type { QrLoginView } from "../lib/bindings/QrLoginView";
import { renderApp, useMock } from "./helpers";

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
  requested_at: Math.floor(Date.now() / 1000) - 5,
  expires_at: Math.floor(Date.now() / 1000) + 90,
  number_choices: [],
  device_network: "same",
  device_network_prefix: "203.0.113.0/24",
  ...over,
});

describe("push approval in the main window", () => {
  it("shows who is asking and sends the typed number with the decision", async () => {
    const mock = await renderApp({ pushes: [push()] });
    const card = await screen.findByTestId("approval");
    expect(card.dataset.tx).toBe("tx-1");
    for (const t of ["Example Console", "https://console.example.com", "Berlin, Germany", "203.0.113.42", "Firefox on Linux"])
      expect(card).toHaveTextContent(t);
    const approve = document.getElementById("approve")!;
    expect(approve).toBeDisabled();
    const user = userEvent.setup();
    await user.type(document.getElementById("approval-number")!, "42");
    await user.click(approve);
    expect(mock.callsTo("answerPush")).toEqual([["tx-1", "approve", 42]]);
    expect(await screen.findByTestId("approval-result")).toHaveTextContent("Approved");
  });

  it("sends deny and not-me without a number", async () => {
    const mock = await renderApp({ pushes: [push(), push({ transaction_id: "tx-2" })] });
    await screen.findAllByTestId("approval");
    const [first, second] = screen.getAllByTestId("approval");
    await fireEvent.click(first!.querySelector("#deny")!);
    await fireEvent.click(second!.querySelector("#not-me")!);
    await waitFor(() => expect(mock.callsTo("answerPush")).toEqual([["tx-1", "deny", null], ["tx-2", "not_me", null]]));
  });

  it("shows number choices as buttons instead of the input", async () => {
    const mock = await renderApp({ pushes: [push({ number_choices: [17, 42, 86] })] });
    await screen.findByTestId("approval");
    expect(document.getElementById("approval-number")).toBeNull();
    const choices = screen.getAllByTestId("number-choice");
    expect(choices.map((c) => c.textContent)).toEqual(["17", "42", "86"]);
    await fireEvent.click(choices[2]!);
    await fireEvent.click(document.getElementById("approve")!);
    await waitFor(() => expect(mock.callsTo("answerPush")).toEqual([["tx-1", "approve", 86]]));
  });

  it("disables Approve and says expired once expires_at has passed", async () => {
    const mock = await renderApp({ pushes: [push({ expires_at: Math.floor(Date.now() / 1000) - 1 })] });
    await screen.findByTestId("approval");
    expect(document.getElementById("approve")).toBeDisabled();
    expect(document.getElementById("deny")).toBeDisabled();
    expect(screen.getByTestId("approval-expiry")).toHaveTextContent("Expired");
    expect(screen.getByTestId("approval-result")).toHaveTextContent(/expired/i);
    expect(mock.callsTo("answerPush")).toEqual([]);
  });

  it("adds pushes from the event and drops them on push-gone", async () => {
    const mock = await renderApp();
    expect(screen.queryByTestId("approval")).toBeNull();
    mock.emit("tessera://push", push({ transaction_id: "tx-live" }));
    expect((await screen.findByTestId("approval")).dataset.tx).toBe("tx-live");
    mock.emit("tessera://push-gone", "tx-live");
    await waitFor(() => expect(screen.queryByTestId("approval")).toBeNull());
  });
});

describe("approval window", () => {
  afterEach(() => {
    vi.useRealTimers();
    history.replaceState(null, "", "/");
  });

  it("renders only the card, focuses the number, and closes ~1.5 s after the answer", async () => {
    history.replaceState(null, "", "/#approve=tx-1");
    const mock = useMock({ pushes: [push()], accounts: [] });
    render(App);
    const card = await screen.findByTestId("approval");
    expect(card.dataset.tx).toBe("tx-1");
    expect(document.getElementById("nav-accounts")).toBeNull();
    expect(mock.callsTo("listAccounts")).toEqual([]);
    await waitFor(() => expect(document.activeElement).toBe(document.getElementById("approval-number")));
    const user = userEvent.setup();
    await user.type(document.getElementById("approval-number")!, "7");
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    await fireEvent.click(document.getElementById("approve")!);
    await vi.advanceTimersByTimeAsync(100);
    expect(mock.callsTo("answerPush")).toEqual([["tx-1", "approve", 7]]);
    expect(mock.callsTo("closeWindow")).toEqual([]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(mock.callsTo("closeWindow")).toEqual([[]]);
  });
});

describe("the requester's network against this device's", () => {
  it("warns on the approval card when the networks differ", async () => {
    await renderApp({
      pushes: [push({ ip: "203.0.113.7", device_network: "different", device_network_prefix: "198.51.100.0/24" })],
    });
    const card = await screen.findByTestId("approval");
    const warning = within(card).getByRole("alert");
    expect(warning).toHaveAttribute("data-testid", "network-warning");
    expect(warning).toHaveTextContent("This request comes from a different network (203.0.113.7) than this device (198.51.100.0/24)");
    expect(within(card).queryByTestId("network-note")).toBeNull();
  });

  it("shows nothing when the same, and a neutral note when the server could not compare", async () => {
    await renderApp({
      pushes: [
        push({ transaction_id: "tx-same" }),
        push({ transaction_id: "tx-unknown", device_network: "unknown", device_network_prefix: null }),
      ],
    });
    await screen.findAllByTestId("approval");
    const [same, unknown] = screen.getAllByTestId("approval");
    expect(within(same!).queryByRole("alert")).toBeNull();
    expect(within(same!).queryByTestId("network-note")).toBeNull();
    expect(within(unknown!).queryByRole("alert")).toBeNull();
    const note = within(unknown!).getByRole("note");
    expect(note).toHaveTextContent("could not compare this request's network with this device's");
  });

  it("warns on the QR-login card too", async () => {
    const login = (over: Partial<QrLoginView>): QrLoginView => ({
      handle: "qr-1",
      server_origin: "https://id.example.com",
      user: "alice",
      application: "QR login",
      origin: "https://id.example.com",
      ip: "203.0.113.7",
      location: null,
      user_agent: null,
      expires_at: Math.floor(Date.now() / 1000) + 90,
      device_network: "different",
      device_network_prefix: "198.51.100.0/24",
      ...over,
    });
    useMock();
    const { unmount } = render(QrLoginCard, { props: { login: login({}) } });
    const card = screen.getByTestId("qr-login");
    expect(within(card).getByRole("alert")).toHaveTextContent(
      "This sign-in comes from a different network (203.0.113.7) than this device (198.51.100.0/24)",
    );
    unmount();
    render(QrLoginCard, { props: { login: login({ device_network: "same" }) } });
    expect(within(screen.getByTestId("qr-login")).queryByRole("alert")).toBeNull();
  });
});
