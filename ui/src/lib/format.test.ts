import { describe, expect, it } from "vitest";
import { groupCode, initials, spokenCode } from "./format";

describe("format", () => {
  it("groups codes for reading and leaves Steam codes alone", () => {
    expect(groupCode("123456")).toBe("123 456");
    expect(groupCode("12345678")).toBe("1234 5678");
    expect(groupCode("1234567")).toBe("123 4567");
    expect(groupCode("JDDNB")).toBe("JDDNB");
    expect(spokenCode("123")).toBe("1 2 3");
    expect(initials("Proton Mail")).toBe("PM");
  });
});
