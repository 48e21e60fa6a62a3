/**
 * Issue #12, webhook side: no correctly signed event can wedge the mirror.
 * A far-future event is recorded `future` and outranks nothing; an event no
 * retry can apply is recorded `failed` (200, so Kinde stops retrying) with
 * nothing partial; roles and permissions sent as key strings are mirrored.
 */
import { describe, expect, test } from "vitest";
import {
  kindeEvent,
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  organizationCreated,
  organizationUpdated,
  readKindeTables,
  roleCreated,
  roleDeleted,
  roleUpdated,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { MAX_CLOCK_SKEW_MS } from "convex-kinde";
import { mutationGeneric, makeFunctionReference } from "convex/server";
import { v } from "convex/values";
import { toKindeEvent } from "../src/client/events.js";
import { applyEvent } from "../src/client/webhook.js";
import type { KindeEvent } from "../src/shared/events.js";
import { api, components, internal } from "../example/convex/_generated/api.js";
import { kinde } from "../example/convex/kinde.js";
import {
  expectNothingWritten,
  initConvexTest,
  initConvexTestWithHooks,
  postWebhook,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();
const MINUTE = 60_000;

const getUser = (kindeId: string) => app.t.query(internal.users.byKindeId, { kindeId });
const syncStatus = () => app.t.query(internal.diagnostics.syncStatus, {});

/** `payload`, dated as a clock fault would date it: the last microsecond of year 9999. */
function datedYear9999<P extends { timestamp: string }>(payload: P): P {
  return { ...payload, timestamp: "9999-12-31T23:59:59.999999+00:00" };
}

/** The event log's record of one event. */
async function recordOf(eventId: string) {
  const { webhookEvents } = await readKindeTables(app.t);
  return webhookEvents.find((row) => row.eventId === eventId);
}

describe("an event dated beyond the clock-skew allowance", () => {
  test("a year-9999 user.created is recorded `future`, and the real create and updates apply", async () => {
    const id = kindeUserId();
    const now = Date.now();
    const future = datedYear9999(userCreated({ id, first_name: "Frozen" }));
    expect(await app.deliver(future)).toEqual({
      status: 200,
      text: `future ${future.event_id}\n`,
    });
    expect(await getUser(id)).toBeNull();
    expect(await recordOf(future.event_id)).toMatchObject({
      outcome: "future",
      type: "user.created",
      entityKind: "user",
      entityId: id,
      occurredAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 0.999,
    });

    const create = userCreated({ id, first_name: "Ada" }, { at: now - 2 * MINUTE });
    const update = userUpdated({ id, first_name: "Ada", last_name: "King" }, { at: now - MINUTE });
    expect((await app.deliver(create)).text).toBe(`applied ${create.event_id}\n`);
    expect((await app.deliver(update)).text).toBe(`applied ${update.event_id}\n`);
    expect(await getUser(id)).toMatchObject({ firstName: "Ada", lastName: "King" });

    // Kinde's retry of the future event is a duplicate: recorded once, never applied.
    expect((await app.deliver(future)).text).toBe(`duplicate ${future.event_id}\n`);
    expect(await getUser(id)).toMatchObject({ firstName: "Ada", lastName: "King" });
    const { webhookEvents } = await readKindeTables(app.t);
    expect(webhookEvents.map((row) => [row.eventId, row.outcome])).toEqual([
      [future.event_id, "future"],
      [create.event_id, "applied"],
      [update.event_id, "applied"],
    ]);
    expect(await syncStatus()).toMatchObject({
      users: 1,
      unappliedEvents: 1,
      lastUnappliedEvent: { eventId: future.event_id, outcome: "future" },
    });
  });

  test("organizations and roles: the real events' data wins over a far-future event", async () => {
    const code = kindeOrgCode();
    const roleId = kindeUuid();
    const now = Date.now();
    for (const future of [
      organizationCreated({ code, name: "Hijacked" }),
      roleCreated({ id: roleId, key: "hijacked", name: "Hijacked" }),
    ]) {
      expect((await app.deliver(datedYear9999(future))).text).toMatch(/^future /);
    }
    for (const real of [
      organizationCreated({ code, name: "Acme" }, { at: now - 2 * MINUTE }),
      organizationUpdated({ code, name: "Acme Ltd" }, { at: now - MINUTE }),
      roleCreated({ id: roleId, key: "admin", name: "Admin" }, { at: now - 2 * MINUTE }),
      roleUpdated({ id: roleId, key: "admin", name: "Administrator" }, { at: now - MINUTE }),
    ]) {
      expect((await app.deliver(real)).text).toMatch(/^applied /);
    }
    expect(await app.t.query(internal.organizations.get, { code })).toMatchObject({
      name: "Acme Ltd",
    });
    expect(await app.t.query(api.organizations.roles, {})).toMatchObject([
      { kindeId: roleId, key: "admin", name: "Administrator" },
    ]);
    expect((await syncStatus()).unappliedEvents).toBe(2);
  });

  test("a far-future delete removes nothing; a later real delete is final as ever", async () => {
    const id = kindeUserId();
    const now = Date.now();
    await app.deliver(userCreated({ id, first_name: "Ada" }, { at: now - 2 * MINUTE }));
    expect((await app.deliver(datedYear9999(userDeleted(id)))).text).toMatch(/^future /);
    expect(await getUser(id)).toMatchObject({ firstName: "Ada" });
    expect((await app.deliver(userDeleted(id, { at: now - MINUTE }))).text).toMatch(/^applied /);
    const late = userUpdated({ id, first_name: "Back" }, { at: now });
    expect((await app.deliver(late)).text).toMatch(/^stale /);
    expect(await getUser(id)).toBeNull();
  });

  test("an event just inside the allowance behaves as today: applied, and it outranks older events", async () => {
    const id = kindeUserId();
    const now = Date.now();
    const ahead = userCreated(
      { id, first_name: "Early" },
      { at: now + MAX_CLOCK_SKEW_MS - MINUTE },
    );
    expect((await app.deliver(ahead)).text).toBe(`applied ${ahead.event_id}\n`);
    const older = userUpdated({ id, first_name: "Older" }, { at: now });
    expect((await app.deliver(older)).text).toBe(`stale ${older.event_id}\n`);
    expect(await getUser(id)).toMatchObject({ firstName: "Early" });
    expect(await syncStatus()).toMatchObject({ unappliedEvents: 0, lastUnappliedEvent: null });
  });

  test("events far in the past keep the `expired` rule", async () => {
    const old = userCreated({ id: kindeUserId() }, { at: Date.now() - 8 * 24 * 60 * MINUTE });
    expect((await app.deliver(old)).text).toBe(`expired ${old.event_id}\n`);
    expect((await syncStatus()).unappliedEvents).toBe(0);
  });
});

describe("an event no retry can apply", () => {
  /**
   * The case: a role whose catalog key (20 KB, from a newer
   * `role.updated`) replaces the snapshot's key in 1,000 memberships, twice
   * each (the user's inline copy and the membership rows): about 40 MB, over
   * Convex's 16 MiB written per transaction, and 20 MB in the user's document
   * alone, which the component refuses before writing, as a deployment would.
   */
  async function oversizedSnapshot() {
    const roleId = kindeUuid();
    const now = Date.now();
    const rename = roleUpdated({ id: roleId, key: "k".repeat(20_000) }, { at: now - MINUTE });
    expect((await app.deliver(rename)).text).toMatch(/^applied /);
    const id = kindeUserId();
    const organizations = Array.from({ length: 1000 }, (_, i) => ({
      code: `org_${String(i).padStart(11, "0")}`,
      roles: [{ id: roleId, key: "member" }],
      permissions: null,
    }));
    const snapshot = userUpdated(
      { id, first_name: "Ada", organizations },
      { at: now - 2 * MINUTE },
    );
    return { id, snapshot, now };
  }

  test("the 20 KB-key snapshot is recorded `failed` with Convex's reason, answered 200, and writes nothing else", async () => {
    const { id, snapshot } = await oversizedSnapshot();
    const before = await readKindeTables(app.t);

    const answer = await app.deliver(snapshot, { "webhook-id": "msg_big" });
    expect(answer).toEqual({ status: 200, text: `failed ${snapshot.event_id}\n` });

    const after = await readKindeTables(app.t);
    for (const table of ["kindeUsers", "kindeMemberships", "kindeRoles", "tombstones"] as const) {
      expect(after[table]).toEqual(before[table]);
    }
    expect(await getUser(id)).toBeNull();
    const record = await recordOf(snapshot.event_id);
    expect(record).toMatchObject({
      outcome: "failed",
      type: "user.updated",
      entityKind: "user",
      entityId: id,
      webhookId: "msg_big",
      error: expect.stringMatching(/^Value is too large: a kindeUsers document of \d+ bytes/),
    });
    expect(String(record?.error).length).toBeLessThanOrEqual(1000);
    expect(await syncStatus()).toMatchObject({
      unappliedEvents: 1,
      lastUnappliedEvent: { eventId: snapshot.event_id, outcome: "failed" },
    });
  });

  test("a snapshot whose user document would pass 1 MiB is recorded `failed` before anything is written", async () => {
    // A 1.2 KB catalog key held in 1,000 organizations: about 1.2 MB in the user's
    // document, which a deployment refuses ("Value is too large") and convex-test
    // would accept; the component checks the size itself, so both behave alike.
    const roleId = kindeUuid();
    const now = Date.now();
    await app.deliver(roleUpdated({ id: roleId, key: "k".repeat(1_200) }, { at: now - MINUTE }));
    const id = kindeUserId();
    const organizations = Array.from({ length: 1000 }, (_, i) => ({
      code: `org_${String(i).padStart(11, "0")}`,
      roles: [{ id: roleId, key: "member" }],
      permissions: null,
    }));
    const snapshot = userUpdated({ id, organizations }, { at: now - 2 * MINUTE });
    const before = await readKindeTables(app.t);

    expect(await app.deliver(snapshot)).toEqual({
      status: 200,
      text: `failed ${snapshot.event_id}\n`,
    });
    const after = await readKindeTables(app.t);
    for (const table of ["kindeUsers", "kindeMemberships", "kindeRoles"] as const) {
      expect(after[table]).toEqual(before[table]);
    }
    expect(await recordOf(snapshot.event_id)).toMatchObject({
      outcome: "failed",
      error: expect.stringMatching(/^Value is too large: a kindeUsers document of \d+ bytes/),
    });
    // Just under the limit, the same shape is mirrored.
    const fits = userUpdated(
      { id, organizations: organizations.slice(0, 800) },
      { at: now - MINUTE / 2 },
    );
    expect((await app.deliver(fits)).text).toBe(`applied ${fits.event_id}\n`);
    expect((await getUser(id))?.organizations).toHaveLength(800);
  });

  test("Kinde's retry of it is a duplicate, and the user is not wedged: the next snapshot applies", async () => {
    const { id, snapshot, now } = await oversizedSnapshot();
    expect((await app.deliver(snapshot)).text).toMatch(/^failed /);
    expect(await app.deliver(snapshot)).toEqual({
      status: 200,
      text: `duplicate ${snapshot.event_id}\n`,
    });
    const next = userUpdated(
      { id, first_name: "Ada", organizations: [{ code: "org_1", roles: null, permissions: null }] },
      { at: now - 90_000 },
    );
    expect((await app.deliver(next)).text).toBe(`applied ${next.event_id}\n`);
    expect(await getUser(id)).toMatchObject({
      firstName: "Ada",
      organizations: [{ orgCode: "org_1", roles: [], permissions: [] }],
    });
    expect((await syncStatus()).unappliedEvents).toBe(1);
  });

  test("recording a failure is exactly once and bounded: an event already recorded stays as it was", async () => {
    const id = kindeUserId();
    const applied = userCreated({ id, first_name: "Ada" });
    await app.deliver(applied);
    const summary = {
      eventId: applied.event_id,
      type: "user.created",
      occurredAt: Date.now(),
      entityKind: "user" as const,
      entityId: id,
      error: "Too many bytes written in a single function execution",
    };
    const record = components.kinde.webhooks.recordFailedEvent;
    expect(await app.t.mutation(record, summary)).toEqual({ outcome: "duplicate" });
    expect(await recordOf(applied.event_id)).toMatchObject({ outcome: "applied" });
    expect(await recordOf(applied.event_id)).not.toHaveProperty("error");

    const huge = { ...summary, eventId: "event_huge", entityId: "kp_".padEnd(100_000, "x") };
    const answer = await app.t.mutation(record, { ...huge, error: "Too many ".repeat(100_000) });
    expect(answer).toEqual({ outcome: "failed" });
    expect(await app.t.mutation(record, huge)).toEqual({ outcome: "duplicate" });
    const stored = await recordOf("event_huge");
    expect(String(stored?.error).length).toBeLessThanOrEqual(1000);
    expect(String(stored?.entityId).length).toBeLessThanOrEqual(200);
    expect((await syncStatus()).unappliedEvents).toBe(1);
  });

  test("a host hook that hits a Convex limit stays retryable (500) and records nothing", async () => {
    const hooks = {
      onKindeEvent: kinde.events({
        "user.created": async (ctx) => {
          // 17 documents of 1 MB: over the 16 MiB a transaction may write.
          for (let i = 0; i < 17; i++) {
            await ctx.db.insert("profiles", { kindeId: `x${i}`, displayName: "x".repeat(1e6) });
          }
        },
      }),
    };
    const t = initConvexTestWithHooks(hooks);
    const answer = await postWebhook(t, await app.issuer.sign(userCreated({ id: kindeUserId() })));
    expect(answer.status).toBe(500);
    expect(answer.text).toMatch(/the host's event hook threw: .*Wrote too much data/);
    await expectNothingWritten(t);
  });
});

describe("roles and permissions as key strings (@kinde/webhooks 1.0.0's declared type)", () => {
  const hasRole = (kindeId: string, orgCode: string, role: string) =>
    app.t.query(internal.organizations.hasRole, { kindeId, orgCode, role });
  const hasPermission = (kindeId: string, orgCode: string, permission: string) =>
    app.t.query(internal.organizations.hasPermission, { kindeId, orgCode, permission });

  test("string roles and permissions are mirrored and checkable, mixed with { id, key } objects", async () => {
    const id = kindeUserId();
    const orgCode = kindeOrgCode();
    const event = userCreated({
      id,
      organizations: [
        {
          code: orgCode,
          roles: ["admin", { id: kindeUuid(), key: "editor" }] as never,
          permissions: ["read:docs", "read:docs"] as never,
        },
      ],
    });
    expect((await app.deliver(event)).text).toBe(`applied ${event.event_id}\n`);
    expect((await getUser(id))?.organizations).toEqual([
      { orgCode, roles: ["editor", "admin"], permissions: ["read:docs"] },
    ]);
    expect(await hasRole(id, orgCode, "admin")).toBe(true);
    expect(await hasRole(id, orgCode, "editor")).toBe(true);
    expect(await hasRole(id, orgCode, "owner")).toBe(false);
    expect(await hasPermission(id, orgCode, "read:docs")).toBe(true);
    expect(await hasPermission(id, orgCode, "write:docs")).toBe(false);
  });

  test("a key the catalog holds gets its Kinde id, so the role's deletion reaches the membership", async () => {
    const id = kindeUserId();
    const orgCode = kindeOrgCode();
    const roleId = kindeUuid();
    const now = Date.now();
    await app.deliver(roleCreated({ id: roleId, key: "admin" }, { at: now - 3 * MINUTE }));
    await app.deliver(
      userCreated(
        { id, organizations: [{ code: orgCode, roles: ["admin"] as never, permissions: null }] },
        { at: now - 2 * MINUTE },
      ),
    );
    const { kindeMemberships } = await readKindeTables(app.t);
    expect(kindeMemberships).toMatchObject([{ roles: [{ kindeId: roleId, key: "admin" }] }]);
    expect(await hasRole(id, orgCode, "admin")).toBe(true);

    await app.deliver(roleDeleted(roleId, { at: now - MINUTE }));
    expect(await hasRole(id, orgCode, "admin")).toBe(false);
  });

  test("a key the catalog does not know is kept key-only, and several of them stay distinct", async () => {
    const id = kindeUserId();
    const orgCode = kindeOrgCode();
    await app.deliver(
      userCreated({
        id,
        organizations: [
          { code: orgCode, roles: ["admin", "billing"] as never, permissions: ["a", "b"] as never },
        ],
      }),
    );
    const { kindeMemberships } = await readKindeTables(app.t);
    expect(kindeMemberships).toMatchObject([
      {
        roles: [
          { kindeId: "", key: "admin" },
          { kindeId: "", key: "billing" },
        ],
        permissions: [
          { kindeId: "", key: "a" },
          { kindeId: "", key: "b" },
        ],
      },
    ]);
    expect(await hasRole(id, orgCode, "billing")).toBe(true);
    expect(await hasPermission(id, orgCode, "b")).toBe(true);
  });

  test(
    "the worst snapshot within the limits still fits one transaction with key strings the catalog knows",
    { timeout: 120_000 },
    async () => {
      const now = Date.now();
      const roles = Array.from({ length: 150 }, (_, i) => ({ id: `r${i}`, key: `role:${i}` }));
      const permissions = roles.map((r) => ({ id: `p${r.id}`, key: `perm:${r.key}` }));
      for (const role of roles) await app.deliver(roleCreated(role, { at: now - 10 * MINUTE }));
      for (const permission of permissions) {
        await app.deliver(
          kindeEvent("permission.created", { permission }, { at: now - 10 * MINUTE }),
        );
      }
      const id = kindeUserId();
      const orgs = (prefix: string) =>
        Array.from({ length: 1000 }, (_, i) => ({
          code: `${prefix}_${i}`,
          roles: (i === 0 ? roles.map((r) => r.key) : null) as never,
          permissions: (i === 0 ? permissions.map((p) => p.key) : null) as never,
        }));
      const first = userUpdated({ id, organizations: orgs("org_a") }, { at: now - 2 * MINUTE });
      expect((await app.deliver(first)).text).toMatch(/^applied /);
      const second = userUpdated({ id, organizations: orgs("org_b") }, { at: now - MINUTE });
      expect((await app.deliver(second)).text).toMatch(/^applied /);
      const mirrored = await getUser(id);
      expect(mirrored?.organizations).toHaveLength(1000);
      expect(mirrored?.organizations[0]?.roles).toHaveLength(150);
      const { kindeMemberships } = await readKindeTables(app.t);
      const held = kindeMemberships.find((m) => m.orgCode === "org_b_0");
      expect(held?.roles).toContainEqual({ kindeId: "r7", key: "role:7" });
      expect(held?.permissions).toContainEqual({ kindeId: "pr7", key: "perm:role:7" });
    },
  );

  test("an unknown event shape still gets the documented 400", async () => {
    const answer = await app.deliver(
      kindeEvent("user.updated", {
        user: { id: kindeUserId(), organizations: [{ code: "o", roles: [42], permissions: null }] },
      }),
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/roles\[0\]/);
  });
});

describe("cost, in deployment units", () => {
  interface Cost {
    documentsRead: number;
    documentsWritten: number;
    databaseQueries: number;
    outcome: string;
  }
  /** A host mutation that applies an event as the route does and reports what it read and wrote. */
  const probe = {
    apply: mutationGeneric({
      args: { event: v.any() },
      handler: async (ctx, { event }: { event: KindeEvent }) => {
        const before = await ctx.meta.getTransactionMetrics();
        const { outcome } = await applyEvent(ctx, kinde.component, event, {});
        const after = await ctx.meta.getTransactionMetrics();
        return {
          documentsRead: after.documentsRead.used - before.documentsRead.used,
          documentsWritten: after.documentsWritten.used - before.documentsWritten.used,
          databaseQueries: after.databaseQueries.used - before.databaseQueries.used,
          outcome,
        };
      },
    }),
  };
  const applyRef = makeFunctionReference<"mutation", { event: KindeEvent }, Cost>("probe:apply");
  const measuredApp = () => initConvexTest({ "./probe.ts": async () => probe });

  test("a future-dated event costs the dedupe range, its record and one counter shard (new here)", async () => {
    const t = measuredApp();
    const future = toKindeEvent(datedYear9999(userCreated({ id: kindeUserId() })));
    expect(await t.mutation(applyRef, { event: future })).toEqual({
      outcome: "future",
      documentsRead: 0,
      documentsWritten: 2,
      databaseQueries: 2,
    });
  });

  test("key strings cost one index range each over the same roles as { id, key } objects", async () => {
    const t = measuredApp();
    const roles = Array.from({ length: 10 }, (_, i) => ({ id: kindeUuid(), key: `role:${i}` }));
    for (const role of roles)
      await t.mutation(applyRef, { event: toKindeEvent(roleCreated(role)) });
    // Both users exist first, so neither snapshot writes a (sharded) user counter:
    // the two differ only in how their roles are named.
    const [first, second] = [kindeUserId(), kindeUserId()];
    for (const id of [first, second]) {
      await t.mutation(applyRef, { event: toKindeEvent(userCreated({ id })) });
    }
    const snapshot = (id: string, organizationRoles: unknown[]) =>
      toKindeEvent(
        userUpdated({
          id,
          organizations: [
            { code: kindeOrgCode(), roles: organizationRoles as never, permissions: null },
          ],
        }),
      );
    const asObjects = await t.mutation(applyRef, { event: snapshot(first, roles) });
    const asKeys = await t.mutation(applyRef, {
      event: snapshot(
        second,
        roles.map((r) => r.key),
      ),
    });
    expect(asKeys.outcome).toBe("applied");
    expect(asKeys.databaseQueries - asObjects.databaseQueries).toBe(roles.length);
    expect(asKeys.documentsRead - asObjects.documentsRead).toBe(roles.length);
    expect(asKeys.documentsWritten).toBe(asObjects.documentsWritten);
  });
});
