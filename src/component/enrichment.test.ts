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
import { MAX_DOCUMENT_BYTES, storedDocumentBytes } from "./limits.js";
import { checkConvexValueLimits } from "../testing/valueLimits.js";
import {
  MAX_ENRICHMENT_TEXT,
  MAX_IDENTITIES,
  MAX_PROPERTIES,
  MAX_USERS_PER_APPLY,
} from "../shared/enrichment.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";

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

describe("a refresh whose run failed before it began", () => {
  test("holds back requests until abandoned, and the user's deletion still removes it", async () => {
    const t = initComponentTest();
    await withUser(t);
    // A handle whose run fails on `{ kind, entityId }`, as a refresh action that throws early.
    const failing = await t.run(
      async () => await createFunctionHandle(api.enrichment.applyOrganization),
    );
    expect(
      await t.mutation(api.enrichment.request, {
        kind: "user",
        entityId: "kp_ada",
        refresh: failing,
      }),
    ).toEqual({ scheduled: true });
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    error.mockRestore();
    const runs = await t.run(
      async (ctx) => await ctx.db.system.query("_scheduled_functions").collect(),
    );
    expect(runs.map((run) => run.state.kind)).toEqual(["failed"]);
    expect(await pendingRows(t)).toHaveLength(1);
    const again = () =>
      t.mutation(api.enrichment.request, { kind: "user", entityId: "kp_ada", refresh: failing });
    expect(await again()).toEqual({ scheduled: false });
    vi.setSystemTime(Date.now() + ABANDONED_AFTER_MS + 1000);
    expect(await again()).toEqual({ scheduled: true });
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(2_000), "kp_ada", KEEP_UNTIL);
    });
    expect(await pendingRows(t)).toEqual([]);
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

describe("versioning: what a late fetch, a delete and a newer webhook leave", () => {
  const apply = (t: ComponentTest, fetchedAt: number, user: object) =>
    t.mutation(api.enrichment.applyUsers, {
      fetchedAt,
      users: [{ kindeId: "kp_ada", ...user }],
    });

  test("a fetch that began earlier never overwrites a later one, part by part", async () => {
    const t = initComponentTest();
    await withUser(t);
    const newer = {
      details: { picture: "https://img.example/new.png" },
      properties: { plan: "pro" },
    };
    expect(await apply(t, NOW + 2, newer)).toMatchObject({ applied: 1, stale: 0 });
    const late = {
      details: { picture: "https://img.example/old.png" },
      properties: { plan: "free" },
    };
    expect(await apply(t, NOW + 1, late)).toMatchObject({ applied: 0, stale: 1 });
    expect(await apply(t, NOW + 2, late)).toMatchObject({ applied: 0, stale: 1 });
    // A fetch between the two parts' times replaces only the older part.
    expect(await apply(t, NOW + 3, { properties: { plan: "team" } })).toMatchObject({ applied: 1 });
    expect(await apply(t, NOW + 2.5, late)).toMatchObject({ applied: 1, stale: 0 });
    expect(await getUser(t)).toMatchObject({
      picture: "https://img.example/old.png",
      properties: { plan: "team" },
    });
  });

  test("a refresh racing the user's deletion never brings it back", async () => {
    const t = initComponentTest();
    await withUser(t);
    const begun = await t.mutation(api.enrichment.begin, { kind: "user", entityId: "kp_ada" });
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(2_000), "kp_ada", KEEP_UNTIL);
    });
    expect(await apply(t, begun!.fetchedAt, { details: { picture: "p" } })).toMatchObject({
      applied: 0,
      missing: 1,
    });
    expect(await getUser(t)).toBeNull();
    expect(await t.run(async (ctx) => await ctx.db.query("kindeUsers").collect())).toEqual([]);
  });

  test("a refresh racing a newer webhook leaves the webhook's fields and keeps its own", async () => {
    const t = initComponentTest();
    await withUser(t);
    const begun = await t.mutation(api.enrichment.begin, { kind: "user", entityId: "kp_ada" });
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(3_000),
        userSnapshot("kp_ada", { firstName: "Augusta", organizations: [membership("org_a")] }),
      );
    });
    await apply(t, begun!.fetchedAt, {
      details: { picture: "https://img.example/ada.png", lastSignedInAt: 4_000 },
      properties: { plan: "pro" },
    });
    const row = await t.run(async (ctx) => await ctx.db.query("kindeUsers").unique());
    expect(row).toMatchObject({
      firstName: "Augusta",
      organizations: [membership("org_a")],
      version: version(3_000),
      lastSignedInAt: 4_000,
      details: { picture: "https://img.example/ada.png" },
      properties: { plan: "pro" },
    });
  });

  test("properties added, changed and removed in Kinde: each fetch's list is the user's", async () => {
    const t = initComponentTest();
    await withUser(t);
    const steps = [{ plan: "free" }, { plan: "free", region: "eu" }, { plan: "pro", region: "eu" }];
    for (const [i, properties] of [...steps, { region: "eu" }, {}].entries()) {
      await apply(t, NOW + i, { properties });
      expect((await getUser(t))!.properties).toEqual(properties);
    }
  });

  test("an organization's refresh racing its deletion writes nothing", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a" });
    });
    const begun = await t.mutation(api.enrichment.begin, {
      kind: "organization",
      entityId: "org_a",
    });
    await t.run(async (ctx) => {
      await deleteOrganization(ctx, version(2_000), "org_a", KEEP_UNTIL);
    });
    expect(
      await t.mutation(api.enrichment.applyOrganization, {
        orgCode: "org_a",
        fetchedAt: begun!.fetchedAt,
        properties: { seats: "3" },
      }),
    ).toEqual({ outcome: "missing", trimmed: false });
    expect(await t.run(async (ctx) => await ctx.db.query("kindeOrganizations").collect())).toEqual(
      [],
    );
  });

  test("a newer organization webhook keeps the organization's properties", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a", name: "Acme" });
    });
    await t.mutation(api.enrichment.applyOrganization, {
      orgCode: "org_a",
      fetchedAt: NOW,
      properties: { seats: "3" },
    });
    const result = await t.run(
      async (ctx) =>
        await applyOrganizationSnapshot(ctx, version(2_000), { code: "org_a", name: "Acme Inc" }),
    );
    // What the host reads changed by the name only, and the hook says so with the properties.
    expect(result).toEqual({
      outcome: "applied",
      change: {
        type: "organization.updated",
        organization: { code: "org_a", name: "Acme Inc", properties: { seats: "3" } },
        previous: { code: "org_a", name: "Acme", properties: { seats: "3" } },
      },
    });
  });
});

