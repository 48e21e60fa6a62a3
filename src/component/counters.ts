/**
 * Counts of mirrored users and organizations, and of events not applied, for `getSyncStatus`, without a
 * hot document: each count is split over shards chosen by the entity's key,
 * so concurrent inserts of different users rarely write the same document.
 */
import type { MutationCtx, QueryCtx } from "./_generated/server.js";

export type CounterName = "users" | "organizations" | "unappliedEvents";

/** Enough to make conflicts between concurrent sign-ups rare; a read sums them all. */
export const COUNTER_SHARDS = 16;

function shardOf(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash % COUNTER_SHARDS;
}

/** Adds `delta` to the count `name`, on the shard of `key`. */
export async function adjustCount(
  ctx: MutationCtx,
  name: CounterName,
  key: string,
  delta: number,
): Promise<void> {
  const shard = shardOf(key);
  const row = await ctx.db
    .query("counters")
    .withIndex("name", (q) => q.eq("name", name).eq("shard", shard))
    .unique();
  if (row) await ctx.db.patch("counters", row._id, { count: row.count + delta });
  else await ctx.db.insert("counters", { name, shard, count: delta });
}

export async function readCount(ctx: QueryCtx, name: CounterName): Promise<number> {
  const shards = await ctx.db
    .query("counters")
    .withIndex("name", (q) => q.eq("name", name))
    .take(COUNTER_SHARDS);
  return shards.reduce((sum, shard) => sum + shard.count, 0);
}
