import { describe, expect, test } from "vitest";
import { compareVersions, isFutureDated, isNewer, UNSYNCED } from "./ordering.js";
import { MAX_CLOCK_SKEW_MS } from "../shared/events.js";

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

describe("future-dated events", () => {
  const receivedAt = Date.UTC(2026, 11, 1, 12);

  test("within the clock-skew allowance an event takes part in ordering", () => {
    expect(isFutureDated(receivedAt, receivedAt)).toBe(false);
    expect(isFutureDated(receivedAt + MAX_CLOCK_SKEW_MS, receivedAt)).toBe(false);
    expect(isFutureDated(receivedAt - 36 * 3_600_000, receivedAt)).toBe(false);
  });

  test("beyond it, by as little as a microsecond, it does not", () => {
    expect(isFutureDated(receivedAt + MAX_CLOCK_SKEW_MS + 0.001, receivedAt)).toBe(true);
    expect(isFutureDated(Date.UTC(9999, 11, 31, 23, 59, 59, 999.999), receivedAt)).toBe(true);
  });
});