/** The most enrichment one user can hold: every bound at its maximum (about 250 KB). */
const MOST = {
  details: {
    picture: "p".repeat(MAX_ENRICHMENT_TEXT),
    createdAt: 1,
    totalSignIns: 2,
    lastSignedInAt: 3,
    identities: Array.from({ length: MAX_IDENTITIES }, (_, i) => ({
      type: `${i}`.padEnd(MAX_ENRICHMENT_TEXT, "t"),
      identity: "i".repeat(MAX_ENRICHMENT_TEXT),
    })),
  },
  properties: Object.fromEntries(
    Array.from({ length: MAX_PROPERTIES }, (_, i) => [
      `${i}`.padEnd(MAX_ENRICHMENT_TEXT, "k"),
      "v".repeat(MAX_ENRICHMENT_TEXT),
    ]),
  ),
};

/**
 * A snapshot of a user in `MAX_ORGANIZATIONS_PER_USER` organizations whose
 * row weighs about `bytes` (key-only roles from a pool of 300 long keys, so
 * it stays within the per-user limits and costs no catalog look-up).
 */
function heavySnapshot(kindeId: string, bytes: number) {
  const keys = Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(200, "r"));
  const organizations = Array.from({ length: MAX_ORGANIZATIONS_PER_USER }, (_, i) =>
    membership(`org_${String(i).padStart(11, "0")}`),
  );
  const size = () =>
    storedDocumentBytes({ ...userSnapshot(kindeId, { organizations }), version: version(1) });
  const add = (n: number) =>
    organizations[n % organizations.length]!.roles.push({ kindeId: "", key: keys[n % 300]! });
  // Every key has the same length, so every role adds the same bytes.
  const base = size();
  add(0);
  const perRole = size() - base;
  const roles = Math.floor((bytes - base) / perRole);
  for (let n = 1; n < roles; n++) add(n);
  return userSnapshot(kindeId, { organizations });
}

async function storedUser(t: ComponentTest, kindeId = "kp_ada") {
  return await t.run(
    async (ctx) =>
      await ctx.db
        .query("kindeUsers")
        .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
        .unique(),
  );
}

