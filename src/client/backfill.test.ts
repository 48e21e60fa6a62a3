import { describe, expect, test } from "vitest";
import { rowsAfter, toBackfillUser, toMember } from "./backfill.js";
import { followPaging, RECENT_TOKENS } from "./paging.js";
import { toOrganizationSnapshot, toRoleSnapshot } from "./kindePayloads.js";
import { backoffMs, DEFAULT_RETRY, rateLimitWaitMs, retryPolicy } from "./managementApi.js";
import type { PagingState } from "../shared/backfill.js";

describe("mapping Management API results", () => {
  test("a listed user: empty values absent, organizations de-duplicated", () => {
    expect(
      toBackfillUser({
        id: "kp_1",
        email: "",
        phone: "+442071838750",
        username: null,
        first_name: " Ada ",
        last_name: null,
        is_suspended: true,
        organizations: ["org_a", "org_b", "org_a"],
      }),
    ).toEqual({
      kindeId: "kp_1",
      phone: "+442071838750",
      firstName: "Ada",
      isSuspended: true,
      orgCodes: ["org_a", "org_b"],
    });
  });

  test("the single-user endpoint's preferred_email is the email", () => {
    expect(toBackfillUser({ id: "kp_1", preferred_email: "ada@example.com" })).toMatchObject({
      email: "ada@example.com",
      isSuspended: false,
      orgCodes: [],
    });
  });

  test("roles, organizations, members", () => {
    expect(
      toRoleSnapshot(
        { id: "r", key: "admin", name: "Admin", description: "", is_default_role: false },
        "role",
      ),
    ).toEqual({ kindeId: "r", key: "admin", name: "Admin", isDefaultRole: false });
    expect(
      toOrganizationSnapshot({ code: "org_a", name: "A", handle: null, external_id: "x" }, "org"),
    ).toEqual({
      code: "org_a",
      name: "A",
      externalId: "x",
    });
    expect(toMember({ id: "kp_1", roles: null })).toEqual({ kindeId: "kp_1", roleKeys: [] });
  });
});

/**
 * Walks a listing whose server answers `serve(sent)` with the next token (or
 * none), as the run does: the paging state round-trips through JSON between
 * pages, as it does through the run's document. Returns the tokens sent and
 * why the listing ended.
 */
function walk(serve: (sent: string | undefined) => string | undefined, limit = 10_000) {
  const sent: (string | undefined)[] = [];
  let cursor: string | undefined;
  let stored: string | undefined;
  for (let i = 0; i < limit; i++) {
    sent.push(cursor);
    const paging = stored === undefined ? undefined : (JSON.parse(stored) as PagingState);
    const step = followPaging(paging, cursor, serve(cursor), 500);
    if ("end" in step) return { sent, end: step.end };
    cursor = step.next;
    stored = JSON.stringify(step.paging);
  }
  return { sent, end: "never" as const };
}

/** A server whose tokens run t1, t2, … and from t`start + period` loop back to t`start`. */
const looping = (start: number, period: number) => (sent: string | undefined) => {
  const n = sent === undefined ? 0 : Number(sent.slice(1));
  const next = n + 1;
  return `t${next >= start + period ? start + ((next - start) % period) : next}`;
};

