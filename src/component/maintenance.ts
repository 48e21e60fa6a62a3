/**
 * Retention: event records and tombstones past their `expiresAt` are deleted
 * in bounded batches. A run that finds a full batch schedules the next one
 * immediately, so a backlog of any size drains without one mutation
 * exceeding Convex's limits.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api.js";
import { internalMutation, type MutationCtx } from "./_generated/server.js";

/** Rows one prune mutation deletes from each table. */
export const PRUNE_BATCH_SIZE = 500;

export const prune = internalMutation({
  args: {},
  returns: v.object({ events: v.number(), tombstones: v.number() }),
  handler: async (ctx) => await pruneExpired(ctx),
});

/** Deletes one batch of expired records and tombstones; schedules the next if more may remain. */
export async function pruneExpired(ctx: MutationCtx) {
  const now = Date.now();
  const events = await ctx.db
    .query("webhookEvents")
    .withIndex("expiresAt", (q) => q.lt("expiresAt", now))
    .take(PRUNE_BATCH_SIZE);
  for (const row of events) await ctx.db.delete("webhookEvents", row._id);
  const tombstones = await ctx.db
    .query("tombstones")
    .withIndex("expiresAt", (q) => q.lt("expiresAt", now))
    .take(PRUNE_BATCH_SIZE);
  for (const row of tombstones) await ctx.db.delete("tombstones", row._id);

  if (events.length === PRUNE_BATCH_SIZE || tombstones.length === PRUNE_BATCH_SIZE) {
    await ctx.scheduler.runAfter(0, internal.maintenance.prune, {});
  }
  return { events: events.length, tombstones: tombstones.length };
}
