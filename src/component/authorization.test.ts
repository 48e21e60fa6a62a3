import { beforeEach, describe, expect, test } from "vitest";
import { api } from "./_generated/api.js";
import { applyCatalogSnapshot, deleteCatalogEntry } from "./catalog.js";
import { deleteOrganization } from "./organizations.js";
import { applyUserSnapshot } from "./users.js";
import {
  KEEP_UNTIL,
  admin,
  publish,
  initComponentTest,
  membership,
  ref,
  userSnapshot,
  version,
  type ComponentTest,
} from "./setup.test.js";

const LONG_KEY = `feature:${"beta-".repeat(200)}access`;
const longPermission = ref("perm_long", LONG_KEY);

let t: ComponentTest;

const isMember = (orgCode = "org_a", kindeId = "kp_ada") =>
  t.query(api.authorization.isMember, { kindeId, orgCode });
const hasRole = (key: string, orgCode = "org_a", kindeId = "kp_ada") =>
  t.query(api.authorization.hasRole, { kindeId, orgCode, key });
const hasPermission = (key: string, orgCode = "org_a", kindeId = "kp_ada") =>
  t.query(api.authorization.hasPermission, { kindeId, orgCode, key });

// Ada holds admin and publish:docs in org_a (snapshot at 1,000); the catalog learned them at 500.
// The cascades the catalog schedules never run here: the checks must be exact without them.
beforeEach(async () => {
  t = initComponentTest();
  await t.run(async (ctx) => {
    await applyCatalogSnapshot(ctx, "role", version(500), admin);
    await applyCatalogSnapshot(ctx, "permission", version(500), publish);
    await applyUserSnapshot(
      ctx,
      version(1_000),
      userSnapshot("kp_ada", {
        organizations: [
          membership("org_a", [admin], [publish, longPermission]),
          membership("org_b"),
        ],
      }),
    );
  });
});

describe("membership check", () => {
  test("a member of each organization the user is in, with or without roles, and of no other", async () => {
    expect(await isMember("org_a")).toBe(true);
    expect(await isMember("org_b")).toBe(true);
    expect(await isMember("org_unknown")).toBe(false);
    expect(await isMember("org_a", "kp_unknown")).toBe(false);
    expect(await isMember("")).toBe(false);
  });

  test("a suspended user is a member of nothing", async () => {
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(2_000),
        userSnapshot("kp_ada", { isSuspended: true, organizations: [membership("org_a")] }),
      );
    });
    expect(await isMember("org_a")).toBe(false);
  });

  test("a deleted organization has no members, before its memberships are cleaned up", async () => {
    await t.run(async (ctx) => {
      await deleteOrganization(ctx, version(2_000), "org_a", KEEP_UNTIL);
    });
    expect(await isMember("org_a")).toBe(false);
    expect(await isMember("org_b")).toBe(true);
  });
});

describe("role and permission checks", () => {
  test("hold what the membership holds, in that organization only", async () => {
    expect(await hasRole("admin")).toBe(true);
    expect(await hasPermission("publish:docs")).toBe(true);
    expect(await hasPermission(LONG_KEY)).toBe(true);
    expect(await hasRole("admin", "org_b")).toBe(false);
    expect(await hasPermission("publish:docs", "org_b")).toBe(false);
    expect(await hasRole("admin", "org_unknown")).toBe(false);
    expect(await hasRole("admin", "org_a", "kp_unknown")).toBe(false);
  });

  test("a role key is not a permission key, and keys match exactly", async () => {
    expect(await hasPermission("admin")).toBe(false);
    expect(await hasRole("publish:docs")).toBe(false);
    expect(await hasRole("Admin")).toBe(false);
    expect(await hasRole("")).toBe(false);
    expect(await hasPermission(LONG_KEY.slice(0, -1))).toBe(false);
  });

  test("a suspended user holds nothing", async () => {
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(2_000),
        userSnapshot("kp_ada", {
          isSuspended: true,
          organizations: [membership("org_a", [admin], [publish])],
        }),
      );
    });
    expect(await hasRole("admin")).toBe(false);
    expect(await hasPermission("publish:docs")).toBe(false);
  });

  test("a deleted organization grants nothing, before its memberships are cleaned up", async () => {
    await t.run(async (ctx) => {
      await deleteOrganization(ctx, version(2_000), "org_a", KEEP_UNTIL);
    });
    expect(await hasRole("admin")).toBe(false);
    expect(await hasPermission("publish:docs")).toBe(false);
  });

  test("a deleted role or permission grants nothing, before the cascade removes it", async () => {
    await t.run(async (ctx) => {
      await deleteCatalogEntry(ctx, "role", version(2_000), admin.kindeId, KEEP_UNTIL);
      await deleteCatalogEntry(ctx, "permission", version(2_000), publish.kindeId, KEEP_UNTIL);
    });
    expect(await hasRole("admin")).toBe(false);
    expect(await hasPermission("publish:docs")).toBe(false);
    expect(await hasPermission(LONG_KEY)).toBe(true);
  });

  test("a rename newer than the user's snapshot answers to the new key at once", async () => {
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(2_000), { ...admin, key: "owner" });
    });
    expect(await hasRole("owner")).toBe(true);
    expect(await hasRole("admin")).toBe(false);
  });

  test("a rename older than the user's snapshot does not override it", async () => {
    await t.run(async (ctx) => {
      // Kinde renamed the role at 800, and the snapshot at 1,000 still said "admin".
      await applyCatalogSnapshot(ctx, "role", version(800), { ...admin, key: "owner" });
    });
    expect(await hasRole("admin")).toBe(true);
    expect(await hasRole("owner")).toBe(false);
  });
});
