// What a failed command says to a person. The backend's errors are `{code, message}` with an
// English message (also what its logs say); the UI shows the catalogue's text for the code
// (`errors.<code>`) in the current language. English shows the backend's own message, which
// is the source text and names the detail (the file, the field); a code with no key falls back
// to that message too.
import { errorOf } from "./backend";
import { has, i18n, t, type MessageKey } from "./i18n.svelte";

export function errorText(e: unknown): string {
  const err = errorOf(e);
  const key = `errors.${err.code}`;
  if (!has(key)) return err.message;
  if (i18n.locale === "en" && err.message) return err.message;
  return t(key as MessageKey);
}
