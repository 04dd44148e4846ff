import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";

/** The last theme, applied before the first paint so a dark-theme user sees no light flash. */
const THEME_KEY = "tessera.theme";

async function start() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
  } catch {
    // Storage may be unavailable; the status applies the theme a moment later.
  }
  // `vite --mode demo` / `vite build --mode demo`: run on the in-memory mock backend, for looking
  // at the UI in a plain browser. The condition is a build-time constant: production builds drop it.
  if (import.meta.env.MODE === "demo") {
    const { installDemo } = await import("./demo");
    installDemo();
  }
  mount(App, { target: document.getElementById("app")! });
}

void start();
