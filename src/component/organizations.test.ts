import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import {
  applyOrganizationSnapshot,
  deleteOrganization,
  MAX_MEMBERS_PER_PAGE,
} from "./organizations.js";
import { applyUserSnapshot } from "./users.js";
import { readCount } from "./counters.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import {
  KEEP_UNTIL,
  initComponentTest,
  membership,
  ref,
  userSnapshot,
  version,
  type ComponentTest,
} from "./setup.test.js";

const acme = { code: "org_acme", name: "Acme", handle: "acme" };

const members = async (t: ComponentTest, orgCode: string) =>
  (
    await t.query(api.organizations.listMembers, {
      orgCode,
      paginationOpts: { cursor: null, numItems: 100 },
    })
  ).page;

describe("organization snapshots", () => {
  test("created once, counted once; replays and older events are stale", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await applyOrganizationSnapshot(ctx, version(2_000), acme)).toEqual({
        outcome: "applied",
        change: { type: "organization.created", organization: acme },
      });
      expect(await applyOrganizationSnapshot(ctx, version(2_000), acme)).toEqual({
        outcome: "stale",
      });
      const older = { ...acme, name: "Old name" };
      expect(await applyOrganizationSnapshot(ctx, version(1_000), older)).toEqual({
        outcome: "stale",
      });
      expect(await readCount(ctx, "organizations")).toBe(1);
    });
    expect(await t.query(api.organizations.getOrganization, { code: acme.code })).toEqual(acme);
  });

  test("a newer event is `organization.updated` only when the organization changed", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), acme);
      expect(await applyOrganizationSnapshot(ctx, version(2_000), acme)).toEqual({
        outcome: "applied",
        change: null,
      });
      // Kinde's `handle: null` arrives as an absent field: the handle is cleared.
      const { handle: _, ...withoutHandle } = acme;
      expect(await applyOrganizationSnapshot(ctx, version(3_000), withoutHandle)).toEqual({
        outcome: "applied",
        change: { type: "organization.updated", organization: withoutHandle, previous: acme },
      });
    });
    expect(await t.query(api.organizations.getOrganization, { code: acme.code })).toEqual({
      code: acme.code,
      name: acme.name,
    });
  });

  test("listOrganizations pages in code order", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      for (const code of ["org_c", "org_a", "org_b"]) {
        await applyOrganizationSnapshot(ctx, version(1_000), { code });
      }
    });
    const first = await t.query(api.organizations.listOrganizations, {
      paginationOpts: { cursor: null, numItems: 2 },
    });
    const rest = await t.query(api.organizations.listOrganizations, {
      paginationOpts: { cursor: first.continueCursor, numItems: 2 },
    });
    expect([...first.page, ...rest.page].map((o) => o.code)).toEqual(["org_a", "org_b", "org_c"]);
    expect(rest.isDone).toBe(true);
  });
});

describe("organization members", () => {
  test("each member's profile with the keys held in that organization only", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_ada", {
          email: "ada@example.com",
          organizations: [
            membership(acme.code, [ref("role_admin", "admin")], [ref("perm_read", "read:docs")]),
            membership("org_other", [ref("role_owner", "owner")]),
          ],
        }),
      );
      await applyUserSnapshot(
        ctx,
        version(1_000),
        userSnapshot("kp_bob", { organizations: [membership(acme.code)] }),
      );
    });
    expect(await members(t, acme.code)).toEqual([
      {
        kindeId: "kp_ada",
        email: "ada@example.com",
        isSuspended: false,
        roles: ["admin"],
        permissions: ["read:docs"],
      },
      { kindeId: "kp_bob", isSuspended: false, roles: [], permissions: [] },
    ]);
    expect(await members(t, "org_nobody")).toEqual([]);
  });
});

