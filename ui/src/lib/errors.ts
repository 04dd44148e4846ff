// What a failed command says to a person. The backend's errors are `{code, message, detail?}`
// with an English message (also what its logs say); the UI shows the catalogue's text for the
// code (`errors.<code>`) in the current language. Errors of tessera-core (a URI, an import, an
// export) also carry the core's own code and parameters (`detail`), worded as `core.<code>`
// (lib/coreText.ts), which says more than the generic `errors.invalid`. English shows the
// backend's own message, which is the source text and names the detail (the file, the field);
// a code with no key falls back to that message too, and a detail with no key to `errors.<code>`.
import { errorOf } from "./backend";
import { coreText } from "./coreText";
import { has, i18n, t, type MessageKey } from "./i18n.svelte";

export function errorText(e: unknown): string {
  const err = errorOf(e);
  const key = `errors.${err.code}`;
  if (i18n.locale === "en" && err.message) return err.message;
  if (err.detail && has(`core.${err.detail.code}`)) return coreText(err.detail, "error");
  if (!has(key)) return err.message;
  return t(key as MessageKey);
}
