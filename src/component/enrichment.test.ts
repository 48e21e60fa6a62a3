import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createFunctionHandle } from "convex/server";
import { api } from "./_generated/api.js";
import { applyUserSnapshot, deleteUser } from "./users.js";
import { applyOrganizationSnapshot, deleteOrganization } from "./organizations.js";
import {
  KEEP_UNTIL,
  initComponentTest,
  membership,
  userSnapshot,
  version,
  type ComponentTest,
} from "./setup.test.js";
import { ABANDONED_AFTER_MS } from "./refreshes.js";

const NOW = Date.UTC(2026, 11, 7, 12);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * A handle the component can schedule as the host's refresh action: its own
 * `enrichment.begin`, which takes the same `{ kind, entityId }` and, when it
 * runs, ends the pending refresh as the host's action would.
 */
async function refreshHandle(t: ComponentTest) {
  return await t.run(async () => await createFunctionHandle(api.enrichment.begin));
}

async function scheduled(t: ComponentTest) {
  return await t.run(async (ctx) =>
    (await ctx.db.system.query("_scheduled_functions").collect()).filter(
      (job) => job.state.kind === "pending",
    ),
  );
}

async function pendingRows(t: ComponentTest) {
  return await t.run(async (ctx) => await ctx.db.query("pendingRefreshes").collect());
}

async function withUser(t: ComponentTest, kindeId = "kp_ada") {
  await t.run(async (ctx) => {
    await applyUserSnapshot(ctx, version(1_000), userSnapshot(kindeId, { firstName: "Ada" }));
  });
}

const getUser = (t: ComponentTest, kindeId = "kp_ada") => t.query(api.users.getUser, { kindeId });

describe("enrichment.request", () => {
  test("N requests for one entity schedule one refresh, with exactly { kind, entityId }", async () => {
    const t = initComponentTest();
    await withUser(t);
    const refresh = await refreshHandle(t);
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        await t.mutation(api.enrichment.request, { kind: "user", entityId: "kp_ada", refresh }),
      );
    }
    expect(answers.map((a) => a.scheduled)).toEqual([true, false, false, false, false]);
    const jobs = await scheduled(t);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.args).toEqual([{ kind: "user", entityId: "kp_ada" }]);
    expect(await pendingRows(t)).toHaveLength(1);
  });

  test("a request while a fetch is in flight (begun) schedules one more", async () => {
    const t = initComponentTest();
    await withUser(t);
    const refresh = await refreshHandle(t);
    const request = () =>
      t.mutation(api.enrichment.request, { kind: "user", entityId: "kp_ada", refresh });
    expect(await request()).toEqual({ scheduled: true });
    const begun = await t.mutation(api.enrichment.begin, { kind: "user", entityId: "kp_ada" });
    expect(begun!.fetchedAt).toBeGreaterThanOrEqual(NOW);
    expect(await pendingRows(t)).toHaveLength(0);
    expect(await request()).toEqual({ scheduled: true });
    expect(await request()).toEqual({ scheduled: false });
    expect(await scheduled(t)).toHaveLength(2);
  });

  test("a refresh that never began stops holding others back once abandoned", async () => {
    const t = initComponentTest();
    await withUser(t);
    const refresh = await refreshHandle(t);
    const request = () =>
      t.mutation(api.enrichment.request, {
        kind: "user",
        entityId: "kp_ada",
        refresh,
        delayMs: 1000,
      });
    expect(await request()).toEqual({ scheduled: true });
    vi.setSystemTime(NOW + ABANDONED_AFTER_MS);
    expect(await request()).toEqual({ scheduled: false });
    vi.setSystemTime(NOW + 2000 + ABANDONED_AFTER_MS);
    expect(await request()).toEqual({ scheduled: true });
    expect(await pendingRows(t)).toHaveLength(1);
  });

  test("refuses an entity that is not mirrored or was deleted, and writes nothing", async () => {
    const t = initComponentTest();
    const refresh = await refreshHandle(t);
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_gone"));
      await deleteUser(ctx, version(2_000), "kp_gone", KEEP_UNTIL);
    });
    for (const entityId of ["kp_never", "kp_gone"]) {
      expect(await t.mutation(api.enrichment.request, { kind: "user", entityId, refresh })).toEqual(
        { scheduled: false },
      );
    }
    expect(
      await t.mutation(api.enrichment.request, {
        kind: "organization",
        entityId: "org_none",
        refresh,
      }),
    ).toEqual({ scheduled: false });
    expect(await scheduled(t)).toHaveLength(0);
    expect(await pendingRows(t)).toHaveLength(0);
  });

  test("users and organizations coalesce apart", async () => {
    const t = initComponentTest();
    await withUser(t);
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "kp_ada" });
    });
    const refresh = await refreshHandle(t);
    for (const kind of ["user", "organization"] as const) {
      expect(
        await t.mutation(api.enrichment.request, { kind, entityId: "kp_ada", refresh }),
      ).toEqual({ scheduled: true });
    }
    expect(await scheduled(t)).toHaveLength(2);
  });
});

