import { query, type QueryCtx } from "./_generated/server.js";
import { readCount } from "./counters.js";
import { toEventRecord } from "./events.js";
import { UNAPPLIED_OUTCOMES, vSyncStatus } from "../shared/events.js";

/**
 * When the last event arrived (and what became of it), how many users and
 * organizations are mirrored, and how many verified events were not applied
 * (so an app can alert): a few indexed reads and three small shard sums.
 */
export const getSyncStatus = query({
  args: {},
  returns: vSyncStatus,
  handler: async (ctx) => {
    const last = await ctx.db.query("webhookEvents").order("desc").first();
    const lastUnapplied = await latestUnapplied(ctx);
    return {
      lastEvent: last && toEventRecord(last),
      users: await readCount(ctx, "users"),
      organizations: await readCount(ctx, "organizations"),
      unappliedEvents: await readCount(ctx, "unappliedEvents"),
      lastUnappliedEvent: lastUnapplied && toEventRecord(lastUnapplied),
    };
  },
});

/** The newest record of an unapplied outcome: one indexed read per such outcome. */
async function latestUnapplied(ctx: QueryCtx) {
  const latest = await Promise.all(
    UNAPPLIED_OUTCOMES.map((outcome) =>
      ctx.db
        .query("webhookEvents")
        .withIndex("outcome", (q) => q.eq("outcome", outcome))
        .order("desc")
        .first(),
    ),
  );
  return latest.reduce((newest, row) =>
    row && (!newest || row._creationTime > newest._creationTime) ? row : newest,
  );
}
