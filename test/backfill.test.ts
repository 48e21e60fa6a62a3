import { describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  kindeOrgCode,
  kindeUserId,
  makeTenant,
  organizationCreated,
  readKindeTables,
  userCreated,
  userDeleted,
  userUpdated,
  type ManagementApiStandIn,
  type Tenant,
} from "convex-kinde/test";
import { Kinde, type BackfillActionOptions, type BackfillResult } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { sized } from "../src/testing/scale.js";
import {
  anHourAgo,
  modules,
  postWebhook,
  useManagementApi,
  useWebhookTest,
  type ExampleTest,
} from "./setup.js";

const app = useWebhookTest();
const managementApi = useManagementApi();
/** This test's Management API stand-in, once `serve` started it. */
let kinde: ManagementApiStandIn | undefined;

/** Retries back off for seconds in production; milliseconds are enough against a local stand-in. */
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

async function serve(tenant: Tenant) {
  kinde = await managementApi.serve(tenant);
  return kinde;
}

interface BackfillArgs {
  reconcile?: boolean;
  restart?: boolean;
  exactPermissions?: boolean;
}

/**
 * The example app with a backfill built as a host builds it, from `options`
 * (fast retries unless they say otherwise): `run` starts it as
 * `npx convex run` would. `timeBudgetMs: 0` hands over to a new action after
 * every step, so the run's stored position is all that carries it on.
 */
