import { describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter } from "convex/server";
import kindeTest, {
  kindeEvent,
  kindeOrgCode,
  kindeUserId,
  organizationCreated,
  pruneKinde,
  readKindeTables,
  seedKindeEventRecords,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { Kinde, type MirrorEvent } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { kinde } from "../example/convex/kinde.js";
import {
  DAY,
  expectNothingWritten,
  HOUR,
  initConvexTestWithHooks,
  modules,
  postWebhook,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();

const profileOf = (kindeId: string) => app.t.query(internal.users.profile, { kindeId });
/** The Kinde event (or backfill run, or refresh) that made a change. */
const causeOf = ({ origin }: MirrorEvent) =>
  origin.kind === "webhook"
    ? origin.eventId
    : origin.kind === "backfill"
      ? origin.runId
      : `refresh ${origin.fetchedAt}`;

/** A host app whose hook records every call and throws while `failing` is set. */
function appWithCountingHook() {
  const calls: string[] = [];
  const events: MirrorEvent[] = [];
  const state = { failing: false };
  const hooks = {
    onKindeEvent: kinde.events({
      "user.created": async (ctx, event) => {
        calls.push(causeOf(event));
        events.push(event);
        await ctx.db.insert("profiles", { kindeId: event.user.kindeId, displayName: "x" });
        if (state.failing) throw new Error("the hook failed");
      },
      "user.updated": (_ctx, event) => {
        calls.push(causeOf(event));
        events.push(event);
      },
      "user.deleted": (_ctx, event) => {
        calls.push(causeOf(event));
        events.push(event);
      },
      "organization.created": (_ctx, event) => {
        calls.push(causeOf(event));
        events.push(event);
      },
    }),
  };
  const t = initConvexTestWithHooks(hooks);
  const deliver = async (payload: object) => await postWebhook(t, await app.issuer.sign(payload));
  return { t, calls, events, state, deliver };
}

describe("event hooks", () => {
  test("a hook gets the typed event and writes to a host table in the same transaction", async () => {
    const id = kindeUserId();
    await app.deliver(userCreated({ id, first_name: "Ada", last_name: "Lovelace" }));
    expect(await profileOf(id)).toMatchObject({ kindeId: id, displayName: "Ada Lovelace" });
    await app.deliver(userUpdated({ id, first_name: "Ada", last_name: "King" }));
    expect(await profileOf(id)).toMatchObject({ displayName: "Ada King" });
    await app.deliver(userDeleted(id));
    expect(await profileOf(id)).toBeNull();
  });

  test("a throwing hook leaves no trace anywhere; Kinde's retry applies the event exactly once", async () => {
    const { t, calls, state, deliver } = appWithCountingHook();
    const id = kindeUserId();
    const event = userCreated({ id, email: "ada@example.com" });

    state.failing = true;
    const failed = await deliver(event);
    expect(failed.status).toBe(500);
    expect(failed.text).toMatch(/failed to apply event_.*the hook failed/);
    await expectNothingWritten(t);
    expect(await t.run(async (ctx) => await ctx.db.query("profiles").collect())).toEqual([]);

    state.failing = false;
    expect((await deliver(event)).text).toMatch(/^applied /);
    expect((await deliver(event)).text).toMatch(/^duplicate /);
    expect(calls).toEqual([event.event_id, event.event_id]); // the failed run, then the one that stuck
    expect(await t.run(async (ctx) => await ctx.db.query("profiles").collect())).toHaveLength(1);
    expect((await readKindeTables(t)).kindeUsers).toHaveLength(1);
  });

  test("hooks do not run for duplicate, stale, expired or ignored events", async () => {
    const { calls, deliver } = appWithCountingHook();
    const id = kindeUserId();
    const now = Date.now();
    const newer = userUpdated({ id, first_name: "New" }, { at: now - HOUR });
    expect((await deliver(newer)).text).toMatch(/^applied/);
    expect((await deliver(newer)).text).toMatch(/^duplicate/);
    expect((await deliver(userUpdated({ id }, { at: now - 2 * HOUR }))).text).toMatch(/^stale/);
    expect((await deliver(userUpdated({ id }, { at: now - 8 * DAY }))).text).toMatch(/^expired/);
    expect((await deliver(kindeEvent("subscriber.created", { subscriber: {} }))).text).toMatch(
      /^ignored/,
    );
    expect(calls).toEqual([newer.event_id]);
    // And a handled type of another entity runs its own handler.
    const org = organizationCreated({ code: kindeOrgCode(), name: "Acme" });
    await deliver(org);
    expect(calls).toEqual([newer.event_id, org.event_id]);
  });
});

describe("hooks hear what happened to the mirror", () => {
  test("user.updated before user.created: one user.created hook, in the read shape, with its origin", async () => {
    const { t, events, deliver } = appWithCountingHook();
    const id = kindeUserId();
    const org = kindeOrgCode();
    const now = Date.now();
    const created = userCreated({ id, first_name: "Ada" }, { at: now - 2 * HOUR });
    const updated = userUpdated(
      {
        id,
        first_name: "Ada",
        last_name: "King",
        organizations: [{ code: org, roles: [{ id: "r-1", key: "admin" }], permissions: null }],
      },
      { at: now - HOUR },
    );
    expect((await deliver(updated)).text).toMatch(/^applied/);
    expect((await deliver(created)).text).toMatch(/^stale/);
    expect(events).toEqual([
      {
        type: "user.created",
        user: {
          kindeId: id,
          firstName: "Ada",
          lastName: "King",
          isSuspended: false,
          isPasswordResetRequested: false,
          organizations: [{ orgCode: org, roles: ["admin"], permissions: [] }],
        },
        origin: {
          kind: "webhook",
          eventId: updated.event_id,
          kindeType: "user.updated",
          source: "admin",
          occurredAt: expect.closeTo(now - HOUR, 0),
        },
      },
    ]);
    const profiles = await t.run(async (ctx) => await ctx.db.query("profiles").collect());
    expect(profiles.map((p) => p.kindeId)).toEqual([id]);
  });

  test("an update that changes nothing the host reads runs no hook; a delete of an unknown user neither", async () => {
    const { events, deliver } = appWithCountingHook();
    const id = kindeUserId();
    const now = Date.now();
    await deliver(userCreated({ id, first_name: "Ada" }, { at: now - 3 * HOUR }));
    expect(
      (await deliver(userUpdated({ id, first_name: "Ada" }, { at: now - 2 * HOUR }))).text,
    ).toMatch(/^applied/);
    expect(events.map((e) => e.type)).toEqual(["user.created"]);
    expect((await deliver(userUpdated({ id, first_name: "Bo" }, { at: now - HOUR }))).text).toMatch(
      /^applied/,
    );
    expect((await deliver(userDeleted(kindeUserId()))).text).toMatch(/^applied/);
    await deliver(userDeleted(id));
    expect(events.map((e) => e.type)).toEqual(["user.created", "user.updated", "user.deleted"]);
  });

  test("the example's hooks keep exactly one profile per mirrored user, whatever the order", async () => {
    const ids = [kindeUserId(), kindeUserId(), kindeUserId()];
    const now = Date.now();
    const [a, b, c] = ids as [string, string, string];
    const deliveries = [
      userUpdated({ id: a, first_name: "A2" }, { at: now - HOUR }),
      userCreated({ id: a, first_name: "A1" }, { at: now - 2 * HOUR }),
      userCreated({ id: b, first_name: "B" }, { at: now - 2 * HOUR }),
      userDeleted(b, { at: now - HOUR }),
      userUpdated({ id: b, first_name: "B zombie" }, { at: now - HOUR / 2 }),
      userCreated({ id: c, first_name: "C" }, { at: now - HOUR }),
      userUpdated({ id: c, first_name: "C" }, { at: now - HOUR / 2 }),
    ];
    for (const event of deliveries) await app.deliver(event);
    const profiles = await app.t.run(async (ctx) => await ctx.db.query("profiles").collect());
    expect(profiles.map((p) => [p.kindeId, p.displayName]).sort()).toEqual(
      [
        [a, "A2"],
        [c, "C"],
      ].sort(),
    );
  });
});

describe("the event log", () => {
  test("every verified event leaves a record with its outcome, newest first; refusals leave none", async () => {
    const id = kindeUserId();
    const now = Date.now();
    const created = userCreated({ id }, { at: now - 3 * HOUR });
    const receivedFrom = Date.now();
    await app.deliver(created, { "webhook-id": "msg_a" });
    const receivedBy = Date.now();
    await app.deliver(created, { "webhook-id": "msg_b" }); // duplicate: not recorded again
    const stale = userUpdated({ id }, { at: now - 4 * HOUR });
    await app.deliver(stale);
    const expired = userUpdated({ id }, { at: now - 10 * DAY });
    await app.deliver(expired);
    const ignored = kindeEvent("access_request.created", { access_request: {} });
    await app.deliver(ignored);
    expect((await app.post("garbage")).status).toBe(401);
    expect((await app.post(await app.issuer.sign({ type: "user.created" }))).status).toBe(400);

    const { page } = await app.t.query(internal.diagnostics.recentEvents, {
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(page.map((e) => [e.eventId, e.outcome])).toEqual([
      [ignored.event_id, "ignored"],
      [expired.event_id, "expired"],
      [stale.event_id, "stale"],
      [created.event_id, "applied"],
    ]);
    expect(page[3]).toEqual({
      eventId: created.event_id,
      type: "user.created",
      source: "admin",
      occurredAt: expect.closeTo(now - 3 * HOUR, 0),
      receivedAt: expect.any(Number),
      outcome: "applied",
      entityKind: "user",
      entityId: id,
      webhookId: "msg_a",
    });
    // When the webhook received it: the record's creation time.
    expect(page[3]!.receivedAt).toBeGreaterThanOrEqual(receivedFrom);
    expect(page[3]!.receivedAt).toBeLessThanOrEqual(receivedBy + 1);
    expect(page[0]).not.toHaveProperty("entityKind");
  });

  test("the events of one user, newest first", async () => {
    const ada = kindeUserId();
    const bob = kindeUserId();
    const first = userCreated({ id: ada });
    const other = userCreated({ id: bob });
    const second = userDeleted(ada);
    for (const event of [first, other, second]) await app.deliver(event);
    const { page } = await app.t.query(internal.diagnostics.userEvents, {
      kindeId: ada,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(page.map((e) => e.eventId)).toEqual([second.event_id, first.event_id]);
  });

  test("getSyncStatus: the last event and how many users and organizations are mirrored", async () => {
    expect(await app.t.query(internal.diagnostics.syncStatus, {})).toEqual({
      lastEvent: null,
      users: 0,
      organizations: 0,
      unappliedEvents: 0,
      lastUnappliedEvent: null,
    });
    const ids = [kindeUserId(), kindeUserId(), kindeUserId()];
    for (const id of ids) await app.deliver(userCreated({ id }));
    await app.deliver(userUpdated({ id: ids[0]! }));
    await app.deliver(organizationCreated({ code: kindeOrgCode() }));
    const last = userDeleted(ids[1]!);
    await app.deliver(last);
    expect(await app.t.query(internal.diagnostics.syncStatus, {})).toMatchObject({
      lastEvent: { eventId: last.event_id, type: "user.deleted", outcome: "applied" },
      users: 2,
      organizations: 1,
      unappliedEvents: 0,
      lastUnappliedEvent: null,
    });
  });
});

describe("retention", () => {
  /** Moves the clock (Date only) as if `ms` had passed. */
  function travel(ms: number) {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + ms);
  }

  test("pruning removes only expired records and tombstones, in bounded batches", async () => {
    const id = kindeUserId();
    await app.deliver(userCreated({ id }));
    await app.deliver(userDeleted(id));
    const live = kindeUserId();
    await app.deliver(userCreated({ id: live }));
    // A backlog larger than one batch (500), all already expired.
    await seedKindeEventRecords(app.t, { count: 1200, expiresAt: Date.now() - 1 });

    expect(await pruneKinde(app.t)).toEqual({ events: 500, tombstones: 0 });
    await app.t.finishAllScheduledFunctions(() => {});
    let tables = await readKindeTables(app.t);
    expect(tables.webhookEvents).toHaveLength(3); // only the real, unexpired records remain
    expect(tables.tombstones).toHaveLength(1);

    // Past retention (7 days) plus the margin (1 day), everything the webhook wrote expires.
    travel(8 * DAY + HOUR);
    expect(await pruneKinde(app.t)).toEqual({ events: 3, tombstones: 1 });
    tables = await readKindeTables(app.t);
    expect(tables.webhookEvents).toEqual([]);
    expect(tables.tombstones).toEqual([]);
    expect(tables.kindeUsers.map((u) => u.kindeId)).toEqual([live]);
  });

  test("a late retry cannot resurrect a deleted user, before or after pruning", async () => {
    const id = kindeUserId();
    const now = Date.now();
    const update = userUpdated({ id, first_name: "Zombie" }, { at: now - HOUR });
    const neverSeen = userUpdated({ id, first_name: "Zombie 2" }, { at: now - HOUR / 2 });
    await app.deliver(userCreated({ id }, { at: now - 2 * HOUR }));
    await app.deliver(userDeleted(id, { at: now }));

    // Within the retention window: the tombstone refuses it.
    travel(6 * DAY);
    expect((await app.deliver(update)).text).toMatch(/^stale /);
    expect(await pruneKinde(app.t)).toEqual({ events: 0, tombstones: 0 });

    // After the tombstone and the records are pruned: the retry is too old to apply.
    travel(3 * DAY);
    expect((await pruneKinde(app.t)).tombstones).toBe(1);
    expect((await app.deliver(neverSeen)).text).toMatch(/^expired /);
    // The stale retry's own record (written on day 6) still dedupes it.
    expect((await app.deliver(update)).text).toMatch(/^duplicate /);
    const replayOfCreate = userCreated({ id }, { at: now - 2 * HOUR, eventId: "event_replayed" });
    expect((await app.deliver(replayOfCreate)).text).toMatch(/^expired /);
    expect(await app.t.query(internal.users.byKindeId, { kindeId: id })).toBeNull();
  });

  test("retentionDays is configurable", async () => {
    const short = new Kinde(components.kinde, { retentionDays: 1 });
    const router = httpRouter();
    short.registerRoutes(router);
    const t = convexTest({
      schema,
      modules: { ...modules, "./http.ts": async () => ({ default: router }) },
    });
    kindeTest.register(t, "kinde", { inspect: true });
    const post = async (payload: object) =>
      (await postWebhook(t, await app.issuer.sign(payload))).text;
    expect(await post(userCreated({ id: kindeUserId() }, { at: Date.now() - 2 * DAY }))).toMatch(
      /^expired/,
    );
    expect(await post(userCreated({ id: kindeUserId() }, { at: Date.now() - 2 * HOUR }))).toMatch(
      /^applied/,
    );
    const [record] = (await readKindeTables(t)).webhookEvents.slice(-1) as { expiresAt: number }[];
    expect(record!.expiresAt - Date.now()).toBeLessThanOrEqual(2 * DAY);
  });
});