describe("enrichment.begin", () => {
  test("answers null for an entity not mirrored, or deleted after the request", async () => {
    const t = initComponentTest();
    await withUser(t);
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a" });
    });
    const refresh = await refreshHandle(t);
    await t.mutation(api.enrichment.request, { kind: "user", entityId: "kp_ada", refresh });
    await t.mutation(api.enrichment.request, { kind: "organization", entityId: "org_a", refresh });
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(2_000), "kp_ada", KEEP_UNTIL);
      await deleteOrganization(ctx, version(2_000), "org_a", KEEP_UNTIL);
    });
    // Deleting removed the pending refreshes and cancelled their runs.
    expect(await pendingRows(t)).toHaveLength(0);
    expect(await scheduled(t)).toHaveLength(1); // only the organization's membership cascade
    expect(await t.mutation(api.enrichment.begin, { kind: "user", entityId: "kp_ada" })).toBe(null);
    expect(
      await t.mutation(api.enrichment.begin, { kind: "organization", entityId: "org_a" }),
    ).toBe(null);
    expect(await t.mutation(api.enrichment.begin, { kind: "user", entityId: "kp_x" })).toBe(null);
  });
});

describe("enrichment.applyUsers", () => {
  const details = {
    picture: "https://img.example/ada.png",
    createdAt: 1_000,
    totalSignIns: 3,
    lastSignedInAt: 5_000,
    identities: [{ type: "email", identity: "ada@example.com" }],
  };

  test("writes details and properties into what getUser reads; never inserts", async () => {
    const t = initComponentTest();
    await withUser(t);
    const result = await t.mutation(api.enrichment.applyUsers, {
      fetchedAt: NOW,
      users: [
        { kindeId: "kp_ada", details, properties: { plan: "pro" } },
        { kindeId: "kp_nobody", details },
      ],
    });
    expect(result).toEqual({ handled: 2, applied: 1, stale: 0, missing: 1, trimmed: 0 });
    expect(await getUser(t)).toEqual({
      kindeId: "kp_ada",
      firstName: "Ada",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [],
      lastSignedInAt: 5_000,
      picture: "https://img.example/ada.png",
      createdAt: 1_000,
      totalSignIns: 3,
      identities: [{ type: "email", identity: "ada@example.com" }],
      properties: { plan: "pro" },
    });
    expect(await getUser(t, "kp_nobody")).toBe(null);
  });

  test("refuses more than 500 users in one call", async () => {
    const t = initComponentTest();
    const users = Array.from({ length: 501 }, (_, i) => ({ kindeId: `kp_${i}` }));
    await expect(t.mutation(api.enrichment.applyUsers, { fetchedAt: NOW, users })).rejects.toThrow(
      /at most 500 users per call, not 501/,
    );
  });

  test("a webhook's snapshot keeps the enrichment; a user's memberships are untouched by it", async () => {
    const t = initComponentTest();
    await withUser(t);
    await t.mutation(api.enrichment.applyUsers, {
      fetchedAt: NOW,
      users: [{ kindeId: "kp_ada", details, properties: { plan: "pro" } }],
    });
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(2_000),
        userSnapshot("kp_ada", { firstName: "Augusta", organizations: [membership("org_a")] }),
      );
    });
    expect(await getUser(t)).toMatchObject({
      firstName: "Augusta",
      organizations: [{ orgCode: "org_a", roles: [], permissions: [] }],
      picture: details.picture,
      properties: { plan: "pro" },
    });
  });
});

describe("enrichment.applyOrganization", () => {
  test("writes properties into getOrganization; missing and stale write nothing", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a", name: "Acme" });
    });
    const apply = (fetchedAt: number, properties: Record<string, string>, orgCode = "org_a") =>
      t.mutation(api.enrichment.applyOrganization, { orgCode, fetchedAt, properties });
    expect(await apply(NOW, { seats: "10" })).toEqual({ outcome: "applied", trimmed: false });
    expect(await apply(NOW - 1, { seats: "5" })).toEqual({ outcome: "stale", trimmed: false });
    expect(await apply(NOW, { seats: "5" }, "org_none")).toEqual({
      outcome: "missing",
      trimmed: false,
    });
    expect(await t.query(api.organizations.getOrganization, { code: "org_a" })).toEqual({
      code: "org_a",
      name: "Acme",
      properties: { seats: "10" },
    });
  });
});
