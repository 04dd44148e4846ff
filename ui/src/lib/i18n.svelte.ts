// Translations: i18next with one JSON catalogue per language (src/locales/en.json, ja.json),
// and a `t()` that Svelte tracks. `t()` reads `i18n.locale` (a $state rune), so every template
// or $derived that calls it re-renders when the language changes; i18next itself only looks
// the text up.
//
// The language comes from the backend's status (`AppStatus.locale`: the user's setting, else
// the OS locale via sys-locale, else English); before the first status (and when the backend
// cannot be reached at all) it is guessed from `navigator.languages`.
import i18next, { type TOptions } from "i18next";
import type { Locale } from "./bindings/Locale";
import en from "../locales/en.json";
import ja from "../locales/ja.json";

/** The languages the UI is translated into, with their names in their own language. */
export const LOCALES: ReadonlyArray<{ id: Locale; name: string }> = [
  { id: "en", name: "English" },
  { id: "ja", name: "日本語" },
];

export const CATALOGUES: Record<Locale, Record<string, unknown>> = { en, ja };

type Leaves<T, P extends string = ""> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];
type StripPlural<K extends string> = K extends `${infer B}_${"zero" | "one" | "two" | "few" | "many" | "other"}` ? B : K;

/** Every key of the English catalogue (plural forms by their base key: `accounts.count`). */
export type MessageKey = StripPlural<Leaves<typeof en>>;

const instance = i18next.createInstance();
void instance.init({
  resources: { en: { translation: en }, ja: { translation: ja } },
  lng: "en",
  fallbackLng: "en",
  supportedLngs: ["en", "ja"],
  initAsync: false,
  // Svelte escapes text itself; `rich()` asks for escaping where it parses markup.
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
} as Parameters<typeof instance.init>[0]);

class I18n {
  /** The language shown now. */
  locale = $state<Locale>(guess(typeof navigator === "undefined" ? [] : navigator.languages));

  /** Switches the language (and `<html lang>`, which screen readers and fonts follow). */
  set(locale: Locale): void {
    if (this.locale !== locale) this.locale = locale;
    if (instance.language !== locale) void instance.changeLanguage(locale);
    if (typeof document !== "undefined") document.documentElement.lang = locale;
  }
}

export const i18n = new I18n();

/** The first translated language among BCP 47 tags (`ja-JP` → `ja`), else English. */
export function guess(tags: readonly string[]): Locale {
  for (const tag of tags) {
    const primary = tag.toLowerCase().split(/[-_.@]/)[0];
    if (primary === "ja" || primary === "en") return primary;
  }
  return "en";
}

/** The text for `key` in the current language; `count` picks the plural form. */
export function t(key: MessageKey, options?: TOptions): string {
  return instance.t(key, { ...options, lng: i18n.locale }) as string;
}

/** Whether `key` exists (for codes that come from the backend, such as error codes). */
export function has(key: string): boolean {
  void i18n.locale;
  return instance.exists(key, { lng: i18n.locale, fallbackLng: false } as TOptions);
}

/** Which piece of a rich text: plain text, bold, or monospace. */
export interface RichPart {
  text: string;
  tag: "" | "strong" | "mono";
}

/**
 * A text with `<strong>` / `<mono>` markup from the catalogue, split into parts for
 * `Rich.svelte`. Values are escaped before the split and unescaped after it, so data can never
 * add markup; nothing is ever rendered as HTML.
 */
export function rich(key: MessageKey, options?: TOptions): RichPart[] {
  const s = instance.t(key, { ...options, lng: i18n.locale, interpolation: { escapeValue: true } }) as string;
  const parts: RichPart[] = [];
  const re = /<(strong|mono)>(.*?)<\/\1>/g;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m.index > at) parts.push({ text: unescape(s.slice(at, m.index)), tag: "" });
    parts.push({ text: unescape(m[2]!), tag: m[1] as "strong" | "mono" });
    at = m.index + m[0].length;
  }
  if (at < s.length) parts.push({ text: unescape(s.slice(at)), tag: "" });
  return parts;
}

function unescape(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x2F;/g, "/")
    .replace(/&amp;/g, "&");
}