describe("paging", () => {
  test.each([
    ["a new token with items", undefined, "t2", 5, { next: "t2" }],
    ["no token", "t1", undefined, 5, { end: "last page" }],
    ["a null token", "t1", null, 5, { end: "last page" }],
    ["an empty token", "t1", "", 5, { end: "last page" }],
    ["a token that is not a string", undefined, 42, 5, { end: "last page" }],
    ["an empty page with a token", "t1", "t2", 0, { end: "empty page" }],
    ["the token just sent", "t1", "t1", 5, { end: "repeated token" }],
  ])("%s", (_, sent, received, count, expected) => {
    expect(followPaging(undefined, sent, received, count)).toMatchObject(expected);
  });

  test("A→B→A ends at the repeated token, no page read twice", () => {
    const tokens: Record<string, string> = { start: "A", A: "B", B: "A" };
    const { sent, end } = walk((cursor) => tokens[cursor ?? "start"]);
    expect(end).toBe("repeated token");
    expect(sent).toEqual([undefined, "A", "B"]);
  });

  test("loops up to RECENT_TOKENS long end at their first repeat", () => {
    for (let start = 1; start <= 30; start++) {
      for (let period = 1; period <= RECENT_TOKENS; period++) {
        const { sent } = walk(looping(start, period));
        expect(sent, `loop from t${start} every ${period}`).toHaveLength(start + period);
        expect(new Set(sent).size).toBe(sent.length);
      }
    }
  });

  test("the checkpoint and the recent tokens move on with each page", () => {
    const paging = { pages: 3, checkpoint: "B", recent: ["A", "B", "C"] };
    expect(followPaging(paging, "C", "B", 5)).toEqual({ end: "repeated token" });
    expect(followPaging(paging, "C", "A", 5)).toEqual({ end: "repeated token" });
    expect(followPaging(paging, "C", "D", 5)).toEqual({
      next: "D",
      paging: { pages: 4, checkpoint: "D", recent: ["A", "B", "C", "D"] },
    });
    const full = {
      pages: 9,
      checkpoint: "t8",
      recent: ["t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"],
    };
    expect(followPaging(full, "t9", "t10", 5)).toEqual({
      next: "t10",
      paging: { ...full, pages: 10, recent: [...full.recent.slice(1), "t10"] },
    });
  });

  test("longer loops end within 2·max(start, period) + period pages", () => {
    for (let start = 1; start <= 40; start++) {
      for (let period = RECENT_TOKENS + 1; period <= 60; period++) {
        const { sent, end } = walk(looping(start, period));
        expect(end, `loop from t${start} every ${period}`).toBe("repeated token");
        expect(sent.length).toBeLessThanOrEqual(2 * Math.max(start, period) + period + 1);
      }
    }
  });

  test("a long listing without repeats is followed to its last page", () => {
    const { sent, end } = walk((cursor) => {
      const n = cursor === undefined ? 0 : Number(cursor.slice(1));
      return n < 5000 ? `t${n + 1}` : undefined;
    });
    expect(end).toBe("last page");
    expect(sent).toHaveLength(5001);
    expect(new Set(sent).size).toBe(5001);
  });

  test("a resumed page continues after the last row written, or writes it all if that row is gone", () => {
    const users = ["kp_1", "kp_2", "kp_3"].map((kindeId) => ({ kindeId, roleKeys: [] }));
    expect(rowsAfter(users, undefined)).toEqual(users);
    expect(rowsAfter(users, "kp_2").map((u) => u.kindeId)).toEqual(["kp_3"]);
    expect(rowsAfter(users, "kp_3")).toEqual([]);
    expect(rowsAfter(users, "kp_gone")).toEqual(users);
    const organizations = [{ code: "org_a" }, { code: "org_b" }];
    expect(rowsAfter(organizations, "org_a")).toEqual([{ code: "org_b" }]);
  });
});

describe("retry timing", () => {
  test("RateLimit-Reset wins, then Retry-After in seconds or as a date", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(rateLimitWaitMs(new Headers({ "ratelimit-reset": "3", "retry-after": "9" }))).toBe(3000);
    expect(rateLimitWaitMs(new Headers({ "retry-after": "2" }))).toBe(2000);
    expect(
      rateLimitWaitMs(new Headers({ "retry-after": new Date(now + 5000).toUTCString() }), now),
    ).toBe(5000);
    expect(rateLimitWaitMs(new Headers())).toBeUndefined();
    expect(rateLimitWaitMs(new Headers({ "retry-after": "soon" }))).toBeUndefined();
  });

  test("backoff grows exponentially, is capped, and is jittered", () => {
    const samples = Array.from({ length: 50 }, () => backoffMs(3, DEFAULT_RETRY));
    const window = DEFAULT_RETRY.baseDelayMs * 8;
    for (const ms of samples) {
      expect(ms).toBeGreaterThanOrEqual(window / 2);
      expect(ms).toBeLessThanOrEqual(window);
    }
    expect(new Set(samples).size).toBeGreaterThan(1);
    expect(backoffMs(30, DEFAULT_RETRY)).toBeLessThanOrEqual(DEFAULT_RETRY.maxDelayMs);
    expect(backoffMs(30, { baseDelayMs: 5, maxDelayMs: 20 })).toBeLessThanOrEqual(20);
  });
});

describe("retry options", () => {
  test("unset options keep today's defaults", () => {
    expect(retryPolicy()).toEqual({
      attempts: 6,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      rateLimitAttempts: 10,
      maxRateLimitWaitMs: 3_600_000,
      requestTimeoutMs: 30_000,
    });
    expect(retryPolicy({ attempts: 2, maxDelayMs: undefined })).toEqual({
      ...DEFAULT_RETRY,
      attempts: 2,
    });
  });

  test.each([
    [{ attempts: 0 }, /`attempts` must be a whole number of at least 1, not 0/],
    [{ attempts: 2.5 }, /`attempts` must be a whole number/],
    [{ rateLimitAttempts: Infinity }, /`rateLimitAttempts` must be a whole number/],
    [{ baseDelayMs: -1 }, /`baseDelayMs` must be a finite number of milliseconds, not -1/],
    [{ maxRateLimitWaitMs: NaN }, /`maxRateLimitWaitMs` must be a finite number/],
    [
      { requestTimeoutMs: 0 },
      /`requestTimeoutMs` must be a finite number of milliseconds of at least 1, not 0/,
    ],
    [{ baseDelayMs: 100, maxDelayMs: 50 }, /`maxDelayMs` \(50\) is below `baseDelayMs` \(100\)/],
    [{ atempts: 3 }, /unknown option `atempts` \(known: attempts, baseDelayMs/],
  ])("%o is refused", (overrides, message) => {
    expect(() => retryPolicy(overrides as never)).toThrow(message);
  });
});
