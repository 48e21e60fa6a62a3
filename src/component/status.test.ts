import { describe, expect, test } from "vitest";
import { api } from "./_generated/api.js";
import type { Doc } from "./_generated/dataModel.js";
import { adjustCount } from "./counters.js";
import { applyOrganizationSnapshot } from "./organizations.js";
import { applyUserSnapshot, deleteUser } from "./users.js";
import { initComponentTest, userSnapshot, version, type ComponentTest } from "./setup.test.js";

type StoredEvent = Omit<Doc<"webhookEvents">, "_id" | "_creationTime">;

const EXPIRES_AT = Date.UTC(2027, 0, 1);

/** Records events in this order, as the webhook would receive them. */
async function record(t: ComponentTest, ...events: Partial<StoredEvent>[]) {
  await t.run(async (ctx) => {
    for (const [i, event] of events.entries()) {
      await ctx.db.insert("webhookEvents", {
        eventId: `event_${i}`,
        type: "user.updated",
        occurredAt: 1_000 + i,
        outcome: "applied",
        expiresAt: EXPIRES_AT,
        ...event,
      });
    }
  });
}

describe("sync status", () => {
  test("of a fresh install: nothing received, nothing mirrored", async () => {
    const t = initComponentTest();
    expect(await t.query(api.status.getSyncStatus, {})).toEqual({
      lastEvent: null,
      users: 0,
      organizations: 0,
      unappliedEvents: 0,
      lastUnappliedEvent: null,
    });
  });

  test("counts what is mirrored now, across counter shards", async () => {
    const t = initComponentTest();
    await t.run(async (ctx) => {
      for (let i = 0; i < 40; i++) {
        await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${i}`));
      }
      await deleteUser(ctx, version(2_000), "kp_7", EXPIRES_AT);
      await applyOrganizationSnapshot(ctx, version(1_000), { code: "org_a" });
      await adjustCount(ctx, "unappliedEvents", "event_x", 1);
      await adjustCount(ctx, "unappliedEvents", "event_y", 1);
    });
    expect(await t.query(api.status.getSyncStatus, {})).toMatchObject({
      users: 39,
      organizations: 1,
      unappliedEvents: 2,
    });
  });

  test("the last event recorded, and the newest that was not applied, as public records", async () => {
    const t = initComponentTest();
    await record(
      t,
      { eventId: "event_failed", outcome: "failed", error: "Value is too large" },
      { eventId: "event_future", outcome: "future" },
      { eventId: "event_stale", outcome: "stale" },
      { eventId: "event_last", outcome: "ignored", type: "access_request.created" },
    );
    const status = await t.query(api.status.getSyncStatus, {});
    expect(status.lastEvent).toMatchObject({ eventId: "event_last", outcome: "ignored" });
    expect(status.lastUnappliedEvent).toMatchObject({ eventId: "event_future", outcome: "future" });
    // `receivedAt` is when the record was written; retention's `expiresAt` stays internal.
    expect(status.lastEvent).toHaveProperty("receivedAt");
    expect(status.lastEvent).not.toHaveProperty("expiresAt");
  });
});

describe("event log", () => {
  test("lists every record newest first, and one entity's records by kind and id", async () => {
    const t = initComponentTest();
    await record(
      t,
      { eventId: "e_ada_1", entityKind: "user", entityId: "kp_ada" },
      { eventId: "e_org", entityKind: "organization", entityId: "kp_ada" },
      { eventId: "e_bob", entityKind: "user", entityId: "kp_bob" },
      { eventId: "e_ada_2", entityKind: "user", entityId: "kp_ada" },
    );
    const paginationOpts = { cursor: null, numItems: 10 };
    const all = await t.query(api.events.listEvents, { paginationOpts });
    expect(all.page.map((e) => e.eventId)).toEqual(["e_ada_2", "e_bob", "e_org", "e_ada_1"]);
    const ada = await t.query(api.events.listEntityEvents, {
      entityKind: "user",
      entityId: "kp_ada",
      paginationOpts,
    });
    expect(ada.page.map((e) => e.eventId)).toEqual(["e_ada_2", "e_ada_1"]);
  });
});
