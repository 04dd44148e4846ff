import { afterEach, describe, expect, it } from "vitest";
import { ago, dateTime, duration, groupCode, initials, number, outcomeText, spokenCode } from "./format";
import { i18n } from "./i18n.svelte";

describe("format", () => {
  afterEach(() => i18n.set("en"));

  it("groups codes for reading and leaves Steam codes alone", () => {
    expect(groupCode("123456")).toBe("123 456");
    expect(groupCode("12345678")).toBe("1234 5678");
    expect(groupCode("1234567")).toBe("123 4567");
    expect(groupCode("JDDNB")).toBe("JDDNB");
    expect(spokenCode("123")).toBe("1 2 3");
    expect(initials("Proton Mail")).toBe("PM");
  });

  it("words durations, times and outcomes in the current language", () => {
    const t = 1_700_000_000; // 2023-11-14T22:13:20Z
    i18n.set("en");
    expect([duration(12), duration(125), duration(120)]).toEqual(["12 s", "2 min 5 s", "2 min"]);
    expect([ago(t - 10, t), ago(t - 300, t), ago(t - 7200, t)]).toEqual(["just now", "5 min. ago", "2 hr. ago"]);
    expect(dateTime(t)).toMatch(/Nov 1[45], 2023/);
    expect(number(1234567)).toBe("1,234,567");
    expect(outcomeText("not_me")).toBe("Reported as not you");
    i18n.set("ja");
    expect([duration(12), duration(125), duration(120)]).toEqual(["12秒", "2分5秒", "2分"]);
    expect([ago(t - 10, t), ago(t - 300, t), ago(t - 7200, t)]).toEqual(["たった今", "5 分前", "2 時間前"]);
    expect(dateTime(t)).toMatch(/^2023\/11\/1[45]/);
    expect(outcomeText("approved")).toBe("承認済み");
  });
});