function backfillApp(options: BackfillActionOptions = {}) {
  const host = {
    backfill: new Kinde(components.kinde).backfillAction({ retry: FAST_RETRY, ...options }),
  };
  const t = convexTest({
    schema,
    modules: { ...modules, "./host.ts": async () => host },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const run = (args: BackfillArgs = {}) =>
    t.action(makeFunctionReference<"action">("host:backfill"), args) as Promise<BackfillResult>;
  const deliver = async (payload: object) =>
    (await postWebhook(t, await app.issuer.sign(payload))).text;
  const status = () => t.query(internal.diagnostics.backfillStatus, {});
  return { t, run, deliver, status };
}

/** The example app's own `kinde:backfill` export, with its default options. */
const runExampleBackfill = (args: BackfillArgs = {}) =>
  app.t.action(internal.kinde.backfill, args) as Promise<BackfillResult>;

const requestsTo = (path: string) => kinde!.requests.filter((r) => r.path === path);

/**
 * What the mirror should hold for `tenant`: each user's organizations, role
 * keys and permissions (those their roles grant, plus, with `direct`, those
 * granted to them directly).
 */
function expectedMemberships(tenant: Tenant, userId: string, { direct = false } = {}) {
  return Object.entries(tenant.members)
    .filter(([, members]) => userId in members)
    .map(([code, members]) => {
      const roles = members[userId]!;
      const ids = roles.flatMap((key) => {
        const role = tenant.roles.find((r) => r.key === key)!;
        return tenant.rolePermissions[role.id] ?? [];
      });
      if (direct) ids.push(...(tenant.directPermissions?.[code]?.[userId] ?? []));
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

/** A user's memberships as the mirror of `t` holds them, in `normalize`'s order. */
async function mirroredMemberships(t: { query: ExampleTest["query"] }, kindeId: string) {
  return normalize((await t.query(internal.users.byKindeId, { kindeId }))?.organizations);
}

/**
 * Users in the tenant mirrored whole: one past a page of Kinde's 500 in CI, four pages under
 * `npm run test:scale` (convex-test serves indexed reads by scanning, so 2,000 users take a
 * minute here, idle).
 */
const USERS = sized(501, 2000);

describe("backfill", () => {
  // The timeout only stops a hang, it is no target.
  test(
    `a tenant of ${USERS} users, over pages of 500, in 12 organizations is mirrored exactly`,
    { timeout: 900_000 },
    async () => {
      const tenant = makeTenant({ users: USERS, organizations: 12 });
      await serve(tenant);
      const started = Date.now();
      const result = await runExampleBackfill();
      expect(result.outcome).toBe("started");
      // A loaded machine can take longer than one action's time budget (5 minutes for 2,000
      // users, with other suites running): the run then goes on in scheduled actions.
      if (result.continuing) await app.t.finishAllScheduledFunctions(() => {});
      const seconds = (Date.now() - started) / 1000;

      const run = (await app.t.query(internal.diagnostics.backfillStatus, {}))!;
      expect(run).toMatchObject({
        status: "done",
        phase: "done",
        counts: { roles: 3, permissions: 4, organizations: 12, users: USERS, removed: 0 },
        finishedAt: expect.any(Number),
      });
      const memberships = Object.values(tenant.members).reduce(
        (n, m) => n + Object.keys(m).length,
        0,
      );
      expect(run.counts.memberships).toBe(memberships);
      expect(requestsTo("/api/v1/users")).toHaveLength(Math.ceil(USERS / 500)); // 500 per page
      // Every member's role key is in the catalog: the roles are read once (a role renamed
      // during the run would have them read again, backfillProperties.test.ts).
      expect(requestsTo("/api/v1/roles")).toHaveLength(1);
      expect(requestsTo("/api/v1/users")[0]!.query).toMatchObject({
        page_size: "500",
        expand: "organizations",
      });

      for (const index of new Set([0, 9, 49, 499, 500, USERS - 1])) {
        const source = tenant.users[index]!;
        const user = await app.t.query(internal.users.byKindeId, { kindeId: source.id });
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
        await app.t.query(internal.organizations.hasPermission, {
          orgCode: home,
          permission: "admin:all",
          kindeId: admin.id,
        }),
      ).toBe(true);
      expect(await app.t.query(internal.diagnostics.syncStatus, {})).toMatchObject({
        users: USERS,
        organizations: 12,
      });
      expect(await app.t.query(internal.diagnostics.backfillStatus, {})).toMatchObject({
        status: "done",
        finishedAt: expect.any(Number),
      });
      // The first action's own figures (all of the run's, unless it went on).
      expect(result.functionCalls).toBeGreaterThan(result.run.pages);
      console.info(
        `backfill: ${(USERS / seconds).toFixed(0)} users/s against the stand-in, ${result.requests} Management API requests, ${((result.functionCalls / USERS) * 1000).toFixed(0)} function calls per 1,000 users`,
      );
    },
  );

  test(
    "429 with RateLimit-Reset is waited out, and transient 500s are retried",
    { timeout: 60_000 },
    async () => {
      const tenant = makeTenant({ users: 20, organizations: 2 });
      await serve(tenant);
      const { run } = backfillApp();
      kinde!.rateLimitNext(2, 1);
      const before = Date.now();
      const first = await run();
      expect(first.run.status).toBe("done");
      // The users phase already wrote the memberships without roles as Kinde lists them.
      const withoutRoles = Object.values(tenant.members)
        .flatMap((members) => Object.values(members))
        .filter((roles) => roles.length === 0).length;
      expect(withoutRoles).toBeGreaterThan(0);
      expect(first.run.counts).toMatchObject({ users: 20, unchanged: withoutRoles, skipped: 0 });
      expect(Date.now() - before).toBeGreaterThanOrEqual(2000); // waited the reset twice
      const limited = kinde!.requests.filter((r) => r.path === "/api/v1/roles");
      expect(limited).toHaveLength(3); // two 429s, then the page

      kinde!.failNext(3, 503);
      const second = await run({ restart: true });
      expect(second.run).toMatchObject({ status: "done", counts: { users: 20, skipped: 0 } });
      // A second run over an unchanged tenant writes every row and changes none.
      const { roles, permissions, organizations, users, memberships, unchanged } =
        second.run.counts;
      expect(unchanged).toBe(roles + permissions + organizations + users + memberships);
      expect(memberships).toBe(first.run.counts.memberships);
    },
  );

  test("retry options: a request is tried `attempts` times, and `rateLimitAttempts` times while rate-limited", async () => {
    const tenant = makeTenant({ users: 20, organizations: 2 });
    await serve(tenant);
    const { run, status } = backfillApp({
      retry: { ...FAST_RETRY, attempts: 2, rateLimitAttempts: 3 },
    });
    kinde!.failPath("/api/v1/roles");
    await expect(run()).rejects.toThrow(/GET \/api\/v1\/roles .*500 2 times/);
    expect(requestsTo("/api/v1/roles")).toHaveLength(2);

    kinde!.failPath(null);
    kinde!.rateLimitNext(5, 0);
    await expect(run()).rejects.toThrow(/kept rate-limiting GET \/api\/v1\/roles \(429 3 times\)/);
    expect(requestsTo("/api/v1/roles")).toHaveLength(5);
    expect(await status()).toMatchObject({ status: "failed", phase: "roles" });

    // Nothing stays of a policy between runs: the default allows 10 tries while rate-limited.
    const patient = backfillApp();
    kinde!.rateLimitNext(4, 0);
    expect((await patient.run()).run.status).toBe("done");
  });

  test("retry options that would never try, or never stop, are refused when the backfill is built", () => {
    const kindeClient = new Kinde(components.kinde);
    expect(() => kindeClient.backfillAction({ retry: { attempts: 0 } })).toThrow(
      /`attempts` must be a whole number of at least 1, not 0/,
    );
    expect(() => kindeClient.backfillAction({ retry: { maxRateLimitWaitMs: Infinity } })).toThrow(
      /`maxRateLimitWaitMs` must be a finite number of milliseconds/,
    );
  });

  test("an empty page that still carries a next_token ends the paging", async () => {
    const tenant = makeTenant({ users: 30, organizations: 3 });
    await serve(tenant);
    const code = tenant.organizations[1]!.code;
    kinde!.emptyPageWithToken(`/api/v1/organizations/${code}/users`);
    const result = await backfillApp().run();
    expect(result.run.status).toBe("done");
    expect(requestsTo(`/api/v1/organizations/${code}/users`)).toHaveLength(1);
  });

  test("a next_token that loops back (A→B→A) ends the listing, across actions, for users and members", async () => {
    const tenant = makeTenant({ users: 45, organizations: 1 });
    await serve(tenant);
    const code = tenant.organizations[0]!.code;
    kinde!.capPageSize(10);
    kinde!.loopPaging("/api/v1/users", { from: 2, to: 1 });
    kinde!.loopPaging(`/api/v1/organizations/${code}/users`, { from: 2, to: 1 });
    // Every page in a new action: the loop is noticed from what the run stored.
    const { t, run, status } = backfillApp({ timeBudgetMs: 0 });
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    await run();
    await t.finishAllScheduledFunctions(() => {});
    const loops = warnings.mock.calls.filter(([, message]) =>
      String(message).includes("returned a next_token it had returned before"),
    );
    expect(loops.map(([, message]) => String(message).split(" returned")[0])).toEqual([
      "backfill: GET /api/v1/users",
      `backfill: GET /api/v1/organizations/${code}/users`,
    ]);
    warnings.mockRestore();

    expect(await status()).toMatchObject({ status: "done", counts: { users: 30 } });
    // Pages 0, 1 (its answer is A), 2 (B); page 2 answers A again, which ends the listing.
    const tokens = (path: string) => requestsTo(path).map((r) => r.query.next_token);
    expect(tokens("/api/v1/users")).toHaveLength(3);
    expect(new Set(tokens("/api/v1/users")).size).toBe(3);
    expect(tokens(`/api/v1/organizations/${code}/users`)).toHaveLength(3);
    // Users on the pages the loop hid were never served; the others are mirrored with their roles.
    const tables = await readKindeTables(t);
    expect(tables.kindeUsers).toHaveLength(30);
    const member = tenant.users[12]!;
    expect(await mirroredMemberships(t, member.id)).toEqual(
      normalize(expectedMemberships(tenant, member.id)),
    );
  });

  test("a loop longer than the remembered tokens ends too, from the checkpoint the run stored", async () => {
    const tenant = makeTenant({ users: 45, organizations: 1 });
    await serve(tenant);
    const code = tenant.organizations[0]!.code;
    const path = `/api/v1/organizations/${code}/users`;
    kinde!.capPageSize(3);
    // 15 pages of members; the 14th (page 13) answers the token of page 1: a loop of 13 pages.
    kinde!.loopPaging(path, { from: 13, to: 1 });
    const { t, run, status } = backfillApp({ timeBudgetMs: 0 });
    await run();
    await t.finishAllScheduledFunctions(() => {}, 1000);

    expect(await status()).toMatchObject({ status: "done", counts: { users: 45 } });
    const reads = requestsTo(path).length;
    expect(reads).toBeGreaterThan(14); // past the first repeat, which is no longer remembered
    expect(reads).toBeLessThanOrEqual(2 * 13 + 13 + 1); // Brent's bound
    for (const user of tenant.users.slice(0, 42)) {
      expect(await mirroredMemberships(t, user.id)).toEqual(
        normalize(expectedMemberships(tenant, user.id)),
      );
    }
  });

  test(
    "a run that fails part-way stores the error and resumes where it stopped",
    { timeout: 60_000 },
    async () => {
      const tenant = makeTenant({ users: 110, organizations: 4 });
      await serve(tenant);
      // Pages of 50: the users phase reads three pages, all before the failure.
      kinde!.capPageSize(50);
      const { run, status, t } = backfillApp({ retry: { ...FAST_RETRY, attempts: 3 } });
      // Organization member lists keep failing, past every retry: after three pages of users.
      kinde!.failPath("/api/v1/organizations/");
      await expect(run()).rejects.toThrow(/500 3 times/);
      const first = tenant.organizations[0]!.code;
      expect(requestsTo(`/api/v1/organizations/${first}/users`)).toHaveLength(3);
      expect(await status()).toMatchObject({
        status: "failed",
        phase: "memberships",
        counts: { users: 110 },
        lastError: expect.stringMatching(
          /GET \/api\/v1\/organizations\/org_\w+\/users .*500 3 times/,
        ),
      });

      kinde!.failPath(null);
      const resumed = await run();
      expect(resumed.outcome).toBe("resumed");
      expect(resumed.run).toMatchObject({ status: "done", counts: { users: 110 } });
      // Everything before the failure was read once: the run did not start over.
      expect(requestsTo("/api/v1/roles")).toHaveLength(1);
      expect(requestsTo("/api/v1/organizations")).toHaveLength(1);
      expect(requestsTo("/api/v1/users")).toHaveLength(3);
      expect((await readKindeTables(t)).kindeUsers).toHaveLength(110);
    },
  );

  test("a member listed with a role Kinde's roles never list: the page is read three times, then written by key, with a warning", async () => {
    const tenant = makeTenant({ users: 3, organizations: 1 });
    const [org] = tenant.organizations;
    const [member] = tenant.users;
    tenant.members[org!.code]![member!.id] = ["editor", "ghost-role"];
    await serve(tenant);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const { t, run } = backfillApp();
      const result = await run();

      expect(result.run).toMatchObject({ status: "done" });
      const membersPath = `/api/v1/organizations/${org!.code}/users`;
      expect(requestsTo(membersPath)).toHaveLength(3);
      // Read at the start, then after each reading of the page, which names the key each time.
      expect(requestsTo("/api/v1/roles")).toHaveLength(4);
      expect(warn.mock.calls.flat().join("\n")).toMatch(
        /do not list \(ghost-role\), in each of 3 readings; writing those roles by key alone/,
      );
      // The known role keeps its id and grants; the unknown one is held by key alone.
      const user = await t.query(internal.users.byKindeId, { kindeId: member!.id });
      expect(user?.organizations).toEqual([
        {
          orgCode: org!.code,
          roles: ["editor", "ghost-role"],
          permissions: ["read:docs", "write:docs"],
        },
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  test("one run at a time: starting while one runs reports it; a stepping run continues by itself", async () => {
    await serve(makeTenant({ users: 40, organizations: 3 }));
    const { t, run, status } = backfillApp({ timeBudgetMs: 0 });
    const first = await run();
    expect(first).toMatchObject({ outcome: "started", continuing: true });
    const second = await run();
    expect(second).toMatchObject({ outcome: "running", continuing: false });
    expect(second.run.runId).toBe(first.run.runId);
    await t.finishAllScheduledFunctions(() => {});
    expect(await status()).toMatchObject({
      runId: first.run.runId,
      status: "done",
      counts: { users: 40 },
    });
  });

  test("webhooks during a run: newer events win and deletions hold", async () => {
    const tenant = makeTenant({ users: 60, organizations: 3 });
    await serve(tenant);
    const { t, run, deliver, status } = backfillApp({ timeBudgetMs: 0 });
    const renamed = tenant.users[10]!.id;
    const deleted = tenant.users[20]!.id;
    const joinedDuringRun = kindeUserId();

    // The run goes on by itself while the webhooks land; its first members page waits for
    // them, so however fast the run goes, they land before it reads any membership.
    let landed!: () => void;
    const webhooksLanded = new Promise<void>((resolve) => (landed = resolve));
    kinde!.beforeSending(async (path) => {
      if (/^\/api\/v1\/organizations\/[^/]+\/users$/.test(path)) await webhooksLanded;
    });
    await run({ reconcile: true }); // one step, then it continues on its own
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await deliver(userUpdated({ id: renamed, first_name: "Renamed" }))).toMatch(/^applied/);
    expect(await deliver(userDeleted(deleted))).toMatch(/^applied/);
    expect(await deliver(userCreated({ id: joinedDuringRun, email: "new@example.com" }))).toMatch(
      /^applied/,
    );
    landed();
    await t.finishAllScheduledFunctions(() => {});

    const { status: finished, counts } = (await status())!;
    expect(finished).toBe("done");
    // Each user and membership Kinde listed is written or skipped, never both: the memberships
    // of the two users the webhooks wrote after the run started are skipped (and so are the
    // users themselves if the users phase came after the webhooks).
    const memberships = Object.values(tenant.members).reduce(
      (n, m) => n + Object.keys(m).length,
      0,
    );
    expect(counts.skipped).toBeGreaterThanOrEqual(2);
    expect(counts.users + counts.memberships + counts.skipped).toBe(
      tenant.users.length + memberships,
    );
    const get = (kindeId: string) => t.query(internal.users.byKindeId, { kindeId });
    expect((await get(renamed))?.firstName).toBe("Renamed");
    expect(await get(deleted)).toBeNull();
    expect(await get(joinedDuringRun)).toMatchObject({ email: "new@example.com" });
    expect((await get(tenant.users[30]!.id))?.lastName).toBe("31");
  });

  test.each([400, 404] as const)(
    "an organization gone from Kinde (%i on its members) is noted, the run goes on, and reconcile removes it",
    async (missingStatus) => {
      const tenant = makeTenant({ users: 30, organizations: 3 });
      await serve(tenant);
      kinde!.missingOrganizationStatus(missingStatus);
      const { t, run, deliver, status } = backfillApp();
      // Mirrored by webhooks an hour ago, deleted in Kinde while the endpoint was down:
      // an organization, a user who was only in it, and a membership of a user Kinde still has.
      const gone = kindeOrgCode();
      const onlyThere = kindeUserId();
      const stayed = tenant.users[4]!;
      const at = anHourAgo();
      const inGone = { code: gone, roles: null, permissions: null };
      expect(await deliver(organizationCreated({ code: gone, name: "Gone" }, { at }))).toMatch(
        /^applied/,
      );
      expect(
        await deliver(userCreated({ id: onlyThere, organizations: [inGone] }, { at })),
      ).toMatch(/^applied/);
      expect(
        await deliver(userCreated({ id: stayed.id, organizations: [inGone] }, { at })),
      ).toMatch(/^applied/);

      const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
      const plain = await run();
      expect(warnings).toHaveBeenCalledWith(
        "[convex-kinde]",
        expect.stringContaining(`organization ${gone} is in the mirror but gone from Kinde`),
      );
      warnings.mockRestore();
      expect(plain.run).toMatchObject({
        status: "done",
        vanished: { count: 1, orgCodes: [gone] },
        counts: { users: 30, removed: 0 },
      });
      expect(requestsTo(`/api/v1/organizations/${gone}/users`)).toHaveLength(1);
      // A 400 is ambiguous, so it is confirmed once; a 404 is not.
      const confirmations = requestsTo("/api/v1/organization").filter((r) => r.query.code === gone);
      expect(confirmations).toHaveLength(missingStatus === 400 ? 1 : 0);
      // Without reconcile nothing is removed; the user Kinde still has lost the membership it no longer lists.
      expect(await t.query(internal.organizations.get, { code: gone })).not.toBeNull();
      expect(await mirroredMemberships(t, stayed.id)).toEqual(
        normalize(expectedMemberships(tenant, stayed.id)),
      );

      const reconciled = await run({ reconcile: true });
      expect(reconciled.run).toMatchObject({
        status: "done",
        vanished: { count: 1, orgCodes: [gone] },
        counts: { removed: 2 },
      });
      await t.finishAllScheduledFunctions(() => {});
      expect(await t.query(internal.organizations.get, { code: gone })).toBeNull();
      expect(await t.query(internal.users.byKindeId, { kindeId: onlyThere })).toBeNull();
      const tables = await readKindeTables(t);
      expect(tables.kindeMemberships.filter((m) => m.orgCode === gone)).toEqual([]);
      expect(tables.kindeOrganizations).toHaveLength(3);
      expect(await status()).toMatchObject({ status: "done", vanished: { count: 1 } });
    },
  );

  test("a 400 on the members of an organization Kinde still has fails the run, saying so", async () => {
    const tenant = makeTenant({ users: 10, organizations: 2 });
    await serve(tenant);
    const code = tenant.organizations[1]!.code;
    kinde!.failPath(`/api/v1/organizations/${code}/users`, 400);
    const { run, status } = backfillApp();
    await expect(run()).rejects.toThrow(
      new RegExp(
        `GET /api/v1/organizations/${code}/users with 400: INVALID_REQUEST: Down \\(Kinde still has organization ${code}: the request was refused, not the organization deleted\\)`,
      ),
    );
    expect(await status()).toMatchObject({ status: "failed", phase: "memberships", orgCode: code });
    expect((await status())?.vanished).toBeUndefined();
  });

  test("reconciliation removes exactly what Kinde no longer has", async () => {
    const tenant = makeTenant({ users: 30, organizations: 3 });
    await serve(tenant);
    const { t, run, deliver } = backfillApp();
    // Mirrored earlier by webhooks, since deleted in Kinde while the endpoint was down.
    const vanishedUser = kindeUserId();
    const vanishedOrg = kindeOrgCode();
    const hourAgo = anHourAgo();
    await deliver(
      userCreated(
        {
          id: vanishedUser,
          organizations: [{ code: vanishedOrg, roles: null, permissions: null }],
        },
        { at: hourAgo },
      ),
    );
    await deliver(organizationCreated({ code: vanishedOrg, name: "Gone" }, { at: hourAgo }));
    // A user who still exists keeps a membership of an organization that vanished.
    const survivor = tenant.users[0]!.id;

    const result = await run({ reconcile: true });
    expect(result.run).toMatchObject({ status: "done", counts: { users: 30, removed: 2 } });
    expect(await t.query(internal.users.byKindeId, { kindeId: vanishedUser })).toBeNull();
    expect(await t.query(internal.organizations.get, { code: vanishedOrg })).toBeNull();
    await t.finishAllScheduledFunctions(() => {});
    const tables = await readKindeTables(t);
    expect(tables.kindeUsers).toHaveLength(30);
    expect(tables.kindeOrganizations).toHaveLength(3);
    expect(tables.kindeMemberships.some((m) => m.orgCode === vanishedOrg)).toBe(false);
    expect(tables.tombstones.map((t) => t.entityId).sort()).toEqual(
      [vanishedOrg, vanishedUser].sort(),
    );
    expect(await t.query(internal.users.byKindeId, { kindeId: survivor })).not.toBeNull();
    // A late retry of the vanished user's creation cannot bring it back.
    expect(await deliver(userCreated({ id: vanishedUser }, { at: hourAgo }))).toMatch(/^stale/);
  });

  test("without reconcile, nothing is removed", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    const { t, run, deliver } = backfillApp();
    const stray = kindeUserId();
    await deliver(userCreated({ id: stray }, { at: Date.now() - 60_000 }));
    const result = await run();
    expect(result.run.counts.removed).toBe(0);
    expect(await t.query(internal.users.byKindeId, { kindeId: stray })).not.toBeNull();
  });

  test("exactPermissions: permissions granted directly are mirrored, at one request per membership", async () => {
    const tenant = makeTenant({ users: 24, organizations: 3 });
    const [readDocs, , publishDocs, adminAll] = tenant.permissions.map((p) => p.id);
    // User 1 is a "viewer" (read:docs) in org 1 and was granted publish:docs there directly;
    // user 4 holds no role in org 2 (a second membership) but was granted admin:all.
    const viewer = tenant.users[0]!.id;
    const roleless = tenant.users[3]!.id;
    const [org1, org2] = tenant.organizations.map((o) => o.code);
    expect(tenant.members[org1!]![viewer]).toEqual(["viewer"]);
    expect(tenant.members[org2!]![roleless]).toEqual([]);
    tenant.directPermissions = {
      [org1!]: { [viewer]: [publishDocs!, readDocs!] },
      [org2!]: { [roleless]: [adminAll!] },
    };
    await serve(tenant);
    const { t, run, status } = backfillApp({ timeBudgetMs: 0 });
    const permissionsOf = async (kindeId: string, orgCode: string) =>
      (await t.query(internal.users.byKindeId, { kindeId }))?.organizations
        .find((o) => o.orgCode === orgCode)
        ?.permissions.sort();

    // Without the flag, roles are expanded: the direct grants are missing.
    await run();
    await t.finishAllScheduledFunctions(() => {});
    expect(await permissionsOf(viewer, org1!)).toEqual(["read:docs"]);
    expect(await permissionsOf(roleless, org2!)).toEqual([]);
    const memberPermissionRequests = () =>
      kinde!.requests.filter((r) =>
        /^\/api\/v1\/organizations\/[^/]+\/users\/[^/]+\/permissions$/.test(r.path),
      );
    expect(memberPermissionRequests()).toHaveLength(0);

    // With it (kept by every continuation of the run), Kinde's own lists are mirrored.
    const started = await run({ exactPermissions: true });
    expect(started).toMatchObject({ outcome: "started", run: { exactPermissions: true } });
    await t.finishAllScheduledFunctions(() => {});
    expect(await status()).toMatchObject({ status: "done", exactPermissions: true });
    expect(await permissionsOf(viewer, org1!)).toEqual(["publish:docs", "read:docs"]);
    expect(await permissionsOf(roleless, org2!)).toEqual(["admin:all"]);
    for (const user of tenant.users) {
      expect(await mirroredMemberships(t, user.id)).toEqual(
        normalize(expectedMemberships(tenant, user.id, { direct: true })),
      );
    }
    const memberships = Object.values(tenant.members).reduce(
      (n, m) => n + Object.keys(m).length,
      0,
    );
    expect(memberPermissionRequests()).toHaveLength(memberships);
    expect(new Set(memberPermissionRequests().map((r) => r.path)).size).toBe(memberships);
  });

  test("exactPermissions without the read:organization_user_permissions scope fails, naming it", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    kinde!.revokeScope("read:organization_user_permissions");
    const { run, status } = backfillApp();
    await expect(run({ exactPermissions: true })).rejects.toThrow(
      /GET \/api\/v1\/organizations\/org_\w+\/users\/kp_\w+\/permissions \(403\): the machine-to-machine application needs the scope `read:organization_user_permissions`/,
    );
    expect(await status()).toMatchObject({
      status: "failed",
      phase: "memberships",
      exactPermissions: true,
    });
    // Without the flag the same tenant backfills: only the opt-in needs the scope.
    expect((await run({ restart: true })).run.status).toBe("done");
  });

  test("wrong credentials and missing scopes fail with an error that says what to fix", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    const { run, status } = backfillApp();
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "wrong");
    await expect(run()).rejects.toThrow(
      /refused the client credentials .*\(401\): invalid_client: Client authentication failed\. Check KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET/,
    );
    expect(await status()).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/refused the client credentials/),
    });

    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde!.clientSecret);
    kinde!.revokeScope("read:organization_users");
    await expect(run()).rejects.toThrow(
      /GET \/api\/v1\/organizations\/org_\w+\/users \(403\): the machine-to-machine application needs the scope `read:organization_users`/,
    );
  });

  test("missing configuration is named before anything runs", async () => {
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", "");
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "");
    await expect(runExampleBackfill()).rejects.toThrow(
      /needs KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET/,
    );
    expect(await app.t.query(internal.diagnostics.backfillStatus, {})).toBeNull();
  });
});

