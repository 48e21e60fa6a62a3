import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { getDocumentSize } from "convex/values";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import { CASCADE_BATCH_SIZE, refreshMembershipRefs } from "./cascade.js";
import { MAX_DOCUMENT_BYTES } from "./limits.js";
import { applyCatalogSnapshot, deleteCatalogEntry } from "./catalog.js";
import { applyUserSnapshot } from "./users.js";
import { convexTest } from "convex-test";
import { sized } from "../testing/scale.js";
import schema from "./schema.js";
import {
  modules,
  KEEP_UNTIL,
  admin,
  initComponentTest,
  membership,
  ref,
  userSnapshot,
  version,
  type ComponentTest,
} from "./setup.test.js";

const viewer = ref("role_viewer", "viewer");

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Users `kp_0…` each in `orgsEach` organizations, holding `roles` in each; the catalog knows the roles. */
async function seed(t: ComponentTest, users: number, orgsEach: number, roles = [admin, viewer]) {
  await t.run(async (ctx) => {
    for (const role of roles) await applyCatalogSnapshot(ctx, "role", version(500), role);
    for (let u = 0; u < users; u++) {
      const organizations = Array.from({ length: orgsEach }, (_, o) =>
        membership(`org_${o}`, roles),
      );
      await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${u}`, { organizations }));
    }
  });
}

/** Every role key held, in the memberships index and in the users' inline copies. */
async function heldKeys(ctx: MutationCtx) {
  const indexed = (await ctx.db.query("kindeMemberships").collect()).flatMap((m) =>
    m.roles.map((r) => r.key),
  );
  const inline = (await ctx.db.query("kindeUsers").collect()).flatMap((u) =>
    u.organizations.flatMap((m) => m.roles.map((r) => r.key)),
  );
  return { indexed: new Set(indexed), inline: new Set(inline) };
}

/** What {@link heldKeys} finds when both copies hold exactly `keys`. */
const heldEverywhere = (...keys: string[]) => ({ indexed: new Set(keys), inline: new Set(keys) });

const cascadeRuns = (t: ComponentTest, name: string) =>
  t.run(
    async (ctx) =>
      (await ctx.db.system.query("_scheduled_functions").collect()).filter((job) =>
        job.name.includes(name),
      ).length,
  );

describe("role rename", () => {
  test("rewrites the key in every membership, in bounded batches", async () => {
    const t = initComponentTest();
    // More memberships than one batch handles, so the cascade must continue itself.
    const memberships = 5 * 50;
    expect(memberships).toBeGreaterThan(CASCADE_BATCH_SIZE);
    await seed(t, 5, 50);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...admin, key: "owner" });
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("owner", "viewer"));
    });
    expect(await cascadeRuns(t, "refreshMembershipRefs")).toBe(
      Math.ceil(memberships / CASCADE_BATCH_SIZE),
    );
  });

  test("a user whose snapshot is newer than the rename keeps Kinde's newer word, noted unsettled", async () => {
    const t = initComponentTest();
    await seed(t, 1, 1, [admin]);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...admin, key: "owner" });
      // Kinde later (3,000) still calls the role "admin" in this user's snapshot.
      await applyUserSnapshot(
        ctx,
        version(3_000),
        userSnapshot("kp_late", { organizations: [membership("org_x", [admin])] }),
      );
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      const late = await ctx.db
        .query("kindeMemberships")
        .withIndex("kindeId", (q) => q.eq("kindeId", "kp_late"))
        .unique();
      expect(late?.roles).toEqual([admin]);
      const renamed = await ctx.db
        .query("kindeMemberships")
        .withIndex("kindeId", (q) => q.eq("kindeId", "kp_0"))
        .unique();
      expect(renamed?.roles).toEqual([ref(admin.kindeId, "owner")]);
      const unsettled = await ctx.db.query("unsettledRefs").collect();
      expect(unsettled.map((u) => u.kindeId)).toEqual([admin.kindeId]);
    });
  });

  test("a newer catalog event that keeps the key leaves the pending rewrite to finish", async () => {
    // Found by the convergence property: the catalog's first event queued the
    // rewrite of a key taken from a user snapshot; a newer event with the same
    // key queued nothing, and the first rewrite then thought itself outdated.
    const t = initComponentTest();
    const boss = ref(admin.kindeId, "boss");
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_early", { organizations: [membership("org_x", [boss])] }),
      );
      await applyCatalogSnapshot(ctx, "role", version(2_000), admin);
      await applyCatalogSnapshot(ctx, "role", version(3_000), { ...admin, name: "Admin" });
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("admin"));
    });
  });

  test("a cascade outdated by a newer catalog event changes nothing", async () => {
    const t = initComponentTest();
    await seed(t, 2, 2, [admin]);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(3_000), admin);
    });
    await t.mutation(internal.cascade.refreshMembershipRefs, {
      kind: "role",
      kindeId: admin.kindeId,
      key: "stale-name",
      version: version(2_000),
      cursor: null,
    });
    await t.run(async (ctx) => {
      expect((await heldKeys(ctx)).indexed).toEqual(new Set(["admin"]));
    });
  });
});

describe("role deletion", () => {
  test("removes the role from every membership and leaves the others", async () => {
    const t = initComponentTest();
    await seed(t, 3, 3);
    await t.run(async (ctx) => {
      await deleteCatalogEntry(ctx, "role", version(2_000), admin.kindeId, KEEP_UNTIL);
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("viewer"));
      expect(await ctx.db.query("kindeMemberships").collect()).toHaveLength(9);
    });
  });
});

describe("organization removal", () => {
  test("removes every membership of the organization, a batch at a time, and no other", async () => {
    const t = initComponentTest();
    const users = CASCADE_BATCH_SIZE + 20;
    await t.run(async (ctx) => {
      for (let u = 0; u < users; u++) {
        const organizations = [membership("org_gone"), membership("org_kept")];
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${u}`, { organizations }));
      }
    });
    await t.mutation(internal.cascade.removeOrganizationMemberships, { orgCode: "org_gone" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      const orgCodes = (await ctx.db.query("kindeMemberships").collect()).map((m) => m.orgCode);
      expect(new Set(orgCodes)).toEqual(new Set(["org_kept"]));
      expect(orgCodes).toHaveLength(users);
      const inline = (await ctx.db.query("kindeUsers").collect()).map((u) =>
        u.organizations.map((m) => m.orgCode).join(),
      );
      expect(new Set(inline)).toEqual(new Set(["org_kept"]));
    });
    // The first batch was the call above; each full batch scheduled the next.
    expect(await cascadeRuns(t, "removeOrganizationMemberships")).toBe(
      Math.ceil(users / CASCADE_BATCH_SIZE) - 1,
    );
  });
});

