// Every text tessera-core can produce has a message in every language, with exactly its
// parameters. The list of codes is `bindings/core-codes.json`, written from Rust: a
// tessera-core unit test (`notice::tests::the_ui_code_list_is_current`) builds it from one
// sample of each enum variant (and a test per enum fails to compile when a variant has no
// sample) and fails when the committed file differs, so a new code cannot reach the UI without
// being listed here, and this test then fails until both catalogues word it.
import { describe, expect, it } from "vitest";
import codes from "./bindings/core-codes.json";
import { coreText } from "./coreText";
import { CATALOGUES, i18n } from "./i18n.svelte";

const CODES = codes as Record<string, string[]>;
const LANGS = Object.keys(CATALOGUES) as Array<keyof typeof CATALOGUES>;
const placeholders = (s: string) => [...new Set([...s.matchAll(/\{\{\s*([^},\s]+)[^}]*\}\}/g)].map((m) => m[1]))].sort();
const section = (lang: keyof typeof CATALOGUES, name: string) => (CATALOGUES[lang][name] ?? {}) as Record<string, string>;

describe("the core's codes", () => {
  it("are listed (the file Rust writes)", () => {
    expect(Object.keys(CODES).length).toBeGreaterThanOrEqual(15);
    expect(CODES.weak_secret).toEqual(["bits"]);
    expect(CODES.skip_unsupported_type).toEqual(["kind"]);
  });

  it("each have a text in every language, naming exactly their parameters", () => {
    for (const lang of LANGS) {
      const core = section(lang, "core");
      for (const [code, params] of Object.entries(CODES)) {
        expect({ lang, code, has: typeof core[code] }).toEqual({ lang, code, has: "string" });
        expect({ lang, code, params: placeholders(core[code]!) }).toEqual({ lang, code, params: [...params].sort() });
      }
    }
  });

  it("are the only texts under core (no message for a code the core no longer produces)", () => {
    for (const lang of LANGS) expect(Object.keys(section(lang, "core")).sort()).toEqual(Object.keys(CODES).sort());
  });

  it("have Japanese that is not the English", () => {
    const en = section("en", "core");
    const ja = section("ja", "core");
    for (const code of Object.keys(CODES)) {
      expect(ja[code], code).not.toBe(en[code]);
      expect(ja[code], code).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    }
  });
});

describe("coreText()", () => {
  it("words a code in the current language with its parameters", () => {
    i18n.set("en");
    expect(coreText({ code: "weak_secret", params: { bits: 80 } }, "warning")).toBe(
      "The secret has only 80 bits; RFC 4226 asks for at least 128. If the service lets you, set up a new one.",
    );
    expect(coreText({ code: "skip_unsupported_type", params: { kind: "PUSH" } }, "skip")).toBe("Its type “PUSH” is not supported.");
    i18n.set("ja");
    expect(coreText({ code: "weak_secret", params: { bits: 80 } }, "warning")).toContain("80 ビット");
    expect(coreText({ code: "skip_google_period", params: { period: 60 } }, "skip")).toContain("60 秒");
    i18n.set("en");
  });

  it("translates a field name and joins a list the language's way", () => {
    i18n.set("ja");
    expect(coreText({ code: "skip_invalid_entry", params: { field: "secret" } }, "skip")).toBe("シークレットが正しくありません。");
    expect(coreText({ code: "skip_invalid_entry", params: { field: "" } }, "skip")).toBe("内容が正しくありません。");
    expect(coreText({ code: "ignored_parameters", params: { names: ["image", "color"] } }, "warning")).toContain("image、color");
    i18n.set("en");
    expect(coreText({ code: "skip_unknown_value", params: { field: "digits", value: 3 } }, "skip")).toBe(
      "Its number of digits has a value Google Authenticator does not define (3).",
    );
    expect(coreText({ code: "ignored_parameters", params: { names: ["image", "color"] } }, "warning")).toContain("image, color");
  });

  it("shows a generic text in the current language for a code it does not know, never the code", () => {
    for (const lang of LANGS) {
      i18n.set(lang);
      for (const kind of ["warning", "skip"] as const) {
        const text = coreText({ code: "skip_from_the_future", params: { x: 1 } }, kind);
        expect(text).toBe(section(lang, "coreUnknown")[kind]);
        expect(text).not.toContain("skip_from_the_future");
      }
    }
    i18n.set("en");
  });
});
