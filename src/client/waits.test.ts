import { describe, expect, test } from "vitest";
import {
  decideWait,
  MAX_INLINE_WAIT_MS,
  retryLaterMessage,
  waitOrThrow,
  WaitRequired,
} from "./waits.js";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const SLICE_END = NOW + 5 * 60_000;

describe("decideWait", () => {
  test("a short wait inside the slice is slept", () => {
    expect(decideWait(0, NOW, SLICE_END)).toEqual({ sleepMs: 0 });
    expect(decideWait(1_200, NOW, SLICE_END)).toEqual({ sleepMs: 1_200 });
    expect(decideWait(MAX_INLINE_WAIT_MS, NOW, SLICE_END)).toEqual({
      sleepMs: MAX_INLINE_WAIT_MS,
    });
  });

  test("a wait longer than the inline cap ends the action, whatever the slice has left", () => {
    expect(decideWait(MAX_INLINE_WAIT_MS + 1, NOW, SLICE_END)).toEqual({
      resumesAt: NOW + MAX_INLINE_WAIT_MS + 1,
    });
    expect(decideWait(900_000, NOW, NOW + 3_600_000)).toEqual({ resumesAt: NOW + 900_000 });
  });

  test("a short wait that would end past the slice ends the action too", () => {
    expect(decideWait(2_000, NOW, NOW + 1_999)).toEqual({ resumesAt: NOW + 2_000 });
    expect(decideWait(2_000, NOW, NOW + 2_000)).toEqual({ sleepMs: 2_000 });
    // A slice already over (`timeBudgetMs: 0`) sleeps nothing but a zero wait.
    expect(decideWait(1, NOW, NOW)).toEqual({ resumesAt: NOW + 1 });
    expect(decideWait(0, NOW, NOW)).toEqual({ sleepMs: 0 });
  });

  test("a negative wait (a Retry-After date in the past) is none; a non-finite one is never slept", () => {
    expect(decideWait(-5_000, NOW, SLICE_END)).toEqual({ sleepMs: 0 });
    expect(decideWait(Infinity, NOW, SLICE_END)).toEqual({
      resumesAt: NOW + Number.MAX_SAFE_INTEGER,
    });
    expect(decideWait(NaN, NOW, SLICE_END)).toMatchObject({ resumesAt: expect.any(Number) });
  });
});

describe("a wait too long to sleep", () => {
  const tries = { request: "GET /api/v1/webhooks", failures: 0, rateLimited: 1 };
  const reason = "Kinde rate-limited the Management API (429 on GET /api/v1/webhooks)";

  test("waitOrThrow throws the caller's WaitRequired, at the time decideWait gives", async () => {
    const before = Date.now();
    const thrown = await waitOrThrow(
      60_000,
      before + 600_000,
      (resumesAt) => new WaitRequired(resumesAt, reason, tries),
    ).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(WaitRequired);
    const { resumesAt } = thrown as WaitRequired;
    expect(resumesAt - before).toBeGreaterThanOrEqual(60_000);
    expect(resumesAt - Date.now()).toBeLessThanOrEqual(60_000);
  });

  test("waitOrThrow sleeps a short wait and throws nothing", async () => {
    await expect(
      waitOrThrow(1, Date.now() + 1_000, () => {
        throw new Error("not a long wait");
      }),
    ).resolves.toBeUndefined();
  });

  test("the one-shot answer says what Kinde did and when to retry", () => {
    const limited = new WaitRequired(Date.UTC(2026, 0, 5, 12, 15, 0), reason, tries);
    expect(retryLaterMessage(limited)).toBe(
      "Kinde rate-limited the Management API (429 on GET /api/v1/webhooks); retry after 2026-01-05T12:15:00.000Z",
    );
    expect(limited.message).toBe(
      "Kinde rate-limited the Management API (429 on GET /api/v1/webhooks); waiting until 2026-01-05T12:15:00.000Z",
    );
  });
});