/**
 * Kinde's waits against an action's life: a wait longer than an action
 * sleeps ends the action at the last written page, the run records when it
 * resumes, and its continuation is scheduled then. Measured by what the
 * action did (requests, the scheduled function and its time), on a fake
 * clock that `finishAllScheduledFunctions(nextTimers)` moves on to each
 * scheduled continuation.
 */
describe("waiting on Kinde is scheduled, not slept", () => {
  /**
   * Runs the timers due so far, moving the fake clock to the latest of them.
   * Not `vi.runAllTimers`: fetch's own timers re-arm themselves each tick, so
   * running them to exhaustion times out every connection at once.
   */
  const nextTimers = () => vi.runOnlyPendingTimers();

  /** The backfill's scheduled continuations in the app of `t`. */
  const continuations = (t: ReturnType<typeof backfillApp>["t"]) =>
    t.run(async (ctx) => await ctx.db.system.query("_scheduled_functions").collect());

  /** The mirror holds exactly the tenant: every user with their memberships, roles and permissions. */
  async function expectMirrorOf(t: ReturnType<typeof backfillApp>["t"], tenant: Tenant) {
    const tables = await readKindeTables(t);
    expect(tables.kindeUsers.map((u) => u.kindeId).sort()).toEqual(
      tenant.users.map((u) => u.id).sort(),
    );
    expect(tables.kindeOrganizations.map((o) => o.code).sort()).toEqual(
      tenant.organizations.map((o) => o.code).sort(),
    );
    expect(tables.kindeRoles.map((r) => r.key).sort()).toEqual(
      tenant.roles.map((r) => r.key).sort(),
    );
    for (const user of tenant.users) {
      expect(await mirroredMemberships(t, user.id)).toEqual(
        normalize(expectedMemberships(tenant, user.id)),
      );
    }
  }

  test("Retry-After: 900: the action stops after one request, the run says until when, the continuation runs then, and the run completes", async () => {
    const tenant = makeTenant({ users: 30, organizations: 3 });
    await serve(tenant);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { t, run, status } = backfillApp();
    kinde!.rateLimitNext(1, 900, { header: "Retry-After" });

    const first = await run();
    expect(first).toMatchObject({ outcome: "started", continuing: true, requests: 2 });
    expect(kinde!.requests.map((r) => r.path)).toEqual(["/oauth2/token", "/api/v1/roles"]);
    const waiting = first.run.waiting!;
    expect(waiting).toEqual({
      resumesAt: expect.any(Number),
      reason:
        "Kinde rate-limited the Management API (429 on GET /api/v1/roles, asked to wait 900 s)",
      tries: { request: "GET /api/v1/roles", failures: 0, rateLimited: 1 },
    });
    expect(waiting.resumesAt - Date.now()).toBeGreaterThanOrEqual(900_000);
    expect(waiting.resumesAt - Date.now()).toBeLessThanOrEqual(900_250);
    expect(first.run).toMatchObject({ status: "running", phase: "roles", pages: 0 });
    expect(await status()).toEqual(first.run);
    const [continuation, ...others] = await continuations(t);
    expect(others).toEqual([]);
    expect(continuation).toMatchObject({
      name: expect.stringMatching(/backfill$/),
      args: [{ runId: first.run.runId, reconcile: false }],
      state: { kind: "pending" },
    });
    expect(continuation!.scheduledTime).toBeCloseTo(waiting.resumesAt, -1);

    // Ten minutes on, well past the stall allowance but before the wait ends: not stalled.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    const meanwhile = await run();
    expect(meanwhile).toMatchObject({ outcome: "running", continuing: false, requests: 0 });
    expect(meanwhile.run.runId).toBe(first.run.runId);
    expect(kinde!.requests).toHaveLength(2);

    await t.finishAllScheduledFunctions(nextTimers);
    const done = await status();
    expect(done).toMatchObject({ status: "done", counts: { users: 30, organizations: 3 } });
    expect(done?.waiting).toBeUndefined();
    // The continuation asked again at the time Kinde gave, not before.
    expect(requestsTo("/api/v1/roles")).toHaveLength(2);
    expect(done!.finishedAt).toBeGreaterThanOrEqual(waiting.resumesAt);
    expect((await continuations(t)).map((job) => job.state.kind)).toEqual(["success"]);
    await expectMirrorOf(t, tenant);
  });

  test("the token endpoint asking for 10⁹ s waits maxRateLimitWaitMs (1 h), scheduled after the one token request", async () => {
    const tenant = makeTenant({ users: 12, organizations: 2 });
    await serve(tenant);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { t, run, status } = backfillApp();
    kinde!.rateLimitNext(1, 1e9, { endpoint: "token" });

    const first = await run();
    expect(first).toMatchObject({ continuing: true, requests: 1 });
    expect(kinde!.requests.map((r) => r.path)).toEqual(["/oauth2/token"]);
    expect(first.run.waiting).toMatchObject({
      reason:
        "Kinde rate-limited the Management API (429 on POST /oauth2/token, asked to wait 1000000000 s)",
      tries: { request: "POST /oauth2/token", rateLimited: 1 },
    });
    const delay = first.run.waiting!.resumesAt - Date.now();
    expect(delay).toBeGreaterThanOrEqual(60 * 60_000);
    expect(delay).toBeLessThanOrEqual(60 * 60_000 + 250);
    const [continuation] = await continuations(t);
    expect(continuation!.scheduledTime).toBeCloseTo(first.run.waiting!.resumesAt, -1);

    await t.finishAllScheduledFunctions(nextTimers);
    expect(await status()).toMatchObject({ status: "done", counts: { users: 12 } });
    await expectMirrorOf(t, tenant);
  });

  /** Backoffs of 6 s and more: each is longer than an action sleeps. */
  const SLOW_RETRY = { attempts: 3, baseDelayMs: 6_000, maxDelayMs: 60_000 };

  test("503s whose backoff is longer than an action sleeps: each wait is scheduled, the request's tries count across them, and the run completes when Kinde recovers", async () => {
    const tenant = makeTenant({ users: 12, organizations: 2 });
    await serve(tenant);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { t, run, status } = backfillApp({ retry: SLOW_RETRY });
    kinde!.failNext(2, 503);

    const first = await run();
    expect(first).toMatchObject({ continuing: true, requests: 2 });
    expect(first.run.waiting).toMatchObject({
      reason: "Kinde's Management API kept failing (503 on GET /api/v1/roles; try 1 of 3)",
      tries: { request: "GET /api/v1/roles", failures: 1, rateLimited: 0 },
    });
    // Backoff after the first failure: a random wait in the upper half of 12 s.
    const [continuation] = await continuations(t);
    expect(continuation!.scheduledTime - Date.now()).toBeGreaterThanOrEqual(6_000);
    expect(continuation!.scheduledTime - Date.now()).toBeLessThanOrEqual(12_000);

    await t.finishAllScheduledFunctions(nextTimers);
    expect(await status()).toMatchObject({ status: "done", counts: { users: 12 } });
    // Two 503s, each ending an action, then the answer: three tries, within `attempts`.
    expect(requestsTo("/api/v1/roles")).toHaveLength(3);
    expect((await continuations(t)).map((job) => job.state.kind)).toEqual(["success", "success"]);
    await expectMirrorOf(t, tenant);
  });

  test("Kinde failing for good: the run fails after `attempts` tries in all, across the actions its waits span", async () => {
    await serve(makeTenant({ users: 5, organizations: 1 }));
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { t, run, status } = backfillApp({ retry: SLOW_RETRY });
    kinde!.failPath("/api/v1/roles", 503);
    expect(await run()).toMatchObject({ continuing: true });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await t.finishAllScheduledFunctions(nextTimers);
    errors.mockRestore();
    expect(await status()).toMatchObject({
      status: "failed",
      phase: "roles",
      lastError: "Kinde answered GET /api/v1/roles with 503 3 times: INTERNAL: Down",
    });
    expect((await status())?.waiting).toBeUndefined();
    expect(requestsTo("/api/v1/roles")).toHaveLength(3);
    expect((await continuations(t)).map((job) => job.state.kind)).toEqual(["success", "failed"]);
  });

  test("Kinde refusing the roles' re-read (403) fails the run with Kinde's reason, blaming no row", async () => {
    const tenant = makeTenant({ users: 9, organizations: 1 });
    await serve(tenant);
    const { run, status } = backfillApp();
    // Once the roles are read, "viewer" becomes "reader" in Kinde, and the
    // application loses read:roles: the page naming "reader" needs a re-read
    // Kinde refuses.
    let renamed = false;
    kinde!.beforeSending(async (path) => {
      if (path !== "/api/v1/roles" || renamed) return;
      renamed = true;
      tenant.roles.find((r) => r.key === "viewer")!.key = "reader";
      for (const members of Object.values(tenant.members)) {
        for (const [id, keys] of Object.entries(members)) {
          members[id] = keys.map((key) => (key === "viewer" ? "reader" : key));
        }
      }
      kinde!.revokeScope("read:roles");
    });
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    await expect(run()).rejects.toThrow(
      /GET \/api\/v1\/roles \(403\): the machine-to-machine application needs the scope `read:roles`/,
    );
    expect(warnings.mock.calls.flat().join("\n")).not.toMatch(/failed together|retrying it once/);
    warnings.mockRestore();
    expect(await status()).toMatchObject({
      status: "failed",
      lastError: expect.not.stringMatching(/row .* failed twice/),
    });
    expect(requestsTo("/api/v1/roles")).toHaveLength(2);
  });

  test("a wait while a members page reads the roles again (a role renamed mid-run): the run waits, no row fails, and it completes", async () => {
    const tenant = makeTenant({ users: 9, organizations: 1 });
    await serve(tenant);
    const code = tenant.organizations[0]!.code;
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { t, run, status } = backfillApp();
    // Once the roles are read, "viewer" becomes "reader" in Kinde (its webhook not delivered);
    // once the members page naming "reader" is read, Kinde rate-limits the roles' re-read.
    let renamed = false;
    kinde!.beforeSending(async (path) => {
      if (path === "/api/v1/roles" && !renamed) {
        renamed = true;
        tenant.roles.find((r) => r.key === "viewer")!.key = "reader";
        for (const members of Object.values(tenant.members)) {
          for (const [id, keys] of Object.entries(members)) {
            members[id] = keys.map((key) => (key === "viewer" ? "reader" : key));
          }
        }
      }
      if (path === `/api/v1/organizations/${code}/users`) {
        kinde!.rateLimitNext(1, 900, { header: "Retry-After" });
      }
    });
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const first = await run();
    expect(first).toMatchObject({ continuing: true, run: { phase: "memberships" } });
    expect(first.run.waiting?.tries).toEqual({
      request: "GET /api/v1/roles",
      failures: 0,
      rateLimited: 1,
    });
    expect(requestsTo("/api/v1/roles")).toHaveLength(2);
    kinde!.beforeSending(null);

    await t.finishAllScheduledFunctions(nextTimers);
    // No row was retried alone or failed: a wait is not a failed write.
    expect(warnings.mock.calls.flat().join("\n")).not.toMatch(/failed together|retrying it once/);
    warnings.mockRestore();
    expect(await status()).toMatchObject({ status: "done", counts: { users: 9 } });
    const reader = tenant.users.find((u) => tenant.members[code]![u.id]?.includes("reader"))!;
    expect(
      await t.query(internal.organizations.hasPermission, {
        orgCode: code,
        permission: "read:docs",
        kindeId: reader.id,
      }),
    ).toBe(true);
  });
});
