// The catalogues stay complete: the same messages in every language, no empty text, the same
// placeholders and markup, every plural form a language needs, and every key the code asks for.
import { describe, expect, it } from "vitest";
import { CATALOGUES, guess, i18n, rich, t } from "./i18n.svelte";

const PLURAL = /_(zero|one|two|few|many|other)$/;

/** Every leaf of a catalogue as "a.b.c" → text. */
function flatten(obj: Record<string, unknown>, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === "string") out.set(prefix + k, v);
    else if (v && typeof v === "object") for (const [kk, vv] of flatten(v as Record<string, unknown>, `${prefix}${k}.`)) out.set(kk, vv);
    else out.set(prefix + k, String(v));
  }
  return out;
}

/** A message with its plural forms folded into its base key. */
function messages(lang: keyof typeof CATALOGUES): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [key, text] of flatten(CATALOGUES[lang])) {
    const m = PLURAL.exec(key);
    const base = m ? key.slice(0, m.index) : key;
    const form = m ? m[1]! : "";
    if (!out.has(base)) out.set(base, new Map());
    out.get(base)!.set(form, text);
  }
  return out;
}

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([^},\s]+)[^}]*\}\}/g)].map((m) => m[1]).sort();
const tags = (s: string) => [...s.matchAll(/<\/?([a-z]+)>/g)].map((m) => m[0]).sort();

const LANGS = Object.keys(CATALOGUES) as Array<keyof typeof CATALOGUES>;
const en = messages("en");

describe("catalogues", () => {
  it("have the same messages in every language", () => {
    for (const lang of LANGS) {
      const other = messages(lang);
      const missing = [...en.keys()].filter((k) => !other.has(k));
      const extra = [...other.keys()].filter((k) => !en.has(k));
      expect({ lang, missing, extra }).toEqual({ lang, missing: [], extra: [] });
    }
  });

  it("have no empty text", () => {
    for (const lang of LANGS) {
      const empty = [...flatten(CATALOGUES[lang])].filter(([, v]) => v.trim() === "").map(([k]) => k);
      expect({ lang, empty }).toEqual({ lang, empty: [] });
    }
  });

  it("give every plural form the language needs, and only plural keys have forms", () => {
    for (const lang of LANGS) {
      const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      for (const [key, forms] of messages(lang)) {
        if (forms.has("")) {
          expect({ lang, key, forms: [...forms.keys()] }).toEqual({ lang, key, forms: [""] });
          continue;
        }
        const missing = needed.filter((c) => !forms.has(c));
        expect({ lang, key, missing }).toEqual({ lang, key, missing: [] });
        // Plural messages say their count or need it (the English "one" form may spell it out).
        expect(placeholders(forms.get("other")!), `${lang} ${key}`).toContain("count");
      }
    }
  });

  it("use the same placeholders and markup in every language", () => {
    for (const lang of LANGS) {
      for (const [key, forms] of messages(lang)) {
        const want = [...en.get(key)!.values()];
        const want_ph = [...new Set(want.flatMap(placeholders))].sort();
        const got_ph = [...new Set([...forms.values()].flatMap(placeholders))].sort();
        expect({ lang, key, placeholders: got_ph }).toEqual({ lang, key, placeholders: want_ph });
        const want_tags = tags(en.get(key)!.get("other") ?? en.get(key)!.get("")!);
        for (const text of forms.values()) expect({ lang, key, tags: tags(text) }).toEqual({ lang, key, tags: want_tags });
      }
    }
  });
});

/** Every .svelte and .ts source under src/ but tests, as text (Vite reads them). */
const SOURCES = Object.entries(
  import.meta.glob(["../**/*.svelte", "../**/*.ts", "!../**/*.test.ts"], { query: "?raw", import: "default", eager: true }),
) as Array<[string, string]>;

describe("the code", () => {
  const used = new Map<string, string>();
  for (const [file, text] of SOURCES) {
    for (const m of text.matchAll(/\b(?:t|rich)\(\s*(?:[^"'`()]*\?\s*)?["'`]([A-Za-z0-9_.-]+)["'`]/g)) used.set(m[1]!, file);
    // `t(cond ? "a.b" : "c.d", …)`: the second literal too.
    for (const m of text.matchAll(/\b(?:t|rich)\(\s*[^"'`()]*\?\s*["'`][A-Za-z0-9_.-]+["'`]\s*:\s*["'`]([A-Za-z0-9_.-]+)["'`]/g))
      used.set(m[1]!, file);
  }

  it("is scanned: every component and module", () => {
    expect(SOURCES.length).toBeGreaterThan(40);
    expect(SOURCES.some(([f]) => f.endsWith("components/SettingsScreen.svelte"))).toBe(true);
  });

  it("asks for keys (found by scanning the sources)", () => {
    expect(used.size).toBeGreaterThan(200);
    expect(used.has("nav.accounts")).toBe(true);
    expect(used.has("accounts.movedDown")).toBe(true);
  });

  it("asks only for keys every catalogue has", () => {
    for (const lang of LANGS) {
      const have = messages(lang);
      const missing = [...used].filter(([k]) => !have.has(k)).map(([k, f]) => `${k} (${f})`);
      expect({ lang, missing }).toEqual({ lang, missing: [] });
    }
  });
});

describe("t()", () => {
  it("follows the current language, with plurals and markup", () => {
    i18n.set("ja");
    expect(document.documentElement.lang).toBe("ja");
    expect(t("nav.add")).toBe("追加");
    expect(t("accounts.count", { count: 3 })).toBe("3件のアカウント");
    i18n.set("en");
    expect(document.documentElement.lang).toBe("en");
    expect(t("accounts.count", { count: 1 })).toBe("1 account");
    expect(t("accounts.count", { count: 2 })).toBe("2 accounts");
  });

  it("never lets data add markup to a rich text", () => {
    i18n.set("en");
    const parts = rich("devices.unenrollBody", { user: "<strong>x</strong> & <mono>" });
    expect(parts[0]).toEqual({ text: "This computer will stop receiving sign-in requests for ", tag: "" });
    expect(parts[1]).toEqual({ text: "<strong>x</strong> & <mono>", tag: "strong" });
  });

  it("guesses a translated language from BCP 47 tags, else English", () => {
    expect(guess(["ja-JP", "en-US"])).toBe("ja");
    expect(guess(["fr-FR", "ja"])).toBe("ja");
    expect(guess(["en-GB", "ja"])).toBe("en");
    expect(guess(["fr-FR"])).toBe("en");
    expect(guess([])).toBe("en");
  });
});