describe("users of any size", () => {
  // Each user the cascade touches has its inline copy rewritten: the users
  // below are 12 KB, with 50 memberships of 312 bytes, so a rename writes
  // about 28 KB per user, and an organization's removal 3 KB per member.
  // Under tighter limits on bytes written (and read) the batches must stop at
  // half of them and go on, or the cascade would fail and leave the old key behind.
  const tight = (bytesWritten = 256 * 1024) =>
    convexTest({ schema, modules, transactionLimits: { bytesWritten } });
  const LONG = "x".repeat(40);
  const big = (key: string) => ref(`role_${key}`, `${key}_${LONG}`);

  /** 5 users (at version 1,000) in 50 organizations each, holding three long-keyed roles in each. */
  async function seedHolders(t: ComponentTest) {
    const roles = [big("a"), big("b"), big("c")];
    await t.run(async (ctx) => {
      for (const role of roles) await applyCatalogSnapshot(ctx, "role", version(500), role);
    });
    for (let u = 0; u < 5; u++) {
      const organizations = Array.from({ length: 50 }, (_, o) => membership(`org_${o}`, roles));
      await t.run(async (ctx) => {
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${u}`, { organizations }));
      });
    }
    return roles;
  }

  test("a role rename stops each batch at half of the limits and finishes", async () => {
    // Half of 64 KB holds one user's rewrite, not two.
    const t = tight(64 * 1024);
    const roles = await seedHolders(t);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...roles[0]!, key: "owner" });
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("owner", roles[1]!.key, roles[2]!.key));
    });
    // 250 memberships fit two batches by count; the byte budget took more.
    expect(await cascadeRuns(t, "refreshMembershipRefs")).toBeGreaterThan(2);
  });

  test("a rename older than every holder's snapshot moves past them and ends", async () => {
    // Every holder's snapshot is newer than the rename, so no membership changes:
    // a batch that stops early must still go on after the rows it handled.
    // Each batch reads its page (200 memberships, 62 KB) and each user once
    // (12 KB): half of 160 KB holds the page and one user, not two.
    const t = convexTest({
      schema,
      modules,
      transactionLimits: { bytesRead: 160 * 1024, bytesWritten: 256 * 1024 },
    });
    const roles = await seedHolders(t);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(900), { ...roles[0]!, key: "owner" });
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect((await heldKeys(ctx)).indexed).toEqual(new Set(roles.map((r) => r.key)));
      const unsettled = await ctx.db.query("unsettledRefs").collect();
      expect(unsettled.map((u) => u.kindeId)).toEqual([roles[0]!.kindeId]);
    });
    // Reading 5 users of this size takes several batches, and no batch reads them again.
    const runs = await cascadeRuns(t, "refreshMembershipRefs");
    expect(runs).toBeGreaterThan(2);
    expect(runs).toBeLessThan(60);
  });

  // In CI fewer members than one batch holds by count, under a tighter limit, so only the byte
  // budget can split them; `npm run test:scale` takes more than one batch by count too (seeding
  // its 220 users takes seconds in convex-test: the timeout stops a hang, it is no target).
  const [members, removalBytes] = sized([40, 64 * 1024], [CASCADE_BATCH_SIZE + 20, 256 * 1024]);
  test(
    `an organization's removal of ${members} members stops each batch at half of the limits and finishes`,
    {
      timeout: 60_000,
    },
    async () => {
      const t = tight(removalBytes);
      const roles = [big("a"), big("b"), big("c")];
      const users = members;
      // About 8 KB written per user seeded (its 3 KB document and 13 membership rows): a few
      // at a time, with room, within the limit.
      const perSeed = Math.floor(removalBytes / (12 * 1024));
      for (let first = 0; first < users; first += perSeed) {
        await t.run(async (ctx) => {
          for (let u = first; u < Math.min(users, first + perSeed); u++) {
            const organizations = [
              membership("org_gone", roles),
              ...Array.from({ length: 12 }, (_, o) => membership(`org_kept_${o}`, roles)),
            ];
            await applyUserSnapshot(
              ctx,
              version(1_000),
              userSnapshot(`kp_${u}`, { organizations }),
            );
          }
        });
      }
      await t.mutation(internal.cascade.removeOrganizationMemberships, { orgCode: "org_gone" });
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      await t.run(async (ctx) => {
        const gone = await ctx.db
          .query("kindeMemberships")
          .withIndex("orgCode", (q) => q.eq("orgCode", "org_gone"))
          .collect();
        expect(gone).toEqual([]);
        const inline = (await ctx.db.query("kindeUsers").collect()).flatMap((u) =>
          u.organizations.map((m) => m.orgCode),
        );
        expect(inline).not.toContain("org_gone");
        expect(inline).toHaveLength(users * 12);
      });
      // By count the first call and this many more batches would do; the byte budget took more.
      expect(await cascadeRuns(t, "removeOrganizationMemberships")).toBeGreaterThan(
        Math.ceil(users / CASCADE_BATCH_SIZE) - 1,
      );
    },
  );
});

describe("one write per user per batch", () => {
  /** Runs one batch of the rename cascade in a transaction of its own and returns what it wrote. */
  async function measureBatch(t: ComponentTest, key: string) {
    return await t.run(async (ctx) => {
      const run = (refreshMembershipRefs as unknown as { _handler: Handler })._handler;
      await run(ctx, {
        kind: "role",
        kindeId: admin.kindeId,
        key,
        version: version(2_000),
        cursor: null,
      });
      const metrics = await ctx.meta.getTransactionMetrics();
      return { documents: metrics.documentsWritten.used, bytes: metrics.bytesWritten.used };
    });
  }
  type Handler = (ctx: MutationCtx, args: Record<string, unknown>) => Promise<null>;

  test("a rename over 5 users in 50 organizations rewrites each user's inline copy once per batch", async () => {
    const t = initComponentTest();
    await seed(t, 5, 50);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...admin, key: "owner" });
    });
    const { userBytes, membershipBytes } = await t.run(async (ctx) => ({
      userBytes: getDocumentSize((await ctx.db.query("kindeUsers").first())!),
      membershipBytes: getDocumentSize((await ctx.db.query("kindeMemberships").first())!),
    }));
    // The first page is users kp_0…kp_3, 50 memberships each: 200 membership
    // rows and 4 users (plus the job that goes on), where rewriting each
    // user's inline copy per membership wrote 200 users.
    const first = await measureBatch(t, "owner");
    const users = CASCADE_BATCH_SIZE / 50;
    expect(first.documents).toBeLessThanOrEqual(CASCADE_BATCH_SIZE + users + 1);
    expect(first.bytes).toBeLessThan(CASCADE_BATCH_SIZE * membershipBytes + 2 * users * userBytes);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("owner", "viewer"));
    });
  });

  test("a user whose memberships are spread over the page is still handled once, and the batches go on", async () => {
    // Users joining organizations one at a time interleave their membership
    // rows (u0 o0, u1 o0, u2 o0, u0 o1, …). A limit whose half holds one
    // user's rewrite (a few KB here), not two, makes each batch stop after
    // one user and resume before the first membership of the next.
    const t = convexTest({ schema, modules, transactionLimits: { bytesWritten: 12 * 1024 } });
    const users = 3;
    const rounds = 20;
    const role = ref("role_long", `long_${"x".repeat(60)}`);
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(500), role);
    });
    for (let r = 0; r < rounds; r++) {
      await t.run(async (ctx) => {
        for (let u = 0; u < users; u++) {
          const organizations = Array.from({ length: r + 1 }, (_, o) =>
            membership(`org_${o}`, [role]),
          );
          await applyUserSnapshot(
            ctx,
            version(1_000 + r),
            userSnapshot(`kp_${u}`, { organizations }),
          );
        }
      });
    }
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...role, key: "short" });
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      expect(await heldKeys(ctx)).toEqual(heldEverywhere("short"));
    });
    expect(await cascadeRuns(t, "refreshMembershipRefs")).toBe(users);
  });
});

