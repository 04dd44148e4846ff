// Presentation helpers only (no OTP logic: the backend computes every code). Words come from
// the catalogues, dates and numbers from Intl in the current language.
import { i18n, t } from "./i18n.svelte";

/** Groups a numeric code for reading: 123 456, 1234 5678, 123 4567. Other codes are kept. */
export function groupCode(code: string): string {
  if (!/^\d+$/.test(code) || code.length < 6) return code;
  const n = code.length;
  const sizes = n === 6 ? [3, 3] : n === 7 ? [3, 4] : n === 8 ? [4, 4] : n === 9 ? [3, 3, 3] : [5, n - 5];
  const parts: string[] = [];
  let i = 0;
  for (const s of sizes) {
    parts.push(code.slice(i, i + s));
    i += s;
  }
  return parts.join(" ");
}

/** A code as a screen reader should say it: one character at a time. */
export function spokenCode(code: string): string {
  return code.split("").join(" ");
}

/** "12 s", "2 min 5 s" (「12秒」「2分5秒」). */
export function duration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return t("format.seconds", { count: s });
  const m = Math.floor(s / 60);
  const r = s % 60;
  return r ? t("format.minutesSeconds", { m, s: r }) : t("format.minutes", { count: m });
}

/** A Unix time as a date and time in the current language (Intl). */
export function dateTime(unix: number): string {
  return new Intl.DateTimeFormat(i18n.locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(unix * 1000));
}

/** A number in the current language's digits and grouping (Intl). */
export function number(n: number): string {
  return new Intl.NumberFormat(i18n.locale).format(n);
}

/** "just now", "5 min. ago", "3 hr. ago" (「たった今」「5 分前」), else the date. */
export function ago(unix: number, now: number): string {
  const d = now - unix;
  if (d < 45) return t("format.justNow");
  const rtf = new Intl.RelativeTimeFormat(i18n.locale, { style: "short", numeric: "always" });
  if (d < 3600) return rtf.format(-Math.round(d / 60), "minute");
  if (d < 86400) return rtf.format(-Math.round(d / 3600), "hour");
  return dateTime(unix);
}

/** "GitHub" → "github", for the bundled icon lookup. */
export function slug(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");
}

/** A stable hue for a monogram, hashed from the issuer. */
export function hue(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % 360;
}

/** The letters of a monogram: "GitHub" → "G", "Proton Mail" → "PM". */
export function initials(s: string): string {
  const words = s.trim().split(/[\s._-]+/).filter(Boolean);
  if (words.length === 0) return "?";
  if (words.length === 1) return words[0]!.slice(0, 1).toUpperCase();
  return (words[0]!.slice(0, 1) + words[1]!.slice(0, 1)).toUpperCase();
}

/** Human words for a push or QR-login outcome. */
export function outcomeText(outcome: string): string {
  switch (outcome) {
    case "approved":
      return t("format.outcomeApproved");
    case "denied":
      return t("format.outcomeDenied");
    case "not_me":
      return t("format.outcomeNotMe");
    case "expired":
      return t("format.outcomeExpired");
    case "failed":
      return t("format.outcomeFailed");
    default:
      return outcome.replace(/_/g, " ");
  }
}