describe("organization deletion", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("is final, hides the members at once, and removes the memberships in the background", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), acme);
      for (const kindeId of ["kp_ada", "kp_bob"]) {
        await applyUserSnapshot(
          ctx,
          version(1_000),
          userSnapshot(kindeId, {
            organizations: [
              membership(acme.code, [ref("role_admin", "admin")]),
              membership("org_b"),
            ],
          }),
        );
      }
      expect(await deleteOrganization(ctx, version(2_000), acme.code, KEEP_UNTIL)).toEqual({
        outcome: "applied",
        change: { type: "organization.deleted", orgCode: acme.code },
      });
      expect(await readCount(ctx, "organizations")).toBe(0);
      expect(await deleteOrganization(ctx, version(3_000), acme.code, KEEP_UNTIL)).toEqual({
        outcome: "stale",
      });
      expect(await applyOrganizationSnapshot(ctx, version(9_000), acme)).toEqual({
        outcome: "stale",
      });
    });
    // Before the cascade ran: the rows are still there, the read already says no one.
    expect(await members(t, acme.code)).toEqual([]);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await t.run(async (ctx) => {
      const rows = await ctx.db.query("kindeMemberships").collect();
      expect(rows.map((m) => `${m.kindeId} ${m.orgCode}`).sort()).toEqual([
        "kp_ada org_b",
        "kp_bob org_b",
      ]);
    });
    const ada = await t.query(api.users.getUser, { kindeId: "kp_ada" });
    expect(ada?.organizations.map((m) => m.orgCode)).toEqual(["org_b"]);
  });

  test("deleting an organization never mirrored is recorded and tells the host nothing", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      expect(await deleteOrganization(ctx, version(1_000), "org_unknown", KEEP_UNTIL)).toEqual({
        outcome: "applied",
        change: null,
      });
      expect(await applyOrganizationSnapshot(ctx, version(500), { code: "org_unknown" })).toEqual({
        outcome: "stale",
      });
    });
  });
});

describe("a user's organizations, named", () => {
  test("one look-up per membership up to MAX_ORGANIZATIONS_PER_USER, whatever a backfill left", async () => {
    const t = initComponentTest();
    // More memberships than a query has index ranges (4,096): the webhook refuses
    // such a user, but a backfill adds what Kinde lists, one organization at a time.
    const memberships = 4_200;
    const codes = Array.from({ length: memberships }, (_, i) => `org_${i}`);
    await t.run(async (ctx) => {
      await applyOrganizationSnapshot(ctx, version(1_000), { code: codes[0]!, name: "First" });
      const past = codes[MAX_ORGANIZATIONS_PER_USER]!;
      await applyOrganizationSnapshot(ctx, version(1_000), { code: past, name: "Past" });
      await ctx.db.insert("kindeUsers", {
        ...userSnapshot("kp_many", { organizations: codes.map((code) => membership(code)) }),
        isPasswordResetRequested: false,
        version: version(1_000),
      });
    });
    const named = await t.query(api.organizations.listUserOrganizations, { kindeId: "kp_many" });
    expect(named).toHaveLength(memberships);
    expect(named.flatMap((m) => (m.name ? [`${m.orgCode} ${m.name}`] : []))).toEqual([
      "org_0 First",
    ]);
  });
});

describe("listMembers bounds its page, whatever numItems asks for", () => {
  type Page = { page: { kindeId: string }[]; isDone: boolean; continueCursor: string };
  async function pageThrough(t: ComponentTest, numItems: number) {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await t.query(api.organizations.listMembers, {
        orgCode: acme.code,
        paginationOpts: { cursor, numItems },
      });
      pages.push(page);
      cursor = page.isDone ? null : page.continueCursor;
    } while (cursor !== null);
    return pages;
  }

  test(
    `at most ${MAX_MEMBERS_PER_PAGE} members a page, every member exactly once`,
    { timeout: 60_000 },
    async () => {
      const t = initComponentTest();
      const ids = Array.from({ length: 150 }, (_, i) => `kp_${String(i).padStart(4, "0")}`);
      await t.run(async (ctx) => {
        for (const id of ids) {
          await applyUserSnapshot(
            ctx,
            version(1_000),
            userSnapshot(id, { organizations: [membership(acme.code)] }),
          );
        }
      });
      const pages = await pageThrough(t, 1_000_000);
      expect(pages.map((p) => p.page.length)).toEqual([MAX_MEMBERS_PER_PAGE, 50]);
      expect(pages.flatMap((p) => p.page.map((m) => m.kindeId))).toEqual(ids);
    },
  );

  test(
    "members with documents near 1 MiB: a page stops within a query's 16 MiB read",
    { timeout: 60_000 },
    async () => {
      const t = initComponentTest();
      const ids = Array.from({ length: 20 }, (_, i) => `kp_big_${String(i).padStart(2, "0")}`);
      for (const id of ids) {
        // One user a transaction: each writes 0.9 MB.
        await t.run(async (ctx) => {
          await applyUserSnapshot(
            ctx,
            version(1_000),
            userSnapshot(id, {
              firstName: "x".repeat(900_000),
              organizations: [membership(acme.code)],
            }),
          );
        });
      }
      // convex-test enforces the 16 MiB a transaction may read: 20 such members at once would
      // pass it.
      const pages = await pageThrough(t, 100);
      expect(pages.length).toBeGreaterThan(1);
      // Each page within 15 MiB of documents read: the last 1 MiB is the query's own margin.
      for (const page of pages) expect(page.page.length * 900_000).toBeLessThan(15 * 2 ** 20);
      expect(pages.flatMap((p) => p.page.map((m) => m.kindeId))).toEqual(ids);
    },
  );
});
