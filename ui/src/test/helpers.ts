// Shared test set-up: a fresh mock backend and app state, and the App rendered on it.
import { render, screen, waitFor } from "@testing-library/svelte";
import App from "../App.svelte";
import { app } from "../lib/app.svelte";
import { setBackend } from "../lib/backend";
import { account, createMockBackend, type MockBackend, type MockOptions } from "../lib/backend.mock";
import { clock } from "../lib/clock.svelte";
import { toasts } from "../lib/toast.svelte";

export { account };

export function useMock(opts: MockOptions = {}): MockBackend {
  app.reset();
  clock.stop();
  toasts.clear();
  const mock = createMockBackend(opts);
  setBackend(mock);
  return mock;
}

/** Renders the whole app (main window) and waits for the first status. */
export async function renderApp(opts: MockOptions = {}): Promise<MockBackend> {
  const mock = useMock(opts);
  render(App);
  await waitFor(() => expect(app.status).not.toBeNull());
  if (app.unlocked) await waitFor(() => expect(app.accountsLoaded).toBe(true));
  return mock;
}

/** All account rows on screen. */
export function rows(): HTMLElement[] {
  return screen.queryAllByTestId("account");
}

export function row(issuer: string): HTMLElement {
  const r = rows().find((x) => x.dataset.issuer === issuer);
  if (!r) throw new Error(`no row for ${issuer}; rows: ${rows().map((x) => x.dataset.issuer).join(", ")}`);
  return r;
}
