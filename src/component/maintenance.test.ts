import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { internal } from "./_generated/api.js";
import { PRUNE_BATCH_SIZE } from "./maintenance.js";
import { addTombstone, isDeleted } from "./tombstones.js";
import { initComponentTest, version, type ComponentTest } from "./setup.test.js";

const NOW = Date.UTC(2026, 11, 1, 12);
const HOUR = 3_600_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

async function addEvents(t: ComponentTest, count: number, expiresAt: number, prefix: string) {
  await t.run(async (ctx) => {
    for (let i = 0; i < count; i++) {
      await ctx.db.insert("webhookEvents", {
        eventId: `${prefix}_${i}`,
        type: "user.updated",
        occurredAt: NOW - 8 * 24 * HOUR,
        outcome: "applied",
        expiresAt,
      });
    }
  });
}

async function addTombstones(t: ComponentTest, count: number, expiresAt: number) {
  await t.run(async (ctx) => {
    for (let i = 0; i < count; i++) {
      const entityId = `kp_${i}`;
      await ctx.db.insert("tombstones", { kind: "user", entityId, version: version(1), expiresAt });
    }
  });
}

const remainingEventIds = (t: ComponentTest) =>
  t.run(async (ctx) => (await ctx.db.query("webhookEvents").collect()).map((e) => e.eventId));

describe("retention", () => {
  test("deletes event records and tombstones past their expiry, and nothing else", async () => {
    const t = initComponentTest();
    await addEvents(t, 3, NOW - HOUR, "expired");
    await addEvents(t, 2, NOW + HOUR, "kept");
    await t.run(async (ctx) => {
      await addTombstone(ctx, "user", "kp_expired", version(1_000), NOW - 1);
      await addTombstone(ctx, "user", "kp_kept", version(1_000), NOW + HOUR);
    });
    expect(await t.mutation(internal.maintenance.prune, {})).toEqual({ events: 3, tombstones: 1 });
    expect(await remainingEventIds(t)).toEqual(["kept_0", "kept_1"]);
    await t.run(async (ctx) => {
      expect(await isDeleted(ctx, "user", "kp_expired")).toBe(false);
      expect(await isDeleted(ctx, "user", "kp_kept")).toBe(true);
    });
  });

  test.each(["webhookEvents", "tombstones"] as const)(
    "a backlog of %s drains in batches of at most PRUNE_BATCH_SIZE, each scheduling the next",
    async (table) => {
      const t = initComponentTest();
      const backlog = PRUNE_BATCH_SIZE * 2 + 7;
      if (table === "webhookEvents") await addEvents(t, backlog, NOW - HOUR, "old");
      else await addTombstones(t, backlog, NOW - HOUR);
      await addEvents(t, 1, NOW + HOUR, "kept");
      // One run deletes one bounded batch, whatever the backlog.
      const first = await t.mutation(internal.maintenance.prune, {});
      expect(first[table === "webhookEvents" ? "events" : "tombstones"]).toBe(PRUNE_BATCH_SIZE);
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      expect(await remainingEventIds(t)).toEqual(["kept_0"]);
      await t.run(async (ctx) => {
        expect(await ctx.db.query("tombstones").collect()).toEqual([]);
        const runs = await ctx.db.system.query("_scheduled_functions").collect();
        expect(runs).toHaveLength(Math.ceil(backlog / PRUNE_BATCH_SIZE) - 1);
      });
    },
  );

  test("with nothing expired, a run deletes nothing and schedules nothing", async () => {
    const t = initComponentTest();
    await addEvents(t, 2, NOW + HOUR, "kept");
    expect(await t.mutation(internal.maintenance.prune, {})).toEqual({ events: 0, tombstones: 0 });
    const scheduled = await t.run(
      async (ctx) => await ctx.db.system.query("_scheduled_functions").collect(),
    );
    expect(scheduled).toEqual([]);
  });
});
