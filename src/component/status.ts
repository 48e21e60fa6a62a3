import { query } from "./_generated/server.js";
import { readCount } from "./counters.js";
import { toEventRecord } from "./events.js";
import { vSyncStatus } from "../shared.js";

/**
 * When the last event arrived (and what became of it) and how many users and
 * organizations are mirrored: one indexed read and two small shard sums.
 */
export const getSyncStatus = query({
  args: {},
  returns: vSyncStatus,
  handler: async (ctx) => {
    const last = await ctx.db.query("webhookEvents").order("desc").first();
    return {
      lastEvent: last && toEventRecord(last),
      users: await readCount(ctx, "users"),
      organizations: await readCount(ctx, "organizations"),
    };
  },
});
