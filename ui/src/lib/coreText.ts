// Texts tessera-core words by code — a warning about an added account, why an entry of an
// import or export was left out, the detail of its errors — arrive as `{code, params}` and are
// shown as the catalogue's `core.<code>` in the current language with the parameters filled
// in. Parameters that are themselves words are translated too: `field` (`coreFields.<name>`),
// `format` (`formats.import.<id>`) and lists (joined the language's way). A code this UI does
// not know yet shows a generic text in the current language (`coreUnknown.*`, or
// `errors.invalid` for an error), never the code itself. The codes and their parameters are
// listed in `bindings/core-codes.json`, which a Rust test keeps equal to what the core can
// produce and coreText.test.ts checks against both catalogues.
import type { CoreText } from "./bindings/CoreText";
import { has, i18n, t, type MessageKey } from "./i18n.svelte";

/** What the text is about, for the generic fallback. */
export type CoreTextKind = "warning" | "skip" | "error";

const LIST_SEPARATOR: Record<string, string> = { ja: "、" };

export function coreText(text: CoreText, kind: CoreTextKind): string {
  const key = `core.${text.code}`;
  if (!has(key)) return t(kind === "error" ? "errors.invalid" : (`coreUnknown.${kind}` as MessageKey));
  const params: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(text.params ?? {})) {
    if (Array.isArray(value)) params[name] = value.join(LIST_SEPARATOR[i18n.locale] ?? ", ");
    else if (name === "field") params[name] = t(`coreFields.${has(`coreFields.${value}`) ? value : "other"}` as MessageKey);
    else if (name === "format" && has(`formats.import.${value}`)) params[name] = t(`formats.import.${value}` as MessageKey);
    else params[name] = value;
  }
  return t(key as MessageKey, params);
}