describe("a user near Convex's 1 MiB per document", () => {
  test("takes the most enrichment it can: the mirror's data stays, what would not fit is dropped and logged", async () => {
    const t = initComponentTest();
    const snapshot = heavySnapshot("kp_ada", MAX_DOCUMENT_BYTES - 150_000);
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), snapshot);
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const result = await t.mutation(api.enrichment.applyUsers, {
      fetchedAt: NOW,
      users: [{ kindeId: "kp_ada", ...MOST }],
    });
    expect(result).toEqual({ handled: 1, applied: 1, stale: 0, missing: 0, trimmed: 1 });
    expect(warn).toHaveBeenCalledWith(
      "[convex-kinde]",
      expect.stringMatching(/^user kp_ada keeps no properties: .* over Convex's limit/),
    );
    warn.mockRestore();
    const row = (await storedUser(t))!;
    expect(checkConvexValueLimits("kindeUsers", row)).toEqual([]);
    expect(row.organizations).toEqual(snapshot.organizations);
    expect(row.properties).toBeUndefined();
    // The fetch stays known: an older one may not write them either.
    expect(row.propertiesFetchedAt).toBe(NOW);
    expect(row.details).toEqual({ ...MOST.details, lastSignedInAt: undefined });
    expect((await getUser(t))!.identities).toHaveLength(MAX_IDENTITIES);
  });

  test("a webhook that grows the user past room for its enrichment applies, and the enrichment goes", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), heavySnapshot("kp_ada", 600_000));
    });
    await t.mutation(api.enrichment.applyUsers, {
      fetchedAt: NOW,
      users: [{ kindeId: "kp_ada", ...MOST }],
    });
    expect((await storedUser(t))!.properties).toEqual(MOST.properties);
    const grown = heavySnapshot("kp_ada", MAX_DOCUMENT_BYTES - 20_000);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const result = await t.run(async (ctx) => await applyUserSnapshot(ctx, version(2_000), grown));
    expect(warn).toHaveBeenCalledWith(
      "[convex-kinde]",
      expect.stringMatching(/^user kp_ada keeps no properties or details/),
    );
    warn.mockRestore();
    expect(result).toMatchObject({ outcome: "applied", change: { type: "user.updated" } });
    const row = (await storedUser(t))!;
    expect(checkConvexValueLimits("kindeUsers", row)).toEqual([]);
    expect(row.organizations).toEqual(grown.organizations);
    expect(row).not.toHaveProperty("properties");
    expect(row).not.toHaveProperty("details");
  });

  test("applyUsers stops within the transaction budget and says how far it got; the rest is sent again", async () => {
    const t = initComponentTest();
    const count = 60; // about 15 MB of enrichment: more than half of a transaction's 16 MiB written
    await t.run(async (ctx) => {
      for (let i = 0; i < count; i++) {
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${i}`));
      }
    });
    const users = Array.from({ length: count }, (_, i) => ({ kindeId: `kp_${i}`, ...MOST }));
    const first = await t.mutation(api.enrichment.applyUsers, { fetchedAt: NOW, users });
    expect(first.handled).toBeGreaterThan(0);
    expect(first.handled).toBeLessThan(count);
    expect(first).toMatchObject({ applied: first.handled, stale: 0, missing: 0, trimmed: 0 });
    let handled = first.handled;
    while (handled < count) {
      const next = await t.mutation(api.enrichment.applyUsers, {
        fetchedAt: NOW,
        users: users.slice(handled),
      });
      expect(next.handled).toBeGreaterThan(0);
      handled += next.handled;
    }
    for (const i of [0, count - 1]) {
      expect((await getUser(t, `kp_${i}`))!.properties).toEqual(MOST.properties);
    }
    expect(MAX_USERS_PER_APPLY).toBe(500);
  });
});

describe("what the host reads", () => {
  test("getUser still reads 1 document with 1 index range, enrichment included; member lists show it too", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a" });
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { organizations: [membership("org_a")] }),
      );
    });
    await t.mutation(api.enrichment.applyUsers, {
      fetchedAt: NOW,
      users: [{ kindeId: "kp_ada", ...MOST }],
    });
    const { user, documentsRead, indexRanges } = await t.run(async (ctx) => {
      const before = await ctx.meta.getTransactionMetrics();
      const user = await ctx.runQuery(api.users.getUser, { kindeId: "kp_ada" });
      const after = await ctx.meta.getTransactionMetrics();
      return {
        user,
        documentsRead: after.documentsRead.used - before.documentsRead.used,
        indexRanges: after.databaseQueries.used - before.databaseQueries.used,
      };
    });
    expect({ documentsRead, indexRanges }).toEqual({ documentsRead: 1, indexRanges: 1 });
    const { lastSignedInAt: _, ...details } = MOST.details;
    expect(user).toMatchObject({ ...details, lastSignedInAt: 3, properties: MOST.properties });
    const members = await t.query(api.organizations.listMembers, {
      orgCode: "org_a",
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(members.page).toEqual([
      expect.objectContaining({ kindeId: "kp_ada", ...details, properties: MOST.properties }),
    ]);
    const listed = await t.query(api.users.listUsers, {
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(listed.page[0]).toEqual(user);
  });
});
