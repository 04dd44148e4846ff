import "@testing-library/jest-dom/vitest";

// jsdom has no layout: a ResizeObserver that never fires is enough for `bind:clientHeight`.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;
Element.prototype.scrollIntoView ??= function () {};
