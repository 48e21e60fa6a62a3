import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { internalQuery, query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

/**
 * Whether Kinde's webhook reaches the deployment, in what anyone may see: how many users and
 * organizations are mirrored, how many events were not applied, and when the last event arrived.
 * No one's ids, so public: the page's sync status panel shows it before sign-in works.
 */
export const syncSummary = query({
  args: {},
  handler: async (ctx) => {
    const { users, organizations, unappliedEvents, lastEvent } = await kinde.getSyncStatus(ctx);
    return { users, organizations, unappliedEvents, lastEventAt: lastEvent?.receivedAt ?? null };
  },
});

// The event log names every user and when each signs in, and the backfill's errors describe your
// tenant: internal, for the dashboard and `npx convex run`
// (`npx convex run diagnostics:recentEvents '{"paginationOpts": {"numItems": 10, "cursor": null}}'`).

/** What the webhook did recently, newest first. */
export const recentEvents = internalQuery({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => await kinde.listEvents(ctx, { paginationOpts }),
});

/** What happened to one user, newest first. */
export const userEvents = internalQuery({
  args: { kindeId: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => await kinde.listUserEvents(ctx, args),
});

export const syncStatus = internalQuery({
  args: {},
  handler: async (ctx) => await kinde.getSyncStatus(ctx),
});

export const backfillStatus = internalQuery({
  args: {},
  handler: async (ctx) => await kinde.getBackfillStatus(ctx),
});
