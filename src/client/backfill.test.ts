import { describe, expect, test } from "vitest";
import {
  chunkByMemberships,
  MEMBERSHIPS_PER_MUTATION,
  nextPageToken,
  toBackfillUser,
  toMember,
  toOrganization,
  toRole,
} from "./backfill.js";
import { backoffMs, rateLimitWaitMs, RETRY } from "./managementApi.js";

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
      toRole({ id: "r", key: "admin", name: "Admin", description: "", is_default_role: false }),
    ).toEqual({ kindeId: "r", key: "admin", name: "Admin", isDefaultRole: false });
    expect(toOrganization({ code: "org_a", name: "A", handle: null, external_id: "x" })).toEqual({
      code: "org_a",
      name: "A",
      externalId: "x",
    });
    expect(toMember({ id: "kp_1", roles: null })).toEqual({ kindeId: "kp_1", roleKeys: [] });
  });
});

describe("paging", () => {
  test.each([
    ["a new token with items", undefined, "t2", 5, "t2"],
    ["no token", "t1", undefined, 5, undefined],
    ["an empty token", "t1", "", 5, undefined],
    ["the same token again", "t1", "t1", 5, undefined],
    ["an empty page with a token", "t1", "t2", 0, undefined],
    ["a token that is not a string", undefined, 42, 5, undefined],
  ])("%s", (_, sent, received, count, expected) => {
    expect(nextPageToken(sent, received, count)).toBe(expected);
  });

  test("users are split so no mutation writes too many memberships", () => {
    const user = (n: number) => ({
      kindeId: `kp_${n}`,
      isSuspended: false,
      orgCodes: Array.from({ length: n }, (_, i) => `org_${i}`),
    });
    const chunks = chunkByMemberships([user(1500), user(400), user(200), user(0), user(1000)]);
    expect(chunks.map((c) => c.map((u) => u.kindeId))).toEqual([
      ["kp_1500", "kp_400"],
      ["kp_200", "kp_0", "kp_1000"],
    ]);
    for (const chunk of chunks) {
      const total = chunk.reduce((n, u) => n + Math.max(1, u.orgCodes.length), 0);
      expect(total).toBeLessThanOrEqual(MEMBERSHIPS_PER_MUTATION);
    }
    expect(chunkByMemberships([])).toEqual([]);
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
    const samples = Array.from({ length: 50 }, () => backoffMs(3));
    const window = RETRY.baseDelayMs * 8;
    for (const ms of samples) {
      expect(ms).toBeGreaterThanOrEqual(window / 2);
      expect(ms).toBeLessThanOrEqual(window);
    }
    expect(new Set(samples).size).toBeGreaterThan(1);
    expect(backoffMs(30)).toBeLessThanOrEqual(RETRY.maxDelayMs);
  });
});
