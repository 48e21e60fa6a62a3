import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

/** The signed-in user's mirrored Kinde profile, or null. */
export const me = query({
  args: {},
  handler: async (ctx) => await kinde.getAuthUser(ctx),
});

export const byKindeId = query({
  args: { kindeId: v.string() },
  handler: async (ctx, { kindeId }) => await kinde.getUser(ctx, kindeId),
});

export const byEmail = query({
  args: { email: v.string() },
  handler: async (ctx, { email }) => await kinde.getUserByEmail(ctx, email),
});

export const list = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => await kinde.listUsers(ctx, { paginationOpts }),
});

/** The app's own profile row, written by the event hooks in kinde.ts. */
export const profile = query({
  args: { kindeId: v.string() },
  handler: async (ctx, { kindeId }) =>
    await ctx.db
      .query("profiles")
      .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
      .unique(),
});