describe("a rename that would take a user over 1 MiB", () => {
  // A user whose document is 24 KB under Convex's 1 MiB limit, holding the
  // renamed role in each of its 400 organizations: 120 more bytes of key in
  // each would put it at about 1.02 MiB, a write a deployment refuses. Its
  // first page of 200 memberships alone would still fit: a cascade judging
  // page by page would leave the user half renamed.
  const renamed = ref("role_renamed", "r");
  const longer = `r_${"x".repeat(118)}`;
  const BIG_ORGS = 400;

  async function seedBigUser(t: ComponentTest, headroom = 24 * 1024) {
    // What brings the document near 1 MiB: a role with a long key in each organization.
    const overhead = await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(500), renamed);
      const probe = userSnapshot("kp_big", {
        organizations: Array.from({ length: BIG_ORGS }, (_, o) =>
          membership(`org_${o}`, [renamed, ref("role_pad", "")]),
        ),
      });
      return getDocumentSize({ ...probe, version: version(1_000) });
    });
    const padding = ref(
      "role_pad",
      "p".repeat(Math.floor((MAX_DOCUMENT_BYTES - headroom - overhead) / BIG_ORGS)),
    );
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(500), padding);
      const organizations = Array.from({ length: BIG_ORGS }, (_, o) =>
        membership(`org_${o}`, [renamed, padding]),
      );
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_big", { organizations }));
    });
    // Holders whose memberships come after the big user's, in a later batch.
    await t.run(async (ctx) => {
      for (let u = 0; u < 3; u++) {
        const organizations = [membership("org_0", [renamed]), membership("org_1", [renamed])];
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${u}`, { organizations }));
      }
    });
  }

  test(
    "leaves that user's memberships and inline copy at the old key, and renames the others",
    { timeout: 60_000 },
    async () => {
      const error = vi.fn();
      vi.stubGlobal("console", { ...console, error });
      try {
        const t = initComponentTest();
        await seedBigUser(t);
        const before = await t.run(async (ctx) =>
          getDocumentSize((await ctx.db.query("kindeUsers").first())!),
        );
        expect(before).toBeGreaterThan(MAX_DOCUMENT_BYTES - 32 * 1024);
        expect(before).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
        await t.run(async (ctx) => {
          await applyCatalogSnapshot(ctx, "role", version(2_000), {
            ...renamed,
            key: longer,
          });
        });
        await t.finishAllScheduledFunctions(vi.runAllTimers);
        await t.run(async (ctx) => {
          for (const user of await ctx.db.query("kindeUsers").collect()) {
            expect(getDocumentSize(user), user.kindeId).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
          }
          const keysOf = async (kindeId: string) => {
            const rows = await ctx.db
              .query("kindeMemberships")
              .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
              .collect();
            const user = await ctx.db
              .query("kindeUsers")
              .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
              .unique();
            const held = (refs: { kindeId: string; key: string }[]) =>
              refs.filter((r) => r.kindeId === renamed.kindeId).map((r) => r.key);
            return {
              indexed: new Set(rows.flatMap((m) => held(m.roles))),
              inline: new Set(user!.organizations.flatMap((m) => held(m.roles))),
            };
          };
          // The big user's two copies agree; the catalog's newer key is noted
          // unsettled, so its next event for this role tries again.
          expect(await keysOf("kp_big")).toEqual(heldEverywhere("r"));
          for (let u = 0; u < 3; u++) {
            expect(await keysOf(`kp_${u}`)).toEqual(heldEverywhere(longer));
          }
          const unsettled = await ctx.db.query("unsettledRefs").collect();
          expect(unsettled.map((u) => u.kindeId)).toEqual([renamed.kindeId]);
        });
        // Checks honour the rename at once, from the catalog.
        const check = (key: string) =>
          t.query(api.authorization.hasRole, {
            kindeId: "kp_big",
            orgCode: "org_7",
            key,
          });
        expect(await check(longer)).toBe(true);
        expect(await check("r")).toBe(false);
        expect(error).toHaveBeenCalledWith(
          "[convex-kinde]",
          expect.stringMatching(
            /^user kp_big keeps role role_renamed's old key: the new one would make their kindeUsers document \d+ bytes/,
          ),
        );
      } finally {
        vi.unstubAllGlobals();
      }
    },
  );

  test(
    "renames a user whose enrichment makes the room: the enrichment goes, the mirror's data stays",
    { timeout: 60_000 },
    async () => {
      const warn = vi.fn();
      vi.stubGlobal("console", { ...console, warn });
      try {
        const t = initComponentTest();
        // 60 KB under the limit, 40 KB of it taken by properties: the rename's
        // 47 KB fit only without them.
        await seedBigUser(t, 60 * 1024);
        const properties = Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`p${i}`, "v".repeat(1000)]),
        );
        await t.mutation(api.enrichment.applyUsers, {
          fetchedAt: 1,
          users: [
            { kindeId: "kp_big", details: { picture: "https://img.example/big.png" }, properties },
          ],
        });
        await t.run(async (ctx) => {
          await applyCatalogSnapshot(ctx, "role", version(2_000), { ...renamed, key: longer });
        });
        await t.finishAllScheduledFunctions(vi.runAllTimers);
        const user = await t.run(
          async (ctx) =>
            await ctx.db
              .query("kindeUsers")
              .withIndex("kindeId", (q) => q.eq("kindeId", "kp_big"))
              .unique(),
        );
        expect(getDocumentSize(user!)).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
        const keys = new Set(
          user!.organizations.flatMap((m) =>
            m.roles.filter((r) => r.kindeId === renamed.kindeId).map((r) => r.key),
          ),
        );
        expect(keys).toEqual(new Set([longer]));
        expect(user!.properties).toBeUndefined();
        expect(user!.details).toEqual({ picture: "https://img.example/big.png" });
        expect(warn).toHaveBeenCalledWith(
          "[convex-kinde]",
          expect.stringMatching(/^user kp_big keeps no properties:/),
        );
      } finally {
        vi.unstubAllGlobals();
      }
    },
  );
});
