import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import AccountRow from "../components/accounts/AccountRow.svelte";
import { app } from "../lib/app.svelte";
import { account, renderApp, row, rows } from "./helpers";

const sample = () => [
  account({ id: 101, issuer: "GitHub", name: "alice", groups: ["Work"] }),
  account({ id: 102, issuer: "Google", name: "alice@gmail.com", groups: ["Personal"] }),
  account({ id: 103, issuer: "Bank", name: "savings", otp_type: "hotp", groups: ["Personal"] }),
];

describe("account list", () => {
  it("renders each account with its code grouped for reading", async () => {
    await renderApp({ accounts: sample() });
    expect(rows().map((r) => r.dataset.issuer)).toEqual(["GitHub", "Google", "Bank"]);
    const code = within(row("GitHub")).getByTestId("code");
    expect(code.textContent).toMatch(/^\d{3} \d{3}$/);
    expect(code).toHaveAttribute("aria-label", expect.stringMatching(/^Code (\d ){5}\d$/));
    expect(row("GitHub").dataset.id).toBe("101");
  });

  it("filters as you type over issuer, name and groups", async () => {
    await renderApp({ accounts: sample() });
    const user = userEvent.setup();
    const search = document.getElementById("search")!;
    await user.type(search, "goo");
    expect(rows().map((r) => r.dataset.issuer)).toEqual(["Google"]);
    await user.clear(search);
    await user.type(search, "personal");
    expect(rows().map((r) => r.dataset.issuer)).toEqual(["Google", "Bank"]);
    await user.clear(search);
    await user.type(search, "alice gmail");
    expect(rows().map((r) => r.dataset.issuer)).toEqual(["Google"]);
    await user.type(search, "zzz");
    expect(rows()).toHaveLength(0);
    expect(screen.getByTestId("no-match")).toBeInTheDocument();
  });

  it("filters by group chip", async () => {
    await renderApp({ accounts: sample() });
    await fireEvent.click(screen.getByRole("button", { name: "Work" }));
    expect(rows().map((r) => r.dataset.issuer)).toEqual(["GitHub"]);
    await fireEvent.click(screen.getByRole("button", { name: "All" }));
    expect(rows()).toHaveLength(3);
  });

  it("copies the row's code on click and on Enter, and says when the clipboard clears", async () => {
    const mock = await renderApp({ accounts: sample(), settings: { clipboard_clear_secs: 20 } });
    await fireEvent.click(within(row("Google")).getByTestId("copy"));
    expect(mock.callsTo("copyCode")).toEqual([[102]]);
    expect(await screen.findByTestId("toast")).toHaveTextContent("Copied — clears in 20 s");
    await fireEvent.keyDown(row("GitHub"), { key: "Enter" });
    expect(mock.callsTo("copyCode")).toEqual([[102], [101]]);
  });

  it("masks codes when hide-codes is on: click reveals, Enter still copies", async () => {
    const mock = await renderApp({ accounts: sample(), settings: { hide_codes: true } });
    const code = () => within(row("GitHub")).getByTestId("code");
    expect(code().textContent).toBe("••• •••");
    await fireEvent.keyDown(row("GitHub"), { key: "Enter" });
    expect(mock.callsTo("copyCode")).toEqual([[101]]);
    expect(code().textContent).toBe("••• •••");
    await fireEvent.click(code());
    expect(code().textContent).toMatch(/^\d{3} \d{3}$/);
    await fireEvent.keyDown(row("GitHub"), { key: " " });
    expect(code().textContent).toBe("••• •••");
  });

  it("toggles a favourite through update_account", async () => {
    const mock = await renderApp({ accounts: sample() });
    await fireEvent.click(within(row("Google")).getByTestId("favourite"));
    await waitFor(() => expect(mock.callsTo("updateAccount")).toHaveLength(1));
    expect(mock.callsTo("updateAccount")[0]).toEqual([102, { issuer: "Google", name: "alice@gmail.com", groups: ["Personal"], note: "", favourite: true }]);
    // Favourites come first after the reload.
    await waitFor(() => expect(rows()[0]!.dataset.issuer).toBe("Google"));
  });

  it("asks the backend for the next HOTP code and shows it", async () => {
    const mock = await renderApp({ accounts: sample() });
    expect(within(row("Bank")).getByTestId("code")).toHaveTextContent(/press/i);
    await fireEvent.click(within(row("Bank")).getByTestId("next-hotp"));
    expect(mock.callsTo("nextHotp")).toEqual([[103]]);
    await waitFor(() => expect(within(row("Bank")).getByTestId("code").textContent).toMatch(/^\d{3} \d{3}$/));
  });

  it("moves an account down in manual order", async () => {
    const mock = await renderApp({ accounts: sample() });
    await fireEvent.click(within(row("GitHub")).getByTestId("move-down"));
    expect(mock.callsTo("moveAccount")).toEqual([[101, 1]]);
    await waitFor(() => expect(rows().map((r) => r.dataset.issuer)).toEqual(["Google", "GitHub", "Bank"]));
    expect(within(row("Google")).getByTestId("move-up")).toBeDisabled();
  });

  it("edits an account and deletes only after confirmation", async () => {
    const mock = await renderApp({ accounts: sample() });
    const user = userEvent.setup();
    await user.click(within(row("GitHub")).getByTestId("edit"));
    const issuer = document.getElementById("edit-issuer") as HTMLInputElement;
    await user.clear(issuer);
    await user.type(issuer, "GitHub Enterprise");
    await user.type(document.getElementById("edit-groups")!, ", Dev");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(mock.callsTo("updateAccount")[0]).toEqual([101, { issuer: "GitHub Enterprise", name: "alice", groups: ["Work", "Dev"], note: "", favourite: false }]);

    await waitFor(() => expect(row("GitHub Enterprise")).toBeInTheDocument());
    await user.click(within(row("GitHub Enterprise")).getByTestId("edit"));
    await user.click(screen.getByTestId("delete"));
    expect(mock.callsTo("deleteAccount")).toEqual([]);
    await user.keyboard("{Escape}");
    expect(mock.callsTo("deleteAccount")).toEqual([]);
    await user.click(within(row("GitHub Enterprise")).getByTestId("edit"));
    await user.click(screen.getByTestId("delete"));
    await user.click(screen.getByTestId("confirm-yes"));
    expect(mock.callsTo("deleteAccount")).toEqual([[101]]);
    await waitFor(() => expect(rows()).toHaveLength(2));
  });

  it("focuses the search with /", async () => {
    await renderApp({ accounts: sample() });
    await fireEvent.keyDown(document.body, { key: "/" });
    expect(document.activeElement).toBe(document.getElementById("search"));
  });

  it("renders a 1,000-account list windowed and fast", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => account({ issuer: `Service ${i}`, name: `u${i}` }));
    const t0 = performance.now();
    await renderApp({ accounts: many });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(rows().length).toBeGreaterThan(0);
    expect(rows().length).toBeLessThan(60);
    expect(screen.getByRole("list", { name: "1000 accounts" })).toBeInTheDocument();
  });
});

