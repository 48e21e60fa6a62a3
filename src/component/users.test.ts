import { describe, expect, test } from "vitest";
import { getDocumentSize } from "convex/values";
import { api } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import { applyUserSnapshot, deleteUser, recordSignIn } from "./users.js";
import { applyCatalogSnapshot } from "./catalog.js";
import { addTombstone } from "./tombstones.js";
import { readCount } from "./counters.js";
import { UNSYNCED } from "./ordering.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import { MAX_DOCUMENT_BYTES } from "./limits.js";
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

const editor = ref("role_editor", "editor");

async function memberships(ctx: MutationCtx, kindeId: string) {
  return (
    await ctx.db
      .query("kindeMemberships")
      .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
      .collect()
  ).map(({ orgCode, roles, permissions }) => ({ orgCode, roles, permissions }));
}

const getUser = (t: ComponentTest, kindeId: string) => t.query(api.users.getUser, { kindeId });

describe("user snapshots", () => {
  test("first seen is created, counted once; a replay or older event is stale and writes nothing", async () => {
    const t = initComponentTest();
    const ada = userSnapshot("kp_ada", { email: "ada@example.com", firstName: "Ada" });
    await t.run(async (ctx) => {
      const created = await applyUserSnapshot(ctx, version(2_000), ada);
      expect(created).toMatchObject({ outcome: "applied", change: { type: "user.created" } });
      const older = { ...ada, firstName: "Old" };
      expect(await applyUserSnapshot(ctx, version(2_000), older)).toEqual({ outcome: "stale" });
      expect(await applyUserSnapshot(ctx, version(1_000), older)).toEqual({ outcome: "stale" });
      expect(await readCount(ctx, "users")).toBe(1);
    });
    expect(await getUser(t, "kp_ada")).toMatchObject({ firstName: "Ada" });
  });

  test("a newer event is `user.updated` only when what the host reads changed", async () => {
    const t = initComponentTest();
    const ada = userSnapshot("kp_ada", { firstName: "Ada" });
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), ada);
      expect(await applyUserSnapshot(ctx, version(2_000), ada)).toEqual({
        outcome: "applied",
        change: null,
      });
      const renamed = await applyUserSnapshot(ctx, version(3_000), { ...ada, lastName: "King" });
      const before = {
        kindeId: "kp_ada",
        firstName: "Ada",
        isSuspended: false,
        isPasswordResetRequested: false,
        organizations: [],
      };
      // toEqual: `previous` has no last name, as the host read Ada before.
      expect(renamed).toEqual({
        outcome: "applied",
        change: { type: "user.updated", user: { ...before, lastName: "King" }, previous: before },
      });
      expect(await readCount(ctx, "users")).toBe(1);
    });
  });

  test("an empty snapshot replaces the profile: fields Kinde cleared are gone", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { email: "ada@example.com", firstName: "Ada" }),
      );
      // Kinde's `email: ""`, `first_name: null` reach the component as absent fields.
      await applyUserSnapshot(ctx, version(2_000), userSnapshot("kp_ada"));
    });
    const user = await getUser(t, "kp_ada");
    expect(user).toMatchObject({ kindeId: "kp_ada", organizations: [] });
    expect(user?.email).toBeUndefined();
    expect(user?.firstName).toBeUndefined();
    expect(await t.query(api.users.getUserByEmail, { email: "ada@example.com" })).toBeNull();
  });

  test("a user over Convex's 1 MiB document limit is refused before anything is written", async () => {
    const t = initComponentTest();
    const longRoles = [0, 1, 2, 3, 4].map((i) => ref(`role_${i}`, `${i}`.repeat(1_200)));
    const organizations = Array.from({ length: 200 }, (_, i) => membership(`org_${i}`, longRoles));
    await expect(
      t.run(async (ctx) => {
        await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_big", { organizations }));
      }),
    ).rejects.toThrow(/Value is too large: a kindeUsers document of \d+ bytes/);
    await t.run(async (ctx) => {
      expect(await ctx.db.query("kindeUsers").collect()).toEqual([]);
      expect(await ctx.db.query("kindeMemberships").collect()).toEqual([]);
      expect(await readCount(ctx, "users")).toBe(0);
    });
  });

  test.each([
    [
      "more organizations than MAX_ORGANIZATIONS_PER_USER",
      Array.from({ length: MAX_ORGANIZATIONS_PER_USER + 1 }, (_, i) => membership(`org_${i}`, [])),
      /belongs to 1001 organizations; convex-kinde mirrors at most 1000/,
    ],
    [
      "more distinct roles than MAX_ROLES_AND_PERMISSIONS_PER_USER",
      [
        membership(
          "org_x",
          Array.from({ length: 301 }, (_, i) => ref(`role_${i}`, `r${i}`)),
        ),
      ],
      /holds 301 distinct roles and permissions; convex-kinde mirrors at most 300/,
    ],
  ])(
    "a snapshot with %s is refused, also when called directly, before anything is written",
    async (_, organizations, message) => {
      const t = initComponentTest();
      await expect(
        t.run(async (ctx) => {
          await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_wide", { organizations }));
        }),
      ).rejects.toThrow(message);
      await t.run(async (ctx) => {
        expect(await ctx.db.query("kindeUsers").collect()).toEqual([]);
        expect(await ctx.db.query("kindeMemberships").collect()).toEqual([]);
      });
    },
  );
});

