import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

/** What the webhook did recently, newest first. */
export const recentEvents = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => await kinde.listEvents(ctx, { paginationOpts }),
});

/** What happened to one user, newest first. */
export const userEvents = query({
  args: { kindeId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => await kinde.listUserEvents(ctx, args),
});

export const syncStatus = query({
  args: {},
  handler: async (ctx) => await kinde.getSyncStatus(ctx),
});

export const backfillStatus = query({
  args: {},
  handler: async (ctx) => await kinde.getBackfillStatus(ctx),
});
