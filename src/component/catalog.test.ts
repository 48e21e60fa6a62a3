import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { applyCatalogSnapshot, deleteCatalogEntry, findByKey } from "./catalog.js";
import { MAX_CATALOG_SIZE } from "../shared/mirror.js";
import { KEEP_UNTIL, initComponentTest, version } from "./setup.test.js";

const admin = { kindeId: "role_admin", key: "admin", name: "Admin", isDefaultRole: false };

// A catalog change schedules a cascade over memberships (cascade.test.ts); here there are none.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("catalog snapshots", () => {
  test("created, then updated only when the entry changed; older events are stale", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await applyCatalogSnapshot(ctx, "role", version(1_000), admin)).toEqual({
        outcome: "applied",
        change: { type: "role.created", role: admin },
      });
      expect(await applyCatalogSnapshot(ctx, "role", version(2_000), admin)).toEqual({
        outcome: "applied",
        change: null,
      });
      const renamed = { ...admin, key: "administrator" };
      expect(await applyCatalogSnapshot(ctx, "role", version(3_000), renamed)).toEqual({
        outcome: "applied",
        change: { type: "role.updated", role: renamed, previous: admin },
      });
      expect(await applyCatalogSnapshot(ctx, "role", version(2_500), admin)).toEqual({
        outcome: "stale",
      });
      expect((await findByKey(ctx, "role", "administrator"))?.kindeId).toBe(admin.kindeId);
      expect(await findByKey(ctx, "role", "admin")).toBeNull();
    });
  });

  test("roles and permissions are separate catalogs with their own change types", async () => {
    const t = initComponentTest();
    const read = { kindeId: "perm_read", key: "read:docs" };
    await t.run(async (ctx) => {
      expect(await applyCatalogSnapshot(ctx, "permission", version(1_000), read)).toEqual({
        outcome: "applied",
        change: { type: "permission.created", permission: read },
      });
      expect(await findByKey(ctx, "role", "read:docs")).toBeNull();
      const renamed = { ...read, key: "docs:read" };
      expect(await applyCatalogSnapshot(ctx, "permission", version(2_000), renamed)).toEqual({
        outcome: "applied",
        change: { type: "permission.updated", permission: renamed, previous: read },
      });
    });
    expect(await t.query(api.catalog.listPermissions, {})).toEqual([
      { kindeId: "perm_read", key: "docs:read" },
    ]);
    expect(await t.query(api.catalog.listRoles, {})).toEqual([]);
  });

  test("a key taken by a newer entry evicts the outdated claim, which is noted unsettled", async () => {
    const t = initComponentTest();
    const successor = { kindeId: "role_new", key: "admin" };
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(1_000), admin);
      // The old admin role was renamed or deleted in Kinde (event not here yet), and its key reused.
      await applyCatalogSnapshot(ctx, "role", version(2_000), successor);
      expect((await findByKey(ctx, "role", "admin"))?.kindeId).toBe("role_new");
      const ids = (await ctx.db.query("kindeRoles").collect()).map((r) => r.kindeId);
      expect(ids).toEqual(["role_new"]);
      const unsettled = await ctx.db.query("unsettledRefs").collect();
      expect(unsettled.map((u) => u.kindeId)).toEqual([admin.kindeId]);
    });
  });

  test("an older claim arriving late does not take the key from a newer one", async () => {
    const t = initComponentTest();
    const successor = { kindeId: "role_new", key: "admin" };
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), successor);
      await applyCatalogSnapshot(ctx, "role", version(1_000), admin);
      expect((await findByKey(ctx, "role", "admin"))?.kindeId).toBe("role_new");
      expect(await ctx.db.query("kindeRoles").collect()).toHaveLength(2);
    });
  });

  test("a long key is stored and found whole", async () => {
    const t = initComponentTest();
    const key = `org:${"x".repeat(2_000)}:write`;
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "permission", version(1_000), { kindeId: "perm_long", key });
      expect((await findByKey(ctx, "permission", key))?.kindeId).toBe("perm_long");
      expect(await findByKey(ctx, "permission", key.slice(0, -1))).toBeNull();
    });
  });
});

describe("catalog deletion", () => {
  test("removes the entry, leaves a tombstone, and no later event brings it back", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(1_000), admin);
      expect(
        await deleteCatalogEntry(ctx, "role", version(2_000), admin.kindeId, KEEP_UNTIL),
      ).toEqual({ outcome: "applied", change: { type: "role.deleted", kindeId: admin.kindeId } });
      expect(
        await deleteCatalogEntry(ctx, "role", version(3_000), admin.kindeId, KEEP_UNTIL),
      ).toEqual({ outcome: "stale" });
      expect(await applyCatalogSnapshot(ctx, "role", version(9_000), admin)).toEqual({
        outcome: "stale",
      });
    });
    expect(await t.query(api.catalog.listRoles, {})).toEqual([]);
  });
});

describe("catalog reads", () => {
  test("in key order, public fields only", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      for (const key of ["viewer", "admin", "editor"]) {
        await applyCatalogSnapshot(ctx, "role", version(1_000), { kindeId: `role_${key}`, key });
      }
    });
    expect(await t.query(api.catalog.listRoles, {})).toEqual([
      { kindeId: "role_admin", key: "admin" },
      { kindeId: "role_editor", key: "editor" },
      { kindeId: "role_viewer", key: "viewer" },
    ]);
  });

  test(`return at most ${MAX_CATALOG_SIZE} entries, within one query's limits`, async () => {
    const t = initComponentTest();
    const keyOf = (i: number) => `perm:${String(i).padStart(4, "0")}`;
    await t.run(async (ctx) => {
      for (let i = 0; i <= MAX_CATALOG_SIZE; i++) {
        await ctx.db.insert("kindePermissions", {
          kindeId: `perm_${i}`,
          key: keyOf(i),
          version: version(1),
        });
      }
    });
    const listed = await t.query(api.catalog.listPermissions, {});
    expect(listed).toHaveLength(MAX_CATALOG_SIZE);
    expect(listed.at(-1)?.key).toBe(keyOf(MAX_CATALOG_SIZE - 1));
  });
});