describe("what an update's hook receives", () => {
  /** Convex's limit on one function call's arguments (docs.convex.dev/production/state/limits). */
  const MAX_FUNCTION_ARGUMENT_BYTES = 16 * 1024 * 1024;

  test("an update of the largest user a document holds carries both shapes well within a function's arguments", async () => {
    const t = initComponentTest();
    const user = (letter: string, length: number) =>
      userSnapshot("kp_max", {
        firstName: letter.repeat(length),
        organizations: [membership("org_a", [admin], [publish])],
      });
    const rowSize = (length: number) =>
      getDocumentSize({ ...user("a", length), version: version(1_000) });
    // One byte a character: the longest name that keeps the row, with its system fields, within 1 MiB.
    const length = MAX_DOCUMENT_BYTES - rowSize(0) - 100;
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), user("a", length));
      const stored = (await ctx.db.query("kindeUsers").unique())!;
      expect(getDocumentSize(stored)).toBeGreaterThan(MAX_DOCUMENT_BYTES - 200);
      expect(getDocumentSize(stored)).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);

      const result = await applyUserSnapshot(ctx, version(2_000), user("b", length));
      if (result.outcome !== "applied" || result.change?.type !== "user.updated") {
        throw new Error(`expected user.updated, got ${JSON.stringify(result).slice(0, 100)}`);
      }
      expect(result.change.previous.firstName).toBe("a".repeat(length));
      expect(result.change.user.firstName).toBe("b".repeat(length));
      // What the webhook passes the host's hook: the change, and an origin no larger than its 1 MiB body.
      const args = {
        event: {
          ...result.change,
          origin: {
            kind: "webhook",
            eventId: "e".repeat(MAX_DOCUMENT_BYTES),
            kindeType: "user.updated",
            occurredAt: 2_000,
          },
        },
      };
      const size = getDocumentSize(args);
      expect(size).toBeGreaterThan(3 * (MAX_DOCUMENT_BYTES - 200));
      expect(size).toBeLessThan(MAX_FUNCTION_ARGUMENT_BYTES / 4);
    });
  });
});

