/**
 * What a backfill writes stays within the mirror's own limits for hostile
 * tenants: a user in more organizations than the mirror keeps per user, and a
 * catalog whose roles × permissions no single document could hold. Convex's
 * transaction limits are enforced (`initConvexTest`), and every document the
 * tests write is measured against the 1 MiB a deployment allows (setup.ts).
 *
 * Both run smaller in CI than under `npm run test:scale` (src/testing/scale.ts): the
 * cap on a user's organizations lowered, and fewer roles, each case still past
 * the limit it is about.
 */
import { describe, expect, test, vi } from "vitest";
import { getDocumentSize } from "convex/values";
import {
  expectedMemberships,
  makeTenant,
  makeTenantShape,
  readKindeTables,
  userDeleted,
  userUpdated,
  type Tenant,
} from "convex-kinde/test";
import type { BackfillResult, BackfillStatus } from "convex-kinde";
import { MAX_CATALOG_SIZE } from "../src/shared/mirror.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../src/shared/userLimits.js";
import { internal } from "../example/convex/_generated/api.js";
import { sized } from "../src/testing/scale.js";
import { outcomeOf, useManagementApi, useWebhookTest } from "./setup.js";

// Every module reads the cap from userLimits.ts: in CI it is 10 for all of them (the backfill's
// client and component, the webhook's check, the queries), so the same path runs over 15
// organizations instead of 1,050. A snapshot of the real 1,000 organizations within one
// transaction is hostile.test.ts's, in CI; `npm run test:scale` runs this case at 1,000 too.
vi.mock("../src/shared/userLimits.js", async (importOriginal) => {
  const limits = await importOriginal<typeof import("../src/shared/userLimits.js")>();
  const { AT_SCALE } = await import("../src/testing/scale.js");
  return AT_SCALE ? limits : { ...limits, MAX_ORGANIZATIONS_PER_USER: 10 };
});

const app = useWebhookTest();
const { serve } = useManagementApi();

const runBackfill = () => app.t.action(internal.kinde.backfill, {}) as Promise<BackfillResult>;

/**
 * Runs the example app's backfill to the end: a loaded machine can take longer than one
 * action's time budget, and the run then continues in scheduled actions.
 */
async function backfillToTheEnd(): Promise<BackfillStatus> {
  const result = await runBackfill();
  if (result.continuing) await app.t.finishAllScheduledFunctions(() => {});
  return (await app.t.query(internal.diagnostics.backfillStatus, {}))!;
}

/** How many organizations past the cap the user is in. */
const OVER = sized(5, 50);

describe("a user in more organizations than the mirror keeps", () => {
  test(
    `holds exactly MAX_ORGANIZATIONS_PER_USER (${MAX_ORGANIZATIONS_PER_USER}), the ${OVER} others reported skipped; a snapshot at the limit applies and a deletion leaves no membership`,
    { timeout: 900_000 },
    async () => {
      const tenant = makeTenant({ users: 3, organizations: MAX_ORGANIZATIONS_PER_USER + OVER });
      const power = tenant.users[0]!.id;
      for (const code of Object.keys(tenant.members)) tenant.members[code]![power] = ["viewer"];
      await serve(tenant);

      const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
      const run = await backfillToTheEnd();
      const warned = warnings.mock.calls.map((call) => call.join(" "));
      warnings.mockRestore();
      expect(run.status).toBe("done");

      const held = async () =>
        (await readKindeTables(app.t)).kindeMemberships.filter((m) => m.kindeId === power);
      const user = await app.t.query(internal.users.byKindeId, { kindeId: power });
      expect(user?.organizations).toHaveLength(MAX_ORGANIZATIONS_PER_USER);
      expect(await held()).toHaveLength(MAX_ORGANIZATIONS_PER_USER);
      // The other users are mirrored whole.
      for (const other of tenant.users.slice(1)) {
        const mirrored = await app.t.query(internal.users.byKindeId, { kindeId: other.id });
        expect(mirrored?.organizations).toHaveLength(expectedMemberships(tenant, other.id).length);
      }

      // Reported in the status and the log, naming the user and how many.
      expect(run.skippedMemberships).toEqual({
        count: OVER,
        users: [{ kindeId: power, count: OVER }],
      });
      expect(run.counts.skipped).toBeGreaterThanOrEqual(OVER);
      expect(warned).toContainEqual(
        expect.stringContaining(
          `user ${power} is in ${MAX_ORGANIZATIONS_PER_USER + OVER} organizations in Kinde`,
        ),
      );
      expect(warned).toContainEqual(expect.stringContaining(`${power} (${OVER} skipped so far)`));

      // A webhook snapshot at the limit replaces every one of the user's memberships, within
      // Convex's transaction limits (enforced here).
      const organizations = user!.organizations.map((m) => ({
        code: m.orgCode,
        roles: null,
        permissions: null,
      }));
      expect(outcomeOf(await app.deliver(userUpdated({ id: power, organizations })))).toBe(
        "applied",
      );
      const updated = await held();
      expect(updated).toHaveLength(MAX_ORGANIZATIONS_PER_USER);
      expect(updated.every((m) => (m.roles as unknown[]).length === 0)).toBe(true);

      // `user.deleted` removes every membership row the user had.
      expect(outcomeOf(await app.deliver(userDeleted(power)))).toBe("applied");
      expect(await app.t.query(internal.users.byKindeId, { kindeId: power })).toBeNull();
      expect(await held()).toEqual([]);
    },
  );
});

