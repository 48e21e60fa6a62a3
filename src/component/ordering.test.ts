import { describe, expect, test } from "vitest";
import { compareVersions, isNewer, UNSYNCED } from "./ordering.js";

describe("versions", () => {
  const v = (at: number, eventId: string) => ({ at, eventId });

  test("later time wins regardless of id", () => {
    expect(compareVersions(v(2, "event_a"), v(1, "event_z"))).toBeGreaterThan(0);
    expect(compareVersions(v(1, "event_z"), v(2, "event_a"))).toBeLessThan(0);
  });

  test("same time: the event id breaks the tie", () => {
    expect(compareVersions(v(1, "event_b"), v(1, "event_a"))).toBeGreaterThan(0);
    expect(compareVersions(v(1, "event_a"), v(1, "event_b"))).toBeLessThan(0);
    expect(compareVersions(v(1, "event_a"), v(1, "event_a"))).toBe(0);
  });

  test("sub-millisecond fractions count", () => {
    expect(isNewer(v(1.001, "event_a"), v(1.0005, "event_z"))).toBe(true);
  });

  test("an equal or older version is not newer; anything is newer than nothing", () => {
    expect(isNewer(v(5, "e"), v(5, "e"))).toBe(false);
    expect(isNewer(v(4, "e"), v(5, "e"))).toBe(false);
    expect(isNewer(v(4, "e"), undefined)).toBe(true);
    expect(isNewer(v(1, "event_a"), UNSYNCED)).toBe(true);
  });
});
