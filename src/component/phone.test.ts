import { describe, expect, test } from "vitest";
import { normalizePhone } from "./phone.js";

describe("normalizePhone", () => {
  test.each([
    ["+442071838750", "+442071838750"],
    ["  +44 20 7183 8750 ", "+442071838750"],
    ["+44 (20) 7183-8750", "+442071838750"],
    ["+1.555.010.9999", "+15550109999"],
    ["+44\u00a020\u20117183\u20138750", "+442071838750"],
    ["\t+1 (555) 010-9999\n", "+15550109999"],
  ])("%j is looked up as %j", (given, stored) => {
    expect(normalizePhone(given)).toBe(stored);
  });

  test("nothing but separators, or nothing, is empty: it finds nobody", () => {
    for (const empty of ["", "   ", "+", " + ", "()-. ", "+ ( )"]) {
      expect(normalizePhone(empty)).toBe("");
    }
  });

  test("what is not a separator stays: a + past the start, letters, a national prefix", () => {
    expect(normalizePhone("44+2071838750")).toBe("44+2071838750");
    expect(normalizePhone("+44 20 CALL ADA")).toBe("+4420CALLADA");
    expect(normalizePhone("0044 20 7183 8750")).toBe("00442071838750");
  });
});
