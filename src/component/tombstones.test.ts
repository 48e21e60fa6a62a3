import { describe, expect, test } from "vitest";
import { addTombstone, findTombstone, isDeleted, isStale } from "./tombstones.js";
import { KEEP_UNTIL, initComponentTest, version } from "./setup.test.js";

describe("the stale guard", () => {
  test("with a row, only a strictly newer event may write", async () => {
    const t = initComponentTest();
    const stored = { version: version(2_000, "event_b") };
    await t.run(async (ctx) => {
      expect(await isStale(ctx, "user", "kp_1", stored, version(1_000))).toBe(true);
      expect(await isStale(ctx, "user", "kp_1", stored, version(2_000, "event_b"))).toBe(true);
      expect(await isStale(ctx, "user", "kp_1", stored, version(2_000, "event_a"))).toBe(true);
      expect(await isStale(ctx, "user", "kp_1", stored, version(2_000, "event_c"))).toBe(false);
      expect(await isStale(ctx, "user", "kp_1", stored, version(3_000))).toBe(false);
    });
  });

  test("without a row, an entity never seen may be written, a deleted one never again", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await isStale(ctx, "user", "kp_1", null, version(1_000))).toBe(false);
      await addTombstone(ctx, "user", "kp_1", version(5_000), KEEP_UNTIL);
      // Deletion is final: even an event dated after the delete cannot bring the user back.
      expect(await isStale(ctx, "user", "kp_1", null, version(9_000))).toBe(true);
    });
  });
});

describe("tombstones", () => {
  test("a deletion is recorded once, with the deleting event and its expiry", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await addTombstone(ctx, "role", "role_1", version(1_000), KEEP_UNTIL)).toBe(true);
      expect(await addTombstone(ctx, "role", "role_1", version(2_000), KEEP_UNTIL + 1)).toBe(false);
      const tombstone = await findTombstone(ctx, "role", "role_1");
      expect(tombstone).toMatchObject({
        kind: "role",
        entityId: "role_1",
        version: version(1_000),
        expiresAt: KEEP_UNTIL,
      });
      expect(await ctx.db.query("tombstones").collect()).toHaveLength(1);
    });
  });

  test("are per kind of entity: an organization code and a Kinde id may coincide", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await addTombstone(ctx, "organization", "shared_id", version(1_000), KEEP_UNTIL);
      expect(await isDeleted(ctx, "organization", "shared_id")).toBe(true);
      for (const kind of ["user", "role", "permission"] as const) {
        expect(await isDeleted(ctx, kind, "shared_id")).toBe(false);
      }
    });
  });

  test("a long id is its own key, not a prefix match", async () => {
    const t = initComponentTest();
    const long = `kp_${"f".repeat(500)}`;
    await t.run(async (ctx) => {
      await addTombstone(ctx, "user", long, version(1_000), KEEP_UNTIL);
      expect(await isDeleted(ctx, "user", long)).toBe(true);
      expect(await isDeleted(ctx, "user", long.slice(0, -1))).toBe(false);
      expect(await isDeleted(ctx, "user", `${long}0`)).toBe(false);
    });
  });
});
