/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// The app runs inside Tauri's webview: no network, CSP `default-src 'self'`, so everything is
// bundled (no CDN fonts, no remote icons). `--mode demo` bundles the in-memory mock backend so the
// UI can be looked at in a plain browser; the production build never contains it.
export default defineConfig(({ mode }) => ({
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  base: "./",
  server: { port: 5173, strictPort: true },
  build: {
    outDir: mode === "demo" ? "dist-demo" : "dist",
    target: "es2022",
    emptyOutDir: true,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.ts"],
  },
}));