describe("countdown", () => {
  const props = (over: Record<string, unknown>) => ({
    account: account({ id: 5, issuer: "X", code: "111222", next_code: "333444", valid_until: 1_000_020 }),
    second: 1_000_000,
    index: 0,
    hidden: false,
    maskable: false,
    canMove: false,
    first: true,
    last: true,
    oncopy: vi.fn(),
    onreveal: vi.fn(),
    onnexthotp: vi.fn(),
    onfavourite: vi.fn(),
    onedit: vi.fn(),
    onmove: vi.fn(),
    ondelete: vi.fn(),
    ...over,
  });

  it("computes the time left from valid_until and shows the next code in the last 5 s", async () => {
    const { rerender } = render(AccountRow, props({}));
    const cd = screen.getByTestId("countdown");
    expect(cd).toHaveAttribute("aria-label", "Expires in 20 seconds");
    expect(screen.queryByText(/next/)).toBeNull();
    await rerender(props({ second: 1_000_016 }));
    expect(screen.getByTestId("countdown")).toHaveAttribute("aria-label", "Expires in 4 seconds");
    expect(screen.getByText("next 333 444")).toBeInTheDocument();
    // Past valid_until, before the reload lands, the next code is the current one.
    await rerender(props({ second: 1_000_021 }));
    expect(screen.getByTestId("code")).toHaveTextContent("333 444");
    expect(screen.getByTestId("countdown")).toHaveAttribute("aria-label", "Expires in 29 seconds");
  });

  it("reloads the list once the earliest code expires, from one shared ticker", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      vi.setSystemTime(new Date(1_700_000_005_000));
      const mock = await renderApp({ accounts: [account({ period: 30 }), account({ period: 60 })] });
      const loads = () => mock.callsTo("listAccounts").length;
      const before = loads();
      // 1_700_000_005 is 25 s before the 30 s step ends (…010 is a multiple of 30? …000+10).
      const until = app.accounts.reduce((m, a) => Math.min(m, a.valid_until ?? Infinity), Infinity);
      await vi.advanceTimersByTimeAsync((until - 1_700_000_005) * 1000 - 1500);
      expect(loads()).toBe(before);
      await vi.advanceTimersByTimeAsync(2000);
      expect(loads()).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
