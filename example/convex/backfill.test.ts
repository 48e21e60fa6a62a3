import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  kindeOrgCode,
  kindeUserId,
  makeTenant,
  organizationCreated,
  readKindeTables,
  startKindeManagementApi,
  userCreated,
  userDeleted,
  userUpdated,
  type ManagementApiStandIn,
  type Tenant,
} from "convex-kinde/test";
import { Kinde, type BackfillResult } from "convex-kinde";
import { RETRY } from "../../src/client/managementApi.js";
import { api, components, internal } from "./_generated/api.js";
import schema from "./schema.js";
import { modules, useWebhookTest } from "./setup.test.js";

const app = useWebhookTest();
let kinde: ManagementApiStandIn | undefined;
const saved = { ...RETRY };

beforeEach(() => {
  // Retries back off for seconds in production; milliseconds are enough against a local stand-in.
  Object.assign(RETRY, { baseDelayMs: 5, maxDelayMs: 20 });
});
afterEach(async () => {
  Object.assign(RETRY, saved);
  await kinde?.close();
  kinde = undefined;
});

async function serve(tenant: Tenant) {
  kinde = await startKindeManagementApi(tenant);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", kinde.clientId);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde.clientSecret);
  vi.stubEnv("KINDE_DOMAIN", kinde.url);
  return kinde;
}

const runBackfill = (args: { reconcile?: boolean; restart?: boolean } = {}) =>
  app.t.action(internal.kinde.backfill, args) as Promise<BackfillResult>;