/** Kinde keys are short; these are long, to make roles × permissions as heavy as it gets. */
const LONG_KEY = "x".repeat(200);

/** `roles` roles each granting `perRole` of the catalog's 1,000 permissions, with long keys. */
function hostileCatalog(roles: number, perRole: number): Tenant {
  const tenant = makeTenantShape("bigCatalog", { users: 6, organizationsPerUser: 1 });
  const permissions = Array.from({ length: 1000 }, (_, i) => ({
    id: `0190a1b2-4444-7000-8000-${i.toString(16).padStart(12, "0")}`,
    key: `perm-${i}:${LONG_KEY}`,
    name: `Permission ${i}`,
    description: null,
  }));
  const roleList = Array.from({ length: roles }, (_, i) => ({
    id: `0190a1b2-5555-7000-8000-${i.toString(16).padStart(12, "0")}`,
    key: `role-${i}`,
    name: `Role ${i}`,
    description: null,
    is_default_role: false,
  }));
  const rolePermissions = Object.fromEntries(
    roleList.map((role, i) => [
      role.id,
      Array.from({ length: perRole }, (_, j) => permissions[(i * 7 + j) % 1000]!.id),
    ]),
  );
  // Each member holds two roles: a membership carries up to 2 × perRole permissions.
  const members = Object.fromEntries(
    Object.entries(tenant.members).map(([code, users]) => [
      code,
      Object.fromEntries(
        Object.keys(users).map((id, i) => [
          id,
          [roleList[i % roles]!.key, roleList[(i * 13 + 5) % roles]!.key],
        ]),
      ),
    ]),
  );
  return { ...tenant, roles: roleList, permissions, rolePermissions, members };
}

/**
 * Roles in the hostile catalog: in CI, enough that what they grant (about 50 KB each) passes
 * what one document holds; under `npm run test:scale`, the most the catalog lists.
 */
const ROLES = sized(30, MAX_CATALOG_SIZE);

describe("role permissions of a hostile catalog", () => {
  test(
    `${ROLES} roles × 200 long-keyed permissions: no document written passes 1 MiB, and members get what their roles grant`,
    { timeout: 900_000 },
    async () => {
      const tenant = hostileCatalog(ROLES, 200);
      // What the roles grant, as the run keeps it (id and key per permission), is more than
      // one document could hold: no row can be "the catalog's grants".
      const keyOf = new Map(tenant.permissions.map((p) => [p.id, p.key]));
      const grants = Object.values(tenant.rolePermissions)
        .flat()
        .reduce((bytes, id) => bytes + getDocumentSize({ kindeId: id, key: keyOf.get(id)! }), 0);
      expect(grants).toBeGreaterThan(1 << 20);
      await serve(tenant);
      const run = await backfillToTheEnd();
      expect(run).toMatchObject({
        status: "done",
        counts: { roles: ROLES, permissions: 1000, users: 6 },
      });

      const tables = await readKindeTables(app.t);
      let largest = 0;
      for (const rows of Object.values(tables)) {
        for (const row of rows) largest = Math.max(largest, getDocumentSize(row as never));
      }
      expect(largest).toBeLessThan(1 << 20);
      // The run's document, as its status reports it, stays small whatever the catalog; every
      // document of every table (the role permissions' rows too) is measured against 1 MiB
      // after each test (setup.ts).
      expect(getDocumentSize(run as never)).toBeLessThan(64 * 1024);

      for (const user of tenant.users) {
        const mirrored = await app.t.query(internal.users.byKindeId, { kindeId: user.id });
        expect(
          mirrored?.organizations.map((m) => ({
            orgCode: m.orgCode,
            roles: [...m.roles].sort(),
            permissions: [...m.permissions].sort(),
          })),
        ).toEqual(expectedMemberships(tenant, user.id));
        expect(mirrored?.organizations[0]?.permissions.length).toBeGreaterThan(200);
      }
    },
  );
});