describe("membership sync", () => {
  test("the memberships index follows the snapshot: added, changed and dropped organizations", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", {
          organizations: [membership("org_a", [admin], [publish]), membership("org_b", [editor])],
        }),
      );
      expect(await memberships(ctx, "kp_ada")).toEqual([
        membership("org_a", [admin], [publish]),
        membership("org_b", [editor]),
      ]);
      await applyUserSnapshot(
        ctx,
        version(2_000),
        userSnapshot("kp_ada", {
          organizations: [membership("org_b", [admin, editor]), membership("org_c")],
        }),
      );
      expect(await memberships(ctx, "kp_ada")).toEqual([
        membership("org_b", [admin, editor]),
        membership("org_c"),
      ]);
    });
    expect((await getUser(t, "kp_ada"))?.organizations).toEqual([
      { orgCode: "org_b", roles: ["admin", "editor"], permissions: [] },
      { orgCode: "org_c", roles: [], permissions: [] },
    ]);
  });

  test("a profile edit writes the user row only, however many organizations it is in", async () => {
    const t = initComponentTest();
    const organizations = Array.from({ length: 20 }, (_, i) => membership(`org_${i}`, [admin]));
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_ada", { organizations }));
    });
    const written = await t.run(async (ctx) => {
      const edit = userSnapshot("kp_ada", { firstName: "Ada", organizations });
      await applyUserSnapshot(ctx, version(2_000), edit);
      return (await ctx.meta.getTransactionMetrics()).documentsWritten.used;
    });
    expect(written).toBe(1);
  });

  test("a late snapshot cannot restore a deleted organization or role", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await addTombstone(ctx, "organization", "org_gone", version(5_000), KEEP_UNTIL);
      await addTombstone(ctx, "role", editor.kindeId, version(5_000), KEEP_UNTIL);
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", {
          organizations: [membership("org_gone", [admin]), membership("org_a", [admin, editor])],
        }),
      );
      expect(await memberships(ctx, "kp_ada")).toEqual([membership("org_a", [admin])]);
    });
  });

  test("a role the catalog renamed since the snapshot is stored under its new key", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyCatalogSnapshot(ctx, "role", version(5_000), { ...admin, key: "owner" });
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { organizations: [membership("org_a", [admin])] }),
      );
      expect(await memberships(ctx, "kp_ada")).toEqual([
        membership("org_a", [ref(admin.kindeId, "owner")]),
      ]);
    });
  });

  test("a key the catalog cannot confirm is kept as the snapshot says and noted unsettled once", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      for (const at of [1_000, 2_000]) {
        await applyUserSnapshot(
          ctx,
          version(at),
          userSnapshot("kp_ada", {
            organizations: [membership(`org_${at}`, [admin, ref("", "key-only")])],
          }),
        );
      }
      expect((await memberships(ctx, "kp_ada"))[0]?.roles).toEqual([admin, ref("", "key-only")]);
      const unsettled = await ctx.db.query("unsettledRefs").collect();
      expect(unsettled.map(({ kind, kindeId }) => ({ kind, kindeId }))).toEqual([
        { kind: "role", kindeId: admin.kindeId },
      ]);
    });
  });
});

describe("user deletion", () => {
  test("removes the user and its memberships, leaves a tombstone, and is final", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { organizations: [membership("org_a", [admin])] }),
      );
      expect(await deleteUser(ctx, version(500), "kp_ada", KEEP_UNTIL)).toEqual({
        outcome: "applied",
        change: { type: "user.deleted", kindeId: "kp_ada" },
      });
      expect(await memberships(ctx, "kp_ada")).toEqual([]);
      expect(await readCount(ctx, "users")).toBe(0);
      expect(await deleteUser(ctx, version(600), "kp_ada", KEEP_UNTIL)).toEqual({
        outcome: "stale",
      });
      const resurrect = userSnapshot("kp_ada", { firstName: "Back" });
      expect(await applyUserSnapshot(ctx, version(9_000), resurrect)).toEqual({
        outcome: "stale",
      });
      expect(await recordSignIn(ctx, version(9_000), "kp_ada")).toEqual({ outcome: "stale" });
    });
    expect(await getUser(t, "kp_ada")).toBeNull();
  });

  test("deleting a user never seen leaves the tombstone and tells the host nothing", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await deleteUser(ctx, version(1_000), "kp_never", KEEP_UNTIL)).toEqual({
        outcome: "applied",
        change: null,
      });
      expect(await applyUserSnapshot(ctx, version(500), userSnapshot("kp_never"))).toEqual({
        outcome: "stale",
      });
    });
  });
});

describe("sign-ins", () => {
  test("a sign-in before `user.created` creates an unsynced row that the snapshot fills in", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await recordSignIn(ctx, version(3_000), "kp_ada")).toMatchObject({
        change: { type: "user.created", user: { kindeId: "kp_ada", lastSignedInAt: 3_000 } },
      });
      const row = await ctx.db.query("kindeUsers").unique();
      expect(row?.version).toEqual(UNSYNCED);
      // The snapshot is older than the sign-in, yet newer than no profile at all.
      const filled = await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { firstName: "Ada" }),
      );
      // The hooks heard the sign-in as user.created: previous is that profile-less user.
      expect(filled).toEqual({
        outcome: "applied",
        change: {
          type: "user.updated",
          user: expect.objectContaining({ firstName: "Ada", lastSignedInAt: 3_000 }),
          previous: {
            kindeId: "kp_ada",
            isSuspended: false,
            isPasswordResetRequested: false,
            lastSignedInAt: 3_000,
            organizations: [],
          },
        },
      });
      expect(await readCount(ctx, "users")).toBe(1);
    });
    expect(await getUser(t, "kp_ada")).toMatchObject({ firstName: "Ada", lastSignedInAt: 3_000 });
  });

  test("lastSignedInAt moves forward only", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_ada"));
      expect(await recordSignIn(ctx, version(5_000), "kp_ada")).toMatchObject({
        change: { type: "user.authenticated" },
      });
      expect(await recordSignIn(ctx, version(4_000), "kp_ada")).toEqual({ outcome: "stale" });
      expect(await recordSignIn(ctx, version(5_000, "event_z"), "kp_ada")).toEqual({
        outcome: "stale",
      });
    });
    expect((await getUser(t, "kp_ada"))?.lastSignedInAt).toBe(5_000);
  });
});