/** The example app with a backfill that hands over to a new action after every step. */
function appWithSteppingBackfill() {
  const stepping = { backfill: new Kinde(components.kinde).backfillAction({ timeBudgetMs: 0 }) };
  const t = convexTest({
    schema,
    modules: { ...modules, "./stepping.ts": async () => stepping },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const run = (args: { reconcile?: boolean } = {}) =>
    t.action(makeFunctionReference<"action">("stepping:backfill"), args) as Promise<BackfillResult>;
  return { t, run };
}

const requestsTo = (path: string) => kinde!.requests.filter((r) => r.path === path);

/** What the mirror should hold for `tenant`: each user's organizations, role keys and granted permissions. */
function expectedMemberships(tenant: Tenant, userId: string) {
  return Object.entries(tenant.members)
    .filter(([, members]) => userId in members)
    .map(([code, members]) => {
      const roles = members[userId]!;
      const ids = roles.flatMap((key) => {
        const role = tenant.roles.find((r) => r.key === key)!;
        return tenant.rolePermissions[role.id] ?? [];
      });
      const permissions = tenant.permissions.filter((p) => ids.includes(p.id)).map((p) => p.key);
      return { orgCode: code, roles, permissions: permissions.sort() };
    });
}

function normalize(
  orgs: { orgCode: string; roles: string[]; permissions: string[] }[] | undefined,
) {
  return (orgs ?? [])
    .map((o) => ({ ...o, permissions: [...o.permissions].sort() }))
    .sort((a, b) => a.orgCode.localeCompare(b.orgCode));
}

describe("backfill", () => {
  // convex-test serves indexed reads by scanning, so large tenants take seconds here.
  test(
    "a tenant of 2,000 users over many pages and organizations is mirrored exactly",
    { timeout: 180_000 },
    async () => {
      const tenant = makeTenant({ users: 2000, organizations: 12 });
      await serve(tenant);
      const started = Date.now();
      const result = await runBackfill();
      const seconds = (Date.now() - started) / 1000;

      expect(result).toMatchObject({ outcome: "started", continuing: false });
      expect(result.run).toMatchObject({
        status: "done",
        phase: "done",
        counts: { roles: 3, permissions: 4, organizations: 12, users: 2000, removed: 0 },
      });
      const memberships = Object.values(tenant.members).reduce(
        (n, m) => n + Object.keys(m).length,
        0,
      );
      expect(result.run.counts.memberships).toBe(memberships);
      expect(requestsTo("/api/v1/users")).toHaveLength(4); // 500 per page
      expect(requestsTo("/api/v1/users")[0]!.query).toMatchObject({
        page_size: "500",
        expand: "organizations",
      });

      for (const index of [0, 9, 49, 777, 1999]) {
        const source = tenant.users[index]!;
        const user = await app.t.query(api.users.byKindeId, { kindeId: source.id });
        expect(user).toMatchObject({
          kindeId: source.id,
          firstName: "User",
          lastName: String(index + 1),
          isSuspended: source.is_suspended,
        });
        expect(user?.email).toBe(source.email || undefined);
        expect(normalize(user?.organizations)).toEqual(
          normalize(expectedMemberships(tenant, source.id)),
        );
      }
      // Role → permission expansion makes permission checks work right after a backfill.
      const admin = tenant.users[2]!; // role "admin" in its home organization
      const home = tenant.organizations[2]!.code;
      expect(
        await app.t.query(api.organizations.hasPermission, {
          orgCode: home,
          permission: "admin:all",
          kindeId: admin.id,
        }),
      ).toBe(true);
      expect(await app.t.query(api.diagnostics.syncStatus, {})).toMatchObject({
        users: 2000,
        organizations: 12,
      });
      expect(await app.t.query(api.diagnostics.backfillStatus, {})).toMatchObject({
        status: "done",
        finishedAt: expect.any(Number),
      });
      expect(result.functionCalls).toBeGreaterThan(result.run.pages);
      console.info(
        `backfill: ${(2000 / seconds).toFixed(0)} users/s against the stand-in, ${result.requests} Management API requests, ${((result.functionCalls / 2000) * 1000).toFixed(0)} function calls per 1,000 users`,
      );
    },
  );

  test("429 with RateLimit-Reset is waited out, and transient 500s are retried", async () => {
    await serve(makeTenant({ users: 20, organizations: 2 }));
    kinde!.rateLimitNext(2, 1);
    const before = Date.now();
    const first = await runBackfill();
    expect(first.run.status).toBe("done");
    expect(Date.now() - before).toBeGreaterThanOrEqual(2000); // waited the reset twice
    const limited = kinde!.requests.filter((r) => r.path === "/api/v1/roles");
    expect(limited).toHaveLength(3); // two 429s, then the page

    kinde!.failNext(3, 503);
    const second = await runBackfill({ restart: true });
    expect(second.run).toMatchObject({ status: "done", counts: { users: 20 } });
  });

  test("an empty page that still carries a next_token ends the paging", async () => {
    const tenant = makeTenant({ users: 30, organizations: 3 });
    await serve(tenant);
    const code = tenant.organizations[1]!.code;
    kinde!.emptyPageWithToken(`/api/v1/organizations/${code}/users`);
    const result = await runBackfill();
    expect(result.run.status).toBe("done");
    expect(requestsTo(`/api/v1/organizations/${code}/users`)).toHaveLength(1);
  });

  test(
    "a run that fails part-way stores the error and resumes where it stopped",
    { timeout: 60_000 },
    async () => {
      const tenant = makeTenant({ users: 1100, organizations: 4 });
      await serve(tenant);
      // Organization member lists keep failing, past every retry: after three pages of users.
      kinde!.failPath("/api/v1/organizations/");
      const requestsBefore = kinde!.requests.length;
      let failed = false;
      try {
        await app.t.action(internal.kinde.backfill, {});
      } catch {
        failed = true;
      }
      expect(failed).toBe(true);
      expect(kinde!.requests.length - requestsBefore).toBeGreaterThan(RETRY.attempts - 1);
      const status = await app.t.query(api.diagnostics.backfillStatus, {});
      expect(status).toMatchObject({
        status: "failed",
        phase: "memberships",
        counts: { users: 1100 },
        lastError: expect.stringMatching(
          /GET \/api\/v1\/organizations\/org_\w+\/users .*500 6 times/,
        ),
      });

      kinde!.failPath(null);
      const resumed = await runBackfill();
      expect(resumed.outcome).toBe("resumed");
      expect(resumed.run).toMatchObject({ status: "done", counts: { users: 1100 } });
      // Everything before the failure was read once: the run did not start over.
      expect(requestsTo("/api/v1/roles")).toHaveLength(1);
      expect(requestsTo("/api/v1/organizations")).toHaveLength(1);
      expect(requestsTo("/api/v1/users")).toHaveLength(3);
      expect((await readKindeTables(app.t)).kindeUsers).toHaveLength(1100);
    },
  );

  test("one run at a time: starting while one runs reports it; a stepping run continues by itself", async () => {
    await serve(makeTenant({ users: 40, organizations: 3 }));
    const { t, run } = appWithSteppingBackfill();
    const first = await run();
    expect(first).toMatchObject({ outcome: "started", continuing: true });
    const second = await run();
    expect(second).toMatchObject({ outcome: "running", continuing: false });
    expect(second.run.runId).toBe(first.run.runId);
    await t.finishAllScheduledFunctions(() => {});
    expect(await t.query(api.diagnostics.backfillStatus, {})).toMatchObject({
      runId: first.run.runId,
      status: "done",
      counts: { users: 40 },
    });
  });

  test("webhooks during a run: newer events win and deletions hold", async () => {
    const tenant = makeTenant({ users: 60, organizations: 3 });
    await serve(tenant);
    const { t, run } = appWithSteppingBackfill();
    const deliver = async (payload: object) =>
      await (
        await t.fetch("/kinde/webhook", { method: "POST", body: await app.issuer.sign(payload) })
      ).text();
    const renamed = tenant.users[10]!.id;
    const deleted = tenant.users[20]!.id;
    const joinedDuringRun = kindeUserId();

    await run({ reconcile: true }); // one step, then it continues on its own
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await deliver(userUpdated({ id: renamed, first_name: "Renamed" }))).toMatch(/^applied/);
    expect(await deliver(userDeleted(deleted))).toMatch(/^applied/);
    expect(await deliver(userCreated({ id: joinedDuringRun, email: "new@example.com" }))).toMatch(
      /^applied/,
    );
    await t.finishAllScheduledFunctions(() => {});

    expect(await t.query(api.diagnostics.backfillStatus, {})).toMatchObject({ status: "done" });
    const get = (kindeId: string) => t.query(api.users.byKindeId, { kindeId });
    expect((await get(renamed))?.firstName).toBe("Renamed");
    expect(await get(deleted)).toBeNull();
    expect(await get(joinedDuringRun)).toMatchObject({ email: "new@example.com" });
    expect((await get(tenant.users[30]!.id))?.lastName).toBe("31");
  });

  test("reconciliation removes exactly what Kinde no longer has", async () => {
    const tenant = makeTenant({ users: 30, organizations: 3 });
    await serve(tenant);
    // Mirrored earlier by webhooks, since deleted in Kinde while the endpoint was down.
    const vanishedUser = kindeUserId();
    const vanishedOrg = kindeOrgCode();
    const hourAgo = Date.now() - 60 * 60_000;
    await app.deliver(
      userCreated(
        {
          id: vanishedUser,
          organizations: [{ code: vanishedOrg, roles: null, permissions: null }],
        },
        { at: hourAgo },
      ),
    );
    await app.deliver(organizationCreated({ code: vanishedOrg, name: "Gone" }, { at: hourAgo }));
    // A user who still exists keeps a membership of an organization that vanished.
    const survivor = tenant.users[0]!.id;

    const result = await runBackfill({ reconcile: true });
    expect(result.run).toMatchObject({ status: "done", counts: { users: 30, removed: 2 } });
    expect(await app.t.query(api.users.byKindeId, { kindeId: vanishedUser })).toBeNull();
    expect(await app.t.query(api.organizations.get, { code: vanishedOrg })).toBeNull();
    await app.t.finishAllScheduledFunctions(() => {});
    const tables = await readKindeTables(app.t);
    expect(tables.kindeUsers).toHaveLength(30);
    expect(tables.kindeOrganizations).toHaveLength(3);
    expect(tables.kindeMemberships.some((m) => m.orgCode === vanishedOrg)).toBe(false);
    expect(tables.tombstones.map((t) => t.entityId).sort()).toEqual(
      [vanishedOrg, vanishedUser].sort(),
    );
    expect(await app.t.query(api.users.byKindeId, { kindeId: survivor })).not.toBeNull();
    // A late retry of the vanished user's creation cannot bring it back.
    expect((await app.deliver(userCreated({ id: vanishedUser }, { at: hourAgo }))).text).toMatch(
      /^stale/,
    );
  });

  test("without reconcile, nothing is removed", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    const stray = kindeUserId();
    await app.deliver(userCreated({ id: stray }, { at: Date.now() - 60_000 }));
    const result = await runBackfill();
    expect(result.run.counts.removed).toBe(0);
    expect(await app.t.query(api.users.byKindeId, { kindeId: stray })).not.toBeNull();
  });

  test("wrong credentials and missing scopes fail with an error that says what to fix", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "wrong");
    await expect(runBackfill()).rejects.toThrow(
      /refused the client credentials .*\(401\): invalid_client: Client authentication failed\. Check KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET/,
    );
    expect(await app.t.query(api.diagnostics.backfillStatus, {})).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/refused the client credentials/),
    });

    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde!.clientSecret);
    kinde!.revokeScope("read:organization_users");
    await expect(runBackfill()).rejects.toThrow(
      /GET \/api\/v1\/organizations\/org_\w+\/users \(403\): the machine-to-machine application needs the scope `read:organization_users`/,
    );
  });

  test("missing configuration is named before anything runs", async () => {
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", "");
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "");
    await expect(runBackfill()).rejects.toThrow(
      /needs KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET/,
    );
    expect(await app.t.query(api.diagnostics.backfillStatus, {})).toBeNull();
  });
});