describe("user reads", () => {
  test("by email: trimmed and case-insensitive; a user without one is never found by email", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { email: "Ada@Example.COM" }),
      );
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_anon"));
    });
    const found = await t.query(api.users.getUserByEmail, { email: "  ada@example.com " });
    expect(found).toMatchObject({ kindeId: "kp_ada", email: "Ada@Example.COM" });
    expect(await t.query(api.users.getUserByEmail, { email: "" })).toBeNull();
    expect(await t.query(api.users.getUserByEmail, { email: "   " })).toBeNull();
  });

  test("by phone: any common notation of Kinde's E.164 number; a user without one, or an empty argument, finds nobody", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), {
        ...userSnapshot("kp_ada"),
        phone: "+442071838750",
      });
      await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_anon"));
      await applyUserSnapshot(ctx, version(1_000), {
        ...userSnapshot("kp_bo"),
        phone: "+15550109999",
      });
    });
    const byPhone = async (phone: string) =>
      (await t.query(api.users.getUserByPhone, { phone }))?.kindeId ?? null;
    for (const phone of [
      "+442071838750",
      " +44 20 7183 8750 ",
      "+44 (20) 7183-8750",
      "+44.20.7183.8750",
    ]) {
      expect(await byPhone(phone), phone).toBe("kp_ada");
    }
    expect(await byPhone("+1 (555) 010-9999")).toBe("kp_bo");
    for (const nobody of ["", "   ", "+", "442071838750", "+4420718387", "+442071838750 ext 1"]) {
      expect(await byPhone(nobody), JSON.stringify(nobody)).toBeNull();
    }
    expect(await t.query(api.users.getUserByPhone, { phone: "+442071838750" })).toEqual(
      await getUser(t, "kp_ada"),
    );
  });

  test("by phone: a row written before the phone index existed is found as it is", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      // The row exactly as an earlier version wrote it: no field was added for the index.
      await ctx.db.insert("kindeUsers", {
        kindeId: "kp_old",
        phone: "+442071838750",
        isSuspended: false,
        isPasswordResetRequested: false,
        organizations: [],
        version: version(1_000),
      });
    });
    expect(await t.query(api.users.getUserByPhone, { phone: "+44 20 7183 8750" })).toMatchObject({
      kindeId: "kp_old",
      phone: "+442071838750",
    });
  });

  test("the public shape carries role and permission keys, and no internal field", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", { organizations: [membership("org_a", [admin], [publish])] }),
      );
    });
    const user = await getUser(t, "kp_ada");
    expect(Object.keys(user ?? {}).sort()).toEqual(
      ["isPasswordResetRequested", "isSuspended", "kindeId", "organizations"].sort(),
    );
    expect(user?.organizations).toEqual([
      { orgCode: "org_a", roles: ["admin"], permissions: ["publish:docs"] },
    ]);
  });

  test("listUsers pages through every user exactly once", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      for (let i = 0; i < 7; i++) {
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${i}`));
      }
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const result: { page: { kindeId: string }[]; isDone: boolean; continueCursor: string } =
        await t.query(api.users.listUsers, { paginationOpts: { cursor, numItems: 3 } });
      seen.push(...result.page.map((u) => u.kindeId));
      if (result.isDone) break;
      cursor = result.continueCursor;
    }
    expect(seen.sort()).toEqual(["kp_0", "kp_1", "kp_2", "kp_3", "kp_4", "kp_5", "kp_6"]);
  });
});
